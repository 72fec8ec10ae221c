"""Preference pairs from tool-use inference trees (TP-LLaMA, Chen et al., NeurIPS 2024, arXiv 2406.07115).

ToolBench's DFSDT answer files (``<query_id>_ChatGPT_DFS_woFilter_w2.json``) hold a whole depth-first search
tree per query. ToolLLaMA-style SFT keeps only the successful path; TP-LLaMA turns every branching point on it
into a preference pair: the step that led to success over its sibling step whose branch failed. This module
reads the trees (:func:`iter_inference_trees` streams them file by file), finds the success path
(:func:`success_path`), mines step-wise or path-wise pairs (:func:`stepwise_pairs`, :func:`pathwise_pairs`)
and builds TRL datasets (:func:`tree_preference_dataset`, :func:`tree_sft_dataset`). It also reads and writes
the published ToolPreference pair format (:func:`load_tool_preference`, :func:`write_tool_preference`).

What the real files teach (and what this module therefore does):

- a model step is ``[Thought ->] Action -> Action Input``; the tree branches at ``Action Input`` nodes (the
  root, or the state after an observation), and only those branchings make pairs. ``Thought`` nodes may have
  two children too (a second thought); they are parsed and walked, never paired;
- the success leaf is the unpruned ``Action Input`` with ``observation_code == 3`` (give_answer), in a tree
  whose ``win`` is true. ``is_terminal`` (always false) and ``finish_type`` (``give_answer`` on some lost
  trees) are ignored;
- prompts and SFT messages are rebuilt from the tree, so DFSDT's "diversity" user messages (which exist only
  in ``answer_generation.train_messages``) never reach a prompt;
- sibling steps with identical text are dropped (``dedup=True``), as are exact duplicate pairs.

Example:
    >>> from hf_ext.data.tool_trees import load_inference_trees, stepwise_pairs, success_path
    >>> from hf_ext.testing.tool_trees import tool_tree
    >>> tree = load_inference_trees([tool_tree(seed=0, branch_depths=(0, 1))])[0]
    >>> [node.node_type for node in success_path(tree)][:3]
    ['Action Input', 'Thought', 'Action']
    >>> pairs = stepwise_pairs(tree)
    >>> len(pairs), pairs[0].chosen.splitlines()[0].startswith("Thought:")
    (2, True)
"""

from __future__ import annotations

import glob as globlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError

NODE_TYPES = ("Thought", "Action", "Action Input")
SUCCESS_CODE = 3
# ToolBench's observation codes (toolbench/inference/Downstream_tasks/rapidapi.py).
OBSERVATION_CODES = {
    0: "ok",
    1: "hallucinated function name",
    2: "bad Finish arguments",
    3: "give_answer (success)",
    4: "give_up_and_restart",
    5: "timeout",
    6: "API not working",
    7: "unauthorized",
    8: "unsubscribed",
    9: "too many requests",
    10: "rate limit",
    11: "response has an error field",
    12: "request error",
}
PAIR_MODES = ("step", "path")
PAIR_FORMATS = ("trl", "toolpreference")
# Pairs buffered before each Arrow write: prompts carry whole observations (ToolBench's are often tens of KB),
# so datasets' default of 1000 rows would hold ~100 MB.
WRITER_BATCH_SIZE = 32

SYSTEM_PROMPT = (
    "You solve the user's task by calling functions. At each step write a short Thought about the current "
    "state, then call one function as\nAction: <function name>\nAction Input: <JSON arguments>\n"
    "You then receive the function's result. Finish with the Finish function: return_type give_answer with "
    "a final_answer, or give_up_and_restart if the task cannot be solved from this state.\n"
    "Functions (OpenAI function schemas, one per line):\n"
)


