"""What the table formats share (Iceberg, Delta): :class:`TableSink`.

A run writes three kinds of tables, each a table of its own in the format::

    <table>                    the data rows (OutputAdapter.data_schema)
    <table>_quarantine         the quarantine rows
    <table>_records_<type>     the record rows of one record type

at ``<location>``, ``<location>_quarantine`` and ``<location>_records_<type>`` (for
Iceberg also named ``NAMESPACE.NAME``, ``NAMESPACE.NAME_quarantine`` ... in the catalog).
Their rows carry ``run_date`` (the run's start date, UTC: the partition column unless
``partition_by="none"``) and, for every date field, ``<f>_date`` (a ``date``).

Exactly once
------------
- **Every commit is a table transaction** with the run id (``seqgpt.run-id``) and the batch
  key -- the hash of the batch's record keys, ``seqgpt.batch`` -- in its snapshot summary
  (Iceberg) or commit info (Delta), so the table's history shows which run committed what.
- **Idempotent per batch key:** before committing, the sink looks the run's key up in the
  table (Iceberg: the snapshots' summaries, run id and batch key; Delta: the transaction id
  ``seqgpt-<run id>-<key>``, Delta's own idempotent-write mechanism), so a batch committed
  again by the same run (a retried Ray task, a lost response) commits nothing.  Across runs
  the done set keeps a document from being redone; a later run may commit a batch of the same
  key (the same documents, redone after recovery deleted their orphan record rows).
- **Order and recovery:** a batch commits its quarantine rows, then its record rows, then its
  data rows.  A quarantine row is a document's verdict on its own, so it counts as done once
  committed; a record row is valid only beside its document's data row, so :meth:`done`
  deletes record rows whose document has no data row (a kill between the commits) before
  reading the done set.  The rerun then redoes those documents in full.
- **One run per table at a time (a lease):** :meth:`check` writes the run's lease (run id,
  a token, host, pid) into every table's properties, in a commit made against the table as
  it was when the lease was read (another run taking it in between fails that commit, and
  the check looks again), and every later commit first checks that the lease is still this
  run's -- under the format's optimistic concurrency (Delta fails a commit whose table
  metadata changed meanwhile; for Iceberg the takeover also commits an empty snapshot, which
  fails any commit prepared against the branch before it), so a writer of a run that lost
  the lease -- a worker of a killed driver finishing its task -- cannot commit after the
  takeover.  A second run is refused (:class:`~connectors.sink.ConcurrentRunError`) while
  the holder is alive: on the same host while its process exists (the same process: pid
  and start time, so a reused pid does not count), on another host until
  the table has seen no commit for :data:`STALE_AFTER_S`.  Of two runs starting at once,
  exactly one gets the lease.  A killed run's lease is taken over by the rerun.
  :meth:`finish` releases it.

Schema evolution
----------------
The tables record every field they have columns for and its type (``seqgpt.fields``, a
table property) and the last run's manifest (``seqgpt.manifest``).  A run whose schema adds a
field adds its columns (older rows read null); a field the run lacks keeps its columns (its
rows write null); a field whose type changed -- or any column whose Arrow type would change --
is refused with :class:`~connectors.sink.SchemaChangeError` naming the field.  The model and
``keep_text`` may change between runs (every row records its model; ``text`` is a column
like the others): a table collects night after night of runs, and the done set keeps a
document from being extracted twice.

Compaction
----------
Each batch is one small file per table.  The driver compacts the run's partition every
:attr:`TableSink.maintain_every` committed batches and at :meth:`finish` (Delta:
``optimize.compact``; Iceberg: the partition's small files rewritten into one, an overwrite
snapshot marked ``seqgpt.operation=compaction``), so a night of small batches leaves a few
files per partition, not thousands.

A format implements the small table primitives at the end of :class:`TableSink` (create,
evolve, append, delete, scan, compact, history); everything above them lives here.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.sink import (
    PARTITIONS,
    Batch,
    ConcurrentRunError,
    Done,
    SchemaChangeError,
    Sink,
    SinkError,
    with_retries,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "PARTITIONS",
    "STALE_AFTER_S",
    "TableRef",
    "TableSink",
    "Unchanged",
    "detect_format",
    "plain_type",
    "process_start",
]

STALE_AFTER_S = 1800.0  # a lease of a run on another host whose table saw no commit for this long is stale
LEASE = "seqgpt.lease"
FIELDS = "seqgpt.fields"
MANIFEST = "seqgpt.manifest"
META_RUN = "seqgpt.run-id"
META_BATCH = "seqgpt.batch"
META_ROWS = "seqgpt.rows"
META_OPERATION = "seqgpt.operation"  # commit | recovery | compaction
_NAME = re.compile(r"[^\w]+", re.UNICODE)
log = logging.getLogger("seqgpt.pipeline")


class Unchanged(Exception):
    """Raised by a format's commit primitive when the commit lost a race (optimistic
    concurrency): the caller reloads, checks the lease again and retries."""


@dataclass(frozen=True)
class TableRef:
    """One of a run's tables: ``kind`` (``data``, ``quarantine``, ``records``), ``name``
    (``<table>``, ``<table>_quarantine``, ``<table>_records_<type>``), ``location`` and, for
    records, ``record_type``."""

    kind: str
    name: str
    location: str
    record_type: str | None = None


def plain_type(t: pa.DataType) -> pa.DataType:
    """``t`` as the table formats store it: large and view strings as strings, lists with
    their value type only (no field names), timestamps in UTC as ``UTC``."""
    import pyarrow as pa

    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(plain_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct(
            [pa.field(t.field(i).name, plain_type(t.field(i).type)) for i in range(t.num_fields)]
        )
    if pa.types.is_timestamp(t):
        tz = "UTC" if t.tz in ("UTC", "+00:00", "Etc/UTC", "utc") else t.tz
        return pa.timestamp("us", tz=tz)
    return t


def detect_format(folder: Any) -> str | None:
    """What a location holds: ``delta`` (``_delta_log/``), ``iceberg`` (``metadata/*.metadata.json``),
    ``parquet`` (``part-*.parquet`` files) or None (nothing, or nothing of ours)."""
    from connectors.parquet import foreign_format

    if not folder.exists():
        return None
    found = foreign_format(folder)
    if found:
        return found
    return "parquet" if folder.list("part-*.parquet", recursive=False) else None


def process_start(pid: int) -> str | None:
    """Which incarnation of process ``pid`` this is -- the boot id and the process's start
    time (``/proc``) -- or None where ``/proc`` does not tell.  A pid alone is reused: a
    killed driver's pid may belong to an unrelated process (or to the rerun itself, in a
    restarted container) by the time the rerun looks."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        start = stat[stat.rindex(b")") + 2 :].split()[19].decode()  # field 22, starttime
    except (OSError, ValueError, IndexError):
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    return f"{boot}:{start}"


def _pid_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` exists -- and, when the lease recorded its ``started``
    (:func:`process_start`), is still that same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started:
        now = process_start(pid)
        return now is None or now == started
    return True


class TableSink(Sink):
    """The protocol of the table formats (module docstring).  Subclasses implement the
    primitives below ``# -- primitives`` for one format.

    ``location``: the data table's location (local or ``s3://``); ``partition_by``:
    ``run_date`` (default) or ``none``; ``run_date``: the partition value of this run's rows
    (default: today, UTC); ``table``: the table's name (default: the location's last part).
    """

    unit = "commits"
    maintain_every: ClassVar[int] = 64
    #: a partition compacts once it holds this many files smaller than ``small_file_bytes``
    compact_min_files: ClassVar[int] = 8
    small_file_bytes: ClassVar[int] = 32 * 1024 * 1024
    #: one Iceberg compaction rewrites at most this many bytes of files (it reads them into memory)
    compact_max_bytes: ClassVar[int] = 256 * 1024 * 1024
    commit_attempts: ClassVar[int] = 40
    #: tries of a compaction while the run's writers commit (:meth:`maintain`)
    maintain_attempts: ClassVar[int] = 3

    def __init__(
        self,
        location: str,
        schema: Any,
        *,
        table: str | None = None,
        partition_by: str = "run_date",
        run_date: _dt.date | None = None,
        **options: Any,
    ) -> None:
        from connectors.fs import Folder

        super().__init__(location, schema, **options)
        if partition_by not in PARTITIONS:
            raise SinkError(
                f"unknown --partition-by {partition_by!r} (choose one of {', '.join(PARTITIONS)})"
            )
        self.partition_by = partition_by
        self.run_date = run_date or _dt.datetime.now(_dt.timezone.utc).date()
        self.folder = Folder.from_uri(self.location)
        self.base = self.folder.uri().rstrip("/")
        self.name = self._table_name(table)
        self.tables = self._refs()
        self.lease = {
            "run_id": self.run_id,
            "token": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": process_start(os.getpid()),
            "at": round(time.time(), 3),
        }

    # -------------------------------------------------------------- layout
    def _table_name(self, table: str | None) -> str:
        """The data table's name (Iceberg overrides it with NAMESPACE.NAME)."""
        return table or (_NAME.sub("_", self.base.rsplit("/", 1)[-1]).strip("_") or "seqgpt")

    def _refs(self) -> list[TableRef]:
        refs = [TableRef("quarantine", f"{self.name}_quarantine", f"{self.base}_quarantine")]
        for rt in getattr(self.schema, "records", ()):
            refs.append(
                TableRef(
                    "records", f"{self.name}_records_{rt.name}", f"{self.base}_records_{rt.name}", rt.name
                )
            )
        refs.append(TableRef("data", self.name, self.base))
        return refs

    def table(self, kind: str, record_type: str | None = None) -> TableRef:
        """The :class:`TableRef` of a kind (and record type)."""
        for t in self.tables:
            if t.kind == kind and t.record_type == record_type:
                return t
        raise KeyError((kind, record_type))

    def adapter_options(self) -> dict[str, Any]:
        return {"dates": True, "run_date": self.run_date}

    def uri(self) -> str:
        return self.base

    def quarantine_uri(self) -> str:
        return self.table("quarantine").location

    def locations(self) -> list[str]:
        return [t.location for t in self.tables]

    def _arrow_schema_of(self, t: TableRef) -> pa.Schema:
        adapter = self.adapter
        if t.kind == "data":
            return adapter.data_schema.remove_metadata()
        if t.kind == "quarantine":
            return adapter.quarantine_schema
        return adapter.record_schemas[t.record_type]

    def _fields_of(self, t: TableRef) -> dict[str, str]:
        """``{field: type}`` of the run's schema that ``t`` has columns for."""
        if t.kind == "data":
            fields = {f.name: f.type for f in self.schema.extraction_fields}
            fields.update({c.name: "class" for c in self.schema.classification_fields})
            return fields
        if t.kind == "records":
            rt = next(r for r in self.schema.records if r.name == t.record_type)
            return {f.name: f.type for f in self.schema.record_fields(rt)}
        return {}

    def _meta(self, key: str, rows: int, operation: str = "commit") -> dict[str, str]:
        return {META_RUN: self.run_id, META_BATCH: key, META_ROWS: str(rows), META_OPERATION: operation}

    # -------------------------------------------------------------- lease
    def _lease_of(self, properties: Mapping[str, str]) -> dict[str, Any] | None:
        raw = properties.get(LEASE)
        try:
            lease = json.loads(raw) if raw else None
        except ValueError:
            return None
        return lease if isinstance(lease, dict) and not lease.get("released") else None

    def _check_lease(self, t: TableRef, properties: Mapping[str, str]) -> None:
        """Raise :class:`ConcurrentRunError` unless ``t``'s lease is this run's."""
        lease = self._lease_of(properties)
        if lease is None or lease.get("token") != self.lease["token"]:
            other = (
                f"run {lease.get('run_id')} (pid {lease.get('pid')} on {lease.get('host')})"
                if lease
                else "none"
            )
            raise ConcurrentRunError(
                f"{self._describe(t)}: this run ({self.run_id}) no longer holds the table's lease (holder: "
                f"{other}); another run took the table over, so this one stops here. Its committed batches "
                "stay; run the same command again once the other run is done to finish what is missing."
            )

    def _live_holder(self, t: TableRef, properties: Mapping[str, str]) -> dict[str, Any] | None:
        """The lease's holder when it is another run that may still be writing."""
        lease = self._lease_of(properties)
        if lease is None or lease.get("token") == self.lease["token"]:
            return None
        if lease.get("host") == self.lease["host"]:
            pid = int(lease.get("pid") or 0)
            return lease if pid > 0 and _pid_alive(pid, lease.get("started")) else None
        last = max(float(lease.get("at") or 0), self._last_commit_s(t))
        return lease if time.time() - last < STALE_AFTER_S else None

    # -------------------------------------------------------------- check
    def check(self) -> None:
        other = with_retries(self._foreign_format, f"checking {self.base}")
        if other:
            what = {
                "parquet": "a folder of Parquet parts",
                "delta": "a Delta table",
                "iceberg": "an Iceberg table",
            }
            raise SinkError(
                f"{self.base} holds {what.get(other, other)}, not {what[self.format]}: write into it with "
                f"--table-format {other}, or choose another --output."
            )
        for attempt in range(5):
            try:
                self._check_once()
                return
            except Unchanged:  # another run changed a table meanwhile: look again
                time.sleep(0.2 * (attempt + 1))
        raise ConcurrentRunError(
            f"{self.base}: the tables kept changing while this run checked them (another run starting "
            "at the same time?); try again"
        )

    def _check_once(self) -> None:
        plans: list[tuple[TableRef, bool, list[pa.Field], dict[str, str], str | None]] = []
        for t in self.tables:
            exists = with_retries(lambda t=t: self._exists(t), f"opening {self._describe(t)}")
            wanted = self._arrow_schema_of(t)
            fields = self._fields_of(t)
            if not exists:
                plans.append((t, False, list(wanted), self._properties_for(t, {}, fields), None))
                continue
            props = with_retries(lambda t=t: self._properties(t), f"reading {self._describe(t)}")
            if FIELDS not in props:
                raise SinkError(
                    f"{self._describe(t)} exists but was not written by seqgpt (it has no {FIELDS} property); "
                    "choose another --output (or --table)."
                )
            holder = self._live_holder(t, props)
            if holder is not None:
                raise ConcurrentRunError(
                    f"another run ({holder.get('run_id')}, pid {holder.get('pid')} on {holder.get('host')}) is "
                    f"writing into {self._describe(t)}; two runs into one table would redo each other's "
                    "documents. Wait for it to finish (a run killed on another machine is taken over once "
                    f"its table has seen no commit for {STALE_AFTER_S / 60:.0f} minutes)."
                )
            have = with_retries(lambda t=t: self._arrow_schema(t), f"reading {self._describe(t)}")
            known = json.loads(props.get(FIELDS) or "{}")
            self._refuse_type_changes(t, known, fields, have, wanted)
            add = [f for f in wanted if f.name not in have.names]
            plans.append((t, True, add, self._properties_for(t, known, fields), props.get(LEASE)))
        for t, exists, columns, props, seen in plans:
            if exists:
                with_retries(
                    lambda t=t, c=columns, p=props, s=seen: self._take(t, c, p, s),
                    f"updating {self._describe(t)}",
                )
            else:
                with_retries(
                    lambda t=t, c=columns, p=props: self._create(t, c, p), f"creating {self._describe(t)}"
                )

    def _take(
        self, t: TableRef, add: Sequence[pa.Field], properties: Mapping[str, str], seen: str | None
    ) -> None:
        """Take an existing table's lease (and add its new columns) in one commit, against the
        table as it was when the plan saw the lease ``seen``: if another run changed the lease
        in between, :class:`Unchanged` (the check looks again); if it does so after this load,
        the format's optimistic concurrency fails this commit (:class:`Unchanged` again)."""
        handle = self._load(t)
        if self._properties_of(handle).get(LEASE) != seen:
            raise Unchanged()
        self._evolve(t, handle, add, properties)

    def _properties_for(
        self, t: TableRef, known: Mapping[str, str], fields: Mapping[str, str]
    ) -> dict[str, str]:
        merged = {**known, **fields}  # a field this run lacks keeps its entry (and its columns)
        return {
            LEASE: json.dumps(self.lease),
            FIELDS: json.dumps(merged, ensure_ascii=False, sort_keys=True),
            MANIFEST: json.dumps(self.manifest, ensure_ascii=False, sort_keys=True, default=str),
        }

    def _refuse_type_changes(
        self,
        t: TableRef,
        known: Mapping[str, str],
        fields: Mapping[str, str],
        have: pa.Schema,
        wanted: pa.Schema,
    ) -> None:
        problems = [
            f"field {name}: {known[name]} in the table, {type_} in this run"
            for name, type_ in fields.items()
            if name in known and known[name] != type_
        ]
        if not problems:
            for col in wanted:
                if col.name in have.names:
                    old, new = plain_type(have.field(col.name).type), plain_type(col.type)
                    if old != new:
                        owner = self._field_of_column(col.name, fields)
                        what = f"field {owner}: column {col.name}" if owner else f"column {col.name}"
                        problems.append(f"{what} is {old} in the table, {new} in this run")
        if problems:
            raise SchemaChangeError(
                f"{self._describe(t)} cannot take this run's rows: a column cannot change its type.\n"
                + "\n".join(f"  - {p}" for p in problems)
                + "\nKeep the field's type, give the field a new name (new columns), or write into a new table."
            )

    @staticmethod
    def _field_of_column(column: str, fields: Mapping[str, str]) -> str | None:
        owners = [f for f in fields if column == f or column.startswith(f + "_")]
        return max(owners, key=len) if owners else None

    # -------------------------------------------------------------- done set
    def done(self) -> Done:
        data = self.table("data")
        docs_t = with_retries(lambda: self._scan(data, ["source", "doc_id"]), "reading done keys")
        documents = list(zip(docs_t.column("source").to_pylist(), docs_t.column("doc_id").to_pylist()))
        have = set(documents)
        stats = {"orphan record rows": 0}
        for t in self.tables:
            if t.kind != "records":
                continue
            rec = with_retries(
                lambda t=t: self._scan(t, ["source", "doc_id"]), f"reading {self._describe(t)}"
            )
            keys = list(zip(rec.column("source").to_pylist(), rec.column("doc_id").to_pylist()))
            orphans = [k for k in keys if k not in have]  # a kill between the records and the data commit
            if orphans:
                meta = self._meta("", len(orphans), "recovery")
                gone = sorted(set(orphans))
                self._guarded(t, lambda h, t=t, o=gone, m=meta: self._delete(t, h, o, m))
                stats["orphan record rows"] += len(orphans)
        cols = ["source", "doc_id", "stage", "reason", "detail"]
        q = with_retries(lambda: self._scan(self.table("quarantine"), cols), "reading done keys")
        verdicts = [
            (source, doc_id, stage, reason, detail or "")
            for source, doc_id, stage, reason, detail in zip(*(q.column(c).to_pylist() for c in cols))
        ]
        return Done(documents=documents, verdicts=verdicts, recovered=stats)

    # -------------------------------------------------------------- commits
    def commit_quarantine(self, batch: Batch) -> None:
        self._commit(self.table("quarantine"), batch.key, batch.quarantine)

    def commit_records(self, batch: Batch) -> None:
        for name, rows in batch.records.items():
            self._commit(self.table("records", name), batch.key, rows)

    def commit_data(self, batch: Batch) -> None:
        self._commit(self.table("data"), batch.key, batch.data)

    def _commit(self, t: TableRef, key: str, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        meta = self._meta(key, rows.num_rows)
        self._guarded(t, lambda handle: self._append(t, handle, self._aligned(t, handle, rows), key, meta))

    def _guarded(self, t: TableRef, commit: Callable[[Any], Any], attempts: int | None = None) -> Any:
        """Run one commit under the lease: load the table, check the lease, commit; when the
        commit lost a race (:class:`Unchanged`), load again and retry (``attempts`` times,
        default :attr:`commit_attempts`)."""
        attempts = attempts or self.commit_attempts
        delay = 0.05
        for _ in range(attempts):
            handle = self._load(t)
            self._check_lease(t, self._properties_of(handle))
            try:
                return commit(handle)
            except Unchanged:
                time.sleep(delay * (0.5 + (uuid.uuid4().int % 1000) / 1000))
                delay = min(delay * 2, 2.0)
        raise SinkError(f"{self._describe(t)}: could not commit after {attempts} tries (too many writers?)")

    def _aligned(self, t: TableRef, handle: Any, rows: pa.Table) -> pa.Table:
        """``rows`` in the table's column order and types; columns the run lacks are nulls."""
        import pyarrow as pa

        target = self._arrow_schema_of_handle(handle)
        arrays, fields = [], []
        for f in target:
            if f.name in rows.column_names:
                col = rows.column(f.name)
                arrays.append(col if col.type == f.type else col.cast(f.type))
            else:
                arrays.append(pa.nulls(rows.num_rows, f.type))
            fields.append(pa.field(f.name, f.type, nullable=f.nullable))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    # -------------------------------------------------------------- maintenance
    def maintain(self) -> None:
        """Compact this run's partition in every table once enough small files gathered
        (:attr:`compact_min_files`).  The run's writers keep committing meanwhile, so a
        compaction may lose its race with them a few times: then it is left for the next
        call or :meth:`finish` (a warning, never the run's failure).  A lost lease is raised."""
        try:
            self._compact_all(self.compact_min_files, attempts=self.maintain_attempts)
        except ConcurrentRunError:
            raise
        except (SinkError, OSError) as e:
            log.warning("compaction of %s left for later: %s", self.base, e)

    def _compact_all(self, min_files: int, attempts: int | None = None) -> dict[str, tuple[int, int]]:
        out = {}
        for t in self.tables:
            if with_retries(lambda t=t: self._exists(t), f"opening {self._describe(t)}"):
                meta = self._meta("", 0, "compaction")
                out[t.name] = self._guarded(
                    t, lambda h, t=t, m=meta: self._compact(t, h, min_files, m), attempts=attempts
                )
        return out

    def finish(self, *, clean: bool = True) -> None:
        """Compact this run's partition (when ``clean``: every partition file of the run's
        date, once there are two or more) and release the lease."""
        if clean:
            self._compact_all(2)
        released = json.dumps({"released": True, "run_id": self.run_id, "at": round(time.time(), 3)})
        for t in self.tables:
            try:
                if not self._exists(t):
                    continue
                self._guarded(t, lambda h, t=t: self._set_properties(t, h, {LEASE: released}))
            except ConcurrentRunError:
                pass  # another run holds it now: not ours to release

    def has_quarantine(self) -> bool:
        t = self.table("quarantine")
        return bool(self._exists(t) and self._count(t))

    def committed(self) -> int:
        try:
            return sum(1 for c in self.history(self.table("data")) if c.get(META_BATCH))
        except Exception:
            return -1

    # -------------------------------------------------------------- primitives
    def _describe(self, t: TableRef) -> str:
        """The table as messages name it."""
        return f"{self.format.capitalize()} table {t.location}"

    def _foreign_format(self) -> str | None:
        """The format (``parquet``, ``delta``, ``iceberg``) of what the data table's location
        holds when it is another format than this sink's, else None."""
        raise NotImplementedError

    def _exists(self, t: TableRef) -> bool:
        raise NotImplementedError

    def _load(self, t: TableRef) -> Any:
        """A fresh handle of the table (reloaded: its latest state)."""
        raise NotImplementedError

    def _properties(self, t: TableRef) -> dict[str, str]:
        return self._properties_of(self._load(t))

    def _properties_of(self, handle: Any) -> dict[str, str]:
        raise NotImplementedError

    def _arrow_schema(self, t: TableRef) -> pa.Schema:
        return self._arrow_schema_of_handle(self._load(t))

    def _arrow_schema_of_handle(self, handle: Any) -> pa.Schema:
        raise NotImplementedError

    def _create(self, t: TableRef, columns: Sequence[pa.Field], properties: Mapping[str, str]) -> None:
        """Create the table (partitioned as :attr:`partition_by` says) with these properties;
        raise :class:`Unchanged` when another writer created it first."""
        raise NotImplementedError

    def _evolve(
        self, t: TableRef, handle: Any, add: Sequence[pa.Field], properties: Mapping[str, str]
    ) -> None:
        """Add columns and set properties in one commit against ``handle`` (the table as
        loaded); :class:`Unchanged` when the table changed since (a lost race)."""
        raise NotImplementedError

    def _append(self, t: TableRef, handle: Any, rows: pa.Table, key: str, meta: Mapping[str, str]) -> bool:
        """Append ``rows`` in one transaction carrying ``meta`` unless this run committed
        batch ``key`` into the table already (then False); :class:`Unchanged` on a lost race.
        Only this run's commits count: a later run may commit a batch of the same key (the
        same documents, redone after recovery deleted their orphan record rows)."""
        raise NotImplementedError

    def _delete(
        self, t: TableRef, handle: Any, keys: Sequence[tuple[str, str]], meta: Mapping[str, str]
    ) -> None:
        """Delete the rows of these ``(source, doc_id)`` in one transaction."""
        raise NotImplementedError

    def _set_properties(self, t: TableRef, handle: Any, properties: Mapping[str, str]) -> None:
        raise NotImplementedError

    def _scan(self, t: TableRef, columns: Sequence[str]) -> pa.Table:
        raise NotImplementedError

    def _count(self, t: TableRef) -> int:
        raise NotImplementedError

    def _compact(self, t: TableRef, handle: Any, min_files: int, meta: Mapping[str, str]) -> tuple[int, int]:
        """Rewrite this run's partition's small files when there are at least ``min_files``;
        returns (files before, files after)."""
        raise NotImplementedError

    def _last_commit_s(self, t: TableRef) -> float:
        """When the table's latest commit happened (epoch seconds; 0 when unknown)."""
        raise NotImplementedError

    def history(self, t: TableRef) -> list[dict[str, Any]]:
        """The table's commits, oldest first: ``operation``, ``timestamp`` (ms) and the
        commit's metadata (``seqgpt.run-id``, ``seqgpt.batch``, ``seqgpt.rows`` ...)."""
        raise NotImplementedError

    def data_files(self, t: TableRef) -> int:
        """How many data files the table's current version reads."""
        raise NotImplementedError
