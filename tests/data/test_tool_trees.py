"""Inference-tree loading and pair mining: the real ToolBench samples, and small trees with every trap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_ext.data.tool_trees import (
    load_inference_trees,
    load_tool_preference,
    pathwise_pairs,
    stepwise_pairs,
    success_path,
    tree_preference_dataset,
    tree_sft_dataset,
    tree_stats,
    write_tool_preference,
)
from hf_ext.errors import HFExtError
from hf_ext.testing.tool_trees import tool_tree, write_tool_trees

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "toolbench" / "answer"


@pytest.fixture(scope="module")
def real_trees():
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/toolbench is absent")
    return load_inference_trees(FIXTURES)


def _name(tree) -> str:
    return f"{Path(tree.source).parent.name[:2]}/{tree.query_id}"


# --- the real ToolBench samples ------------------------------------------------------------------------


def test_all_real_files_parse_and_nine_win(real_trees):
    assert len(real_trees) == 15 and real_trees.skipped == []
    assert sum(tree.win for tree in real_trees) == 9
    assert all(tree.functions[-1]["name"] == "Finish" for tree in real_trees)
    assert all(tree.forward_args["tree_beam_size"] == 2 for tree in real_trees)


def test_exactly_the_six_published_pairs(real_trees):
    counts = {_name(tree): len(stepwise_pairs(tree)) for tree in real_trees}
    assert {name: n for name, n in counts.items() if n} == {"G1/57": 1, "G2/52": 1, "G3/15": 2, "G3/3": 2}
    assert len(tree_preference_dataset(FIXTURES)) == 6


def test_success_path_matches_compare_candidates(real_trees):
    for tree in real_trees:
        path = success_path(tree)
        raw = json.loads(Path(tree.source).read_text())
        if not tree.win:
            assert path is None
            continue
        assert path[0] is tree.root and path[-1].observation_code == 3
        candidate = raw["compare_candidates"][0]
        assert [(n.node_type, n.description) for n in path[1:]] == [
            (n["node_type"], n["description"]) for n in candidate
        ]


def test_pairs_lie_on_the_success_path_and_siblings_fail(real_trees):
    for tree in real_trees:
        path = success_path(tree)
        if path is None:
            continue
        on_path = {id(node) for node in path}
        for index, node in enumerate(path[:-1]):
            if node.node_type != "Action Input" or len(node.children) < 2:
                continue
            chosen_child = path[index + 1]
            assert id(chosen_child) in on_path
            for sibling in node.children:
                if sibling is not chosen_child:
                    assert not any(n.observation_code == 3 and not n.pruned for n in sibling.walk())
        for pair in stepwise_pairs(tree):
            branching = next(n for n in path if n.depth == pair.depth and n.node_type == "Action Input")
            # the prompt ends with the branching node's observation (or the user query at the root)
            last = pair.prompt[-1]
            if branching.parent is None:
                assert last == {"role": "user", "content": tree.query}
            else:
                assert last == {"role": "tool", "content": branching.observation}
            chosen_child = path[path.index(branching) + 1]
            assert chosen_child.description.strip() in pair.chosen
            assert pair.chosen != pair.rejected


def test_worked_example_g1_57(real_trees):
    tree = next(tree for tree in real_trees if _name(tree) == "G1/57")
    (pair,) = stepwise_pairs(tree)
    assert pair.depth == 4
    assert pair.chosen.startswith("Thought: Based on the current state")
    assert pair.rejected.startswith("Action: search_for_seo_api\nAction Input: ")
    assert pair.prompt[0]["role"] == "system" and "products_for_seo_api" in pair.prompt[0]["content"]
    assert [m["role"] for m in pair.prompt] == ["system", "user", "assistant", "tool", "assistant", "tool"]


def test_real_stats_report_the_thought_bias(real_trees):
    stats = tree_stats(FIXTURES)
    assert (stats.files, stats.parsed, stats.wins, stats.success_paths) == (15, 15, 9, 9)
    assert (stats.branching_on_success_paths, stats.pairs) == (6, 6)
    assert stats.chosen_thought_only == 5 and stats.chosen_later_sibling == 6
    assert stats.observation_codes["3"] == 9


def test_real_thought_nodes_branch_but_make_no_pairs(real_trees):
    branching_thoughts = [
        node
        for tree in real_trees
        for node in tree.nodes()
        if node.node_type == "Thought" and len(node.children) > 1
    ]
    assert len(branching_thoughts) == 11
    assert all([c.node_type for c in node.children] == ["Action", "Thought"] for node in branching_thoughts)
    assert all(not node.is_success_leaf for tree in real_trees for node in tree.nodes() if node.pruned)


# --- traps on small trees -------------------------------------------------------------------------------


def _load(*trees):
    return load_inference_trees(list(trees))


def test_lost_tree_gives_no_pairs_even_with_give_answer_finish_type():
    (tree,) = _load(tool_tree(seed=3, branch_depths=(0, 1), win=False, finish_type="give_answer"))
    assert success_path(tree) is None and stepwise_pairs(tree) == [] and pathwise_pairs(tree) == []


def test_win_without_a_code_3_leaf_gives_no_path():
    raw = tool_tree(seed=4, branch_depths=(0,))
    leaf = raw["tree"]["tree"]
    while leaf["children"]:
        leaf = leaf["children"][-1]
    leaf["observation_code"] = 0  # give_answer reached per "win", but no node says so
    (tree,) = _load(raw)
    assert tree.win and success_path(tree) is None


def test_is_terminal_is_ignored():
    raw = tool_tree(seed=5, branch_depths=(0,))
    first = raw["tree"]["tree"]["children"][0]
    first["is_terminal"] = True  # a failed node marked terminal must not become a success
    (tree,) = _load(raw)
    assert len(stepwise_pairs(tree)) == 1


def test_thought_branching_on_the_path_is_walked_not_paired():
    (tree,) = _load(tool_tree(seed=6, steps=2, branch_depths=(), thought_branching=True))
    path = success_path(tree)
    assert [n.node_type for n in path[:4]] == ["Action Input", "Thought", "Thought", "Action"]
    assert stepwise_pairs(tree) == []
    (messages,) = tree_sft_dataset([tool_tree(seed=6, steps=2, branch_depths=(), thought_branching=True)])[
        "messages"
    ]
    assert (
        messages[2]["content"].startswith("Thought: Step 0") and "On second thought" in messages[2]["content"]
    )


def test_diversity_messages_never_reach_prompts_or_sft():
    raw = tool_tree(seed=7, steps=3, branch_depths=(0, 2))
    assert any(
        "previous actions candidates" in m["content"] for m in raw["answer_generation"]["train_messages"][0]
    )
    data = tree_preference_dataset([raw])
    sft = tree_sft_dataset([raw])
    texts = [m["content"] for row in data["prompt"] for m in row] + [m["content"] for m in sft[0]["messages"]]
    assert len(data) == 2 and not any("previous actions candidates" in text for text in texts)
    assert [m["role"] for m in sft[0]["messages"]] == ["system", "user"] + ["assistant", "tool"] * 3 + [
        "assistant"
    ]
    assert '"give_answer"' in sft[0]["messages"][-1]["content"]


def test_identical_sibling_texts_are_dropped_by_dedup():
    raw = tool_tree(seed=8, steps=2, branch_depths=(0, 1), identical_sibling_at=1)
    (tree,) = _load(raw)
    pairs = stepwise_pairs(tree)
    assert len(pairs) == 2 and pairs[1].chosen == pairs[1].rejected
    assert len(tree_preference_dataset([raw])) == 1
    assert len(tree_preference_dataset([raw], dedup=False)) == 2
    assert tree_stats([raw]).dropped_identical == 1


def test_repeated_trees_are_deduplicated_and_capped():
    raw = tool_tree(seed=9, steps=2, branch_depths=(0, 1, 2))
    assert len(tree_preference_dataset([raw, raw])) == 3
    assert len(tree_preference_dataset([raw, raw], dedup=False)) == 6
    assert tree_preference_dataset([raw], max_pairs_per_tree=1)["depth"] == [0]


def test_step_columns_and_serialisation(tmp_path):
    raw = tool_tree(seed=10, steps=2, branch_depths=(1,), query_id=42)
    assert tree_preference_dataset([raw])["query_id"] == ["0"]  # dicts without a query_id: their index
    (tmp_path / "42_ChatGPT_DFS_woFilter_w2.json").write_text(json.dumps(raw))
    data = tree_preference_dataset(tmp_path)
    (row,) = data
    assert (
        row["query_id"] == "42"
        and row["depth"] == 3
        and row["rejected_observation_code"] in (0, 1, 6, 11, 12)
    )
    (chosen,) = row["chosen"]
    assert chosen["role"] == "assistant"
    lines = chosen["content"].split("\n")
    assert (
        lines[0].startswith("Thought: ") and lines[1].startswith("Action: ") and lines[2] == "Action Input: {"
    )
    no_thought = tree_preference_dataset([raw], include_thought=False)[0]
    assert no_thought["chosen"][0]["content"].startswith("Action: ")


def test_pathwise_pairs_compare_whole_trajectories():
    raw = tool_tree(seed=11, steps=2, branch_depths=(0,))
    (tree,) = _load(raw)
    (pair,) = pathwise_pairs(tree)
    assert [m["role"] for m in pair.chosen] == ["assistant", "tool", "assistant", "tool", "assistant"]
    assert '"give_answer"' in pair.chosen[-1]["content"]
    assert pair.rejected[0]["role"] == "assistant" and all(
        "give_answer" not in m["content"] for m in pair.rejected
    )
    (step_pair,) = stepwise_pairs(tree)
    assert pair.prompt == step_pair.prompt and pair.chosen[0]["content"] == step_pair.chosen
    data = tree_preference_dataset([raw], mode="path")
    assert len(data) == 1 and len(data[0]["chosen"]) == 5


def test_tool_preference_round_trip(tmp_path):
    data = tree_preference_dataset([tool_tree(seed=12, steps=3, branch_depths=(0, 2))])
    target = tmp_path / "dpo_preferencepairs_train.json"
    assert write_tool_preference(data, target) == 2
    records = json.loads(target.read_text())
    assert set(records[0]) == {"instruction", "input", "output", "category", "id"}
    loaded = load_tool_preference(target)
    assert loaded["chosen"] == data["chosen"] and loaded["rejected"] == data["rejected"]
    assert [p[0] for p in loaded["prompt"]] == [p[0] for p in data["prompt"]]  # the system message
    assert data[1]["prompt"][-1]["content"] in loaded[1]["prompt"][-1]["content"]
    with pytest.raises(HFExtError, match="exists"):
        write_tool_preference(data, target)


def test_tool_preference_errors_name_the_record(tmp_path):
    bad = tmp_path / "pairs.json"
    bad.write_text(
        json.dumps([{"instruction": "s", "input": "i", "output": ["a", "b"]}, {"instruction": "s"}])
    )
    with pytest.raises(HFExtError, match=r"pairs.json: \$\[1\]\.input: expected a string"):
        load_tool_preference(bad)
    bad.write_text(json.dumps([{"instruction": "s", "input": "i", "output": ["only one"]}]))
    with pytest.raises(HFExtError, match=r"\$\[0\]\.output"):
        load_tool_preference(bad)


# --- loading: sources and errors --------------------------------------------------------------------------


def test_folder_glob_and_file_sources(tmp_path):
    paths = write_tool_trees(tmp_path / "trees" / "G1", count=5, seed=1)
    assert len(load_inference_trees(tmp_path / "trees")) == 5  # recursive
    assert len(load_inference_trees(str(tmp_path / "trees" / "*" / "*.json"))) == 5
    (single,) = load_inference_trees(paths[3])
    assert single.query_id == "3" and single.source == str(paths[3])
    with pytest.raises(HFExtError, match="no such file or folder"):
        load_inference_trees(tmp_path / "missing")
    with pytest.raises(FileExistsError):
        write_tool_trees(tmp_path / "trees" / "G1", count=1, seed=1)


def test_errors_name_file_and_json_path(tmp_path):
    raw = tool_tree(seed=13, steps=2, branch_depths=(0,))
    raw["tree"]["tree"]["children"][1]["children"][0]["node_type"] = "Acton"
    bad = tmp_path / "7_ChatGPT_DFS_woFilter_w2.json"
    bad.write_text(json.dumps(raw))
    where = r"7_ChatGPT_DFS_woFilter_w2.json: \$\.tree\.tree\.children\[1\]\.children\[0\]\.node_type"
    with pytest.raises(HFExtError, match=where + ": expected one of"):
        load_inference_trees(bad)
    raw = tool_tree(seed=13)
    raw["win"] = "yes"
    (tmp_path / "8_x.json").write_text(json.dumps(raw))
    with pytest.raises(HFExtError, match=r"8_x.json: \$\.win: expected bool, got str"):
        load_inference_trees(tmp_path / "8_x.json")
    raw["win"] = True
    del raw["answer_generation"]["query"]
    with pytest.raises(HFExtError, match=r"<trees>\[0\]: \$\.answer_generation\.query: missing"):
        load_inference_trees([raw])
    (tmp_path / "9_x.json").write_text('{"win": true,\n "tree": ')
    with pytest.raises(HFExtError, match=r"9_x.json: line 2: invalid JSON"):
        load_inference_trees(tmp_path / "9_x.json")


def test_skip_mode_counts_bad_files(tmp_path):
    write_tool_trees(tmp_path, count=3, seed=2)
    (tmp_path / "99_bad.json").write_text("[]")
    trees = load_inference_trees(tmp_path, errors="skip")
    assert len(trees) == 3 and len(trees.skipped) == 1
    assert (
        trees.skipped[0][0].endswith("99_bad.json")
        and "expected an answer-file object" in trees.skipped[0][1]
    )
    stats = tree_stats(tmp_path)
    assert (stats.files, stats.parsed, len(stats.skipped)) == (4, 3, 1)
    with pytest.raises(HFExtError, match="99_bad.json"):
        tree_preference_dataset(tmp_path)


def test_generated_corpus_pairs_match_a_brute_force_count(tmp_path):
    write_tool_trees(tmp_path, count=30, seed=3)
    expected = 0
    for path in sorted(tmp_path.glob("*.json")):
        raw = json.loads(path.read_text())
        if not raw["win"]:
            continue
        # brute force on the raw dicts: every Action Input with 2 children whose path child reaches code 3
        stack = [raw["tree"]["tree"]]
        while stack:
            node = stack.pop()
            stack.extend(node["children"])
            if node["node_type"] == "Action Input" and len(node["children"]) == 2:
                wins = [_reaches_success(c) for c in node["children"]]
                expected += wins.count(True) == 1
    assert expected > 5
    assert len(tree_preference_dataset(tmp_path, dedup=False)) == expected


def _reaches_success(node) -> bool:
    if node["node_type"] == "Action Input" and node.get("observation_code") == 3 and not node["pruned"]:
        return True
    return any(_reaches_success(child) for child in node["children"])


def test_folder_pairs_are_written_to_arrow_and_follow_file_changes(tmp_path):
    write_tool_trees(tmp_path, count=6, seed=4, win_rate=1.0)
    first = tree_preference_dataset(tmp_path)
    assert first.cache_files  # mined straight into an Arrow file, not held in memory
    assert len(first) == len(tree_preference_dataset(list(load_inference_trees(tmp_path))))
    raw = tool_tree(seed=99, steps=3, branch_depths=(0, 1, 2, 3))
    (tmp_path / "0_ChatGPT_DFS_woFilter_w2.json").write_text(json.dumps(raw))  # same name, new content
    second = tree_preference_dataset(tmp_path)
    assert "0" in second["query_id"] and second["query_id"].count("0") == 4
    assert len(tree_preference_dataset(tmp_path, mode="path")) == len(second)
