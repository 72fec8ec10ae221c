"""Pairwise LLM-as-judge battles for the ``hfx_elo_pairwise`` lm-eval task.

The evaluated model judges (prompt, response A, response B) pairs. Each pair is asked in both orders
(rows ``2i`` and ``2i+1``, so lm-eval's ``limit`` keeps whole pairs) to cancel position bias: the
judge's verdict in one order is the response whose letter has the higher log-likelihood after
``Answer:``; the pair's verdict is that response when both orders agree, and a tie when they disagree or
break even. The verdicts are battles between the pair's ``model_a`` and ``model_b``; the task reports
their Bradley-Terry ratings, the position consistency of the judge and its agreement with the reference
``winner`` labels when the data has them.

Pairs data: ``prompt``, ``response_a``, ``response_b``, ``model_a``, ``model_b`` and optionally
``winner`` (battle-log values), from a local JSONL/JSON/CSV/Parquet file or a Hub dataset id.

Example:
    >>> from hf_ext.evaluation.elo.judging import both_orders, combine_judgments, load_pairs
    >>> docs = both_orders(load_pairs())  # the small example shipped with hf-ext
    >>> docs[0]["swapped"], docs[1]["swapped"], docs[0]["pair_id"] == docs[1]["pair_id"]
    (False, True, True)
    >>> items = [dict(docs[i], preference_a=1.0) for i in range(2)]  # both orders prefer response_a
    >>> combine_judgments(items)["winner"].tolist()
    ['model_a']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from datasets import Dataset

from hf_ext.evaluation.elo.battles import WINNER_SCORES, read_battles
from hf_ext.evaluation.elo.bradley_terry import bradley_terry

EXAMPLE_PAIRS = Path(__file__).resolve().parent / "example_pairs.jsonl"
PAIR_COLUMNS = ("prompt", "response_a", "response_b", "model_a", "model_b")
JUDGE_BT_REG = 0.1  # judged samples are small: a little L2 keeps BT finite when a model wins every pair
_TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")


def load_pairs(pairs: str | Path | None = None, split: str = "test") -> Dataset:
    """Judging pairs from a local file (default: the shipped example) or a Hub dataset id; validated."""
    source = EXAMPLE_PAIRS if pairs is None else pairs
    if Path(source).suffix.lower() in _TABLE_SUFFIXES or Path(source).exists():
        frame, where = read_battles(Path(source))
    else:  # a Hub dataset id (offline runs need it in the local cache)
        from datasets import load_dataset

        frame = load_dataset(str(source), split=split).to_pandas()
        where = lambda i: f"{source}, row {i}"  # noqa: E731
    missing = [column for column in PAIR_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{source}: judging pairs are missing column(s) {', '.join(missing)}")
    if len(frame) == 0:
        raise ValueError(f"{source}: no judging pairs")
    for i, row in enumerate(frame.itertuples(index=False)):
        record = row._asdict()
        for column in PAIR_COLUMNS:
            if not isinstance(record[column], str) or not record[column].strip():
                raise ValueError(f"{where(i)}: {column} must be a non-empty string")
        if record["model_a"] == record["model_b"]:
            raise ValueError(f"{where(i)}: model {record['model_a']!r} battles itself")
        label = record.get("winner")
        if (
            label is not None
            and not (isinstance(label, float) and math.isnan(label))
            and label not in WINNER_SCORES
        ):
            raise ValueError(f"{where(i)}: winner {label!r} is not one of {', '.join(WINNER_SCORES)}")
    columns = [*PAIR_COLUMNS, "winner"] if "winner" in frame.columns else list(PAIR_COLUMNS)
    frame = frame[columns].copy()
    if "winner" in frame.columns:
        frame["winner"] = frame["winner"].where(frame["winner"].isin(list(WINNER_SCORES)), "")
    return Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def both_orders(pairs: Dataset) -> Dataset:
    """Two judging documents per pair, interleaved: as given, then with the responses swapped."""
    rows = []
    for pair_id, pair in enumerate(pairs):
        label = pair.get("winner") or ""
        for swapped in (False, True):
            first, second = (
                (pair["response_b"], pair["response_a"])
                if swapped
                else (pair["response_a"], pair["response_b"])
            )
            rows.append(
                {
                    "pair_id": pair_id, "swapped": swapped, "prompt": pair["prompt"], "first": first,
                    "second": second, "model_a": pair["model_a"], "model_b": pair["model_b"], "label": label,
                }
            )  # fmt: skip
    return Dataset.from_list(rows)


def judge_prompt(doc: dict[str, Any]) -> str:
    """The question put to the judge; the continuation scored is `` A`` or `` B``."""
    return (
        "Two assistants answered the same request. Decide which response is better: more correct, "
        "more helpful and clearer.\n\n"
        f"Request: {doc['prompt']}\n\nResponse A: {doc['first']}\n\nResponse B: {doc['second']}\n\n"
        "Which response is better, A or B?\nAnswer:"
    )


def judgment_item(doc: dict[str, Any], choice_logprobs: list[float]) -> dict[str, Any]:
    """One order's judgment: ``preference_a`` > 0 when the judge prefers the pair's ``response_a``."""
    margin = float(choice_logprobs[0]) - float(choice_logprobs[1])  # letter A minus letter B
    preference_a = -margin if doc["swapped"] else margin
    keys = ("pair_id", "swapped", "model_a", "model_b", "label")
    return {**{key: doc[key] for key in keys}, "preference_a": preference_a}


def _verdict(preference_a: float) -> str:
    return "model_a" if preference_a > 0 else "model_b" if preference_a < 0 else "tie"


def combine_judgments(items: list[dict[str, Any]]) -> pd.DataFrame:
    """Battles (``model_a``, ``model_b``, ``winner``, ``label``, ``consistent``), one per pair judged in both
    orders: the common verdict of the two orders, or a tie when they disagree. Lone orders are dropped."""
    by_pair: dict[int, dict[bool, dict[str, Any]]] = {}
    for item in items:
        by_pair.setdefault(int(item["pair_id"]), {})[bool(item["swapped"])] = item
    rows = []
    for pair_id in sorted(by_pair):
        orders = by_pair[pair_id]
        if len(orders) != 2:
            continue
        verdicts = {_verdict(order["preference_a"]) for order in orders.values()}
        winner = verdicts.pop() if len(verdicts) == 1 else "tie"
        first = orders[False]
        rows.append((first["model_a"], first["model_b"], winner, first["label"] or None, len(verdicts) == 0))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "label", "consistent"])


def agreement(items: list[dict[str, Any]]) -> float:
    """Fraction of labelled pairs whose verdict equals the reference label (both tie kinds are one tie);
    NaN when no pair has a label."""
    battles = combine_judgments(items)
    labelled = battles[battles["label"].notna()]
    if labelled.empty:
        return float("nan")
    same = labelled["winner"].map(WINNER_SCORES) == labelled["label"].map(WINNER_SCORES)
    return float(same.mean())


def position_consistency(items: list[dict[str, Any]]) -> float:
    """Fraction of pairs where the two orders give the same verdict."""
    battles = combine_judgments(items)
    return float(battles["consistent"].mean()) if len(battles) else float("nan")


def judged_bt_ratings(items: list[dict[str, Any]]) -> dict[str, float]:
    """Bradley-Terry ratings (regularised by :data:`JUDGE_BT_REG`) of the judged battles, best first."""
    battles = combine_judgments(items)
    if battles.empty:
        return {}
    ratings = bradley_terry(battles[["model_a", "model_b", "winner"]], reg=JUDGE_BT_REG)
    return {name: round(value, 2) for name, value in ratings.items()}
