"""The datasets of a stream: how a document becomes a prompt, how a reply is scored, what memory keeps.

A *bench* is one dataset family. Every document of a stream carries ``hfx_bench`` (the bench's name) and the
fields that bench reads, so an agent, the lm-eval metric and the CLI all score a reply with the same checker.

=========  ==========================================  ===============================================
bench      document fields                             correct when
=========  ==========================================  ===============================================
``sql``    question, evidence, sql, db_path, schema    predicted rows == gold rows (as sets)
``code``   prompt, code_context, reference_code        the problem's tests pass (opt-in execution)
``tool``   query, api_name, api_input, api_list        API name and arguments exact
``label``  profile, label, labels                      the parsed label is the gold label
``qa``     question, context, answer                   exact match (F1 reported too)
=========  ==========================================  ===============================================

Prompts follow the official ones in substance (schema then question then "generate the SQL directly" for
text-to-SQL; numbered label list for diagnosis; ``{"answer": ...}`` JSON for HotpotQA), in this package's
wording. Past items enter a prompt through the official templates: ``shot_template``
``"Question: {question}\\n{answer}"`` for in-context shots, and ``memprompt_template`` (question, own answer,
user feedback) for GrowPrompt and MemPrompt.

Example:
    >>> bench = get_bench("label")
    >>> doc = {"hfx_bench": "label", "profile": "fever, cough", "label": "Flu", "labels": ["Cold", "Flu"]}
    >>> print(bench.prompt(doc).splitlines()[-1])
    Now, answer with the number and the name of the most likely diagnosis:
    >>> bench.score("1. Flu", doc)["acc"], bench.gold_answer(doc)
    (1.0, '1. Flu')
    >>> print(bench.shot(doc, "1. Flu"))
    Question: fever, cough
    1. Flu
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import checkers

SHOTS_SEPARATOR = "\n\n\n"
CORRECT_TEXT = {True: "Your answer is correct.", False: "Your answer is not correct."}


@dataclass(frozen=True)
class Settings:
    """Run-wide switches a bench needs: code execution is off unless the user opted in."""

    allow_code_execution: bool = False
    sql_timeout: float = checkers.SQL_TIMEOUT_S
    code_timeout: float = checkers.CODE_TIMEOUT_S


class Bench:
    """One dataset family. Subclasses define the fields, the task wording and the checker."""

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    answer_name: ClassVar[str] = "answer"
    shot_template: ClassVar[str] = "Question: {question}\n{answer}"
    memprompt_template: ClassVar[str] = (
        "Question: {question}\nYour answer: {answer}\nUser Feedback: {correctness}"
    )
    final_instruction: ClassVar[str]

    # -- documents ------------------------------------------------------------------------------------------
    def check_doc(self, doc: dict[str, Any]) -> None:
        missing = [field for field in self.fields if field not in doc]
        if missing:
            raise HFExtError(f"{self.name} document lacks field(s) {', '.join(missing)}")

    def question(self, doc: dict[str, Any]) -> str:
        """The text memory is keyed by (the input without its context)."""
        raise NotImplementedError

    def task_text(self, doc: dict[str, Any]) -> str:
        """The problem statement, without the final instruction."""
        raise NotImplementedError

    def gold_answer(self, doc: dict[str, Any]) -> str:
        """The reference reply, written as a correct reply would be (ground-truth feedback, the oracle)."""
        raise NotImplementedError

    # -- prompts --------------------------------------------------------------------------------------------
    def prompt(self, doc: dict[str, Any], shots: str = "", memory_kind: str = "shots") -> str:
        """The prompt for ``doc``; ``shots`` (joined past items) go before the question when given."""
        parts = []
        if shots:
            header = (
                "Here are some of your past answers, with the feedback you received:"
                if memory_kind == "feedback"
                else "Here are some examples of questions and their correct answers:"
            )
            parts.append(f"{header}\n\n{shots}\n\nNow it is your turn.")
        parts.append(self.task_text(doc))
        parts.append(self.final_instruction)
        return "\n\n".join(parts)

    def cot_prompt(self, doc: dict[str, Any]) -> str:
        return (
            f"{self.task_text(doc)}\n\nThink step by step, then reply with one JSON object "
            f'{{"rationale": "<your reasoning>", "answer": "<your final {self.answer_name}>"}}.'
        )

    def shot(self, doc: dict[str, Any], answer: str) -> str:
        return self.shot_template.format(question=self.question(doc), answer=answer.strip())

    def memprompt_item(self, doc: dict[str, Any], answer: str, correct: bool) -> str:
        return self.memprompt_template.format(
            question=self.question(doc), answer=answer.strip(), correctness=CORRECT_TEXT[correct]
        )

    # -- scoring --------------------------------------------------------------------------------------------
    def score(self, output: str, doc: dict[str, Any], settings: Settings | None = None) -> dict[str, float]:
        """Per-item metrics; ``acc`` is the one the stream's accuracy and the feedback use."""
        raise NotImplementedError


