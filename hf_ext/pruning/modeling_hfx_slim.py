"""Causal LMs whose decoder layer i is built from ``config.per_layer_config[i]`` (pruned heads and FFN width).

transformers' ``LlamaForCausalLM`` and friends build every layer from the global config; these subclasses
rebuild the decoder layers with each layer's own config after the parent constructor, so a structurally pruned
model has tensors of its real (smaller) shapes. Forward, ``generate`` with a KV cache (the cache reads
per-layer KV heads from ``per_layer_config``), save/load, PEFT and TRL work as for the source architecture.

This file imports only torch and transformers: with ``remote_code=True`` it is copied beside a pruned model
(with ``configuration_hfx_slim.py``) so that plain transformers loads it with ``trust_remote_code=True``. With
hf-ext installed, ``import hf_ext`` registers the classes with the Auto classes, and no remote code is needed.

Example:
    >>> from hf_ext.pruning.configuration_hfx_slim import SlimLlamaConfig
    >>> from hf_ext.pruning.modeling_hfx_slim import SlimLlamaForCausalLM
    >>> config = SlimLlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
    ...                          num_attention_heads=4, per_layer_config={1: {"intermediate_size": 32}})
    >>> model = SlimLlamaForCausalLM(config)
    >>> model.model.layers[1].mlp.down_proj.in_features, model.model.layers[0].mlp.down_proj.in_features
    (32, 96)
"""

from torch import nn
from transformers import LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM
from transformers.models.llama.modeling_llama import LlamaDecoderLayer
from transformers.models.mistral.modeling_mistral import MistralDecoderLayer
from transformers.models.qwen2.modeling_qwen2 import Qwen2DecoderLayer
from transformers.models.qwen3.modeling_qwen3 import Qwen3DecoderLayer

from .configuration_hfx_slim import SlimLlamaConfig, SlimMistralConfig, SlimQwen2Config, SlimQwen3Config


class _PerLayerDecoderMixin:
    """Rebuilds ``self.model.layers`` from the per-layer configs when the config is heterogeneous."""

    decoder_layer_class: type[nn.Module]

    def __init__(self, config):
        super().__init__(config)
        if config.is_heterogeneous:
            self.model.layers = nn.ModuleList(
                self.decoder_layer_class(config.per_layer_config[index], index)
                for index in range(config.num_hidden_layers)
            )
            self.post_init()


class SlimLlamaForCausalLM(_PerLayerDecoderMixin, LlamaForCausalLM):
    config_class = SlimLlamaConfig
    config: SlimLlamaConfig
    decoder_layer_class = LlamaDecoderLayer


class SlimMistralForCausalLM(_PerLayerDecoderMixin, MistralForCausalLM):
    config_class = SlimMistralConfig
    config: SlimMistralConfig
    decoder_layer_class = MistralDecoderLayer


class SlimQwen2ForCausalLM(_PerLayerDecoderMixin, Qwen2ForCausalLM):
    config_class = SlimQwen2Config
    config: SlimQwen2Config
    decoder_layer_class = Qwen2DecoderLayer


class SlimQwen3ForCausalLM(_PerLayerDecoderMixin, Qwen3ForCausalLM):
    config_class = SlimQwen3Config
    config: SlimQwen3Config
    decoder_layer_class = Qwen3DecoderLayer


# Slim config class -> its causal LM class.
SLIM_MODEL_CLASSES = {
    SlimLlamaConfig: SlimLlamaForCausalLM,
    SlimMistralConfig: SlimMistralForCausalLM,
    SlimQwen2Config: SlimQwen2ForCausalLM,
    SlimQwen3Config: SlimQwen3ForCausalLM,
}
