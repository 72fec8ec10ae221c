"""StreamBench miniature and speed: does memory of one's own correct answers help a model that can copy?

No pretrained LM weights exist on these machines, so the "LLMs" here are tiny Llamas (2 layers, 64 wide,
a context window of ``--context`` tokens: longer prompts lose their oldest tokens) trained in this script,
from scratch, on synthetic prompts in the agents' own formats, to do two things:

* **copy**: when a past item in the prompt (a Self-StreamICL shot ``Question: q\\n<answer>`` or a
  GrowPrompt/MemPrompt item marked correct) has the same question as the new input, reply with that item's
  answer (the answer in training is a random one, so the model learns to copy, not to memorise);
* **know**: answer a fixed third of the offline streams' questions without help. Model A, B and C know
  different thirds, which gives MAM-StreamICL (round-robin over A, B, C, one shared memory) something to
  share.

Training uses the next-token loss on the whole prompt as well as on the reply (``--prompt-loss-weight``):
with the loss on the reply alone (the first version of this script) the models learned the reply's format
and one fixed country, never the copy. Copy training runs in chunks until the model copies the matching
shot of held-out prompts (``--copy-target``) or ``--steps`` is spent; the copy rate and each model's
zero-shot accuracy on its known and unknown questions are measured and written beside the results.

Then every agent runs over the offline streams (default ``multihop``; ``tools`` and ``sql`` have ~70-token
replies, too slow to generate on the shared CPU; ``diagnosis`` rarely repeats an input exactly, so a copying
model has nothing to copy there) in 5 stream orders (the paper's seeds 2, 3, 7, 21, 42): zero-shot,
GrowPrompt, MemPrompt, Self-StreamICL with model A; MAM-StreamICL with A, B, C. Memory settings are smaller
than the paper's (``top_k`` and window 4 instead of 16). Also measured: the agents' own time per step beside
the model call, and top-16 retrieval time over a 100k-entry memory with faiss and with numpy.

    nice -n 10 python benchmarks/bench_streambench.py [--steps 400] [--stream-length 60] [--streams multihop]

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

from hf_ext.agents.tools.stream import offline_stream_docs
from hf_ext.evaluation.streambench import AgentConfig, bench_of, make_agent, run_stream, stream_order
from hf_ext.evaluation.streambench.benches import SHOTS_SEPARATOR
from hf_ext.evaluation.streambench.generation import cut_at_stop, transformers_generator
from hf_ext.evaluation.streambench.retrieval import ExactIndex, faiss_available
from hf_ext.testing import tiny_causal_lm

RESULTS = Path(__file__).parent / "results" / "streambench.json"
STREAMS = ("multihop", "tools", "sql")
ARCH = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4}  # fmt: skip
AGENTS = ("zeroshot", "grow_prompt", "mem_prompt", "self_stream_icl", "ma_rr")
MAX_TOKENS = {"multihop": 20, "sql": 72, "tools": 80}
K = 4


def question_pool(stream: str) -> dict[str, dict]:
    """Every distinct question of the stream's generator (from many draws), with one document each."""
    pool = {}
    for doc in offline_stream_docs(stream, n=3000, seed=12345):
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


def training_example(rng: random.Random, pools, known: set[str], copy: bool | None = None) -> tuple[str, str]:
    """(prompt, target) in one of the agents' formats; see the module docstring. ``copy=True`` always has a
    matching item (with a random reply, the most similar last as retrieval puts it), ``False`` never."""
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
    probe = copy is not None
    if not probe:
        copy = rng.random() < 0.55 or bench.question(doc) not in known
    elif not copy:
        items = []  # the zero-shot prompt
    if copy:
        answer = bench.gold_answer(pool[rng.choice(questions)])  # a random reply: learn to copy, not recall
        position = len(items) if probe or rng.random() < 0.8 else rng.randint(0, len(items))
        items.insert(position, item(doc, answer, True))
        target = answer
    else:
        target = bench.gold_answer(doc)
    prompt = bench.prompt(
        doc, SHOTS_SEPARATOR.join(items), memory_kind="shots" if fmt == "shots" else "feedback"
    )
    return prompt, target


