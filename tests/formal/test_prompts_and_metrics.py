"""Prompts, the answer rule, statement extraction, NLI verdict parsing and the well-formedness check."""

from __future__ import annotations

import pytest

from hf_ext.formal.metrics import well_formed_statement
from hf_ext.formal.prompts import (
    AUTOFORMALIZE_PREFILL,
    autoformalize_messages,
    back_translate_messages,
    official_nli_pass,
    parse_nli_verdict,
    problem_text,
    statement_from_completion,
)


@pytest.mark.parametrize(
    ("statement", "answer", "expected"),
    [
        ("Find x if 2x = 4.", "2", "Find x if 2x = 4. Show that it is 2"),
        ("Find x if 2x = 4.", "", "Find x if 2x = 4."),
        ("Find x if 2x = 4.", None, "Find x if 2x = 4."),
        ("Prove that x = 2 if 2x = 4.", "2", "Prove that x = 2 if 2x = 4."),  # asks for a proof
        ("PROVE it.", "2", "PROVE it."),  # the rule ignores case
        ("Find x.", "a" * 30, "Find x. Show that it is " + "a" * 30),  # 30 characters: appended
        ("Find x.", "a" * 31, "Find x."),  # 31: too long
    ],
)
def test_answer_rule(statement, answer, expected):
    assert problem_text(statement, answer) == expected


def test_prompts_use_the_official_strings():
    (turn,) = autoformalize_messages("Find x.")
    assert turn == {"role": "user", "content": "Convert following problem into LEAN 4:\nFind x."}
    assert AUTOFORMALIZE_PREFILL == "Here is the formal statement in LEAN 4:\n```lean\ntheorem"
    (back,) = back_translate_messages("theorem t : 1 = 1 := by sorry")
    assert back["content"].startswith("Convert the formal statement into natural language:\n```lean\n")


@pytest.mark.parametrize(
    ("completion", "statement"),
    [
        (
            " t (x : ℝ) (h : 2 * x = 4) : x = 2 := by\n  linarith",
            "theorem t (x : ℝ) (h : 2 * x = 4) : x = 2 := by sorry",
        ),
        (" t (x : ℝ) (hby : x = 1) : x = 1 := sorry", "theorem t (x : ℝ) (hby : x = 1) : x = 1 := by sorry"),
        (" t : 1 = 1 :=\n```", "theorem t : 1 = 1 := by sorry"),
        ("t : 2 = 2", "theorem t : 2 = 2 := by sorry"),
    ],
)
def test_statement_from_completion_cuts_at_the_first_stop(completion, statement):
    assert statement_from_completion(completion) == statement


@pytest.mark.parametrize(
    ("text", "verdict", "official"),
    [
        ("They ask the same. **same**", "same", True),
        ("Problem 2 drops a hypothesis. **different**", "different", False),
        (
            "**Different** - they are not the same",
            "different",
            True,
        ),  # bold wins; the official rule says pass
        ("Conclusion: same", "same", True),  # plain word only
        ("Not the same problem, they are different", "different", True),  # both words: the last one
        ("I cannot tell.", None, False),  # neither
        ("**same** at first sight, but **different**", "different", True),  # the last bold verdict
    ],
)
def test_nli_verdict_parsing(text, verdict, official):
    assert parse_nli_verdict(text) == verdict
    assert official_nli_pass(text) is official


@pytest.mark.parametrize(
    ("statement", "ok"),
    [
        ("theorem t (x : ℝ) (h : 2 * x = 4) : x = 2 := by sorry", True),
        ("theorem t : ∀ n : ℕ, n + 0 = n", True),
        ("theorem t {α : Type} [Group α] (a : α) : a * 1 = a := by sorry", True),
        ("theorem t (x : ℝ : x = 2 := by sorry", False),  # unbalanced
        ("theorem t (x : ℝ) := by sorry", False),  # no goal
        ("lemma t : 1 = 1 := by sorry", False),  # not a theorem
        ("theorem t (x : ℝ) :  := by sorry", False),  # empty goal
        ("theorem t (h : (1 : ℕ) = 1)) : True", False),
    ],
)
def test_well_formed_statement(statement, ok):
    assert well_formed_statement(statement) is ok
