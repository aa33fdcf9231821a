"""BGE-M3's three outputs for a batch of texts (a plain data type shared by the embedder and its cache)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class M3Output:
    """The three BGE-M3 representations of ``n`` texts.

    Attributes:
        dense: ``(n, dim)`` float32, L2-normalised.
        sparse: One ``{token_id: weight}`` dict per text (lexical weights, special tokens dropped).
        colbert: One ``(tokens, dim)`` float32 array per text, rows L2-normalised.
    """

    dense: np.ndarray
    sparse: list[dict[int, float]] = field(default_factory=list)
    colbert: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.dense)

    def take(self, index: Sequence[int]) -> M3Output:
        return M3Output(self.dense[list(index)], [self.sparse[i] for i in index], [self.colbert[i] for i in index])

    def columns(self) -> dict[str, list]:
        """Per-row store columns: ``sparse_ids``, ``sparse_weights``, ``colbert``."""
        return {
            "sparse_ids": [np.fromiter(s.keys(), dtype=np.int32, count=len(s)) for s in self.sparse],
            "sparse_weights": [np.fromiter(s.values(), dtype=np.float32, count=len(s)) for s in self.sparse],
            "colbert": list(self.colbert),
        }

    @classmethod
    def concat(cls, parts: Sequence[M3Output], dim: int) -> M3Output:
        if not parts:
            return cls(np.zeros((0, dim), dtype=np.float32))
        return cls(
            np.concatenate([p.dense for p in parts]).astype(np.float32, copy=False),
            [s for p in parts for s in p.sparse],
            [c for p in parts for c in p.colbert],
        )
