"""Synthetic documents for OCR-free reading: a page renderer, RTPP instruction tasks, DocVQA-style questions.

Example:
    >>> from hf_ext.multimodal.documents import render_page, rtpp_map, document_questions
    >>> page = render_page(seed=0, kind="form", scale=0.5)
    >>> document_questions(page)[1]["field"]
    'Name'
"""

from hf_ext.multimodal.documents.questions import document_questions
from hf_ext.multimodal.documents.renderer import PAGE_KINDS, RenderedPage, render_page
from hf_ext.multimodal.documents.rtpp import (
    position_label,
    predicting_text_position,
    read_range,
    reading_partial_text,
    rtpp_map,
)
from hf_ext.multimodal.documents.synthetic import (
    synthetic_pages,
    synthetic_qa,
    synthetic_rtpp,
    to_prompt_completion,
)

__all__ = [
    "PAGE_KINDS",
    "RenderedPage",
    "document_questions",
    "position_label",
    "predicting_text_position",
    "read_range",
    "reading_partial_text",
    "render_page",
    "rtpp_map",
    "synthetic_pages",
    "synthetic_qa",
    "synthetic_rtpp",
    "to_prompt_completion",
]
