"""``hf-ext babilong generate|plot`` through the real entry point and in-process for the error paths."""

import json

import pytest

from hf_ext.cli import main

TOKENIZER = "hf-ext-testing:tiny-llama"


@pytest.mark.slow
def test_generate_writes_a_dataset_per_length_and_never_clobbers(tmp_path, capsys, run_hf_ext):
    from datasets import load_from_disk

    out = tmp_path / "data"
    command = ["babilong", "generate", "--tasks", "qa1,qa19", "--lengths", "0,1k", "--num-samples", "3"]
    done = run_hf_ext(*command, "--tokenizer", TOKENIZER, "--out", out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0k", "1k"]
    for label, tokens in (("0k", 0), ("1k", 1024)):
        data = load_from_disk(str(out / label))
        assert sorted(data) == ["qa1", "qa19"]
        assert data["qa19"]["length"] == [tokens] * 3 and data["qa1"]["task"] == ["qa1"] * 3
    first = load_from_disk(str(out / "1k"))["qa1"]["input"]

    # an existing non-empty folder is refused without --overwrite and left as it was
    args = ["babilong", "generate", "--tasks", "qa1", "--lengths", "512", "--num-samples", "2"]
    args += ["--tokenizer", TOKENIZER, "--out", str(out), "--reserve", "100"]
    assert main(args) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert load_from_disk(str(out / "1k"))["qa1"]["input"] == first
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["512"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".data-")]  # no staging folder left


def test_generate_rejects_bad_tasks_and_lengths(tmp_path, capsys):
    base = [
        "babilong",
        "generate",
        "--tokenizer",
        TOKENIZER,
        "--out",
        str(tmp_path / "x"),
        "--num-samples",
        "1",
    ]
    assert main([*base, "--tasks", "qa1,qa42"]) == 2
    assert "unknown BABILong task 'qa42'" in capsys.readouterr().err
    assert main([*base, "--tasks", "qa1", "--lengths", "0,-4"]) == 2
    assert "not a token count" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    # lengths in the model's tokens need the model's tokenizer
    assert main(["babilong", "generate", "--out", str(tmp_path / "y")]) == 2
    assert "--tokenizer is required with --length-convention model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--length-convention", "decimal"])
    assert not (tmp_path / "y").exists()


def test_generate_names_lengths_in_the_chosen_convention(tmp_path):
    """``4k``-style lengths: 1024 tokens a k by default, 1000 with --length-convention official, and the
    folder is named by the length the rows really have in that convention."""
    from datasets import load_from_disk

    for convention, tokens in (("model", 1024), ("official", 1000)):
        out = tmp_path / convention
        args = ["babilong", "generate", "--tasks", "qa1", "--lengths", "1k", "--num-samples", "1"]
        args += ["--tokenizer", TOKENIZER, "--length-convention", convention, "--reserve", "100"]
        assert main([*args, "--out", str(out)]) == 0
        assert [p.name for p in out.iterdir()] == ["1k"]
        row = load_from_disk(str(out / "1k"))["qa1"][0]
        assert row["length"] == tokens and row["context_tokens"] == tokens - 100


def test_plot_draws_heatmap_and_depth_pictures(tmp_path, capsys):
    import matplotlib.image

    results = {
        f"hfx_babilong_qa{n}": {
            "acc,none": 0.5,
            "acc_0,none": 1.0 - n / 40,
            "acc_4096,none": 0.5 - n / 40,
            "acc_depth_0,none": 0.25,
            "acc_depth_80,none": 0.75,
            "acc_0_stderr,none": "N/A",
        }
        for n in (1, 2, 10)
    }
    path = tmp_path / "results_2026.json"
    path.write_text(json.dumps({"results": {**results, "other_task": {"acc,none": 1.0}}}), encoding="utf-8")
    assert main(["babilong", "plot", str(tmp_path), "--out", str(tmp_path / "pics" / "run")]) == 0
    for name in ("run_heatmap.png", "run_depth.png"):
        image = matplotlib.image.imread(tmp_path / "pics" / name)
        assert image.ndim == 3 and image.shape[0] > 100
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": {\n  "x": oops}', encoding="utf-8")
    assert main(["babilong", "plot", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"results": {"other_task": {"acc,none": 1.0}}}), encoding="utf-8")
    assert main(["babilong", "plot", str(empty)]) == 2
