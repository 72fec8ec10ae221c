"""How close the generated tasks are to the original bAbI ones: read bAbI files, measure both, compare.

A bAbI file holds stories; each question in a story becomes one sample whose facts are all the story lines
before it (as BABILong builds its samples). :func:`task_statistics` measures a list of samples the same way
whatever their source:

* ``support``: the share of questions with 1, 2, 3 ... supporting facts;
* ``answers``: the share of each answer (lists sorted, so ``"milk,apple"`` is ``"apple,milk"``);
* ``mean_facts``: story length in facts; ``first_support``: the mean relative position of the first
  supporting fact (index / (facts - 1); 0 is the first fact, 1 the last);
* ``forms``: the share of each question form (the question with its names, places and things replaced by
  ``_``);
* ``heuristics``: the accuracy of the last-mention heuristic, of always giving the original's majority
  answer, and for qa4 of the one-fact shortcut (the other room of the latest fact naming the asked room
  and direction);
* ``shares``: task-specific shares of stories, compared like answer shares: for qa16 ``one_colour``, the
  stories whose stated colours are all the same (a story where a "most common colour" guess cannot fail).

:func:`compare_statistics` checks the generated statistics against the original ones with the tolerances
below and names each check that fails.

Example:
    >>> from hf_ext.evaluation.babilong.fidelity import parse_babi, question_form
    >>> lines = ["1 Mary went to the kitchen.", "2 John went to the garden."]
    >>> lines.append("3 Where is Mary? \\tkitchen\\t1")
    >>> sample = parse_babi(lines)[0]
    >>> sample.facts, sample.answer, sample.supporting
    (['Mary went to the kitchen.', 'John went to the garden.'], 'kitchen', [0])
    >>> question_form("What is the kitchen north of?")
    'what is the _ _ of?'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hf_ext.evaluation.babilong.baselines import last_mention_answer
from hf_ext.evaluation.babilong.story import TASKS, Story, check_task

# Tolerances of the comparison (shares and accuracies are fractions).
ANSWER_SHARE_TOLERANCE = 0.05
SUPPORT_TOLERANCE = 0.05  # total variation distance of the supporting-fact counts
FACTS_RELATIVE_TOLERANCE = 0.20
FIRST_SUPPORT_TOLERANCE = 0.10
HEURISTIC_TOLERANCE = 0.10
FORM_PRESENT = 0.02  # a form this common in one source must occur in the other

_FORM_WORDS = set(
    "where what who whom why how is was did does do the a an in of to before after many objects carrying "
    "color afraid give gave go get will you from fit bigger than received left right above below".split()
)
_COMPOUND = re.compile(r"box of chocolates")


def parse_babi(lines: Iterable[str], source: str = "<lines>") -> list[Story]:
    """One :class:`Story` per question of a bAbI file (``<id> <text>``; questions ``<id> <q>\\t<a>\\t<ids>``,
    where some copies separate the fields with ``|`` instead of tabs).

    Raises ValueError naming ``source`` and the line when a line does not follow the format."""
    samples: list[Story] = []
    facts: list[str] = []
    fact_index: dict[int, int] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        match = re.match(r"(\d+) (.*)$", line)
        if not match:
            raise ValueError(f"{source}:{number}: expected '<id> <text>', got {line[:60]!r}")
        line_id, text = int(match.group(1)), match.group(2)
        if line_id == 1:
            facts, fact_index = [], {}
        separator = "\t" if "\t" in text else "|" if "|" in text else None
        if separator is None:
            fact_index[line_id] = len(facts)
            facts.append(text.strip())
            continue
        parts = text.split(separator)
        if len(parts) < 3:
            raise ValueError(f"{source}:{number}: a question needs '<q>\\t<answer>\\t<ids>'")
        question, answer, ids = parts[0].strip(), parts[1].strip(), parts[2].split()
        try:
            supporting = sorted({fact_index[int(i)] for i in ids})
        except (KeyError, ValueError) as error:
            raise ValueError(f"{source}:{number}: supporting id {error} is not an earlier fact") from error
        samples.append(Story(list(facts), question, answer, supporting))
    return samples


def read_babi_task(folder: str | Path, task: str, split: str = "test") -> list[Story]:
    """The samples of ``task`` from ``folder/qa<N>_<name>_<split>.txt`` (bAbI v1.2 ``en`` or ``en-10k``)."""
    info = check_task(task)
    path = Path(folder) / f"{task}_{info.name}_{split}.txt"
    if not path.is_file():
        raise ValueError(f"no bAbI file {path}")
    with path.open(encoding="utf-8") as handle:
        return parse_babi(handle, str(path))


def canonical_answer(answer: str) -> str:
    """Lists (qa8) as a sorted comma list; other answers lowercased."""
    items = [item.strip().lower() for item in answer.split(",")]
    return ",".join(sorted(items)) if len(items) > 1 and len(answer) > 3 else answer.strip().lower()


def question_form(question: str) -> str:
    """The question with every word outside a small set of question words replaced by ``_``."""
    words = _COMPOUND.sub("box", question.lower()).split()
    form = []
    for word in words:
        core = word.rstrip("?")
        form.append((core if core in _FORM_WORDS else "_") + word[len(core) :])
    return " ".join(form)


def qa4_shortcut(story: Story) -> str:
    """The one-fact shortcut for qa4: the other room of the latest fact that names the asked room and the
    asked direction (or, failing that, of the latest fact naming the room)."""
    question = story.question.lower()
    direction = next((d for d in ("north", "south", "east", "west") if d in question), "")
    room = next((r for r in TASKS["qa4"].labels if r in question), "")
    fallback = ""
    for fact in reversed(story.facts):
        rooms = re.findall(r"the (\w+)", fact.lower())
        if room not in rooms:
            continue
        other = next((r for r in rooms if r != room), "")
        if direction in fact.lower():
            return other
        fallback = fallback or other
    return fallback


_COLOUR_FACT = re.compile(r"^\w+ is (gray|green|white|yellow)\.$")


def one_colour(story: Story) -> bool:
    """qa16: whether every stated colour in the story is the same one."""
    colours = {m.group(1) for fact in story.facts if (m := _COLOUR_FACT.match(fact))}
    return len(colours) == 1


def task_statistics(task: str, samples: Sequence[Story], majority: str | None = None) -> dict[str, Any]:
    """The statistics of the module docstring for ``samples`` of ``task``; ``majority`` is the answer the
    majority heuristic always gives (default: the samples' own most common answer)."""
    check_task(task)
    if not samples:
        raise ValueError(f"{task}: no samples to measure")
    count = len(samples)
    answers = Counter(canonical_answer(s.answer) for s in samples)
    majority = majority or answers.most_common(1)[0][0]
    support = Counter(len(s.supporting) for s in samples)
    forms = Counter(question_form(s.question) for s in samples)
    positions = [min(s.supporting) / max(1, len(s.facts) - 1) for s in samples if s.supporting]
    last_mention = sum(
        canonical_answer(last_mention_answer(" ".join(s.facts), s.question, task))
        == canonical_answer(s.answer)
        for s in samples
    )
    heuristics = {"last_mention": last_mention / count, "majority": answers[majority] / count}
    if task == "qa4":
        heuristics["one_fact_shortcut"] = sum(qa4_shortcut(s) == s.answer for s in samples) / count
    shares = {"one_colour": sum(map(one_colour, samples)) / count} if task == "qa16" else {}
    return {
        "samples": count,
        "support": {str(k): v / count for k, v in sorted(support.items())},
        "answers": {k: v / count for k, v in sorted(answers.items())},
        "majority_answer": majority,
        "mean_facts": sum(len(s.facts) for s in samples) / count,
        "first_support": sum(positions) / max(1, len(positions)),
        "forms": {k: v / count for k, v in sorted(forms.items(), key=lambda item: -item[1])},
        "heuristics": heuristics,
        "shares": shares,
    }


def _largest_gap(ours: dict[str, float], theirs: dict[str, float]) -> tuple[str, float]:
    keys = sorted(set(ours) | set(theirs))
    gaps = {key: abs(ours.get(key, 0.0) - theirs.get(key, 0.0)) for key in keys}
    worst = max(gaps, key=gaps.get)
    return worst, gaps[worst]


def compare_statistics(
    generated: dict[str, Any],
    original: dict[str, Any],
    answer_tolerance: float = ANSWER_SHARE_TOLERANCE,
    support_tolerance: float = SUPPORT_TOLERANCE,
) -> dict[str, Any]:
    """Each check (``passed`` and the measured gap) of generated statistics against the original's.

    ``answer_tolerance`` (answer and story shares) and ``support_tolerance`` widen the checks for small
    samples (sampling noise alone moves a 17% share by about 2 points at 400 stories, and the distance
    between two samples of one support distribution by about 0.04)."""
    checks: dict[str, Any] = {}
    keys = set(generated["support"]) | set(original["support"])
    distance = 0.5 * sum(abs(generated["support"].get(k, 0) - original["support"].get(k, 0)) for k in keys)
    checks["support"] = {"gap": distance, "passed": distance <= support_tolerance}
    answer, gap = _largest_gap(generated["answers"], original["answers"])
    checks["answers"] = {"gap": gap, "worst": answer, "passed": gap <= answer_tolerance}
    ratio = generated["mean_facts"] / original["mean_facts"]
    checks["mean_facts"] = {"ratio": ratio, "passed": abs(ratio - 1) <= FACTS_RELATIVE_TOLERANCE}
    gap = abs(generated["first_support"] - original["first_support"])
    checks["first_support"] = {"gap": gap, "passed": gap <= FIRST_SUPPORT_TOLERANCE}
    missing = sorted(
        f for f, share in original["forms"].items() if share >= FORM_PRESENT and f not in generated["forms"]
    )
    extra = sorted(
        f for f, share in generated["forms"].items() if share >= FORM_PRESENT and f not in original["forms"]
    )
    checks["forms"] = {"missing": missing, "extra": extra, "passed": not missing and not extra}
    for name, value in original["heuristics"].items():
        gap = abs(generated["heuristics"][name] - value)
        checks[name] = {"gap": gap, "passed": gap <= HEURISTIC_TOLERANCE}
    for name, value in original.get("shares", {}).items():
        gap = abs(generated["shares"][name] - value)
        checks[name] = {"gap": gap, "passed": gap <= answer_tolerance}
    return checks


def compare_task(
    task: str,
    generated: Sequence[Story],
    original: Sequence[Story],
    answer_tolerance: float = ANSWER_SHARE_TOLERANCE,
    support_tolerance: float = SUPPORT_TOLERANCE,
) -> dict[str, Any]:
    """Statistics of both sources and the checks, for one task."""
    theirs = task_statistics(task, original)
    ours = task_statistics(task, generated, majority=theirs["majority_answer"])
    return {
        "original": theirs,
        "generated": ours,
        "checks": compare_statistics(ours, theirs, answer_tolerance, support_tolerance),
    }


def markdown_table(
    results: dict[str, dict[str, Any]], reference: dict[str, dict[str, Any]] | None = None
) -> str:
    """One row per task: generated / original for each statistic, a ✗ after each failed check.

    ``reference`` (``{task: compare_task(task, original train, original test)}``) adds a column with the
    original's own worst answer gap between its two files and the checks its train file fails against
    its test file: the sampling noise of the original itself."""

    def pair(name: str, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
        return f"{100 * ours['heuristics'][name]:.0f} / {100 * theirs['heuristics'][name]:.0f}"

    def cell(name: str, text: str, checks: dict[str, Any]) -> str:
        return text + ("" if checks.get(name, {"passed": True})["passed"] else " ✗")

    lines = [
        "| task | facts (gen / orig) | 1st support | support TV | worst answer gap | last mention | "
        "majority | forms |" + (" orig. train vs test |" if reference else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if reference else ""),
    ]
    for task, result in results.items():
        ours, theirs, checks = result["generated"], result["original"], result["checks"]
        forms = (
            "ok"
            if checks["forms"]["passed"]
            else "missing/extra: " + ", ".join(checks["forms"]["missing"] + checks["forms"]["extra"])
        )
        row = [
            task,
            cell("mean_facts", f"{ours['mean_facts']:.1f} / {theirs['mean_facts']:.1f}", checks),
            cell("first_support", f"{ours['first_support']:.2f} / {theirs['first_support']:.2f}", checks),
            cell("support", f"{checks['support']['gap']:.2f}", checks),
            cell("answers", f"{100 * checks['answers']['gap']:.0f} ({checks['answers']['worst']})", checks),
            cell("last_mention", pair("last_mention", ours, theirs), checks),
            cell("majority", pair("majority", ours, theirs), checks),
            forms,
        ]
        if "one_fact_shortcut" in checks:
            row[-1] += "; one-fact shortcut " + pair("one_fact_shortcut", ours, theirs)
            row[-1] = cell("one_fact_shortcut", row[-1], checks)
        for name, value in ours.get("shares", {}).items():
            text = f"; {name.replace('_', ' ')} {100 * value:.0f}% / {100 * theirs['shares'][name]:.0f}%"
            row[-1] = cell(name, row[-1] + text, checks)
        if reference:
            own = reference[task]["checks"]
            failed = [name for name, check in own.items() if not check["passed"]]
            row.append(
                f"{100 * own['answers']['gap']:.0f} ({own['answers']['worst']})"
                + (" ✗ " + ", ".join(failed) if failed else "")
            )
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
