"""A tiny random Qwen2 chat model with a locally trained BPE tokenizer, built offline.

It exercises the real vLLM / transformers code paths (chat template, tokenizer,
Qwen2 architecture) without any download: the tokenizer is trained on CPython's
own standard-library sources and the weights are random (seed 0), so its answers
are nonsense but deterministic. Ported from ``shared/recipes/tiny_qwen2.py``.

Example:
    >>> from ragbench.testing.tiny_qwen2 import build_tiny_qwen2
    >>> path = build_tiny_qwen2("/tmp/tiny-qwen2")  # doctest: +SKIP
    >>> sorted(p.name for p in path.iterdir())[:2]  # doctest: +SKIP
    ['.ragbench-tiny-qwen2', 'chat_template.jinja']
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

# Bump when the recipe changes so cached copies are rebuilt.
RECIPE_VERSION = 2
STAMP = ".ragbench-tiny-qwen2"
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _settings(hidden: int, heads: int, kv_heads: int, vocab: int, max_positions: int) -> dict:
    if hidden % heads or (hidden // heads) not in (32, 64, 80, 96, 112, 128, 160, 192, 224, 256):
        raise ValueError(
            f"hidden={hidden} / heads={heads} gives head_dim {hidden / heads}; vLLM's CPU attention "
            "needs head_dim in 32, 64, 80, 96, 112, 128, ... (e.g. hidden=128, heads=4)."
        )
    if heads % kv_heads:
        raise ValueError(f"heads={heads} must be a multiple of kv_heads={kv_heads}.")
    return {
        "version": RECIPE_VERSION,
        "hidden": hidden,
        "heads": heads,
        "kv_heads": kv_heads,
        "vocab": vocab,
        "max_positions": max_positions,
    }


def is_built(out_dir: str | os.PathLike, settings: dict | None = None) -> bool:
    """True when ``out_dir`` holds a complete build (of ``settings`` when given)."""
    stamp = Path(out_dir) / STAMP
    if not stamp.is_file():
        return False
    try:
        built = json.loads(stamp.read_text())
    except ValueError:
        return False
    return settings is None or built == settings


def _train_tokenizer(vocab: int, max_positions: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(stdlib, "*.py")))[:200]

    def corpus():
        for name in files:
            with open(name, encoding="utf-8", errors="ignore") as fh:
                yield fh.read()

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        additional_special_tokens=["<|im_start|>"],
        model_max_length=max_positions,
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    return hf_tok


def _write_model(out: Path, settings: dict) -> None:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    hf_tok = _train_tokenizer(settings["vocab"], settings["max_positions"])
    hf_tok.save_pretrained(out)
    hidden = settings["hidden"]
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=len(hf_tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=settings["heads"],
        num_key_value_heads=settings["kv_heads"],
        max_position_embeddings=settings["max_positions"],
        tie_word_embeddings=True,
        bos_token_id=hf_tok.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=hf_tok.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=hf_tok.convert_tokens_to_ids("<|endoftext|>"),
        torch_dtype="float32",
    )
    model = Qwen2ForCausalLM(cfg)
    model.save_pretrained(out)
    model.generation_config.save_pretrained(out)


def build_tiny_qwen2(
    out_dir: str | os.PathLike,
    *,
    hidden: int = 128,
    heads: int = 4,
    kv_heads: int = 2,
    vocab: int = 4096,
    max_positions: int = 2048,
) -> Path:
    """Build the tiny Qwen2 into ``out_dir`` (idempotent) and return its path.

    A finished build is marked by a stamp file; calling again returns at once. The
    build goes to a sibling temporary folder that is renamed into place, so
    concurrent callers (e.g. pytest workers) never see a half-written model.

    Args:
        out_dir: Target folder; created, or reused when it holds the same build.
        hidden: Hidden size (``hidden / heads`` must be a head size vLLM's CPU backend supports).
        heads: Attention heads.
        kv_heads: Key/value heads (grouped-query attention).
        vocab: Tokenizer vocabulary size.
        max_positions: Longest context the model accepts (rotary positions: no extra weights).

    Raises:
        ValueError: The shape is not one vLLM's CPU backend can run.
        FileExistsError: ``out_dir`` exists and holds something else.

    Example:
        >>> build_tiny_qwen2("/tmp/tiny-qwen2").name  # doctest: +SKIP
        'tiny-qwen2'
    """
    out = Path(out_dir).expanduser().resolve()
    settings = _settings(hidden, heads, kv_heads, vocab, max_positions)
    if is_built(out, settings):
        return out
    if out.exists() and any(out.iterdir()) and not (out / STAMP).exists():
        raise FileExistsError(
            f"{out} exists and is not a tiny-Qwen2 build (no {STAMP} stamp). Pass an empty or new folder."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _write_model(tmp, settings)
        (tmp / STAMP).write_text(json.dumps(settings))
        if out.exists():  # an outdated build: replace it
            shutil.rmtree(out, ignore_errors=True)
        try:
            os.rename(tmp, out)
        except OSError:
            if not is_built(out, settings):  # someone else finished first, or a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def cache_dir() -> Path:
    """Where cached test models live: ``$RAGBENCH_CACHE`` or ``~/.cache/ragbench``."""
    env = os.environ.get("RAGBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ragbench"


def tiny_qwen2_path() -> Path:
    """Build the tiny Qwen2 once into the cache folder and return it (use from session fixtures).

    Example:
        >>> @pytest.fixture(scope="session")  # doctest: +SKIP
        ... def tiny_qwen2():
        ...     return tiny_qwen2_path()
    """
    return build_tiny_qwen2(cache_dir() / f"tiny-qwen2-v{RECIPE_VERSION}")