def tokenized_row(tokenizer, prompt: str, target: str, context: int) -> tuple[list[int], int]:
    """Prompt (its last tokens, to fit ``context``) + reply + end-of-text, and where the reply starts."""
    reply = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    ids = tokenizer(prompt)["input_ids"][-(context - len(reply)) :]
    return ids + reply, len(ids)


def train_model(model, tokenizer, pools, known, steps, seed, args, optimizer):
    """``steps`` AdamW steps on :func:`training_example` batches: next-token loss on the reply plus
    ``args.prompt_loss_weight`` times the loss on the prompt tokens. Returns the per-step reply losses."""
    model.train()
    rng = random.Random(seed)
    losses = []
    for _ in range(steps):
        rows = [tokenized_row(tokenizer, *training_example(rng, pools, known), args.context)
                for _ in range(args.batch_size)]  # fmt: skip
        width = max(len(ids) for ids, _ in rows)
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r, _ in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in rows])
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        per_token = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1), reduction="none"
        ).view(ids.shape[0], -1)
        valid = mask[:, 1:].bool()
        reply = torch.zeros_like(valid)
        for row, (r, start) in enumerate(rows):
            reply[row, start - 1 : len(r) - 1] = True
        reply_loss = per_token[reply].mean()
        loss = reply_loss + args.prompt_loss_weight * per_token[valid & ~reply].mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(reply_loss.detach()))
    model.eval()
    return losses


def greedy_generator(model, tokenizer, context: int):
    """Greedy decoding with the KV cache in a plain loop (the toy model's replies end with end-of-text)."""

    def generate(prompt: str, max_tokens: int) -> str:
        ids = tokenizer(prompt)["input_ids"][-(context - max_tokens) :]
        step, past, out = torch.tensor([ids]), None, []
        with torch.no_grad():
            for _ in range(max_tokens):
                result = model(input_ids=step, past_key_values=past, use_cache=True)
                past, token = result.past_key_values, int(result.logits[0, -1].argmax())
                if token == tokenizer.eos_token_id:
                    break
                out.append(token)
                step = torch.tensor([[token]])
        return cut_at_stop(tokenizer.decode(out, skip_special_tokens=True)).strip()

    return generate


def probe(generate, pools, known: set[str], n: int, seed: int = 999) -> dict[str, float]:
    """Held-out checks per stream: ``copy`` (a matching shot with a random reply is last: is it copied?),
    ``known`` / ``unknown`` (zero-shot accuracy on questions the model was / was not taught)."""
    out = {}
    for stream in sorted(pools):
        rng, one = random.Random(seed), {stream: pools[stream]}
        copies = [training_example(rng, one, set(), copy=True) for _ in range(n)]
        out[f"{stream}/copy"] = statistics.mean(generate(p, MAX_TOKENS[stream]) == t for p, t in copies)
        for name, wanted in (("known", True), ("unknown", False)):
            questions = sorted(q for q in pools[stream] if (q in known) == wanted)[:n]
            if not questions:
                continue
            hits = []
            for question in questions:
                doc = pools[stream][question]
                bench = bench_of(doc)
                reply = generate(bench.prompt(doc), MAX_TOKENS[stream])
                hits.append(bench.score(reply, doc)["acc"])
            out[f"{stream}/{name}"] = statistics.mean(hits)
    return out


def write(report: dict, out: str) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2))


def summarize(runs: dict[str, dict[int, list[float]]]) -> dict[str, dict]:
    """Final accuracy per (stream, agent): mean and sd over the seeds run, per seed, and the mean curve."""
    out = {}
    for key, by_seed in runs.items():
        accuracies = [float(np.mean(c)) for c in by_seed.values()]
        curves = [np.cumsum(c) / np.arange(1, len(c) + 1) for c in by_seed.values()]
        out[key] = {
            "accuracy_mean": statistics.mean(accuracies),
            "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
            "accuracy_per_seed": {str(seed): acc for seed, acc in zip(by_seed, accuracies)},
            "mean_curve": np.mean(curves, axis=0).round(4).tolist(),
        }
    return out


