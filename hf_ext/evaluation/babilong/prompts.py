"""Prompts in the official BABILong layout, written for hf-ext, with worked examples from the simulator.

Layout (as the official template)::

    {instruction}

    {examples}

    {post_prompt}

    <context>
    {context}
    </context>

    Question: {question}

The instruction says facts are hidden in unrelated text and adds the task's rules; the post-prompt fixes the
answer format (a short sentence for qa1-qa3, one word or a short list after that). The two examples are
stories drawn from the task's own simulator with fixed seeds, answered in the requested format.

Example:
    >>> from hf_ext.evaluation.babilong.prompts import build_prompt
    >>> prompt = build_prompt("qa1", "Mary went to the garden.", "Where is Mary?")
    >>> prompt.endswith("<context>\\nMary went to the garden.\\n</context>\\n\\nQuestion: Where is Mary?")
    True
"""

from __future__ import annotations

import functools
import random

from hf_ext.evaluation.babilong.story import Story, check_task

PREAMBLE = (
    "Below, a few short statements about people, objects and places are scattered through a long, unrelated "
    "text. Find those statements, ignore everything else, and answer the question from them alone."
)

RULES = {
    "qa1": "A person is wherever the latest statement about them puts them.",
    "qa2": "Things move with the person carrying them; something put down stays where it was put down.",
    "qa3": "Things move with the person carrying them; something put down stays where it was put down. "
    "Follow the object from room to room.",
    "qa4": "Statements say how rooms lie relative to each other.",
    "qa5": "Statements say who hands what to whom.",
    "qa6": "A person is wherever the latest statement about them puts them.",
    "qa7": "Count what the person holds now: what they picked up or received, minus what they gave away.",
    "qa8": "List what the person holds now: what they picked up or received, minus what they gave away.",
    "qa9": "A person is wherever the latest statement about them puts them; some statements say where "
    "someone is not.",
    "qa10": "A person is wherever the latest statement about them puts them; a statement may leave two "
    "places open.",
    "qa11": "'He' or 'she' means the person named in the sentence just before.",
    "qa12": "Two people named together go together.",
    "qa13": "'They' means the people named in the sentence just before.",
    "qa14": "Times of day order the events: yesterday, then this morning, this afternoon, this evening.",
    "qa15": "An animal fears what its whole species fears.",
    "qa16": "Animals of one species share one colour.",
    "qa17": "Statements place shapes next to each other, left, right, above or below.",
    "qa18": "Statements compare the sizes of things; size comparisons chain.",
    "qa19": "Statements say how rooms lie relative to each other: north, south, east or west.",
    "qa20": "People go where their need is met and take what meets it.",
}

POST_PROMPTS = {
    "qa1": "Answer with one short sentence: '<person> is in the <place>.'",
    "qa2": "Answer with one short sentence: 'The <object> is in the <place>.'",
    "qa3": "Answer with one short sentence: 'Before the <place> the <object> was in the <place>.'",
    "qa7": "Answer with one word, a number: none, one, two or three.",
    "qa8": "Answer with the objects separated by commas, or with 'nothing'.",
    "qa10": "Answer with one word: yes, no or maybe.",
    "qa19": "Answer with the two directions as letters separated by a comma, e.g. 'n,w'.",
}
ONE_WORD = "Answer with one word and nothing else."
YES_NO = "Answer with one word: yes or no."
for _task in ("qa6", "qa9", "qa17", "qa18"):
    POST_PROMPTS[_task] = YES_NO

MAX_EXAMPLE_FACTS = 8  # keeps the prompt around the context short
EXAMPLE_SEEDS = 64  # stories drawn to pick the examples from
TEMPLATE = (
    "{instruction}\n\n{examples}\n\n{post_prompt}\n\n<context>\n{context}\n</context>\n\nQuestion: {question}"
)


def answer_text(task: str, story: Story) -> str:
    """The answer to ``story`` phrased as the task's post-prompt asks."""
    if task == "qa1":
        return f"{story.question.split()[-1].rstrip('?')} is in the {story.answer}."
    if task == "qa2":
        return f"The {story.question.split()[-1].rstrip('?')} is in the {story.answer}."
    if task == "qa3":
        words = story.question.rstrip("?").split()  # Where was the <object> before the <place>
        return f"Before the {words[-1]} the {words[3]} was in the {story.answer}."
    if task == "qa8":
        return ", ".join(story.answer.split(","))
    return story.answer


@functools.cache
def examples(task: str, count: int = 2) -> str:
    """``count`` worked examples for ``task``, drawn from its simulator with fixed seeds."""
    from hf_ext.evaluation.babilong.generator import simulate_story

    stories = [
        simulate_story(task, random.Random(f"babilong-example-{task}-{seed}"))
        for seed in range(EXAMPLE_SEEDS)
    ]
    short = [story for story in stories if len(story.facts) <= MAX_EXAMPLE_FACTS]
    if len(short) < count:  # a task whose stories are all longer (qa16 has 9 facts): the shortest ones
        short = sorted(stories, key=lambda story: len(story.facts))
    blocks = []
    for story in short[:count]:
        body = "\n".join(story.facts)
        blocks.append(
            f"<example>\n{body}\n\nQuestion: {story.question}\nAnswer: {answer_text(task, story)}\n</example>"
        )
    return "\n".join(blocks)


def build_prompt(task: str, context: str, question: str, with_examples: bool = True) -> str:
    """The full prompt for one sample (greedy decoding, ~20 new tokens is the official setting)."""
    check_task(task)
    return TEMPLATE.format(
        instruction=f"{PREAMBLE} {RULES[task]}",
        examples=examples(task) if with_examples else "",
        post_prompt=POST_PROMPTS.get(task, ONE_WORD),
        context=context.strip(),
        question=question,
    )
