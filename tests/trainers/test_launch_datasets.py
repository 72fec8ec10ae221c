"""What ``dataset_name`` may be: a save_to_disk Dataset or DatasetDict folder, a folder of data files."""

from __future__ import annotations

from types import SimpleNamespace

from datasets import Dataset, DatasetDict

from hf_ext.trainers.launch import load_recipe_dataset

ROWS = {"prompt": ["p1", "p2", "p3"], "chosen": ["a", "b", "c"], "rejected": ["x", "y", "z"]}


def _script_args(name):
    return SimpleNamespace(
        dataset_name=str(name),
        dataset_config=None,
        dataset_streaming=False,
        dataset_train_split="train",
        dataset_test_split="test",
    )


def test_a_save_to_disk_dataset_folder_is_the_train_split(tmp_path):
    Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "single"))
    train, evaluation = load_recipe_dataset(_script_args(tmp_path / "single"))
    assert train["chosen"] == ["a", "b", "c"] and evaluation is None


def test_a_dataset_dict_folder_and_a_folder_of_files_load_with_their_splits(tmp_path):
    data = Dataset.from_dict(ROWS)
    DatasetDict({"train": data, "test": data.select([0])}).save_to_disk(str(tmp_path / "dict"))
    train, evaluation = load_recipe_dataset(_script_args(tmp_path / "dict"))
    assert len(train) == 3 and len(evaluation) == 1
    (tmp_path / "files").mkdir()
    data.to_json(str(tmp_path / "files" / "train.jsonl"))
    train, _ = load_recipe_dataset(_script_args(tmp_path / "files"))
    assert train["rejected"] == ["x", "y", "z"]
