"""Build a tiny random cross-encoder folder that ``FlagEmbedding.FlagReranker`` loads (no download).

A 2-layer ``XLMRobertaForSequenceClassification`` with one output label and the same
locally trained tokenizer as :mod:`ragbench.testing.tiny_bge_m3`: the real FlagReranker
code path (tokenise pairs, forward, logits) runs in tests. Its scores are deterministic
for a seed but meaningless.

Example:
    >>> path = build("/tmp/tiny-reranker")  # doctest: +SKIP
    >>> FlagEmbeddingReranker(path).rerank(...)  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from pathlib import Path

from ragbench.testing.tiny_bge_m3 import save_tokenizer, xlmr_config


def build(
    out_dir: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2, max_len: int = 512, seed: int = 0
) -> str:
    """Write the tiny reranker folder to ``out_dir`` and return its path."""
    import torch
    from transformers import XLMRobertaForSequenceClassification

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    hf_tok = save_tokenizer(out_dir, max_len=max_len)
    cfg = xlmr_config(hf_tok, hidden=hidden, layers=layers, heads=heads, max_len=max_len, num_labels=1)
    XLMRobertaForSequenceClassification(cfg).save_pretrained(str(out_dir))
    return str(out_dir)


def tiny_reranker_path() -> Path:
    """The tiny reranker built once into ``$RAGBENCH_CACHE`` (``~/.cache/ragbench``)."""
    from ragbench.testing._cached import cached_model

    return cached_model("tiny-reranker-v1", build)


if __name__ == "__main__":
    print(build(sys.argv[1]))
