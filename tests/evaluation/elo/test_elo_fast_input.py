"""The compiled input paths (Arrow strings, categorical codes, object identity, the JSONL scanner) give the
same arrays as the general reader, and hand anything unclean back to it (which names the row or line)."""

import json

import numpy as np
import pandas as pd
import pytest

from hf_ext.evaluation.elo.battles import (
    _encode_frame,
    _fast_frame,
    _fast_jsonl,
    _read_jsonl_lines,
    encode_battles,
)

ROWS = [
    {"model_a": "gpt-4", "model_b": "claude-2", "winner": "model_a"},
    {"model_a": "claude-2", "model_b": "模型-甲", "winner": "tie (bothbad)"},
    {"model_a": "模型-甲", "model_b": "gpt-4", "winner": "model_b"},
    {"model_a": "gpt-4", "model_b": "模型-甲", "winner": "tie"},
]


def _same(log, expected):
    assert log.models == expected.models
    for got, want in ((log.a, expected.a), (log.b, expected.b), (log.score_a, expected.score_a)):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert log.weight is None and expected.weight is None


def _general(frame):
    return _encode_frame(frame.reset_index(drop=True), lambda i: f"row {i}")


@pytest.mark.parametrize("form", ["arrow", "object", "category", "python-str", "mixed"])
def test_frame_columns_of_every_kind_take_the_fast_path(form):
    base = pd.DataFrame(ROWS * 50)
    if form == "arrow":
        frame = base.astype("string[pyarrow]")
    elif form == "object":
        frame = base.astype(object)
    elif form == "category":
        frame = base.astype("category")
    elif form == "python-str":
        frame = base.astype(pd.StringDtype("python"))
    else:  # categorical models of different categories, Arrow winners
        frame = base.assign(
            model_a=pd.Categorical(base["model_a"]),
            model_b=pd.Categorical(base["model_b"], categories=["模型-甲", "gpt-4", "claude-2", "unused"]),
            winner=base["winner"].astype("string[pyarrow]"),
        )
    fast = _fast_frame(frame)
    assert fast is not None
    _same(fast, _general(base.astype(object)))
    _same(encode_battles(frame), fast)


def test_object_columns_of_distinct_objects_and_bad_values_go_to_the_general_path(monkeypatch):
    import hf_ext.evaluation.elo.battles as battles

    frame = pd.DataFrame(ROWS * 5).astype(object)
    frame["model_a"] = ["".join(name) for name in frame["model_a"]]  # a new object per row
    monkeypatch.setattr(battles, "_MAX_DISTINCT_OBJECTS", 4)
    assert _fast_frame(frame) is None
    _same(encode_battles(frame), _general(frame))
    bad = pd.DataFrame(ROWS).astype(object)
    bad.loc[2, "model_b"] = None
    assert _fast_frame(bad) is None
    with pytest.raises(ValueError, match=r"row 2: model_b must be a non-empty string, got None"):
        encode_battles(bad)
    selfish = pd.DataFrame(ROWS).astype("string[pyarrow]")
    selfish.loc[3, "model_b"] = "gpt-4"
    assert _fast_frame(selfish) is None
    with pytest.raises(ValueError, match=r"row 3: model 'gpt-4' battles itself"):
        encode_battles(selfish)


def _write(path, lines, newline="\n"):
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    return path


def _reference(path):
    frame, where = _read_jsonl_lines(path, ("model_a", "model_b", "winner", "weight"))
    return _encode_frame(frame, where)


