"""TP-LLaMA: DPO on step-wise preferences mined from tool-use inference trees (Chen et al., NeurIPS 2024,
arXiv 2406.07115).

:class:`TreePreferenceTrainer` is TRL's ``DPOTrainer`` that also accepts inference trees as its datasets: a
ToolBench answer file, a folder or glob of them, a list of answer-file dicts, or a ``datasets.Dataset`` of
tree dicts or of ``tree_file`` paths. It mines them with :mod:`hf_ext.data.tool_trees` (``pair_mode``,
``max_pairs_per_tree``, ``dedup_pairs``, ``include_thought``); ready pairs (``prompt``/``chosen``/
``rejected``) pass through untouched. With ``adaptive_scaling=True`` the per-pair loss becomes adaptive
preference scaling through the same code as :class:`~hf_ext.trainers.adaptive_dpo_trainer.AdaptiveDPOTrainer`.

Besides DPO's metrics it logs, once, how many trees were read and the pairs per tree, and at every step the
mean branching depth of the batch's pairs and ``rewards/accuracies_depth_<bucket>``: the share of pairs whose
Bradley-Terry margin is positive, per bucket of branching depth (``depth_bucket_edges``). The depth metrics
need a ``depth`` column (mined pairs have one) and a sigmoid-type loss.

Example:
    >>> import tempfile
    >>> from hf_ext import TreePreferenceConfig, TreePreferenceTrainer
    >>> from hf_ext.testing import tiny_causal_lm
    >>> from hf_ext.testing.tool_trees import write_tool_trees
    >>> trees = tempfile.mkdtemp()
    >>> _ = write_tool_trees(trees, count=8, seed=0)
    >>> model, tokenizer = tiny_causal_lm()
    >>> reference, _ = tiny_causal_lm()
    >>> args = TreePreferenceConfig(output_dir=tempfile.mkdtemp(), max_steps=1, per_device_train_batch_size=2,
    ...                             max_length=256, report_to="none", use_cpu=True, bf16=False)
    >>> trainer = TreePreferenceTrainer(model=model, ref_model=reference, args=args, train_dataset=trees,
    ...                                 processing_class=tokenizer)
    >>> trainer.tree_stats["trees"], trainer.tree_stats["pairs"] > 0
    (8, True)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import trl.trainer.dpo_trainer as trl_dpo_trainer
from trl import DPOTrainer

from hf_ext.data.tool_trees import (
    InferenceTree,
    _features,
    iter_inference_trees,
    mine_pairs,
    pair_record,
    tree_files,
)
from hf_ext.errors import HFExtError
from hf_ext.trainers.adaptive_dpo_config import ADAPTIVE_LOSS_TYPES
from hf_ext.trainers.adaptive_scaling import AdaptiveScalingMixin
from hf_ext.trainers.tree_preference_config import TreePreferenceConfig

PAPER = {
    "title": (
        "Advancing Tool-Augmented Large Language Models: Integrating Insights from Errors in Inference Trees"
    ),
    "id": "2406.07115",
    "citation": """\
