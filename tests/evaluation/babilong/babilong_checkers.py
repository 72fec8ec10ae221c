"""Independent solvers for the 20 bAbI tasks: they read only the rendered sentences and the question.

They share no code with the simulator: each parses the English facts with its own patterns, rebuilds the
state the facts describe, and returns every answer the facts allow (a set), so a test can check that the
simulator's answer is the one and only answer.
"""

from __future__ import annotations

import re

OPENER = r"(?:(?:Then|After that|Afterwards|Following that) )?"
MOVE = re.compile(rf"^{OPENER}([\w ]+?) (?:moved|went|journeyed|travelled|went back) to the (\w+)\.$")
GET = re.compile(r"^(\w+) (?:picked up|got|grabbed|took) the (\w+)(?: there)?\.$")
DROP = re.compile(r"^(\w+) (?:dropped|left|discarded|put down) the (\w+)(?: there)?\.$")
GIVE = re.compile(r"^(\w+) (?:gave|handed|passed) the (\w+) to (\w+)\.$")
IS_IN = re.compile(r"^(\w+) is in the (\w+)\.$")
NO_LONGER = re.compile(r"^(\w+) is no longer in the (\w+)\.$")
NOT_IN = re.compile(r"^(\w+) is not in the (\w+)\.$")
EITHER = re.compile(r"^(\w+) is either in the (\w+) or the (\w+)\.$")
MALE, FEMALE = {"Daniel", "John"}, {"Mary", "Sandra"}


def _moves_and_objects(facts: list[str], strict: bool, unstated_start: bool = False):
    """Replay moves and object handling; returns the final state, object traces and hand-overs.

    ``strict`` checks every action is possible (the whole story); without it, facts may be a subset (the
    supporting facts), so an actor's room or an object's holder may be unknown. ``unstated_start``: actors
    start in rooms no fact names (qa7/qa8, as the original), so they may handle objects before moving."""
    located = strict and not unstated_start
    where: dict[str, str] = {}
    holder: dict[str, str] = {}
    lying: dict[str, str] = {}
    trace: dict[str, list[str]] = {}
    gives: list[tuple[str, str, str]] = []

    def note(obj: str, room: str) -> None:
        if not trace.get(obj) or trace[obj][-1] != room:
            trace.setdefault(obj, []).append(room)

    for fact in facts:
        if m := GIVE.match(fact):
            giver, obj, receiver = m.groups()
            assert holder.get(obj) == giver or not strict, fact
            holder[obj] = receiver
            gives.append((giver, obj, receiver))
        elif m := GET.match(fact):
            actor, obj = m.groups()
            assert obj not in holder or not strict, fact
            holder[obj] = actor
            lying.pop(obj, None)
            if actor in where or located:
                note(obj, where[actor])
        elif m := DROP.match(fact):
            actor, obj = m.groups()
            assert holder.pop(obj, None) == actor or not strict, fact
            if actor in where or located:
                lying[obj] = where[actor]
        elif m := MOVE.match(fact):
            actor, room = m.groups()
            where[actor] = room
            for obj, who in holder.items():
                if who == actor:
                    note(obj, room)
        else:
            raise AssertionError(f"unparsed fact {fact!r}")
    return where, holder, lying, trace, gives


def solve_house(task: str, facts: list[str], question: str, strict: bool = True) -> set[str]:
    where, holder, lying, trace, gives = _moves_and_objects(facts, strict, task in ("qa7", "qa8"))
    if m := re.match(r"Where is (\w+)\?", question):
        return {where[m.group(1)]}
    if m := re.match(r"Where is the (\w+)\?", question):
        obj = m.group(1)
        return {where[holder[obj]]} if obj in holder else {lying[obj]}
    if m := re.match(r"Where was the (\w+) before the (\w+)\?", question):
        rooms = trace[m.group(1)]
        return {rooms[i - 1] for i in range(1, len(rooms)) if rooms[i] == m.group(2)}
    if m := re.match(r"Is (\w+) in the (\w+)\?", question):
        return {"yes" if where[m.group(1)] == m.group(2) else "no"}
    if m := re.match(r"How many objects is (\w+) carrying\?", question):
        count = sum(who == m.group(1) for who in holder.values())
        return {["none", "one", "two", "three"][count]}
    if m := re.match(r"What is (\w+) carrying\?", question):
        held = {obj for obj, who in holder.items() if who == m.group(1)}
        return {"nothing"} if not held else {",".join(sorted(held))}
    if m := re.match(r"Who gave the (\w+) to (\w+)\?", question):
        return {g for g, o, r in gives if (o, r) == m.groups()}
    if m := re.match(r"What did (\w+) give to (\w+)\?", question):
        return {o for g, o, r in gives if (g, r) == m.groups()}
    if m := re.match(r"Who did (\w+) give the (\w+) to\?", question):
        return {r for g, o, r in gives if (g, o) == m.groups()}
    if m := re.match(r"Who gave the (\w+)\?", question):
        return {g for g, o, r in gives if o == m.group(1)}
    if m := re.match(r"Who received the (\w+)\?", question):
        return {r for g, o, r in gives if o == m.group(1)}
    raise AssertionError(f"{task}: unparsed question {question!r}")


