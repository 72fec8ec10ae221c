"""Parity of SlimGPT's OBS math with brute-force least squares and one-column-at-a-time OBS."""

import itertools

import pytest
import torch

from hf_ext.pruning.slimgpt.obs import (
    column_errors,
    damped_hessian,
    diagonal_group_errors,
    group_errors,
    inverse_hessian,
    remove_columns,
    sequential_obs_removal,
)
from hf_ext.pruning.slimgpt.search import dynamic_group_sizes, greedy_group_pruning


def random_layer(d_in=12, d_out=5, tokens=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d_in, d_in, generator=generator, dtype=torch.float64)
    inputs = mixing @ torch.randn(d_in, tokens, generator=generator, dtype=torch.float64)  # correlated inputs
    weight = torch.randn(d_out, d_in, generator=generator, dtype=torch.float64)
    hessian = 2 * inputs @ inputs.T / tokens
    return weight, inputs, hessian


def least_squares_without(weight, inputs, removed):
    """Best weights on the kept columns for reproducing W X: min ||W X − W_R X_R||², solved directly."""
    kept = [c for c in range(weight.shape[1]) if c not in set(removed)]
    targets = (weight @ inputs).T
    solution = torch.linalg.lstsq(inputs[kept].T, targets).solution.T
    result = torch.zeros_like(weight)
    result[:, kept] = solution
    return result


def output_error(weight, new_weight, inputs):
    return ((weight - new_weight) @ inputs).pow(2).sum().item() / inputs.shape[1]


def inverse(hessian):
    return inverse_hessian(hessian.to(torch.float64))


def test_single_column_obs_equals_least_squares_optimum():
    weight, inputs, hessian = random_layer()
    hessian_inverse = inverse(hessian)
    errors = column_errors(weight, hessian_inverse)
    for column in range(weight.shape[1]):
        compensated = remove_columns(weight, hessian_inverse, torch.tensor([column]))
        optimum = least_squares_without(weight, inputs, [column])
        torch.testing.assert_close(compensated, optimum, rtol=1e-8, atol=1e-8)
        assert errors[column].item() == pytest.approx(output_error(weight, compensated, inputs), rel=1e-8)


def test_joint_removal_equals_least_squares_and_sequential_obs():
    weight, inputs, hessian = random_layer(seed=1)
    hessian_inverse = inverse(hessian)
    columns = torch.tensor([7, 2, 9, 4])
    joint = remove_columns(weight, hessian_inverse, columns)
    sequential, error = sequential_obs_removal(weight, hessian_inverse, columns)
    torch.testing.assert_close(
        joint, least_squares_without(weight, inputs, columns.tolist()), rtol=1e-8, atol=1e-8
    )
    torch.testing.assert_close(sequential, joint, rtol=1e-8, atol=1e-8)
    assert error == pytest.approx(output_error(weight, joint, inputs), rel=1e-8)


def test_grouped_cholesky_head_error_equals_removing_columns_one_by_one():
    weight, _, hessian = random_layer(d_in=16, seed=2)
    hessian_inverse = inverse(hessian)
    heads = torch.arange(16).view(4, 4)  # four heads of head_dim 4
    batched = group_errors(weight, hessian_inverse, heads)
    for head, columns in enumerate(heads):
        _, one_by_one = sequential_obs_removal(weight, hessian_inverse, columns)
        assert batched[head].item() == pytest.approx(one_by_one, rel=1e-8)


def test_greedy_removes_the_head_with_least_output_error_and_compensates():
    weight, inputs, hessian = random_layer(d_in=16, seed=3)
    heads = torch.arange(16).view(4, 4)
    pruned, removed = greedy_group_pruning(weight, hessian, heads, num_remove=1, damping=0.0)
    brute_force = [
        output_error(weight, least_squares_without(weight, inputs, h.tolist()), inputs) for h in heads
    ]
    assert removed == [min(range(4), key=brute_force.__getitem__)]
    optimum = least_squares_without(weight, inputs, heads[removed[0]].tolist())
    torch.testing.assert_close(pruned.double(), optimum, rtol=1e-4, atol=1e-4)  # the search runs in float32


def test_greedy_two_heads_reach_the_least_squares_optimum_of_their_pair():
    weight, inputs, hessian = random_layer(d_in=16, seed=4)
    heads = torch.arange(16).view(4, 4)
    pruned, removed = greedy_group_pruning(weight, hessian, heads, num_remove=2, damping=0.0)
    assert len(removed) == 2 and pruned[:, heads[removed].flatten()].abs().max() == 0
    pair_errors = {
        pair: output_error(
            weight, least_squares_without(weight, inputs, heads[list(pair)].flatten().tolist()), inputs
        )
        for pair in itertools.combinations(range(4), 2)
    }
    greedy_error = output_error(weight, pruned.double(), inputs)
    assert greedy_error == pytest.approx(pair_errors[tuple(removed)], rel=1e-4)
    assert greedy_error < max(pair_errors.values())


