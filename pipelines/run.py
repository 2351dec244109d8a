"""The batch pipeline: documents in a folder or bucket -> one Parquet row per document.

``run_pipeline(config)`` runs one :class:`~pipelines.config.RunConfig` (built once by
``seqgpt run``, a ``jobs/*.py`` script, a test or a benchmark; every stage reads it) on
Ray Data::

    driver: list input (connectors.fs.Folder), recover the output, read the done set,
            resolve the config's automatic settings (actors, GPUs, threads)
      -> ray.data.from_items(files)
      -> flat_map(ReadStage)        CPU tasks: connectors.documents.parse_documents: bytes -> PDF
                                    pages / ticket records / text / Word / HTML / e-mail and
                                    its attachments; pages without a text layer await OCR
      -> map_batches(OcrStage)      its own autoscaling CPU actor pool (1 to config.ocr_actors,
                                    default one per 2 logical CPUs; fractional CPUs),
                                    one OCR model per actor: connectors.documents.ocr_document
                                    for the rows with pages to OCR (scans, images), so the
                                    extraction pool never waits on OCR and OCR scales with
                                    CPU nodes; left out when no listed file can need OCR
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
      -> driver: iterate the counts (one progress bar on a terminal, else a progress line
         every few seconds), print the summary; with --html-report write the review page

Every row carries either a document or a quarantine verdict; every stage turns an
exception about one document into a quarantine row (stage + reason + detail) and goes on,
so one bad document never fails the job.  Storage errors are not a document's fault: they
are retried with backoff and, if they persist, stop the job (a rerun finishes it).

Output layout (``output_uri``)::

    part-<k>.parquet               extraction rows (connectors.parquet.output_schema + notes)
    _quarantine/part-<k>.parquet   quarantine rows (connectors.parquet.quarantine_schema)
    _records/<type>/part-<k>.parquet  one row per record of a record type of the schema
                                   (connectors.parquet.record_schema), keyed by doc_id
    _tmp/, _quarantine/_tmp/       files being written (invisible to readers; removed when
                                   the run ends)

There is no other file: the schema, model and options the folder was written with are in
every data part's Parquet footer (``connectors.parquet.METADATA_KEY``), so a folder of a run
without quarantined documents or record types holds data parts only, and
``polars.read_parquet(OUTPUT)`` reads it like ``pyarrow.dataset``.  ``pyarrow.dataset``,
Spark and DuckDB (``OUTPUT/*.parquet``) skip ``_``-prefixed names, so ``output_uri`` reads as
the extraction table alone and ``output_uri/_quarantine`` as the quarantine table; polars
does not skip them (``pl.read_parquet(f"{OUTPUT}/*.parquet")`` reads the data parts alone
wherever ``_quarantine/`` or ``_records/`` exist).  Every row holds the model id and the
run id.

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
5. **Same folder, same job.**  Every data part records the schema, model and options in its
   footer; a rerun with different ones is refused, naming what differs (its rows would not
   match the committed ones), so use a new output folder for a new schema or model.  Field
   descriptions and the schema's name are documentation and may change.

Hence a run killed at any moment and started again ends with exactly the rows of an
uninterrupted run: committed batches are kept whole, uncommitted ones are redone in full,
nothing is written twice (the extractor is deterministic, so the values are the same too;
only ``run_id`` and the timestamps tell the runs apart).  Requirements this relies on: one
run per output folder at a time (recovery deletes the other run's in-flight files), and
record keys unique within the input (readers quarantine duplicate ids).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
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
    SINGLE_KINDS,
    CleanStage,
    ExtractStage,
    OcrStage,
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
LEGACY_MANIFEST = "_manifest.json"  # where folders written before the footers kept the manifest
REPORT_MAX_DOCS = 200  # documents on a --html-report page
OCR_KINDS = ("pdf", "image", "email")  # files that may hold pages to OCR


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
    quarantine_exists: bool = False  # OUTPUT/_quarantine holds rows (of this run or earlier ones)
    report: str | None = None  # the --html-report page written
    report_documents: int = 0

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
            f"  documents      {self.documents}  (+{self.skipped} already done, skipped)",
            f"  pages          {self.pages}",
            f"  rows           {self.rows}" + (f"  (+{self.records} record rows)" if self.records else ""),
            f"  quarantined    {q}"
            + (
                ""
                if not q
                else "  (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.quarantined.items())) + ")"
            )
            + (f"  in {self.quarantine_uri}" if self.quarantine_exists else ""),
            f"  time           {self.seconds:.1f} s  ({self.docs_per_s:.2f} docs/s, {self.pages_per_s:.2f} pages/s)",
        ]
        if self.stage_seconds:
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.stage_seconds.items())
            lines.append(f"  stage time     {parts}  (summed over workers)")
        if any(self.recovered.values()):
            parts = ", ".join(f"{k}: {v}" for k, v in self.recovered.items() if v)
            lines.append(f"  recovered      {parts}")
        if self.report:
            lines.append(f"  review page    {self.report}  ({self.report_documents} documents)")
        return "\n".join(lines)


# --------------------------------------------------------------------------- ray
def init_ray(num_cpus: int | None = None, *, verbose: bool = True) -> bool:
    """Connect to the cluster in ``RAY_ADDRESS`` (``ray job submit`` sets it), or start a
    local Ray with at least 4 logical CPUs, so an actor pool on a 2-core machine cannot
    starve the read tasks.  Without ``verbose`` Ray keeps its own logs to itself (its log
    files still have them; a task's error still stops the run with its message).  Returns
    True when this call started Ray (caller shuts it down).
    """
    import ray

    if ray.is_initialized():
        return False
    quiet = {} if verbose else {"log_to_driver": False, "logging_level": logging.ERROR}
    pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    if os.environ.get("RAY_ADDRESS"):
        ray.init(**{"log_to_driver": True, **quiet})
    else:
        ray.init(
            address="local",
            num_cpus=num_cpus or max(4, os.cpu_count() or 1),
            include_dashboard=False,
            runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
            **quiet,
        )
    return True


@contextlib.contextmanager
def _ray_output(verbose: bool):
    """Ray Data's progress bars, start-of-execution lines and INFO logs only with
    ``verbose``; restored afterwards (run_pipeline may run several times in one process)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    names = (
        "enable_progress_bars",
        "enable_operator_progress_bars",
        "print_on_execution_start",
        "enable_auto_log_stats",
    )
    saved = {n: getattr(ctx, n) for n in names if hasattr(ctx, n)}
    loggers = [logging.getLogger(n) for n in ("ray.data", "ray")]
    levels = [lg.level for lg in loggers]
    if not verbose:
        for n in saved:
            setattr(ctx, n, False)
        for lg in loggers:  # ERROR: Ray Data even warns that its progress bars are off
            lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, v in saved.items():
            setattr(ctx, n, v)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@dataclass
class _Report:
    """The ``--html-report`` sections the driver received, at most :data:`REPORT_MAX_DOCS`."""

    path: str
    sections: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, raw: str | None) -> None:
        for source, doc_id, html in json.loads(raw) if raw else []:
            if len(self.sections) < REPORT_MAX_DOCS:
                self.sections.append((source, doc_id, html))

    def write(self, summary: Summary, config: RunConfig) -> None:
        from pipelines.review import report_page

        sections = [html for _, _, html in sorted(self.sections)]
        lines = [
            f"run {summary.run_id} · model {summary.model} · {summary.input_uri} -> {summary.output_uri}",
            f"{len(sections)} of the {summary.rows} documents this run extracted"
            + (f" (at most {REPORT_MAX_DOCS} are shown)" if summary.rows > len(sections) else ""),
        ]
        if not sections:
            lines.append("This run extracted no document (they were done already, or quarantined).")
        page = report_page(sections, title=f"seqgpt run {summary.run_id}", lines=lines)
        target = Path(self.path).expanduser()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
        except OSError as e:
            raise PipelineError(f"cannot write the review page {target}: {e}", summary) from None
        summary.report, summary.report_documents = str(target), len(sections)


