"""HVFASFTTrainer: LoRA on the language model, HVFA module trained in full, reconstruction loss goes down."""

import pytest
import torch
from peft import LoraConfig
from safetensors.torch import load_file

from hf_ext.errors import HFExtError
from hf_ext.multimodal.documents import synthetic_pages, synthetic_rtpp, to_prompt_completion
from hf_ext.recipes import recipe_path
from hf_ext.testing.hvfa import tiny_hvfa
from hf_ext.trainers.hvfa_sft_config import HVFASFTConfig
from hf_ext.trainers.hvfa_sft_trainer import HVFASFTTrainer


def tiny_args(tmp_path, **overrides):
    defaults = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": 4,
        "learning_rate": 3e-3,
        "lr_scheduler_type": "constant",
        "logging_steps": 1,
        "report_to": "none",
        "use_cpu": True,
        "save_strategy": "no",
        "max_length": None,
        "gradient_checkpointing": False,
        "seed": 0,
    }
    return HVFASFTConfig(**{**defaults, **overrides})


@pytest.mark.slow
def test_lora_step_lowers_the_reconstruction_loss(tmp_path):
    model, processor = tiny_hvfa(reconstruction_weight=1.0)
    vision_before = model.model.vision_model.embeddings.patch_embedding.weight.detach().clone()
    data = to_prompt_completion(synthetic_rtpp(synthetic_pages(8, seed=0, scale=0.25), max_target_words=12))
    trainer = HVFASFTTrainer(
        model=model,
        args=tiny_args(tmp_path, max_steps=10),
        train_dataset=data,
        processing_class=processor,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    )
    lora = [name for name, _ in trainer.model.named_parameters() if "lora_" in name]
    assert lora and all(".text_model." in name for name in lora)  # not the vision tower, not the aggregator
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "reconstruction_loss" in entry]
    recon = [entry["reconstruction_loss"] for entry in logs]
    assert len(recon) == 10 and all(torch.isfinite(torch.tensor([entry["loss"] for entry in logs])))
    assert sum(recon[-3:]) / 3 < 0.7 * sum(recon[:3]) / 3
    base = trainer.model.get_base_model()
    assert torch.equal(base.model.vision_model.embeddings.patch_embedding.weight, vision_before)  # frozen
    trainer.save_model(str(tmp_path / "adapter"))
    saved = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert any("aggregator" in key for key in saved) and any("lora_A" in key for key in saved)


def test_the_weight_comes_from_the_model_config_unless_set(tmp_path):
    model, processor = tiny_hvfa(reconstruction_weight=0.25)
    data = to_prompt_completion(synthetic_rtpp(synthetic_pages(2, seed=1, scale=0.25), max_target_words=8))
    trainer = HVFASFTTrainer(
        model=model, args=tiny_args(tmp_path), train_dataset=data, processing_class=processor
    )
    assert trainer.reconstruction_weight == 0.25
    trainer.args.reconstruction_weight = 0.0
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    trainer.args.reconstruction_weight = 2.0
    loss_with = trainer.compute_loss(trainer.model, dict(batch))
    reconstruction = trainer._hvfa.last_reconstruction_loss
    assert torch.allclose(loss_with, loss + 2.0 * reconstruction, atol=1e-5)
    with pytest.raises(HFExtError, match="reconstruction_weight"):
        tiny_args(tmp_path, reconstruction_weight=-0.5)


@pytest.mark.slow
def test_recipe_runs_from_the_cli_parser(tmp_path):
    from hf_ext.trainers.launch import train_from_recipe

    trainer = train_from_recipe(
        "hvfa-sft",
        [
            "--config",
            str(recipe_path("hvfa/tiny.yaml")),
            "--max_steps",
            "1",
            "--output_dir",
            str(tmp_path / "o"),
        ],
    )
    assert trainer.state.global_step == 1
    assert (tmp_path / "o" / "adapter_model.safetensors").exists()
    assert (tmp_path / "o" / "processor_config.json").exists()
