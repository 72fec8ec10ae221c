"""Configuration of :class:`~hf_ext.trainers.tree_preference_trainer.TreePreferenceTrainer`: TRL's
``DPOConfig`` plus how pairs are mined from inference trees, and optional adaptive preference scaling.

Example:
    >>> from hf_ext.trainers.tree_preference_config import TreePreferenceConfig
    >>> config = TreePreferenceConfig(output_dir="/tmp/hf-ext-tree-dpo", pair_mode="step", use_cpu=True)
    >>> config.pair_mode, config.dedup_pairs, config.adaptive_scaling, config.depth_bucket_edges
    ('step', True, False, [4, 8])
    >>> TreePreferenceConfig(output_dir="/tmp/x", pair_mode="tree", use_cpu=True)
    Traceback (most recent call last):
    ...
    ValueError: pair_mode must be 'step' or 'path', got 'tree'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import DPOConfig

from hf_ext.trainers.adaptive_dpo_config import validate_adaptive_dpo_losses
from hf_ext.trainers.adaptive_scaling import AdaptiveScalingArguments


@dataclass
class TreePreferenceConfig(AdaptiveScalingArguments, DPOConfig):
    """``DPOConfig`` for TP-LLaMA-style training on inference trees. Every ``DPOConfig`` field keeps its
    meaning; these are added:

    Parameters:
        pair_mode (`str`, defaults to `"step"`): `"step"` (TP-LLaMA's step-wise pairs) or `"path"` (the whole
            rest of the successful path over the whole failed branch).
        max_pairs_per_tree (`int` or `None`, defaults to `None`): keep at most this many pairs per tree (the
            shallowest first), >= 1.
        dedup_pairs (`bool`, defaults to `True`): drop pairs whose chosen and rejected texts are identical,
            and repeats of an earlier pair.
        include_thought (`bool`, defaults to `True`): serialise steps with their Thought; `False` compares the
            Action and Action Input only (DFSDT's chosen steps often open with a Thought that the rejected
            first expansion lacks, which DPO can learn instead of the better call).
        depth_bucket_edges (`list[int]`, defaults to `[4, 8]`): increasing tree depths that split the pairs'
            branching depths into buckets for the `rewards/accuracies_depth_<lo>-<hi>` metrics.
        adaptive_scaling (`bool`, defaults to `False`): replace the sigmoid loss by adaptive preference
            scaling (Hong et al. 2024), configured by the fields of
            :class:`~hf_ext.trainers.adaptive_dpo_config.AdaptiveDPOConfig` (`rho`, `tau_min`, `tau_max`,
            `tau_solver`, `tau_newton_steps`, `tau_regularizer`, `tau_history_size`, `tau_plots`), which are
            ignored otherwise.
    """

    pair_mode: str = field(default="step", metadata={"help": "Pairs to mine.", "choices": ["step", "path"]})
    max_pairs_per_tree: int | None = field(
        default=None, metadata={"help": "At most this many pairs per tree."}
    )
    dedup_pairs: bool = field(default=True, metadata={"help": "Drop identical-text and repeated pairs."})
    include_thought: bool = field(default=True, metadata={"help": "Serialise each step with its Thought."})
    depth_bucket_edges: list[int] = field(
        default_factory=lambda: [4, 8], metadata={"help": "Depth bucket edges for reward accuracy by depth."}
    )
    adaptive_scaling: bool = field(default=False, metadata={"help": "Use adaptive preference scaling."})

    def __post_init__(self):
        if self.pair_mode not in ("step", "path"):
            raise ValueError(f"pair_mode must be 'step' or 'path', got {self.pair_mode!r}")
        if self.max_pairs_per_tree is not None and self.max_pairs_per_tree < 1:
            raise ValueError(f"max_pairs_per_tree must be >= 1 or None, got {self.max_pairs_per_tree}")
        edges = list(self.depth_bucket_edges or [])
        if any(not isinstance(e, int) or e < 1 for e in edges) or edges != sorted(set(edges)):
            raise ValueError(f"depth_bucket_edges must be increasing integers >= 1, got {edges}")
        self.depth_bucket_edges = edges
        if self.adaptive_scaling:
            self.validate_adaptive_scaling()
        super().__post_init__()
        if self.adaptive_scaling:
            validate_adaptive_dpo_losses(self)

    def depth_bucket(self, depth: int) -> str:
        """The bucket name of a branching depth, e.g. ``"0-3"``, ``"4-7"``, ``"8+"`` for edges [4, 8]."""
        low = 0
        for edge in self.depth_bucket_edges:
            if depth < edge:
                return f"{low}-{edge - 1}"
            low = edge
        return f"{low}+"
