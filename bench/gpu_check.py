"""The prepared GPU check: encode and generation throughput on the real architectures, with NVML telemetry.

Writes ONE JSON of figures (rewritten after every step, so a timeout still leaves what was measured):

1. ``encode``: a BGE-M3-shaped encoder (XLM-RoBERTa-large config: 24 layers, hidden 1024, vocabulary
   250,002), fp16, length-sorted batches of random token ids (lengths uniform in 16..512), max length
   512: real (non-pad) tokens/s. Goal >= 300k tokens/s on an H200 (compute ceiling about 650k).
2. ``generate.batch_<b>`` for b in 1, 8, 64: a Qwen2.5-7B-shaped decoder (config only; random bf16
   weights initialised on the device: speed does not depend on the weights), batched greedy
   generation through ``transformers``: prompt tokens/s (prefill: ``b x prompt_len`` over the time of
   a 1-token generation) and output tokens/s (decode: ``b x (new_tokens - 1)`` over the extra time of a
   ``new_tokens`` generation), with the bandwidth-bound ceiling for batch 1 (weights streamed once per
   token: 4.8 TB/s / ~15 GB ~ 300 tokens/s on an H200) next to it.
3. ``gpu``: :class:`ragbench.telemetry.GpuSampler` samples NVML throughout; every section carries the
   utilisation, memory and power seen while it ran, next to its throughput.

Imports only torch, transformers and ``ragbench.telemetry`` (no MLflow, LanceDB, vLLM or Hydra:
the GPU machine has none of them). Nothing is downloaded.

    timeout 300 python3 bench/gpu_check.py --out "$OUT/gpu_check.json"    # on a GPU machine (~2-3 min)
    python bench/gpu_check.py --dry-run --out /tmp/gpu_check.json          # every step at tiny shapes, on CPU

docs/performance.md explains every figure and where they go.
"""

from __future__ import annotations

import argparse
import platform
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ragbench from this checkout (not installed there)

from ragbench.telemetry import GpuSampler, JsonSink, Throughput

BGE_M3 = dict(
    vocab_size=250_002,
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    max_position_embeddings=8194,
    type_vocab_size=1,
    pad_token_id=1,
)
QWEN25_7B = dict(
    vocab_size=152_064,
    hidden_size=3584,
    intermediate_size=18_944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    max_position_embeddings=32_768,
    rope_theta=1e6,
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=4096)
ENCODE_GOAL, ENCODE_CEILING = 300_000, 650_000  # tokens/s on an H200 (issue 20)
H200_BANDWIDTH_TBS = 4.8


@dataclass
class Plan:
    """Every size the check uses; :func:`plan` fills it from the arguments."""

    dry_run: bool
    device: str
    texts: int = 20_000
    batch_size: int = 256
    max_length: int = 512
    encode_seconds: float = 60.0
    prompt_len: int = 512
    new_tokens: int = 128
    batches: tuple[int, ...] = (1, 8, 64)
    repeats: int = 2
    bandwidth_tbs: float = H200_BANDWIDTH_TBS


