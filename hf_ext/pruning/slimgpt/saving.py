"""Turn a pruned model into its loadable per-layer form, save it, and write its model card.

The saved folder holds a standard config of the source architecture with ``model_type``
``hfx_slim_<type>`` and the per-layer sizes in ``per_layer_config``; ``model.safetensors``; the tokenizer;
``slimgpt_config.json`` (the run's settings, per-layer sizes, parameter counts, perplexities); ``README.md``
(the model card). ``import hf_ext`` registers the ``hfx_slim_*`` classes, so hf-ext users load it with no
remote code, and plain ``AutoTokenizer`` loads its tokenizer without hf-ext and without a remote-code prompt.
With ``remote_code=True`` the folder also holds ``configuration_hfx_slim.py`` + ``modeling_hfx_slim.py`` and
an ``auto_map``, so people without hf-ext load the model with ``trust_remote_code=True``; transformers then
asks about remote code for the tokenizer too (``AutoTokenizer`` reads the config first), so they pass it there
as well.

Example:
    >>> from hf_ext.pruning.slimgpt.saving import check_save_dir
    >>> check_save_dir("/models/llama", "/models/llama")
    Traceback (most recent call last):
    ...
    hf_ext.errors.HFExtError: save_dir /models/llama is the source model's folder (or inside it); choose ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from hf_ext.errors import HFExtError
from hf_ext.pruning.configuration_hfx_slim import SLIM_CONFIG_CLASSES
from hf_ext.pruning.modeling_hfx_slim import SLIM_MODEL_CLASSES
from hf_ext.pruning.slimgpt.layers import source_model_type

PAPER = "SlimGPT: Layer-wise Structured Pruning for Large Language Models (Ling et al., NeurIPS 2024)"
PAPER_URL = "https://arxiv.org/abs/2412.18110"


def check_save_dir(save_dir: str | Path, source_dir: str | Path | None) -> Path:
    """``save_dir`` as a Path; an :class:`~hf_ext.errors.HFExtError` if it is the source folder or inside it
    (or holds it)."""
    save_path = Path(save_dir).expanduser().resolve()
    if source_dir is not None:
        source_path = Path(source_dir).expanduser().resolve()
        if save_path.is_relative_to(source_path) or source_path.is_relative_to(save_path):
            raise HFExtError(
                f"save_dir {save_dir} is the source model's folder (or inside it); choose another folder"
            )
    return save_path


def slim_config(config, sizes: list[dict[str, int]]):
    """The ``hfx_slim_*`` config: the source config's fields plus ``per_layer_config`` from ``sizes``."""
    values = config.to_dict()
    for key in ("model_type", "architectures", "auto_map", "per_layer_config", "transformers_version"):
        values.pop(key, None)
    values["per_layer_config"] = {index: dict(layer) for index, layer in enumerate(sizes)}
    return SLIM_CONFIG_CLASSES[source_model_type(config)](**values)


@torch.no_grad()
def to_slim_model(model, sizes: list[dict[str, int]]):
    """A ``Slim*ForCausalLM`` that shares ``model``'s (already shrunk) tensors; no weights are copied."""
    config = slim_config(model.config, sizes)
    model_class = SLIM_MODEL_CLASSES[type(config)]
    with torch.device("meta"):
        slim = model_class(config)
    slim.load_state_dict(model.state_dict(), strict=True, assign=True)
    source_buffers = dict(model.named_buffers())
    for name, _ in list(
        slim.named_buffers()
    ):  # non-persistent buffers (rotary inv_freq) are not in state_dict
        module_name, _, buffer_name = name.rpartition(".")
        slim.get_submodule(module_name).register_buffer(buffer_name, source_buffers[name], persistent=False)
    if getattr(config, "tie_word_embeddings", False):
        slim.lm_head.weight = slim.model.embed_tokens.weight
    slim.generation_config = model.generation_config
    slim.name_or_path = model.name_or_path
    return slim.eval()


def save_slim_model(slim, save_dir: Path, tokenizer=None, remote_code: bool = False) -> None:
    """``save_pretrained`` (safetensors) and the tokenizer; with ``remote_code``, also the modeling files and
    an ``auto_map`` for people who load it with ``trust_remote_code=True`` and without hf-ext."""
    config_class, model_class = type(slim.config), type(slim)
    previous = config_class._auto_class, model_class._auto_class
    config_class._auto_class = "AutoConfig" if remote_code else None
    model_class._auto_class = "AutoModelForCausalLM" if remote_code else None
    if not remote_code:
        vars(slim.config).pop("auto_map", None)  # left by an earlier save with remote_code
    try:
        slim.save_pretrained(save_dir, safe_serialization=True)
    finally:
        config_class._auto_class, model_class._auto_class = previous
    if tokenizer is not None:
        tokenizer.save_pretrained(save_dir)


def model_card(summary: dict[str, Any], base_model: str | None, remote_code: bool = False) -> str:
    """The README.md of a pruned model: method, paper, config, per-layer sizes, parameters, perplexity."""
    method = summary["method"]
    header = ["---", "library_name: transformers", "tags:", "- hf-ext", f"- {method}", "- structured-pruning"]
    if base_model and not Path(base_model).exists():
        header.append(f"base_model: {base_model}")
    header.append("---")
    params_before, params_after = summary["parameters_before"], summary["parameters_after"]
    lines = [
        *header,
        "",
        f"# {Path(base_model).name if base_model else 'model'} pruned with {method}",
        "",
        f"Structurally pruned with hf-ext's `{method}` pruner ({PAPER}, {PAPER_URL}).",
        "Load with `AutoModelForCausalLM.from_pretrained(path)` after `import hf_ext` (`pip install hf-ext`)"
        + (
            ", or without hf-ext with `trust_remote_code=True` (for the tokenizer too)."
            if remote_code
            else "; the tokenizer loads with plain `AutoTokenizer`."
        ),
        "",
        f"- parameters: {params_before:,} → {params_after:,} ({1 - params_after / params_before:.1%} fewer)",
        f"- decoder parameters removed: {summary['achieved_sparsity']:.1%} "
        f"(target {summary['config']['sparsity']:.1%})",
    ]
    perplexity = summary.get("perplexity")
    if perplexity:
        lines.append(
            f"- perplexity ({perplexity['texts']}): {perplexity['before']:.2f} dense → "
            f"{perplexity['after']:.2f} pruned"
        )
    else:
        lines.append("- perplexity: not measured")
    lines += [
        "",
        "## Per-layer sizes",
        "",
        "| layer | ratio | heads | KV heads | FFN width |",
        "|---|---|---|---|---|",
    ]
    for index, (layer, ratio) in enumerate(zip(summary["layer_sizes"], summary["layer_ratios"])):
        lines.append(
            f"| {index} | {ratio:.3f} | {layer['num_attention_heads']} | {layer['num_key_value_heads']} | "
            f"{layer['intermediate_size']} |"
        )
    lines += ["", "## Pruning config", "", "```json", json.dumps(summary["config"], indent=2), "```", ""]
    return "\n".join(lines)
