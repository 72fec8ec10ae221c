"""Mining throughput and memory: hf-ext's streamed tree mining vs a json.load-everything baseline.

A synthetic corpus of ToolBench-sized DFSDT answer files (:func:`hf_ext.testing.tool_trees.write_tool_trees`,
observations padded so a file is about the size of ToolBench's samples, ~100 KB) is written to a temporary
folder and deleted afterwards. For growing prefixes of it, two ways build the same step-wise pair dataset:

- **stream** (hf-ext): :func:`hf_ext.data.tool_trees.tree_preference_dataset` on the list of files: one file's
  JSON in memory at a time, pairs written to an Arrow file as they are mined;
- **baseline**: ``json.load`` every file into a list, parse and mine them all, ``Dataset.from_list``.

Each run is a fresh process (spawned, with its own empty ``datasets`` cache); reported: files per second and
the growth of peak resident memory (Linux VmHWM, reset after the imports) over the resident size after the
imports. Timings on a shared machine are noisy: read ratios and the trend of memory with corpus size.

    python benchmarks/bench_tree_mining.py [--sizes 250,500,1000,2000] [--observation-chars 55000]

Writes benchmarks/results/tree_mining.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "tree_mining.json"
REPO = Path(__file__).resolve().parents[1]


def _measure(method: str, files: list[str], cache: str) -> dict:
    """Run in a fresh process: build the pair dataset of ``files`` with ``method``; time and peak memory."""
    os.environ["HF_DATASETS_CACHE"] = cache
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    from datasets import Dataset  # noqa: F401  (imported before the memory baseline is read)

    from hf_ext.data import tool_trees

    paths = [Path(name) for name in files]
    before = _reset_peak_memory()
    started = time.perf_counter()
    if method == "stream":
        dataset = tool_trees.tree_preference_dataset(paths)
    else:
        loaded = []
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                loaded.append((str(path), json.load(handle)))
        trees = [
            tool_trees.parse_inference_tree(data, name, tool_trees.query_id_from_filename(name))
            for name, data in loaded
        ]
        rows = [tool_trees.pair_record(pair) for pair in tool_trees.mine_pairs(trees)]
        dataset = tool_trees._rows_to_dataset(rows, tool_trees._features("step"))
    seconds = time.perf_counter() - started
    peak = _peak_memory_kib()
    return {
        "method": method,
        "files": len(paths),
        "pairs": len(dataset),
        "seconds": seconds,
        "files_per_second": len(paths) / seconds,
        "memory_growth_mb": (peak - before) / 1024,
    }


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_memory() -> int:
    """Reset the kernel's peak-RSS mark (Linux, /proc/self/clear_refs) and return the current RSS in KiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except OSError:  # no reset possible: growth is then measured against the peak so far
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_memory_kib() -> int:
    try:
        return _status_kib("VmHWM")
    except (OSError, KeyError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(method: str, files: list[Path]) -> dict:
    """:func:`_measure` in a fresh Python process with an empty ``datasets`` cache."""
    scratch = Path(tempfile.mkdtemp(prefix="hf-ext-bench-"))
    try:
        listing = scratch / "files.json"
        listing.write_text(json.dumps([str(p) for p in files]), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        command = [sys.executable, __file__, "--child", method, str(listing), str(scratch / "cache")]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if output.returncode != 0:
            raise RuntimeError(f"{method} run failed: {output.stderr[-2000:]}")
        return json.loads(output.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(
    sizes: list[int], observation_chars: int, workdir: Path | None = None, in_process: bool = False
) -> dict:
    from hf_ext.testing.tool_trees import write_tool_trees

    root = Path(tempfile.mkdtemp(prefix="hf-ext-tree-corpus-", dir=workdir))
    try:
        files = write_tool_trees(root, count=max(sizes), seed=0, observation_chars=observation_chars)
        corpus_mb = sum(path.stat().st_size for path in files) / 2**20
        rows = []
        for size in sizes:
            for method in ("stream", "baseline"):
                if in_process:  # quick check of the plumbing: memory figures are then not per method
                    cache = tempfile.mkdtemp(prefix="hf-ext-bench-cache-", dir=root)
                    row = _measure(method, [str(p) for p in files[:size]], cache)
                else:
                    row = measure(method, files[:size])
                row["corpus_mb"] = sum(path.stat().st_size for path in files[:size]) / 2**20
                rows.append(row)
                print(
                    f"{method:>8} {size:>6} files ({row['corpus_mb']:.0f} MB): {row['files_per_second']:.0f} "
                    f"files/s, peak memory +{row['memory_growth_mb']:.0f} MB, {row['pairs']} pairs",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "observation_chars": observation_chars,
        "mean_file_kb": corpus_mb * 1024 / max(sizes),
        "rows": rows,
        "note": "synthetic trees (hf_ext.testing.tool_trees: ToolBench schema, made-up tools); shared CPU",
    }


def markdown(result: dict) -> str:
    lines = [
        "| files | corpus MB | stream files/s | baseline files/s | stream peak +MB | baseline peak +MB "
        "| pairs |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_size: dict[int, dict[str, dict]] = {}
    for row in result["rows"]:
        by_size.setdefault(row["files"], {})[row["method"]] = row
    for size, methods in sorted(by_size.items()):
        stream, baseline = methods["stream"], methods["baseline"]
        lines.append(
            f"| {size} | {stream['corpus_mb']:.0f} | {stream['files_per_second']:.0f} | "
            f"{baseline['files_per_second']:.0f} | {stream['memory_growth_mb']:.0f} | "
            f"{baseline['memory_growth_mb']:.0f} | {stream['pairs']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        method, listing, cache = argv[1:4]
        files = json.loads(Path(listing).read_text(encoding="utf-8"))
        print(json.dumps(_measure(method, files, cache)))
        return {}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000", help="comma list of corpus sizes (files)")
    parser.add_argument("--observation-chars", type=int, default=55000, help="padding of each observation")
    parser.add_argument("--workdir", default=None, help="parent of the temporary corpus")
    parser.add_argument("--results", default=str(RESULTS), help="JSON file to write")
    parser.add_argument(
        "--in-process", action="store_true", help="no fresh processes (a quick plumbing check)"
    )
    args = parser.parse_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    result = run(sizes, args.observation_chars, Path(args.workdir) if args.workdir else None, args.in_process)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
