"""The batch pipeline: documents in a folder or bucket -> one Parquet row per document.

``run_pipeline(config)`` runs one :class:`~pipelines.config.RunConfig` (built once by
``seqgpt run``, a ``jobs/*.py`` script, a test or a benchmark; every stage reads it) on
Ray Data::

    driver: list input (connectors.fs.Folder.scan: each real folder once, links out of the
            input only with follow_links, never the output; dangling links and names that
            are not UTF-8 become quarantine rows, the rest of what is skipped is counted in
            the summary), open the run's sink (RunConfig.sink(), one connectors.sink.Sink):
            check the destination, recover it and read the done set, resolve the config's
            automatic settings (actors, GPUs, threads)
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
                                    of the output row: the sink's OutputAdapter), commit
                                    each batch through the sink (below), return counts
      -> driver: iterate the counts (one progress bar on a terminal, else a progress line
         every few seconds), finish the sink, print the summary; with --html-report write
         the review page

Every row carries either a document or a quarantine verdict; every stage turns an
exception about one document into a quarantine row (stage + reason + detail) and goes on,
so one bad document never fails the job.  Storage errors are not a document's fault: they
are retried with backoff and, if they persist, stop the job (a rerun finishes it); those no
wait cures (a full or read-only disk) stop it at once.

Output layout of the Parquet folder (``output_uri``; ``connectors.parquet.ParquetSink``)::

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connectors.records import escape_unsafe
from extractor.errors import SeqgptError
from pipelines.config import UNTRAINED_NOTE, RunConfig
from pipelines.stages import (
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
REPORT_MAX_DOCS = 200  # documents on a --html-report page
OCR_KINDS = ("pdf", "image", "email")  # files that may hold pages to OCR


class PipelineError(SeqgptError, RuntimeError):
    """The run could not start or stopped early; the message says why and what to do."""

    def __init__(self, message: str, summary: Summary | None = None):
        super().__init__(message)
        self.summary = summary


# ---------------------------------------------------------------------- summary
NOT_READ = {  # the summary's words for connectors.fs.Skipped reasons that are not bad input
    "link_outside": "links out of the input (--follow-links follows them)",
    "link_loop": "links to folders already read",
    "link_inside": "links to folders read under their own path",
    "duplicate_link": "links to files already read",
    "excluded": "the output folder",
    "hidden": "hidden or temporary",
    "not_a_file": "not regular files",
}


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
    not_read: dict[str, int] = field(default_factory=dict)  # paths the listing left out, by reason
    not_read_examples: dict[str, list[str]] = field(default_factory=dict)  # "path: why", a few per reason
    table_format: str = "parquet"
    quarantine_at: str = ""  # where the sink keeps quarantine rows (default: OUTPUT/_quarantine)

    @property
    def quarantine_uri(self) -> str:
        return self.quarantine_at or self.output_uri.rstrip("/") + "/_quarantine"

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
            f"  output         {self.output_uri}  ({self.parts} new "
            + ("parts" if self.table_format == "parquet" else "commits")
            + (f", {self.table_format}" if self.table_format != "parquet" else "")
            + ")",
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
        if self.not_read:
            counts = ", ".join(f"{NOT_READ.get(k, k)}: {v}" for k, v in sorted(self.not_read.items()))
            lines.append(f"  not read       {sum(self.not_read.values())}  ({counts})")
            shown = [
                x
                for k in sorted(self.not_read_examples, key=lambda r: r == "hidden")
                for x in self.not_read_examples[k]
            ]
            lines += [f"                 {escape_unsafe(x)}" for x in shown[:6]]
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
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's processes use 127.0.0.1


def init_ray(num_cpus: int | None = None, *, verbose: bool = True, dashboard: bool = False) -> bool:
    """Connect to the cluster in ``RAY_ADDRESS`` (``ray job submit`` sets it; unchanged), or
    start a local Ray with at least 4 logical CPUs, so an actor pool on a 2-core machine
    cannot starve the read tasks.  A local Ray started here listens on loopback only: its
    GCS, raylet, object manager, workers and agents bind to 127.0.0.1 (Ray's own single-node
    mode, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which it uses on laptops), and its dashboard
    is off unless ``dashboard`` (then on 127.0.0.1:8265).  Without ``verbose`` Ray keeps its
    own logs to itself (its log files still have them; a task's error still stops the run
    with its message), the driver's one C++ warning about actor restarts included.  Returns
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
        with _loopback_only():
            ray.init(
                address="local",
                num_cpus=num_cpus or max(4, os.cpu_count() or 1),
                include_dashboard=dashboard,
                dashboard_host="127.0.0.1",
                runtime_env={"env_vars": {"PYTHONPATH": pythonpath, LOOPBACK_ENV: "0"}},
                **quiet,
            )
    if not verbose:
        _spend_the_actor_restart_warning(ray)
    return True


