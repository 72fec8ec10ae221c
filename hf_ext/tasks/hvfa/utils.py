"""lm-eval glue for the HVFA tasks (loaded by file path: absolute imports only).

* ``hfx_docvqa``: DocVQA validation from the Hub (``lmms-lab/DocVQA``), scored with ANLS.
* ``hfx_synthdoc_qa``: DocVQA-style questions on synthetic pages rendered offline, scored with ANLS.
* ``hfx_synthdoc_rtpp``: RTPP (reading partial text, predicting text position) on synthetic pages, scored by
  exact match and ANLS of the reading/position string.

Metadata of the offline tasks (``--metadata '{...}'``), all optional: ``num_pages`` (default 50), ``seed``
(1234, away from training seeds), ``scale`` (page size factor, default 0.5), ``max_target_words`` (RTPP
generation budget in words, default 32).

Example:
    >>> process_qa({"answers": ["45.20"]}, [" 45.2 "])
    {'anls': 0.8, 'exact_match': 0.0}
    >>> process_rtpp({"target": "30%-45%"}, ["30%-45%"])
    {'exact_match': 1.0, 'anls': 1.0}
"""

from __future__ import annotations

from typing import Any

from hf_ext.evaluation.anls import anls, normalize_answer

QA_INSTRUCTION = "Answer the question using a single word or phrase."
DEFAULTS = {"num_pages": 50, "seed": 1234, "scale": 0.5, "max_target_words": 32}


def _option(metadata: dict[str, Any], key: str):
    return type(DEFAULTS[key])(metadata.get(key, DEFAULTS[key]))


def qa_doc_to_text(doc: dict) -> str:
    return f"<image>{doc['question']}\n{QA_INSTRUCTION}"


def qa_doc_to_target(doc: dict) -> str:
    return doc["answers"][0]


def process_qa(doc: dict, results: list[str]) -> dict[str, float]:
    prediction = results[0]
    return {
        "anls": anls(prediction, doc["answers"]),
        "exact_match": float(
            any(normalize_answer(prediction) == normalize_answer(a) for a in doc["answers"])
        ),
    }


def rtpp_doc_to_text(doc: dict) -> str:
    return f"<image>{doc['prompt']}"


def process_rtpp(doc: dict, results: list[str]) -> dict[str, float]:
    prediction = results[0]
    return {
        "exact_match": float(normalize_answer(prediction) == normalize_answer(doc["target"])),
        "anls": anls(prediction, [doc["target"]]),
    }


def load_synthdoc_qa(**kwargs: Any):
    """``custom_dataset``: one question per synthetic page, ``{"test": Dataset}``."""
    from hf_ext.multimodal.documents import synthetic_pages, synthetic_qa

    metadata = kwargs.get("metadata") or kwargs
    pages = synthetic_pages(
        _option(metadata, "num_pages"), seed=_option(metadata, "seed"), scale=_option(metadata, "scale")
    )
    return {"test": synthetic_qa(pages, seed=_option(metadata, "seed"))}


def load_synthdoc_rtpp(**kwargs: Any):
    """``custom_dataset``: one RTPP row (RPT or PTP) per synthetic page, ``{"test": Dataset}``."""
    from hf_ext.multimodal.documents import synthetic_pages, synthetic_rtpp

    metadata = kwargs.get("metadata") or kwargs
    pages = synthetic_pages(
        _option(metadata, "num_pages"), seed=_option(metadata, "seed"), scale=_option(metadata, "scale")
    )
    rows = synthetic_rtpp(
        pages, seed=_option(metadata, "seed"), max_target_words=_option(metadata, "max_target_words")
    )
    return {"test": rows}