# --- the tree --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class TreeNode:
    """One node of a DFSDT tree: a ``Thought``, an ``Action`` (function name) or an ``Action Input``
    (arguments + the ``observation`` the call returned, with its ToolBench ``observation_code``)."""

    node_type: str
    description: str
    depth: int
    observation: str | None = None
    observation_code: int | None = None
    pruned: bool = False
    children: list[TreeNode] = field(default_factory=list)
    parent: TreeNode | None = field(default=None, repr=False)
    json_path: str = field(default="$", repr=False)

    @property
    def is_success_leaf(self) -> bool:
        return (
            self.node_type == "Action Input"
            and self.observation_code == SUCCESS_CODE
            and not self.pruned
            and not self.children
        )

    def walk(self) -> Iterator[TreeNode]:
        """This node and its descendants, depth first (iteratively: real trees can be deep)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@dataclass(eq=False)
class InferenceTree:
    """A parsed answer file: the query, its tools as OpenAI function schemas, ``win`` and the search tree."""

    query: str
    query_id: str
    functions: list[dict[str, Any]]
    win: bool
    root: TreeNode
    forward_args: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    finish_type: str | None = None

    def nodes(self) -> Iterator[TreeNode]:
        return self.root.walk()


class TreeList(list):
    """The list :func:`load_inference_trees` returns; ``skipped`` holds ``(source, reason)`` of the files
    skipped with ``errors="skip"``."""

    skipped: list[tuple[str, str]]


# --- parsing ---------------------------------------------------------------------------------------------


def _fail(source: str, path: str, message: str) -> HFExtError:
    return HFExtError(f"{source}: {path}: {message}")


def _field(data: dict, key: str, types: type | tuple, source: str, path: str, required: bool = True) -> Any:
    if key not in data or data[key] is None:
        if required:
            raise _fail(source, f"{path}.{key}", "missing")
        return None
    value = data[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise _fail(source, f"{path}.{key}", f"expected {names}, got {type(value).__name__}")
    return value


def _as_tuple(types: type | tuple) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _parse_node(data: Any, source: str, path: str, depth_hint: int) -> TreeNode:
    if not isinstance(data, dict):
        raise _fail(source, path, f"expected a node object, got {type(data).__name__}")
    node_type = _field(data, "node_type", str, source, path)
    if node_type not in NODE_TYPES:
        raise _fail(source, f"{path}.node_type", f"expected one of {list(NODE_TYPES)}, got {node_type!r}")
    depth = _field(data, "depth", int, source, path, required=False)
    observation = data.get("observation")
    if observation is not None and not isinstance(observation, str):
        observation = json.dumps(observation, ensure_ascii=False)
    return TreeNode(
        node_type=node_type,
        description=_field(data, "description", str, source, path, required=False) or "",
        depth=depth_hint if depth is None else depth,
        observation=observation,
        observation_code=_field(data, "observation_code", int, source, path, required=False),
        pruned=bool(_field(data, "pruned", bool, source, path, required=False)),
        json_path=path,
    )


def _parse_tree_nodes(data: Any, source: str, path: str) -> TreeNode:
    """The node tree under ``data`` with parent links, built iteratively (no recursion limit)."""
    root = _parse_node(data, source, path, 0)
    stack = [(root, data)]
    while stack:
        node, raw = stack.pop()
        children = raw.get("children", [])
        if children is None:
            children = []
        if not isinstance(children, list):
            raise _fail(source, f"{node.json_path}.children", f"expected list, got {type(children).__name__}")
        for index, child_raw in enumerate(children):
            child = _parse_node(child_raw, source, f"{node.json_path}.children[{index}]", node.depth + 1)
            child.parent = node
            node.children.append(child)
            stack.append((child, child_raw))
    return root


def parse_inference_tree(data: Any, source: str = "<tree>", query_id: str | None = None) -> InferenceTree:
    """One answer-file dict as an :class:`InferenceTree`; :class:`HFExtError` names ``source`` and the JSON
    path of a bad field."""
    if not isinstance(data, dict):
        raise _fail(source, "$", f"expected an answer-file object, got {type(data).__name__}")
    win = _field(data, "win", bool, source, "$")
    generation = _field(data, "answer_generation", dict, source, "$")
    query = _field(generation, "query", str, source, "$.answer_generation")
    functions = _field(generation, "function", list, source, "$.answer_generation")
    for index, function in enumerate(functions):
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(source, f"$.answer_generation.function[{index}]", "expected an object with a 'name'")
    outer = _field(data, "tree", dict, source, "$")
    root_raw = _field(outer, "tree", dict, source, "$.tree")
    root = _parse_tree_nodes(root_raw, source, "$.tree.tree")
    forward_args = data.get("forward_args") or {}
    if query_id is None:
        query_id = data.get("query_id")
    return InferenceTree(
        query=query,
        query_id=str(query_id) if query_id is not None else "",
        functions=functions,
        win=win,
        root=root,
        forward_args=forward_args if isinstance(forward_args, dict) else {},
        source=source,
        finish_type=generation.get("finish_type"),
    )


def query_id_from_filename(path: str | os.PathLike) -> str:
    """``57`` for ``57_ChatGPT_DFS_woFilter_w2.json`` (ToolBench names answer files ``<query_id>_...``)."""
    return Path(path).name.split("_", 1)[0].removesuffix(".json")


def tree_files(source: str | os.PathLike) -> list[Path]:
    """The answer files of ``source``: one file, a folder (``*.json`` searched recursively) or a glob."""
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if p.is_file())
    if any(char in text for char in "*?["):
        return sorted(Path(p) for p in globlib.glob(text, recursive=True) if Path(p).is_file())
    raise HFExtError(f"{text}: no such file or folder of inference trees")


def iter_inference_trees(
    source: Any, errors: str = "raise", skipped: list[tuple[str, str]] | None = None
) -> Iterator[InferenceTree]:
    """Yield the trees of ``source`` (a file, a folder, a glob, or an iterable of answer-file dicts or
    :class:`InferenceTree`) one at a time: only one file's JSON is in memory at once. With
    ``errors="skip"`` a malformed file is skipped and ``(source, reason)`` appended to ``skipped``."""
    if errors not in ("raise", "skip"):
        raise HFExtError(f"errors must be 'raise' or 'skip', got {errors!r}")
    if isinstance(source, str | os.PathLike):
        items: Iterable[Any] = tree_files(source)
    elif isinstance(source, dict):
        items = [source]
    else:
        items = source
    for index, item in enumerate(items):
        if isinstance(item, InferenceTree):
            yield item
            continue
        try:
            if isinstance(item, Path):
                name = str(item)
                try:
                    with open(item, encoding="utf-8") as handle:
                        data = json.load(handle)
                except json.JSONDecodeError as error:
                    raise HFExtError(f"{name}: line {error.lineno}: invalid JSON ({error.msg})") from None
                tree = parse_inference_tree(data, name, query_id_from_filename(item))
                del data
            else:
                tree = parse_inference_tree(item, f"<trees>[{index}]")
                if not tree.query_id:
                    tree.query_id = str(index)
        except HFExtError as error:
            if errors == "raise":
                raise
            if skipped is not None:
                skipped.append((str(item) if isinstance(item, Path) else f"<trees>[{index}]", str(error)))
            continue
        yield tree


def load_inference_trees(source: Any, errors: str = "raise") -> TreeList:
    """All trees of ``source`` as a list (see :func:`iter_inference_trees`); ``.skipped`` lists the files
    skipped with ``errors="skip"``. To mine a large corpus, use :func:`tree_preference_dataset`, which
    streams."""
    skipped: list[tuple[str, str]] = []
    trees = TreeList(iter_inference_trees(source, errors=errors, skipped=skipped))
    trees.skipped = skipped
    return trees


# --- success path and steps ------------------------------------------------------------------------------


def success_path(tree: InferenceTree) -> list[TreeNode] | None:
    """``[root, ..., success leaf]`` for a tree with ``win`` true and an unpruned ``observation_code == 3``
    leaf (the first in depth-first order), else None."""
    if not tree.win:
        return None
    leaf = next((node for node in tree.nodes() if node.is_success_leaf), None)
    if leaf is None:
        return None
    path = []
    node: TreeNode | None = leaf
    while node is not None:
        path.append(node)
        node = node.parent
    return path[::-1]


def step_nodes(start: TreeNode, along: set[int] | None = None) -> list[TreeNode]:
    """The nodes of the step that begins at ``start``: down to the first ``Action Input``. At a node with
    several children, the child in ``along`` (ids of a path) is followed, else the first child."""
    nodes = [start]
    node = start
    while node.node_type != "Action Input" and node.children:
        chosen = next((c for c in node.children if along is not None and id(c) in along), node.children[0])
        nodes.append(chosen)
        node = chosen
    return nodes


def format_step(nodes: list[TreeNode], include_thought: bool = True) -> str:
    """ToolLLaMA's assistant text: ``Thought: ...\\nAction: <name>\\nAction Input: <json>`` (consecutive
    thoughts joined; ``include_thought=False`` keeps only the action and its input)."""
    thoughts = [n.description.strip() for n in nodes if n.node_type == "Thought" and n.description.strip()]
    lines = [f"Thought: {' '.join(thoughts)}"] if thoughts and include_thought else []
    lines += [f"{n.node_type}: {n.description}" for n in nodes if n.node_type != "Thought"]
    return "\n".join(lines)


def _has_success(node: TreeNode) -> bool:
    return any(n.is_success_leaf for n in node.walk())


def render_system_prompt(functions: list[dict[str, Any]]) -> str:
    """The system message text for these function schemas: the instructions, then one compact JSON schema
    per line. :func:`hf_ext.agents.dfsdt.run_dfsdt` prompts with exactly this text, so SFT and preference
    data rebuilt from trees show the model the prompt it searches with.

    >>> render_system_prompt([{"name": "f", "parameters": {}}]).splitlines()[-1]
    '{"name":"f","parameters":{}}'
    """
    tools = "\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in functions)
    return SYSTEM_PROMPT + tools


def system_message(tree: InferenceTree) -> dict[str, str]:
    return {"role": "system", "content": render_system_prompt(tree.functions)}


def _history(tree: InferenceTree, path: list[TreeNode], upto: int, include_thought: bool) -> list[dict]:
    """System + user + every step on ``path`` before index ``upto`` with its observation."""
    messages = [system_message(tree), {"role": "user", "content": tree.query}]
    along = {id(n) for n in path}
    position = 1
    while position <= upto and position < len(path):
        nodes = step_nodes(path[position], along)
        messages.append({"role": "assistant", "content": format_step(nodes, include_thought)})
        end = nodes[-1]
        if end.observation is not None:
            messages.append({"role": "tool", "content": end.observation})
        position += len(nodes)
    return messages


@dataclass
class TreePair:
    """One preference pair mined from a tree."""

    prompt: list[dict[str, str]]
    chosen: Any  # str (step mode) or a list of messages (path mode)
    rejected: Any
    query_id: str
    depth: int  # tree depth of the branching Action Input node
    rejected_observation_code: int | None
    chosen_has_thought: bool
    rejected_has_thought: bool
    chosen_is_later_sibling: bool


def _branchings(path: list[TreeNode]) -> Iterator[tuple[int, TreeNode, TreeNode, list[TreeNode]]]:
    """(index on path, branching node, its child on the path, the other children) for every branching
    ``Action Input`` node on the success path."""
    for index, node in enumerate(path[:-1]):
        if node.node_type == "Action Input" and len(node.children) > 1:
            on_path = path[index + 1]
            others = [c for c in node.children if c is not on_path and not _has_success(c)]
            if others:
                yield index, node, on_path, others


def _trajectory(start: TreeNode, along: set[int] | None, include_thought: bool) -> list[dict[str, str]]:
    """The steps from ``start`` to the end of its branch (following ``along``, else first children) as
    alternating assistant / tool messages."""
    messages = []
    node: TreeNode | None = start
    while node is not None:
        nodes = step_nodes(node, along)
        messages.append({"role": "assistant", "content": format_step(nodes, include_thought)})
        end = nodes[-1]
        if end.observation is not None and end.children:
            messages.append({"role": "tool", "content": end.observation})
        if not end.children:
            break
        node = next((c for c in end.children if along is not None and id(c) in along), end.children[0])
    return messages


def stepwise_pairs(tree: InferenceTree, include_thought: bool = True) -> list[TreePair]:
    """TP-LLaMA's step-wise pairs: at each branching ``Action Input`` node on the success path, the step
    towards success (chosen) over each sibling step whose subtree has no success leaf (rejected); the prompt
    holds the path's earlier steps up to and including the branching node's observation."""
    path = success_path(tree)
    if path is None:
        return []
    along = {id(n) for n in path}
    pairs = []
    for index, node, on_path, others in _branchings(path):
        prompt = _history(tree, path, index, include_thought)
        chosen_nodes = step_nodes(on_path, along)
        for other in others:
            rejected_nodes = step_nodes(other)
            pairs.append(
                TreePair(
                    prompt=prompt,
                    chosen=format_step(chosen_nodes, include_thought),
                    rejected=format_step(rejected_nodes, include_thought),
                    query_id=tree.query_id,
                    depth=node.depth,
                    rejected_observation_code=rejected_nodes[-1].observation_code
                    if rejected_nodes[-1].node_type == "Action Input"
                    else None,
                    chosen_has_thought=chosen_nodes[0].node_type == "Thought",
                    rejected_has_thought=rejected_nodes[0].node_type == "Thought",
                    chosen_is_later_sibling=node.children.index(on_path) > node.children.index(other),
                )
            )
    return pairs


def pathwise_pairs(tree: InferenceTree, include_thought: bool = True) -> list[TreePair]:
    """The path-wise variant: at each branching node on the success path, the rest of the success path
    over the failed branch from the sibling onward (its first-expanded trajectory), each as alternating
    assistant / tool messages; the prompt is the same as the step-wise pair's."""
    path = success_path(tree)
    if path is None:
        return []
    along = {id(n) for n in path}
    pairs = []
    for index, node, on_path, others in _branchings(path):
        prompt = _history(tree, path, index, include_thought)
        chosen = _trajectory(on_path, along, include_thought)
        for other in others:
            rejected = _trajectory(other, None, include_thought)
            leaf = other
            while leaf.children:
                leaf = leaf.children[0]
            pairs.append(
                TreePair(
                    prompt=prompt,
                    chosen=chosen,
                    rejected=rejected,
                    query_id=tree.query_id,
                    depth=node.depth,
                    rejected_observation_code=leaf.observation_code,
                    chosen_has_thought=on_path.node_type == "Thought",
                    rejected_has_thought=other.node_type == "Thought",
                    chosen_is_later_sibling=node.children.index(on_path) > node.children.index(other),
                )
            )
    return pairs


