"""The hfx_streambench lm-eval tasks and the hfx-stream model: every YAML loads, simple_evaluate runs the
tiny model on two offline streams, a scripted copying model learns through the wrapper, resume, refusals."""

import json

import pytest

from hf_ext.agents.tools.stream import offline_stream_docs
from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import hub
from hf_ext.evaluation.streambench.benches import bench_of
from hf_ext.task_files import tasks_path
from hf_ext.testing.streambench import ScriptedCopier

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.api.registry import model_registry  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from hf_ext.evaluation.streambench.lm_eval_registration import register_lm_eval_models  # noqa: E402

OFFLINE = [
    "hfx_streambench_sql_offline",
    "hfx_streambench_diagnosis_offline",
    "hfx_streambench_multihop_offline",
    "hfx_streambench_tools_offline",
]
STREAM_LENGTH = 200  # long enough for repeated questions to come back after a correct answer
HUB = [
    f"hfx_streambench_{n}" for n in ("bird", "spider", "cosql", "ds1000", "toolbench", "ddxplus", "hotpotqa")
]


def task_manager(**metadata):
    return TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)


class CopierLM(LM):
    """A base model for hfx-stream: a ScriptedCopier over the gold answers of an offline stream."""

    calls = 0

    def __init__(self, p_correct=0.3, stream="multihop", **kwargs):
        super().__init__()
        docs = offline_stream_docs(stream, n=STREAM_LENGTH, seed=0)
        self.copier = ScriptedCopier(
            {bench_of(d).question(d): bench_of(d).gold_answer(d) for d in docs}, float(p_correct)
        )

    def generate_until(self, requests, disable_tqdm=False):
        CopierLM.calls += len(requests)
        return [self.copier(r.args[0], r.args[1]["max_gen_toks"]) for r in requests]

    def loglikelihood(self, requests):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests):
        raise NotImplementedError


