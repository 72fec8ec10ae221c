"""The HVFA module: pool a fine feature map into a coarse one, fuse, and reconstruct the fine map.

Host-agnostic: it sees two spatial maps of features, ``coarse`` of shape ``(B, H, W, D)`` and ``fine`` of
shape ``(B, 2H, 2W, D)`` (base cell ``(r, c)`` covers fine cells ``2r..2r+1 x 2c..2c+1``), and knows
nothing of crops, processors or language models. A host (Idefics3 here, LLaVA-NeXT later) assembles its
per-crop tokens into these maps and splits the result back.

Per base cell (Park et al., NeurIPS 2024; the details marked (U) in the paper digest are choices, see
docs/hvfa.md):

1. spatial reduction of its 2x2 fine block: max pooling, a linear projection of the four cells, or
   cross-attentive pooling, whose query is initialised by the max-pool of the block (or a learned random
   vector) and attends to every fine cell (``cross_attentive``) or to those near the block
   (``cross_local_attentive``); the pooled vector is the query plus the attention output;
2. fusion: ``fused = coarse + fuse(pooled)`` with ``fuse`` a linear map initialised to zero, so a
   pretrained host starts out exactly as its single-scale self;
3. reconstruction: an MLP maps the pooled vector back to the four fine cells; the loss is their mean squared
   error against the fine features, detached when ``stop_gradient`` is set.

Example:
    >>> import torch
    >>> module = HVFAAggregator(dim=8, num_heads=2)
    >>> coarse, fine = torch.randn(1, 2, 3, 8), torch.randn(1, 4, 6, 8)
    >>> out = module(coarse, fine)
    >>> out.fused.shape, torch.equal(out.fused, coarse)  # zero-initialised fusion: starts as the identity
    (torch.Size([1, 2, 3, 8]), True)
    >>> out.reconstruction_loss.ndim
    0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hf_ext.errors import HFExtError

SPATIAL_REDUCTIONS = ("max_pool", "linear", "cross_attentive", "cross_local_attentive")
QUERY_INITS = ("max_pool", "random")


def fine_blocks(fine: torch.Tensor) -> torch.Tensor:
    """``(B, 2H, 2W, D) -> (B, H, W, 4, D)``: the 2x2 block of each base cell, row-major inside the block."""
    batch, height2, width2, dim = fine.shape
    if height2 % 2 or width2 % 2:
        raise HFExtError(f"the fine map must have even height and width, got {height2}x{width2}")
    blocks = fine.reshape(batch, height2 // 2, 2, width2 // 2, 2, dim).permute(0, 1, 3, 2, 4, 5)
    return blocks.reshape(batch, height2 // 2, width2 // 2, 4, dim)


def local_attention_mask(height: int, width: int, radius: int, device=None) -> torch.Tensor:
    """``(H*W, 4*H*W)`` booleans: base cell ``(r, c)`` may attend fine cell ``(i, j)`` when the base cell
    holding ``(i, j)`` is within ``radius`` cells of ``(r, c)`` (Chebyshev distance)."""
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    row_near = (rows[:, None] - torch.arange(2 * height, device=device)[None, :] // 2).abs() <= radius
    col_near = (cols[:, None] - torch.arange(2 * width, device=device)[None, :] // 2).abs() <= radius
    mask = row_near[:, None, :, None] & col_near[None, :, None, :]  # (H, W, 2H, 2W)
    return mask.reshape(height * width, 4 * height * width)


@dataclass
class HVFAAggregation:
    """Output of :class:`HVFAAggregator`: the fused coarse map, the pooled map and the reconstruction loss."""

    fused: torch.Tensor
    pooled: torch.Tensor
    reconstruction_loss: torch.Tensor


class HVFAAggregator(nn.Module):
    """Cross-attentive pooling of a fine map into a coarse map, with fusion and a reconstruction head.

    Args:
        dim: feature size of both maps.
        spatial_reduction: ``"max_pool"``, ``"linear"``, ``"cross_attentive"`` or ``"cross_local_attentive"``.
        query_init: ``"max_pool"`` or ``"random"`` (learned queries tiled over the map,
            ``query_tile`` square).
        num_heads: attention heads (must divide ``dim``).
        local_radius: window of ``cross_local_attentive``, in coarse cells.
        stop_gradient: detach the reconstruction target.
        reconstruction_hidden_size: MLP width (0: ``dim``).
        query_tile: side of the tile of learned queries for ``query_init="random"`` (a host passes the side of
            one crop's token grid, so every position inside a crop has its own query).
    """

    def __init__(
        self,
        dim: int,
        *,
        spatial_reduction: str = "cross_attentive",
        query_init: str = "max_pool",
        num_heads: int = 4,
        local_radius: int = 0,
        stop_gradient: bool = True,
        reconstruction_hidden_size: int = 0,
        query_tile: int = 1,
    ):
        super().__init__()
        if spatial_reduction not in SPATIAL_REDUCTIONS:
            raise HFExtError(
                f"spatial_reduction must be one of {SPATIAL_REDUCTIONS}, got {spatial_reduction!r}"
            )
        if query_init not in QUERY_INITS:
            raise HFExtError(f"query_init must be one of {QUERY_INITS}, got {query_init!r}")
        if dim % num_heads:
            raise HFExtError(f"num_heads ({num_heads}) must divide dim ({dim})")
        self.dim, self.num_heads = dim, num_heads
        self.spatial_reduction, self.query_init = spatial_reduction, query_init
        self.local_radius, self.stop_gradient = local_radius, stop_gradient
        self.attentive = spatial_reduction.startswith("cross")
        if spatial_reduction == "linear":
            self.reduce = nn.Linear(4 * dim, dim)
        if self.attentive:
            self.query_norm = nn.LayerNorm(dim)
            self.key_norm = nn.LayerNorm(dim)
            self.q_proj, self.k_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
            self.v_proj, self.o_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
            if query_init == "random":
                self.queries = nn.Parameter(torch.empty(query_tile, query_tile, dim))
        self.fuse = nn.Linear(dim, dim)
        hidden = reconstruction_hidden_size or dim
        self.reconstruct = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 4 * dim))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if hasattr(self, "queries"):
            nn.init.normal_(self.queries, std=0.02)
        nn.init.zeros_(self.fuse.weight)

    def initial_queries(self, blocks: torch.Tensor) -> torch.Tensor:
        """``(B, H, W, D)`` queries: the max-pool of each block, or the learned queries tiled over the map."""
        if self.query_init == "max_pool":
            return blocks.amax(dim=3)
        batch, height, width = blocks.shape[:3]
        tile = self.queries.shape[0]
        rows = torch.arange(height, device=blocks.device) % tile
        cols = torch.arange(width, device=blocks.device) % tile
        tiled = self.queries[rows[:, None], cols[None, :]]
        return tiled.to(blocks.dtype).expand(batch, height, width, self.dim)

    def attend(self, queries: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        """Multi-head attention of the ``(B, H, W, D)`` queries over the ``(B, 2H, 2W, D)`` fine cells."""
        batch, height, width, dim = queries.shape
        heads, head_dim = self.num_heads, dim // self.num_heads
        q = (
            self.q_proj(self.query_norm(queries))
            .reshape(batch, height * width, heads, head_dim)
            .transpose(1, 2)
        )
        keys = self.key_norm(fine).reshape(batch, 4 * height * width, dim)
        k = self.k_proj(keys).reshape(batch, -1, heads, head_dim).transpose(1, 2)
        v = self.v_proj(keys).reshape(batch, -1, heads, head_dim).transpose(1, 2)
        mask = None
        if self.spatial_reduction == "cross_local_attentive":
            mask = local_attention_mask(height, width, self.local_radius, device=queries.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.o_proj(out.transpose(1, 2).reshape(batch, height, width, dim))

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> HVFAAggregation:
        batch, height, width, dim = coarse.shape
        if fine.shape != (batch, 2 * height, 2 * width, dim):
            raise HFExtError(
                f"fine map must have shape {(batch, 2 * height, 2 * width, dim)} for a coarse map of shape "
                f"{tuple(coarse.shape)}, got {tuple(fine.shape)}"
            )
        blocks = fine_blocks(fine)
        if self.spatial_reduction == "max_pool":
            pooled = blocks.amax(dim=3)
        elif self.spatial_reduction == "linear":
            pooled = self.reduce(blocks.reshape(batch, height, width, 4 * dim))
        else:
            queries = self.initial_queries(blocks)
            pooled = queries + self.attend(queries, fine)
        fused = coarse + self.fuse(pooled)
        target = blocks.detach() if self.stop_gradient else blocks
        rebuilt = self.reconstruct(pooled).reshape(batch, height, width, 4, dim)
        loss = F.mse_loss(rebuilt.float(), target.float())
        return HVFAAggregation(fused=fused, pooled=pooled, reconstruction_loss=loss)