# --- datasets --------------------------------------------------------------------------------------------


def _pair_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def mine_pairs(
    trees: Iterable[InferenceTree],
    mode: str = "step",
    dedup: bool = True,
    max_pairs_per_tree: int | None = None,
    include_thought: bool = True,
) -> Iterator[TreePair]:
    """Pairs of every tree in ``trees`` (streamed), deduplicated when ``dedup``: pairs whose chosen and
    rejected texts are identical, and exact repeats of an earlier (prompt, chosen, rejected)."""
    if mode not in PAIR_MODES:
        raise HFExtError(f"mode must be one of {list(PAIR_MODES)}, got {mode!r}")
    if max_pairs_per_tree is not None and max_pairs_per_tree < 1:
        raise HFExtError(f"max_pairs_per_tree must be >= 1 or None, got {max_pairs_per_tree}")
    miner = stepwise_pairs if mode == "step" else pathwise_pairs
    seen: set[int] = set()
    for tree in trees:
        kept = 0
        for pair in miner(tree, include_thought=include_thought):
            if max_pairs_per_tree is not None and kept >= max_pairs_per_tree:
                break
            if dedup:
                chosen, rejected = _pair_text(pair.chosen), _pair_text(pair.rejected)
                if chosen == rejected:
                    continue
                key = hash((json.dumps(pair.prompt, ensure_ascii=False), chosen, rejected))
                if key in seen:
                    continue
                seen.add(key)
            kept += 1
            yield pair