@inproceedings{chen2024advancing,
    title     = {{Advancing Tool-Augmented Large Language Models: Integrating Insights from Errors in
                 Inference Trees}},
    author    = {Sijia Chen and Yibo Wang and Yi-Feng Wu and Qing-Guo Chen and Zhao Xu and Weihua Luo and
                 Kaifu Zhang and Lijun Zhang},
    year      = 2024,
    booktitle = {Advances in Neural Information Processing Systems 37 (NeurIPS 2024)},
    eprint    = {arXiv:2406.07115},
}""",
}
DEPTH_METRIC_LOSS_TYPES = ("sigmoid", "sigmoid_norm")


# --- datasets: trees -> pairs ----------------------------------------------------------------------------


def _is_tree_dict(item: Any) -> bool:
    return isinstance(item, dict) and "answer_generation" in item and "tree" in item


def _tree_source(dataset: Any) -> Any | None:
    """What :func:`iter_inference_trees` should read when ``dataset`` holds trees, else None (pairs)."""
    if isinstance(dataset, str | os.PathLike):
        return dataset
    if _is_tree_dict(dataset):
        return [dataset]
    if isinstance(dataset, list | tuple):
        if not dataset:
            raise HFExtError("the dataset is an empty list: give inference trees or preference pairs")
        first = dataset[0]
        return list(dataset) if isinstance(first, InferenceTree) or _is_tree_dict(first) else None
    columns = getattr(dataset, "column_names", None)
    if isinstance(columns, list):
        if "tree_file" in columns and "chosen" not in columns:
            return [Path(p) for p in dataset["tree_file"]]
        if "answer_generation" in columns and "tree" in columns:
            return iter(dataset)
    return None


def mine_tree_dataset(
    dataset: Any, args: TreePreferenceConfig, split: str = "train"
) -> tuple[Any, dict | None]:
    """``(pairs, stats)`` for a dataset of trees (see the module doc); other datasets come back unchanged
    with ``stats`` None. A list of pair dicts becomes a ``datasets.Dataset``."""
    from datasets import Dataset

    if dataset is None:
        return None, None
    source = _tree_source(dataset)
    if source is None:
        if isinstance(dataset, list | tuple):
            return Dataset.from_list(list(dataset)), None
        return dataset, None
    counts = {"trees": 0, "wins": 0}
    trees_with_pairs: set[int] = set()

    def counted(trees: Iterator[InferenceTree]) -> Iterator[InferenceTree]:
        for tree in trees:
            counts["trees"] += 1
            counts["wins"] += tree.win
            yield tree

    rows, depths = [], []
    pairs = mine_pairs(
        counted(iter_inference_trees(source)),
        mode=args.pair_mode,
        dedup=args.dedup_pairs,
        max_pairs_per_tree=args.max_pairs_per_tree,
        include_thought=args.include_thought,
    )
    for pair in pairs:
        rows.append(pair_record(pair))
        depths.append(pair.depth)
        trees_with_pairs.add(counts["trees"])
    if not rows:
        raise HFExtError(
            f"{split} dataset: no preference pairs in {counts['trees']} inference tree(s) "
            f"({counts['wins']} won); pairs need a won tree whose success path branches"
        )
    stats = {
        "trees": counts["trees"],
        "wins": counts["wins"],
        "pairs": len(rows),
        "trees_with_pairs": len(trees_with_pairs),
        "pairs_per_tree": len(rows) / counts["trees"],
        "pair_depth_mean": sum(depths) / len(depths),
    }
    return Dataset.from_list(rows, features=_features(args.pair_mode)), stats


def load_tree_recipe_dataset(script_args) -> tuple[Any, Any]:
    """The recipe loader of ``tree-dpo``: ``dataset_name`` may be a folder, glob or file of inference trees
    (a ``tree_file`` dataset, mined by the trainer) or a ToolPreference JSON list; anything else goes to
    :func:`hf_ext.trainers.launch.load_recipe_dataset`."""
    from datasets import Dataset

    from hf_ext.data.tool_trees import load_tool_preference
    from hf_ext.trainers.launch import load_recipe_dataset

    name = script_args.dataset_name
    if name and not name.startswith("hf-ext-testing:"):
        path = Path(name)
        if path.is_file() and path.suffix == ".json" and _first_character(path) == "[":
            return load_tool_preference(path), None
        saved = (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()
        is_glob = any(char in name for char in "*?[")
        if (path.is_dir() and not saved) or (path.is_file() and path.suffix == ".json") or is_glob:
            files = tree_files(name)
            if not files:
                raise HFExtError(f"dataset_name {name!r}: no *.json inference trees found")
            return Dataset.from_dict({"tree_file": [str(p) for p in files]}), None
    return load_recipe_dataset(script_args)


def _first_character(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        while (char := handle.read(1)).isspace():
            pass
    return char


class _DepthCollator:
    """TRL's preference collator, plus the branching depths as ``pair_depth`` when every row has one."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.inner(examples)
        depths = [example.get("depth") for example in examples]
        if depths and all(isinstance(depth, int) for depth in depths):
            batch["pair_depth"] = torch.tensor(depths, dtype=torch.long)
        return batch


# --- the trainer -----------------------------------------------------------------------------------------


