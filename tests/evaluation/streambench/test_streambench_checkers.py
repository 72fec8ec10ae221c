"""Checkers: SQL by execution (sets, order, empty results, read-only, timeout), code, tools, labels, EM/F1."""

import sqlite3
import time

import pytest

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench import checkers
from hf_ext.evaluation.streambench.benches import Settings, get_bench


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (name TEXT, n INT)")
        connection.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 2)])
    connection.close()
    return path


def test_sql_rows_compare_as_sets(db):
    gold = "SELECT name FROM t WHERE n = 2"
    assert checkers.sql_matches(db, "SELECT name FROM t WHERE n = 2 ORDER BY name DESC", gold)
    assert checkers.sql_matches(db, "SELECT name FROM t WHERE n > 1", gold)
    assert not checkers.sql_matches(db, "SELECT name FROM t", gold)
    assert not checkers.sql_matches(db, "SELECT name, n FROM t WHERE n = 2", gold)
    assert not checkers.sql_matches(db, "SELEC name FROM t", gold)


def test_empty_result_matches_empty_result(db):  # the official checker scores this 0 (it reads row 0)
    assert checkers.sql_matches(db, "SELECT name FROM t WHERE n > 5", "SELECT name FROM t WHERE n < 0")
    assert not checkers.sql_matches(db, "SELECT name FROM t WHERE n = 1", "SELECT name FROM t WHERE n < 0")


@pytest.mark.parametrize(
    "attack",
    [
        "DROP TABLE t",
        "UPDATE t SET n = 0",
        "DELETE FROM t",
        "INSERT INTO t VALUES ('z', 9)",
        "SELECT 1; DROP TABLE t",
        "CREATE TABLE u (x INT)",
    ],
)
def test_predicted_writes_change_nothing(db, attack):
    before = checkers.execute_sql(db, "SELECT * FROM t")
    assert not checkers.sql_matches(db, attack, "SELECT * FROM t")
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT * FROM t").fetchall() == before
        assert [r[0] for r in connection.execute("SELECT name FROM sqlite_master")] == ["t"]
    connection.close()


def test_timeout_really_stops_the_query(db):
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    started = time.monotonic()
    with pytest.raises(checkers.SQLTimeout):
        checkers.execute_sql(db, endless, timeout=0.3)
    assert not checkers.sql_matches(db, endless, "SELECT 1", timeout=0.3)
    assert time.monotonic() - started < 20  # interrupted, not run to completion (it never completes)


def test_missing_database_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.sqlite"):
        checkers.execute_sql(tmp_path / "nope.sqlite", "SELECT 1")


def test_extract_sql():
    assert checkers.extract_sql("```sql\nSELECT 1;\n```\nThis query...") == "SELECT 1"
    assert checkers.extract_sql("SELECT a\nFROM t;\n\nExplanation") == "SELECT a\nFROM t"


def test_em_and_f1_examples():
    assert checkers.exact_match("The  Beatles!", "beatles")
    assert not checkers.exact_match("Beatles band", "Beatles")
    assert checkers.token_f1("Beatles band", "the Beatles") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert checkers.token_f1("yes", "no") == 0.0
    assert checkers.token_f1("no idea", "nothing") == 0.0
    assert checkers.extract_json_answer('Sure: {"answer": "Paris"} done') == "Paris"
    scores = get_bench("qa").score(
        '{"answer": "the Paris"}', {"question": "q", "context": "", "answer": "Paris"}
    )
    assert scores == {"acc": 1.0, "f1": 1.0}


def test_label_parsing():
    labels = ["Anemia", "Influenza", "URTI", "Viral pharyngitis"]
    assert checkers.parse_label("1. Influenza", labels) == "Influenza"
    assert checkers.parse_label("3.", labels) == "Viral pharyngitis"
    assert (
        checkers.parse_label("The most likely diagnosis is viral pharyngitis.", labels) == "Viral pharyngitis"
    )
    assert checkers.parse_label("2. urti\nbecause ...", labels) == "URTI"
    assert checkers.parse_label("Pneumonia", labels) is None
    assert checkers.parse_label("", labels) is None


def test_tool_calls():
    output = 'Call: {"api_name": "weather", "api_input": {"city": "Oslo", "days": 2}}'
    assert checkers.tool_call_matches(output, "weather", '{"days": 2, "city": "Oslo"}') == {
        "api": True,
        "correct": True,
    }
    assert checkers.tool_call_matches(output, "weather", {"city": "Bergen"}) == {
        "api": True,
        "correct": False,
    }
    assert checkers.tool_call_matches("weather(city=Oslo)", "weather", {}) == {"api": False, "correct": False}


CONTEXT = """
def test_execution(solution):
    namespace = {}
    exec(solution, namespace)
    assert namespace["result"] == 6
"""


def test_code_runs_the_tests_in_a_subprocess_with_a_limit():
    assert checkers.run_python_program(checkers.ds1000_program(CONTEXT, "result = 2 * 3"))
    assert not checkers.run_python_program(checkers.ds1000_program(CONTEXT, "result = 5"))
    assert not checkers.run_python_program("while True:\n    pass\n", timeout=0.5)
    assert checkers.extract_code("```python\nresult = 6\n```") == "result = 6\n"
    assert checkers.extract_code("result = 6\n</code>\nEND") == "result = 6\n"


def test_code_scoring_needs_the_opt_in():
    doc = {"prompt": "p", "code_context": CONTEXT}
    with pytest.raises(HFExtError, match="confirm_run_unsafe_code"):
        get_bench("code").score("result = 6", doc)
    assert get_bench("code").score("result = 6\n</code>", doc, Settings(allow_code_execution=True)) == {
        "acc": 1.0
    }
