"""``SlimGPTPruner``: Optimum-style, layer-by-layer structured pruning; the saved model loads anywhere.

Per decoder layer, in order, with inputs recomputed through the already-pruned layers:

1. collect ``H = 2XXᵀ/N`` (float32) of the ``o_proj`` inputs; remove heads (whole KV groups for GQA models) by
   batched greedy search with grouped-Cholesky errors and OBS compensation; drop the heads' q/k/v rows;
2. run the layer again, collect ``H`` of the ``down_proj`` inputs; remove FFN channels with Dynamic Group Size
   and OBS compensation; drop their gate/up rows;
3. run the pruned layer to get the next layer's inputs.

Only the layer being pruned is moved to ``config.device``: a model kept on the CPU is pruned on one GPU.
With ``checkpoint_dir``, each finished layer and the next layer's inputs are saved, and a rerun with the same
arguments resumes after the last finished layer.

Example:
    >>> from hf_ext import SlimGPTConfig, SlimGPTPruner
    >>> from hf_ext.testing import reference_texts
    >>> config = SlimGPTConfig(sparsity=0.2, num_calibration_samples=8, calibration_seq_len=64)
    >>> pruner = SlimGPTPruner.from_pretrained("hf-ext-testing:tiny-llama", config=config)
    >>> model = pruner.prune(calibration_dataset=list(reference_texts("train")))
    >>> abs(pruner.summary["achieved_sparsity"] - 0.2) < 0.02
    True
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from hf_ext.errors import HFExtError
from hf_ext.outputs import check_output_dir, staged_output_dir
from hf_ext.pruning.calibration import calibration_tokens
from hf_ext.pruning.slimgpt.config import SlimGPTConfig
from hf_ext.pruning.slimgpt.layers import (
    attention_units,
    check_supported,
    input_hessian,
    layer_shape,
    layer_sizes,
    remove_attention_units,
    remove_mlp_channels,
    resize_layer,
)
from hf_ext.pruning.slimgpt.saving import check_save_dir, model_card, save_slim_model, to_slim_model
from hf_ext.pruning.slimgpt.schedules import MAX_LAYER_RATIO, LayerPlan, plan_model, removed_fraction
from hf_ext.pruning.slimgpt.search import SlimGPTSelection
from hf_ext.utils import atomic_write_text

logger = logging.getLogger(__name__)

PROGRESS_FILE = "progress.json"
HIDDEN_STATES_FILE = "hidden_states.safetensors"


def remove_checkpoint_files(directory: Path) -> None:
    """Delete the files a run wrote into ``directory`` (layers, hidden states, progress), then the folder
    if nothing else is in it; other files are left alone."""
    for path in directory.glob("layer_*.safetensors"):
        path.unlink()
    for name in (HIDDEN_STATES_FILE, PROGRESS_FILE):
        (directory / name).unlink(missing_ok=True)
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


class _LayerInputsCaptured(Exception):
    """Raised by the hook on the first decoder layer once its inputs are stored."""


class SlimGPTPruner:
    """Structured pruning of heads and FFN channels with OBS compensation (SlimGPT, NeurIPS 2024).

    Build with :meth:`from_pretrained`, run :meth:`prune`; ``summary`` then holds per-layer sizes, ratios,
    parameter counts and (with ``eval_texts``) perplexities. Subclasses change ``config_class`` and
    ``selection`` (how columns are chosen) and reuse everything else, as the baselines do.
    """

    config_class: type[SlimGPTConfig] = SlimGPTConfig
    selection = SlimGPTSelection()

    def __init__(
        self, model, tokenizer=None, config: SlimGPTConfig | dict | None = None, source: str | None = None
    ):
        if isinstance(config, dict):
            config = self.config_class(**config)
        self.config = config if config is not None else self.config_class()
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        self.layers = check_supported(model)
        self.summary: dict[str, Any] | None = None
        self.save_dir: Path | None = None

    @classmethod
    def from_pretrained(
        cls, model_or_path, config: SlimGPTConfig | dict | None = None, tokenizer=None, **load_kwargs: Any
    ) -> SlimGPTPruner:
        """A pruner for a model instance, a local folder, a Hub id or an ``hf-ext-testing:`` name.

        ``load_kwargs`` go to ``AutoModelForCausalLM.from_pretrained`` (``dtype``, ``revision``, ...);
        ``trust_remote_code`` is False unless given. Without ``tokenizer``, the folder's tokenizer is loaded.
        """
        if isinstance(model_or_path, str | Path):
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from hf_ext.names import resolve_model_name

            name = resolve_model_name(str(model_or_path))
            load_kwargs.setdefault("trust_remote_code", False)
            model = AutoModelForCausalLM.from_pretrained(name, **load_kwargs)
            if tokenizer is None:
                tokenizer = AutoTokenizer.from_pretrained(
                    name, trust_remote_code=load_kwargs["trust_remote_code"]
                )
            return cls(model.eval(), tokenizer, config, source=name)
        return cls(model_or_path, tokenizer, config, source=getattr(model_or_path, "name_or_path", None))

    # --- the run --------------------------------------------------------------------------------------------

    def plan(self) -> list[LayerPlan]:
        """Per-layer ratios and the heads/channels each layer will lose (no pruning happens)."""
        config = self.config
        shapes = [layer_shape(layer, config.min_heads_per_layer) for layer in self.layers]
        return plan_model(
            shapes,
            config.sparsity,
            config.schedule,
            first_ratio=config.first_ratio,
            last_ratio=config.last_ratio,
            spread=config.spread,
            prune_attention=config.prune_attention,
            prune_mlp=config.prune_mlp,
            log_layers=config.log_schedule_layers,
        )

    @torch.no_grad()
    def prune(
        self,
        calibration_dataset: Any = None,
        save_dir: str | Path | None = None,
        *,
        checkpoint_dir: str | Path | None = None,
        eval_texts: list[str] | None = None,
        overwrite: bool = False,
        keep_checkpoints: bool = True,
        remote_code: bool = False,
    ):
        """Prune every decoder layer and return the pruned ``PreTrainedModel`` (saved too if ``save_dir``).

        Args:
            calibration_dataset: ``"c4"``/``"wikitext2"``, a list of strings, a ``datasets.Dataset`` with a
                ``text`` column, or token ids (see :mod:`hf_ext.pruning.calibration`).
            save_dir: where to save the pruned model (never the source folder).
            checkpoint_dir: per-layer checkpoints; an interrupted run resumes from them.
            eval_texts: held-out texts; perplexity before and after goes into ``summary`` and the model card.
            overwrite: replace a non-empty ``save_dir`` (checked before any work; written beside it and
                swapped in at the end).
            keep_checkpoints: keep ``checkpoint_dir``'s files after a successful run (the CLI removes them).
            remote_code: also save the modeling code and an ``auto_map`` for ``trust_remote_code=True`` users
                without hf-ext (see :meth:`save`).
        """
        config = self.config
        source_dir = self.source if self.source and Path(self.source).exists() else None
        save_path = None
        if save_dir is not None:
            save_path = check_save_dir(save_dir, source_dir)
            check_output_dir(save_path, overwrite=overwrite, flag="save_dir", overwrite_flag="overwrite=True")
        checkpoint_path = check_save_dir(checkpoint_dir, source_dir) if checkpoint_dir is not None else None
        if calibration_dataset is None and self.selection.needs_hessian:
            raise ValueError(f"{config.method_name()} needs calibration_dataset")
        started = time.perf_counter()
        shapes = [layer_shape(layer, config.min_heads_per_layer) for layer in self.layers]
        plans = self.plan()
        self._check_reachable(shapes, plans)
        parameters_before = sum(p.numel() for p in self.model.parameters())
        perplexity_before = self._perplexity(eval_texts)

        device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        batches = self._layer_inputs(calibration_dataset, device)
        first_layer = self._resume(checkpoint_path, batches, plans) if checkpoint_path else 0
        layer_seconds: list[float] = []
        progress = tqdm(
            range(first_layer, len(self.layers)), desc=f"{config.method_name()}: layers", leave=False
        )
        for index in progress:
            layer_started = time.perf_counter()
            self._prune_layer(index, plans[index], batches, device)
            layer_seconds.append(time.perf_counter() - layer_started)
            if checkpoint_path:
                self._save_checkpoint(checkpoint_path, index, batches, plans)

        sizes = [layer_sizes(layer) for layer in self.layers]
        self.model = to_slim_model(self.model, sizes)
        self.layers = self.model.model.layers
        self.summary = {
            "method": config.method_name(),
            "config": self.config.to_dict(),
            "source": self.source,
            "layer_ratios": [plan.ratio for plan in plans],
            "layer_sizes": sizes,
            "parameters_before": parameters_before,
            "parameters_after": sum(p.numel() for p in self.model.parameters()),
            "achieved_sparsity": removed_fraction(shapes, plans),
            "seconds": round(time.perf_counter() - started, 3),
            "seconds_per_layer": [round(s, 4) for s in layer_seconds],
        }
        if eval_texts:
            self.summary["perplexity"] = {
                "texts": f"{len(eval_texts)} texts, {self._eval_seq_len()}-token windows",
                "before": perplexity_before,
                "after": self._perplexity(eval_texts),
            }
        if checkpoint_path is not None and not keep_checkpoints:
            remove_checkpoint_files(checkpoint_path)
        if save_path is not None:
            self.save(save_path, overwrite=overwrite, remote_code=remote_code)
        return self.model

    def _check_reachable(self, shapes, plans: list[LayerPlan]) -> None:
        """An error naming the largest reachable sparsity when ``config.sparsity`` cannot be reached (a
        warning instead with ``allow_lower_sparsity``; both numbers land in ``slimgpt_config.json``)."""
        config = self.config
        if config.first_ratio is not None:
            return  # explicit ratios: the sparsity follows from them
        achieved = removed_fraction(shapes, plans)
        if achieved >= config.sparsity - 1e-3:
            return
        largest = removed_fraction(shapes, self._plan_at(shapes, 1.0 - 1e-9))
        if config.sparsity <= largest + 1e-3:
            return  # reachable; the rounding to whole heads and channels decides the last digits
        message = (
            f"sparsity {config.sparsity} cannot be reached: with schedule {config.schedule!r} at most "
            f"{largest:.4f} of this model's decoder parameters can be removed (each layer keeps "
            f"{config.min_heads_per_layer} head(s) and loses at most {MAX_LAYER_RATIO:.0%})"
        )
        if not config.allow_lower_sparsity:
            raise HFExtError(
                f"{message}; lower --sparsity, or pass --allow-lower-sparsity to prune {largest:.4f}"
            )
        logger.warning("%s; pruning %.4f instead (allow_lower_sparsity)", message, achieved)

    def _plan_at(self, shapes, sparsity: float) -> list[LayerPlan]:
        config = self.config
        return plan_model(
            shapes,
            sparsity,
            config.schedule,
            spread=config.spread,
            prune_attention=config.prune_attention,
            prune_mlp=config.prune_mlp,
        )

    def _prune_layer(
        self, index: int, plan: LayerPlan, batches: list[list[Any]], device: torch.device
    ) -> None:
        """Prune layer ``index`` as planned; replace each batch's hidden states with the layer's outputs."""
        layer = self.layers[index]
        home = next(layer.parameters()).device
        layer.to(device)

        def run_layer() -> None:
            for hidden, kwargs in batches:
                layer(hidden, **kwargs)

        config, selection = self.config, self.selection
        if plan.units_removed > 0:
            attention = layer.self_attn
            hessian = input_hessian(attention.o_proj, run_layer) if selection.needs_hessian else None
            num_units, heads_per_unit, head_dim = attention_units(layer)
            groups = torch.arange(num_units * heads_per_unit * head_dim, device=device).view(num_units, -1)
            weight, removed = selection.prune_groups(
                attention.o_proj.weight,
                hessian,
                groups,
                plan.units_removed,
                config.damping,
                config.head_score,
            )
            remove_attention_units(layer, removed, weight)
        if plan.channels_removed > 0:
            down_proj = layer.mlp.down_proj
            hessian = input_hessian(down_proj, run_layer) if selection.needs_hessian else None
            weight, removed = selection.prune_columns(
                down_proj.weight, hessian, plan.channels_removed, config
            )
            remove_mlp_channels(layer, removed, weight)
        for batch in batches:
            output = layer(batch[0], **batch[1])
            batch[0] = output[0] if isinstance(output, tuple) else output
        layer.to(home)

    def _layer_inputs(self, calibration_dataset: Any, device: torch.device) -> list[list[Any]]:
        """``[hidden_states, kwargs]`` of the first decoder layer for each calibration batch."""
        if calibration_dataset is None:
            return []
        config = self.config
        tokens = calibration_tokens(
            calibration_dataset,
            self.tokenizer,
            config.num_calibration_samples,
            config.calibration_seq_len,
            seed=config.seed,
        )
        captured: list[list[Any]] = []

        def capture(module, args, kwargs):
            hidden = args[0] if args else kwargs.pop("hidden_states")
            captured.append([hidden, {key: value for key, value in kwargs.items() if key != "hidden_states"}])
            raise _LayerInputsCaptured

        base = self.model.model
        front = [base.embed_tokens, getattr(base, "rotary_emb", None)]
        homes = [next(m.parameters(), next(m.buffers(), torch.empty(0))).device if m else None for m in front]
        for module in front:
            if module is not None:
                module.to(device)
        handle = self.layers[0].register_forward_pre_hook(capture, with_kwargs=True)
        try:
            for batch in tokens.split(config.calibration_batch_size):
                try:
                    self.model(input_ids=batch.to(device), use_cache=False)
                except _LayerInputsCaptured:
                    pass
        finally:
            handle.remove()
            for module, home in zip(front, homes):
                if module is not None:
                    module.to(home)
        return captured

    # --- checkpoints ----------------------------------------------------------------------------------------

    def _run_identity(self, plans: list[LayerPlan]) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "source": self.source,
            "num_layers": len(self.layers),
            "plans": [asdict(plan) for plan in plans],
        }

    def _save_checkpoint(self, directory: Path, index: int, batches: list[list[Any]], plans) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        layer_state = {k: v.detach().cpu().contiguous() for k, v in self.layers[index].state_dict().items()}
        save_file(layer_state, str(directory / f"layer_{index:04d}.safetensors"))
        hidden = {f"batch_{b:05d}": batch[0].detach().cpu().contiguous() for b, batch in enumerate(batches)}
        temporary = directory / (HIDDEN_STATES_FILE + ".tmp")
        save_file(hidden, str(temporary))
        os.replace(temporary, directory / HIDDEN_STATES_FILE)
        progress = {
            "run": self._run_identity(plans),
            "completed_layers": index + 1,
            "layer_sizes": [layer_sizes(layer) for layer in self.layers[: index + 1]],
        }
        atomic_write_text(directory / PROGRESS_FILE, json.dumps(progress, indent=2))

    def _resume(self, directory: Path, batches: list[list[Any]], plans) -> int:
        """Load finished layers and the next layer's inputs from ``directory``; return the next layer."""
        progress_file = directory / PROGRESS_FILE
        if not progress_file.exists():
            return 0
        try:
            progress = json.loads(progress_file.read_text(encoding="utf-8"))
            completed = int(progress["completed_layers"])
            sizes = progress["layer_sizes"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as error:
            raise HFExtError(
                f"{progress_file}: not a readable pruning checkpoint ({type(error).__name__}: {error}); "
                "remove the checkpoint folder to start over"
            ) from None
        if progress.get("run") != json.loads(json.dumps(self._run_identity(plans))):
            raise ValueError(
                f"checkpoint_dir {directory} holds a different run (model, config or plan differ); "
                "use an empty folder"
            )
        for index in range(completed):
            layer = self.layers[index]
            resize_layer(layer, sizes[index])
            state = load_file(str(directory / f"layer_{index:04d}.safetensors"))
            layer.load_state_dict(state, strict=True)
        hidden = load_file(str(directory / HIDDEN_STATES_FILE))
        for b, batch in enumerate(batches):
            batch[0] = hidden[f"batch_{b:05d}"].to(batch[0].device, batch[0].dtype)
        logger.info("resuming %s after layer %d from %s", self.config.method_name(), completed - 1, directory)
        return completed

    # --- evaluation, saving, sharing ------------------------------------------------------------------------

    def _eval_seq_len(self) -> int:
        return min(
            self.config.calibration_seq_len, getattr(self.model.config, "max_position_embeddings", 2048)
        )

    def _perplexity(self, texts: list[str] | None) -> float | None:
        if not texts:
            return None
        from hf_ext.evaluation.perplexity import perplexity

        return perplexity(self.model, self.tokenizer, texts, seq_len=self._eval_seq_len())

    def save(self, save_dir: str | Path, overwrite: bool = False, remote_code: bool = False) -> Path:
        """Save the pruned model, tokenizer, ``slimgpt_config.json`` and model card (after :meth:`prune`).

        A non-empty ``save_dir`` is refused unless ``overwrite``; the folder is written beside it and
        swapped in whole, so it never mixes old and new files. The folder loads with ``import hf_ext`` and
        ``AutoModelForCausalLM`` (its tokenizer with plain ``AutoTokenizer``); ``remote_code`` adds the
        modeling files and an ``auto_map`` so it also loads without hf-ext with ``trust_remote_code=True``."""
        if self.summary is None:
            raise ValueError("nothing to save yet: call prune() first")
        source_dir = self.source if self.source and Path(self.source).exists() else None
        save_path = check_save_dir(save_dir, source_dir)
        check_output_dir(save_path, overwrite=overwrite, flag="save_dir", overwrite_flag="overwrite=True")
        with staged_output_dir(save_path) as staging:
            save_slim_model(self.model, staging, self.tokenizer, remote_code=remote_code)
            self.config.save(staging, extra={key: v for key, v in self.summary.items() if key != "config"})
            card = model_card(self.summary, self.source, remote_code=remote_code)
            (staging / "README.md").write_text(card, encoding="utf-8")
        self.save_dir = save_path
        return save_path

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None) -> str:
        """Upload the saved folder (model, code, config, card) to ``repo_id``; returns the commit URL."""
        if self.save_dir is None:
            raise ValueError("push_to_hub needs a saved model: call prune(save_dir=...) or save() first")
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(self.save_dir),
            repo_type="model",
            commit_message=f"Upload {self.config.method_name()}-pruned model (hf-ext)",
        )
        return str(getattr(commit, "commit_url", commit))