class TreePreferenceTrainer(AdaptiveScalingMixin, DPOTrainer):
    """``DPOTrainer`` whose datasets may be inference trees; takes the same arguments, with a
    :class:`~hf_ext.trainers.tree_preference_config.TreePreferenceConfig` as ``args``."""

    _tag_names = ["trl", "dpo", "tree-dpo", "tp-llama", "hf-ext"]
    _name = "Tree Preference DPO (TP-LLaMA)"
    _paper = PAPER
    _logsigmoid_module = trl_dpo_trainer
    _logsigmoid_path = ("F",)
    _config_cls = TreePreferenceConfig
    _default_output_dir = "tree-dpo-output"

    def __init__(
        self,
        model,
        ref_model=None,
        args: TreePreferenceConfig | None = None,
        data_collator=None,
        train_dataset=None,
        eval_dataset=None,
        **kwargs,
    ):
        args = self._resolved_config(args)  # mining needs the config's pair settings
        train_dataset, self.tree_stats = mine_tree_dataset(train_dataset, args, "train")
        if isinstance(eval_dataset, dict) and not _is_tree_dict(eval_dataset):
            eval_dataset = {
                name: mine_tree_dataset(part, args, f"eval[{name!r}]")[0]
                for name, part in eval_dataset.items()
            }
        else:
            eval_dataset = mine_tree_dataset(eval_dataset, args, "eval")[0]
        args = self._checked_arguments(args, train_dataset, eval_dataset)
        if args.adaptive_scaling:
            self._tag_names = [*type(self)._tag_names, "adaptive-dpo"]
        self._pending_tree_logs = (
            {f"trees/{key}": float(value) for key, value in self.tree_stats.items()}
            if self.tree_stats
            else None
        )
        super().__init__(
            model,
            ref_model,
            args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            **kwargs,
        )
        self.data_collator = _DepthCollator(self.data_collator)
        self._depth_metrics = (
            self.loss_types[0] in DEPTH_METRIC_LOSS_TYPES and self.f_divergence_type != "js_divergence"
        )
        if args.adaptive_scaling:
            self.add_tau_plot_callback()

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if "depth" not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, "depth"]

    @contextlib.contextmanager
    def _recording_logsigmoid(self) -> Iterator[list[torch.Tensor]]:
        """Within this scope TRL's ``logsigmoid`` is the plain one, and its arguments are recorded."""
        calls: list[torch.Tensor] = []
        original = torch.nn.functional.logsigmoid

        def recording(z: torch.Tensor, *rest: Any, **kwargs: Any) -> torch.Tensor:
            calls.append(z.detach().float().reshape(-1))
            return original(z, *rest, **kwargs)

        with self.logsigmoid_scope(recording):
            yield calls

    def _compute_loss(self, model, inputs, return_outputs):
        depths = inputs.pop("pair_depth", None)
        if self.args.adaptive_scaling:
            adaptive_terms = sum(loss_type in ADAPTIVE_LOSS_TYPES for loss_type in self.loss_types)
            with self.adaptive_loss_scope(expected_calls=adaptive_terms):
                result = super()._compute_loss(model, inputs, return_outputs)
            margins = [z for z, _ in self._tau_calls]
        elif depths is not None and self._depth_metrics:
            with self._recording_logsigmoid() as margins:
                result = super()._compute_loss(model, inputs, return_outputs)
        else:
            result, margins = super()._compute_loss(model, inputs, return_outputs), []
        if depths is not None and self._depth_metrics and margins:
            self._log_depth_metrics(margins[0], depths)
        return result

    def _log_depth_metrics(self, margins: torch.Tensor, depths: torch.Tensor) -> None:
        mode = "train" if self.model.training else "eval"
        device = self.accelerator.device
        margins, depths = self.accelerator.gather_for_metrics((margins.to(device), depths.to(device)))
        metrics = self._metrics[mode]
        metrics["pairs/depth_mean"].append(depths.float().mean().item())
        buckets: dict[str, list[bool]] = {}
        for margin, depth in zip(margins.tolist(), depths.tolist(), strict=True):
            buckets.setdefault(self.args.depth_bucket(int(depth)), []).append(margin > 0)
        for bucket, correct in buckets.items():
            metrics[f"rewards/accuracies_depth_{bucket}"].append(sum(correct) / len(correct))

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._pending_tree_logs and self.model.training:
            logs.update(self._pending_tree_logs)
            self._pending_tree_logs = None
        super().log(logs, start_time)
