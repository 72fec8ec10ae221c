"""Decoder-layer surgery for q/k/v/o + gate/up/down layouts: shapes, input Hessians, removing heads/channels.

A *unit* of attention is what can be removed while the layer stays a valid attention layer: one head for
multi-head attention, a whole KV group (a KV head and the query heads that read it) for grouped-query
attention.
Transformers maps query head ``j`` to KV head ``j // group_size``, so KV group ``g`` owns query heads
``g·s … g·s + s − 1`` and the contiguous ``o_proj`` input columns of those heads.

Example:
    >>> from hf_ext.testing import tiny_causal_lm
    >>> from hf_ext.pruning.slimgpt.layers import attention_units, check_supported
    >>> model, _ = tiny_causal_lm("qwen2")
    >>> layers = check_supported(model)
    >>> attention_units(layers[0])   # (units, query heads per unit, head_dim)
    (2, 2, 16)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from hf_ext.pruning.configuration_hfx_slim import SLIM_CONFIG_CLASSES
from hf_ext.pruning.slimgpt.schedules import LayerShape

ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")


def source_model_type(config) -> str:
    """The dense architecture of a model (``"llama"`` also for an already pruned ``"hfx_slim_llama"``)."""
    return config.model_type.removeprefix("hfx_slim_")


def check_supported(model) -> nn.ModuleList:
    """The decoder layers of a supported model; a ``ValueError`` naming what is missing otherwise."""
    model_type = source_model_type(model.config)
    supported = ", ".join(sorted(SLIM_CONFIG_CLASSES))
    layers = getattr(getattr(model, "model", None), "layers", None)
    if model_type not in SLIM_CONFIG_CLASSES or layers is None:
        raise ValueError(
            f"unsupported architecture {model.config.model_type!r}: SlimGPT supports {supported} (decoder "
            "layers with self_attn.q/k/v/o_proj and mlp.gate/up/down_proj)"
        )
    for index, layer in enumerate(layers):
        for parent, names in (("self_attn", ATTENTION_PROJECTIONS), ("mlp", MLP_PROJECTIONS)):
            for name in names:
                if not isinstance(getattr(getattr(layer, parent, None), name, None), nn.Linear):
                    raise ValueError(
                        f"unsupported architecture {model.config.model_type!r}: layer {index} has no "
                        f"{parent}.{name} linear layer (SlimGPT supports {supported})"
                    )
    return layers


def attention_units(layer: nn.Module) -> tuple[int, int, int]:
    """``(number of units, query heads per unit, head_dim)`` of a decoder layer."""
    attention = layer.self_attn
    head_dim = attention.head_dim
    num_query_heads = attention.q_proj.out_features // head_dim
    num_kv_heads = attention.k_proj.out_features // head_dim
    return num_kv_heads, num_query_heads // num_kv_heads, head_dim


def _parameter_count(linears: Iterable[nn.Linear]) -> int:
    return sum(
        linear.weight.numel() + (linear.bias.numel() if linear.bias is not None else 0) for linear in linears
    )


def layer_shape(layer: nn.Module, min_heads_per_layer: int) -> LayerShape:
    """What :func:`~hf_ext.pruning.slimgpt.schedules.plan_model` needs to know about a layer."""
    attention, mlp = layer.self_attn, layer.mlp
    num_units, heads_per_unit, _ = attention_units(layer)
    query_key_value = [attention.q_proj, attention.k_proj, attention.v_proj]
    params_per_unit = (_parameter_count(query_key_value) + attention.o_proj.weight.numel()) // num_units
    num_channels = mlp.down_proj.in_features
    params_per_channel = (
        _parameter_count([mlp.gate_proj, mlp.up_proj]) + mlp.down_proj.weight.numel()
    ) // num_channels
    return LayerShape(
        num_units=num_units,
        params_per_unit=params_per_unit,
        min_units=min(num_units, math.ceil(min_heads_per_layer / heads_per_unit)),
        num_channels=num_channels,
        params_per_channel=params_per_channel,
        total_params=sum(p.numel() for p in layer.parameters()),
    )


def layer_sizes(layer: nn.Module) -> dict[str, int]:
    """The layer's ``per_layer_config`` entry: heads, KV heads and FFN width."""
    num_units, heads_per_unit, _ = attention_units(layer)
    return {
        "num_attention_heads": num_units * heads_per_unit,
        "num_key_value_heads": num_units,
        "intermediate_size": layer.mlp.down_proj.in_features,
    }


