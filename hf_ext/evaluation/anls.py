"""ANLS, the Average Normalized Levenshtein Similarity of DocVQA (Biten et al., ICCV 2019).

For a prediction and the list of accepted answers of one question, both lower-cased with surrounding and
repeated whitespace removed: ``NL = levenshtein(pred, gt) / max(len(pred), len(gt))``; the question scores
``max over gt of (1 - NL if NL < threshold else 0)`` with ``threshold = 0.5``; ANLS is the mean over
questions.

Example:
    >>> levenshtein("kitten", "sitting")
    3
    >>> anls("Total 45.20", ["total 45.20"])
    1.0
    >>> round(anls("45.2", ["45.20"]), 4)  # one deletion in five characters
    0.8
    >>> anls("Hopper", ["Lovelace"])  # NL >= 0.5 scores 0
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence

from hf_ext.errors import HFExtError


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, all of cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def normalize_answer(text: str) -> str:
    return " ".join(str(text).lower().split())


def anls(prediction: str, answers: Sequence[str], threshold: float = 0.5) -> float:
    """The ANLS score of one prediction against its accepted answers."""
    if isinstance(answers, str):
        answers = [answers]
    if not answers:
        raise HFExtError("anls needs at least one accepted answer")
    if not 0 < threshold <= 1:
        raise HFExtError(f"threshold must be in (0, 1], got {threshold}")
    prediction = normalize_answer(prediction)
    best = 0.0
    for answer in answers:
        answer = normalize_answer(answer)
        longest = max(len(prediction), len(answer))
        distance = levenshtein(prediction, answer) / longest if longest else 0.0
        best = max(best, 1.0 - distance if distance < threshold else 0.0)
    return best
