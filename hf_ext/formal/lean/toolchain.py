"""Find a local Lean 4 toolchain and REPL, or say exactly what to install.

hf-ext documents one pinned pair (:data:`LEAN_TOOLCHAIN`, :data:`MATHLIB_REVISION`); any project with a built
Mathlib and the REPL works. The REPL command is located through lean-interact (``pip install
'hf-ext[lean]'``), which reads the project's toolchain; nothing here downloads anything.

Example:
    >>> from hf_ext.formal.lean.toolchain import LEAN_TOOLCHAIN
    >>> LEAN_TOOLCHAIN
    'leanprover/lean4:v4.9.0'
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hf_ext.errors import HFExtError

LEAN_TOOLCHAIN = "leanprover/lean4:v4.9.0"
MATHLIB_REVISION = "v4.9.0"
INSTALL_HINT = (
    f"install elan, then a Lean project on {LEAN_TOOLCHAIN} with Mathlib {MATHLIB_REVISION} built "
    "(`lake exe cache get && lake build`) and the REPL (leanprover-community/repl) built in it; "
    "see docs/lean_workbook.md"
)


def find_lake() -> str | None:
    """``lake`` on PATH or in ``~/.elan/bin``, else None."""
    found = shutil.which("lake")
    if found:
        return found
    candidate = Path(os.environ.get("ELAN_HOME", Path.home() / ".elan")) / "bin" / "lake"
    return str(candidate) if candidate.exists() else None


def repl_command(
    project_dir: str | os.PathLike | None, repl_dir: str | os.PathLike | None = None
) -> tuple[list[str], Path]:
    """``(["lake", "env", <repl binary>], project_dir)`` for a local Lean project and a local, built checkout
    of the REPL (``repl_dir``), or an :class:`HFExtError` naming what is missing."""
    lake = find_lake()
    if lake is None:
        raise HFExtError(f"no Lean toolchain: `lake` is not on PATH; {INSTALL_HINT}")
    if project_dir is None:
        raise HFExtError(f"pass project_dir, a Lean project with Mathlib built; {INSTALL_HINT}")
    project = Path(project_dir).expanduser()
    if not (project / "lakefile.lean").exists() and not (project / "lakefile.toml").exists():
        raise HFExtError(
            f"{project} is not a Lean project (no lakefile.lean or lakefile.toml); {INSTALL_HINT}"
        )
    if repl_dir is None:
        raise HFExtError(f"pass repl_dir, a built checkout of the Lean REPL; {INSTALL_HINT}")
    try:
        from lean_interact import LeanREPLConfig, LocalProject
    except ImportError:
        raise HFExtError("the local REPL backend needs lean-interact: pip install 'hf-ext[lean]'") from None
    config = LeanREPLConfig(
        project=LocalProject(directory=str(project), auto_build=False),
        local_repl_path=str(Path(repl_dir).expanduser()),
        build_repl=False,
        lake_path=lake,
    )
    repl = Path(config.cache_repl_dir) / ".lake" / "build" / "bin" / "repl"
    if not repl.exists():
        raise HFExtError(f"the Lean REPL is not built at {repl}; {INSTALL_HINT}")
    return [lake, "env", str(repl)], Path(config.working_dir)
