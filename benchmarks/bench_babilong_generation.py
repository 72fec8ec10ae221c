"""BABILong generation throughput and memory: hf-ext's streaming sampler vs re-tokenizing the growing context.

Both build a qa1 sample whose context has an exact token budget, from the same offline prose, with the
tokenizer of hf-ext's reference LM. hf-ext tokenizes each haystack sentence once (batched) and adds counts;
the baseline appends one sentence at a time and re-tokenizes the whole context to check the budget, which is
quadratic, so it runs only up to --baseline-max tokens. Timings on a shared machine are noisy: read ratios.

    python benchmarks/bench_babilong_generation.py [--lengths 4k,128k,1M] [--baseline-max 32k]

Writes benchmarks/results/babilong_generation.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
import tracemalloc
from pathlib import Path

from hf_ext.evaluation.babilong import iter_babilong, length_label, parse_lengths, simulate_story
from hf_ext.evaluation.babilong.haystack import resolve_haystack
from hf_ext.testing import reference_lm_path

RESULTS = Path(__file__).parent / "results" / "babilong_generation.json"


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def baseline_sample(tokenizer, length: int, seed: int = 0) -> tuple[str, int]:
    """The straightforward way: grow the context sentence by sentence, re-tokenizing it every time."""
    rng = random.Random(seed)
    story = simulate_story("qa1", rng)
    sentences = resolve_haystack(None).sentences(rng)
    background: list[str] = []
    budget = length - n_tokens(tokenizer, " ".join(story.facts))
    while True:
        candidate = [*background, next(sentences)]
        if n_tokens(tokenizer, " ".join(candidate)) > budget:
            break
        background = candidate
    positions = sorted(rng.randrange(len(background) + 1) for _ in story.facts)
    pieces = list(background)
    for fact, position in zip(reversed(story.facts), reversed(positions)):
        pieces.insert(position, fact)
    context = " ".join(pieces)
    return context, n_tokens(tokenizer, context)


def time_it(function) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="4k,16k,128k,1M,10M")
    parser.add_argument("--baseline-max", default="16k")
    parser.add_argument(
        "--memory-length", default="1M", help="comma list, increasing (RSS peak is cumulative)"
    )
    parser.add_argument(
        "--memory-only", action="store_true", help="only measure memory; update the JSON memory entries"
    )
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(reference_lm_path())
    resolve_haystack(None)  # load the prose once, outside the timings
    # memory first, while the process's peak RSS is still that of the loaded tokenizer and prose
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    memory_rows = []
    for memory_length in parse_lengths(args.memory_length):  # in increasing order: peak RSS only grows
        tracemalloc.start()
        started = time.perf_counter()
        sample = next(iter_babilong("qa1", memory_length, 1, tokenizer, reserve=0))
        traced_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        memory_rows.append(
            {
                "length": memory_length,
                "context_tokens": sample["context_tokens"],
                "context_chars": len(sample["input"]),
                "python_peak_mib": round(peak / 2**20, 1),
                "process_peak_rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
                "seconds_under_tracemalloc": round(traced_s, 1),
            }
        )
        print(f"memory {length_label(memory_length)}: {memory_rows[-1]}", flush=True)
        del sample
    for entry in memory_rows:  # the same samples again without tracemalloc, which slows allocation
        seconds, _ = time_it(lambda n=entry["length"]: next(iter_babilong("qa1", n, 1, tokenizer, reserve=0)))
        entry.update(
            seconds_untraced=round(seconds, 1), tokens_per_s_untraced=round(entry["length"] / seconds)
        )
    memory = memory_rows[0]
    if (
        args.memory_only
    ):  # keep the throughput rows of the last full run, replace the memory numbers by length
        result = json.loads(RESULTS.read_text(encoding="utf-8"))
        by_length = {entry["length"]: entry for entry in result.get("memory_by_length", [])}
        by_length.update({entry["length"]: entry for entry in memory_rows})
        merged = [by_length[n] for n in sorted(by_length)]
        result.update(memory=merged[0], memory_by_length=merged)  # "memory": the shortest, as before
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        return
    baseline_max = parse_lengths(args.baseline_max)[0]
    rows = []
    for length in parse_lengths(args.lengths):
        ours_s, row = time_it(
            lambda length=length: next(iter_babilong("qa1", length, 1, tokenizer, reserve=0))
        )
        entry = {"length": length, "context_tokens": row["context_tokens"], "hf_ext_s": round(ours_s, 3)}
        entry["hf_ext_tokens_per_s"] = round(row["context_tokens"] / ours_s)
        if length <= baseline_max:
            base_s, (_, base_tokens) = time_it(lambda length=length: baseline_sample(tokenizer, length))
            entry.update(baseline_s=round(base_s, 3), baseline_tokens_per_s=round(base_tokens / base_s))
            entry["speedup"] = round(base_s / ours_s * row["context_tokens"] / base_tokens, 1)
        elif measured := [r for r in rows if "baseline_s" in r]:  # quadratic: extrapolate from the longest
            previous = measured[-1]
            entry["baseline_s_extrapolated"] = round(
                previous["baseline_s"] * (length / previous["length"]) ** 2
            )
        rows.append(entry)
        print(f"{length_label(length)}: {entry}", flush=True)

    result = {
        "tokenizer": "hf-ext reference LM (byte-level BPE)",
        "task": "qa1",
        "rows": rows,
        "memory": memory,
        "memory_by_length": memory_rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print("\n| length | context tokens | hf-ext tokens/s | baseline tokens/s | speed-up |")
    print("|---|---|---|---|---|")
    for entry in rows:
        baseline = entry.get("baseline_tokens_per_s")
        if baseline is None:
            baseline = f"not run (~{entry['baseline_s_extrapolated']} s extrapolated)"
        speedup = f"{entry['speedup']}x" if "speedup" in entry else "-"
        print(
            f"| {length_label(entry['length'])} | {entry['context_tokens']} | {entry['hf_ext_tokens_per_s']} "
            f"| {baseline} | {speedup} |"
        )
    print(
        f"\npeak memory generating one {length_label(memory_length)} sample: "
        f"{memory['python_peak_mib']} MiB of Python allocations (tracemalloc), "
        f"{memory['process_peak_rss_growth_mib']} MiB growth of peak RSS; "
        f"context {memory['context_chars']} characters"
    )


if __name__ == "__main__":
    main()
