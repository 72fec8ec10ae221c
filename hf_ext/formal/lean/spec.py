"""Build a checker from one string, as lm-eval task metadata and the CLI give it.

``recorded:PATH`` (a recording; unknown codes fail), ``kimina:URL``, ``repl:PROJECT_DIR,REPL_DIR`` (a local
REPL pool) or ``command:WORDS`` (a pool running any REPL-protocol command, split like a shell line).

Example:
    >>> from hf_ext.formal.lean.spec import checker_from_spec
    >>> checker_from_spec("kimina:http://127.0.0.1:12332").url
    'http://127.0.0.1:12332'
"""

from __future__ import annotations

import shlex

from hf_ext.errors import HFExtError
from hf_ext.formal.lean.checker import LeanChecker

KINDS = ("recorded", "kimina", "repl", "command")


def checker_from_spec(spec: str, time_limit: float = 60.0, workers: int = 2) -> LeanChecker:
    """The checker a spec string names (see the module docstring)."""
    kind, _, value = spec.partition(":")
    if kind not in KINDS or not value:
        raise HFExtError(f"Lean checker {spec!r}: expected one of {', '.join(k + ':...' for k in KINDS)}")
    if kind == "recorded":
        from hf_ext.formal.lean.recorded import RecordedLeanChecker

        return RecordedLeanChecker(value, on_miss="fail")
    if kind == "kimina":
        from hf_ext.formal.lean.http import KiminaLeanChecker

        return KiminaLeanChecker(value, timeout=time_limit)
    from hf_ext.formal.lean.repl import LeanREPLPool

    if kind == "repl":
        project, _, repl = value.partition(",")
        return LeanREPLPool(
            project_dir=project, repl_dir=repl or None, workers=workers, time_limit=time_limit
        )
    return LeanREPLPool(command=shlex.split(value), workers=workers, time_limit=time_limit)
