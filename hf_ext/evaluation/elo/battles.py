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

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, Callable[[int], str]]:
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
            records.append(record)
            line_numbers.append(number)
    return pd.DataFrame.from_records(records), lambda i: f"{path}, line {line_numbers[i]}"


def _read_json(path: Path) -> tuple[pd.DataFrame, Callable[[int], str]]:
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
        return pd.DataFrame.from_records(document), lambda i: f"{path}, battle {i}"
    if isinstance(document, dict):  # columns: {"model_a": [...], ...}
        try:
            return pd.DataFrame(document), lambda i: f"{path}, row {i}"
        except ValueError as error:
            raise ValueError(f"{path}: columns must be lists of equal length ({error})") from None
    raise ValueError(f"{path}: expected a list of battle objects or a dict of columns")


def _read_path(path: Path) -> tuple[pd.DataFrame, Callable[[int], str]]:
    if not path.is_file():
        raise FileNotFoundError(f"battle log {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return frame, lambda i: f"{path}, line {i + 2}"  # line 1 is the header
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path), lambda i: f"{path}, row {i}"
    raise ValueError(f"{path}: unsupported battle log format {suffix!r}; use .jsonl, .json, .csv or .parquet")


def read_battles(battles: Any) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """Any accepted battle-log form -> (DataFrame, function naming row ``i`` for error messages)."""
    if isinstance(battles, pd.DataFrame):
        index = battles.index
        return battles.reset_index(drop=True), lambda i: f"row {index[i]}"
    if isinstance(battles, str | Path):
        return _read_path(Path(battles))
    if isinstance(battles, list):
        if not all(isinstance(record, dict) for record in battles):
            raise ValueError("a battle list must hold dicts with model_a, model_b and winner")
        return pd.DataFrame.from_records(battles), lambda i: f"battle {i}"
    if hasattr(battles, "to_pandas") and hasattr(battles, "column_names"):  # datasets.Dataset
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
    both = pd.concat([frame["model_a"], frame["model_b"]], ignore_index=True)
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
    frame, where = read_battles(battles)
    return _encode_frame(frame, where).with_weights(weights)


def pair_counts(log: BattleLog) -> np.ndarray:
    """``W[i, j]``: the score model ``i`` earned against model ``j`` (a win is 1, a tie one half each; each
    battle times its weight when the log has weights)."""
    m = log.n_models
    won, lost = log.score_a, 1.0 - log.score_a
    if log.weight is not None:
        won, lost = won * log.weight, lost * log.weight
    wins = np.bincount(log.a * m + log.b, weights=won, minlength=m * m)
    losses = np.bincount(log.b * m + log.a, weights=lost, minlength=m * m)
    return (wins + losses).reshape(m, m)


def win_rates(battles: Any) -> pd.DataFrame:
    """Empirical win rate of the row model against the column model (ties count one half; NaN: never met)."""
    log = encode_battles(battles)
    scores = pair_counts(log)
    games = scores + scores.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(games > 0, scores / games, np.nan)
    return pd.DataFrame(rates, index=list(log.models), columns=list(log.models))
