"""The BABILong metric: the official label-matching rule, and the lenient ``contains`` score lm-eval uses.

:func:`compare_answers` follows the official ``compare_answers`` semantics:

1. keep the model's first sentence: lowercase, cut at the first ``"."``, and at ``<context>``,
   ``<example>`` or ``question`` (the official code cuts at ``"Question"`` after lowercasing, so that cut
   never fires; we cut case-insensitively);
2. find the task's answer labels in that sentence, dropping labels that appear in the question (a label in
   the question is never the answer);
3. correct iff exactly the target's labels were found: a comma list (qa8, e.g. ``"apple,milk"``) needs
   every item and nothing else; any other target must be the one label found.

One deliberate difference: a label counts only where it starts a word. The official plain substring test
finds ``"one"`` inside ``"none"``, so a correct qa7 answer "none" could never score.

Example:
    >>> from hf_ext.evaluation.babilong.metric import compare_answers, contains_answer
    >>> compare_answers("kitchen", "The apple is in the kitchen. Then...", "Where is the apple?", "qa2")
    True
    >>> compare_answers("kitchen", "kitchen or garden", "Where is the apple?", "qa2")
    False
    >>> question = "Where was the apple before the kitchen?"
    >>> compare_answers("garden", "Before the kitchen it was in the garden.", question, "qa3")
    True
    >>> contains_answer("garden", "kitchen or garden")
    True
"""

from __future__ import annotations

import re

from hf_ext.evaluation.babilong.story import check_task

_CUT_MARKERS = ("<context>", "<example>", "question")


def first_sentence(output: str) -> str:
    """The official preprocessing: lowercase, text before the first ``"."`` and before any prompt marker."""
    text = output.lower().strip().split(".")[0]
    for marker in _CUT_MARKERS:
        text = text.split(marker)[0]
    return text.strip()


def labels_in(text: str, labels: tuple[str, ...]) -> set[str]:
    """Labels (lowercase) that occur in ``text`` at the start of a word."""
    lowered = text.lower()
    return {label.lower() for label in labels if re.search(r"(?<![a-z])" + re.escape(label.lower()), lowered)}


def compare_answers(target: str, output: str, question: str, task: str) -> bool:
    """Whether ``output`` answers ``question`` with ``target`` under the official BABILong rule."""
    labels = check_task(task).labels
    found = labels_in(first_sentence(output), labels) - labels_in(question, labels)
    target = target.lower().strip()
    if "," in target and len(target) > 3:
        wanted = {item.strip() for item in target.split(",")}
        return wanted <= found and len(found) == len(wanted)
    return target in found and len(found) == 1


def contains_answer(target: str, output: str) -> bool:
    """The lenient score of lm-eval's built-in ``babilong`` task: the target is a substring of the output."""
    return target.lower().strip() in output.lower()
