"""generate_babilong: exact token budgets, facts in order at their recorded depths, seeds, sources, errors."""

import re

import pytest

from hf_ext.evaluation.babilong import generate_babilong, iter_babilong, length_label, parse_length
from hf_ext.evaluation.babilong.haystack import HubHaystack, resolve_haystack, split_sentences
from hf_ext.testing import tiny_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    ("task", "length", "reserve"), [("qa1", 300, 50), ("qa3", 1000, 100), ("qa19", 4096, 300)]
)
def test_context_fills_the_budget_exactly_and_never_more(tokenizer, task, length, reserve):
    data = generate_babilong(task, length=length, num_samples=6, tokenizer=tokenizer, reserve=reserve)
    exact = 0
    for row in data:
        measured = n_tokens(tokenizer, row["input"])
        assert measured == row["context_tokens"] <= length - reserve
        assert length - reserve - measured <= 40  # at most one (dropped) sentence short
        exact += measured == length - reserve
        assert row["length"] == length and row["task"] == task and row["num_facts"] == len(row["facts"])
    assert exact >= 5


def test_facts_appear_in_order_at_their_recorded_depths(tokenizer):
    data = generate_babilong("qa2", length=2048, num_samples=5, tokenizer=tokenizer, reserve=48)
    for row in data:
        text, total, cursor = row["input"], row["context_tokens"], 0
        for fact, depth in zip(row["facts"], row["fact_depths"]):
            found = text.find(fact, cursor)
            assert found >= cursor, fact
            before = n_tokens(tokenizer, text[:found].rstrip())
            assert abs(100.0 * before / total - depth) <= 100.0 * 3 / total
            cursor = found + len(fact)
        assert row["fact_depths"] == sorted(row["fact_depths"])
        assert row["support_depths"] == [row["fact_depths"][i] for i in row["supporting"]]
        assert row["question"] not in text  # the question is asked after the context, never inside it


def test_depth_window_keeps_facts_there(tokenizer):
    data = generate_babilong(
        "qa1", length=4096, num_samples=4, tokenizer=tokenizer, reserve=96, depth=(40, 60)
    )
    for row in data:
        fact_share = 100.0 * n_tokens(tokenizer, " " + " ".join(row["facts"])) / row["context_tokens"]
        assert 40.0 <= row["fact_depths"][0] <= 60.0
        assert all(40.0 <= depth <= 60.0 + fact_share for depth in row["fact_depths"])
    at_end = generate_babilong("qa1", length=2048, num_samples=2, tokenizer=tokenizer, reserve=96, depth=100)
    assert all(depth >= 95.0 for row in at_end for depth in row["fact_depths"])


def test_length_zero_is_the_facts_alone(tokenizer):
    row = generate_babilong("qa5", length=0, num_samples=1, tokenizer=tokenizer)[0]
    assert row["input"] == " ".join(row["facts"])
    assert row["context_tokens"] == n_tokens(tokenizer, row["input"])


def test_same_seed_same_samples_other_seed_other_samples(tokenizer):
    kwargs = dict(task="qa7", length=512, num_samples=4, tokenizer=tokenizer, reserve=64)
    first, again = generate_babilong(seed=3, **kwargs), generate_babilong(seed=3, **kwargs)
    assert first.to_list() == again.to_list()
    other = generate_babilong(seed=4, **kwargs)
    assert other["input"] != first["input"]
    # row i depends only on (seed, task, length, i): asking for fewer rows gives a prefix
    assert generate_babilong(seed=3, **{**kwargs, "num_samples": 2}).to_list() == first.to_list()[:2]


def test_rows_stream_one_at_a_time(tokenizer):
    rows = iter_babilong("qa1", length="256k", num_samples=10**9, tokenizer=tokenizer, reserve=0)
    first = next(rows)  # returns at once: nothing beyond this sample is built
    assert first["context_tokens"] == 2**18 and first["length"] == 2**18
    assert n_tokens(tokenizer, first["input"]) == 2**18


