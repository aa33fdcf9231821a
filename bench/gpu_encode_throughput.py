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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny config on CPU (a smoke test of this script)")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=120.0, help="stop timing after this long")
    args = parser.parse_args()

    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    gpu = torch.cuda.is_available() and not args.tiny
    device = "cuda" if gpu else "cpu"
    dtype = torch.float16 if gpu else torch.float32
    if args.tiny:
        cfg = XLMRobertaConfig(vocab_size=250_002, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                               intermediate_size=128, max_position_embeddings=args.max_length + 2)
        args.texts, args.batch_size = min(args.texts, 256), min(args.batch_size, 32)
    else:
        cfg = XLMRobertaConfig(vocab_size=250_002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                               intermediate_size=4096, max_position_embeddings=8194, type_vocab_size=1)
    cfg._attn_implementation = "sdpa"
    model = XLMRobertaModel(cfg, add_pooling_layer=False).to(device=device, dtype=dtype).eval()

    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(16, args.max_length + 1, (args.texts,), generator=gen).sort(descending=True).values
    batches = [lengths[i:i + args.batch_size] for i in range(0, len(lengths), args.batch_size)]

    def run(batch_lengths) -> int:
        width = int(batch_lengths[0])
        ids = torch.randint(5, cfg.vocab_size, (len(batch_lengths), width), generator=gen)
        mask = (torch.arange(width)[None, :] < batch_lengths[:, None]).long()
        ids = ids.masked_fill(mask == 0, cfg.pad_token_id)
        with torch.inference_mode():
            model(input_ids=ids.to(device), attention_mask=mask.to(device))
        return int(batch_lengths.sum())

    run(batches[-1])  # warm-up (kernels, allocator)
    run(batches[0])
    if gpu:
        torch.cuda.synchronize()
    tokens, start = 0, time.perf_counter()
    for b in batches:
        tokens += run(b)
        if time.perf_counter() - start > args.seconds:
            break
    if gpu:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    name = torch.cuda.get_device_name() if gpu else "cpu"
    print(f"device {name}, {'tiny' if args.tiny else 'XLM-R-large'} config, {str(dtype).split('.')[-1]}, "
          f"batch {args.batch_size}, max_length {args.max_length}, length-sorted")
    print(f"encoded {tokens} tokens in {elapsed:.2f} s: {tokens / elapsed:,.0f} tokens/s")


if __name__ == "__main__":
    main()
