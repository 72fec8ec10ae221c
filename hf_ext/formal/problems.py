"""Problem sets for autoformalisation and proving, read into one record shape.

Every loader returns a list of dicts with ``id``, ``natural_language``, ``answer`` (may be empty),
``formal_statement`` (the reference, may be empty) and ``header`` (may be empty):

- :func:`load_lean_workbook`: the Hub dataset ``internlm/Lean-Workbook`` (``id, natural_language_statement,
  answer, tags, formal_statement, split, proof``), or a local copy in that layout;
- :func:`load_prover_jsonl`: miniF2F or ProofNet in DeepSeek-Prover's JSONL layout (``name, split,
  informal_prefix, formal_statement, header``);
- :func:`load_problems`: a JSONL file or a list of dicts in either layout or ours;
- :func:`example_problems`: eight problems shipped with hf-ext.

Example:
    >>> from hf_ext.formal.problems import example_problems
    >>> problems = example_problems()
    >>> len(problems), problems[0]["id"], problems[0]["answer"]
    (8, 'hfx_linear_1', '5')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.inputs import iter_jsonl_objects

EXAMPLE_PROBLEMS = Path(__file__).parent / "data" / "example_problems.jsonl"
FIELDS = ("id", "natural_language", "answer", "formal_statement", "header")


def informal_from_prefix(prefix: str) -> str:
    """The natural-language text of a DeepSeek-Prover ``informal_prefix`` (a doc comment ``/-- ... -/``)."""
    text = prefix.strip()
    text = re.sub(r"^/-+-?\s*", "", text)
    text = re.sub(r"\s*-/$", "", text)
    return text.strip()


def normalize_problem(record: dict[str, Any], where: str) -> dict[str, str]:
    """One problem in our record shape, from any supported layout; ``where`` names it in errors."""
    if not isinstance(record, dict):
        raise HFExtError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if "natural_language" in record:
        text = record["natural_language"]
    elif "natural_language_statement" in record:
        text = record["natural_language_statement"]
    elif "informal_prefix" in record:
        text = informal_from_prefix(record["informal_prefix"])
    else:
        raise HFExtError(
            f"{where}: no problem text (expected 'natural_language', 'natural_language_statement' or "
            "'informal_prefix')"
        )
    identifier = record.get("id", record.get("name"))
    if identifier is None or str(identifier) == "":
        raise HFExtError(f"{where}: missing 'id' (or 'name')")
    if not isinstance(text, str) or not text.strip():
        raise HFExtError(f"{where}: the problem text is empty")
    return {
        "id": str(identifier),
        "natural_language": text.strip(),
        "answer": str(record.get("answer") or "").strip(),
        "formal_statement": str(record.get("formal_statement") or "").strip(),
        "header": str(record.get("header") or "").strip(),
    }


def _read_jsonl(path: Path) -> Iterable[tuple[str, Any]]:
    if not path.is_file():
        raise HFExtError(f"no problem file at {path}")
    for number, record in iter_jsonl_objects(path):
        yield f"{path}, line {number}", record


def load_problems(source: str | os.PathLike | Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Problems from a JSONL file (or a JSON list) or from an iterable of dicts; ids must be unique."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix == ".json":
            try:
                items = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as error:
                raise HFExtError(f"{path}: cannot read a JSON list ({error})") from None
            pairs = [(f"{path}, item {i}", item) for i, item in enumerate(items)]
        else:
            pairs = list(_read_jsonl(path))
    else:
        pairs = [(f"problem {i}", item) for i, item in enumerate(source)]
    problems = [normalize_problem(item, where) for where, item in pairs]
    if not problems:
        raise HFExtError(f"{source}: no problems")
    seen: set[str] = set()
    for (where, _), problem in zip(pairs, problems):
        if problem["id"] in seen:
            raise HFExtError(f"{where}: duplicate id {problem['id']!r}")
        seen.add(problem["id"])
    return problems


def load_prover_jsonl(path: str | os.PathLike, split: str | None = None) -> list[dict[str, str]]:
    """miniF2F / ProofNet in DeepSeek-Prover's layout, optionally one ``split`` (``valid``/``test``)."""
    records = [(where, item) for where, item in _read_jsonl(Path(path))]
    for where, item in records:
        for field in ("name", "informal_prefix", "formal_statement"):
            if field not in item:
                raise HFExtError(f"{where}: missing field {field!r}")
    chosen = [(w, i) for w, i in records if split is None or i.get("split") == split]
    if not chosen:
        raise HFExtError(f"{path}: no problems in split {split!r}")
    return [normalize_problem(item, where) for where, item in chosen]


def load_lean_workbook(
    path_or_id: str = "internlm/Lean-Workbook", split: str = "train", limit: int | None = None
) -> list[dict[str, str]]:
    """Lean Workbook from the Hub (or a local file/folder in its layout) through ``datasets``."""
    from datasets import load_dataset

    local = Path(path_or_id)
    try:
        if local.is_file():
            kind = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}.get(local.suffix)
            if kind is None:
                raise HFExtError(f"{local}: unsupported file type {local.suffix!r} (json, jsonl, parquet)")
            dataset = load_dataset(kind, data_files=str(local), split="train")
        else:
            dataset = load_dataset(path_or_id, split=split)
    except (ConnectionError, OSError) as error:
        raise HFExtError(
            f"cannot load {path_or_id!r}: {str(error).splitlines()[0]}; offline, pass a local copy"
        ) from None
    rows = dataset if limit is None else dataset.select(range(min(limit, len(dataset))))
    return [normalize_problem(dict(row), f"{path_or_id}, row {i}") for i, row in enumerate(rows)]


def example_problems() -> list[dict[str, str]]:
    """The eight problems shipped with hf-ext (see hf_ext/formal/data/README.md)."""
    return load_problems(EXAMPLE_PROBLEMS)
