"""Each agent's memory rule with scripted models: what is stored, window size, correct-only, round-robin,
most-similar-last order, and the retrieval backends against brute force."""

import numpy as np
import pytest

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.agents import AgentConfig, Feedback, make_agent
from hf_ext.evaluation.streambench.benches import CORRECT_TEXT, get_bench
from hf_ext.evaluation.streambench.memory import RetrievalMemory
from hf_ext.evaluation.streambench.retrieval import ExactIndex, HashingEmbedder, faiss_available

BENCH = get_bench("qa")


def doc(i, question=None):
    return {
        "hfx_bench": "qa",
        "question": question or f"question number {i}",
        "context": "c",
        "answer": f"a{i}",
    }


class Recorder:
    def __init__(self, reply="x"):
        self.prompts, self.reply = [], reply

    def __call__(self, prompt, max_tokens):
        self.prompts.append((prompt, max_tokens))
        return self.reply if isinstance(self.reply, str) else self.reply(prompt)


def feed(agent, n, correct=lambda i: True, output=lambda i: f"out{i}"):
    for i in range(n):
        agent(BENCH, doc(i))
        agent.update(BENCH, doc(i), output(i), Feedback(correct(i)))


def test_zeroshot_prompt_is_the_bench_prompt_and_memory_free():
    model = Recorder()
    agent = make_agent("zeroshot", [model])
    assert agent(BENCH, doc(0)) == "x"
    assert model.prompts == [(BENCH.prompt(doc(0)), 64)]
    assert agent.update(BENCH, doc(0), "x", Feedback(False)) is False


def test_grow_prompt_keeps_a_window_of_sixteen_in_order():
    model = Recorder()
    agent = make_agent("grow_prompt", [model])
    feed(agent, 20, correct=lambda i: i % 2 == 0)
    items = agent.memory.items()
    assert len(items) == 16
    assert items[0] == BENCH.memprompt_item(doc(4), "out4", True)
    assert items[-1] == BENCH.memprompt_item(doc(19), "out19", False)
    assert CORRECT_TEXT[False] in items[-1]
    agent(BENCH, doc(99))
    prompt = model.prompts[-1][0]
    positions = [prompt.index(f"Your answer: out{i}\n") for i in range(4, 20)]
    assert positions == sorted(positions)  # oldest first, all sixteen in the prompt
    assert "Your answer: out3\n" not in prompt


@pytest.mark.parametrize("mode, kept", [("only_correct", [0, 2, 4]), ("only_incorrect", [1, 3, 5])])
def test_grow_prompt_modes(mode, kept):
    agent = make_agent("grow_prompt", [Recorder()], AgentConfig(grow_mode=mode))
    feed(agent, 6, correct=lambda i: i % 2 == 0)
    assert agent.memory.items() == [BENCH.memprompt_item(doc(i), f"out{i}", i % 2 == 0) for i in kept]


def test_mem_prompt_stores_every_output_with_its_correctness():
    agent = make_agent("mem_prompt", [Recorder()], AgentConfig(backend="numpy"))
    feed(agent, 5, correct=lambda i: i < 2)
    assert agent.memory.keys == [f"question number {i}" for i in range(5)]
    assert agent.memory.values == [BENCH.memprompt_item(doc(i), f"out{i}", i < 2) for i in range(5)]


def test_self_stream_icl_stores_only_its_correct_outputs_as_shots():
    agent = make_agent("self_stream_icl", [Recorder()], AgentConfig(backend="numpy"))
    feed(agent, 6, correct=lambda i: i in (1, 4))
    assert agent.memory.values == [BENCH.shot(doc(1), "out1"), BENCH.shot(doc(4), "out4")]
    assert agent.step == 6


def test_ground_truth_feedback_stores_the_gold_answer():
    agent = make_agent("self_stream_icl", [Recorder()], AgentConfig(feedback="ground_truth", backend="numpy"))
    agent.update(BENCH, doc(0), "wrong", Feedback(False, ground_truth='{"answer": "a0"}'))
    assert agent.memory.values == [BENCH.shot(doc(0), '{"answer": "a0"}')]


def test_retrieval_puts_the_most_similar_shot_last_and_caps_top_k():
    model = Recorder()
    agent = make_agent("self_stream_icl", [model], AgentConfig(top_k=3, backend="numpy"))
    questions = [
        "what colour is the sky",
        "who wrote the iliad",
        "where is the louvre museum",
        "what colour is grass",
    ]
    for i, question in enumerate(questions):
        agent.update(BENCH, doc(i, question), f"answer {i}", Feedback(True))
    agent(BENCH, doc(9, "what colour is the sky at noon"))
    prompt = model.prompts[-1][0]
    shots = [
        line.removeprefix("Question: ") for line in prompt.splitlines() if line.startswith("Question: ")
    ][:-1]
    assert len(shots) == 3
    assert shots[-1] == "what colour is the sky"  # nearest, right above the new question
    assert shots[-2] == "what colour is grass"
    top = make_agent(
        "self_stream_icl", [model], AgentConfig(top_k=3, order="similar_at_top", backend="numpy")
    )
    top.memory = agent.memory
    top.memory.order = "similar_at_top"
    assert top.memory.retrieve("what colour is the sky at noon")[0] == BENCH.shot(
        doc(0, questions[0]), "answer 0"
    )


