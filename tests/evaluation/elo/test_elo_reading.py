"""Reading battle-log paths in blocks: every form (files and in-memory) gives identical arrays and ratings;
only the needed columns are kept; bad rows are still named by file and line."""

import json

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from hf_ext.evaluation.elo import battles as battles_module
from hf_ext.evaluation.elo import bradley_terry, encode_battles
from hf_ext.evaluation.elo.battles import read_battles
from hf_ext.evaluation.elo.synthetic import synthetic_battles


@pytest.fixture(scope="module")
def arena_frame():
    """A FastChat-like log: the three columns plus fields the ratings never read, and per-battle weights."""
    frame = synthetic_battles({"a": 1050.0, "b": 1000.0, "c": 950.0, "d": 900.0}, n_battles=600, seed=5)
    rng = np.random.default_rng(0)
    return frame.assign(
        weight=rng.integers(1, 4, len(frame)).astype(float),
        tstamp=np.arange(len(frame)) * 1.5,
        anony=True,
        conv_metadata=[{"sum_assistant_a_tokens": int(t)} for t in rng.integers(1, 900, len(frame))],
    )


def _forms(frame, tmp_path):
    records = frame.to_dict("records")
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    clean_battle = tmp_path / "clean_battle.json"  # FastChat's clean_battle output: a list of objects
    clean_battle.write_text(json.dumps(records, indent=1))
    flat = frame.drop(columns="conv_metadata")
    csv_path = tmp_path / "log.csv"
    flat.to_csv(csv_path, index=False)
    parquet = tmp_path / "log.parquet"
    flat.to_parquet(parquet)
    strings = ["model_a", "model_b", "winner"]
    return {
        "jsonl": jsonl,
        "json": str(clean_battle),
        "csv": csv_path,
        "parquet": parquet,
        "object": frame,
        "categorical": frame.astype(dict.fromkeys(strings, "category")),
        "pyarrow": frame.astype(dict.fromkeys(strings, "string[pyarrow]")),
        "dataset": Dataset.from_pandas(flat),
        "list": records,
    }


def test_every_form_gives_identical_arrays_and_ratings(arena_frame, tmp_path, monkeypatch):
    monkeypatch.setattr(battles_module, "_BLOCK_BYTES", 4096)  # many blocks, each with its own dictionary
    reference = encode_battles(arena_frame)
    assert reference.weight is not None
    expected = bradley_terry(reference)
    for name, form in _forms(arena_frame, tmp_path).items():
        log = encode_battles(form)
        assert log.models == reference.models, name
        for field in ("a", "b", "score_a", "weight"):
            np.testing.assert_array_equal(getattr(log, field), getattr(reference, field), err_msg=name)
        assert bradley_terry(form) == expected, name


def test_paths_keep_only_the_needed_columns(arena_frame, tmp_path):
    forms = _forms(arena_frame, tmp_path)
    needed = ("model_a", "model_b", "winner", "weight")
    for name in ("jsonl", "json", "csv", "parquet"):
        frame, _ = read_battles(forms[name], columns=needed)
        assert list(frame.columns) == list(needed), name
    frame, _ = read_battles(forms["jsonl"])  # without columns= everything is kept (the arena filters need it)
    assert {"tstamp", "anony", "conv_metadata"} <= set(frame.columns)
    assert isinstance(read_battles(forms["csv"], columns=needed)[0]["model_a"].dtype, pd.CategoricalDtype)


def test_streamed_jsonl_names_the_line_of_a_bad_row(tmp_path, monkeypatch):
    monkeypatch.setattr(battles_module, "_BLOCK_BYTES", 128)
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "note": "n" * 40}] * 20
    path = tmp_path / "b.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines[14] = json.dumps({**rows[0], "winner": "draw"})
    path.write_text("\n".join(lines[:5] + ["", ""] + lines[5:]) + "\n")  # two blank lines before line 8
    with pytest.raises(ValueError, match=r"b\.jsonl, line 17: winner 'draw' is not one of"):
        encode_battles(path)
    lines[14] = json.dumps({**rows[0], "model_b": 7})  # a number where a name belongs: re-read line by line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"b\.jsonl, line 15: model_b must be a non-empty string, got 7"):
        encode_battles(path)
    weighted = [json.dumps({**r, "weight": 1}) for r in rows]
    weighted[14] = json.dumps({**rows[0], "weight": "heavy"})
    path.write_text("\n".join(weighted) + "\n")
    with pytest.raises(ValueError, match=r"b\.jsonl, line 15: weight must be a finite number"):
        encode_battles(path)
    path.write_text("\n".join(lines[:3]) + "\n" + json.dumps({"model_a": "x", "winner": "tie"}) + "\n")
    with pytest.raises(ValueError, match=r"b\.jsonl, line 4: model_b must be a non-empty string"):
        encode_battles(path)


