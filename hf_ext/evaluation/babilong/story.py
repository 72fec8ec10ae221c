"""A bAbI story (facts, one question, its answer, the supporting facts) and the 20 tasks' vocabularies.

A :class:`Story` is what every task simulator returns: the facts in story order, the question, the answer
derived from the simulated world, and the indices of the facts that support it.

Example:
    >>> from hf_ext.evaluation.babilong.story import TASKS, Story
    >>> TASKS["qa1"].name, TASKS["qa1"].labels[:2]
    ('single-supporting-fact', ('bathroom', 'bedroom'))
    >>> Story(["Mary went to the kitchen."], "Where is Mary?", "kitchen", [0]).supporting_facts
    ['Mary went to the kitchen.']
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROOMS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
OBJECTS = ("apple", "football", "milk")
ACTORS = ("Daniel", "John", "Mary", "Sandra")
GIVE_ACTORS = ("Bill", "Fred", "Jeff", "Mary")
TIME_ACTORS = ("Bill", "Fred", "Julie", "Mary")
TIME_PLACES = ("bedroom", "cinema", "kitchen", "office", "park", "school")
PRONOUNS = {"Daniel": "he", "John": "he", "Mary": "she", "Sandra": "she"}
NUMBER_WORDS = ("none", "one", "two", "three")
DIRECTIONS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
PATH_LABELS = ("n,n", "n,e", "n,w", "e,n", "e,e", "e,s", "s,e", "s,s", "s,w", "w,n", "w,s", "w,w")


@dataclass(frozen=True)
class TaskInfo:
    """One of the 20 tasks: its bAbI name and the answer labels the official metric looks for."""

    task: str
    name: str
    labels: tuple[str, ...]


_TASK_TABLE = [
    ("single-supporting-fact", ROOMS),
    ("two-supporting-facts", ROOMS),
    ("three-supporting-facts", ROOMS),
    ("two-arg-relations", ROOMS),
    ("three-arg-relations", ("Bill", "Fred", "Jeff", "Mary", "apple", "football", "milk")),
    ("yes-no-questions", ("yes", "no")),
    ("counting", NUMBER_WORDS),
    ("lists-sets", ("apple", "football", "milk", "nothing")),
    ("simple-negation", ("yes", "no")),
    ("indefinite-knowledge", ("yes", "no", "maybe")),
    ("basic-coreference", ROOMS),
    ("conjunction", ROOMS),
    ("compound-coreference", ROOMS),
    ("time-reasoning", TIME_PLACES),
    ("basic-deduction", ("cat", "mouse", "sheep", "wolf")),
    ("basic-induction", ("gray", "green", "white", "yellow")),
    ("positional-reasoning", ("yes", "no")),
    ("size-reasoning", ("yes", "no")),
    ("path-finding", PATH_LABELS),
    ("agents-motivations", ("bedroom", "bored", "garden", "hungry", "kitchen", "thirsty", "tired")),
]

TASKS: dict[str, TaskInfo] = {
    f"qa{number}": TaskInfo(f"qa{number}", name, labels)
    for number, (name, labels) in enumerate(_TASK_TABLE, 1)
}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def check_task(task: str) -> TaskInfo:
    """The :class:`TaskInfo` of ``task`` (``"qa1"`` ... ``"qa20"``), or a ValueError listing the tasks."""
    if task not in TASKS:
        raise ValueError(f"unknown BABILong task {task!r}; choose one of qa1 ... qa20")
    return TASKS[task]


@dataclass
class Story:
    """Facts in story order, a question, its answer and the indices of the supporting facts."""

    facts: list[str]
    question: str
    answer: str
    supporting: list[int] = field(default_factory=list)

    @property
    def supporting_facts(self) -> list[str]:
        return [self.facts[index] for index in self.supporting]
