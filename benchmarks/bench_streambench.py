"""StreamBench miniature and speed: does memory of one's own correct answers help a model that can copy?

No pretrained LM weights exist on these machines, so the "LLMs" here are tiny Llamas (about 1M parameters)
trained in this script, from scratch, on synthetic prompts in the agents' own formats, to do two things:

* **copy**: when a past item in the prompt (a Self-StreamICL shot ``Question: q\\n<answer>`` or a
  GrowPrompt/MemPrompt item marked correct) has the same question as the new input, reply with that item's
  answer (the answer in training is a random one, so the model learns to copy, not to memorise);
* **know**: answer a fixed third of the offline streams' questions without help. Model A, B and C know
  different thirds, which gives MAM-StreamICL (round-robin over A, B, C, one shared memory) something to
  share.

Then every agent runs over the offline ``multihop`` and ``sql`` streams (``diagnosis`` rarely repeats an input
exactly, so a copying model has nothing to copy there; it is left out) in 5 stream orders (the paper's seeds
2, 3, 7, 21, 42): zero-shot, GrowPrompt, MemPrompt, Self-StreamICL with model A; MAM-StreamICL with A, B, C.
Memory settings are smaller than the paper's (``top_k`` and window 4 instead of 16) to keep prompts short
on CPU, and the models are 2-layer, 64-wide Llamas. Also measured: the agents' own time per step beside
the model call, and top-16 retrieval time over a 100k-entry memory with faiss and with numpy.

    nice -n 10 python benchmarks/bench_streambench.py [--steps 600] [--stream-length 120] [--streams multihop]

Writes ``benchmarks/results/streambench.json`` and prints Markdown tables. Read the accuracies as a test of
the mechanism on toy models, not as a replication of the paper's numbers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from hf_ext.evaluation.streambench import (
    AgentConfig,
    bench_of,
    make_agent,
    offline_docs,
    run_stream,
    stream_order,
)
from hf_ext.evaluation.streambench.benches import SHOTS_SEPARATOR
from hf_ext.evaluation.streambench.generation import transformers_generator
from hf_ext.evaluation.streambench.retrieval import ExactIndex, faiss_available
from hf_ext.testing import tiny_causal_lm

RESULTS = Path(__file__).parent / "results" / "streambench.json"
STREAMS = ("multihop", "sql")
ARCH = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4}  # fmt: skip
AGENTS = ("zeroshot", "grow_prompt", "mem_prompt", "self_stream_icl", "ma_rr")
MAX_TOKENS = {"multihop": 16, "sql": 64}
K = 4


def question_pool(stream: str) -> dict[str, dict]:
    """Every distinct question of the stream's generator (from many draws), with one document each."""
    pool = {}
    for doc in offline_docs(stream, n=3000, seed=12345):
        pool.setdefault(bench_of(doc).question(doc), doc)
    return pool


def knowledge_split(pools: dict[str, dict[str, dict]], parts: int = 3) -> list[set[str]]:
    """Disjoint thirds of every stream's questions: what model A, B and C know."""
    known = [set() for _ in range(parts)]
    for pool in pools.values():
        questions = sorted(pool)
        random.Random(0).shuffle(questions)
        for i, question in enumerate(questions):
            known[i % parts].add(question)
    return known


def training_example(rng: random.Random, pools, known: set[str]) -> tuple[str, str]:
    """(prompt, target) in one of the agents' formats; see the module docstring."""
    stream = rng.choice(sorted(pools))
    pool = pools[stream]
    questions = list(pool)
    doc = pool[rng.choice(questions)]
    bench = bench_of(doc)
    fmt = rng.choice(["shots", "shots", "feedback"])
    others = [pool[q] for q in rng.sample(questions, K + 1) if q != bench.question(doc)][: rng.randint(0, K)]

    def item(d, answer, correct=True):
        return bench.shot(d, answer) if fmt == "shots" else bench.memprompt_item(d, answer, correct)

    items = [item(d, bench.gold_answer(d), rng.random() < 0.7) for d in others]
    if rng.random() < 0.55 or bench.question(doc) not in known:
        answer = bench.gold_answer(pool[rng.choice(questions)])  # a random reply: learn to copy, not recall
        position = len(items) if rng.random() < 0.8 else rng.randint(0, len(items))
        items.insert(position, item(doc, answer, True))
        target = answer
    else:
        target = bench.gold_answer(doc)
    prompt = bench.prompt(
        doc, SHOTS_SEPARATOR.join(items), memory_kind="shots" if fmt == "shots" else "feedback"
    )
    return prompt, target


