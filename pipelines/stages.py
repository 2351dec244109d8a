"""The Ray Data stages of ``seqgpt run``: read/parse -> OCR -> clean -> extract -> write.

Each stage is a callable in the style of Ray's LLM batch stages: configuration (the run's
one :class:`~pipelines.config.RunConfig`) and, for :class:`ExtractStage`, the heavy state --
the loaded model -- are set up in ``__init__``; the per-row or per-batch method is pure and
never raises for one bad document: an exception becomes a *quarantine* row naming the stage
and the reason, and the other rows go on.

Rows between stages (Ray Data carries them as Arrow blocks):

``WORK_SCHEMA`` (read -> clean -> extract; plain dicts)
    ``key`` (the record key, see :func:`record_key`), ``source``, ``id``, ``kind`` (the
    file's, ``connectors.documents.KINDS``), ``text``, ``pages``, ``meta`` (JSON; a document
    read by OCR keeps its ``ocr`` confidence and ``ocr_lines`` here), ``notes`` (JSON list),
    ``blob`` (the file's bytes while pages await OCR, else null),
    ``stage``/``reason``/``detail`` (empty for a good document, else why it is quarantined),
    ``t_read``/``t_ocr``/``t_clean``/``t_extract`` (seconds spent on the row in each stage).
``RESULT_SCHEMA`` (extract -> write; an explicit Arrow schema)
    the work row's key, source, id, pages, quarantine columns, notes and timings, the text
    (``keep_text`` only), ``result``: the document's ``extractor.types.DocumentResult``
    (pickled: its spans, records and summary are nested Python objects), ``extracted_at``
    and ``untrained``.  The extractor does not shape output rows: the writer does, once.
``STATS_SCHEMA`` (write -> driver)
    one row per written part: counts, pages, reasons and stage timings for the summary,
    and, with ``--html-report``, the review page sections of some of its documents (at most
    as many as the run's report budget still allows, so the driver never receives more
    than it shows).

The output row has one owner, :class:`WriteStage`: its ``connectors.parquet.OutputAdapter``
(built once per writer, with the run's table schemas) shapes the data row and the record
rows of every document from its result and checks them against those schemas; a document
whose rows do not fit is quarantined alone (``stage="write"``, ``row_error``).

Only errors of the *document* become quarantine rows (an input file that cannot be opened
for lack of permission is ``unreadable``).  Storage errors (S3 down, a connection reset) are
retried with backoff (:func:`with_retries`) and, if they persist, fail the task and the job,
so a transient outage never turns into a permanent "done" verdict; the rerun then completes
the work (see :mod:`pipelines.run`).  A full or read-only output disk is not retried: the
job stops at once (:func:`permanent_storage_error`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import pickle
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from connectors.sink import Batch, permanent_storage_error, with_retries

if TYPE_CHECKING:
    from pipelines.config import RunConfig

log = logging.getLogger("seqgpt.pipeline")

SINGLE_KINDS = ("pdf", "image", "docx", "html", "text")  # one document per file: skipped unread when done

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
        ("blob", pa.large_binary()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("t_read", pa.float64()),
        ("t_ocr", pa.float64()),
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
        ("stage", pa.string()),
        ("reason", pa.string()),  # empty for a document with a result
        ("detail", pa.string()),
        ("notes", pa.string()),  # JSON list: the cleaner's notes
        ("text", pa.large_string()),  # the cleaned text with keep_text, else empty
        ("result", pa.binary()),  # pickled DocumentResult (null for a quarantined document)
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("t_read", pa.float64()),
        ("t_ocr", pa.float64()),
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
        ("t_ocr", pa.float64()),
        ("t_clean", pa.float64()),
        ("t_extract", pa.float64()),
        ("t_write", pa.float64()),
        ("untrained", pa.bool_()),
        ("report", pa.large_string()),  # JSON [[source, id, html], ...] with --html-report, else null
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
    if stage != "parse":
        from connectors.records import doc_key

        return doc_key(source, doc_id)  # the row's doc_key column
    return hashlib.sha1(json.dumps([source, doc_id, reason, detail]).encode()).hexdigest()


def part_key(keys: Iterable[str]) -> str:
    """A part file's name key: a hash of its records' keys (order-free), so a retried
    task writes the same name and replaces its file instead of adding a duplicate."""
    h = hashlib.sha256()
    for k in sorted(keys):
        h.update(k.encode())
        h.update(b"\n")
    return h.hexdigest()[:24]


def kind_of(path: str, kind: str = "auto") -> str | None:
    """The kind of a listed file (``connectors.documents.kind_for_name``: ``pdf``, ``image``,
    ``docx``, ``email``, ``html``, ``tickets``, ``text``); None when auto finds no match."""
    from connectors.documents import kind_for_name

    return kind if kind != "auto" else kind_for_name(path)


# ------------------------------------------------------------------------ rows
def work_row(
    source: str,
    doc_id: str,
    kind: str,
    *,
    text: str = "",
    pages: int = 0,
    meta: dict | None = None,
    blob: bytes | None = None,
    stage: str = "",
    reason: str = "",
    detail: str = "",
    t_read: float = 0.0,
    notes: Iterable[str] = (),
) -> dict[str, Any]:
    return {
        "key": record_key(source, doc_id, stage, reason, detail),
        "source": source,
        "id": doc_id,
        "kind": kind,
        "text": text,
        "pages": int(pages),
        "meta": json.dumps(meta or {}, ensure_ascii=False, sort_keys=True, default=str),
        "notes": json.dumps(list(notes), ensure_ascii=False),
        "blob": blob,
        "stage": stage,
        "reason": reason,
        "detail": detail[:2000],
        "t_read": t_read,
        "t_ocr": 0.0,
        "t_clean": 0.0,
        "t_extract": 0.0,
    }


def quarantine(row: dict[str, Any], stage: str, reason: str, detail: str) -> dict[str, Any]:
    """``row`` (a document) turned into a quarantine row; its key stays the document's."""
    return {**row, "text": "", "blob": None, "stage": stage, "reason": reason, "detail": detail[:2000]}


