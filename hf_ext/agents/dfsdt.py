"""DFSDT (ToolLLM's depth-first search-based decision tree) over a tool environment, writing ToolBench files.

:func:`run_dfsdt` grows one search tree per query: at every state (an ``Action Input`` node: the root or the
state after an observation) the policy proposes up to ``beam_width`` next steps, one after another; each step
is a ``Thought`` (optional), an ``Action`` (function name) and an ``Action Input`` (JSON arguments) node, and
the environment's observation is stored on the ``Action Input`` node. A branch ends when ``Finish`` gives an
answer (code 3: the search stops), when the policy gives up (``give_up_and_restart``, code 4) or calls an
unknown function (code 1), or when it reaches depth ``max_steps``; the node is then pruned and the search
backtracks to the nearest state with beam slots left. When a state is expanded again, a user message lists
the earlier candidate steps and asks for a different one (the "diversity" message, marked ``valid: false``).
``max_queries`` bounds the policy calls per query. ``beam_width=1`` is ToolBench's CoT@1 baseline.

Each tree is written as ``<query_id>_<tag>_DFS_woFilter_w<beam_width>.json`` in ToolBench's answer schema
(``win``, ``tree``, ``forward_args``, ``compare_candidates``, ``answer_generation`` with ``train_messages``),
so :func:`hf_ext.data.tool_trees.load_inference_trees` reads these and ToolBench's files alike. Files are
written whole (temporary file + rename); a run that stops can be resumed, finished queries are skipped.

The policy is any callable from a message list (roles ``system``/``user``/``assistant``/``function``, as
ToolBench stores them) to text in ToolLLaMA's format ``Thought: ...\\nAction: <name>\\nAction Input: {...}``;
:class:`TransformersPolicy` wraps a transformers model and tokenizer (and
:class:`~hf_ext.agents.vllm_policy.VLLMPolicy` a ``vllm.LLM``) and renders the conversation exactly as
:func:`~hf_ext.data.tool_trees.tree_sft_dataset` and :func:`~hf_ext.data.tool_trees.tree_preference_dataset`
do (same system prompt, steps as text, observations in role ``tool``), so SFT and DPO on trees grown here
train the policy on the prompts it will see.

Example:
    >>> import tempfile
    >>> from hf_ext.agents.dfsdt import run_dfsdt
    >>> from hf_ext.agents.tools import OfflineToolWorld
    >>> world = OfflineToolWorld()
    >>> query = world.generate_queries(1, "G1", seed=0)[0]
    >>> def give_up(messages):
    ...     return 'Thought: no idea\\nAction: Finish\\nAction Input: {"return_type": "give_up_and_restart"}'
    >>> results = run_dfsdt(give_up, world, [query], out_dir=tempfile.mkdtemp(), progress=False)
    >>> results[0].win, results[0].query_count  # the root is expanded twice, both attempts give up
    (False, 2)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from hf_ext.agents.chat import chat_messages
from hf_ext.agents.tools.base import ObservationCode, ToolEnvironment, final_answer_of
from hf_ext.agents.vllm_policy import VLLMPolicy, is_vllm_engine
from hf_ext.data.tool_trees import render_system_prompt
from hf_ext.errors import HFExtError
from hf_ext.utils import atomic_write_text

Policy = Callable[[list[dict[str, Any]]], str]

DIVERSITY_PROMPT = (
    "You have been in this state before and every attempt from it failed. These are the actions already "
    "tried from this state:\n{candidates}\n{observation}"
    "Look at the current state and at these candidates, then take an action that differs from all of them."
)

_ACTION = re.compile(r"^\s*Action\s*:\s*(.*)$", re.MULTILINE)
_ACTION_INPUT = re.compile(r"^\s*Action Input\s*:\s*", re.MULTILINE)


def parse_step(text: str) -> tuple[str | None, str, str]:
    """Split a policy's output into ``(thought or None, action name, action input)`` (ToolLLaMA format).

    >>> parse_step('Thought: look it up\\nAction: search\\nAction Input: {"q": "tea"}')
    ('look it up', 'search', '{"q": "tea"}')
    >>> parse_step("I am not sure.")
    ('I am not sure.', '', '{}')
    """
    action = _ACTION.search(text)
    head = text[: action.start()] if action else text
    thought = re.sub(r"^\s*Thought\s*:\s*", "", head).strip() or None
    if action is None:
        return thought, "", "{}"
    name = action.group(1).strip()
    rest = text[action.end() :]
    given = _ACTION_INPUT.search(rest)
    arguments = rest[given.end() :].strip() if given else "{}"
    return thought, name, arguments or "{}"


def system_prompt(env: ToolEnvironment) -> str:
    """The system message for ``env``'s current query: the one :mod:`hf_ext.data.tool_trees` rebuilds from
    a tree for SFT and preference data (instructions + one compact JSON function schema per line), so a
    model trained on those datasets sees the same prompt when it searches."""
    return render_system_prompt(env.functions)


@dataclass
class _Node:
    node_type: str
    description: str
    depth: int
    parent: _Node | None = None
    observation: str | None = None
    observation_code: int | None = None
    pruned: bool = False
    finished: bool = False
    is_terminal: bool = False
    expand_num: int = 0
    children: list[_Node] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, node_type: str, description: str) -> _Node:
        child = _Node(node_type, description, self.depth + 1, parent=self, messages=self.messages)
        self.children.append(child)
        return child

    def to_dict(self, with_children: bool = True) -> dict[str, Any]:
        record: dict[str, Any] = {
            "is_terminal": self.is_terminal,
            "pruned": self.pruned,
            "finished": self.finished,
            "depth": self.depth,
            "node_type": self.node_type,
            "description": self.description,
            "Elo": 1000.0,
        }
        if self.node_type == "Action Input" and self.depth > 0:
            record["observation"] = self.observation
            record["observation_code"] = self.observation_code
        record["child_count"] = len(self.children)
        record["expand_num"] = self.expand_num
        if self.node_type == "Action Input":
            record["io_state"] = {}
        if with_children:
            record["children"] = [child.to_dict() for child in self.children]
        return record


class _BudgetSpent(Exception):
    pass


class _Found(Exception):
    pass


@dataclass
class DFSDTResult:
    """One query's outcome: its file, whether ``Finish`` gave an answer, the answer and the costs."""

    query_id: Any
    path: Path
    win: bool
    final_answer: str | None
    query_count: int
    api_calls: int
    resumed: bool = False


