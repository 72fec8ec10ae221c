"""lm-eval glue for the Lean Workbook tasks: data loading from task metadata, prompts, and per-document
metrics (BLEU/chrF pairs, well-formedness, and compile / NLI / proof checks when a checker or judge is
set).

Metadata (``--metadata '{...}'``): ``data_path`` (a local file or Hub id), ``split``, ``limit``, ``checker``
(a spec such as ``recorded:verdicts.jsonl``, ``kimina:URL``, ``repl:PROJECT,REPL``; see
``hf_ext.formal.lean.spec``), ``record_to`` (append every verdict to this JSONL), ``judge`` and
``back_translator`` (a model folder or ``module:function``).

Example:
    >>> docs = load_autoformalize_docs(data_path="examples")["test"]
    >>> doc_to_text(docs[0]).splitlines()[0]
    'Convert following problem into LEAN 4:'
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.formal.autoformalization import back_translate, nli_filter
from hf_ext.formal.metrics import well_formed_statement
from hf_ext.formal.problems import example_problems, load_lean_workbook, load_problems, load_prover_jsonl
from hf_ext.formal.prompts import AUTOFORMALIZE_INSTRUCTION, problem_text, statement_from_completion

SETTINGS = ("checker", "record_to", "judge", "back_translator")


def _problems(data_path: str, split: str | None, default_hub: str | None) -> list[dict[str, str]]:
    from pathlib import Path

    if data_path == "examples":
        return example_problems()
    path = Path(data_path)
    if path.exists():
        try:
            return load_prover_jsonl(path, split=split)
        except HFExtError:
            return load_problems(path)
    if default_hub is None:
        raise HFExtError(
            f"data_path {data_path!r} does not exist (pass a local JSONL in DeepSeek-Prover layout)"
        )
    return load_lean_workbook(data_path, split=split or "train")


def _dataset(problems: list[dict[str, str]], limit: Any, metadata: dict[str, Any]):
    from datasets import Dataset

    if limit is not None:
        problems = problems[: int(limit)]
    settings = {key: str(metadata.get(key) or "") for key in SETTINGS}
    return {"test": Dataset.from_list([{**problem, **settings} for problem in problems])}


def load_autoformalize_docs(
    data_path: str = "internlm/Lean-Workbook",
    split: str | None = None,
    limit: int | None = None,
    **metadata: Any,
):
    """Problems to formalise: Lean Workbook (Hub or local), a DeepSeek-Prover JSONL, or ``examples``."""
    return _dataset(_problems(data_path, split, default_hub="internlm/Lean-Workbook"), limit, metadata)


def load_minif2f_docs(
    data_path: str | None = None, split: str | None = "test", limit: int | None = None, **metadata: Any
):
    """miniF2F in DeepSeek-Prover's JSONL layout (``data_path`` required), or ``examples``."""
    if not data_path:
        raise HFExtError("hfx_minif2f_*: set metadata data_path to miniF2F's JSONL (DeepSeek-Prover layout)")
    return _dataset(_problems(data_path, None if data_path == "examples" else split, None), limit, metadata)


def doc_to_text(doc: dict[str, Any]) -> str:
    return f"{AUTOFORMALIZE_INSTRUCTION}\n{problem_text(doc['natural_language'], doc['answer'])}"


def doc_to_target(doc: dict[str, Any]) -> str:
    return doc["formal_statement"]


def prove_doc_to_text(doc: dict[str, Any]) -> str:
    statement = doc["formal_statement"].rstrip()
    statement = statement[: -len("sorry")].rstrip() if statement.endswith("sorry") else statement
    statement = statement if statement.endswith("by") else statement + " := by"
    return f"{doc['header'] or 'import Mathlib'}\n\n{statement}\n"


@lru_cache(maxsize=8)
def _checker(spec: str, record_to: str):
    from hf_ext.formal.lean.recorded import RecordingLeanChecker
    from hf_ext.formal.lean.spec import checker_from_spec

    checker = checker_from_spec(spec)
    return RecordingLeanChecker(checker, record_to, append=True) if record_to else checker


@lru_cache(maxsize=8)
def _generator(reference: str):
    from pathlib import Path

    from hf_ext.formal.generation import as_generator
    from hf_ext.utils import import_object

    if ":" in reference and not Path(reference).exists():
        return as_generator(import_object(reference))
    return as_generator(reference)


def process_autoformalize(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    statement = statement_from_completion(results[0])
    reference = doc["formal_statement"]
    metrics: dict[str, Any] = {
        "bleu": (reference, statement),
        "chrf": (reference, statement),
        "well_formed": float(well_formed_statement(statement)),
    }
    if doc["checker"]:
        metrics["compile_pass"] = float(_checker(doc["checker"], doc["record_to"]).check_one(statement).ok)
    if doc["judge"]:
        record = {**doc, "formal_statement_generated": statement}
        back = back_translate([record], _generator(doc["back_translator"] or doc["judge"]))
        metrics["nli_pass"] = float(nli_filter(back, _generator(doc["judge"]))[0]["passes_nli"])
    return metrics


def process_prove(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    if not doc["checker"]:
        raise HFExtError("hfx_minif2f_prove needs a Lean checker: set metadata checker (e.g. kimina:URL)")
    code = prove_doc_to_text(doc) + results[0]
    return {"proof_pass": float(_checker(doc["checker"], doc["record_to"]).check_one(code).complete)}
