"""hf-ext: recent research methods as drop-in parts for TRL, lm-eval and Optimum-style workflows.

The public API is imported lazily: ``import hf_ext`` loads no torch, TRL or lm-eval; each name below is
imported from its module on first access.

Example:
    >>> import hf_ext
    >>> hf_ext.get_trainer("dpo").name
    'dpo'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it.
_EXPORTS: dict[str, str] = {
    "register_trainer": "hf_ext.registry",
    "get_trainer": "hf_ext.registry",
    "list_trainers": "hf_ext.registry",
    "register_pruner": "hf_ext.registry",
    "get_pruner": "hf_ext.registry",
    "list_pruners": "hf_ext.registry",
    "list_tasks": "hf_ext.task_files",
    "tasks_path": "hf_ext.task_files",
    "generate_babilong": "hf_ext.evaluation.babilong",
    "solve_tau": "hf_ext.objectives.adaptive_scaling",
    "adaptive_preference_loss": "hf_ext.objectives.adaptive_scaling",
    "AdaptiveDPOConfig": "hf_ext.trainers.adaptive_dpo_config",
    "AdaptiveDPOTrainer": "hf_ext.trainers.adaptive_dpo_trainer",
    "AdaptiveRewardConfig": "hf_ext.trainers.adaptive_reward_config",
    "AdaptiveRewardTrainer": "hf_ext.trainers.adaptive_reward_trainer",
    "CVaRPPOConfig": "hf_ext.trainers.cvar_ppo_config",
    "CVaRPPOTrainer": "hf_ext.trainers.cvar_ppo_trainer",
    "CVaRGRPOConfig": "hf_ext.trainers.cvar_grpo_config",
    "CVaRGRPOTrainer": "hf_ext.trainers.cvar_grpo_trainer",
    "SlimGPTConfig": "hf_ext.pruning.slimgpt",
    "SlimGPTPruner": "hf_ext.pruning.slimgpt",
    "online_elo": "hf_ext.evaluation.elo",
    "permutation_elo": "hf_ext.evaluation.elo",
    "bradley_terry": "hf_ext.evaluation.elo",
    "check_reliability": "hf_ext.evaluation.elo",
    "check_transitivity": "hf_ext.evaluation.elo",
    "battles_from_lm_eval": "hf_ext.evaluation.elo",
    "TreePreferenceConfig": "hf_ext.trainers.tree_preference_config",
    "TreePreferenceTrainer": "hf_ext.trainers.tree_preference_trainer",
    "load_inference_trees": "hf_ext.data.tool_trees",
    "tree_preference_dataset": "hf_ext.data.tool_trees",
    "tree_sft_dataset": "hf_ext.data.tool_trees",
    "load_tool_preference": "hf_ext.data.tool_trees",
    "OfflineToolWorld": "hf_ext.agents.tools",
    "run_dfsdt": "hf_ext.agents.dfsdt",
    "evaluate_tool_agent": "hf_ext.agents.evaluate",
    "HFExtError": "hf_ext.errors",
    "run_stream": "hf_ext.evaluation.streambench",
    "HVFAConfig": "hf_ext.multimodal.hvfa.configuration",
    "HVFAForConditionalGeneration": "hf_ext.multimodal.hvfa.modeling",
    "HVFAProcessor": "hf_ext.multimodal.hvfa.processing",
    "HVFASFTConfig": "hf_ext.trainers.hvfa_sft_config",
    "HVFASFTTrainer": "hf_ext.trainers.hvfa_sft_trainer",
    "render_page": "hf_ext.multimodal.documents.renderer",
    "rtpp_map": "hf_ext.multimodal.documents.rtpp",
    "anls": "hf_ext.evaluation.anls",
}

__all__ = sorted(_EXPORTS)

# Pruned models (model_type "hfx_slim_*") load with AutoModelForCausalLM once transformers' Auto classes load.
from hf_ext.pruning.auto_registration import register_when_transformers_loads  # noqa: E402

register_when_transformers_loads()


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'hf_ext' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
