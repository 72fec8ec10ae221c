"""A pool of Lean 4 REPL processes with what the REPL lacks: a time limit per command that kills and restarts
a stuck process, recycling after N commands (or past a memory limit, since the REPL's memory grows), and the
header elaborated once per process and reused as the environment of every snippet.

The REPL command defaults to ``lake env <repl>`` inside a local Lean project, located through lean-interact
(:func:`hf_ext.formal.lean.toolchain.repl_command`); any command that speaks the REPL protocol works, which is
how the tests drive the pool with a stand-in process.

Example:
    >>> import sys
    >>> from hf_ext.formal.lean.repl import LeanREPLPool
    >>> standin = [sys.executable, "-m", "hf_ext.formal.lean.standin_repl"]
    >>> with LeanREPLPool(command=standin, workers=1, header="") as pool:
    ...     [r.ok for r in pool.check(["theorem t : 1 = 1 := by rfl", "theorem u : 1 = 2 := by BAD"])]
    [True, False]
"""

from __future__ import annotations

import json
import logging
import os
import queue
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.formal.lean.checker import LEAN_WORKBOOK_HEADER, LeanChecker, split_header
from hf_ext.formal.lean.protocol import LeanResult, command, encode, to_result

logger = logging.getLogger(__name__)


class ReplTimeout(Exception):
    """The REPL did not answer within the time limit (the process has been killed)."""


class ReplCrashed(Exception):
    """The REPL process exited or closed its output before answering."""


