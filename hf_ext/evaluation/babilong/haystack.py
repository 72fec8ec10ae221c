"""Background text for BABILong: sentence sources and the sampler that hides facts in an exact token budget.

Sources (see :func:`resolve_haystack`):

* ``None`` / ``"prose"`` (the offline default): the English prose of CPython's own documentation from
  :func:`hf_ext.data.prose.prose_paragraphs` (Python Software Foundation License, ~1.1M characters, about
  250k tokens). A sample starts at a random sentence and reads on, wrapping round to the first sentence when
  it reaches the end, so contexts longer than the corpus (1M, 10M tokens) repeat it deterministically.
* ``"pg19"`` (the PG-19 test books, as the official data, from the Parquet copy ``emozilla/pg19``) or
  ``"hf:<dataset>[:<split>[:<text field>]]"``: a Hugging Face dataset streamed with
  :func:`datasets.load_dataset`; the first and last sentence of each book are dropped.
* a path to a ``.txt`` file or a folder of them (UTF-8), read in sorted order.

:func:`fill_context` spends ``budget`` tokens exactly: facts first, then whole background sentences, the last
one cut to the tokens left. Facts go between background sentences at random boundaries, in story order.
Every sentence is tokenized once (``" " + sentence``, no special tokens, as the official generator), in
batches, so the work is linear in the length.

Example:
    >>> import random
    >>> from hf_ext.testing import tiny_tokenizer
    >>> from hf_ext.evaluation.babilong.haystack import fill_context, resolve_haystack
    >>> tokenizer = tiny_tokenizer()
    >>> facts = ["Mary went to the kitchen."]
    >>> filled = fill_context(facts, 200, tokenizer, resolve_haystack(None), random.Random(0))
    >>> filled.num_tokens == len(tokenizer(filled.text, add_special_tokens=False)["input_ids"]) <= 200
    True
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")
MIN_SENTENCE_WORDS = 5
_BATCH = 512


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (whitespace normalised) with at least :data:`MIN_SENTENCE_WORDS` words."""
    flat = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(flat) if len(s.split()) >= MIN_SENTENCE_WORDS]


class Haystack(Protocol):
    """A source of background sentences: ``sentences(rng)`` yields an endless stream from a random start."""

    name: str

    def sentences(self, rng: random.Random) -> Iterator[str]: ...


@dataclass
class SentenceListHaystack:
    """Sentences held in memory (the shipped prose, local text files), read cyclically from a random start."""

    name: str
    items: Sequence[str]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError(f"haystack {self.name!r} has no sentences of {MIN_SENTENCE_WORDS}+ words")

    def sentences(self, rng: random.Random) -> Iterator[str]:
        start = rng.randrange(len(self.items))
        while True:
            yield from itertools.islice(self.items, start, None)
            start = 0


# PG-19 as Parquet files: the original deepmind/pg19 is a loading script, which datasets 4+ no longer runs.
PG19 = "emozilla/pg19"


@dataclass
class HubHaystack:
    """A Hugging Face dataset of long texts (PG-19 test books by default), streamed in a seeded book order."""

    path: str = PG19
    split: str = "test"
    text_field: str = "text"
    shuffle_buffer: int = 8

    @property
    def name(self) -> str:
        return f"hf:{self.path}:{self.split}:{self.text_field}"

    @functools.cached_property
    def stream(self):
        from datasets import load_dataset

        return load_dataset(self.path, split=self.split, streaming=True)

    def sentences(self, rng: random.Random) -> Iterator[str]:
        while True:
            produced = False
            for document in self.stream.shuffle(seed=rng.randrange(2**31), buffer_size=self.shuffle_buffer):
                if self.text_field not in document:
                    raise ValueError(f"dataset {self.path!r} has no text field {self.text_field!r}")
                for sentence in split_sentences(document[self.text_field])[1:-1]:
                    produced = True
                    yield sentence
            if not produced:
                raise ValueError(f"dataset {self.path!r} ({self.split}) yielded no sentences")


def _prose_haystack() -> SentenceListHaystack:
    from hf_ext.data.prose import prose_paragraphs

    sentences = [s for paragraph in prose_paragraphs() for s in split_sentences(paragraph)]
    return SentenceListHaystack("prose", sentences)


def _file_haystack(path: Path) -> SentenceListHaystack:
    files = sorted(path.rglob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"haystack folder {path} holds no .txt files")
    sentences: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"haystack file {file} is not UTF-8 text: {error}") from error
        sentences += split_sentences(text)
    return SentenceListHaystack(str(path), sentences)


_CACHE: dict[str, Haystack] = {}


def resolve_haystack(spec: str | Path | Haystack | None) -> Haystack:
    """A :class:`Haystack` from a name (``None``/``"prose"``, ``"pg19"``, ``"hf:<dataset>[:split[:field]]"``),
    a path to a text file or folder, or a ready-made haystack object."""
    if spec is not None and not isinstance(spec, str | Path):
        if not callable(getattr(spec, "sentences", None)):
            raise ValueError(f"haystack must be a name, a path or have .sentences(rng); got {type(spec)}")
        return spec
    key = "prose" if spec is None else str(spec)
    if key in _CACHE:
        return _CACHE[key]
    if key == "prose":
        haystack: Haystack = _prose_haystack()
    elif key == "pg19":
        haystack = HubHaystack()
    elif key.startswith("hf:"):
        parts = key[3:].split(":")
        if not parts[0] or len(parts) > 3:
            raise ValueError(f"haystack {key!r}: expected 'hf:<dataset>[:<split>[:<text field>]]'")
        haystack = HubHaystack(*parts)
    elif Path(key).expanduser().exists():
        haystack = _file_haystack(Path(key).expanduser())
    else:
        raise ValueError(f"haystack {key!r} is neither 'prose', 'pg19', 'hf:<dataset>' nor an existing path")
    _CACHE[key] = haystack
    return haystack