class SQLBench(Bench):
    name = "sql"
    fields = ("question", "sql", "db_path", "schema")
    answer_name = "SQL code"
    memprompt_template = "Question: {question}\nYour SQL code: {answer}\nUser Feedback: {correctness}"
    final_instruction = (
        "Now, generate the correct SQL code directly (Do NOT generate other text except the SQL code):"
    )

    def question(self, doc):
        return doc["question"]

    def task_text(self, doc):
        evidence = f"\n-- External knowledge: {doc['evidence']}" if doc.get("evidence") else ""
        return (
            f"{doc['schema']}\n\n-- Using valid SQLite, answer the following question for the tables "
            f"provided above.{evidence}\nQuestion: {doc['question']}"
        )

    def gold_answer(self, doc):
        return doc["sql"]

    def score(self, output, doc, settings=None):
        predicted = checkers.extract_sql(output)
        return {
            "acc": float(
                checkers.sql_matches(
                    doc["db_path"], predicted, doc["sql"], (settings or Settings()).sql_timeout
                )
            )
        }


class CodeBench(Bench):
    name = "code"
    fields = ("prompt", "code_context")
    answer_name = "code"
    memprompt_template = "Question: {question}\nYour code: {answer}\nUser Feedback: {correctness}"
    final_instruction = "Write only the missing code, then </code>:"

    def question(self, doc):
        return doc["prompt"]

    def task_text(self, doc):
        return doc["prompt"].rstrip()

    def gold_answer(self, doc):
        return doc.get("reference_code", "")

    def score(self, output, doc, settings=None):
        settings = settings or Settings()
        if not settings.allow_code_execution:
            raise HFExtError(
                "scoring code runs model-written programs: opt in with lm-eval's --confirm_run_unsafe_code "
                "(or --allow-code-execution for hf-ext streambench run)"
            )
        program = checkers.ds1000_program(doc["code_context"], checkers.extract_code(output))
        return {"acc": float(checkers.run_python_program(program, settings.code_timeout))}


class ToolBench(Bench):
    name = "tool"
    fields = ("query", "api_name", "api_input", "api_list")
    answer_name = "API call"
    memprompt_template = "Question: {question}\nYour API call: {answer}\nUser Feedback: {correctness}"
    final_instruction = (
        'Now, reply with one JSON object {"api_name": "<API name>", "api_input": {<arguments>}} '
        "and nothing else:"
    )

    def question(self, doc):
        return doc["query"]

    def task_text(self, doc):
        apis = doc["api_list"] if isinstance(doc["api_list"], str) else "\n".join(doc["api_list"])
        return f"You can call one of these APIs:\n{apis}\n\nUser request: {doc['query']}"

    def gold_answer(self, doc):
        arguments = checkers._json_value(doc["api_input"])
        return json.dumps({"api_name": doc["api_name"], "api_input": arguments}, ensure_ascii=False)

    def score(self, output, doc, settings=None):
        result = checkers.tool_call_matches(output, doc["api_name"], doc["api_input"])
        return {"acc": float(result["correct"]), "api_acc": float(result["api"])}


class LabelBench(Bench):
    name = "label"
    fields = ("profile", "label", "labels")
    answer_name = "diagnosis"
    memprompt_template = "Question: {question}\nYour diagnosis: {answer}\nUser Feedback: {correctness}"
    final_instruction = "Now, answer with the number and the name of the most likely diagnosis:"

    def question(self, doc):
        return doc["profile"]

    def task_text(self, doc):
        options = "\n".join(f"{i}. {label}" for i, label in enumerate(doc["labels"]))
        return (
            f"Act as a medical doctor. Possible diagnoses:\n{options}\n\nPatient profile:\n{doc['profile']}"
        )

    def gold_answer(self, doc):
        return f"{list(doc['labels']).index(doc['label'])}. {doc['label']}"

    def score(self, output, doc, settings=None):
        return {"acc": float(checkers.parse_label(output, doc["labels"]) == doc["label"])}


class QABench(Bench):
    name = "qa"
    fields = ("question", "context", "answer")
    memprompt_template = "Question: {question}\nYour answer: {answer}\nUser Feedback: {correctness}"
    final_instruction = 'Now, reply with one JSON object {"answer": "<a short answer>"} and nothing else:'

    def question(self, doc):
        return doc["question"]

    def task_text(self, doc):
        return f"Passages:\n{doc['context']}\n\nQuestion: {doc['question']}"

    def gold_answer(self, doc):
        return json.dumps({"answer": doc["answer"]}, ensure_ascii=False)

    def score(self, output, doc, settings=None):
        answer = checkers.extract_json_answer(output)
        return {
            "acc": float(checkers.exact_match(answer, doc["answer"])),
            "f1": checkers.token_f1(answer, doc["answer"]),
        }


BENCHES: dict[str, Bench] = {
    bench.name: bench for bench in (SQLBench(), CodeBench(), ToolBench(), LabelBench(), QABench())
}


def get_bench(name: str) -> Bench:
    if name not in BENCHES:
        raise HFExtError(f"unknown bench {name!r}; choose one of {', '.join(BENCHES)}")
    return BENCHES[name]


def bench_of(doc: dict[str, Any]) -> Bench:
    """The bench a stream document belongs to (its ``hfx_bench`` field)."""
    if "hfx_bench" not in doc:
        raise HFExtError("document lacks the field 'hfx_bench': it does not come from a StreamBench task")
    bench = get_bench(doc["hfx_bench"])
    bench.check_doc(doc)
    return bench
