"""Generated bAbI tasks against the original ones: the statistics of
:mod:`hf_ext.evaluation.babilong.fidelity` per task, on the original ``test`` files (1,000 questions per task)
and on as many generated stories, written to benchmarks/results/babi_fidelity.json and printed as a
Markdown table (generated / original; a ✗ marks a check outside its tolerance). The last column runs the
same checks on the original train file against the test file: how far the original is from itself.

The original files are not part of the repository: pass their folder (bAbI v1.2 ``en-10k`` or ``en``, with
its ``qa*_train.txt`` and ``qa*_test.txt`` files).

    python benchmarks/bench_babi_fidelity.py [--babi ../shared/fixtures/babi/en] [--stories 1000]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from tqdm.auto import tqdm

from hf_ext.evaluation.babilong import TASK_NAMES, simulate_story
from hf_ext.evaluation.babilong.fidelity import compare_task, markdown_table, read_babi_task

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "babi_fidelity.json"
DEFAULT_BABI = ROOT / ".." / "shared" / "fixtures" / "babi" / "en"


def run(babi: Path, stories: int, tasks: list[str], seed: int = 0) -> tuple[dict, dict]:
    """``{task: {"original", "generated", "checks"}}`` for each task, and the same comparison of the
    original train file against the test file (the original's own sampling noise)."""
    results, reference = {}, {}
    for task in tqdm(tasks, desc="bAbI fidelity", leave=False):
        original = read_babi_task(babi, task, "test")[:stories]
        generated = [
            simulate_story(task, random.Random(f"fidelity/{seed}/{task}/{i}")) for i in range(stories)
        ]
        results[task] = compare_task(task, generated, original)
        reference[task] = compare_task(task, read_babi_task(babi, task, "train")[:stories], original)
    return results, reference


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--babi", type=Path, default=DEFAULT_BABI, help="folder of the bAbI qa*_test.txt files"
    )
    parser.add_argument("--stories", type=int, default=1000, help="questions per task, each source")
    parser.add_argument("--tasks", default=",".join(TASK_NAMES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results, reference = run(args.babi, args.stories, args.tasks.split(","), args.seed)
    table = markdown_table(results, reference)

    def failed(compared: dict) -> dict:
        names = {
            task: [n for n, check in r["checks"].items() if not check["passed"]]
            for task, r in compared.items()
        }
        return {task: found for task, found in names.items() if found}

    payload = {
        "stories_per_task": args.stories,
        "seed": args.seed,
        "original": "bAbI v1.2 test files (1,000 questions per task)",
        "failed_checks": failed(results),
        "original_train_vs_test_failed_checks": failed(reference),
        "tasks": results,
        "original_train_vs_test": {task: r["checks"] for task, r in reference.items()},
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(table)
    return payload


if __name__ == "__main__":
    main()
