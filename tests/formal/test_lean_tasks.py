"""The Lean lm-eval tasks end to end on a tiny model: BLEU/chrF/well-formedness always, compile pass through a
REPL-protocol checker, the same verdicts replayed through the recorded backend, NLI with a judge, proving."""

from __future__ import annotations

import json
import shlex

import pytest
from lean_helpers import standin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from hf_ext.testing import save_tiny_causal_lm

    return save_tiny_causal_lm(tmp_path_factory.mktemp("lean-model") / "tiny")


def _evaluate(model_dir, task, metadata, limit=3):
    import lm_eval
    from lm_eval.tasks import TaskManager

    from hf_ext.task_files import tasks_path

    output = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_dir},dtype=float32",
        tasks=[task],
        task_manager=TaskManager(include_path=str(tasks_path()), metadata=metadata),
        limit=limit,
        gen_kwargs="max_gen_toks=24",
        device="cpu",
        log_samples=True,
    )
    return output["results"][task], output["samples"][task]


def test_autoformalize_with_checker_and_judge_then_replayed_from_the_recording(tiny_model, tmp_path):
    verdicts = tmp_path / "verdicts.jsonl"
    metadata = {
        "data_path": "examples",
        "checker": "command:" + shlex.join(standin()),
        "record_to": str(verdicts),
        "judge": "lean_helpers:same_judge",
        "back_translator": "lean_helpers:faithful_back_translator",
    }
    live, samples = _evaluate(tiny_model, "hfx_minif2f_autoformalize", metadata, limit=2)
    for metric in ("bleu,none", "chrf,none", "well_formed,none", "compile_pass,none"):
        assert metric in live, metric
    assert 0.0 <= live["well_formed,none"] <= 1.0
    recorded = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert len(recorded) == 2 and all(r["code"].startswith("theorem") for r in recorded)
    assert live["compile_pass,none"] == sum(r["result"]["ok"] for r in recorded) / 2
    # NLI runs on every generated statement here (the task reports it per document, compiled or not)
    assert live["nli_pass,none"] == 1.0
    assert [s["doc"]["id"] for s in samples] == ["hfx_linear_1", "hfx_sum_odd"]
    replayed, _ = _evaluate(
        tiny_model,
        "hfx_minif2f_autoformalize",
        {"data_path": "examples", "checker": f"recorded:{verdicts}"},
        limit=2,
    )
    assert replayed["compile_pass,none"] == live["compile_pass,none"]
    assert replayed["bleu,none"] == live["bleu,none"]
    assert "nli_pass,none" not in replayed


def test_prove_needs_a_checker_and_checks_header_statement_and_proof(tiny_model, tmp_path):
    verdicts = tmp_path / "proofs.jsonl"
    results, _ = _evaluate(
        tiny_model,
        "hfx_minif2f_prove",
        {"data_path": "examples", "checker": "command:" + shlex.join(standin()), "record_to": str(verdicts)},
        limit=1,
    )
    assert 0.0 <= results["proof_pass,none"] <= 1.0
    codes = [json.loads(line)["code"] for line in verdicts.read_text().splitlines()]
    assert codes[0].startswith(
        "import Mathlib\n\ntheorem hfx_linear_1 (x : ℝ) (h₀ : 3 * x + 5 = 20) : x = 5 := by\n"
    )
