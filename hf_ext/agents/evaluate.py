"""Pass rate of a tool agent, honestly counted: an unanswered query is a failure, and it is reported.

:func:`evaluate_tool_agent` runs the agent (DFSDT, or CoT@1 = one chain) on every query and scores the
answer files; :func:`score_answers` scores a folder of answer files that already exists (ours or
ToolBench's). A query is *solved* when its ``Finish`` gave an answer and the checker accepts it (by default
the offline world's exact gold check); a query with no answer file, or whose search ended without
``give_answer``, is *unanswered* and counts as a failure in the pass rate (StableToolBench silently drops
these). Reports give pass rate, unanswered queries, mean policy calls ("steps") and mean API calls, overall
and per group (G1/G2/G3).

For worlds without gold answers, ``judge`` (a function from a judging prompt to the log-probabilities of
" A" and " B") compares each answer with the query's ``reference_answer`` in both orders, with the pairwise
judging code of :mod:`hf_ext.evaluation.elo.judging`, and the report gives the win rate against the
reference (ties count one half).

Example:
    >>> import tempfile
    >>> from hf_ext.agents.evaluate import evaluate_tool_agent
    >>> from hf_ext.agents.scripted import ScriptedWorldPolicy
    >>> from hf_ext.agents.tools import OfflineToolWorld
    >>> world = OfflineToolWorld()
    >>> queries = world.generate_queries(4, "G1", seed=0)
    >>> report = evaluate_tool_agent(ScriptedWorldPolicy(queries), world, queries, progress=False)
    >>> report.pass_rate, report.unanswered
    (1.0, [])
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.agents.dfsdt import answer_file_name, run_dfsdt, summarize_answer_file
from hf_ext.agents.tools.base import ToolEnvironment
from hf_ext.errors import HFExtError

METHODS = ("dfsdt", "cot")
Checker = Callable[[dict[str, Any], str | None], bool]
Judge = Callable[[str], Sequence[float]]


@dataclass
class GroupScore:
    """Counts and means of one group of queries (or of all of them)."""

    queries: int = 0
    solved: int = 0
    answered: int = 0
    pass_rate: float = 0.0
    mean_steps: float = 0.0
    mean_api_calls: float = 0.0
    unanswered: list[Any] = field(default_factory=list)


@dataclass
class ToolEvalReport:
    """What :func:`evaluate_tool_agent` and :func:`score_answers` return."""

    method: str
    overall: GroupScore
    groups: dict[str, GroupScore]
    rows: list[dict[str, Any]]
    win_rate_vs_reference: float | None = None

    @property
    def pass_rate(self) -> float:
        return self.overall.pass_rate

    @property
    def unanswered(self) -> list[Any]:
        return self.overall.unanswered

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format_table(self) -> str:
        """A Markdown table: one row per group, then all queries."""
        lines = [
            "| group | queries | solved | pass rate | unanswered | mean steps | mean API calls |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, score in [*sorted(self.groups.items()), ("all", self.overall)]:
            lines.append(
                f"| {name} | {score.queries} | {score.solved} | {score.pass_rate:.3f} "
                f"| {len(score.unanswered)} | {score.mean_steps:.2f} | {score.mean_api_calls:.2f} |"
            )
        if self.win_rate_vs_reference is not None:
            lines.append(f"\nwin rate against the reference answers: {self.win_rate_vs_reference:.3f}")
        return "\n".join(lines)


def _score(rows: list[dict[str, Any]]) -> GroupScore:
    if not rows:
        return GroupScore()
    solved = sum(row["solved"] for row in rows)
    return GroupScore(
        queries=len(rows),
        solved=solved,
        answered=sum(row["answered"] for row in rows),
        pass_rate=solved / len(rows),
        mean_steps=statistics.fmean(row["steps"] for row in rows),
        mean_api_calls=statistics.fmean(row["api_calls"] for row in rows),
        unanswered=[row["query_id"] for row in rows if not row["answered"]],
    )


def _default_checker(env: ToolEnvironment | None) -> Checker | None:
    check = getattr(env, "check_answer", None)
    return check if callable(check) else None


def score_answers(
    answer_dir: str | os.PathLike,
    queries: Sequence[dict[str, Any]],
    checker: Checker | None = None,
    method: str = "dfsdt",
    beam_width: int = 2,
    tag: str = "hfx",
    judge: Judge | None = None,
) -> ToolEvalReport:
    """Score the answer files in ``answer_dir`` against ``queries`` (see the module docstring).

    Files are found by ``query_id`` (any ``<query_id>_*.json``, so ToolBench's names work too); a query
    without a file is unanswered. ``checker(query, final_answer) -> bool`` decides correctness; without one,
    only ``judge`` can score, and ``solved`` then means "answered".
    """
    if method not in METHODS:
        raise HFExtError(f"method must be one of {list(METHODS)}, got {method!r}")
    folder = Path(answer_dir)
    if not folder.is_dir():
        raise HFExtError(f"{folder}: no such folder of answer files")
    rows = []
    for query in queries:
        if "query_id" not in query:
            raise HFExtError(f"query {str(query.get('query'))[:60]!r} has no 'query_id'")
        path = folder / answer_file_name(query["query_id"], 1 if method == "cot" else beam_width, tag)
        if not path.exists():
            found = sorted(folder.glob(f"{query['query_id']}_*.json"))
            path = found[0] if found else path
        if path.exists():
            summary = summarize_answer_file(path)
        else:
            summary = {"win": False, "final_answer": None, "query_count": 0, "api_calls": 0}
        answered = summary["final_answer"] is not None
        solved = answered and (checker(query, summary["final_answer"]) if checker else True)
        rows.append(
            {
                "query_id": query["query_id"],
                "group": str(query.get("group", "all")),
                "answered": answered,
                "solved": bool(solved),
                "final_answer": summary["final_answer"],
                "steps": summary["query_count"],
                "api_calls": summary["api_calls"],
                "file": str(path) if path.exists() else None,
            }
        )
    groups = sorted({row["group"] for row in rows})
    report = ToolEvalReport(
        method=method,
        overall=_score(rows),
        groups={group: _score([row for row in rows if row["group"] == group]) for group in groups},
        rows=rows,
    )
    if judge is not None:
        report.win_rate_vs_reference = judge_win_rate(queries, rows, judge)
    return report


def judge_win_rate(queries: Sequence[dict[str, Any]], rows: list[dict[str, Any]], judge: Judge) -> float:
    """Win rate (ties one half) of the agent's answers against each query's ``reference_answer``, judged
    in both orders by ``judge`` with :mod:`hf_ext.evaluation.elo.judging`. An unanswered query is a loss."""
    from datasets import Dataset

    from hf_ext.evaluation.elo.judging import both_orders, combine_judgments, judge_prompt, judgment_item

    pairs = []
    for query, row in zip(queries, rows):
        if "reference_answer" not in query:
            raise HFExtError(f"query {query['query_id']!r} has no 'reference_answer' for the judge")
        pairs.append(
            {
                "prompt": query["query"],
                "response_a": row["final_answer"] or "",
                "response_b": str(query["reference_answer"]),
                "model_a": "agent",
                "model_b": "reference",
            }
        )
    docs = both_orders(Dataset.from_list(pairs))
    items = []
    for doc in docs:
        answered = rows[doc["pair_id"]]["answered"]
        if answered:
            items.append(judgment_item(doc, list(judge(judge_prompt(doc)))))
        else:  # no answer loses without asking the judge
            items.append(
                {
                    **{k: doc[k] for k in ("pair_id", "swapped", "model_a", "model_b", "label")},
                    "preference_a": -1.0,
                }
            )
    battles = combine_judgments(items)
    points = battles["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5})
    return float(points.mean())


def evaluate_tool_agent(
    policy: Any,
    env: ToolEnvironment,
    queries: Sequence[dict[str, Any]],
    method: str = "dfsdt",
    out_dir: str | os.PathLike | None = None,
    beam_width: int = 2,
    max_steps: int = 12,
    max_queries: int = 200,
    checker: Checker | None = None,
    judge: Judge | None = None,
    tag: str = "hfx",
    resume: bool = True,
    progress: bool = True,
) -> ToolEvalReport:
    """Run ``policy`` on ``queries`` in ``env`` with DFSDT (``method="dfsdt"``) or one chain (``"cot"``),
    writing answer files to ``out_dir`` (a temporary folder when ``None``), and score them with
    :func:`score_answers`. ``checker`` defaults to ``env.check_answer`` (the offline world's gold check)."""
    if method not in METHODS:
        raise HFExtError(f"method must be one of {list(METHODS)}, got {method!r}")
    checker = checker or _default_checker(env)
    if checker is None and judge is None:
        raise HFExtError("this environment has no gold answers: pass checker= or judge=")
    width = 1 if method == "cot" else beam_width
    with tempfile.TemporaryDirectory(prefix="hfx-tool-eval-") as scratch:
        folder = Path(out_dir) if out_dir is not None else Path(scratch)
        run_dfsdt(
            policy,
            env,
            queries,
            beam_width=width,
            max_steps=max_steps,
            max_queries=max_queries,
            out_dir=folder,
            tag=tag,
            resume=resume,
            progress=progress,
        )
        return score_answers(folder, queries, checker, method=method, beam_width=width, tag=tag, judge=judge)


def load_queries(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Queries from a ToolBench query file (a JSON list) or a JSONL file; errors name the file and item."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise HFExtError(f"{path}: cannot read queries ({error.strerror})") from None
    try:
        if path.suffix == ".jsonl":
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            items = json.loads(text)
    except json.JSONDecodeError as error:
        raise HFExtError(f"{path}: line {error.lineno}: invalid JSON ({error.msg})") from None
    if not isinstance(items, list):
        raise HFExtError(f"{path}: expected a JSON list of queries")
    for index, item in enumerate(items):
        missing = [
            key for key in ("api_list", "query", "query_id") if not isinstance(item, dict) or key not in item
        ]
        if missing:
            raise HFExtError(f"{path}: query [{index}] is missing field '{missing[0]}'")
    return items
