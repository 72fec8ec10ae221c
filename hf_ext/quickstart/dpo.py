"""The ``dpo`` step of ``hf-ext quickstart``: TRL's own DPO through the registry on the tiny offline model."""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Train TRL's DPO through the registry on the tiny offline model, save, reload, compare margins."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ext.evaluation.logprobs import completion_logprobs
    from hf_ext.recipes import recipe_path
    from hf_ext.testing import testing_dataset
    from hf_ext.testing.names import resolve_model_name
    from hf_ext.trainers.launch import train_from_recipe

    output_dir = workdir / "dpo-tiny"
    trainer = train_from_recipe(
        "dpo", ["--config", str(recipe_path("dpo/tiny.yaml")), "--output_dir", str(output_dir)]
    )
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    heldout = testing_dataset("hf-ext-testing:preferences")["test"]

    def margin(path: str) -> float:
        model = AutoModelForCausalLM.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        chosen = completion_logprobs(model, tokenizer, heldout["prompt"], heldout["chosen"])
        rejected = completion_logprobs(model, tokenizer, heldout["prompt"], heldout["rejected"])
        return (chosen - rejected).mean().item()

    before, after = margin(resolve_model_name("hf-ext-testing:tiny-llama")), margin(str(output_dir))
    return [
        f"dpo: {trainer.state.global_step} steps via the registry, loss {losses[0]:.3f} -> {losses[-1]:.3f}",
        f"dpo: held-out log p(chosen) - log p(rejected): {before:+.2f} before, {after:+.2f} after "
        f"(reloaded from {output_dir})",
    ]
