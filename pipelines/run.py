"""The batch pipeline: documents in a folder or bucket -> one Parquet row per document.

``run_pipeline(config)`` runs one :class:`~pipelines.config.RunConfig` (built once by
``seqgpt run``, a ``jobs/*.py`` script, a test or a benchmark; every stage reads it) on
Ray Data::

    driver: list input (connectors.fs.Folder), recover the output, read the done set,
            resolve the config's automatic settings (actors, GPUs, threads)
      -> ray.data.from_items(files)
      -> flat_map(ReadStage)        CPU tasks: connectors.documents.parse_documents: bytes -> PDF
                                    pages / ticket records / text
      -> map(CleanStage)            CPU tasks: connectors.documents.clean_document (NFKC, headers,
                                    wraps, mojibake): the cleaner of `seqgpt extract` and the app
      -> map_batches(ExtractStage)  actor pool, one model per actor (GPU: num_gpus per actor;
                                    CPU: fractional num_cpus and few torch threads, so the
                                    pool never starves the readers); chunking, validation
                                    and normalization happen inside Extractor.extract_batch;
                                    passes each document's DocumentResult on
      -> map_batches(WriteStage)    CPU tasks: shape the rows from the results (the one owner
                                    of the output row, connectors.parquet.OutputAdapter),
                                    commit part files (below), return counts
      -> driver: iterate the counts (progress lines), print the summary

Every row carries either a document or a quarantine verdict; every stage turns an
exception about one document into a quarantine row (stage + reason + detail) and goes on,
so one bad document never fails the job.  Storage errors are not a document's fault: they
are retried with backoff and, if they persist, stop the job (a rerun finishes it).

Output layout (``output_uri``)::

    part-<k>.parquet               extraction rows (connectors.parquet.output_schema + notes)
    _quarantine/part-<k>.parquet   quarantine rows (connectors.parquet.quarantine_schema)
    _records/<type>/part-<k>.parquet  one row per record of a record type of the schema
                                   (connectors.parquet.record_schema), keyed by doc_id
    _manifest.json                 schema, model and options the folder was written with
    _tmp/, _quarantine/_tmp/       files being written (invisible to readers)

``pyarrow.dataset``, Spark and DuckDB skip ``_``-prefixed names, so ``output_uri`` reads as
the extraction table alone and ``output_uri/_quarantine`` as the quarantine table.  Every
row holds the model id and the run id.

Reruns, exactly once, keyed by document
---------------------------------------
The unit is the *record key* (``stages.record_key``): ``(source, id)`` for a document (a PDF,
a text file, a ticket record), whatever became of it; ``(source, id, reason, detail)`` for a
reader's verdict on input that never became a document (a corrupt PDF, a malformed JSONL
line, a duplicate id -- the detail names the line, so the quarantine row of a duplicate id
does not share the key of the record that kept the id).

1. **Parts are content-addressed.**  The writer stage commits each batch as files named
   by ``k`` = a hash of the batch's record keys.  Each file is written under ``_tmp/`` and
   renamed into place (atomic on local disks; on S3 a copy of a complete object).  A task
   that Ray retries (worker lost, actor killed) gets the same input blocks, so it writes the
   same names and replaces its files instead of adding duplicates.
2. **The data part is the commit marker.**  The quarantine part of a batch is written
   first, then its record parts, then the data part (with zero rows if the whole batch was
   quarantined).  A batch is committed iff its data part exists.
3. **Startup recovery.**  Before anything runs, the driver deletes temporary files and
   quarantine and record parts without their data part (a crash between the files), then reads just
   the key columns (``doc_id``, ``source``; plus ``stage``, ``reason``, ``detail`` for
   quarantine rows) of the committed parts: the *done set*.
4. **Skipping.**  PDF and text files whose source is in the done set are not even listed
   for reading (one file = one record); ticket files are parsed and their done records
   dropped right after parsing.
5. **Same folder, same job.**  ``_manifest.json`` records the schema, model and options on
   the first run; a rerun with different ones is refused (its rows would not match the
   committed ones), so use a new output folder for a new schema or model.

Hence a run killed at any moment and started again ends with exactly the rows of an
uninterrupted run: committed batches are kept whole, uncommitted ones are redone in full,
nothing is written twice (the extractor is deterministic, so the values are the same too;
only ``run_id`` and the timestamps tell the runs apart).  Requirements this relies on: one
run per output folder at a time (recovery deletes the other run's in-flight files), and
record keys unique within the input (readers quarantine duplicate ids).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractor.errors import SeqgptError
from pipelines.config import UNTRAINED_NOTE, RunConfig
from pipelines.stages import (
    QUARANTINE_DIR,
    RECORDS_DIR,
    RESULT_SCHEMA,
    CleanStage,
    ExtractStage,
    ReadStage,
    WriteStage,
    kind_of,
    record_key,
    result_row,
    with_retries,
    work_row,
)

log = logging.getLogger("seqgpt.pipeline")

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "_manifest.json"


class PipelineError(SeqgptError, RuntimeError):
    """The run could not start or stopped early; the message says why and what to do."""

    def __init__(self, message: str, summary: Summary | None = None):
        super().__init__(message)
        self.summary = summary


# ---------------------------------------------------------------------- summary
@dataclass
class Summary:
    """What a run did.  ``format()`` gives the printed report."""

    run_id: str
    model: str
    untrained: bool
    input_uri: str
    output_uri: str
    files: int = 0  # files listed in the input
    skipped: int = 0  # records already done in an earlier run (PDF/text files skipped unread)
    documents: int = 0  # records handled by this run (rows + quarantined)
    rows: int = 0
    records: int = 0  # record rows written (schemas with record types)
    pages: int = 0
    parts: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)
    completed: bool = False

    @property
    def quarantine_uri(self) -> str:
        return self.output_uri.rstrip("/") + "/" + QUARANTINE_DIR

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(docs_per_s=self.docs_per_s, pages_per_s=self.pages_per_s, quarantine_uri=self.quarantine_uri)
        return d

    def format(self) -> str:
        q = sum(self.quarantined.values())
        lines = [
            f"seqgpt run {self.run_id}: {'done' if self.completed else 'STOPPED EARLY'}",
            f"  model          {self.model}"
            + ("  (UNTRAINED demo model: values are not meaningful)" if self.untrained else ""),
            f"  input          {self.input_uri}  ({self.files} files)",
            f"  output         {self.output_uri}  ({self.parts} new parts)",
            f"  quarantine     {self.quarantine_uri}",
            f"  documents      {self.documents}  (+{self.skipped} already done, skipped)",
            f"  pages          {self.pages}",
            f"  rows           {self.rows}" + (f"  (+{self.records} record rows)" if self.records else ""),
            f"  quarantined    {q}"
            + (
                ""
                if not q
                else "  (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.quarantined.items())) + ")"
            ),
            f"  time           {self.seconds:.1f} s  ({self.docs_per_s:.2f} docs/s, {self.pages_per_s:.2f} pages/s)",
        ]
        if self.stage_seconds:
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
            lines.append(f"  stage time     {parts}  (summed over workers)")
        if any(self.recovered.values()):
            parts = ", ".join(f"{k}: {v}" for k, v in self.recovered.items() if v)
            lines.append(f"  recovered      {parts}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- ray
def init_ray(num_cpus: int | None = None) -> bool:
    """Connect to the cluster in ``RAY_ADDRESS`` (``ray job submit`` sets it), or start a
    local Ray with at least 4 logical CPUs, so an actor pool on a 2-core machine cannot
    starve the read tasks.  Returns True when this call started Ray (caller shuts it down).
    """
    import ray

    if ray.is_initialized():
        return False
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=True)
    else:
        ray.init(
            address="local",
            num_cpus=num_cpus or max(4, os.cpu_count() or 1),
            include_dashboard=False,
            runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
        )
    return True


# ------------------------------------------------------------------ output state
def _check_manifest(out, manifest: dict[str, Any]) -> None:
    def read():
        return json.loads(out.read_bytes(MANIFEST)) if out.exists(MANIFEST) else None

    old = with_retries(read, f"reading {out.uri(MANIFEST)}")
    if old is None:
        tmp = f"_tmp/{MANIFEST}.{uuid.uuid4().hex[:8]}"
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()

        def write():
            out.write_bytes(tmp, data)
            out.rename(tmp, MANIFEST)

        with_retries(write, f"writing {out.uri(MANIFEST)}")
        return
    for key in ("schema", "model", "keep_text"):
        if old.get(key) != manifest.get(key):
            raise PipelineError(
                f"{out.uri()} was written with a different {key} ({json.dumps(old.get(key), ensure_ascii=False)[:200]}); "
                "its rows would not match this run's. Use a new --output folder (or delete the old one)."
            )


def recover_output(out, record_types: Iterable[str] = ()) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Startup recovery and the done set (module docstring, steps 2-3); ``record_types`` are
    the schema's record type names (their folders under ``_records/`` are recovered too).

    Returns ({source: {record keys}}, {"temp files": n, "orphan quarantine parts": n,
    "orphan record parts": n}).
    """
    from connectors.parquet import read_table, remove_stale_temp

    qdir = out.child(QUARANTINE_DIR)
    stats = {"temp files": 0, "orphan quarantine parts": 0, "orphan record parts": 0}
    if not with_retries(out.exists, f"checking {out.uri()}"):
        return {}, stats
    data_parts = set(with_retries(lambda: out.list("part-*.parquet", recursive=False), "listing output"))
    q_parts: set[str] = set()
    if with_retries(qdir.exists, "checking quarantine"):
        q_parts = set(
            with_retries(lambda: qdir.list("part-*.parquet", recursive=False), "listing quarantine")
        )
    for orphan in sorted(q_parts - data_parts):
        with_retries(lambda o=orphan: qdir.delete(o), f"deleting {orphan}")
        stats["orphan quarantine parts"] += 1
    for name in record_types:
        rdir = out.child(f"{RECORDS_DIR}/{name}")
        if not with_retries(rdir.exists, f"checking {rdir.uri()}"):
            continue
        r_parts = with_retries(lambda d=rdir: d.list("part-*.parquet", recursive=False), "listing records")
        for orphan in sorted(set(r_parts) - data_parts):
            with_retries(lambda o=orphan, d=rdir: d.delete(o), f"deleting {orphan}")
            stats["orphan record parts"] += 1
        stats["temp files"] += with_retries(
            lambda d=rdir: remove_stale_temp(d, older_than_s=0), "removing temp files"
        )
    stats["temp files"] += with_retries(lambda: remove_stale_temp(out, older_than_s=0), "removing temp files")
    if q_parts:
        stats["temp files"] += with_retries(
            lambda: remove_stale_temp(qdir, older_than_s=0), "removing temp files"
        )

    done: dict[str, set[str]] = {}
    if data_parts:
        t = with_retries(lambda: read_table(out, columns=["doc_id", "source"]), "reading done keys")
        for doc_id, source in zip(t.column("doc_id").to_pylist(), t.column("source").to_pylist()):
            done.setdefault(source, set()).add(record_key(source, doc_id))
    if q_parts & data_parts:
        cols = ["doc_id", "source", "stage", "reason", "detail"]
        t = with_retries(lambda: read_table(qdir, columns=cols), "reading done keys")
        for doc_id, source, stage, reason, detail in zip(*(t.column(c).to_pylist() for c in cols)):
            done.setdefault(source, set()).add(record_key(source, doc_id, stage, reason, detail or ""))
    return done, stats