@contextlib.contextmanager
def _loopback_only():
    """While a local Ray starts: its node address is 127.0.0.1 (Ray binds every port of a
    node to its node address in this mode), for the processes it spawns (the environment
    variable) and for this driver (``ray_constants`` read it when Ray was imported)."""
    from ray._private import ray_constants

    saved_env, saved_flag = os.environ.get(LOOPBACK_ENV), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(LOOPBACK_ENV, None)
        else:
            os.environ[LOOPBACK_ENV] = saved_env


def _spend_the_actor_restart_warning(ray) -> None:
    """Ray's driver prints one C++ ERROR line per process the first time it creates a
    restartable actor with arguments in the object store (``core_worker.cc``: "has
    constructor arguments in the object store and max_restarts > 0", ray-project/ray#53727);
    Ray Data's actor pools always do, so every run printed it.  It is a warning about actor
    restarts that does not apply to our pools (their arguments stay referenced for the whole
    run).  Spend it here, once, on a throwaway actor created while this process's stderr goes
    to /dev/null (its line still reaches the driver's log file), and kill that actor."""

    @ray.remote(num_cpus=0, max_restarts=1)
    class _Throwaway:
        def __init__(self, _arg):
            pass

    arg = ray.put(b"")
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        actor = _Throwaway.remote(arg)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    ray.kill(actor, no_restart=True)


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
def done_set(done) -> dict[str, set[str]]:
    """``{source: {record keys}}`` of a sink's :class:`connectors.sink.Done` (module docstring,
    step 3): data rows are keyed ``(source, id)``, quarantine rows by their verdict."""
    keys: dict[str, set[str]] = {}
    for source, doc_id in done.documents:
        keys.setdefault(source, set()).add(record_key(source, doc_id))
    for source, doc_id, stage, reason, detail in done.verdicts:
        keys.setdefault(source, set()).add(record_key(source, doc_id, stage, reason, detail or ""))
    return keys


