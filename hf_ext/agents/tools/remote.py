"""``HTTPToolEnvironment``: a client for a running StableToolBench (or ToolBench) tool server.

StableToolBench's server takes ``POST <url>`` (by default ``http://localhost:8080/virtual``) with the JSON
body ``{"category", "tool_name", "api_name", "tool_input", "strip", "toolbench_key"}`` (the key is sent as a
``toolbench_key`` header too) and answers ``{"error": ..., "response": ...}``. Error strings map to
ToolBench's codes as its client maps them (:data:`~hf_ext.agents.tools.base.SERVER_ERRORS`); a timeout is code
5, an HTTP or decoding failure code 12. Only the standard library is used.

Example:
    >>> from hf_ext.agents.tools import HTTPToolEnvironment
    >>> env = HTTPToolEnvironment("http://127.0.0.1:8080/virtual", timeout=5.0)
    >>> env.url
    'http://127.0.0.1:8080/virtual'
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from hf_ext.agents.tools.base import (
    Observation,
    ObservationCode,
    ToolEnvironment,
    api_function_name,
    standard_category,
    standardize,
)
from hf_ext.errors import HFExtError


@dataclass
class HTTPToolEnvironment(ToolEnvironment):
    """Sends each API call to ``url``; ``toolbench_key`` is passed through, ``timeout`` is in seconds."""

    url: str = "http://localhost:8080/virtual"
    toolbench_key: str = ""
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise HFExtError(f"url must start with http:// or https://, got {self.url!r}")
        if self.timeout <= 0:
            raise HFExtError(f"timeout must be > 0, got {self.timeout}")

    def request_body(self, api: dict[str, Any], arguments: str | dict) -> dict[str, Any]:
        """The JSON body StableToolBench's ``/virtual`` endpoint expects for one call."""
        tool = standardize(api["tool_name"])
        return {
            "category": standard_category(api.get("category_name", "")),
            "tool_name": tool,
            "api_name": api_function_name(api["tool_name"], api["api_name"]).removesuffix(f"_for_{tool}"),
            "tool_input": arguments if isinstance(arguments, str) else json.dumps(arguments),
            "strip": "",
            "toolbench_key": self.toolbench_key,
        }

    def _call_api(self, api: dict[str, Any], arguments: str | dict) -> Observation:
        body = json.dumps(self.request_body(api, arguments)).encode()
        headers = {
            "accept": "application/json",
            "Content-Type": "application/json",
            "toolbench_key": self.toolbench_key,
        }
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                payload = reply.read()
        except TimeoutError:
            return Observation.of(ObservationCode.TIMEOUT, error="Timeout error...")
        except urllib.error.HTTPError as error:
            return Observation.of(
                ObservationCode.REQUEST_ERROR, error=f"request invalid, data error. status_code={error.code}"
            )
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                return Observation.of(ObservationCode.TIMEOUT, error="Timeout error...")
            return Observation.of(ObservationCode.REQUEST_ERROR, error=f"request error: {error.reason}")
        try:
            return Observation.from_server_reply(json.loads(payload))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Observation.of(ObservationCode.REQUEST_ERROR, error="request invalid, data error")
