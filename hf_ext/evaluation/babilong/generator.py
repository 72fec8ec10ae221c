"""Generate BABILong samples: simulate a bAbI story, hide its facts in haystack text of an exact length.

Example:
    >>> from hf_ext.testing import tiny_tokenizer
    >>> from hf_ext.evaluation.babilong import generate_babilong
    >>> data = generate_babilong("qa2", length=512, num_samples=3, tokenizer=tiny_tokenizer(), reserve=64)
    >>> data.column_names[:3], data[0]["length"], data[0]["context_tokens"]
    (['input', 'question', 'target'], 512, 448)
"""

from __future__ import annotations

import atexit
import functools
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from hf_ext.evaluation.babilong import world_moves, world_relations
from hf_ext.evaluation.babilong.haystack import Haystack, count_tokens, fill_context, resolve_haystack
from hf_ext.evaluation.babilong.story import Story, check_task

SIMULATORS: dict[str, Callable[[random.Random], Story]] = {
    "qa1": world_moves.where_is_actor,
    "qa2": world_moves.where_is_object,
    "qa3": world_moves.where_was_object,
    "qa4": world_relations.two_arg_relations,
    "qa5": world_moves.who_what_gave,
    "qa6": world_moves.is_actor_there,
    "qa7": world_moves.counting,
    "qa8": world_moves.listing,
    "qa9": world_moves.negation,
    "qa10": world_moves.indefinite,
    "qa11": world_moves.basic_coreference,
    "qa12": world_moves.conjunction,
    "qa13": world_moves.compound_coreference,
    "qa14": world_relations.time_reasoning,
    "qa15": world_relations.basic_deduction,
    "qa16": world_relations.basic_induction,
    "qa17": world_relations.positional_reasoning,
    "qa18": world_relations.size_reasoning,
    "qa19": world_relations.path_finding,
    "qa20": world_relations.motivations,
}
DEFAULT_RESERVE = 300  # tokens the official data leaves for the prompt around the context
_MAX_TRIES = 1000
_FIT_TRIES = 200
# Length conventions. "model" (default): binary units (4k = 4096) in the evaluated model's tokens.
# "official": the released BABILong data's decimal units (4k = 4000) in GPT-2 tokens, to compare with
# published tables.
LENGTH_CONVENTIONS = {"model": 1024, "official": 1000}
OFFICIAL_TOKENIZER = "openai-community/gpt2"


def check_convention(convention: str) -> int:
    """The unit ``k`` of a length convention (``"model"``: 1024, ``"official"``: 1000)."""
    if convention not in LENGTH_CONVENTIONS:
        raise ValueError(f"length convention must be 'model' or 'official', got {convention!r}")
    return LENGTH_CONVENTIONS[convention]


def simulate_story(task: str, rng: random.Random) -> Story:
    """One story of ``task`` with a question that the simulated world answers (redrawn until it has one)."""
    check_task(task)
    for _ in range(_MAX_TRIES):
        try:
            return SIMULATORS[task](rng)
        except world_moves.NoQuestion:
            continue
    raise RuntimeError(f"{task}: no answerable question in {_MAX_TRIES} stories")


def _story_that_fits(task: str, rng: random.Random, length: int, budget: int, tokenizer) -> Story:
    """A story whose facts fit the context: as the official generator, stories with more than ``length // 8``
    facts are drawn again, and so are those whose facts alone would take more than ``budget`` tokens."""
    for _ in range(_FIT_TRIES):
        story = simulate_story(task, rng)
        if not length or (
            len(story.facts) <= length // 8 and sum(count_tokens(tokenizer, story.facts)) <= budget
        ):
            return story
    raise ValueError(f"{task}: no story fits a {length}-token sample in {_FIT_TRIES} draws; raise the length")


