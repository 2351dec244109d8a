"""Rows/s committed into each sink (Parquet folder, Delta, Iceberg) and the data files a table
holds after many small batches, on this machine.

    python bench/sinks.py                          # 10,000 rows in batches of 256; 100 batches of 100 rows
    python bench/sinks.py --rows 2000 --batches 20 --json sinks.json   # a quick look (~1 min)

What is measured, for each sink in turn (``--sinks parquet,delta,iceberg``), on local disk in a
temporary folder (the default SQLite catalog for Iceberg):

1. **Rows/s committed at ``--rows`` rows**: the rows go through ``pipelines.stages.WriteStage``
   -- the pipeline's writer: shape each document's data and record rows from its result, then
   ``sink.commit`` (quarantine, records, data) -- in batches of ``--batch-rows`` (256, what
   ``seqgpt run`` makes by default), one after the other in this process, with the driver's
   ``sink.check()``/``done()`` before, ``sink.maintain()`` every ``maintain_every`` batches
   and ``sink.finish()`` after (compaction), all inside the timed span.  Reported: rows/s over
   that span, and the seconds spent inside ``sink.commit`` alone.
2. **Data files after ``--batches`` batches** of ``--small-batch-rows`` (100) rows into a new
   table: the files the table's current version reads after the last batch (the driver's
   in-run compaction having run every ``maintain_every`` batches), after ``finish()`` (its
   final compaction), and the data files on storage (compaction leaves the replaced files
   until Delta's ``vacuum`` / Iceberg's snapshot expiry remove them; seqgpt runs neither).

The rows: the bundled sample contracts (4 PDFs) read, cleaned and extracted once with the
tiny demo model (``--model``, default ``tiny``; jobs/schemas/contracts.yaml: dates, money,
text), their result rows then copied with fresh document ids up to the row counts above, so
every sink commits the same rows the pipeline would hand it.  Model time is not part of
any figure.  Ray is not started: one writer commits after the other (the pipeline runs a
few writer tasks at once, whose table commits then race and retry).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, in_workdir, machine, sample_pdfs, write_json

SCHEMA_FILE = REPO_ROOT / "jobs" / "schemas" / "contracts.yaml"
SINKS = ("parquet", "delta", "iceberg")


def extracted_rows(model: str, work: Path) -> Any:
    """The sample contracts' RESULT_SCHEMA rows (read, cleaned, extracted) as one Arrow table."""
    import pyarrow as pa

    from connectors.fs import Folder
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.stages import WORK_SCHEMA, CleanStage, ExtractStage, ReadStage

    folder = work / "contracts"
    folder.mkdir(parents=True, exist_ok=True)
    for pdf in sample_pdfs():
        (folder / pdf.name).write_bytes(pdf.read_bytes())
    config = RunConfig(
        str(folder), str(work / "unused"), str(SCHEMA_FILE), model=ModelConfig(model)
    ).resolved(0)
    src = Folder.from_uri(str(folder))
    reader, cleaner = ReadStage(src, config), CleanStage()
    work_rows = [
        cleaner(row)
        for e in src.list_entries(None)
        for row in reader(
            {"path": e.path, "source": src.uri(e.path), "kind": "pdf", "size": e.size, "done": "[]"}
        )
    ]
    return ExtractStage(config)(pa.Table.from_pylist(work_rows, schema=WORK_SCHEMA))


def copies(results: Any, n: int, tag: str) -> Any:
    """``n`` result rows: ``results`` repeated, each copy with its own id, source and key."""
    import pyarrow as pa

    from pipelines.stages import record_key

    rows = results.to_pylist()
    out = []
    for i in range(n):
        r = dict(rows[i % len(rows)])
        r["id"] = f"{tag}{i:06d}-{r['id']}"
        r["source"] = f"{r['source']}#{tag}{i:06d}"
        r["key"] = record_key(r["source"], r["id"])
        out.append(r)
    return pa.Table.from_pylist(out, schema=results.schema)


