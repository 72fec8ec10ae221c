"""Retrieval for MemPrompt and the StreamICL agents: an embedder and an exact nearest-neighbour index.

* Embedders return L2-normalised float32 rows. :class:`HashingEmbedder` (the offline default) hashes words,
  word pairs and character trigrams into a fixed number of buckets: no download, deterministic.
  :class:`TransformersEmbedder` takes any transformers encoder and uses its first ([CLS]) token, as the
  paper does with ``BAAI/bge-base-en-v1.5``; :func:`make_embedder` builds either (``"auto"`` tries bge and
  falls back to hashing when it cannot be loaded).
* :class:`ExactIndex` searches by L2 distance with faiss ``IndexFlatL2`` when faiss is installed and with
  numpy otherwise; both are exact and return the same neighbours (ties go to the earlier entry).

Example:
    >>> embedder = HashingEmbedder(dim=256)
    >>> index = ExactIndex(dim=256, backend="numpy")
    >>> index.add(embedder.embed(["how many pens", "list all students", "how many inks"]))
    >>> index.search(embedder.embed(["how many pens are there"])[0], k=2)
    [0, 2]
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
from collections.abc import Sequence

import numpy as np

from hf_ext.errors import HFExtError

logger = logging.getLogger(__name__)

DEFAULT_ENCODER = "BAAI/bge-base-en-v1.5"


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def _l2_normalize(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


class HashingEmbedder:
    """Bag of hashed features (words, word pairs, character trigrams), L2-normalised; needs no model."""

    def __init__(self, dim: int = 1024):
        if dim < 8:
            raise HFExtError(f"embedder dim must be at least 8, got {dim}")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _bucket(self, feature: str) -> int:
        return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little") % self.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            features = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
            features += [f"#{w[j : j + 3]}" for w in words for j in range(max(1, len(w) - 2))]
            for feature in features:
                rows[i, self._bucket(feature)] += 1.0
        return _l2_normalize(rows)


class TransformersEmbedder:
    """[CLS] embeddings of a transformers encoder (``AutoModel``), L2-normalised, in batches."""

    def __init__(self, model_name: str = DEFAULT_ENCODER, device: str = "cpu", batch_size: int = 32):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_name)
        self.model = AutoModel.from_pretrained(model_name).to(device).eval()
        self.device, self.batch_size, self.name = device, batch_size, model_name
        self.dim = int(self.model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                list(texts[start : start + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
            ).to(self.device)
            with self.torch.no_grad():
                hidden = self.model(**batch).last_hidden_state[:, 0]
            chunks.append(hidden.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _l2_normalize(np.concatenate(chunks))


def make_embedder(name: str = "hashing") -> HashingEmbedder | TransformersEmbedder:
    """``"hashing"`` (offline), ``"auto"`` (bge-base when it loads, else hashing), or a transformers model."""
    if name == "hashing":
        return HashingEmbedder()
    if name == "auto":
        try:
            return TransformersEmbedder(DEFAULT_ENCODER)
        except (OSError, ValueError) as error:
            logger.warning(
                "%s could not be loaded (%s); using the offline hashing embedder", DEFAULT_ENCODER, error
            )
            return HashingEmbedder()
    return TransformersEmbedder(name)


class ExactIndex:
    """Exact L2 nearest neighbours over added rows; ``backend`` is ``"faiss"``, ``"numpy"`` or ``"auto"``."""

    def __init__(self, dim: int, backend: str = "auto"):
        if backend not in ("auto", "faiss", "numpy"):
            raise HFExtError(f"retrieval backend must be 'auto', 'faiss' or 'numpy', got {backend!r}")
        if backend == "faiss" and not faiss_available():
            raise HFExtError("retrieval backend 'faiss' needs faiss: pip install 'hf-ext[faiss]'")
        self.backend = "faiss" if backend == "auto" and faiss_available() else backend
        self.backend = "numpy" if self.backend == "auto" else self.backend
        self.dim = dim
        self._rows = np.zeros((0, dim), dtype=np.float32)
        self._norms = np.zeros(0, dtype=np.float32)
        self._faiss = None
        if self.backend == "faiss":
            import faiss

            self._faiss = faiss.IndexFlatL2(dim)

    def __len__(self) -> int:
        return int(self._faiss.ntotal) if self._faiss is not None else len(self._rows)

    def add(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.float32).reshape(-1, self.dim)
        if self._faiss is not None:
            self._faiss.add(rows)
        else:
            self._rows = np.concatenate([self._rows, rows]) if len(self._rows) else rows.copy()
            self._norms = np.concatenate([self._norms, np.einsum("ij,ij->i", rows, rows)])

    def search(self, query: np.ndarray, k: int) -> list[int]:
        """Indices of the ``k`` nearest rows, nearest first (fewer when the index holds fewer)."""
        k = min(k, len(self))
        if k <= 0:
            return []
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        if self._faiss is not None:
            _, found = self._faiss.search(query, k)
            return [int(i) for i in found[0] if i >= 0]
        # ||x - q||^2 = ||x||^2 - 2 x.q + ||q||^2, in float64 so near-ties order as the exact distances do
        distances = self._norms.astype(np.float64) - 2.0 * (self._rows @ query[0]).astype(np.float64)
        distances += float(np.dot(query[0], query[0]))
        nearest = np.argpartition(distances, k - 1)[:k] if k < len(distances) else np.arange(len(distances))
        return [int(i) for i in sorted(nearest, key=lambda i: (distances[i], i))]
