"""Helpers shared by the formal tests: the stand-in REPL's command line and the fixtures' folder."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "lean"


def standin(*flags: str) -> list[str]:
    """The stand-in REPL's command line (see hf_ext.formal.lean.standin_repl)."""
    return [sys.executable, "-m", "hf_ext.formal.lean.standin_repl", *flags]
