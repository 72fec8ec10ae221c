"""``hf-ext trees collect`` and ``hf-ext trees eval``: grow DFSDT trees with a model, score a tool agent.

``collect`` writes one ToolBench answer file per query into ``--out`` (plus ``queries.jsonl``, the queries
used), ready for ``hf-ext trees stats|pairs`` and ``hf-ext train tree-dpo``. The queries come from a
ToolBench query file (``--queries``) or from the offline tool world (``--groups G1 G2 G3 --per-group N``),
the tools from the offline world (default), a StableToolBench cache (``--cache DIR``) or a server
(``--server URL``), the policy from a local model (``--model``; it generates with transformers, or with
vLLM under ``--backend vllm``) or the world's scripted expert (``--scripted-noise P``). ``--out`` must be
new or empty unless ``--resume`` (continue a stopped run in the same folder: finished queries are skipped;
each file is written whole) or ``--overwrite``.

``eval`` runs the agent (``--method dfsdt|cot``) and prints the pass rate per group, counting unanswered
queries as failures and listing them; ``--answers DIR`` scores a folder of answer files instead of running.

Example:
    >>> from hf_ext.cli import main
    >>> main(["trees", "collect", "--groups", "G1", "--per-group", "2", "--scripted-noise", "0.2",
    ...       "--out", "/tmp/hfx-trees-doctest", "--overwrite"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hf_ext.errors import HFExtError


def _add_common(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("queries")
    source.add_argument(
        "--queries", help="ToolBench query file (JSON list) or JSONL; default: the offline world"
    )
    source.add_argument("--groups", nargs="+", default=["G1", "G2", "G3"], help="offline-world groups")
    source.add_argument("--per-group", type=int, default=10, help="offline-world queries per group")
    source.add_argument("--query-seed", type=int, default=0)
    source.add_argument("--split", choices=["train", "test"], default=None, help="offline-world split")
    source.add_argument("--distractors", type=int, default=None, help="extra APIs per query (default: all)")
    tools = parser.add_argument_group("tools")
    tools.add_argument("--fault-rate", type=float, default=0.0, help="offline world: injected fault rate")
    tools.add_argument("--world-seed", type=int, default=0, help="offline world: fault seed")
    tools.add_argument("--cache", help="StableToolBench tool_response_cache folder instead of the world")
    tools.add_argument("--server", help="StableToolBench server URL (e.g. http://localhost:8080/virtual)")
    tools.add_argument("--toolbench-key", default="", help="key passed to the server")
    policy = parser.add_argument_group("policy")
    policy.add_argument("--model", help="local model folder (or hf-ext-testing:<name>) used as the policy")
    policy.add_argument("--scripted-noise", type=float, default=None, help="use the world's scripted expert")
    policy.add_argument(
        "--backend", choices=["transformers", "vllm"], default="transformers", help="how --model generates"
    )
    policy.add_argument("--max-new-tokens", type=int, default=128)
    policy.add_argument("--temperature", type=float, default=1.0)
    policy.add_argument("--seed", type=int, default=0, help="sampling seed")
    search = parser.add_argument_group("search")
    search.add_argument("--beam-width", type=int, default=2)
    search.add_argument("--max-steps", type=int, default=12, help="node depth at which a branch is cut")
    search.add_argument("--max-queries", type=int, default=200, help="policy calls per query")
    search.add_argument("--tag", default="hfx", help="model name in answer-file names")


def add_collect_parser(actions) -> None:
    """Add ``trees collect`` to the ``trees`` action group."""
    collect = actions.add_parser("collect", help="grow DFSDT inference trees (ToolBench answer files)")
    _add_common(collect)
    collect.add_argument("--out", required=True, help="folder of answer files")
    collect.add_argument("--resume", action="store_true", help="continue a stopped run in --out")
    collect.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    collect.set_defaults(func=run_collect)


def add_eval_parser(actions) -> None:
    """Add ``trees eval`` to the ``trees`` action group."""
    evaluate = actions.add_parser(
        "eval", help="pass rate of a tool agent (unanswered queries count as failures)"
    )
    _add_common(evaluate)
    evaluate.add_argument("--method", choices=["dfsdt", "cot"], default="dfsdt")
    evaluate.add_argument("--answers", help="score this folder of answer files instead of running the agent")
    evaluate.add_argument("--out", help="keep the answer files and report.json here")
    evaluate.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    evaluate.set_defaults(func=run_eval)


def _queries(args: argparse.Namespace) -> list[dict]:
    from hf_ext.agents.evaluate import load_queries
    from hf_ext.agents.tools import OfflineToolWorld

    if args.queries:
        return load_queries(args.queries)
    return [
        query
        for group in args.groups
        for query in OfflineToolWorld.generate_queries(
            args.per_group, group, seed=args.query_seed, split=args.split, distractors=args.distractors
        )
    ]


def _environment(args: argparse.Namespace):
    from hf_ext.agents.tools import CachedToolEnvironment, HTTPToolEnvironment, OfflineToolWorld

    if args.cache and args.server:
        raise HFExtError("give --cache or --server, not both")
    if args.cache:
        return CachedToolEnvironment(args.cache)
    if args.server:
        return HTTPToolEnvironment(args.server, toolbench_key=args.toolbench_key)
    return OfflineToolWorld(seed=args.world_seed, fault_rate=args.fault_rate)


def _policy(args: argparse.Namespace, queries: list[dict]):
    if (args.model is None) == (args.scripted_noise is None):
        raise HFExtError("give exactly one policy: --model PATH or --scripted-noise P")
    if args.scripted_noise is not None:
        from hf_ext.agents.scripted import ScriptedWorldPolicy

        return ScriptedWorldPolicy(queries, noise=args.scripted_noise, seed=args.seed)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ext.agents.dfsdt import TransformersPolicy
    from hf_ext.names import resolve_model_name

    path = resolve_model_name(args.model)
    if args.backend == "vllm":
        from hf_ext.agents.vllm_policy import load_vllm_policy

        return load_vllm_policy(
            path, max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed
        )
    model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=False).eval()
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    return TransformersPolicy(
        model, tokenizer, max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed
    )


def _write_queries(path: Path, queries: list[dict]) -> None:
    from hf_ext.utils import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(query, ensure_ascii=False) + "\n" for query in queries))


def run_collect(args: argparse.Namespace) -> int:
    from hf_ext.agents.dfsdt import run_dfsdt
    from hf_ext.outputs import check_output_dir

    inputs = [args.queries, args.model, args.cache]
    out = Path(args.out)
    if not (args.resume and out.is_dir()):
        check_output_dir(out, inputs=inputs, overwrite=args.overwrite, flag="--out")
        if args.overwrite and out.is_dir():
            for old in [*out.glob("*.json"), out / "queries.jsonl"]:
                old.unlink(missing_ok=True)
    else:
        check_output_dir(out, inputs=inputs, overwrite=True, flag="--out")  # overlap check only
    queries = _queries(args)
    env, policy = _environment(args), _policy(args, queries)
    out.mkdir(parents=True, exist_ok=True)
    _write_queries(out / "queries.jsonl", queries)
    results = run_dfsdt(
        policy,
        env,
        queries,
        beam_width=args.beam_width,
        max_steps=args.max_steps,
        max_queries=args.max_queries,
        out_dir=out,
        tag=args.tag,
        resume=True,
    )
    wins = sum(result.win for result in results)
    resumed = sum(result.resumed for result in results)
    print(f"{len(results)} trees in {out} ({resumed} from an earlier run); {wins} reached give_answer")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from hf_ext.agents.evaluate import evaluate_tool_agent, score_answers
    from hf_ext.outputs import check_output_dir

    queries = _queries(args)
    env = _environment(args)
    checker = getattr(env, "check_answer", None)
    if checker is None or not any("gold_answer" in query for query in queries):
        raise HFExtError("these queries have no gold answers to check (use the offline world's queries)")
    if args.out:
        check_output_dir(
            args.out, inputs=[args.queries, args.model, args.answers], overwrite=args.overwrite, flag="--out"
        )
    if args.answers:
        report = score_answers(
            args.answers, queries, checker, method=args.method, beam_width=args.beam_width, tag=args.tag
        )
    else:
        report = evaluate_tool_agent(
            _policy(args, queries), env, queries, method=args.method, out_dir=args.out,
            beam_width=args.beam_width, max_steps=args.max_steps, max_queries=args.max_queries, tag=args.tag,
        )  # fmt: skip
    print(report.format_table())
    if report.unanswered:
        print(f"unanswered (counted as failures): {report.unanswered}")
    if args.out:
        from hf_ext.utils import atomic_write_text

        atomic_write_text(Path(args.out) / "report.json", json.dumps(report.to_dict(), indent=2, default=str))
    return 0
