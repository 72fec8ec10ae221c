"""``battles_from_lm_eval`` on files written by lm-eval itself (EvaluationTracker, as with --log_samples)."""

import json

import pytest

from hf_ext.evaluation.elo import battles_from_lm_eval, bradley_terry


@pytest.mark.slow
def test_battles_from_real_lm_eval_sample_logs(tmp_path):
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from hf_ext.testing import preference_dataset, reference_lm_path, save_tiny_causal_lm

    # A multiple-choice task on offline prose: the true continuation against the same words reversed.
    pairs = preference_dataset(12, seed=1)
    data = tmp_path / "docs.jsonl"
    data.write_text(
        "".join(json.dumps({"q": p["prompt"], "choices": [p["chosen"], p["rejected"]]}) + "\n" for p in pairs)
    )
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "probe.yaml").write_text(
        "task: hfx_elo_probe\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{q}}'\n"
        "doc_to_choice: '{{choices}}'\ndoc_to_target: 0\nmetric_list:\n  - metric: acc\n"
    )
    models = {"reference": str(reference_lm_path()), "random": str(save_tiny_causal_lm(tmp_path / "random"))}
    runs, accuracy, task_manager = [], {}, TaskManager(include_path=str(tasks))
    for name, path in models.items():
        tracker = EvaluationTracker(output_path=str(tmp_path / "runs" / name))
        output = lm_eval.simple_evaluate(
            model="hf",
            model_args=f"pretrained={path},dtype=float32",
            tasks=["hfx_elo_probe"],
            task_manager=task_manager,
            device="cpu",
            bootstrap_iters=0,
            evaluation_tracker=tracker,
        )
        samples = output.pop("samples")
        tracker.save_results_aggregated(results=output, samples=samples)
        tracker.save_results_samples(task_name="hfx_elo_probe", samples=samples["hfx_elo_probe"])
        accuracy[path] = {s["doc_id"]: s["acc"] for s in samples["hfx_elo_probe"]}
        runs.append(tmp_path / "runs" / name)

    battles = battles_from_lm_eval(runs)
    assert set(battles["model_a"]) == {models["reference"]} and set(battles["model_b"]) == {models["random"]}
    assert battles["doc_id"].tolist() == list(range(12)) and set(battles["task"]) == {"hfx_elo_probe"}
    for doc_id, winner in zip(battles["doc_id"], battles["winner"]):
        ref, rnd = accuracy[models["reference"]][doc_id], accuracy[models["random"]][doc_id]
        assert winner == ("model_a" if ref > rnd else "model_b" if rnd > ref else "tie")
    # The LM trained on prose prefers fluent continuations more often than a random one does.
    ratings = bradley_terry(battles, reg=0.01)
    assert ratings[models["reference"]] > ratings[models["random"]]
