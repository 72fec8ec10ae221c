"""The offline tour behind ``hf-ext quickstart``: one short step per part of hf-ext, then a summary.

Each step is a function ``step(workdir: Path) -> list[str]`` (the summary lines it contributes), listed in
:data:`QUICKSTART_STEPS` as ``(name, "module:function")``. A part of hf-ext joins the tour by adding its
line there; its step should finish in well under a minute on 2 CPU cores.

Example:
    >>> from hf_ext.quickstart import run_quickstart
    >>> summary = run_quickstart(only=["dpo"])  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hf_ext.registry import unknown_name_error
from hf_ext.utils import import_object

QUICKSTART_STEPS: list[tuple[str, str]] = [
    ("dpo", "hf_ext.quickstart:dpo_step"),
    ("babilong", "hf_ext.evaluation.babilong.evaluate:quickstart_step"),
    ("adaptive-dpo", "hf_ext.trainers.adaptive_quickstart:adaptive_dpo_step"),
    ("cvar-ppo", "hf_ext.trainers.cvar_quickstart:cvar_ppo_step"),
    ("slimgpt", "hf_ext.pruning.slimgpt.tour:quickstart_step"),
    ("elo", "hf_ext.evaluation.elo.quickstart:quickstart_step"),
]


def recipe_path(relative: str) -> Path:
    """A recipe shipped with hf-ext, e.g. ``recipe_path("dpo/tiny.yaml")``."""
    return Path(__file__).parent / "recipes" / relative


def dpo_step(workdir: Path) -> list[str]:
    """Train TRL's DPO through the registry on the tiny offline model, save, reload, compare margins."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ext.evaluation.logprobs import completion_logprobs
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


def run_quickstart(output_dir: str | Path | None = None, only: list[str] | None = None) -> list[str]:
    """Run the tour (all steps, or those named in ``only``); print and return the summary lines."""
    names = [name for name, _ in QUICKSTART_STEPS]
    for name in only or []:
        if name not in names:
            raise unknown_name_error("quickstart step", name, names)
    workdir = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="hf-ext-quickstart-"))
    workdir.mkdir(parents=True, exist_ok=True)
    summary: list[str] = []
    for name, reference in QUICKSTART_STEPS:
        if only and name not in only:
            continue
        print(f"== quickstart: {name}", flush=True)
        started = time.perf_counter()
        lines = import_object(reference)(workdir)
        lines.append(f"{name}: done in {time.perf_counter() - started:.0f} s")
        summary.extend(lines)
    print("\n=== hf-ext quickstart summary ===")
    for line in summary:
        print(line)
    print(f"files in {workdir}")
    return summary
