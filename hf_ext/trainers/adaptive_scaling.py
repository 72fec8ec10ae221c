"""What the adaptive DPO and reward trainers share: the config fields and the per-pair loss substitution.

TRL's ``DPOTrainer._compute_loss`` and ``RewardTrainer.compute_loss`` each compute the Bradley-Terry
per-pair loss as ``-logsigmoid(z)`` inline, in the middle of a method that also runs the forward passes,
the reference model and the metrics. Rather than copy those methods, :class:`AdaptiveScalingMixin` runs
them unchanged while the name they call ``logsigmoid`` through (``F`` in ``trl.trainer.dpo_trainer``,
``nn`` in ``trl.trainer.reward_trainer``) answers with the adaptive version

    logsigmoid(z)  ->  -adaptive_preference_loss(z) = tau * log sigmoid(z / tau) - R(tau),

so TRL's ``-logsigmoid(z)`` becomes the adaptive loss for exactly the pairs TRL sees (after its length
normalisation, margins, f-divergence scores...). The substitution lasts one call and is per thread: the
name is routed, once, through a stand-in that asks a context variable which ``logsigmoid`` the calling
thread's active loss scope wants (none: the original), so plain TRL trainers and other adaptive trainers
in other threads are unaffected. The number of ``logsigmoid`` calls is checked against what the trainer
expects, so a TRL version that computes its loss differently fails loudly instead of silently training
plain DPO. The tau values of every call are kept for metrics (gathered across processes) and for
:mod:`hf_ext.trainers.tau_logging`.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from hf_ext.objectives.adaptive_scaling import adaptive_preference_loss, validate_tau_arguments
from hf_ext.trainers.safe_saving import PickleFreeTrainerMixin, has_state, load_state, save_state

TAU_HISTORY_STATE = "tau_history"  # checkpoint files tau_history.json + tau_history.safetensors

PAPER = {
    "title": "Adaptive Preference Scaling for Reinforcement Learning with Human Feedback",
    "id": "2406.02764",
    "citation": """\
