"""Register HVFA with ``AutoConfig``, ``AutoModelForImageTextToText`` and ``AutoProcessor``.

Called by :mod:`hf_ext.pruning.auto_registration`'s import hook right after transformers' Auto model classes
load (so ``import hf_ext`` stays fast), or at the end of :mod:`hf_ext.multimodal.hvfa.modeling` when that is
imported first. A saved folder then loads with plain ``from_pretrained`` and no remote code.

Example:
    >>> import hf_ext  # installs the hook
    >>> from transformers import AutoConfig
    >>> AutoConfig.for_model("hfx_hvfa_idefics3").model_type
    'hfx_hvfa_idefics3'
"""

from __future__ import annotations


def register_hvfa_classes() -> None:
    """Idempotent: registers the config, model and processor classes once (defined beside the model)."""
    from hf_ext.multimodal.hvfa.modeling import register_hvfa_classes as register

    register()
