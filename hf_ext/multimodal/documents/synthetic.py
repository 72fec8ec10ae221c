"""Synthetic document datasets: pages, RTPP and QA rows, and the prompt-completion format TRL trains on.

Example:
    >>> pages = synthetic_pages(3, seed=0, scale=0.4)
    >>> sorted(pages.column_names)
    ['boxes', 'fields', 'image', 'kind', 'seed', 'text', 'title']
    >>> qa = synthetic_qa(pages, seed=0)
    >>> len(qa) == 3 and set(qa.column_names) >= {"image", "question", "answers"}
    True
    >>> sft = to_prompt_completion(qa, prompt_column="question", target_column="answer")
    >>> sft[0]["prompt"][0]["content"][0]
    {'type': 'image'}
"""

from __future__ import annotations

import json
import random

from datasets import Dataset
from datasets import Image as ImageFeature

from hf_ext.errors import HFExtError
from hf_ext.multimodal.documents.questions import document_questions
from hf_ext.multimodal.documents.renderer import render_page
from hf_ext.multimodal.documents.rtpp import rtpp_map


def synthetic_pages(
    count: int, *, seed: int = 0, kinds: tuple[str, ...] | None = None, scale: float = 1.0
) -> Dataset:
    """``count`` rendered pages (page ``i`` has seed ``seed * 100003 + i``; kinds cycle when given)."""
    if count < 1:
        raise HFExtError(f"count must be >= 1, got {count}")
    rows = []
    for index in range(count):
        kind = kinds[index % len(kinds)] if kinds else None
        page = render_page(seed * 100003 + index, kind, scale=scale)
        rows.append(
            {
                "image": page.image,
                "text": page.text,
                "boxes": [list(box) for box in page.boxes],
                "title": page.title,
                "fields": json.dumps(page.fields),
                "kind": page.kind,
                "seed": page.seed,
            }
        )
    return Dataset.from_list(rows).cast_column("image", ImageFeature())


def synthetic_rtpp(pages: Dataset, *, task: str = "mixed", seed: int = 0, **options) -> Dataset:
    """RTPP rows (``prompt``, ``target``, ``task``, ...) for every page, see :func:`rtpp_map`."""
    return pages.map(rtpp_map(task, seed=seed, **options), with_indices=True, desc="RTPP")


def synthetic_qa(pages: Dataset, *, seed: int = 0) -> Dataset:
    """One DocVQA-style question per page (drawn by seed among the page's fields): ``question``,
    ``answers`` (list), ``answer`` (the first) and ``field``."""

    def ask(example: dict, index: int) -> dict:
        from hf_ext.multimodal.documents.renderer import RenderedPage

        page = RenderedPage(
            image=None, words=[], boxes=[], title=example["title"], fields=json.loads(example["fields"]),
            kind=example["kind"], seed=example["seed"],
        )  # fmt: skip
        item = random.Random(f"qa:{seed}:{index}").choice(document_questions(page))
        return {"question": item["question"], "answers": item["answers"], "answer": item["answers"][0],
                "field": item["field"]}  # fmt: skip

    return pages.map(ask, with_indices=True, desc="questions")


def to_prompt_completion(
    data: Dataset, *, prompt_column: str = "prompt", target_column: str = "target"
) -> Dataset:
    """Conversational prompt-completion rows with one image, as TRL's ``SFTTrainer`` takes them."""
    for column in (prompt_column, target_column, "image"):
        if column not in data.column_names:
            raise HFExtError(f"dataset has no column {column!r}; it has {data.column_names}")

    def convert(example: dict) -> dict:
        return {
            "prompt": [
                {
                    "role": "user",
                    "content": [{"type": "image"}, {"type": "text", "text": example[prompt_column]}],
                }
            ],
            "completion": [
                {"role": "assistant", "content": [{"type": "text", "text": example[target_column]}]}
            ],
            "images": [example["image"]],
        }

    keep = {"prompt", "completion", "images"}
    return data.map(convert, remove_columns=[c for c in data.column_names if c not in keep], desc="to SFT")