def miniature(args, report: dict) -> dict:
    torch.manual_seed(0)
    pools = {stream: question_pool(stream) for stream in args.streams}
    known = knowledge_split(pools)
    arch = dict(ARCH, max_position_embeddings=args.context)
    started = time.perf_counter()
    model, tokenizer = tiny_causal_lm("llama", seed=0, **arch)
    copy_curve, losses, done = [], [], 0
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    while done < args.steps:  # copy training in chunks until held-out prompts are copied
        chunk = min(args.chunk, args.steps - done)
        losses += train_model(model, tokenizer, pools, set(), chunk, done, args, optimizer)
        done += chunk
        rates = probe(greedy_generator(model, tokenizer, args.context), pools, set(), args.probe_size)
        copy = min(v for k, v in rates.items() if k.endswith("/copy"))
        copy_curve.append({"step": done, "copy": copy, "reply_loss": statistics.mean(losses[-chunk:])})
        print(f"copy training step {done}: reply loss {copy_curve[-1]['reply_loss']:.3f}, copies {copy:.2f}",
              flush=True)  # fmt: skip
        if copy >= args.copy_target:
            break
    models, probes = [], {}
    for name, part in zip("ABC", known):
        clone, _ = tiny_causal_lm("llama", **arch)
        clone.load_state_dict(model.state_dict())
        optimizer = torch.optim.AdamW(clone.parameters(), lr=args.lr / 2, weight_decay=0.0)
        train_model(clone, tokenizer, pools, part, args.knowledge_steps, ord(name), args, optimizer)
        generate = greedy_generator(clone, tokenizer, args.context)
        probes[name] = probe(generate, pools, part, args.probe_size)
        print(f"model {name}: {probes[name]}", flush=True)
        models.append(generate)
    results = {}
    partial = {
        "train_seconds": time.perf_counter() - started,
        "copy_training": copy_curve,
        "probes": probes,
        "results": results,
    }
    report["miniature"] = partial
    write(report, args.out)
    runs: dict[str, dict[int, list[float]]] = {}
    for seed in args.seeds:  # seeds outermost: a run stopped early has every agent on the seeds done
        for stream in args.streams:
            docs = offline_stream_docs(stream, n=args.stream_length, seed=0)
            ordered = [docs[i] for i in stream_order(len(docs), seed)]
            for agent_name in AGENTS:
                config = AgentConfig(top_k=K, window=K, max_tokens=MAX_TOKENS[stream], backend="numpy")
                agent = make_agent(agent_name, models if agent_name == "ma_rr" else models[:1], config)
                result = run_stream(
                    ordered, agent, progress=args.progress, description=f"{stream}/{agent_name}/{seed}"
                )
                runs.setdefault(f"{stream}/{agent_name}", {})[seed] = result.correct
                print(f"seed {seed} {stream:9s} {agent_name:16s} {result.accuracy:.3f}", flush=True)
                results.update(summarize(runs))
                partial["stream_seconds"] = time.perf_counter() - started - partial["train_seconds"]
                write(report, args.out)  # after every run, so a stopped run keeps what it measured
    return partial


def agent_overhead(args) -> dict:
    """Seconds per step spent by each agent outside the model call (instant model) vs one tiny-model call."""
    docs = offline_stream_docs("multihop", n=args.overhead_steps, seed=1)
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
    parser.add_argument("--steps", type=int, default=400, help="most copy-training steps of the base model")
    parser.add_argument("--chunk", type=int, default=50, help="copy-training steps between held-out checks")
    parser.add_argument(
        "--copy-target", type=float, default=0.85, help="stop copy training at this copy rate"
    )
    parser.add_argument("--probe-size", type=int, default=12, help="held-out prompts per check and stream")
    parser.add_argument("--knowledge-steps", type=int, default=60, help="fine-tuning steps of A, B and C")
    parser.add_argument("--context", type=int, default=256, help="the toy models' context window (tokens)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--prompt-loss-weight", type=float, default=1.0, help="0: loss on the reply only")
    parser.add_argument("--stream-length", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 7, 21, 42])
    parser.add_argument("--memory", type=int, default=100_000, help="entries for the retrieval timing")
    parser.add_argument("--overhead-steps", type=int, default=100)
    parser.add_argument("--streams", nargs="+", default=["multihop"], choices=STREAMS)
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
