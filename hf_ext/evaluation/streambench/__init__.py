"""StreamBench (Wu et al., NeurIPS 2024 D&B): agents that learn from a stream of inputs and feedback.

Parts: :mod:`~.benches` (prompts and scoring per dataset family), :mod:`~.checkers`, :mod:`~.agents` (all
baselines and Self-/MAM-StreamICL), :mod:`~.bandit` (Thompson sampling over answering models),
:mod:`~.memory` and :mod:`~.retrieval`, :mod:`~.protocol` (the stream
loop, logs and resume), :mod:`~.offline` (streams built by the package), :mod:`~.hub` (the official data),
:mod:`~.lm_eval_model` (the ``hfx-stream`` lm-eval model), :mod:`~.plots` and :mod:`~.generation`.

Example:
    >>> from hf_ext.evaluation.streambench import make_agent, offline_docs, run_stream
    >>> docs = offline_docs("multihop", n=5)
    >>> run_stream(docs, make_agent("gt", [lambda p, n: ""]), progress=False).accuracy
    1.0
"""

from hf_ext.evaluation.streambench.agents import AGENTS, AgentConfig, Feedback, make_agent
from hf_ext.evaluation.streambench.benches import BENCHES, Settings, bench_of, get_bench
from hf_ext.evaluation.streambench.offline import OFFLINE_STREAMS, offline_docs
from hf_ext.evaluation.streambench.protocol import PAPER_SEEDS, rolling_accuracy, run_stream, stream_order

__all__ = [
    "AGENTS",
    "BENCHES",
    "OFFLINE_STREAMS",
    "PAPER_SEEDS",
    "AgentConfig",
    "Feedback",
    "Settings",
    "bench_of",
    "get_bench",
    "make_agent",
    "offline_docs",
    "rolling_accuracy",
    "run_stream",
    "stream_order",
]
