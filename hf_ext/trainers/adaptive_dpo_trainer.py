"""Ada-DPO: TRL's ``DPOTrainer`` with a per-pair scale tau (Hong et al., NeurIPS 2024, arXiv 2406.02764).

The per-pair loss ``-log sigmoid(beta * h)`` becomes
``-tau * log sigmoid(beta * h / tau) + (rho - log 2) * tau``, with tau from
:func:`hf_ext.objectives.solve_tau` on the detached ``z = beta * h``. Everything else is ``DPOTrainer``'s own
code: datasets, reference model or PEFT adapter, precomputed reference log-probs, metrics; tau statistics
(``tau/mean``, ``tau/min``, ``tau/max``, ``tau/frac_at_min``, ``tau/frac_at_max``) are logged beside them.
How the loss is substituted: :mod:`hf_ext.trainers.adaptive_scaling`.

Example:
    >>> from hf_ext import AdaptiveDPOConfig, AdaptiveDPOTrainer
    >>> from hf_ext.testing import preference_dataset, tiny_causal_lm
    >>> model, tokenizer = tiny_causal_lm()
    >>> reference, _ = tiny_causal_lm()
    >>> args = AdaptiveDPOConfig(output_dir="/tmp/hf-ext-ada-dpo", max_steps=2, per_device_train_batch_size=4,
    ...                          rho=0.1, tau_max=5.0, report_to="none", use_cpu=True, tau_plots=False)
    >>> trainer = AdaptiveDPOTrainer(model=model, ref_model=reference, args=args,
    ...                              train_dataset=preference_dataset(8), processing_class=tokenizer)
    >>> trainer.train().global_step  # doctest: +ELLIPSIS
    {'train_runtime': ...}
    2
    >>> "tau/mean" in trainer.state.log_history[0]
    True
"""

from __future__ import annotations

import trl.trainer.dpo_trainer as trl_dpo_trainer
from trl import DPOTrainer

from hf_ext.trainers.adaptive_dpo_config import ADAPTIVE_LOSS_TYPES, AdaptiveDPOConfig
from hf_ext.trainers.adaptive_scaling import PAPER, AdaptiveScalingMixin


class AdaptiveDPOTrainer(AdaptiveScalingMixin, DPOTrainer):
    """``DPOTrainer`` with adaptive preference scaling; takes the same arguments, with an
    :class:`~hf_ext.trainers.adaptive_dpo_config.AdaptiveDPOConfig` as ``args``."""

    _tag_names = ["trl", "dpo", "adaptive-dpo", "hf-ext"]
    _name = "Adaptive DPO"
    _paper = PAPER
    _logsigmoid_module = trl_dpo_trainer
    _logsigmoid_path = ("F",)
    _config_cls = AdaptiveDPOConfig
    _default_output_dir = "adaptive-dpo-output"

    def __init__(
        self,
        model,
        ref_model=None,
        args: AdaptiveDPOConfig | None = None,
        data_collator=None,
        train_dataset=None,
        eval_dataset=None,
        **kwargs,
    ):
        args = self._checked_arguments(args, train_dataset, eval_dataset)
        super().__init__(
            model,
            ref_model,
            args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            **kwargs,
        )
        self.add_tau_plot_callback()

    def _compute_loss(self, model, inputs, return_outputs):
        adaptive_terms = sum(loss_type in ADAPTIVE_LOSS_TYPES for loss_type in self.loss_types)
        with self.adaptive_loss_scope(expected_calls=adaptive_terms):
            result = super()._compute_loss(model, inputs, return_outputs)
        return result
