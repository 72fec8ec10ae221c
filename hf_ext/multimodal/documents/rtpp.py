"""Relative Text-Position Prediction (RTPP) instruction tasks, as ``datasets.map`` functions.

Two tasks from Park et al. (NeurIPS 2024), built from a page's words in reading order (``N`` words):

* Reading Partial Text (RPT): the prompt names a part of the text - the first ``p``%, the last ``p``% or the
  range ``p1``%-``p2``% - and the target is that part: words ``floor(p1*N/100)`` up to (not including)
  ``floor(p2*N/100)``, so consecutive ranges tile the text. Percentages lie on a ``grid``; a window whose text
  would exceed ``max_target_words`` is narrowed (to fewer grid steps, then to 5% and 1% steps), and only a
  single 1% step that is still too long is cut to ``max_target_words`` words (``truncated`` is then True).
* Predicting Text Position (PTP): the prompt quotes a snippet (words ``i..j-1``, chosen to occur once) and
  the target is its range ``"{round(100*i/N)}%-{round(100*j/N)}%"`` (halves round up).

"Position" is 1-D reading order here; the paper's exact templates and whether it meant the vertical position
on the image are not known (see docs/hvfa.md). Each row's draw depends only on ``(seed, row index)``.

Example:
    >>> words = [f"w{i}" for i in range(20)]
    >>> rng = random.Random(0)
    >>> read_range(words, 0, 10)
    'w0 w1'
    >>> read_range(words, 90, 100)
    'w18 w19'
    >>> position_label(20, 3, 9)
    '15%-45%'
    >>> from datasets import Dataset
    >>> data = Dataset.from_dict({"text": [" ".join(words)]})
    >>> row = data.map(rtpp_map("ptp", seed=1), with_indices=True)[0]
    >>> sorted(row)
    ['prompt', 'rtpp_range', 'target', 'task', 'text', 'truncated']
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from hf_ext.errors import HFExtError

TASKS = ("rpt", "ptp", "mixed")


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def read_range(words: list[str], p1: int, p2: int) -> str:
    """The words of the ``p1``%-``p2``% part of the text (half-open, floor of the word positions)."""
    if not 0 <= p1 < p2 <= 100:
        raise HFExtError(f"need 0 <= p1 < p2 <= 100, got {p1}, {p2}")
    count = len(words)
    return " ".join(words[math.floor(p1 * count / 100) : math.floor(p2 * count / 100)])


def position_label(count: int, start: int, end: int) -> str:
    """``"a%-b%"`` for the words ``start..end-1`` of ``count`` words."""
    return f"{_round_half_up(100 * start / count)}%-{_round_half_up(100 * end / count)}%"


def _words_in(count: int, p1: int, p2: int) -> int:
    return math.floor(p2 * count / 100) - math.floor(p1 * count / 100)


def reading_partial_text(
    words: list[str], rng: random.Random, *, grid: int = 10, max_target_words: int = 64
) -> dict[str, Any]:
    """One RPT example: ``prompt``, ``target``, ``rtpp_range`` (p1, p2) and ``truncated``."""
    if not words:
        raise HFExtError("RPT needs a page with text")
    if grid not in (1, 2, 5, 10, 20, 25, 50):
        raise HFExtError(f"grid must divide 100 (1, 2, 5, 10, 20, 25 or 50), got {grid}")
    count, part = len(words), rng.choice(["first", "middle", "last"])
    for step in sorted({step for step in (grid, 5, 1) if step <= grid}, reverse=True):
        slots = 100 // step
        if part == "first":
            spans = [(0, k * step) for k in range(1, slots + 1)]
        elif part == "last":
            spans = [(100 - k * step, 100) for k in range(1, slots + 1)]
        else:
            spans = [(a * step, b * step) for a in range(1, slots) for b in range(a + 1, slots)]
        spans = [(p1, p2) for p1, p2 in spans if 0 < _words_in(count, p1, p2) <= max_target_words]
        if spans:
            p1, p2 = rng.choice(spans)
            break
    else:  # even 1% of the page is more than the budget (or the page is too short for a middle part)
        p1, p2 = {"first": (0, 1), "last": (99, 100), "middle": (50, 51)}[part]
        if _words_in(count, p1, p2) == 0:
            p1, p2 = 0, 100
    target_words = read_range(words, p1, p2).split()
    truncated = len(target_words) > max_target_words
    if p1 == 0:
        prompt = f"Read the first {p2}% of the text on the page."
    elif p2 == 100:
        prompt = f"Read the last {100 - p1}% of the text on the page."
    else:
        prompt = f"Read the text from {p1}% to {p2}% of the page."
    return {
        "prompt": prompt,
        "target": " ".join(target_words[:max_target_words]),
        "rtpp_range": [p1, p2],
        "truncated": truncated,
    }


def predicting_text_position(
    words: list[str], rng: random.Random, *, min_words: int = 3, max_words: int = 8, attempts: int = 20
) -> dict[str, Any]:
    """One PTP example; the snippet is drawn until it occurs once in the text (or ``attempts`` run out)."""
    count = len(words)
    if count == 0:
        raise HFExtError("PTP needs a page with text")
    if not 1 <= min_words <= max_words:
        raise HFExtError(f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
    for _ in range(attempts):
        length = rng.randint(min(min_words, count), min(max_words, count))
        start = rng.randrange(0, count - length + 1)
        snippet = words[start : start + length]
        occurrences = sum(words[i : i + length] == snippet for i in range(count - length + 1))
        if occurrences == 1:
            break
    quoted = " ".join(snippet)
    return {
        "prompt": f'Where is the text "{quoted}" on the page? Answer with a percentage range.',
        "target": position_label(count, start, start + length),
        "rtpp_range": [start, start + length],
        "truncated": False,
    }


def rtpp_map(
    task: str = "mixed",
    *,
    seed: int = 0,
    text_column: str = "text",
    grid: int = 10,
    max_target_words: int = 64,
    min_snippet_words: int = 3,
    max_snippet_words: int = 8,
) -> Callable[[dict, int], dict]:
    """A function for ``dataset.map(fn, with_indices=True)`` adding ``prompt``, ``target``, ``task``,
    ``rtpp_range`` (RPT: percentages; PTP: word indices) and ``truncated``."""
    if task not in TASKS:
        raise HFExtError(f"task must be one of {TASKS}, got {task!r}")

    def build(example: dict, index: int) -> dict:
        if text_column not in example:
            raise HFExtError(f"row {index}: no column {text_column!r}")
        rng = random.Random(f"rtpp:{seed}:{index}")
        chosen = rng.choice(["rpt", "ptp"]) if task == "mixed" else task
        words = str(example[text_column]).split()
        if chosen == "rpt":
            row = reading_partial_text(words, rng, grid=grid, max_target_words=max_target_words)
        else:
            row = predicting_text_position(
                words, rng, min_words=min_snippet_words, max_words=max_snippet_words
            )
        return {**row, "task": chosen}

    return build
