"""One cache key for everything the testing kit builds and caches on disk (tokenizers, tiny models, the
reference LM): it hashes the build recipe together with the shipped prose corpus's SHA-256 and the Python
version, so a new corpus file or a changed recipe never reuses a stale build.

Example:
    >>> from hf_ext.testing.cache_keys import recipe_key
    >>> recipe_key({"steps": 300}) == recipe_key({"steps": 300}) != recipe_key({"steps": 301})
    True
    >>> len(recipe_key("tiny-llama"))
    12
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

from hf_ext.data.prose import PROSE_SHA256


def recipe_key(*recipe: Any, length: int = 12) -> str:
    """A short hex digest of ``recipe`` (JSON-serialisable parts), the corpus hash and the Python version."""
    text = json.dumps([PROSE_SHA256, list(sys.version_info[:2]), *recipe], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
