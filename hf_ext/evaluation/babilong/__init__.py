"""BABILong, generated offline: a bAbI world simulator for all 20 tasks (its statistics checked against the
original bAbI files by :mod:`~hf_ext.evaluation.babilong.fidelity`), a haystack sampler with exact token
budgets for any tokenizer, the official prompt layout, our metric and the official one, and the pieces
behind the ``hfx_babilong_*`` lm-eval tasks.

Example:
    >>> from hf_ext.evaluation.babilong import compare_answers, generate_babilong
    >>> from hf_ext.testing import tiny_tokenizer
    >>> row = generate_babilong("qa1", length=0, num_samples=1, tokenizer=tiny_tokenizer())[0]
    >>> compare_answers(row["target"], f"In the {row['target']}.", row["question"], "qa1")
    True
"""

from hf_ext.evaluation.babilong.generator import (
    DEFAULT_RESERVE,
    generate_babilong,
    iter_babilong,
    length_label,
    parse_length,
    parse_lengths,
    simulate_story,
)
from hf_ext.evaluation.babilong.haystack import resolve_haystack
from hf_ext.evaluation.babilong.metric import compare_answers, compare_answers_official, contains_answer
from hf_ext.evaluation.babilong.prompts import build_prompt
from hf_ext.evaluation.babilong.story import TASK_NAMES, TASKS, Story, check_task

__all__ = [
    "DEFAULT_RESERVE",
    "TASKS",
    "TASK_NAMES",
    "Story",
    "build_prompt",
    "check_task",
    "compare_answers",
    "compare_answers_official",
    "contains_answer",
    "generate_babilong",
    "iter_babilong",
    "length_label",
    "parse_length",
    "parse_lengths",
    "resolve_haystack",
    "simulate_story",
]
