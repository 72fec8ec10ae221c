"""SlimGPT (Ling et al., NeurIPS 2024): layer-wise structured pruning with OBS compensation.

Modules: :mod:`.obs` (OBS math), :mod:`.search` (batched greedy heads, Dynamic Group Size channels),
:mod:`.schedules` (Incremental Pruning Ratio), :mod:`.layers` (module surgery), :mod:`.saving` (loadable
output, model card), :mod:`.config` and :mod:`.pruner`.

Example:
    >>> from hf_ext.pruning.slimgpt import SlimGPTConfig
    >>> SlimGPTConfig(sparsity=0.5, schedule="uniform").sparsity
    0.5
"""

from hf_ext.pruning.auto_registration import register_when_transformers_loads
from hf_ext.pruning.slimgpt.config import SlimGPTConfig
from hf_ext.pruning.slimgpt.pruner import SlimGPTPruner

__all__ = ["SlimGPTConfig", "SlimGPTPruner"]

register_when_transformers_loads()  # in case importing this package was what loaded the Auto classes
