"""The math of PPO for language models, free of trainer plumbing (Schulman et al. 2017; Ziegler et al. 2019).

Tensors are ``[batch, response_length]`` over response tokens; ``mask`` is 1 on the tokens that count
(the response up to and including its end-of-sequence token, and, for risk-averse training, only the
episodes in the CVaR tail). Losses take an optional ``normalizer`` (the number of counted tokens of the
whole minibatch) so that gradient accumulation over micro-batches gives the same gradient as one batch.

Example:
    >>> import torch
    >>> from hf_ext.objectives.ppo import generalized_advantage_estimation
    >>> rewards, values = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]])
    >>> advantages, returns = generalized_advantage_estimation(rewards, values, torch.ones(1, 2), 1.0, 1.0)
    >>> advantages.tolist(), returns.tolist()
    ([[0.5, 0.5]], [[1.0, 1.0]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

SumReducer = Callable[[torch.Tensor], torch.Tensor]


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum()


def masked_mean(values: torch.Tensor, mask: torch.Tensor, normalizer: float | torch.Tensor | None = None):
    """Sum over the masked entries divided by ``normalizer`` (default: the number of masked entries, >= 1)."""
    count = mask.sum() if normalizer is None else normalizer
    return masked_sum(values, mask) / max(float(count), 1.0)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True, all_reduce: SumReducer | None = None
) -> torch.Tensor:
    """Standardise ``values`` with the mean and (unbiased) variance of the masked entries only.

    ``all_reduce`` sums a tensor over processes, so the statistics cover the whole distributed batch.
    Unmasked entries come back as 0.
    """
    mask = mask.to(values.dtype)
    stats = torch.stack([masked_sum(values, mask), masked_sum(values**2, mask), mask.sum()])
    if all_reduce is not None:
        stats = all_reduce(stats)
    total, total_squares, count = stats.unbind()
    if count < 2:
        return (values - (total / count.clamp(min=1) if shift_mean else 0.0)) * mask
    mean = total / count
    variance = (total_squares - count * mean**2).clamp(min=0.0) / (count - 1)
    whitened = (values - mean) * torch.rsqrt(variance + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def kl_shaped_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards ``-beta * (log pi - log pi_ref)``, plus the task score on each episode's last token.

    Returns ``(rewards, kl)``, both ``[B, T]`` and zero outside ``mask``; ``kl`` is the per-token estimate
    ``log pi - log pi_ref``. The last token is the last masked position of each row.
    """
    kl = (logprobs - ref_logprobs) * mask
    rewards = -beta * kl
    lengths = mask.long().sum(dim=1)
    if (lengths == 0).any():
        raise ValueError("every episode needs at least one response token")
    last = (lengths - 1).unsqueeze(1)
    rewards = rewards.scatter_add(1, last, scores.to(rewards.dtype).unsqueeze(1))
    return rewards, kl


def generalized_advantage_estimation(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE(gamma, lambda) over each row's masked prefix; returns ``(advantages, advantages + values)``.

    ``delta_t = r_t + gamma * V_{t+1} - V_t`` with ``V`` = 0 after the last masked token, and
    ``A_t = delta_t + gamma * lambda * A_{t+1}``. Outside ``mask`` both outputs are 0.
    """
    mask = mask.to(values.dtype)
    steps = rewards.shape[1]
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[:, 0])
    for t in reversed(range(steps)):
        next_mask = mask[:, t + 1] if t + 1 < steps else torch.zeros_like(running)
        next_value = values[:, t + 1] * next_mask if t + 1 < steps else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * running * next_mask
        advantages[:, t] = running * mask[:, t]
    return advantages, (advantages + values) * mask


@dataclass
class PolicyLossOutput:
    loss: torch.Tensor
    clip_fraction: torch.Tensor
    approx_kl: torch.Tensor


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
    normalizer: float | torch.Tensor | None = None,
) -> PolicyLossOutput:
    """PPO's clipped surrogate ``mean(max(-A * rho, -A * clip(rho, 1 - eps, 1 + eps)))``, rho = pi / pi_old.

    Also returns the fraction of tokens where clipping was active and the estimate
    ``mean((rho - 1) - log rho)`` of KL(pi_old || pi), both over the masked tokens.
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask, normalizer)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).to(logprobs.dtype), mask, normalizer)
        approx_kl = masked_mean((ratio - 1.0) - log_ratio, mask, normalizer)
    return PolicyLossOutput(loss, clip_fraction, approx_kl)


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range_value: float,
    normalizer: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """``0.5 * mean(max((V - R)^2, (clip(V, V_old - c, V_old + c) - R)^2))`` over the masked tokens."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range_value, clip_range_value)
    worst = torch.maximum((values - returns) ** 2, (clipped_values - returns) ** 2)
    return 0.5 * masked_mean(worst, mask, normalizer)


class AdaptiveKLController:
    """Ziegler et al.'s proportional controller of the KL coefficient ``beta``.

    ``e = clip(KL / target - 1, -0.2, 0.2)`` and ``beta <- beta * (1 + e * n_steps / horizon)``. With
    ``target=None`` beta stays fixed. ``state_dict``/``load_state_dict`` make it resumable.

    Example:
        >>> controller = AdaptiveKLController(0.2, target=6.0, horizon=10000)
        >>> round(controller.update(current_kl=12.0, n_steps=128), 6)   # error clipped to 0.2
        0.200512
    """

    def __init__(self, init_beta: float, target: float | None, horizon: float):
        if init_beta < 0:
            raise ValueError(f"init_beta must be >= 0, got {init_beta}")
        if target is not None and target <= 0:
            raise ValueError(f"target must be > 0 or None, got {target}")
        if horizon <= 0:
            raise ValueError(f"horizon must be > 0, got {horizon}")
        self.beta, self.target, self.horizon = float(init_beta), target, float(horizon)

    def update(self, current_kl: float, n_steps: int) -> float:
        if self.target is not None:
            error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
            self.beta *= 1.0 + error * n_steps / self.horizon
        return self.beta

    def state_dict(self) -> dict[str, float | None]:
        return {"beta": self.beta, "target": self.target, "horizon": self.horizon}

    def load_state_dict(self, state: dict[str, float | None]) -> None:
        self.beta = float(state["beta"])