def _report_budget(ray, n: int):
    """A tiny actor handing out report slots, so the writers render (and send the driver)
    at most ``n`` documents in all, however many parts the run has."""

    @ray.remote(num_cpus=0)
    class ReportBudget:
        def __init__(self, left: int):
            self.left = left

        def take(self, k: int) -> int:
            got = max(0, min(k, self.left))
            self.left -= got
            return got

    return ReportBudget.remote(n)


# ------------------------------------------------------------------ output state
def _written_manifest(out) -> dict[str, Any] | None:
    """The manifest the folder's committed data parts were written with (the footer of one
    of them), the legacy ``_manifest.json`` of older folders, or None for a new folder."""
    from connectors.parquet import read_metadata

    if not with_retries(out.exists, f"checking {out.uri()}"):
        return None
    parts = with_retries(lambda: out.list("part-*.parquet", recursive=False), "listing output")
    if parts:
        found = with_retries(lambda: read_metadata(out, parts[0]), f"reading the footer of {parts[0]}")
        if found is not None:
            return found
    if with_retries(lambda: out.exists(LEGACY_MANIFEST), "checking the manifest"):
        return json.loads(with_retries(lambda: out.read_bytes(LEGACY_MANIFEST), "reading the manifest"))
    return None


def _short(value: Any) -> str:
    if value is None:
        return "(not set)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def manifest_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between the manifest a folder was written with (``old``) and this run's,
    in words: fields only on one side, changed field settings (type, hint, threshold ...),
    field order, rules, record types, summary, model and ``keep_text``.  Descriptions and the
    schema's name are documentation: they never count."""

    def fields(manifest) -> dict[str, dict[str, Any]]:
        out = {}
        for f in (manifest.get("schema") or {}).get("fields", []):
            out[f.get("name")] = {k: v for k, v in f.items() if k not in ("name", "description")}
        return out

    diffs: list[str] = []
    a, b = fields(old), fields(new)
    gone = [n for n in a if n not in b]
    added = [n for n in b if n not in a]
    if gone:
        diffs.append("fields only in the folder: " + ", ".join(gone))
    if added:
        diffs.append("fields only in this run: " + ", ".join(added))
    for name in (n for n in a if n in b):
        changed = [
            f"{k} {_short(a[name].get(k))} -> {_short(b[name].get(k))}"
            for k in sorted(set(a[name]) | set(b[name]))
            if a[name].get(k) != b[name].get(k)
        ]
        if changed:
            diffs.append(f"field {name}: " + ", ".join(changed))
    common = [n for n in a if n in b]
    if not diffs and common != [n for n in b if n in a]:
        diffs.append("field order: " + ", ".join(a) + " in the folder, " + ", ".join(b) + " in this run")
    old_schema, new_schema = old.get("schema") or {}, new.get("schema") or {}
    for key in ("rules", "records", "summary"):
        if old_schema.get(key) != new_schema.get(key):
            diffs.append(
                f"{key}: {_short(old_schema.get(key))} in the folder, {_short(new_schema.get(key))} in this run"
            )
    for key in ("model", "keep_text"):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}: {_short(old.get(key))} in the folder, {_short(new.get(key))} in this run")
    return diffs


