"""lm-eval glue for ``hfx_elo_pairwise``; the logic lives in :mod:`hf_ext.evaluation.elo.judging`.

lm-eval loads this file by path, outside any package, so imports here are absolute.
"""

from __future__ import annotations

from typing import Any

from hf_ext.evaluation.elo import judging


def load_judging_docs(pairs: str | None = None, split: str = "test", **metadata: Any) -> dict:
    """``custom_dataset``: metadata ``pairs`` (file or Hub id; default: the shipped example), both orders."""
    return {"test": judging.both_orders(judging.load_pairs(pairs, split=split))}


def doc_to_text(doc: dict) -> str:
    return judging.judge_prompt(doc)


def doc_to_target(doc: dict) -> int:
    """Index of the letter showing the labelled winner (0 when unlabelled or a tie; only logged)."""
    if doc["label"] not in ("model_a", "model_b"):
        return 0
    return int((doc["label"] == "model_b") != doc["swapped"])


def process_results(doc: dict, results: list) -> dict:
    item = judging.judgment_item(doc, [loglikelihood for loglikelihood, _ in results])
    return {"agreement": item, "position_consistency": item, "bt_ratings": item}


def agreement(items: list) -> float:
    return judging.agreement(items)


def position_consistency(items: list) -> float:
    return judging.position_consistency(items)


def bt_ratings(items: list) -> dict:
    return judging.judged_bt_ratings(items)
