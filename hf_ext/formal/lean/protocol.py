"""The Lean 4 REPL's JSON protocol, and the result every checking backend returns.

The REPL (leanprover-community/repl) reads JSON commands separated by blank lines and answers each with one
JSON object: ``{"cmd": code, "env": N}`` gives ``{"env", "messages": [{severity, pos, endPos, data}],
"sorries": [...]}``; tactic mode ``{"tactic", "proofState"}`` gives ``{"proofState", "goals", ...}``; a
request it cannot serve gives ``{"message": "..."}``. :func:`to_result` turns a reply into a
:class:`LeanResult`; :func:`read_json_stream` reads a recorded session (commands or replies) the way the REPL
writes them.

Example:
    >>> from hf_ext.formal.lean.protocol import to_result
    >>> reply = {"env": 0, "messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
    ...          "endPos": {"line": 1, "column": 11}, "data": "declaration uses `sorry`"}],
    ...          "sorries": [{"proofState": 0, "goal": "⊢ 1 = 1"}]}
    >>> result = to_result(reply, time=0.1)
    >>> result.ok, result.complete, len(result.sorries), result.env
    (True, False, 1, 0)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from hf_ext.errors import HFExtError


@dataclass(frozen=True)
class LeanMessage:
    """One message of the Lean elaborator: ``severity`` is ``error``, ``warning``, ``info`` or ``trace``."""

    severity: str
    data: str
    pos: tuple[int, int] | None = None
    end_pos: tuple[int, int] | None = None


@dataclass
class LeanResult:
    """What checking one piece of Lean code gave.

    ``ok`` is true when Lean reported no error (a statement closed by ``sorry`` is ``ok``: that is what the
    compile filter asks); ``complete`` is true when it is ``ok`` and used no ``sorry`` (a checked proof).
    ``error`` holds a failure outside Lean's messages (the REPL's own ``message`` reply, a time-out, a crash);
    ``time`` is the wall-clock seconds the check took; ``env`` the REPL environment it created, if any.
    """

    ok: bool
    messages: list[LeanMessage] = field(default_factory=list)
    sorries: list[dict[str, Any]] = field(default_factory=list)
    time: float = 0.0
    env: int | None = None
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.ok and not self.sorries

    @property
    def errors(self) -> list[str]:
        """The error messages' texts (and ``error`` when set), for logs and datasets."""
        texts = [message.data for message in self.messages if message.severity == "error"]
        return texts + ([self.error] if self.error else [])

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["complete"] = self.complete
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> LeanResult:
        messages = [
            LeanMessage(
                severity=m["severity"],
                data=m["data"],
                pos=tuple(m["pos"]) if m.get("pos") else None,
                end_pos=tuple(m["end_pos"]) if m.get("end_pos") else None,
            )
            for m in record.get("messages", [])
        ]
        return cls(
            ok=bool(record["ok"]),
            messages=messages,
            sorries=list(record.get("sorries", [])),
            time=float(record.get("time", 0.0)),
            env=record.get("env"),
            error=record.get("error"),
        )


def _position(value: Any) -> tuple[int, int] | None:
    if isinstance(value, dict) and "line" in value and "column" in value:
        return (int(value["line"]), int(value["column"]))
    return None


def to_result(reply: dict[str, Any], time: float = 0.0) -> LeanResult:
    """A REPL reply (command or tactic mode, or a ``{"message"}`` failure) as a :class:`LeanResult`."""
    if not isinstance(reply, dict):
        raise HFExtError(f"a Lean REPL reply must be a JSON object, got {type(reply).__name__}")
    if "message" in reply and "messages" not in reply:
        return LeanResult(ok=False, time=time, error=str(reply["message"]))
    messages = [
        LeanMessage(
            severity=str(m.get("severity", "info")),
            data=str(m.get("data", "")),
            pos=_position(m.get("pos")),
            end_pos=_position(m.get("endPos")),
        )
        for m in reply.get("messages") or []
    ]
    sorries = list(reply.get("sorries") or [])
    status = reply.get("proofStatus")
    status_error = isinstance(status, str) and status.startswith("Error")
    ok = not status_error and not any(m.severity == "error" for m in messages)
    return LeanResult(
        ok=ok,
        messages=messages,
        sorries=sorries,
        time=time,
        env=reply.get("env"),
        error=status if status_error else None,
    )


def command(code: str, env: int | None = None) -> dict[str, Any]:
    """The REPL command that elaborates ``code`` (in environment ``env`` when given)."""
    request: dict[str, Any] = {"cmd": code}
    if env is not None:
        request["env"] = env
    return request


def encode(request: dict[str, Any]) -> str:
    """One request as the REPL reads it: a JSON object followed by a blank line."""
    return json.dumps(request, ensure_ascii=False) + "\n\n"


def read_json_stream(text: str, source: str = "<stream>") -> Iterator[dict[str, Any]]:
    """The JSON objects of a REPL session (commands or replies), separated by whitespace/blank lines."""
    decoder = json.JSONDecoder(strict=False)  # the REPL accepts raw line breaks inside strings
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            line = text.count("\n", 0, position) + 1
            raise HFExtError(f"{source}, line {line}: not a JSON object ({error.msg})") from None
        yield value