def test_jsonl_scanner_reads_nested_escaped_unicode_and_reordered_lines(tmp_path):
    lines = [
        json.dumps({"winner": "model_a", "model_b": "claude-2", "model_a": "gpt-4"}),
        json.dumps(
            {
                "conversation_a": [{"role": "user", "content": 'say "model_a": "zzz"', "model_a": "nested"}],
                "model_a": "claude-2",
                "meta": {"model_b": "nested", "x": [1, -2.5e3, True, False, None, {}, []]},
                "model_b": "模型-甲",
                "winner": "tie (bothbad)",
            },
            ensure_ascii=False,
        ),
        '  {"model_a" : "\\u6a21\\u578b-\\u7532", "model_b":"gpt\\u002d4" ,"winner": "model_b", "n": 0.5} ',
        "",
        "   ",
        json.dumps({"model_a": "gpt-4", "model_b": "模型-甲", "winner": "tie", "tstamp": 1.7e9}),
        '{"model_a": "back\\\\slash \\"quoted\\"", "model_b": "gpt-4", "winner": "model_a"}',
    ]
    for newline in ("\n", "\r\n"):
        path = _write(tmp_path / "b.jsonl", lines, newline)
        fast = _fast_jsonl(path)
        assert fast is not None
        _same(fast, _reference(path))
        assert fast.models == ('back\\slash "quoted"', "claude-2", "gpt-4", "模型-甲")
        assert fast.a.tolist() == [2, 1, 3, 2, 0] and fast.score_a.tolist() == [1.0, 0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "line",
    [
        '{"model_a": "x", "model_b": "y", "winner": "tie", "n": 01}',  # a leading zero: invalid JSON
        '{"model_a": "x", "model_b": "y", "winner": "tie",}',
        '{"model_a": "x", "model_b": "y", "winner": "tie"} {}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "c": [1, 2}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "c": "tab\there"}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "c": "\\q"}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "c": tru}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "model_a": "z"}',
        '{"model_a": 7, "model_b": "y", "winner": "tie"}',
        '{"model_a": "x", "winner": "tie"}',
        '{"model_a": "x", "model_b": "y", "winner": "tie", "weight": 2}',
        '["x", "y", "tie"]',
        '{"model_a": "x",\r "model_b": "y", "winner": "tie"}',  # a carriage return not before the line end
        '{"model_a": "x",\f"model_b": "y", "winner": "tie"}',  # form feed and vertical tab: not JSON blanks
        '{"model_a":\v"x", "model_b": "y", "winner": "tie"}',
        '{"model_a": "x", "model_b": "y", "winner": "tie"\x00}',
    ],
)
def test_jsonl_scanner_hands_unclean_lines_to_the_general_reader(tmp_path, line):
    good = json.dumps({"model_a": "x", "model_b": "y", "winner": "model_a"})
    path = _write(tmp_path / "b.jsonl", [good, good, line, good])
    assert _fast_jsonl(path) is None


def test_jsonl_scanner_takes_tabs_and_spaces_between_tokens(tmp_path):
    lines = [
        '\t{ "model_a"\t:\t"x" ,\t"model_b" :"y",  "winner":\t "tie" \t}\t',
        '{"model_a":"y","model_b":"x","winner":"model_a"}',
    ]
    path = _write(tmp_path / "b.jsonl", lines)
    fast = _fast_jsonl(path)
    assert fast is not None
    _same(fast, _reference(path))
    assert fast.a.tolist() == [0, 1] and fast.score_a.tolist() == [0.5, 1.0]


def test_jsonl_errors_still_name_the_line(tmp_path):
    good = json.dumps({"model_a": "x", "model_b": "y", "winner": "model_a"})
    path = _write(tmp_path / "b.jsonl", [good, "", good, '{"model_a": "x", "winner": "tie"}'])
    with pytest.raises(ValueError, match=r"b\.jsonl, line 4: model_b must be a non-empty string"):
        encode_battles(path)
    path = _write(tmp_path / "c.jsonl", [good, '{"model_a": "x", "model_b": "y", "winner": "draw"}'])
    assert _fast_jsonl(path) is None  # scanned cleanly, then refused by the value checks
    with pytest.raises(ValueError, match=r"c\.jsonl, line 2: winner 'draw' is not one of"):
        encode_battles(path)
    path = _write(tmp_path / "d.jsonl", [good, '{"model_a": "x", "model_b": "y", "winner": "tie", "n": 01}'])
    with pytest.raises(ValueError, match=r"d\.jsonl, line 2: invalid JSON"):
        encode_battles(path)


def test_jsonl_scanner_reads_a_log_in_many_blocks(tmp_path, monkeypatch):
    import hf_ext.evaluation.elo.battles as battles

    rng = np.random.default_rng(0)
    names = [f"model-{i}" for i in range(30)]
    rows = []
    for _ in range(3000):
        a, b = rng.choice(30, 2, replace=False)
        winner = ["model_a", "model_b", "tie"][rng.integers(3)]
        judge = "u" * int(rng.integers(60))
        rows.append(json.dumps({"model_a": names[a], "judge": judge, "model_b": names[b], "winner": winner}))
    path = _write(tmp_path / "many.jsonl", rows)
    monkeypatch.setattr(battles, "_BLOCK_BYTES", 4096)
    fast = _fast_jsonl(path)
    assert fast is not None
    _same(fast, _reference(path))
