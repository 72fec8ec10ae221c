"""Lean 4 checking: one interface, :class:`LeanChecker` (``check(codes) -> list[LeanResult]``), and its
backends: :class:`LeanREPLPool` (local REPL processes), :class:`KiminaLeanChecker` (a kimina-style HTTP
server) and :class:`RecordedLeanChecker` (replayed results; :class:`RecordingLeanChecker` writes them).

Example:
    >>> from hf_ext.formal.lean import LeanResult, RecordedLeanChecker
    >>> checker = RecordedLeanChecker([{"code": "theorem t : 1 = 1 := by rfl", "reply": {"env": 0}}])
    >>> checker.check(["theorem t : 1 = 1 := by rfl"])[0].ok
    True
"""

from hf_ext.formal.lean.checker import LEAN_WORKBOOK_HEADER, LeanChecker, split_header
from hf_ext.formal.lean.http import KiminaLeanChecker
from hf_ext.formal.lean.protocol import LeanMessage, LeanResult, to_result
from hf_ext.formal.lean.recorded import RecordedLeanChecker, RecordingLeanChecker, load_repl_session
from hf_ext.formal.lean.repl import LeanREPLPool, PoolStats

__all__ = [
    "LEAN_WORKBOOK_HEADER",
    "KiminaLeanChecker",
    "LeanChecker",
    "LeanMessage",
    "LeanREPLPool",
    "LeanResult",
    "PoolStats",
    "RecordedLeanChecker",
    "RecordingLeanChecker",
    "load_repl_session",
    "split_header",
    "to_result",
]
