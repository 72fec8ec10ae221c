"""``hf-ext streambench run|plot``: StreamBench outside lm-eval, and learning curves of several runs.

``run`` streams one dataset through one agent over transformers models (several ``--model`` for ``ma_rr``,
``ma_ts`` and ``ma_dts``),
with a progress bar, and writes ``steps.jsonl`` (one line per step), ``state.json`` (the agent's memory),
``curve.json`` and ``result.json`` to ``--out``; ``--resume`` continues a stopped run in that folder.
``plot`` draws the curves of run folders, ``hfx-stream`` log folders or lm-eval ``--log_samples`` folders.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OFFLINE = {"sql_offline": "sql", "diagnosis_offline": "diagnosis", "multihop_offline": "multihop",
           "tools_offline": "tools"}  # fmt: skip
HUB = {"bird": "bird", "spider": "spider", "cosql": "cosql", "ds1000": "ds_1000", "toolbench": "toolbench",
       "ddxplus": "ddxplus", "hotpotqa": "hotpotqa_distract"}  # fmt: skip


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "streambench", help="StreamBench: agents that learn from a feedback stream (run, plot)"
    )
    commands = parser.add_subparsers(dest="streambench_command", required=True)

    run_parser = commands.add_parser("run", help="stream a dataset through an agent and log every step")
    run_parser.add_argument("--dataset", required=True, choices=sorted({**OFFLINE, **HUB}))
    run_parser.add_argument(
        "--agent", required=True, help="zeroshot, fewshot, cot, self_refine, grow_prompt, mem_prompt, "
        "self_stream_icl, ma_rr, ma_ts, ma_dts or gt",
    )  # fmt: skip
    run_parser.add_argument("--model", action="append", required=True, help="transformers model id or folder "
                            "(repeat for ma_rr, ma_ts, ma_dts)")  # fmt: skip
    run_parser.add_argument("--out", required=True, help="folder for the logs and results")
    run_parser.add_argument("--seed", type=int, default=42, help="stream order (paper: 2, 3, 7, 21, 42)")
    run_parser.add_argument("--num-samples", type=int, default=200, help="offline streams: length")
    run_parser.add_argument("--max-steps", type=int, help="stop after this many steps (resume later)")
    run_parser.add_argument("--db-path", help="text-to-SQL Hub datasets: folder of <db_id>/<db_id>.sqlite")
    run_parser.add_argument("--split", default="test", help="Hub datasets: split")
    run_parser.add_argument("--feedback", default="binary", choices=["binary", "ground_truth"])
    run_parser.add_argument("--top-k", type=int, default=16)
    run_parser.add_argument("--window", type=int, default=16)
    run_parser.add_argument(
        "--grow-mode", default="normal", choices=["normal", "only_correct", "only_incorrect"]
    )
    run_parser.add_argument("--embedder", default="hashing", help="hashing, auto or a transformers encoder")
    run_parser.add_argument("--retrieval", default="auto", choices=["auto", "faiss", "numpy"])
    run_parser.add_argument("--max-tokens", type=int, default=64)
    run_parser.add_argument("--agent-seed", type=int, default=0, help="ma_ts/ma_dts draws, random shot order")
    run_parser.add_argument(
        "--warmup-steps", type=int, default=0, help="ma_ts/ma_dts: round-robin steps first"
    )
    run_parser.add_argument("--device", default="cpu")
    run_parser.add_argument(
        "--allow-code-execution", action="store_true", help="ds1000: run model-written code"
    )
    run_parser.add_argument("--resume", action="store_true", help="continue the run logged in --out")
    run_parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    run_parser.set_defaults(func=run)

    plot_parser = commands.add_parser("plot", help="learning curves of several runs")
    plot_parser.add_argument(
        "runs", nargs="+", help="run folders, hfx-stream log_dir folders or lm-eval outputs"
    )
    plot_parser.add_argument("--out", required=True, help="PNG (or PDF/SVG) file to write")
    plot_parser.add_argument("--window", type=int, help="sliding window instead of accuracy so far")
    plot_parser.add_argument("--title", default="")
    plot_parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    plot_parser.set_defaults(func=plot)


def stream_docs(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """``(stream, shots for the fewshot agent)`` of ``--dataset``."""
    from hf_ext.agents.tools.stream import offline_stream_docs
    from hf_ext.evaluation.streambench import stream_order
    from hf_ext.evaluation.streambench.hub import load_hub_stream

    if args.dataset in OFFLINE:
        docs = offline_stream_docs(OFFLINE[args.dataset], n=args.num_samples)
        stream = [dict(docs[i], doc_id=p) for p, i in enumerate(stream_order(len(docs), args.seed))]
        return stream, offline_stream_docs(OFFLINE[args.dataset], n=16, split="train")
    stream = list(load_hub_stream(HUB[args.dataset], split=args.split, seed=args.seed, db_path=args.db_path))
    return stream, []


def run(args: argparse.Namespace) -> int:
    from hf_ext.errors import HFExtError
    from hf_ext.evaluation.streambench import AgentConfig, Settings, bench_of, make_agent, run_stream
    from hf_ext.evaluation.streambench.generation import load_generator
    from hf_ext.outputs import check_output_dir, staged_output_dir

    out = Path(args.out)
    if args.resume and args.overwrite:
        raise HFExtError("--resume continues the run in --out; --overwrite would replace it: choose one")
    if args.resume and not (out / "state.json").is_file():
        raise HFExtError(f"--resume: {out / 'state.json'} not found; start the run without --resume")
    if not args.resume:
        check_output_dir(out, inputs=[*args.model, args.db_path], overwrite=args.overwrite, flag="--out")
    if args.dataset == "ds1000" and not args.allow_code_execution:
        raise HFExtError("--dataset ds1000 runs model-written code to score it: pass --allow-code-execution")
    config = AgentConfig(
        max_tokens=args.max_tokens, top_k=args.top_k, window=args.window, grow_mode=args.grow_mode,
        embedder=args.embedder, backend=args.retrieval, feedback=args.feedback, seed=args.agent_seed,
        warmup_steps=args.warmup_steps,
    )  # fmt: skip
    if len(args.model) > 1 and args.agent not in ("ma_rr", "ma_ts", "ma_dts"):
        raise HFExtError(f"several --model need --agent ma_rr, ma_ts or ma_dts, not {args.agent!r}")
    stream, shots = stream_docs(args)
    models = [load_generator(name, device=args.device) for name in args.model]
    extra = {}
    if args.agent == "fewshot":
        if not shots:
            raise HFExtError(f"--agent fewshot needs a training split; {args.dataset} has none here")
        extra["shots"] = [(doc, bench_of(doc).gold_answer(doc)) for doc in shots]
    agent = make_agent(args.agent, models, config, **extra)
    settings = Settings(allow_code_execution=args.allow_code_execution)

    def go(folder: Path):
        result = run_stream(
            stream, agent, settings=settings, log_dir=folder, resume=args.resume, max_steps=args.max_steps,
            description=f"{args.dataset}/{args.agent}",
        )  # fmt: skip
        summary = {
            "dataset": args.dataset, "agent": args.agent, "models": args.model, "seed": args.seed,
            "steps": len(result.steps), "stream_length": len(stream), "metrics": result.metrics(),
            "model_calls": agent.calls, "prompt_chars": agent.prompt_chars,
        }  # fmt: skip
        (folder / "result.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        return summary

    if args.overwrite and out.exists():
        with staged_output_dir(out) as folder:
            summary = go(folder)
    else:
        summary = go(out)
    print(f"{args.dataset} / {args.agent}: accuracy {summary['metrics'].get('acc', 0):.4f} over "
          f"{summary['steps']} of {summary['stream_length']} steps; logs in {out}")  # fmt: skip
    return 0


def plot(args: argparse.Namespace) -> int:
    from hf_ext.errors import HFExtError
    from hf_ext.evaluation.streambench.plots import load_runs, plot_curves

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise HFExtError(f"--out {out} exists; pass --overwrite to replace it")
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise HFExtError(f"--out {out}: use a .png, .pdf or .svg file name")
    runs = load_runs(args.runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_curves(runs, window=args.window, title=args.title).savefig(out, dpi=120)
    for name, correct in runs.items():
        print(f"{name}: {len(correct)} steps, final accuracy {sum(correct) / max(1, len(correct)):.4f}")
    print(f"wrote {out}")
    return 0
