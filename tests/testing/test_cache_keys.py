"""Cached builds of the testing kit are keyed by their recipe and the shipped corpus's hash."""

from hf_ext.testing import cache_keys
from hf_ext.testing.names import TINY_MODELS_VERSION, resolve_model_name


def test_a_new_corpus_changes_every_key(monkeypatch):
    before = cache_keys.recipe_key("tiny-llama", 1)
    monkeypatch.setattr(cache_keys, "PROSE_SHA256", "0" * 64)
    assert cache_keys.recipe_key("tiny-llama", 1) != before


def test_tiny_model_folders_carry_the_key():
    folder = resolve_model_name("hf-ext-testing:tiny-llama")
    assert folder.endswith("tiny-llama-" + cache_keys.recipe_key("tiny-llama", TINY_MODELS_VERSION))
