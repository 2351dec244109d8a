"""bench/serve.py --cpu-smoke: a real `seqgpt serve` on loopback with the tiny model under 8
concurrent clients, beside the engine in one process; the report holds what the README cites.
Slow: starts Ray and Serve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_serve_bench_cpu_smoke(tmp_path):
    out = tmp_path / "serve.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "serve.py"),
            "--cpu-smoke",
            "--requests",
            "12",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    served, engine = report["serve"], report["engine"]
    assert report["settings"]["clients"] == 8 and report["settings"]["model"] == "tiny"
    assert served["requests"] == 12 and served["failed"] == 0 and served["clients"] == 8
    # every answer over HTTP is the engine's answer for the same ticket
    assert served["answers_equal_to_engine"] == 12
    assert 1 <= served["batches"] <= 12 and 1 <= served["largest_batch"] <= 8
    for r in (served, engine["one_by_one"], engine["batched"]):
        assert r["requests"] == 12 and r["wall_s"] > 0 and r["per_s"] > 0
        assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert served["model"] == engine["model"] and served["model"].endswith("tiny-bloom")
    assert engine["torch_threads"] == report["settings"]["threads"]
    for words in ("seqgpt serve, 8 clients", "one by one", "batches of 8", "p99 ms", "P99 215 ms"):
        assert words in proc.stdout