def solve_statements(task: str, facts: list[str], question: str) -> set[str]:
    """qa9/qa10: the latest statement about a person decides yes, no or maybe."""
    known: dict[str, tuple[str, set[str]]] = {}
    for fact in facts:
        if m := EITHER.match(fact):
            known[m.group(1)] = ("either", {m.group(2), m.group(3)})
        elif m := NO_LONGER.match(fact) or NOT_IN.match(fact):
            known[m.group(1)] = ("not", {m.group(2)})
        elif m := IS_IN.match(fact) or MOVE.match(fact):
            known[m.group(1)] = ("in", {m.group(2)})
        else:
            raise AssertionError(f"unparsed fact {fact!r}")
    person, room = re.match(r"Is (\w+) in the (\w+)\?", question).groups()
    kind, rooms = known[person]
    if kind == "in":
        return {"yes" if room in rooms else "no"}
    if kind == "either":
        return {"maybe" if room in rooms else "no"}
    return {"no"} if room in rooms else {"unknown"}


def solve_coreference(task: str, facts: list[str], question: str) -> set[str]:
    """qa11-qa13: named subjects, "and", and pronouns for the nearest earlier matching subject."""
    where: dict[str, str] = {}
    named: list[list[str]] = []
    for fact in facts:
        m = MOVE.match(fact)
        assert m, fact
        subject, room = m.groups()
        if subject in ("he", "she", "they"):
            fits = {
                "he": lambda names: len(names) == 1 and names[0] in MALE,
                "she": lambda names: len(names) == 1 and names[0] in FEMALE,
                "they": lambda names: len(names) > 1,
            }[subject]
            people = next(names for names in reversed(named) if fits(names))
        else:
            people = subject.split(" and ")
            named.append(people)
        for person in people:
            where[person] = room
    return {where[re.match(r"Where is (\w+)\?", question).group(1)]}


def _grid(facts: list[str]) -> list[tuple[str, str, str]]:
    """``(a, direction, b)``: a lies one step ``direction`` of b, both ways round."""
    flip = {"north": "south", "south": "north", "east": "west", "west": "east"}
    relations = []
    for fact in facts:
        a, direction, b = re.match(r"The (\w+) is (north|south|east|west) of the (\w+)\.", fact).groups()
        relations += [(a, direction, b), (b, flip[direction], a)]
    return relations


def solve_directions(task: str, facts: list[str], question: str) -> set[str]:
    relations = _grid(facts)
    if m := re.match(r"What is (north|south|east|west) of the (\w+)\?", question):
        return {a for a, d, b in relations if (d, b) == m.groups()}
    if m := re.match(r"What is the (\w+) (north|south|east|west) of\?", question):
        return {b for a, d, b in relations if (a, d) == m.groups()}
    start, end = re.match(r"How do you go from the (\w+) to the (\w+)\?", question).groups()
    step = {(b, d[0]): a for a, d, b in relations}  # from b, heading d, you reach a
    answers = set()
    for (room, first), middle in step.items():
        if room != start:
            continue
        for (room2, second), target in step.items():
            if room2 == middle and target == end:
                answers.add(f"{first},{second}")
    return answers


TIME_ORDER = {"yesterday": 0, "this morning": 1, "this afternoon": 2, "this evening": 3}


def solve_time(task: str, facts: list[str], question: str) -> set[str]:
    timeline: dict[str, dict[int, str]] = {}
    verbs = r"(?:moved|went|journeyed|travelled|went back) to the"
    for fact in facts:
        m = re.match(rf"(Yesterday|This morning|This afternoon|This evening) (\w+) {verbs} (\w+)\.$", fact)
        if m:
            when, person, place = m.groups()
        else:
            person, place, when = re.match(rf"(\w+) {verbs} (\w+) (yesterday|this \w+)\.$", fact).groups()
        slot = TIME_ORDER[when.lower()]
        assert slot not in timeline.setdefault(person, {}), fact
        timeline[person][slot] = place
    person, place = re.match(r"Where was (\w+) before the (\w+)\?", question).groups()
    ordered = [timeline[person][slot] for slot in sorted(timeline[person])]
    return {ordered[i - 1] for i in range(1, len(ordered)) if ordered[i] == place}


SINGULAR = {"mice": "mouse", "sheep": "sheep", "wolves": "wolf", "cats": "cat"}