# ----------------------------------------------------------------------- running
@dataclass(frozen=True)
class Stages:
    """The stage classes a run builds, each constructed from the run's :class:`RunConfig`.
    Production runs use the defaults; tests pass subclasses to inject faults (a writer that
    stops before a data part, an actor that dies) without hooks in the stages themselves."""

    read: type[ReadStage] = ReadStage
    clean: type[CleanStage] = CleanStage
    extract: type[ExtractStage] = ExtractStage
    write: type[WriteStage] = WriteStage


def run_pipeline(config: RunConfig, *, echo=None, stages: Stages | None = None) -> Summary:
    """Run the pipeline (module docstring) as ``config`` says and return its :class:`Summary`.

    ``echo`` receives the progress lines (default: log + stderr), among them
    :data:`~pipelines.config.UNTRAINED_NOTE` once when the model is the untrained demo model.
    Raises :class:`PipelineError` when the run cannot start or stops early (the error's
    ``summary`` holds what was committed; a rerun finishes the job).
    """
    from connectors.fs import Folder
    from connectors.records import ConnectorError

    say = echo or _default_echo
    stages = stages or Stages()
    label, untrained = config.model.label, config.model.untrained
    summary = Summary(
        run_id=config.run_id,
        model=label,
        untrained=untrained,
        input_uri=config.input_uri,
        output_uri=config.output_uri,
    )
    t_start = time.perf_counter()
    if untrained:
        say(UNTRAINED_NOTE)

    # -- driver: list, recover, skip --------------------------------------------
    try:
        src = Folder.from_uri(config.input_uri)
        out = Folder.from_uri(config.output_uri)
        summary.input_uri, summary.output_uri = src.uri(), out.uri()
        entries = with_retries(
            lambda: src.list_entries(list(config.pattern) or None), f"listing {config.input_uri}"
        )
        _check_manifest(out, config.manifest())
        done, summary.recovered = recover_output(out, [rt.name for rt in config.schema.records])
    except ConnectorError as e:
        raise PipelineError(str(e)) from None
    summary.files = len(entries)
    items, pre_quarantined = [], []
    for e in entries:
        source = src.uri(e.path)
        k = kind_of(e.path, config.kind)
        keys = done.get(source, set())
        if k in ("pdf", "text", None) and keys:
            summary.skipped += 1
            continue
        if k is None:
            pre_quarantined.append(
                work_row(
                    source,
                    e.path,
                    "unknown",
                    stage="parse",
                    reason="unsupported_type",
                    detail="not a .pdf, ticket (.jsonl/.json/.csv/.tsv/.parquet) or text (.txt/.md) file; "
                    "use --kind to force one",
                )
            )
            continue
        summary.skipped += len(keys)  # ticket records: dropped right after parsing
        items.append(
            {"path": e.path, "source": source, "kind": k, "size": e.size, "done": json.dumps(sorted(keys))}
        )
    say(
        f"run {config.run_id}: {len(entries)} files in {summary.input_uri}, {len(items)} to read, "
        f"{summary.skipped} already done"
        + (f", recovered {summary.recovered}" if any(summary.recovered.values()) else "")
    )
    if not items and not pre_quarantined:
        summary.completed = True
        summary.seconds = time.perf_counter() - t_start
        return summary

    # -- the Ray Data pipeline -----------------------------------------------------
    import ray

    started = init_ray()
    try:
        config = config.resolved(float(ray.cluster_resources().get("GPU", 0)))
        say(
            f"extraction: {config.actors} actor(s), "
            + (f"{config.gpus_per_actor} GPU each" if config.on_gpu else "CPU")
        )
        ds = _build_dataset(ray, items, pre_quarantined, src, out, config, stages)
        _consume(ds, summary, t_start, say, config.progress_every_s)
    except Exception as e:
        summary.seconds = time.perf_counter() - t_start
        parts = _committed_parts(out)
        raise PipelineError(
            f"the run stopped early: {_root_cause(e)}\n{out.uri()} now holds {parts if parts >= 0 else 'some'} "
            "committed parts; run the same command again to finish (committed records are skipped).",
            summary,
        ) from e
    finally:
        if started:
            ray.shutdown()
    summary.completed = True
    summary.seconds = time.perf_counter() - t_start
    return summary


