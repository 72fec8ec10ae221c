"""The tool-environment interface shared by every backend: observations, codes, schemas and ``Finish``.

A :class:`ToolEnvironment` is bound to one query at a time (:meth:`ToolEnvironment.reset`), exposes that
query's functions as OpenAI function schemas (``functions``, with ToolBench's ``Finish`` last) and answers
``call(name, arguments)`` with an :class:`Observation`: the text the agent reads (ToolBench's
``{"error": ..., "response": ...}`` JSON) and ToolBench's observation code (:class:`ObservationCode`).
``Finish`` is handled here, identically for every backend; a backend only implements :meth:`_call_api`.

Function names follow ToolBench: ``<api>_for_<tool>``, both passed through :func:`standardize`.

Example:
    >>> from hf_ext.agents.tools.base import finish_observation, standardize
    >>> standardize("SEO API"), standardize("3 day forecast")
    ('seo_api', 'get_3_day_forecast')
    >>> finish_observation('{"return_type": "give_answer", "final_answer": "42"}').code
    3
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from hf_ext.errors import HFExtError


class ObservationCode(IntEnum):
    """ToolBench's ``observation_code`` values (``toolbench/inference``), one per outcome of a call."""

    OK = 0
    UNKNOWN_FUNCTION = 1  # hallucinated function name
    BAD_FINISH = 2  # Finish called with unusable arguments
    GIVE_ANSWER = 3  # success leaf
    GIVE_UP = 4  # give_up_and_restart: the node is pruned
    TIMEOUT = 5
    API_NOT_WORKING = 6
    UNAUTHORIZED = 7
    UNSUBSCRIBED = 8
    TOO_MANY_REQUESTS = 9
    RATE_LIMIT = 10
    MESSAGE_ERROR = 11  # the response carries an "error" field
    REQUEST_ERROR = 12  # the request itself failed (bad arguments, cache miss, HTTP failure)


# The error strings a ToolBench/StableToolBench server returns, and the code the client maps each to.
SERVER_ERRORS: dict[str, ObservationCode] = {
    "API not working error...": ObservationCode.API_NOT_WORKING,
    "Unauthorized error...": ObservationCode.UNAUTHORIZED,
    "Unsubscribed error...": ObservationCode.UNSUBSCRIBED,
    "Too many requests error...": ObservationCode.TOO_MANY_REQUESTS,
    "Rate limit per minute error...": ObservationCode.RATE_LIMIT,
    "Message error...": ObservationCode.MESSAGE_ERROR,
}

FINISH_FUNCTION: dict[str, Any] = {
    "name": "Finish",
    "description": "Call this at the end of every attempt. With return_type give_answer, final_answer is "
    "the only text the user sees, so it must contain the full answer. With give_up_and_restart, the current "
    "attempt is abandoned and the search goes back to an earlier state.",
    "parameters": {
        "type": "object",
        "properties": {
            "return_type": {"type": "string", "enum": ["give_answer", "give_up_and_restart"]},
            "final_answer": {
                "type": "string",
                "description": 'The answer for the user; required when return_type is "give_answer".',
            },
        },
        "required": ["return_type"],
    },
}


@dataclass(frozen=True)
class Observation:
    """What one call returns: ``text`` (the JSON string the agent reads) and ToolBench's ``code``."""

    text: str
    code: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", int(self.code))

    @classmethod
    def of(cls, code: int, response: Any = "", error: str = "") -> Observation:
        """The ToolBench-shaped observation ``{"error": error, "response": response}`` with ``code``."""
        return cls(json.dumps({"error": error, "response": response}, ensure_ascii=False), int(code))

    @classmethod
    def from_server_reply(cls, reply: Any) -> Observation:
        """Map a server's ``{"error", "response"}`` reply to a code as ToolBench's client does."""
        if not isinstance(reply, dict) or "error" not in reply or "response" not in reply:
            return cls.of(ObservationCode.REQUEST_ERROR, error="request invalid, data error")
        code = SERVER_ERRORS.get(str(reply["error"]), ObservationCode.OK)
        if code == ObservationCode.OK and reply["error"]:
            code = ObservationCode.MESSAGE_ERROR
        return cls(json.dumps(reply, ensure_ascii=False), int(code))


def standardize(name: str) -> str:
    """ToolBench's identifier rule: non-alphanumerics become ``_``, runs of ``_`` collapse, lower case, no
    leading/trailing ``_``, and a leading digit gets ``get_`` in front."""
    text = re.sub(r"[^0-9A-Za-z_\u4e00-\u9fa5]", "_", name)
    text = re.sub(r"_+", "_", text).lower().strip("_")
    if text and text[0].isdigit():
        text = "get_" + text
    return text


_RESERVED = {"from", "class", "return", "false", "true", "id", "and"}


def api_function_name(tool_name: str, api_name: str) -> str:
    """The function name ToolBench shows the model for ``api_name`` of ``tool_name``."""
    api = standardize(api_name)
    if api in _RESERVED:
        api = "is_" + api
    return f"{api}_for_{standardize(tool_name)}"[-64:]


def standard_category(category: str) -> str:
    """StableToolBench's folder name for a category (spaces, commas and slashes become ``_``)."""
    text = re.sub(r"[ ,/]", "_", category)
    return re.sub(r"_+", "_", text)


