"""Elo benchmark: speed against straightforward per-battle loops and recovery of known strengths.

Synthetic logs from known strengths (10k, 100k, 1M battles; 20 and 100 models; 10 % ties). For each,
in one process:

- speed: online Elo (one order), permutation Elo (1000 orders), bootstrap Elo (1000 rounds), Bradley-Terry
  (one fit) and bootstrap BT (1000 rounds), each against a straightforward baseline on the same work
  (permutation and bootstrap Elo and single BT fits: the median of three runs when one takes under 2 s):
  a plain Python loop over battles per order / round (as FastChat's first ``compute_elo``), and for BT a
  scipy L-BFGS fit on the aggregated rows (as FastChat's ``fit_bt``), once per round. Baselines that would
  take minutes are timed on a few orders / rounds and scaled linearly (marked ``*``).
  Wall-clock ratios suffer from other processes on a shared machine; the CPU-time ratios (process CPU
  seconds over all threads, both sides) show the work saved.
- quality: Spearman correlation of each method's ratings with the true strengths.
- spread: how the order-noise of permutation-averaged Elo shrinks with the number of permutations.

- single calls (``--single-calls``, see ``benchmarks/_elo_single_calls.py``): every public operation once
  (input handling from a DataFrame and from a JSONL path, online Elo, BT, bootstrap BT 100 rounds, style
  control) against straightforward pandas/scipy code, with peak memory; and the peak resident memory of
  reading a big FastChat-like JSONL log, each reader in a fresh process (``--jsonl-battles``).
- input repeats (``--parts input-repeats``, not run by default): the 100k-battle DataFrame-input comparison
  repeated seven times in one process, as the ratio's spread on a shared machine.

Timings on a shared machine are noisy: read the ratios, not the seconds. Writes
``benchmarks/results/elo.json`` (a run of one part keeps the other parts' results) and prints Markdown tables.

Usage: ``python benchmarks/bench_elo.py [--quick] [--parts many-orders single-calls input-repeats]
[--single-sizes 100000x20 ...] [--jsonl-battles N]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import spearmanr

from hf_ext.evaluation.elo import bootstrap, bradley_terry, elo_samples, encode_battles, online_elo
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the single-call parts import benchmarks/

RESULTS = Path(__file__).parent / "results" / "elo.json"
N_ORDERS = 1000


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def cpu_timed(function, *args, **kwargs):
    """(value, wall seconds, CPU seconds of this process over all its threads)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started, time.process_time() - cpu_started


