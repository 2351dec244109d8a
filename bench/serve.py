"""Online extraction on this machine: ``seqgpt serve`` under concurrent clients, beside the
same documents through the engine in one process.

    python bench/serve.py                     # default model, 8 clients, 24 requests (~6 min on 2 loaded cores)
    python bench/serve.py --cpu-smoke         # tiny untrained model, 16 requests, ~1 min (what tests/bench runs)
    python bench/serve.py --requests 400 --model /models/seqgpt-560m --device cuda --json serve.json

Documents: the 22 sample hotline tickets (samples/tickets/tickets.jsonl, ~80 characters each);
request ``i`` is ticket ``i mod 22``, read with jobs/schemas/tickets.yaml (4 extracted fields,
1 classification field, a summary: 2 prompts per ticket).  Everything runs on loopback
(127.0.0.1) and is bounded: a fixed number of requests, each with a timeout.  Measured one
after the other:

1. **engine, one process, one document at a time** -- ``Extractor.extract`` per document, as
   ``seqgpt extract`` runs it (the model loaded once, timed apart): latency per document,
   p50/p99, documents/s.
2. **engine, one process, batches** -- ``Extractor.extract_batch`` on ``--max-batch-size``
   documents at a time (what the pipeline does): documents/s; a document's latency is its
   batch's time.
3. **seqgpt serve** -- ``seqgpt.serve.start_server`` (local Ray, one replica, the same
   model, device and torch threads; ``@serve.batch`` up to ``--max-batch-size``, 10 ms wait);
   ``--clients`` threads post ``{"text", "schema": "tickets"}`` to ``/extract`` until
   ``--requests`` are answered: latency from sending to the whole answer, p50/p99,
   requests/s over the wall time, the batches the replica reports, and every answer
   compared with step 1's for the same ticket (same values and offsets; confidences up to
   the last bits).

Each part first runs ``--warmup`` requests per client (not timed).  Ray's and the
replica's start are timed apart.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, SAMPLE_TICKETS, machine, percentile, write_json

SCHEMA_FILE = REPO_ROOT / "jobs" / "schemas" / "tickets.yaml"
REFERENCE = "seed's reference: P99 215 ms at 8 concurrent clients, on GPUs"


def tickets() -> list[str]:
    return [
        json.loads(line)["text"] for line in SAMPLE_TICKETS.read_text(encoding="utf-8").splitlines() if line
    ]


def stats(latencies_s: list[float], wall_s: float, n: int) -> dict[str, Any]:
    return {
        "requests": n,
        "wall_s": wall_s,
        "per_s": n / wall_s if wall_s else 0.0,
        "p50_ms": percentile(latencies_s, 50) * 1000,
        "p99_ms": percentile(latencies_s, 99) * 1000,
        "max_ms": max(latencies_s) * 1000,
    }


def same(a, b) -> bool:
    """Equal answers: the same keys and values, confidences up to the last bits."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------- in one process
def bench_engine(args, docs: list[str], order: list[int]) -> tuple[dict, dict[int, dict]]:
    import torch

    from extractor.schema import Schema
    from seqgpt.api import Extractor

    torch.set_num_threads(args.threads)
    schema = Schema.from_file(SCHEMA_FILE)
    t0 = time.perf_counter()
    ex = Extractor.load(args.model, device=args.device)
    load_s = time.perf_counter() - t0
    for i in order[: args.warmup]:
        ex.extract(docs[i], schema)

    answers: dict[int, dict] = {}
    latencies = []
    t0 = time.perf_counter()
    for k, i in enumerate(order):
        t = time.perf_counter()
        r = ex.extract(docs[i], schema, source=f"ticket-{k}")
        latencies.append(time.perf_counter() - t)
        answers.setdefault(i, r.to_dict())
    one = stats(latencies, time.perf_counter() - t0, len(order))

    latencies = []
    t0 = time.perf_counter()
    for b in range(0, len(order), args.max_batch_size):
        chunk = order[b : b + args.max_batch_size]
        t = time.perf_counter()
        ex.extract_batch([docs[i] for i in chunk], schema)
        latencies += [time.perf_counter() - t] * len(chunk)
    batched = stats(latencies, time.perf_counter() - t0, len(order))
    report = {
        "model": ex.model_id,
        "device": ex.info.get("device"),
        "torch_threads": torch.get_num_threads(),
        "model_load_s": load_s,
        "one_by_one": one,
        "batched": {**batched, "batch_size": args.max_batch_size},
    }
    del ex
    gc.collect()
    return report, answers


# ------------------------------------------------------------------- over HTTP
def _post(url: str, body: dict, timeout: float) -> tuple[int, Any]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def _health(url: str) -> dict:
    with urllib.request.urlopen(url + "/health", timeout=30) as r:
        return json.loads(r.read())