class _Search:
    def __init__(
        self, policy: Policy, env: ToolEnvironment, beam_width: int, max_steps: int, max_queries: int
    ):
        self.policy, self.env = policy, env
        self.beam_width, self.max_steps, self.max_queries = beam_width, max_steps, max_queries
        self.query_count, self.total_tokens, self.expansions = 0, 0, 0
        self.terminal: _Node | None = None
        self.last_leaf: _Node | None = None

    def run(self, query: dict[str, Any]) -> _Node:
        self.env.reset(query)
        root = _Node("Action Input", "", 0)
        root.messages = [
            {"role": "system", "content": system_prompt(self.env)},
            {"role": "user", "content": query["query"]},
        ]
        try:
            self._expand(root)
        except (_Found, _BudgetSpent):
            pass
        return root

    def _expand(self, state: _Node) -> None:
        """Grow up to ``beam_width`` steps from ``state``; return when all of them failed."""
        state.expand_num = self.expansions
        self.expansions += 1
        for slot in range(self.beam_width):
            if self.query_count >= self.max_queries:
                raise _BudgetSpent
            messages = list(state.messages)
            if slot > 0:
                messages.append({"role": "user", "content": self._diversity(state), "valid": False})
            text = self.policy(messages)
            self.query_count += 1
            self.total_tokens += getattr(self.policy, "last_token_count", 0)
            leaf = self._step(state, messages, text)
            self.last_leaf = leaf
            if leaf.observation_code == ObservationCode.GIVE_ANSWER:
                leaf.is_terminal = True
                self.terminal = leaf
                raise _Found
            if leaf.observation_code in (ObservationCode.GIVE_UP, ObservationCode.UNKNOWN_FUNCTION):
                leaf.pruned = True
            elif leaf.depth >= self.max_steps:
                leaf.pruned = True
            else:
                self._expand(leaf)

    def _step(self, state: _Node, messages: list[dict[str, Any]], text: str) -> _Node:
        thought, name, arguments = parse_step(text)
        node = state
        if thought is not None:
            node = node.add("Thought", thought)
        node = node.add("Action", name)
        leaf = node.add("Action Input", arguments)
        observation = self.env.call(name, arguments)
        leaf.observation, leaf.observation_code = observation.text, observation.code
        assistant = {
            "role": "assistant",
            "content": thought,
            "function_call": {"name": name, "arguments": arguments},
        }
        leaf.messages = [
            *messages,
            assistant,
            {"role": "function", "name": name, "content": observation.text},
        ]
        return leaf

    def _diversity(self, state: _Node) -> str:
        candidates = []
        for child in state.children:
            node = child
            while node.node_type != "Action Input" and node.children:
                node = node.children[0]
            if node.node_type == "Action Input" and node.parent is not None:
                candidates.append(
                    {
                        "name": node.parent.description,
                        "arguments": node.description,
                        "function_output": node.observation,
                    }
                )
        observation = (
            f"Your observation in this state was: {state.observation}\n" if state.observation else ""
        )
        return DIVERSITY_PROMPT.format(candidates=json.dumps(candidates, indent=2), observation=observation)


