"""Replay recorded Lean results, and record a backend's results to share them.

A recording is a JSONL file, one line per checked code: ``{"code": ..., "result": {...LeanResult...}}``, or
``{"code": ..., "reply": {...raw REPL reply...}}``. :class:`RecordedLeanChecker` answers from it with no Lean
installed (tests, the quickstart, sharing a run's verdicts); :class:`RecordingLeanChecker` wraps a real
backend and appends what it checks. :func:`load_repl_session` reads the REPL's own test sessions
(``name.in`` commands and ``name.expected.out`` replies).

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from hf_ext.formal.lean.recorded import RecordedLeanChecker
    >>> path = Path(tempfile.mkdtemp()) / "rec.jsonl"
    >>> _ = path.write_text(json.dumps({"code": "theorem t : 1 = 1 := by rfl", "reply": {"env": 0}}) + "\\n")
    >>> RecordedLeanChecker(path).check(["theorem t : 1 = 1 := by rfl"])[0].complete
    True
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.formal.lean.checker import LeanChecker
from hf_ext.formal.lean.protocol import LeanResult, read_json_stream, to_result
from hf_ext.inputs import iter_jsonl_objects


def _key(code: str) -> str:
    return code.strip()


def load_repl_session(
    commands_path: str | os.PathLike, replies_path: str | os.PathLike
) -> list[tuple[dict, dict]]:
    """The (command, reply) pairs of a recorded REPL session, in order; the two files must pair up."""
    commands = list(read_json_stream(Path(commands_path).read_text(encoding="utf-8"), str(commands_path)))
    replies = list(read_json_stream(Path(replies_path).read_text(encoding="utf-8"), str(replies_path)))
    if len(commands) != len(replies):
        raise HFExtError(
            f"{commands_path}: {len(commands)} commands but {replies_path} has {len(replies)} replies"
        )
    return list(zip(commands, replies))


class RecordedLeanChecker(LeanChecker):
    """Answer from a recording. A code that is not recorded raises an error naming the file (``on_miss=
    "error"``, the default) or gets a failed result saying so (``on_miss="fail"``)."""

    def __init__(self, source: str | os.PathLike | Sequence[dict[str, Any]], on_miss: str = "error"):
        if on_miss not in ("error", "fail"):
            raise HFExtError(f"on_miss must be 'error' or 'fail', got {on_miss!r}")
        self.on_miss = on_miss
        self.source = str(source) if isinstance(source, (str, os.PathLike)) else "<records>"
        records = self._read(source) if isinstance(source, (str, os.PathLike)) else list(source)
        self.results: dict[str, LeanResult] = {}
        for number, record in enumerate(records, start=1):
            if "code" not in record or ("result" not in record and "reply" not in record):
                raise HFExtError(f"{self.source}, record {number}: needs 'code' and 'result' or 'reply'")
            if "result" in record:
                result = LeanResult.from_dict(record["result"])
            else:
                result = to_result(record["reply"], time=float(record.get("time", 0.0)))
            self.results[_key(record["code"])] = result

    @staticmethod
    def _read(path: str | os.PathLike) -> list[dict[str, Any]]:
        path = Path(path)
        if not path.is_file():
            raise HFExtError(f"no Lean recording at {path}")
        return [record for _, record in iter_jsonl_objects(path)]

    @classmethod
    def from_repl_session(cls, commands_path, replies_path, on_miss: str = "error") -> RecordedLeanChecker:
        """A checker answering each ``cmd`` of a recorded REPL session with its recorded reply."""
        pairs = load_repl_session(commands_path, replies_path)
        records = [{"code": c["cmd"], "reply": r} for c, r in pairs if "cmd" in c]
        return cls(records, on_miss=on_miss)

    def check(self, codes: Sequence[str]) -> list[LeanResult]:
        results = []
        for code in codes:
            found = self.results.get(_key(code))
            if found is None:
                first_line = code.strip().splitlines()[0][:80] if code.strip() else "<empty>"
                if self.on_miss == "error":
                    raise HFExtError(f"{self.source}: no recorded result for code starting {first_line!r}")
                found = LeanResult(ok=False, error=f"not in the recording {self.source}")
            results.append(found)
        return results


class RecordingLeanChecker(LeanChecker):
    """Check with ``inner`` and append each (code, result) to ``path`` as JSONL. An existing file is only
    appended to when ``append=True``; otherwise it is refused, so nothing recorded is ever lost."""

    def __init__(self, inner: LeanChecker, path: str | os.PathLike, append: bool = False):
        self.inner = inner
        self.path = Path(path)
        if self.path.exists() and not append:
            raise HFExtError(f"{self.path} exists; pass append=True to add to it")
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def check(self, codes: Sequence[str]) -> list[LeanResult]:
        results = self.inner.check(codes)
        with self.path.open("a", encoding="utf-8") as out:
            for code, result in zip(codes, results):
                out.write(json.dumps({"code": code, "result": result.to_dict()}, ensure_ascii=False) + "\n")
        return results

    def close(self) -> None:
        self.inner.close()
