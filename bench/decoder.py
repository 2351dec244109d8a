"""Our greedy decoder vs transformers' generate, side by side on the same model and prompts.

    python bench/decoder.py                      # CPU: a small BLOOM, quick
    python bench/decoder.py --shape bloom-560m --device cuda --dtype fp16 --batches 1,32,128

Random weights are fine for speed: the model is built from a BloomConfig of the chosen
shape (bloom-560m = SeqGPT-560M's: 24 layers, hidden 1024, 16 heads, vocab 250,880) and
every method is forced to write exactly ``--new-tokens`` tokens, so all do the same work.
Prompts are ~``--input-tokens`` tokens of a Chinese hotline ticket.  Prints docs/s per
method and batch size, the ratio to generate greedy, single-document latency p50/p99 and
peak GPU memory, with the machine named.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

SHAPES = {
    "tiny": dict(n_layer=2, hidden_size=64, n_head=4, vocab_size=None),
    "small": dict(n_layer=4, hidden_size=256, n_head=4, vocab_size=None),
    "bloom-560m": dict(n_layer=24, hidden_size=1024, n_head=16, vocab_size=250880),
}
TICKET = (
    "市民王女士来电反映，朝阳区建国路88号院3号楼下的垃圾已经连续五天无人清运，气味很大，影响居民生活。"
    "她表示此前曾向物业反映过两次，物业称环卫部门没有按时收运。王女士联系电话13812345678，"
    "希望相关部门尽快协调处理，并建立长效机制，避免类似问题再次发生。"
)


def build(shape: str, device: str, dtype: str):
    import torch
    from transformers import AutoModelForCausalLM, BloomConfig

    from extractor.tiny import build_tokenizer

    tok = build_tokenizer(vocab_size=2000)
    cfg = dict(SHAPES[shape])
    cfg["vocab_size"] = cfg["vocab_size"] or len(tok)
    config = BloomConfig(**cfg, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    tdtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    model.to(device=device, dtype=tdtype).eval()
    # never stop early: every method writes exactly --new-tokens tokens
    model.generation_config.eos_token_id = None
    return model, tok


def prompt_ids(tok, n_tokens: int, batch: int, device: str):
    import torch

    from extractor.prompt import build_prompt

    text = TICKET
    while len(tok(build_prompt(text, ["申请人", "电话", "地址", "诉求"]))["input_ids"]) < n_tokens:
        text += TICKET
    ids = tok(build_prompt(text, ["申请人", "电话", "地址", "诉求"]))["input_ids"][-n_tokens:]
    x = torch.tensor([ids] * batch, device=device)
    return x, torch.ones_like(x)


def timed(fn, device: str, repeat: int) -> list[float]:
    import torch

    out = []
    for _ in range(repeat):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="small", choices=sorted(SHAPES))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--input-tokens", type=int, default=300)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--beams", action="store_true", help="also time SeqGPT's official 4-beam settings")
    args = ap.parse_args()

    import torch

    from extractor.decoding import GreedyDecoder

    model, tok = build(args.shape, args.device, args.dtype)
    dec = GreedyDecoder(model, tok)
    dec.eos_ids = [-1]  # never stops early (same work as generate with eos disabled)
    machine = (
        torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu"
    )
    print(
        f"# {args.shape} {args.dtype} on {args.device} ({machine}), {args.input_tokens} in + {args.new_tokens} out"
    )
    print(f"{'batch':>5} {'method':<22} {'docs/s':>9} {'vs generate':>11} {'p50 ms':>8}")
    for b in [int(x) for x in args.batches.split(",")]:
        ids, mask = prompt_ids(tok, args.input_tokens, b, args.device)
        methods = {
            "generate greedy": lambda ids=ids, mask=mask: model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=False,
                num_beams=1,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                pad_token_id=3,
            ),
            "ours greedy": lambda ids=ids, mask=mask: dec.generate(ids, mask, max_new_tokens=args.new_tokens),
        }
        if args.beams:
            methods["generate beam4 rp2.0"] = lambda ids=ids, mask=mask: model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=False,
                num_beams=4,
                repetition_penalty=2.0,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                pad_token_id=3,
            )
        base = None
        for name, fn in methods.items():
            fn()  # warm-up
            if args.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            times = timed(fn, args.device, args.repeat)
            p50 = statistics.median(times)
            rate = b / p50
            base = base or rate
            mem = ""
            if args.device.startswith("cuda"):
                mem = f"  peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
            print(f"{b:>5} {name:<22} {rate:>9.1f} {rate / base:>10.2f}x {p50 * 1000:>8.1f}{mem}")


if __name__ == "__main__":
    main()
