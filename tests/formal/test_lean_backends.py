"""Lean checking backends: the REPL client against every recorded session of the real REPL, the pool's
time limit, restart and recycling paths (with a stand-in process), the recorded and HTTP backends."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from lean_helpers import standin

from hf_ext.errors import HFExtError
from hf_ext.formal.lean import (
    KiminaLeanChecker,
    LeanREPLPool,
    RecordedLeanChecker,
    RecordingLeanChecker,
    load_repl_session,
    to_result,
)
from hf_ext.formal.lean.repl import ReplProcess
from hf_ext.formal.lean.standin_repl import answer
from hf_ext.formal.lean.toolchain import find_lake, repl_command


def _sessions(root):
    test_dir = root / "repl_tests" / "test"
    sessions = []
    for commands in sorted(test_dir.rglob("*.in")):
        replies = commands.with_name(commands.name[: -len(".in")] + ".expected.out")
        if replies.exists():
            sessions.append((commands, replies))
    return sessions


def _expected_fields(reply):
    """What a LeanResult must say about a reply, computed independently of to_result."""
    if "message" in reply and "messages" not in reply:
        return {"ok": False, "errors": [reply["message"]], "sorries": [], "env": None}
    errors = [m["data"] for m in reply.get("messages", []) if m["severity"] == "error"]
    status = reply.get("proofStatus", "")
    if status.startswith("Error"):
        errors.append(status)
    return {"ok": not errors, "errors": errors, "sorries": reply.get("sorries", []), "env": reply.get("env")}


def test_every_recorded_session_parses_and_replays_through_the_repl_client(lean_fixtures):
    sessions = _sessions(lean_fixtures)
    assert len(sessions) >= 50  # the fixture holds the REPL's whole test folder
    replies_seen = 0
    for commands_path, replies_path in sessions:
        pairs = load_repl_session(commands_path, replies_path)
        process = ReplProcess(standin("--replay", str(commands_path), str(replies_path)))
        try:
            for request, recorded in pairs:
                reply = process.request(request, timeout=30)
                assert reply == recorded, commands_path.name
                result = to_result(reply)
                expected = _expected_fields(recorded)
                assert (result.ok, result.errors, result.sorries, result.env) == (
                    expected["ok"],
                    expected["errors"],
                    expected["sorries"],
                    expected["env"],
                ), commands_path.name
                replies_seen += 1
        finally:
            process.kill()
    assert replies_seen > 100


def test_recorded_checker_answers_each_command_of_a_real_session(lean_fixtures):
    commands_path = lean_fixtures / "repl_tests" / "test" / "app_type_mismatch2.in"
    checker = RecordedLeanChecker.from_repl_session(commands_path, commands_path.with_suffix(".expected.out"))
    pairs = load_repl_session(commands_path, commands_path.with_suffix(".expected.out"))
    code, reply = next((c["cmd"], r) for c, r in pairs if "cmd" in c)
    result = checker.check_one(code)
    assert not result.ok and "application type mismatch" in result.errors[0]
    assert result.errors == [m["data"] for m in reply["messages"] if m["severity"] == "error"]


def test_a_session_whose_files_do_not_pair_up_is_named(tmp_path):
    (tmp_path / "a.in").write_text('{"cmd": "def f := 1"}\n\n{"cmd": "def g := 2"}\n')
    (tmp_path / "a.expected.out").write_text('{"env": 0}\n')
    with pytest.raises(HFExtError, match="a.in: 2 commands but .*a.expected.out has 1 replies"):
        load_repl_session(tmp_path / "a.in", tmp_path / "a.expected.out")


def test_time_limit_kills_a_stuck_repl_and_the_next_command_runs_on_a_fresh_one():
    with LeanREPLPool(command=standin(), workers=1, header="", time_limit=1.0) as pool:
        stuck, after = pool.check(["theorem t : STALL := by rfl", "theorem u : 1 = 1 := by sorry"])
        assert not stuck.ok and stuck.error.startswith("time-out")
        assert after.ok and len(after.sorries) == 1
        assert (pool.stats.timeouts, pool.stats.starts) == (1, 2)


def test_a_crashed_repl_is_reported_and_replaced():
    with LeanREPLPool(command=standin(), workers=1, header="") as pool:
        crashed, after = pool.check(["CRASH", "theorem u : 1 = 1 := by rfl"])
        assert not crashed.ok and "REPL exited (status 3)" in crashed.error
        assert after.complete
        assert (pool.stats.crashes, pool.stats.starts) == (1, 2)


def test_recycling_after_n_commands():
    with LeanREPLPool(command=standin(), workers=1, header="", recycle_after=2) as pool:
        results = pool.check([f"theorem t{i} : 1 = 1 := by rfl" for i in range(5)])
        assert all(r.complete for r in results)
        assert (pool.stats.starts, pool.stats.recycles, pool.stats.commands) == (3, 2, 5)


def test_recycling_when_memory_grows():
    probe = ReplProcess(standin())
    baseline = probe.memory_mb()
    probe.kill()
    if baseline is None:
        pytest.skip("no /proc here")
    with LeanREPLPool(command=standin(), workers=1, header="", max_memory_mb=baseline + 30) as pool:
        pool.check(["GROW 1", "GROW 2", "theorem t : 1 = 1 := by rfl"])
        assert pool.stats.recycles >= 1


def test_header_is_elaborated_once_per_process_and_its_env_reused():
    header = "import Mathlib\nopen Real"
    with LeanREPLPool(command=standin("--echo"), workers=1, header=header) as pool:
        first, second, own = pool.check(
            [
                "theorem a : 1 = 1 := by rfl",
                "theorem b : 2 = 2 := by rfl",
                "import Lean\ntheorem c : 1 = 1 := rfl",
            ]
        )
        sent = [json.loads(result.messages[0].data) for result in (first, second, own)]
        assert sent[0] == {"cmd": "theorem a : 1 = 1 := by rfl", "env": 0}  # the header's env is 0
        assert sent[1] == {"cmd": "theorem b : 2 = 2 := by rfl", "env": 0}
        assert sent[2] == {"cmd": "import Lean\ntheorem c : 1 = 1 := rfl"}  # its own imports: no env
        assert pool.stats.starts == 1


def test_a_header_that_fails_is_one_clear_error():
    with LeanREPLPool(command=standin(), workers=1, header="import BAD") as pool:
        with pytest.raises(HFExtError, match="header does not elaborate"):
            pool.check(["theorem a : 1 = 1 := by rfl"])


def test_pool_keeps_the_order_of_codes_across_workers():
    codes = [f"theorem t{i} : {i} = {i} := by {'sorry' if i % 2 else 'rfl'}" for i in range(6)]
    with LeanREPLPool(command=standin("--delay", "0.05"), workers=3, header="") as pool:
        results = pool.check(codes)
    assert [bool(r.sorries) for r in results] == [bool(i % 2) for i in range(6)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be >= 1"),
        ({"time_limit": 0}, "time_limit must be > 0"),
        ({"recycle_after": -1}, "recycle_after must be >= 0"),
    ],
)
def test_pool_arguments_are_checked(kwargs, message):
    with pytest.raises(HFExtError, match=message):
        LeanREPLPool(command=standin(), header="", **kwargs)


def test_missing_toolchain_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    assert find_lake() is None
    with pytest.raises(HFExtError, match="no Lean toolchain: `lake` is not on PATH; install elan"):
        repl_command(tmp_path)
    with pytest.raises(HFExtError, match="no Lean toolchain"):
        LeanREPLPool(project_dir=tmp_path)


def test_recording_round_trip_and_no_overwrite(tmp_path):
    path = tmp_path / "verdicts.jsonl"
    codes = ["theorem a : 1 = 1 := by rfl", "theorem b : 1 = 2 := by BAD", "theorem c : 1 = 3 := by sorry"]
    with RecordingLeanChecker(LeanREPLPool(command=standin(), workers=1, header=""), path) as recorder:
        live = recorder.check(codes)
    replayed = RecordedLeanChecker(path).check(codes)
    assert [r.to_dict() for r in replayed] == [r.to_dict() for r in live]
    assert [r.ok for r in replayed] == [True, False, True] and replayed[2].sorries
    with pytest.raises(HFExtError, match="exists; pass append=True"):
        RecordingLeanChecker(RecordedLeanChecker(path), path)
    with pytest.raises(HFExtError, match="no recorded result for code starting 'theorem z"):
        RecordedLeanChecker(path).check(["theorem z : 0 = 0 := rfl"])
    assert "not in the recording" in RecordedLeanChecker(path, on_miss="fail").check(["x"])[0].error


def test_bad_recording_lines_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"code": "a", "reply": {"env": 0}}\n{broken\n')
    with pytest.raises(HFExtError, match=r"bad.jsonl, line 2: not valid JSON"):
        RecordedLeanChecker(path)


class _KiminaHandler(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, self.headers.get("Authorization"), body))
        results = []
        for index, item in enumerate(body["codes"]):
            if "TIMEOUT" in item["proof"]:
                results.append(
                    {"custom_id": item["custom_id"], "error": "Lean REPL command timed out in 5 seconds"}
                )
            else:
                response = answer({"cmd": item["proof"]}, env=index) | {"time": 0.25}
                results.append({"custom_id": item["custom_id"], "error": None, "response": response})
        data = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def kimina_server():
    _KiminaHandler.requests = []
    server = HTTPServer(("127.0.0.1", 0), _KiminaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_kimina_client_batches_prepends_the_header_and_maps_errors(kimina_server):
    checker = KiminaLeanChecker(kimina_server, timeout=5, api_key="k", header="import Mathlib", batch_size=2)
    results = checker.check(
        ["theorem a : 1 = 1 := by sorry", "theorem b := BAD", "TIMEOUT", "import Lean\n#eval 1"]
    )
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[0].sorries and results[0].time == 0.25
    assert results[2].error == "Lean REPL command timed out in 5 seconds"
    requests = _KiminaHandler.requests
    assert [len(body["codes"]) for _, _, body in requests] == [2, 2]
    assert all(path == "/verify" and auth == "Bearer k" for path, auth, _ in requests)
    proofs = [code["proof"] for _, _, body in requests for code in body["codes"]]
    assert proofs[0] == "import Mathlib\n\ntheorem a : 1 = 1 := by sorry"
    assert proofs[3] == "import Lean\n#eval 1"  # its own imports: sent as it is
    assert requests[0][2]["timeout"] == 5


def test_kimina_client_names_an_unreachable_server():
    with pytest.raises(HFExtError, match="cannot reach the Lean server at http://127.0.0.1:9"):
        KiminaLeanChecker("http://127.0.0.1:9", timeout=1).check(["theorem a : 1 = 1 := rfl"])
    with pytest.raises(HFExtError, match="url must start with http"):
        KiminaLeanChecker("localhost:1")


@pytest.mark.skipif(find_lake() is None, reason="needs a Lean toolchain (`lake`); see docs/lean_workbook.md")
def test_real_lean_checks_a_true_and_a_false_statement():
    project, repl = os.environ.get("HF_EXT_LEAN_PROJECT"), os.environ.get("HF_EXT_LEAN_REPL")
    if not project or not repl:
        pytest.skip("set HF_EXT_LEAN_PROJECT (Mathlib project) and HF_EXT_LEAN_REPL (built REPL checkout)")
    with LeanREPLPool(project_dir=project, repl_dir=repl, workers=1) as pool:
        good, bad = pool.check(
            ["theorem t : (2 : ℕ) + 2 = 4 := by norm_num", "theorem u : (2 : ℕ) + 2 = 5 := by norm_num"]
        )
    assert good.complete and not bad.ok
