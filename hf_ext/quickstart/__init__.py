"""The offline tour behind ``hf-ext quickstart``: one short step per part of hf-ext, then a summary.

Each part of hf-ext has one module here, ``hf_ext/quickstart/<part>.py``, with one function
``step(workdir: Path) -> list[str]`` (the summary lines it contributes), listed in :data:`QUICKSTART_STEPS`
as ``(name, "hf_ext.quickstart.<part>:step")``. A new part joins the tour by adding its module and its line
there; its step should finish in well under a minute on 2 CPU cores.

Example:
    >>> from hf_ext.quickstart import run_quickstart
    >>> summary = run_quickstart(only=["dpo"])  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hf_ext.outputs import check_output_dir, staged_output_dir
from hf_ext.registry import unknown_name_error
from hf_ext.utils import import_object

QUICKSTART_STEPS: list[tuple[str, str]] = [
    ("dpo", "hf_ext.quickstart.dpo:step"),
    ("babilong", "hf_ext.quickstart.babilong:step"),
    ("adaptive-dpo", "hf_ext.quickstart.adaptive_dpo:step"),
    ("cvar-ppo", "hf_ext.quickstart.cvar_ppo:step"),
    ("slimgpt", "hf_ext.quickstart.slimgpt:step"),
    ("elo", "hf_ext.quickstart.elo:step"),
    ("tree-preference", "hf_ext.quickstart.tree_preference:step"),
    ("lean-workbook", "hf_ext.quickstart.lean_workbook:step"),
    ("tool-world", "hf_ext.quickstart.tool_world:step"),
    ("streambench", "hf_ext.quickstart.streambench:step"),
    ("hvfa", "hf_ext.quickstart.hvfa:step"),
]


def run_quickstart(
    output_dir: str | Path | None = None, only: list[str] | None = None, overwrite: bool = False
) -> list[str]:
    """Run the tour (all steps, or those named in ``only``); print and return the summary lines.

    Without ``output_dir`` the tour writes into a new temporary folder. An ``output_dir`` that exists and is
    not empty is refused unless ``overwrite``; the tour is written beside it and swapped in at the end."""
    names = [name for name, _ in QUICKSTART_STEPS]
    for name in only or []:
        if name not in names:
            raise unknown_name_error("quickstart step", name, names)
    if output_dir is None:
        workdir = Path(tempfile.mkdtemp(prefix="hf-ext-quickstart-"))
        return _run_steps(workdir, workdir, only)
    workdir = check_output_dir(output_dir, overwrite=overwrite, flag="--output-dir")
    with staged_output_dir(workdir) as staging:
        return _run_steps(staging, workdir, only)


def _run_steps(staging: Path, workdir: Path, only: list[str] | None) -> list[str]:
    """Run the steps in ``staging``; the summary names ``workdir``, where the files end up."""
    summary: list[str] = []
    for name, reference in QUICKSTART_STEPS:
        if only and name not in only:
            continue
        print(f"== quickstart: {name}", flush=True)
        started = time.perf_counter()
        lines = [line.replace(str(staging), str(workdir)) for line in import_object(reference)(staging)]
        lines.append(f"{name}: done in {time.perf_counter() - started:.0f} s")
        summary.extend(lines)
    print("\n=== hf-ext quickstart summary ===")
    for line in summary:
        print(line)
    print(f"files in {workdir}")
    return summary
