"""OCR speed: pages/s per core, beside the text layer, and OCR's share of a whole run.

    python bench/ocr.py                      # the 4 sample contracts (7 pages) scanned at 200 DPI
    python bench/ocr.py --pages 2 --no-run   # OCR vs text layer only, on 2 pages: seconds
    python bench/ocr.py --model tiny --json ocr.json

1. Renders every page of the bundled sample contracts (pypdfium2) and writes them as
   image-only PDFs (Pillow), then times, in this one process with one onnxruntime thread (one
   core), ``read_document`` of the scans (render + PP-OCRv4 + cleaning: what the OCR stage
   and ``seqgpt extract`` do) against ``read_document`` of the originals (their text layer,
   ``--layer-repeats`` passes after one to warm up),
   and reports each document's character error rate against its text layer
   (``connectors.ocr.cer``, what the tests check).  The OCR model is loaded before the clock
   starts (about 0.3 s, once per process or Ray actor).
2. Unless ``--no-run``: ``run_pipeline`` (local Ray, the CLI's defaults, the default model
   unless ``--model``; OCR on its own actor pool) over the folder of originals and over the
   folder of scans, each with a fresh local Ray: wall time of both, the task time Ray's
   stages report, OCR's share of the summed stage time, and the extra wall time the scans
   cost.

The Chinese samples need a CJK font to be rendered (Debian's fonts-wqy-microhei, ``make
browser``); without one their pages render without glyphs and the script says so.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _scan(data: bytes, dpi: int) -> bytes:
    """An image-only copy of a PDF: every page rendered at ``dpi``, written by Pillow."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        images = [pdf[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(pdf))]
    finally:
        pdf.close()
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f}"
    return f"{model}, {os.cpu_count()} logical CPUs{load}"


def _run(folder: Path, out: Path, options, model: str | None) -> dict:
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.run import run_pipeline

    config = RunConfig(
        str(folder),
        str(out),
        str(REPO / "jobs/schemas/contracts.yaml"),
        model=ModelConfig(model),
        read=options,
    )
    t0 = time.perf_counter()
    summary = run_pipeline(config, echo=lambda line: None)
    wall = time.perf_counter() - t0
    return {
        "documents": summary.documents,
        "rows": summary.rows,
        "pages": summary.pages,
        "quarantined": dict(summary.quarantined),
        "wall_s": round(wall, 1),
        "stage_seconds": dict(summary.stage_seconds),
        "model": summary.model if hasattr(summary, "model") else model,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--pages", type=int, default=0, help="OCR at most this many pages (0: all 7)")
    ap.add_argument("--no-run", action="store_true", help="skip the seqgpt run measurement")
    ap.add_argument("--model", default=None, help="the run's model [default: seqgpt run's default]")
    ap.add_argument("--layer-repeats", type=int, default=20, help="passes over the originals' text layers")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from connectors.documents import ReadOptions, read_document
    from connectors.ocr import OcrEngine, cer

    files = sorted((REPO / "samples" / "contracts").glob("*.pdf"))
    originals = {f.name: f.read_bytes() for f in files}
    scans = {name: _scan(data, args.dpi) for name, data in originals.items()}
    options = ReadOptions(ocr_dpi=args.dpi)
    engine = OcrEngine(threads=1)  # loaded before the clock starts, as an OCR actor does once

    texts = {n: read_document(d, n, options=options) for n, d in originals.items()}  # warm: imports
    t0 = time.perf_counter()
    for _ in range(args.layer_repeats):
        for n, d in originals.items():
            read_document(d, n, options=options)
    t_layer = time.perf_counter() - t0
    pages = sum(d.pages for d in texts.values()) * args.layer_repeats

    ocrd, done, t_ocr = {}, 0, 0.0
    for n, d in scans.items():
        if args.pages and done >= args.pages:
            break
        t0 = time.perf_counter()
        ocrd[n] = read_document(d, n, options=options, engine=engine)
        seconds = time.perf_counter() - t0
        t_ocr += seconds
        done += ocrd[n].pages
        ocrd[n].meta["_seconds"] = seconds
    rows = {}
    for n, doc in ocrd.items():
        ocr = doc.meta.get("ocr") or {}
        rows[n] = {
            "pages": doc.pages,
            "seconds": round(doc.meta["_seconds"], 2),
            "cer": round(cer(texts[n].text, doc.text), 4),
            "lines": ocr.get("lines"),
            "mean_score": ocr.get("mean"),
            "min_score": ocr.get("min"),
        }
    out: dict = {
        "machine": _machine(),
        "dpi": args.dpi,
        "text_layer_pages": pages,
        "text_layer_repeats": args.layer_repeats,
        "text_layer_seconds": round(t_layer, 3),
        "text_layer_pages_per_s": round(pages / t_layer, 1),
        "ocr_pages": done,
        "ocr_seconds": round(t_ocr, 2),
        "ocr_pages_per_s_per_core": round(done / t_ocr, 3),
        "seconds_per_page": round(t_ocr / max(1, done), 2),
        "text_layer_over_ocr": round((pages / t_layer) / (done / t_ocr), 1),
        "documents": rows,
    }
    print(f"machine: {out['machine']}  (1 onnxruntime thread = one core)")
    print(f"text layer      {pages} pages  {t_layer:.3f} s  {out['text_layer_pages_per_s']} pages/s")
    print(
        f"OCR at {args.dpi} DPI  {done} pages  {t_ocr:.1f} s  {out['ocr_pages_per_s_per_core']} pages/s per core "
        f"({out['seconds_per_page']} s a page; the text layer is {out['text_layer_over_ocr']}x faster)"
    )
    for n, r in rows.items():
        print(
            f"  {n:30s} pages {r['pages']}  {r['seconds']:6.1f} s  CER {r['cer']:.2%}  lines {r['lines']}  "
            f"line score mean {r['mean_score']} min {r['min_score']}"
        )
    if not args.no_run:
        import ray

        with tempfile.TemporaryDirectory() as tmp:
            runs = {}
            for label, docs in (("originals", originals), ("scans", scans)):
                folder = Path(tmp) / label
                folder.mkdir()
                for n, d in docs.items():
                    (folder / n).write_bytes(d)
                if ray.is_initialized():
                    ray.shutdown()
                runs[label] = _run(folder, Path(tmp) / f"out-{label}", options, args.model)
        stages = runs["scans"]["stage_seconds"]
        share = stages.get("ocr", 0.0) / max(1e-9, sum(stages.values()))
        extra = runs["scans"]["wall_s"] - runs["originals"]["wall_s"]
        out["run"] = {
            **runs,
            "ocr_share_of_stage_time": round(share, 3),
            "extra_wall_s": round(extra, 1),
            "extra_wall_share": round(extra / max(1e-9, runs["scans"]["wall_s"]), 3),
        }
        for label, r in runs.items():
            print(
                f"seqgpt run, {label:9s}: {r['documents']} documents, {r['pages']} pages, {r['wall_s']:.1f} s wall, "
                f"stage task time {r['stage_seconds']}, quarantined {r['quarantined'] or 'none'}"
            )
        print(
            f"OCR: {share:.0%} of the scans run's stage time; the scans took {extra:+.1f} s wall "
            f"({out['run']['extra_wall_share']:.0%} of their run) more than the originals"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
