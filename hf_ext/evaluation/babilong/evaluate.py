"""Run the ``hfx_babilong_*`` lm-eval tasks from Python.

:func:`evaluate_babilong` is ``lm_eval.simple_evaluate`` with hf-ext's include path and the BABILong
metadata filled in; it returns lm-eval's results plus the per-length table.

Example:
    >>> from hf_ext.evaluation.babilong.evaluate import evaluate_babilong
    >>> output = evaluate_babilong("path/to/model", ["qa1"], lengths=[0, 4096], limit=10)  # doctest: +SKIP
    >>> output["by_length"]  # doctest: +SKIP
    {'qa1': {0: 0.9, 4096: 0.6}}
"""

from __future__ import annotations

from typing import Any


def evaluate_babilong(
    model_path: str,
    tasks: list[str],
    lengths: list[int | str],
    num_samples: int = 100,
    limit: int | None = None,
    device: str = "cpu",
    batch_size: int = 1,
    **metadata: Any,
) -> dict[str, Any]:
    """Evaluate a Hugging Face causal LM (local folder or Hub id) on BABILong tasks at several lengths.

    ``metadata`` goes to the tasks: ``tokenizer``, ``seed``, ``reserve``, ``haystack``, ``depth``, ``source``.
    Returns ``{"results": ..., "samples": ..., "by_length": {task: {length: acc}}, "by_depth": ...}``.
    """
    import lm_eval
    from lm_eval.tasks import TaskManager

    from hf_ext.evaluation.babilong.plots import accuracy_tables
    from hf_ext.task_files import tasks_path

    task_metadata = {"pretrained": model_path, "max_seq_lengths": list(lengths), "num_samples": num_samples}
    manager = TaskManager(
        include_path=str(tasks_path()), include_defaults=False, metadata={**task_metadata, **metadata}
    )
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model_path},dtype=float32",
        tasks=[f"hfx_babilong_{task}" for task in tasks],
        task_manager=manager,
        limit=limit,
        device=device,
        batch_size=batch_size,
        bootstrap_iters=0,
    )
    by_length, by_depth = accuracy_tables(output["results"])
    return {
        "results": output["results"],
        "samples": output.get("samples"),
        "by_length": by_length,
        "by_depth": by_depth,
    }
