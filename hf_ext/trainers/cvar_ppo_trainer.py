"""PPO for causal language models, risk-averse on request: CVaR-PPO (RA-RLHF, Chaudhary et al. 2024).

A :class:`transformers.Trainer` subclass, so checkpointing, ``resume_from_checkpoint``, ``report_to`` logging,
``push_to_hub`` and accelerate come from the Trainer. One training step is one PPO iteration, split into
stages a subclass can replace one at a time:

1. :meth:`CVaRPPOTrainer.generate_responses`: sample responses to the step's prompts;
2. :meth:`~CVaRPPOTrainer.forward_rollout`: log-probabilities under policy and reference, values;
3. :meth:`~CVaRPPOTrainer.score_responses`: task rewards from reward functions or reward models;
4. :meth:`~CVaRPPOTrainer.compute_advantages`: KL-shaped per-token rewards, GAE, returns;
5. :meth:`~CVaRPPOTrainer.select_tail`: the soft-risk level and the CVaR mask over episodes (all kept when
   ``alpha = 1``), applied to the token mask so that dropped episodes leave the policy loss, the value loss,
   the advantage whitening and the KL controller;
6. :meth:`~CVaRPPOTrainer.ppo_update`: clipped policy and value losses over epochs and minibatches;
7. :meth:`~CVaRPPOTrainer.update_kl_controller`.

The math lives in :mod:`hf_ext.objectives.ppo` and :mod:`hf_ext.objectives.risk`.

Example:
    >>> from hf_ext.testing import prompt_dataset, tiny_causal_lm
    >>> from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
    >>> from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer
    >>> model, tokenizer = tiny_causal_lm("llama")
    >>> def short_words(prompts, completions, **columns):   # any reward function works
    ...     return [-sum(len(w) for w in c.split()) / 10 for c in completions]
    >>> args = CVaRPPOConfig(output_dir="/tmp/cvar-ppo-doc", max_steps=2, per_device_train_batch_size=4,
    ...                      alpha=0.5, max_new_tokens=8, report_to="none", use_cpu=True,
    ...                      disable_tqdm=True, logging_strategy="no")
    >>> trainer = CVaRPPOTrainer(model=model, args=args, processing_class=tokenizer,
    ...                          reward_funcs=short_words, train_dataset=prompt_dataset(8))
    >>> _ = trainer.train()  # doctest: +ELLIPSIS
    {'train_runtime': ...}
    >>> trainer.state.global_step
    2
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    GenerationConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    set_seed,
)

from hf_ext.objectives.ppo import (
    AdaptiveKLController,
    clipped_policy_loss,
    clipped_value_loss,
    generalized_advantage_estimation,
    kl_shaped_rewards,
    masked_whiten,
)
from hf_ext.objectives.risk import cvar_mask, tail_kl, value_at_risk
from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
from hf_ext.trainers.risk_schedule import SoftRiskScheduleMixin
from hf_ext.trainers.safe_saving import PickleFreeTrainerMixin, write_training_args

VALUE_WEIGHTS_NAME = "value_model.safetensors"
STATE_NAME = "cvar_ppo_state.json"
RewardFunc = Callable[..., Sequence[float]] | PreTrainedModel | str

PAPER = {
    "title": "Risk-Averse Fine-tuning of Large Language Models",
    "id": "2501.06911",
    "citation": (
        "@inproceedings{chaudhary2024riskaverse,\n"
        "  title={Risk-Averse Fine-tuning of Large Language Models},\n"
        "  author={Chaudhary, Sapana and Dinesha, Ujwal and Kalathil, Dileep and Shakkottai, Srinivas},\n"
        "  booktitle={NeurIPS},\n  year={2024}\n}"
    ),
}


def is_peft_model(model: nn.Module) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")


class PolicyAndValue(nn.Module):
    """The trained modules in one: a causal-LM policy and a value head.

    The head reads the last hidden state of ``value_backbone`` (a separate model) or, when that is None, of
    the policy itself (a value head on the policy, sharing its body). ``forward`` returns the logits and the
    per-position values.
    """

    def __init__(self, policy: nn.Module, value_backbone: nn.Module | None = None):
        super().__init__()
        self.policy = policy
        self.value_backbone = value_backbone
        hidden_size = (value_backbone or policy).config.hidden_size
        self.value_head = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.value_head.weight, std=1.0 / math.sqrt(hidden_size + 1))
        nn.init.zeros_(self.value_head.bias)

    @property
    def config(self):
        return self.policy.config

    def gradient_checkpointing_enable(self, **kwargs: Any) -> None:
        self.policy.gradient_checkpointing_enable(**kwargs)
        if self.value_backbone is not None:
            self.value_backbone.gradient_checkpointing_enable(**kwargs)

    def forward(self, input_ids, attention_mask, position_ids) -> tuple[torch.Tensor, torch.Tensor]:
        shared = self.value_backbone is None
        output = self.policy(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            output_hidden_states=shared,
            use_cache=False,
        )
        if shared:
            hidden = output.hidden_states[-1]
        else:
            hidden = self.value_backbone(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                output_hidden_states=True,
                use_cache=False,
            ).hidden_states[-1]
        values = self.value_head(hidden.to(self.value_head.weight.dtype)).squeeze(-1)
        return output.logits, values

    def value_state_dict(self) -> dict[str, torch.Tensor]:
        """The value side's weights (head, and any separate backbone), for ``value_model.safetensors``."""
        names = ("value_head.", "value_backbone.")
        return {k: v.detach().contiguous() for k, v in self.state_dict().items() if k.startswith(names)}