def recover_output(sink) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Startup recovery and the done set (module docstring, steps 2-3) of a sink: returns
    ``({source: {record keys}}, {what recovery removed: how many})``."""
    done = sink.done()
    return done_set(done), done.recovered


# ----------------------------------------------------------------------- running
def _scan_input(src, out, sink, config: RunConfig):
    """The input's listing (``connectors.fs.Folder.scan``): links outside the input followed
    only with ``follow_links``, what the sink writes (``sink.locations()``: the output folder,
    a table format's quarantine and record tables) never read as input (a run whose output
    lies inside its input would read its own parts on the rerun), and a run whose output
    *is* its input refused."""
    if src.single_file is not None:
        return src.scan(list(config.pattern) or None, follow_links=config.follow_links)
    if src.is_s3 == out.is_s3 and (
        src.fs_path().rstrip("/") == out.fs_path().rstrip("/")
        or (not src.is_s3 and os.path.realpath(src.fs_path()) == os.path.realpath(out.fs_path()))
    ):
        raise PipelineError(
            f"the output folder {out.uri()} is the input folder: give --output a folder of its own "
            "(the run would read its own parts as input)"
        )
    from connectors.fs import Folder
    from connectors.records import ConnectorError

    exclude = [out.fs_path()] if src.is_s3 == out.is_s3 else []
    for uri in sink.locations():
        try:
            where = Folder.from_uri(uri)
        except ConnectorError:  # not a folder URI (a catalog's table name): nothing to exclude
            continue
        if where.is_s3 == src.is_s3 and where.fs_path() not in exclude:
            exclude.append(where.fs_path())
    return src.scan(list(config.pattern) or None, follow_links=config.follow_links, exclude=exclude)


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
        sink = config.sink()
        summary.input_uri = src.uri()
        summary.output_uri, summary.table_format = sink.uri(), sink.format
        summary.quarantine_at = sink.quarantine_uri()
        listing = with_retries(lambda: _scan_input(src, out, sink, config), f"listing {config.input_uri}")
        sink.check()
        done, summary.recovered = recover_output(sink)
    except ConnectorError as e:
        raise PipelineError(str(e)) from None
    entries = listing.entries
    summary.files = len(entries)
    items, pre_quarantined = [], []
    files_done = 0
    for e in entries:
        source = src.uri(e.path)
        k = kind_of(e.path, config.kind)
        keys = done.get(source, set())
        if (k in SINGLE_KINDS or k is None) and keys:
            summary.skipped += 1
            files_done += 1
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
    for k in listing.skipped:  # what the listing left out: bad inputs are quarantine rows
        if not k.bad:
            summary.not_read[k.reason] = summary.not_read.get(k.reason, 0) + 1
            summary.not_read_examples.setdefault(k.reason, [])
            if len(summary.not_read_examples[k.reason]) < 3:
                summary.not_read_examples[k.reason].append(f"{k.path}: {k.detail}")
            continue
        source = f"{src.uri().rstrip('/')}/{k.path}"  # as escaped: not a path to open
        if done.get(source):
            summary.skipped += 1
            files_done += 1
            continue
        pre_quarantined.append(
            work_row(source, k.path, "unknown", stage="list", reason=k.reason, detail=k.detail)
        )
    records_done = summary.skipped - files_done
    tickets = sum(1 for i in items if i["kind"] == "tickets")
    say(
        f"run {config.run_id}: {len(entries)} files in {summary.input_uri}: {len(items)} to read"
        + (
            f" ({tickets} ticket file{'s' if tickets != 1 else ''}, read again for new records: {records_done} of their records are "
            "already done and will be dropped after parsing)"
            if records_done
            else ""
        )
        + f", {files_done} already done"
        + (f", {len(pre_quarantined)} to quarantine unread" if pre_quarantined else "")
        + (f", {sum(summary.not_read.values())} paths not read (see the summary)" if summary.not_read else "")
        + (f", recovered {summary.recovered}" if any(summary.recovered.values()) else "")
    )
    report = _Report(config.html_report) if config.html_report else None
    if not items and not pre_quarantined:
        summary.completed = True
        summary.seconds = time.perf_counter() - t_start
        _finish(sink, config, summary, report)
        return summary

    # -- the Ray Data pipeline -----------------------------------------------------
    import ray

    # documents to do, when known before parsing (one per PDF or text file; ticket files hold many)
    total = len(items) + len(pre_quarantined) if all(i["kind"] in SINGLE_KINDS for i in items) else None
    parts_before = sink.committed()
    started = init_ray(verbose=config.verbose, dashboard=config.dashboard)
    try:
        with _ray_output(config.verbose), _Progress(say, total, config, live=echo is None) as progress:
            config = config.resolved(float(ray.cluster_resources().get("GPU", 0)))
            progress.start(
                f"{config.actors} extraction actor(s), "
                + (f"{config.gpus_per_actor:g} GPU each" if config.on_gpu else "CPU")
            )
            budget = _report_budget(ray, REPORT_MAX_DOCS) if report else None
            ds = _build_dataset(ray, items, pre_quarantined, src, sink, config, stages, budget)
            _consume(ds, summary, t_start, progress, report, sink)
    except Exception as e:
        summary.seconds = time.perf_counter() - t_start
        if started:  # no worker of ours writes any more: the temporary files can go
            ray.shutdown()
        parts = sink.committed()
        if parts >= 0 and parts_before >= 0:  # also the parts whose counts never reached us
            summary.parts = max(summary.parts, parts - parts_before)
        _finish(sink, config, summary, report, clean=started)
        cause = _root_cause(e)
        what = "committed parts" if sink.format == "parquet" else "committed batches"
        held = (
            f"{sink.uri()} holds {parts} {what} ({summary.parts} of them written by this run)"
            if parts >= 0
            else f"{sink.uri()} holds the {what} so far"
        )
        words = cause.lower()
        if "no space left" in words or "quota exceeded" in words:
            fix = "free space on it, then "
        elif "read-only" in words:
            fix = "make it writable, then "
        else:
            fix = ""
        raise PipelineError(
            f"the run stopped early: {cause}\n{held}; {fix}run the same command again to finish "
            "(committed records are skipped).",
            summary,
        ) from e
    finally:
        if started:
            ray.shutdown()
    summary.completed = True
    summary.seconds = time.perf_counter() - t_start
    _finish(sink, config, summary, report)
    return summary


def _finish(sink, config: RunConfig, summary: Summary, report: _Report | None, *, clean: bool = True) -> None:
    """After the run: the sink's finish (``clean=False`` after a failure, where a worker may
    still be busy: the rerun's recovery tidies up), note whether a quarantine exists, write
    the review page."""
    try:
        sink.finish(clean=clean)
        summary.quarantine_exists = sink.has_quarantine()
    except Exception as e:  # a storage error here loses nothing: say so and go on
        log.warning("could not tidy %s: %s", sink.uri(), e)
    if report is not None:
        report.write(summary, config)


def _build_dataset(ray, items, pre_quarantined, src, sink, config: RunConfig, stages: Stages, report=None):
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
        stages.write(sink, config, report),
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


def _consume(
    ds, summary: Summary, t_start: float, progress: _Progress, report: _Report | None, sink=None
) -> None:
    """Iterate the writer's counts: the only thing the driver holds, one row per part (and
    the review page sections the report budget let through); every ``sink.maintain_every``
    committed batches the driver lets the sink maintain the destination (compaction)."""
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
        if sink is not None and sink.maintain_every and summary.parts % sink.maintain_every == 0:
            sink.maintain()


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


def _default_echo(line: str) -> None:
    log.info(line)
    print(f"[seqgpt] {line}", file=sys.stderr, flush=True)
