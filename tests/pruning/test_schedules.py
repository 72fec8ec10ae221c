"""Incremental Pruning Ratio formulas and the plan that hits the target sparsity."""

import math

import pytest

from hf_ext.pruning.slimgpt import SlimGPTConfig, SlimGPTPruner
from hf_ext.pruning.slimgpt.layers import layer_shape
from hf_ext.pruning.slimgpt.schedules import SCHEDULES, layer_ratios, plan_model, removed_fraction
from hf_ext.testing import tiny_causal_lm


@pytest.mark.parametrize("n", [2, 4, 7, 32])
def test_log_increase_matches_the_closed_form_and_its_mean(n):
    first, last = 0.0625, 0.25
    ratios = layer_ratios("log_increase", n, first, last)
    for i, ratio in enumerate(ratios):
        assert ratio == pytest.approx(first + (last - first) * math.log(i + 1) / math.log(n), abs=1e-12)
    kappa = math.lgamma(n + 1) / (n * math.log(n))  # ln(n!) / (n ln n)
    assert sum(ratios) / n == pytest.approx(first + kappa * (last - first), abs=1e-12)


def test_kappa_32_and_readme_example():
    ratios = layer_ratios("log_increase", 32, 0.0625, 0.25)
    assert sum(ratios) / 32 == pytest.approx(0.2004, abs=5e-5)  # SlimGPT README: 20 % example


def test_linear_and_decreasing_schedules_are_exact_mirrors():
    n, first, last = 6, 0.1, 0.5
    assert layer_ratios("linear_increase", n, first, last) == pytest.approx(
        [first + (last - first) * i / (n - 1) for i in range(n)]
    )
    for kind in ("log", "linear"):
        increasing = layer_ratios(f"{kind}_increase", n, first, last)
        decreasing = layer_ratios(f"{kind}_decrease", n, last, first)
        assert decreasing == pytest.approx(increasing[::-1])
    assert layer_ratios("uniform", n, 0.3, 0.3) == pytest.approx([0.3] * n)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("sparsity", [0.1, 0.2, 0.5])
def test_achieved_fraction_is_within_two_percent(arch, schedule, sparsity):
    model, _ = tiny_causal_lm(arch, num_hidden_layers=4, hidden_size=128, intermediate_size=344)
    shapes = [layer_shape(layer, min_heads_per_layer=1) for layer in model.model.layers]
    plans = plan_model(shapes, sparsity, schedule)
    assert abs(removed_fraction(shapes, plans) - sparsity) <= 0.02
    ratios = [plan.ratio for plan in plans]
    if schedule.endswith("increase"):
        assert ratios == sorted(ratios) and ratios[0] < ratios[-1]
    elif schedule.endswith("decrease"):
        assert ratios == sorted(ratios, reverse=True) and ratios[0] > ratios[-1]


def test_removed_fraction_counts_real_parameters():
    model, _ = tiny_causal_lm("qwen2", num_hidden_layers=2)
    shapes = [layer_shape(layer, 1) for layer in model.model.layers]
    shape = shapes[0]
    total = sum(p.numel() for p in model.model.layers[0].parameters())
    assert shape.total_params == total
    attention = model.model.layers[0].self_attn
    attention_params = sum(p.numel() for p in attention.parameters())
    # two KV groups own all attention parameters (q/k/v with biases, o_proj without)
    assert shape.num_units * shape.params_per_unit == attention_params
    assert shape.num_channels * shape.params_per_channel == sum(
        p.numel() for p in model.model.layers[0].mlp.parameters()
    )


def test_min_heads_and_explicit_ratios():
    model, _ = tiny_causal_lm("llama", num_hidden_layers=3)
    shapes = [layer_shape(layer, min_heads_per_layer=3) for layer in model.model.layers]
    plans = plan_model(shapes, 0.0, "linear_increase", first_ratio=0.5, last_ratio=0.9)
    assert [plan.ratio for plan in plans] == pytest.approx([0.5, 0.7, 0.9])
    assert all(plan.units_removed <= 1 for plan in plans)  # 4 heads, 3 must stay
    assert all(plan.channels_removed < shapes[0].num_channels for plan in plans)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"sparsity": 1.0}, "sparsity"),
        ({"sparsity": -0.1}, "sparsity"),
        ({"schedule": "cosine"}, "schedule"),
        ({"first_ratio": 0.1}, "first_ratio"),
        ({"first_ratio": 0.1, "last_ratio": 1.2}, "last_ratio"),
        ({"damping": 2.0}, "damping"),
        ({"num_calibration_samples": 0}, "num_calibration_samples"),
        ({"prune_attention": False, "prune_mlp": False}, "prune_attention"),
        ({"dgs_min_group_size": 2048}, "dgs_min_group_size"),
        ({"head_score": "diagonal"}, "head_score"),
        ({"log_schedule_layers": 1}, "log_schedule_layers"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SlimGPTConfig(**kwargs)


@pytest.mark.parametrize("sparsity", [0.2, 0.3, 0.5])
def test_coarse_gqa_units_are_balanced_by_channels(sparsity):
    model, _ = tiny_causal_lm("mistral")  # 2 layers of 2 KV groups: one group is a quarter of a layer
    shapes = [layer_shape(layer, 1) for layer in model.model.layers]
    plans = plan_model(shapes, sparsity, "uniform")
    assert abs(removed_fraction(shapes, plans) - sparsity) <= 0.02


def test_official_log32_schedule_by_hand():
    # 4 layers, r_first 0.1, r_last 0.4: the official code divides by log(32), so the last layer gets
    # 0.1 + 0.3 * log(4) / log(32) = 0.1 + 0.3 * 0.4 = 0.22 instead of 0.4
    expected = [0.1 + 0.3 * math.log(i + 1) / math.log(32) for i in range(4)]
    assert layer_ratios("log_increase", 4, 0.1, 0.4, log_layers=32) == pytest.approx(expected)
    assert layer_ratios("log_increase", 4, 0.1, 0.4, log_layers=32)[-1] == pytest.approx(0.22)
    assert layer_ratios("log_increase", 32, 0.0625, 0.25, log_layers=32) == pytest.approx(
        layer_ratios("log_increase", 32, 0.0625, 0.25)
    )  # identical at 32 layers
    with pytest.raises(ValueError, match="log_layers"):
        layer_ratios("log_increase", 4, 0.1, 0.4, log_layers=1)


def test_pruner_plan_uses_the_official_schedule_and_still_hits_the_target():
    model, _ = tiny_causal_lm("llama")
    ours = SlimGPTPruner(model, None, SlimGPTConfig(sparsity=0.5)).plan()
    official = SlimGPTPruner(model, None, SlimGPTConfig(sparsity=0.5, log_schedule_layers=32)).plan()
    n = len(ours)
    # the shape differs: with log(32) the ratio grows by log(i + 1) / log(32) of (r_last - r_first)
    first = official[0].ratio
    expected = [first + (4 * first - first) * math.log(i + 1) / math.log(32) for i in range(n)]
    assert [plan.ratio for plan in official] == pytest.approx(expected)
    assert [plan.ratio for plan in official] != pytest.approx([plan.ratio for plan in ours])
