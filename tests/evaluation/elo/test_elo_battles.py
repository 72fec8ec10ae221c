"""Battle-log loading: every accepted form gives the same encoding; bad input names its row or line."""

import json

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from hf_ext.evaluation.elo import encode_battles, online_elo, pair_counts, win_rates
from hf_ext.evaluation.elo.synthetic import synthetic_battles

ROWS = [
    {"model_a": "gpt", "model_b": "llama", "winner": "model_a"},
    {"model_a": "llama", "model_b": "mistral", "winner": "tie"},
    {"model_a": "mistral", "model_b": "gpt", "winner": "model_b"},
    {"model_a": "gpt", "model_b": "mistral", "winner": "tie (bothbad)"},
]


def _write(path, kind):
    frame = pd.DataFrame(ROWS)
    if kind == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    elif kind == "json":
        path.write_text(json.dumps(ROWS))
    elif kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv", "parquet"])
def test_files_round_trip_to_the_same_encoding(tmp_path, kind):
    expected = encode_battles(ROWS)
    log = encode_battles(_write(tmp_path / f"battles.{kind}", kind))
    assert log.models == ("gpt", "llama", "mistral")
    np.testing.assert_array_equal(log.a, expected.a)
    np.testing.assert_array_equal(log.b, expected.b)
    np.testing.assert_array_equal(log.score_a, [1.0, 0.5, 0.0, 0.5])


def test_dataframe_dataset_and_list_agree():
    frame = pd.DataFrame(ROWS)
    results = [
        online_elo(form) for form in (frame, Dataset.from_pandas(frame), ROWS, str(_frame_path(frame)))
    ]
    assert all(result == results[0] for result in results)


def _frame_path(frame, _cache={}):  # noqa: B006 - one temporary file per session is enough
    import tempfile
    from pathlib import Path

    if "path" not in _cache:
        path = Path(tempfile.mkdtemp()) / "b.jsonl"
        frame.to_json(path, orient="records", lines=True)
        _cache["path"] = path
    return _cache["path"]


def test_pair_counts_and_win_rates_score_ties_as_halves():
    log = encode_battles(ROWS)
    scores = pair_counts(log)
    gpt, llama, mistral = 0, 1, 2
    assert scores[gpt, llama] == 1.0 and scores[llama, gpt] == 0.0
    assert scores[llama, mistral] == 0.5 and scores[mistral, llama] == 0.5
    assert scores[gpt, mistral] == 1.5 and scores[mistral, gpt] == 0.5
    assert scores.sum() == len(ROWS)  # every battle hands out exactly one point
    rates = win_rates(ROWS)
    assert rates.loc["gpt", "mistral"] == 0.75 and np.isnan(rates.loc["gpt", "gpt"])


def test_bad_winner_names_the_jsonl_line(tmp_path):
    path = tmp_path / "b.jsonl"
    lines = [json.dumps(r) for r in ROWS[:2]] + ["", json.dumps({**ROWS[0], "winner": "draw"})]
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"line 4: winner 'draw' is not one of"):
        encode_battles(path)


def test_malformed_jsonl_line_is_named(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1]) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"b\.jsonl, line 3: invalid JSON"):
        encode_battles(path)
    path.write_text(json.dumps(ROWS[0]) + "\n[1, 2]\n")
    with pytest.raises(ValueError, match=r"line 2: expected a JSON object"):
        encode_battles(path)


def test_self_battle_names_the_csv_line(tmp_path):
    path = tmp_path / "b.csv"
    pd.DataFrame([*ROWS, {"model_a": "gpt", "model_b": "gpt", "winner": "tie"}]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"b\.csv, line 6: model 'gpt' battles itself"):
        encode_battles(path)


def test_missing_columns_empty_logs_and_bad_values():
    with pytest.raises(ValueError, match=r"missing column\(s\) winner"):
        encode_battles([{"model_a": "x", "model_b": "y"}])
    with pytest.raises(ValueError, match="empty"):
        encode_battles([])
    with pytest.raises(ValueError, match="empty"):
        encode_battles(pd.DataFrame(columns=["model_a", "model_b", "winner"]))
    frame = pd.DataFrame(ROWS, index=[10, 11, 12, 13])
    frame.loc[12, "model_b"] = None
    with pytest.raises(ValueError, match=r"row 12: model_b must be a non-empty string"):
        encode_battles(frame)
    with pytest.raises(FileNotFoundError):
        encode_battles("/nonexistent/battles.jsonl")
    with pytest.raises(TypeError):
        encode_battles(42)


def test_take_and_to_frame_round_trip():
    frame = synthetic_battles({"a": 1000.0, "b": 1100.0, "c": 900.0}, n_battles=200, seed=3)
    log = encode_battles(frame)
    again = encode_battles(log.to_frame())
    np.testing.assert_array_equal(again.score_a, log.score_a)
    reversed_log = log.take(np.arange(len(log))[::-1])
    assert reversed_log.a[0] == log.a[-1] and reversed_log.models == log.models


def test_top_level_exports():
    import hf_ext
    from hf_ext.evaluation import elo

    assert hf_ext.bradley_terry is elo.bradley_terry and hf_ext.permutation_elo is elo.permutation_elo


def test_every_in_memory_form_encodes_identically():
    import datasets

    from hf_ext.evaluation.elo.synthetic import synthetic_battles

    frame = synthetic_battles({"a": 1050.0, "b": 1000.0, "c": 950.0, "d": 900.0}, n_battles=500, seed=4)
    reference = encode_battles(frame)
    forms = {
        "categorical": frame.astype({"model_a": "category", "model_b": "category", "winner": "category"}),
        "pyarrow": frame.astype("string[pyarrow]"),
        "list": frame.to_dict("records"),
        "dataset": datasets.Dataset.from_pandas(frame),
    }
    for name, form in forms.items():
        log = encode_battles(form)
        assert log.models == reference.models, name
        for field in ("a", "b", "score_a"):
            assert np.array_equal(getattr(log, field), getattr(reference, field)), (name, field)


def test_missing_values_are_named_by_row_in_every_column():
    frame = pd.DataFrame(
        {"model_a": ["x", "y", None], "model_b": ["y", "z", "x"], "winner": ["model_a", "tie", "model_b"]}
    )
    with pytest.raises(ValueError, match=r"row 2: model_a must be a non-empty string, got (None|nan)"):
        encode_battles(frame)
    frame = pd.DataFrame({"model_a": ["x", "y"], "model_b": ["y", " "], "winner": ["model_a", "tie"]})
    with pytest.raises(ValueError, match=r"row 1: model_b must be a non-empty string"):
        encode_battles(frame)
    frame = pd.DataFrame({"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["model_a", np.nan]})
    with pytest.raises(ValueError, match=r"row 1: winner must be a non-empty string"):
        encode_battles(frame)
