"""Helpers shared by the formal tests: the stand-in REPL's command line and the fixtures' folder."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "lean"


def standin(*flags: str) -> list[str]:
    """The stand-in REPL's command line (see hf_ext.formal.lean.standin_repl)."""
    return [sys.executable, "-m", "hf_ext.formal.lean.standin_repl", *flags]


def same_judge(messages) -> str:
    """A judge that always finds the two problems the same (importable as ``lean_helpers:same_judge``)."""
    return "**same**"


def faithful_back_translator(messages) -> str:
    return "Find the value."


def scripted_translator(messages) -> str:
    """Formalises every example problem as a trivial statement, except hfx_gcd, which it garbles."""
    content = messages[-1]["content"]
    if content.startswith("Convert following problem"):
        return " g : BAD := by" if "greatest common divisor" in content else " t : (1 : ℕ) = 1 := by"
    return "Show that one equals one."
