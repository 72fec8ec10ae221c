"""The BABILong metrics: ``acc`` (ours), ``acc_official`` (the official rule exactly) and ``contains``.

Both label rules follow the official ``compare_answers`` (``booydar/babilong``, ``babilong/metrics.py``):

1. keep the model's first sentence (lowercased, text before the first ``"."``), and drop anything from a
   prompt marker on;
2. find the task's answer labels in it, dropping labels that appear in the question (a label in the question
   is never the answer);
3. correct iff exactly the target's labels were found: a comma list (qa8, e.g. ``"apple,milk"``) needs every
   item and nothing else; any other target must be the one label found.

:func:`compare_answers_official` does exactly that: labels are plain substrings, so ``"no"`` is found in
``"not"``, ``"north"`` and ``"nothing"`` and ``"one"`` in ``"none"`` (a correct qa7 answer "none" never
scores), and the cut at ``"Question"`` runs after lowercasing, so it never fires.

:func:`compare_answers` (``acc``) differs in two places: a label counts only as a whole word, and the only
question marker that cuts the output is a case-sensitive ``"Question:"`` (so "The answer to the question is
the bedroom." keeps its answer). :func:`contains_answer` is lm-eval's built-in rule: the target is a
substring of the output.

Example:
    >>> from hf_ext.evaluation.babilong.metric import compare_answers, compare_answers_official
    >>> compare_answers("kitchen", "The apple is in the kitchen. Then...", "Where is the apple?", "qa2")
    True
    >>> compare_answers("kitchen", "kitchen or garden", "Where is the apple?", "qa2")
    False
    >>> compare_answers("none", "None", "How many objects is Mary carrying?", "qa7")
    True
    >>> compare_answers_official("none", "None", "How many objects is Mary carrying?", "qa7")
    False
    >>> output = "The answer to the question is the bedroom."
    >>> compare_answers("bedroom", output, "Where is Mary?", "qa1"), compare_answers_official(
    ...     "bedroom", output, "Where is Mary?", "qa1")
    (True, True)
"""

from __future__ import annotations

import re

from hf_ext.evaluation.babilong.story import check_task

_PROMPT_MARKERS = ("<context>", "<example>")
QUESTION_MARKER = "Question:"


def first_sentence(output: str) -> str:
    """Our preprocessing: cut at a case-sensitive ``"Question:"``, then lowercase, keep the text before the
    first ``"."`` and before ``<context>`` / ``<example>``."""
    text = output.split(QUESTION_MARKER)[0].lower().strip().split(".")[0]
    for marker in _PROMPT_MARKERS:
        text = text.split(marker)[0]
    return text.strip()


def official_first_sentence(output: str) -> str:
    """The official ``preprocess_output``: lowercase, before the first ``"."``, ``<context>``,
    ``<example>`` and ``"Question"`` (which cannot occur after lowercasing)."""
    text = output.lower().split(".")[0]
    for marker in (*_PROMPT_MARKERS, "Question"):
        text = text.split(marker)[0]
    return text


def labels_in(text: str, labels: tuple[str, ...]) -> set[str]:
    """Labels (lowercase) that occur in ``text`` as whole words."""
    lowered = text.lower()
    return {
        label.lower()
        for label in labels
        if re.search(r"(?<![a-z])" + re.escape(label.lower()) + r"(?![a-z])", lowered)
    }


def _judge(target: str, found: set[str]) -> bool:
    target = target.lower().strip()
    if "," in target and len(target) > 3:
        wanted = {item.strip() for item in target.split(",")}
        return wanted <= found and len(found) == len(wanted)
    return target in found and len(found) == 1


def compare_answers(target: str, output: str, question: str, task: str) -> bool:
    """``acc``: whether ``output`` answers ``question`` with ``target`` (whole-word labels, module doc)."""
    labels = check_task(task).labels
    return _judge(target, labels_in(first_sentence(output), labels) - labels_in(question, labels))


def compare_answers_official(target: str, output: str, question: str, task: str) -> bool:
    """``acc_official``: the official ``compare_answers``, substring matches and all (see module doc)."""
    labels = {label.lower() for label in check_task(task).labels}
    text = official_first_sentence(output)
    found = {label for label in labels if label in text} - {
        label for label in labels if label in question.lower()
    }
    return _judge(target, found)


def contains_answer(target: str, output: str) -> bool:
    """``contains``: lm-eval's built-in ``babilong`` rule, the target is a substring of the output."""
    return target.lower().strip() in output.lower()
