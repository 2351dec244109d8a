"""One sink interface for a run's output: check the destination, read what is done, commit a
batch, finish.

A *sink* is where one run's rows go: a folder of Parquet files (:class:`connectors.parquet.ParquetSink`,
the default), an Apache Iceberg table (:class:`connectors.iceberg.IcebergSink`) or a Delta
Lake table (:class:`connectors.delta.DeltaSink`).  The pipeline (``pipelines.run``) drives
every sink through the same five calls, in the style of datatrove's ``DiskWriter`` and
Ray Data's datasinks (the per-format work lives in the subclass, the protocol here)::

    sink = open_sink("delta", "s3://warehouse/contracts", schema, model=..., run_id=..., manifest=...)
    sink.check()                   # driver: the destination against the run's schema (refuses a
                                   #   changed field type, another format, a second live run)
    done = sink.done()             # driver: startup recovery, then the keys already committed
    sink.commit(Batch(key, data, records, quarantine))   # writers (Ray tasks): one batch
    sink.maintain()                # driver, every ``maintain_every`` committed batches (compaction)
    sink.finish()                  # driver: tidy up (temporary files, compaction, the run's lease)

The sink is built on the driver and pickled to the writer tasks; it opens its connections
(filesystems, catalogs, table handles) lazily, so pickling never carries them.  It also
owns the run's :class:`connectors.parquet.OutputAdapter` (:attr:`Sink.adapter`): the table
schemas it writes, so the row shape and the destination can never disagree.

A batch is committed in a fixed order -- quarantine rows, then record rows, then the data
rows -- through :meth:`Sink.commit_quarantine`, :meth:`Sink.commit_records` and
:meth:`Sink.commit_data` (the seams the fault-injection tests use).  What that order buys is
format-specific: in the Parquet folder the data part is the batch's commit marker; in the
table formats every table commit is a transaction of its own, idempotent per batch key, and
record rows whose document has no data row (a crash between the commits) are deleted by the
next run's :meth:`Sink.done`.

The done set (:class:`Done`) holds raw key columns; ``pipelines.stages.record_key`` turns
them into record keys, so the exactly-once unit stays defined in one place.

Only standard-library imports at module level: ``pyarrow`` and the table libraries are
imported by the implementations, lazily (``seqgpt --help`` imports nothing heavy).
"""

from __future__ import annotations

import errno
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.records import ConnectorError

if TYPE_CHECKING:
    import pyarrow as pa

    from connectors.parquet import OutputAdapter

__all__ = [
    "FORMATS",
    "Batch",
    "ConcurrentRunError",
    "Done",
    "SchemaChangeError",
    "Sink",
    "SinkError",
    "manifest_differences",
    "open_sink",
    "with_retries",
]

log = logging.getLogger("seqgpt.pipeline")

#: The table formats ``seqgpt run --table-format`` takes, and the module of each sink.
FORMATS: dict[str, str] = {
    "parquet": "connectors.parquet:ParquetSink",
    "iceberg": "connectors.iceberg:IcebergSink",
    "delta": "connectors.delta:DeltaSink",
}
PARTITIONS = ("run_date", "none")  # how the table formats partition their tables


class SinkError(ConnectorError):
    """The destination cannot take this run's rows (another format, another schema ...)."""


class SchemaChangeError(SinkError):
    """A field's type changed between the table and this run (a column cannot change type)."""


class ConcurrentRunError(SinkError):
    """Another run is writing into the same table."""


# ---------------------------------------------------------------------- data
@dataclass
class Batch:
    """One batch's tables, committed together; ``key`` is the hash of its record keys
    (``pipelines.stages.part_key``), the same for a retried task."""

    key: str
    data: pa.Table
    records: dict[str, pa.Table]
    quarantine: pa.Table


@dataclass
class Done:
    """What a destination already holds: ``documents`` -- ``(source, doc_id)`` of every
    committed data row; ``verdicts`` -- ``(source, doc_id, stage, reason, detail)`` of every
    committed quarantine row; ``recovered`` -- what startup recovery removed, by kind."""

    documents: list[tuple[str, str]] = field(default_factory=list)
    verdicts: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    recovered: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------- retries
# Storage errors that waiting does not cure: a full or read-only disk, a quota, a refusal.
_PERMANENT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
_PERMANENT_WORDS = (
    "no space left on device",
    "read-only file system",
    "disk quota exceeded",
    "permission denied",
    "file name too long",
    "access denied",
)


def permanent_storage_error(e: BaseException) -> bool:
    """True for a storage error that a retry cannot cure (not found, a full or read-only
    disk, a quota, no permission) and for a :class:`SinkError` (a verdict on the
    destination, not an outage): the job stops at once, saying so, instead of retrying."""
    if isinstance(e, (FileNotFoundError, SinkError)) or "not found" in str(e):
        return True
    if isinstance(e, OSError) and e.errno in _PERMANENT_ERRNOS:
        return True
    text = str(e).lower()  # ConnectorError and Arrow errors carry the OS message as text
    return any(w in text for w in _PERMANENT_WORDS)


