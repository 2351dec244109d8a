"""One-GPU benchmark: our decoder vs transformers' generate (greedy) vs SeqGPT's official beam-4.

    python bench/gpu.py                            # H100/H200: BLOOM-560M shape, fp16, ~3-5 min
    python bench/gpu.py --quick                    # batches 1 and 32, fewer runs, ~2 min
    python bench/gpu.py --batches 1,64 --dtype bf16 --new-tokens 64 --json gpu.json
    python bench/gpu.py --cpu-smoke --json smoke.json   # tiny shape on CPU, seconds (for the tests)

The model is built from a ``BloomConfig`` with SeqGPT-560M's shape (24 layers, hidden 1024,
16 heads, vocabulary 250,880, bos=1 eos=2 pad=3) and random weights (std 0.1, so greedy
writes varied tokens): speed does not depend on the weights.  Every method writes exactly ``--new-tokens`` tokens after a prompt of
``--input-tokens`` tokens (a Chinese hotline ticket in SeqGPT's prompt, a different slice
of it per row, no padding):

- ``generate greedy``: ``model.generate(do_sample=False, num_beams=1)`` with
  ``min_new_tokens = max_new_tokens`` and no end token (the baseline of the ratios);
- ``ours greedy``: the engine's ``extractor.decoding.GreedyDecoder``, unconstrained, with
  its end-token list emptied (``eos_ids = [-1]``) so it never stops early either;
- ``generate beam4 rp2.0``: SeqGPT's official settings (``num_beams=4``,
  ``repetition_penalty=2.0``), forced the same way;
- ``ours greedy sdpa``: our decoder with BLOOM's attention routed through SDPA with the
  ALiBi bias as a mask (``extractor.bloom_sdpa``, what ``extractor.loading`` does on CUDA);
- ``ours engine``: the whole engine path on the same tickets: each document is asked two
  label groups (two prompts sharing the ticket as their prefix, prefilled once), decoded
  under the output grammar with continuous batching and the head computed for the allowed
  ids only; random weights end answers early, so it writes fewer tokens than the forced
  methods (its row says how many) and ``same tokens`` does not apply;
- ``ours greedy compiled``: our decoder on the model whose body is wrapped as ``--compile``
  does in the engine (``extractor.loading``: ``torch.compile(body.forward, dynamic=True)``);
  measured last, its first calls (compilation) are reported apart.  On by default on CUDA,
  off on CPU.

Per method and batch size: documents/s (batch / median seconds of ``--repeat`` timed calls
after one warm-up call), the ratio to generate greedy at the same batch, peak GPU memory
(``torch.cuda.max_memory_allocated``, weights included) and whether the tokens equal
generate greedy's.  Single-document latency: p50/p99 of ``--latency-runs`` calls at batch
1.  Prints the device name (``torch.cuda.get_device_name``); ``--json PATH`` writes it all.
Measurements that would start after ``--budget-s`` seconds are skipped (and listed), so
a full run ends in about 5 minutes (one that has started runs to its end).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import TICKET, TICKET_LABELS, machine, percentile, write_json

SHAPES = {
    # vocab None: the tokenizer's size (tiny shapes only).  init: the weights' std
    # (BloomConfig.initializer_range), large enough that greedy writes varied tokens, so
    # comparing ours with generate token for token means something (at BLOOM's own 0.02 a
    # random model repeats one token), small enough for fp16 (BLOOM-560M shape at 0.1: largest
    # hidden activation ~375 on a 64-token prompt, fp32 on CPU).  Speed does not depend on it.
    "tiny": dict(n_layer=2, hidden_size=64, n_head=4, vocab_size=None, initializer_range=1.0),
    "small": dict(n_layer=4, hidden_size=256, n_head=4, vocab_size=None, initializer_range=0.3),
    "bloom-560m": dict(n_layer=24, hidden_size=1024, n_head=16, vocab_size=250880, initializer_range=0.1),
}
GENERATE, OURS, BEAM, COMPILED, SDPA, ENGINE = (
    "generate greedy",
    "ours greedy",
    "generate beam4 rp2.0",
    "ours greedy compiled",
    "ours greedy sdpa",
    "ours engine",
)
PRESETS = {
    "full": dict(
        device="cuda",
        shape="bloom-560m",
        dtype="fp16",
        batches="1,8,32,128",
        input_tokens=300,
        new_tokens=32,
        repeat=3,
        latency_runs=20,
        budget_s=270.0,
    ),
    "quick": dict(
        device="cuda",
        shape="bloom-560m",
        dtype="fp16",
        batches="1,32",
        input_tokens=300,
        new_tokens=32,
        repeat=2,
        latency_runs=10,
        budget_s=150.0,
    ),
    "cpu-smoke": dict(
        device="cpu",
        shape="tiny",
        dtype="fp32",
        batches="1,4",
        input_tokens=48,
        new_tokens=8,
        repeat=1,
        latency_runs=3,
        budget_s=120.0,
        threads=1,  # a shared 2-core machine: more threads wait on each other
    ),
}


# ------------------------------------------------------------------ model, prompts
def build_model(shape: str, device: str, dtype: str):
    """A random-weight BLOOM of ``shape`` on ``device`` and the tiny tokenizer (its ids are
    all below the model's vocabulary, which is what matters for speed)."""
    import torch
    from transformers import AutoModelForCausalLM, BloomConfig

    from extractor.tiny import build_tokenizer

    tok = build_tokenizer(vocab_size=2000)
    cfg = dict(SHAPES[shape])
    cfg["vocab_size"] = cfg["vocab_size"] or len(tok)
    config = BloomConfig(**cfg, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    tdtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    torch.manual_seed(0)
    with torch.device(device):  # initialise on the device: no copy from host memory
        model = AutoModelForCausalLM.from_config(config, dtype=tdtype)
    model.eval()
    model.generation_config.eos_token_id = None  # generate never stops early
    model.generation_config.pad_token_id = 3
    return model, tok, config


def prompt_ids(tok, n_tokens: int, batch: int, device: str):
    """``batch`` prompts of exactly ``n_tokens`` tokens: SeqGPT's extraction prompt over a
    ticket (row r starts the ticket r*7 characters later), cut on the left like SeqGPT's
    tokenizer does."""
    import torch

    from extractor.prompt import build_prompt

    rows = []
    for r in range(batch):
        shift = (r * 7) % len(TICKET)
        text = TICKET[shift:] + TICKET[:shift]
        while True:
            ids = tok(build_prompt(text, TICKET_LABELS))["input_ids"]
            if len(ids) >= n_tokens:
                break
            text += TICKET
        rows.append(ids[-n_tokens:])
    x = torch.tensor(rows, device=device)
    return x, torch.ones_like(x)


# ------------------------------------------------------------------------ methods
def make_methods(model, dec, new_tokens: int, beams: bool) -> dict[str, Any]:
    """name -> fn(ids, mask) returning the new token ids, one list per row."""

    def generate(ids, mask, **kw):
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=False,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=3,
            **kw,
        )
        return out[:, ids.shape[1] :].tolist()

    def ours(ids, mask):
        return [g.token_ids for g in dec.generate(ids, mask, max_new_tokens=new_tokens)]

    methods = {
        GENERATE: lambda ids, mask: generate(ids, mask, num_beams=1),
        OURS: ours,
    }
    if beams:
        methods[BEAM] = lambda ids, mask: generate(ids, mask, num_beams=4, repetition_penalty=2.0)
    return methods


def make_engine(model, tok, new_tokens: int):
    """fn(ids, mask) -> token lists: two label groups per row's ticket, shared prefix, grammar."""
    from extractor.constraints import Grammar, TextIndex
    from extractor.decoding import GreedyDecoder, Request
    from extractor.prompt import build_prompt
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(tok, vocab_size=model.config.vocab_size)
    engine = GreedyDecoder(model, tok, vocab)
    engine.eos_ids = [2]
    groups = [TICKET_LABELS[:2], TICKET_LABELS[2:]]

    def run(ids, mask):
        requests = []
        for r in range(ids.shape[0]):
            text = tok.decode(ids[r].tolist(), skip_special_tokens=True).split("输入: ")[-1].split("\n")[0]
            index = TextIndex(text, vocab)
            for labels in groups:
                prompt = tok(build_prompt(text, labels))["input_ids"]
                requests.append(
                    Request(prompt, Grammar(labels, index), new_tokens, group=r, key=len(requests))
                )
        out = {req.key: gen.token_ids for req, gen in engine.run(requests, max_batch=len(requests))}
        return [out[k] for k in sorted(out)]

    return run


class Clock:
    def __init__(self, device: str):
        import torch

        self.torch = torch
        self.cuda = device.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def time(self, fn) -> tuple[float, Any]:
        self.sync()
        t = time.perf_counter()
        out = fn()
        self.sync()
        return time.perf_counter() - t, out

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        return self.torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None


def measure_throughput(clock: Clock, fn, ids, mask, repeat: int) -> dict[str, Any]:
    clock.reset_peak()
    warm, out = clock.time(lambda: fn(ids, mask))
    times = [clock.time(lambda: fn(ids, mask))[0] for _ in range(repeat)]
    p50 = statistics.median(times)
    return {
        "docs_per_s": ids.shape[0] / p50,
        "seconds_p50": p50,
        "seconds": times,
        "warmup_s": warm,
        "peak_gib": clock.peak_gib(),
        "tokens": out,
    }


def measure_latency(clock: Clock, fn, ids, mask, runs: int) -> dict[str, Any]:
    fn(ids, mask)  # warm-up
    times = [clock.time(lambda: fn(ids, mask))[0] for _ in range(runs)]
    return {
        "runs": runs,
        "p50_ms": percentile(times, 50) * 1000,
        "p99_ms": percentile(times, 99) * 1000,
        "mean_ms": statistics.fmean(times) * 1000,
    }


def same_tokens(a: list[list[int]] | None, b: list[list[int]] | None) -> dict[str, Any]:
    if a is None or b is None:
        return {"same_tokens": None, "rows_differing": None}
    differing = sum(1 for x, y in zip(a, b) if x != y) + abs(len(a) - len(b))
    return {"same_tokens": differing == 0, "rows_differing": differing}


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/gpu.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="batches 1,32, fewer runs (~2 min on a GPU)")
    mode.add_argument(
        "--cpu-smoke", action="store_true", help="tiny shape on CPU in seconds (what the tests run)"
    )
    ap.add_argument("--device", default=None, help="cuda, cuda:N or cpu [cuda; cpu with --cpu-smoke]")
    ap.add_argument(
        "--shape",
        default=None,
        choices=sorted(SHAPES),
        help="model shape [bloom-560m; tiny with --cpu-smoke]",
    )
    ap.add_argument(
        "--dtype", default=None, choices=["fp16", "bf16", "fp32"], help="[fp16 on CUDA, fp32 on CPU]"
    )
    ap.add_argument(
        "--batches",
        default=None,
        help="comma list of batch sizes [1,8,32,128; --quick 1,32; --cpu-smoke 1,4]",
    )
    ap.add_argument(
        "--input-tokens", type=int, default=None, help="prompt length in tokens [300; --cpu-smoke 48]"
    )
    ap.add_argument(
        "--new-tokens", type=int, default=None, help="tokens written per document [32; --cpu-smoke 8]"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed calls per method and batch [3; --quick 2; --cpu-smoke 1]",
    )
    ap.add_argument(
        "--latency-runs",
        type=int,
        default=None,
        help="batch-1 calls for p50/p99 [20; --quick 10; --cpu-smoke 3]",
    )
    ap.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="skip measurements that would start later [270; --quick 150; --cpu-smoke 120]",
    )
    ap.add_argument("--no-beams", dest="beams", action="store_false", help="leave out beam-4")
    ap.add_argument(
        "--compile",
        dest="compile",
        action="store_true",
        default=None,
        help="also time our decoder with torch.compile [on for CUDA, off for CPU]",
    )
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads [1 with --cpu-smoke, else torch's default]",
    )
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    preset = PRESETS["cpu-smoke" if args.cpu_smoke else "quick" if args.quick else "full"]
    for key, value in preset.items():
        if key != "dtype" and getattr(args, key) is None:
            setattr(args, key, value)
    if args.dtype is None:
        args.dtype = "fp32" if args.device == "cpu" else preset["dtype"]
    if args.compile is None:
        args.compile = args.device.startswith("cuda")
    try:
        args.batch_list = [int(x) for x in str(args.batches).split(",") if x.strip()]
    except ValueError:
        ap.error("--batches is a comma list of integers, e.g. 1,8,32,128")
    if not args.batch_list or min(args.batch_list) < 1:
        ap.error("--batches needs positive batch sizes, e.g. 1,8,32,128")
    if args.input_tokens < 16 or args.new_tokens < 1 or args.repeat < 1 or args.latency_runs < 1:
        ap.error("--input-tokens >= 16, --new-tokens, --repeat and --latency-runs >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()

    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    from extractor.decoding import GreedyDecoder

    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "bench/gpu.py: no CUDA device here. Run it on a GPU machine, or use --cpu-smoke (tiny shape "
            "on CPU) / --device cpu.",
            file=sys.stderr,
        )
        return 2
    device_name = (
        torch.cuda.get_device_name(torch.device(args.device))
        if args.device.startswith("cuda")
        else f"CPU: {machine()['cpu']} ({machine()['cores']} cores)"
    )
    model, tok, config = build_model(args.shape, args.device, args.dtype)
    clock = Clock(args.device)
    weights_gib = torch.cuda.memory_allocated() / 2**30 if clock.cuda else None
    dec = GreedyDecoder(model, tok)
    dec.eos_ids = [-1]  # no token ends a row: exactly --new-tokens tokens, like generate here
    methods = make_methods(model, dec, args.new_tokens, args.beams)

    report: dict[str, Any] = {
        "benchmark": "bench/gpu.py",
        "device": device_name,
        "machine": machine(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "model": {
            "shape": args.shape,
            "n_layer": config.n_layer,
            "hidden_size": config.hidden_size,
            "n_head": config.n_head,
            "vocab_size": config.vocab_size,
            "weights": "random",
            "weights_gib": weights_gib,
        },
        "dtype": args.dtype,
        "input_tokens": args.input_tokens,
        "new_tokens": args.new_tokens,
        "repeat": args.repeat,
        "rows": [],
        "latency": [],
        "skipped": [],
        "errors": [],
    }

    def over_budget(what: str) -> bool:
        if time.perf_counter() - t_start > args.budget_s:
            report["skipped"].append(what)
            return True
        return False

    def run_methods(names: list[str], all_methods: dict[str, Any], exact: bool = True) -> None:
        for b in args.batch_list:
            ids, mask = prompt_ids(tok, args.input_tokens, b, args.device)
            for name in names:
                if over_budget(f"{name} batch {b}"):
                    continue
                try:
                    m = measure_throughput(clock, all_methods[name], ids, mask, args.repeat)
                except Exception as e:  # e.g. out of memory at a large batch: report, go on
                    report["errors"].append(f"{name} batch {b}: {type(e).__name__}: {e}")
                    continue
                tokens = m.pop("tokens")
                lengths = sorted({len(t) for t in tokens})
                if not exact:
                    m["new_tokens_written"] = sum(len(t) for t in tokens)
                elif lengths != [args.new_tokens]:
                    report["errors"].append(
                        f"{name} batch {b}: wrote {lengths} tokens, not {args.new_tokens}"
                    )
                if name == GENERATE:
                    generated[b], rates[b] = tokens, m["docs_per_s"]
                base = rates.get(b)
                row = {
                    "method": name,
                    "batch": b,
                    **m,
                    "vs_generate": m["docs_per_s"] / base if base else None,
                    "first_row_tokens": tokens[0][:16],
                }
                if name in (OURS, COMPILED, SDPA):
                    row.update(same_tokens(tokens, generated.get(b)))
                report["rows"].append(row)
                print_row(row)

    def run_latency(names: list[str], all_methods: dict[str, Any]) -> None:
        ids, mask = prompt_ids(tok, args.input_tokens, 1, args.device)
        for name in names:
            if over_budget(f"{name} latency"):
                continue
            try:
                lat = measure_latency(clock, all_methods[name], ids, mask, args.latency_runs)
            except Exception as e:
                report["errors"].append(f"{name} latency: {type(e).__name__}: {e}")
                continue
            lat = {"method": name, **lat}
            report["latency"].append(lat)
            base = next((r["p50_ms"] for r in report["latency"] if r["method"] == GENERATE), None)
            lat["speedup_vs_generate"] = base / lat["p50_ms"] if base else None

    rates: dict[int, float] = {}  # batch -> generate greedy's docs/s
    generated: dict[int, list[list[int]]] = {}
    print(
        f"# bench/gpu.py on {device_name}; torch {torch.__version__}, transformers {transformers.__version__}"
    )
    print(
        f"# BLOOM {args.shape} (layers {config.n_layer}, hidden {config.hidden_size}, heads {config.n_head}, "
        f"vocab {config.vocab_size:,}), random weights, {args.dtype}, "
        f"{args.input_tokens} input + exactly {args.new_tokens} new tokens"
        + (f"; weights {weights_gib:.2f} GiB" if weights_gib is not None else "")
    )
    print(HEADER)
    names = list(methods)
    run_methods(names, methods)
    run_latency(names, methods)
    engine = {ENGINE: make_engine(model, tok, args.new_tokens)}
    run_methods([ENGINE], engine, exact=False)
    run_latency([ENGINE], engine)

    from extractor.bloom_sdpa import use_sdpa

    use_sdpa(model)  # from here on, what extractor.loading does on CUDA
    sdpa = {SDPA: methods[OURS]}
    run_methods([SDPA], sdpa)
    run_latency([SDPA], sdpa)

    if args.compile:
        body = model.base_model
        try:
            body.forward = torch.compile(body.forward, dynamic=True)  # what extractor.loading does
            compiled = {COMPILED: methods[OURS]}
            run_methods([COMPILED], compiled)
            run_latency([COMPILED], compiled)
        except Exception as e:
            report["errors"].append(f"torch.compile: {type(e).__name__}: {e}")
        finally:
            body.__dict__.pop("forward", None)

    print_latency(report["latency"], args.latency_runs)
    for what in report["skipped"]:
        print(f"skipped (over --budget-s {args.budget_s:.0f} s): {what}")
    for err in report["errors"]:
        print(f"ERROR: {err}")
    report["total_s"] = time.perf_counter() - t_start
    print(f"# total {report['total_s']:.0f} s")
    write_json(args.json, report)
    return 1 if report["errors"] else 0


HEADER = (
    f"{'batch':>5}  {'method':<22} {'docs/s':>9} {'vs generate':>11} {'s/batch':>8} "
    f"{'peak GiB':>9}  same tokens as generate"
)


def print_row(row: dict[str, Any]) -> None:
    peak = f"{row['peak_gib']:.2f}" if row["peak_gib"] is not None else "n/a"
    same = row.get("same_tokens")
    same_txt = "-" if same is None else "yes" if same else f"NO ({row['rows_differing']} rows differ)"
    ratio = f"{row['vs_generate']:.2f}x" if row["vs_generate"] is not None else "n/a"
    extra = f"  (first call {row['warmup_s']:.1f} s)" if row["method"] == COMPILED else ""
    print(
        f"{row['batch']:>5}  {row['method']:<22} {row['docs_per_s']:>9.1f} {ratio:>11} "
        f"{row['seconds_p50']:>8.3f} {peak:>9}  {same_txt}{extra}",
        flush=True,
    )


def print_latency(rows: list[dict[str, Any]], runs: int) -> None:
    print(f"single document alone (batch 1, {runs} runs):")
    print(f"  {'method':<22} {'p50 ms':>8} {'p99 ms':>8} {'speedup vs generate (p50)':>26}")
    for r in rows:
        speed = f"{r['speedup_vs_generate']:.2f}x" if r["speedup_vs_generate"] else "n/a"
        print(f"  {r['method']:<22} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {speed:>26}")


if __name__ == "__main__":
    sys.exit(main())
