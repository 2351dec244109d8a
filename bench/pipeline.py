"""Whole-pipeline throughput on this machine: ``seqgpt run`` over copies of the bundled samples.

    python bench/pipeline.py                  # 10 copies: 40 PDFs (70 pages) + 220 tickets, ~1.5 min
    python bench/pipeline.py --quick          # 3 copies, under a minute on 2 cores
    python bench/pipeline.py --copies 20 --model /models/seqgpt-560m --json pipeline.json

The corpus is ``--copies`` copies of samples/contracts (4 PDFs, 7 pages) and
samples/tickets/tickets.jsonl (22 tickets, ids made unique per copy) in a temporary folder.
Measured in one run, one after the other:

1. **PDF parsing**: our reader (``connectors.pdf.read_pdf``, pypdfium2) vs plain pdfplumber
   (``pdfplumber.open`` + ``page.extract_text()``) on the same PDF bytes, in this process:
   pages/s and characters kept (all, and without whitespace).  Each parser repeats passes
   over the files until ``--min-parse-s`` seconds have gone by.
2. **The pipeline as ``seqgpt run`` runs it**: ``pipelines.run.run_pipeline`` with the CLI's
   defaults (batch 8, 256 rows per part, one CPU extraction actor, local Ray) and the
   default model unless ``--model``; the contracts with jobs/schemas/contracts.yaml and the
   tickets with jobs/schemas/tickets.yaml.  Documents/s and pages/s over the run's wall time
   (which includes starting the actor and loading the model; Ray itself is started once
   before, timed apart).  The per-stage seconds the run reports (``Summary.stage_seconds``)
   are task time *summed over workers*: parallel tasks overlap, so they do not add up to
   the wall time; they are printed as such.
3. **Stage wall times**: the same stage classes (``pipelines.stages``: ReadStage,
   CleanStage, ExtractStage, WriteStage) run one stage after the other in this process over
   the same files (read = listing + bytes + parse; extract in batches of the same size,
   with the same torch thread count as the actor; write in parts of the same size), each
   stage timed as a whole.  This is where a document's time goes without Ray's overlap and
   overheads; model loading is timed apart.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, build_corpus, in_workdir, machine, quiet_ray, write_json

JOBS = {
    # name: (corpus folder key, schema file, run_pipeline kind, pages or not)
    "contracts": ("pdf_dir", REPO_ROOT / "jobs" / "schemas" / "contracts.yaml", "pdf"),
    "tickets": ("ticket_dir", REPO_ROOT / "jobs" / "schemas" / "tickets.yaml", "tickets"),
}
BATCH_SIZE = 8  # seqgpt run's defaults
ROWS_PER_PART = 256


# ------------------------------------------------------------------- PDF parsing
def _ours(data: bytes, name: str) -> tuple[int, str]:
    from connectors.pdf import read_pdf
    from connectors.records import Quarantine

    rec = read_pdf(data, name)
    if isinstance(rec, Quarantine):
        raise RuntimeError(f"{name}: quarantined ({rec.reason}: {rec.detail})")
    return rec.pages, rec.text


def _pdfplumber(data: bytes, name: str) -> tuple[int, str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        texts = [page.extract_text() or "" for page in pdf.pages]
    return len(texts), "\n".join(texts)


PARSERS = {"ours: read_pdf (pypdfium2)": _ours, "plain pdfplumber": _pdfplumber}


def bench_parse(files: list[Path], min_seconds: float) -> list[dict[str, Any]]:
    blobs = [(p.name, p.read_bytes()) for p in files]
    rows = []
    for name, parse in PARSERS.items():
        parse(blobs[0][1], blobs[0][0])  # warm-up: imports, font tables
        passes, pages, chars, visible = 0, 0, 0, 0
        t0 = time.perf_counter()
        while True:
            for fname, data in blobs:
                n, text = parse(data, fname)
                if passes == 0:
                    pages += n
                    chars += len(text)
                    visible += sum(1 for ch in text if not ch.isspace())
            passes += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        rows.append(
            {
                "parser": name,
                "files": len(blobs),
                "pages": pages,
                "passes": passes,
                "seconds": elapsed,
                "pages_per_s": pages * passes / elapsed,
                "chars": chars,
                "chars_no_space": visible,
            }
        )
    base = rows[-1]
    for r in rows:
        r["speed_vs_pdfplumber"] = r["pages_per_s"] / base["pages_per_s"]
        r["chars_no_space_vs_pdfplumber"] = r["chars_no_space"] / max(1, base["chars_no_space"])
    return rows


# ----------------------------------------------------------------- pipeline runs
def bench_run(name: str, folder: str, schema_file: Path, kind: str, out: Path, model: str | None) -> dict:
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.run import run_pipeline

    config = RunConfig(
        folder,
        str(out),
        str(schema_file),
        model=ModelConfig(model),
        actors=None,
        gpus_per_actor=None,
        batch_size=BATCH_SIZE,
        rows_per_part=ROWS_PER_PART,
        kind=kind,
    )
    s = run_pipeline(config, echo=lambda line: None)
    return {
        "job": name,
        "documents": s.documents,
        "rows": s.rows,
        "quarantined": s.quarantined,
        "pages": s.pages,
        "seconds": s.seconds,
        "docs_per_s": s.docs_per_s,
        "pages_per_s": s.pages_per_s,
        "stage_task_seconds_summed": s.stage_seconds,
        "model": s.model,
    }


def bench_stages(name: str, folder: str, schema_file: Path, kind: str, out: Path, model: str | None) -> dict:
    """The four stages one after the other in this process, each timed as a whole."""
    import pyarrow as pa

    from connectors.fs import Folder
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.stages import WORK_SCHEMA, CleanStage, ExtractStage, ReadStage, WriteStage, kind_of

    # what run_pipeline resolves for one CPU actor: half the cores as torch threads
    config = RunConfig(folder, str(out), str(schema_file), model=ModelConfig(model), kind=kind).resolved(0)
    threads = config.threads_per_actor
    t: dict[str, float] = {}

    t0 = time.perf_counter()
    src = Folder.from_uri(folder)
    items = [
        {
            "path": e.path,
            "source": src.uri(e.path),
            "kind": kind_of(e.path, kind),
            "size": e.size,
            "done": "[]",
        }
        for e in src.list_entries(None)
    ]
    reader = ReadStage(src, config)
    work = [row for item in items for row in reader(item)]
    t["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cleaner = CleanStage()
    work = [cleaner(row) for row in work]
    t["clean"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    extract = ExtractStage(config)
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = [
        extract(pa.Table.from_pylist(work[i : i + BATCH_SIZE], schema=WORK_SCHEMA))
        for i in range(0, len(work), BATCH_SIZE)
    ]
    t["extract"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    table = pa.concat_tables(results)
    writer = WriteStage(config.sink(), config)
    stats = [writer(table.slice(i, ROWS_PER_PART)) for i in range(0, table.num_rows, ROWS_PER_PART)]
    t["write"] = time.perf_counter() - t0

    total = sum(t.values())
    docs = sum(s.column("docs")[0].as_py() for s in stats)
    return {
        "job": name,
        "documents": docs,
        "torch_threads": threads,
        "model_load_s": t_load,
        "stage_seconds": t,
        "stage_share": {k: v / total for k, v in t.items()},
        "total_s": total,
        "docs_per_s_without_model_load": docs / total if total else 0.0,
    }


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/pipeline.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="3 copies and 1 s per parser")
    ap.add_argument("--copies", type=int, default=None, help="copies of the samples [10; 3 with --quick]")
    ap.add_argument("--min-parse-s", type=float, default=None, help="seconds per parser at least [3; 1]")
    ap.add_argument("--model", default=None, help="hub id or model folder [the bundled default]")
    ap.add_argument("--jobs", default="contracts,tickets", help="which runs [contracts,tickets]")
    ap.add_argument("--skip-stages", action="store_true", help="leave out the in-process stage timing")
    ap.add_argument("--workdir", default=None, help="where the corpus and outputs go [a temporary folder]")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    args.copies = args.copies or (3 if args.quick else 10)
    args.min_parse_s = args.min_parse_s if args.min_parse_s is not None else (1.0 if args.quick else 3.0)
    args.job_list = [j.strip() for j in args.jobs.split(",") if j.strip()]
    unknown = set(args.job_list) - set(JOBS)
    if args.copies < 1 or not args.job_list or unknown:
        ap.error(f"--copies must be >= 1 and --jobs a list of {', '.join(JOBS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "seqgpt-bench-pipeline-", lambda work: _main(args, work))


def _main(args, work: Path) -> int:
    corpus = build_corpus(work / "in", args.copies)
    m = machine()
    report: dict[str, Any] = {"benchmark": "bench/pipeline.py", "machine": m, "corpus": corpus}
    print(f"# bench/pipeline.py on {m['cpu']} ({m['cores']} cores), {m['date']}")
    print(
        f"# corpus: {args.copies} copies of the samples = {corpus['pdf_files']} PDFs ({corpus['pdf_pages']} pages) "
        f"+ {corpus['tickets']} tickets in {corpus['ticket_files']} JSONL files"
    )

    pdfs = sorted(Path(corpus["pdf_dir"]).glob("*.pdf"))
    report["parse"] = bench_parse(pdfs, args.min_parse_s)
    print("\nPDF parsing, same files, one process:")
    print(f"  {'parser':<28} {'pages/s':>9} {'vs pdfplumber':>13} {'chars':>8} {'no-space chars':>15}")
    for r in report["parse"]:
        print(
            f"  {r['parser']:<28} {r['pages_per_s']:>9.1f} {r['speed_vs_pdfplumber']:>12.1f}x "
            f"{r['chars']:>8} {r['chars_no_space']:>8} ({r['chars_no_space_vs_pdfplumber']:.2f}x)"
        )

    from pipelines.run import init_ray

    quiet_ray()
    t0 = time.perf_counter()
    started = init_ray()
    report["ray_start_s"] = time.perf_counter() - t0
    import ray

    report["ray_cpus"] = ray.cluster_resources().get("CPU")
    report["runs"] = []
    try:
        for job in args.job_list:
            key, schema_file, kind = JOBS[job]
            report["runs"].append(
                bench_run(job, corpus[key], schema_file, kind, work / f"out-{job}", args.model)
            )
    finally:
        if started:
            ray.shutdown()
    print(
        f"\nseqgpt run (run_pipeline, local Ray with {report['ray_cpus']:.0f} logical CPUs started in "
        f"{report['ray_start_s']:.1f} s, 1 CPU actor, batch {BATCH_SIZE}, model {report['runs'][0]['model']}):"
    )
    print(
        f"  {'job':<10} {'docs':>5} {'pages':>5} {'wall s':>7} {'docs/s':>7} {'pages/s':>8}  "
        "task seconds per stage, summed over workers"
    )
    for r in report["runs"]:
        st = ", ".join(f"{k} {v:.1f}" for k, v in r["stage_task_seconds_summed"].items())
        q = sum(r["quarantined"].values())
        print(
            f"  {r['job']:<10} {r['documents']:>5} {r['pages']:>5} {r['seconds']:>7.1f} {r['docs_per_s']:>7.2f} "
            f"{r['pages_per_s']:>8.2f}  {st}" + (f"  ({q} quarantined)" if q else "")
        )

    report["stages"] = []
    if not args.skip_stages:
        for job in args.job_list:
            key, schema_file, kind = JOBS[job]
            report["stages"].append(
                bench_stages(job, corpus[key], schema_file, kind, work / f"staged-{job}", args.model)
            )
        print("\nstage wall time, stages one after the other in one process (same files, same batches):")
        print(
            f"  {'job':<10} {'read+parse':>14} {'clean':>14} {'extract':>14} {'write':>14} {'docs/s':>7}  model load"
        )
        for r in report["stages"]:
            cells = " ".join(
                f"{r['stage_seconds'][k]:>7.2f} s {r['stage_share'][k]:>4.0%}"
                for k in ("read", "clean", "extract", "write")
            )
            print(
                f"  {r['job']:<10} {cells} {r['docs_per_s_without_model_load']:>7.2f}  {r['model_load_s']:.1f} s"
            )
    write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
