"""The Ray Data stages of ``seqgpt run``: read/parse -> clean -> extract -> write.

Each stage is a callable in the style of Ray's LLM batch stages: configuration (and, for
:class:`ExtractStage`, the heavy state -- the loaded model) is set up in ``__init__``; the
per-row or per-batch method is pure and never raises for one bad document: an exception
becomes a *quarantine* row naming the stage and the reason, and the other rows go on.

Rows between stages are plain dicts (Ray Data carries them as Arrow blocks):

``WORK_SCHEMA`` (read -> clean -> extract)
    ``key`` (the record key, see :func:`record_key`), ``source``, ``id``, ``kind`` (``pdf``,
    ``tickets``, ``text``), ``text``, ``pages``, ``meta`` (JSON), ``notes`` (JSON list),
    ``stage``/``reason``/``detail`` (empty for a good document, else why it is quarantined),
    ``t_read``/``t_clean``/``t_extract`` (seconds spent on the row in each stage).
``RESULT_SCHEMA`` (extract -> write)
    the key, source, id, pages and timings, ``status`` (``data`` or ``quarantine``),
    ``reason``, and ``row``: the finished output row (``connectors.parquet``'s schema) as a
    pickled dict -- Arrow cannot hold the per-schema columns of every job in one fixed
    block schema, and the writer turns the rows into a table with the explicit schema.
``STATS_SCHEMA`` (write -> driver)
    one row per written part: counts, pages, reasons and stage timings for the summary.

Only errors of the *document* become quarantine rows.  Storage errors (S3 down, a
connection reset) are retried with backoff (:func:`with_retries`) and, if they persist,
fail the task and the job, so a transient outage never turns into a permanent "done"
verdict; the rerun then completes the work (see :mod:`pipelines.run`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

log = logging.getLogger("seqgpt.pipeline")

DATA, QUARANTINE = "data", "quarantine"
QUARANTINE_DIR = "_quarantine"
RECORDS_DIR = "_records"  # _records/<record type>/part-<k>.parquet
PDF_EXTENSIONS = (".pdf",)
TEXT_EXTENSIONS = (".txt", ".text", ".md")
TICKET_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")

WORK_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("source", pa.string()),
        ("id", pa.string()),
        ("kind", pa.string()),
        ("text", pa.large_string()),
        ("pages", pa.int32()),
        ("meta", pa.string()),
        ("notes", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("t_read", pa.float64()),
        ("t_clean", pa.float64()),
        ("t_extract", pa.float64()),
    ]
)
RESULT_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("source", pa.string()),
        ("id", pa.string()),
        ("pages", pa.int32()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("row", pa.binary()),
        ("records", pa.binary()),  # pickled {record type: [record rows]} of a data row
        ("t_read", pa.float64()),
        ("t_clean", pa.float64()),
        ("t_extract", pa.float64()),
        ("untrained", pa.bool_()),
    ]
)
STATS_SCHEMA = pa.schema(
    [
        ("part", pa.string()),
        ("docs", pa.int64()),
        ("rows", pa.int64()),
        ("records", pa.int64()),
        ("pages", pa.int64()),
        ("quarantined", pa.string()),  # JSON {reason: count}
        ("t_read", pa.float64()),
        ("t_clean", pa.float64()),
        ("t_extract", pa.float64()),
        ("t_write", pa.float64()),
        ("untrained", pa.bool_()),
    ]
)


# ------------------------------------------------------------------------ keys
def record_key(source: str, doc_id: str, stage: str = "", reason: str = "", detail: str = "") -> str:
    """The identity of one input record, the unit of exactly-once.

    A document that was read (a PDF, a text file, a ticket record) is ``(source, id)``,
    whatever became of it later (an output row, or a quarantine row from cleaning or
    extraction).  A reader's verdict on something that never became a document
    (``stage == "parse"``: a corrupt PDF, a malformed JSONL line, a *duplicate* id) is
    ``(source, id, reason, detail)``: the detail names the line, so a duplicate id's
    quarantine row does not share the key of the document that kept the id.
    """
    parts = [source, doc_id] if stage != "parse" else [source, doc_id, reason, detail]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()


def part_key(keys: Iterable[str]) -> str:
    """A part file's name key: a hash of its records' keys (order-free), so a retried
    task writes the same name and replaces its file instead of adding a duplicate."""
    h = hashlib.sha256()
    for k in sorted(keys):
        h.update(k.encode())
        h.update(b"\n")
    return h.hexdigest()[:24]


def kind_of(path: str, kind: str = "auto") -> str | None:
    """``pdf``, ``tickets`` or ``text`` for a listed file; None when auto finds no match."""
    if kind != "auto":
        return kind
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(PDF_EXTENSIONS):
        return "pdf"
    if name.endswith(TICKET_EXTENSIONS):
        return "tickets"
    if name.endswith(TEXT_EXTENSIONS):
        return "text"
    return None


# --------------------------------------------------------------------- retries
def with_retries(fn: Callable[[], Any], what: str, attempts: int = 8, base: float = 0.5, cap: float = 10.0):
    """Call ``fn``; on a storage error retry with exponential backoff and jitter.

    Storage errors are ``ConnectorError`` (what ``connectors.fs`` raises), ``OSError`` and
    Arrow I/O errors.  ``not found`` is not retried (the file is gone; a rerun will not bring
    it back).  The last error is raised after ``attempts`` tries (~40 s with the defaults).
    """
    from connectors.records import ConnectorError

    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except (ConnectorError, OSError, pa.ArrowException) as e:
            if isinstance(e, FileNotFoundError) or "not found" in str(e) or attempt == attempts:
                raise
            delay = min(cap, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            log.warning("%s failed (%s); retry %d/%d in %.1f s", what, e, attempt, attempts - 1, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------ rows
def work_row(
    source: str,
    doc_id: str,
    kind: str,
    *,
    text: str = "",
    pages: int = 0,
    meta: dict | None = None,
    stage: str = "",
    reason: str = "",
    detail: str = "",
    t_read: float = 0.0,
) -> dict[str, Any]:
    return {
        "key": record_key(source, doc_id, stage, reason, detail),
        "source": source,
        "id": doc_id,
        "kind": kind,
        "text": text,
        "pages": int(pages),
        "meta": json.dumps(meta or {}, ensure_ascii=False, sort_keys=True, default=str),
        "notes": "[]",
        "stage": stage,
        "reason": reason,
        "detail": detail[:2000],
        "t_read": t_read,
        "t_clean": 0.0,
        "t_extract": 0.0,
    }


def quarantine(row: dict[str, Any], stage: str, reason: str, detail: str) -> dict[str, Any]:
    """``row`` (a document) turned into a quarantine row; its key stays the document's."""
    return {**row, "text": "", "stage": stage, "reason": reason, "detail": detail[:2000]}


