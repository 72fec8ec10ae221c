"""Background text for BABILong: sentence sources and the sampler that hides facts in an exact token budget.

Sources (see :func:`resolve_haystack`):

* ``None`` / ``"prose"`` (the offline default): the English prose of CPython's own documentation from
  :func:`hf_ext.data.prose.prose_paragraphs` (Python Software Foundation License, ~1.1M characters, about
  250k tokens). A sample starts at a random sentence and reads on, wrapping round to the first sentence when
  it reaches the end, so contexts longer than the corpus (1M, 10M tokens) repeat it deterministically.
* ``"pg19"`` (the PG-19 test books, as the official data, from the Parquet copy ``emozilla/pg19``) or
  ``"hf:<dataset>[:<split>[:<text field>]]"``: a Hugging Face dataset loaded with
  :func:`datasets.load_dataset`; each sample reads from a random book at a random position, as the
  official generator (see :class:`HubHaystack`).
* a path to a ``.txt`` file or a folder of them (UTF-8), read in sorted order.

:func:`fill_context` spends ``budget`` tokens exactly, for any tokenizer: background sentences are picked
by an estimate (``" " + sentence``, no special tokens, as the official generator, one batched call), facts
go between them at random boundaries in story order, and the assembled context is then measured exactly and
its last background piece cut or extended until the measured count is the budget. The exact count is taken
in chunks with verified corrections at their junctions (:class:`_JoinedCounter`), so memory stays bounded by
the chunk size, not the length (1M and 10M tokens), and the work stays linear in the length.

Example:
    >>> import random
    >>> from hf_ext.testing import tiny_tokenizer
    >>> from hf_ext.evaluation.babilong.haystack import fill_context, resolve_haystack
    >>> tokenizer = tiny_tokenizer()
    >>> facts = ["Mary went to the kitchen."]
    >>> filled = fill_context(facts, 200, tokenizer, resolve_haystack(None), random.Random(0))
    >>> filled.num_tokens == len(tokenizer(filled.text, add_special_tokens=False)["input_ids"]) == 200
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
    """A Hugging Face dataset of long texts (PG-19 test books by default), read as the official generator
    does: a random book, a random character position in it, then the sentences from there (the first, cut
    one dropped, and the book's last), then another random book when that one ends. Reproducible by seed:
    everything is drawn from the sample's ``rng``. The split is loaded once (not streamed), so any book can
    be drawn."""

    path: str = PG19
    split: str = "test"
    text_field: str = "text"

    @property
    def name(self) -> str:
        return f"hf:{self.path}:{self.split}:{self.text_field}"

    @functools.cached_property
    def books(self):
        from datasets import load_dataset

        books = load_dataset(self.path, split=self.split)
        if self.text_field not in books.column_names:
            raise ValueError(f"dataset {self.path!r} ({self.split}) has no text field {self.text_field!r}")
        if len(books) == 0:
            raise ValueError(f"dataset {self.path!r} ({self.split}) has no rows")
        return books

    def sentences(self, rng: random.Random) -> Iterator[str]:
        books = self.books
        empty_draws = 0
        while True:
            text = books[rng.randrange(len(books))][self.text_field] or ""
            start = rng.randrange(len(text)) if text else 0
            sentences = split_sentences(text[start:])[1:-1]
            if not sentences:  # a short book or a position near its end: draw again
                empty_draws += 1
                if empty_draws > 1000:
                    raise ValueError(f"dataset {self.path!r} ({self.split}) yielded no sentences")
                continue
            empty_draws = 0
            yield from sentences


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
    """Tokens in ``" " + text`` for each text, without special tokens (one batched call): the estimate used
    to pick sentences; the context itself is always measured whole (:func:`measure`)."""
    if not texts:
        return []
    encoded = tokenizer([" " + text for text in texts], add_special_tokens=False)["input_ids"]
    return [len(ids) for ids in encoded]


def measure(tokenizer, text: str) -> int:
    """The exact number of tokens ``text`` takes, without special tokens."""
    if not text:
        return 0
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])  # no length warning


def token_prefix(tokenizer, ids: Sequence[int], keep: int) -> str:
    """The text of the first ``keep`` of ``ids``, stripped, without a half-decoded character at the end."""
    while keep > 0:
        text = tokenizer.decode(list(ids[:keep]), skip_special_tokens=True).strip()
        if not text.endswith("\ufffd"):
            return text
        keep -= 1
    return ""


@dataclass
class FilledContext:
    """A context with facts hidden in it: text, its measured token count, and each fact's depth (percent of
    the context's tokens before the fact)."""

    text: str
    num_tokens: int
    fact_depths: list[float]


def _background(tokenizer, stream: Iterator[str], budget: int) -> tuple[list[str], list[int]]:
    """Whole sentences from ``stream`` while their estimated tokens fit ``budget``, plus the sentence that
    did not fit (whole; its estimate may exceed what is left). The caller trims it to fit exactly."""
    sentences: list[str] = []
    counts: list[int] = []
    used = 0
    while True:
        batch = list(itertools.islice(stream, _BATCH))
        if not batch:
            raise ValueError("the haystack ran out of sentences")
        for sentence, count in zip(batch, count_tokens(tokenizer, batch)):
            sentences.append(sentence)
            counts.append(count)
            used += count
            if used >= budget:
                return sentences, counts


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


_CHUNK_CHARS = 1 << 15  # characters per counted chunk: memory stays bounded by this, not by the context
_WINDOW_PIECES = 2  # pieces on each side of a chunk junction in the first window checked
_MAX_WINDOW_PIECES = 32
_WHOLE_CHARS = 1 << 19  # contexts up to this many characters (~100k tokens) get their total measured whole


class _JoinedCounter:
    """Exact token counts of ``" ".join(pieces)`` (empty pieces skipped) in memory bounded by the chunk size,
    not by the length of the text.

    The text is counted in chunks of whole pieces (each chunk but the first keeps its joining space, so it
    starts as it does in the context); a junction between two chunks changes the count by
    ``delta = count(L) + count(R) - count(L + R)``, where ``L`` ends the left chunk and ``R`` starts the
    right one (``R`` from the joining space). ``delta`` is measured on a window of a few pieces each side
    and accepted once the window doubled gives the same delta, i.e. once what the junction changes lies
    inside the window; a tokenizer that never settles within :data:`_MAX_WINDOW_PIECES` is measured whole.
    Every chunk that starts a fact is cut there, so the tokens before each fact come out of the same sums.
    A text of at most :data:`_WHOLE_CHARS` characters has its total measured whole as well (one more call),
    so up to ~100k tokens the budget rests on no assumption about the tokenizer at all.
    Counts of chunks and windows are memoised by text, so re-counting a context whose start did not change
    (the fit) tokenizes only what changed."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.memo: dict[tuple[int, int], int] = {}

    def _counts(self, texts: list[str]) -> list[int]:
        keys = [(len(text), hash(text)) for text in texts]
        for key, text in zip(keys, texts):
            if key not in self.memo:
                self.memo[key] = measure(self.tokenizer, text)
        return [self.memo[key] for key in keys]

    def _delta(self, pieces: list[str], cut: int, first: int, last: int) -> int | None:
        """How much the junction before ``pieces[cut]`` changes the count, pieces ``first:last`` around it."""
        window = _WINDOW_PIECES
        previous = None
        while True:
            low, high = max(first, cut - window), min(last, cut + window)
            left = (" " if low > 0 else "") + " ".join(pieces[low:cut])
            right = " " + " ".join(pieces[cut:high])
            a, b, both = self._counts([left, right, left + right])
            delta = a + b - both
            if delta == previous or (low == first and high == last):
                return delta
            if window >= _MAX_WINDOW_PIECES:
                return None
            previous, window = delta, window * 2

    def count(self, pieces: Sequence[str], marks: Sequence[int] = ()) -> tuple[int, list[int]]:
        """The token count of ``" ".join`` of the non-empty ``pieces`` and, for each index in ``marks``
        (a non-empty piece), the tokens before that piece."""
        kept: list[str] = []
        index_of: dict[int, int] = {}
        for i, piece in enumerate(pieces):
            if piece:
                index_of[i] = len(kept)
                kept.append(piece)
        marked = {index_of[i] for i in marks}
        cuts, size = [0], 0
        for i, piece in enumerate(kept):
            if i > cuts[-1] and (i in marked or size >= _CHUNK_CHARS):
                cuts.append(i)
                size = 0
            size += len(piece) + 1
        cuts.append(len(kept))
        totals = [0]
        for j in range(len(cuts) - 1):
            text = (" " if j > 0 else "") + " ".join(kept[cuts[j] : cuts[j + 1]])
            count = self._counts([text])[0]
            if j > 0:
                delta = self._delta(kept, cuts[j], cuts[j - 1], cuts[j + 1])
                if delta is None:  # no settled window: measure the text whole (exact, not bounded)
                    return self._whole(kept, marks, index_of)
                count -= delta
            totals.append(totals[-1] + count)
        before = {cut: totals[j] for j, cut in enumerate(cuts[:-1])}
        total = totals[-1]
        if len(cuts) > 2 and sum(len(piece) + 1 for piece in kept) <= _WHOLE_CHARS:
            total = measure(self.tokenizer, " ".join(kept))
        return total, [before[index_of[i]] for i in marks]

    def _whole(self, kept: list[str], marks: Sequence[int], index_of: dict[int, int]) -> tuple[int, list]:
        position = {index_of[i] for i in marks}
        before = {}
        for k in sorted(position):
            before[k] = measure(self.tokenizer, " ".join(kept[:k]))
        return measure(self.tokenizer, " ".join(kept)), [before[index_of[i]] for i in marks]


class _Tail:
    """The last background piece, cut from the sentence that did not fit and, if needed, the sentences after
    it, to any number of its own tokens."""

    def __init__(self, tokenizer, first: str, stream: Iterator[str]) -> None:
        self.tokenizer, self.stream, self.text = tokenizer, stream, first
        self.ids = tokenizer(first, add_special_tokens=False)["input_ids"]

    def prefix(self, keep: int) -> str:
        while len(self.ids) < keep:  # read on: the estimate fell short by more than one sentence holds
            following = next(self.stream, None)
            if following is None:
                break
            self.text = f"{self.text} {following}"
            self.ids = self.tokenizer(self.text, add_special_tokens=False)["input_ids"]
        return token_prefix(self.tokenizer, self.ids, min(keep, len(self.ids)))


_MAX_CORRECTIONS = 12
_CHARACTER_TRIMS = 24
_TAIL_SOURCES = 3


def _fit_piece(tokenizer, budget, pieces, index, count, source, stream, keep=None) -> tuple[str, int]:
    """Set ``pieces[index]`` to the prefix of ``source`` (read on from ``stream`` if needed) that makes the
    assembled context measure ``budget`` tokens; returns the best piece found and its measured count.

    Token-level corrections first (the count moves by about the tokens added or removed); when a single
    token would jump over the budget, the piece is trimmed character by character instead."""
    tail = _Tail(tokenizer, source, stream)
    keep = len(tail.ids) if keep is None else keep  # the estimate of the tokens left, usually right
    best = ("", budget + 1)
    tried: dict[int, int] = {}
    for _ in range(_MAX_CORRECTIONS):
        pieces[index] = tail.prefix(keep)
        measured = tried[keep] = count()
        if measured <= budget and (best[1] > budget or measured > best[1]):
            best = (pieces[index], measured)
        if measured == budget:
            return best
        keep = max(0, keep + budget - measured)
        if keep in tried:  # cycling between a count under and one over the budget
            break
    if best[1] > budget:
        pieces[index] = ""
        empty = count()
        return ("", empty)
    under = max(k for k, measured in tried.items() if measured == best[1])
    for extra in (1, 2, 3):
        longer = tail.prefix(under + extra)
        for cut in range(len(longer) - 1, max(len(best[0]), len(longer) - _CHARACTER_TRIMS), -1):
            pieces[index] = longer[:cut].rstrip()
            measured = count()
            if best[1] < measured <= budget:
                best = (pieces[index], measured)
            if measured == budget:
                return best
    return best


def fill_context(
    facts: Sequence[str],
    budget: int,
    tokenizer,
    haystack: Haystack | None,
    rng: random.Random,
    depth: tuple[float, float] | None = None,
) -> FilledContext:
    """Hide ``facts`` (in order) among haystack sentences so the context takes exactly ``budget`` tokens.

    Sentences are picked by their estimated tokens (``" " + sentence``); the assembled context is then
    measured exactly (in bounded memory, see :class:`_JoinedCounter`) and the last background piece is cut
    or extended, token by token of its own text, until the measured count is the budget (it is never over;
    in the rare case where no cut lands exactly, the longest one under the budget is kept). ``num_tokens``
    is always the measured count.

    ``budget=0`` (or no haystack) gives the facts alone. ``depth=(low, high)`` starts the facts between
    ``low`` and ``high`` percent of the context. Raises ValueError when the facts alone exceed the budget.
    """
    facts = list(facts)
    fact_counts = count_tokens(tokenizer, facts)
    fact_total = sum(fact_counts)
    if budget and (fact_total > budget or measure(tokenizer, " ".join(facts)) > budget):
        raise ValueError(
            f"the {len(facts)} facts take {fact_total} tokens, more than the {budget}-token context budget; "
            "raise the length or lower the reserve"
        )
    background: list[str] = []
    counts: list[int] = []
    stream: Iterator[str] = iter(())
    if budget and haystack is not None:
        stream = haystack.sentences(rng)
        background, counts = _background(tokenizer, stream, budget - fact_total)
        counts[-1] = max(0, budget - fact_total - sum(counts[:-1]))  # what is left for the sentence cut last
    slots = _fact_slots(rng, counts, fact_total, len(facts), depth)
    pieces: list[str] = []
    is_fact: list[bool] = []
    estimates: list[float] = []
    total_estimate = max(sum(counts) + fact_total, 1)
    position = 0
    for boundary in range(len(background) + 1):
        while len(estimates) < len(facts) and slots[len(estimates)] == boundary:
            estimates.append(round(100.0 * position / total_estimate, 3))
            pieces.append(facts[len(estimates) - 1])
            is_fact.append(True)
            position += fact_counts[len(estimates) - 1]
        if boundary < len(background):
            pieces.append(background[boundary])
            is_fact.append(False)
            position += counts[boundary]

    counter = _JoinedCounter(tokenizer)
    fact_pieces = [i for i, fact in enumerate(is_fact) if fact]

    def count() -> int:
        return counter.count(pieces, fact_pieces)[0]

    if background:
        adjustable = max(i for i, fact in enumerate(is_fact) if not fact)  # the last background sentence
        sources = [background[-1]]
        best = ("", budget + 1)
        estimate = counts[-1]
        for attempt in range(_TAIL_SOURCES):
            if attempt == len(sources):  # start the piece at a later sentence: other cuts, other counts
                following = next(stream, None)
                if following is None:
                    break
                sources.append(following)
            piece, measured = _fit_piece(
                tokenizer, budget, pieces, adjustable, count, sources[attempt], stream, estimate
            )
            estimate = None
            if measured <= budget and (best[1] > budget or measured > best[1]):
                best = (piece, measured)
            if measured == budget:
                break
        pieces[adjustable] = best[0] if best[1] <= budget else ""
    total, before = counter.count(pieces, fact_pieces)
    while total > budget > 0:  # estimates far off: drop background sentences from the end until it fits
        dropped = [i for i, fact in enumerate(is_fact) if not fact and pieces[i]]
        if not dropped:
            break
        pieces[dropped[-1]] = ""
        total, before = counter.count(pieces, fact_pieces)
    depths = [round(100.0 * tokens / max(total, 1), 3) for tokens in before]
    return FilledContext(" ".join(piece for piece in pieces if piece), total, depths)
