"""Small helpers shared across hf-ext: the cache directory, atomic writes, dotted-name imports, figures.

Example:
    >>> from hf_ext.utils import cache_dir, import_object
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"HF_EXT_CACHE": "/data/hf-ext-cache"}):
    ...     str(cache_dir())
    '/data/hf-ext-cache'
    >>> import_object("math:sqrt")(9.0)
    3.0
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """Where hf-ext keeps files it builds (tiny models, the reference LM): ``$HF_EXT_CACHE`` or
    ``$XDG_CACHE_HOME/hf_ext`` (``~/.cache/hf_ext`` by default)."""
    explicit = os.environ.get("HF_EXT_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "hf_ext"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, encoding="utf-8", suffix=".tmp"
    ) as f:
        f.write(text)
        temporary = Path(f.name)
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o666 & ~umask)  # mkstemp creates 0600; give the file the permissions open() would
    os.replace(temporary, path)


def import_object(reference: str) -> Any:
    """Import ``"package.module:attribute"`` (or ``"package.module.attribute"``) and return the attribute.

    This is how registries and YAML recipes name classes and functions without importing them early;
    nothing is evaluated, only imported.
    """
    if ":" in reference:
        module_name, _, attribute = reference.partition(":")
    else:
        module_name, _, attribute = reference.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:attribute', got {reference!r}")
    module = importlib.import_module(module_name)
    try:
        obj = module
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except AttributeError as error:
        raise ImportError(f"{module_name!r} has no attribute {attribute!r}") from error
    return obj


def save_figure(figure: Any, path: str | Path | None, dpi: int = 100) -> Any:
    """Write a matplotlib ``Figure`` to ``path`` (PNG, parents created) if a path is given; return the figure.

    hf-ext's plotting convention, used by every plot: a function builds a ``matplotlib.figure.Figure``
    directly (never ``pyplot``, never ``matplotlib.use``, so the user's backend and open figures are left
    alone), takes an optional ``path``, saves through this helper and returns the figure.
    """
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return figure
