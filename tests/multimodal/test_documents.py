"""Synthetic pages, RTPP targets on hand-made pages, questions, and ANLS against hand-computed values."""

import random

import numpy as np
import pytest
from datasets import Dataset

from hf_ext.errors import HFExtError
from hf_ext.evaluation.anls import anls, levenshtein
from hf_ext.multimodal.documents import (
    PAGE_KINDS,
    document_questions,
    position_label,
    predicting_text_position,
    read_range,
    reading_partial_text,
    render_page,
    rtpp_map,
    synthetic_pages,
    synthetic_qa,
    synthetic_rtpp,
    to_prompt_completion,
)


@pytest.mark.parametrize("kind", sorted(PAGE_KINDS))
def test_renderer_is_deterministic_by_seed(kind):
    a, b = render_page(7, kind, scale=0.4), render_page(7, kind, scale=0.4)
    assert a.text == b.text and a.boxes == b.boxes
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    c = render_page(8, kind, scale=0.4)
    assert c.text != a.text and not np.array_equal(np.asarray(a.image), np.asarray(c.image))


def test_words_are_drawn_inside_their_boxes_in_reading_order():
    page = render_page(5, "report", scale=0.5)
    pixels = np.asarray(page.image.convert("L"))
    columns = {}
    for word, (x0, y0, x1, y1) in zip(page.words, page.boxes):
        assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
        assert pixels[y0:y1, x0:x1].min() < 200, f"no ink under {word!r}"
        columns.setdefault(x0 >= page.width // 2, []).append(y0)
    # each column reads top to bottom; the whole left column comes before the right one
    order = [x0 >= page.width // 2 for x0, *_ in page.boxes]
    assert order == sorted(order)
    for tops in columns.values():
        assert all(b >= a - 5 for a, b in zip(tops, tops[1:]))  # lines go down (glyph tops vary on a line)


def test_page_kinds_span_receipt_to_poster():
    receipt, poster = render_page(0, "receipt"), render_page(0, "poster")
    assert receipt.height > 2 * receipt.width and poster.width > poster.height
    assert len(render_page(0, "report").words) > 3 * len(render_page(0, "form").words)  # dense vs sparse
    assert "Total" in receipt.fields and receipt.fields["Total"] in receipt.text


HAND = [f"w{i}" for i in range(20)]  # a hand-made page of 20 words


def test_rpt_targets_on_a_hand_made_page():
    assert read_range(HAND, 0, 10) == "w0 w1"
    assert read_range(HAND, 30, 45) == "w6 w7 w8"  # floor(6.0) .. floor(9.0)
    assert read_range(HAND, 90, 100) == "w18 w19"
    assert read_range([f"w{i}" for i in range(7)], 0, 50) == "w0 w1 w2"  # floor(3.5) = 3
    ranges = [read_range(HAND, p, p + 10).split() for p in range(0, 100, 10)]
    assert sum(ranges, []) == HAND  # the ranges tile the text
    for seed in range(30):
        row = reading_partial_text(HAND, random.Random(seed), grid=10, max_target_words=64)
        p1, p2 = row["rtpp_range"]
        assert row["target"] == read_range(HAND, p1, p2)
        assert (
            (f"{p2}%" in row["prompt"])
            if p1 == 0
            else (f"{p1}%" in row["prompt"] or f"{100 - p1}%" in row["prompt"])
        )


def test_rpt_respects_the_generation_budget():
    words = [f"w{i}" for i in range(1000)]
    for seed in range(20):
        row = reading_partial_text(words, random.Random(seed), grid=10, max_target_words=30)
        p1, p2 = row["rtpp_range"]
        assert len(row["target"].split()) <= 30 and not row["truncated"]
        assert row["target"] == read_range(words, p1, p2)
    huge = [f"w{i}" for i in range(10_000)]
    row = reading_partial_text(huge, random.Random(0), max_target_words=20)
    assert row["truncated"] and len(row["target"].split()) == 20


def test_ptp_targets_on_a_hand_made_page():
    assert position_label(20, 6, 9) == "30%-45%"
    assert position_label(8, 1, 3) == "13%-38%"  # 12.5 and 37.5 round half up
    for seed in range(20):
        row = predicting_text_position(HAND, random.Random(seed), min_words=2, max_words=4)
        i, j = row["rtpp_range"]
        assert f'"{" ".join(HAND[i:j])}"' in row["prompt"]
        assert row["target"] == f"{5 * i}%-{5 * j}%"  # 20 words: each word is exactly 5%


def test_ptp_prefers_unique_snippets():
    words = "a b a b a b c d".split()
    for seed in range(10):
        row = predicting_text_position(words, random.Random(seed), min_words=2, max_words=2)
        i, j = row["rtpp_range"]
        snippet = words[i:j]
        assert sum(words[k : k + 2] == snippet for k in range(7)) == 1


def test_rtpp_map_is_seeded_per_row():
    data = Dataset.from_dict({"text": [" ".join(HAND)] * 6})
    first = data.map(rtpp_map("mixed", seed=3), with_indices=True)
    again = data.map(rtpp_map("mixed", seed=3), with_indices=True)
    other = data.map(rtpp_map("mixed", seed=4), with_indices=True)
    assert first["target"] == again["target"] and first["prompt"] != other["prompt"]
    assert set(first["task"]) <= {"rpt", "ptp"}
    with pytest.raises(HFExtError, match="no column 'page_text'"):
        data.map(rtpp_map(text_column="page_text"), with_indices=True)


def test_questions_and_sft_rows():
    pages = synthetic_pages(4, seed=1, scale=0.3)
    qa = synthetic_qa(pages, seed=0)
    for row in qa:
        assert row["answer"] in row["text"] or row["answer"] == row["title"]
    page = render_page(1, "form", scale=0.3)
    assert {item["field"] for item in document_questions(page)} == {"title", *page.fields}
    rtpp = synthetic_rtpp(pages, task="rpt", seed=0)
    sft = to_prompt_completion(rtpp)
    assert sft[0]["completion"][0]["content"][0]["text"] == rtpp[0]["target"]
    assert len(sft[0]["images"]) == 1


def test_anls_hand_computed():
    assert levenshtein("", "abc") == 3 and levenshtein("flaw", "lawn") == 2
    assert anls("  The  Total ", ["the total"]) == 1.0
    assert anls("45.2", ["45.20"]) == pytest.approx(1 - 1 / 5)
    assert anls("abcd", ["abxy"]) == 0.0  # NL = 0.5 is not < 0.5
    assert anls("abcde", ["abxye"]) == pytest.approx(0.6)  # NL = 0.4
    assert anls("Hopper", ["Lovelace", "G. Hopper"]) == pytest.approx(1 - 3 / 9)
    with pytest.raises(HFExtError):
        anls("x", [])
