"""Arena log handling as Chatbot Arena's pipeline does it: anonymous battles only, in time order, with the
usual filters, and a count of what each filter removed.

:func:`filter_battles` works on a DataFrame of battles (FastChat's ``clean_battle`` rows or any log with
``model_a``, ``model_b``, ``winner``) and returns the kept rows in ``tstamp`` order (input order without a
``tstamp``) with a dict of rows dropped per filter. Without an ``anony`` column every battle is kept, and the
dict says ``"anony": "no column"``.

Example:
    >>> import pandas as pd
    >>> from hf_ext.evaluation.elo.arena import filter_battles
    >>> log = pd.DataFrame({"model_a": ["x", "x", "y"], "model_b": ["y", "z", "z"],
    ...                     "winner": ["model_a", "tie", "model_b"], "anony": [True, True, False],
    ...                     "tstamp": [3.0, 1.0, 2.0]})
    >>> kept, dropped = filter_battles(log)
    >>> kept["tstamp"].tolist(), dropped["anony"]
    ([1.0, 3.0], 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import BattleLog


def _nested(value: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def filter_battles(
    battles: pd.DataFrame | BattleLog,
    anony_only: bool = True,
    exclude_models: Iterable[str] = (),
    languages: Iterable[str] | None = None,
    exclude_ties: bool = False,
    daily_vote_cap: int | None = None,
    voter_column: str = "judge",
    category: str | None = None,
) -> tuple[pd.DataFrame | BattleLog, dict[str, Any]]:
    """Kept battles (time order) and rows dropped per filter. Given a :class:`BattleLog` (which has no arena
    columns: only the model, tie and ``anony``-missing handling apply) the kept battles come back as a
    ``BattleLog`` with the same model list.

    Args:
        anony_only: keep rows whose ``anony`` is true (the arena's leaderboard uses anonymous battles only).
        exclude_models: drop battles involving these models.
        languages: keep rows whose ``language`` is one of these.
        exclude_ties: drop ``tie`` and ``tie (bothbad)`` outcomes.
        daily_vote_cap: keep at most this many battles per voter (``voter_column``) per UTC day of
            ``tstamp``, the earliest first.
        category: keep rows where this column (or dotted path into a nested dict column, e.g.
            ``category_tag.math_v0.1.math``) is true.
    """
    if isinstance(battles, BattleLog):
        frame, dropped = filter_battles(
            battles.to_frame().assign(_row=np.arange(len(battles))),
            anony_only,
            exclude_models,
            languages,
            exclude_ties,
            daily_vote_cap,
            voter_column,
            category,
        )
        return battles.take(frame["_row"].to_numpy()), dropped
    frame = battles
    dropped: dict[str, Any] = {}

    def apply(name: str, keep: np.ndarray) -> None:
        nonlocal frame
        dropped[name] = int((~keep).sum())
        frame = frame[keep]

    if "tstamp" in frame:
        frame = frame.sort_values("tstamp", kind="stable")
    if anony_only:
        if "anony" in frame:
            apply("anony", frame["anony"].fillna(False).astype(bool).to_numpy())
        else:
            dropped["anony"] = "no column"
    exclude = set(exclude_models)
    if exclude:
        apply(
            "excluded_models", ~(frame["model_a"].isin(exclude) | frame["model_b"].isin(exclude)).to_numpy()
        )
    if languages is not None:
        if "language" not in frame:
            raise ValueError("a language filter needs a 'language' column")
        apply("language", frame["language"].isin(set(languages)).to_numpy())
    if exclude_ties:
        apply("ties", ~frame["winner"].astype(str).str.startswith("tie").to_numpy())
    if category is not None:
        column, *path = category.split(".", 1)
        if column not in frame:
            raise ValueError(f"category filter: no column {column!r}")
        values = frame[column] if not path else frame[column].map(lambda v: _nested(v, _split_path(path[0])))
        apply("category", values.fillna(False).astype(bool).to_numpy())
    if daily_vote_cap is not None:
        if daily_vote_cap < 1:
            raise ValueError(f"daily_vote_cap must be >= 1, got {daily_vote_cap}")
        for needed in (voter_column, "tstamp"):
            if needed not in frame:
                raise ValueError(f"a daily vote cap needs a {needed!r} column")
        day = pd.to_datetime(frame["tstamp"], unit="s", utc=True).dt.floor("D")
        rank = frame.groupby([frame[voter_column], day], sort=False).cumcount()
        apply("daily_vote_cap", (rank < daily_vote_cap).to_numpy())
    return frame.reset_index(drop=True), dropped


def _split_path(path: str) -> list[str]:
    """``math_v0.1.math`` -> ``["math_v0.1", "math"]``: keys may contain dots before a version number."""
    parts = path.split(".")
    keys: list[str] = []
    for part in parts:
        if keys and part[:1].isdigit():
            keys[-1] = f"{keys[-1]}.{part}"
        else:
            keys.append(part)
    return keys