def _build_dataset(ray, items, pre_quarantined, src, out, config: RunConfig, stages: Stages):
    import pyarrow as pa

    cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)))
    blocks = max(1, min(len(items), int(cpus) * 4, 1000))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.flat_map(stages.read(src, config))
    ds = ds.map(stages.clean())
    extract_args: dict[str, Any] = {
        "compute": ray.data.ActorPoolStrategy(size=config.actors),
        "batch_size": config.batch_size,
        "batch_format": "pyarrow",
        "fn_constructor_kwargs": {"config": config},
        "num_cpus": config.cpus_per_actor,
    }
    if config.on_gpu:
        extract_args["num_gpus"] = config.gpus_per_actor
    results = ds.map_batches(stages.extract, **extract_args)
    if pre_quarantined:  # files no reader takes: straight to the writer
        table = pa.Table.from_pylist([result_row(r) for r in pre_quarantined], schema=RESULT_SCHEMA)
        results = results.union(ray.data.from_arrow(table))
    return results.map_batches(
        stages.write(out, config),
        batch_size=config.rows_per_part,
        batch_format="pyarrow",
        num_cpus=0.5,
    )


def _consume(ds, summary: Summary, t_start: float, say, every: float) -> None:
    """Iterate the writer's counts: the only thing the driver holds, one row per part."""
    stage = Counter()
    quarantined = Counter()
    last = time.perf_counter()
    for s in ds.iter_rows():
        summary.parts += 1
        summary.documents += s["docs"]
        summary.rows += s["rows"]
        summary.records += s["records"] or 0
        summary.pages += s["pages"]
        quarantined.update(json.loads(s["quarantined"] or "{}"))
        for k in ("read", "clean", "extract", "write"):
            stage[k] += s[f"t_{k}"]
        summary.untrained = summary.untrained or bool(s["untrained"])
        summary.quarantined = dict(quarantined)
        summary.stage_seconds = {k: round(v, 2) for k, v in stage.items()}
        now = time.perf_counter()
        if now - last >= every:
            last = now
            el = now - t_start
            say(
                f"progress: {summary.parts} parts, {summary.documents} records ({summary.rows} rows, "
                f"{sum(quarantined.values())} quarantined), {summary.documents / el:.2f} docs/s"
            )


_ERROR_LINE = re.compile(r"^\s*([\w.]*(?:Error|Exception|Fault|Interrupt)): (.+)$")


def _root_cause(e: BaseException) -> str:
    """The error that started it: Ray wraps a task's exception in RayTaskError /
    UserCodeException and keeps the original only in the traceback text."""
    chain, seen = [], set()
    x: BaseException | None = e
    while x is not None and id(x) not in seen:
        seen.add(id(x))
        chain.append(x)
        x = getattr(x, "cause", None) or x.__cause__
    found = None
    for x in chain:
        for line in str(x).splitlines():
            m = _ERROR_LINE.match(line)
            if m and "UserCodeException" not in m.group(1) and not m.group(1).startswith("ray."):
                found = f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(2).strip()}"
    if found:
        return found
    lines = str(chain[-1]).strip().splitlines()
    return f"{type(chain[-1]).__name__}: {lines[0] if lines else ''}"


def _committed_parts(out) -> int:
    try:
        return len(out.list("part-*.parquet", recursive=False)) if out.exists() else 0
    except Exception:
        return -1


def _default_echo(line: str) -> None:
    log.info(line)
    print(f"[seqgpt] {line}", file=sys.stderr, flush=True)
