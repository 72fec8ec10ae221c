"""DFSDT: a scripted policy gives a known tree; files conform to ToolBench's schema and round-trip through
the tree loader and the preference miner; resume; a transformers model as the policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_ext.agents.dfsdt import TransformersPolicy, run_dfsdt
from hf_ext.agents.scripted import ScriptedWorldPolicy
from hf_ext.agents.tools import OfflineToolWorld
from hf_ext.data.tool_trees import (
    load_inference_trees,
    success_path,
    tree_preference_dataset,
    tree_sft_dataset,
)
from hf_ext.errors import HFExtError

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "toolbench" / "answer"
WEATHER = "current_weather_for_weathernow"


def _query():
    world = OfflineToolWorld()
    query = next(
        q
        for q in world.generate_queries(20, "G1", seed=0, distractors=0)
        if q["solution"][0]["name"] == WEATHER
    )
    return world, query


class ListPolicy:
    """Replies from a list, recording the conversations it was shown."""

    def __init__(self, replies):
        self.replies, self.seen = list(replies), []

    def __call__(self, messages):
        self.seen.append(messages)
        return self.replies.pop(0)


def _step(name, arguments, thought=None):
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Action: {name}\nAction Input: {json.dumps(arguments)}"


def _node(tree, *indices):
    node = tree["tree"]["tree"]
    for index in indices:
        node = node["children"][index]
    return node


def test_scripted_policy_gives_the_known_tree(tmp_path):
    world, query = _query()
    city = query["solution"][0]["arguments"]["city"]
    policy = ListPolicy(
        [
            _step(WEATHER, {"town": city}, thought="look it up"),  # code 12: the branch goes on
            _step("Finish", {"return_type": "give_up_and_restart"}),  # code 4: pruned
            _step("weather_for_mars", {}),  # code 1: pruned -> back to the root
            _step(WEATHER, {"city": city}, thought="try the right argument"),  # code 0
            _step(
                "Finish", {"return_type": "give_answer", "final_answer": str(query["gold_answer"][0])}, "done"
            ),
        ]
    )
    [result] = run_dfsdt(policy, world, [query], out_dir=tmp_path, progress=False)
    assert result.win and result.query_count == 5 and result.api_calls == 2
    assert result.path.name == f"{query['query_id']}_hfx_DFS_woFilter_w2.json"
    tree = json.loads(result.path.read_text())
    root = _node(tree)
    assert [c["node_type"] for c in root["children"]] == ["Thought", "Thought"]
    bad = _node(tree, 0, 0, 0)
    assert (bad["node_type"], bad["observation_code"], bad["pruned"], bad["child_count"]) == (
        "Action Input",
        12,
        False,
        2,
    )
    give_up, unknown = _node(tree, 0, 0, 0, 0, 0), _node(tree, 0, 0, 0, 1, 0)
    assert (give_up["observation_code"], give_up["pruned"], give_up["depth"]) == (4, True, 5)
    assert (unknown["observation_code"], unknown["pruned"]) == (1, True)
    leaf = _node(tree, 1, 0, 0, 0, 0, 0)
    assert (leaf["observation_code"], leaf["pruned"], leaf["is_terminal"], leaf["depth"]) == (
        3,
        False,
        True,
        6,
    )
    assert _node(tree, 1, 0, 0, 0, 0)["description"] == "Finish"
    assert tree["tree"]["size"] == 14 and tree["tree"]["max_length"] == 7
    # the diversity message: on each re-expansion, listing the earlier candidates, marked invalid
    diversity = [m[-1] for m in policy.seen if m[-1].get("valid") is False]
    assert len(diversity) == 2
    assert "Finish" in diversity[0]["content"] and "town" in diversity[1]["content"]
    assert WEATHER in diversity[1]["content"]
    assert "Your observation in this state was" in diversity[0]["content"]
    generation = tree["answer_generation"]
    assert generation["finish_type"] == "give_answer" and generation["query_count"] == 5
    assert json.loads(generation["final_answer"])["return_type"] == "give_answer"
    assert [len(m) for m in generation["train_messages"]] == [4, 6]
    assert generation["train_messages"][0][2]["valid"] is False  # only the latest diversity message is kept
    assert [n["depth"] for n in tree["compare_candidates"][0]] == [1, 2, 3, 4, 5, 6]


def test_depth_limit_and_query_budget_prune(tmp_path):
    world, query = _query()
    city = query["solution"][0]["arguments"]["city"]
    always = lambda messages: _step(WEATHER, {"city": city}, thought="again")  # noqa: E731
    [deep] = run_dfsdt(always, world, [query], max_steps=6, out_dir=tmp_path / "a", progress=False)
    tree = json.loads(deep.path.read_text())
    leaves = []
    stack = [tree["tree"]["tree"]]
    while stack:
        node = stack.pop()
        stack.extend(node["children"])
        if not node["children"]:
            leaves.append(node)
    assert not deep.win and deep.query_count == 6
    assert len(leaves) == 4 and all(
        n["pruned"] and n["depth"] == 6 and n["observation_code"] == 0 for n in leaves
    )
    assert tree["answer_generation"]["finish_type"] == "give_up" and tree["compare_candidates"] == []
    [budget] = run_dfsdt(always, world, [query], max_queries=3, out_dir=tmp_path / "b", progress=False)
    assert budget.query_count == 3 and not budget.win


def test_cot_is_a_single_chain(tmp_path):
    world, query = _query()
    policy = ListPolicy([_step("Finish", {"return_type": "give_up_and_restart"})])
    [result] = run_dfsdt(policy, world, [query], beam_width=1, out_dir=tmp_path, progress=False)
    assert result.query_count == 1 and result.path.name.endswith("_hfx_CoT@1.json")


# -- conformance with ToolBench's real files -------------------------------------------------------------

TOP = {"win", "tree", "forward_args", "compare_candidates", "answer_generation"}
GENERATION = {
    "valid_data",
    "query_count",
    "total_tokens",
    "final_answer",
    "finish_type",
    "function",
    "chain",
    "query",
}
NODE = {
    "is_terminal",
    "pruned",
    "finished",
    "depth",
    "node_type",
    "description",
    "Elo",
    "child_count",
    "expand_num",
    "children",
}
OPTIONAL_NODE = {"matching_time"}  # present in some of ToolBench's files


def conformance_problems(record: dict) -> list[str]:
    """The checks both ToolBench's files and ours must pass (schema, counts, success path)."""
    problems = []
    if set(record) != TOP:
        problems.append(f"top-level keys {sorted(record)}")
    generation = record["answer_generation"]
    if not GENERATION <= set(generation) <= GENERATION | {"train_messages"}:
        problems.append(f"answer_generation keys {sorted(generation)}")
    if record["win"] and "train_messages" not in generation:
        problems.append("a won tree without train_messages")
    if set(record["forward_args"]) != {
        "single_chain_max_step",
        "tree_beam_size",
        "max_query_count",
        "answer",
        "with_filter",
    }:
        problems.append("forward_args")
    count, stack = 0, [(record["tree"]["tree"], 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        extra = (
            {"observation", "observation_code", "io_state"} if node["node_type"] == "Action Input" else set()
        )
        if not NODE <= set(node) <= NODE | extra | OPTIONAL_NODE or node["depth"] != depth:
            problems.append(f"node fields/depth at depth {depth}: {sorted(node)}")
        if node["child_count"] != len(node["children"]):
            problems.append("child_count")
        stack.extend((child, depth + 1) for child in node["children"])
    if record["tree"]["size"] != count:
        problems.append("tree.size")
    [tree] = load_inference_trees([record])
    path = success_path(tree)
    if (path is not None) != bool(record["compare_candidates"]):
        problems.append("success path vs compare_candidates")
    if path is not None:
        on_path = [(n.node_type, n.description) for n in path[1:]]
        if on_path != [(n["node_type"], n["description"]) for n in record["compare_candidates"][0]]:
            problems.append("compare_candidates[0] is not the success path")
        steps = sum(n.node_type == "Action Input" for n in path[1:])
        if len(generation["train_messages"]) < steps:  # ToolBench sometimes splits a thought from its call
            problems.append("at least one train_messages list per step")
    return problems


def test_real_toolbench_files_pass_the_conformance_checks():
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/toolbench is absent")
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) == 15
    for path in files:
        assert conformance_problems(json.loads(path.read_text())) == [], path


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    world = OfflineToolWorld(seed=0, fault_rate=0.1)
    queries = [q for group in ("G1", "G2", "G3") for q in world.generate_queries(5, group, seed=1)]
    out = tmp_path_factory.mktemp("trees")
    results = run_dfsdt(
        ScriptedWorldPolicy(queries, noise=0.35, seed=2), world, queries, out_dir=out, progress=False
    )
    return world, queries, results, out


def test_our_files_pass_the_same_checks_and_round_trip(grown):
    world, queries, results, out = grown
    for result in results:
        assert conformance_problems(json.loads(result.path.read_text())) == [], result.path
    trees = load_inference_trees(out)
    assert len(trees) == len(queries)
    by_id = {r.query_id: r for r in results}
    for tree in trees:
        result = by_id[int(tree.query_id)]
        assert tree.win == result.win == (success_path(tree) is not None)
        assert [f["name"] for f in tree.functions][-1] == "Finish"
    assert sum(r.win for r in results) >= 10
    pairs = tree_preference_dataset(out, mode="step")
    assert len(pairs) >= 3  # the noisy expert fails and recovers, so branching nodes lie on success paths
    for row in pairs:
        assert row["prompt"][0]["role"] == "system" and row["prompt"][-1]["role"] in ("tool", "user")
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
    sft = tree_sft_dataset(out)
    assert len(sft) == sum(r.win for r in results)


def test_resume_skips_finished_queries(tmp_path):
    world = OfflineToolWorld()
    queries = world.generate_queries(4, "G1", seed=5)
    expert = ScriptedWorldPolicy(queries)
    calls = []

    def crashing(messages):
        calls.append(messages[1]["content"])
        if messages[1]["content"] == queries[2]["query"]:
            raise KeyboardInterrupt
        return expert(messages)

    with pytest.raises(KeyboardInterrupt):
        run_dfsdt(crashing, world, queries, out_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.json"))) == 2 and not list(tmp_path.glob("*.tmp"))
    calls.clear()
    results = run_dfsdt(expert, world, queries, out_dir=tmp_path, progress=False)
    assert [r.resumed for r in results] == [True, True, False, False]
    assert all(r.win for r in results)
    with pytest.raises(HFExtError, match="exists"):
        run_dfsdt(expert, world, queries, out_dir=tmp_path, resume=False, progress=False)


def test_bad_settings_are_refused(tmp_path):
    world, query = _query()
    with pytest.raises(HFExtError, match="beam_width"):
        run_dfsdt(lambda m: "", world, [query], beam_width=0, out_dir=tmp_path)
    with pytest.raises(HFExtError, match="query_id"):
        run_dfsdt(lambda m: "", world, [query, query], out_dir=tmp_path)


def test_a_transformers_model_is_a_policy(tmp_path):
    from hf_ext.testing import tiny_causal_lm

    model, tokenizer = tiny_causal_lm("llama", num_hidden_layers=1)
    world, query = _query()
    policy = TransformersPolicy(model, tokenizer, max_new_tokens=8, seed=0)
    [first] = run_dfsdt(policy, world, [query], max_queries=3, out_dir=tmp_path / "a", progress=False)
    [again] = run_dfsdt(
        (model, tokenizer), world, [query], max_queries=3, out_dir=tmp_path / "b", progress=False
    )
    # an untrained model writes no valid call: both root slots are pruned (unknown function, code 1)
    assert first.query_count == policy.calls == 2 and not first.win and policy.last_token_count <= 8
    assert conformance_problems(json.loads(first.path.read_text())) == []
    assert load_inference_trees(first.path)[0].query == query["query"]
    assert again.query_count == 2


def test_search_prompts_are_prefixes_of_the_sft_text(tmp_path):
    """The policy is prompted with exactly the text SFT trains on: every prompt on the success path, as the
    chat template renders it, is a prefix of the rendered SFT conversation of that tree (a different system
    prompt at search time than in training made every trained model fail)."""
    from hf_ext.agents.dfsdt import chat_messages
    from hf_ext.testing import tiny_tokenizer

    world = OfflineToolWorld()
    queries = [q for g in ("G1", "G3") for q in world.generate_queries(2, g, seed=0, distractors=1)]
    tokenizer, expert, seen = tiny_tokenizer(), ScriptedWorldPolicy(queries), []

    def recording(messages):
        rendered = chat_messages(messages)
        seen.append(tokenizer.apply_chat_template(rendered, tokenize=False, add_generation_prompt=True))
        return expert(messages)

    run_dfsdt(recording, world, queries, out_dir=tmp_path, progress=False)
    texts = [
        tokenizer.apply_chat_template(row["messages"], tokenize=False) for row in tree_sft_dataset(tmp_path)
    ]
    assert len(texts) == len(queries) and len(seen) > len(queries)
    assert all(any(text.startswith(prompt) for text in texts) for prompt in seen)
