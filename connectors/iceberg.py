"""Apache Iceberg tables as a run's output: :class:`IcebergSink` (pyiceberg).

``seqgpt run ... --table-format iceberg --output LOCATION [--catalog URI] [--table NS.NAME]``
writes the data rows into the Iceberg table ``NS.NAME`` at ``LOCATION`` (local or ``s3://``),
the quarantine rows into ``NS.NAME_quarantine`` at ``LOCATION_quarantine`` and each record
type's rows into ``NS.NAME_records_<type>`` at ``LOCATION_records_<type>`` (the protocol:
:mod:`connectors.tables`).

The catalog (``--catalog``):

- default: a SQLite file next to the table, ``LOCATION.catalog.db`` -- pyiceberg's SQL
  catalog, embedded, no server (a local ``LOCATION`` only: an S3 table needs a catalog it
  can reach, e.g. ``--catalog sqlite:////var/lib/seqgpt/catalog.db`` on the driver's disk);
- ``sqlite:///PATH`` or a plain path ending in ``.db``/``.sqlite``: that SQLite file;
- another SQLAlchemy URI (``postgresql+psycopg://...``): a shared SQL catalog;
- ``http(s)://...``: a REST catalog (production: Polaris, Nessie, Unity, Glue's REST endpoint).

``--table`` defaults to ``seqgpt.<last part of LOCATION>``.  S3 access for the table files
comes from the same ``AWS_*`` variables as every other S3 path (``connectors.fs``); the
credentials go to the catalog's FileIO, never into table metadata.

Every table is format version 2 with ``commit.retry.num-retries=0`` (this sink retries
itself, checking the run's lease before each try: pyiceberg's own retry would not) and old
metadata files deleted after commit (the last 100 kept).  Catalogs check a commit's
requirements (the branch's snapshot) rather than the whole metadata, so taking a table's
lease also commits an empty snapshot (``seqgpt.operation=lease``): a commit that another
run's writer prepared before the takeover then fails, and that writer stops at the lease.  A table written here reads with
``pyiceberg`` (``catalog.load_table("seqgpt.contracts").scan().to_arrow()``), DuckDB
(``iceberg_scan('<metadata location>')``, extension from the ``duckdb-extension-iceberg``
package) and every engine that reads Iceberg.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors.sink import SinkError
from connectors.tables import (
    META_BATCH,
    META_OPERATION,
    META_RUN,
    TableRef,
    TableSink,
    Unchanged,
    detect_format,
)

__all__ = ["IcebergSink", "default_catalog"]

_IDENT = re.compile(r"[\w-]+\Z", re.UNICODE)
_TABLE_PROPERTIES = {
    "format-version": "2",
    "commit.retry.num-retries": "0",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
}


def default_catalog(location: str) -> str:
    """The embedded default catalog of a local table: ``sqlite:///<location>.catalog.db``."""
    return f"sqlite:///{location.rstrip('/')}.catalog.db"


