"""A tiny setting of benchmarks/bench_hvfa.py runs end to end and reports what the token counts predict."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_hvfa.py"


@pytest.mark.slow
def test_bench_hvfa_tiny(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_hvfa", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = ["--repeats", "1", "--seeds", "1", "--steps", "1", "--train-pages", "2", "--heldout-pages", "1",
            "--batch", "2"]  # fmt: skip
    result = bench.main(argv, results=tmp_path / "hvfa.json")
    assert (tmp_path / "hvfa.json").exists()
    by = {(row["mode"], row["page"]): row for row in result["speed"]}
    for page, *_ in bench.PAGES:
        single, naive, hvfa = (by[(mode, page)] for mode in ("single-scale", "naive multi-scale", "HVFA"))
        n = single["grid"][0] * single["grid"][1]
        assert hvfa["visual_tokens"] == single["visual_tokens"] == (1 + n) * 16
        assert naive["visual_tokens"] == (1 + 5 * n) * 16
    assert set(result["miniature"]["summary"]) == {"single-scale", "naive multi-scale", "HVFA"}
