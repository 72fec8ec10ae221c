"""Lean Workbook pipeline benchmark: the pipeline's own overhead beside the model and checker calls, and the
REPL pool's throughput against a single REPL process.

1. Overhead: ``run_pipeline`` on N synthetic problems with instant scripted models and the recorded backend,
   so that almost all the time is the pipeline's (prompt building, statement extraction, JSONL stage files,
   resume bookkeeping). Reported per problem, beside the time spent inside the model and checker calls.
2. Pool: commands per second of ``LeanREPLPool`` with 1, 2 and 4 workers. With a Lean toolchain
   (``HF_EXT_LEAN_PROJECT`` and ``HF_EXT_LEAN_REPL`` set, ``lake`` on PATH) it checks real statements;
   otherwise it drives the stand-in REPL with a fixed delay per command (``--standin-delay``, standing in for
   Lean's elaboration time), which measures only the pool's scheduling, not Lean. The JSON says which.

Writes ``benchmarks/results/lean_pipeline.json`` and prints Markdown tables.

Usage: ``python benchmarks/bench_lean_pipeline.py [--tiny]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from hf_ext.formal.autoformalization import run_pipeline
from hf_ext.formal.generation import as_generator
from hf_ext.formal.lean import LeanREPLPool, RecordedLeanChecker
from hf_ext.formal.lean.toolchain import find_lake

RESULTS = Path(__file__).parent / "results" / "lean_pipeline.json"


class TimedCall:
    """Wrap a callable and add up the seconds spent inside it."""

    def __init__(self, function):
        self.function = function
        self.seconds = 0.0

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def pipeline_overhead(n_problems: int) -> dict:
    problems = [
        {"id": f"p{i}", "natural_language": f"Find x such that x + {i} = {2 * i}.", "answer": str(i)}
        for i in range(n_problems)
    ]

    def translate(messages):
        content = messages[-1]["content"]
        if content.startswith("Convert following"):
            index = content.split("x + ")[1].split(" ")[0]
            return f" p{index} (x : ℕ) (h : x + {index} = {2 * int(index)}) : x = {index} := by\n  omega"
        return "Find x."

    translator = TimedCall(as_generator(translate))
    judge = TimedCall(as_generator(lambda messages: "**same**"))
    records = [
        {"code": f"theorem p{i} (x : ℕ) (h : x + {i} = {2 * i}) : x = {i} := by sorry", "reply": {"env": 0}}
        for i in range(n_problems)
    ]
    recorded = RecordedLeanChecker(records)
    checker_seconds = TimedCall(recorded.check)
    recorded.check = checker_seconds  # time the checker's calls too
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        output = run_pipeline(problems, translator, judge, recorded, Path(folder) / "run")
        total = time.perf_counter() - started
        started = time.perf_counter()
        run_pipeline(
            problems, translator, judge, recorded, Path(folder) / "run"
        )  # everything done: resume only
        resume = time.perf_counter() - started
    inside = translator.seconds + judge.seconds + checker_seconds.seconds
    return {
        "problems": n_problems,
        "funnel": output["funnel"],
        "total_s": total,
        "inside_model_and_checker_s": inside,
        "overhead_ms_per_problem": 1000 * (total - inside) / n_problems,
        "problems_per_s": n_problems / total,
        "resume_of_a_finished_run_s": resume,
    }


def pool_throughput(n_commands: int, workers_list: list[int], standin_delay: float) -> dict:
    project, repl = os.environ.get("HF_EXT_LEAN_PROJECT"), os.environ.get("HF_EXT_LEAN_REPL")
    real = bool(find_lake() and project and repl)
    if real:
        codes = [f"theorem t{i} : ({i} : ℕ) + {i} = {2 * i} := by norm_num" for i in range(n_commands)]
        make = lambda workers: LeanREPLPool(project_dir=project, repl_dir=repl, workers=workers)  # noqa: E731
    else:
        codes = [f"theorem t{i} : {i} + {i} = {2 * i} := by rfl" for i in range(n_commands)]
        command = [sys.executable, "-m", "hf_ext.formal.lean.standin_repl", "--delay", str(standin_delay)]
        make = lambda workers: LeanREPLPool(command=command, workers=workers, header="")  # noqa: E731
    rows = []
    for workers in workers_list:
        with make(workers) as pool:
            pool.check(codes[:workers])  # start every process (and elaborate the header) before timing
            started = time.perf_counter()
            results = pool.check(codes)
            seconds = time.perf_counter() - started
        rows.append(
            {"workers": workers, "commands_per_s": n_commands / seconds, "all_ok": all(r.ok for r in results)}
        )
    base = rows[0]["commands_per_s"]
    for row in rows:
        row["speedup_vs_one"] = row["commands_per_s"] / base
    return {
        "backend": "real Lean" if real else f"stand-in REPL, {standin_delay * 1000:.0f} ms per command",
        "commands": n_commands,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a few problems and commands (the test suite's setting)"
    )
    parser.add_argument("--standin-delay", type=float, default=0.05)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    overhead = pipeline_overhead(20 if args.tiny else 2000)
    pool = pool_throughput(8 if args.tiny else 80, [1, 2] if args.tiny else [1, 2, 4], args.standin_delay)
    results = {"pipeline": overhead, "pool": pool, "machine": f"{os.cpu_count()} CPUs"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(
        "| problems | problems/s | overhead per problem | inside models+checker | resume of a finished run |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| {overhead['problems']} | {overhead['problems_per_s']:.0f} "
        f"| {overhead['overhead_ms_per_problem']:.2f} ms "
        f"| {overhead['inside_model_and_checker_s']:.2f} s | {overhead['resume_of_a_finished_run_s']:.2f} s |"
    )
    print(f"\nREPL pool ({pool['backend']}, {pool['commands']} commands)\n")
    print("| workers | commands/s | speed-up vs 1 |")
    print("|---|---|---|")
    for row in pool["rows"]:
        print(f"| {row['workers']} | {row['commands_per_s']:.1f} | {row['speedup_vs_one']:.2f}x |")


if __name__ == "__main__":
    main()
