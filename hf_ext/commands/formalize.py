"""``hf-ext formalize``: the Lean Workbook autoformalisation loop from the command line.

- ``hf-ext formalize run --problems FILE --translator MODEL --judge MODEL --checker SPEC --out DIR``: every
  stage, with ``<stage>.jsonl`` files and ``funnel.json`` in ``DIR``; run it again to resume.
- ``hf-ext formalize export-failures --run DIR --out review.jsonl``: failures for human review.
- ``hf-ext formalize import-corrections review.jsonl --out sft.jsonl``: reviewed statements as SFT data for
  ``hf-ext train sft --config recipes/lean_translator/tiny.yaml --dataset_name sft.jsonl``.

``--problems examples`` uses hf-ext's eight example problems; a checker spec is ``recorded:PATH``,
``kimina:URL``, ``repl:PROJECT_DIR,REPL_DIR`` or ``command:WORDS`` (see docs/lean_workbook.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "formalize", help="Lean Workbook autoformalisation: translate, compile, judge"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run (or resume) the pipeline on a problem file")
    run.add_argument("--problems", required=True, help="JSONL/JSON problems, a miniF2F JSONL, or 'examples'")
    run.add_argument("--translator", required=True, help="model folder or Hub id, or module:function")
    run.add_argument("--judge", required=True, help="model folder or Hub id, or module:function (NLI)")
    run.add_argument("--back-translator", default=None, help="defaults to --translator")
    run.add_argument(
        "--checker", required=True, help="recorded:PATH, kimina:URL, repl:PROJECT,REPL or command:..."
    )
    run.add_argument("--out", required=True, help="a new folder, or an earlier run's folder to resume")
    run.add_argument("--max-new-tokens", type=int, default=256)
    run.add_argument("--time-limit", type=float, default=60.0, help="seconds per Lean check")
    run.set_defaults(func=run_pipeline_command)
    export = actions.add_parser("export-failures", help="write the failed items for review")
    export.add_argument("--run", required=True, help="the pipeline's output folder")
    export.add_argument("--out", required=True, help="a new JSONL file")
    export.set_defaults(func=export_command)
    imported = actions.add_parser("import-corrections", help="reviewed statements -> SFT data (JSONL)")
    imported.add_argument("review", help="the reviewed JSONL (corrected_statement filled)")
    imported.add_argument("--out", required=True, help="a new JSONL file of conversational messages")
    imported.set_defaults(func=import_command)


def _model(reference: str):
    from hf_ext.formal.generation import as_generator
    from hf_ext.names import is_provided_name
    from hf_ext.utils import import_object

    if ":" in reference and not Path(reference).exists() and not is_provided_name(reference):
        return as_generator(import_object(reference))
    return as_generator(reference)


def run_pipeline_command(args: argparse.Namespace) -> int:
    from hf_ext.errors import HFExtError
    from hf_ext.formal.autoformalization import run_pipeline
    from hf_ext.formal.lean.spec import checker_from_spec
    from hf_ext.formal.problems import example_problems

    if args.max_new_tokens < 1:
        raise HFExtError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    problems = example_problems() if args.problems == "examples" else args.problems
    translator = _model(args.translator)
    judge = translator if args.judge == args.translator else _model(args.judge)
    back = _model(args.back_translator) if args.back_translator else None
    with checker_from_spec(args.checker, time_limit=args.time_limit) as checker:
        output = run_pipeline(
            problems, translator, judge, checker, args.out, back, max_new_tokens=args.max_new_tokens
        )
    print(" -> ".join(f"{stage} {count}" for stage, count in output["funnel"].items()))
    print(f"stage files and funnel.json in {args.out}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    from hf_ext.formal.autoformalization import export_failures

    count = export_failures(args.run, args.out)
    print(f"{count} failed items written to {args.out}; fill corrected_statement, then import-corrections")
    return 0


def import_command(args: argparse.Namespace) -> int:
    from hf_ext.errors import HFExtError
    from hf_ext.formal.autoformalization import import_corrections

    out = Path(args.out)
    if out.exists():
        raise HFExtError(f"{out} exists; choose a new file")
    dataset = import_corrections(args.review)
    dataset.to_json(str(out))
    print(f"{len(dataset)} SFT examples written to {out}")
    return 0
