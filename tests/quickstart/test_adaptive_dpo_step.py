"""The ``adaptive-dpo`` step of the quickstart."""

import re

import pytest


@pytest.mark.slow
def test_quickstart_step_reports_tau(tmp_path):
    from hf_ext.quickstart import run_quickstart

    summary = run_quickstart(output_dir=tmp_path, only=["adaptive-dpo"])
    tau_line = next(line for line in summary if "tau mean" in line)
    before, after = (float(x) for x in re.findall(r"tau mean (\d+\.\d+) -> (\d+\.\d+)", tau_line)[0])
    assert after > before  # pairs the model learned to separate get a larger scale
    assert (tmp_path / "adaptive-dpo-tiny" / "tau_vs_abs_z.png").exists()
