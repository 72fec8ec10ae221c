"""Tool environments for agents: one interface, three backends.

- :class:`ToolEnvironment` (``reset(query) -> functions``, ``call(name, arguments) -> Observation``) and
  ToolBench's observation codes (:class:`ObservationCode`);
- :class:`OfflineToolWorld`: deterministic APIs over data shipped in the package, seeded faults, queries with
  gold answers;
- :class:`CachedToolEnvironment`: StableToolBench's ``tool_response_cache`` layout, never the network;
- :class:`HTTPToolEnvironment`: a running StableToolBench server;
- :mod:`hf_ext.agents.tools.stream`: the offline world's single-call requests as a StreamBench stream.

Example:
    >>> from hf_ext.agents.tools import OfflineToolWorld
    >>> world = OfflineToolWorld()
    >>> query = world.generate_queries(1, group="G1", seed=0)[0]
    >>> functions = world.reset(query)
    >>> functions[-1]["name"]
    'Finish'
"""

from hf_ext.agents.tools.base import (
    FINISH_FUNCTION,
    Observation,
    ObservationCode,
    ToolEnvironment,
    api_function_name,
    final_answer_of,
    standardize,
)
from hf_ext.agents.tools.cached import CachedToolEnvironment
from hf_ext.agents.tools.offline_world import APIS, OfflineToolWorld, check_answer
from hf_ext.agents.tools.remote import HTTPToolEnvironment

__all__ = [
    "APIS",
    "FINISH_FUNCTION",
    "CachedToolEnvironment",
    "HTTPToolEnvironment",
    "Observation",
    "ObservationCode",
    "OfflineToolWorld",
    "ToolEnvironment",
    "api_function_name",
    "check_answer",
    "final_answer_of",
    "standardize",
]
