"""The HVFA lm-eval tasks: YAMLs load, the offline tasks run end to end with lm-eval's hf-multimodal model
on a tiny HVFA model, and the scores are lm-eval's mean of our ANLS / exact match per sample."""

import pytest
import yaml

from hf_ext.evaluation.anls import anls
from hf_ext.task_files import _TaskYamlLoader, list_tasks, tasks_path
from hf_ext.tasks.hvfa import utils

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.tasks import TaskManager  # noqa: E402

METADATA = {"num_pages": 3, "scale": 0.3, "max_target_words": 8}


def task_manager() -> TaskManager:
    return TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=METADATA)


def test_yamls_load_and_the_offline_docs_carry_images():
    manager = task_manager()
    assert {"hfx_docvqa", "hfx_synthdoc_qa", "hfx_synthdoc_rtpp"} <= set(manager.all_tasks)
    tasks = manager.load(["hfx_synthdoc"])["tasks"]
    assert sorted(tasks) == ["hfx_synthdoc_qa", "hfx_synthdoc_rtpp"]
    for task in tasks.values():
        docs = list(task.test_docs())
        assert len(docs) == 3 and docs[0]["image"].size[0] > 0
        assert task.doc_to_text(docs[0]).startswith("<image>")
    rtpp_doc = next(iter(tasks["hfx_synthdoc_rtpp"].test_docs()))
    assert tasks["hfx_synthdoc_rtpp"].doc_to_target(rtpp_doc) == rtpp_doc["target"]


def test_docvqa_reads_the_real_hub_dataset():
    info = next(task for task in list_tasks() if task.name == "hfx_docvqa")
    config = yaml.load(info.path.read_text(), Loader=_TaskYamlLoader)  # noqa: S506
    assert (config["dataset_path"], config["dataset_name"], config["test_split"]) == (
        "lmms-lab/DocVQA",
        "DocVQA",
        "validation",
    )
    doc = {"question": "What is the date?", "answers": ["12/03/2024", "march 12, 2024"]}
    assert utils.qa_doc_to_text(doc).startswith("<image>What is the date?")
    assert utils.process_qa(doc, ["March 12, 2024"]) == {"anls": 1.0, "exact_match": 1.0}


@pytest.fixture(scope="module")
def tiny_hvfa_dir(tmp_path_factory):
    from hf_ext.testing.hvfa import save_tiny_hvfa

    return str(save_tiny_hvfa(tmp_path_factory.mktemp("tiny-hvfa")))


@pytest.mark.slow
def test_offline_tasks_run_with_hf_multimodal(tiny_hvfa_dir):
    results = lm_eval.simple_evaluate(
        model="hf-multimodal",
        model_args=f"pretrained={tiny_hvfa_dir},dtype=float32",
        tasks=["hfx_synthdoc_qa", "hfx_synthdoc_rtpp"],
        task_manager=task_manager(),
        limit=2,
        device="cpu",
        batch_size=2,
        log_samples=True,
    )
    for name, answers_of in (
        ("hfx_synthdoc_qa", lambda d: d["answers"]),
        ("hfx_synthdoc_rtpp", lambda d: [d["target"]]),
    ):
        samples = results["samples"][name]
        assert len(samples) == 2
        expected = [anls(sample["filtered_resps"][0], answers_of(sample["doc"])) for sample in samples]
        assert results["results"][name]["anls,none"] == pytest.approx(sum(expected) / 2)
