"""A client for a kimina-style Lean server (a pool of REPLs behind HTTP).

It posts ``{"codes": [{"custom_id", "proof"}], "timeout", "disable_cache"}`` to ``<url>/verify`` and reads
``{"results": [{"custom_id", "error", "response": {env, messages, sorries, time} | {message}}]}``, the
server's batch endpoint. Codes go in batches of ``batch_size``; an unreachable server is a one-line error.

Example:
    >>> from hf_ext.formal.lean.http import KiminaLeanChecker
    >>> checker = KiminaLeanChecker("http://127.0.0.1:12332", timeout=30)
    >>> checker.check(["theorem t : 1 = 1 := by rfl"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from hf_ext.errors import HFExtError
from hf_ext.formal.lean.checker import LEAN_WORKBOOK_HEADER, LeanChecker, split_header
from hf_ext.formal.lean.protocol import LeanResult, to_result


class KiminaLeanChecker(LeanChecker):
    """Check codes on a running kimina-lean-server.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:12332``.
        timeout: seconds the server may spend on one code (sent with the request).
        api_key: sent as ``Authorization: Bearer <key>`` when the server requires one.
        header: prepended to codes that have no imports of their own (the server elaborates whole files and
            caches REPLs by header, so every code should carry the same header).
        batch_size: codes per request.
    """

    def __init__(
        self,
        url: str,
        timeout: float = 60.0,
        api_key: str | None = None,
        header: str = LEAN_WORKBOOK_HEADER,
        batch_size: int = 32,
    ):
        if not url.startswith(("http://", "https://")):
            raise HFExtError(f"url must start with http:// or https://, got {url!r}")
        if batch_size < 1:
            raise HFExtError(f"batch_size must be >= 1, got {batch_size}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.api_key = api_key
        self.header = header.strip("\n")
        self.batch_size = batch_size

    def _full_code(self, code: str) -> str:
        header, _ = split_header(code)
        return code if header.startswith("import") or not self.header else f"{self.header}\n\n{code.strip()}"

    def _post(self, payload: dict) -> dict:
        request = urllib.request.Request(
            f"{self.url}/verify",
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout * 2 + 30) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise HFExtError(
                f"Lean server {self.url}/verify answered HTTP {error.code}: {error.reason}"
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise HFExtError(f"cannot reach the Lean server at {self.url}: {reason}") from None

    def check(self, codes: Sequence[str]) -> list[LeanResult]:
        results: list[LeanResult] = []
        for start in range(0, len(codes), self.batch_size):
            batch = list(codes[start : start + self.batch_size])
            ids = [str(start + offset) for offset in range(len(batch))]
            payload = {
                "codes": [{"custom_id": i, "proof": self._full_code(c)} for i, c in zip(ids, batch)],
                "timeout": self.timeout,
                "disable_cache": False,
            }
            began = time.perf_counter()
            reply = self._post(payload)
            elapsed = time.perf_counter() - began
            by_id = {str(item.get("custom_id")): item for item in reply.get("results", [])}
            for custom_id in ids:
                item = by_id.get(custom_id)
                if item is None:
                    results.append(
                        LeanResult(ok=False, error=f"the server returned no result for {custom_id}")
                    )
                    continue
                response = item.get("response") or {}
                seconds = float(response.get("time") or elapsed)
                if item.get("error"):
                    results.append(LeanResult(ok=False, time=seconds, error=str(item["error"])))
                else:
                    results.append(to_result(response, time=seconds))
        return results
