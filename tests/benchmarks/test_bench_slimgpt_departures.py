"""The SlimGPT departures benchmark: its output-error formula and a tiny run."""

import json

import pytest
import torch
from hfx_benchmark_loading import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_slimgpt_departures")


def test_output_error_is_the_mean_squared_output_change(bench):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(6, 50, generator=generator, dtype=torch.float64)
    weight = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    pruned = weight.clone()
    pruned[:, 2] = 0.0
    hessian = 2 * inputs @ inputs.T / 50
    expected = ((weight - pruned) @ inputs).pow(2).sum().item() / 50
    assert bench.output_error(weight, pruned, hessian) == pytest.approx(expected)


@pytest.mark.slow
def test_tiny_run_end_to_end(bench, tmp_path):
    out = tmp_path / "slim.json"
    tiny = "--sparsities 0.5 --calibration-samples 4 --seq-len 32 --eval-windows 2 --max-heads-removed 1"
    bench.main([*tiny.split(), "--out", str(out)])
    saved = json.loads(out.read_text())
    assert [row["layer"] for row in saved["head_choices"]] == [0, 1, 2, 3]
    for row in saved["head_choices"]:  # one head: the joint score picks the least output error
        assert row["joint"]["error"] <= row["official"]["error"] * 1.01
    variants = [run["variant"] for run in saved["runs"]]
    assert variants[0] == "dense" and len(variants) == 5
    ratios = {run["variant"]: run["layer_ratios"] for run in saved["runs"][1:]}
    assert ratios["official log(32) schedule"] != ratios["hf-ext (joint score, log(n))"]
