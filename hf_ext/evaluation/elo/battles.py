"""Battle logs: loading, validation and the integer encoding every rating method works on.

A battle log has one row per comparison with ``model_a``, ``model_b`` and ``winner`` in
``{"model_a", "model_b", "tie", "tie (bothbad)"}`` (FastChat / Chatbot Arena convention; both ties score
one half). It may be a pandas DataFrame, a ``datasets.Dataset``, a list of dicts, or a path to a JSONL,
JSON, CSV or Parquet file. Bad input raises ``ValueError`` naming the file line (JSONL/CSV) or the row.

Example:
    >>> from hf_ext.evaluation.elo.battles import encode_battles
    >>> log = encode_battles([
    ...     {"model_a": "x", "model_b": "y", "winner": "model_a"},
    ...     {"model_a": "y", "model_b": "z", "winner": "tie"},
    ... ])
    >>> log.models, log.a.tolist(), log.b.tolist(), log.score_a.tolist()
    (('x', 'y', 'z'), [0, 1], [1, 2], [1.0, 0.5])
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

REQUIRED_COLUMNS = ("model_a", "model_b", "winner")
WEIGHT_COLUMN = "weight"
WINNER_SCORES = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}


@dataclass(frozen=True)
class BattleLog:
    """A validated battle log as arrays: model indices ``a``/``b`` into ``models`` and ``score_a`` in
    ``{1, 0.5, 0}`` (the score of ``model_a``), in the order of the input rows."""

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    score_a: np.ndarray
    weight: np.ndarray | None = None
    """Optional per-battle weights (>= 0, finite): a battle of weight ``w`` counts as ``w`` battles in
    Bradley-Terry, bootstrap BT and style control. ``None``: every battle weighs 1."""

    def __len__(self) -> int:
        return int(self.a.shape[0])

    @property
    def n_models(self) -> int:
        return len(self.models)

    def take(self, rows: np.ndarray) -> BattleLog:
        """The battles at ``rows`` (positions), in that order, with the same model list."""
        weight = None if self.weight is None else self.weight[rows]
        return BattleLog(self.models, self.a[rows], self.b[rows], self.score_a[rows], weight)

    def with_weights(self, weights: Any) -> BattleLog:
        """This log with per-battle ``weights`` (one per battle, finite, >= 0); ``None`` keeps it as is."""
        if weights is None:
            return self
        values = np.asarray(weights, dtype=np.float64)
        if values.shape != (len(self),):
            raise ValueError(f"weights must have one value per battle ({len(self)}), got {values.shape}")
        bad = _first_bad(~np.isfinite(values) | (values < 0))
        if bad is not None:
            raise ValueError(f"weights[{bad}] must be finite and >= 0, got {float(values[bad])!r}")
        return BattleLog(self.models, self.a, self.b, self.score_a, values)

    def battle_weights(self) -> np.ndarray:
        """The per-battle weights, ones when the log has none."""
        return np.ones(len(self)) if self.weight is None else self.weight

    def to_frame(self) -> pd.DataFrame:
        names = np.asarray(self.models, dtype=object)
        winner = np.where(self.score_a == 1.0, "model_a", np.where(self.score_a == 0.0, "model_b", "tie"))
        frame = pd.DataFrame({"model_a": names[self.a], "model_b": names[self.b], "winner": winner})
        return frame if self.weight is None else frame.assign(weight=self.weight)


# --- reading files ---------------------------------------------------------------------------------------
# A path is read in blocks keeping only the columns asked for (``columns``; None keeps all), each string
# column dictionary-encoded block by block, so a big log costs a few bytes per battle, not its text. A JSONL
# file the fast reader refuses (bad JSON, a number where a name belongs) is re-read line by line to name the
# line.

_BLOCK_BYTES = 1 << 20
_STRING_COLUMNS = ("model_a", "model_b", "winner")


def _arrow_column(column: Any, name: str) -> Any:
    """A block's column, dictionary-encoded unless it is the numeric weight."""
    return column if name == WEIGHT_COLUMN else column.dictionary_encode()


