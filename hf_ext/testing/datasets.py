"""Tiny datasets in the shapes TRL expects, made from offline prose (:mod:`hf_ext.data.prose`).

Preference pairs are learnable: ``chosen`` is the true continuation of the prompt's sentence and
``rejected`` is the same words in reverse order, so a model can learn to prefer fluent English.

Example:
    >>> from hf_ext.testing import preference_dataset, prompt_dataset
    >>> pairs = preference_dataset(8)
    >>> sorted(pairs.column_names)
    ['chosen', 'prompt', 'rejected']
    >>> chat = preference_dataset(8, conversational=True)
    >>> chat[0]["prompt"][0]["role"], chat[0]["chosen"][0]["role"]
    ('user', 'assistant')
    >>> prompt_dataset(4).column_names
    ['prompt']
"""

from __future__ import annotations

import random

from datasets import Dataset

from hf_ext.data.prose import prose_split

_PROMPT_WORDS = 8
_COMPLETION_WORDS = 6


def _sentences(seed: int, count: int, min_words: int) -> list[list[str]]:
    train, _ = prose_split()
    pool = [p.split() for p in train if len(p.split()) >= min_words]
    rng = random.Random(seed)
    return [pool[i] for i in rng.sample(range(len(pool)), count)]


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def preference_dataset(num_pairs: int = 64, *, conversational: bool = False, seed: int = 0) -> Dataset:
    """``prompt`` / ``chosen`` / ``rejected`` pairs: plain strings, or chat messages if ``conversational``."""
    rows = []
    for words in _sentences(seed, num_pairs, _PROMPT_WORDS + _COMPLETION_WORDS):
        prompt = " ".join(words[:_PROMPT_WORDS])
        continuation = words[_PROMPT_WORDS : _PROMPT_WORDS + _COMPLETION_WORDS]
        chosen, rejected = " " + " ".join(continuation), " " + " ".join(reversed(continuation))
        if conversational:
            rows.append(
                {
                    "prompt": _user(prompt),
                    "chosen": _assistant(chosen.strip()),
                    "rejected": _assistant(rejected.strip()),
                }
            )
        else:
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return Dataset.from_list(rows)


def prompt_dataset(num_prompts: int = 32, *, conversational: bool = False, seed: int = 0) -> Dataset:
    """``prompt`` only, for online RL (GRPO, PPO): the first words of prose sentences."""
    rows = []
    for words in _sentences(seed, num_prompts, _PROMPT_WORDS):
        prompt = " ".join(words[:_PROMPT_WORDS])
        rows.append({"prompt": _user(prompt) if conversational else prompt})
    return Dataset.from_list(rows)
