"""``HVFAConfig``: an Idefics3/SmolVLM config plus the HVFA switches (every ablation axis of the paper).

The host's fields (``vision_config``, ``text_config``, ``scale_factor``, ``image_token_id``) keep their
meaning; ``model_type`` is ``"hfx_hvfa_idefics3"`` so the Auto classes load a saved folder as HVFA.

Fields:
    hvfa_scales: 1 (global view only), 2 (global + base grid: single-scale shape-adaptive cropping) or 3
        (global + base + the 2x fine grid).
    multiscale_mode: with 3 scales, ``"aggregate"`` (HVFA: the fine level is pooled into the base level, the
        language model reads as many tokens as with 2 scales) or ``"concat"`` (naive multi-scale: every crop
        of every level becomes tokens).
    spatial_reduction: how each 2x2 block of fine cells becomes one base cell: ``"max_pool"``, ``"linear"``
        (a projection of the four concatenated cells), ``"cross_attentive"`` (queries attend to every fine
        cell of the page, the paper's choice) or ``"cross_local_attentive"`` (only to the fine cells within
        ``local_radius`` base cells of the query's own block).
    query_init: ``"max_pool"`` (the query of a base cell is the max-pool of its fine block, the paper's
        choice) or ``"random"`` (learned query vectors, randomly initialised, tiled over the page).
    stop_gradient: detach the fine features used as the reconstruction target.
    reconstruction_weight: lambda, the weight of the reconstruction loss the trainer adds (0 disables it).
    num_pooling_heads: attention heads of the cross-attentive pooling.
    local_radius: window of ``"cross_local_attentive"``, in base cells (0 = the query's own 2x2 block).
    reconstruction_hidden_size: width of the reconstruction MLP (0 = the text hidden size).
    max_crops: largest base grid, ``n_h * n_w <= max_crops`` (the fine grid has four times as many crops).

Example:
    >>> config = HVFAConfig(vision_config={"image_size": 64, "patch_size": 8}, spatial_reduction="max_pool")
    >>> config.model_type, config.tokens_per_side, config.tokens_per_crop  # 8x8 patches, pixel shuffle by 2
    ('hfx_hvfa_idefics3', 4, 16)
    >>> HVFAConfig(spatial_reduction="avg_pool")
    Traceback (most recent call last):
    ...
    hf_ext.errors.HFExtError: HVFAConfig.spatial_reduction must be one of (...), got 'avg_pool'
"""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers.models.idefics3.configuration_idefics3 import Idefics3Config

from hf_ext.errors import HFExtError
from hf_ext.multimodal.hvfa.layout import MULTISCALE_MODES, SCALES

SPATIAL_REDUCTIONS = ("max_pool", "linear", "cross_attentive", "cross_local_attentive")
QUERY_INITS = ("max_pool", "random")


@strict
class HVFAConfig(Idefics3Config):
    model_type = "hfx_hvfa_idefics3"

    hvfa_scales: int = 3
    multiscale_mode: str = "aggregate"
    spatial_reduction: str = "cross_attentive"
    query_init: str = "max_pool"
    stop_gradient: bool = True
    reconstruction_weight: float = 0.1
    num_pooling_heads: int = 4
    local_radius: int = 0
    reconstruction_hidden_size: int = 0
    max_crops: int = 9

    def __post_init__(self, **kwargs):
        choices = {
            "hvfa_scales": SCALES,
            "multiscale_mode": MULTISCALE_MODES,
            "spatial_reduction": SPATIAL_REDUCTIONS,
            "query_init": QUERY_INITS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise HFExtError(f"HVFAConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("reconstruction_weight", "local_radius", "reconstruction_hidden_size"):
            if getattr(self, name) < 0:
                raise HFExtError(f"HVFAConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("num_pooling_heads", "max_crops"):
            if getattr(self, name) < 1:
                raise HFExtError(f"HVFAConfig.{name} must be >= 1, got {getattr(self, name)}")
        super().__post_init__(**kwargs)
        if self.text_config.hidden_size % self.num_pooling_heads:
            raise HFExtError(
                f"HVFAConfig.num_pooling_heads ({self.num_pooling_heads}) must divide the text hidden size "
                f"({self.text_config.hidden_size})"
            )

    @property
    def crop_size(self) -> int:
        """Side of one encoder crop, in pixels."""
        return int(self.vision_config.image_size)

    @property
    def tokens_per_side(self) -> int:
        """Side of the grid of tokens one crop becomes after the connector's pixel shuffle."""
        patches = self.vision_config.image_size // self.vision_config.patch_size
        if patches % self.scale_factor:
            raise HFExtError(
                f"HVFAConfig.scale_factor ({self.scale_factor}) must divide {patches} patches per side"
            )
        return patches // self.scale_factor

    @property
    def tokens_per_crop(self) -> int:
        """Image tokens per crop (the host processor's ``image_seq_len``)."""
        return self.tokens_per_side**2
