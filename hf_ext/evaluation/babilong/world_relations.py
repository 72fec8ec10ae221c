"""Tasks about relations rather than movement: directions, time, deduction, induction, positions, sizes,
paths and motivations (qa4, qa14-qa20).

Each function builds a small hidden world (rooms on a grid, a timeline, species and colours, shapes on a
plane, a size order, needs and their remedies), states some of it as facts, and asks a question whose answer
follows from the stated facts alone; the facts it follows from are the support.

Example:
    >>> import random
    >>> from hf_ext.evaluation.babilong.world_relations import path_finding
    >>> story = path_finding(random.Random(0))
    >>> story.question.startswith("How do you go from the"), len(story.supporting)
    (True, 2)
"""

from __future__ import annotations

import random

from hf_ext.evaluation.babilong.story import (
    DIRECTIONS,
    OPPOSITE,
    ROOMS,
    TIME_ACTORS,
    TIME_PLACES,
    Story,
)
from hf_ext.evaluation.babilong.world_moves import MOVE_VERBS, NoQuestion

# --- rooms on a grid (qa4, qa19) -------------------------------------------------------------------------


def _grid_tree(rng: random.Random, num_rooms: int) -> list[tuple[str, str, str]]:
    """Rooms placed one by one next to an earlier room on a grid; returns edges ``(room, direction, other)``
    meaning room lies one step ``direction`` of other. Grid cells are distinct, so a room has at most one
    neighbour per direction, and the edges form a tree, so paths between rooms are unique."""
    rooms = rng.sample(ROOMS, num_rooms)
    cells = {rooms[0]: (0, 0)}
    edges = []
    for room in rooms[1:]:
        while True:
            anchor = rng.choice(list(cells))
            direction = rng.choice(sorted(DIRECTIONS))
            dx, dy = DIRECTIONS[direction]
            cell = (cells[anchor][0] + dx, cells[anchor][1] + dy)
            if cell not in cells.values():
                cells[room] = cell
                edges.append((room, direction, anchor))
                break
    return edges


def _say_edge(rng: random.Random, edge: tuple[str, str, str]) -> str:
    room, direction, other = edge
    if rng.random() < 0.5:
        room, direction, other = other, OPPOSITE[direction], room
    return f"The {room} is {direction} of the {other}."


def two_arg_relations(rng: random.Random) -> Story:
    """qa4: three rooms in a row (as the original: always collinear), two facts for the two neighbouring
    pairs; "What is north of the kitchen?" / "What is the kitchen north of?" about one of them."""
    line = rng.sample(ROOMS, 3)  # along one axis, each room one step ``ahead`` of the one before
    ahead = "north" if rng.random() < 0.5 else "east"
    edges = [(line[1], ahead, line[0]), (line[2], ahead, line[1])]
    rng.shuffle(edges)  # edge = (room, direction, other): room lies one step direction of other
    facts = [_say_edge(rng, edge) for edge in edges]
    index = rng.randrange(len(edges))
    room, direction, other = edges[index]
    if rng.random() < 0.5:
        room, direction, other = other, OPPOSITE[direction], room
    if rng.random() < 0.5:
        return Story(facts, f"What is {direction} of the {other}?", room, [index])
    return Story(facts, f"What is the {room} {direction} of?", other, [index])


def path_finding(rng: random.Random) -> Story:
    """qa19: the two steps from one room to another along the stated relations, e.g. ``"s,e"``."""
    edges = _grid_tree(rng, 6)
    rng.shuffle(edges)  # the original states the map in no particular order
    facts = [_say_edge(rng, edge) for edge in edges]
    steps: dict[str, list[tuple[str, str, int]]] = {}  # room -> (direction to go, neighbour, fact index)
    for index, (room, direction, other) in enumerate(edges):
        steps.setdefault(other, []).append((direction, room, index))
        steps.setdefault(room, []).append((OPPOSITE[direction], other, index))
    routes = []
    for start, first_steps in steps.items():
        for first, middle, first_fact in first_steps:
            for second, end, second_fact in steps[middle]:
                if end != start:
                    routes.append((start, end, f"{first[0]},{second[0]}", [first_fact, second_fact]))
    start, end, answer, support = rng.choice(sorted(routes))
    return Story(facts, f"How do you go from the {start} to the {end}?", answer, sorted(support))