def count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    """Tokens in ``" " + text`` for each text, without special tokens (one batched call)."""
    if not texts:
        return []
    encoded = tokenizer([" " + text for text in texts], add_special_tokens=False)["input_ids"]
    return [len(ids) for ids in encoded]


def truncate_to_tokens(tokenizer, text: str, max_tokens: int) -> tuple[str, int]:
    """The longest prefix of ``text`` (cut at a token) whose ``" " + prefix`` takes at most ``max_tokens``."""
    ids = tokenizer(" " + text, add_special_tokens=False)["input_ids"]
    keep = min(max_tokens, len(ids))
    while keep > 0:
        prefix = tokenizer.decode(ids[:keep], skip_special_tokens=True).strip()
        used = count_tokens(tokenizer, [prefix])[0] if prefix else 0
        if used <= max_tokens:
            return prefix, used
        keep -= 1
    return "", 0


@dataclass
class FilledContext:
    """A context with facts hidden in it: text, its token count, and each fact's depth (percent of tokens
    before the fact)."""

    text: str
    num_tokens: int
    fact_depths: list[float]


def _background(tokenizer, stream: Iterator[str], budget: int) -> tuple[list[str], list[int], str]:
    """Whole sentences from ``stream`` up to ``budget`` tokens, the last one cut to fill it exactly.

    Also returns the sentence the cut came from (or the next unused one), to top up a token or two later.
    """
    sentences: list[str] = []
    counts: list[int] = []
    used = 0
    while True:
        batch = list(itertools.islice(stream, _BATCH))
        if not batch:
            raise ValueError("the haystack ran out of sentences")
        for sentence, count in zip(batch, count_tokens(tokenizer, batch)):
            if used == budget:
                return sentences, counts, sentence
            if used + count <= budget:
                sentences.append(sentence)
                counts.append(count)
                used += count
                continue
            prefix, count = truncate_to_tokens(tokenizer, sentence, budget - used)
            if prefix:
                sentences.append(prefix)
                counts.append(count)
            return sentences, counts, sentence


def _fact_slots(
    rng: random.Random, counts: list[int], fact_tokens: int, num_facts: int, depth: tuple[float, float] | None
) -> list[int]:
    """Sorted boundary indices (0 = before the first sentence) for the facts, drawn with replacement.

    A depth window admits the boundaries whose share of the whole context (facts included) lies in it."""
    total = (sum(counts) + fact_tokens) or 1
    offsets = list(itertools.accumulate(counts, initial=0))  # token offset of each boundary
    boundaries = range(len(counts) + 1)
    if depth is not None:
        low, high = depth
        allowed = [b for b in boundaries if low <= 100.0 * offsets[b] / total <= high]
        if not allowed:  # the window falls inside one sentence: take the boundary nearest to its middle
            middle = total * (low + high) / 200.0
            allowed = [min(boundaries, key=lambda b: abs(offsets[b] - middle))]
    else:
        allowed = list(boundaries)
    return sorted(rng.choice(allowed) for _ in range(num_facts))


def fill_context(
    facts: Sequence[str],
    budget: int,
    tokenizer,
    haystack: Haystack | None,
    rng: random.Random,
    depth: tuple[float, float] | None = None,
) -> FilledContext:
    """Hide ``facts`` (in order) among haystack sentences so the context takes exactly ``budget`` tokens.

    ``budget=0`` (or no haystack) gives the facts alone. ``depth=(low, high)`` starts the facts between
    ``low`` and ``high`` percent of the context. Raises ValueError when the facts alone exceed the budget.
    """
    fact_counts = count_tokens(tokenizer, list(facts))
    fact_total = sum(fact_counts)
    if budget and fact_total > budget:
        raise ValueError(
            f"the {len(facts)} facts take {fact_total} tokens, more than the {budget}-token context budget; "
            "raise the length or lower the reserve"
        )
    background, counts, spare = [], [], ""
    if budget and haystack is not None:
        background, counts, spare = _background(tokenizer, haystack.sentences(rng), budget - fact_total)
    slots = _fact_slots(rng, counts, fact_total, len(facts), depth)
    pieces: list[str] = []
    depths: list[float] = []
    total = fact_total + sum(counts)
    position = 0
    next_fact = 0
    last = -1  # index in pieces of the last background sentence
    for boundary in range(len(background) + 1):
        while next_fact < len(facts) and slots[next_fact] == boundary:
            depths.append(round(100.0 * position / max(total, 1), 3))
            pieces.append(facts[next_fact])
            position += fact_counts[next_fact]
            next_fact += 1
        if boundary < len(background):
            last = len(pieces)
            pieces.append(background[boundary])
            position += counts[boundary]
    if not pieces:
        return FilledContext("", 0, depths)
    # The first piece has no leading space in the context: count it as it stands, then top up (or trim)
    # the last background piece so the context still spends the budget without going over it.
    total += (
        len(tokenizer(pieces[0], add_special_tokens=False)["input_ids"])
        - count_tokens(tokenizer, pieces[:1])[0]
    )
    if budget and last > 0 and total != budget:
        is_cut = spare.startswith(background[-1]) and spare != background[-1]
        cut_from = spare if is_cut else f"{background[-1]} {spare}".strip()
        allowed = counts[-1] + budget - total
        text, used = truncate_to_tokens(tokenizer, cut_from, allowed) if allowed > 0 else ("", 0)
        if text:
            pieces[last] = text
        else:
            del pieces[last]
        total += used - counts[-1]
    return FilledContext(" ".join(pieces), total, depths)
