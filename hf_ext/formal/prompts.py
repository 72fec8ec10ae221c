"""Prompts of the Lean Workbook pipeline and the parsing of its judge's verdict.

The instruction strings, the prefilled assistant turn, the stop strings and the answer rule are those of the
official code (InternLM-Math ``leanworkbook/``); the NLI instruction is written here in our own words, keeping
the official contract that the judge ends with a bold **same** or **different**.

Example:
    >>> from hf_ext.formal.prompts import parse_nli_verdict, problem_text, statement_from_completion
    >>> problem_text("Find x such that 2x = 4.", answer="2")
    'Find x such that 2x = 4. Show that it is 2'
    >>> problem_text("Prove that 2 + 2 = 4.", answer="4")
    'Prove that 2 + 2 = 4.'
    >>> parse_nli_verdict("The two problems ask the same thing. **same**")
    'same'
    >>> statement_from_completion(" t (x : ℝ) (hby : 2 * x = 4) : x = 2 := by\\n  linarith")
    'theorem t (x : ℝ) (hby : 2 * x = 4) : x = 2 := by sorry'
"""

from __future__ import annotations

import re

AUTOFORMALIZE_INSTRUCTION = "Convert following problem into LEAN 4:"
AUTOFORMALIZE_PREFILL = "Here is the formal statement in LEAN 4:\n```lean\ntheorem"
AUTOFORMALIZE_STOP = ["by", "sorry", "```"]
BACK_TRANSLATE_INSTRUCTION = "Convert the formal statement into natural language:"
MAX_ANSWER_CHARS = 30
NLI_INSTRUCTION = (
    "Below are two mathematical problems. Decide whether they ask exactly the same thing: the same objects, "
    "the same hypotheses and the same goal or answer. Explain briefly, then finish your reply with **same** "
    "if they are the same problem or **different** if they are not."
)


def problem_text(statement: str, answer: str | None = None) -> str:
    """The problem as the translator sees it: a short answer (at most 30 characters) is appended as
    "Show that it is {answer}" unless the statement already asks to prove something."""
    statement = statement.strip()
    if answer and len(answer.strip()) <= MAX_ANSWER_CHARS and "prove" not in statement.lower():
        return f"{statement} Show that it is {answer.strip()}"
    return statement


def autoformalize_messages(problem: str) -> list[dict[str, str]]:
    """The chat turn asking for a Lean 4 statement (the reply is prefilled: :data:`AUTOFORMALIZE_PREFILL`)."""
    return [{"role": "user", "content": f"{AUTOFORMALIZE_INSTRUCTION}\n{problem}"}]


_STOP = re.compile(r"(?<![\w'.])(?:by|sorry)(?![\w'])|```")


def statement_from_completion(completion: str) -> str:
    """The theorem statement from the text generated after the prefill: ``theorem`` + the text up to the first
    stop (the words ``by`` or ``sorry``, or the end of the code block), closed with ``:= by sorry`` so that
    it can be compiled. Unlike plain stop strings, ``by`` inside a name (``hby``) does not stop it."""
    match = _STOP.search(completion)
    body = (completion[: match.start()] if match else completion).rstrip()
    if body.endswith(":="):
        body = body[:-2].rstrip()
    return f"theorem{body} := by sorry" if body[:1].isspace() else f"theorem {body} := by sorry"


def back_translate_messages(formal_statement: str) -> list[dict[str, str]]:
    """The chat turn asking for the statement in natural language."""
    return [{"role": "user", "content": f"{BACK_TRANSLATE_INSTRUCTION}\n```lean\n{formal_statement}\n```"}]


def nli_messages(original: str, back_translation: str) -> list[dict[str, str]]:
    """The chat turn asking the judge whether the two problems are the same."""
    content = f"{NLI_INSTRUCTION}\n\nProblem 1:\n{original.strip()}\n\nProblem 2:\n{back_translation.strip()}"
    return [{"role": "user", "content": content}]


_BOLD = re.compile(r"\*\*\s*(same|different)\s*\*\*", re.IGNORECASE)
_WORD = re.compile(r"\b(same|different)\b", re.IGNORECASE)


def parse_nli_verdict(text: str) -> str | None:
    """``"same"``, ``"different"`` or ``None``: the last bold verdict if there is one, otherwise the last of
    the two words in plain text, otherwise ``None`` (no verdict: the item does not pass)."""
    for pattern in (_BOLD, _WORD):
        found = pattern.findall(text)
        if found:
            return found[-1].lower()
    return None


def official_nli_pass(text: str) -> bool:
    """The official pass rule, for comparison: the judge's output contains "same" anywhere."""
    return "same" in text