# --- time (qa14) -----------------------------------------------------------------------------------------

TIMES = ("yesterday", "this morning", "this afternoon", "this evening")


TIME_STORY_FACTS = (12, 14)  # the original's time stories reach 12 or 14 facts; questions every 2 facts


def time_reasoning(rng: random.Random) -> Story:
    """qa14: moves stamped with a time of day, told out of order; where was someone before a place.

    As the original: four people, each at two to four times of the day, all told in random order; the
    question comes after an even number of facts and asks about two consecutive times of one person, both
    already told (so nothing untold lies between them)."""
    facts: list[tuple[str, str, int, str]] = []  # (sentence, actor, time index, place)
    for actor in TIME_ACTORS:
        for slot in sorted(rng.sample(range(len(TIMES)), rng.randint(2, 4))):
            place, verb, when = rng.choice(TIME_PLACES), rng.choice(MOVE_VERBS), TIMES[slot]
            sentence = (
                f"{when[0].upper()}{when[1:]} {actor} {verb} the {place}."
                if rng.random() < 0.5
                else f"{actor} {verb} the {place} {when}."
            )
            facts.append((sentence, actor, slot, place))
    rng.shuffle(facts)
    facts = facts[: rng.choice(TIME_STORY_FACTS)]
    told = 2 * rng.randint(1, len(facts) // 2)
    candidates = []
    for actor in TIME_ACTORS:
        timeline = sorted(
            (slot, place, index) for index, (_, who, slot, place) in enumerate(facts) if who == actor
        )
        places = [place for _, place, _ in timeline]
        for (_, before, before_fact), (_, place, fact) in zip(timeline, timeline[1:]):
            if places.count(place) == 1 and max(before_fact, fact) < told:
                candidates.append((actor, place, before, sorted([before_fact, fact])))
    if not candidates:
        raise NoQuestion
    actor, place, before, support = rng.choice(candidates)
    return Story(
        [fact[0] for fact in facts[:told]], f"Where was {actor} before the {place}?", before, support
    )


# --- deduction and induction (qa15, qa16) ----------------------------------------------------------------

SPECIES = {"mouse": "mice", "sheep": "sheep", "wolf": "wolves", "cat": "cats"}
FEARFUL_NAMES = ("Emily", "Gertrude", "Jessica", "Winona")
# The answer shares of the original's *train* file (so the comparison with its test file stays held out).
FEARED_WEIGHTS = {"cat": 0.290, "mouse": 0.252, "sheep": 0.242, "wolf": 0.216}


def basic_deduction(rng: random.Random) -> Story:
    """qa15: "Sheep are afraid of wolves. Gertrude is a sheep." -> Gertrude is afraid of a wolf."""
    species = list(SPECIES)
    fears = {
        kind: rng.choices(others, [FEARED_WEIGHTS[other] for other in others])[0]
        for kind in species
        for others in [[other for other in species if other != kind]]
    }
    kind_of = {name: rng.choice(species) for name in FEARFUL_NAMES}
    facts = [
        (f"{SPECIES[kind].capitalize()} are afraid of {SPECIES[feared]}.", kind)
        for kind, feared in fears.items()
    ]
    facts += [(f"{name} is a {kind}.", name) for name, kind in kind_of.items()]
    rng.shuffle(facts)
    where = {key: index for index, (_, key) in enumerate(facts)}  # species or name -> its fact
    name = rng.choice(FEARFUL_NAMES)
    support = sorted([where[name], where[kind_of[name]]])
    return Story(
        [sentence for sentence, _ in facts],
        f"What is {name.lower()} afraid of?",  # the original writes the name in lower case here
        fears[kind_of[name]],
        support,
    )


ANIMALS = ("swan", "lion", "frog", "rhino")
COLOURS = ("gray", "green", "white", "yellow")
ANIMAL_NAMES = ("Lily", "Bernhard", "Greg", "Julius", "Brian")


ASKED_SPECIES_SIZES = {2: 0.90, 4: 0.089, 5: 0.011}  # animals of the asked one's species (it included)
OWN_COLOUR = 0.6  # chance that an animal of another species than the asked one shows its species' colour


def basic_induction(rng: random.Random) -> Story:
    """qa16: an animal of the asked one's species shows the colour the asked one has.

    As the original: five animals, each told a species; four of them also told a colour (after their
    species), the fifth asked about. The asked one's species has two members in 90% of the original's
    stories, four in 9% and all five in 1% (never three); the others are of the other species, drawn
    uniformly. Each species has a random colour, which every member of the asked one's species shows (so
    the answer is unique: the original leaves 6% of its questions with two); an animal of another species
    shows it with probability ``OWN_COLOUR`` and otherwise a random colour, as in the original, where two
    animals of one species share a colour in 60% of pairs and all four stated colours agree in 5% of
    stories."""
    colour_of = {animal: rng.choice(COLOURS) for animal in ANIMALS}
    names = list(ANIMAL_NAMES)
    rng.shuffle(names)
    question_name = names[0]
    asked = rng.choice(ANIMALS)
    others = [animal for animal in ANIMALS if animal != asked]
    size = rng.choices(list(ASKED_SPECIES_SIZES), list(ASKED_SPECIES_SIZES.values()))[0]
    kinds = {name: asked if rank < size else rng.choice(others) for rank, name in enumerate(names)}
    colours = {}
    for name in names[1:]:
        own = kinds[name] == asked or rng.random() < OWN_COLOUR
        colours[name] = colour_of[kinds[name]] if own else rng.choice(COLOURS)
    witness = rng.choice(names[1:size])
    steps = {name: [("is", name)] + ([("colour", name)] if name != question_name else []) for name in names}
    order: list[tuple[str, str]] = []
    while any(steps.values()):  # the names' facts interleaved at random, each species before its colour
        name = rng.choice([n for n in names if steps[n]])
        order.append(steps[name].pop(0))
    facts = [
        f"{name} is a {kinds[name]}." if kind == "is" else f"{name} is {colours[name]}."
        for kind, name in order
    ]
    where = {key: index for index, key in enumerate(order)}
    support = [where[("is", question_name)], where[("is", witness)], where[("colour", witness)]]
    return Story(facts, f"What color is {question_name}?", colour_of[asked], sorted(support))


# --- positions and sizes (qa17, qa18) --------------------------------------------------------------------

SHAPES = ("red square", "blue square", "pink rectangle", "red sphere", "triangle", "yellow square")
POSITIONS = {"to the left of": (-1, 0), "to the right of": (1, 0), "above": (0, 1), "below": (0, -1)}


def _holds(relation: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether a is ``relation`` b on the plane (left/right compare x, above/below compare y)."""
    dx, dy = POSITIONS[relation]
    return (a[0] - b[0]) * dx > 0 if dx else (a[1] - b[1]) * dy > 0


def positional_reasoning(rng: random.Random) -> Story:
    """qa17: two unit-step relations place three shapes in distinct grid cells; is one end shape <relation>
    the other? Only relations along an axis where the two shapes differ are asked (as the original, which
    never asks "above" of two shapes on one row), so every question has one answer, half of them yes."""
    first, middle, last = rng.sample(SHAPES, 3)
    while True:
        relation_1, relation_2 = rng.choice(list(POSITIONS)), rng.choice(list(POSITIONS))
        place = {middle: (0, 0), first: POSITIONS[relation_1]}
        place[last] = tuple(-v for v in POSITIONS[relation_2])  # "middle is relation_2 last"
        if place[first] != place[last]:  # the original grid never puts two shapes in one cell
            break
    facts = [f"The {first} is {relation_1} the {middle}.", f"The {middle} is {relation_2} the {last}."]
    a, b = (first, last) if rng.random() < 0.5 else (last, first)
    differing = [r for r in POSITIONS if _holds(r, place[a], place[b])]  # one or two relations hold
    holding = rng.choice(differing)
    if rng.random() < 0.5:
        asked, answer = holding, "yes"
    else:
        asked, answer = _opposite_relation(holding), "no"
    return Story(facts, f"Is the {a} {asked} the {b}?", answer, [0, 1])


def _opposite_relation(relation: str) -> str:
    return {
        "to the left of": "to the right of",
        "to the right of": "to the left of",
        "above": "below",
        "below": "above",
    }[relation]


SMALL_THINGS = ("chocolate", "box of chocolates")  # always the two smallest, in this order
CONTAINERS = ("box", "chest", "container", "suitcase")  # bigger than both, in a random order per story
SIZE_BLOCK = 5  # facts between question points, as the original (5, 10 or 15 facts before a question)
SIZE_BLOCKS = (1, 2, 3)
SIZE_BLOCK_WEIGHTS = (0.79, 0.19, 0.02)


def _size_fact(rng: random.Random, small: str, big: str) -> str:
    if rng.random() < 0.5:
        return f"The {small} fits inside the {big}."
    return f"The {big} is bigger than the {small}."


def size_reasoning(rng: random.Random) -> Story:
    """qa18: "fits inside" / "is bigger than" facts about a size order that respects common sense (a
    chocolate is smaller than a box of chocolates, which is smaller than every box, chest, container and
    suitcase; those four are ordered at random); the question needs a chain of exactly two facts."""
    order = list(SMALL_THINGS) + rng.sample(CONTAINERS, len(CONTAINERS))  # order[i] smaller when i < j
    pairs = [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]
    blocks = rng.choices(SIZE_BLOCKS, SIZE_BLOCK_WEIGHTS)[0]
    chosen = [rng.choice(pairs) for _ in range(SIZE_BLOCK * blocks)]
    stated = set(chosen)
    chains = []  # (small, big, [fact a, fact b]): small < middle (fact a), middle < big (fact b)
    for first, (small, middle) in enumerate(chosen):
        for second, (middle_2, big) in enumerate(chosen):
            if middle_2 == middle and (small, big) not in stated:
                chains.append((small, big, sorted([first, second])))
    if not chains:
        raise NoQuestion
    small, big, support = rng.choice(chains)
    facts = [_size_fact(rng, a, b) for a, b in chosen]
    answer = "yes" if rng.random() < 0.5 else "no"
    if rng.random() < 0.5:
        question = (
            f"Does the {small} fit in the {big}?"
            if answer == "yes"
            else f"Does the {big} fit in the {small}?"
        )
    else:
        question = (
            f"Is the {big} bigger than the {small}?"
            if answer == "yes"
            else f"Is the {small} bigger than the {big}?"
        )
    return Story(facts, question, answer, support)


# --- motivations (qa20) ----------------------------------------------------------------------------------

NEEDS = {
    "hungry": ("kitchen", "apple"),
    "thirsty": ("kitchen", "milk"),
    "tired": ("bedroom", "pajamas"),
    "bored": ("garden", "football"),
}
AGENTS = ("Antoine", "Jason", "Sumit", "Yann")


GET_AFTER_GOING = 0.7  # share of agents that also take the thing, after going


def motivations(rng: random.Random) -> Story:
    """qa20: a need sends an agent to a place and makes them take a thing; ask where they will go or why.

    As the original: four agents, each told needing something, going, and (mostly) taking the thing, the
    agents' steps interleaved at random; the story stops after a random fact, which the question is about,
    and the support is the fact stating the need. The original writes the name in lower case in the
    question."""
    steps: dict[str, list[str]] = {}
    need_of = {agent: rng.choice(sorted(NEEDS)) for agent in AGENTS}
    for agent in AGENTS:
        steps[agent] = ["need", "go"] + (["get"] if rng.random() < GET_AFTER_GOING else [])
    order: list[tuple[str, str]] = []
    while any(steps.values()):
        agent = rng.choice([a for a in AGENTS if steps[a]])
        order.append((agent, steps[agent].pop(0)))
    told = rng.randint(1, len(order))
    facts: list[str] = []
    need_fact: dict[str, int] = {}
    for agent, step in order[:told]:
        place, thing = NEEDS[need_of[agent]]
        if step == "need":
            need_fact[agent] = len(facts)
            facts.append(f"{agent} is {need_of[agent]}.")
        elif step == "go":
            facts.append(f"{agent} {rng.choice(MOVE_VERBS)} the {place}.")
        else:
            facts.append(f"{agent} {rng.choice(('picked up', 'got', 'grabbed', 'took'))} the {thing} there.")
    asked = told - 1  # a question after every fact, about that fact
    agent, step = order[asked]
    need = need_of[agent]
    place, thing = NEEDS[need]
    name = agent.lower()
    if step == "need":
        question, answer = f"Where will {name} go?", place
    elif step == "go":
        question, answer = f"Why did {name} go to the {place}?", need
    else:
        question, answer = f"Why did {name} get the {thing}?", need
    return Story(facts, question, answer, [need_fact[agent]])
