"""Correctness checks shared by the lm-eval metrics and the agents' feedback: one function per dataset family.

* Text-to-SQL by execution: predicted and gold SQL run on a **read-only** sqlite connection (so a predicted
  ``DROP TABLE`` or ``UPDATE`` changes nothing) under a time limit that interrupts the query; the two results
  match when their **sets** of rows are equal (row order ignored; two empty results match).
* Code (DS-1000): the task's own test program runs in a separate Python process with a time limit. This runs
  model-written code, so callers gate it behind an explicit opt-in (lm-eval's ``--confirm_run_unsafe_code``).
* Tool calls (ToolBench): API name exact, arguments equal as JSON values.
* Labels (DDXPlus and the offline diagnosis stream): the answer ``"<number>. <label>"`` or a bare label,
  parsed against the label set.
* Multi-hop QA (HotpotQA): exact match and token F1 after SQuAD-style normalisation.

Example:
    >>> import sqlite3, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "shop.sqlite")
    >>> with sqlite3.connect(path) as db:
    ...     _ = db.execute("CREATE TABLE item (name TEXT, price INT)")
    ...     _ = db.executemany("INSERT INTO item VALUES (?, ?)", [("pen", 2), ("ink", 5)])
    >>> sql_matches(path, "SELECT name FROM item ORDER BY price DESC", "SELECT name FROM item")
    True
    >>> sql_matches(path, "DROP TABLE item", "SELECT name FROM item")
    False
    >>> execute_sql(path, "SELECT count(*) FROM item")
    [(2,)]
    >>> parse_label("12. Bronchitis", ["Asthma", "Bronchitis"])
    'Bronchitis'
    >>> exact_match("The Eiffel Tower", "eiffel tower"), round(token_f1("Paris, France", "Paris"), 3)
    (True, 0.667)
"""

from __future__ import annotations

import collections
import json
import os
import re
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SQL_TIMEOUT_S = 30.0
CODE_TIMEOUT_S = 60.0


class SQLTimeout(RuntimeError):
    """A query ran past its time limit and was interrupted."""


def execute_sql(db_path: str | Path, sql: str, timeout: float = SQL_TIMEOUT_S) -> list[tuple]:
    """Run one SQL statement on a read-only connection to ``db_path`` and return all rows.

    The database is opened with ``mode=ro`` and ``PRAGMA query_only``, so writes fail; a progress handler
    interrupts the query once ``timeout`` seconds have passed (raising :class:`SQLTimeout`).
    """
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(f"sqlite database not found: {path}")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    deadline = time.monotonic() + timeout
    timed_out = False

    def over_time() -> int:
        nonlocal timed_out
        timed_out = time.monotonic() > deadline
        return int(timed_out)

    try:
        connection.execute("PRAGMA query_only = ON")
        connection.set_progress_handler(over_time, 1000)
        try:
            return connection.execute(sql).fetchall()
        except sqlite3.OperationalError as error:
            if timed_out:
                raise SQLTimeout(f"query ran past {timeout:g} s and was interrupted") from error
            raise
    finally:
        connection.close()


def sql_matches(db_path: str | Path, predicted: str, gold: str, timeout: float = SQL_TIMEOUT_S) -> bool:
    """Execution accuracy: the predicted query's set of rows equals the gold query's (empty == empty).

    A predicted query that fails (syntax error, a write refused by the read-only connection, several
    statements, a timeout) is wrong; a failing gold query is an error in the data and raises.
    """
    gold_rows = execute_sql(db_path, gold, timeout)
    try:
        predicted_rows = execute_sql(db_path, predicted, timeout)
    except (sqlite3.Error, SQLTimeout, sqlite3.Warning, ValueError):
        return False
    return set(predicted_rows) == set(gold_rows)


def extract_sql(output: str) -> str:
    """The SQL in a model's reply: the inside of a ```sql fence if there is one, else the first paragraph."""
    fenced = re.search(r"```(?:sql|SQL)?\s*\n?(.*?)(?:```|$)", output, flags=re.S)
    text = fenced.group(1) if fenced else output
    text = text.strip().split("\n\n")[0].strip()
    return text.rstrip(";").strip() if text.count(";") <= 1 else text


# --- code ---------------------------------------------------------------------------------------------------


