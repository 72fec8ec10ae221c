"""``HVFAForConditionalGeneration``: an Idefics3/SmolVLM model that reads pages at three scales through HVFA.

The host's vision encoder and connector (pixel shuffle + projection) turn every crop into a ``t x t`` grid of
tokens. This model stacks the crops of one image as :func:`~hf_ext.multimodal.hvfa.layout.crop_layout` says,
assembles the base crops into one coarse map and the fine crops into one map twice as large, runs the
:class:`~hf_ext.multimodal.hvfa.aggregation.HVFAAggregator` on them, and hands the language model one block
of tokens per entry of :func:`~hf_ext.multimodal.hvfa.layout.visual_token_layout` - the same list the
processor used to write the prompt. The output carries ``reconstruction_loss`` (unweighted; the trainer adds
``reconstruction_weight`` times it).

Inputs beyond the host's: ``image_grids``, a ``(batch, max_images, 2)`` tensor of base grids from
:class:`~hf_ext.multimodal.hvfa.processing.HVFAProcessor` (``-1`` rows pad samples with fewer images).
``pixel_values`` is ``(batch, max_crops, 3, S, S)``; each sample's crops come first, then zero padding.

Example:
    >>> from hf_ext.testing.hvfa import tiny_hvfa  # doctest: +SKIP
    >>> model, processor = tiny_hvfa()  # doctest: +SKIP
    >>> inputs = processor(text=["<image>Total?"], images=[[page]], return_tensors="pt")  # doctest: +SKIP
    >>> model.generate(**inputs, max_new_tokens=8)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.models.idefics3.modeling_idefics3 import (
    Idefics3CausalLMOutputWithPast,
    Idefics3ForConditionalGeneration,
    Idefics3Model,
    Idefics3PreTrainedModel,
)

from hf_ext.errors import HFExtError
from hf_ext.multimodal.hvfa.aggregation import HVFAAggregator
from hf_ext.multimodal.hvfa.configuration import HVFAConfig
from hf_ext.multimodal.hvfa.layout import crop_layout, visual_token_layout


@dataclass
class HVFAImageOutput(BaseModelOutputWithPooling):
    """Image features per sample (``pooler_output``) and the reconstruction loss of the batch."""

    reconstruction_loss: torch.Tensor | None = None


@dataclass
class HVFACausalLMOutputWithPast(Idefics3CausalLMOutputWithPast):
    """The host's output plus ``reconstruction_loss`` (unweighted, ``None`` when no image was given)."""

    reconstruction_loss: torch.Tensor | None = None