def solve_deduction(task: str, facts: list[str], question: str) -> set[str]:
    fears, kind = {}, {}
    for fact in facts:
        if m := re.match(r"(\w+) are afraid of (\w+)\.$", fact):
            fears.setdefault(SINGULAR[m.group(1).lower()], set()).add(SINGULAR[m.group(2)])
        else:
            name, animal = re.match(r"(\w+) is an? (\w+)\.$", fact).groups()
            kind[name] = animal
    return fears[kind[re.match(r"What is (\w+) afraid of\?", question).group(1).capitalize()]]


def solve_induction(task: str, facts: list[str], question: str) -> set[str]:
    kind, colour = {}, {}
    for fact in facts:
        if m := re.match(r"(\w+) is an? (\w+)\.$", fact):
            kind[m.group(1)] = m.group(2)
        else:
            name, value = re.match(r"(\w+) is (\w+)\.$", fact).groups()
            colour[name] = value
    name = re.match(r"What color is (\w+)\?", question).group(1)
    assert name not in colour
    return {colour[other] for other in colour if kind.get(other) == kind[name]}


SHAPE = r"(red square|blue square|pink rectangle|red sphere|triangle|yellow square)"
RELATION = r"(to the left of|to the right of|above|below)"


def solve_positions(task: str, facts: list[str], question: str) -> set[str]:
    step = {"to the left of": (-1, 0), "to the right of": (1, 0), "above": (0, 1), "below": (0, -1)}
    edges = []
    for fact in facts:
        a, relation, b = re.match(rf"The {SHAPE} is {RELATION} the {SHAPE}\.$", fact).groups()
        edges.append((a, b, step[relation]))
    first = edges[0][0]
    place = {first: (0, 0)}
    while len(place) < len({x for e in edges for x in e[:2]}):
        for a, b, (dx, dy) in edges:
            if a in place and b not in place:
                place[b] = (place[a][0] - dx, place[a][1] - dy)
            elif b in place and a not in place:
                place[a] = (place[b][0] + dx, place[b][1] + dy)
    a, relation, b = re.match(rf"Is the {SHAPE} {RELATION} the {SHAPE}\?$", question).groups()
    (ax, ay), (bx, by) = place[a], place[b]
    holds = {"to the left of": ax < bx, "to the right of": ax > bx, "above": ay > by, "below": ay < by}
    return {"yes" if holds[relation] else "no"}


THING = r"(box of chocolates|box|chest|chocolate|container|suitcase)"


def solve_sizes(task: str, facts: list[str], question: str) -> set[str]:
    smaller: set[tuple[str, str]] = set()
    for fact in facts:
        if m := re.match(rf"The {THING} fits inside the {THING}\.$", fact):
            smaller.add(m.groups())
        else:
            big, small = re.match(rf"The {THING} is bigger than the {THING}\.$", fact).groups()
            smaller.add((small, big))
    closure = set(smaller)
    while True:
        extra = {(a, d) for a, b in closure for c, d in closure if b == c} - closure
        if not extra:
            break
        closure |= extra
    if m := re.match(rf"Does the {THING} fit in the {THING}\?$", question):
        a, b = m.groups()
    else:
        b, a = re.match(rf"Is the {THING} bigger than the {THING}\?$", question).groups()
    # the question asks whether a < b
    return {"yes"} if (a, b) in closure else {"no"} if (b, a) in closure else {"unknown"}


REMEDY = {"hungry": "kitchen", "thirsty": "kitchen", "tired": "bedroom", "bored": "garden"}


def solve_motivations(task: str, facts: list[str], question: str) -> set[str]:
    need = {}
    for fact in facts:
        if m := re.match(r"(\w+) is (hungry|thirsty|tired|bored)\.$", fact):
            need[m.group(1)] = m.group(2)
        else:
            assert MOVE.match(fact) or GET.match(fact), fact
    if m := re.match(r"Where will (\w+) go\?", question):  # the name is in lower case, as the original
        return {REMEDY[need[m.group(1).capitalize()]]}
    m = re.match(r"Why did (\w+) (?:go to|get) the (\w+)\?", question)
    return {need[m.group(1).capitalize()]}


SOLVERS = {
    **{task: solve_house for task in ("qa1", "qa2", "qa3", "qa5", "qa6", "qa7", "qa8")},
    "qa4": solve_directions,
    "qa9": solve_statements,
    "qa10": solve_statements,
    "qa11": solve_coreference,
    "qa12": solve_coreference,
    "qa13": solve_coreference,
    "qa14": solve_time,
    "qa15": solve_deduction,
    "qa16": solve_induction,
    "qa17": solve_positions,
    "qa18": solve_sizes,
    "qa19": solve_directions,
    "qa20": solve_motivations,
}


def solve(task: str, facts: list[str], question: str, strict: bool = True) -> set[str]:
    """Every answer the facts allow (a one-element set for a well-posed question). ``strict=False`` reads a
    subset of a story (its supporting facts), where some earlier state is missing."""
    if SOLVERS[task] is solve_house:
        return solve_house(task, facts, question, strict)
    return SOLVERS[task](task, facts, question)
