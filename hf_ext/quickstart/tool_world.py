"""The ``tool-world`` step of ``hf-ext quickstart``: grow DFSDT trees offline, mine pairs, one DPO step.

The offline tool world's noisy scripted expert grows trees on G1/G2/G3 queries (with injected API faults),
the tiny random model grows two more (it cannot solve anything yet: its trees show what an untrained
policy does), TP-LLaMA's step-wise pairs are mined from the expert's trees, and the tiny model takes one
``TreePreferenceTrainer`` step on them. The pass rates are the world's exact gold checks.
"""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Grow trees, score them, mine pairs and train one DPO step; return the summary lines."""
    from hf_ext.agents.dfsdt import TransformersPolicy, run_dfsdt
    from hf_ext.agents.evaluate import score_answers
    from hf_ext.agents.scripted import ScriptedWorldPolicy
    from hf_ext.agents.tools import OfflineToolWorld
    from hf_ext.data.tool_trees import tree_preference_dataset
    from hf_ext.testing import tiny_causal_lm
    from hf_ext.trainers.tree_preference_config import TreePreferenceConfig
    from hf_ext.trainers.tree_preference_trainer import TreePreferenceTrainer

    world = OfflineToolWorld(seed=0, fault_rate=0.1)
    queries = [
        q for group in ("G1", "G2", "G3") for q in world.generate_queries(6, group, seed=0, distractors=1)
    ]
    expert_dir = workdir / "tool-world" / "expert-trees"
    expert = ScriptedWorldPolicy(queries, noise=0.35, seed=0)
    run_dfsdt(expert, world, queries, out_dir=expert_dir, progress=False)
    report = score_answers(expert_dir, queries, world.check_answer)

    model, tokenizer = tiny_causal_lm("llama")
    reference, _ = tiny_causal_lm("llama")
    model_dir = workdir / "tool-world" / "tiny-model-trees"
    policy = TransformersPolicy(model, tokenizer, max_new_tokens=24, seed=0)
    tiny = run_dfsdt(policy, world, queries[:2], max_queries=4, out_dir=model_dir, progress=False)

    pairs = tree_preference_dataset(expert_dir, mode="step")
    args = TreePreferenceConfig(
        output_dir=str(workdir / "tool-world" / "tree-dpo"),
        max_steps=1,
        per_device_train_batch_size=2,
        max_length=256,
        truncation_mode="keep_end",
        learning_rate=1e-3,
        report_to="none",
        use_cpu=True,
        bf16=False,
        save_strategy="no",
    )
    trainer = TreePreferenceTrainer(
        model=model, ref_model=reference, args=args, train_dataset=str(expert_dir), processing_class=tokenizer
    )
    trainer.train()
    loss = next(log["train_loss"] for log in trainer.state.log_history if "train_loss" in log)
    groups = ", ".join(f"{name} {score.pass_rate:.2f}" for name, score in sorted(report.groups.items()))
    return [
        f"tool-world: scripted expert (35% mistakes, 10% API faults) grew {len(queries)} DFSDT trees in "
        f"{expert_dir}; pass rate {report.pass_rate:.2f} ({groups}), {len(report.unanswered)} unanswered",
        f"tool-world: the untrained tiny model grew {len(tiny)} trees, "
        f"{sum(r.win for r in tiny)} reached give_answer ({model_dir})",
        f"tool-world: {len(pairs)} step-wise pairs mined; one tree-dpo step, loss {loss:.3f}",
    ]