def extract_code(output: str) -> str:
    """The code in a reply: the first fenced block, else the text up to DS-1000's ``</code>`` end marker."""
    fenced = re.search(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", output, flags=re.S)
    if fenced:
        return fenced.group(1)
    return re.split(r"</code>|END SOLUTION", output)[0]


def ds1000_program(code_context: str, solution: str) -> str:
    """The test program of a DS-1000 problem: its ``code_context`` then the calls of its test functions."""
    program = [code_context, f"test_execution({solution!r})"]
    if re.search(r"^def test_string\(", code_context, flags=re.M):
        program.append(f"test_string({solution!r})")
    return "\n".join(program) + "\n"


def run_python_program(program: str, timeout: float = CODE_TIMEOUT_S) -> bool:
    """Run ``program`` in a fresh isolated Python process in a temporary folder; True when it exits with 0.

    The process is killed after ``timeout`` seconds (counted as a failure). This executes untrusted code:
    only call it after the user opted in.
    """
    with tempfile.TemporaryDirectory(prefix="hfx-stream-code-") as folder:
        script = Path(folder, "program.py")
        script.write_text(program, encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG")}
        env["MPLBACKEND"] = "Agg"
        try:
            completed = subprocess.run(
                [sys.executable, "-I", str(script)],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return False
    return completed.returncode == 0


# --- tool calls ---------------------------------------------------------------------------------------------


def parse_tool_call(output: str) -> tuple[str, Any] | None:
    """``(api_name, api_input)`` from a reply holding a JSON object with those keys; None when absent."""
    for match in re.finditer(r"\{", output):
        try:
            value, _ = json.JSONDecoder().raw_decode(output[match.start() :])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "api_name" in value:
            return str(value["api_name"]).strip(), _json_value(value.get("api_input", {}))
    return None


def _json_value(value: Any) -> Any:
    """Arguments given as a JSON string are decoded, so ``'{"q": 1}'`` and ``{"q": 1}`` compare equal."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def tool_call_matches(output: str, api_name: str, api_input: Any) -> dict[str, bool]:
    """``{"api": name correct, "correct": name and arguments correct}`` for one reply."""
    call = parse_tool_call(output)
    if call is None:
        return {"api": False, "correct": False}
    name_ok = call[0] == api_name.strip()
    return {"api": name_ok, "correct": name_ok and call[1] == _json_value(api_input)}


# --- labels -------------------------------------------------------------------------------------------------


def _norm_label(text: str) -> str:
    return " ".join(re.sub(r"[^\w/ ]", " ", text.lower()).split())


def parse_label(output: str, labels: Sequence[str]) -> str | None:
    """The label a reply names: ``"<number>. <label>"`` by its text (or its number), else the longest label
    found in the reply's first line; None when it names none."""
    first_line = output.strip().split("\n")[0]
    normalized = {_norm_label(label): label for label in labels}
    numbered = re.match(r"\s*(\d+)\s*[.):]\s*(.*)", first_line)
    if numbered:
        text = _norm_label(numbered.group(2))
        if text in normalized:
            return normalized[text]
        index = int(numbered.group(1))
        if not text and 0 <= index < len(labels):
            return labels[index]
    line = _norm_label(first_line)
    if line in normalized:
        return normalized[line]
    found = [key for key in normalized if re.search(rf"(?<!\w){re.escape(key)}(?!\w)", line)]
    return normalized[max(found, key=len)] if found else None


# --- QA -----------------------------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def exact_match(prediction: str, gold: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(gold)


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after normalisation (yes/no/noanswer: exact)."""
    predicted, expected = normalize_answer(prediction), normalize_answer(gold)
    if predicted in ("yes", "no", "noanswer") or expected in ("yes", "no", "noanswer"):
        if predicted != expected:
            return 0.0
    predicted_tokens, expected_tokens = predicted.split(), expected.split()
    common = collections.Counter(predicted_tokens) & collections.Counter(expected_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted_tokens), overlap / len(expected_tokens)
    return 2 * precision * recall / (precision + recall)


def extract_json_answer(output: str) -> str:
    """The ``answer`` of a JSON reply ``{"answer": ...}``; the reply's first line when it is not JSON."""
    for match in re.finditer(r"\{", output):
        try:
            value, _ = json.JSONDecoder().raw_decode(output[match.start() :])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "answer" in value:
            return str(value["answer"]).strip()
    return output.strip().split("\n")[0].strip()
