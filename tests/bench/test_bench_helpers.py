"""The pieces the CPU benchmarks (bench/pipeline.py, bench/scaling.py) are built from."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _common  # noqa: E402


def test_percentile_is_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert _common.percentile(values, 50) == 3.0
    assert _common.percentile(values, 99) == 5.0
    assert _common.percentile(values, 0) == 1.0
    assert _common.percentile(list(range(1, 101)), 99) == 99
    with pytest.raises(ValueError):
        _common.percentile([], 50)


def test_build_corpus_copies_the_samples_with_unique_ticket_ids(tmp_path):
    info = _common.build_corpus(tmp_path, 3)
    samples = _common.sample_pdfs()
    assert len(samples) == 4
    pdfs = sorted(Path(info["pdf_dir"]).glob("*.pdf"))
    assert info["pdf_files"] == len(pdfs) == 12
    assert info["pdf_pages"] == 3 * 7  # the 4 sample contracts have 7 pages
    by_name = {p.name: p.read_bytes() for p in samples}
    for p in pdfs:
        assert p.read_bytes() == by_name[p.name.split("-", 1)[1]]

    records = [
        json.loads(line)
        for f in sorted(Path(info["ticket_dir"]).glob("*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]
    originals = [json.loads(x) for x in _common.SAMPLE_TICKETS.read_text(encoding="utf-8").splitlines() if x]
    assert info["tickets"] == len(records) == 3 * len(originals) == 66
    assert len({r["id"] for r in records}) == len(records)
    assert [r["text"] for r in records[: len(originals)]] == [r["text"] for r in originals]
    assert info["bytes"] == sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())


def test_tree_memory_tells_actors_workers_and_other_processes_apart():
    import psutil
    from scaling import TreeMemory

    titles = ["ray::MapWorker(MapBatches(ExtractStage))", "ray::IDLE", "ray::DashboardAgent", "plain-sleep"]
    procs = [subprocess.Popen(["bash", "-c", f'exec -a "{t}" sleep 30']) for t in titles]
    try:
        deadline = time.monotonic() + 30  # let exec replace the shells (slow on a loaded machine)
        while time.monotonic() < deadline and [psutil.Process(p.pid).cmdline()[:1] for p in procs] != [
            [t] for t in titles
        ]:
            time.sleep(0.05)
        mem = TreeMemory()
        mem.sample()
        roles = {psutil.Process(p.pid).cmdline()[0]: mem._role(psutil.Process(p.pid)) for p in procs}
    finally:
        for p in procs:
            p.kill()
            p.wait()
    assert roles == {
        "ray::MapWorker(MapBatches(ExtractStage))": "actor",
        "ray::IDLE": "worker",
        "ray::DashboardAgent": "system",
        "plain-sleep": "system",
    }
    peak = mem.peak
    assert mem.workers_seen == {procs[0].pid, procs[1].pid}
    assert 0 < peak["actors"] <= peak["largest_worker"] <= peak["workers"]
    assert peak["total"] > peak["driver"] + peak["workers"]  # the two other processes count in the total
    report = mem.report()
    assert report["worker_processes"] == 2 and report["samples"] == 1
