"""Agent memories: a sliding window (GrowPrompt) and a retrieval store (MemPrompt, Self-/MAM-StreamICL).

Both are plain state: :meth:`state_dict` returns JSON-ready data and :meth:`load_state_dict` restores it
(a retrieval store re-embeds its keys, which the embedders do deterministically), so a stream can stop and
resume with the same result.

Retrieval follows the paper: the key is the question text, the value the formatted past item; the ``top_k``
nearest keys (16 by default, capped by the store size) are returned with the **most similar last**
(``similar_at_bottom``), right above the new question.

Example:
    >>> store = RetrievalMemory(top_k=2, backend="numpy")
    >>> for q in ["count the pens", "list the students", "count the inks"]:
    ...     store.add(q, f"Question: {q}")
    >>> store.retrieve("count all pens")
    ['Question: count the inks', 'Question: count the pens']
    >>> window = WindowMemory(size=2)
    >>> for item in "abc":
    ...     window.add(item)
    >>> window.items()
    ['b', 'c']
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.retrieval import ExactIndex, HashingEmbedder, make_embedder

ORDERS = ("similar_at_bottom", "similar_at_top", "random")


class WindowMemory:
    """The last ``size`` items, oldest first."""

    def __init__(self, size: int = 16):
        if size < 1:
            raise HFExtError(f"window size must be at least 1, got {size}")
        self.size = size
        self._items: deque[str] = deque(maxlen=size)

    def add(self, item: str) -> None:
        self._items.append(item)

    def items(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "items": list(self._items)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["size"])
        self._items = deque(state["items"], maxlen=self.size)


class RetrievalMemory:
    """(key, value) pairs searched by embedding similarity of the keys."""

    def __init__(
        self,
        top_k: int = 16,
        order: str = "similar_at_bottom",
        embedder: str | Any = "hashing",
        backend: str = "auto",
        seed: int = 0,
    ):
        if top_k < 1:
            raise HFExtError(f"top_k must be at least 1, got {top_k}")
        if order not in ORDERS:
            raise HFExtError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
        self.top_k, self.order, self.backend, self.seed = top_k, order, backend, seed
        self.embedder = make_embedder(embedder) if isinstance(embedder, str) else embedder
        self.keys: list[str] = []
        self.values: list[str] = []
        self.index = ExactIndex(self.embedder.dim, backend)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, value: str) -> None:
        self.keys.append(key)
        self.values.append(value)
        self.index.add(self.embedder.embed([key]))

    def retrieve(self, query: str, k: int | None = None) -> list[str]:
        """Up to ``k`` (default ``top_k``) values, ordered as :attr:`order` says."""
        if not self.keys:
            return []
        found = self.index.search(self.embedder.embed([query])[0], k or self.top_k)
        if self.order == "similar_at_bottom":
            found = found[::-1]
        elif self.order == "random":
            random.Random(f"{self.seed}:{len(self.keys)}:{query}").shuffle(found)
        return [self.values[i] for i in found]

    def state_dict(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "values": list(self.values), "embedder": self.embedder.name}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("embedder") != self.embedder.name:
            raise HFExtError(
                f"saved memory was embedded with {state.get('embedder')!r}, "
                f"this run uses {self.embedder.name!r}"
            )
        self.keys, self.values = list(state["keys"]), list(state["values"])
        self.index = ExactIndex(self.embedder.dim, self.backend)
        if self.keys:
            self.index.add(self.embedder.embed(self.keys))


__all__ = ["ORDERS", "HashingEmbedder", "RetrievalMemory", "WindowMemory"]
