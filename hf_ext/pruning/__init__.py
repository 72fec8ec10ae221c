"""Optimum-style structured pruners. Each registers itself here by name (see :mod:`hf_ext.registry`)."""

from hf_ext.registry import register_pruner

register_pruner(
    "slimgpt",
    "hf_ext.pruning.slimgpt:SlimGPTPruner",
    "hf_ext.pruning.slimgpt:SlimGPTConfig",
    description="SlimGPT: layer-wise structured pruning of heads and FFN channels with OBS compensation",
)
register_pruner(
    "magnitude-sp",
    "hf_ext.pruning.baselines:MagnitudeSPPruner",
    "hf_ext.pruning.baselines:MagnitudeSPConfig",
    description="baseline: structured pruning of heads and FFN channels by weight norm",
)
register_pruner(
    "wanda-sp",
    "hf_ext.pruning.baselines:WandaSPPruner",
    "hf_ext.pruning.baselines:WandaSPConfig",
    description="baseline: structured pruning of heads and FFN channels by |W|*||X|| (Wanda-sp)",
)