@dataclass
class Rollout:
    """One PPO iteration's experience for this process. Response tensors are ``[B, T]``."""

    input_ids: torch.Tensor  # prompt + response, [B, P + T]
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    prompt_length: int
    response_mask: torch.Tensor  # response tokens up to and including EOS
    prompts: list[Any]
    completions: list[str]
    columns: dict[str, list[Any]]
    logprobs: torch.Tensor | None = None
    ref_logprobs: torch.Tensor | None = None
    values: torch.Tensor | None = None
    scores: torch.Tensor | None = None
    kl: torch.Tensor | None = None
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None
    episode_returns: torch.Tensor | None = None  # the return that ranks episodes for the risk mask
    keep: torch.Tensor | None = None  # [B] bool, episodes in the CVaR tail
    loss_mask: torch.Tensor | None = None  # response_mask restricted to kept episodes

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def rows(self, index: torch.Tensor) -> Rollout:
        """The sub-rollout of the given episode indices (tensor fields sliced, lists picked)."""
        picked = {}
        positions = index.tolist()
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, torch.Tensor):
                picked[item.name] = value[index]
            elif isinstance(value, list):
                picked[item.name] = [value[i] for i in positions]
            elif isinstance(value, dict):
                picked[item.name] = {key: [column[i] for i in positions] for key, column in value.items()}
            else:
                picked[item.name] = value
        return Rollout(**picked)


