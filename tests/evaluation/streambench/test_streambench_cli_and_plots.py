"""``hf-ext streambench run|plot``: logs, resume, output-folder policy, curves from our logs and lm-eval's."""

import json

import pytest

from hf_ext.cli import main
from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.plots import load_runs, plot_curves


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from hf_ext.testing import save_tiny_causal_lm

    return str(save_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama")))


def run(tiny_model_dir, out, *extra):
    base = ["streambench", "run", "--dataset", "sql_offline", "--agent", "self_stream_icl", "--model",
            tiny_model_dir, "--out", str(out), "--num-samples", "5", "--max-tokens", "3",
            "--retrieval", "numpy"]  # fmt: skip
    return main([*base, *extra])


def test_run_logs_every_step_and_resumes(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    assert run(tiny_model_dir, out, "--max-steps", "2") == 0
    assert len((out / "steps.jsonl").read_text().splitlines()) == 2
    assert run(tiny_model_dir, out) == 2  # refuses the non-empty folder without --resume/--overwrite
    assert run(tiny_model_dir, out, "--resume") == 0
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [0, 1, 2, 3, 4]
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 5 and result["metrics"]["acc"] == pytest.approx(
        sum(s["metrics"]["acc"] for s in steps) / 5
    )
    assert result["model_calls"] == 5
    assert run(tiny_model_dir, out, "--overwrite", "--agent", "gt") == 0
    assert json.loads((out / "result.json").read_text())["metrics"]["acc"] == 1.0


def test_run_refusals(tiny_model_dir, tmp_path):
    assert run(tiny_model_dir, tmp_path / "x", "--resume") == 2
    ds1000 = [
        "--dataset",
        "ds1000",
        "--agent",
        "zeroshot",
        "--model",
        tiny_model_dir,
        "--out",
        str(tmp_path / "y"),
    ]
    assert main(["streambench", "run", *ds1000]) == 2
    assert run(tiny_model_dir, tmp_path / "z", "--model", tiny_model_dir) == 2  # two models need ma_rr
    assert run(tiny_model_dir, tiny_model_dir) == 2  # --out is the model folder


def test_run_tools_offline_and_thompson_over_two_models(tiny_model_dir, tmp_path):
    tools = ["--dataset", "tools_offline", "--agent", "gt", "--num-samples", "4"]
    assert run(tiny_model_dir, tmp_path / "gt", *tools) == 0
    result = json.loads((tmp_path / "gt" / "result.json").read_text())
    assert result["metrics"] == {"acc": 1.0, "api_acc": 1.0}
    two = ["--agent", "ma_ts", "--model", tiny_model_dir, "--agent-seed", "3", "--warmup-steps", "2"]
    assert run(tiny_model_dir, tmp_path / "ts", *two) == 0
    steps = [json.loads(line) for line in (tmp_path / "ts" / "steps.jsonl").read_text().splitlines()]
    assert [s["model"] for s in steps[:2]] == [0, 1]  # round-robin warm-up
    state = json.loads((tmp_path / "ts" / "state.json").read_text())["agent"]["memory"]
    assert sum(state["arms"]["successes"]) + sum(state["arms"]["failures"]) == 5


def test_plot_reads_our_logs_and_lm_eval_samples(tmp_path):
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "steps.jsonl").write_text(
        "".join(json.dumps({"step": i, "metrics": {"acc": float(i % 2)}}) + "\n" for i in range(4))
    )
    lm_eval_dir = tmp_path / "lm_eval" / "model"
    lm_eval_dir.mkdir(parents=True)
    rows = [{"doc_id": i, "acc": 1.0 if i >= 2 else 0.0} for i in (3, 0, 2, 1)]
    (lm_eval_dir / "samples_hfx_streambench_sql_offline_2026-11-29T21-00-00.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    runs = load_runs([ours, tmp_path / "lm_eval"])
    assert runs == {"ours": [0.0, 1.0, 0.0, 1.0], "model/hfx_streambench_sql_offline": [0.0, 0.0, 1.0, 1.0]}
    figure = plot_curves(runs, window=2)
    assert [list(line.get_ydata()) for line in figure.axes[0].get_lines()][1] == [0.0, 0.0, 0.5, 1.0]
    png = tmp_path / "curves.png"
    assert main(["streambench", "plot", str(ours), str(tmp_path / "lm_eval"), "--out", str(png)]) == 0
    assert png.stat().st_size > 1000
    assert main(["streambench", "plot", str(ours), "--out", str(png)]) == 2  # exists
    (ours / "steps.jsonl").write_text('{"step": 0}\n')
    with pytest.raises(HFExtError, match="line 1: no field 'metrics.acc'"):
        load_runs([ours])
