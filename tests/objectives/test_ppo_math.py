"""PPO math against hand-computed examples and direct loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hf_ext.objectives.ppo import (
    AdaptiveKLController,
    clipped_policy_loss,
    clipped_value_loss,
    generalized_advantage_estimation,
    kl_shaped_rewards,
    masked_mean,
    masked_whiten,
)


def test_gae_equals_a_hand_computed_example():
    # one episode of 3 tokens then padding; gamma 0.9, lambda 0.5
    rewards = torch.tensor([[0.0, 1.0, 2.0, 9.0]])
    values = torch.tensor([[0.5, 1.0, 1.5, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    advantages, returns = generalized_advantage_estimation(rewards, values, mask, gamma=0.9, lam=0.5)
    # deltas: t2 = 2 - 1.5 = 0.5 (no bootstrap after the end); t1 = 1 + 0.9*1.5 - 1 = 1.35; t0 = 0 + 0.9 - 0.5
    a2 = 0.5
    a1 = 1.35 + 0.45 * a2
    a0 = 0.4 + 0.45 * a1
    assert advantages.tolist()[0] == pytest.approx([a0, a1, a2, 0.0])
    assert returns.tolist()[0] == pytest.approx([a0 + 0.5, a1 + 1.0, a2 + 1.5, 0.0])


def test_gae_with_lambda_one_gamma_one_gives_monte_carlo_returns():
    generator = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(3, 5, generator=generator), torch.randn(3, 5, generator=generator)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float)
    _, returns = generalized_advantage_estimation(rewards, values, mask, gamma=1.0, lam=1.0)
    reward_to_go = torch.flip(torch.cumsum(torch.flip(rewards * mask, [1]), 1), [1]) * mask
    torch.testing.assert_close(returns, reward_to_go)


def test_kl_shaped_rewards_put_the_score_on_the_last_token():
    logprobs = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]])
    ref_logprobs = torch.tensor([[-1.5, -1.0, -3.0], [-2.0, -2.0, -2.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    rewards, kl = kl_shaped_rewards(torch.tensor([10.0, 20.0]), logprobs, ref_logprobs, mask, beta=0.1)
    torch.testing.assert_close(kl, torch.tensor([[0.5, -1.0, 0.0], [1.0, 0.0, 0.0]]))
    torch.testing.assert_close(rewards, torch.tensor([[-0.05, 0.1, 10.0], [-0.1 + 20.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="response token"):
        kl_shaped_rewards(torch.zeros(1), logprobs[:1], ref_logprobs[:1], torch.zeros(1, 3), beta=0.1)


def test_masked_whiten_uses_only_masked_statistics():
    values = torch.tensor([[1.0, 2.0, 100.0], [3.0, 4.0, -50.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    kept = np.array([1.0, 2.0, 3.0, 4.0])
    expected = (kept - kept.mean()) / kept.std(ddof=1)
    whitened = masked_whiten(values, mask)
    assert whitened[mask.bool()].tolist() == pytest.approx(expected.tolist(), abs=1e-5)
    assert whitened[~mask.bool()].tolist() == [0.0, 0.0]
    unshifted = masked_whiten(values, mask, shift_mean=False)
    assert unshifted[mask.bool()].tolist() == pytest.approx((expected + kept.mean()).tolist(), abs=1e-5)
    doubled = masked_whiten(values, mask, all_reduce=lambda stats: 2 * stats)  # a 2-process twin batch
    assert doubled[mask.bool()].tolist() == pytest.approx(
        ((kept - kept.mean()) / np.concatenate([kept, kept]).std(ddof=1)).tolist(), abs=1e-5
    )


def test_clipped_policy_loss_matches_a_direct_loop():
    generator = torch.Generator().manual_seed(1)
    logprobs = torch.randn(4, 6, generator=generator) * 0.3 - 2
    old = logprobs + torch.randn(4, 6, generator=generator) * 0.3
    advantages = torch.randn(4, 6, generator=generator)
    mask = (torch.rand(4, 6, generator=generator) > 0.3).float()
    out = clipped_policy_loss(logprobs, old, advantages, mask, clip_range=0.2)
    terms, clipped_count = [], 0
    for i in range(4):
        for t in range(6):
            if mask[i, t]:
                ratio = float(np.exp(logprobs[i, t] - old[i, t]))
                a = float(advantages[i, t])
                terms.append(max(-a * ratio, -a * min(max(ratio, 0.8), 1.2)))
                clipped_count += -a * min(max(ratio, 0.8), 1.2) > -a * ratio
    assert out.loss.item() == pytest.approx(np.mean(terms), rel=1e-5)
    assert out.clip_fraction.item() == pytest.approx(clipped_count / len(terms))
    # the normalizer turns the mean into a sum over this micro-batch / tokens of the whole minibatch
    half = clipped_policy_loss(logprobs, old, advantages, mask, 0.2, normalizer=2 * mask.sum())
    assert half.loss.item() == pytest.approx(np.mean(terms) / 2, rel=1e-5)


def test_clipped_value_loss_matches_a_direct_loop():
    values = torch.tensor([[1.0, 2.0, 0.0]])
    old_values = torch.tensor([[0.5, 2.5, 0.0]])
    returns = torch.tensor([[3.0, 2.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    loss = clipped_value_loss(values, old_values, returns, mask, clip_range_value=0.2)
    # token 0: V=1, clipped 0.7 -> max(4, 5.29); token 1: V=2, clipped 2.3 -> max(0, 0.09)
    assert loss.item() == pytest.approx(0.5 * (5.29 + 0.09) / 2)


def test_masked_mean_defaults_to_the_count():
    assert masked_mean(torch.tensor([2.0, 4.0, 8.0]), torch.tensor([1.0, 1.0, 0.0])).item() == 3.0
    assert masked_mean(torch.tensor([2.0]), torch.tensor([0.0])).item() == 0.0


def test_adaptive_kl_controller_follows_ziegler_and_round_trips():
    controller = AdaptiveKLController(0.2, target=6.0, horizon=10000)
    assert controller.update(7.5, n_steps=128) == pytest.approx(
        0.2 * (1 + 0.2 * 128 / 10000)
    )  # error 0.25 -> 0.2
    assert controller.update(3.0, n_steps=100) == pytest.approx(0.2 * (1 + 0.2 * 0.0128) * (1 - 0.2 * 0.01))
    restored = AdaptiveKLController(1.0, target=6.0, horizon=10000)
    restored.load_state_dict(controller.state_dict())
    assert restored.beta == controller.beta
    fixed = AdaptiveKLController(0.1, target=None, horizon=1)
    assert fixed.update(100.0, n_steps=8) == 0.1
    with pytest.raises(ValueError, match="target"):
        AdaptiveKLController(0.1, target=-1.0, horizon=1)