class ReplProcess:
    """One REPL subprocess: send a request, read one reply, with a deadline.

    The process runs in its own session so that a kill reaches ``lake``'s children too.
    """

    def __init__(self, argv: Sequence[str], cwd: str | os.PathLike | None = None):
        self.argv = list(argv)
        self.cwd = cwd
        self.commands_served = 0
        self._process = subprocess.Popen(
            self.argv,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._buffer = b""

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def memory_mb(self) -> float | None:
        """Resident memory of the process from /proc (None where /proc is not available)."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def request(self, payload: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Send one request and return the reply; raise :class:`ReplTimeout` or :class:`ReplCrashed`."""
        try:
            self._process.stdin.write(encode(payload).encode("utf-8"))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ReplCrashed(self._crash_text()) from None
        self.commands_served += 1
        deadline = None if timeout is None else time.monotonic() + timeout
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        try:
            while True:
                reply = self._take_reply()
                if reply is not None:
                    return reply
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    self.kill()
                    raise ReplTimeout(f"no reply within {timeout:g} s")
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._process.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise ReplCrashed(self._crash_text())
                self._buffer += chunk
        finally:
            selector.close()

    def _take_reply(self) -> dict[str, Any] | None:
        """A complete reply is a JSON object followed by a blank line."""
        text = self._buffer.lstrip()
        end = text.find(b"\n\n")
        if end < 0:
            return None
        self._buffer = text[end + 2 :]
        return json.loads(text[:end].decode("utf-8"))

    def _crash_text(self) -> str:
        try:  # its output closed: give the process a moment to exit, so that its status is known
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        stderr = b""
        if code is not None and self._process.stderr is not None:
            stderr = self._process.stderr.read() or b""
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        return f"REPL exited (status {code}): {tail[0]}"

    def kill(self) -> None:
        if self.alive():
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class PoolStats:
    """What the pool did: commands run, processes started, time-outs, crashes and recycles."""

    commands: int = 0
    starts: int = 0
    timeouts: int = 0
    crashes: int = 0
    recycles: int = 0


class _Worker:
    def __init__(self, pool: LeanREPLPool):
        self.pool = pool
        self.process: ReplProcess | None = None
        self.header_env: int | None = None

    def ensure_started(self) -> ReplProcess:
        pool = self.pool
        if self.process is not None and self.process.alive() and not self._needs_recycle():
            return self.process
        if self.process is not None:
            if self.process.alive():
                pool.stats.recycles += 1
            self.process.kill()
        self.process = ReplProcess(pool.command, cwd=pool.cwd)
        pool.stats.starts += 1
        self.header_env = None
        if pool.header:
            reply = self.process.request(command(pool.header), pool.header_time_limit)
            result = to_result(reply)
            if not result.ok:
                raise HFExtError(f"the Lean header does not elaborate: {'; '.join(result.errors)[:300]}")
            self.header_env = result.env
        return self.process

    def _needs_recycle(self) -> bool:
        pool = self.pool
        if pool.recycle_after and self.process.commands_served >= pool.recycle_after:
            return True
        if pool.max_memory_mb:
            memory = self.process.memory_mb()
            return memory is not None and memory > pool.max_memory_mb
        return False

    def check(self, code: str) -> LeanResult:
        pool = self.pool
        started = time.perf_counter()
        try:
            process = self.ensure_started()
            header, body = split_header(code)
            if header and header != pool.header:
                payload = command(code)  # its own imports: a whole file
            else:
                payload = command(body, self.header_env)
            reply = process.request(payload, pool.time_limit)
        except ReplTimeout as error:
            pool.stats.timeouts += 1
            self.process = None
            return LeanResult(ok=False, time=time.perf_counter() - started, error=f"time-out: {error}")
        except ReplCrashed as error:
            pool.stats.crashes += 1
            if self.process is not None:
                self.process.kill()
            self.process = None
            return LeanResult(ok=False, time=time.perf_counter() - started, error=str(error))
        pool.stats.commands += 1
        return to_result(reply, time=time.perf_counter() - started)

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None


class LeanREPLPool(LeanChecker):
    """Check Lean code on ``workers`` REPL processes in parallel.

    Args:
        command: the REPL command line; ``None`` locates ``lake env repl`` in ``project_dir`` (needs a Lean
            toolchain and lean-interact; see :func:`hf_ext.formal.lean.toolchain.repl_command`).
        project_dir: a Lean project with Mathlib built (used when ``command`` is ``None``).
        repl_dir: a built checkout of the Lean REPL for that toolchain (used when ``command`` is ``None``).
        workers: REPL processes run side by side.
        time_limit: seconds one command may take; past it the process is killed and restarted and the result
            says ``time-out``. ``None`` waits for ever (the REPL's own behaviour).
        header_time_limit: seconds the header may take to elaborate (importing Mathlib is slow).
        recycle_after: restart a process after this many commands (0: never).
        max_memory_mb: restart a process whose resident memory passes this (None: no limit).
        header: elaborated once per process; snippets without their own imports run in its environment.
    """

    def __init__(
        self,
        command: Sequence[str] | None = None,
        project_dir: str | os.PathLike | None = None,
        repl_dir: str | os.PathLike | None = None,
        workers: int = 2,
        time_limit: float | None = 60.0,
        header_time_limit: float | None = 600.0,
        recycle_after: int = 500,
        max_memory_mb: float | None = None,
        header: str = LEAN_WORKBOOK_HEADER,
    ):
        if workers < 1:
            raise HFExtError(f"workers must be >= 1, got {workers}")
        if time_limit is not None and time_limit <= 0:
            raise HFExtError(f"time_limit must be > 0 seconds or None, got {time_limit}")
        if recycle_after < 0:
            raise HFExtError(f"recycle_after must be >= 0, got {recycle_after}")
        if command is None:
            from hf_ext.formal.lean.toolchain import repl_command

            command, project_dir = repl_command(project_dir, repl_dir)
        self.command = list(command)
        self.cwd = Path(project_dir) if project_dir else None
        self.time_limit = time_limit
        self.header_time_limit = header_time_limit
        self.recycle_after = recycle_after
        self.max_memory_mb = max_memory_mb
        self.header = header.strip("\n")
        self.stats = PoolStats()
        self._workers = [_Worker(self) for _ in range(workers)]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lean-repl")

    def _run(self, code: str) -> LeanResult:
        worker = self._idle.get()
        try:
            return worker.check(code)
        finally:
            self._idle.put(worker)

    def check(self, codes: Sequence[str]) -> list[LeanResult]:
        return list(self._executor.map(self._run, codes))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for worker in self._workers:
            worker.close()