def train_model(
    pools, known: set[str], steps: int, seed: int, init=None, batch_size: int = 8, lr: float = 2e-3
):
    """A tiny Llama trained on :func:`training_example` (loss on the reply and its end-of-text token only)."""
    if init is None:
        model, tokenizer = tiny_causal_lm("llama", seed=seed, **ARCH)
    else:
        model, tokenizer = init
    model.train()
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda i: min(1.0, (i + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(1.0, i / max(1, steps)))),
    )
    losses = []
    for _ in range(steps):
        rows = []
        for _ in range(batch_size):
            prompt, target = training_example(rng, pools, known)
            p = tokenizer(prompt)["input_ids"][-(1900):]
            t = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            rows.append((p + t, [-100] * len(p) + t))
        width = max(len(ids) for ids, _ in rows)
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r, _ in rows])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in rows])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if len(losses) % 10 == 0:
            recent = statistics.mean(losses[-10:])
            print(f"  training step {len(losses)}/{steps}: loss {recent:.3f}", flush=True)
    model.eval()
    return (model, tokenizer), losses


def eos_generator(model, tokenizer):
    base = transformers_generator(model, tokenizer)
    return lambda prompt, max_tokens: base(prompt, max_tokens).strip()


def write(report: dict, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2))


def miniature(args, report: dict) -> dict:
    torch.manual_seed(0)
    pools = {stream: question_pool(stream) for stream in args.streams}
    known = knowledge_split(pools)
    started = time.perf_counter()
    base, base_losses = train_model(pools, set(), args.steps, seed=0)  # copying only
    first, last = statistics.mean(base_losses[:10]), statistics.mean(base_losses[-10:])
    print(f"copy training: loss {first:.3f} -> {last:.3f}", flush=True)
    models, losses = [], {"copy": base_losses[-20:]}
    for name, part in zip("ABC", known):
        clone = tiny_causal_lm("llama", **ARCH)
        clone[0].load_state_dict(base[0].state_dict())
        trained, part_losses = train_model(
            pools, part, args.knowledge_steps, seed=ord(name), init=clone, lr=1e-3
        )
        models.append(eos_generator(*trained))
        losses[name] = part_losses[-20:]
    train_seconds = time.perf_counter() - started
    results = {}
    partial = {"train_seconds": train_seconds, "final_losses": losses, "results": results}
    for stream in args.streams:
        docs = offline_docs(stream, n=args.stream_length, seed=0)
        for agent_name in AGENTS:
            accuracies, curves = [], []
            for seed in args.seeds:
                ordered = [docs[i] for i in stream_order(len(docs), seed)]
                config = AgentConfig(top_k=K, window=K, max_tokens=MAX_TOKENS[stream], backend="numpy")
                agent = make_agent(agent_name, models if agent_name == "ma_rr" else models[:1], config)
                result = run_stream(
                    ordered, agent, progress=args.progress, description=f"{stream}/{agent_name}/{seed}"
                )
                accuracies.append(result.accuracy)
                curves.append(result.curve())
            results[f"{stream}/{agent_name}"] = {
                "accuracy_mean": statistics.mean(accuracies),
                "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
                "accuracy_per_seed": dict(zip(map(str, args.seeds), accuracies)),
                "mean_curve": np.mean(curves, axis=0).round(4).tolist(),
            }
            print(f"{stream:9s} {agent_name:16s} {statistics.mean(accuracies):.3f}", flush=True)
            report["miniature"] = (
                partial  # written after every agent, so a stopped run keeps what it measured
            )
            write(report, args.out)
    return partial


