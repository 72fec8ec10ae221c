import re

import pytest

from hf_ext.quickstart import run_quickstart
from hf_ext.registry import UnknownNameError


def test_dpo_step_trains_saves_reloads_and_improves_the_margin(tmp_path):
    summary = run_quickstart(output_dir=tmp_path, only=["dpo"])
    margins = next(line for line in summary if "log p(chosen)" in line)
    before, after = (float(value) for value in re.findall(r"([-+]\d+\.\d+) (?:before|after)", margins))
    assert after > before
    assert (tmp_path / "dpo-tiny" / "model.safetensors").exists()


def test_unknown_step_is_rejected(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown quickstart step 'dp'"):
        run_quickstart(output_dir=tmp_path, only=["dp"])


@pytest.mark.slow
def test_tree_preference_step_mines_and_trains_from_its_own_trees(tmp_path):
    summary = run_quickstart(output_dir=tmp_path, only=["tree-preference"])
    assert any("16 trees" in line and "step-wise pairs" in line for line in summary)
    assert (tmp_path / "tree-dpo-tiny" / "model.safetensors").exists()
    assert len(list((tmp_path / "tool-trees").glob("*.json"))) == 16


@pytest.mark.slow
def test_streambench_step_learns_with_memory_and_runs_lm_eval(tmp_path):
    summary = run_quickstart(output_dir=tmp_path, only=["streambench"])
    accuracy = {
        name: float(re.search(rf"streambench: {name} .*accuracy (\d\.\d+)", "\n".join(summary)).group(1))
        for name in ("zeroshot", "self_stream_icl")
    }
    assert accuracy["self_stream_icl"] > accuracy["zeroshot"] + 0.1
    assert any("hfx-stream" in line for line in summary)
    assert (tmp_path / "streambench" / "curves.png").exists()
    logs = tmp_path / "streambench" / "lm_eval" / "hfx_streambench_diagnosis_offline"
    assert (logs / "steps.jsonl").exists()