def median_cpu_timed(function, *args, repeats=3, **kwargs):
    """:func:`cpu_timed`, repeated ``repeats`` times when one call takes under 2 s (a single short call is
    at the mercy of thread wake-ups and first-touch page faults): the run with the median wall time."""
    runs = [cpu_timed(function, *args, **kwargs)]
    while runs[0][1] < 2.0 and len(runs) < repeats:
        runs.append(cpu_timed(function, *args, **kwargs))
    return sorted(runs, key=lambda run: run[1])[len(runs) // 2]


def loop_online_elo(models_a, models_b, scores, k=4.0, scale=400.0, base=10.0, init=1000.0):
    """The straightforward baseline: one Python step per battle."""
    ratings: dict[str, float] = {}
    for a, b, s in zip(models_a, models_b, scores):
        ra, rb = ratings.get(a, init), ratings.get(b, init)
        expected = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        ratings[a] = ra + k * (s - expected)
        ratings[b] = rb - k * (s - expected)
    return ratings


def baseline_orders(log, n_orders, with_replacement, budget_s=20.0):
    """Seconds for ``n_orders`` plain-loop orders: measured on as many as fit in ``budget_s``, then scaled."""
    names = np.asarray(log.models, dtype=object)
    rng = np.random.default_rng(0)
    measured, spent, cpu = 0, 0.0, 0.0
    while measured < n_orders and (measured == 0 or spent + spent / measured <= budget_s):
        n = len(log)
        order = rng.integers(0, n, n) if with_replacement else rng.permutation(n)
        a, b, s = names[log.a[order]].tolist(), names[log.b[order]].tolist(), log.score_a[order].tolist()
        _, wall, cpu_s = cpu_timed(loop_online_elo, a, b, s)
        spent, cpu, measured = spent + wall, cpu + cpu_s, measured + 1
    return spent * n_orders / measured, cpu * n_orders / measured, measured < n_orders


def scipy_bt_fit(log):
    """FastChat-style BT: L-BFGS on distinct (a, b, outcome) rows weighted by their counts."""
    keys = (log.a.astype(np.int64) * log.n_models + log.b) * 3 + (log.score_a * 2).astype(np.int64)
    distinct, weights = np.unique(keys, return_counts=True)
    pair, score = distinct // 3, (distinct % 3) / 2.0
    a, b, alpha, m = pair // log.n_models, pair % log.n_models, math.log(10.0), log.n_models

    def objective(theta):
        d = alpha * (theta[a] - theta[b])
        p = 1.0 / (1.0 + np.exp(-d))
        value = np.sum(weights * (score * np.logaddexp(0, -d) + (1 - score) * np.logaddexp(0, d)))
        g = weights * -alpha * (score - p)
        return value, np.bincount(a, g, m) - np.bincount(b, g, m)

    fit = minimize(objective, np.zeros(m), jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    return 400.0 * (fit.x - fit.x.mean()) + 1000.0


def spearman(truth, ratings, models):
    return float(spearmanr([truth[m] for m in models], [ratings[m] for m in models])[0])


def run_case(n_battles, n_models, n_orders):
    truth = true_strengths(n_models, seed=n_models)
    frame = synthetic_battles(truth, n_battles, seed=n_battles + n_models)
    log = encode_battles(frame)
    models = log.models
    online_elo(log.take(np.arange(10)))  # compile outside the timings
    elo_samples(log.take(np.arange(10)), 2)
    row = {"n_battles": n_battles, "n_models": n_models, "orders": n_orders}

    ratings, row["online_s"] = timed(online_elo, log)
    names = np.asarray(models, dtype=object)
    _, row["online_loop_s"] = timed(
        loop_online_elo, names[log.a].tolist(), names[log.b].tolist(), log.score_a.tolist()
    )
    row["spearman_online"] = spearman(truth, ratings, models)

    (_, perm), row["permutation_s"], row["permutation_cpu_s"] = median_cpu_timed(
        elo_samples, log, n_orders, 0, False
    )
    baseline = baseline_orders(log, n_orders, False)
    row["permutation_loop_s"], row["permutation_loop_cpu_s"], row["permutation_loop_scaled"] = baseline
    row["spearman_permutation"] = spearman(truth, dict(zip(models, perm.mean(axis=0))), models)

    table, row["bootstrap_elo_s"], row["bootstrap_elo_cpu_s"] = median_cpu_timed(
        bootstrap, log, "elo", n_orders
    )
    baseline = baseline_orders(log, n_orders, True)
    row["bootstrap_elo_loop_s"], row["bootstrap_elo_loop_cpu_s"], row["bootstrap_elo_loop_scaled"] = baseline
    row["spearman_bootstrap_elo"] = spearman(truth, table["rating"].to_dict(), models)

    bradley_terry(log)  # first call: lazy imports and BLAS thread setup, outside the timing
    bt, row["bt_s"], _ = median_cpu_timed(bradley_terry, log)
    reference, row["bt_scipy_s"], _ = median_cpu_timed(scipy_bt_fit, log)
    row["bt_max_diff_vs_scipy"] = float(np.max(np.abs(np.array([bt[m] for m in models]) - reference)))
    row["spearman_bt"] = spearman(truth, bt, models)
    _, row["bootstrap_bt_s"] = timed(bootstrap, log, "bt", n_orders)
    row["bootstrap_bt_scipy_s"] = row["bt_scipy_s"] * n_orders  # one scipy fit per round
    return row, log, perm


def spread_versus_permutations(log, samples):
    """Std across disjoint groups of the group-mean rating (averaged over models), per group size P."""
    rows = []
    for size in (1, 10, 100):
        groups = samples[: (len(samples) // size) * size].reshape(-1, size, samples.shape[1]).mean(axis=1)
        if len(groups) >= 2:
            rows.append({"permutations": size, "std_of_mean": float(groups.std(axis=0, ddof=1).mean())})
    return rows


def markdown(rows):
    lines = [
        "| battles | models | online x loop | permutation Elo (1000 orders) s | x loop | x loop (CPU) "
        "| bootstrap Elo (1000 rounds) s | x loop | x loop (CPU) "
        "| BT s | x scipy | bootstrap BT s | x scipy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        star = lambda flag: "*" if flag else ""  # noqa: E731
        lines.append(
            f"| {r['n_battles']:,} | {r['n_models']} | {r['online_loop_s'] / r['online_s']:.0f} "
            f"| {r['permutation_s']:.2f} | {r['permutation_loop_s'] / r['permutation_s']:.0f}"
            f"{star(r['permutation_loop_scaled'])} "
            f"| {r['permutation_loop_cpu_s'] / r['permutation_cpu_s']:.0f} "
            f"| {r['bootstrap_elo_s']:.2f} "
            f"| {r['bootstrap_elo_loop_s'] / r['bootstrap_elo_s']:.0f}{star(r['bootstrap_elo_loop_scaled'])} "
            f"| {r['bootstrap_elo_loop_cpu_s'] / r['bootstrap_elo_cpu_s']:.0f} "
            f"| {r['bt_s']:.3f} | {r['bt_scipy_s'] / r['bt_s']:.1f} | {r['bootstrap_bt_s']:.2f} "
            f"| {r['bootstrap_bt_scipy_s'] / r['bootstrap_bt_s']:.1f} |"
        )
    lines += [
        "",
        "| battles | models | Spearman: online | permutation | bootstrap Elo | BT | BT - scipy (points) |",
    ]
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        lines.append(
            f"| {r['n_battles']:,} | {r['n_models']} | {r['spearman_online']:.3f} "
            f"| {r['spearman_permutation']:.3f} | {r['spearman_bootstrap_elo']:.3f} "
            f"| {r['spearman_bt']:.3f} | {r['bt_max_diff_vs_scipy']:.1e} |"
        )
    return "\n".join(lines)


def single_calls(sizes: list[tuple[int, int]], jsonl_battles: int, budget_s: float, results: Path) -> dict:
    """The single-call section: one row per (battles, models), and the JSONL reading memory."""
    import tempfile

    from benchmarks._elo_single_calls import jsonl_memory, markdown_single_calls, single_call_case

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n_battles, n_models in sizes:
            rows.append(single_call_case(n_battles, n_models, Path(folder), budget_s=budget_s))
            print(json.dumps(rows[-1]), flush=True)
        memory = jsonl_memory(Path(folder), jsonl_battles) if jsonl_battles else None
    section = {
        "note": "'*': baseline timed on fewer rounds in the budget, scaled linearly; peak_mib: tracemalloc",
        "load_average_1min_at_end": os.getloadavg()[0],
        "cases": rows,
        "jsonl_memory": memory,
    }
    save_sections(results, {"single_calls": section})
    print(markdown_single_calls(rows, memory))
    return section


def save_sections(results: Path, sections: dict) -> None:
    """Write ``sections`` into the results file, keeping the keys other parts wrote there."""
    document = json.loads(results.read_text()) if results.exists() else {}
    document.update(sections)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(document, indent=1) + "\n")


def _size(text: str) -> tuple[int, int]:
    battles, models = text.lower().split("x")
    return int(battles), int(models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k battles only")
    parser.add_argument("--parts", nargs="+", default=["many-orders", "single-calls"])
    parser.add_argument(
        "--single-sizes",
        nargs="+",
        type=_size,
        default=["100000x20", "100000x100", "1000000x20", "1000000x100"],
    )
    parser.add_argument("--jsonl-battles", type=int, default=2_000_000, help="0 skips the memory check")
    parser.add_argument("--budget-s", type=float, default=30.0, help="per slow baseline before scaling")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if "single-calls" in args.parts:
        sizes = [_size(s) if isinstance(s, str) else s for s in args.single_sizes]
        single_calls(sizes, args.jsonl_battles, args.budget_s, args.results)
    if "many-orders" in args.parts:
        many_orders(args.quick, args.results)
    if "input-repeats" in args.parts:  # not in the default parts: a check of the 100k DataFrame cells
        input_repeats(args.results)


def input_repeats(results: Path) -> None:
    from benchmarks._elo_single_calls import input_frame_ratio_repeats

    rows = [input_frame_ratio_repeats(100_000, n_models) for n_models in (20, 100)]
    for row in rows:
        print(json.dumps(row), flush=True)
    save_sections(results, {"input_frame_repeats": rows})


def many_orders(quick: bool, results: Path) -> None:
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    rows, spread = [], {}
    for n_battles in sizes:
        for n_models in (20, 100):
            row, log, samples = run_case(n_battles, n_models, N_ORDERS)
            print(json.dumps(row), flush=True)
            rows.append(row)
            if n_battles == 100_000 and n_models == 20:
                spread = {
                    "n_battles": n_battles,
                    "n_models": n_models,
                    "rows": spread_versus_permutations(log, samples),
                }
    sections = {
        "cpu_threads": os.cpu_count(),
        "note": "shared 2-core machine, noisy: compare ratios; '*': baseline timed on a few orders, scaled",
        "load_average_1min_at_end": os.getloadavg()[0],
        "cases": rows,
        "spread_versus_permutations": spread,
    }
    save_sections(results, sections)
    print()
    print(markdown(rows))
    print()
    print(
        f"Order noise of permutation Elo ({spread['n_battles']:,} battles, {spread['n_models']} models, K=4):"
    )
    print("| permutations | std of the averaged rating (points) |\n|---:|---:|")
    for r in spread["rows"]:
        print(f"| {r['permutations']} | {r['std_of_mean']:.2f} |")


if __name__ == "__main__":
    main()