class Check:
    """The JSON of figures, the time budget and the NVML sampler of one check."""

    def __init__(self, out: Path, *, budget_s: float, sampler: GpuSampler, mode: str) -> None:
        self.sampler, self.budget_s, self.t0 = sampler, budget_s, time.monotonic()
        self.throughput = Throughput()
        self.sink = JsonSink(
            out,
            check="bench/gpu_check.py",
            mode=mode,
            status="running",
            budget_s=budget_s,
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            sections={},
        )
        self.problems: list[str] = []

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    @contextmanager
    def section(self, name: str):
        """Run one step: its figures (the yielded dict) plus NVML during it go into the JSON; an error is
        recorded there and the check goes on with the next step."""
        figures: dict = {}
        self.sampler.sample()
        start = time.time()
        try:
            yield figures
        except (KeyboardInterrupt, SystemExit):
            figures["error"] = "interrupted"
            raise
        except Exception as exc:
            figures["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
            self.problems.append(f"{name}: {figures['error']}")
        finally:
            self.sampler.sample()
            figures["seconds"] = round(time.time() - start, 3)
            figures["gpu"] = self.sampler.summary(start, time.time())
            self.sink.data["sections"][name] = figures
            self.sink.log_metrics(self.throughput.metrics())
            self.sink.log_series(self.sampler.series())
            print(f"[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items() if k != "gpu"), flush=True)

    def skip(self, name: str, why: str) -> None:
        self.problems.append(f"{name}: skipped ({why})")
        self.sink.data["sections"][name] = {"skipped": why}
        self.sink.write()


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _peak_mib(device: str) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**20, 1) if device.startswith("cuda") else None


def _build(kind: str, plan: Plan):
    """A model with random weights initialised on the device: ``encoder`` (BGE-M3 shape) or ``decoder`` (Qwen2.5-7B)."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, Qwen2Config, XLMRobertaConfig

    gpu = plan.device.startswith("cuda")
    if kind == "encoder":
        shape = {**BGE_M3, **(TINY if plan.dry_run else {})}
        if plan.dry_run:
            shape["max_position_embeddings"] = plan.max_length + 2
        cfg, dtype, auto, extra = XLMRobertaConfig(**shape), torch.float16, AutoModel, {"add_pooling_layer": False}
    else:
        shape = {**QWEN25_7B, **(dict(TINY, num_key_value_heads=2) if plan.dry_run else {})}
        cfg, dtype, auto, extra = Qwen2Config(**shape), torch.bfloat16, AutoModelForCausalLM, {}
    cfg._attn_implementation = "sdpa"
    dtype = dtype if gpu else torch.float32  # CPU (dry run): fp32, the dtype CPU kernels are made for
    with torch.device(plan.device):
        try:
            model = auto.from_config(cfg, dtype=dtype, **extra)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = auto.from_config(cfg, torch_dtype=dtype, **extra)
    return model.eval(), str(dtype).removeprefix("torch.")


def encode(check: Check, plan: Plan, fig: dict) -> None:
    """Real tokens/s of the BGE-M3-shaped encoder over length-sorted batches (as FlagEmbedding sorts them)."""
    import torch

    model, dtype = _build("encoder", plan)
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(16, plan.max_length + 1, (plan.texts,), generator=gen).sort(descending=True).values
    batches = [lengths[i : i + plan.batch_size] for i in range(0, len(lengths), plan.batch_size)]
    vocab, pad = model.config.vocab_size, model.config.pad_token_id

    def run(batch_lengths) -> tuple[int, int]:
        width = int(batch_lengths[0])
        mask = (torch.arange(width)[None, :] < batch_lengths[:, None]).to(plan.device)
        ids = torch.randint(5, vocab, (len(batch_lengths), width), device=plan.device).masked_fill(~mask, pad)
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask.long())
        return int(batch_lengths.sum()), width * len(batch_lengths)

    run(batches[0]), run(batches[-1])  # warm-up: kernels and the allocator at the largest and smallest shape
    _sync(plan.device)
    seconds = max(1.0, min(plan.encode_seconds, check.left() - 90))  # keep time for the decoder
    tokens = padded = texts = 0
    start = time.perf_counter()
    for b in batches:
        real, width = run(b)
        tokens, padded, texts = tokens + real, padded + width, texts + len(b)
        if time.perf_counter() - start > seconds:
            break
    _sync(plan.device)
    elapsed = time.perf_counter() - start
    check.throughput.add("encode", elapsed, tokens=tokens, texts=texts)
    fig.update(
        shape="XLM-R large (BGE-M3)" if not plan.dry_run else "tiny XLM-R",
        dtype=dtype,
        params=sum(p.numel() for p in model.parameters()),
        batch_size=plan.batch_size,
        max_length=plan.max_length,
        texts=texts,
        complete_pass=texts == plan.texts,
        tokens=tokens,
        padding_efficiency=round(tokens / padded, 4),
        tokens_per_s=round(tokens / elapsed),
        texts_per_s=round(texts / elapsed, 1),
        goal_tokens_per_s=ENCODE_GOAL,
        ceiling_tokens_per_s=ENCODE_CEILING,
        peak_memory_mib=_peak_mib(plan.device),
    )
    model = None  # frees the encoder's GPU memory before the decoder is built


def _generate_seconds(model, ids, new_tokens: int, device: str) -> float:
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        pad_token_id=0,
        eos_token_id=None,
        bos_token_id=None,
    )
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=config)
    _sync(device)
    if out.shape[1] != ids.shape[1] + new_tokens:
        raise RuntimeError(f"generated {out.shape[1] - ids.shape[1]} tokens, asked for {new_tokens}")
    return time.perf_counter() - start


def generate(check: Check, plan: Plan) -> None:
    """Prompt (prefill) and output (decode) tokens/s of the Qwen2.5-7B-shaped decoder at each batch size."""
    import torch

    with check.section("generate.model") as fig:
        model, dtype = _build("decoder", plan)
        params = sum(p.numel() for p in model.parameters())
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        # every decode step streams the weights once, except the input embedding table (rows are looked up)
        streamed = weight_bytes - model.get_input_embeddings().weight.nbytes
        ceiling = plan.bandwidth_tbs * 1e12 / streamed
        fig.update(
            shape="Qwen2.5-7B" if not plan.dry_run else "tiny Qwen2",
            dtype=dtype,
            params=params,
            weights_gb=round(weight_bytes / 1e9, 3),
            streamed_per_token_gb=round(streamed / 1e9, 3),
            batch_1_ceiling_tokens_per_s=round(ceiling, 1),
            ceiling_note=f"{plan.bandwidth_tbs} TB/s (4.8: H200 HBM3e) / bytes streamed per decode step",
        )
    if "error" in fig:
        return
    vocab = model.config.vocab_size
    for b in plan.batches:
        name = f"generate.batch_{b}"
        if check.left() < 30:
            check.skip(name, f"time budget: {check.left():.0f} s left")
            continue
        with check.section(name) as fig:
            ids = torch.randint(100, vocab - 100, (b, plan.prompt_len), device=plan.device)
            _generate_seconds(model, ids, 2, plan.device)  # warm-up
            prefill = sorted(_generate_seconds(model, ids, 1, plan.device) for _ in range(plan.repeats))
            full = sorted(_generate_seconds(model, ids, plan.new_tokens, plan.device) for _ in range(plan.repeats))
            t1, tn = prefill[len(prefill) // 2], full[len(full) // 2]
            check.throughput.add(f"{name}.prefill", t1, prompt_tokens=b * plan.prompt_len)
            decode = None
            if tn > t1:  # noise can make it otherwise on a busy CPU (dry run); then there is no figure
                check.throughput.add(f"{name}.decode", tn - t1, output_tokens=b * (plan.new_tokens - 1))
                decode = round(b * (plan.new_tokens - 1) / (tn - t1), 1)
            fig.update(
                batch=b,
                prompt_len=plan.prompt_len,
                new_tokens=plan.new_tokens,
                repeats=plan.repeats,
                prompt_tokens_per_s=round(b * plan.prompt_len / t1, 1),
                output_tokens_per_s=decode,
                end_to_end_output_tokens_per_s=round(b * plan.new_tokens / tn, 1),
                prefill_s=[round(t, 4) for t in prefill],
                generate_s=[round(t, 4) for t in full],
                peak_memory_mib=_peak_mib(plan.device),
            )
            if b == 1:
                fig["ceiling_tokens_per_s"] = round(ceiling, 1)
    del model


def plan_from(args: argparse.Namespace, device: str) -> Plan:
    if args.dry_run:
        return Plan(
            True,
            device,
            texts=48,
            batch_size=16,
            max_length=64,
            encode_seconds=5,
            prompt_len=16,
            new_tokens=4,
            repeats=1,
        )
    return Plan(
        False,
        device,
        encode_seconds=args.encode_seconds,
        new_tokens=args.new_tokens,
        prompt_len=args.prompt_len,
        bandwidth_tbs=args.bandwidth_tbs,
    )


def _environment(device: str) -> dict[str, str]:
    import torch
    import transformers

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": device,
    }
    if device.startswith("cuda"):
        env.update(
            {
                "cuda": str(torch.version.cuda),
                "torch.device_name": torch.cuda.get_device_name(),
                "torch.device_count": str(torch.cuda.device_count()),
            }
        )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"), help="the JSON of figures")
    parser.add_argument("--dry-run", action="store_true", help="every step at tiny shapes (CPU is fine)")
    parser.add_argument("--budget-s", type=float, default=240.0, help="stop starting new steps after this long")
    parser.add_argument("--encode-seconds", type=float, default=60.0, help="longest timed encode loop")
    parser.add_argument("--prompt-len", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument(
        "--bandwidth-tbs",
        type=float,
        default=H200_BANDWIDTH_TBS,
        help="memory bandwidth for the batch-1 ceiling (4.8: H200)",
    )
    parser.add_argument("--sample-s", type=float, default=0.5, help="seconds between NVML samples")
    args = parser.parse_args(argv)
    sampler = GpuSampler(interval_s=args.sample_s)
    check = Check(args.out, budget_s=args.budget_s, sampler=sampler, mode="dry-run" if args.dry_run else "full")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))  # `timeout` sends SIGTERM: still write the JSON
    sampler.start()
    print(sampler.status_line(), flush=True)
    check.sink.set_tags(sampler.tags())
    check.sink.log_params(sampler.params())
    status = "running"
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        check.sink.log_params(_environment(device))
        if device == "cpu" and not args.dry_run:
            status = "failed: no CUDA GPU visible; the full check needs one (use --dry-run to check the script on CPU)"
            return 2
        plan = plan_from(args, device)
        with check.section("encode") as fig:
            encode(check, plan, fig)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        generate(check, plan)
        status = "complete" if not check.problems else "partial: " + "; ".join(check.problems)
        return 0 if not check.problems else 1
    except (KeyboardInterrupt, SystemExit) as exc:
        status = f"interrupted ({type(exc).__name__} {getattr(exc, 'code', '')})".strip()
        raise
    except Exception as exc:
        status = f"failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        sampler.stop()
        check.sink.log_series(sampler.series())
        check.sink.log_metrics({**check.throughput.metrics(), **sampler.summary()})
        check.sink.data["elapsed_s"] = round(time.monotonic() - check.t0, 1)
        check.sink.set("status", status)
        print(f"status: {status}\nfigures: {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
