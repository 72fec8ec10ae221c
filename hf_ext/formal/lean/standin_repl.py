"""A stand-in for the Lean 4 REPL that speaks its protocol, for tests, demos and benchmarks of the clients.

It is not Lean. Run as ``python -m hf_ext.formal.lean.standin_repl`` it answers each command by simple rules:
a snippet containing ``BAD`` gets an error message, one containing ``sorry`` a warning and a sorry, ``STALL``
never answers, ``CRASH`` exits, and ``GROW`` keeps 20 MB more resident memory per command. With
``--replay IN OUT`` it replays a recorded REPL session instead (the fixtures' ``.in``/``.expected.out``
pairs), answering the k-th command with the k-th recorded reply, or a ``message`` reply when the command
differs.
``--delay S`` adds S seconds to every answer (to measure a pool against one process); ``--echo`` adds the
request it received as an ``info`` message (to check what a client sent).

Example:
    >>> from hf_ext.formal.lean.standin_repl import answer
    >>> answer({"cmd": "theorem t : 1 = 2 := by sorry"}, env=0)["sorries"][0]["goal"]
    '⊢ theorem t : 1 = 2'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from hf_ext.formal.lean.protocol import read_json_stream


def _position(line: int, column: int) -> dict[str, int]:
    return {"line": line, "column": column}


def answer(request: dict[str, Any], env: int) -> dict[str, Any]:
    """The rule-based reply to one command (see the module docstring)."""
    code = str(request.get("cmd", request.get("tactic", "")))
    if "BAD" in code:
        return {
            "messages": [
                {
                    "severity": "error",
                    "pos": _position(1, code.index("BAD")),
                    "endPos": _position(1, code.index("BAD") + 3),
                    "data": "unknown identifier 'BAD'",
                }
            ],
            "env": env,
        }
    if "sorry" in code:
        goal = code.split(":=")[0].strip()
        return {
            "sorries": [
                {"proofState": env, "pos": _position(1, 0), "endPos": _position(1, 5), "goal": f"⊢ {goal}"}
            ],
            "messages": [
                {
                    "severity": "warning",
                    "pos": _position(1, 0),
                    "endPos": _position(1, 7),
                    "data": "declaration uses `sorry`",
                }
            ],
            "env": env,
        }
    return {"env": env}


def _requests(stream) -> Any:
    """Yield requests as they arrive: a JSON object ends at a blank line."""
    lines: list[str] = []
    for line in stream:
        if line.strip():
            lines.append(line)
            continue
        if lines:
            yield json.loads("".join(lines), strict=False)
            lines = []
    if lines:
        yield json.loads("".join(lines), strict=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replay", nargs=2, metavar=("IN", "OUT"), default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--echo", action="store_true")
    args = parser.parse_args(argv)
    recorded: list[tuple[dict, dict]] = []
    if args.replay:
        with (
            open(args.replay[0], encoding="utf-8") as commands,
            open(args.replay[1], encoding="utf-8") as replies,
        ):
            recorded = list(zip(read_json_stream(commands.read()), read_json_stream(replies.read())))
    hoard: list[bytes] = []
    for index, request in enumerate(_requests(sys.stdin)):
        code = str(request.get("cmd", ""))
        if "CRASH" in code:
            return 3
        if "STALL" in code:
            time.sleep(3600)
        if "GROW" in code:
            hoard.append(os.urandom(20 * 1024 * 1024))
        if args.delay:
            time.sleep(args.delay)
        if args.replay:
            expected, reply = recorded[index] if index < len(recorded) else (None, None)
            if expected != request:
                reply = {"message": f"stand-in: command {index} differs from the recording"}
        else:
            reply = answer(request, env=index)
        if args.echo:
            echo = {"severity": "info", "data": json.dumps(request, ensure_ascii=False)}
            reply = {**reply, "messages": [echo, *reply.get("messages", [])]}
        sys.stdout.write(json.dumps(reply, ensure_ascii=False, indent=1) + "\n\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
