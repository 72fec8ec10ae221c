"""The last-mention heuristic: exact on single-fact questions, blind beyond its window."""

import random

from hf_ext.evaluation.babilong import compare_answers, simulate_story
from hf_ext.evaluation.babilong.baselines import last_mention_answer


def test_last_mention_solves_qa1_and_qa12_from_the_facts():
    for task in ("qa1", "qa12"):
        for i in range(100):
            story = simulate_story(task, random.Random(f"baseline/{task}/{i}"))
            output = last_mention_answer(" ".join(story.facts), story.question, task)
            assert compare_answers(story.answer, output, story.question, task), (story.facts, story.question)


def test_window_hides_facts_before_it():
    context = (
        "Sandra went to the office. "
        + "Nothing happens here at all today. " * 50
        + "John went to the garden."
    )
    assert last_mention_answer(context, "Where is Sandra?", "qa1") == "office"
    assert last_mention_answer(context, "Where is Sandra?", "qa1", window_words=100) == ""
    assert last_mention_answer(context, "Where is John?", "qa1", window_words=5) == "garden"


def test_it_cannot_chain_facts():
    facts = ["Mary got the milk.", "Mary went to the kitchen."]  # qa2 needs both facts
    assert last_mention_answer(" ".join(facts), "Where is the milk?", "qa2") == ""


def test_it_never_falls_back_to_a_label_word():
    # nothing mentions Daniel: a fallback "none" would score on qa7 by luck
    answer = last_mention_answer("Mary got the milk.", "How many objects is Daniel carrying?", "qa7")
    assert answer == "" and not compare_answers("none", answer, "How many objects is Daniel carrying?", "qa7")
