"""The offline tool world as a StreamBench stream: name the API and its arguments for each request.

StreamBench's ``toolbench`` config gives a user request (``query``) and scores the API the model picks
(``api_name``) and the arguments it passes (``api_input``). :func:`tool_stream_docs` builds the same kind
of stream from :class:`~hf_ext.agents.tools.OfflineToolWorld`: the single-call G1 query templates (weather,
forecast, currency and length conversion, calendar, encyclopedia facts, word classes, holidays), each
request with the one call that answers it. The prompt lists every API of the request's category (two
tools, six to eight APIs, with their parameters), so the model has to choose among neighbours of the right
one. Argument values
and names must match exactly (``{"city": "Oslo"}``, ``{"field": "height_m"}``, ``{"from_unit": "km"}``),
which a model can pick up from its past correct calls: nine templates over small value pools, many requests
coming back word for word. Scored by the shared ToolBench checker
(:func:`hf_ext.evaluation.streambench.checkers.tool_call_matches`).

:func:`offline_stream_docs` is the one entry point for every offline stream (``sql``, ``diagnosis``,
``multihop`` from :mod:`hf_ext.evaluation.streambench.offline`, and ``tools`` from here), used by the lm-eval
tasks, ``hf-ext streambench run`` and the benchmark. It lives here because the evaluation layer cannot import
the agents' tool world.

Example:
    >>> docs = tool_stream_docs(2, seed=0)
    >>> sorted(docs[0])
    ['api_input', 'api_list', 'api_name', 'doc_id', 'hfx_bench', 'query']
    >>> from hf_ext.evaluation.streambench.benches import bench_of
    >>> all(bench_of(d).score(bench_of(d).gold_answer(d), d)["acc"] == 1.0 for d in docs)
    True
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from hf_ext.agents.tools.offline_world import APIS, APIS_BY_FUNCTION, TEMPLATES, world_data
from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.offline import OFFLINE_STREAMS, offline_docs

TOOL_STREAM = "tools"
ALL_OFFLINE_STREAMS = (*OFFLINE_STREAMS, TOOL_STREAM)

# The G1 templates answered by one call: (template builder, tool of that call).
SINGLE_CALL_TEMPLATES = [(build, tools[0]) for group, tools, relevant, build in TEMPLATES
                         if group == "G1" and len(relevant) == 1]  # fmt: skip


def api_line(function_name: str) -> str:
    """One API as the prompt lists it: ``- name(param, ...): description``."""
    api = APIS_BY_FUNCTION[function_name]
    params = ", ".join(name for name, _, _ in (*api.required, *api.optional))
    return f"- {function_name}({params}): {api.description}"


def category_api_list(tool: str) -> str:
    """Every API of the category ``tool`` belongs to, one per line."""
    category = next(api.category for api in APIS if api.tool == tool)
    return "\n".join(api_line(api.function_name) for api in APIS if api.category == category)


def tool_stream_docs(n: int = 200, seed: int = 0, split: str = "test") -> list[dict[str, Any]]:
    """``n`` tool-calling documents (bench ``tool``), a deterministic function of ``(n, seed, split)``.

    Each has ``query``, the gold ``api_name`` (the function name the world exposes, e.g.
    ``current_weather_for_weathernow``), ``api_input`` (the arguments as a JSON string) and ``api_list``.
    """
    if n < 1:
        raise HFExtError(f"num_samples must be at least 1, got {n}")
    if split not in ("test", "train"):
        raise HFExtError(f"split must be 'test' or 'train', got {split!r}")
    rng, data = random.Random(f"{TOOL_STREAM}-{split}-{seed}"), world_data()
    docs = []
    for position in range(n):
        build, tool = rng.choice(SINGLE_CALL_TEMPLATES)
        text, _, solution = build(rng, data)
        (call,) = solution
        docs.append(
            {
                "hfx_bench": "tool",
                "query": text,
                "api_name": call["name"],
                "api_input": json.dumps(call["arguments"], ensure_ascii=False),
                "api_list": category_api_list(tool),
                "doc_id": position,
            }
        )
    return docs


def offline_stream_docs(
    name: str, n: int = 200, seed: int = 0, split: str = "test", db_root: str | Path | None = None
) -> list[dict[str, Any]]:
    """The offline stream ``name`` (one of :data:`ALL_OFFLINE_STREAMS`), as ``offline_docs`` gives it."""
    if name == TOOL_STREAM:
        return tool_stream_docs(n, seed, split)
    if name not in OFFLINE_STREAMS:
        raise HFExtError(f"unknown offline stream {name!r}; choose one of {', '.join(ALL_OFFLINE_STREAMS)}")
    return offline_docs(name, n=n, seed=seed, split=split, db_root=db_root)


__all__ = [
    "ALL_OFFLINE_STREAMS",
    "SINGLE_CALL_TEMPLATES",
    "TOOL_STREAM",
    "category_api_list",
    "offline_stream_docs",
    "tool_stream_docs",
]