def commit_batches(fmt: str, location: Path, rows: Any, batch_rows: int, run_id: str) -> dict[str, Any]:
    """Commit ``rows`` through the ``fmt`` sink as the pipeline does; the timings and file counts."""
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.stages import WriteStage

    config = RunConfig(
        "unused", str(location), str(SCHEMA_FILE), model=ModelConfig("m"), table_format=fmt,
        run_id=run_id, rows_per_part=batch_rows,
    )  # fmt: skip
    commit_s = [0.0]

    class TimedWrite(WriteStage):
        def commit(self, batch):
            t0 = time.perf_counter()
            super().commit(batch)
            commit_s[0] += time.perf_counter() - t0

    t0 = time.perf_counter()
    sink = config.sink()
    sink.check()
    sink.done()
    write = TimedWrite(sink, config)
    batches = 0
    for start in range(0, rows.num_rows, batch_rows):
        write(rows.slice(start, batch_rows))
        batches += 1
        if sink.maintain_every and batches % sink.maintain_every == 0:
            sink.maintain()
    files_before_finish = data_files(sink)
    sink.finish()
    seconds = time.perf_counter() - t0
    return {
        "sink": fmt,
        "rows": rows.num_rows,
        "batches": batches,
        "batch_rows": batch_rows,
        "seconds": seconds,
        "rows_per_s": rows.num_rows / seconds,
        "commit_seconds": commit_s[0],
        "data_files_before_finish": files_before_finish,
        "data_files": data_files(sink),
        "files_on_storage": sum(
            1 for p in location.rglob("*.parquet") if not {"_delta_log", "metadata"} & set(p.parts)
        ),
    }


def data_files(sink) -> int:
    """The data files the data table's current version reads (the Parquet folder: its parts)."""
    if sink.format == "parquet":
        return len(sink.folder.list("part-*.parquet", recursive=False))
    return sink.data_files(sink.table("data"))


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/sinks.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=10_000, help="rows of the throughput pass [10000]")
    ap.add_argument(
        "--batch-rows", type=int, default=256, help="rows per batch there [256, seqgpt run's default]"
    )
    ap.add_argument("--batches", type=int, default=100, help="batches of the file-count pass [100]")
    ap.add_argument("--small-batch-rows", type=int, default=100, help="rows per batch there [100]")
    ap.add_argument("--sinks", default=",".join(SINKS), help=f"which sinks [{','.join(SINKS)}]")
    ap.add_argument("--model", default="tiny", help="model that extracts the sample rows [tiny]")
    ap.add_argument("--workdir", default=None, help="where the tables go [a temporary folder]")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    args.sink_list = [s.strip() for s in args.sinks.split(",") if s.strip()]
    if set(args.sink_list) - set(SINKS) or not args.sink_list:
        ap.error(f"--sinks must be a list of {', '.join(SINKS)}")
    if min(args.rows, args.batch_rows, args.batches, args.small_batch_rows) < 1:
        ap.error("--rows, --batch-rows, --batches and --small-batch-rows must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "seqgpt-bench-sinks-", lambda work: _main(args, work))


def _main(args, work: Path) -> int:
    m = machine()
    print(f"# bench/sinks.py on {m['cpu']} ({m['cores']} cores), {m['date']}", flush=True)
    t0 = time.perf_counter()
    results = extracted_rows(args.model, work / "in")
    print(
        f"# rows: {results.num_rows} sample contracts extracted with model {args.model} "
        f"in {time.perf_counter() - t0:.1f} s, copied with new ids",
        flush=True,
    )
    report: dict[str, Any] = {"benchmark": "bench/sinks.py", "machine": m, "model": args.model}
    many = copies(results, args.rows, "r")
    small = copies(results, args.batches * args.small_batch_rows, "s")
    report["throughput"], report["files"] = [], []
    for fmt in args.sink_list:
        report["throughput"].append(
            commit_batches(fmt, work / f"rows-{fmt}", many, args.batch_rows, "bench-rows")
        )
        report["files"].append(
            commit_batches(fmt, work / f"files-{fmt}", small, args.small_batch_rows, "bench-files")
        )

    print(f"\n{args.rows} rows in batches of {args.batch_rows} (shape + commit + compaction, one writer):")
    print(f"  {'sink':<8} {'batches':>7} {'seconds':>8} {'rows/s':>8} {'in commit':>10} {'data files':>10}")
    for r in report["throughput"]:
        print(
            f"  {r['sink']:<8} {r['batches']:>7} {r['seconds']:>8.2f} {r['rows_per_s']:>8.0f} "
            f"{r['commit_seconds']:>8.2f} s {r['data_files']:>10}"
        )
    print(f"\n{args.batches} batches of {args.small_batch_rows} rows: data files of the table")
    print(f"  {'sink':<8} {'after the batches':>17} {'after finish':>12} {'on storage':>10} {'rows/s':>8}")
    for r in report["files"]:
        print(
            f"  {r['sink']:<8} {r['data_files_before_finish']:>17} {r['data_files']:>12} "
            f"{r['files_on_storage']:>10} {r['rows_per_s']:>8.0f}"
        )
    write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
