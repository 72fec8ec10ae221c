"""A scripted, optionally noisy expert for the offline tool world: data for SFT, a baseline, a test policy.

:class:`ScriptedWorldPolicy` knows each query's reference ``solution`` (written by
:meth:`~hf_ext.agents.tools.OfflineToolWorld.generate_queries`). At every state it makes the next reference
call that has not yet succeeded (a failed call, e.g. an injected rate limit, is simply retried) and, once
all have succeeded, calls ``Finish`` with an answer stating the gold items (the script knows them). With
probability ``noise`` a step is a mistake instead, one of: a sibling API of the same tool, an argument
name the API does not take, a function that does not exist, or giving up. Every decision is a pure
function of ``seed``, the query and the conversation so far, so DFSDT runs with it are reproducible.

Example:
    >>> from hf_ext.agents.scripted import ScriptedWorldPolicy
    >>> from hf_ext.agents.tools import OfflineToolWorld
    >>> query = OfflineToolWorld.generate_queries(1, "G1", seed=0)[0]
    >>> policy = ScriptedWorldPolicy([query], noise=0.0)
    >>> print(policy([{"role": "system", "content": ""}, {"role": "user", "content": query["query"]}]))
    Thought: I will call current_weather_for_weathernow.
    Action: current_weather_for_weathernow
    Action Input: {"city": "Montreal"}
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from typing import Any

from hf_ext.agents.tools.offline_world import APIS_BY_FUNCTION
from hf_ext.errors import HFExtError

MISTAKES = ("sibling_api", "bad_argument", "unknown_function", "give_up")


class ScriptedWorldPolicy:
    """Plays the reference solution of each query, with mistakes at rate ``noise`` (see module doc)."""

    def __init__(self, queries: Sequence[dict[str, Any]], noise: float = 0.0, seed: int = 0):
        if not 0.0 <= noise <= 1.0:
            raise HFExtError(f"noise must be in [0, 1], got {noise}")
        self.noise, self.seed = noise, seed
        self.by_text: dict[str, dict[str, Any]] = {}
        for query in queries:
            if "solution" not in query:
                raise HFExtError(
                    f"query {query.get('query_id')!r} has no 'solution' (not an offline-world query)"
                )
            self.by_text[query["query"].strip()] = query

    def _query(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        for message in messages:
            if message["role"] == "user":
                text = str(message.get("content") or "").replace("Begin!", "").strip()
                if text in self.by_text:
                    return self.by_text[text]
        raise HFExtError("the conversation's user query is not one of the scripted policy's queries")

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        query = self._query(messages)
        calls = [m for m in messages if m["role"] == "assistant" and m.get("function_call")]
        results = [m for m in messages if m["role"] == "function"]
        succeeded = []
        for call, result in zip(calls, results):
            try:
                ok = json.loads(result["content"]).get("error") == ""
            except (json.JSONDecodeError, AttributeError):
                ok = False
            if ok:
                succeeded.append(call["function_call"]["name"])
        done = set(succeeded)
        digest = hashlib.sha256(json.dumps([self.seed, messages], default=str).encode()).hexdigest()
        rng = random.Random(digest)
        pending = [step for step in query["solution"] if step["name"] not in done]
        if rng.random() < self.noise:
            return self._mistake(rng, pending[0] if pending else query["solution"][-1])
        if pending:
            step = pending[0]
            return _text(f"I will call {step['name']}.", step["name"], json.dumps(step["arguments"]))
        answer = _compose_answer(query)
        arguments = json.dumps({"return_type": "give_answer", "final_answer": answer})
        return _text("I have everything I need.", "Finish", arguments)

    def _mistake(self, rng: random.Random, step: dict[str, Any]) -> str:
        kind = rng.choice(MISTAKES)
        api = APIS_BY_FUNCTION[step["name"]]
        siblings = [f for f, a in APIS_BY_FUNCTION.items() if a.tool == api.tool and f != step["name"]]
        if kind == "sibling_api" and siblings:
            name = rng.choice(siblings)
            return _text(f"I will call {name}.", name, json.dumps(step["arguments"]))
        if kind == "bad_argument":
            arguments = {f"{key}_name": value for key, value in step["arguments"].items()} or {"x": 1}
            return _text(f"I will call {step['name']}.", step["name"], json.dumps(arguments))
        if kind == "unknown_function":
            name = step["name"].replace("_for_", "_api_for_")
            return _text(f"I will call {name}.", name, json.dumps(step["arguments"]))
        return _text("This is not working.", "Finish", json.dumps({"return_type": "give_up_and_restart"}))


def _text(thought: str, name: str, arguments: str) -> str:
    return f"Thought: {thought}\nAction: {name}\nAction Input: {arguments}"


def _compose_answer(query: dict[str, Any]) -> str:
    return f"The answer is {' and '.join(str(item) for item in query['gold_answer'])}."
