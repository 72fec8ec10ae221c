"""Generated bAbI tasks against the original test files (when ``../shared/fixtures/babi`` is present):
supporting facts, answers, story lengths, first supporting fact, question forms and simple heuristics."""

import json
import random
import re
from pathlib import Path

import pytest

from hf_ext.evaluation.babilong import TASK_NAMES, simulate_story
from hf_ext.evaluation.babilong.fidelity import (
    compare_statistics,
    compare_task,
    markdown_table,
    one_colour,
    parse_babi,
    question_form,
    read_babi_task,
    task_statistics,
)
from hf_ext.evaluation.babilong.story import Story

MOVE_WORDS = r" (moved|went|journeyed|travelled) "
GIVE_WORDS = r" (gave|handed|passed) the \w+ to "

BABI = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "babi" / "en"
STORIES = 400
ANSWER_TOLERANCE = 0.08  # the benchmark's 5 points at 1,000 stories, plus the noise of 400
# qa7/qa8 cite 1-8 facts per question, so their support distance is noisy: 2,000 cheap stories each, and the
# benchmark's 0.05 plus that noise (0.02-0.05 between 2,000 generated and the original's 1,000 questions).
SUPPORT_STORIES = {"qa7": 2000, "qa8": 2000}
SUPPORT_TOLERANCE = 0.07
# The difference that remains (docs/babilong.md says why): the original test file's qa3 answers lean to the
# garden (21.5%, against 17.1% in its own train file, from which our room shares come); qa15's answer shares
# also come from the train file (cat 29%), which its test file misses by 12.5 points itself (wolf 34%).
KNOWN_GAPS = {("qa3", "answers"), ("qa15", "answers"), ("qa15", "majority")}

needs_babi = pytest.mark.skipif(not BABI.is_dir(), reason="the bAbI fixture folder is absent")


@pytest.mark.slow
@needs_babi
def test_generated_tasks_match_the_original_statistics():
    failed = set()
    for task in TASK_NAMES:
        original = read_babi_task(BABI, task)
        assert len(original) == 1000
        count = SUPPORT_STORIES.get(task, STORIES)
        generated = [simulate_story(task, random.Random(f"fidelity-test/{task}/{i}")) for i in range(count)]
        checks = compare_task(task, generated, original, ANSWER_TOLERANCE, SUPPORT_TOLERANCE)["checks"]
        failed |= {(task, name) for name, check in checks.items() if not check["passed"]}
    assert failed <= KNOWN_GAPS, sorted(failed - KNOWN_GAPS)


@needs_babi
def test_the_old_defects_are_gone():
    """The defects found against the original: each measured the same way as the issue did."""
    stories = {
        task: [simulate_story(task, random.Random(f"defects/{task}/{i}")) for i in range(300)]
        for task in ("qa4", "qa10", "qa11", "qa12", "qa17", "qa18")
    }
    assert not any("not in" in f or "no longer" in f for s in stories["qa10"] for f in s.facts)
    assert all(len(s.supporting) == 2 for s in stories["qa11"] + stories["qa18"])
    assert all(" and " in f for s in stories["qa12"] for f in s.facts)  # never one actor alone
    for story in stories["qa4"]:  # three rooms in a row: both facts on one axis
        axes = {("north" in f or "south" in f) for f in story.facts}
        assert len(axes) == 1
    big = ("box", "chest", "container", "suitcase")
    for story in stories["qa18"]:  # common sense: nothing big fits inside a chocolate
        for fact in story.facts:
            if "fits inside the chocolate." in fact or fact.startswith("The chocolate is bigger"):
                raise AssertionError(fact)
            assert not any(fact.startswith(f"The {b} fits inside the box of chocolates") for b in big)
    yes = sum(s.answer == "yes" for s in stories["qa17"]) / 300
    assert 0.42 <= yes <= 0.62


