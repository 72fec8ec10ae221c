"""Configuration of :class:`~hf_ext.trainers.cvar_ppo_trainer.CVaRPPOTrainer`: PPO for causal LMs,
risk-averse on request (RA-RLHF, Chaudhary et al. 2024, arXiv 2501.06911).

Example:
    >>> from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
    >>> config = CVaRPPOConfig(output_dir="/tmp/cvar-ppo-doc", alpha=0.4, risk_warmup_steps=30, max_steps=194)
    >>> config.alpha, config.risk_return, config.remove_unused_columns
    (0.4, 'shaped', False)
    >>> CVaRPPOConfig(output_dir="/tmp/cvar-ppo-doc", alpha=0.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be in (0, 1], got 0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from hf_ext.objectives.risk import KL_ESTIMATES, TAIL_TIES, validate_risk_arguments

RISK_RETURNS = ("shaped", "task")


@dataclass
class CVaRPPOConfig(TrainingArguments):
    r"""PPO and CVaR-PPO settings, on top of :class:`transformers.TrainingArguments`.

    One training step is one PPO iteration: ``per_device_train_batch_size * gradient_accumulation_steps``
    prompts per process are rolled out, scored and used for ``num_ppo_epochs`` passes of ``num_mini_batches``
    optimiser steps each. Forward and backward passes run ``per_device_train_batch_size`` rows at a time, so
    gradient accumulation bounds memory as usual. ``max_steps`` is the number of PPO iterations (the paper's
    M) and the length of the risk schedule.

    Parameters:
        alpha (`float`, defaults to 1.0): target CVaR level in (0, 1]: the fraction of the batch (lowest
            returns) trained on once the schedule is complete. 1.0 is plain PPO.
        risk_warmup_steps (`int`, defaults to 0): PPO iterations with the whole batch before the level falls.
        risk_reach_fraction (`float`, defaults to 0.95): the level reaches ``alpha`` at iteration
            ``ceil(risk_reach_fraction * max_steps)``; in (0, 1].
        risk_return (`str`, defaults to "shaped"): which return ranks episodes: ``"shaped"`` (the
            lambda-return of the KL-shaped reward at the first response token, as in the paper) or ``"task"``
            (the task reward alone).
        tail_ties (`str`, defaults to "exact_count"): ``"exact_count"`` keeps exactly ``max(1, ceil(level *
            B))`` episodes (ties at the threshold broken by position); ``"quantile"`` keeps each episode whose
            return is <= that quantile, as the official RA-RLHF code does (ties can enlarge the tail).
        kl_estimate (`str`, defaults to "kept_mean"): the KL the adaptive controller sees: ``"kept_mean"``,
            the mean sequence KL of the kept episodes; ``"official"``, their summed KL divided by the whole
            batch size, as the official code does (diluted by the kept fraction).
        num_ppo_epochs (`int`, defaults to 4): passes over each rollout.
        num_mini_batches (`int`, defaults to 1): optimiser steps per pass; must divide the rollout size.
        clip_range (`float`, defaults to 0.2): PPO ratio clipping epsilon, > 0.
        clip_range_value (`float`, defaults to 0.2): value clipping around the rollout values, > 0.
        vf_coef (`float`, defaults to 0.1): weight of the value loss, >= 0.
        gamma (`float`, defaults to 1.0), lam (`float`, defaults to 0.95): GAE discount and lambda, in [0, 1].
        whiten_advantages (`bool`, defaults to True): standardise advantages over the kept tokens.
        kl_coef (`float`, defaults to 0.2): initial KL penalty beta, >= 0.
        kl_target (`float` or None, defaults to 6.0): target sequence KL of the adaptive controller; None
            keeps beta fixed.
        kl_horizon (`float`, defaults to 10000): horizon of the adaptive controller (beta moves by
            ``clip(KL / target - 1, -0.2, 0.2) * batch / horizon`` per iteration).
        max_prompt_length (`int`, defaults to 64): prompts are cut to their last tokens beyond this.
        max_new_tokens (`int`, defaults to 24): response length limit.
        min_new_tokens (`int`, defaults to 0): EOS cannot end a response before this many tokens.
        temperature (`float`, defaults to 1.0), top_k (`int`, defaults to 0 = off), top_p (`float`,
            defaults to 1.0): sampling settings; log-probabilities are taken under the same temperature.
        reward_weights (`list[float]` or None): weights of the reward functions (default: all 1).
        trust_remote_code (`bool`, defaults to False): passed when loading reward models from a path.
    """

    alpha: float = field(default=1.0, metadata={"help": "Target CVaR level in (0, 1]; 1.0 is plain PPO."})
    risk_warmup_steps: int = field(
        default=0, metadata={"help": "Risk-neutral iterations before the level falls."}
    )
    risk_reach_fraction: float = field(
        default=0.95, metadata={"help": "The level reaches alpha at ceil(fraction * max_steps); in (0, 1]."}
    )
    risk_return: str = field(
        default="shaped", metadata={"help": "Return that ranks episodes: 'shaped' (KL-shaped) or 'task'."}
    )
    tail_ties: str = field(
        default="exact_count", metadata={"help": "'exact_count' (ceil(level * B) episodes) or 'quantile'."}
    )
    kl_estimate: str = field(
        default="kept_mean", metadata={"help": "KL for the controller: 'kept_mean' or 'official' (sum / B)."}
    )
    num_ppo_epochs: int = field(default=4, metadata={"help": "PPO passes over each rollout."})
    num_mini_batches: int = field(default=1, metadata={"help": "Optimiser steps per PPO pass."})
    clip_range: float = field(default=0.2, metadata={"help": "PPO ratio clipping epsilon."})
    clip_range_value: float = field(default=0.2, metadata={"help": "Value clipping range."})
    vf_coef: float = field(default=0.1, metadata={"help": "Value loss weight."})
    gamma: float = field(default=1.0, metadata={"help": "GAE discount."})
    lam: float = field(default=0.95, metadata={"help": "GAE lambda."})
    whiten_advantages: bool = field(
        default=True, metadata={"help": "Standardise advantages over kept tokens."}
    )
    kl_coef: float = field(default=0.2, metadata={"help": "Initial KL penalty coefficient beta."})
    kl_target: float | None = field(
        default=6.0, metadata={"help": "Adaptive KL target; None keeps beta fixed."}
    )
    kl_horizon: float = field(default=10000.0, metadata={"help": "Adaptive KL controller horizon."})
    max_prompt_length: int = field(default=64, metadata={"help": "Prompt tokens kept (the last ones)."})
    max_new_tokens: int = field(default=24, metadata={"help": "Maximum response tokens."})
    min_new_tokens: int = field(default=0, metadata={"help": "Minimum response tokens (EOS blocked before)."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    top_k: int = field(default=0, metadata={"help": "Top-k sampling (0 = off)."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling threshold."})
    reward_weights: list[float] | None = field(
        default=None, metadata={"help": "Weights of the reward functions."}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Trust remote code of reward models."})
    learning_rate: float = field(default=1.41e-5, metadata={"help": "AdamW learning rate (paper: 1.41e-5)."})
    logging_steps: float = field(default=1, metadata={"help": "Log every N PPO iterations."})
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Kept False: prompts and extra columns go to the reward functions."}
    )

    def __post_init__(self):
        validate_risk_arguments(self.alpha, self.risk_reach_fraction)
        checks = [
            ("risk_warmup_steps", self.risk_warmup_steps >= 0, ">= 0"),
            ("risk_return", self.risk_return in RISK_RETURNS, f"one of {RISK_RETURNS}"),
            ("tail_ties", self.tail_ties in TAIL_TIES, f"one of {TAIL_TIES}"),
            ("kl_estimate", self.kl_estimate in KL_ESTIMATES, f"one of {KL_ESTIMATES}"),
            ("num_ppo_epochs", self.num_ppo_epochs >= 1, ">= 1"),
            ("num_mini_batches", self.num_mini_batches >= 1, ">= 1"),
            ("clip_range", self.clip_range > 0, "> 0"),
            ("clip_range_value", self.clip_range_value > 0, "> 0"),
            ("vf_coef", self.vf_coef >= 0, ">= 0"),
            ("gamma", 0 <= self.gamma <= 1, "in [0, 1]"),
            ("lam", 0 <= self.lam <= 1, "in [0, 1]"),
            ("kl_coef", self.kl_coef >= 0, ">= 0"),
            ("kl_target", self.kl_target is None or self.kl_target > 0, "> 0 or None"),
            ("kl_horizon", self.kl_horizon > 0, "> 0"),
            ("max_prompt_length", self.max_prompt_length >= 1, ">= 1"),
            ("max_new_tokens", self.max_new_tokens >= 1, ">= 1"),
            ("min_new_tokens", 0 <= self.min_new_tokens <= self.max_new_tokens, "in [0, max_new_tokens]"),
            ("temperature", self.temperature > 0, "> 0"),
            ("top_k", self.top_k >= 0, ">= 0"),
            ("top_p", 0 < self.top_p <= 1, "in (0, 1]"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")
        if str(getattr(self.eval_strategy, "value", self.eval_strategy)) != "no":
            raise ValueError(
                "eval_strategy must be 'no': CVaR-PPO has no evaluation loop; evaluate the saved policy "
                "(e.g. with hf-ext eval or lm-eval)"
            )
        if self.remove_unused_columns:
            raise ValueError(
                "remove_unused_columns must be False for CVaR-PPO (the prompts must reach the trainer)"
            )
        super().__post_init__()
        rollout_size = self.per_device_train_batch_size * self.gradient_accumulation_steps
        if rollout_size % self.num_mini_batches:
            raise ValueError(
                f"num_mini_batches ({self.num_mini_batches}) must divide the rollout size "
                f"per_device_train_batch_size * gradient_accumulation_steps = {rollout_size}"
            )

    @property
    def rollout_size(self) -> int:
        """Prompts rolled out per process and PPO iteration."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps
