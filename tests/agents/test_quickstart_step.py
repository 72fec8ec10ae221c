"""The ``tool-world`` quickstart step grows trees, mines pairs and trains one tree-dpo step."""

from __future__ import annotations

import math
import re

import pytest

from hf_ext.data.tool_trees import load_inference_trees
from hf_ext.quickstart import run_quickstart


@pytest.mark.slow
def test_tool_world_step(tmp_path):
    summary = run_quickstart(output_dir=tmp_path, only=["tool-world"])
    text = "\n".join(summary)
    pairs = int(re.search(r"(\d+) step-wise pairs mined", text).group(1))
    loss = float(re.search(r"loss (\S+)", text).group(1))
    assert pairs > 0 and math.isfinite(loss)
    assert len(load_inference_trees(tmp_path / "tool-world" / "expert-trees")) == 18
    assert len(load_inference_trees(tmp_path / "tool-world" / "tiny-model-trees")) == 2
