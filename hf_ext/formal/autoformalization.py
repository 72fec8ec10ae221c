"""The Lean Workbook loop: translate problems into Lean 4, keep what compiles, translate back, keep what a
judge finds to be the same problem; with a funnel count per stage and resume, and the active-learning round
trip (export failures for review, import corrected statements as SFT data).

Each stage is a plain function over lists of problem records (see :mod:`hf_ext.formal.problems`), usable on
its own; :func:`run_pipeline` chains them and writes ``<out_dir>/<stage>.jsonl`` one record per line as it
goes, plus ``funnel.json`` (collected -> formalized -> compiled -> back_translated -> passed_nli, as the
paper's table). Run it again on the same ``out_dir`` and it resumes where it stopped.

Example:
    >>> import tempfile
    >>> from hf_ext.formal.autoformalization import run_pipeline
    >>> from hf_ext.formal.lean import RecordedLeanChecker
    >>> problems = [{"id": "p1", "natural_language": "Prove that 1 = 1."}]
    >>> translator = lambda messages: " p1 : (1 : ℕ) = 1 := by"
    >>> judge = lambda messages: "Both state that one equals one. **same**"
    >>> checker = RecordedLeanChecker([{"code": "theorem p1 : (1 : ℕ) = 1 := by sorry", "reply": {"env": 0}}])
    >>> run_pipeline(problems, translator, judge, checker, tempfile.mkdtemp() + "/run")["funnel"]
    {'collected': 1, 'formalized': 1, 'compiled': 1, 'back_translated': 1, 'passed_nli': 1}
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hf_ext.errors import HFExtError
from hf_ext.formal.generation import as_generator
from hf_ext.formal.lean.checker import LeanChecker
from hf_ext.formal.problems import load_problems
from hf_ext.formal.prompts import (
    AUTOFORMALIZE_PREFILL,
    autoformalize_messages,
    back_translate_messages,
    nli_messages,
    parse_nli_verdict,
    problem_text,
    statement_from_completion,
)
from hf_ext.inputs import iter_jsonl_objects
from hf_ext.outputs import check_output_dir

Record = dict[str, Any]
STAGES = ("formalized", "compiled", "back_translated", "passed_nli")
MANIFEST = "pipeline.json"


def autoformalize(problems: Sequence[Record], translator: Any, max_new_tokens: int = 256) -> list[Record]:
    """Add ``formal_statement_generated`` (a theorem closed by ``sorry``) and the ``raw_output``."""
    generate = as_generator(translator)
    out = []
    for problem in tqdm(problems, desc="autoformalize", leave=False):
        text = problem_text(problem["natural_language"], problem.get("answer"))
        raw = generate(
            autoformalize_messages(text), prefill=AUTOFORMALIZE_PREFILL, max_new_tokens=max_new_tokens
        )
        out.append(
            {**problem, "raw_output": raw, "formal_statement_generated": statement_from_completion(raw)}
        )
    return out


def compile_filter(records: Sequence[Record], checker: LeanChecker, batch_size: int = 64) -> list[Record]:
    """Add ``compiles`` and ``lean_errors`` (checked in the checker's header environment)."""
    out = []
    for start in tqdm(range(0, len(records), batch_size), desc="compile", leave=False):
        batch = records[start : start + batch_size]
        results = checker.check([record["formal_statement_generated"] for record in batch])
        for record, result in zip(batch, results):
            out.append({**record, "compiles": result.ok, "lean_errors": result.errors})
    return out


def back_translate(records: Sequence[Record], translator: Any, max_new_tokens: int = 256) -> list[Record]:
    """Add ``back_translation``: the generated statement in natural language."""
    generate = as_generator(translator)
    return [
        {
            **r,
            "back_translation": generate(
                back_translate_messages(r["formal_statement_generated"]), max_new_tokens=max_new_tokens
            ).strip(),
        }
        for r in tqdm(records, desc="back-translate", leave=False)
    ]


def nli_filter(records: Sequence[Record], judge: Any, max_new_tokens: int = 256) -> list[Record]:
    """Add ``nli_output``, ``nli_verdict`` (same/different/None) and ``passes_nli``."""
    generate = as_generator(judge)
    out = []
    for record in tqdm(records, desc="nli", leave=False):
        original = problem_text(record["natural_language"], record.get("answer"))
        output = generate(nli_messages(original, record["back_translation"]), max_new_tokens=max_new_tokens)
        verdict = parse_nli_verdict(output)
        out.append({**record, "nli_output": output, "nli_verdict": verdict, "passes_nli": verdict == "same"})
    return out


def _read_stage(path: Path) -> list[Record]:
    """The records a stage has written. A last line cut short by an interruption is dropped (and removed
    from the file, so the stage redoes that record); a bad line anywhere else is an error naming it."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise HFExtError(
                    f"{path}, line {number}: not JSON; remove the file to redo this stage"
                ) from None
            path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
            )
    return records


def _run_stage(
    path: Path, inputs: list[Record], work: Callable[[list[Record]], list[Record]], chunk: int
) -> list[Record]:
    """Run ``work`` on the inputs not yet in ``path`` (by id), appending its results chunk by chunk."""
    done = {record["id"]: record for record in _read_stage(path)}
    todo = [record for record in inputs if record["id"] not in done]
    with path.open("a", encoding="utf-8") as out:
        for start in range(0, len(todo), chunk):
            for record in work(todo[start : start + chunk]):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                done[record["id"]] = record
            out.flush()
    return [done[record["id"]] for record in inputs]


def run_pipeline(
    problems: str | os.PathLike | Iterable[Record],
    translator: Any,
    judge: Any,
    checker: LeanChecker,
    out_dir: str | os.PathLike,
    back_translator: Any = None,
    chunk_size: int = 16,
    max_new_tokens: int = 256,
) -> dict[str, Any]:
    """Run every stage, writing ``<stage>.jsonl`` and ``funnel.json`` in ``out_dir``; resume a run that
    stopped. Returns ``{"funnel": counts, "accepted": records that passed every stage}``.

    ``out_dir`` must be new or empty, or hold an earlier run of this pipeline (then it resumes); it may not
    overlap the problems file. ``back_translator`` defaults to ``translator``.
    """
    source_path = problems if isinstance(problems, (str, os.PathLike)) else None
    out = Path(out_dir)
    if not (out / MANIFEST).exists():
        check_output_dir(out, inputs=[source_path], flag="out_dir", overwrite_flag="a new folder")
    records = load_problems(problems)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text(json.dumps({"stages": list(STAGES), "problems": len(records)}) + "\n")
    translator = as_generator(translator)
    back_translator = as_generator(back_translator) if back_translator is not None else translator
    judge = as_generator(judge)

    formalized = _run_stage(
        out / "formalized.jsonl", records, lambda b: autoformalize(b, translator, max_new_tokens), chunk_size
    )
    compiled_all = _run_stage(
        out / "compiled.jsonl", formalized, lambda b: compile_filter(b, checker), chunk_size
    )
    compiled = [r for r in compiled_all if r["compiles"]]
    back = _run_stage(
        out / "back_translated.jsonl",
        compiled,
        lambda b: back_translate(b, back_translator, max_new_tokens),
        chunk_size,
    )
    judged = _run_stage(
        out / "passed_nli.jsonl", back, lambda b: nli_filter(b, judge, max_new_tokens), chunk_size
    )
    accepted = [r for r in judged if r["passes_nli"]]
    funnel = {
        "collected": len(records),
        "formalized": len(formalized),
        "compiled": len(compiled),
        "back_translated": len(back),
        "passed_nli": len(accepted),
    }
    (out / "funnel.json").write_text(json.dumps(funnel, indent=2) + "\n", encoding="utf-8")
    return {"funnel": funnel, "accepted": accepted}


def export_failures(out_dir: str | os.PathLike, path: str | os.PathLike) -> int:
    """Write the items that failed compilation or the NLI check to ``path`` (JSONL) for review, each with an
    empty ``corrected_statement`` for the reviewer to fill; returns how many. Refuses an existing file."""
    out, target = Path(out_dir), Path(path)
    if target.exists():
        raise HFExtError(f"{target} exists; choose a new file for the review export")
    compiled = _read_stage(out / "compiled.jsonl")
    if not compiled:
        raise HFExtError(f"{out}: no compiled.jsonl; run the pipeline first")
    judged = {r["id"]: r for r in _read_stage(out / "passed_nli.jsonl")}
    rows = []
    for record in compiled:
        if not record["compiles"]:
            stage, extra = "compile", {"lean_errors": record["lean_errors"]}
        elif record["id"] in judged and not judged[record["id"]]["passes_nli"]:
            item = judged[record["id"]]
            stage = "nli"
            extra = {"back_translation": item["back_translation"], "nli_output": item["nli_output"]}
        else:
            continue
        rows.append(
            {
                "id": record["id"],
                "natural_language": record["natural_language"],
                "answer": record.get("answer", ""),
                "formal_statement_generated": record["formal_statement_generated"],
                "failed_stage": stage,
                **extra,
                "corrected_statement": "",
            }
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def sft_messages(natural_language: str, answer: str, formal_statement: str) -> list[dict[str, str]]:
    """One translator training example in TRL's conversational format: the autoformalisation prompt, then
    the prefilled reply completed with the statement."""
    statement = formal_statement.strip()
    rest = statement[len("theorem") :] if statement.startswith("theorem") else " " + statement
    reply = f"{AUTOFORMALIZE_PREFILL}{rest}\n```"
    return [
        *autoformalize_messages(problem_text(natural_language, answer)),
        {"role": "assistant", "content": reply},
    ]


def translation_sft_dataset(problems: str | os.PathLike | Iterable[Record]):
    """Problems that carry a reference ``formal_statement`` as a ``datasets.Dataset`` of conversational
    ``messages`` for TRL's SFTTrainer (the seed data of the loop: miniF2F, ProofNet, Lean Workbook)."""
    from datasets import Dataset

    rows = [
        {"id": p["id"], "messages": sft_messages(p["natural_language"], p["answer"], p["formal_statement"])}
        for p in load_problems(problems)
        if p["formal_statement"]
    ]
    if not rows:
        raise HFExtError("no problem has a formal_statement to learn from")
    return Dataset.from_list(rows)


def import_corrections(path: str | os.PathLike):
    """Reviewed rows (those with a non-empty ``corrected_statement``) as a ``datasets.Dataset`` of
    conversational ``messages`` for TRL's SFTTrainer; a malformed line is named."""
    from datasets import Dataset

    path = Path(path)
    if not path.is_file():
        raise HFExtError(f"no review file at {path}")
    rows = []
    for number, row in iter_jsonl_objects(path):
        for field in ("id", "natural_language", "corrected_statement"):
            if field not in row:
                raise HFExtError(f"{path}, line {number}: missing field {field!r}")
        corrected = row["corrected_statement"].strip()
        if not corrected:
            continue
        if not corrected.startswith("theorem"):
            raise HFExtError(f"{path}, line {number}: corrected_statement must start with 'theorem'")
        messages = sft_messages(row["natural_language"], row.get("answer", ""), corrected)
        rows.append({"id": row["id"], "messages": messages})
    if not rows:
        raise HFExtError(f"{path}: no row has a corrected_statement yet")
    return Dataset.from_list(rows)
