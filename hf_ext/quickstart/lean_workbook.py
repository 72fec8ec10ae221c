"""The ``lean-workbook`` step of ``hf-ext quickstart``: the autoformalisation loop on hf-ext's own example
problems with a tiny random model, checked by a stand-in REPL (not Lean: no toolchain is installed here) whose
verdicts are recorded and then replayed by the recorded backend.

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.lean_workbook import step
    >>> lines = step(Path("/tmp/hf-ext-quickstart"))  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Run the pipeline live (recording the verdicts), replay it from the recording, compare the funnels."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ext.formal.autoformalization import run_pipeline
    from hf_ext.formal.generation import TransformersGenerator
    from hf_ext.formal.lean import LeanREPLPool, RecordedLeanChecker, RecordingLeanChecker
    from hf_ext.formal.problems import example_problems
    from hf_ext.testing import save_tiny_causal_lm

    model_dir = save_tiny_causal_lm(workdir / "lean-tiny-llama")
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    translator = TransformersGenerator(model, AutoTokenizer.from_pretrained(model_dir))
    problems = example_problems()[:4]
    standin = [sys.executable, "-m", "hf_ext.formal.lean.standin_repl"]
    verdicts = workdir / "lean_verdicts.jsonl"
    with RecordingLeanChecker(LeanREPLPool(command=standin, workers=2), verdicts) as checker:
        live = run_pipeline(
            problems, translator, translator, checker, workdir / "lean-live", max_new_tokens=32
        )
    replayed = run_pipeline(
        problems,
        translator,
        translator,
        RecordedLeanChecker(verdicts),
        workdir / "lean-replay",
        max_new_tokens=32,
    )
    funnel = " -> ".join(f"{stage} {count}" for stage, count in live["funnel"].items())
    return [
        f"lean-workbook: {len(problems)} example problems, tiny random translator and judge; funnel {funnel}",
        f"lean-workbook: verdicts from a stand-in REPL (not Lean) recorded to {verdicts}; replayed funnel "
        f"{'identical' if replayed['funnel'] == live['funnel'] else 'DIFFERENT'}",
        f"lean-workbook: stage files and funnel.json in {workdir / 'lean-live'}",
    ]
