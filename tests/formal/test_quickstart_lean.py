from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_quickstart_step_runs_live_then_replays_the_same_funnel(tmp_path):
    from hf_ext.quickstart.lean_workbook import step

    lines = step(tmp_path)
    assert "replayed funnel identical" in lines[1]
    funnel = json.loads((tmp_path / "lean-live" / "funnel.json").read_text())
    assert funnel == json.loads((tmp_path / "lean-replay" / "funnel.json").read_text())
    assert funnel["collected"] == 4 and funnel["formalized"] == 4
    assert len((tmp_path / "lean_verdicts.jsonl").read_text().splitlines()) == 4