def pair_record(pair: TreePair) -> dict[str, Any]:
    """A pair as a row in TRL's conversational preference format plus hf-ext's columns."""
    as_messages = (lambda v: [{"role": "assistant", "content": v}]) if isinstance(pair.chosen, str) else list
    return {
        "prompt": pair.prompt,
        "chosen": as_messages(pair.chosen),
        "rejected": as_messages(pair.rejected),
        "query_id": pair.query_id,
        "depth": pair.depth,
        "rejected_observation_code": pair.rejected_observation_code,
    }


def _rows_to_dataset(rows: list[dict[str, Any]], features):
    """``Dataset.from_list`` that also accepts no rows."""
    from datasets import Dataset

    if not rows:
        return Dataset.from_dict({name: [] for name in features}, features=features)
    return Dataset.from_list(rows, features=features)


def _features(mode: str):
    from datasets import Features, Value

    message = {"role": Value("string"), "content": Value("string")}
    return Features(
        {
            "prompt": [message],
            "chosen": [message],
            "rejected": [message],
            "query_id": Value("string"),
            "depth": Value("int64"),
            "rejected_observation_code": Value("int64"),
        }
    )


def tree_preference_dataset(
    source: Any,
    mode: str = "step",
    dedup: bool = True,
    max_pairs_per_tree: int | None = None,
    include_thought: bool = True,
    errors: str = "raise",
):
    """A ``datasets.Dataset`` of the pairs mined from ``source`` (anything :func:`iter_inference_trees`
    takes), in TRL's conversational preference format: ``prompt`` (system message with the tool schemas,
    user query, earlier steps and observations), ``chosen`` / ``rejected`` (one assistant message each in
    step mode, the rest of the trajectory in path mode), plus ``query_id``, ``depth`` and
    ``rejected_observation_code``. Trees are read one at a time; the pairs of a file, folder, glob or list
    of ``Path`` go straight to an Arrow file in the ``datasets`` cache, so memory does not grow with the
    corpus."""
    paths = isinstance(source, list | tuple) and bool(source) and all(isinstance(p, Path) for p in source)
    if isinstance(source, str | os.PathLike) or paths:
        files = list(source) if paths else tree_files(source)
        return _dataset_from_files(files, mode, dedup, max_pairs_per_tree, include_thought, errors)
    trees = iter_inference_trees(source, errors=errors)
    rows = [pair_record(p) for p in mine_pairs(trees, mode, dedup, max_pairs_per_tree, include_thought)]
    return _rows_to_dataset(rows, _features(mode))