def test_local_text_files_as_haystack(tokenizer, tmp_path):
    sentences = [
        f"The lighthouse keeper counted {word} gulls along the northern shore." for word in "abcdefgh"
    ]
    (tmp_path / "book.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    row = generate_babilong(
        "qa1", length=400, num_samples=1, tokenizer=tokenizer, reserve=50, haystack=tmp_path
    )[0]
    assert "lighthouse keeper" in row["input"] and "Python" not in row["input"]
    assert n_tokens(tokenizer, row["input"]) == row["context_tokens"] <= 350  # the corpus wraps round


def test_both_length_conventions(tokenizer):
    assert parse_length("4k") == 4096 and parse_length("4k", "official") == 4000
    assert parse_length("1M", "official") == 10**6 and length_label(4000, "official") == "4k"
    assert length_label(4000) == "4000" and length_label(4096) == "4k"
    row = next(iter_babilong("qa1", "2k", 1, tokenizer, reserve=300, length_convention="official"))
    assert row["length"] == 2000 and row["context_tokens"] == 1700 == n_tokens(tokenizer, row["input"])
    with pytest.raises(ValueError, match="'model' or 'official'"):
        parse_length("4k", "binary")


def test_hub_haystack_reads_a_random_book_at_a_random_position(monkeypatch, tokenizer):
    import datasets

    books = [" ".join(f"Book {b} sentence number {i} is here now." for i in range(400)) for b in range(8)]
    calls = []

    def fake_load_dataset(path, split=None, **kwargs):  # a local multi-document stand-in for the Hub
        calls.append((path, split))
        return datasets.Dataset.from_dict({"text": books})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    haystack = resolve_haystack("hf:someone/books:test:text")
    assert isinstance(haystack, HubHaystack) and haystack.path == "someone/books"
    rows = list(
        iter_babilong("qa1", length=300, num_samples=24, tokenizer=tokenizer, reserve=50, haystack=haystack)
    )
    assert calls == [("someone/books", "test")]  # loaded once
    firsts = []
    for row in rows:
        book, number = re.search(r"Book (\d) sentence number (\d+)", row["input"]).groups()
        firsts.append((int(book), int(number)))
        assert "sentence number 399 " not in row["input"]  # a book's last sentence is dropped
    assert len({book for book, _ in firsts}) >= 5  # many books, not the first few of a stream
    assert len({number for _, number in firsts}) >= 20 and max(n for _, n in firsts) > 200  # any position
    again = list(
        iter_babilong("qa1", length=300, num_samples=24, tokenizer=tokenizer, reserve=50, haystack=haystack)
    )
    assert [row["input"] for row in again] == [row["input"] for row in rows]  # reproducible by seed
    assert resolve_haystack("pg19").path == "emozilla/pg19"


def test_split_sentences_keeps_long_sentences():
    text = (
        "Short one. This sentence has more than five words in it. Another long sentence follows right here!"
    )
    assert split_sentences(text) == [
        "This sentence has more than five words in it.",
        "Another long sentence follows right here!",
    ]


def test_parse_length():
    assert [parse_length(v) for v in (0, "0", "4k", "1M", "10M", 4096)] == [
        0,
        0,
        4096,
        2**20,
        10 * 2**20,
        4096,
    ]
    for bad in ("-1", -5, "4 kb", "lots", True):
        with pytest.raises(ValueError):
            parse_length(bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "qa0"}, "unknown BABILong task"),
        ({"length": -1}, "length must be >= 0"),
        ({"length": "4kb"}, "not a token count"),
        ({"length": 320, "reserve": 300}, "no story fits a 320-token sample"),
        ({"length": 200, "reserve": 300}, "leaves no context"),
        ({"tokenizer": None}, "tokenizer is required"),
        ({"num_samples": 0}, "num_samples must be >= 1"),
        ({"depth": (70, 20)}, "depth must be a percent"),
        ({"haystack": "/no/such/folder"}, "neither 'prose'"),
    ],
)
def test_bad_input_is_rejected(tokenizer, kwargs, message):
    arguments = {"task": "qa3", "length": 1024, "num_samples": 1, "tokenizer": tokenizer, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_babilong(**arguments)
