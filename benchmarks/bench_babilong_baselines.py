"""BABILong quality of the last-mention heuristic, unbounded vs a 1,500-word window, on all 20 tasks.

Runs the real pipeline (generation at each length in the reference LM's tokens, the hfx_babilong lm-eval
tasks, the official metric) with :func:`hf_ext.evaluation.babilong.baselines.last_mention_lm` as the model,
so the numbers check the benchmark itself: single-fact tasks are solved while the facts fit the window and
multi-fact tasks are not. Writes benchmarks/results/babilong_baselines.json, docs/images/babilong_heatmap.png
and docs/images/babilong_depth.png, and prints Markdown tables.

    python benchmarks/bench_babilong_baselines.py [--lengths 0,1k,4k,16k,32k] [--num-samples 10]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import lm_eval
from lm_eval.tasks import TaskManager

from hf_ext.evaluation.babilong import TASK_NAMES, length_label, parse_lengths
from hf_ext.evaluation.babilong.baselines import last_mention_lm
from hf_ext.evaluation.babilong.plots import accuracy_tables, plot_depth, plot_heatmap
from hf_ext.task_files import tasks_path
from hf_ext.testing import reference_lm_path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "babilong_baselines.json"
IMAGES = ROOT / "docs" / "images"


def evaluate(window_words: int | None, lengths: list[int], num_samples: int) -> dict:
    metadata = {"tokenizer": str(reference_lm_path()), "max_seq_lengths": lengths, "num_samples": num_samples}
    manager = TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)
    output = lm_eval.simple_evaluate(
        model=last_mention_lm(window_words),
        tasks=[f"hfx_babilong_{task}" for task in TASK_NAMES],
        task_manager=manager,
        bootstrap_iters=0,
        log_samples=False,
    )
    return output["results"]


def table(by_length: dict[str, dict[int, float]], lengths: list[int]) -> str:
    lines = ["| task | " + " | ".join(length_label(n) for n in lengths) + " |"]
    lines.append("|---" * (len(lengths) + 1) + "|")
    for task in TASK_NAMES:
        lines.append(f"| {task} | " + " | ".join(f"{100 * by_length[task][n]:.0f}" for n in lengths) + " |")
    means = [sum(by_length[task][n] for task in TASK_NAMES) / len(TASK_NAMES) for n in lengths]
    lines.append("| mean | " + " | ".join(f"{100 * m:.0f}" for m in means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="0,1k,4k,16k,32k")
    parser.add_argument("--num-samples", type=int, default=10)
    parser.add_argument("--window-words", type=int, default=1500)
    args = parser.parse_args()
    lengths = parse_lengths(args.lengths)
    report = {"num_samples": args.num_samples, "lengths": lengths, "runs": {}}
    for name, window in (("unbounded", None), (f"window_{args.window_words}_words", args.window_words)):
        by_length, by_depth = accuracy_tables(evaluate(window, lengths, args.num_samples))
        report["runs"][name] = {"by_length": by_length, "by_depth": by_depth}
        label = name.replace("_", " ")
        print(f"\n### last-mention heuristic, {label} (accuracy %, {args.num_samples} samples per cell)\n")
        print(table(by_length, lengths))
        if window is not None:
            title = f"last-mention heuristic, {window}-word window"
            plot_heatmap(by_length, IMAGES / "babilong_heatmap.png", title=title)
            plot_depth(by_depth, IMAGES / "babilong_depth.png", title=f"{title}: accuracy by depth")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