def _check_manifest(out, manifest: dict[str, Any]) -> None:
    """Refuse a rerun into a folder written with another schema, model or ``keep_text``."""
    old = _written_manifest(out)
    if old is None:
        return
    diffs = manifest_differences(old, manifest)
    if diffs:
        differ = [k for k in ("model", "keep_text") if old.get(k) != manifest.get(k)]
        if len(differ) < len(diffs):
            differ.insert(0, "schema")
        what = " and ".join(differ)
        raise PipelineError(
            f"{out.uri()} was written with a different {what}; its rows would not match this run's:\n"
            + "\n".join(f"  - {d}" for d in diffs)
            + "\nUse a new --output folder (or delete the old one)."
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
    ocr: type[OcrStage] = OcrStage
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
    from connectors.documents import supported_extensions
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
        if (k in SINGLE_KINDS or k is None) and keys:
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
                    detail=f"no reader for this file type (read: {supported_extensions()}); "
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
    report = _Report(config.html_report) if config.html_report else None
    if not items and not pre_quarantined:
        summary.completed = True
        summary.seconds = time.perf_counter() - t_start
        _finish(out, config, summary, report)
        return summary

    # -- the Ray Data pipeline -----------------------------------------------------
    import ray

    # documents to do, when known before parsing (one per PDF or text file; ticket files hold many)
    total = len(items) + len(pre_quarantined) if all(i["kind"] in SINGLE_KINDS for i in items) else None
    started = init_ray(verbose=config.verbose)
    try:
        with _ray_output(config.verbose), _Progress(say, total, config, live=echo is None) as progress:
            config = config.resolved(float(ray.cluster_resources().get("GPU", 0)))
            progress.start(
                f"{config.actors} extraction actor(s), "
                + (f"{config.gpus_per_actor:g} GPU each" if config.on_gpu else "CPU")
            )
            budget = _report_budget(ray, REPORT_MAX_DOCS) if report else None
            ds = _build_dataset(ray, items, pre_quarantined, src, out, config, stages, budget)
            _consume(ds, summary, t_start, progress, report)
    except Exception as e:
        summary.seconds = time.perf_counter() - t_start
        parts = _committed_parts(out)
        _finish(out, config, summary, report, clean=False)
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
    _finish(out, config, summary, report)
    return summary


def _finish(out, config: RunConfig, summary: Summary, report: _Report | None, *, clean: bool = True) -> None:
    """After the run: remove the writers' ``_tmp/`` folders (nothing is written any more;
    ``clean=False`` after a failure, where a worker may still be busy: the rerun's recovery
    removes them), note whether a quarantine exists, write the review page."""
    from connectors.parquet import remove_temp

    qdir = out.child(QUARANTINE_DIR)
    try:
        if clean and with_retries(out.exists, f"checking {out.uri()}"):
            folders = [out, qdir] + [out.child(f"{RECORDS_DIR}/{rt.name}") for rt in config.schema.records]
            for folder in folders:
                with_retries(lambda f=folder: remove_temp(f), f"removing {folder.uri('_tmp')}")
        summary.quarantine_exists = bool(
            with_retries(
                lambda: qdir.exists() and bool(qdir.list("part-*.parquet", recursive=False)),
                "checking quarantine",
            )
        )
    except Exception as e:  # a storage error here loses nothing: say so and go on
        log.warning("could not tidy %s: %s", out.uri(), e)
    if report is not None:
        report.write(summary, config)


def _build_dataset(ray, items, pre_quarantined, src, out, config: RunConfig, stages: Stages, report=None):
    import pyarrow as pa

    cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)))
    blocks = max(1, min(len(items), int(cpus) * 4, 1000))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.flat_map(stages.read(src, config))
    if config.read.ocr and any(i["kind"] in OCR_KINDS for i in items):
        ds = ds.map_batches(
            stages.ocr,
            compute=ray.data.ActorPoolStrategy(
                min_size=1, max_size=config.ocr_actors or max(1, int(cpus) // 2)
            ),
            batch_size=2,
            batch_format="pyarrow",
            fn_constructor_kwargs={"config": config},
            num_cpus=config.ocr_cpus_per_actor,
        )
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
        stages.write(out, config, report),
        batch_size=config.rows_per_part,
        batch_format="pyarrow",
        num_cpus=0.5,
    )


