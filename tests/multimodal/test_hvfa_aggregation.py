"""The HVFA module against brute force: blocks, masks, attention, query init, stop-gradient, every switch."""

import math

import pytest
import torch

from hf_ext.errors import HFExtError
from hf_ext.multimodal.hvfa.aggregation import HVFAAggregator, fine_blocks, local_attention_mask

DIM = 8


def maps(height=2, width=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, height, width, DIM, generator=generator)
    fine = torch.randn(1, 2 * height, 2 * width, DIM, generator=generator)
    return coarse, fine


def test_fine_blocks_are_the_2x2_blocks():
    _, fine = maps()
    blocks = fine_blocks(fine)
    for r in range(2):
        for c in range(3):
            expected = [fine[0, 2 * r + i, 2 * c + j] for i in range(2) for j in range(2)]
            assert torch.equal(blocks[0, r, c], torch.stack(expected))


@pytest.mark.parametrize("radius", [0, 1])
def test_local_mask_matches_brute_force(radius):
    height, width = 3, 2
    mask = local_attention_mask(height, width, radius)
    for q in range(height * width):
        r, c = divmod(q, width)
        for k in range(4 * height * width):
            i, j = divmod(k, 2 * width)
            assert bool(mask[q, k]) == (max(abs(i // 2 - r), abs(j // 2 - c)) <= radius)


def brute_force_attention(module, queries, fine, radius=None):
    """Per-query, per-head softmax attention written out with loops."""
    _, height, width, dim = queries.shape
    heads, head_dim = module.num_heads, dim // module.num_heads
    keys = module.key_norm(fine[0]).reshape(-1, dim)
    out = torch.zeros(height, width, dim)
    for r in range(height):
        for c in range(width):
            q = module.q_proj(module.query_norm(queries[0, r, c]))
            allowed = [
                k
                for k in range(keys.shape[0])
                if radius is None
                or max(abs(k // (2 * width) // 2 - r), abs(k % (2 * width) // 2 - c)) <= radius
            ]
            for h in range(heads):
                part = slice(h * head_dim, (h + 1) * head_dim)
                scores = torch.stack(
                    [module.k_proj(keys[k])[part] @ q[part] / math.sqrt(head_dim) for k in allowed]
                )
                weights = torch.softmax(scores, 0)
                out[r, c, part] = sum(w * module.v_proj(keys[k])[part] for w, k in zip(weights, allowed))
    return module.o_proj(out)[None]


@pytest.mark.parametrize(("reduction", "radius"), [("cross_attentive", None), ("cross_local_attentive", 0)])
def test_attention_matches_brute_force(reduction, radius):
    torch.manual_seed(0)
    module = HVFAAggregator(DIM, spatial_reduction=reduction, num_heads=2, local_radius=radius or 0)
    coarse, fine = maps()
    queries = module.initial_queries(fine_blocks(fine))
    assert torch.allclose(
        module.attend(queries, fine), brute_force_attention(module, queries, fine, radius), atol=1e-5
    )


def test_query_init_switch():
    _, fine = maps()
    pooled = HVFAAggregator(DIM, query_init="max_pool").initial_queries(fine_blocks(fine))
    assert torch.equal(pooled[0, 1, 2], torch.stack([fine[0, i, j] for i in (2, 3) for j in (4, 5)]).amax(0))
    module = HVFAAggregator(DIM, query_init="random", query_tile=2)
    queries = module.initial_queries(fine_blocks(fine))
    assert torch.equal(queries[0, 0, 2], module.queries[0, 0]) and torch.equal(
        queries[0, 1, 1], module.queries[1, 1]
    )


def test_max_pool_and_linear_reductions():
    coarse, fine = maps()
    out = HVFAAggregator(DIM, spatial_reduction="max_pool")(coarse, fine)
    assert torch.equal(out.pooled, fine_blocks(fine).amax(3))
    module = HVFAAggregator(DIM, spatial_reduction="linear")
    out = module(coarse, fine)
    assert torch.allclose(out.pooled, module.reduce(fine_blocks(fine).reshape(1, 2, 3, 4 * DIM)))


@pytest.mark.parametrize("reduction", ["max_pool", "linear", "cross_attentive", "cross_local_attentive"])
@pytest.mark.parametrize("query_init", ["max_pool", "random"])
def test_every_switch_trains_the_fusion(reduction, query_init):
    torch.manual_seed(0)
    module = HVFAAggregator(
        DIM, spatial_reduction=reduction, query_init=query_init, num_heads=2, query_tile=2
    )
    coarse, fine = maps()
    out = module(coarse, fine)
    assert torch.equal(out.fused, coarse)  # zero-initialised fusion
    rebuilt = module.reconstruct(out.pooled).reshape(1, 2, 3, 4, DIM)
    assert torch.allclose(out.reconstruction_loss, ((rebuilt - fine_blocks(fine)) ** 2).mean())
    (out.fused.sum() + out.reconstruction_loss).backward()
    assert module.fuse.weight.grad.abs().sum() > 0
    assert module.reconstruct[0].weight.grad.abs().sum() > 0
    if reduction.startswith("cross"):
        assert module.q_proj.weight.grad.abs().sum() > 0


def test_stop_gradient_removes_exactly_the_target_path():
    """grad(no stop) - grad(stop) on the fine map is the target path's gradient, -2 (rebuilt - fine) / N."""
    torch.manual_seed(0)
    module = HVFAAggregator(DIM, stop_gradient=True)
    coarse, fine = maps()
    grads = {}
    for stop in (True, False):
        module.stop_gradient = stop
        leaf = fine.clone().requires_grad_(True)
        module(coarse, leaf).reconstruction_loss.backward()
        grads[stop] = leaf.grad
    out = module(coarse, fine)
    rebuilt = module.reconstruct(out.pooled).reshape(1, 2, 3, 4, DIM).detach()
    target_path = -2 * (rebuilt - fine_blocks(fine)) / rebuilt.numel()
    # back from block layout to the map layout
    target_path = target_path.reshape(1, 2, 3, 2, 2, DIM).permute(0, 1, 3, 2, 4, 5).reshape(fine.shape)
    assert torch.allclose(grads[False] - grads[True], target_path, atol=1e-6)
    assert not torch.allclose(grads[True], grads[False])


def test_with_stop_gradient_the_target_gets_no_gradient_through_a_constant_pool():
    """With learned random queries and max-pool init off, the fine map reaches the loss only via keys/values
    and the target; zeroing the attention leaves the target path alone, which stop-gradient removes."""
    torch.manual_seed(0)
    module = HVFAAggregator(DIM, query_init="random", query_tile=1)
    with torch.no_grad():
        module.o_proj.weight.zero_()
    coarse, fine = maps()
    for stop, expect_zero in ((True, True), (False, False)):
        module.stop_gradient = stop
        leaf = fine.clone().requires_grad_(True)
        module(coarse, leaf).reconstruction_loss.backward()
        assert (leaf.grad.abs().max() == 0) == expect_zero


def test_shape_mismatch_is_a_user_error():
    coarse, fine = maps()
    with pytest.raises(HFExtError, match="fine map must have shape"):
        HVFAAggregator(DIM)(coarse, fine[:, :-2])
    with pytest.raises(HFExtError, match="spatial_reduction"):
        HVFAAggregator(DIM, spatial_reduction="avg")