class IcebergSink(TableSink):
    """Iceberg tables through a pyiceberg catalog (module docstring)."""

    format = "iceberg"

    def __init__(self, location: str, schema: Any, *, catalog: str | None = None, **options: Any) -> None:
        super().__init__(location, schema, **options)
        if catalog is None and self.folder.is_s3:
            raise SinkError(
                f"an Iceberg table on S3 ({self.base}) needs --catalog: the default SQLite catalog file lives "
                "next to a local table only. Pass --catalog sqlite:////path/on/the/driver/catalog.db or a "
                "REST catalog URI."
            )
        self.catalog_uri = self._catalog_uri(catalog or default_catalog(self.base))
        self._catalog_handle: Any = None

    # -------------------------------------------------------------- naming
    def _table_name(self, table: str | None) -> str:
        if table is None:
            return "seqgpt." + super()._table_name(None)
        parts = str(table).split(".")
        if len(parts) < 2 or not all(_IDENT.match(p) for p in parts):
            raise SinkError(
                f"--table {table!r}: give NAMESPACE.NAME (letters, digits, '_' and '-' in each part), "
                "e.g. warehouse.contracts"
            )
        return str(table)

    @staticmethod
    def _catalog_uri(uri: str) -> str:
        if "://" in uri:
            return uri
        if uri.lower().endswith((".db", ".sqlite", ".sqlite3")):
            return f"sqlite:///{Path(uri).expanduser().resolve()}"
        raise SinkError(
            f"--catalog {uri!r}: give sqlite:///PATH (or a .db file), another SQLAlchemy URI, or a REST "
            "catalog's http(s):// URI"
        )

    def _describe(self, t: TableRef) -> str:
        return f"Iceberg table {t.name} ({t.location})"

    def uri(self) -> str:
        return f"{self.base} (Iceberg table {self.name})"

    def quarantine_uri(self) -> str:
        t = self.table("quarantine")
        return f"{t.location} (Iceberg table {t.name})"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_catalog_handle"] = None  # reconnected on the worker
        return state

    # -------------------------------------------------------------- catalog
    def _io_properties(self) -> dict[str, str]:
        if not self.folder.is_s3:
            return {}
        from connectors.fs import S3Options

        s3 = getattr(self.folder, "_s3", None) or S3Options.from_env()
        props = {"py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO"}
        if s3.endpoint_url:
            props["s3.endpoint"] = s3.endpoint_url
        region = s3.region or ("us-east-1" if s3.endpoint_url else None)
        if region:
            props["s3.region"] = region
        if s3.access_key and s3.secret_key:
            props["s3.access-key-id"] = s3.access_key.reveal()
            props["s3.secret-access-key"] = s3.secret_key.reveal()
            if s3.session_token:
                props["s3.session-token"] = s3.session_token.reveal()
        return props

    @property
    def catalog(self) -> Any:
        """The pyiceberg catalog (connected on first use, in each process).  Opening is tried a
        few times: two runs opening a new SQL catalog at once race on creating its tables and
        the namespace (the loser's error says nothing about the destination)."""
        if self._catalog_handle is None:
            for attempt in range(5):
                try:
                    self._catalog_handle = self._open_catalog()
                    break
                except SinkError:
                    raise
                except Exception as e:
                    if attempt == 4:
                        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                        raise SinkError(
                            f"cannot open the Iceberg catalog {self._safe_catalog()}: {type(e).__name__}: {first}"
                        ) from None
                    time.sleep(0.1 * (attempt + 1))
        return self._catalog_handle

    def _open_catalog(self) -> Any:
        if self.catalog_uri.startswith(("http://", "https://")):
            from pyiceberg.catalog import load_catalog

            cat = load_catalog("seqgpt", type="rest", uri=self.catalog_uri, **self._io_properties())
        else:
            from pyiceberg.catalog.sql import SqlCatalog

            if self.catalog_uri.startswith("sqlite:///"):
                Path(self.catalog_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            cat = SqlCatalog("seqgpt", uri=self.catalog_uri, **self._io_properties())
        cat.create_namespace_if_not_exists(tuple(self.name.split(".")[:-1]))
        return cat

    def _safe_catalog(self) -> str:
        return re.sub(r"//[^/@]*@", "//***@", self.catalog_uri)  # no password of a SQLAlchemy URI

    # -------------------------------------------------------------- primitives
    def _foreign_format(self) -> str | None:
        found = detect_format(self.folder)
        return found if found not in (None, "iceberg") else None

    def _exists(self, t: TableRef) -> bool:
        if not self.catalog.table_exists(t.name):
            from connectors.fs import Folder

            if detect_format(Folder.from_uri(t.location)) == "iceberg":
                for wait in (0.2, 0.5, 1.0):  # another run creating it: metadata first, catalog row next
                    time.sleep(wait)
                    if self.catalog.table_exists(t.name):
                        raise Unchanged()
                raise SinkError(
                    f"{t.location} holds an Iceberg table that the catalog {self._safe_catalog()} does not "
                    f"list as {t.name}: pass the --catalog and --table it was written with, or another --output."
                )
            return False
        handle = self._load(t)
        if handle.location().rstrip("/") != t.location.rstrip("/"):
            raise SinkError(
                f"the catalog {self._safe_catalog()} has {t.name} at {handle.location()}, not at {t.location}: "
                "pass that --output, or another --table."
            )
        return True

    def _load(self, t: TableRef) -> Any:
        try:
            return self.catalog.load_table(t.name)
        except SinkError:
            raise
        except Exception as e:
            if type(e).__name__ == "NoSuchTableError":
                raise
            raise SinkError(f"cannot load {self._describe(t)}: {type(e).__name__}: {e}") from None

    def _properties_of(self, handle: Any) -> dict[str, str]:
        return dict(handle.properties)

    def _arrow_schema_of_handle(self, handle: Any) -> Any:
        return handle.schema().as_arrow()

    def _create(self, t: TableRef, columns: Sequence[Any], properties: Mapping[str, str]) -> None:
        import pyarrow as pa
        from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError

        try:
            with self.catalog.create_table_transaction(
                t.name,
                schema=pa.schema(list(columns)),
                location=t.location,
                properties={**_TABLE_PROPERTIES, **properties},
            ) as tx:
                if self.partition_by == "run_date":
                    with tx.update_spec() as spec:
                        spec.add_identity("run_date")
        except (TableAlreadyExistsError, CommitFailedException):  # another run created it first
            raise Unchanged() from None

    def _evolve(self, t: TableRef, handle: Any, add: Sequence[Any], properties: Mapping[str, str]) -> None:
        import pyarrow as pa
        from pyiceberg.exceptions import CommitFailedException

        try:
            with handle.transaction() as tx:
                if add:
                    with tx.update_schema() as update:
                        update.union_by_name(pa.schema([f.with_nullable(True) for f in add]))
                tx.set_properties({**_TABLE_PROPERTIES, **properties})
                # An empty snapshot marks the lease in the history and moves the branch: this
                # commit then requires the branch as loaded (another run's takeover in between
                # fails it), and a commit another run's writer prepared before it fails its own
                # requirement (the SQL and REST catalogs check requirements, not the whole
                # metadata; a property change alone would not conflict).
                empty = tx.table_metadata.schema().as_arrow().empty_table()
                tx.append(empty, snapshot_properties={META_RUN: self.run_id, META_OPERATION: "lease"})
        except CommitFailedException:
            raise Unchanged() from None

    def _append(self, t: TableRef, handle: Any, rows: Any, key: str, meta: Mapping[str, str]) -> bool:
        from pyiceberg.exceptions import CommitFailedException

        if any(
            s.summary is not None and s.summary[META_BATCH] == key and s.summary[META_RUN] == self.run_id
            for s in handle.metadata.snapshots
        ):
            return False  # this run committed it before (a retried task): nothing twice
        try:
            handle.append(rows, snapshot_properties=dict(meta))
        except CommitFailedException:
            raise Unchanged() from None
        return True

    def _delete(
        self, t: TableRef, handle: Any, keys: Sequence[tuple[str, str]], meta: Mapping[str, str]
    ) -> None:
        from pyiceberg.exceptions import CommitFailedException
        from pyiceberg.expressions import And, EqualTo, In, Or

        by_source: dict[str, list[str]] = {}
        for source, doc_id in keys:
            by_source.setdefault(source, []).append(doc_id)
        terms = [And(EqualTo("source", s), In("doc_id", ids)) for s, ids in by_source.items()]
        where = terms[0] if len(terms) == 1 else Or(*terms)
        try:
            handle.delete(delete_filter=where, snapshot_properties=dict(meta))
        except CommitFailedException:
            raise Unchanged() from None

    def _set_properties(self, t: TableRef, handle: Any, properties: Mapping[str, str]) -> None:
        from pyiceberg.exceptions import CommitFailedException

        try:
            with handle.transaction() as tx:
                tx.set_properties(dict(properties))
        except CommitFailedException:
            raise Unchanged() from None

    def _scan(self, t: TableRef, columns: Sequence[str]) -> Any:
        return self._load(t).scan(selected_fields=tuple(columns)).to_arrow()

    def _count(self, t: TableRef) -> int:
        snap = self._load(t).current_snapshot()
        return int(snap.summary["total-records"] or 0) if snap is not None and snap.summary else 0

    def _compact(self, t: TableRef, handle: Any, min_files: int, meta: Mapping[str, str]) -> tuple[int, int]:
        from pyiceberg.exceptions import CommitFailedException
        from pyiceberg.expressions import AlwaysTrue, EqualTo
        from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files

        if handle.current_snapshot() is None:
            return (0, 0)
        where = (
            EqualTo("run_date", self.run_date.isoformat())
            if self.partition_by == "run_date"
            else AlwaysTrue()
        )
        tasks = list(handle.scan(row_filter=where).plan_files())
        small = [
            task
            for task in tasks
            if not task.delete_files and task.file.file_size_in_bytes < self.small_file_bytes
        ]
        if len(small) < max(2, min_files):
            return (len(tasks), len(tasks))
        small.sort(key=lambda task: task.file.file_size_in_bytes)
        budget, take = self.compact_max_bytes, 0
        while take < len(small) and (take < 2 or budget >= small[take].file.file_size_in_bytes):
            budget -= small[take].file.file_size_in_bytes
            take += 1
        small = small[:take]  # read into memory here: at most compact_max_bytes (Parquet) at once
        rows = ArrowScan(
            table_metadata=handle.metadata,
            io=handle.io,
            projected_schema=handle.schema(),
            row_filter=AlwaysTrue(),
        ).to_table(tasks=small)
        commit_uuid = uuid.uuid4()
        new_files = list(
            _dataframe_to_data_files(
                table_metadata=handle.metadata, df=rows, io=handle.io, write_uuid=commit_uuid
            )
        )
        try:
            with handle.transaction() as tx:
                with tx.update_snapshot(snapshot_properties=dict(meta)).overwrite() as rewrite:
                    rewrite.commit_uuid = commit_uuid
                    for task in small:
                        rewrite.delete_data_file(task.file)
                    for f in new_files:
                        rewrite.append_data_file(f)
        except CommitFailedException:
            for f in new_files:  # never referenced: remove them
                try:
                    handle.io.delete(f.file_path)
                except Exception:
                    pass
            raise Unchanged() from None
        return (len(tasks), len(tasks) - len(small) + len(new_files))

    def _last_commit_s(self, t: TableRef) -> float:
        snap = self._load(t).current_snapshot()
        return snap.timestamp_ms / 1000 if snap is not None else 0.0

    def history(self, t: TableRef) -> list[dict[str, Any]]:
        handle = self._load(t)
        by_id = {s.snapshot_id: s for s in handle.metadata.snapshots}
        out = []
        for entry in handle.history():
            s = by_id.get(entry.snapshot_id)
            if s is None:
                continue
            summary = s.summary
            extra = dict(summary._additional_properties) if summary is not None else {}
            out.append(
                {
                    "snapshot_id": s.snapshot_id,
                    "operation": str(summary.operation.value) if summary is not None else None,
                    "timestamp": s.timestamp_ms,
                    **extra,
                }
            )
        return out

    def data_files(self, t: TableRef) -> int:
        snap = self._load(t).current_snapshot()
        return int(snap.summary["total-data-files"] or 0) if snap is not None and snap.summary else 0

    def metadata_location(self, t: TableRef | None = None) -> str:
        """The current metadata file of a table (what ``duckdb``'s ``iceberg_scan`` reads)."""
        return self._load(t or self.table("data")).metadata_location
