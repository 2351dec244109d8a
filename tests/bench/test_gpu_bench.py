"""bench/gpu.py runs end to end in its CPU smoke mode (tiny shape) and reports what it should."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu.py"
GENERATE, OURS, BEAM = "generate greedy", "ours greedy", "generate beam4 rp2.0"
SDPA, ENGINE = "ours greedy sdpa", "ours engine"


def run_script(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_cpu_smoke_reports_every_method_and_batch(tmp_path):
    out = tmp_path / "gpu.json"
    proc = run_script("--cpu-smoke", "--batches", "1,3", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())

    assert report["new_tokens"] == 8 and report["input_tokens"] == 48
    assert report["device"].startswith("CPU")
    assert report["errors"] == [] and report["skipped"] == []
    rows = {(r["method"], r["batch"]): r for r in report["rows"]}
    assert set(rows) == {(m, b) for m in (GENERATE, OURS, BEAM, SDPA, ENGINE) for b in (1, 3)}
    for (_method, batch), r in rows.items():
        assert r["docs_per_s"] > 0 and r["seconds_p50"] > 0
        assert abs(r["docs_per_s"] - batch / r["seconds_p50"]) < 1e-6 * r["docs_per_s"]
        assert r["peak_gib"] is None  # GPU memory only
        base = rows[(GENERATE, batch)]["docs_per_s"]
        assert abs(r["vs_generate"] - r["docs_per_s"] / base) < 1e-9

    # our decoder, forced to write exactly 8 tokens, writes generate's tokens, row for row,
    # with transformers' eager BLOOM attention and with ours through SDPA
    for batch in (1, 3):
        for method in (OURS, SDPA):
            ours, ref = rows[(method, batch)], rows[(GENERATE, batch)]
            assert ours["same_tokens"] is True and ours["rows_differing"] == 0, method
            assert ours["first_row_tokens"] == ref["first_row_tokens"]
        assert len(ref["first_row_tokens"]) == 8
        # the engine asks two label groups per ticket under the grammar: 2 answers per document
        assert rows[(ENGINE, batch)]["new_tokens_written"] > 0 and "same_tokens" not in rows[(ENGINE, batch)]
    # not a degenerate comparison: the model writes more than one distinct token
    assert len(set(rows[(GENERATE, 1)]["first_row_tokens"])) > 1
    # beam search is a different method: it is not compared token for token
    assert "same_tokens" not in rows[(BEAM, 3)]

    lat = {r["method"]: r for r in report["latency"]}
    assert set(lat) == {GENERATE, OURS, BEAM, SDPA, ENGINE}
    for r in lat.values():
        assert r["runs"] == 3 and 0 < r["p50_ms"] <= r["p99_ms"]
    assert lat[GENERATE]["speedup_vs_generate"] == 1.0

    table = proc.stdout
    assert "docs/s" in table and "p99 ms" in table and "CPU" in table
    assert table.count(OURS) >= 3  # two batch rows and the latency row


def test_over_budget_measurements_are_listed_as_skipped(tmp_path):
    out = tmp_path / "gpu.json"
    proc = run_script("--cpu-smoke", "--batches", "2", "--no-beams", "--budget-s", "0", "--json", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["rows"] == [] and report["latency"] == []
    assert report["skipped"] == [
        f"{GENERATE} batch 2",
        f"{OURS} batch 2",
        f"{GENERATE} latency",
        f"{OURS} latency",
        f"{ENGINE} batch 2",
        f"{ENGINE} latency",
        f"{SDPA} batch 2",
        f"{SDPA} latency",
    ]
    assert "skipped (over --budget-s 0 s)" in proc.stdout


def test_without_cuda_the_default_mode_says_what_to_do():
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("a CUDA device is present: the default mode would run the full benchmark")
    proc = run_script("--batches", "1", timeout=60)
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stderr and "--cpu-smoke" in proc.stderr
