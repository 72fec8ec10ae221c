"""The hfx_babilong lm-eval tasks: every YAML loads, an end-to-end run reports per-length and per-depth
metrics that match the official rule, and the Hub source calls the real loader."""

import pytest

from hf_ext.evaluation.babilong import TASK_NAMES, compare_answers
from hf_ext.task_files import tasks_path
from hf_ext.tasks.babilong import utils

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.api.model import LM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from hf_ext.testing import save_tiny_causal_lm

    return str(save_tiny_causal_lm(tmp_path_factory.mktemp("tiny-llama")))


def task_manager(**metadata) -> TaskManager:
    """hf-ext's tasks only: indexing lm-eval's built-in tasks takes ~15 s on 2 cores."""
    return TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata)


def test_every_yaml_loads_and_the_tag_lists_all_twenty(tiny_model_dir):
    manager = task_manager(pretrained=tiny_model_dir, max_seq_lengths=[0, 1024], num_samples=2, reserve=0)
    names = [f"hfx_babilong_qa{n}" for n in range(1, 21)]
    assert set(names) <= set(manager.all_tasks)
    loaded = manager.load(["hfx_babilong"])["tasks"]
    assert sorted(loaded) == sorted(names)
    for name, task in loaded.items():
        docs = list(task.test_docs())
        assert [doc["length"] for doc in docs] == [0, 0, 1024, 1024]
        assert {doc["task"] for doc in docs} == {name.removeprefix("hfx_babilong_")}
        prompt = task.doc_to_text(docs[2])
        assert f"<context>\n{docs[2]['input']}\n</context>\n\nQuestion: {docs[2]['question']}" in prompt


EVERY_LABEL = "yes no bedroom cinema kitchen office park school"


class OracleForShortContexts(LM):
    """Answers with the gold target at length 0 and with every label at other lengths (always wrong)."""

    def __init__(self):
        super().__init__()
        self.prompts = []

    def generate_until(self, requests):
        answers = []
        for request in requests:
            self.prompts.append(request.args[0])
            doc = request.doc
            answers.append(f"{doc['target']}." if doc["length"] == 0 else EVERY_LABEL)
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests):
        raise NotImplementedError


def test_per_length_metrics_follow_the_answers(tiny_model_dir):
    manager = task_manager(tokenizer=tiny_model_dir, max_seq_lengths="0,512", num_samples=3, reserve=0)
    oracle = OracleForShortContexts()
    results = lm_eval.simple_evaluate(
        model=oracle, tasks=["hfx_babilong_qa6", "hfx_babilong_qa14"], task_manager=manager, bootstrap_iters=0
    )["results"]
    for name in ("hfx_babilong_qa6", "hfx_babilong_qa14"):
        assert results[name]["acc_0,none"] == 1.0
        assert results[name]["acc_512,none"] == 0.0
        assert results[name]["acc,none"] == pytest.approx(0.5)
        assert results[name]["acc_official,none"] == pytest.approx(0.5)  # the official rule agrees here
        depth_keys = [key for key in results[name] if key.startswith("acc_depth_") and "stderr" not in key]
        assert depth_keys and all(results[name][key] == 0.0 for key in depth_keys)
    assert all(prompt.rstrip().endswith("?") and "<context>" in prompt for prompt in oracle.prompts)


def test_end_to_end_with_a_tiny_local_model(tiny_model_dir):
    manager = task_manager(pretrained=tiny_model_dir, max_seq_lengths=[0, 1024], num_samples=2)
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model_dir},dtype=float32",
        tasks=["hfx_babilong_qa1", "hfx_babilong_qa2"],
        task_manager=manager,
        limit=4,
        device="cpu",
        bootstrap_iters=0,
    )
    for name in ("hfx_babilong_qa1", "hfx_babilong_qa2"):
        metrics = output["results"][name]
        samples = output["samples"][name]
        assert len(samples) == 4
        by_length = {0: [], 1024: []}
        for sample in samples:
            doc, reply = sample["doc"], sample["filtered_resps"][0]
            by_length[doc["length"]].append(
                compare_answers(doc["target"], reply, doc["question"], doc["task"])
            )
        assert metrics["acc_0,none"] == pytest.approx(sum(by_length[0]) / 2)
        assert metrics["acc_1024,none"] == pytest.approx(sum(by_length[1024]) / 2)
        assert "contains,none" in metrics


def test_hub_source_reads_the_official_dataset(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(
            {"input": ["ctx"], "question": ["Where is Mary?"], "target": ["garden"]}
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    data = utils.load_babilong(babilong_task="qa3", max_seq_lengths=[0, 4096, "1M"], source="hub")["test"]
    assert calls == [
        (utils.HUB_DATASET, "0k", "qa3"),
        (utils.HUB_DATASET, "4k", "qa3"),
        (utils.HUB_DATASET, "1M", "qa3"),
    ]
    # labelled by the length the data really has: decimal GPT-2 tokens (config 4k is 4000 tokens)
    assert data["length"] == [0, 4000, 10**6] and data["task"] == ["qa3"] * 3
    assert utils.metric_names(data[1]["length"], []) == ["acc_4000"]
    official = utils.load_babilong(
        babilong_task="qa3", max_seq_lengths="4k", source="hub", length_convention="official"
    )["test"]
    assert calls[-1] == (utils.HUB_DATASET, "4k", "qa3") and official["length"] == [4000]

    def missing_split(path, name=None, split=None, **kwargs):
        raise ValueError(f"Unknown split {split!r}")

    monkeypatch.setattr(datasets, "load_dataset", missing_split)
    with pytest.raises(ValueError, match="has no split 'qa13' in config '4k'"):
        utils.load_babilong(babilong_task="qa13", max_seq_lengths=[4096], source="hub")
    with pytest.raises(ValueError, match="no config for 5000 tokens"):
        utils.load_babilong(babilong_task="qa3", max_seq_lengths=[5000], source="hub")


def test_metadata_errors():
    with pytest.raises(ValueError, match="needs a tokenizer"):
        utils.load_babilong(babilong_task="qa1", max_seq_lengths=[0])
    with pytest.raises(ValueError, match="'generate' or 'hub'"):
        utils.load_babilong(babilong_task="qa1", source="somewhere")
    with pytest.raises(ValueError, match="not a token count"):
        utils.parse_lengths("0,-4k")
    assert utils.parse_lengths("0, 4k,1M") == [0, 4096, 2**20]
    assert utils.parse_lengths(None) == [4096]


def test_task_names_cover_all_tasks():
    from hf_ext.task_files import list_tasks

    found = {info.name: info.tags for info in list_tasks() if info.name.startswith("hfx_babilong")}
    assert sorted(found) == sorted(f"hfx_babilong_{task}" for task in TASK_NAMES)
    assert all(tags == ("hfx_babilong",) for tags in found.values())
