"""Checks of a generated Lean statement that need no Lean: is it a well-formed theorem header?

:func:`well_formed_statement` accepts ``theorem <name> <binders> : <goal> := ...`` with balanced brackets
and a non-empty goal; it is a syntactic sanity check, not elaboration (BLEU and chrF come from lm-eval's own
``bleu``/``chrf`` metrics, computed with sacrebleu).

Example:
    >>> from hf_ext.formal.metrics import well_formed_statement
    >>> well_formed_statement("theorem t (x : ℝ) (h : 2 * x = 4) : x = 2 := by sorry")
    True
    >>> well_formed_statement("theorem t (x : ℝ : x = 2 := by sorry")
    False
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^theorem\s+([^\s(\[{⦃:]+)")
_PAIRS = {")": "(", "]": "[", "}": "{", "⟩": "⟨", "⦄": "⦃"}


def well_formed_statement(statement: str) -> bool:
    """True for ``theorem NAME BINDERS : GOAL :=`` (or without ``:=``) with balanced brackets, a colon at
    bracket depth 0 after the name and a non-empty goal."""
    text = statement.strip()
    match = _NAME.match(text)
    if not match:
        return False
    head = text.split(":=", 1)[0] if ":=" in text else text
    stack: list[str] = []
    goal_start = None
    for index, char in enumerate(head):
        if char in "([{⟨⦃":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                return False
        elif char == ":" and not stack and index >= match.end() and goal_start is None:
            goal_start = index + 1
    if stack or goal_start is None:
        return False
    return bool(head[goal_start:].strip())
