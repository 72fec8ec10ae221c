"""Natural English prose that is available on every machine with no download.

The text comes from the documentation CPython installs with every interpreter: the language reference
topics in :mod:`pydoc_data.topics` and the docstrings of the standard library's own modules (read with
:mod:`ast`, never imported or executed), released under the Python Software Foundation License, which allows
redistribution and derived works. We keep only the prose: paragraphs of flowing sentences, never grammar
productions, code samples or bullet fragments.

That documentation differs between interpreter builds (3.11.2 and 3.11.7 give different sentence counts),
so the corpus is shipped as a fixed, versioned file, ``prose_v1.txt`` beside this module (5,747 paragraphs,
one per line, ~1.08M characters, extracted from CPython 3.11.7; PSF License, see
``PROSE_LICENSE.md``), checked against its SHA-256 when read: samples, tokenizers and the reference LM built
from it are the same on every interpreter. :func:`build_corpus` re-extracts it from the running interpreter
(for a new version, never over the shipped one).

Example:
    >>> from hf_ext.data.prose import prose_paragraphs, prose_split
    >>> paragraphs = prose_paragraphs()
    >>> len(paragraphs) > 3000 and all(p.endswith((".", ":", "?", "!", ")")) for p in paragraphs)
    True
    >>> train, heldout = prose_split()
    >>> set(train).isdisjoint(heldout)
    True
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
import sysconfig
from pathlib import Path

from hf_ext.utils import atomic_write_text

PROSE_VERSION = 1
PROSE_FILE = Path(__file__).with_name(f"prose_v{PROSE_VERSION}.txt")
PROSE_SHA256 = "6510cfa112838db26a63bcb07113c97b423544a4f4e0ffbfeabddd1bcbb5930c"
PROSE_SOURCE = (
    f"CPython 3.11.7's bundled documentation: pydoc_data.topics and standard-library docstrings, shipped as "
    f"prose_v{PROSE_VERSION}.txt (Python Software Foundation License)"
)
_SKIPPED_STDLIB_PARTS = {
    "test",
    "tests",
    "idlelib",
    "lib2to3",
    "site-packages",
    "dist-packages",
    "turtledemo",
}

_MIN_WORDS = 12
_LETTER_RATIO = 0.72


def _is_prose(paragraph: str) -> bool:
    """A paragraph of sentences: long enough, mostly letters, ends like a sentence, not markup."""
    words = paragraph.split()
    if len(words) < _MIN_WORDS or paragraph.startswith(("*", "-", "+", "|", "=", ">>>", "Note", "See also")):
        return False
    if "::=" in paragraph or "   " in paragraph:
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in paragraph)
    return letters / len(paragraph) >= _LETTER_RATIO and paragraph[-1] in ".:?!)"


def _clean(paragraph: str) -> str:
    text = " ".join(line.strip() for line in paragraph.splitlines())
    text = re.sub(r"\*([^*\s][^*]*)\*", r"\1", text)  # *emphasis* -> emphasis
    return re.sub(r"\s+", " ", text).strip()


def _prose_blocks(text: str) -> list[str]:
    """The prose paragraphs of one documentation text (blank-line separated, unindented blocks)."""
    cleaned = (_clean(block) for block in re.split(r"\n\s*\n", text) if not block.startswith((" ", "\t")))
    return [paragraph for paragraph in cleaned if _is_prose(paragraph)]


def _stdlib_docstrings() -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if _SKIPPED_STDLIB_PARTS.intersection(path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(node)
                if docstring:
                    texts.append(docstring)
    return texts


def _collect_paragraphs() -> list[str]:
    from pydoc_data.topics import topics

    texts = [topics[name] for name in sorted(topics)] + _stdlib_docstrings()
    seen: set[str] = set()
    paragraphs = []
    for text in texts:
        for paragraph in _prose_blocks(text):
            if paragraph not in seen:
                seen.add(paragraph)
                paragraphs.append(paragraph)
    return paragraphs


@functools.cache
def prose_paragraphs() -> tuple[str, ...]:
    """All prose paragraphs of the shipped corpus, in its fixed order (the same on every interpreter)."""
    data = PROSE_FILE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PROSE_SHA256:
        raise RuntimeError(f"{PROSE_FILE} is damaged: SHA-256 {digest}, expected {PROSE_SHA256}")
    return tuple(data.decode("utf-8").splitlines())


def build_corpus(path: str | Path) -> str:
    """Extract the prose of the running interpreter's documentation into a new corpus file at ``path`` (one
    paragraph per line); returns its SHA-256. Refuses to write over an existing file."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} exists; corpus files are versioned, write a new one")
    text = "".join(paragraph + "\n" for paragraph in _collect_paragraphs())
    atomic_write_text(target, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _bucket(paragraph: str) -> float:
    digest = hashlib.sha256(paragraph.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@functools.cache
def prose_split(heldout_fraction: float = 0.1) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Deterministic (train, held-out) split of :func:`prose_paragraphs` by a content hash."""
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    paragraphs = prose_paragraphs()
    heldout = tuple(p for p in paragraphs if _bucket(p) < heldout_fraction)
    train = tuple(p for p in paragraphs if _bucket(p) >= heldout_fraction)
    return train, heldout
