"""HVFA: hierarchical visual feature aggregation for OCR-free document reading (Park et al., NeurIPS 2024).

Names are imported lazily (the model pulls in torch and transformers).

* :class:`HVFAConfig`, :class:`HVFAForConditionalGeneration`, :class:`HVFAProcessor` (Auto-registered);
* :class:`HVFAAggregator`, the host-agnostic pooling/fusion/reconstruction module;
* :func:`num_visual_tokens`, :func:`visual_token_layout`, :func:`crop_layout`, :func:`select_grid`: the one
  token-count logic the processor and the model share.

Example:
    >>> from hf_ext.multimodal.hvfa import num_visual_tokens
    >>> [num_visual_tokens((3, 2), 64, scales=s, multiscale_mode=m) for s, m in [(2, "aggregate"),
    ...     (3, "concat"), (3, "aggregate")]]  # single-scale, naive multi-scale, HVFA
    [448, 1984, 448]
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HVFAConfig": "hf_ext.multimodal.hvfa.configuration",
    "HVFAForConditionalGeneration": "hf_ext.multimodal.hvfa.modeling",
    "HVFAModel": "hf_ext.multimodal.hvfa.modeling",
    "HVFAProcessor": "hf_ext.multimodal.hvfa.processing",
    "HVFAAggregator": "hf_ext.multimodal.hvfa.aggregation",
    "num_visual_tokens": "hf_ext.multimodal.hvfa.layout",
    "visual_token_layout": "hf_ext.multimodal.hvfa.layout",
    "crop_layout": "hf_ext.multimodal.hvfa.layout",
    "select_grid": "hf_ext.multimodal.hvfa.layout",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hf_ext.multimodal.hvfa' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