def _error_detail(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


# ------------------------------------------------------------------- read/parse
class ReadStage:
    """``flat_map`` function: one listed file -> its records as work rows.

    The input row is ``{"path", "source", "kind", "size", "done"}``; ``done`` lists the
    record keys of this file already committed by an earlier run (ticket files only: PDF
    and text files that are done were never listed).  Parsing is
    ``connectors.documents.parse_documents`` -- the reader of ``seqgpt extract`` and the
    app -- with the run's ``config.read``.  ``folder`` is the input ``connectors.fs.Folder``
    the driver opened.  Runs as a Ray task (CPU).
    """

    def __init__(self, folder, config: RunConfig):
        self.folder = folder
        self.options = config.read

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
            if permanent_storage_error(e):  # no permission ...: this file's problem, not the job's
                raise _Unreadable(str(e)) from None
            raise _StorageError(str(e)) from e

    def _read(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        from connectors.documents import parse_documents, size_limit, too_large
        from connectors.records import Quarantine, safe_id

        path, source, kind = item["path"], item["source"], item["kind"]
        limit = size_limit(kind, self.options)
        if limit is not None and item.get("size", 0) > limit:  # rejected unread
            q = too_large(source, path, kind, item["size"], limit)
            return [work_row(source, path, kind, stage=q.stage, reason=q.reason, detail=q.detail)]
        try:
            data = self._bytes(item)
        except FileNotFoundError as e:
            return [work_row(source, path, kind, stage="parse", reason="missing", detail=str(e))]
        except _Unreadable as e:
            return [work_row(source, path, kind, stage="parse", reason="unreadable", detail=str(e))]
        done = set(json.loads(item.get("done") or "[]"))
        rows = []
        doc_id, id_note = safe_id(path)  # a file name with control characters: escaped in the id
        for rec in parse_documents(data, source, kind, self.options, doc_id=doc_id):
            if isinstance(rec, Quarantine):
                row = work_row(source, rec.id, kind, stage=rec.stage, reason=rec.reason, detail=rec.detail)
            else:
                notes = [*rec.notes, *([id_note] if id_note and kind != "tickets" else [])]
                row = work_row(
                    rec.source,
                    rec.id,
                    kind,
                    text=rec.text,
                    pages=rec.pages,
                    meta=rec.meta,
                    notes=notes,
                    blob=rec.blob,
                )
            if row["key"] not in done:
                rows.append(row)
        return rows


class _StorageError(Exception):
    pass


class _Unreadable(Exception):
    pass


def _doc(row: dict[str, Any]):
    from connectors.records import Doc

    return Doc(
        id=row["id"],
        source=row["source"],
        text=row["text"],
        pages=row["pages"],
        meta=json.loads(row["meta"] or "{}"),
        notes=json.loads(row["notes"] or "[]"),
        blob=row.get("blob"),
    )


def _with_doc(row: dict[str, Any], doc) -> dict[str, Any]:
    return {
        **row,
        "text": doc.text,
        "meta": json.dumps(doc.meta, ensure_ascii=False, sort_keys=True, default=str),
        "notes": json.dumps(doc.notes, ensure_ascii=False),
        "blob": doc.blob,
    }


# -------------------------------------------------------------------------- OCR
class OcrStage:
    """``map_batches`` callable class on its own CPU actor pool, between reading and cleaning:
    ``connectors.documents.ocr_document`` (what ``seqgpt extract``, the app and serve run
    too) for every row whose pages await OCR; other rows pass through untouched.

    The OCR model (``connectors.ocr.OcrEngine``, ``config.read.ocr_threads`` onnxruntime
    threads) is loaded once per actor, on the first row that needs it, so a run of text-layer
    PDFs never loads it.  A failure is that document's quarantine row (``stage="ocr"``).
    """

    def __init__(self, config: RunConfig):
        self.options = config.read
        self.engine = None

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        return pa.Table.from_pylist([self.row(r) for r in rows], schema=WORK_SCHEMA)

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        from connectors.documents import needs_ocr, ocr_document
        from connectors.records import Quarantine

        if row["reason"] or row.get("blob") is None:
            return row
        t0 = time.perf_counter()
        doc = _doc(row)
        if not needs_ocr(doc):
            return {**row, "blob": None}
        try:
            if self.engine is None:
                from connectors.ocr import OcrEngine

                self.engine = OcrEngine(self.options.ocr_threads)
            rec = ocr_document(doc, self.options, self.engine)
        except Exception as e:  # the model would not load: this document is quarantined, the job goes on
            rec = Quarantine(doc.id, doc.source, "ocr", "ocr_error", _error_detail(e))
        row = (
            quarantine(row, rec.stage, rec.reason, rec.detail)
            if isinstance(rec, Quarantine)
            else _with_doc(row, rec)
        )
        row["t_ocr"] = time.perf_counter() - t0
        return row


# ------------------------------------------------------------------------ clean
class CleanStage:
    """``map`` function: clean a document's text with ``connectors.documents.clean_document``
    (what ``seqgpt extract`` and the app run too); nothing left -> quarantine."""

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        from connectors.documents import clean_document
        from connectors.records import Quarantine

        if row["reason"]:
            return row
        t0 = time.perf_counter()
        rec = clean_document(_doc(row), row["kind"])
        if isinstance(rec, Quarantine):
            row = quarantine(row, rec.stage, rec.reason, rec.detail)
        else:
            row = _with_doc(row, rec)
        row["t_clean"] = time.perf_counter() - t0
        return row


# ---------------------------------------------------------------------- extract
class ExtractStage:
    """``map_batches`` callable class on an actor pool: the loaded extractor, one per actor.

    ``__init__`` loads ``config.model`` once per actor (on its GPU when the run gives actors
    GPUs; on CPU with ``config.threads_per_actor`` torch threads so actors and read tasks
    share the cores).  ``__call__`` runs ``Extractor.extract_batch`` on the batch's good
    documents -- chunking, validation and normalization happen inside -- and passes each
    ``DocumentResult`` on to the writer.  If the batch fails, each document is retried alone
    so one bad document is quarantined (``stage="extract"``) without its neighbours.
    """

    def __init__(self, config: RunConfig):
        self.config = config
        threads = (
            None if config.on_gpu else max(1, int(config.model.threads or config.threads_per_actor or 1))
        )
        self.extractor = config.model.load(device="cuda" if config.on_gpu else "cpu", threads=threads)
        self.untrained = bool(self.extractor.untrained)

    def __call__(self, batch: pa.Table) -> pa.Table:
        schema = self.config.schema
        rows = batch.to_pylist()
        out: list[dict[str, Any] | None] = [None] * len(rows)
        todo = [i for i, r in enumerate(rows) if not r["reason"]]
        for i, r in enumerate(rows):
            if r["reason"]:
                out[i] = self._result_row(r)
        t0 = time.perf_counter()
        results: dict[int, Any] = {}
        if todo:
            try:
                got = self.extractor.extract_batch([rows[i]["text"] for i in todo], schema)
                results = dict(zip(todo, got))
            except Exception:
                for i in todo:  # find the document that broke the batch
                    try:
                        results[i] = self.extractor.extract_batch([rows[i]["text"]], schema)[0]
                    except Exception as e:
                        out[i] = self._result_row(
                            quarantine(rows[i], "extract", "extract_error", _error_detail(e))
                        )
        per_doc = (time.perf_counter() - t0) / max(1, len(todo))
        for i, result in results.items():
            if '"ocr"' in (rows[i]["meta"] or ""):  # read by OCR: its confidence, low-confidence values
                from connectors.ocr import flag_values

                flag_values(result, json.loads(rows[i]["meta"]))
            out[i] = self._result_row({**rows[i], "t_extract": per_doc}, result)
        return pa.Table.from_pylist(out, schema=RESULT_SCHEMA)

    def _result_row(self, r: dict[str, Any], result=None) -> dict[str, Any]:
        keep = self.config.keep_text or bool(self.config.html_report)  # the report shows the text
        return result_row(r, result, keep_text=keep, untrained=self.untrained)


def result_row(
    r: dict[str, Any], result=None, *, keep_text: bool = False, untrained: bool = False
) -> dict[str, Any]:
    """A work row (and its ``DocumentResult``, for a document that was extracted) as a
    ``RESULT_SCHEMA`` row; a quarantined work row has no result."""
    has_result = result is not None and not r["reason"]
    return {
        "key": r["key"],
        "source": r["source"],
        "id": r["id"],
        "pages": r["pages"],
        "stage": r["stage"],
        "reason": r["reason"],
        "detail": r["detail"],
        "notes": r.get("notes") or "[]",
        "text": r["text"] if keep_text and has_result else "",
        "result": pickle.dumps(result) if has_result else None,
        "extracted_at": _dt.datetime.now(_dt.timezone.utc) if has_result else None,
        "t_read": r.get("t_read", 0.0),
        "t_ocr": r.get("t_ocr", 0.0),
        "t_clean": r.get("t_clean", 0.0),
        "t_extract": r.get("t_extract", 0.0),
        "untrained": untrained,
    }


# ------------------------------------------------------------------------ write
class WriteStage:
    """``map_batches`` callable class (Ray tasks): shape one batch's rows and commit them
    through the run's sink.  The owner of the output row (module docstring).

    ``sink`` is the run's ``connectors.sink.Sink`` (checked and recovered by the driver); its
    ``adapter`` (a ``connectors.parquet.OutputAdapter`` with the sink's table schemas) shapes
    every document's data row and record rows from its result; a document whose rows cannot
    be shaped or do not fit the tables is quarantined alone (``stage="write"``,
    ``reason="row_error"``).  Then the batch is committed with ``sink.commit`` -- quarantine
    rows first, record rows next, data rows last -- under the batch key, :func:`part_key`
    of the batch's record keys.  Storage errors are retried with backoff; a commit is
    idempotent per batch key, so a retry never adds rows twice.  Returns one
    ``STATS_SCHEMA`` row.
    """

    def __init__(self, sink, config: RunConfig, report=None):
        self.sink = sink
        self.config = config
        self.report = report  # the run's report budget (pipelines.run.ReportBudget actor) or None

    @property
    def adapter(self):
        return self.sink.adapter

    def __call__(self, batch: pa.Table) -> pa.Table:
        t0 = time.perf_counter()
        rows = batch.to_pylist()
        if not rows:
            return STATS_SCHEMA.empty_table()
        key = part_key(r["key"] for r in rows)
        bad: list[dict[str, Any]] = [r for r in rows if r["reason"]]
        docs: list[dict[str, Any]] = []
        shaped = []
        for r in rows:
            if r["reason"]:
                continue
            try:
                shaped.append(self._shape(r))
                docs.append(r)
            except Exception as e:  # this document's rows cannot be built: it alone is quarantined
                bad.append(quarantine(r, "write", "row_error", _error_detail(e)))
        data, records, misfits = self.adapter.tables(shaped)
        bad += [quarantine(docs[i], "write", "row_error", error) for i, error in misfits.items()]
        written = [r for i, r in enumerate(docs) if i not in misfits]
        quarantined = self.adapter.quarantine_table([_quarantine_record(r) for r in bad])

        one = Batch(key, data, records, quarantined)
        with_retries(lambda: self.commit(one), f"committing batch {key} to {self.sink.uri()}")
        reasons = Counter(r["reason"] for r in bad)
        stats = {
            "part": key,
            "docs": len(rows),
            "rows": data.num_rows,
            "records": sum(t.num_rows for t in records.values()),
            "pages": sum(int(r["pages"] or 0) for r in written),
            "quarantined": json.dumps(dict(reasons), ensure_ascii=False),
            "t_read": sum(r["t_read"] or 0.0 for r in rows),
            "t_ocr": sum(r["t_ocr"] or 0.0 for r in rows),
            "t_clean": sum(r["t_clean"] or 0.0 for r in rows),
            "t_extract": sum(r["t_extract"] or 0.0 for r in rows),
            "t_write": time.perf_counter() - t0,
            "untrained": any(r["untrained"] for r in rows),
            "report": self._report(written),
        }
        return pa.Table.from_pylist([stats], schema=STATS_SCHEMA)

    def commit(self, batch: Batch) -> None:
        """Commit the batch through the sink (the seam the fault-injection tests use)."""
        self.sink.commit(batch)

    def _report(self, written: list[dict[str, Any]]) -> str | None:
        """The review page sections of the first of this part's documents the run's report
        budget allows (``--html-report``), as JSON ``[[source, id, html], ...]``."""
        if self.report is None or not written:
            return None
        import ray

        from pipelines.review import document_section

        docs = sorted(written, key=lambda r: (r["source"], r["id"]))
        granted = ray.get(self.report.take.remote(len(docs)))
        sections = []
        for r in docs[:granted]:
            result = pickle.loads(r["result"])
            label = r["source"] if r["source"].endswith(r["id"]) else f"{r['source']} · {r['id']}"
            html = document_section(r["text"] or "", result, self.config.schema, source=label)
            sections.append([r["source"], r["id"], html])
        return json.dumps(sections, ensure_ascii=False) if sections else None

    def _shape(self, r: dict[str, Any]):
        return self.adapter.shape(
            {"id": r["id"], "source": r["source"], "pages": r["pages"]},
            pickle.loads(r["result"]),
            notes=json.loads(r["notes"] or "[]"),
            text=r["text"] if self.config.keep_text else None,
            extracted_at=r["extracted_at"],
        )


def _quarantine_record(r: dict[str, Any]):
    from connectors.records import Quarantine

    return Quarantine(
        id=r["id"], source=r["source"], stage=r["stage"], reason=r["reason"], detail=r["detail"]
    )