def agent_overhead(args) -> dict:
    """Seconds per step spent by each agent outside the model call (instant model) vs one tiny-model call."""
    docs = offline_docs("multihop", n=args.overhead_steps, seed=1)
    model, tokenizer = tiny_causal_lm("llama")
    real = transformers_generator(model, tokenizer)
    call = []
    for doc in docs[:10]:
        t = time.perf_counter()
        real(bench_of(doc).prompt(doc), 16)
        call.append(time.perf_counter() - t)
    out = {"tiny_model_call_s": statistics.median(call)}
    for name in AGENTS:
        agent = make_agent(name, [lambda p, n: '{"answer": "France"}'] * 3, AgentConfig(backend="auto"))
        t = time.perf_counter()
        run_stream(docs, agent, progress=False)
        out[f"{name}_overhead_s_per_step"] = (time.perf_counter() - t) / len(docs)
    return out


def retrieval_timing(args) -> dict:
    """Top-16 exact search over ``args.memory`` L2-normalised 768-d rows (bge-base's width)."""
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(args.memory, 768)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    queries = rows[rng.choice(args.memory, 50)] + 0.01
    out = {"entries": args.memory}
    for backend in ("numpy", "faiss") if faiss_available() else ("numpy",):
        index = ExactIndex(768, backend)
        t = time.perf_counter()
        index.add(rows)
        out[f"{backend}_add_s"] = time.perf_counter() - t
        t = time.perf_counter()
        found = [index.search(q, 16) for q in queries]
        out[f"{backend}_query_ms"] = 1000 * (time.perf_counter() - t) / len(queries)
        out[f"{backend}_first"] = [f[0] for f in found[:5]]
    if "faiss_query_ms" in out:
        out["numpy_over_faiss"] = out["numpy_query_ms"] / out["faiss_query_ms"]
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="copy-training steps of the base model")
    parser.add_argument("--knowledge-steps", type=int, default=200, help="fine-tuning steps of A, B and C")
    parser.add_argument("--stream-length", type=int, default=120)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 7, 21, 42])
    parser.add_argument("--memory", type=int, default=100_000, help="entries for the retrieval timing")
    parser.add_argument("--overhead-steps", type=int, default=100)
    parser.add_argument("--streams", nargs="+", default=list(STREAMS), choices=STREAMS)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(
        "--parts", nargs="+", default=["retrieval", "overhead", "miniature"],
        choices=["retrieval", "overhead", "miniature"], help="measure only these (others kept from --out)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    report = {}
    if len(args.parts) < 3 and Path(args.out).exists():
        report = json.loads(Path(args.out).read_text())  # keep the parts not measured this time
    settings = report.setdefault("settings", {})
    for part in args.parts:
        settings[part] = vars(args) | {"top_k": K, "window": K}
    if "retrieval" in args.parts:
        report["retrieval"] = retrieval_timing(args)
    if "overhead" in args.parts:
        report["agent_overhead"] = agent_overhead(args)
    write(report, args.out)
    if "miniature" in args.parts:
        report["miniature"] = miniature(args, report)
        write(report, args.out)
    print("\n| stream | agent | final accuracy (mean ± sd over seeds) |\n|---|---|---|")
    for key, value in report.get("miniature", {}).get("results", {}).items():
        stream, agent = key.split("/")
        print(f"| {stream} | {agent} | {value['accuracy_mean']:.3f} ± {value['accuracy_std']:.3f} |")
    r = report.get("retrieval", {"entries": 0, "numpy_query_ms": float("nan")})
    print(f"\nretrieval over {r['entries']} entries: numpy {r['numpy_query_ms']:.2f} ms/query"
          + (f", faiss {r['faiss_query_ms']:.2f} ms/query" if "faiss_query_ms" in r else ""))  # fmt: skip
    return report


if __name__ == "__main__":
    main()