def test_csv_and_json_errors_name_the_row(tmp_path):
    path = tmp_path / "b.csv"
    pd.DataFrame({"model_a": ["x", "y", ""], "model_b": ["y", "x", "x"], "winner": ["tie"] * 3}).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match=r"b\.csv, line 4: model_a must be a non-empty string"):
        encode_battles(path)
    path = tmp_path / "b.json"
    path.write_text(json.dumps([{"model_a": "x", "model_b": "y", "winner": "model_a", "weight": -1}]))
    with pytest.raises(ValueError, match=r"b\.json, battle 0: weight must be"):
        encode_battles(path)
    with pytest.raises(ValueError, match=r"missing column\(s\) winner"):
        encode_battles(pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "extra": [1]}))


def test_json_array_is_streamed_with_bounded_memory(arena_frame, tmp_path, monkeypatch):
    """A FastChat clean_battle JSON array is read a piece at a time: the text held never grows with the file,
    and every form of the document gives the same arrays as the in-memory frame."""
    monkeypatch.setattr(battles_module, "_BLOCK_BYTES", 2048)
    monkeypatch.setattr(battles_module, "_RECORDS_PER_BLOCK", 50)
    held = []
    more = battles_module._JsonArrayStream._more

    def recording_more(stream):
        got = more(stream)
        held.append(len(stream.text))
        return got

    monkeypatch.setattr(battles_module._JsonArrayStream, "_more", recording_more)
    path = tmp_path / "clean_battle.json"
    records = arena_frame.to_dict("records")
    for indent in (None, 2):
        path.write_text(json.dumps(records, indent=indent))
        held.clear()
        log = encode_battles(path)
        reference = encode_battles(arena_frame)
        for field in ("a", "b", "score_a", "weight"):
            np.testing.assert_array_equal(getattr(log, field), getattr(reference, field))
        assert path.stat().st_size > 40 * 2048 and len(held) > 40  # many pieces ...
        assert max(held) < 3 * 2048  # ... never more than a piece and the rest of one battle held
        frame, _ = read_battles(path)  # every field, block by block
        assert frame["conv_metadata"].tolist() == arena_frame["conv_metadata"].tolist()
    path.write_text("[]")
    with pytest.raises(ValueError, match="the battle log is empty"):
        encode_battles(path)


def test_streamed_json_errors_name_the_file_and_position(tmp_path, monkeypatch):
    monkeypatch.setattr(battles_module, "_BLOCK_BYTES", 64)
    row = {"model_a": "x", "model_b": "y", "winner": "model_a"}
    path = tmp_path / "b.json"
    lines = ["["] + [json.dumps(row) + "," for _ in range(30)] + [json.dumps(row), "]"]
    path.write_text("\n".join(lines))
    assert len(encode_battles(path)) == 31
    bad = lines.copy()
    bad[20] = bad[20].rstrip(",")  # line 21 lacks its comma
    path.write_text("\n".join(bad))
    with pytest.raises(ValueError, match=r"b\.json: invalid JSON at line 22 \(Expecting ',' delimiter\)"):
        encode_battles(path)
    bad = lines.copy()
    bad[25] = '{"model_a": "x", "model_b": "y", "winner": "model_a",},'  # a trailing comma inside
    path.write_text("\n".join(bad))
    with pytest.raises(ValueError, match=r"b\.json: invalid JSON at line 26"):
        encode_battles(path)
    bad = lines.copy()
    bad[12] = '"not an object",'
    path.write_text("\n".join(bad))
    with pytest.raises(ValueError, match=r"b\.json: battle 11 is not a JSON object"):
        encode_battles(path)
    bad = lines.copy()
    bad[5] = json.dumps({**row, "model_b": 7}) + ","
    path.write_text("\n".join(bad))
    with pytest.raises(ValueError, match=r"b\.json, battle 4: model_b must be a non-empty string, got 7"):
        encode_battles(path)
    path.write_text("\n".join(lines) + "\n[]")
    with pytest.raises(ValueError, match=r"b\.json: invalid JSON at line 34 \(Extra data\)"):
        encode_battles(path)
    path.write_text("\n".join(lines[:-1]))  # cut off before the closing bracket
    with pytest.raises(ValueError, match=r"b\.json: invalid JSON at line"):
        encode_battles(path)
    path.write_text(json.dumps({"battles": [row, row]}))  # the dict forms are still read (whole)
    assert len(encode_battles(path)) == 2
