"""Encode throughput (tokens/s) of a BGE-M3-shaped encoder: XLM-RoBERTa-large config, random weights.

BGE-M3 is an XLM-RoBERTa-large (24 layers, hidden 1024, 16 heads, vocabulary 250,002, 8194 positions);
no weights can be downloaded here, and random weights cost the same FLOPs, so the figure is the
throughput BGE-M3 itself would get. Inputs are length-sorted batches (as FlagEmbedding sorts them)
of random token ids with lengths spread up to --max-length (512), fp16 on GPU. Only real (non-pad)
tokens are counted. Runs in well under 5 minutes on a GPU (goal: >= 300k tokens/s on an H200).

    python bench/gpu_encode_throughput.py                 # on a GPU
    python bench/gpu_encode_throughput.py --tiny          # 2-layer model on CPU: checks the script works
"""

from __future__ import annotations

import argparse
import time


def build_model(tiny: bool, max_length: int, device: str, dtype):
    """XLM-RoBERTa-large (BGE-M3's shape) or a 2-layer stand-in, random weights, in eval mode."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    if tiny:
        cfg = XLMRobertaConfig(vocab_size=250_002, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                               intermediate_size=128, max_position_embeddings=max_length + 2)
    else:
        cfg = XLMRobertaConfig(vocab_size=250_002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                               intermediate_size=4096, max_position_embeddings=8194, type_vocab_size=1)
    cfg._attn_implementation = "sdpa"
    import torch

    with torch.device(device):  # initialise the random weights on the device (seconds, not a minute on CPU)
        model = XLMRobertaModel(cfg, add_pooling_layer=False)
    return model.to(dtype=dtype).eval()


def measure(model, *, texts: int, batch_size: int, max_length: int, seconds: float, device: str) -> tuple[int, float]:
    """Encode length-sorted batches of random token ids; returns (real tokens, seconds)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(16, max_length + 1, (texts,), generator=gen).sort(descending=True).values
    batches = [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]
    vocab, pad = model.config.vocab_size, model.config.pad_token_id

    def run(batch_lengths) -> int:
        width = int(batch_lengths[0])
        ids = torch.randint(5, vocab, (len(batch_lengths), width), generator=gen)
        mask = (torch.arange(width)[None, :] < batch_lengths[:, None]).long()
        with torch.inference_mode():
            model(input_ids=ids.masked_fill(mask == 0, pad).to(device), attention_mask=mask.to(device))
        return int(batch_lengths.sum())

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    run(batches[-1]), run(batches[0])  # warm-up: kernels, allocator at the largest shape
    sync()
    tokens, start = 0, time.perf_counter()
    for b in batches:
        tokens += run(b)
        if time.perf_counter() - start > seconds:
            break
    sync()
    return tokens, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny config on CPU (a smoke test of this script)")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop timing after this long")
    args = parser.parse_args()
    import torch

    gpu = torch.cuda.is_available() and not args.tiny
    device, dtype = ("cuda", torch.float16) if gpu else ("cpu", torch.float32)
    if args.tiny:
        args.texts, args.batch_size = min(args.texts, 256), min(args.batch_size, 32)
    model = build_model(args.tiny, args.max_length, device, dtype)
    tokens, elapsed = measure(model, texts=args.texts, batch_size=args.batch_size, max_length=args.max_length,
                              seconds=args.seconds, device=device)
    name = torch.cuda.get_device_name() if gpu else "cpu"
    print(f"device {name}, {'tiny' if args.tiny else 'XLM-R-large'} config, {str(dtype).split('.')[-1]}, "
          f"batch {args.batch_size}, max_length {args.max_length}, length-sorted")
    print(f"encoded {tokens} tokens in {elapsed:.2f} s: {tokens / elapsed:,.0f} tokens/s")


if __name__ == "__main__":
    main()
