"""Build a tiny random BGE-M3-shaped model folder with no download (a test fixture, not a real model).

The folder holds a 2-layer XLM-RoBERTa with a locally trained Unigram tokenizer plus
``colbert_linear.pt`` and ``sparse_linear.pt``, exactly the files
``FlagEmbedding.BGEM3FlagModel`` loads, so tests run the real FlagEmbedding code path
(dense, sparse and ColBERT outputs from one forward pass). Its weights are random: the
vectors are deterministic for a seed but carry no meaning.

Moved here from ``shared/recipes/tiny_bge_m3.py``; :func:`tokenizer_corpus` is shared with
:mod:`ragbench.testing.tiny_reranker` so both models use the same vocabulary.

Example:
    >>> path = build("/tmp/tiny-bge-m3")  # doctest: +SKIP
    >>> BGEM3Embedder(path).dim  # doctest: +SKIP
    32
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CORPUS = [
    "retrieval augmented generation combines search with a language model",
    "the quick brown fox jumps over the lazy dog",
    "vector databases store dense embeddings for similarity search",
    "sparse lexical weights and colbert multi vectors are produced by bge m3",
    "tenant data must stay isolated in a multi tenant system",
]


def save_tokenizer(out_dir: str | Path, *, max_len: int = 512, vocab_size: int = 300):
    """Train and save the tiny XLM-R-style Unigram tokenizer; returns the HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R ids: <s>=0 <pad>=1 </s>=2 <unk>=3
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(CORPUS * 20, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=max_len,
    )
    hf_tok.save_pretrained(str(out_dir))
    return hf_tok


def xlmr_config(hf_tok, *, hidden: int, layers: int, heads: int, max_len: int, **extra):
    """An XLM-RoBERTa config sized for the tiny tokenizer."""
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        vocab_size=len(hf_tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=max_len + 2,
        type_vocab_size=1,
        pad_token_id=hf_tok.pad_token_id,
        bos_token_id=hf_tok.bos_token_id,
        eos_token_id=hf_tok.eos_token_id,
        **extra,
    )


def build(
    out_dir: str | Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_len: int = 512,
    seed: int = 0,
    initializer_range: float = 0.02,
) -> str:
    """Write the tiny BGE-M3 folder to ``out_dir`` (about 180 KB, 0.2 s) and return its path.

    A larger ``initializer_range`` (e.g. 0.5) spreads the random dense vectors apart, which
    benchmarks of vector indexes need (at 0.02 every text's vector is nearly the same).
    """
    import torch
    from transformers import XLMRobertaModel

    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(seed)
    hf_tok = save_tokenizer(out_dir, max_len=max_len)
    cfg = xlmr_config(
        hf_tok, hidden=hidden, layers=layers, heads=heads, max_len=max_len, initializer_range=initializer_range
    )
    XLMRobertaModel(cfg).save_pretrained(str(out_dir))
    # FlagEmbedding's M3 runner: colbert_linear = Linear(hidden, hidden), sparse_linear = Linear(hidden, 1).
    torch.save(torch.nn.Linear(hidden, hidden).state_dict(), os.path.join(out_dir, "colbert_linear.pt"))
    torch.save(torch.nn.Linear(hidden, 1).state_dict(), os.path.join(out_dir, "sparse_linear.pt"))
    return str(out_dir)


def tiny_bge_m3_path() -> Path:
    """The tiny BGE-M3 (hidden 64, spread vectors) built once into ``$RAGBENCH_CACHE`` (``~/.cache/ragbench``)."""
    from ragbench.testing._cached import cached_model

    return cached_model("tiny-bge-m3-v1", lambda d: build(d, hidden=64, heads=4, initializer_range=0.5))


if __name__ == "__main__":
    print(build(sys.argv[1]))
