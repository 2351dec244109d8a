"""The engine on a CPU, side by side with ``model.generate`` on the same prompts and model.

    python bench/cpu.py                          # default model, 4 sample contracts, 200 MSRA sentences
    python bench/cpu.py --copies 10 --msra 200 --json cpu.json
    python bench/cpu.py --model tiny --copies 1 --msra 20     # seconds (what tests/bench runs)

Two workloads, the documents users try first:

- ``contracts``: the bundled sample contracts (``samples/contracts``, read and cleaned by
  ``connectors.documents.read_document`` like ``seqgpt extract``) x ``--copies``, with the
  contracts job's schema (9 fields: 2 prompts per chunk);
- ``msra``: the first ``--msra`` sentences of the MSRA test split asked as 人名/地名/机构名,
  what ``seqgpt eval --dataset msra`` decodes.

Methods, each timed on the whole workload:

- ``generate``: ``model.generate(do_sample=False, num_beams=1)`` on exactly the prompts the
  engine decodes (``Extractor.plan``), sorted by length in batches of ``--batch``, fp32, up
  to ``--max-new-tokens`` tokens: the baseline a user would write;
- ``ours fp32``: ``Extractor.extract_batch`` (constrained, typed values, shared chunk
  prefixes, continuous batching, head rows only where needed), fp32;
- ``ours int8``: the same with int8 linear layers (``--quantize int8``);
- ``int8-greedy``: int8 with the greedy pass only -- no option scoring, no joint role
  assignment, no calibrated confidence (``Extractor(rescore=False)``): what deciding one
  value per one-value field with the model's own scores costs (``extractor.confidence``).

Prints documents/s and the ratio to ``generate`` per workload, the decoder's counters
(prefill tokens, tokens saved by prefix sharing, steps, rows with a full head), the thread
count and the machine.  Measure the engine only: the model is loaded before the clock starts.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from _common import REPO_ROOT, machine, sample_pdfs, write_json


def contract_texts(copies: int) -> list[str]:
    from connectors.documents import read_document

    texts = []
    for path in sample_pdfs():
        doc = read_document(path.read_bytes(), path.name)
        texts.append(doc.text)
    return texts * copies


def msra_texts(n: int) -> list[str]:
    from training.datasets import load_msra

    return [ex["text"] for ex in load_msra("test", limit=n)]


def time_generate(ex, texts: list[str], schema, batch: int, max_new: int) -> dict[str, Any]:
    """``model.generate`` greedy on the engine's own prompts (unconstrained)."""
    import torch

    jobs = ex.plan(texts, schema, constrained=False)
    tok, model = ex.tokenizer, ex.model
    tok.padding_side = "left"
    prompts = sorted((j.prompt for j in jobs), key=len)
    new_tokens = 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(prompts), batch):
            enc = tok(prompts[b : b + batch], return_tensors="pt", padding=True)
            out = model.generate(
                **enc, do_sample=False, num_beams=1, max_new_tokens=max_new, pad_token_id=tok.pad_token_id
            )
            new_tokens += int((out[:, enc["input_ids"].shape[1] :] != tok.pad_token_id).sum())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "prompts": len(prompts), "new_tokens": new_tokens}


def time_ours(ex, texts: list[str], schema) -> dict[str, Any]:
    ex.decoder.stats = dict.fromkeys(ex.decoder.stats, 0)
    t0 = time.perf_counter()
    results = ex.extract_batch(texts, schema)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "prompts": sum(r.prompts for r in results),
        "values": sum(len(v) for r in results for v in r.values.values()),
        "decoder": dict(ex.decoder.stats),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model id or folder (default: the bundled default)")
    ap.add_argument("--copies", type=int, default=1, help="copies of the 4 sample contracts")
    ap.add_argument("--msra", type=int, default=200, help="MSRA test sentences (0: skip)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the engine's default)")
    ap.add_argument("--batch", type=int, default=16, help="prompts per batch (generate and ours)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--methods", default="generate,fp32,int8,int8-greedy")
    ap.add_argument("--json", default=None, help="write the report here")
    args = ap.parse_args(argv)

    import torch

    from extractor.engine import Extractor
    from extractor.loading import set_threads
    from extractor.schema import Schema

    threads = set_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    workloads: dict[str, tuple[list[str], Any]] = {
        "contracts": (
            contract_texts(args.copies),
            Schema.from_file(REPO_ROOT / "jobs" / "schemas" / "contracts.yaml"),
        )
    }
    if args.msra:
        try:
            workloads["msra"] = (msra_texts(args.msra), Schema.parse("人名,地名,机构名"))
        except Exception as exc:  # the data package is missing
            print(f"msra skipped: {exc}", file=sys.stderr)
    engines: dict[str, Extractor] = {}
    loaded: dict[str, Extractor] = {}  # by quantization: int8 and int8-greedy share one model
    for m in methods:
        quantize = "int8" if m.startswith("int8") else "none"
        if quantize not in loaded:
            loaded[quantize] = Extractor.load(
                args.model,
                device="cpu",
                quantize=quantize,
                batch_size=args.batch,
                max_new_tokens=args.max_new_tokens,
            )
        engines[m] = loaded[quantize]
    model_id = next(iter(engines.values())).model_id
    report: dict[str, Any] = {
        "machine": machine(),
        "threads": threads,
        "torch": torch.__version__,
        "model": model_id,
        "workloads": {},
    }
    print(
        f"model {model_id}, {threads} torch thread(s), {report['machine']['cpu']} x{report['machine']['cores']}"
    )
    for name, (texts, schema) in workloads.items():
        rows: dict[str, Any] = {}
        for m in methods:
            ex = engines[m]
            if m == "generate":
                rows[m] = time_generate(ex, texts, schema, args.batch, args.max_new_tokens)
            else:
                ex.rescore = not m.endswith("-greedy")
                rows[m] = time_ours(ex, texts, schema)
            rows[m]["docs_per_s"] = len(texts) / rows[m]["seconds"]
            print(
                f"  {name:9s} {m:9s} {rows[m]['seconds']:8.1f} s  {rows[m]['docs_per_s']:7.2f} docs/s",
                flush=True,
            )
        base = rows.get("generate")
        for r in rows.values():
            if base:
                r["vs_generate"] = base["seconds"] / r["seconds"]
        report["workloads"][name] = {"documents": len(texts), "methods": rows}
    print()
    print("| workload | documents | method | seconds | docs/s | x generate |")
    print("|---|---|---|---|---|---|")
    for name, w in report["workloads"].items():
        for m, r in w["methods"].items():
            ratio = f"{r['vs_generate']:.2f}x" if "vs_generate" in r else "-"
            print(
                f"| {name} | {w['documents']} | {m} | {r['seconds']:.1f} | {r['docs_per_s']:.2f} | {ratio} |"
            )
    for name, w in report["workloads"].items():
        for m, r in w["methods"].items():
            if "decoder" in r:
                print(f"{name} {m}: {r['decoder']}")
    write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
