"""The compiled interner gives every row the code of its value in order of first appearance, exactly: values
of every length around its 8- and 16-byte word keys, values that share their first and last eight bytes,
rows across its key chunks, and an interner shared by two calls."""

import numpy as np

from hf_ext.evaluation.elo._text_kernels import _CHUNK, FULL, OK, Interner, intern_arrow


def _arrow_like(values):
    data = b"".join(values)
    offsets = np.cumsum([0] + [len(v) for v in values])
    return offsets.astype(np.int64), np.frombuffer(data, dtype=np.uint8)


def _first_appearance(values, seen=None):
    seen = {} if seen is None else seen
    return [seen.setdefault(v, len(seen)) for v in values], seen


def test_codes_match_first_appearance_for_lengths_around_the_word_keys():
    rng = np.random.default_rng(0)
    distinct = [b""] + [
        bytes(rng.integers(97, 100, size=n, dtype=np.uint8)) for n in range(1, 41) for _ in range(4)
    ]
    middle = (
        b"same-first-8" + b"%02d" % 0 + b"same-last-8!"
    )  # 26 bytes; the variants below differ inside only
    distinct += [middle[:12] + b"%02d" % k + middle[14:] for k in range(10)]
    distinct += ["模型-甲".encode(), "模型-乙".encode(), b"a\x00b", b"a\x00c"]
    values = [distinct[i] for i in rng.integers(0, len(distinct), size=3 * _CHUNK + 5)]
    offsets, data = _arrow_like(values)
    table, codes = Interner(), np.empty(len(values), dtype=np.int32)
    assert intern_arrow(offsets, data, codes, *table.state()) == OK
    expected, seen = _first_appearance(values)
    assert codes.tolist() == expected
    assert [raw for raw, _ in table.values()] == list(seen)

    more = [b"new-one", values[7], b"same-first-8" + b"99" + b"same-last-8!", values[0]]
    offsets, data = _arrow_like(more)
    codes = np.empty(len(more), dtype=np.int32)
    assert intern_arrow(offsets, data, codes, *table.state()) == OK  # the same interner, a second call
    assert codes.tolist() == _first_appearance(more, seen)[0]


def test_a_full_interner_says_so():
    values = [b"model-%05d" % i for i in range(5000)]
    offsets, data = _arrow_like(values)
    assert intern_arrow(offsets, data, np.empty(len(values), dtype=np.int32), *Interner().state()) == FULL
