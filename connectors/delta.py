"""Delta Lake tables as a run's output: :class:`DeltaSink` (deltalake, delta-rs; no Spark).

``seqgpt run ... --table-format delta --output LOCATION`` writes the data rows into the
Delta table at ``LOCATION`` (local or ``s3://``), the quarantine rows into
``LOCATION_quarantine`` and each record type's rows into ``LOCATION_records_<type>`` (the
protocol: :mod:`connectors.tables`).

Each batch is one ``write_deltalake(mode="append")`` commit whose commit info carries
``seqgpt.run-id``, ``seqgpt.batch`` (the hash of the batch's record keys), ``seqgpt.rows``
and ``seqgpt.operation``, and whose transaction id ``seqgpt-<run id>-<batch>`` (Delta's
idempotent writes; expired after ``delta.setTransactionRetentionDuration``, 7 days) makes a
repeated commit of the batch by the same run a no-op.  The lease and the field types are table properties
(``seqgpt.lease``, ``seqgpt.fields``, ``seqgpt.manifest``): a lease change is a metadata
change, which fails any commit prepared before it -- the optimistic concurrency the
protocol relies on.  Compaction is ``optimize.compact`` on the run's partition.

On S3 the log is committed with conditional puts (``conditional_put=etag``: AWS S3 and
S3-compatible stores that support ``If-None-Match``), so concurrent writers cannot
overwrite each other's commits without a locking service.  The endpoint and keys come from
the same ``AWS_*`` variables as every other S3 path (``connectors.fs``).

A table written here reads with ``deltalake`` (``DeltaTable(LOCATION).to_pyarrow_table()``),
DuckDB (``delta_scan('LOCATION')``, extension from the ``duckdb-extension-delta`` package),
polars (``pl.read_delta``) and every engine that reads Delta.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.sink import SinkError
from connectors.tables import TableRef, TableSink, Unchanged, detect_format

__all__ = ["DeltaSink"]

# A batch's transaction id only has to outlive its run (a retried task); kept a week, not forever
# (every table snapshot carries the live ones).
_TABLE_PROPERTIES = {"delta.setTransactionRetentionDuration": "interval 7 days"}


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class DeltaSink(TableSink):
    """Delta tables through delta-rs (module docstring)."""

    format = "delta"

    def __init__(self, location: str, schema: Any, *, catalog: str | None = None, **options: Any) -> None:
        if catalog:
            raise SinkError(
                "--catalog is for Iceberg tables; a Delta table is found by its --output location"
            )
        super().__init__(location, schema, **options)

    def _describe(self, t: TableRef) -> str:
        return f"Delta table {t.location}"

    # -------------------------------------------------------------- storage
    def _storage_options(self) -> dict[str, str] | None:
        if not self.folder.is_s3:
            return None
        from connectors.fs import S3Options

        s3 = getattr(self.folder, "_s3", None) or S3Options.from_env()
        opts = {"conditional_put": "etag"}
        if s3.endpoint_url:
            opts["AWS_ENDPOINT_URL"] = s3.endpoint_url
            if s3.endpoint_url.startswith("http://"):
                opts["AWS_ALLOW_HTTP"] = "true"
        region = s3.region or ("us-east-1" if s3.endpoint_url else None)
        if region:
            opts["AWS_REGION"] = region
        if s3.access_key and s3.secret_key:
            opts["AWS_ACCESS_KEY_ID"] = s3.access_key.reveal()
            opts["AWS_SECRET_ACCESS_KEY"] = s3.secret_key.reveal()
            if s3.session_token:
                opts["AWS_SESSION_TOKEN"] = s3.session_token.reveal()
        return opts

    def _error(self, t: TableRef, e: Exception) -> SinkError:
        text = str(e)
        for secret in self.folder._s3.secrets() if getattr(self.folder, "_s3", None) else ():
            text = text.replace(secret, "***")
        return SinkError(f"{self._describe(t)}: {type(e).__name__}: {text}")

    # -------------------------------------------------------------- primitives
    def _foreign_format(self) -> str | None:
        found = detect_format(self.folder)
        return found if found not in (None, "delta") else None

    def _exists(self, t: TableRef) -> bool:
        from deltalake import DeltaTable

        if DeltaTable.is_deltatable(t.location, storage_options=self._storage_options()):
            return True
        from connectors.fs import Folder

        other = detect_format(Folder.from_uri(t.location))
        if other == "delta":  # a _delta_log/ without a commit yet: another run is creating it
            raise Unchanged()
        if other and t.kind != "data":
            raise SinkError(f"{t.location} holds {other} data, not a Delta table; choose another --output.")
        return False

    def _load(self, t: TableRef) -> Any:
        from deltalake import DeltaTable

        try:
            return DeltaTable(t.location, storage_options=self._storage_options())
        except Exception as e:
            raise self._error(t, e) from None

    def _properties_of(self, handle: Any) -> dict[str, str]:
        return dict(handle.metadata().configuration or {})

    def _arrow_schema_of_handle(self, handle: Any) -> Any:
        import pyarrow as pa

        return pa.schema(handle.schema().to_arrow())

    def _create(self, t: TableRef, columns: Sequence[Any], properties: Mapping[str, str]) -> None:
        """``mode="error"`` and no commit retry: delta-rs would otherwise commit a second
        CREATE TABLE on top of a table another run created a moment before (replacing its
        lease); losing that race is :class:`Unchanged`."""
        import pyarrow as pa
        from deltalake import CommitProperties, DeltaTable
        from deltalake.exceptions import CommitFailedError

        try:
            DeltaTable.create(
                t.location,
                pa.schema(list(columns)),
                mode="error",
                partition_by=["run_date"] if self.partition_by == "run_date" else None,
                name=t.name,
                configuration={**_TABLE_PROPERTIES, **properties},
                storage_options=self._storage_options(),
                raise_if_key_not_exists=False,
                commit_properties=CommitProperties(max_commit_retries=0),
            )
        except CommitFailedError:
            raise Unchanged() from None
        except Exception as e:
            if "already exists" in str(e).lower():
                raise Unchanged() from None
            raise self._error(t, e) from None

    def _evolve(self, t: TableRef, handle: Any, add: Sequence[Any], properties: Mapping[str, str]) -> None:
        """Two commits: the properties (the lease) first, so a run refused at the lease adds
        no columns, then the new columns (a rerun after a kill in between adds them).  Neither
        is retried by delta-rs: a lost race is :class:`Unchanged` and the check looks again."""
        import pyarrow as pa
        from deltalake import CommitProperties
        from deltalake import Schema as DeltaSchema
        from deltalake.exceptions import CommitFailedError

        once = CommitProperties(max_commit_retries=0)
        try:
            handle.alter.set_table_properties(
                {**_TABLE_PROPERTIES, **properties}, raise_if_not_exists=False, commit_properties=once
            )
            if add:
                fields = DeltaSchema.from_arrow(pa.schema([f.with_nullable(True) for f in add])).fields
                handle.alter.add_columns(list(fields), commit_properties=once)
        except CommitFailedError:
            raise Unchanged() from None

    def _append(self, t: TableRef, handle: Any, rows: Any, key: str, meta: Mapping[str, str]) -> bool:
        from deltalake import CommitProperties, Transaction, write_deltalake
        from deltalake.exceptions import CommitFailedError

        app_id = f"seqgpt-{self.run_id}-{key}"
        if handle.transaction_version(app_id) is not None:
            return False  # this run committed it before (a retried task): nothing twice
        try:
            write_deltalake(
                handle,
                rows,
                mode="append",
                commit_properties=CommitProperties(
                    custom_metadata=dict(meta),
                    app_transactions=[
                        Transaction(app_id=app_id, version=1, last_updated=int(time.time() * 1000))
                    ],
                ),
            )
        except CommitFailedError:
            raise Unchanged() from None
        return True

    def _delete(
        self, t: TableRef, handle: Any, keys: Sequence[tuple[str, str]], meta: Mapping[str, str]
    ) -> None:
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError

        by_source: dict[str, list[str]] = {}
        for source, doc_id in keys:
            by_source.setdefault(source, []).append(doc_id)
        where = " OR ".join(
            f"(source = {_quote(s)} AND doc_id IN ({', '.join(_quote(i) for i in ids)}))"
            for s, ids in by_source.items()
        )
        try:
            handle.delete(where, commit_properties=CommitProperties(custom_metadata=dict(meta)))
        except CommitFailedError:
            raise Unchanged() from None

    def _set_properties(self, t: TableRef, handle: Any, properties: Mapping[str, str]) -> None:
        from deltalake.exceptions import CommitFailedError

        try:
            handle.alter.set_table_properties(dict(properties), raise_if_not_exists=False)
        except CommitFailedError:
            raise Unchanged() from None

    def _scan(self, t: TableRef, columns: Sequence[str]) -> Any:
        return self._load(t).to_pyarrow_table(columns=list(columns))

    def _count(self, t: TableRef) -> int:
        return self._load(t).to_pyarrow_table(columns=["doc_id"]).num_rows

    def _files(self, handle: Any) -> Any:
        import pyarrow as pa

        return pa.table(handle.get_add_actions(flatten=True))

    def _compact(self, t: TableRef, handle: Any, min_files: int, meta: Mapping[str, str]) -> tuple[int, int]:
        import pyarrow.compute as pc
        from deltalake import CommitProperties
        from deltalake.exceptions import CommitFailedError

        files = self._files(handle)
        if self.partition_by == "run_date" and files.num_rows:
            files = files.filter(pc.equal(files.column("partition.run_date"), self.run_date))
        before = files.num_rows
        small = (
            sum(1 for size in files.column("size_bytes").to_pylist() if size < self.small_file_bytes)
            if before
            else 0
        )
        if small < max(2, min_files):
            return (before, before)
        filters = [("run_date", "=", self.run_date.isoformat())] if self.partition_by == "run_date" else None
        try:
            metrics = handle.optimize.compact(
                partition_filters=filters, commit_properties=CommitProperties(custom_metadata=dict(meta))
            )
        except CommitFailedError:
            raise Unchanged() from None
        return (
            before,
            before - int(metrics.get("numFilesRemoved", 0)) + int(metrics.get("numFilesAdded", 0)),
        )

    def _last_commit_s(self, t: TableRef) -> float:
        last = self._load(t).history(1)
        return float(last[0]["timestamp"]) / 1000 if last else 0.0

    def history(self, t: TableRef) -> list[dict[str, Any]]:
        return [
            {**c, "operation": c.get("operation"), "timestamp": c.get("timestamp")}
            for c in reversed(self._load(t).history())
        ]

    def data_files(self, t: TableRef) -> int:
        return len(self._load(t).file_uris())
