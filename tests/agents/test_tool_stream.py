"""The offline tool world as a StreamBench stream: gold calls that the world answers, the ToolBench checker on
hand cases, repetition a memory can use, and a scripted copying model that learns from it."""

import json

import pytest

from hf_ext.agents.tools import APIS, OfflineToolWorld
from hf_ext.agents.tools.offline_world import world_data
from hf_ext.agents.tools.stream import ALL_OFFLINE_STREAMS, offline_stream_docs, tool_stream_docs
from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import AgentConfig, make_agent, run_stream, stream_order
from hf_ext.evaluation.streambench.benches import bench_of
from hf_ext.testing.streambench import ScriptedCopier


def test_every_gold_call_is_valid_in_the_world_and_listed_in_the_prompt():
    docs = tool_stream_docs(120, seed=1)
    world = OfflineToolWorld()
    world.reset({"api_list": [api.api_list_entry() for api in APIS], "query": "stream"})
    for doc in docs:
        observation = world.call(doc["api_name"], json.loads(doc["api_input"]))
        assert observation.code == 0, (doc, observation)
        assert f"- {doc['api_name']}(" in doc["api_list"]
        assert f"User request: {doc['query']}" in bench_of(doc).prompt(doc)
    weather = next(d for d in docs if d["api_name"] == "current_weather_for_weathernow")
    city = json.loads(weather["api_input"])["city"]
    temperature = next(c for c in world_data()["cities"] if c["name"] == city)["weather"]["temp_c"]
    assert f"temperature in {city}" in weather["query"]
    response = json.loads(world.call(weather["api_name"], weather["api_input"]).text)["response"]
    assert response["temp_c"] == temperature


def test_stream_is_deterministic_repetitive_and_split():
    docs = tool_stream_docs(200, seed=0)
    assert docs == tool_stream_docs(200, seed=0)
    assert [d["doc_id"] for d in docs] == list(range(200))
    assert len({d["api_name"] for d in docs}) == 8  # the single-call G1 templates use eight APIs
    assert len({d["query"] for d in docs}) < 120  # many requests come back word for word
    train = tool_stream_docs(16, seed=0, split="train")
    assert [d["query"] for d in train] != [d["query"] for d in docs[:16]]
    assert offline_stream_docs("tools", n=5, seed=3) == tool_stream_docs(5, seed=3)
    assert offline_stream_docs("diagnosis", n=2)[0]["hfx_bench"] == "label"
    assert set(ALL_OFFLINE_STREAMS) == {"sql", "diagnosis", "multihop", "tools"}
    with pytest.raises(HFExtError, match="unknown offline stream 'toolz'"):
        offline_stream_docs("toolz")
    with pytest.raises(HFExtError, match="at least 1"):
        tool_stream_docs(0)
    with pytest.raises(HFExtError, match="split"):
        tool_stream_docs(3, split="dev")


def test_toolbench_checker_on_hand_cases():
    doc = next(d for d in tool_stream_docs(60) if d["api_name"] == "convert_length_for_unitconverter")
    bench, arguments = bench_of(doc), json.loads(doc["api_input"])
    name = doc["api_name"]

    def reply(api_name, api_input):
        return json.dumps({"api_name": api_name, "api_input": api_input})

    assert bench.score(bench.gold_answer(doc), doc) == {"acc": 1.0, "api_acc": 1.0}
    reordered = dict(reversed(list(arguments.items())))
    assert bench.score("Sure: " + reply(name, reordered) + " done", doc)["acc"] == 1.0  # order, prose ignored
    as_float = dict(arguments, value=float(arguments["value"]))
    assert bench.score(reply(name, as_float), doc)["acc"] == 1.0  # 3 and 3.0 are the same JSON number
    assert bench.score(reply(name, json.dumps(arguments)), doc)["acc"] == 1.0  # arguments as a JSON string
    wrong_unit = dict(arguments, to_unit="miles")
    assert bench.score(reply(name, wrong_unit), doc) == {"acc": 0.0, "api_acc": 1.0}
    missing = {k: v for k, v in arguments.items() if k != "from_unit"}
    assert bench.score(reply(name, missing), doc) == {"acc": 0.0, "api_acc": 1.0}
    assert bench.score(reply("convert_weight_for_unitconverter", arguments), doc) == {
        "acc": 0.0,
        "api_acc": 0.0,
    }
    assert bench.score("convert_length_for_unitconverter(3, km, mile)", doc) == {"acc": 0.0, "api_acc": 0.0}


def test_scripted_copier_learns_the_tool_stream_with_self_stream_icl_only():
    docs = tool_stream_docs(200, seed=0)
    stream = [docs[i] for i in stream_order(len(docs), 42)]
    gold = {d["query"]: bench_of(d).gold_answer(d) for d in docs}
    config = AgentConfig(backend="numpy")
    runs = {}
    for agent in ("zeroshot", "self_stream_icl", "mem_prompt"):
        copier = ScriptedCopier(gold, p_correct=0.3)
        runs[agent] = run_stream(stream, make_agent(agent, [copier], config), progress=False)
    zero, icl = runs["zeroshot"].correct, runs["self_stream_icl"].correct
    assert runs["self_stream_icl"].accuracy > runs["zeroshot"].accuracy + 0.15
    assert sum(icl[-66:]) > sum(icl[:66]) + 10  # rises over the stream
    assert abs(sum(zero[-66:]) - sum(zero[:66])) < 12  # zero-shot stays flat
    # MemPrompt's items are not "Question/answer" shots, so the copier finds nothing to copy there
    assert runs["mem_prompt"].accuracy == pytest.approx(runs["zeroshot"].accuracy, abs=0.08)