def tiles_to_map(tiles: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``(rows*cols, t*t, D)`` row-major tiles of row-major tokens -> one ``(rows*t, cols*t, D)`` map."""
    side = int(round(tiles.shape[1] ** 0.5))
    grid = tiles.reshape(rows, cols, side, side, tiles.shape[-1]).permute(0, 2, 1, 3, 4)
    return grid.reshape(rows * side, cols * side, tiles.shape[-1])


def map_to_tiles(feature_map: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Inverse of :func:`tiles_to_map`."""
    side = feature_map.shape[0] // rows
    grid = feature_map.reshape(rows, side, cols, side, feature_map.shape[-1]).permute(0, 2, 1, 3, 4)
    return grid.reshape(rows * cols, side * side, feature_map.shape[-1])


def grids_of_sample(image_grids: torch.Tensor, sample: int) -> list[tuple[int, int]]:
    """The base grids of one sample's images (rows with negative entries are padding)."""
    rows = image_grids[sample].round().long().tolist()
    return [(row[0], row[1]) for row in rows if row[0] >= 0 and row[1] >= 0]


class HVFAModel(Idefics3Model):
    config_class = HVFAConfig

    def __init__(self, config: HVFAConfig):
        super().__init__(config)
        self.aggregates = config.hvfa_scales == 3 and config.multiscale_mode == "aggregate"
        self.last_reconstruction_loss = None
        if self.aggregates:
            self.aggregator = HVFAAggregator(
                config.text_config.hidden_size,
                spatial_reduction=config.spatial_reduction,
                query_init=config.query_init,
                num_heads=config.num_pooling_heads,
                local_radius=config.local_radius,
                stop_gradient=config.stop_gradient,
                reconstruction_hidden_size=config.reconstruction_hidden_size,
                query_tile=config.tokens_per_side,
            )
            for module in self.aggregator.modules():
                module._hvfa_owned = True

    def _init_weights(self, module):
        if getattr(module, "_hvfa_owned", False):
            if isinstance(module, HVFAAggregator):
                module.reset_parameters()
            return
        super()._init_weights(module)

    def encode_crops(self, crops: torch.Tensor) -> torch.Tensor:
        """``(N, 3, S, S)`` crops -> ``(N, t*t, D_text)`` connector tokens."""
        hidden = self.vision_model(pixel_values=crops.to(self.dtype), return_dict=True).last_hidden_state
        return self.connector(hidden)

    def image_tokens(
        self, crop_features: torch.Tensor, grid: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One image's crop features (in :func:`crop_layout` order) -> its token blocks in prompt order."""
        config = self.config
        layout = crop_layout(grid, config.hvfa_scales)
        tiles = dict(zip(layout, crop_features, strict=True))
        loss = None
        if self.aggregates and grid != (0, 0):
            n_h, n_w = grid
            base = torch.stack([tiles[("base", r, c)] for r in range(n_h) for c in range(n_w)])
            fine = torch.stack([tiles[("fine", r, c)] for r in range(2 * n_h) for c in range(2 * n_w)])
            out = self.aggregator(
                tiles_to_map(base, n_h, n_w)[None], tiles_to_map(fine, 2 * n_h, 2 * n_w)[None]
            )
            for index, fused in enumerate(map_to_tiles(out.fused[0], n_h, n_w)):
                tiles[("base", index // n_w, index % n_w)] = fused
            loss = out.reconstruction_loss
        order = visual_token_layout(grid, config.hvfa_scales, config.multiscale_mode)
        return torch.cat([tiles[key] for key in order]), loss

    def get_image_features(
        self,
        pixel_values: torch.Tensor,
        pixel_attention_mask: torch.Tensor | None = None,
        image_grids: torch.Tensor | None = None,
        **kwargs,
    ) -> HVFAImageOutput:
        """Features per sample, ``(image tokens of the sample, D_text)`` each, and the reconstruction loss."""
        if image_grids is None:
            raise HFExtError("image_grids is required with pixel_values (HVFAProcessor returns both)")
        if pixel_values.ndim != 5 or image_grids.ndim != 3 or image_grids.shape[0] != pixel_values.shape[0]:
            raise HFExtError(
                f"pixel_values must be (batch, crops, 3, S, S) and image_grids (batch, images, 2), got "
                f"{tuple(pixel_values.shape)} and {tuple(image_grids.shape)}"
            )
        per_sample_grids, crops = [], []
        for sample in range(pixel_values.shape[0]):
            grids = grids_of_sample(image_grids, sample)
            count = sum(len(crop_layout(grid, self.config.hvfa_scales)) for grid in grids)
            if count > pixel_values.shape[1]:
                raise HFExtError(f"sample {sample}: image_grids need {count} crops, pixel_values holds fewer")
            per_sample_grids.append(grids)
            crops.append(pixel_values[sample, :count])
        features = self.encode_crops(torch.cat(crops))
        per_sample, losses, start = [], [], 0
        for grids in per_sample_grids:
            sample_tokens = []
            for grid in grids:
                count = len(crop_layout(grid, self.config.hvfa_scales))
                tokens, loss = self.image_tokens(features[start : start + count], grid)
                start += count
                sample_tokens.append(tokens)
                if loss is not None:
                    losses.append(loss)
            per_sample.append(
                torch.cat(sample_tokens) if sample_tokens else features.new_zeros(0, features.shape[-1])
            )
        loss = torch.stack(losses).mean() if losses else features.new_zeros(())
        # Kept for trainers whose forward does not return the image outputs (TRL's fused LM head).
        self.last_reconstruction_loss = loss
        return HVFAImageOutput(last_hidden_state=features, pooler_output=per_sample, reconstruction_loss=loss)

    def forward(self, *args, pixel_values=None, pixel_attention_mask=None, image_grids=None, **kwargs):
        if pixel_values is not None:
            if kwargs.get("mm_encoder_outputs") is not None:
                raise HFExtError("pass either pixel_values or mm_encoder_outputs, not both")
            kwargs["mm_encoder_outputs"] = {
                "image": self.get_image_features(pixel_values, image_grids=image_grids)
            }
        return super().forward(*args, **kwargs)


class HVFAForConditionalGeneration(Idefics3ForConditionalGeneration):
    """Idefics3/SmolVLM with HVFA multi-scale reading; loads with ``AutoModelForImageTextToText``."""

    config_class = HVFAConfig

    def __init__(self, config: HVFAConfig):
        # The host's __init__ minus building an Idefics3Model that would be thrown away.
        Idefics3PreTrainedModel.__init__(self, config)
        self.model = HVFAModel(config)
        self.image_token_id = config.image_token_id
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.vocab_size = config.text_config.vocab_size
        self.post_init()

    def _init_weights(self, module):
        if getattr(module, "_hvfa_owned", False):
            if isinstance(module, HVFAAggregator):
                module.reset_parameters()
            return
        super()._init_weights(module)

    def get_image_features(self, pixel_values, pixel_attention_mask=None, image_grids=None, **kwargs):
        return self.model.get_image_features(pixel_values, pixel_attention_mask, image_grids=image_grids)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        pixel_attention_mask: torch.Tensor | None = None,
        image_grids: torch.Tensor | None = None,
        mm_encoder_outputs: dict | None = None,
        labels: torch.LongTensor | None = None,
        **kwargs,
    ) -> HVFACausalLMOutputWithPast:
        if pixel_values is not None:
            if mm_encoder_outputs is not None:
                raise HFExtError("pass either pixel_values or mm_encoder_outputs, not both")
            mm_encoder_outputs = {"image": self.get_image_features(pixel_values, image_grids=image_grids)}
        output = super().forward(
            input_ids=input_ids,
            attention_mask=attention_mask,
            mm_encoder_outputs=mm_encoder_outputs,
            labels=labels,
            **kwargs,
        )
        image_output = output.image_outputs
        loss = getattr(image_output, "reconstruction_loss", None) if image_output is not None else None
        return HVFACausalLMOutputWithPast(**output, reconstruction_loss=loss)


def register_hvfa_classes() -> None:
    """Idempotent: registers the config, model and processor classes with the Auto classes once."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING, AutoConfig
    from transformers.models.auto.modeling_auto import AutoModelForImageTextToText
    from transformers.models.auto.processing_auto import AutoProcessor

    from hf_ext.multimodal.hvfa.processing import HVFAProcessor

    if HVFAConfig.model_type not in CONFIG_MAPPING:
        AutoConfig.register(HVFAConfig.model_type, HVFAConfig)
        AutoModelForImageTextToText.register(HVFAConfig, HVFAForConditionalGeneration)
        AutoProcessor.register(HVFAConfig, HVFAProcessor)


register_hvfa_classes()  # when this module is imported before transformers' Auto classes finished loading
