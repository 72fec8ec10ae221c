"""``hf-ext trees ACTION``: inspect and mine tool-use inference trees (ToolBench DFSDT answer files).

- ``hf-ext trees stats PATH [--json]``: files, parsed, skipped (with reasons), wins, success paths, branching
  nodes on them, step-wise pairs (and path-wise), the observation-code histogram, and how often the chosen
  step opens with a Thought that the rejected one lacks (a bias of DFSDT pairs; see docs/tree_preference.md);
- ``hf-ext trees pairs PATH --out DIR [--mode step|path] [--format trl|toolpreference]
  [--max-pairs-per-tree N] [--no-dedup] [--no-thought] [--overwrite]``: write the pairs as ``pairs.jsonl``
  (TRL's conversational preference format, loadable with ``datasets.load_dataset("json", ...)``) or
  ``dpo_preferencepairs_train.json`` (ToolPreference's format), plus ``stats.json``.

The group grows by one line: every ``"module:function"`` in :data:`TREES_ACTIONS` is called with the group's
sub-parsers and adds one action (its parser's ``func`` runs it), so ``trees collect`` and ``trees eval`` can
live in their own modules.

Example:
    >>> import tempfile
    >>> from hf_ext.cli import main
    >>> from hf_ext.testing.tool_trees import write_tool_trees
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_tool_trees(folder, count=4, seed=0)
    >>> main(["trees", "stats", folder])  # doctest: +ELLIPSIS
    files                        4
    ...
    0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hf_ext.utils import import_object

TREES_ACTIONS: list[str] = [
    "hf_ext.commands.trees:add_stats_parser",
    "hf_ext.commands.trees:add_pairs_parser",
    "hf_ext.commands.trees_agents:add_collect_parser",
    "hf_ext.commands.trees_agents:add_eval_parser",
]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "trees", help="inspect tool-use inference trees and mine preference pairs from them (TP-LLaMA)"
    )
    actions = parser.add_subparsers(dest="trees_command", required=True, metavar="ACTION")
    for reference in TREES_ACTIONS:
        import_object(reference)(actions)


def add_stats_parser(actions) -> None:
    stats = actions.add_parser("stats", help="count trees, wins, branchings, pairs and observation codes")
    stats.add_argument("path", help="an answer file, a folder (searched recursively) or a glob")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=run_stats)


def add_pairs_parser(actions) -> None:
    pairs = actions.add_parser("pairs", help="write step-wise or path-wise preference pairs")
    pairs.add_argument("path", help="an answer file, a folder (searched recursively) or a glob")
    pairs.add_argument("--out", required=True, help="output folder")
    pairs.add_argument("--mode", choices=["step", "path"], default="step")
    pairs.add_argument("--format", choices=["trl", "toolpreference"], default="trl")
    pairs.add_argument("--max-pairs-per-tree", type=int, default=None)
    pairs.add_argument("--no-dedup", action="store_true", help="keep identical-text and repeated pairs")
    pairs.add_argument("--no-thought", action="store_true", help="serialise steps without their Thought")
    pairs.add_argument("--skip-bad-files", action="store_true", help="skip malformed files, do not fail")
    pairs.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    pairs.set_defaults(func=run_pairs)


def _stats_lines(stats) -> list[str]:
    pairs = max(stats.pairs, 1)
    lines = [
        f"{'files':<28} {stats.files}",
        f"{'parsed':<28} {stats.parsed}",
        f"{'skipped':<28} {len(stats.skipped)}",
    ]
    lines += [f"  {name}: {reason}" for name, reason in stats.skipped]
    lines += [
        f"{'wins':<28} {stats.wins}",
        f"{'success paths':<28} {stats.success_paths}",
        f"{'branchings on success paths':<28} {stats.branching_on_success_paths}",
        f"{'step-wise pairs':<28} {stats.pairs} ({stats.dropped_identical} identical dropped)",
        f"{'path-wise pairs':<28} {stats.path_pairs}",
        f"{'chosen opens with a Thought':<28} {stats.chosen_thought_only} of {stats.pairs} "
        f"({100 * stats.chosen_thought_only / pairs:.0f}%, rejected has none)",
        f"{'chosen is the later sibling':<28} {stats.chosen_later_sibling} of {stats.pairs} "
        f"({100 * stats.chosen_later_sibling / pairs:.0f}%)",
        "observation codes (Action Input nodes):",
    ]
    from hf_ext.data.tool_trees import OBSERVATION_CODES

    for code, count in stats.observation_codes.items():
        meaning = OBSERVATION_CODES.get(int(code), "unknown") if code != "none" else "no observation"
        lines.append(f"  {code:>4} {meaning:<30} {count}")
    return lines


def run_stats(args: argparse.Namespace) -> int:
    from hf_ext.data.tool_trees import tree_stats

    stats = tree_stats(args.path, errors="skip")
    print(json.dumps(stats.as_dict(), indent=2) if args.json else "\n".join(_stats_lines(stats)))
    return 0


def run_pairs(args: argparse.Namespace) -> int:
    from hf_ext.data.tool_trees import tree_files, tree_preference_dataset, tree_stats, write_tool_preference
    from hf_ext.outputs import check_output_dir, staged_output_dir

    inputs = [args.path] if Path(args.path).exists() else [p.parent for p in tree_files(args.path)]
    out = check_output_dir(args.out, inputs=inputs, overwrite=args.overwrite, flag="--out")
    errors = "skip" if args.skip_bad_files else "raise"
    dataset = tree_preference_dataset(
        args.path,
        mode=args.mode,
        dedup=not args.no_dedup,
        max_pairs_per_tree=args.max_pairs_per_tree,
        include_thought=not args.no_thought,
        errors=errors,
    )
    stats = tree_stats(args.path, errors="skip")
    with staged_output_dir(out) as staging:
        if args.format == "trl":
            target = staging / "pairs.jsonl"
            with open(target, "w", encoding="utf-8") as handle:
                for row in dataset:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            target = staging / "dpo_preferencepairs_train.json"
            write_tool_preference(dataset, target)
        summary = {"mode": args.mode, "format": args.format, "pairs_written": len(dataset), **stats.as_dict()}
        (staging / "stats.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"wrote {len(dataset)} {args.mode}-wise pairs from {stats.parsed} trees to {out / target.name}")
    return 0