@torch.no_grad()
def input_hessian(
    linear: nn.Linear, run_layer: Callable[[], None], dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``H = 2 X Xᵀ / N`` of the inputs ``linear`` sees while ``run_layer()`` runs (float32 accumulation)."""
    total = torch.zeros(linear.in_features, linear.in_features, dtype=dtype, device=linear.weight.device)
    count = 0

    def accumulate(module, args):
        nonlocal count
        inputs = args[0].reshape(-1, args[0].shape[-1]).to(dtype)
        total.addmm_(inputs.T, inputs)
        count += inputs.shape[0]

    handle = linear.register_forward_pre_hook(accumulate)
    try:
        run_layer()
    finally:
        handle.remove()
    return total.mul_(2.0 / max(count, 1))


def _shrunk_linear(linear: nn.Linear, rows: torch.Tensor | None, columns: torch.Tensor | None, weight=None):
    """A new ``nn.Linear`` keeping ``rows`` (outputs) and ``columns`` (inputs) of ``weight`` (or its own)."""
    weight = linear.weight if weight is None else weight
    if rows is not None:
        weight = weight[rows]
    if columns is not None:
        weight = weight[:, columns]
    bias = linear.bias
    if bias is not None and rows is not None:
        bias = bias[rows]
    shrunk = nn.Linear(
        weight.shape[1],
        weight.shape[0],
        bias=bias is not None,
        device=linear.weight.device,
        dtype=linear.weight.dtype,
    )
    with torch.no_grad():
        shrunk.weight.copy_(weight)
        if bias is not None:
            shrunk.bias.copy_(bias)
    shrunk.weight.requires_grad_(linear.weight.requires_grad)
    return shrunk


def _head_indices(heads: list[int], head_dim: int, device) -> torch.Tensor:
    return torch.tensor(
        [head * head_dim + offset for head in heads for offset in range(head_dim)],
        dtype=torch.long,
        device=device,
    )


def remove_attention_units(layer: nn.Module, removed_units: list[int], o_proj_weight: torch.Tensor) -> None:
    """Drop the removed units' q/k/v rows and o_proj columns; ``o_proj_weight`` is the compensated weight."""
    attention = layer.self_attn
    num_units, heads_per_unit, head_dim = attention_units(layer)
    kept_units = [unit for unit in range(num_units) if unit not in set(removed_units)]
    kept_heads = [unit * heads_per_unit + offset for unit in kept_units for offset in range(heads_per_unit)]
    device = attention.q_proj.weight.device
    query_rows = _head_indices(kept_heads, head_dim, device)
    key_value_rows = _head_indices(kept_units, head_dim, device)
    new_o_weight = o_proj_weight.to(attention.o_proj.weight.dtype)
    attention.q_proj = _shrunk_linear(attention.q_proj, query_rows, None)
    attention.k_proj = _shrunk_linear(attention.k_proj, key_value_rows, None)
    attention.v_proj = _shrunk_linear(attention.v_proj, key_value_rows, None)
    attention.o_proj = _shrunk_linear(attention.o_proj, None, query_rows, weight=new_o_weight)


def remove_mlp_channels(
    layer: nn.Module, removed_channels: list[int], down_proj_weight: torch.Tensor
) -> None:
    """Drop the removed channels' gate/up rows and down_proj columns; ``down_proj_weight`` is compensated."""
    mlp = layer.mlp
    removed = set(removed_channels)
    kept = torch.tensor(
        [c for c in range(mlp.down_proj.in_features) if c not in removed],
        dtype=torch.long,
        device=mlp.down_proj.weight.device,
    )
    mlp.gate_proj = _shrunk_linear(mlp.gate_proj, kept, None)
    mlp.up_proj = _shrunk_linear(mlp.up_proj, kept, None)
    mlp.down_proj = _shrunk_linear(
        mlp.down_proj, None, kept, weight=down_proj_weight.to(mlp.down_proj.weight.dtype)
    )


def resize_layer(layer: nn.Module, sizes: dict[str, int]) -> None:
    """Give a layer the module shapes of ``sizes`` (its weights are then overwritten from a checkpoint)."""
    num_units, heads_per_unit, head_dim = attention_units(layer)
    remove_attention_units(
        layer, list(range(sizes["num_key_value_heads"], num_units)), layer.self_attn.o_proj.weight
    )
    channels = layer.mlp.down_proj.in_features
    remove_mlp_channels(layer, list(range(sizes["intermediate_size"], channels)), layer.mlp.down_proj.weight)
