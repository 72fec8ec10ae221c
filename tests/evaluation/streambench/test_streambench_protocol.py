"""The stream loop: order of the five stages, the feedback update receives, learning with a copying model,
resume mid-stream, and the offline streams' checkers."""

import json

import numpy as np
import pytest

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import offline_docs, rolling_accuracy, run_stream, stream_order
from hf_ext.evaluation.streambench.agents import Agent, AgentConfig, make_agent
from hf_ext.evaluation.streambench.benches import bench_of, get_bench
from hf_ext.testing.streambench import ScriptedCopier


class EventAgent(Agent):
    name = "events"

    def __init__(self, events):
        super().__init__([lambda prompt, n: "1. Flu"])
        self.events = events

    def __call__(self, bench, doc):
        self.events.append(("input", doc["profile"]))
        return self.generate(bench.prompt(doc))

    def update(self, bench, doc, output, feedback):
        self.events.append(("update", doc["profile"], output, feedback.correct, feedback.ground_truth))
        return super().update(bench, doc, output, feedback)


def test_stages_run_in_order_and_update_gets_the_feedback(monkeypatch):
    events = []
    bench = get_bench("label")
    real_score = type(bench).score
    monkeypatch.setattr(
        type(bench),
        "score",
        lambda self, out, doc, s=None: events.append(("score", doc["profile"])) or real_score(self, out, doc),
    )
    docs = [
        {"hfx_bench": "label", "profile": f"p{i}", "label": label, "labels": ["Cold", "Flu"]}
        for i, label in enumerate(["Flu", "Cold", "Flu"])
    ]
    result = run_stream(docs, EventAgent(events), progress=False)
    assert events == [
        ("input", "p0"),
        ("score", "p0"),
        ("update", "p0", "1. Flu", True, None),
        ("input", "p1"),
        ("score", "p1"),
        ("update", "p1", "1. Flu", False, None),
        ("input", "p2"),
        ("score", "p2"),
        ("update", "p2", "1. Flu", True, None),
    ]
    assert result.correct == [1.0, 0.0, 1.0] and result.curve() == pytest.approx([1, 0.5, 2 / 3])


def test_ground_truth_mode_passes_the_gold_reply():
    events = []
    agent = EventAgent(events)
    agent.config = AgentConfig(feedback="ground_truth")
    doc = {"hfx_bench": "label", "profile": "p", "label": "Cold", "labels": ["Cold", "Flu"]}
    run_stream([doc], agent, progress=False)
    assert events[-1] == ("update", "p", "1. Flu", False, "0. Cold")


def test_stream_order_is_datasets_shuffle():
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"i": list(range(50))})
    assert data.shuffle(seed=7)["i"] == stream_order(50, 7)
    assert stream_order(50, 2) != stream_order(50, 3)


def test_rolling_accuracy():
    assert rolling_accuracy([1, 0, 0, 1]) == pytest.approx([1, 0.5, 1 / 3, 0.5])
    assert rolling_accuracy([1, 0, 0, 1], window=2) == pytest.approx([1, 0.5, 0, 0.5])


def copier_for(docs, **kwargs):
    gold = {bench_of(d).question(d): bench_of(d).gold_answer(d) for d in docs}
    return ScriptedCopier(gold, **kwargs)


@pytest.mark.parametrize("stream", ["multihop", "sql"])
def test_copying_model_learns_with_self_stream_icl_and_not_zero_shot(stream):
    rises, accuracies = {"zeroshot": [], "self_stream_icl": []}, {"zeroshot": [], "self_stream_icl": []}
    for data_seed in (0, 1, 2):  # averaged over three streams: one stream's thirds are noisy
        docs = offline_docs(stream, n=210, seed=data_seed)
        for name in rises:
            agent = make_agent(name, [copier_for(docs)], AgentConfig(backend="numpy"))
            result = run_stream(docs, agent, progress=False)
            rises[name].append(np.mean(result.correct[-70:]) - np.mean(result.correct[:70]))
            accuracies[name].append(result.accuracy)
    assert abs(np.mean(rises["zeroshot"])) < 0.08  # flat near p_correct = 0.3
    assert 0.2 < np.mean(accuracies["zeroshot"]) < 0.4
    assert np.mean(rises["self_stream_icl"]) > 0.1  # rises as correct answers accumulate
    assert np.mean(accuracies["self_stream_icl"]) > np.mean(accuracies["zeroshot"]) + 0.12


def test_resume_mid_stream_gives_the_same_result(tmp_path):
    docs = offline_docs("multihop", n=40, seed=3)
    make = lambda: make_agent("self_stream_icl", [copier_for(docs)], AgentConfig(backend="numpy", top_k=4))  # noqa: E731
    full = run_stream(docs, make(), log_dir=tmp_path / "full", progress=False)
    partial = run_stream(docs, make(), log_dir=tmp_path / "cut", max_steps=17, progress=False)
    assert len(partial.steps) == 17
    with pytest.raises(HFExtError, match="resume the run"):
        run_stream(docs, make(), log_dir=tmp_path / "cut", progress=False)
    resumed = run_stream(docs, make(), log_dir=tmp_path / "cut", resume=True, progress=False)
    assert resumed.correct == full.correct and resumed.accuracy == full.accuracy
    assert [s.output for s in resumed.steps] == [s.output for s in full.steps]
    lines = (tmp_path / "cut" / "steps.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(40))
    curve = json.loads((tmp_path / "cut" / "curve.json").read_text())["accuracy"]
    assert curve == pytest.approx(full.curve())


def test_resume_refuses_other_settings(tmp_path):
    docs = offline_docs("diagnosis", n=5)
    run_stream(
        docs, make_agent("mem_prompt", [lambda p, n: "0."]), log_dir=tmp_path, max_steps=2, progress=False
    )
    with pytest.raises(HFExtError, match="another agent config"):
        run_stream(
            docs,
            make_agent("mem_prompt", [lambda p, n: "0."], AgentConfig(top_k=3)),
            log_dir=tmp_path,
            resume=True,
            progress=False,
        )
    with pytest.raises(HFExtError, match="belongs to agent 'mem_prompt'"):
        run_stream(
            docs,
            make_agent("grow_prompt", [lambda p, n: "0."]),
            log_dir=tmp_path,
            resume=True,
            progress=False,
        )


@pytest.mark.parametrize("stream", ["sql", "diagnosis", "multihop"])
def test_offline_streams_score_gold_right_and_repeat_structure(stream):
    docs = offline_docs(stream, n=120, seed=0)
    assert docs == offline_docs(stream, n=120, seed=0)
    assert docs != offline_docs(stream, n=120, seed=1)
    bench = bench_of(docs[0])
    assert all(bench.score(bench.gold_answer(d), d)["acc"] == 1.0 for d in docs)
    wrong = [bench.score(bench.gold_answer(docs[(i + 1) % len(docs)]), d)["acc"] for i, d in enumerate(docs)]
    assert np.mean(wrong) < 0.5  # the checker tells answers apart
    if stream != "diagnosis":
        assert len({bench.question(d) for d in docs}) < 0.8 * len(docs)  # repeats that memory can exploit


def test_unknown_bench_and_missing_fields():
    with pytest.raises(HFExtError, match="hfx_bench"):
        bench_of({"question": "q"})
    with pytest.raises(HFExtError, match="lacks field"):
        bench_of({"hfx_bench": "sql", "question": "q"})
