"""Checking what a user points hf-ext at: model and tokenizer folders, Hub ids, data files.

Every command resolves its inputs here before any work is done, so an everyday mistake (a path that does not
exist, a Hub id while offline, a JSONL file with a broken line, an empty or header-only file, a folder that is
not a dataset) fails with one :class:`~hf_ext.errors.HFExtError` line naming the file, line or flag.

A name counts as a local path when it exists, starts with ``/``, ``.`` or ``~``, has more than one ``/``, or
ends in a data-file suffix; anything else is a Hub id (``org/name``), as transformers decides too.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from hf_ext.inputs import check_data_file, local_model_path
    >>> local_model_path("./no/such/model", "--model")
    Traceback (most recent call last):
    ...
    hf_ext.errors.HFExtError: no model folder at ./no/such/model (--model)
    >>> broken = Path(tempfile.mkdtemp()) / "prefs.jsonl"
    >>> _ = broken.write_text('{"chosen": "a"}\\n{"chosen": \\n')
    >>> check_data_file(broken)
    Traceback (most recent call last):
    ...
    hf_ext.errors.HFExtError: .../prefs.jsonl, line 2: not valid JSON (Expecting value)
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

from hf_ext.errors import HFExtError
from hf_ext.names import is_provided_name, resolve_model_name

DATA_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
TESTING_PREFIX = "hf-ext-testing:"
_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE`` / ``HF_DATASETS_OFFLINE``) is set."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def looks_local(name: str) -> bool:
    """True for names that can only be local paths (see the module doc)."""
    return (
        Path(name).expanduser().exists()
        or name.startswith(("/", ".", "~"))
        or name.count("/") > 1
        or "\\" in name
        or Path(name).suffix.lower() in (*DATA_FILE_BUILDERS, ".txt")
    )


def unreachable_hub_error(name: str, flag: str, what: str = "a local folder") -> HFExtError:
    reason = "HF_HUB_OFFLINE is set" if hub_offline() else "no network or no such repository"
    return HFExtError(f"cannot reach the Hub for {name}: {reason}; pass {what} ({flag})")


def _is_cached(repo_id: str, filename: str, repo_type: str = "model") -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, filename, repo_type=repo_type), str)
    except ValueError:  # not a valid repo id
        return False


def local_model_path(name: str, flag: str, kind: str = "model") -> str:
    """``name`` after checking it: an ``hf-ext-testing:`` name becomes its folder; a local path must be a
    folder holding ``config.json`` (a model) or a tokenizer file (a tokenizer); a Hub id must be in the cache
    when offline. Raise :class:`HFExtError` naming ``flag`` otherwise."""
    if is_provided_name(name):
        return resolve_model_name(name)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise HFExtError(f"{name} is a file, not a {kind} folder ({flag})")
        needed = ("config.json",) if kind == "model" else ("tokenizer_config.json", "tokenizer.json")
        if not any((path / file).is_file() for file in needed):
            raise HFExtError(f"{name} is not a {kind} folder: it has no {' or '.join(needed)} ({flag})")
        return str(path)
    if looks_local(name):
        raise HFExtError(f"no {kind} folder at {name} ({flag})")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise HFExtError(f"no {kind} folder at {name}, and it is not a valid Hub id ({flag})") from None
    probe = "config.json" if kind == "model" else "tokenizer_config.json"
    if hub_offline() and not _is_cached(name, probe):
        raise unreachable_hub_error(name, flag)
    return name


@contextlib.contextmanager
def explain_load_errors(name: str, flag: str, kind: str = "model") -> Iterator[None]:
    """Turn the ``OSError`` that transformers raises for an unreachable or unknown Hub id, or an unreadable
    folder, into one :class:`HFExtError` line naming ``name`` and ``flag``."""
    try:
        yield
    except OSError as error:
        if Path(name).expanduser().exists():
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise HFExtError(f"cannot load the {kind} in {name} ({flag}): {first}") from error
        raise unreachable_hub_error(name, flag) from error


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSONL file, read as it goes; a line that is not
    a JSON object raises :class:`HFExtError` naming the file and the line."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise HFExtError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
            if not isinstance(value, dict):
                raise HFExtError(f"{path}, line {number}: expected a JSON object, got {type(value).__name__}")
            yield number, value


def _rows_of_jsonl(path: Path) -> int:
    return sum(1 for _ in iter_jsonl_objects(path))


def _rows_of_json(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return 0
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        if "\n" in text.strip():  # JSON lines in a .json file, which datasets also reads
            return _rows_of_jsonl(path)
        raise HFExtError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from None
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return max((len(v) for v in value.values() if isinstance(v, list)), default=1)
    raise HFExtError(f"{path}: expected a list of rows or an object, got {type(value).__name__}")


def _rows_of_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if len(rows) == 1:
        raise HFExtError(f"{path}: only a header line ({', '.join(rows[0])}), no data rows")
    return max(len(rows) - 1, 0)


def _rows_of_parquet(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(str(path)).num_rows
    except Exception as error:  # pyarrow raises its own ArrowInvalid for files that are not Parquet
        raise HFExtError(f"{path}: not a Parquet file ({type(error).__name__})") from None


def check_data_file(path: str | os.PathLike) -> int:
    """The number of rows of a ``.jsonl``/``.json``/``.csv``/``.parquet`` file after checking every line;
    :class:`HFExtError` names the file (and line) that is empty, malformed or header-only."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DATA_FILE_BUILDERS:
        raise HFExtError(f"{path}: unsupported file type {suffix!r}; use one of {sorted(DATA_FILE_BUILDERS)}")
    try:
        counter = {
            ".jsonl": _rows_of_jsonl,
            ".json": _rows_of_json,
            ".csv": _rows_of_csv,
            ".parquet": _rows_of_parquet,
        }[suffix]
        rows = counter(path)
    except UnicodeDecodeError as error:
        raise HFExtError(f"{path}: not UTF-8 text (byte {error.start})") from None
    if rows == 0:
        raise HFExtError(f"{path}: empty data file (no rows)")
    return rows


def data_files_in(folder: Path) -> list[Path]:
    """The data files (known suffixes) anywhere under ``folder``, hidden ones excluded."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in DATA_FILE_BUILDERS and not p.name.startswith(".")
    )


def text_lines(path: str | os.PathLike, flag: str) -> list[str]:
    """The non-empty lines of a ``.txt`` file (one text per line); an error names an empty file."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise HFExtError(f"no text file at {path} ({flag})")
    try:
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as error:
        raise HFExtError(f"{path}: not UTF-8 text (byte {error.start}) ({flag})") from None
    if not lines:
        raise HFExtError(f"{path}: the text file is empty, no non-empty line ({flag})")
    return lines
