"""Multimodal parts: HVFA multi-scale reading (:mod:`.hvfa`) and synthetic documents (:mod:`.documents`).

Example:
    >>> from hf_ext.multimodal.hvfa.layout import num_visual_tokens
    >>> num_visual_tokens((2, 3), tokens_per_crop=64, scales=3, multiscale_mode="aggregate")
    448
"""