_JSON_TYPES = {"STRING": "string", "NUMBER": "number", "INTEGER": "integer", "BOOLEAN": "boolean"}


def function_schema(api: dict[str, Any]) -> dict[str, Any]:
    """One ``api_list`` entry (ToolBench query format) as an OpenAI function schema, ToolBench-style."""
    try:
        tool, name = api["tool_name"], api["api_name"]
        required = api.get("required_parameters", [])
        optional = api.get("optional_parameters", [])
    except (KeyError, TypeError) as error:
        raise HFExtError(f"api_list entry {api!r} is missing field {error}") from None
    properties: dict[str, Any] = {}
    for parameter in [*required, *optional]:
        entry = {
            "type": _JSON_TYPES.get(str(parameter.get("type", "STRING")).upper(), "string"),
            "description": parameter.get("description", ""),
        }
        if parameter.get("default") not in (None, ""):
            entry["example_value"] = parameter["default"]
        properties[parameter["name"]] = entry
    return {
        "name": api_function_name(tool, name),
        "description": str(api.get("api_description") or f"{name} of {tool}").strip(),
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": [p["name"] for p in required],
            "optional": [p["name"] for p in optional],
        },
    }


def finish_observation(arguments: str | dict) -> Observation:
    """ToolBench's observation for a ``Finish`` call: code 3 for an answer, 4 for giving up, else 2."""
    parsed = parse_arguments(arguments)
    if not isinstance(parsed, dict) or "return_type" not in parsed:
        return Observation('{"error": "Finish needs a \\"return_type\\" field", "response": ""}', 2)
    if parsed["return_type"] == "give_up_and_restart":
        return Observation('{"response":"chose to give up and restart"}', ObservationCode.GIVE_UP)
    if parsed["return_type"] == "give_answer":
        if "final_answer" not in parsed:
            return Observation('{"error": "Finish needs a \\"final_answer\\" field", "response": ""}', 2)
        return Observation(
            '{"response":"successfully giving the final answer."}', ObservationCode.GIVE_ANSWER
        )
    return Observation('{"error": "\\"return_type\\" is not a valid choice", "response": ""}', 2)


def parse_arguments(arguments: str | dict) -> Any:
    """A tool call's arguments as a dict: a dict as it is, blank text as ``{}``, JSON text parsed; ``None``
    when the text is not JSON."""
    if isinstance(arguments, dict):
        return arguments
    if not str(arguments).strip():
        return {}
    try:
        return json.loads(arguments, strict=False)
    except json.JSONDecodeError:
        return None


def final_answer_of(arguments: str | dict) -> str | None:
    """The ``final_answer`` of a ``Finish`` call's arguments, or ``None`` when there is none."""
    parsed = parse_arguments(arguments)
    if isinstance(parsed, dict) and parsed.get("return_type") == "give_answer":
        answer = parsed.get("final_answer")
        return None if answer is None else str(answer)
    return None


@dataclass
class ToolEnvironment:
    """Base of every backend. Subclasses implement :meth:`_call_api` (and may extend :meth:`reset`).

    After :meth:`reset` with a ToolBench query (``api_list``, ``query``, ``query_id``), ``functions`` holds
    the query's APIs as OpenAI schemas plus ``Finish``, and ``tools`` the tool descriptions a system prompt
    lists. ``api_calls`` counts the calls to real APIs (not ``Finish``) since the last reset.
    """

    query: dict[str, Any] | None = field(default=None, init=False, repr=False)
    functions: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    api_calls: int = field(default=0, init=False)
    _routes: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def reset(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Bind the environment to ``query``; return its function schemas (``Finish`` last)."""
        if not isinstance(query, dict) or not isinstance(query.get("api_list"), list):
            raise HFExtError(f"query {str(query)[:60]!r} has no 'api_list' list (ToolBench query format)")
        self.query = query
        self.api_calls = 0
        self._routes = {}
        schemas = []
        for api in query["api_list"]:
            schema = function_schema(api)
            if schema["name"] not in self._routes:
                self._routes[schema["name"]] = api
                schemas.append(schema)
        self.functions = [*schemas, FINISH_FUNCTION]
        return self.functions

    @property
    def tools(self) -> list[tuple[str, str]]:
        """``(standardized tool name, description)`` for each tool of the current query, in order."""
        seen: dict[str, str] = {}
        for api in self._routes.values():
            seen.setdefault(standardize(api["tool_name"]), api.get("tool_description", api["tool_name"]))
        return list(seen.items())

    def call(self, name: str, arguments: str | dict) -> Observation:
        """Run one action: ``Finish`` (codes 2/3/4), an unknown name (code 1) or an API of the query."""
        if self.query is None:
            raise RuntimeError("call reset(query) before call()")
        if name == "Finish":
            return finish_observation(arguments)
        api = self._routes.get(name)
        if api is None:
            return Observation.of(ObservationCode.UNKNOWN_FUNCTION, error=f"No such function name: {name}")
        self.api_calls += 1
        return self._call_api(api, arguments)

    def _call_api(self, api: dict[str, Any], arguments: str | dict) -> Observation:
        raise NotImplementedError