def parse_length(value: int | str, convention: str = "model") -> int:
    """A context length in tokens from ``4096``, ``"4096"``, ``"4k"`` or ``"1M"``; ``k`` is 1024 in the
    ``"model"`` convention (``"4k"`` -> 4096) and 1000 in the ``"official"`` one (``"4k"`` -> 4000)."""
    unit = check_convention(convention)
    if isinstance(value, bool):
        raise ValueError(f"length must be a number of tokens, got {value!r}")
    if isinstance(value, int):
        tokens = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", str(value))
        if not match:
            raise ValueError(f"length {value!r} is not a token count such as 4096, 4k or 1M")
        scale = {"": 1, "k": unit, "m": unit**2}[match.group(2).lower()]
        tokens = int(float(match.group(1)) * scale)
    if tokens < 0:
        raise ValueError(f"length must be >= 0 tokens, got {value!r}")
    return tokens


def parse_lengths(
    value: Any, default: tuple[int | str, ...] = (4096,), convention: str = "model"
) -> list[int]:
    """Lengths from a list (``[0, "4k"]``), a comma string (``"0,4k,1M"``) or one value; None: default."""
    if value is None:
        value = list(default)
    items = (
        value.split(",") if isinstance(value, str) else value if isinstance(value, list | tuple) else [value]
    )
    lengths = [parse_length(item.strip() if isinstance(item, str) else item, convention) for item in items]
    if not lengths:
        raise ValueError("no lengths given")
    return lengths


def length_label(tokens: int, convention: str = "model") -> str:
    """The short name of a length, as the Hub configs: 0 -> ``0k``, 4096 -> ``4k`` (4000 -> ``4k`` in the
    ``"official"`` convention), 2**20 -> ``1M``; other counts stay numbers (``5000``)."""
    unit = check_convention(convention)
    if tokens == 0:
        return "0k"
    for scale, suffix in ((unit**2, "M"), (unit, "k")):
        if tokens >= scale and tokens % scale == 0:
            return f"{tokens // scale}{suffix}"
    return str(tokens)


@functools.cache
def load_tokenizer(name: str):
    """A tokenizer by Hub name or path (``hf-ext-testing:`` names too), never running remote code."""
    from transformers import AutoTokenizer

    from hf_ext.names import resolve_model_name

    return AutoTokenizer.from_pretrained(resolve_model_name(name), trust_remote_code=False)


def _sample_rng(seed: int, task: str, length: int, index: int) -> random.Random:
    return random.Random(f"babilong/{seed}/{task}/{length}/{index}")


def _check_depth(depth: float | tuple[float, float] | None) -> tuple[float, float] | None:
    if depth is None:
        return None
    low, high = (depth, depth) if isinstance(depth, int | float) else tuple(depth)
    if not 0.0 <= low <= high <= 100.0:
        raise ValueError(
            f"depth must be a percent in [0, 100] or a window (low <= high) in it, got {depth!r}"
        )
    return float(low), float(high)


def iter_babilong(
    task: str = "qa1",
    length: int | str = 4096,
    num_samples: int = 100,
    tokenizer: Any = None,
    haystack: str | Haystack | None = None,
    seed: int = 0,
    reserve: int = DEFAULT_RESERVE,
    depth: float | tuple[float, float] | None = None,
    length_convention: str = "model",
) -> Iterator[dict[str, Any]]:
    """The rows of :func:`generate_babilong`, one at a time (nothing else is held in memory)."""
    check_task(task)
    tokens = parse_length(length, length_convention)
    if tokenizer is None and length_convention == "official":
        tokenizer = OFFICIAL_TOKENIZER
    if tokenizer is None:
        raise ValueError(
            "tokenizer is required: BABILong lengths are counted in the evaluated model's tokens"
        )
    if isinstance(tokenizer, str):
        tokenizer = load_tokenizer(tokenizer)
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if not 0 <= reserve:
        raise ValueError(f"reserve must be >= 0 tokens, got {reserve}")
    if tokens and tokens <= reserve:
        raise ValueError(f"length {tokens} leaves no context after reserving {reserve} tokens for the prompt")
    window = _check_depth(depth)
    source = resolve_haystack(haystack) if tokens else None
    for index in range(num_samples):
        rng = _sample_rng(seed, task, tokens, index)
        story = _story_that_fits(task, rng, tokens, tokens - reserve, tokenizer)
        filled = fill_context(story.facts, tokens - reserve if tokens else 0, tokenizer, source, rng, window)
        yield {
            "input": filled.text,
            "question": story.question,
            "target": story.answer,
            "length": tokens,
            "num_facts": len(story.facts),
            "fact_depths": filled.fact_depths,
            "support_depths": [filled.fact_depths[i] for i in story.supporting],
            "facts": story.facts,
            "supporting": story.supporting,
            "context_tokens": filled.num_tokens,
            "task": task,
        }


