"""The interface every Lean checking backend implements: ``check(codes) -> list[LeanResult]``.

A code is a Lean 4 snippet. One that starts with ``import`` is checked as a whole file; any other is
checked in the environment of the backend's header (by default :data:`LEAN_WORKBOOK_HEADER`: Mathlib, Aesop
and ProofWidgets imported, BigOperators, Nat, Real and Rat opened), which a REPL backend elaborates once and
reuses.

Example:
    >>> from hf_ext.formal.lean.checker import split_header
    >>> split_header("import Mathlib\\nopen Real\\n\\ntheorem t : 1 = 1 := by rfl")
    ('import Mathlib\\nopen Real', 'theorem t : 1 = 1 := by rfl')
    >>> split_header("theorem t : 1 = 1 := by rfl")
    ('', 'theorem t : 1 = 1 := by rfl')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from hf_ext.formal.lean.protocol import LeanResult

LEAN_WORKBOOK_HEADER = (
    "import Mathlib\nimport Aesop\nimport ProofWidgets\n\nset_option maxHeartbeats 400000\n\n"
    "open BigOperators Nat Real Rat"
)
"""The header Lean Workbook's statements are checked under (imports and opened namespaces as in the official
``leanworkbook/header.lean``; the heartbeat limit is ours, documented in docs/lean_workbook.md)."""

_HEADER_PREFIXES = ("import ", "open ", "set_option ", "universe ")


def split_header(code: str) -> tuple[str, str]:
    """Split a snippet into its leading header lines (imports, ``open``, ``set_option``) and the rest."""
    lines = code.strip("\n").split("\n")
    cut = 0
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(_HEADER_PREFIXES):
            break
        cut = index + 1
    return "\n".join(lines[:cut]).strip("\n"), "\n".join(lines[cut:]).strip("\n")


class LeanChecker(ABC):
    """Checks Lean code. Subclasses implement :meth:`check`; :meth:`close` frees processes or connections."""

    @abstractmethod
    def check(self, codes: Sequence[str]) -> list[LeanResult]:
        """One :class:`LeanResult` per code, in order."""

    def check_one(self, code: str) -> LeanResult:
        return self.check([code])[0]

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the backend holds (processes, sessions); the default holds nothing."""

    def __enter__(self) -> LeanChecker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
