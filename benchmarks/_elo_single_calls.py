"""Single calls of every public Elo operation against straightforward pandas/scipy code (see bench_elo.py).

The baselines are written the way such code usually is: pandas for reading and counting, a numpy loop over
battles for online Elo, scipy L-BFGS on grouped counts for Bradley-Terry, one pandas resample and refit per
bootstrap round, and a logistic regression on a sparse design matrix by scipy L-BFGS for style control.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize

from hf_ext.evaluation.elo import bootstrap, bradley_terry, encode_battles, online_elo, style_control
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths

SCORES = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
ALPHA = math.log(10.0)


# --- baselines -------------------------------------------------------------------------------------------


def pandas_encode(frame: pd.DataFrame):
    """Checks and integer codes as pandas code usually does it: isin/isna checks, a name -> index map."""
    if frame[["model_a", "model_b", "winner"]].isna().any().any():
        raise ValueError("missing values")
    if not frame["winner"].isin(list(SCORES)).all():
        raise ValueError("bad winner")
    if (frame["model_a"] == frame["model_b"]).any():
        raise ValueError("self battle")
    models = np.sort(pd.concat([frame["model_a"], frame["model_b"]]).unique())
    index = pd.Series(np.arange(len(models)), index=models)
    a = index[frame["model_a"]].to_numpy()
    b = index[frame["model_b"]].to_numpy()
    return models, a, b, frame["winner"].map(SCORES).to_numpy()


def numpy_loop_elo(a, b, score, n_models, k=4.0):
    ratings = np.full(n_models, 1000.0)
    for i in range(len(a)):
        expected = 1.0 / (1.0 + 10.0 ** ((ratings[b[i]] - ratings[a[i]]) / 400.0))
        ratings[a[i]] += k * (score[i] - expected)
        ratings[b[i]] -= k * (score[i] - expected)
    return ratings


def _grouped(frame: pd.DataFrame, index: pd.Series):
    counts = frame.groupby(["model_a", "model_b", "winner"], observed=True).size().reset_index(name="n")
    return (
        index[counts["model_a"]].to_numpy(),
        index[counts["model_b"]].to_numpy(),
        counts["winner"].map(SCORES).to_numpy(),
        counts["n"].to_numpy(dtype=float),
    )


def scipy_bt(a, b, score, weight, m):
    def objective(theta):
        z = ALPHA * (theta[a] - theta[b])
        value = np.sum(weight * (score * np.logaddexp(0, -z) + (1 - score) * np.logaddexp(0, z)))
        g = weight * ALPHA * (1.0 / (1.0 + np.exp(-z)) - score)
        return value, np.bincount(a, g, m) - np.bincount(b, g, m)

    fit = minimize(objective, np.zeros(m), jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    return 400.0 * (fit.x - fit.x.mean()) + 1000.0


def pandas_bt(frame: pd.DataFrame):
    models = np.sort(pd.concat([frame["model_a"], frame["model_b"]]).unique())
    index = pd.Series(np.arange(len(models)), index=models)
    return scipy_bt(*_grouped(frame, index), len(models))


def pandas_bootstrap_bt(frame: pd.DataFrame, n_rounds: int, seed: int = 0):
    models = np.sort(pd.concat([frame["model_a"], frame["model_b"]]).unique())
    index = pd.Series(np.arange(len(models)), index=models)
    rounds = []
    for r in range(n_rounds):
        sample = frame.sample(frac=1.0, replace=True, random_state=seed + r)
        rounds.append(scipy_bt(*_grouped(sample, index), len(models)))
    return np.quantile(np.array(rounds), [0.025, 0.975], axis=0)


def scipy_style_control(a, b, score, d, m):
    """Logistic regression of the outcome on (one-hot a - one-hot b, style differences) by L-BFGS."""
    n = len(a)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    x_models = sparse.csr_matrix(
        (np.concatenate([np.full(n, ALPHA), np.full(n, -ALPHA)]), (rows, np.concatenate([a, b]))), (n, m)
    )
    x = sparse.hstack([x_models, sparse.csr_matrix(d)]).tocsr()

    def objective(params):
        z = x @ params
        value = np.sum(np.logaddexp(0, z) - score * z)
        return value, x.T @ (1.0 / (1.0 + np.exp(-z)) - score)

    fit = minimize(objective, np.zeros(m + d.shape[1]), jac=True, method="L-BFGS-B", options={"gtol": 1e-8})
    theta = fit.x[:m]
    return 400.0 * (theta - theta.mean()) + 1000.0, fit.x[m:]


# --- measuring -------------------------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def median_timed(function, *args, repeats=3, **kwargs):
    """:func:`timed` repeated ``repeats`` times when a call takes under 2 s, the run with the median time: a
    single short call is at the mercy of whatever ran just before it (BLAS threads still spinning after a
    baseline's last call took a third of a core from the next call here)."""
    runs = [timed(function, *args, **kwargs)]
    while runs[0][1] < 2.0 and len(runs) < repeats:
        runs.append(timed(function, *args, **kwargs))
    return sorted(runs, key=lambda run: run[1])[len(runs) // 2]


def scaled(function, n_rounds, budget_s, *args):
    """Seconds for ``n_rounds`` calls of ``function(1, *args)``-style per-round work: measured on as many
    rounds as fit in ``budget_s`` and scaled linearly; (seconds, scaled?)."""
    done, spent = 0, 0.0
    while done < n_rounds and (done == 0 or spent + spent / done <= budget_s):
        _, wall = timed(function, *args)
        spent, done = spent + wall, done + 1
    return spent * n_rounds / done, done < n_rounds


def peak_mib(function, *args, **kwargs) -> float:
    """Peak Python-heap (numpy included) allocation of one call, in MiB (tracemalloc)."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def style_inputs(log, seed):
    rng = np.random.default_rng(seed)
    features_a = rng.integers(1, 2000, (len(log), 2)).astype(float)
    features_b = rng.integers(1, 2000, (len(log), 2)).astype(float)
    return features_a, features_b


def single_call_case(n_battles: int, n_models: int, tmp: Path, budget_s: float = 30.0) -> dict:
    from hf_ext.evaluation.elo.style import normalized_differences

    truth = true_strengths(n_models, seed=n_models)
    frame = synthetic_battles(truth, n_battles, seed=n_battles + n_models)
    path = tmp / f"battles_{n_battles}_{n_models}.jsonl"
    frame.to_json(path, orient="records", lines=True)
    row: dict = {"n_battles": n_battles, "n_models": n_models}
    log = encode_battles(frame.head(2000))
    warm_path = tmp / "warm.jsonl"
    frame.head(2000).to_json(warm_path, orient="records", lines=True)
    encode_battles(warm_path)
    warm_path.unlink()
    warm_a, warm_b = style_inputs(log, 0)
    (
        online_elo(log),
        bradley_terry(log, reg=0.01),
        bootstrap(log, n_rounds=8),
        style_control(log, warm_a, warm_b, ["length", "markdown"]),
    )  # compile and import outside timings (numba kernels load from their cache on first use)

    log, row["input_frame_s"] = median_timed(encode_battles, frame)
    (models, a, b, score), row["input_frame_pandas_s"] = median_timed(pandas_encode, frame)
    assert np.array_equal(a, log.a) and np.array_equal(b, log.b) and np.array_equal(score, log.score_a)
    _, row["input_jsonl_s"] = timed(encode_battles, path)
    _, row["input_jsonl_pandas_s"] = timed(lambda: pandas_encode(pd.read_json(path, lines=True)))

    ours, row["online_s"] = timed(online_elo, log)
    _, row["online_from_frame_s"] = timed(online_elo, frame)
    row["online_loop_s"], row["online_loop_scaled"] = scaled(
        lambda: numpy_loop_elo(a, b, score, len(models)), 1, budget_s
    )

    ours, row["bt_s"] = median_timed(bradley_terry, log)
    _, row["bt_from_frame_s"] = timed(bradley_terry, frame)
    reference, row["bt_pandas_scipy_s"] = median_timed(pandas_bt, frame)
    row["bt_max_diff_points"] = float(np.max(np.abs(np.array([ours[m] for m in models]) - reference)))

    _, row["bootstrap_bt_100_s"] = timed(bootstrap, log, "bt", 100)
    per_round, row["bootstrap_bt_100_pandas_scaled"] = scaled(
        lambda: pandas_bootstrap_bt(frame, 1), 100, budget_s
    )
    row["bootstrap_bt_100_pandas_s"] = per_round

    features_a, features_b = style_inputs(log, n_battles)
    ours, row["style_s"] = median_timed(style_control, log, features_a, features_b, ["length", "markdown"])
    d = normalized_differences(features_a, features_b)
    (reference, gamma), row["style_scipy_s"] = median_timed(scipy_style_control, a, b, score, d, len(models))
    row["style_max_diff_points"] = float(
        np.max(np.abs(np.array([ours.ratings[m] for m in models]) - reference))
    )

    row["peak_mib"] = {
        "input_frame": peak_mib(encode_battles, frame),
        "input_frame_pandas": peak_mib(pandas_encode, frame),
        "bt": peak_mib(bradley_terry, log),
        "bt_pandas_scipy": peak_mib(pandas_bt, frame),
        "bootstrap_bt_100": peak_mib(bootstrap, log, "bt", 100),
        "bootstrap_bt_pandas_1_round": peak_mib(pandas_bootstrap_bt, frame, 1),
        "style": peak_mib(style_control, log, features_a, features_b, ["length", "markdown"]),
        "style_scipy": peak_mib(scipy_style_control, a, b, score, d, len(models)),
    }
    path.unlink()
    return row


# --- peak memory of reading a big JSONL path, each reader in a fresh process ------------------------------

_READERS = {
    "hf_ext": "from hf_ext.evaluation.elo import encode_battles as read",
    "pandas": "import pandas as pd\nfrom benchmarks._elo_single_calls import pandas_encode\n"
    "read = lambda p: pandas_encode(pd.read_json(p, lines=True))",
}


def input_frame_ratio_repeats(n_battles: int, n_models: int, repeats: int = 7) -> dict:
    """DataFrame input against ``pandas_encode``, the median-of-three comparison repeated ``repeats`` times
    in one process: at ~10 ms a call, one comparison on a shared machine can land either side of 10x."""
    truth = true_strengths(n_models, seed=n_models)
    frame = synthetic_battles(truth, n_battles, seed=n_battles + n_models)  # the single-calls case's log
    encode_battles(frame.head(2000))  # compile outside the timings
    ratios = []
    for _ in range(repeats):
        _, ours = median_timed(encode_battles, frame)
        _, baseline = median_timed(pandas_encode, frame)
        ratios.append(baseline / ours)
    ratios.sort()
    return {
        "n_battles": n_battles,
        "n_models": n_models,
        "ratios": [round(r, 2) for r in ratios],
        "median_ratio": round(ratios[len(ratios) // 2], 2),
        "load_average_1min_at_end": os.getloadavg()[0],
    }


def write_arena_jsonl(path: Path, n_battles: int, n_models: int = 100) -> None:
    """A FastChat-like log: the three needed fields and the extra ones a clean_battle row carries."""
    truth = true_strengths(n_models, seed=1)
    with path.open("w") as handle:
        for start in range(0, n_battles, 500_000):
            frame = synthetic_battles(truth, min(500_000, n_battles - start), seed=start)
            frame = frame.assign(
                judge="arena_user_" + (np.arange(len(frame)) % 5000).astype(str),
                anony=True,
                language="English",
                tstamp=1.7e9 + start + np.arange(len(frame), dtype=float),
            )
            frame.to_json(handle, orient="records", lines=True)


def read_peak_rss(path: Path, reader: str) -> dict:
    """Peak resident memory of a fresh process that imports, then reads ``path`` (MiB), and its resident
    memory after the imports."""
    code = (  # base: resident memory after the imports (not their peak, which a small read stays under)
        f"import resource, time, sys\n{_READERS[reader]}\n"
        "base = int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() // 1024\n"
        "t = time.perf_counter()\n"
        "log = read(sys.argv[1])\n"
        "seconds = time.perf_counter() - t\n"
        # VmHWM, not ru_maxrss: Linux carries the parent's peak over exec into ru_maxrss, so a reader started
        # from a big benchmark process reported that process's size
        "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print(base, peak, seconds)"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True, cwd=root
    )
    base, peak, seconds = result.stdout.split()
    return {"import_mib": int(base) / 1024, "peak_mib": int(peak) / 1024, "seconds": float(seconds)}


def jsonl_memory(tmp: Path, n_battles: int) -> dict:
    path = tmp / "arena.jsonl"
    write_arena_jsonl(path, n_battles)
    out = {"n_battles": n_battles, "file_mib": path.stat().st_size / 2**20}
    for reader in _READERS:
        out[reader] = read_peak_rss(path, reader)
    path.unlink()
    return out


def markdown_single_calls(rows: list[dict], memory: dict | None) -> str:
    def ratio(ours, base, flag=False):
        return f"{base / ours:.1f}{'*' if flag else ''}"

    lines = [
        "| battles | models | input: DataFrame s (x pandas) | JSONL path s (x pandas) "
        "| online Elo s (x numpy loop) | BT s (x pandas+scipy) "
        "| bootstrap BT 100 s (x per-round pandas+scipy) | style control s (x scipy) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        boot = ratio(
            r["bootstrap_bt_100_s"], r["bootstrap_bt_100_pandas_s"], r["bootstrap_bt_100_pandas_scaled"]
        )
        lines.append(
            f"| {r['n_battles']:,} | {r['n_models']} "
            f"| {r['input_frame_s']:.3f} ({ratio(r['input_frame_s'], r['input_frame_pandas_s'])}) "
            f"| {r['input_jsonl_s']:.2f} ({ratio(r['input_jsonl_s'], r['input_jsonl_pandas_s'])}) "
            f"| {r['online_s']:.3f} ({ratio(r['online_s'], r['online_loop_s'], r['online_loop_scaled'])}) "
            f"| {r['bt_s']:.3f} ({ratio(r['bt_s'], r['bt_pandas_scipy_s'])}) "
            f"| {r['bootstrap_bt_100_s']:.2f} "
            f"({boot}) "
            f"| {r['style_s']:.2f} ({ratio(r['style_s'], r['style_scipy_s'])}) |"
        )
    lines += ["", "| battles | models | from a DataFrame: online Elo s | BT s | peak MiB: input (pandas) "
              "| BT (pandas+scipy) | bootstrap BT 100 (pandas 1 round) | style (scipy) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        p = r["peak_mib"]
        lines.append(
            f"| {r['n_battles']:,} | {r['n_models']} | {r['online_from_frame_s']:.3f} "
            f"| {r['bt_from_frame_s']:.3f} | {p['input_frame']:.0f} ({p['input_frame_pandas']:.0f}) "
            f"| {p['bt']:.1f} ({p['bt_pandas_scipy']:.0f}) "
            f"| {p['bootstrap_bt_100']:.0f} ({p['bootstrap_bt_pandas_1_round']:.0f}) "
            f"| {p['style']:.0f} ({p['style_scipy']:.0f}) |"
        )
    if memory:
        lines += [
            "",
            f"Reading a {memory['n_battles']:,}-battle JSONL ({memory['file_mib']:.0f} MiB, FastChat-like "
            "rows), "
            "fresh process each: peak resident MiB above the imports, seconds",
            "",
            "| reader | peak MiB over imports | seconds |",
            "|---|---:|---:|",
        ]
        for reader in _READERS:
            m = memory[reader]
            lines.append(f"| {reader} | {m['peak_mib'] - m['import_mib']:.0f} | {m['seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":  # a quick look: python benchmarks/_elo_single_calls.py
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(single_call_case(20_000, 20, Path(folder), budget_s=2.0), indent=1))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