def test_damped_hessian_marks_dead_inputs_and_adds_damping():
    hessian = torch.diag(torch.tensor([2.0, 0.0, 4.0]))
    damped = damped_hessian(hessian, damping=0.1)
    assert damped.dtype == torch.float32
    mean_diagonal = (2.0 + 1.0 + 4.0) / 3
    torch.testing.assert_close(
        damped.diagonal(), torch.tensor([2.0, 1.0, 4.0], dtype=torch.float32) + 0.1 * mean_diagonal
    )


def test_dynamic_group_sizes_follow_the_reference_schedule():
    assert dynamic_group_sizes(5504)[:6] == [1024, 992, 240, 64, 64, 64]  # LLaMA-7B FFN at 50 %
    assert sum(dynamic_group_sizes(5504)) == 5504
    assert dynamic_group_sizes(30) == [30]
    assert dynamic_group_sizes(0) == []
    for n in (1, 63, 700, 3000, 9000):
        sizes = dynamic_group_sizes(n, max_group=256, min_group=8, shrink_offset=64)
        assert sum(sizes) == n and max(sizes) <= 256


def test_dynamic_group_pruning_compensates_to_the_least_squares_optimum():
    from hf_ext.pruning.slimgpt.search import dynamic_group_pruning

    weight, inputs, hessian = random_layer(d_in=24, seed=5)
    pruned, removed = dynamic_group_pruning(weight, hessian, [4, 2, 1], damping=0.0)
    assert len(removed) == 7 and pruned[:, removed].abs().max() == 0
    optimum = least_squares_without(weight, inputs, removed)
    torch.testing.assert_close(pruned.double(), optimum, rtol=1e-4, atol=1e-4)
    # the first group holds the four cheapest single-column errors of the dense layer
    first_errors = column_errors(weight, inverse(hessian))
    assert set(first_errors.topk(4, largest=False).indices.tolist()) <= set(removed)


def test_baseline_scores_match_their_definitions():
    from hf_ext.pruning.baselines import MagnitudeSelection, WandaSelection

    weight, inputs, hessian = random_layer(d_in=8, seed=6)
    heads = torch.arange(8).view(4, 2)
    magnitude = MagnitudeSelection().group_scores(weight, hessian, heads)
    wanda = WandaSelection().group_scores(weight, hessian, heads)
    input_norms = inputs.pow(2).sum(dim=1).sqrt()  # ||X_j|| over tokens
    for head, columns in enumerate(heads):
        assert magnitude[head].item() == pytest.approx(weight[:, columns].norm().item(), rel=1e-9)
        expected = (weight[:, columns].abs() * input_norms[columns]).sum().item()
        # H = 2XXᵀ/N, so sqrt(diag H) = ||X_j|| · sqrt(2/N): the same ranking, a constant factor
        assert wanda[head].item() == pytest.approx(expected * (2 / inputs.shape[1]) ** 0.5, rel=1e-6)
    pruned, removed = WandaSelection().prune_groups(weight, hessian, heads, 1, damping=0.0)
    assert removed == [int(wanda.argmin())]
    assert torch.equal(pruned[:, heads[removed[0]]], torch.zeros(weight.shape[0], 2))


def two_heads_where_the_scores_disagree():
    """H⁻¹ block-diagonal: head 0 [[4, 2], [2, 2]] (upper Cholesky [[2, 1], [0, 1]]), head 1 the identity.

    W = [1, 1 | 0.6, 0.6]. Joint errors: head 0 ½ w B⁻¹ wᵀ = ½ (0.5 − 0.5 − 0.5 + 1) = 0.25, head 1 0.36.
    Official (diagonal) errors: head 0 ½ (1/2² + 1/1²) = 0.625, head 1 ½ (0.36 + 0.36) = 0.36."""
    inverse = torch.zeros(4, 4, dtype=torch.float64)
    inverse[:2, :2] = torch.tensor([[4.0, 2.0], [2.0, 2.0]])
    inverse[2:, 2:] = torch.eye(2)
    weight = torch.tensor([[1.0, 1.0, 0.6, 0.6]], dtype=torch.float64)
    return weight, inverse, torch.arange(4).view(2, 2)


def test_official_head_score_by_hand():
    weight, inverse, groups = two_heads_where_the_scores_disagree()
    torch.testing.assert_close(
        group_errors(weight, inverse, groups), torch.tensor([0.25, 0.36], dtype=torch.float64)
    )
    torch.testing.assert_close(
        diagonal_group_errors(weight, inverse, groups), torch.tensor([0.625, 0.36], dtype=torch.float64)
    )
    single = torch.arange(4).view(4, 1)  # one column per group: the approximation is exact
    torch.testing.assert_close(
        diagonal_group_errors(weight, inverse, single), group_errors(weight, inverse, single)
    )


def test_greedy_search_follows_the_head_score():
    weight, inverse, groups = two_heads_where_the_scores_disagree()
    hessian = torch.linalg.inv(inverse)
    _, joint = greedy_group_pruning(weight, hessian, groups, 1, damping=0.0)
    _, official = greedy_group_pruning(weight, hessian, groups, 1, damping=0.0, head_score="official")
    assert joint == [0] and official == [1]
