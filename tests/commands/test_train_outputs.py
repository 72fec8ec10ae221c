"""``hf-ext train``: exact resume (tau history, refusal of missing state) and the overwrite swap."""

from __future__ import annotations

import csv
import json
import logging
import shutil

import pytest

from hf_ext.cli import main
from hf_ext.recipes import recipe_path

ADAPTIVE = ["train", "adaptive-dpo", "--config", str(recipe_path("adaptive_dpo/tiny.yaml"))]
ADAPTIVE += ["--max_steps", "4", "--logging_steps", "1", "--save_strategy", "steps", "--save_steps", "2"]
DPO = ["train", "dpo", "--config", str(recipe_path("dpo/tiny.yaml")), "--max_steps", "1"]


def _tau_rows(folder):
    with (folder / "tau_values.csv").open() as handle:
        return [(int(row["step"]), float(row["z"]), float(row["tau"])) for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_resume_keeps_the_tau_history_and_refuses_a_checkpoint_without_optimizer_state(tmp_path, caplog):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main([*ADAPTIVE, "--output_dir", str(whole)]) == 0
    checkpoint = whole / "checkpoint-2"
    assert {"tau_history.json", "tau_history.safetensors"} <= {p.name for p in checkpoint.iterdir()}

    assert main([*ADAPTIVE, "--output_dir", str(resumed), "--resume_from_checkpoint", str(checkpoint)]) == 0
    expected, got = _tau_rows(whole), _tau_rows(resumed)
    assert sorted({step for step, _, _ in got}) == sorted({step for step, _, _ in expected}) == [0, 1, 2, 3]
    before = [row for row in expected if row[0] < 2]
    assert [row for row in got if row[0] < 2] == before  # restored from the checkpoint, not recomputed
    assert [step for step, _, _ in got] == [step for step, _, _ in expected]
    flat = [value for _, z, tau in got for value in (z, tau)]
    assert flat == pytest.approx([value for _, z, tau in expected for value in (z, tau)], abs=1e-4)

    broken = tmp_path / "broken"
    shutil.copytree(checkpoint, broken)
    (broken / "optimizer.json").unlink()
    (broken / "tau_history.safetensors").unlink()
    again = [*ADAPTIVE, "--output_dir", str(tmp_path / "again"), "--resume_from_checkpoint", str(broken)]
    assert main(again) == 2
    assert not (tmp_path / "again").exists()
    with caplog.at_level(logging.WARNING, logger="hf_ext.trainers.safe_saving"):
        assert main([*again, "--resume_with_fresh_state", "true"]) == 0
    warning = " ".join(record.getMessage() for record in caplog.records)
    assert "WITHOUT optimizer state" in warning and "tau history" in warning


@pytest.mark.slow
def test_overwrite_output_dir_replaces_a_previous_run_only_once_the_new_one_is_complete(
    tmp_path, monkeypatch
):
    out = tmp_path / "out"
    assert main([*DPO, "--output_dir", str(out), "--learning_rate", "0.0"]) == 0
    assert main([*DPO, "--output_dir", str(out)]) == 2  # refused: it holds a previous run
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    import transformers

    def crash(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(transformers.Trainer, "train", crash)
        with pytest.raises(KeyboardInterrupt):
            main([*DPO, "--output_dir", str(out), "--overwrite_output_dir", "true"])
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old  # the old run is whole

    assert main([*DPO, "--output_dir", str(out), "--overwrite_output_dir", "true"]) == 0
    assert json.loads((out / "training_args.json").read_text())["learning_rate"] == 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left behind