def _frame_from_blocks(blocks: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    import pyarrow as pa

    columns = {}
    for name in names:
        chunks = [block[name] for block in blocks]
        if chunks:
            columns[name] = pa.chunked_array(chunks).to_pandas()
    return pd.DataFrame(columns) if columns else pd.DataFrame(columns=names)


def _nth_record_line(path: Path, i: int) -> int:
    """The file line of the ``i``-th non-blank line (0-based), found only when an error needs it."""
    seen = -1
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                seen += 1
                if seen == i:
                    return number
    return seen + 1


def _read_jsonl_lines(
    path: Path, columns: tuple[str, ...] | None
) -> tuple[pd.DataFrame, Callable[[int], str]]:
    records, line_numbers = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: invalid JSON ({error.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(
                    f"{path}, line {number}: expected a JSON object, got {type(record).__name__}"
                )
            records.append(record if columns is None else {k: record[k] for k in columns if k in record})
            line_numbers.append(number)
    return pd.DataFrame.from_records(records), lambda i: f"{path}, line {line_numbers[i]}"


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file in pieces of about ``_BLOCK_BYTES`` cut at line ends (read one at a time: no read-ahead)."""
    rest = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_BLOCK_BYTES):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if block.strip():
                yield block
    if rest.strip():
        yield rest


def _read_jsonl(path: Path, columns: tuple[str, ...] | None) -> tuple[pd.DataFrame, Callable[[int], str]]:
    if columns is None:
        return _read_jsonl_lines(path, columns)
    import pyarrow as pa
    import pyarrow.json as pa_json

    fields = [(name, pa.float64() if name == WEIGHT_COLUMN else pa.string()) for name in columns]
    options = pa_json.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    try:
        blocks = []
        for chunk in _line_blocks(path):
            read = pa_json.ReadOptions(use_threads=False, block_size=len(chunk) + 1)
            table = pa_json.read_json(io.BytesIO(chunk), read_options=read, parse_options=options)
            blocks.append(
                {name: _arrow_column(table.column(name).combine_chunks(), name) for name in columns}
            )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _read_jsonl_lines(path, columns)  # names the offending line
    frame = _frame_from_blocks(blocks, list(columns))
    # a column absent from every line comes back all null: it is not in the file
    frame = frame[[name for name in frame.columns if frame[name].notna().any()]]
    return frame, lambda i: f"{path}, line {_nth_record_line(path, i)}"


_JSON_WHITESPACE = " \t\n\r"
_RECORDS_PER_BLOCK = 1 << 13  # battle objects held at once before their columns are encoded
_JSON_DELIMITER = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


class _JsonArrayStream:
    """The items of a top-level JSON array, parsed one at a time from text read in pieces of about
    ``_BLOCK_BYTES`` (the text of one item at a time, not the document's, is held). Positions for errors are
    file lines."""

    def __init__(self, handle: Any, path: Path, text: str) -> None:
        self.handle, self.path, self.text, self.at, self.line = handle, path, text, 0, 1
        self.scan = json.JSONDecoder().scan_once
        self.done = False

    def _more(self) -> bool:
        if self.done:
            return False
        chunk = self.handle.read(_BLOCK_BYTES)
        if not chunk:
            self.done = True
            return False
        self.line += self.text.count("\n", 0, self.at)
        self.text, self.at = self.text[self.at :] + chunk, 0
        return True

    def _skip_space(self) -> str:
        """The next non-blank character ("" at the end of the file), not consumed."""
        while True:
            while self.at < len(self.text) and self.text[self.at] in _JSON_WHITESPACE:
                self.at += 1
            if self.at < len(self.text) or not self._more():
                return self.text[self.at : self.at + 1]

    def _fail(self, message: str, at: int | None = None) -> ValueError:
        line = self.line + self.text.count("\n", 0, self.at if at is None else at)
        return ValueError(f"{self.path}: invalid JSON at line {line} ({message})")

    def _value(self) -> Any:
        while True:
            try:
                value, end = self.scan(self.text, self.at)
            except (json.JSONDecodeError, StopIteration) as error:
                if self._more():  # perhaps only cut off at the end of the piece read so far
                    continue
                if isinstance(error, StopIteration):
                    raise self._fail("Expecting value", error.value) from None
                raise self._fail(error.msg, error.pos) from None
            if end < len(self.text) or self.done or not self._more():  # a number may go on in the next piece
                self.at = end
                return value

    def __iter__(self) -> Iterator[Any]:
        if self._skip_space() != "[":
            raise self._fail("expected '['")
        self.at += 1
        if self._skip_space() == "]":
            self.at += 1
        else:
            while True:
                yield self._value()
                found = _JSON_DELIMITER.match(self.text, self.at)
                if found is not None and found.end() < len(self.text):  # the usual case, in one step
                    self.at = found.end()
                    if found.group(1) == "]":
                        break
                    continue
                following = self._skip_space()
                self.at += 1
                if following == "]":
                    break
                if following != ",":
                    raise self._fail("Expecting ',' delimiter", self.at - 1)
                self._skip_space()
        if self._skip_space() != "":
            raise self._fail("Extra data")


def _column_block(values: list[Any], name: str) -> Any:
    """A block of one column: an Arrow array (dictionary-encoded strings, or float weights) when every value
    has the expected type, else the values as they are (the checks then name the bad one)."""
    import pyarrow as pa

    try:
        if name == WEIGHT_COLUMN:
            return pa.array(values, type=pa.float64())
        return pa.array(values, type=pa.string()).dictionary_encode()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return np.array(values + [None], dtype=object)[:-1]  # None keeps nested lists as objects


def _frame_from_mixed_blocks(blocks: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    import pyarrow as pa

    if all(isinstance(block[name], pa.Array) for block in blocks for name in names):
        return _frame_from_blocks(blocks, names)
    columns = {}
    for name in names:
        parts = [
            block[name].to_pandas().to_numpy(dtype=object)
            if isinstance(block[name], pa.Array)
            else block[name]
            for block in blocks
        ]
        columns[name] = np.concatenate(parts) if parts else np.array([], dtype=object)
    return pd.DataFrame(columns)


def _read_json_array(
    stream: _JsonArrayStream, path: Path, columns: tuple[str, ...] | None
) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """A JSON array of battle objects, streamed: ``columns`` are kept in dictionary-encoded blocks (a few
    bytes per battle); without ``columns`` every field is kept, block by block."""
    frames, blocks, present = [], [], set()
    records: list[dict] = []

    def flush() -> None:
        if columns is None:
            frames.append(pd.DataFrame.from_records(records))
        else:
            blocks.append({name: _column_block([r.get(name) for r in records], name) for name in columns})
            present.update(name for name in columns if any(name in r for r in records))
        records.clear()

    for i, record in enumerate(stream):
        if not isinstance(record, dict):
            raise ValueError(f"{path}: battle {i} is not a JSON object")
        records.append(record)
        if len(records) == _RECORDS_PER_BLOCK:
            flush()
    if records:
        flush()
    where = lambda i: f"{path}, battle {i}"  # noqa: E731
    if columns is None:
        return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), where
    names = [name for name in columns if name in present]
    return _frame_from_mixed_blocks(blocks, names), where


def _read_json(path: Path, columns: tuple[str, ...] | None) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """A JSON document: a list of battle objects (as FastChat's ``clean_battle`` writes), streamed in pieces
    with bounded memory; or a dict of columns (or ``{"battles": [...]}``), parsed whole."""
    with path.open(encoding="utf-8") as handle:
        stream = _JsonArrayStream(handle, path, "")
        if stream._skip_space() == "[":
            return _read_json_array(stream, path, columns)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: invalid JSON at line {error.lineno} ({error.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("battles"), list):
        document = document["battles"]
    if isinstance(document, list):
        for i, record in enumerate(document):
            if not isinstance(record, dict):
                raise ValueError(f"{path}: battle {i} is not a JSON object")
        if columns is not None:
            present = [name for name in columns if any(name in record for record in document)]
            frame = pd.DataFrame({name: [record.get(name) for record in document] for name in present})
            return frame, lambda i: f"{path}, battle {i}"
        return pd.DataFrame.from_records(document), lambda i: f"{path}, battle {i}"
    if isinstance(document, dict):  # columns: {"model_a": [...], ...}
        if columns is not None:
            document = {name: document[name] for name in columns if name in document}
        try:
            return pd.DataFrame(document), lambda i: f"{path}, row {i}"
        except ValueError as error:
            raise ValueError(f"{path}: columns must be lists of equal length ({error})") from None
    raise ValueError(f"{path}: expected a list of battle objects or a dict of columns")


def _read_csv(path: Path, columns: tuple[str, ...] | None) -> tuple[pd.DataFrame, Callable[[int], str]]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    names = header if columns is None else [name for name in columns if name in header]
    convert = pa_csv.ConvertOptions(
        include_columns=names, column_types={name: pa.string() for name in names}, strings_can_be_null=False
    )
    try:
        reader = pa_csv.open_csv(
            path, read_options=pa_csv.ReadOptions(block_size=_BLOCK_BYTES), convert_options=convert
        )
        blocks = [{name: batch.column(name).dictionary_encode() for name in names} for batch in reader]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValueError(f"{path}: {error}") from None
    return _frame_from_blocks(blocks, names), lambda i: f"{path}, line {i + 2}"  # line 1 is the header


def _read_parquet(path: Path, columns: tuple[str, ...] | None) -> tuple[pd.DataFrame, Callable[[int], str]]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    present = file.schema_arrow.names
    names = present if columns is None else [name for name in columns if name in present]
    if columns is None:
        return file.read().to_pandas(), lambda i: f"{path}, row {i}"
    blocks = [
        {name: _arrow_column(batch.column(name), name) for name in names}
        for batch in file.iter_batches(batch_size=1 << 20, columns=names)
    ]
    return _frame_from_blocks(blocks, names), lambda i: f"{path}, row {i}"


def _read_path(path: Path, columns: tuple[str, ...] | None) -> tuple[pd.DataFrame, Callable[[int], str]]:
    if not path.is_file():
        raise FileNotFoundError(f"battle log {path} does not exist")
    suffix = path.suffix.lower()
    readers = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_json, ".csv": _read_csv}
    readers.update({".parquet": _read_parquet, ".pq": _read_parquet})
    if suffix not in readers:
        raise ValueError(
            f"{path}: unsupported battle log format {suffix!r}; use .jsonl, .json, .csv or .parquet"
        )
    return readers[suffix](path, columns)


def _project(frame: pd.DataFrame, columns: tuple[str, ...] | None) -> pd.DataFrame:
    """Only ``columns`` (those present), unless a required one is missing: the error then lists them all."""
    if columns is None or not all(name in frame.columns for name in REQUIRED_COLUMNS):
        return frame
    return frame[[name for name in columns if name in frame.columns]]


def read_battles(
    battles: Any, columns: tuple[str, ...] | None = None
) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """Any accepted battle-log form -> (DataFrame, function naming row ``i`` for error messages).

    ``columns``: keep only these (those present); a path is then read in blocks without the other fields.
    """
    if isinstance(battles, pd.DataFrame):
        index = battles.index
        return _project(battles, columns).reset_index(drop=True), lambda i: f"row {index[i]}"
    if isinstance(battles, str | Path):
        return _read_path(Path(battles), columns)
    if isinstance(battles, list):
        if not all(isinstance(record, dict) for record in battles):
            raise ValueError("a battle list must hold dicts with model_a, model_b and winner")
        return _project(pd.DataFrame.from_records(battles), columns), lambda i: f"battle {i}"
    if hasattr(battles, "to_pandas") and hasattr(battles, "column_names"):  # datasets.Dataset
        if columns is not None and all(name in battles.column_names for name in REQUIRED_COLUMNS):
            battles = battles.select_columns([name for name in columns if name in battles.column_names])
        return battles.to_pandas(), lambda i: f"row {i}"
    raise TypeError(
        f"battles must be a DataFrame, a datasets.Dataset, a list of dicts or a path, got {type(battles)}"
    )


# --- validation and encoding -----------------------------------------------------------------------------


def _first_bad(mask: np.ndarray) -> int | None:
    positions = np.flatnonzero(mask)
    return int(positions[0]) if positions.size else None


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _checked_codes(
    values: pd.Series, column: str, where: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray]:
    """Factorise a column and check its distinct values (not every row): codes per row and the uniques.
    A missing or non-string value is named by its first row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    bad_unique = np.fromiter((not _is_name(u) for u in uniques), dtype=bool, count=len(uniques))
    bad = _first_bad((codes < 0) | np.append(bad_unique, False)[codes])
    if bad is not None:
        raise ValueError(f"{where(bad)}: {column} must be a non-empty string, got {values.iloc[bad]!r}")
    return codes, uniques


def _check_columns(frame: pd.DataFrame) -> None:
    if len(frame) == 0:
        raise ValueError("the battle log is empty")
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise ValueError(f"the battle log is missing column(s) {', '.join(missing)} (found: {found})")


def _stacked(first: pd.Series, second: pd.Series) -> pd.Series:
    """Both model columns as one; two categoricals stay categorical (their categories united), so that a log
    read in blocks never becomes a column of Python strings."""
    if isinstance(first.dtype, pd.CategoricalDtype) and isinstance(second.dtype, pd.CategoricalDtype):
        return pd.Series(union_categoricals([first, second], ignore_order=True))
    return pd.concat([first, second], ignore_index=True)


def _encode_frame(frame: pd.DataFrame, where: Callable[[int], str]) -> BattleLog:
    """Validate and encode with work proportional to the distinct values, not a Python call per value."""
    _check_columns(frame)
    winner_codes, winners = _checked_codes(frame["winner"], "winner", where)
    known = np.array([w in WINNER_SCORES for w in winners], dtype=bool)
    bad = _first_bad(~known[winner_codes])
    if bad is not None:
        allowed = ", ".join(repr(w) for w in WINNER_SCORES)
        raise ValueError(f"{where(bad)}: winner {frame['winner'].iloc[bad]!r} is not one of {allowed}")
    score_a = np.array([WINNER_SCORES.get(w, np.nan) for w in winners], dtype=np.float64)[winner_codes]
    n = len(frame)
    both = _stacked(frame["model_a"], frame["model_b"])
    column_of = lambda i: "model_a" if i < n else "model_b"  # noqa: E731
    codes, names = pd.factorize(both, use_na_sentinel=True)
    names = np.asarray(names, dtype=object)
    bad_unique = np.fromiter((not _is_name(u) for u in names), dtype=bool, count=len(names))
    bad = _first_bad((codes < 0) | np.append(bad_unique, False)[codes])
    if bad is not None:
        row = bad % n
        raise ValueError(f"{where(row)}: {column_of(bad)} must be a non-empty string, got {both.iloc[bad]!r}")
    order = np.argsort(names.astype(str), kind="stable")  # models numbered in sorted name order
    rank = np.empty(len(names), dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    codes = rank[codes]
    a, b = codes[:n], codes[n:]
    bad = _first_bad(a == b)
    if bad is not None:
        raise ValueError(f"{where(bad)}: model {frame['model_a'].iloc[bad]!r} battles itself")
    return BattleLog(tuple(names[order].tolist()), a, b, score_a, _checked_weights(frame, where))


def _checked_weights(frame: pd.DataFrame, where: Callable[[int], str]) -> np.ndarray | None:
    """The optional ``weight`` column as floats; a missing, non-numeric, negative or infinite value is named
    by its row."""
    if WEIGHT_COLUMN not in frame.columns:
        return None
    values = pd.to_numeric(frame[WEIGHT_COLUMN], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = _first_bad(~np.isfinite(values) | (values < 0))
    if bad is not None:
        got = frame[WEIGHT_COLUMN].iloc[bad]
        got = got.item() if isinstance(got, np.generic) else got
        raise ValueError(f"{where(bad)}: weight must be a finite number >= 0, got {got!r}")
    return values


# --- compiled fast paths ----------------------------------------------------------------------------------
# A clean log is encoded from its bytes or codes without a Python string per row: Arrow string columns and a
# JSONL file through the compiled interner, categorical columns through their codes, object columns through
# the identity of their string objects (a column usually holds the same few objects many times). Each path
# gives up (None) on anything it does not take as clean (a missing value, a bad name or winner, a
# self-battle, a weight column, too many distinct objects), and the general path above, which names the row
# or line, runs instead. Both give the same arrays.


def _column_codes(column: pd.Series, interner: Any) -> tuple[np.ndarray, list[Any]] | None:
    """Per-row codes and the distinct values they index (strings, unchecked), or None."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        if codes.size == 0 or codes.min() < 0:
            return None
        used = np.flatnonzero(np.bincount(codes, minlength=len(column.cat.categories)))  # unused ones dropped
        renumber = np.full(len(column.cat.categories), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        return renumber[codes], column.cat.categories[used].tolist()
    arrow = getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype)
    if arrow and pd.api.types.is_string_dtype(dtype):  # the Arrow buffers as they are, no copy
        import pyarrow as pa

        array = column.array.__arrow_array__()
        return _arrow_codes(
            array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array]), interner
        )
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return _object_codes(column.to_numpy(dtype=object))
    return None


def _arrow_codes(chunked: Any, interner: Any) -> tuple[np.ndarray, list[Any]] | None:
    import pyarrow as pa

    from hf_ext.evaluation.elo._text_kernels import OK, intern_arrow

    codes, at = np.empty(len(chunked), dtype=np.int32), 0
    for chunk in chunked.chunks:
        if chunk.null_count:
            return None
        if pa.types.is_string_view(chunk.type):
            chunk = chunk.cast(pa.large_string())
        if pa.types.is_string(chunk.type):
            kind = np.int32
        elif pa.types.is_large_string(chunk.type):
            kind = np.int64
        else:
            return None
        _, offsets, data = chunk.buffers()
        offsets = np.frombuffer(offsets, dtype=kind)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.empty(0, np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8)
        if intern_arrow(offsets, data, codes[at : at + len(chunk)], *interner.state()) != OK:
            return None
        at += len(chunk)
    return codes, [raw.decode("utf-8") for raw, _ in interner.values()]


_MAX_DISTINCT_OBJECTS = 1 << 15


def _object_codes(values: np.ndarray) -> tuple[np.ndarray, list[Any]] | None:
    """Codes by object identity (the array's pointers, factorised as integers); the distinct objects are
    then compared by value by the caller. None when most rows hold distinct objects."""
    if values.size == 0:
        return None
    pointers = np.frombuffer(np.ascontiguousarray(values), dtype=np.intp)
    codes, distinct = pd.factorize(pointers)
    if len(distinct) > _MAX_DISTINCT_OBJECTS:
        return None
    first = np.empty(len(distinct), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, values[first].tolist()


def _united(parts: list[tuple[np.ndarray, list[Any]]]) -> tuple[list[str], list[np.ndarray]] | None:
    """Names and, per part, the name index of each of its values (equal values united); None when a value
    is not a name."""
    index: dict[str, int] = {}
    remaps = []
    for _, values in parts:
        if not all(_is_name(value) for value in values):
            return None
        remaps.append(np.array([index.setdefault(value, len(index)) for value in values], dtype=np.int64))
    return list(index), remaps


def _log_from_codes(
    model_parts: list[tuple[np.ndarray, list[Any]]], winner_part: tuple[np.ndarray, list[Any]]
) -> BattleLog | None:
    """The encoding :func:`_encode_frame` gives, from per-column codes; None when anything is off."""
    winner_codes, winners = winner_part
    if not all(isinstance(w, str) and w in WINNER_SCORES for w in winners):
        return None
    united = _united(model_parts)
    if united is None:
        return None
    names, (remap_a, remap_b) = united
    names = np.asarray(names, dtype=object)
    order = np.argsort(names.astype(str), kind="stable")  # models numbered in sorted name order
    rank = np.empty(len(names), dtype=np.int32)
    rank[order] = np.arange(len(names), dtype=np.int32)
    from hf_ext.evaluation.elo._text_kernels import battle_arrays

    n = len(winner_codes)
    a, b, score_a = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), np.empty(n)
    scores = np.array([WINNER_SCORES[w] for w in winners], dtype=np.float64)
    if not battle_arrays(
        model_parts[0][0],
        model_parts[1][0],
        winner_codes,
        rank[remap_a],
        rank[remap_b],
        scores,
        a,
        b,
        score_a,
    ):
        return None  # a self-battle: the general path names its row
    return BattleLog(tuple(names[order].tolist()), a, b, score_a)


def _fast_frame(frame: pd.DataFrame) -> BattleLog | None:
    from hf_ext.evaluation.elo._text_kernels import Interner

    if len(frame) == 0 or WEIGHT_COLUMN in frame.columns:
        return None
    if not all(name in frame.columns for name in REQUIRED_COLUMNS) or not frame.columns.is_unique:
        return None
    models = Interner()  # Arrow columns of both models share one interner
    parts = [_column_codes(frame[name], models) for name in ("model_a", "model_b")]
    winner = _column_codes(frame["winner"], Interner())
    if parts[0] is None or parts[1] is None or winner is None:
        return None
    return _log_from_codes(parts, winner)


def _decoded(values: list[tuple[bytes, bool]]) -> list[str]:
    """JSON string contents as text: escapes decoded by the json module, the rest as UTF-8."""
    return [json.loads(b'"' + raw + b'"') if escaped else raw.decode("utf-8") for raw, escaped in values]


_SHORTEST_BATTLE_LINE = len('{"model_a":"x","model_b":"y","winner":"tie"}\n')


def _fast_jsonl(path: Path) -> BattleLog | None:
    """A JSONL log scanned block by block by the compiled JSON scanner (codes only are kept: 12 bytes per
    battle); None when it is not clean JSONL with the three string fields on every line."""
    from hf_ext.evaluation.elo._text_kernels import OK, Interner, scan_jsonl

    models, winners = Interner(), Interner()
    pairs, outcomes = np.empty((2, 0), dtype=np.int32), np.empty(0, dtype=np.int32)  # pairs: a row, b row
    rows = np.zeros(1, dtype=np.int64)
    for block in _line_blocks(path):
        need = int(rows[0]) + len(block) // _SHORTEST_BATTLE_LINE + 1  # at most this many battles
        if need > len(outcomes):
            size = max(need, 2 * len(outcomes))
            pairs = np.concatenate(
                [pairs[:, : rows[0]], np.empty((2, size - rows[0]), dtype=np.int32)], axis=1
            )
            outcomes = np.concatenate([outcomes[: rows[0]], np.empty(size - rows[0], dtype=np.int32)])
        data = np.frombuffer(block, dtype=np.uint8)
        lines = need - int(rows[0])
        spans, escapes = np.empty((3, 2, lines), dtype=np.int64), np.empty((3, lines), dtype=np.bool_)
        status = scan_jsonl(data, pairs, outcomes, models.state(), winners.state(), rows, spans, escapes)
        if status != OK:
            return None
    n = int(rows[0])
    if n == 0:
        return None
    names = _decoded(models.values())
    return _log_from_codes(
        [(pairs[0, :n], names), (pairs[1, :n], names)], (outcomes[:n], _decoded(winners.values()))
    )


def _fast_encode(battles: Any) -> BattleLog | None:
    if isinstance(battles, pd.DataFrame):
        return _fast_frame(battles)
    if isinstance(battles, str | Path):
        path = Path(battles)
        if path.suffix.lower() in (".jsonl", ".ndjson") and path.is_file():
            return _fast_jsonl(path)
    return None


def validate_battles(frame: pd.DataFrame, where: Callable[[int], str]) -> pd.DataFrame:
    """Check columns, names and winners; return the three required columns as strings."""
    log = _encode_frame(frame, where)
    return log.to_frame().assign(winner=frame["winner"].astype(str).to_numpy())


def encode_battles(battles: Any, weights: Any = None) -> BattleLog:
    """Read, validate and encode a battle log (a :class:`BattleLog` is returned unchanged).

    Per-battle weights come from an optional ``weight`` column or from ``weights`` (which replaces it).

    Models are numbered in sorted name order, so the same log always gives the same encoding. Validation
    looks at each distinct value once, so a DataFrame of a million battles (object, categorical or pyarrow
    strings) is encoded at array speed.
    """
    if isinstance(battles, BattleLog):
        return battles.with_weights(weights)
    log = _fast_encode(battles)
    if log is None:
        frame, where = read_battles(battles, columns=(*REQUIRED_COLUMNS, WEIGHT_COLUMN))
        log = _fast_frame(frame) or _encode_frame(frame, where)
    return log.with_weights(weights)


def check_indices(log: BattleLog) -> None:
    """Raise unless every battle's model indices are in ``range(log.n_models)`` and the arrays agree in
    length (a hand-built :class:`BattleLog` is checked before compiled loops index with it)."""
    from hf_ext.evaluation.elo._bt_kernels import indices_in_range

    n = len(log.a)
    lengths = {len(log.b), len(log.score_a), n if log.weight is None else len(log.weight)}
    if lengths != {n}:
        raise ValueError(
            f"the battle log's arrays differ in length: a {n}, b {len(log.b)}, score_a "
            f"{len(log.score_a)}" + ("" if log.weight is None else f", weight {len(log.weight)}")
        )
    if not indices_in_range(log.a, log.b, log.n_models):
        raise ValueError(f"the battle log has model indices outside 0..{log.n_models - 1}")


def pair_counts(log: BattleLog) -> np.ndarray:
    """``W[i, j]``: the score model ``i`` earned against model ``j`` (a win is 1, a tie one half each; each
    battle times its weight when the log has weights). One compiled pass over the battles."""
    from hf_ext.evaluation.elo._bt_kernels import count_pairs

    m = log.n_models
    check_indices(log)
    table = np.zeros(m * m)
    weight = np.empty(0) if log.weight is None else log.weight
    count_pairs(log.a, log.b, log.score_a, weight, m, table)
    return table.reshape(m, m)


def win_rates(battles: Any) -> pd.DataFrame:
    """Empirical win rate of the row model against the column model (ties count one half; NaN: never met)."""
    log = encode_battles(battles)
    scores = pair_counts(log)
    games = scores + scores.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(games > 0, scores / games, np.nan)
    return pd.DataFrame(rates, index=list(log.models), columns=list(log.models))