def test_empty_store_gives_the_zero_shot_prompt():
    model = Recorder()
    make_agent("self_stream_icl", [model])(BENCH, doc(0))
    assert model.prompts[0][0] == BENCH.prompt(doc(0))


def test_mam_stream_icl_answers_round_robin_from_one_shared_store():
    models = [Recorder(f"m{k}") for k in range(3)]
    agent = make_agent("ma_rr", models, AgentConfig(backend="numpy"))
    answers = []
    for i in range(7):
        answers.append(agent(BENCH, doc(i)))
        agent.update(BENCH, doc(i), answers[-1], Feedback(i == 1))  # model 1's answer at step 1 is correct
    assert answers == ["m0", "m1", "m2", "m0", "m1", "m2", "m0"]
    assert agent.memory.values == [BENCH.shot(doc(1), "m1")]
    assert "Question: question number 1\nm1" in models[2].prompts[0][0]  # model 2 sees model 1's shot


def test_self_refine_stops_at_no_need_to_refine():
    replies = iter(["draft", "The answer misses the year.", "better", "NO NEED TO REFINE", "never used"])
    model = Recorder(lambda prompt: next(replies))
    agent = make_agent("self_refine", [model])
    assert agent(BENCH, doc(0)) == "better"
    assert agent.calls == 4
    assert all(n == 512 for _, n in model.prompts)
    assert "Feedback 1:\nThe answer misses the year." in model.prompts[2][0]


def test_cot_returns_the_json_answer():
    agent = make_agent("cot", [Recorder('{"rationale": "r", "answer": "Paris"}')])
    assert agent(BENCH, doc(0)) == "Paris"


def test_fewshot_uses_fixed_shots_and_gt_answers_gold():
    model = Recorder()
    agent = make_agent(
        "fewshot", [model], AgentConfig(fewshot_k=2), shots=[(doc(i), f"s{i}") for i in range(5)]
    )
    agent(BENCH, doc(7))
    assert "Question: question number 1\ns1" in model.prompts[0][0] and "s2" not in model.prompts[0][0]
    assert make_agent("gt", [model])(BENCH, doc(3)) == BENCH.gold_answer(doc(3))


def test_config_and_name_errors():
    with pytest.raises(HFExtError, match="top_k"):
        AgentConfig(top_k=0)
    with pytest.raises(HFExtError, match="grow_mode"):
        AgentConfig(grow_mode="sometimes")
    with pytest.raises(HFExtError, match="unknown agent 'streamicl'"):
        make_agent("streamicl", [Recorder()])
    with pytest.raises(HFExtError, match="needs shots"):
        make_agent("fewshot", [Recorder()])


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_exact_search_matches_brute_force(backend):
    if backend == "faiss" and not faiss_available():
        pytest.skip("faiss not installed")
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(500, 32)).astype(np.float32)
    index = ExactIndex(32, backend=backend)
    index.add(rows[:200])
    index.add(rows[200:])
    for query in rng.normal(size=(5, 32)).astype(np.float32):
        expected = np.argsort(((rows - query) ** 2).sum(1), kind="stable")[:10].tolist()
        assert index.search(query, 10) == expected
    assert len(index.search(rows[0], 1000)) == 500


def test_memory_state_round_trips():
    memory = RetrievalMemory(top_k=2, backend="numpy", embedder=HashingEmbedder(dim=1024))
    for i in range(5):
        memory.add(f"key {i} text", f"value {i}")
    restored = RetrievalMemory(top_k=2, backend="numpy")
    restored.load_state_dict(memory.state_dict())
    assert restored.retrieve("key 3 text") == memory.retrieve("key 3 text")
    with pytest.raises(HFExtError, match="embedded with"):
        RetrievalMemory(embedder=HashingEmbedder(dim=64)).load_state_dict(memory.state_dict())


def test_without_faiss_auto_falls_back_to_numpy(monkeypatch):
    from hf_ext.evaluation.streambench import retrieval

    monkeypatch.setattr(retrieval, "faiss_available", lambda: False)
    assert retrieval.ExactIndex(8, backend="auto").backend == "numpy"
    with pytest.raises(HFExtError, match="hf-ext\\[faiss\\]"):
        retrieval.ExactIndex(8, backend="faiss")
    memory = RetrievalMemory(top_k=1)  # the agents' default backend "auto"
    memory.add("a b c", "first")
    memory.add("x y z", "second")
    assert memory.index.backend == "numpy" and memory.retrieve("x y") == ["second"]
