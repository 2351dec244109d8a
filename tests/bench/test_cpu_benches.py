"""bench/pipeline.py and bench/scaling.py run end to end on a small corpus (local Ray, the
default tiny model) and report what they should.  Slow: each starts Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_script(name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_pipeline_bench_on_one_copy_of_the_tickets(tmp_path):
    out = tmp_path / "pipeline.json"
    proc = run_script(
        "pipeline.py", "--copies", "1", "--jobs", "tickets", "--min-parse-s", "0.1", "--json", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())

    parse = {r["parser"]: r for r in report["parse"]}
    assert set(parse) == {"ours: read_pdf (pypdfium2)", "plain pdfplumber"}
    for r in parse.values():
        assert r["files"] == 4 and r["pages"] == 7 and r["passes"] >= 1 and r["pages_per_s"] > 0
        assert r["chars_no_space"] > 1000
    # both readers keep about the same text from the sample contracts
    assert 0.9 < parse["ours: read_pdf (pypdfium2)"]["chars_no_space_vs_pdfplumber"] < 1.2

    (run,) = report["runs"]
    assert run["job"] == "tickets" and run["documents"] == run["rows"] == 22 and run["quarantined"] == {}
    assert run["model"] and f"model {run['model']}" in proc.stdout
    assert run["docs_per_s"] > 0 and set(run["stage_task_seconds_summed"]) == {
        "read",
        "ocr",  # reported by every run; 0 here, where no file needs OCR
        "clean",
        "extract",
        "write",
    }
    assert run["stage_task_seconds_summed"]["ocr"] == 0
    (staged,) = report["stages"]
    assert staged["documents"] == 22
    assert set(staged["stage_seconds"]) == {"read", "clean", "extract", "write"}
    assert abs(sum(staged["stage_share"].values()) - 1.0) < 1e-9
    assert "summed over workers" in proc.stdout and "one after the other" in proc.stdout


def test_scaling_bench_reports_rates_and_memory_ratios(tmp_path):
    out = tmp_path / "scaling.json"
    proc = run_script(
        "scaling.py", "--quick", "--sizes", "1,2", "--actors", "1", "--actors-at", "2", "--json", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    runs = {(r["size"], r["actors"]): r for r in report["runs"]}
    assert set(runs) == {(1, 1), (2, 1)}
    assert [runs[(1, 1)]["documents"], runs[(2, 1)]["documents"]] == [22, 44]
    for r in runs.values():
        assert r["job"] == "tickets" and r["rows"] == r["documents"] and r["quarantined"] == 0
        assert r["model"] and f"model: {r['model']}" in proc.stdout
        assert r["docs_per_s"] > 0 and r["samples"] >= 2
        # the extraction actor (a torch process) is seen, and is one of the workers
        assert 100 < r["actors_peak_mib"] <= r["largest_worker_peak_mib"] <= r["workers_peak_mib"]
        assert r["total_peak_mib"] > r["driver_peak_mib"] + r["workers_peak_mib"] - 1
    ratios = report["summary"]["memory"]["tickets"]["ratios"]
    assert set(ratios) == {"driver", "workers", "largest_worker", "actors", "total"}
    assert report["summary"]["actors"]["tickets"] == {"1": 1.0}
    assert "peak memory 2x / 1x corpus" in proc.stdout


def test_sinks_bench_commits_the_rows_into_each_sink_and_counts_the_files(tmp_path):
    out = tmp_path / "sinks.json"
    proc = run_script(
        "sinks.py", "--rows", "300", "--batch-rows", "100", "--batches", "9", "--small-batch-rows", "10",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    rows = {r["sink"]: r for r in report["throughput"]}
    files = {r["sink"]: r for r in report["files"]}
    assert set(rows) == set(files) == {"parquet", "delta", "iceberg"}
    for r in rows.values():
        assert r["rows"] == 300 and r["batches"] == 3 and r["rows_per_s"] > 0
        assert 0 < r["commit_seconds"] <= r["seconds"]
    assert files["parquet"]["data_files"] == files["parquet"]["data_files_before_finish"] == 9
    for fmt in ("delta", "iceberg"):  # one file per batch, compacted into one at the end
        assert files[fmt]["data_files_before_finish"] == 9 and files[fmt]["data_files"] == 1
        assert files[fmt]["files_on_storage"] == 10  # the replaced files stay until vacuum/expiry
    assert "rows/s" in proc.stdout and "after finish" in proc.stdout and report["model"] == "tiny"