@pytest.fixture(scope="module", autouse=True)
def registered():
    register_lm_eval_models()
    if "hfx-test-copier" not in model_registry:
        model_registry.register("hfx-test-copier", target=CopierLM)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from hf_ext.testing import save_tiny_causal_lm

    return str(save_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama")))


def test_every_yaml_loads_and_offline_docs_are_the_stream():
    manager = task_manager(num_samples=4, seed=3)
    assert set(OFFLINE + HUB) <= set(manager.all_tasks)
    loaded = manager.load(OFFLINE)["tasks"]
    for task in loaded.values():
        docs = list(task.test_docs())
        assert [d["doc_id"] for d in docs] == [0, 1, 2, 3]
        assert all(task.doc_to_text(d) == bench_of(d).prompt(d) for d in docs)
        assert len(list(task.fewshot_docs())) == 16
    assert loaded["hfx_streambench_diagnosis_offline"].config.generation_kwargs["max_gen_toks"] == 64


def test_hub_tasks_read_the_official_configs(monkeypatch, tmp_path):
    import datasets

    from hf_ext.evaluation.streambench.offline import sql_database_dir

    rows = {
        "bird": [
            {
                "db_id": "shop",
                "question": "How many products?",
                "evidence": "",
                "SQL": "SELECT count(*) FROM products",
            }
        ],
        "ddxplus": [{"PATIENT_PROFILE": "Age: 3", "PATHOLOGY": "Croup"}],
        "toolbench": [{"query": "weather?", "api_name": "weather", "api_input": '{"city": "Oslo"}'}],
        "ds_1000": [{"prompt": "p", "reference_code": "r", "code_context": "c", "metadata": {}}],
        "hotpotqa_distract": [
            {"question": "q", "answer": "a", "context": {"title": ["T"], "sentences": [["s1 ", "s2"]]}}
        ],
    }
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        return datasets.Dataset.from_list(rows[name])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    db_root = sql_database_dir(tmp_path / "dbs")
    manager = task_manager(db_path=str(db_root))
    loaded = manager.load(
        [
            "hfx_streambench_bird",
            "hfx_streambench_ddxplus",
            "hfx_streambench_toolbench",
            "hfx_streambench_ds1000",
            "hfx_streambench_hotpotqa",
        ]
    )["tasks"]
    assert sorted(calls) == sorted((hub.HUB_DATASET, name, "test") for name in rows)
    for task in loaded.values():
        doc = next(iter(task.test_docs()))
        assert (
            task.process_results(doc, [bench_of(doc).gold_answer(doc)])["acc"] == 1.0
            or doc["hfx_bench"] == "code"
        )
    ddx = next(iter(loaded["hfx_streambench_ddxplus"].test_docs()))
    assert bench_of(ddx).gold_answer(ddx) == f"{hub.DDXPLUS_LABELS.index('Croup')}. Croup"
    assert loaded["hfx_streambench_ds1000"].config.unsafe_code is True
    hot = next(iter(loaded["hfx_streambench_hotpotqa"].test_docs()))
    assert hot["context"] == "[T] s1 s2"
    with pytest.raises(HFExtError, match="'db_path' is required"):
        hub.hub_docs("spider", rows["bird"], None)
    with pytest.raises(HFExtError, match="not found"):
        hub.hub_docs("spider", [dict(rows["bird"][0], db_id="zoo")], db_root)
    with pytest.raises(HFExtError, match="outside the 49 labels"):
        hub.hub_docs("ddxplus", [{"PATIENT_PROFILE": "x", "PATHOLOGY": "Flu"}])


def test_simple_evaluate_runs_the_tiny_model_on_two_offline_streams(tiny_model_dir, tmp_path):
    log = tmp_path / "log"
    output = lm_eval.simple_evaluate(
        model="hfx-stream",
        model_args=f"base=hf,pretrained={tiny_model_dir},dtype=float32,agent=mem_prompt,retrieval=numpy,log_dir={log}",
        tasks=["hfx_streambench_sql_offline", "hfx_streambench_diagnosis_offline"],
        task_manager=task_manager(num_samples=3),
        gen_kwargs="max_gen_toks=6",
        bootstrap_iters=0,
        device="cpu",
    )
    for name in ("hfx_streambench_sql_offline", "hfx_streambench_diagnosis_offline"):
        samples = sorted(output["samples"][name], key=lambda s: s["doc_id"])
        steps = [json.loads(line) for line in (log / name / "steps.jsonl").read_text().splitlines()]
        assert [s["doc_id"] for s in steps] == [0, 1, 2]  # one by one, in doc_id order
        assert [s["resps"][0][0] for s in samples] == [s["output"] for s in steps]
        assert [s["acc"] for s in samples] == [s["metrics"]["acc"] for s in steps]
        assert output["results"][name]["acc,none"] == pytest.approx(sum(s["acc"] for s in samples) / 3)
        state = json.loads((log / name / "state.json").read_text())
        assert len(state["agent"]["memory"]["keys"]) == 3  # MemPrompt stored every step of this task only


def run_copier(agent, limit=None, stream="multihop", **extra):
    args = {"base": "hfx-test-copier", "agent": agent, "retrieval": "numpy", "stream": stream, **extra}
    task = f"hfx_streambench_{stream}_offline"
    output = lm_eval.simple_evaluate(
        model="hfx-stream",
        model_args=",".join(f"{k}={v}" for k, v in args.items()),
        tasks=[task],
        task_manager=task_manager(num_samples=STREAM_LENGTH, data_seed=0, seed=0),
        bootstrap_iters=0,
        limit=limit,
    )
    samples = sorted(output["samples"][task], key=lambda s: s["doc_id"])
    return output["results"][task]["acc,none"], [s["acc"] for s in samples]


def test_copying_model_learns_through_the_wrapper():
    zero, zero_steps = run_copier("zeroshot")
    icl, icl_steps = run_copier("self_stream_icl")
    oracle, _ = run_copier("gt")
    assert oracle == 1.0
    assert icl > zero + 0.1
    assert sum(icl_steps[-66:]) > sum(icl_steps[:66]) + 10  # the last third beats the first
    assert abs(sum(zero_steps[-66:]) - sum(zero_steps[:66])) < sum(icl_steps[-66:]) - sum(icl_steps[:66])


def test_copying_model_learns_the_offline_tool_stream_through_the_wrapper():
    zero, _ = run_copier("zeroshot", stream="tools")
    icl, icl_steps = run_copier("self_stream_icl", stream="tools")
    oracle, _ = run_copier("gt", stream="tools")
    assert oracle == 1.0
    assert icl > zero + 0.15
    assert sum(icl_steps[-66:]) > sum(icl_steps[:66]) + 10


def test_resume_mid_stream_through_the_wrapper(tmp_path):
    full, full_steps = run_copier("self_stream_icl", log_dir=tmp_path / "full")
    run_copier("self_stream_icl", limit=40, log_dir=tmp_path / "cut")  # stopped after 40 documents
    with pytest.raises(HFExtError, match="exists; resume"):
        run_copier("self_stream_icl", log_dir=tmp_path / "cut")
    CopierLM.calls = 0
    resumed, resumed_steps = run_copier("self_stream_icl", log_dir=tmp_path / "cut", resume="True")
    assert CopierLM.calls == STREAM_LENGTH - 40  # the first 40 steps came from the log
    assert resumed == full and resumed_steps == full_steps


def test_refusals(monkeypatch, tmp_path):
    with pytest.raises(HFExtError, match="response cache"):
        lm_eval.simple_evaluate(
            model="hfx-stream",
            model_args="base=hfx-test-copier",
            tasks=["hfx_streambench_multihop_offline"],
            task_manager=task_manager(num_samples=2),
            use_cache=str(tmp_path / "cache"),
        )
    with pytest.raises(HFExtError, match="agent=fewshot"):
        run_copier("fewshot")
    with pytest.raises(HFExtError, match="need agent=ma_rr"):
        run_copier("self_stream_icl", pretrained="a|b")
    with pytest.raises(HFExtError, match="data_parallel_size"):
        run_copier("zeroshot", data_parallel_size=2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(HFExtError, match="data parallel"):
        run_copier("zeroshot")


def test_mam_builds_one_base_per_model():
    from hf_ext.evaluation.streambench.lm_eval_model import StreamLM

    lm = StreamLM(base="hfx-test-copier", agent="ma_rr", pretrained="m1|m2|m3", retrieval="numpy")
    assert len(lm.bases) == 3
    agent, _, _ = lm.session("t")
    assert len(agent.models) == 3 and agent.name == "ma_rr"
    args = {"agent": "ma_dts", "pretrained": "m1|m2", "agent_seed": 4, "warmup_steps": 2, "dts_c": 50}
    lm = StreamLM(base="hfx-test-copier", retrieval="numpy", **args)
    agent, _, _ = lm.session("t")
    assert agent.name == "ma_dts" and len(agent.models) == 2
    assert (agent.config.seed, agent.config.warmup_steps, agent.arms.dynamic_c) == (4, 2, 50)
