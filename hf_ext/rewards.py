"""Offline reward functions in TRL's convention ``f(prompts, completions, **columns) -> list[float]``.

``sentiment_reward`` scores text with VADER (Hutto & Gilbert 2014, the ``vaderSentiment`` package, MIT), a
rule-based sentiment scorer that ships its lexicon, so it runs with no network and no model download. It is
the offline stand-in for the paper's IMDB sentiment classifier: the compound score lies in [-1, 1].

Example:
    >>> from hf_ext.rewards import sentiment_reward
    >>> good, bad = sentiment_reward(["", ""], ["a wonderful, happy day", "a terrible, sad failure"])
    >>> good > 0 > bad
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_scores(texts: Sequence[str]) -> list[float]:
    """VADER compound sentiment of each text, in [-1, 1]."""
    analyzer = _vader()
    return [float(analyzer.polarity_scores(text)["compound"]) for text in texts]


def sentiment_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float]:
    """Reward = sentiment of the completion alone (chat completions: the text of their last message)."""
    return sentiment_scores([_text(completion) for completion in completions])


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # conversational: [{"role": "assistant", "content": ...}]
        return str(completion[-1]["content"]) if completion else ""
    return str(completion)
