"""``hf-ext babilong generate|plot`` through the real entry point and in-process for the error paths."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hf_ext.cli import main

REPO = Path(__file__).resolve().parents[3]
TOKENIZER = "hf-ext-testing:tiny-llama"


@pytest.mark.slow
def test_generate_writes_a_dataset_per_length_and_never_clobbers(tmp_path, capsys):
    from datasets import load_from_disk

    out = tmp_path / "data"
    command = [sys.executable, "-m", "hf_ext.cli", "babilong", "generate", "--tasks", "qa1,qa19"]
    command += ["--lengths", "0,1k", "--num-samples", "3", "--tokenizer", TOKENIZER, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
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
    with pytest.raises(SystemExit):
        main(["babilong", "generate", "--out", str(tmp_path / "y")])  # --tokenizer is required


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


def test_accuracy_tables_read_per_length_and_depth_metrics():
    from hf_ext.evaluation.babilong.plots import accuracy_tables

    by_length, by_depth = accuracy_tables(
        {"hfx_babilong_qa10": {"acc_0,none": 0.5, "acc_1048576,none": 0.25, "acc_depth_40,none": 1.0}}
    )
    assert by_length == {"qa10": {0: 0.5, 2**20: 0.25}} and by_depth == {"qa10": {40: 1.0}}
