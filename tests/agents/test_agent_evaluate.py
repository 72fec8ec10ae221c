"""Pass-rate accounting (unanswered queries are failures and are listed), the judge hook, and the CLI."""

from __future__ import annotations

import json

import pytest

from hf_ext.agents.dfsdt import run_dfsdt
from hf_ext.agents.evaluate import evaluate_tool_agent, load_queries, score_answers
from hf_ext.agents.scripted import ScriptedWorldPolicy
from hf_ext.agents.tools import OfflineToolWorld
from hf_ext.cli import main
from hf_ext.errors import HFExtError


def _answer(query, text):
    return f"Action: Finish\nAction Input: {json.dumps({'return_type': 'give_answer', 'final_answer': text})}"


GIVE_UP = 'Action: Finish\nAction Input: {"return_type": "give_up_and_restart"}'


def test_pass_rate_counts_unanswered_queries_as_failures(tmp_path):
    world = OfflineToolWorld()
    queries = world.generate_queries(3, "G1", seed=0) + world.generate_queries(3, "G2", seed=0)
    replies = {
        queries[0]["query"]: _answer(queries[0], " and ".join(map(str, queries[0]["gold_answer"]))),  # right
        queries[1]["query"]: _answer(queries[1], "no idea, maybe 12345.678"),  # answered, wrong
        queries[2]["query"]: GIVE_UP,  # never answers
        queries[3]["query"]: _answer(queries[3], " ".join(map(str, queries[3]["gold_answer"]))),  # right
        queries[4]["query"]: GIVE_UP,
    }  # queries[5] is never run: its answer file is missing

    def policy(messages):
        return replies[messages[1]["content"]]

    run_dfsdt(policy, world, queries[:5], out_dir=tmp_path, progress=False)
    report = score_answers(tmp_path, queries, world.check_answer)
    assert report.overall.queries == 6 and report.overall.solved == 2 and report.overall.answered == 3
    assert report.pass_rate == pytest.approx(2 / 6)  # not 2/5 or 2/3: unanswered and missing count
    assert report.unanswered == [queries[2]["query_id"], queries[4]["query_id"], queries[5]["query_id"]]
    g1, g2 = report.groups["G1"], report.groups["G2"]
    assert (g1.solved, g1.queries, len(g1.unanswered)) == (1, 3, 1)
    assert (g2.solved, g2.queries, len(g2.unanswered)) == (1, 3, 2)
    assert g1.mean_steps == pytest.approx((1 + 1 + 2) / 3)  # a give-up at the root is retried once
    assert "| all | 6 | 2 | 0.333 | 3 |" in report.format_table()


def test_evaluate_runs_dfsdt_and_cot(tmp_path):
    world = OfflineToolWorld(seed=0, fault_rate=0.2)
    queries = [q for g in ("G1", "G2", "G3") for q in world.generate_queries(4, g, seed=2)]
    noisy = ScriptedWorldPolicy(queries, noise=0.4, seed=1)
    dfsdt = evaluate_tool_agent(noisy, world, queries, method="dfsdt", out_dir=tmp_path / "d", progress=False)
    cot = evaluate_tool_agent(noisy, world, queries, method="cot", out_dir=tmp_path / "c", progress=False)
    assert set(dfsdt.groups) == {"G1", "G2", "G3"}
    assert dfsdt.pass_rate >= cot.pass_rate  # DFSDT only adds chances: same policy, same first chain
    assert len(list((tmp_path / "c").glob("*_CoT@1.json"))) == 12
    with pytest.raises(HFExtError, match="method"):
        evaluate_tool_agent(noisy, world, queries, method="bfs")


def test_judge_hook_reports_win_rate_against_a_reference(tmp_path):
    world = OfflineToolWorld()
    queries = world.generate_queries(4, "G1", seed=0)
    for query in queries:
        query["reference_answer"] = "I do not know."
    expert = ScriptedWorldPolicy(queries[:3])

    def policy(messages):  # answers three queries, gives up on the last
        return expert(messages) if messages[1]["content"] != queries[3]["query"] else GIVE_UP

    def judge(prompt):  # prefers the response that contains a digit, in either position
        first = prompt.split("Response A:")[1].split("Response B:")[0]
        second = prompt.split("Response B:")[1]
        a, b = any(c.isdigit() for c in first), any(c.isdigit() for c in second)
        return (0.0, -1.0) if a and not b else (-1.0, 0.0) if b and not a else (0.0, 0.0)

    report = evaluate_tool_agent(policy, world, queries, judge=judge, progress=False)
    digits = sum(any(c.isdigit() for c in str(q["gold_answer"])) for q in queries[:3])
    assert report.win_rate_vs_reference == pytest.approx((digits + 0.5 * (3 - digits)) / 4)


def test_load_queries_names_the_bad_item(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps([{"api_list": [], "query": "x", "query_id": 1}, {"query": "y"}]))
    with pytest.raises(HFExtError, match=r"q.json: query \[1\] is missing field 'api_list'"):
        load_queries(path)


def test_cli_collect_resume_and_eval(tmp_path, capsys):
    out = tmp_path / "trees"
    common = ["--groups", "G1", "G3", "--per-group", "2", "--scripted-noise", "0.3", "--fault-rate", "0.1"]
    assert main(["trees", "collect", *common, "--out", str(out)]) == 0
    files = sorted(out.glob("*.json"))
    assert len(files) == 4 and (out / "queries.jsonl").exists()
    assert main(["trees", "collect", *common, "--out", str(out)]) == 2  # refuses a non-empty --out
    assert "exists and is not empty" in capsys.readouterr().err
    files[0].unlink()
    assert main(["trees", "collect", *common, "--out", str(out), "--resume"]) == 0
    assert "(3 from an earlier run)" in capsys.readouterr().out
    assert main(["trees", "eval", "--groups", "G1", "G3", "--per-group", "2", "--answers", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| G1 | 2 |" in printed and "| all | 4 |" in printed
    report_dir = tmp_path / "report"
    assert (
        main(
            [
                "trees",
                "eval",
                "--groups",
                "G1",
                "--per-group",
                "2",
                "--scripted-noise",
                "0",
                "--method",
                "cot",
                "--out",
                str(report_dir),
            ]
        )
        == 0
    )
    assert json.loads((report_dir / "report.json").read_text())["overall"]["pass_rate"] == 1.0
    assert main(["trees", "eval", "--groups", "G1", "--per-group", "2"]) == 2  # no policy given
    assert "exactly one policy" in capsys.readouterr().err
