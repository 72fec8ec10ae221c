"""``CachedToolEnvironment``: answers from a StableToolBench response cache, never from the network.

StableToolBench's server keeps real (and simulated) responses in
``tool_response_cache/<Category>/<tool>_for_<Category>/<api>.json``: one JSON object per API, keyed by
``str(parsed tool input)`` (the Python ``repr`` of the argument dict), each value ``{"error": ...,
"response": ...}``. This backend reads that layout. A miss is an observation with code 12 and an error
saying so (and is counted in ``misses``); nothing is ever fetched or simulated.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from hf_ext.agents.tools import CachedToolEnvironment
    >>> root = Path(tempfile.mkdtemp())
    >>> folder = root / "Data" / "seo_api_for_Data"
    >>> folder.mkdir(parents=True)
    >>> _ = (folder / "search.json").write_text(json.dumps({"{'q': 'tea'}": {"error": "", "response": "ok"}}))
    >>> env = CachedToolEnvironment(root)
    >>> api = {"category_name": "Data", "tool_name": "SEO API", "api_name": "search"}
    >>> _ = env.reset({"api_list": [api], "query": "tea?", "query_id": 1})
    >>> env.call("search_for_seo_api", '{"q": "tea"}').code, env.call("search_for_seo_api", '{"q": "x"}').code
    (0, 12)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
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


def cache_file(root: str | Path, category: str, tool_name: str, api_name: str) -> Path:
    """Where StableToolBench keeps the responses of one API under ``root``."""
    category_dir = standard_category(category)
    api = api_function_name(tool_name, api_name).removesuffix(f"_for_{standardize(tool_name)}")
    return Path(root) / category_dir / f"{standardize(tool_name)}_for_{category_dir}" / f"{api}.json"


def cache_key(arguments: str | dict) -> str | None:
    """The key StableToolBench files a call under: ``str`` of the parsed input (``{}`` for empty input)."""
    if isinstance(arguments, dict):
        return str(arguments)
    if not str(arguments).strip():
        return str({})
    try:
        return str(json.loads(arguments))
    except json.JSONDecodeError:
        return None


@dataclass
class CachedToolEnvironment(ToolEnvironment):
    """Replays ``cache_dir`` (StableToolBench's ``tool_response_cache``); see the module docstring."""

    cache_dir: str | Path = "tool_response_cache"
    misses: int = field(default=0, init=False)
    _files: dict[Path, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        if not self.cache_dir.is_dir():
            raise HFExtError(f"cache_dir {self.cache_dir} is not a folder (expected tool_response_cache/)")

    def _load(self, path: Path) -> dict[str, Any]:
        if path not in self._files:
            try:
                records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            except json.JSONDecodeError as error:
                raise HFExtError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
            if not isinstance(records, dict):
                raise HFExtError(
                    f"{path}: expected an object keyed by tool input, got {type(records).__name__}"
                )
            self._files[path] = records
        return self._files[path]

    def _call_api(self, api: dict[str, Any], arguments: str | dict) -> Observation:
        key = cache_key(arguments)
        if key is None:
            return Observation.of(ObservationCode.REQUEST_ERROR, error="Tool input parse error...")
        path = cache_file(self.cache_dir, api.get("category_name", ""), api["tool_name"], api["api_name"])
        records = self._load(path)
        if key not in records:
            self.misses += 1
            return Observation.of(
                ObservationCode.REQUEST_ERROR,
                error=f"cache miss: no recorded response for {key} in {path.name}",
            )
        return Observation.from_server_reply(records[key])
