"""A scripted "model" for StreamBench tests and the quickstart: it copies the answer of a matching shot.

:class:`ScriptedCopier` is called like any StreamBench model, ``model(prompt, max_tokens) -> str``. It reads
the in-context shots (``Question: ...`` followed by the answer line) and finds the current question: the
longest key of ``gold`` in the prompt after its shots (after "Now it is your turn." when there are shots).
When a shot has the same question it copies that shot's answer (the last such shot, i.e. the most similar
one under ``similar_at_bottom``); otherwise it answers
correctly with probability ``p_correct`` (decided by a hash of the prompt, so reruns and resumed runs agree)
and with ``wrong_answer`` otherwise. It knows the gold answers through ``gold`` (question -> reply).

Example:
    >>> copier = ScriptedCopier({"Q1": "A1"}, p_correct=0.0)
    >>> copier("Question: Q1\\nA0\\n\\nNow it is your turn.\\n\\nQ1?", 8)
    'A0'
    >>> copier("Q1?", 8)
    'unknown'
"""

from __future__ import annotations

import hashlib
import re

TURN_MARKER = "Now it is your turn."


class ScriptedCopier:
    def __init__(
        self, gold: dict[str, str], p_correct: float = 0.3, wrong_answer: str = "unknown", salt: str = ""
    ):
        self.gold, self.p_correct, self.wrong_answer, self.salt = gold, p_correct, wrong_answer, salt
        self.prompts: list[str] = []

    def __call__(self, prompt: str, max_tokens: int) -> str:
        self.prompts.append(prompt)
        head, marker, tail = prompt.rpartition(TURN_MARKER)
        task = tail if marker else prompt
        found = [question for question in self.gold if question in task]
        if not found:
            return self.wrong_answer
        current = max(found, key=len)
        for match in reversed(list(re.finditer(r"^Question: (.*)\n(.*)$", head, flags=re.M))):
            if match.group(1).strip() == current:
                return match.group(2)
        digest = hashlib.sha256(f"{self.salt}|{prompt}".encode()).digest()
        if int.from_bytes(digest[:4], "little") / 2**32 < self.p_correct:
            return self.gold.get(current, self.wrong_answer)
        return self.wrong_answer
