"""Configs of structurally pruned models: the source architecture's config plus per-layer sizes.

A pruned Llama/Mistral/Qwen2/Qwen3 keeps its architecture's config class and fields; the sizes that differ per
layer (``num_attention_heads``, ``num_key_value_heads``, ``intermediate_size``) live in transformers'
``per_layer_config``. Each class only changes ``model_type`` (``"hfx_slim_<source type>"``), so the Auto
classes can tell a pruned folder from a dense one, and allows reading the global (source) value of a per-layer
attribute, which code written for homogeneous models (PEFT, TRL, lm-eval) does.

This file imports only transformers: with ``remote_code=True`` it is copied beside a pruned model so that
plain transformers can load it with ``trust_remote_code=True``.

Example:
    >>> from hf_ext.pruning.configuration_hfx_slim import SlimLlamaConfig
    >>> config = SlimLlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
    ...                          per_layer_config={1: {"num_attention_heads": 2, "num_key_value_heads": 2}})
    >>> config.per_layer_config[1].num_attention_heads, config.per_layer_config[0].num_attention_heads
    (2, 4)
"""

from transformers import LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config


class _SlimConfigMixin:
    """Allows global reads of per-layer attributes (they give the source model's value); pins ``head_dim``.

    ``head_dim`` must be global: a layer with fewer heads keeps the source head size, while architectures
    that derive it as ``hidden_size // num_attention_heads`` would compute it from the layer's head count.
    """

    def __post_init__(self, **kwargs):
        self.allow_global_per_layer_attribute_access = True
        if getattr(self, "head_dim", None) is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        super().__post_init__(**kwargs)


class SlimLlamaConfig(_SlimConfigMixin, LlamaConfig):
    model_type = "hfx_slim_llama"


class SlimMistralConfig(_SlimConfigMixin, MistralConfig):
    model_type = "hfx_slim_mistral"


class SlimQwen2Config(_SlimConfigMixin, Qwen2Config):
    model_type = "hfx_slim_qwen2"


class SlimQwen3Config(_SlimConfigMixin, Qwen3Config):
    model_type = "hfx_slim_qwen3"


# Source model_type -> the config class of its pruned form.
SLIM_CONFIG_CLASSES = {
    "llama": SlimLlamaConfig,
    "mistral": SlimMistralConfig,
    "qwen2": SlimQwen2Config,
    "qwen3": SlimQwen3Config,
}