def _features():
    from datasets import Features, Sequence, Value

    return Features(
        {
            "input": Value("string"),
            "question": Value("string"),
            "target": Value("string"),
            "length": Value("int64"),
            "num_facts": Value("int32"),
            "fact_depths": Sequence(Value("float32")),
            "support_depths": Sequence(Value("float32")),
            "facts": Sequence(Value("string")),
            "supporting": Sequence(Value("int32")),
            "context_tokens": Value("int64"),
            "task": Value("string"),
        }
    )


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def write_rows(rows: Iterator[dict[str, Any]], path: str | None = None):
    """Stream rows into an Arrow file (a temporary one by default) and open it memory-mapped as a Dataset."""
    from datasets import Dataset
    from datasets.arrow_writer import ArrowWriter

    if path is None:  # a temporary file, removed when the process exits
        handle, path = tempfile.mkstemp(prefix="hf-ext-babilong-", suffix=".arrow")
        os.close(handle)
        atexit.register(_remove_quietly, path)
    with ArrowWriter(features=_features(), path=path, writer_batch_size=16) as writer:
        for row in rows:
            writer.write(row)
        writer.finalize()
    return Dataset.from_file(path)


def generate_babilong(
    task: str = "qa1",
    length: int | str = 4096,
    num_samples: int = 100,
    tokenizer: Any = None,
    haystack: str | Haystack | None = None,
    seed: int = 0,
    reserve: int = DEFAULT_RESERVE,
    depth: float | tuple[float, float] | None = None,
    length_convention: str = "model",
):
    """BABILong samples for one task and length, as a :class:`datasets.Dataset`.

    Args:
        task: ``"qa1"`` ... ``"qa20"``.
        length: the sample length in tokens of ``tokenizer`` (``4096``, ``"4k"``, ``"1M"``); ``0`` means the
            facts alone. The context gets ``length - reserve`` tokens exactly.
        num_samples: rows to generate.
        tokenizer: a tokenizer object or a name/path for ``AutoTokenizer`` (required).
        haystack: background text, see :func:`hf_ext.evaluation.babilong.haystack.resolve_haystack`
            (default: the offline prose shipped with Python).
        seed: same seed, same samples (row ``i`` depends only on seed, task, length and ``i``).
        reserve: tokens left for the prompt around the context (official: 300).
        depth: ``None`` spreads facts over the whole context; a percent (``50``) or window (``(0, 10)``)
            keeps them at that depth.
        length_convention: ``"model"`` (default: ``"4k"`` is 4096 tokens of ``tokenizer``) or
            ``"official"`` (the released data's: ``"4k"`` is 4000 GPT-2 tokens; ``tokenizer`` defaults to
            GPT-2), to compare with published tables.

    Columns: ``input`` (the context), ``question``, ``target`` (as the Hub dataset), ``length``,
    ``num_facts``, ``fact_depths`` and ``support_depths`` (percent of context tokens before each fact /
    supporting fact), ``facts``, ``supporting`` (indices into ``facts``), ``context_tokens``, ``task``.
    Rows are streamed to a temporary Arrow file, so a 10M-token length holds one sample in memory at a time.
    """
    return write_rows(
        iter_babilong(task, length, num_samples, tokenizer, haystack, seed, reserve, depth, length_convention)
    )