class _Progress:
    """What the driver shows while the run goes: on a terminal (and with the default echo)
    one ``rich`` progress bar on stderr -- documents done (of how many, when known before
    parsing), pages/s, ETA; otherwise a plain line every ``config.progress_every_s`` seconds
    through ``say`` (logs of nightly jobs stay readable)."""

    def __init__(self, say, total: int | None, config: RunConfig, *, live: bool):
        self.say = say
        self.total = total
        self.every = config.progress_every_s
        self.live = live and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None
        self.t0 = time.perf_counter()
        self.last = self.t0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, what: str) -> None:
        self.say(f"extraction: {what}")
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[seqgpt]"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("documents · {task.fields[pages_s]} pages/s · ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task("extracting", total=self.total, pages_s="0.00")

    def update(self, summary: Summary) -> None:
        now = time.perf_counter()
        elapsed = max(now - self.t0, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, completed=summary.documents, pages_s=f"{summary.pages / elapsed:.2f}")
        elif now - self.last >= self.every:
            self.last = now
            of = f"/{self.total}" if self.total else ""
            self.say(
                f"progress: {summary.documents}{of} documents ({summary.rows} rows, "
                f"{sum(summary.quarantined.values())} quarantined), {summary.documents / elapsed:.2f} docs/s, "
                f"{summary.pages / elapsed:.2f} pages/s"
            )


def _consume(ds, summary: Summary, t_start: float, progress: _Progress, report: _Report | None) -> None:
    """Iterate the writer's counts: the only thing the driver holds, one row per part (and
    the review page sections the report budget let through)."""
    stage = Counter()
    quarantined = Counter()
    for s in ds.iter_rows():
        summary.parts += 1
        summary.documents += s["docs"]
        summary.rows += s["rows"]
        summary.records += s["records"] or 0
        summary.pages += s["pages"]
        quarantined.update(json.loads(s["quarantined"] or "{}"))
        for k in ("read", "ocr", "clean", "extract", "write"):
            stage[k] += s[f"t_{k}"]
        summary.untrained = summary.untrained or bool(s["untrained"])
        summary.quarantined = dict(quarantined)
        summary.stage_seconds = {k: round(v, 2) for k, v in stage.items()}
        if report is not None:
            report.add(s["report"])
        progress.update(summary)


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