def bench_serve(args, docs: list[str], order: list[int], expected: dict[int, dict]) -> dict:
    from pipelines.config import ModelConfig
    from seqgpt.serve import ServeOptions, start_server

    options = ServeOptions(
        model=ModelConfig(args.model, device=args.device, threads=args.threads),
        max_batch_size=args.max_batch_size,
    )
    t0 = time.perf_counter()
    server = start_server(
        options,
        [SCHEMA_FILE],
        host="127.0.0.1",
        port=args.port,
        gpus_per_replica=1.0 if args.device == "cuda" else 0.0,
    )
    start_s = time.perf_counter() - t0
    url = server.url + "/extract"
    try:
        health = _health(server.url)
        with ThreadPoolExecutor(args.clients) as pool:  # warm-up: every client once
            warm = [order[k % len(order)] for k in range(args.warmup * args.clients)]
            list(pool.map(lambda i: _post(url, {"text": docs[i], "schema": "tickets"}, args.timeout), warm))
        before = _health(server.url)["stats"]

        lock = threading.Lock()
        cursor = iter(range(len(order)))
        latencies: list[float] = [0.0] * len(order)
        results: list[tuple[int, Any]] = [(0, None)] * len(order)

        def client() -> None:
            while True:
                with lock:
                    k = next(cursor, None)
                if k is None:
                    return
                t = time.perf_counter()
                results[k] = _post(
                    url, {"text": docs[order[k]], "schema": "tickets", "source": f"ticket-{k}"}, args.timeout
                )
                latencies[k] = time.perf_counter() - t

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        after = _health(server.url)["stats"]
    finally:
        server.stop()
    failed = [(k, status, body) for k, (status, body) in enumerate(results) if status != 200]
    mismatched = [
        k
        for k, (status, body) in enumerate(results)
        if status == 200 and not same(body, expected[order[k]] | {"source": f"ticket-{k}"})
    ]
    return {
        **stats(latencies, wall, len(order)),
        "clients": args.clients,
        "server_start_s": start_s,
        "model": health["model"],
        "device": health["device"],
        "max_batch_size": args.max_batch_size,
        "batches": after["batches"] - before["batches"],
        "largest_batch": after["largest_batch"],
        "failed": len(failed),
        "failures": [f"request {k}: {status} {str(body)[:200]}" for k, status, body in failed[:5]],
        "answers_equal_to_engine": len(order) - len(failed) - len(mismatched),
    }


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/serve.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cpu-smoke", action="store_true", help="the tiny untrained model, 16 requests, CPU")
    ap.add_argument(
        "--model", default=None, help="hub id, folder or adapter [the bundled default; tiny with --cpu-smoke]"
    )
    ap.add_argument("--device", default="cpu", help="cpu or cuda [cpu]")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients [8]")
    ap.add_argument("--requests", type=int, default=None, help="timed requests [24; 16 with --cpu-smoke]")
    ap.add_argument(
        "--max-batch-size", type=int, default=8, help="@serve.batch size and the in-process batch [8]"
    )
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads, both sides [cores // 2, at least 1]"
    )
    ap.add_argument("--warmup", type=int, default=1, help="untimed requests per client first [1]")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds one request may take [600]")
    ap.add_argument("--port", type=int, default=None, help="loopback port for the server [a free one]")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    if args.cpu_smoke:
        args.model = args.model or "tiny"
        args.device = "cpu"
    args.requests = args.requests or (16 if args.cpu_smoke else 24)
    args.threads = args.threads or max(1, (os.cpu_count() or 2) // 2)
    if min(args.clients, args.requests, args.max_batch_size, args.threads) < 1 or args.warmup < 0:
        ap.error("--clients, --requests, --max-batch-size and --threads must be >= 1")
    if args.port is None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    docs = tickets()
    order = [k % len(docs) for k in range(args.requests)]
    m = machine()
    print(f"# bench/serve.py on {m['cpu']} ({m['cores']} cores), {m['date']}")
    print(
        f"# {args.requests} requests over the {len(docs)} sample tickets (jobs/schemas/tickets.yaml), "
        f"{args.clients} clients, batch {args.max_batch_size}, {args.threads} torch thread(s), device {args.device}"
    )
    engine, expected = bench_engine(args, docs, order)
    print(f"# model {engine['model']} (loaded in {engine['model_load_s']:.1f} s)", flush=True)
    served = bench_serve(args, docs, order, expected)
    report = {
        "benchmark": "bench/serve.py",
        "machine": m,
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "engine": engine,
        "serve": served,
        "reference": REFERENCE,
    }
    print(f"\n  {'':<36} {'requests':>8} {'wall s':>8} {'req/s':>7} {'p50 ms':>9} {'p99 ms':>9}")
    rows = [
        (f"seqgpt serve, {args.clients} clients", served),
        ("engine in one process, one by one", engine["one_by_one"]),
        (f"engine in one process, batches of {args.max_batch_size}", engine["batched"]),
    ]
    for name, r in rows:
        print(
            f"  {name:<36} {r['requests']:>8} {r['wall_s']:>8.1f} {r['per_s']:>7.2f} {r['p50_ms']:>9.0f} {r['p99_ms']:>9.0f}"
        )
    print(
        f"\n  serve: {served['batches']} batches (largest {served['largest_batch']}), {served['failed']} failed, "
        f"{served['answers_equal_to_engine']}/{args.requests} answers equal to the engine's; server start "
        f"(Ray + Serve + model) {served['server_start_s']:.1f} s"
    )
    for line in served["failures"]:
        print(f"  {line}")
    print(f"  {REFERENCE}")
    write_json(args.json, report)
    return 0 if served["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
