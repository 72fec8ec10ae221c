"""Exact token budgets for every kind of tokenizer: the context takes exactly ``length - reserve`` tokens,
never more, and ``context_tokens`` is the measured count.

Four tokenizers are trained offline with ``tokenizers`` on the package's prose: byte-level BPE (GPT-2
layout), Llama-2's layout (a ``Prepend("▁")`` + ``Replace(" ", "▁")`` normalizer and no pre-tokenizer, so
" " + sentence costs an extra "▁"), a Unigram model with a Metaspace pre-tokenizer, and a BPE whose merges
cross spaces (no word splitting at all).
"""

import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from hf_ext.data.prose import prose_paragraphs
from hf_ext.evaluation.babilong import generate_babilong, haystack
from hf_ext.evaluation.babilong.haystack import split_sentences
from hf_ext.testing import tiny_tokenizer

SPECIALS = ["<unk>", "<s>", "</s>"]


def corpus() -> list[str]:
    return [s for paragraph in prose_paragraphs()[:400] for s in split_sentences(paragraph)]


def wrap(backend: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )


def llama2_layout() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    # for training only: merges stay inside words, as SentencePiece's
    backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    backend.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=800, special_tokens=SPECIALS))
    backend.pre_tokenizer = None  # as Llama-2's tokenizer.json: the normalizer does the work
    backend.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    backend.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.Strip(" ", 1, 0)])
    return wrap(backend)


def unigram() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
    backend.decoder = decoders.Metaspace(prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=800, special_tokens=SPECIALS, unk_token="<unk>")
    backend.train_from_iterator(corpus(), trainer)
    return wrap(backend)


def merges_across_spaces() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(corpus(), trainer)
    return wrap(backend)


BUILDERS = {
    "byte-level BPE": tiny_tokenizer,
    "Llama-2 layout": llama2_layout,
    "Unigram": unigram,
    "merges across spaces": merges_across_spaces,
}


@pytest.fixture(scope="module", params=list(BUILDERS))
def tokenizer(request):
    return BUILDERS[request.param]()


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_the_tokenizers_are_the_kinds_claimed():
    llama, across = llama2_layout(), merges_across_spaces()
    sentence = "The garden is quiet."
    assert n_tokens(llama, " " + sentence) == n_tokens(llama, sentence) + 1  # the extra "▁"
    assert any(" " in across.convert_tokens_to_string([token]).strip() for token in across.get_vocab())


@pytest.mark.parametrize(("task", "length", "reserve"), [("qa1", 700, 100), ("qa3", 2048, 300)])
def test_budget_is_exact_and_context_tokens_is_measured(tokenizer, task, length, reserve):
    data = generate_babilong(task, length=length, num_samples=8, tokenizer=tokenizer, reserve=reserve, seed=3)
    for row in data:
        measured = n_tokens(tokenizer, row["input"])
        assert measured == row["context_tokens"] == length - reserve, (task, measured)
        for fact in row["facts"]:
            assert fact in row["input"]


def test_depths_are_measured_in_the_context(tokenizer):
    row = generate_babilong("qa2", length=1500, num_samples=1, tokenizer=tokenizer, reserve=0, seed=1)[0]
    text, cursor = row["input"], 0
    for fact, depth in zip(row["facts"], row["fact_depths"]):
        found = text.find(fact, cursor)
        before = n_tokens(tokenizer, text[:found].rstrip())
        assert abs(100.0 * before / row["context_tokens"] - depth) <= 100.0 * 2 / row["context_tokens"]
        cursor = found + len(fact)


def test_chunked_count_is_exact_with_many_chunks(tokenizer, monkeypatch):
    """The bounded-memory count (chunks plus junction windows) against one whole measurement."""
    monkeypatch.setattr(haystack, "_CHUNK_CHARS", 200)  # dozens of junctions in a few thousand characters
    monkeypatch.setattr(haystack, "_WHOLE_CHARS", 0)  # the chunk sums alone, no whole check
    sentences = [s for p in prose_paragraphs()[:40] for s in split_sentences(p)][:60]
    pieces = sentences[:20] + ["", "Mary went to the kitchen."] + sentences[20:]
    marks = [21, 30]
    total, before = haystack._JoinedCounter(tokenizer).count(pieces, marks)
    kept = [p for p in pieces if p]
    assert total == n_tokens(tokenizer, " ".join(kept))
    assert before == [n_tokens(tokenizer, " ".join(kept[:20])), n_tokens(tokenizer, " ".join(kept[:29]))]


def test_budget_is_exact_when_the_context_spans_many_chunks(tokenizer, monkeypatch):
    monkeypatch.setattr(haystack, "_CHUNK_CHARS", 300)
    monkeypatch.setattr(haystack, "_WHOLE_CHARS", 0)
    data = generate_babilong("qa3", length=2048, num_samples=2, tokenizer=tokenizer, reserve=300, seed=5)
    for row in data:
        assert n_tokens(tokenizer, row["input"]) == row["context_tokens"] == 2048 - 300


def test_junctions_that_never_settle_fall_back_to_one_whole_count(monkeypatch):
    tokenizer = tiny_tokenizer()
    monkeypatch.setattr(haystack, "_CHUNK_CHARS", 100)
    monkeypatch.setattr(haystack._JoinedCounter, "_delta", lambda *args: None)
    pieces = [s for p in prose_paragraphs()[:10] for s in split_sentences(p)][:12]
    total, before = haystack._JoinedCounter(tokenizer).count(pieces, [5])
    assert total == n_tokens(tokenizer, " ".join(pieces))
    assert before == [n_tokens(tokenizer, " ".join(pieces[:5]))]


def test_contexts_up_to_the_whole_limit_get_their_total_measured_whole(monkeypatch):
    """Even a wrong junction correction cannot change the total of a context under ``_WHOLE_CHARS``."""
    tokenizer = tiny_tokenizer()
    monkeypatch.setattr(haystack, "_CHUNK_CHARS", 100)
    monkeypatch.setattr(haystack._JoinedCounter, "_delta", lambda *args: 7)
    pieces = [s for p in prose_paragraphs()[:10] for s in split_sentences(p)][:12]
    total, _ = haystack._JoinedCounter(tokenizer).count(pieces, [5])
    assert total == n_tokens(tokenizer, " ".join(pieces))
    monkeypatch.setattr(haystack, "_WHOLE_CHARS", 0)
    assert haystack._JoinedCounter(tokenizer).count(pieces, [5])[0] != total
