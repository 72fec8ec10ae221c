"""Small DFSDT inference trees in ToolBench's answer-file schema, built offline for tests and recipes.

:func:`tool_tree` builds one tree with a chosen shape (how many tool calls on the success path, where a
failed sibling branches off, whether the search won, the traps of the real files); :func:`write_tool_trees`
writes a folder of varied ones named like ToolBench's (``<query_id>_ChatGPT_DFS_woFilter_w2.json``).
The tool calls and their results are made up; the schema (node fields, ``answer_generation`` with
``function``, ``train_messages`` and the "diversity" message of a re-expanded node) is ToolBench's.

Example:
    >>> from hf_ext.testing.tool_trees import tool_tree
    >>> tree = tool_tree(seed=1, steps=2, branch_depths=(1,))
    >>> tree["win"], tree["tree"]["tree"]["node_type"], tree["answer_generation"]["finish_type"]
    (True, 'Action Input', 'give_answer')
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

TOOLS = [
    ("weather_for_demo", "Current weather of a city.", "city"),
    ("convert_for_demo", "Convert an amount between currencies.", "amount"),
    ("search_for_demo", "Search the demo knowledge base.", "query"),
    ("calendar_for_demo", "Events on a date.", "date"),
]
CITIES = ["Lyon", "Oslo", "Quito", "Perth", "Hanoi", "Accra", "Porto", "Tartu"]
FAILURE_CODES = (1, 11, 12, 0, 6)
DIVERSITY_MESSAGE = (
    "This is not the first time you try this task, all previous trails failed.\n"
    "Here are some previous actions candidates:\n{candidates}\n"
    "Make actions that are different from all of them."
)


def _functions() -> list[dict[str, Any]]:
    schemas = [
        {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {argument: {"type": "string", "description": ""}},
                "required": [argument],
                "optional": [],
            },
        }
        for name, description, argument in TOOLS
    ]
    schemas.append(
        {
            "name": "Finish",
            "description": "Call this function at the end of the task.",
            "parameters": {
                "type": "object",
                "properties": {
                    "return_type": {"type": "string", "enum": ["give_answer", "give_up_and_restart"]},
                    "final_answer": {"type": "string"},
                },
                "required": ["return_type"],
            },
        }
    )
    return schemas


def _node(node_type: str, description: str, depth: int, **extra: Any) -> dict[str, Any]:
    node = {
        "is_terminal": False,
        "pruned": False,
        "finished": False,
        "depth": depth,
        "node_type": node_type,
        "description": description,
        "Elo": 1000.0,
        "child_count": 0,
        "expand_num": 0,
        "children": [],
    }
    node.update(extra)
    return node


def _add(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    parent["children"].append(child)
    parent["child_count"] = len(parent["children"])
    return child


class _Builder:
    def __init__(self, rng: random.Random, observation_chars: int):
        self.rng = rng
        self.observation_chars = observation_chars

    def observation(self, text: str) -> str:
        padding = max(0, self.observation_chars - len(text))
        words = [self.rng.choice(CITIES).lower() for _ in range(min(64, padding // 6 + 1))]
        filler = (" ".join(words) * (padding // (7 * len(words)) + 1))[:padding]
        return json.dumps({"error": "", "response": text + (" " + filler if filler else "")})

    def step(
        self,
        parent: dict,
        thought: str | None,
        action: str,
        arguments: dict,
        observation: str,
        code: int | None,
    ) -> tuple[dict, dict]:
        """Append ``[Thought ->] Action -> Action Input`` below ``parent``; return (first node, last node)."""
        depth = parent["depth"] + 1
        first = top = parent
        if thought is not None:
            top = first = _add(parent, _node("Thought", thought, depth))
            depth += 1
        action_node = _add(top, _node("Action", action, depth))
        if first is parent:
            first = action_node
        end = _add(
            action_node,
            _node(
                "Action Input",
                json.dumps(arguments, indent=2),
                depth + 1,
                observation=observation,
                observation_code=code,
            ),
        )
        return first, end

    def tool_call(self, parent: dict, index: int, thought: bool, code: int = 0) -> tuple[dict, dict]:
        name, _, argument = TOOLS[self.rng.randrange(len(TOOLS))]
        city = self.rng.choice(CITIES)
        text = (
            self.observation(f"{name} result {index} for {city}")
            if code == 0
            else json.dumps({"error": f"code {code}", "response": ""})
        )
        thought_text = (
            f"Step {index}: I call {name} for {city} to get what the query asks." if thought else None
        )
        return self.step(parent, thought_text, name, {argument: city}, text, code)

    def finish(self, parent: dict, give_answer: bool) -> tuple[dict, dict]:
        if give_answer:
            arguments = {
                "return_type": "give_answer",
                "final_answer": f"The answer is {self.rng.choice(CITIES)}.",
            }
            observation, code = json.dumps({"response": "successfully giving the final answer."}), 3
        else:
            arguments, observation, code = (
                {"return_type": "give_up_and_restart"},
                json.dumps({"response": "chose to give up and restart"}),
                4,
            )
        first, end = self.step(
            parent, "I have what I need, so I finish.", "Finish", arguments, observation, code
        )
        end["pruned"] = not give_answer
        return first, end

    def failed_branch(self, parent: dict, index: int, code: int) -> dict:
        """A failed sibling step (no Thought, as DFSDT's first expansion often is) and its pruned end."""
        first, end = self.tool_call(parent, 100 + index, thought=False, code=code)
        if code == 0:  # a call that worked but led nowhere: the search then gave up
            _, leaf = self.finish(end, give_answer=False)
        else:
            end["pruned"] = True
        return first


def tool_tree(
    seed: int = 0,
    *,
    steps: int = 2,
    branch_depths: tuple[int, ...] = (0,),
    win: bool = True,
    finish_type: str | None = None,
    identical_sibling_at: int | None = None,
    thought_branching: bool = False,
    diversity_message: bool = True,
    observation_chars: int = 60,
    query_id: int | None = None,
) -> dict[str, Any]:
    """One answer-file dict. The success path has ``steps`` tool calls then a Finish; at each index in
    ``branch_depths`` (0 = the root, k = the state after the k-th call) a failed sibling step is expanded
    first and the successful step second (DFSDT's order, with a "Based on the previous actions" Thought).

    ``win=False`` ends the path with give_up_and_restart (no success leaf); ``finish_type`` overrides
    ``answer_generation.finish_type`` (ToolBench has ``give_answer`` on lost trees);
    ``identical_sibling_at`` makes the failed sibling at that index textually equal to the chosen step;
    ``thought_branching`` gives the first Thought on the path two children, [Action, Thought], with the path
    through the second; ``observation_chars`` pads observations (ToolBench files are ~100 KB)."""
    rng = random.Random(seed)
    builder = _Builder(rng, observation_chars)
    root = _node("Action Input", "", 0, io_state={})
    messages: list[dict[str, Any]] = []
    state = root
    for index in range(steps + 1):
        last = index == steps
        branching = index in branch_depths
        if branching:
            code = FAILURE_CODES[(seed + index) % len(FAILURE_CODES)]
            if identical_sibling_at == index:
                saved = rng.getstate()
                sibling_first, sibling_end = (
                    builder.finish(state, give_answer=win)
                    if last
                    else builder.tool_call(state, index, True, 0)
                )
                rng.setstate(saved)
                sibling_end["pruned"] = True
                sibling_end["observation_code"] = 4 if last else 12
                # same text as the chosen step: same thought, action and input
            else:
                builder.failed_branch(state, index, code)
            messages.append(
                {
                    "role": "user",
                    "content": DIVERSITY_MESSAGE.format(candidates=f"[candidate at step {index}]"),
                }
            )
        if last:
            first, end = builder.finish(state, give_answer=win)
        else:
            first, end = builder.tool_call(state, index, thought=True)
            if branching and identical_sibling_at != index:
                first["description"] = "Based on the previous actions, " + first["description"]
        if thought_branching and index == 0 and first["node_type"] == "Thought":
            second = _node("Thought", "On second thought, " + first["description"], first["depth"] + 1)
            moved = first["children"]
            first["children"] = []
            dead_first, dead_end = builder.step(first, None, "unknown_function", {}, "no such function", 1)
            dead_end["pruned"] = True
            _add(first, second)
            for child in moved:
                _shift_depth(child, 1)
                _add(second, child)
        state = end
        messages.append({"role": "assistant", "content": first["description"]})
    success = win
    final = json.dumps({"return_type": "give_answer", "final_answer": "..."}) if success else ""
    query_number = seed if query_id is None else query_id
    functions = _functions()
    return {
        "win": win,
        "tree": {"size": sum(1 for _ in _walk(root)), "max_length": steps + 1, "tree": root},
        "forward_args": {
            "single_chain_max_step": 12,
            "tree_beam_size": 2,
            "max_query_count": 200,
            "answer": 1,
            "with_filter": False,
        },
        "compare_candidates": [],
        "answer_generation": {
            "valid_data": success,
            "query_count": sum(1 for n in _walk(root) if n["node_type"] == "Action Input") - 1,
            "total_tokens": 0,
            "final_answer": final,
            "finish_type": finish_type or ("give_answer" if win else "give_up"),
            "function": functions,
            "chain": [],
            "train_messages": [messages] if diversity_message else [],
            "query": f"Query {query_number}: what is the weather in {rng.choice(CITIES)}, in euros?",
        },
    }


def _walk(node: dict[str, Any]):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current["children"])


def _shift_depth(node: dict[str, Any], by: int) -> None:
    for current in _walk(node):
        current["depth"] += by


def write_tool_trees(
    folder: str | Path, count: int = 12, seed: int = 0, observation_chars: int = 60, win_rate: float = 0.75
) -> list[Path]:
    """Write ``count`` varied trees to ``folder`` (created; existing files are never overwritten) and
    return their paths. Shapes are drawn from ``seed``: 1-3 calls, 0-2 branching points, ``win_rate`` wins."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        steps = rng.randint(1, 3)
        branches = tuple(sorted(rng.sample(range(steps + 1), k=min(steps + 1, rng.randint(0, 2)))))
        tree = tool_tree(
            seed=seed * 100_003 + number,
            steps=steps,
            branch_depths=branches,
            win=rng.random() < win_rate,
            observation_chars=observation_chars,
            query_id=number,
        )
        path = folder / f"{number}_ChatGPT_DFS_woFilter_w2.json"
        with open(path, "x", encoding="utf-8") as handle:
            json.dump(tree, handle)
        paths.append(path)
    return paths
