"""``HVFAProcessor``: pages -> the crop pyramid, and a prompt with as many image tokens as the model emits.

For each image it picks the base grid (:func:`~hf_ext.multimodal.hvfa.layout.select_grid`), cuts the
global view, the ``n_h x n_w`` base crops and the ``2n_h x 2n_w`` fine crops (SigLIP normalisation, mean and
std 0.5), and replaces the image's ``<image>`` placeholder in the text by one block per entry of
:func:`~hf_ext.multimodal.hvfa.layout.visual_token_layout`, written the way Idefics3's processor writes tiles
(``<fake_token_around_image><row_i_col_j>`` + ``tokens_per_crop`` image tokens, a newline after each row,
then the global view tagged ``<global-img>``). The model walks the same layout, so the counts cannot differ.

Outputs: ``input_ids``, ``attention_mask``, ``pixel_values`` ``(batch, max_crops, 3, S, S)`` (zero padding)
and ``image_grids`` ``(batch, max_images, 2)`` (``-1`` padding). ``save_pretrained`` writes
``processor_config.json`` and the tokenizer; ``AutoProcessor.from_pretrained`` reads them back after
``import hf_ext``.

Example:
    >>> from PIL import Image
    >>> from hf_ext.testing.hvfa import tiny_hvfa_processor
    >>> processor = tiny_hvfa_processor()
    >>> page = Image.new("RGB", (96, 64), "white")
    >>> batch = processor(text=["<image>Total?"], images=[[page]], return_tensors="pt")
    >>> batch["image_grids"].tolist()
    [[[2, 3]]]
    >>> processor.num_image_tokens(page)  # (1 global + 2*3 base crops) * 4 tokens
    28
    >>> int((batch["input_ids"] == processor.image_token_id).sum())
    28
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import AutoTokenizer, BatchFeature, ProcessorMixin

from hf_ext.errors import HFExtError
from hf_ext.multimodal.hvfa.layout import (
    MULTISCALE_MODES,
    SCALES,
    crop_layout,
    num_visual_tokens,
    select_grid,
    visual_token_layout,
)

PROCESSOR_CONFIG = "processor_config.json"
IMAGE_TOKEN = "<image>"
FAKE_TOKEN = "<fake_token_around_image>"
GLOBAL_TAG = "<global-img>"
END_OF_UTTERANCE = "<end_of_utterance>"
ROW_COL_TOKENS = [f"<row_{r + 1}_col_{c + 1}>" for r in range(6) for c in range(6)]
SETTINGS = (
    "crop_size",
    "tokens_per_crop",
    "hvfa_scales",
    "multiscale_mode",
    "max_crops",
    "image_mean",
    "image_std",
)
SPECIAL_TOKENS = [FAKE_TOKEN, IMAGE_TOKEN, GLOBAL_TAG, END_OF_UTTERANCE, *ROW_COL_TOKENS]


def _as_rgb(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray) and image.ndim in (2, 3):
        return Image.fromarray(image.astype(np.uint8)).convert("RGB")
    raise HFExtError(f"images must be PIL images or HxW(xC) uint8 arrays, got {type(image).__name__}")


class HVFAProcessor(ProcessorMixin):
    """Tokenizer + crop pyramid for :class:`~hf_ext.multimodal.hvfa.modeling.HVFAForConditionalGeneration`.

    Args:
        tokenizer: a tokenizer that knows ``<image>``, ``<fake_token_around_image>`` and ``<global-img>``.
        crop_size: encoder crop side in pixels (``vision_config.image_size``).
        tokens_per_crop: image tokens per crop (``HVFAConfig.tokens_per_crop``).
        hvfa_scales, multiscale_mode, max_crops: as in :class:`~hf_ext.multimodal.hvfa.HVFAConfig`.
    """

    model_input_names = ["input_ids", "attention_mask", "pixel_values", "image_grids"]

    def __init__(
        self,
        tokenizer,
        *,
        crop_size: int,
        tokens_per_crop: int,
        hvfa_scales: int = 3,
        multiscale_mode: str = "aggregate",
        max_crops: int = 9,
        image_mean: float = 0.5,
        image_std: float = 0.5,
        chat_template: str | None = None,
    ):
        if hvfa_scales not in SCALES or multiscale_mode not in MULTISCALE_MODES:
            raise HFExtError(f"bad hvfa_scales={hvfa_scales} or multiscale_mode={multiscale_mode!r}")
        if crop_size < 1 or tokens_per_crop < 1 or max_crops < 1:
            raise HFExtError("crop_size, tokens_per_crop and max_crops must be positive")
        self.tokenizer = tokenizer
        self.crop_size, self.tokens_per_crop = crop_size, tokens_per_crop
        self.hvfa_scales, self.multiscale_mode, self.max_crops = hvfa_scales, multiscale_mode, max_crops
        self.image_mean, self.image_std = image_mean, image_std
        self.chat_template = chat_template or getattr(tokenizer, "chat_template", None)
        self.image_token = IMAGE_TOKEN
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        if self.image_token_id is None or self.image_token_id == tokenizer.unk_token_id:
            raise HFExtError(f"the tokenizer has no {IMAGE_TOKEN!r} token; add HVFA's special tokens first")

    @classmethod
    def from_config(cls, tokenizer, config, **kwargs) -> HVFAProcessor:
        """The processor matching an :class:`~hf_ext.multimodal.hvfa.HVFAConfig`."""
        return cls(
            tokenizer,
            crop_size=config.crop_size,
            tokens_per_crop=config.tokens_per_crop,
            hvfa_scales=config.hvfa_scales,
            multiscale_mode=config.multiscale_mode,
            max_crops=config.max_crops,
            **kwargs,
        )

    # ---- images -------------------------------------------------------------------------------------------

    def grid_for(self, image: Image.Image) -> tuple[int, int]:
        """The base grid of one image (``(0, 0)`` with a single scale: the global view only)."""
        if self.hvfa_scales == 1:
            return (0, 0)
        return select_grid(image.height, image.width, self.crop_size, self.max_crops)

    def num_image_tokens(self, image: Any) -> int:
        """Image tokens this image adds to the prompt."""
        grid = self.grid_for(_as_rgb(image))
        return num_visual_tokens(grid, self.tokens_per_crop, self.hvfa_scales, self.multiscale_mode)

    def _normalise(self, image: Image.Image) -> np.ndarray:
        array = np.asarray(image, dtype=np.float32) / 255.0
        return ((array - self.image_mean) / self.image_std).transpose(2, 0, 1)

    def crops(self, image: Any) -> tuple[np.ndarray, tuple[int, int]]:
        """``(crops, grid)``: the ``(N, 3, S, S)`` crops in :func:`crop_layout` order and the base grid."""
        image = _as_rgb(image)
        size, grid = self.crop_size, self.grid_for(image)
        resized = {"global": self._normalise(image.resize((size, size), Image.Resampling.BICUBIC))}
        for level, factor in (("base", 1), ("fine", 2)):
            if grid != (0, 0):
                shape = (grid[1] * factor * size, grid[0] * factor * size)
                resized[level] = self._normalise(image.resize(shape, Image.Resampling.BICUBIC))
        out = []
        for level, row, col in crop_layout(grid, self.hvfa_scales):
            page = resized[level]
            out.append(page[:, row * size : (row + 1) * size, col * size : (col + 1) * size])
        return np.stack(out), grid

    # ---- text ---------------------------------------------------------------------------------------------

    def image_prompt(self, grid: tuple[int, int]) -> str:
        """The text one image's ``<image>`` placeholder becomes."""
        block = IMAGE_TOKEN * self.tokens_per_crop
        layout = visual_token_layout(grid, self.hvfa_scales, self.multiscale_mode)
        if len(layout) == 1:
            return f"{FAKE_TOKEN}{GLOBAL_TAG}{block}{FAKE_TOKEN}"
        parts = []
        for level, row, col in layout:
            if level == "global":
                parts.append(f"\n{FAKE_TOKEN}{GLOBAL_TAG}{block}{FAKE_TOKEN}")
                continue
            columns = grid[1] * (2 if level == "fine" else 1)
            tag = f"<row_{row + 1}_col_{col + 1}>" if level == "base" and row < 6 and col < 6 else ""
            parts.append(f"{FAKE_TOKEN}{tag}{block}" + ("\n" if col == columns - 1 else ""))
        return "".join(parts)

    def _nest_images(self, images: Any, texts: list[str] | None) -> list[list[Any]]:
        if images is None:
            return []
        if not isinstance(images, (list, tuple)):
            return [[images]]
        if all(isinstance(item, (list, tuple)) for item in images):
            return [list(item) for item in images]
        if texts is None:
            return [list(images)]
        counts, nested, start = [text.count(IMAGE_TOKEN) for text in texts], [], 0
        for count in counts:
            nested.append(list(images[start : start + count]))
            start += count
        if start != len(images):
            raise HFExtError(
                f"{len(images)} images given but the texts hold {sum(counts)} {IMAGE_TOKEN} tokens"
            )
        return nested

    def __call__(
        self,
        images: Any = None,
        text: str | list[str] | None = None,
        *,
        padding: bool | str = False,
        truncation: bool | None = None,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
        padding_side: str | None = None,
        pad_to_multiple_of: int | None = None,
        **unused: Any,
    ) -> BatchFeature:
        texts = [text] if isinstance(text, str) else (list(text) if text is not None else None)
        nested = self._nest_images(images, texts)
        if texts is None:
            texts = [IMAGE_TOKEN * len(sample) for sample in nested]
        if nested and len(nested) != len(texts):
            raise HFExtError(f"{len(texts)} texts but images for {len(nested)} samples")
        if not nested:
            nested = [[] for _ in texts]
        expanded, crops, grids, expected = [], [], [], []
        for index, (sample_text, sample_images) in enumerate(zip(texts, nested, strict=True)):
            pieces = sample_text.split(IMAGE_TOKEN)
            if len(pieces) - 1 != len(sample_images):
                raise HFExtError(
                    f"text {index} holds {len(pieces) - 1} {IMAGE_TOKEN} tokens but "
                    f"{len(sample_images)} images"
                )
            sample_crops, sample_grids, prompt = [], [], pieces[0]
            for image, piece in zip(sample_images, pieces[1:], strict=True):
                image_crops, grid = self.crops(image)
                sample_crops.append(image_crops)
                sample_grids.append(grid)
                prompt += self.image_prompt(grid) + piece
            expanded.append(prompt)
            crops.append(np.concatenate(sample_crops) if sample_crops else None)
            grids.append(sample_grids)
            expected.append(
                sum(
                    num_visual_tokens(g, self.tokens_per_crop, self.hvfa_scales, self.multiscale_mode)
                    for g in grids[-1]
                )
            )
        encoding = self.tokenizer(
            expanded,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            add_special_tokens=add_special_tokens,
            pad_to_multiple_of=pad_to_multiple_of,
            return_tensors=return_tensors,
            **({"padding_side": padding_side} if padding_side else {}),
        )
        for index, ids in enumerate(encoding["input_ids"]):
            found = int((np.asarray(ids) == self.image_token_id).sum())
            if found != expected[index]:
                raise HFExtError(
                    f"text {index}: {found} image tokens after tokenization, the images need "
                    f"{expected[index]} (truncation cut them? raise max_length)"
                )
        data = dict(encoding)
        if any(grids):
            max_crops = max(len(c) if c is not None else 0 for c in crops)
            max_images = max(len(g) for g in grids)
            size = self.crop_size
            pixel_values = np.zeros((len(texts), max_crops, 3, size, size), dtype=np.float32)
            image_grids = np.full((len(texts), max_images, 2), -1, dtype=np.int64)
            for index, (sample_crops, sample_grids) in enumerate(zip(crops, grids, strict=True)):
                if sample_crops is not None:
                    pixel_values[index, : len(sample_crops)] = sample_crops
                    image_grids[index, : len(sample_grids)] = np.asarray(sample_grids, dtype=np.int64)
            data["pixel_values"], data["image_grids"] = pixel_values, image_grids
            if return_tensors == "pt":
                data["pixel_values"] = torch.from_numpy(pixel_values)
                data["image_grids"] = torch.from_numpy(image_grids)
        return BatchFeature(data=data, tensor_type=None)

    # ---- tokenizer passthrough and chat template ---------------------------------------------------------

    def apply_chat_template(
        self,
        conversation,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        tokenize: bool = False,
        return_dict: bool = False,
        return_tensors: str | None = None,
        processor_kwargs: dict | None = None,
        **kwargs,
    ):
        """Render messages whose content may list ``{"type": "image"}`` and ``{"type": "text"}`` parts.

        Image parts become ``<image>``; with ``tokenize=True`` the images carried by the parts
        (``{"type": "image", "image": <PIL image>}``, as TRL writes them) are processed too.
        """
        if kwargs.pop("return_assistant_tokens_mask", False):
            raise HFExtError("HVFAProcessor does not build assistant masks; use prompt-completion data")
        kwargs.pop("tools", None)
        batched = bool(conversation) and isinstance(conversation[0], (list, tuple))
        conversations = conversation if batched else [conversation]
        rendered, images = [], []
        for messages in conversations:
            flat, sample_images = [], []
            for message in messages:
                content = message["content"]
                if isinstance(content, list):
                    parts = []
                    for part in content:
                        if part.get("type") == "image":
                            parts.append(IMAGE_TOKEN)
                            if part.get("image") is not None:
                                sample_images.append(part["image"])
                        else:
                            parts.append(part.get("text", ""))
                    content = "".join(parts)
                flat.append({**message, "content": content})
            images.append(sample_images)
            rendered.append(
                self.tokenizer.apply_chat_template(
                    flat,
                    tokenize=False,
                    add_generation_prompt=add_generation_prompt,
                    chat_template=chat_template or self.chat_template,
                    **kwargs,
                )
            )
        if not tokenize:
            return rendered if batched else rendered[0]
        encoding = self(
            images=images if any(images) else None,
            text=rendered,
            return_tensors=return_tensors,
            **{"add_special_tokens": False, **(processor_kwargs or {})},
        )
        return encoding if return_dict else encoding["input_ids"]

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)

    # ---- saving and loading -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"processor_class": type(self).__name__, **{name: getattr(self, name) for name in SETTINGS}}

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> list[str]:
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = list(self.tokenizer.save_pretrained(directory))
        path = directory / PROCESSOR_CONFIG
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return [*files, str(path)]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> HVFAProcessor:
        """Load from a folder or Hub id holding ``processor_config.json`` and a tokenizer."""
        from huggingface_hub import hf_hub_download

        source = str(pretrained_model_name_or_path)
        hub_kwargs = {key: kwargs[key] for key in ("revision", "token", "cache_dir") if key in kwargs}
        local = Path(source) / PROCESSOR_CONFIG
        path = local if local.is_file() else Path(hf_hub_download(source, PROCESSOR_CONFIG, **hub_kwargs))
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise HFExtError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
        if settings.pop("processor_class", cls.__name__) != cls.__name__:
            raise HFExtError(f"{path}: processor_class is not {cls.__name__}")
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise HFExtError(f"{path}: unknown field(s) {sorted(unknown)}")
        tokenizer = AutoTokenizer.from_pretrained(source, **hub_kwargs)
        return cls(tokenizer, **settings)