@inproceedings{hong2024adaptive,
    title     = {{Adaptive Preference Scaling for Reinforcement Learning with Human Feedback}},
    author    = {Ilgee Hong and Zichong Li and Alexander Bukharin and Yixiao Li and Haoming Jiang and
                 Tianbao Yang and Tuo Zhao},
    year      = 2024,
    booktitle = {Advances in Neural Information Processing Systems 37 (NeurIPS 2024)},
    eprint    = {arXiv:2406.02764},
}""",
}


@dataclass
class AdaptiveScalingArguments:
    """The adaptive-scaling fields shared by :class:`AdaptiveDPOConfig` and :class:`AdaptiveRewardConfig`.

    Parameters:
        rho (`float`, defaults to `0.1`): the KL budget rho0 of each pair's DRO problem, in (0, log 2) for the
            linear regulariser (> 0 for the quadratic one). Smaller rho, larger tau (more pairs at tau_max).
        tau_min (`float`, defaults to `0.1`): lower bound on every pair's scale tau (> 0).
        tau_max (`float`, defaults to `5.0`): upper bound on tau (>= tau_min). In the DPO trainer tau scales
            ``z = beta * h`` (the official code's convention), so the bounds are in units of beta * log-ratio.
        tau_solver (`str`, defaults to `"exact"`): `"exact"` (closed form; converged Newton for quadratic) or
            `"newton"` (the paper's projected Newton from tau = 1, `tau_newton_steps` steps).
        tau_newton_steps (`int`, defaults to `5`): Newton steps for `tau_solver="newton"` (>= 1).
        tau_regularizer (`str`, defaults to `"linear"`): `"linear"` (Ada-Pref: (rho - log 2) tau) or
            `"quadratic"` (Ada-Pref-Quad: rho tau^2 - tau log 2).
        tau_history_size (`int`, defaults to `100000`): how many recent (step, z, tau) triples the trainer
            keeps for the tau plots (>= 0).
        tau_plots (`bool`, defaults to `True`): write `tau_histogram.png`, `tau_vs_abs_z.png` and
            `tau_values.csv` to `output_dir` when training ends.
    """

    rho: float = field(default=0.1, metadata={"help": "KL budget rho0 per pair, in (0, log 2)."})
    tau_min: float = field(default=0.1, metadata={"help": "Lower bound on the per-pair scale tau (> 0)."})
    tau_max: float = field(default=5.0, metadata={"help": "Upper bound on tau (>= tau_min)."})
    tau_solver: str = field(
        default="exact", metadata={"help": "How tau is found.", "choices": ["exact", "newton"]}
    )
    tau_newton_steps: int = field(default=5, metadata={"help": "Newton steps for tau_solver='newton'."})
    tau_regularizer: str = field(
        default="linear", metadata={"help": "Regulariser on tau.", "choices": ["linear", "quadratic"]}
    )
    tau_history_size: int = field(
        default=100_000, metadata={"help": "(step, z, tau) triples kept for plots."}
    )
    tau_plots: bool = field(default=True, metadata={"help": "Write tau plots to output_dir after training."})

    def validate_adaptive_scaling(self) -> None:
        validate_tau_arguments(
            float(self.rho), float(self.tau_min), float(self.tau_max), self.tau_solver, self.tau_regularizer
        )
        if self.tau_newton_steps < 1:
            raise ValueError(f"tau_newton_steps must be >= 1, got {self.tau_newton_steps}")
        if self.tau_history_size < 0:
            raise ValueError(f"tau_history_size must be >= 0, got {self.tau_history_size}")


def check_preference_columns(dataset: Any, split: str) -> None:
    """Raise ``ValueError`` naming the missing column when a preference dataset lacks ``chosen``/``rejected``.

    Tokenized datasets (``chosen_ids``/``rejected_ids``, as TRL writes them) pass; datasets whose columns are
    unknown until iterated (some ``IterableDataset``) are left to TRL."""
    if dataset is None:
        return
    if isinstance(dataset, dict):
        for name, part in dataset.items():
            check_preference_columns(part, f"{split}[{name!r}]")
        return
    columns = getattr(dataset, "column_names", None)
    if not columns:
        return
    for column in ("chosen", "rejected"):
        if column not in columns and f"{column}_ids" not in columns:
            raise ValueError(
                f"{split} dataset has no {column!r} column (preference pairs need 'chosen' and 'rejected', "
                f"plus 'prompt' or an implicit prompt); its columns are {list(columns)}"
            )


class _Namespace:
    """Stands in for a module (``torch.nn.functional``, ``torch.nn``): ``overrides``, else the module."""

    def __init__(self, wrapped: Any, overrides: dict[str, Any]):
        self._wrapped = wrapped
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        overrides = self.__dict__["_overrides"]
        return overrides[name] if name in overrides else getattr(self.__dict__["_wrapped"], name)


# The logsigmoid that the calling thread's (or task's) active loss scope substitutes; None outside a scope.
_ACTIVE_LOGSIGMOID: contextvars.ContextVar[Callable | None] = contextvars.ContextVar(
    "hf_ext_adaptive_logsigmoid", default=None
)
_INSTALL_LOCK = threading.Lock()


def _routed(original: Callable) -> Callable:
    """``original``, unless the caller's context has an active adaptive ``logsigmoid``."""

    def logsigmoid(*args: Any, **kwargs: Any) -> Any:
        return (_ACTIVE_LOGSIGMOID.get() or original)(*args, **kwargs)

    return logsigmoid


def _replace_logsigmoid(namespace: Any, path: tuple[str, ...], logsigmoid: Callable) -> _Namespace:
    """A stand-in for ``namespace`` in which ``namespace.<path...>.logsigmoid`` is ``logsigmoid``."""
    if not path:
        return _Namespace(namespace, {"logsigmoid": logsigmoid})
    head, *rest = path
    return _Namespace(
        namespace, {head: _replace_logsigmoid(getattr(namespace, head), tuple(rest), logsigmoid)}
    )


def _install_router(module: ModuleType, path: tuple[str, ...]) -> None:
    """Route ``module.<path...>.logsigmoid`` through :data:`_ACTIVE_LOGSIGMOID` (once per module)."""
    top, *rest = path
    with _INSTALL_LOCK:
        current = getattr(module, top)
        if isinstance(current, _Namespace):
            return
        leaf = current
        for name in rest:
            leaf = getattr(leaf, name)
        setattr(module, top, _replace_logsigmoid(current, tuple(rest), _routed(leaf.logsigmoid)))


class AdaptiveScalingMixin(PickleFreeTrainerMixin):
    """Turns a TRL trainer's Bradley-Terry ``-logsigmoid(z)`` into the adaptive loss (see the module doc).

    A subclass names where TRL looks up ``logsigmoid`` (``_logsigmoid_module``, ``_logsigmoid_path``) and
    wraps its loss hook in :meth:`adaptive_loss_scope`.
    """

    _logsigmoid_module: ModuleType
    _logsigmoid_path: tuple[str, ...]  # e.g. ("F",) for F.logsigmoid, ("nn", "functional") for nn.functional
    _config_cls: type  # the trainer's config class
    _default_output_dir: str  # where a trainer built without ``args`` writes

    @classmethod
    def _resolved_config(cls, args: Any) -> Any:
        """``args``, or a default config if None, after checking it is the trainer's config class."""
        if args is None:
            args = cls._config_cls(output_dir=cls._default_output_dir)
        if not isinstance(args, cls._config_cls):
            name = cls._config_cls.__name__
            article = "an" if name[0] in "AEIOU" else "a"
            raise TypeError(f"args must be {article} {name}, got {type(args).__name__}")
        return args

    @classmethod
    def _checked_arguments(cls, args: Any, train_dataset: Any, eval_dataset: Any) -> Any:
        """``args`` (a default config if None) after checking its type and the datasets' columns."""
        args = cls._resolved_config(args)
        check_preference_columns(train_dataset, "train")
        check_preference_columns(eval_dataset, "eval")
        return args

    def _adaptive_logsigmoid(self, z: torch.Tensor) -> torch.Tensor:
        args = self.args
        loss, tau = adaptive_preference_loss(
            z,
            float(args.rho),
            float(args.tau_min),
            float(args.tau_max),
            method=args.tau_solver,
            newton_steps=args.tau_newton_steps,
            regularizer=args.tau_regularizer,
        )
        self._tau_calls.append((z.detach().float().reshape(-1), tau.detach().float().reshape(-1)))
        return -loss

    @contextlib.contextmanager
    def logsigmoid_scope(self, replacement: Callable) -> Iterator[None]:
        """Within this scope TRL's ``logsigmoid``, called from this thread (or task), is ``replacement``;
        other threads and code outside the scope keep the original."""
        _install_router(self._logsigmoid_module, self._logsigmoid_path)
        token = _ACTIVE_LOGSIGMOID.set(replacement)
        try:
            yield
        finally:
            _ACTIVE_LOGSIGMOID.reset(token)

    @contextlib.contextmanager
    def adaptive_loss_scope(self, expected_calls: int) -> Iterator[None]:
        """Within this scope TRL's ``logsigmoid``, called from this thread, is the adaptive one; afterwards
        tau metrics are logged."""
        self._tau_calls: list[tuple[torch.Tensor, torch.Tensor]] = []
        with self.logsigmoid_scope(self._adaptive_logsigmoid):
            yield
        if len(self._tau_calls) != expected_calls:
            raise RuntimeError(
                f"{type(self).__name__} expected {expected_calls} Bradley-Terry logsigmoid call(s) in TRL's "
                f"loss and saw {len(self._tau_calls)}; this TRL version computes its loss differently from "
                "the one hf-ext supports (see pyproject.toml), so the adaptive loss cannot be applied."
            )
        self._log_tau_metrics()

    def _log_tau_metrics(self) -> None:
        mode = "train" if self.model.training else "eval"
        z = torch.cat([logits for logits, _ in self._tau_calls]).to(self.accelerator.device)
        tau = torch.cat([taus for _, taus in self._tau_calls]).to(self.accelerator.device)
        z, tau = self.accelerator.gather_for_metrics((z, tau))
        tau_min, tau_max = float(self.args.tau_min), float(self.args.tau_max)
        at_max = tau >= tau_max * (1 - 1e-6)
        metrics = self._metrics[mode]
        metrics["tau/mean"].append(tau.mean().item())
        metrics["tau/min"].append(tau.min().item())
        metrics["tau/max"].append(tau.max().item())
        metrics["tau/frac_at_min"].append((tau <= tau_min * (1 + 1e-6)).float().mean().item())
        metrics["tau/frac_at_max"].append(at_max.float().mean().item() if math.isfinite(tau_max) else 0.0)
        if mode == "train" and self.args.tau_history_size > 0:
            self.tau_history.add(self.state.global_step, z.cpu(), tau.cpu())

    @property
    def tau_history(self):
        from hf_ext.trainers.tau_logging import TauHistory

        if getattr(self, "_tau_history", None) is None:
            self._tau_history = TauHistory(self.args.tau_history_size)
        return self._tau_history

    # --- the tau history is resume state: saved in every checkpoint, restored on resume -------------------

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.tau_history_size > 0 and self.is_world_process_zero():
            from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

            folder = (
                Path(self._get_output_dir(trial=trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            )
            if folder.is_dir():
                save_state(self.tau_history.state_dict(), folder, TAU_HISTORY_STATE)

    def _extra_resume_state(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        if self.args.tau_history_size == 0:
            return {}
        return {"tau history": ((f"{TAU_HISTORY_STATE}.json", f"{TAU_HISTORY_STATE}.safetensors"),)}

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)  # checks the resume state first
        if (
            checkpoint is not None
            and self.args.tau_history_size > 0
            and has_state(checkpoint, TAU_HISTORY_STATE)
        ):
            self.tau_history.load_state_dict(load_state(checkpoint, TAU_HISTORY_STATE))

    def add_tau_plot_callback(self) -> None:
        """Register :class:`~hf_ext.trainers.tau_logging.TauPlotCallback` when ``args.tau_plots`` is set."""
        from hf_ext.trainers.tau_logging import TauPlotCallback

        if self.args.tau_plots:
            self.add_callback(TauPlotCallback(self))
