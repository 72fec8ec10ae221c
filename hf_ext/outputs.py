"""One output-folder policy for every command that writes.

Before any model is loaded or any work is done, :func:`check_output_dir` refuses an output folder that is,
contains or lies inside an input (resolved real paths, so symlinks count), and an existing non-empty one
unless the user asked to overwrite. :func:`staged_output_dir` then lets the work write into a temporary
sibling folder that replaces the output only when everything succeeded, so an interrupted run never leaves a
half-old, half-new folder, and a failed run leaves the old output as it was.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from hf_ext.outputs import check_output_dir, staged_output_dir
    >>> root = Path(tempfile.mkdtemp())
    >>> out = check_output_dir(root / "out", inputs=[root / "model"], flag="--out")
    >>> with staged_output_dir(out) as staging:
    ...     _ = (staging / "result.json").write_text("{}")
    >>> sorted(p.name for p in out.iterdir())
    ['result.json']
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from hf_ext.errors import HFExtError


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def check_output_dir(
    output_dir: str | os.PathLike,
    inputs: Iterable[str | os.PathLike | None] = (),
    overwrite: bool = False,
    flag: str = "--output-dir",
    overwrite_flag: str = "--overwrite",
    hint: str | None = None,
) -> Path:
    """Refuse ``output_dir`` when it is, contains or is inside one of ``inputs``, or is a non-empty folder
    and ``overwrite`` is false; return it as a :class:`Path`. Inputs that are ``None`` or do not exist
    locally (Hub ids) are ignored. ``hint`` replaces "pass OVERWRITE_FLAG to replace it" in the refusal.
    Call this before doing any work."""
    output = Path(output_dir).expanduser()
    real_output = _real(output)
    for item in inputs:
        if item is None or not Path(item).expanduser().exists():
            continue
        if _overlaps(real_output, _real(item)):
            raise HFExtError(
                f"{flag} {output} overlaps the input {item}; choose a folder outside every input"
            )
    if output.exists() and not output.is_dir():
        raise HFExtError(f"{flag} {output} is a file, not a folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise HFExtError(
            f"{flag} {output} exists and is not empty; {hint or f'pass {overwrite_flag} to replace it'}"
        )
    return output


@contextlib.contextmanager
def staged_output_dir(output_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``output_dir``; on success it replaces ``output_dir`` (the old
    folder, if any, is removed only after the new one is in place); on any exception it is removed and
    ``output_dir`` is left untouched. Folders are created with the user's umask."""
    output = Path(output_dir).expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    staging = output.parent / f".{output.name}.tmp-{token}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = output.parent / f".{output.name}.old-{token}"
    if output.exists():
        os.replace(output, retired)
    os.replace(staging, output)
    shutil.rmtree(retired, ignore_errors=True)
