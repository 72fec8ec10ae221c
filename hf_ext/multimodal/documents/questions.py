"""DocVQA-style questions about synthetic pages, answered by the page's own fields.

Every rendered page carries a title and key-value fields (dates, numbers, names, a receipt's total); each
becomes one extractive question whose answer is printed on the page, as in DocVQA.

Example:
    >>> from hf_ext.multimodal.documents.renderer import render_page
    >>> page = render_page(seed=2, kind="receipt", scale=0.5)
    >>> qa = document_questions(page)
    >>> qa[0]["question"], qa[0]["answers"] == [page.title]
    ('What is the title of the document?', True)
    >>> all(answer in page.text for item in qa for answer in item["answers"])
    True
"""

from __future__ import annotations

from hf_ext.multimodal.documents.renderer import RenderedPage

QUESTION_TEMPLATES = {
    "Date": "What is the date on the document?",
    "Receipt No": "What is the receipt number?",
    "Reference": "What is the reference number?",
    "Total": "What is the total amount?",
    "Amount": "What is the amount claimed?",
    "Cashier": "Who is the cashier?",
    "Author": "Who is the author?",
    "Name": "What name is given on the form?",
    "Speaker": "Who is the speaker?",
    "Room": "In which room does the event take place?",
}


def document_questions(page: RenderedPage) -> list[dict[str, object]]:
    """``[{"question", "answers", "field"}]`` for the page's title and each of its fields, in page order."""
    items: list[dict[str, object]] = [
        {"question": "What is the title of the document?", "answers": [page.title], "field": "title"}
    ]
    for key, value in page.fields.items():
        question = QUESTION_TEMPLATES.get(key, f"What is the {key.lower()}?")
        items.append({"question": question, "answers": [value], "field": key})
    return items
