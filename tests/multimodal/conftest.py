"""Shared fixtures of the multimodal tests: one tiny HVFA model per configuration, built once."""

import functools

import pytest
from PIL import Image, ImageDraw

from hf_ext.testing.hvfa import tiny_hvfa


@functools.cache
def cached_tiny_hvfa(**overrides):
    return tiny_hvfa(**overrides)


def page(width: int, height: int, seed: int = 0) -> Image.Image:
    """A page with some dark strokes, so crops differ from each other."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for k in range(6):
        y = (seed * 7 + k * 13) % max(height, 1)
        draw.line([(0, y), (width, (y * 3) % max(height, 1))], fill=(20 * k, 0, 255 - 30 * k), width=2)
    return image


@pytest.fixture
def make_page():
    return page