def with_retries(fn: Callable[[], Any], what: str, attempts: int = 8, base: float = 0.5, cap: float = 10.0):
    """Call ``fn``; on a storage error retry with exponential backoff and jitter.

    Storage errors are ``ConnectorError`` (what ``connectors.fs`` raises), ``OSError`` and
    Arrow I/O errors.  Errors no wait can cure are raised at once
    (:func:`permanent_storage_error`: ``not found``, no space left, a read-only file system,
    a quota, no permission, a :class:`SinkError`).  The last error is raised after
    ``attempts`` tries (~40 s with the defaults).
    """
    import pyarrow as pa

    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (ConnectorError, OSError, pa.ArrowException) as e:
            if permanent_storage_error(e) or attempt == attempts:
                raise
            delay = min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            log.warning("%s failed (%s); retry %d/%d in %.1f s", what, e, attempt, attempts - 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------------- manifests
def _short(value: Any) -> str:
    if value is None:
        return "(not set)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def manifest_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between the manifest a destination was written with (``old``) and this
    run's, in words: fields only on one side, changed field settings (type, hint, threshold
    ...), field order, rules, record types, summary, model and ``keep_text``.  Descriptions
    and the schema's name are documentation: they never count."""

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


# ---------------------------------------------------------------------- the interface
class Sink:
    """The base of every sink (module docstring).  Subclasses set :attr:`format`, implement
    :meth:`check`, :meth:`done`, the three ``commit_*`` steps and :meth:`finish`, and may
    override :meth:`maintain`, :meth:`committed` and :meth:`adapter_options`.

    ``location``: the destination (a folder, or the main table's location; local or
    ``s3://``); ``schema``: the run's ``extractor.schema.Schema``; ``model``, ``run_id``,
    ``keep_text``: what every row records; ``manifest``: the run's manifest
    (``pipelines.config.RunConfig.manifest``: schema, model, ``keep_text``, run id).
    """

    format: ClassVar[str] = ""
    #: the driver calls :meth:`maintain` after this many committed batches (0: never)
    maintain_every: ClassVar[int] = 0
    #: what one commit is called in the run's summary
    unit: ClassVar[str] = "parts"

    def __init__(
        self,
        location: str,
        schema: Any,
        *,
        model: str = "",
        run_id: str = "",
        keep_text: bool = False,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        self.location = str(location)
        self.schema = schema
        self.model = model
        self.run_id = run_id
        self.keep_text = keep_text
        self.manifest = dict(manifest or {})
        self._adapter: OutputAdapter | None = None

    # -------------------------------------------------------------- the rows
    @property
    def adapter(self) -> OutputAdapter:
        """The run's :class:`~connectors.parquet.OutputAdapter`, with this sink's table schemas."""
        if self._adapter is None:
            from connectors.parquet import OutputAdapter

            self._adapter = OutputAdapter(
                self.schema,
                model=self.model,
                run_id=self.run_id,
                keep_text=self.keep_text,
                **self.adapter_options(),
            )
        return self._adapter

    def adapter_options(self) -> dict[str, Any]:
        """Extra :class:`~connectors.parquet.OutputAdapter` options of this format."""
        return {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_adapter"] = None  # rebuilt where it is used
        return state

    # -------------------------------------------------------------- the protocol
    def check(self) -> None:
        """Refuse a destination this run cannot write into (raise :class:`SinkError`)."""
        raise NotImplementedError

    def done(self) -> Done:
        """Startup recovery, then the keys of everything committed (:class:`Done`)."""
        raise NotImplementedError

    def commit(self, batch: Batch) -> None:
        """Commit one batch, in order: quarantine, records, data.  Idempotent: a batch
        committed again (a retried task) leaves the destination as it was."""
        self.commit_quarantine(batch)
        self.commit_records(batch)
        self.commit_data(batch)

    def commit_quarantine(self, batch: Batch) -> None:
        raise NotImplementedError

    def commit_records(self, batch: Batch) -> None:
        raise NotImplementedError

    def commit_data(self, batch: Batch) -> None:
        raise NotImplementedError

    def maintain(self) -> None:
        """Work the driver does now and then while the run goes (compaction); nothing here."""

    def finish(self, *, clean: bool = True) -> None:
        """After the run (``clean=False`` after a failure, when a writer may still be busy)."""
        raise NotImplementedError

    # -------------------------------------------------------------- descriptions
    def uri(self) -> str:
        """The destination as the summary shows it."""
        return self.location

    def quarantine_uri(self) -> str:
        """Where the quarantine rows are."""
        raise NotImplementedError

    def locations(self) -> list[str]:
        """Every folder the sink writes (a run never reads them as input)."""
        return [self.uri()]

    def has_quarantine(self) -> bool:
        """Whether the destination holds quarantine rows (of this run or earlier ones)."""
        raise NotImplementedError

    def committed(self) -> int:
        """Batches committed in the destination so far (all runs); -1 when unknown."""
        return -1

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri()!r})"


def open_sink(table_format: str, location: str, schema: Any, **options: Any) -> Sink:
    """The sink of ``table_format`` (a key of :data:`FORMATS`) at ``location``; ``options``
    go to its constructor (:class:`Sink`'s, plus the format's own: ``catalog``, ``table``,
    ``partition_by`` for the table formats)."""
    target = FORMATS.get(str(table_format).lower())
    if target is None:
        raise SinkError(f"unknown table format {table_format!r} (choose one of {', '.join(FORMATS)})")
    module, name = target.split(":")
    return getattr(import_module(module), name)(location, schema, **options)
