"""TRL's GRPO trained on the lower CVaR tail of each generation batch (RA-RLHF's soft-risk schedule).

Two thin overrides of TRL 1.16 hooks, nothing copied: ``_calculate_rewards`` keeps the rewards TRL gathered
from all processes, and ``_generate_and_score_completions`` applies the tail mask (from
:func:`hf_ext.objectives.cvar_mask` at :func:`hf_ext.objectives.soft_risk_level`) to the completion mask
and the advantages, the way TRL itself drops truncated completions. The tail is a set of whole prompt groups
(ranked by mean reward), so the kept group-relative advantages stay centred; see
:class:`~hf_ext.trainers.cvar_grpo_config.CVaRGRPOConfig`. Everything else is GRPO.

Example:
    >>> from hf_ext.testing import prompt_dataset, tiny_causal_lm
    >>> from hf_ext.trainers.cvar_grpo_config import CVaRGRPOConfig
    >>> from hf_ext.trainers.cvar_grpo_trainer import CVaRGRPOTrainer
    >>> model, tokenizer = tiny_causal_lm("llama")
    >>> def short(completions, **kwargs):
    ...     return [-len(c) / 10 for c in completions]
    >>> args = CVaRGRPOConfig(output_dir="/tmp/cvar-grpo-doc", alpha=0.5, max_steps=2, num_generations=4,
    ...                       per_device_train_batch_size=4, max_completion_length=8, report_to="none",
    ...                       use_cpu=True, bf16=False, disable_tqdm=True, logging_strategy="no")
    >>> trainer = CVaRGRPOTrainer(model=model, reward_funcs=short, args=args, processing_class=tokenizer,
    ...                           train_dataset=prompt_dataset(8))
    >>> _ = trainer.train()  # doctest: +ELLIPSIS
    {'train_runtime': ...}
    >>> trainer.state.global_step
    2
"""

from __future__ import annotations

from typing import Any

import torch
from trl import GRPOTrainer

from hf_ext.objectives.risk import cvar_mask, value_at_risk
from hf_ext.trainers.cvar_grpo_config import CVaRGRPOConfig
from hf_ext.trainers.cvar_ppo_trainer import PAPER
from hf_ext.trainers.risk_schedule import SoftRiskScheduleMixin
from hf_ext.trainers.safe_saving import PickleFreeTrainerMixin


class CVaRGRPOTrainer(SoftRiskScheduleMixin, PickleFreeTrainerMixin, GRPOTrainer):
    """:class:`trl.GRPOTrainer` whose loss covers only the completions in the CVaR tail of the rewards."""

    _tag_names = ["trl", "grpo", "cvar", "risk-averse", "hf-ext"]
    _name = "CVaR-GRPO"
    _paper = PAPER

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, CVaRGRPOConfig):
            raise TypeError(f"args must be a CVaRGRPOConfig, got {type(self.args).__name__}")
        self._gathered_rewards: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._gathered_rewards = rewards_per_func
        return rewards_per_func

    def tail_mask(self, rewards_per_func: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float, float]:
        """(weighted rewards of the whole gathered batch, its tail mask, the level, the VaR threshold).

        Rows are grouped by ``num_generations`` as TRL groups them; groups are ranked by their mean reward
        over scorable rows (a row is unscorable when every function returned None), and the lowest ``level``
        fraction of groups is kept whole, unscorable rows excepted. A group with no scorable row ranks last.
        The VaR threshold is the largest kept group mean."""
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        rewards = (rewards_per_func * weights).nansum(dim=1)
        unscorable = torch.isnan(rewards_per_func).all(dim=1)
        group_size = self.num_generations if self.model.training else self.num_generations_eval
        group_means = torch.nanmean(rewards.masked_fill(unscorable, float("nan")).view(-1, group_size), dim=1)
        level = self.risk_level()
        keep_groups = cvar_mask(
            group_means.nan_to_num(nan=float("inf")), level, gather=False, ties=self.args.tail_ties
        )
        keep = keep_groups.repeat_interleave(group_size) & ~unscorable
        return rewards, keep, level, value_at_risk(group_means, keep_groups)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        if self._gathered_rewards is None:
            return output
        rewards, keep, level, var_threshold = self.tail_mask(self._gathered_rewards)
        self._gathered_rewards = None
        local = output["completion_mask"].shape[0]
        start = self.accelerator.process_index * local
        keep_local = keep[start : start + local]
        output["completion_mask"] = output["completion_mask"] * keep_local.unsqueeze(1).to(
            output["completion_mask"].dtype
        )
        output["advantages"] = output["advantages"] * keep_local.to(output["advantages"].dtype).view(
            -1, *([1] * (output["advantages"].dim() - 1))
        )
        loss_mask = output["completion_mask"]
        if "tool_mask" in output:
            loss_mask = loss_mask * output["tool_mask"]
        output["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        mode = "train" if self.model.training else "eval"
        metrics = self._metrics[mode]
        metrics["risk/level"].append(level)
        metrics["risk/kept_fraction"].append(keep.float().mean().item())
        metrics["risk/var_threshold"].append(var_threshold)
        kept_advantages = output["advantages"][keep_local]
        metrics["risk/kept_advantage_mean"].append(
            kept_advantages.mean().item() if kept_advantages.numel() else float("nan")
        )
        metrics["reward/cvar"].append(rewards[keep].mean().item() if keep.any() else float("nan"))
        return output
