"""``HVFASFTTrainer``: TRL's ``SFTTrainer`` plus HVFA's reconstruction loss, with LoRA on the language model.

The loss is TRL's (next-token NLL over the completion) plus ``reconstruction_weight`` times the HVFA module's
reconstruction loss of the batch; ``reconstruction_loss`` is logged beside TRL's metrics. With a LoRA config
(and ``lora_language_model_only``), the adapters go on the language model only and the HVFA module is saved
and trained in full (``modules_to_save``), as the paper trains its aggregation module.

Example:
    >>> from hf_ext.testing.hvfa import tiny_hvfa  # doctest: +SKIP
    >>> from hf_ext.multimodal.documents import synthetic_pages, synthetic_rtpp  # doctest: +SKIP
    >>> from hf_ext.multimodal.documents import to_prompt_completion  # doctest: +SKIP
    >>> model, processor = tiny_hvfa()  # doctest: +SKIP
    >>> data = to_prompt_completion(synthetic_rtpp(synthetic_pages(16, scale=0.3)))  # doctest: +SKIP
    >>> trainer = HVFASFTTrainer(model=model, args=HVFASFTConfig(output_dir="out", max_steps=10),
    ...                          train_dataset=data, processing_class=processor,
    ...     peft_config=LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))  # doctest: +SKIP
    >>> trainer.train()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from trl import SFTTrainer

from hf_ext.multimodal.hvfa.modeling import HVFAModel
from hf_ext.trainers.hvfa_sft_config import HVFASFTConfig
from hf_ext.trainers.safe_saving import PickleFreeTrainerMixin

PAPER = {
    "title": "Hierarchical Visual Feature Aggregation for OCR-Free Document Understanding",
    "id": "2411.05254",
    "citation": (
        "@inproceedings{park2024hvfa,\n"
        "  title={Hierarchical Visual Feature Aggregation for OCR-Free Document Understanding},\n"
        "  author={Park and Choi and Park and Han},\n"
        "  booktitle={Advances in Neural Information Processing Systems (NeurIPS)},\n  year={2024}\n}"
    ),
}


def restrict_lora_to_language_model(peft_config: Any) -> Any:
    """Target the named modules inside the language model only, and train the HVFA module in full."""
    targets = getattr(peft_config, "target_modules", None)
    if isinstance(targets, (list, set, tuple)) and targets:
        names = "|".join(sorted(targets))
        peft_config.target_modules = rf".*\.text_model\..*\.({names})"
    modules = list(getattr(peft_config, "modules_to_save", None) or [])
    if "aggregator" not in modules:
        peft_config.modules_to_save = [*modules, "aggregator"]
    return peft_config


def hvfa_base_model(model) -> HVFAModel:
    """The :class:`HVFAModel` inside ``model`` (plain, PEFT-wrapped or DDP-wrapped)."""
    for module in model.modules():
        if isinstance(module, HVFAModel):
            return module
    raise TypeError(f"{type(model).__name__} holds no HVFAModel; HVFASFTTrainer trains HVFA models")


class HVFASFTTrainer(PickleFreeTrainerMixin, SFTTrainer):
    """:class:`trl.SFTTrainer` for HVFA models: adds the weighted reconstruction loss and logs it."""

    _tag_names = ["trl", "sft", "hvfa", "document-understanding", "hf-ext"]
    _name = "HVFA-SFT"
    _paper = PAPER

    def __init__(
        self, model=None, args: HVFASFTConfig | None = None, *pos: Any, peft_config=None, **kwargs: Any
    ):
        if args is not None and not isinstance(args, HVFASFTConfig):
            raise TypeError(f"args must be an HVFASFTConfig, got {type(args).__name__}")
        if peft_config is not None and (args is None or args.lora_language_model_only):
            peft_config = restrict_lora_to_language_model(peft_config)
        super().__init__(model, args, *pos, peft_config=peft_config, **kwargs)
        self._hvfa = hvfa_base_model(self.model)

    @property
    def reconstruction_weight(self) -> float:
        weight = self.args.reconstruction_weight
        return float(self._hvfa.config.reconstruction_weight if weight is None else weight)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        self._hvfa.last_reconstruction_loss = None
        # TRL's return_outputs=True runs a second, gradient-free forward, so the first one's loss is read here
        result = super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )
        loss, outputs = result if return_outputs else (result, None)
        reconstruction = self._hvfa.last_reconstruction_loss
        if reconstruction is not None:
            mode = "train" if self.model.training else "eval"
            self._metrics[mode]["reconstruction_loss"].append(float(reconstruction.detach()))
            if self.reconstruction_weight > 0:
                # like TRL's MoE aux loss: a per-micro-batch mean, spread over the accumulation steps
                steps = self.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
                loss = loss + self.reconstruction_weight * reconstruction.to(loss.dtype) / steps
        return (loss, outputs) if return_outputs else loss
