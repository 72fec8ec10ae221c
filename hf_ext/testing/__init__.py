"""Offline building blocks for tests, recipes and the quickstart: tiny models, a trained reference LM, data.

Nothing here touches the network. Everything is deterministic given its seed.

Example:
    >>> from hf_ext.testing import tiny_causal_lm, preference_dataset
    >>> model, tokenizer = tiny_causal_lm("llama", num_hidden_layers=1)
    >>> model.config.num_hidden_layers
    1
"""

from hf_ext.testing.datasets import preference_dataset, prompt_dataset
from hf_ext.testing.models import TINY_ARCHITECTURES, save_tiny_causal_lm, tiny_causal_lm, tiny_config
from hf_ext.testing.names import PREFIX, resolve_model_name, testing_dataset
from hf_ext.testing.reference import reference_lm, reference_lm_info, reference_lm_path, reference_texts
from hf_ext.testing.tokenizer import tiny_tokenizer

__all__ = [
    "PREFIX",
    "TINY_ARCHITECTURES",
    "preference_dataset",
    "prompt_dataset",
    "reference_lm",
    "reference_lm_info",
    "reference_lm_path",
    "reference_texts",
    "resolve_model_name",
    "save_tiny_causal_lm",
    "testing_dataset",
    "tiny_causal_lm",
    "tiny_config",
    "tiny_tokenizer",
]