def _path_to(leaf: _Node) -> list[_Node]:
    path = []
    node: _Node | None = leaf
    while node is not None:
        path.append(node)
        node = node.parent
    return path[::-1]


def _train_messages(path: list[_Node]) -> list[list[dict[str, Any]]]:
    """One message list per assistant step on ``path`` (ToolBench keeps only the latest diversity message)."""
    result = []
    for node in path:
        if node.node_type != "Action Input" or node.depth == 0:
            continue
        history = node.messages[:-1]  # up to and including the assistant step, not its observation
        last_diversity = max((i for i, m in enumerate(history) if m.get("valid") is False), default=None)
        kept = [m for i, m in enumerate(history) if m.get("valid") is not False or i == last_diversity]
        result.append(kept)
    return result


def _count(node: _Node, predicate: Callable[[_Node], bool]) -> int:
    return int(predicate(node)) + sum(_count(child, predicate) for child in node.children)


def _max_depth(node: _Node) -> int:
    return max([node.depth, *(_max_depth(child) for child in node.children)])


def tree_record(search: _Search, root: _Node, query: dict[str, Any]) -> dict[str, Any]:
    """The ToolBench answer-file dict of one finished search."""
    terminal = search.terminal
    win = terminal is not None
    last = terminal or search.last_leaf
    final = (
        last.description if last is not None and last.parent and last.parent.description == "Finish" else ""
    )
    chain: list[_Node] = []
    if win:
        chain = _path_to(terminal)
        for node in chain[1:]:
            node.finished = True
    generation: dict[str, Any] = {
        "valid_data": win,
        "query_count": search.query_count,
        "total_tokens": search.total_tokens,
        "final_answer": final,
        "finish_type": "give_answer" if win else "give_up",
        "function": search.env.functions,
        "chain": [],
    }
    if win:
        generation["train_messages"] = _train_messages(chain)
    generation["query"] = query["query"]
    return {
        "win": win,
        "tree": {
            "size": _count(root, lambda n: True),
            "max_length": _max_depth(root) + 1,
            "tree": root.to_dict(),
        },
        "forward_args": {
            "single_chain_max_step": search.max_steps,
            "tree_beam_size": search.beam_width,
            "max_query_count": search.max_queries,
            "answer": 1,
            "with_filter": False,
        },
        "compare_candidates": [[node.to_dict(with_children=False) for node in chain[1:]]] if win else [],
        "answer_generation": generation,
    }


def answer_file_name(query_id: Any, beam_width: int, tag: str = "hfx") -> str:
    """ToolBench's answer-file name: ``<query_id>_<tag>_DFS_woFilter_w<beam>.json`` (``CoT@1`` for beam 1)."""
    method = "CoT@1" if beam_width == 1 else f"DFS_woFilter_w{beam_width}"
    return f"{query_id}_{tag}_{method}.json"


