"""Runnable YAML recipes shipped with hf-ext, one folder per method: ``<method>/<name>.yaml``.

Example:
    >>> from hf_ext.recipes import recipe_path
    >>> recipe_path("dpo/tiny.yaml").name
    'tiny.yaml'
"""

from __future__ import annotations

from pathlib import Path


def recipe_path(relative: str) -> Path:
    """A recipe shipped with hf-ext, e.g. ``recipe_path("dpo/tiny.yaml")``."""
    return Path(__file__).parent / relative