def _error_detail(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# ------------------------------------------------------------------- read/parse
class ReadStage:
    """``flat_map`` function: one listed file -> its records as work rows.

    The input row is ``{"path", "source", "kind", "size", "done"}``; ``done`` lists the
    record keys of this file already committed by an earlier run (ticket files only: PDF
    and text files that are done were never listed).  Parsing is
    ``connectors.documents.parse_documents`` -- the reader of ``seqgpt extract`` and the
    app -- with the run's ``ReadOptions``.  Runs as a Ray task (CPU).
    """

    def __init__(self, folder, options=None):
        from connectors.documents import ReadOptions

        self.folder = folder
        self.options = options or ReadOptions()

    def __call__(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        path, source, kind = item["path"], item["source"], item["kind"]
        try:
            rows = self._read(item)
        except _StorageError as e:
            raise RuntimeError(
                f"cannot read {source} after retries ({e.__cause__}); the job stops here and a rerun "
                "resumes where it stopped"
            ) from e
        except Exception as e:  # a reader bug or an exotic input: quarantine, never fail the job
            from connectors.records import ConnectorError

            if isinstance(e, ConnectorError) and kind == "tickets" and "column" in str(e):
                raise  # a configuration mismatch (no such id/text column): every file would fail
            rows = [work_row(source, path, kind, stage="read", reason="read_error", detail=_error_detail(e))]
        dt = time.perf_counter() - t0
        for r in rows:
            r["t_read"] = dt / max(1, len(rows))
        return rows

    def _bytes(self, item: dict[str, Any]) -> bytes:
        try:
            return with_retries(lambda: self.folder.read_bytes(item["path"]), f"reading {item['source']}")
        except Exception as e:
            if "not found" in str(e):
                raise FileNotFoundError(str(e)) from None
            raise _StorageError(str(e)) from e

    def _read(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        from connectors.documents import parse_documents, size_limit, too_large
        from connectors.records import Quarantine

        path, source, kind = item["path"], item["source"], item["kind"]
        limit = size_limit(kind, self.options)
        if limit is not None and item.get("size", 0) > limit:  # rejected unread
            q = too_large(source, path, kind, item["size"], limit)
            return [work_row(source, path, kind, stage=q.stage, reason=q.reason, detail=q.detail)]
        try:
            data = self._bytes(item)
        except FileNotFoundError as e:
            return [work_row(source, path, kind, stage="parse", reason="missing", detail=str(e))]
        done = set(json.loads(item.get("done") or "[]"))
        rows = []
        for rec in parse_documents(data, source, kind, self.options, doc_id=path):
            if isinstance(rec, Quarantine):
                row = work_row(source, rec.id, kind, stage=rec.stage, reason=rec.reason, detail=rec.detail)
            else:
                row = work_row(rec.source, rec.id, kind, text=rec.text, pages=rec.pages, meta=rec.meta)
            if row["key"] not in done:
                rows.append(row)
        return rows


class _StorageError(Exception):
    pass


# ------------------------------------------------------------------------ clean
class CleanStage:
    """``map`` function: clean a document's text with ``connectors.documents.clean_document``
    (what ``seqgpt extract`` and the app run too); nothing left -> quarantine."""

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        from connectors.documents import clean_document
        from connectors.records import Doc, Quarantine

        if row["reason"]:
            return row
        t0 = time.perf_counter()
        doc = Doc(id=row["id"], source=row["source"], text=row["text"], pages=row["pages"])
        rec = clean_document(doc, row["kind"])
        if isinstance(rec, Quarantine):
            row = quarantine(row, rec.stage, rec.reason, rec.detail)
        else:
            row = {**row, "text": rec.text, "notes": json.dumps(rec.notes, ensure_ascii=False)}
        row["t_clean"] = time.perf_counter() - t0
        return row


# ---------------------------------------------------------------------- extract
class ExtractStage:
    """``map_batches`` callable class on an actor pool: the loaded extractor, one per actor.

    ``__init__`` loads the model once per actor (on its GPU when the actor has one; on CPU
    with ``threads`` torch threads so actors and read tasks share the cores).  ``__call__``
    runs ``Extractor.extract_batch`` on the batch's good documents -- chunking, validation
    and normalization happen inside -- and turns each result into a finished output row.
    If the batch fails, each document is retried alone so one bad document is quarantined
    (``stage="extract"``) without taking its neighbours with it.
    """

    def __init__(
        self,
        schema,
        *,
        model: str | None,
        model_label: str,
        run_id: str,
        device: str = "cpu",
        dtype: str = "auto",
        threads: int = 1,
        keep_text: bool = False,
        extractor_kwargs: dict | None = None,
        fault: str | None = None,
    ):
        self.fault = _Fault(fault)
        self.fault.on_init()
        if device == "cpu":
            import torch

            torch.set_num_threads(max(1, int(threads)))
        from extractor.engine import Extractor

        self.schema = schema
        self.extractor = Extractor.load(model, device=device, dtype=dtype, **(extractor_kwargs or {}))
        self.model_label = model_label
        self.run_id = run_id
        self.keep_text = keep_text
        self.untrained = bool(self.extractor.untrained)
        self.table_schema = data_schema(schema, keep_text=keep_text)

    def __call__(self, batch: pa.Table) -> pa.Table:
        self.fault.on_extract()
        rows = batch.to_pylist()
        out: list[dict[str, Any] | None] = [None] * len(rows)
        todo = [i for i, r in enumerate(rows) if not r["reason"]]
        for i, r in enumerate(rows):
            if r["reason"]:
                out[i] = self._quarantine_result(r)
        t0 = time.perf_counter()
        results: dict[int, Any] = {}
        if todo:
            try:
                got = self.extractor.extract_batch([rows[i]["text"] for i in todo], self.schema)
                results = dict(zip(todo, got))
            except Exception:
                for i in todo:  # find the document that broke the batch
                    try:
                        results[i] = self.extractor.extract_batch([rows[i]["text"]], self.schema)[0]
                    except Exception as e:
                        out[i] = self._quarantine_result(
                            quarantine(rows[i], "extract", "extract_error", _error_detail(e))
                        )
        per_doc = (time.perf_counter() - t0) / max(1, len(todo))
        for i, result in results.items():
            r = rows[i]
            r["t_extract"] = per_doc
            try:
                out[i] = self._data_result(r, result)
            except Exception as e:
                out[i] = self._quarantine_result(quarantine(r, "extract", "row_error", _error_detail(e)))
        return pa.Table.from_pylist(out, schema=RESULT_SCHEMA)

    def _data_result(self, r: dict[str, Any], result) -> dict[str, Any]:
        return data_result(
            r,
            result,
            self.schema,
            self.model_label,
            self.run_id,
            self.untrained,
            self.table_schema,
            self.keep_text,
        )

    def _quarantine_result(self, r: dict[str, Any]) -> dict[str, Any]:
        return quarantine_result(r, self.run_id, self.untrained)


def data_result(
    r: dict[str, Any], result, schema, model_label: str, run_id: str, untrained: bool, table_schema: pa.Schema,
    keep_text: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A work row and its ``DocumentResult`` -> a ``RESULT_SCHEMA`` row: the pickled output
    row and the pickled record rows of each record type, both checked against their tables."""
    from connectors.parquet import record_schema, records_to_rows, result_to_row

    meta = {"id": r["id"], "source": r["source"], "pages": r["pages"]}
    row = result_to_row(
        meta,
        result,
        schema.extraction_fields,
        schema.classification_fields,
        model=model_label,
        run_id=run_id,
        summary=schema.summary is not None,
    )
    records = {}
    for rt in schema.records:
        fields = schema.record_fields(rt)
        rows = records_to_rows(meta, result, rt.name, fields, model_label, run_id)
        pa.Table.from_pylist(rows, schema=record_schema(fields))  # fits, or the caller's row_error
        records[rt.name] = rows
    row["notes"] = json.loads(r["notes"] or "[]") + [f"warning: {w}" for w in result.warnings]
    if keep_text:
        row["text"] = r["text"]
    # a row that does not fit the table is this document's problem (quarantined as
    # row_error by the caller), not the writer's: it would fail the whole part
    pa.Table.from_pylist([row], schema=table_schema)
    return {
        **_result_base(r, untrained),
        "status": DATA,
        "reason": "",
        "row": pickle.dumps(row),
        "records": pickle.dumps(records),
    }


def _result_base(r: dict[str, Any], untrained: bool) -> dict[str, Any]:
    return {
        "key": r["key"],
        "source": r["source"],
        "id": r["id"],
        "pages": r["pages"],
        "t_read": r["t_read"],
        "t_clean": r["t_clean"],
        "t_extract": r.get("t_extract", 0.0),
        "untrained": untrained,
    }


def quarantine_result(r: dict[str, Any], run_id: str, untrained: bool = False) -> dict[str, Any]:
    from connectors.parquet import quarantine_to_row

    row = quarantine_to_row(
        {
            "id": r["id"],
            "source": r["source"],
            "stage": r["stage"],
            "reason": r["reason"],
            "detail": r["detail"],
        },
        run_id,
    )
    return {
        **_result_base(r, untrained),
        "status": QUARANTINE,
        "reason": r["reason"],
        "row": pickle.dumps(row),
    }


# ------------------------------------------------------------------------ write
def data_schema(schema, *, keep_text: bool = False) -> pa.Schema:
    """The output table's schema: ``connectors.parquet.output_schema`` plus ``notes``
    (cleaning notes such as repaired or suspected mojibake, and engine warnings) and, with
    ``keep_text``, the cleaned ``text`` every offset refers to."""
    from connectors.parquet import output_schema

    s = output_schema(
        schema.extraction_fields, schema.classification_fields, summary=schema.summary is not None
    )
    s = s.append(pa.field("notes", pa.list_(pa.string())))
    if keep_text:
        s = s.append(pa.field("text", pa.large_string()))
    return s


class WriteStage:
    """``map_batches`` function (a Ray task): commit one batch of results as part files.

    The quarantine part (``_quarantine/part-<k>.parquet``) is written first, then one part per
    record type with records (``_records/<type>/part-<k>.parquet``), then the data
    part (``part-<k>.parquet``, possibly empty), which is the batch's commit marker; ``<k>``
    is :func:`part_key` of the batch's record keys.  Each file is written under ``_tmp/``
    and renamed (``connectors.parquet.ParquetWriter``).  Storage errors are retried with
    backoff; both files are rewritten from the start, which is safe because the names are
    fixed.  Returns one ``STATS_SCHEMA`` row.
    """

    def __init__(self, out, schema, *, keep_text: bool = False, fault: str | None = None):
        self.out = out
        self.schema = schema
        self.keep_text = keep_text
        self.fault = fault

    def __call__(self, batch: pa.Table) -> pa.Table:
        from connectors.parquet import ParquetWriter, quarantine_schema, record_schema

        t0 = time.perf_counter()
        rows = batch.to_pylist()
        if not rows:
            return STATS_SCHEMA.empty_table()
        key = part_key(r["key"] for r in rows)
        data = [pickle.loads(r["row"]) for r in rows if r["status"] == DATA]
        bad = [pickle.loads(r["row"]) for r in rows if r["status"] == QUARANTINE]
        records: dict[str, list[dict[str, Any]]] = {rt.name: [] for rt in self.schema.records}
        for r in rows:
            if r["status"] == DATA and r.get("records"):
                for name, recs in pickle.loads(r["records"]).items():
                    records[name].extend(recs)
        schema = data_schema(self.schema, keep_text=self.keep_text)
        fault = _Fault(self.fault)

        def commit() -> None:
            if bad:
                with ParquetWriter(self.out.child(QUARANTINE_DIR), quarantine_schema(), key) as w:
                    w.write_rows(bad)
            for rt in self.schema.records:
                if records[rt.name]:
                    fields = self.schema.record_fields(rt)
                    folder = self.out.child(f"{RECORDS_DIR}/{rt.name}")
                    with ParquetWriter(folder, record_schema(fields), key) as w:
                        w.write_rows(records[rt.name])
            fault.before_data_part(self.out)
            with ParquetWriter(self.out, schema, key) as w:
                w.write_rows(data)

        with_retries(commit, f"writing part {key} to {self.out.uri()}")
        reasons = Counter(r["reason"] for r in rows if r["status"] == QUARANTINE)
        stats = {
            "part": f"part-{key}.parquet",
            "docs": len(rows),
            "rows": len(data),
            "records": sum(len(v) for v in records.values()),
            "pages": sum(int(r["pages"] or 0) for r in rows if r["status"] == DATA),
            "quarantined": json.dumps(dict(reasons), ensure_ascii=False),
            "t_read": sum(r["t_read"] or 0.0 for r in rows),
            "t_clean": sum(r["t_clean"] or 0.0 for r in rows),
            "t_extract": sum(r["t_extract"] or 0.0 for r in rows),
            "t_write": time.perf_counter() - t0,
            "untrained": any(r["untrained"] for r in rows),
        }
        return pa.Table.from_pylist([stats], schema=STATS_SCHEMA)


# ------------------------------------------------------------------- test hooks
class _Fault:
    """Fault injection for the tests (``SEQGPT_FAULT`` or ``run_pipeline(fault=...)``).

    ``stop_after_parts:N``      the writer raises (failing the job) before writing the data
                                part of a batch once N data parts are committed -- after its
                                quarantine part, like a crash between the two files;
    ``exit_actor_once:PATH``    an extraction actor kills its own process (``os._exit``) on
                                its first batch if PATH does not exist yet (it creates it),
                                so exactly one actor dies mid-run.
    """

    def __init__(self, spec: str | None):
        self.kind, _, self.arg = (spec or "").partition(":")

    def on_init(self) -> None:
        pass

    def on_extract(self) -> None:
        if self.kind == "exit_actor_once":
            try:
                fd = os.open(self.arg, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.close(fd)
            log.warning("fault injection: extraction actor %d exits now", os.getpid())
            os._exit(3)

    def before_data_part(self, out) -> None:
        if self.kind == "stop_after_parts":
            committed = len(out.list("part-*.parquet", recursive=False)) if out.exists() else 0
            if committed >= int(self.arg):
                raise InjectedFault(f"fault injection: stopping after {committed} committed parts")


class InjectedFault(RuntimeError):
    """Raised by the ``stop_after_parts`` test hook (never retried)."""


def quarantine_reasons(stats: Iterable[dict[str, Any]]) -> Counter:
    c: Counter = Counter()
    for s in stats:
        c.update(json.loads(s["quarantined"] or "{}"))
    return c