def summarize_answer_file(path: str | Path) -> dict[str, Any]:
    """``win``, ``final_answer`` (text or ``None``), ``query_count`` and ``api_calls`` (calls of existing
    functions other than ``Finish``, in the whole tree) of one answer file."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        generation = record["answer_generation"]
        root = record["tree"]["tree"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise HFExtError(f"{path}: not a ToolBench answer file ({error})") from None

    def api_calls(node: dict) -> int:
        own = node.get("node_type") == "Action" and node.get("description") != "Finish"
        if own and node.get("children"):  # a hallucinated name (code 1) reached no API
            own = node["children"][0].get("observation_code") != ObservationCode.UNKNOWN_FUNCTION
        return int(own) + sum(api_calls(child) for child in node.get("children", []))

    return {
        "win": bool(record.get("win")),
        "final_answer": final_answer_of(generation.get("final_answer") or ""),
        "query_count": int(generation.get("query_count", 0)),
        "api_calls": api_calls(root),
    }


def run_dfsdt(
    policy: Policy | Any,
    env: ToolEnvironment,
    queries: Sequence[dict[str, Any]],
    beam_width: int = 2,
    max_steps: int = 12,
    max_queries: int = 200,
    out_dir: str | os.PathLike = "answers",
    tag: str = "hfx",
    resume: bool = True,
    progress: bool = True,
) -> list[DFSDTResult]:
    """Grow one DFSDT tree per query with ``policy`` in ``env`` and write it to ``out_dir``.

    Args:
        policy: a callable from messages to text, a ``(model, tokenizer)`` pair (wrapped in
            :class:`TransformersPolicy`), or a ``vllm.LLM`` (wrapped in
            :class:`~hf_ext.agents.vllm_policy.VLLMPolicy` with its defaults).
        env: any :class:`~hf_ext.agents.tools.base.ToolEnvironment`; reset for each query.
        queries: ToolBench queries (``api_list``, ``query``, ``query_id``).
        beam_width: candidate steps per state (ToolBench: 2; 1 is CoT@1).
        max_steps: a branch is cut at this node depth (ToolBench's ``single_chain_max_step``).
        max_queries: policy calls per query (ToolBench's ``max_query_count``).
        out_dir: folder of answer files; created if needed.
        tag: the model name in file names.
        resume: skip queries whose answer file exists (a finished earlier run); with ``False`` an existing
            file is an error, never overwritten.
        progress: show a tqdm bar.
    """
    if beam_width < 1 or max_steps < 1 or max_queries < 1:
        raise HFExtError(
            f"beam_width, max_steps and max_queries must be >= 1, got {beam_width}, {max_steps}, "
            f"{max_queries}"
        )
    if isinstance(policy, tuple) and len(policy) == 2:
        policy = TransformersPolicy(*policy)
    elif is_vllm_engine(policy):
        policy = VLLMPolicy(policy)
    if not callable(policy):
        raise HFExtError(
            f"policy must be callable, a (model, tokenizer) pair or a vllm.LLM, got {type(policy).__name__}"
        )
    ids = [query.get("query_id") for query in queries]
    if None in ids or len(set(map(str, ids))) != len(ids):
        raise HFExtError("every query needs a distinct 'query_id'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for query in tqdm(queries, desc="DFSDT", unit="query", disable=not progress):
        path = out / answer_file_name(query["query_id"], beam_width, tag)
        if path.exists():
            if not resume:
                raise HFExtError(f"{path} exists; resume the run or choose an empty out_dir")
            summary = summarize_answer_file(path)
            results.append(DFSDTResult(query["query_id"], path, resumed=True, **summary))
            continue
        search = _Search(policy, env, beam_width, max_steps, max_queries)
        root = search.run(query)
        record = tree_record(search, root, query)
        atomic_write_text(path, json.dumps(record, ensure_ascii=False, indent=2))
        results.append(DFSDTResult(query["query_id"], path, **summarize_answer_file(path)))
    return results


class TransformersPolicy:
    """A transformers causal LM as a DFSDT policy: chat template, sampling, one step per call.

    Messages are rendered for the tokenizer's chat template with :func:`chat_messages` (assistant steps
    as ToolLLaMA text, observations in role ``function_role``). ``last_token_count`` is the number of tokens
    generated by the latest call. Sampling is seeded per call from ``seed`` and a call counter, so a run is
    reproducible.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_new_tokens: int = 96,
        temperature: float = 1.0,
        do_sample: bool = True,
        seed: int = 0,
        function_role: str = "tool",
        max_prompt_tokens: int | None = None,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.do_sample = max_new_tokens, temperature, do_sample
        self.seed, self.calls, self.function_role = seed, 0, function_role
        self.max_prompt_tokens = max_prompt_tokens
        self.last_token_count = 0

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        import torch

        chat = chat_messages(messages, function_role=self.function_role)
        prompt = self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        if self.max_prompt_tokens is not None:  # keep the end of a long history (system prompt may be cut)
            inputs = {k: v[:, -self.max_prompt_tokens :] for k, v in inputs.items()}
        inputs = {k: v.to(self.model.device) for k, v in inputs.items()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + self.calls)
            output = self.model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=self.do_sample,
                temperature=self.temperature if self.do_sample else None,
                top_p=None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        self.calls += 1
        new = output[0, inputs["input_ids"].shape[1] :]
        self.last_token_count = int(new.shape[0])
        return self.tokenizer.decode(new, skip_special_tokens=True)
