"""The shipped prose corpus: fixed bytes (hash), one prose paragraph per line, on every interpreter."""

import hashlib

import pytest

from hf_ext.data import prose


def test_the_shipped_corpus_has_its_recorded_hash():
    data = prose.PROSE_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == prose.PROSE_SHA256
    paragraphs = prose.prose_paragraphs()
    assert len(paragraphs) == 5747 and len(set(paragraphs)) == len(paragraphs)
    assert all(prose._is_prose(p) and p == p.strip() and "\n" not in p for p in paragraphs)
    assert (prose.PROSE_FILE.parent / "PROSE_LICENSE.md").is_file()


def test_a_damaged_corpus_is_refused(tmp_path, monkeypatch):
    damaged = tmp_path / "prose_v1.txt"
    damaged.write_bytes(prose.PROSE_FILE.read_bytes().replace(b"Python", b"Pithon", 1))
    monkeypatch.setattr(prose, "PROSE_FILE", damaged)
    prose.prose_paragraphs.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="is damaged"):
            prose.prose_paragraphs()
    finally:
        prose.prose_paragraphs.cache_clear()


def test_build_corpus_never_writes_over_a_file(tmp_path):
    existing = tmp_path / "prose_v2.txt"
    existing.write_text("keep me\n")
    with pytest.raises(FileExistsError, match="versioned"):
        prose.build_corpus(existing)
    assert existing.read_text() == "keep me\n"
