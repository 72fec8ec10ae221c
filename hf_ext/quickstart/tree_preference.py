"""The ``tree-preference`` step of ``hf-ext quickstart``: write a few DFSDT trees with the test generator,
mine TP-LLaMA's step-wise pairs, and train ``tree-dpo`` from its tiny recipe on the folder of trees.

The trees are made up by :mod:`hf_ext.testing.tool_trees` (ToolBench's schema, invented tools and results)
and the model is the tiny random Llama: the numbers show the plumbing works, not that tree preferences help.

Example:
    >>> from hf_ext.quickstart import run_quickstart
    >>> summary = run_quickstart(only=["tree-preference"])  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Write 16 trees, report their statistics, train 3 ``tree-dpo`` steps on them."""
    from hf_ext.data.tool_trees import tree_stats
    from hf_ext.recipes import recipe_path
    from hf_ext.testing.tool_trees import write_tool_trees
    from hf_ext.trainers.launch import train_from_recipe

    trees = workdir / "tool-trees"
    if not trees.exists():
        write_tool_trees(trees, count=16, seed=0)
    stats = tree_stats(trees)
    output_dir = workdir / "tree-dpo-tiny"
    argv = ["--config", str(recipe_path("tree_preference/tiny.yaml")), "--dataset_name", str(trees),
            "--output_dir", str(output_dir), "--max_length", "96", "--max_steps", "3"]  # fmt: skip
    trainer = train_from_recipe("tree-dpo", argv)
    logs = [log for log in trainer.state.log_history if "loss" in log]
    first, last = logs[0], logs[-1]
    return [
        f"tree-preference: {stats.parsed} trees in {trees}, {stats.wins} won, {stats.pairs} step-wise pairs "
        f"({stats.chosen_thought_only} where only the chosen step has a Thought), {stats.path_pairs} "
        "path-wise",
        f"tree-preference: tree-dpo {trainer.state.global_step} steps, loss {first['loss']:.3f} -> "
        f"{last['loss']:.3f}, reward accuracy {last['rewards/accuracies']:.2f}; model in {output_dir}",
    ]