def _pair_rows(files: list[tuple[str, int, int]], **options: Any) -> Iterator[dict[str, Any]]:
    errors = options.pop("errors")
    trees = iter_inference_trees([Path(name) for name, _, _ in files], errors=errors)
    for pair in mine_pairs(trees, **options):
        yield pair_record(pair)


def _dataset_from_files(
    files: list[Path], mode: str, dedup: bool, max_pairs: int | None, thought: bool, errors: str
):
    """Pairs written to an Arrow file in the ``datasets`` cache as they are mined, so memory stays flat
    however many files there are. The cache key includes each file's size and modification time."""
    from datasets import Dataset
    from datasets.exceptions import DatasetGenerationError

    if mode not in PAIR_MODES:
        raise HFExtError(f"mode must be one of {list(PAIR_MODES)}, got {mode!r}")
    stamps = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    options = {"mode": mode, "dedup": dedup, "max_pairs_per_tree": max_pairs, "include_thought": thought}
    empty = _rows_to_dataset([], _features(mode))
    if not stamps:
        return empty
    try:
        return Dataset.from_generator(
            _pair_rows,
            features=_features(mode),
            gen_kwargs={"files": stamps, "errors": errors, **options},
            writer_batch_size=WRITER_BATCH_SIZE,
        )
    except ValueError as error:  # datasets refuses to build a split with no rows
        if "corresponds to no data" in str(error):
            return empty
        raise
    except DatasetGenerationError as error:
        cause = error.__cause__
        while cause is not None and not isinstance(cause, HFExtError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        raise


def tree_sft_dataset(source: Any, include_thought: bool = True, errors: str = "raise"):
    """The success paths of ``source`` as conversational ``messages`` (system, user, then each step as an
    assistant message followed by its observation as a tool message, ending with the Finish step), plus
    ``query_id``: the SFT stage before preference training."""
    from datasets import Features, Value

    rows = []
    for tree in iter_inference_trees(source, errors=errors):
        path = success_path(tree)
        if path is None:
            continue
        messages = _history(tree, path, len(path), include_thought)
        if messages[-1]["role"] == "tool":
            messages.pop()  # the give_answer observation is not something the model says
        rows.append({"messages": messages, "query_id": tree.query_id})
    message = {"role": Value("string"), "content": Value("string")}
    return _rows_to_dataset(rows, Features({"messages": [message], "query_id": Value("string")}))


# --- ToolPreference's published pair format --------------------------------------------------------------


def _history_text(messages: list[dict[str, str]]) -> str:
    return "\n".join(f"<{m['role']}>\n{m['content']}" for m in messages)


def tool_preference_record(row: dict[str, Any], index: int) -> dict[str, Any]:
    """One of our pair rows in ToolPreference's format: ``instruction`` (the system message), ``input`` (the
    rest of the prompt as text), ``output: [chosen, rejected]``, ``category``, ``id``."""
    prompt = row["prompt"]
    system = prompt[0]["content"] if prompt and prompt[0]["role"] == "system" else ""
    rest = prompt[1:] if system else prompt
    return {
        "instruction": system,
        "input": _history_text(rest),
        "output": [_history_text_or_content(row["chosen"]), _history_text_or_content(row["rejected"])],
        "category": "step" if len(row["chosen"]) == 1 else "path",
        "id": f"{row.get('query_id', '')}:{index}",
    }


def _history_text_or_content(messages: list[dict[str, str]]) -> str:
    return messages[0]["content"] if len(messages) == 1 else _history_text(messages)


def write_tool_preference(dataset: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write pair rows as a ToolPreference JSON list (``dpo_preferencepairs_train.json`` style); returns the
    number written. Refuses to overwrite an existing file."""
    target = Path(path)
    if target.exists():
        raise HFExtError(f"{target}: exists; refusing to overwrite it")
    records = [tool_preference_record(row, index) for index, row in enumerate(dataset)]
    target.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(records)


def load_tool_preference(path: str | os.PathLike):
    """A ToolPreference pair file (a JSON list of ``instruction``, ``input``, ``output: [chosen, rejected]``,
    ``category``, ``id``) as the columns of :func:`tree_preference_dataset`: ``prompt`` is the instruction as
    a system message and the input as a user message; ``depth`` and ``rejected_observation_code`` are null."""
    from datasets import Features, Value

    source = Path(path)
    try:
        records = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise HFExtError(f"{source}: line {error.lineno}: invalid JSON ({error.msg})") from None
    if not isinstance(records, list):
        raise HFExtError(f"{source}: $: expected a JSON list of pair records, got {type(records).__name__}")
    rows = []
    for index, record in enumerate(records):
        where = f"$[{index}]"
        if not isinstance(record, dict):
            raise _fail(str(source), where, f"expected an object, got {type(record).__name__}")
        for key in ("instruction", "input"):
            if not isinstance(record.get(key), str):
                raise _fail(str(source), f"{where}.{key}", "expected a string")
        output = record.get("output")
        if not (isinstance(output, list) and len(output) == 2 and all(isinstance(o, str) for o in output)):
            raise _fail(str(source), f"{where}.output", "expected [chosen, rejected], two strings")
        prompt = []
        if record["instruction"]:
            prompt.append({"role": "system", "content": record["instruction"]})
        prompt.append({"role": "user", "content": record["input"]})
        rows.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": output[0]}],
                "rejected": [{"role": "assistant", "content": output[1]}],
                "query_id": str(record.get("id", index)),
                "depth": None,
                "rejected_observation_code": None,
                "category": str(record.get("category", "")),
            }
        )
    message = {"role": Value("string"), "content": Value("string")}
    features = Features(
        {
            "prompt": [message],
            "chosen": [message],
            "rejected": [message],
            "query_id": Value("string"),
            "depth": Value("int64"),
            "rejected_observation_code": Value("int64"),
            "category": Value("string"),
        }
    )
    return _rows_to_dataset(rows, features)


# --- statistics ------------------------------------------------------------------------------------------


@dataclass
class TreeStats:
    """What ``hf-ext trees stats`` reports about a corpus."""

    files: int = 0
    parsed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    wins: int = 0
    success_paths: int = 0
    branching_on_success_paths: int = 0
    pairs: int = 0
    path_pairs: int = 0
    dropped_identical: int = 0
    chosen_thought_only: int = 0  # chosen opens with a Thought and rejected does not
    chosen_later_sibling: int = 0
    observation_codes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skipped"] = [{"file": name, "reason": reason} for name, reason in self.skipped]
        return data


def tree_stats(source: Any, errors: str = "skip") -> TreeStats:
    """Count files, parsed and skipped trees, wins, success paths, branching nodes on them, step-wise pairs
    (after dedup), path-wise pairs, the observation-code histogram and the two biases of DFSDT pairs (chosen
    opens with a Thought while rejected does not; chosen is the later-expanded sibling)."""
    stats = TreeStats()
    if isinstance(source, str | os.PathLike):
        source = tree_files(source)
        stats.files = len(source)
    codes: dict[str, int] = {}
    for tree in iter_inference_trees(source, errors=errors, skipped=stats.skipped):
        stats.parsed += 1
        stats.wins += tree.win
        for node in tree.nodes():
            if node.node_type == "Action Input" and node.parent is not None:
                key = "none" if node.observation_code is None else str(node.observation_code)
                codes[key] = codes.get(key, 0) + 1
        path = success_path(tree)
        if path is None:
            continue
        stats.success_paths += 1
        stats.branching_on_success_paths += sum(
            1 for n in path if n.node_type == "Action Input" and len(n.children) > 1
        )
        for pair in stepwise_pairs(tree):
            if pair.chosen == pair.rejected:
                stats.dropped_identical += 1
                continue
            stats.pairs += 1
            stats.chosen_thought_only += pair.chosen_has_thought and not pair.rejected_has_thought
            stats.chosen_later_sibling += pair.chosen_is_later_sibling
        stats.path_pairs += len(pathwise_pairs(tree))
    if not stats.files:
        stats.files = stats.parsed + len(stats.skipped)
    stats.observation_codes = dict(sorted(codes.items(), key=lambda kv: (kv[0] == "none", kv[0].zfill(3))))
    return stats