@needs_babi
def test_counting_listing_and_induction_are_built_as_the_original():
    """qa7/qa8: asked only about someone who got, dropped or gave something; qa8 never hands over (as
    the original's files). qa16: the asked species has 2, 4 or 5 members, and all stated colours agree in
    about 5% of stories (the original: 4.9%), not the 13% of one colour per species."""
    for task in ("qa7", "qa8"):
        for i in range(200):
            story = simulate_story(task, random.Random(f"carry/{task}/{i}"))
            actor = story.question.split()[-2]
            handled = [f for f in story.facts if f.startswith(actor) and not re.search(MOVE_WORDS, f)]
            assert handled, story
            assert task == "qa7" or not any(re.search(GIVE_WORDS, f) for f in story.facts)
    induction = [simulate_story("qa16", random.Random(f"colours/{i}")) for i in range(1000)]
    assert 0.02 <= sum(map(one_colour, induction)) / 1000 <= 0.09
    for story in induction[:200]:
        kinds = dict(re.match(r"(\w+) is an? (\w+)\.$", f).groups() for f in story.facts if " a" in f)
        asked = story.question.split()[-1].rstrip("?")
        assert sum(kind == kinds[asked] for kind in kinds.values()) in (2, 4, 5)


def test_one_colour_and_its_check():
    same = Story(
        ["Lily is a swan.", "Lily is white.", "Greg is a frog.", "Greg is white."],
        "What color is Bernhard?",
        "white",
        [0, 1],
    )
    mixed = Story(
        ["Lily is a swan.", "Lily is white.", "Greg is gray."], "What color is Bernhard?", "white", [0, 1]
    )
    assert one_colour(same) and not one_colour(mixed)
    generated, original = (
        task_statistics("qa16", [same] * 3 + [mixed]),
        task_statistics("qa16", [mixed] * 19 + [same]),
    )
    assert generated["shares"] == {"one_colour": 0.75} and original["shares"] == {"one_colour": 0.05}
    checks = compare_statistics(generated, original)
    assert not checks["one_colour"]["passed"] and checks["one_colour"]["gap"] == pytest.approx(0.70)
    assert compare_statistics(original, original)["one_colour"]["passed"]


def test_parse_babi_reads_questions_and_rejects_bad_lines():
    lines = [
        "1 Mary went to the kitchen.",
        "2 Where is Mary?\tkitchen\t1",
        "3 John went to the garden.",
        "4 Where is John? |garden|3",
        "1 Fred is in the park.",
    ]
    samples = parse_babi(lines)
    assert [(s.facts, s.answer, s.supporting) for s in samples] == [
        (["Mary went to the kitchen."], "kitchen", [0]),
        (["Mary went to the kitchen.", "John went to the garden."], "garden", [1]),
    ]
    with pytest.raises(ValueError, match=r"x.txt:2: expected '<id> <text>'"):
        parse_babi(["1 Mary went to the kitchen.", "Where is Mary?"], "x.txt")
    with pytest.raises(ValueError, match=r"x.txt:2: supporting id"):
        parse_babi(["1 Mary went to the kitchen.", "2 Where is Mary?\tkitchen\t7"], "x.txt")
    assert question_form("Who gave the box of chocolates to Fred?") == "who gave the _ to _?"


@needs_babi
def test_benchmark_script_runs_end_to_end(tmp_path):
    import importlib.util

    script = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_babi_fidelity.py"
    spec = importlib.util.spec_from_file_location("bench_babi_fidelity", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "fidelity.json"
    payload = module.main(["--babi", str(BABI), "--stories", "60", "--tasks", "qa1,qa17", "--out", str(out)])
    written = json.loads(out.read_text())
    assert set(written["tasks"]) == {"qa1", "qa17"} and written["table"] == payload["table"]
    assert written["tasks"]["qa1"]["original"]["samples"] == 60
    assert markdown_table(payload["tasks"]).count("\n") == 3
    # the original's train file against its test file, as a reference column
    assert set(written["original_train_vs_test"]) == {"qa1", "qa17"}
    assert payload["table"].splitlines()[0].endswith("orig. train vs test |")