class PromptCollator:
    """Left-padded prompt token ids (the last ``max_prompt_length`` tokens), with the raw rows kept."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, max_prompt_length: int):
        self.tokenizer = tokenizer
        self.max_prompt_length = max_prompt_length

    def prompt_text(self, prompt: Any) -> str:
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, list):  # conversational
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        raise ValueError(
            f"each 'prompt' must be a string or a list of chat messages, got {type(prompt).__name__}"
        )

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        if any("prompt" not in row for row in rows):
            raise ValueError("the training dataset needs a 'prompt' column")
        encoded = [
            self.tokenizer(self.prompt_text(row["prompt"]), add_special_tokens=False)["input_ids"][
                -self.max_prompt_length :
            ]
            for row in rows
        ]
        if any(len(ids) == 0 for ids in encoded):
            raise ValueError("a prompt encodes to zero tokens; remove empty prompts from the dataset")
        width = max(len(ids) for ids in encoded)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in encoded])
        attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
        columns = {key: [row[key] for row in rows] for key in rows[0] if key != "prompt"}
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "prompts": [row["prompt"] for row in rows],
            "columns": columns,
        }


def response_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
    """log pi(token) for each position, under the sampling temperature."""
    logits = logits.float() / temperature
    return torch.gather(F.log_softmax(logits, dim=-1), 2, tokens.unsqueeze(-1)).squeeze(-1)


class CVaRPPOTrainer(SoftRiskScheduleMixin, PickleFreeTrainerMixin, Trainer):
    """PPO / CVaR-PPO trainer; see the module docstring for the stages and an example.

    Args:
        model: the policy, a causal LM (``PreTrainedModel`` or a PEFT model), or a path / Hub id to load.
        args: :class:`CVaRPPOConfig`.
        processing_class: the tokenizer (a pad token is set to EOS when missing).
        reward_funcs: one or several of: a callable ``f(prompts, completions, completion_ids, **columns) ->
            list[float]`` (TRL's convention; take ``**kwargs`` to ignore what you do not need), a
            sequence-classification reward model, or a path / Hub id of one.
        train_dataset: rows with a ``prompt`` (string or chat messages); other columns reach the reward
            functions as keyword arguments.
        ref_model: the frozen reference. Default: the PEFT policy with its adapter disabled, or a frozen copy
            of the policy as it was given.
        value_model: a separate model whose last hidden state feeds the value head; default: a value head on
            the policy.
        peft_config: a ``peft.PeftConfig`` to wrap the policy with.
    """

    _tag_names = ["trl", "ppo", "cvar", "risk-averse", "hf-ext"]
    _name = "CVaR-PPO"
    _paper = PAPER

    def __init__(
        self,
        model: PreTrainedModel | nn.Module | str,
        args: CVaRPPOConfig,
        processing_class: PreTrainedTokenizerBase | None = None,
        reward_funcs: RewardFunc | list[RewardFunc] | None = None,
        train_dataset=None,
        eval_dataset=None,
        ref_model: PreTrainedModel | None = None,
        value_model: PreTrainedModel | None = None,
        peft_config=None,
        callbacks=None,
        optimizers=(None, None),
    ):
        if not isinstance(args, CVaRPPOConfig):
            raise TypeError(f"args must be a CVaRPPOConfig, got {type(args).__name__}")
        if isinstance(model, str):
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(model, trust_remote_code=args.trust_remote_code)
        if processing_class is None:
            processing_class = AutoTokenizer.from_pretrained(model.config._name_or_path)
        if processing_class.pad_token is None:
            processing_class.pad_token = processing_class.eos_token
        if peft_config is not None:
            from peft import get_peft_model

            model = get_peft_model(model, peft_config)
        if ref_model is None and not is_peft_model(model):
            ref_model = copy.deepcopy(model)
        if ref_model is not None:
            ref_model.eval().requires_grad_(False)
        self.ref_model = ref_model
        self.reward_funcs, self.reward_tokenizers = self._load_reward_funcs(reward_funcs, args)
        weights = args.reward_weights or [1.0] * len(self.reward_funcs)
        if len(weights) != len(self.reward_funcs):
            raise ValueError(
                f"reward_weights has {len(weights)} entries but there are {len(self.reward_funcs)} "
                "reward functions"
            )
        self.reward_weights = torch.tensor(weights, dtype=torch.float32)
        self.kl_controller = AdaptiveKLController(args.kl_coef, args.kl_target, args.kl_horizon)
        self._pending_batches: list[dict[str, Any]] = []
        self._metrics: dict[str, list[float]] = defaultdict(list)
        set_seed(args.seed)  # the value head's initialisation follows the run's seed
        super().__init__(
            model=PolicyAndValue(model, value_model),
            args=args,
            data_collator=PromptCollator(processing_class, args.max_prompt_length),
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            callbacks=callbacks,
            optimizers=optimizers,
        )
        if self.ref_model is not None:
            self.ref_model.to(self.accelerator.device)
        for func in self.reward_funcs:
            if isinstance(func, nn.Module):
                func.to(self.accelerator.device)
        self.generation_config = GenerationConfig(
            max_new_tokens=args.max_new_tokens,
            min_new_tokens=args.min_new_tokens,
            do_sample=True,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            pad_token_id=processing_class.pad_token_id,
            eos_token_id=processing_class.eos_token_id,
        )

    # ----------------------------------------------------------------------------------------- setup helpers

    @staticmethod
    def _load_reward_funcs(reward_funcs, args: CVaRPPOConfig) -> tuple[list, list]:
        if reward_funcs is None:
            raise ValueError("reward_funcs is required: a callable, a reward model, or a reward model path")
        funcs = list(reward_funcs) if isinstance(reward_funcs, list | tuple) else [reward_funcs]
        loaded, tokenizers = [], []
        for func in funcs:
            if isinstance(func, str):
                tokenizers.append(
                    AutoTokenizer.from_pretrained(func, trust_remote_code=args.trust_remote_code)
                )
                func = AutoModelForSequenceClassification.from_pretrained(
                    func, num_labels=1, trust_remote_code=args.trust_remote_code
                )
            elif isinstance(func, PreTrainedModel):
                tokenizers.append(AutoTokenizer.from_pretrained(func.config._name_or_path))
            elif callable(func):
                tokenizers.append(None)
            else:
                raise TypeError(f"reward function {func!r} is neither a callable, a model nor a path")
            if isinstance(func, nn.Module):
                func.eval().requires_grad_(False)
                if tokenizers[-1].pad_token is None:
                    tokenizers[-1].pad_token = tokenizers[-1].eos_token
            loaded.append(func)
        return loaded, tokenizers

    @property
    def policy(self) -> nn.Module:
        return self.accelerator.unwrap_model(self.model).policy

    @contextmanager
    def reference_policy(self):
        """The frozen reference: the separate ``ref_model``, or the PEFT policy with its adapter disabled."""
        if self.ref_model is not None:
            yield self.ref_model
        else:
            with self.policy.disable_adapter():
                yield self.policy

    # -------------------------------------------------------------------------------------------- training

    def training_step(
        self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch=None
    ) -> torch.Tensor:
        """Collect the step's prompt batches; on the last one, run a whole PPO iteration (all its updates)."""
        self._pending_batches.append(inputs)
        if len(self._pending_batches) < self.current_gradient_accumulation_steps:
            return torch.zeros((), device=self.args.device)
        batches, self._pending_batches = self._pending_batches, []
        rollout = self.make_rollout(batches)
        loss = self.ppo_update(model, rollout)
        self.update_kl_controller(rollout)
        return loss

    def make_rollout(self, batches: list[dict[str, Any]]) -> Rollout:
        """Stages 1-5: generate, forward, score, advantages, tail selection."""
        with torch.no_grad():
            rollout = self.generate_responses(batches)
            self.forward_rollout(rollout)
            rollout.scores = self.score_responses(rollout)
            self.compute_advantages(rollout)
            self.select_tail(rollout)
            self.whiten_advantages(rollout)
        self._log_rollout(rollout)
        return rollout

    def generate_responses(self, batches: list[dict[str, Any]]) -> Rollout:
        """Sample one response per prompt, ``per_device_train_batch_size`` prompts at a time."""
        pad = self.processing_class.pad_token_id
        eos = self.processing_class.eos_token_id
        pieces = []
        policy = self.policy
        was_training = policy.training
        policy.eval()
        for batch in batches:
            prompt_ids = batch["input_ids"].to(self.args.device)
            prompt_mask = batch["attention_mask"].to(self.args.device)
            with self._autocast():
                sequences = policy.generate(
                    input_ids=prompt_ids, attention_mask=prompt_mask, generation_config=self.generation_config
                )
            pieces.append((prompt_ids, prompt_mask, sequences[:, prompt_ids.shape[1] :]))
        policy.train(was_training)
        prompt_width = max(p.shape[1] for p, _, _ in pieces)
        response_width = max(r.shape[1] for _, _, r in pieces)
        prompt_ids = torch.cat([F.pad(p, (prompt_width - p.shape[1], 0), value=pad) for p, _, _ in pieces])
        prompt_mask = torch.cat([F.pad(m, (prompt_width - m.shape[1], 0), value=0) for _, m, _ in pieces])
        responses = torch.cat([F.pad(r, (0, response_width - r.shape[1]), value=pad) for _, _, r in pieces])
        response_mask = self.response_mask(responses, eos)
        responses = responses.masked_fill(~response_mask.bool(), pad)
        attention_mask = torch.cat([prompt_mask, response_mask.long()], dim=1)
        position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)
        completions = self.processing_class.batch_decode(
            responses * response_mask.long(), skip_special_tokens=True
        )
        prompts = [prompt for batch in batches for prompt in batch["prompts"]]
        columns = {
            key: [v for batch in batches for v in batch["columns"][key]] for key in batches[0]["columns"]
        }
        return Rollout(
            input_ids=torch.cat([prompt_ids, responses], dim=1),
            attention_mask=attention_mask,
            position_ids=position_ids,
            prompt_length=prompt_width,
            response_mask=response_mask.float(),
            prompts=prompts,
            completions=completions,
            columns=columns,
        )

    @staticmethod
    def response_mask(responses: torch.Tensor, eos_token_id: int | None) -> torch.Tensor:
        """1 on response tokens up to and including the first EOS (everything when there is none)."""
        if eos_token_id is None:
            return torch.ones_like(responses, dtype=torch.bool)
        is_eos = responses == eos_token_id
        after_eos = (is_eos.cumsum(dim=1) - is_eos.long()) > 0
        return ~after_eos

    def _autocast(self):
        return self.accelerator.autocast() if self.args.bf16 or self.args.fp16 else nullcontext()

    def policy_outputs(self, model: nn.Module, rollout: Rollout) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities and values of the response tokens under ``model`` (a :class:`PolicyAndValue`)."""
        with self._autocast():
            logits, values = model(rollout.input_ids, rollout.attention_mask, rollout.position_ids)
        return self.response_token_logprobs(logits, rollout), values[
            :, self.response_positions(rollout)
        ].float()

    @staticmethod
    def response_positions(rollout: Rollout) -> slice:
        """The sequence positions whose outputs predict the response tokens (from the last prompt token)."""
        start = rollout.prompt_length - 1
        return slice(start, start + rollout.response_mask.shape[1])

    def response_token_logprobs(self, logits: torch.Tensor, rollout: Rollout) -> torch.Tensor:
        """``[B, T]`` log-probabilities of the response tokens under ``logits`` (policy or reference)."""
        tokens = rollout.input_ids[:, rollout.prompt_length :]
        return response_logprobs(logits[:, self.response_positions(rollout)], tokens, self.args.temperature)

    def forward_rollout(self, rollout: Rollout) -> None:
        """Rollout log-probabilities and values of the policy, and reference log-probabilities."""
        size = self.args.per_device_train_batch_size
        logprobs, values, ref_logprobs = [], [], []
        for start in range(0, len(rollout), size):
            chunk = rollout.rows(torch.arange(start, min(start + size, len(rollout))))
            chunk_logprobs, chunk_values = self.policy_outputs(self.model, chunk)
            logprobs.append(chunk_logprobs)
            values.append(chunk_values)
            with self.reference_policy() as reference, self._autocast():
                logits = reference(
                    input_ids=chunk.input_ids,
                    attention_mask=chunk.attention_mask,
                    position_ids=chunk.position_ids,
                    use_cache=False,
                ).logits
            ref_logprobs.append(self.response_token_logprobs(logits, chunk))
        rollout.logprobs = torch.cat(logprobs)
        rollout.values = torch.cat(values)
        rollout.ref_logprobs = torch.cat(ref_logprobs)

    def score_responses(self, rollout: Rollout) -> torch.Tensor:
        """Weighted sum of the reward functions' scores, ``[B]``; wrong shapes and NaN are errors."""
        all_scores = []
        for func, tokenizer in zip(self.reward_funcs, self.reward_tokenizers):
            name = getattr(func, "__name__", None) or type(func).__name__
            if isinstance(func, nn.Module):
                texts = [
                    self.data_collator.prompt_text(p) + c
                    for p, c in zip(rollout.prompts, rollout.completions)
                ]
                encoded = tokenizer(texts, padding=True, return_tensors="pt").to(self.args.device)
                scores = func(**encoded).logits[:, 0]
            else:
                scores = func(
                    prompts=rollout.prompts,
                    completions=rollout.completions,
                    completion_ids=self.completion_ids(rollout),
                    **rollout.columns,
                )
                scores = torch.as_tensor(scores, dtype=torch.float32, device=self.args.device)
            if scores.shape != (len(rollout),):
                raise ValueError(
                    f"reward function {name!r} returned shape {tuple(scores.shape)}; expected one score per "
                    f"completion, shape ({len(rollout)},)"
                )
            if torch.isnan(scores).any() or torch.isinf(scores).any():
                raise ValueError(f"reward function {name!r} returned NaN or infinite scores")
            all_scores.append(scores.float())
        return torch.stack(all_scores, dim=1) @ self.reward_weights.to(self.args.device)

    @staticmethod
    def completion_ids(rollout: Rollout) -> list[list[int]]:
        """Each response's token ids up to and including EOS (TRL passes the same to reward functions)."""
        responses = rollout.input_ids[:, rollout.prompt_length :]
        return [row[mask.bool()].tolist() for row, mask in zip(responses, rollout.response_mask)]

    def compute_advantages(self, rollout: Rollout) -> None:
        """KL-shaped per-token rewards, GAE advantages and returns, and each episode's ranking return."""
        rewards, rollout.kl = kl_shaped_rewards(
            rollout.scores,
            rollout.logprobs,
            rollout.ref_logprobs,
            rollout.response_mask,
            self.kl_controller.beta,
        )
        rollout.advantages, rollout.returns = generalized_advantage_estimation(
            rewards, rollout.values, rollout.response_mask, self.args.gamma, self.args.lam
        )
        rollout.episode_returns = (
            rollout.returns[:, 0] if self.args.risk_return == "shaped" else rollout.scores
        )

    def select_tail(self, rollout: Rollout) -> None:
        """Keep the episodes in the lower ``risk_level()`` tail of the ranking return (over all processes)."""
        rollout.keep = cvar_mask(rollout.episode_returns, self.risk_level(), ties=self.args.tail_ties)
        rollout.loss_mask = rollout.response_mask * rollout.keep.unsqueeze(1).to(rollout.response_mask.dtype)

    def whiten_advantages(self, rollout: Rollout) -> None:
        """Standardise the advantages with statistics of the kept tokens of every process."""
        if self.args.whiten_advantages:
            rollout.advantages = masked_whiten(
                rollout.advantages, rollout.loss_mask, all_reduce=lambda t: self.accelerator.reduce(t, "sum")
            )

    def ppo_update(self, model: nn.Module, rollout: Rollout) -> torch.Tensor:
        """``num_ppo_epochs`` passes of ``num_mini_batches`` optimiser steps over the rollout.

        Each minibatch runs in micro-batches of ``per_device_train_batch_size`` rows whose losses are
        normalised by the minibatch's kept-token count, so accumulation gives the gradient of the whole
        minibatch. Every optimiser step but the last happens here; the Trainer's loop takes the last one
        (clipping, scheduler, logging and checkpointing stay the Trainer's).
        """
        minibatch_size = len(rollout) // self.args.num_mini_batches
        generator = torch.Generator().manual_seed(self.args.seed + self.state.global_step)
        total_updates = self.args.num_ppo_epochs * self.args.num_mini_batches
        losses = []
        for update in range(total_updates):
            if update % self.args.num_mini_batches == 0:
                order = torch.randperm(len(rollout), generator=generator)
            start = (update % self.args.num_mini_batches) * minibatch_size
            minibatch = rollout.rows(order[start : start + minibatch_size].to(rollout.input_ids.device))
            losses.append(self.minibatch_backward(model, minibatch))
            if update < total_updates - 1:
                self.optimizer_step(model)
        return torch.stack(losses).mean()

    def minibatch_backward(self, model: nn.Module, minibatch: Rollout) -> torch.Tensor:
        """Forward and backward of one minibatch, in micro-batches; returns its (detached) loss."""
        normalizer = minibatch.loss_mask.sum()
        size = self.args.per_device_train_batch_size
        total = torch.zeros((), device=self.args.device)
        for start in range(0, len(minibatch), size):
            micro = minibatch.rows(torch.arange(start, min(start + size, len(minibatch))))
            loss, stats = self.ppo_loss(model, micro, normalizer)
            self.accelerator.backward(loss)
            total = total + loss.detach()
            for key, value in stats.items():
                self._metrics[key].append(float(value) * len(micro) / len(minibatch))
        return total

    def ppo_loss(
        self, model: nn.Module, micro: Rollout, normalizer: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Clipped policy loss + ``vf_coef`` * clipped value loss over the kept tokens of ``micro``."""
        logprobs, values = self.policy_outputs(model, micro)
        policy = clipped_policy_loss(
            logprobs, micro.logprobs, micro.advantages, micro.loss_mask, self.args.clip_range, normalizer
        )
        value_loss = clipped_value_loss(
            values, micro.values, micro.returns, micro.loss_mask, self.args.clip_range_value, normalizer
        )
        loss = policy.loss + self.args.vf_coef * value_loss
        stats = {
            "loss/policy": policy.loss.detach(),
            "loss/value": value_loss.detach(),
            "policy/clip_fraction": policy.clip_fraction,
            "policy/approx_kl": policy.approx_kl,
        }
        return loss, stats

    def optimizer_step(self, model: nn.Module) -> None:
        if self.args.max_grad_norm and self.args.max_grad_norm > 0:
            self.accelerator.clip_grad_norm_(model.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def kept_kl(self, rollout: Rollout) -> float:
        """Sequence KL (sum over tokens of log pi - log pi_ref) of the kept episodes of all processes, as
        ``args.kl_estimate`` asks: their mean (``"kept_mean"``) or their sum over the batch size
        (``"official"``); see :func:`hf_ext.objectives.risk.tail_kl`."""
        kept_sum = (rollout.kl * rollout.loss_mask).sum()
        sums = torch.stack([kept_sum, rollout.keep.sum().float(), kept_sum.new_tensor(float(len(rollout)))])
        total_kl, kept, batch = self.accelerator.reduce(sums, "sum").tolist()
        return tail_kl(total_kl, kept=kept, batch_size=batch, estimate=self.args.kl_estimate)

    def update_kl_controller(self, rollout: Rollout) -> None:
        """Adaptive KL step driven by the kept episodes only (batch size = global rollout size)."""
        global_batch = len(rollout) * self.accelerator.num_processes
        self.kl_controller.update(self.kept_kl(rollout), n_steps=global_batch)

    # ------------------------------------------------------------------------------------------------ logging

    def _log_rollout(self, rollout: Rollout) -> None:
        gather = self.accelerator.gather
        scores, keep, ranking = gather(rollout.scores), gather(rollout.keep), gather(rollout.episode_returns)
        level = self.risk_level()
        metrics = {
            "reward/mean": scores.mean(),
            "reward/cvar": scores[cvar_mask(scores, level, gather=False)].mean(),
            "risk/level": level,
            "risk/kept_fraction": keep.float().mean(),
            "risk/var_threshold": value_at_risk(ranking, keep),
            "objective/kl": self.kept_kl(rollout),
            "objective/beta": self.kl_controller.beta,
            "response_length": gather(rollout.response_mask.sum(dim=1)).float().mean(),
        }
        for key, value in metrics.items():
            self._metrics[key].append(float(value))

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the PPO metrics averaged since the last log.

        Rollout metrics are averaged over iterations; loss metrics (one entry per micro-batch, weighted by its
        share of the minibatch) over optimiser updates.
        """
        if self._metrics:
            iterations = len(self._metrics.get("reward/mean", [])) or 1
            updates = iterations * self.args.num_ppo_epochs * self.args.num_mini_batches
            for key, values in self._metrics.items():
                per_update = key.startswith(("loss/", "policy/"))
                logs[key] = sum(values) / (updates if per_update else len(values))
            self._metrics.clear()
        super().log(logs, start_time)

    # ---------------------------------------------------------------------------------- saving and resuming

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Policy via ``save_pretrained`` (an adapter for PEFT), value weights and trainer state as
        safetensors and JSON, the tokenizer, and ``training_args.json``. No pickle."""
        from safetensors.torch import save_file

        output_dir = output_dir or self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        unwrapped = self.accelerator.unwrap_model(self.model)
        unwrapped.policy.save_pretrained(output_dir, safe_serialization=True)
        save_file(unwrapped.value_state_dict(), os.path.join(output_dir, VALUE_WEIGHTS_NAME))
        state = {"kl_controller": self.kl_controller.state_dict(), "hf_ext_trainer": "cvar-ppo"}
        Path(output_dir, STATE_NAME).write_text(json.dumps(state, indent=2), encoding="utf-8")
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)
        write_training_args(self.args, output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: nn.Module | None = None) -> None:
        """Load what :meth:`_save` wrote: policy (or adapter) weights, value weights, KL controller state."""
        from safetensors.torch import load_file

        folder = Path(resume_from_checkpoint)
        unwrapped = self.accelerator.unwrap_model(model or self.model)
        policy = unwrapped.policy
        if is_peft_model(policy):
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(policy, load_file(folder / "adapter_model.safetensors"))
        else:
            weights = {}
            for path in sorted(folder.glob("model*.safetensors")):
                weights.update(load_file(path))
            if not weights:
                raise FileNotFoundError(f"{folder} holds no model*.safetensors to resume the policy from")
            result = policy.load_state_dict(weights, strict=False)
            tied = {key for key in result.missing_keys if "lm_head" in key or "embed" in key}
            if result.unexpected_keys or set(result.missing_keys) - tied:
                raise ValueError(
                    f"checkpoint {folder} does not match the policy: missing {result.missing_keys}, "
                    f"unexpected {result.unexpected_keys}"
                )
        unwrapped.load_state_dict(load_file(folder / VALUE_WEIGHTS_NAME), strict=False)
        state = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
        self.kl_controller.load_state_dict(state["kl_controller"])

    def create_model_card(self, model_name: str | None = None, **kwargs: Any) -> None:
        """``README.md`` in ``output_dir``: the method, its paper, the risk settings and the last metrics."""
        if not self.is_world_process_zero():
            return
        from huggingface_hub import ModelCard

        last = {k: v for log in self.state.log_history for k, v in log.items() if "/" in k}
        args = self.args
        risk = (
            f"alpha={args.alpha}, risk_warmup_steps={args.risk_warmup_steps}, "
            f"risk_reach_fraction={args.risk_reach_fraction}, risk_return={args.risk_return!r}"
        )
        tags = self._tag_names + list(kwargs.get("tags") or [])
        metric_lines = "\n".join(f"| {k} | {v:.4g} |" for k, v in sorted(last.items())) or "| (none) | |"
        text = (
            f"---\nlibrary_name: transformers\ntags: {json.dumps(tags)}\n"
            f"---\n\n# {model_name or Path(args.output_dir).name}\n\n"
            f"Fine-tuned with **{self._name}** from hf-ext: PPO whose updates use only the episodes in the "
            f'lower CVaR tail of the returns, after "{self._paper["title"]}" '
            f"([arXiv {self._paper['id']}](https://arxiv.org/abs/{self._paper['id']})).\n\n"
            f"- Risk settings: {risk}\n- PPO: {args.num_ppo_epochs} epochs x {args.num_mini_batches} "
            f"minibatches, clip {args.clip_range}, kl_coef {args.kl_coef}, kl_target {args.kl_target}\n"
            f"- Steps: {self.state.global_step} of {self.state.max_steps}\n\n"
            f"## Last logged metrics\n\n| metric | value |\n|---|---|\n{metric_lines}\n\n"
            f"## Citation\n\n```bibtex\n{self._paper['citation']}\n```\n"
        )
        ModelCard(text).save(os.path.join(args.output_dir, "README.md"))
