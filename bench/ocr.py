"""OCR speed: pages/s per core, beside the text layer, and OCR's share of a whole run.

    python bench/ocr.py                 # the 4 sample contracts (7 pages) scanned at 200 DPI
    python bench/ocr.py --pages 2 --no-run   # OCR vs text layer only, seconds
    python bench/ocr.py --json ocr.json

1. Renders every page of the bundled sample contracts and writes image-only PDFs (Pillow),
   then times, in one process with one onnxruntime thread (per core), ``read_document`` of
   the scans (render + PP-OCRv4 + cleaning) against ``read_document`` of the originals (the
   text layer), and reports the character error rate of the OCR text against the text layer.
2. Unless ``--no-run``: ``run_pipeline`` (local Ray, the CLI's defaults, one OCR actor, the
   default model unless ``--model``) over the folder of scans, and the share of the summed
   stage time that OCR took.
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
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    images = [pdf[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(pdf))]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def _cer(a: str, b: str) -> float:
    a, b = " ".join(a.split()), " ".join(b.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(1, len(a))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--pages", type=int, default=0, help="at most this many pages (0: all 7)")
    ap.add_argument("--no-run", action="store_true", help="skip the seqgpt run measurement")
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from connectors.documents import ReadOptions, read_document
    from connectors.ocr import OcrEngine

    files = sorted((REPO / "samples" / "contracts").glob("*.pdf"))
    originals = {f.name: f.read_bytes() for f in files}
    scans = {name: _scan(data, args.dpi) for name, data in originals.items()}
    engine = OcrEngine(threads=1)
    options = ReadOptions(ocr_dpi=args.dpi)
    t0 = time.perf_counter()
    texts = {n: read_document(d, n, options=options) for n, d in originals.items()}
    t_layer = time.perf_counter() - t0
    pages = sum(d.pages for d in texts.values())
    t0 = time.perf_counter()
    ocrd, done = {}, 0
    for n, d in scans.items():
        if args.pages and done >= args.pages:
            break
        ocrd[n] = read_document(d, n, options=options, engine=engine)
        done += ocrd[n].pages
    t_ocr = time.perf_counter() - t0
    rows = {
        n: {"pages": doc.pages, "cer": round(_cer(texts[n].text, doc.text), 4), "ocr": doc.meta.get("ocr")}
        for n, doc in ocrd.items()
    }
    out = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "dpi": args.dpi,
        "text_layer_pages_per_s": round(pages / t_layer, 1),
        "ocr_pages": done,
        "ocr_pages_per_s_per_core": round(done / t_ocr, 3),
        "ratio": round((pages / t_layer) / (done / t_ocr), 1),
        "documents": rows,
    }
    print(f"machine: {out['machine']}  (1 onnxruntime thread = one core)")
    print(f"text layer      {pages} pages  {t_layer:.2f} s  {out['text_layer_pages_per_s']} pages/s")
    print(
        f"OCR at {args.dpi} DPI  {done} pages  {t_ocr:.2f} s  {out['ocr_pages_per_s_per_core']} pages/s per core"
    )
    for n, r in rows.items():
        print(f"  {n:32s} pages {r['pages']}  CER {r['cer']:.2%}  mean line score {r['ocr']['mean']}")
    if not args.no_run:
        from pipelines.config import ModelConfig, RunConfig
        from pipelines.run import run_pipeline

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "scans"
            folder.mkdir()
            for n, d in scans.items():
                (folder / n).write_bytes(d)
            config = RunConfig(
                str(folder), str(Path(tmp) / "out"), str(REPO / "jobs/schemas/contracts.yaml"),
                model=ModelConfig(args.model), read=options,
            )  # fmt: skip
            t0 = time.perf_counter()
            summary = run_pipeline(config, echo=lambda line: None)
            wall = time.perf_counter() - t0
        stages = summary.stage_seconds
        share = stages.get("ocr", 0.0) / max(1e-9, sum(stages.values()))
        out["run"] = {"wall_s": round(wall, 1), "stage_seconds": stages, "ocr_share": round(share, 3)}
        print(f"seqgpt run over the scans: {wall:.1f} s wall, stage time {stages}, OCR share {share:.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
