"""A non-neural reference point for BABILong: the last-mention heuristic with a bounded context window.

:func:`last_mention_answer` reads only the last ``window_words`` words of the context (as a model with a
short context window would), finds the latest sentence that mentions what the question is about together
with an answer label, and answers with that label (or, for yes/no questions, whether the asked label is the
one mentioned); when no windowed sentence mentions the subject with a label it answers ``""``, never a
label word (a fallback such as "none" would be a qa7 answer and score by luck). It solves the single-fact
tasks when the fact is in the window and fails on tasks that need chaining, so its accuracy falls with
length and varies by task: a sanity check for the pipeline and plots, not a model. :class:`LastMentionLM`
wraps it as an lm-eval model (it reads the task's label set from the request's document; everything else
from the prompt text).

Example:
    >>> from hf_ext.evaluation.babilong.baselines import last_mention_answer
    >>> context = "Mary went to the garden. John went to the office. Mary moved to the kitchen."
    >>> last_mention_answer(context, "Where is Mary?", "qa1")
    'kitchen'
    >>> last_mention_answer(context, "Where is John?", "qa1", window_words=6)
    ''
"""

from __future__ import annotations

import re

from hf_ext.evaluation.babilong.story import check_task

_QUESTION_WORDS = set(
    "where what who whom why how is was did does do the a an in of to before after many objects carrying "
    "color afraid give gave go get will you from fit bigger than received left right above below".split()
)
_YES_NO = {"yes", "no"}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def last_mention_answer(context: str, question: str, task: str, window_words: int | None = None) -> str:
    """The label in the latest windowed sentence that mentions the question's subject (see module doc)."""
    labels = [label.lower() for label in check_task(task).labels]
    words = context.split()
    if window_words is not None:
        words = words[-window_words:] if window_words > 0 else []
    question_words = set(re.findall(r"[a-z]+", question.lower()))
    asked_labels = {label for label in labels if label in question_words}
    subject = question_words - _QUESTION_WORDS - set(labels)
    for sentence in reversed(_sentences(" ".join(words))):
        sentence_words = set(re.findall(r"[a-z]+", sentence.lower()))
        if not subject & sentence_words:
            continue
        if set(labels) <= _YES_NO | {"maybe"}:
            return "yes" if asked_labels & sentence_words else "no"
        found = [label for label in labels if label in sentence_words and label not in asked_labels]
        if found:
            return found[0]
    return ""


def last_mention_lm(window_words: int | None = None):
    """An lm-eval ``LM`` answering every ``generate_until`` request with :func:`last_mention_answer`."""
    from lm_eval.api.model import LM

    class LastMentionLM(LM):
        def generate_until(self, requests):
            answers = []
            for request in requests:
                prompt = request.args[0]
                context = prompt.rsplit("<context>\n", 1)[-1].split("\n</context>", 1)[0]
                question = prompt.rsplit("Question:", 1)[-1].strip()
                answers.append(last_mention_answer(context, question, request.doc["task"], window_words))
            return answers

        def loglikelihood(self, requests):
            raise NotImplementedError("the last-mention baseline only generates")

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError("the last-mention baseline only generates")

    return LastMentionLM()
