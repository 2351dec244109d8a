"""Helpers shared by the benchmark scripts in bench/ (not a benchmark itself).

The scripts run as ``python bench/<name>.py`` from a checkout, installed or not: importing
this module puts the repository root on ``sys.path`` so ``extractor``, ``connectors`` and
``pipelines`` import either way.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# a 12345-hotline ticket (~190 characters); repeated to reach a prompt length in tokens
TICKET = (
    "市民王女士来电反映，朝阳区建国路88号院3号楼下的垃圾已经连续五天无人清运，气味很大，影响居民生活。"
    "她表示此前曾向物业反映过两次，物业称环卫部门没有按时收运。王女士联系电话13812345678，"
    "希望相关部门尽快协调处理，并建立长效机制，避免类似问题再次发生。"
)
TICKET_LABELS = ["申请人", "电话", "地址", "诉求"]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list: a value that was measured."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model and cores, OS, Python, date."""
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": _dt.date.today().isoformat(),
    }


def write_json(path: str | os.PathLike | None, report: dict[str, Any]) -> None:
    """Write ``report`` to ``path`` (creating its folder) when a path is given."""
    if not path:
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {p}", flush=True)


# ------------------------------------------------------------------------ corpora
SAMPLE_CONTRACTS = REPO_ROOT / "samples" / "contracts"
SAMPLE_TICKETS = REPO_ROOT / "samples" / "tickets" / "tickets.jsonl"


def sample_pdfs() -> list[Path]:
    return sorted(SAMPLE_CONTRACTS.glob("*.pdf"))


def build_corpus(root: str | os.PathLike, copies: int, *, pdfs: bool = True, tickets: bool = True) -> dict:
    """``copies`` copies of the bundled samples under ``root``: ``contracts/`` holds the 4
    sample PDFs per copy (``c0007-<name>.pdf``), ``tickets/`` one JSONL file per copy with
    the 22 sample tickets, their ids suffixed with the copy number (``RX...-0001-c0007``) so
    no id repeats.  Returns the folders and counts (files, pages, tickets, bytes)."""
    root = Path(root)
    info: dict[str, Any] = {"copies": copies, "pdf_files": 0, "pdf_pages": 0, "tickets": 0, "bytes": 0}
    if pdfs:
        import pypdfium2

        pdf_dir = root / "contracts"
        pdf_dir.mkdir(parents=True, exist_ok=True)
        pages = 0
        for src in sample_pdfs():
            data = src.read_bytes()
            doc = pypdfium2.PdfDocument(data)
            pages += len(doc)
            doc.close()
            for k in range(copies):
                (pdf_dir / f"c{k:04d}-{src.name}").write_bytes(data)
                info["bytes"] += len(data)
        info.update(pdf_dir=str(pdf_dir), pdf_files=len(sample_pdfs()) * copies, pdf_pages=pages * copies)
    if tickets:
        ticket_dir = root / "tickets"
        ticket_dir.mkdir(parents=True, exist_ok=True)
        records = [
            json.loads(line) for line in SAMPLE_TICKETS.read_text(encoding="utf-8").splitlines() if line
        ]
        for k in range(copies):
            lines = [json.dumps({**r, "id": f"{r['id']}-c{k:04d}"}, ensure_ascii=False) for r in records]
            data = ("\n".join(lines) + "\n").encode("utf-8")
            (ticket_dir / f"tickets-{k:04d}.jsonl").write_bytes(data)
            info["bytes"] += len(data)
        info.update(ticket_dir=str(ticket_dir), ticket_files=copies, tickets=len(records) * copies)
    return info


def quiet_ray() -> None:
    """Keep Ray Data's progress lines (a few per second) out of the benchmark's table."""
    import logging

    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    for name in ("ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.WARNING)


def in_workdir(workdir: str | None, prefix: str, run: Callable[[Path], int]) -> int:
    """``run(folder)`` in ``workdir``, or in a temporary folder removed afterwards."""
    work = Path(workdir or tempfile.mkdtemp(prefix=prefix))
    try:
        return run(work)
    finally:
        if not workdir:
            shutil.rmtree(work, ignore_errors=True)
