"""Ada-Pref reward learning: TRL's ``RewardTrainer`` with a per-pair scale tau (arXiv 2406.02764).

The Bradley-Terry loss ``-log sigmoid(z)``, ``z = r(chosen) - r(rejected)`` (minus the row's ``margin`` if
the dataset has that column), becomes ``-tau * log sigmoid(z / tau) + (rho - log 2) * tau`` with tau from
:func:`hf_ext.objectives.solve_tau` on the detached z: the paper's main setting, reward learning for RLHF.
Everything else is ``RewardTrainer``'s own code; tau statistics are logged beside its metrics.

Example:
    >>> from transformers import AutoModelForSequenceClassification
    >>> from hf_ext import AdaptiveRewardConfig, AdaptiveRewardTrainer
    >>> from hf_ext.testing import preference_dataset, tiny_config, tiny_tokenizer
    >>> model = AutoModelForSequenceClassification.from_config(tiny_config(num_labels=1))
    >>> args = AdaptiveRewardConfig(output_dir="/tmp/hf-ext-ada-rm", max_steps=2,
    ...                             per_device_train_batch_size=4, report_to="none", use_cpu=True,
    ...                             tau_plots=False)
    >>> trainer = AdaptiveRewardTrainer(model=model, args=args, train_dataset=preference_dataset(8),
    ...                                 processing_class=tiny_tokenizer())
    >>> trainer.train().global_step  # doctest: +ELLIPSIS
    {'train_runtime': ...}
    2
"""

from __future__ import annotations

import trl.trainer.reward_trainer as trl_reward_trainer
from trl import RewardTrainer

from hf_ext.trainers.adaptive_reward_config import AdaptiveRewardConfig
from hf_ext.trainers.adaptive_scaling import PAPER, AdaptiveScalingMixin


class AdaptiveRewardTrainer(AdaptiveScalingMixin, RewardTrainer):
    """``RewardTrainer`` with adaptive preference scaling; takes the same arguments, with an
    :class:`~hf_ext.trainers.adaptive_reward_config.AdaptiveRewardConfig` as ``args``."""

    _tag_names = ["trl", "reward-trainer", "adaptive-reward", "hf-ext"]
    _name = "Adaptive Reward"
    _paper = PAPER
    _logsigmoid_module = trl_reward_trainer
    _logsigmoid_path = ("nn", "functional")
    _config_cls = AdaptiveRewardConfig
    _default_output_dir = "adaptive-reward-output"

    def __init__(
        self,
        model,
        args: AdaptiveRewardConfig | None = None,
        data_collator=None,
        train_dataset=None,
        eval_dataset=None,
        **kwargs,
    ):
        args = self._checked_arguments(args, train_dataset, eval_dataset)
        super().__init__(
            model,
            args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            **kwargs,
        )
        self.add_tau_plot_callback()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        with self.adaptive_loss_scope(expected_calls=1):
            result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        return result
