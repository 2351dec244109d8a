"""The Parquet side: explicit schemas, result -> row, an atomic part-file writer, a reader.

:class:`OutputAdapter` is the one owner of a run's output rows (datatrove's writer
``adapter``): built once per writer with the run's schema, it shapes each document's data
row and record rows from its ``DocumentResult`` (:func:`result_to_row`,
:func:`records_to_rows`), turns a batch into Arrow tables with the explicit schemas below,
and names the documents whose rows do not fit so the caller quarantines them alone.

Output table (:func:`output_schema`), one row per document, columns in this order::

    doc_id                 string        Doc.id (a PDF's relative path, a ticket's id)
    doc_key                string        the row's unambiguous key: a SHA-1 of (source, doc_id)
                                         (connectors.records.doc_key); doc_id alone repeats when
                                         two ticket files use the same id
    source                 string        where the document came from
    pages                  int32         page count (1 for tickets)
    -- for each extraction field <f>, in schema order:
    <f>                    string        the chosen value (verbatim text, see below)
    <f>_all                list<string>  every value found: the kept ones and, for a
                                         one-value field, its scored alternatives, in text order
    <f>_confidence         float32       confidence of the chosen value
    <f>_offsets            list<struct<start: int32, end: int32>>
                                         character offsets of <f>_all[i] in the document text
    -- plus, by field type:
    money:                 <f>_amount    decimal128(22, 4)  the chosen value's amount
                           <f>_currency  string             ISO 4217 code (null if none given)
    integer:               <f>_normalized int64
    date, phone, id_number, percent, choice (and class):
                           <f>_normalized string  (ISO date or the hint's pattern, E.164 phone,
                                                  upper-cased ID, "12.5", the canonical choice)
    text:                  (nothing more: the value is the text)
    money, integer, percent, date:
                           <f>_approximate bool  the chosen value is written only roughly
                                                 (约30万元, 五十多万, 三月中旬): the normalized
                                                 column holds what it names or its lower bound
    with parts (姓名+职务): <f>_<part>  string  each part of the chosen value, read inside it
    -- then, for every extraction field:
    <f>_issues             list<string>  every problem of the field's kept values, each
                                         written "<value>: <issue>" (a type or hint it fails,
                                         a rule it breaks or that could not be checked on it)
    <f>_dropped            list<struct<value: string, confidence: float32, start: int32,
                                       end: int32>>
                                         values below the field's threshold, kept for audit
    <f>_alternatives       list<struct<value, confidence, start, end>> (as <f>_dropped)
                                         a one-value field's other candidates, surest first,
                                         each with its own calibrated confidence
    -- for each classification field <c>:
    <c>                    string        the label with the highest confidence
    <c>_confidence         float32
    -- then:
    summary                string        the schema's summary template, filled (only when the
                                         schema has one; null when a value it needs is missing)
    violations             list<string>  the row's problems: missing required fields, values
                                         failing their type or hint, broken rules, rules that
                                         could not be checked (extractor.validation.validate)
    model                  string        model id or path
    run_id                 string
    extracted_at           timestamp[us, tz=UTC]

The writer (:class:`OutputAdapter`) adds ``notes`` (list<string>: what the reader, OCR and the
cleaner did, and the engine's warnings), ``ocr_confidence`` (struct<mean, min: float32, lines:
int32, pages: list<int32>, dpi: int32>: the mean and minimum OCR line score of a document read
by OCR; null for a text-layer document) and ``ocr_lines`` (list<struct<page, x0, y0, x1, y1:
int32, text: string, score: float32, start, end: int32>>: each OCR line's page (0-based), box
in pixels of the page image, text, score and offsets in the cleaned text), then ``text`` with
``keep_text``.

A field with no value has null ``<f>``, ``<f>_confidence`` and normalized columns and empty
``<f>_all`` / ``<f>_offsets`` / ``<f>_issues`` lists.

The chosen value (``<f>``) is the best span (``extractor.types.best_span``): one without
validation issues beats one with issues, then the higher confidence wins, then the earlier
offset.  ``<f>_all[i]`` and
``<f>_offsets[i]`` describe the same span, so repeated mentions of a value appear once per
mention.  Money amounts carry 4 decimals (``1200000.00`` -> ``1200000.0000``); more precise
amounts are rounded half-even to 4 decimals, and an amount beyond 18 integer digits is null
(the verbatim text stays in ``<f>``).

Record table of one record type (:func:`record_schema`), one row per record found::

    doc_id, doc_key, source  string      (doc_key: the document row's key)
    record                 int32         the record's number within the document, from 0
    confidence             float32       its lowest value confidence
    -- for each field <f> of the record type:
    <f>                    string        the value (verbatim text)
    <f>_confidence         float32
    <f>_start, <f>_end     int32         character offsets in the document text
    + the same normalized columns as above (money amount/currency, <f>_normalized)
    model, run_id          string
    extracted_at           timestamp[us, tz=UTC]

Quarantine table (:func:`quarantine_schema`): ``doc_id, doc_key, source, stage, reason,
detail`` (strings), ``run_id`` string, ``at`` timestamp[us, tz=UTC].

Writing (:class:`ParquetWriter`, a context manager in the style of datatrove's writers):
rows are buffered and written as row groups to ``_tmp/<prefix>-<key>.<random>.parquet``;
a clean exit renames that file to ``<prefix>-<key>.parquet`` (atomic on local disks; a copy
and delete on S3, where each object appears whole).  An exception inside the ``with`` block
deletes the temporary file, and a killed process leaves only a ``_tmp/`` file, which readers
skip: ``pyarrow.dataset`` ignores ``_``/``.`` prefixes by default, and :func:`read_table`
lists only visible ``*.parquet`` files.  The final name depends only on ``key`` (a shard
id), so a rerun of a shard replaces its file instead of adding a duplicate.

The output folder as a sink (:class:`ParquetSink`, the first implementation of
:class:`connectors.sink.Sink`): part files named by the batch key, quarantine and record parts
before the data part (the commit marker), recovery of what a crash left, the done set from the
committed parts' key columns, the manifest check against the data parts' footers.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from connectors.fs import Folder
from connectors.records import ConnectorError, Quarantine, doc_key
from connectors.sink import Batch, Done, Sink, SinkError, manifest_differences, with_retries
from extractor.schema import FIELD_TYPES
from extractor.types import best_span

__all__ = [
    "AMOUNT_TYPE",
    "FIELD_TYPES",
    "METADATA_KEY",
    "TEMP_DIR",
    "OutputAdapter",
    "ParquetSink",
    "ParquetWriter",
    "output_schema",
    "quarantine_schema",
    "quarantine_to_row",
    "read_metadata",
    "read_table",
    "record_schema",
    "records_to_rows",
    "remove_stale_temp",
    "remove_temp",
    "result_to_row",
]

METADATA_KEY = "seqgpt"  # the run's manifest in every data part's footer
AMOUNT_SCALE = 4
AMOUNT_TYPE = pa.decimal128(22, AMOUNT_SCALE)
TEMP_DIR = "_tmp"
_STRING_NORMALIZED = ("date", "phone", "id_number", "percent", "choice", "class")
_APPROXIMATE = ("money", "integer", "percent", "date")  # types whose values may be approximate
_OFFSET_TYPE = pa.struct([("start", pa.int32()), ("end", pa.int32())])
_DROPPED_TYPE = pa.struct(
    [("value", pa.string()), ("confidence", pa.float32()), ("start", pa.int32()), ("end", pa.int32())]
)
_TS = pa.timestamp("us", tz="UTC")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]*\Z")
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_MAX_AMOUNT = Decimal(10) ** (22 - AMOUNT_SCALE)


# ---------------------------------------------------------------------- schemas


def _pairs(fields: Iterable[Any]) -> list[tuple[str, str]]:
    """Accept ``[(name, type)]`` or objects with ``.name`` and ``.type`` (extractor.schema)."""
    out = []
    for f in fields:
        name, type_ = (f.name, f.type) if hasattr(f, "name") else f
        type_ = str(type_).strip().lower()
        if type_ not in FIELD_TYPES:
            raise ValueError(f"field {name!r}: unknown type {type_!r} (known: {', '.join(FIELD_TYPES)})")
        out.append((str(name), type_))
    return out


def _names(classes: Iterable[Any]) -> list[str]:
    return [str(c.name if hasattr(c, "name") else c) for c in classes]


def _normalized_columns(name: str, type_: str, dates: bool = False) -> list[pa.Field]:
    flag = [pa.field(f"{name}_approximate", pa.bool_())] if type_ in _APPROXIMATE else []
    if dates and type_ == "date":  # the table formats: the date as a warehouse's date type
        flag.append(pa.field(f"{name}_date", pa.date32()))
    if type_ == "money":
        return [pa.field(f"{name}_amount", AMOUNT_TYPE), pa.field(f"{name}_currency", pa.string()), *flag]
    if type_ == "integer":
        return [pa.field(f"{name}_normalized", pa.int64()), *flag]
    if type_ in _STRING_NORMALIZED:
        return [pa.field(f"{name}_normalized", pa.string()), *flag]
    return []


def _as_date(span: Any, dayfirst: bool | None) -> _dt.date | None:
    """The calendar date a date field's span names (its text read as ``comparable`` reads
    it), or None when it names no full day (``2023年9月``) or no date at all."""
    if span is None or getattr(span, "normalized", None) is None:
        return None
    from extractor.normalize import normalize_date

    iso = normalize_date(str(span.text), dayfirst=dayfirst)
    try:
        return _dt.date.fromisoformat(iso) if iso and len(iso) == 10 else None
    except ValueError:
        return None


def _normalized_values(
    name: str, type_: str, span: Any, dates: bool = False, dayfirst: bool | None = None
) -> dict[str, Any]:
    """The normalized columns of one chosen ``span`` (or None) of a field of type ``type_``
    (with ``dates``, a date field's ``<f>_date`` too)."""
    normalized = getattr(span, "normalized", None)
    flag: dict[str, Any] = {}
    if type_ in _APPROXIMATE:  # null without a value, like the normalized columns
        flag[f"{name}_approximate"] = None if span is None else bool(getattr(span, "approximate", False))
    if dates and type_ == "date":
        flag[f"{name}_date"] = _as_date(span, dayfirst)
    if type_ == "money":
        amount, currency = _money(normalized)
        return {f"{name}_amount": amount, f"{name}_currency": currency, **flag}
    if type_ == "integer":
        return {f"{name}_normalized": _integer(normalized), **flag}
    if type_ in _STRING_NORMALIZED:
        return {f"{name}_normalized": None if normalized is None else str(normalized), **flag}
    return {}


def _dayfirst_of(fields: Iterable[Any]) -> dict[str, bool | None]:
    return {str(f.name): getattr(f, "dayfirst", None) for f in fields if hasattr(f, "name")}


def _parts_of(fields: Iterable[Any]) -> dict[str, list[str]]:
    return {str(f.name): list(f.parts) for f in fields if getattr(f, "parts", None)}


def _unique(cols: list[pa.Field]) -> pa.Schema:
    seen: set[str] = set()
    for col in cols:
        if col.name in seen:
            raise ValueError(f"two output columns would be named {col.name!r}: rename a field")
        seen.add(col.name)
    return pa.schema(cols)


def output_schema(
    fields: Sequence[Any], classes: Sequence[Any] = (), *, summary: bool = False, dates: bool = False
) -> pa.Schema:
    """The result table's schema (layout in the module docstring).  ``fields`` is
    ``[(name, type)]`` (or extractor ``Field`` objects, whose ``parts`` add part columns),
    ``classes`` the classification field names; ``summary`` adds the summary column;
    ``dates`` adds ``<f>_date`` (``date32``) after a date field's normalized columns (the
    table formats).  Raises ValueError for an unknown type or when two columns would share
    a name."""
    cols: list[pa.Field] = [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("doc_key", pa.string()),
        pa.field("source", pa.string()),
        pa.field("pages", pa.int32()),
    ]
    parts = _parts_of(fields)
    for name, type_ in _pairs(fields):
        cols += [
            pa.field(name, pa.string()),
            pa.field(f"{name}_all", pa.list_(pa.string())),
            pa.field(f"{name}_confidence", pa.float32()),
            pa.field(f"{name}_offsets", pa.list_(_OFFSET_TYPE)),
        ]
        cols += _normalized_columns(name, type_, dates)
        cols += [pa.field(f"{name}_{part}", pa.string()) for part in parts.get(name, [])]
        cols += [
            pa.field(f"{name}_issues", pa.list_(pa.string())),
            pa.field(f"{name}_dropped", pa.list_(_DROPPED_TYPE)),
            pa.field(f"{name}_alternatives", pa.list_(_DROPPED_TYPE)),
        ]
    for name in _names(classes):
        cols += [pa.field(name, pa.string()), pa.field(f"{name}_confidence", pa.float32())]
    if summary:
        cols.append(pa.field("summary", pa.string()))
    cols += [
        pa.field("violations", pa.list_(pa.string())),
        pa.field("model", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("extracted_at", _TS),
    ]
    return _unique(cols)


def record_schema(fields: Sequence[Any], *, dates: bool = False) -> pa.Schema:
    """The schema of one record type's table (module docstring); ``fields`` and ``dates`` as
    for :func:`output_schema`, the record type's fields in order."""
    cols: list[pa.Field] = [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("doc_key", pa.string()),
        pa.field("source", pa.string()),
        pa.field("record", pa.int32()),
        pa.field("confidence", pa.float32()),
    ]
    for name, type_ in _pairs(fields):
        cols += [
            pa.field(name, pa.string()),
            pa.field(f"{name}_confidence", pa.float32()),
            pa.field(f"{name}_start", pa.int32()),
            pa.field(f"{name}_end", pa.int32()),
        ]
        cols += _normalized_columns(name, type_, dates)
    cols += [pa.field("model", pa.string()), pa.field("run_id", pa.string()), pa.field("extracted_at", _TS)]
    return _unique(cols)


def quarantine_schema() -> pa.Schema:
    """``doc_id, doc_key, source, stage, reason, detail, run_id, at``."""
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("doc_key", pa.string()),
            pa.field("source", pa.string()),
            pa.field("stage", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("detail", pa.string()),
            pa.field("run_id", pa.string()),
            pa.field("at", _TS),
        ]
    )


# ---------------------------------------------------------------------- rows


def _key(source: Any, doc_id: Any) -> str:
    return doc_key(str(source or ""), str(doc_id))


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _amount(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    d = d.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    return d if abs(d) < _MAX_AMOUNT else None


def _money(normalized: Any) -> tuple[Decimal | None, str | None]:
    if normalized is None:
        return None, None
    if isinstance(normalized, Mapping):
        currency = normalized.get("currency")
        return _amount(normalized.get("amount")), (str(currency) if currency else None)
    if isinstance(normalized, (tuple, list)) and len(normalized) == 2:
        return _amount(normalized[0]), (str(normalized[1]) if normalized[1] else None)
    return _amount(normalized), None


def _integer(normalized: Any) -> int | None:
    if normalized is None or isinstance(normalized, bool):
        return None
    try:
        value = Decimal(str(normalized).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value != value.to_integral_value() or abs(value) >= 2**63:
        return None
    return int(value)


def result_to_row(
    doc_meta: Mapping[str, Any],
    result: Any,
    schema_fields: Sequence[Any],
    classes: Sequence[Any] = (),
    model: str = "",
    run_id: str = "",
    *,
    extracted_at: _dt.datetime | None = None,
    summary: bool = False,
    dates: bool = False,
) -> dict[str, Any]:
    """One output row (a dict matching :func:`output_schema`) for a document; ``summary``
    as given to :func:`output_schema`.

    ``doc_meta`` needs ``id`` (or ``doc_id``), ``source`` and ``pages`` (a ``Doc.to_dict()``
    works); ``result`` is an :class:`extractor.types.DocumentResult`.
    """
    doc_id = doc_meta.get("doc_id") if doc_meta.get("doc_id") is not None else doc_meta.get("id")
    if doc_id is None:
        raise ValueError("doc_meta has no 'id' or 'doc_id'")
    pages = doc_meta.get("pages")
    row: dict[str, Any] = {
        "doc_id": str(doc_id),
        "doc_key": _key(doc_meta.get("source"), doc_id),
        "source": doc_meta.get("source"),
        "pages": int(pages) if pages is not None else None,
    }
    values = getattr(result, "values", {}) or {}
    dropped: dict[str, list[Any]] = {}
    for s in getattr(result, "dropped", None) or []:
        dropped.setdefault(s.field, []).append(s)
    parts = _parts_of(schema_fields)
    alternatives = getattr(result, "alternatives", None) or {}
    dayfirst = _dayfirst_of(schema_fields)
    for name, type_ in _pairs(schema_fields):
        spans = sorted(values.get(name) or [], key=lambda s: (s.start, s.end))
        others = list(alternatives.get(name) or [])
        every = sorted(spans + others, key=lambda s: (s.start, s.end))
        best = best_span(spans)
        row[name] = best.text if best else None
        row[f"{name}_all"] = [s.text for s in every]
        row[f"{name}_confidence"] = float(best.confidence) if best else None
        row[f"{name}_offsets"] = [{"start": int(s.start), "end": int(s.end)} for s in every]
        row.update(_normalized_values(name, type_, best, dates, dayfirst.get(name)))
        for part in parts.get(name, []):
            found = (getattr(best, "parts", None) or {}).get(part) if best else None
            row[f"{name}_{part}"] = found.text if found else None
        row[f"{name}_issues"] = [f"{s.text}: {issue}" for s in spans for issue in (s.issues or [])]
        row[f"{name}_dropped"] = [
            {"value": s.text, "confidence": float(s.confidence), "start": int(s.start), "end": int(s.end)}
            for s in sorted(dropped.get(name, []), key=lambda s: (s.start, s.end))
        ]
        row[f"{name}_alternatives"] = [
            {"value": s.text, "confidence": float(s.confidence), "start": int(s.start), "end": int(s.end)}
            for s in others
        ]
    labels = getattr(result, "classes", {}) or {}
    for name in _names(classes):
        options = labels.get(name) or []
        top = max(options, key=lambda c: float(c.confidence)) if options else None
        row[name] = top.label if top else None
        row[f"{name}_confidence"] = float(top.confidence) if top else None
    if summary:
        row["summary"] = getattr(result, "summary", None)
    row["violations"] = [str(v) for v in (getattr(result, "violations", None) or [])]
    row["model"] = model
    row["run_id"] = run_id
    row["extracted_at"] = extracted_at or _now()
    return row


def records_to_rows(
    doc_meta: Mapping[str, Any],
    result: Any,
    record_type: str,
    fields: Sequence[Any],
    model: str = "",
    run_id: str = "",
    *,
    extracted_at: _dt.datetime | None = None,
    dates: bool = False,
) -> list[dict[str, Any]]:
    """The :func:`record_schema` rows of a document's records of type ``record_type``
    (``dates`` as given to :func:`record_schema`)."""
    doc_id = doc_meta.get("doc_id") if doc_meta.get("doc_id") is not None else doc_meta.get("id")
    if doc_id is None:
        raise ValueError("doc_meta has no 'id' or 'doc_id'")
    at = extracted_at or _now()
    dayfirst = _dayfirst_of(fields)
    rows = []
    for rec in getattr(result, "records", None) or []:
        if rec.type != record_type:
            continue
        row: dict[str, Any] = {
            "doc_id": str(doc_id),
            "doc_key": _key(doc_meta.get("source"), doc_id),
            "source": doc_meta.get("source"),
            "record": int(rec.index),
            "confidence": float(rec.confidence),
        }
        for name, type_ in _pairs(fields):
            span = rec.values.get(name)
            row[name] = span.text if span else None
            row[f"{name}_confidence"] = float(span.confidence) if span else None
            row[f"{name}_start"] = int(span.start) if span else None
            row[f"{name}_end"] = int(span.end) if span else None
            row.update(_normalized_values(name, type_, span, dates, dayfirst.get(name)))
        row.update(model=model, run_id=run_id, extracted_at=at)
        rows.append(row)
    return rows


def quarantine_to_row(
    record: Quarantine | Mapping[str, Any], run_id: str = "", *, at: _dt.datetime | None = None
) -> dict[str, Any]:
    """A quarantine table row from a :class:`Quarantine` (or its dict)."""
    q = record if isinstance(record, Quarantine) else Quarantine.from_dict(dict(record))
    return {
        "doc_id": q.id,
        "doc_key": _key(q.source, q.id),
        "source": q.source,
        "stage": q.stage,
        "reason": q.reason,
        "detail": q.detail,
        "run_id": run_id,
        "at": at or _now(),
    }


# ---------------------------------------------------------------------- adapter
# A document read by OCR (null / empty for text-layer documents): the mean and minimum line
# score, how many lines, which pages (0-based) and at what DPI (null for image files: their
# own pixels); each line's page, box (pixels of the page image OCR read), text, score and
# offsets in the cleaned text (null where the cleaner removed the line).
OCR_CONFIDENCE_TYPE = pa.struct(
    [
        ("mean", pa.float32()),
        ("min", pa.float32()),
        ("lines", pa.int32()),
        ("pages", pa.list_(pa.int32())),
        ("dpi", pa.int32()),
    ]
)
OCR_LINE_TYPE = pa.struct(
    [
        ("page", pa.int32()),
        ("x0", pa.int32()),
        ("y0", pa.int32()),
        ("x1", pa.int32()),
        ("y1", pa.int32()),
        ("text", pa.string()),
        ("score", pa.float32()),
        ("start", pa.int32()),
        ("end", pa.int32()),
    ]
)


def ocr_columns(result: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The ``ocr_confidence`` and ``ocr_lines`` values of a result (module docstring)."""
    conf = getattr(result, "ocr_confidence", None)
    if not conf:
        return None, []
    lines = []
    for ln in getattr(result, "ocr_lines", None) or []:
        x0, y0, x1, y1 = ln["box"]
        lines.append(
            {
                "page": ln["page"],
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "text": ln["text"],
                "score": ln["score"],
                "start": ln.get("start"),
                "end": ln.get("end"),
            }
        )
    return {k: conf.get(k) for k in ("mean", "min", "lines", "pages", "dpi")}, lines


class OutputAdapter:
    """The rows of one run's tables, shaped once per document from its result (datatrove's
    writer ``adapter``).

    ``schema`` is the run's ``extractor.schema.Schema``; the table schemas are built here,
    once: :attr:`data_schema` (:func:`output_schema` plus ``notes`` -- what the reader, OCR and the cleaner did
    and the engine's warnings -- and, with ``keep_text``, the cleaned ``text`` every offset
    refers to; ``metadata``, the run's manifest, goes into its footer under
    :data:`METADATA_KEY`, read back by :func:`read_metadata`), :attr:`record_schemas` (one
    :func:`record_schema` per record type) and :attr:`quarantine_schema`.  The table formats
    add ``dates`` (``<f>_date``, a ``date32`` column, after each date field's normalized
    columns) and ``run_date`` (a ``date32`` column of that value, the partition column, at
    the end of every table).  ::

        adapter = OutputAdapter(schema, model="m", run_id="r1")
        shaped = [adapter.shape(doc_meta, result, notes=[...]) for doc_meta, result in docs]
        data, records, misfits = adapter.tables(shaped)   # misfits: {index: why}
        bad = adapter.quarantine_table([Quarantine(...), ...])
    """

    def __init__(
        self,
        schema: Any,
        *,
        model: str = "",
        run_id: str = "",
        keep_text: bool = False,
        metadata: Mapping[str, Any] | None = None,
        dates: bool = False,
        run_date: _dt.date | None = None,
    ) -> None:
        self.schema = schema
        self.model = model
        self.run_id = run_id
        self.keep_text = keep_text
        self.dates = dates
        self.run_date = run_date
        base = output_schema(
            schema.extraction_fields,
            schema.classification_fields,
            summary=schema.summary is not None,
            dates=dates,
        )
        base = base.append(pa.field("notes", pa.list_(pa.string())))
        base = base.append(pa.field("ocr_confidence", OCR_CONFIDENCE_TYPE))
        base = base.append(pa.field("ocr_lines", pa.list_(OCR_LINE_TYPE)))
        if keep_text:
            base = base.append(pa.field("text", pa.large_string()))
        if run_date is not None:
            base = base.append(pa.field("run_date", pa.date32()))
        if metadata is not None:  # in every data part's footer (pyarrow/Spark/polars ignore it)
            base = base.with_metadata({METADATA_KEY: json.dumps(dict(metadata), ensure_ascii=False)})
        self.data_schema: pa.Schema = base
        self.record_fields = {rt.name: schema.record_fields(rt) for rt in schema.records}
        self.record_schemas: dict[str, pa.Schema] = {
            name: record_schema(fields, dates=dates) for name, fields in self.record_fields.items()
        }
        self.quarantine_schema: pa.Schema = quarantine_schema()
        if run_date is not None:  # the table formats' partition column, in every table
            self.record_schemas = {
                name: rs.append(pa.field("run_date", pa.date32())) for name, rs in self.record_schemas.items()
            }
            self.quarantine_schema = self.quarantine_schema.append(pa.field("run_date", pa.date32()))

    def shape(
        self,
        doc_meta: Mapping[str, Any],
        result: Any,
        *,
        notes: Sequence[str] = (),
        text: str | None = None,
        extracted_at: _dt.datetime | None = None,
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """``(data row, {record type: record rows})`` of one document.  ``notes`` are the
        cleaner's; the result's warnings follow them as ``"warning: ..."``.  ``text`` is
        stored only with ``keep_text``."""
        at = extracted_at or _now()
        row = result_to_row(
            doc_meta,
            result,
            self.schema.extraction_fields,
            self.schema.classification_fields,
            model=self.model,
            run_id=self.run_id,
            extracted_at=at,
            summary=self.schema.summary is not None,
            dates=self.dates,
        )
        row["notes"] = [str(n) for n in notes] + [f"warning: {w}" for w in getattr(result, "warnings", ())]
        row["ocr_confidence"], row["ocr_lines"] = ocr_columns(result)
        if self.keep_text:
            row["text"] = text
        records = {
            name: records_to_rows(
                doc_meta, result, name, fields, self.model, self.run_id, extracted_at=at, dates=self.dates
            )
            for name, fields in self.record_fields.items()
        }
        if self.run_date is not None:
            row["run_date"] = self.run_date
            for recs in records.values():
                for r in recs:
                    r["run_date"] = self.run_date
        return row, records

    def tables(
        self, shaped: Sequence[tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]]
    ) -> tuple[pa.Table, dict[str, pa.Table], dict[int, str]]:
        """The data table and the record tables of shaped documents, and ``{index: why}`` for
        the documents whose rows do not fit the schemas (left out of the tables, so one such
        document never fails its batch)."""
        try:
            data, records = self._tables(shaped)
            return data, records, {}
        except Exception:
            pass
        misfits: dict[int, str] = {}
        for i, one in enumerate(shaped):
            try:
                self._tables([one])
            except Exception as e:
                misfits[i] = f"the rows do not fit the output table: {type(e).__name__}: {e}"
        data, records = self._tables([one for i, one in enumerate(shaped) if i not in misfits])
        return data, records, misfits

    def _tables(self, shaped) -> tuple[pa.Table, dict[str, pa.Table]]:
        data = pa.Table.from_pylist([row for row, _ in shaped], schema=self.data_schema)
        records = {
            name: pa.Table.from_pylist([r for _, recs in shaped for r in recs[name]], schema=rs)
            for name, rs in self.record_schemas.items()
        }
        return data, records

    def quarantine_table(self, records: Iterable[Quarantine], *, at: _dt.datetime | None = None) -> pa.Table:
        """The quarantine table of these :class:`Quarantine` records."""
        at = at or _now()
        rows = [quarantine_to_row(q, self.run_id, at=at) for q in records]
        if self.run_date is not None:
            for r in rows:
                r["run_date"] = self.run_date
        return pa.Table.from_pylist(rows, schema=self.quarantine_schema)


# ---------------------------------------------------------------------- writer


class ParquetWriter:
    """Write rows to ``<prefix>-<key>.parquet`` in a folder, atomically (module docstring).

    ::

        with ParquetWriter(out, output_schema(fields, classes), key="00017") as w:
            for row in rows:
                w.write(row)

    ``buffer_rows`` rows make one row group.  With ``write_empty`` (default) a shard without
    rows still gets a file holding the schema, so a rerun replaces an older, fuller file.
    """

    def __init__(
        self,
        folder: Folder | str,
        schema: pa.Schema,
        key: str | int,
        *,
        prefix: str = "part",
        compression: str = "zstd",
        buffer_rows: int = 2048,
        write_empty: bool = True,
    ) -> None:
        key = str(key)
        if not _KEY.match(key) or not _KEY.match(prefix):
            raise ValueError(
                f"part key {key!r} / prefix {prefix!r}: use letters, digits, '_', '.', '=' and '-' only"
            )
        if buffer_rows < 1:
            raise ValueError("buffer_rows must be at least 1")
        self.folder = Folder.from_uri(folder)
        self.schema = schema
        self.path = f"{prefix}-{key}.parquet"
        self.temp_path = f"{TEMP_DIR}/{prefix}-{key}.{uuid.uuid4().hex[:12]}.parquet"
        self.compression = compression
        self.buffer_rows = buffer_rows
        self.write_empty = write_empty
        self.rows_written = 0
        self._names = set(schema.names)
        self._buffer: list[dict[str, Any]] = []
        self._stream: Any = None
        self._writer: pq.ParquetWriter | None = None
        self._state = "open"  # -> "committed" | "aborted"

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return f"ParquetWriter({self.folder.uri(self.path)!r}, rows={self.rows_written}, {self._state})"

    # -------------------------------------------------------------- writing

    def write(self, row: Mapping[str, Any]) -> None:
        self._check_open()
        unknown = set(row) - self._names
        if unknown:
            raise ValueError(f"columns not in the schema: {', '.join(sorted(unknown))}")
        self._buffer.append(dict(row))
        if len(self._buffer) >= self.buffer_rows:
            self._flush()

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def write_table(self, table: pa.Table) -> None:
        """Append a table (columns matched by name; missing nullable columns are nulls)."""
        self._check_open()
        self._flush()
        unknown = set(table.column_names) - self._names
        if unknown:
            raise ValueError(f"columns not in the schema: {', '.join(sorted(unknown))}")
        arrays = [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(len(table), f.type)
            for f in self.schema
        ]
        self._write(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> str:
        """Flush, finish the file and commit it under its final name; returns that URI."""
        if self._state == "committed":
            return self.folder.uri(self.path)
        self._check_open()
        try:
            self._flush()
            if self._writer is None:
                if not self.write_empty:
                    self._state = "committed"
                    return self.folder.uri(self.path)
                self._open()
            assert self._writer is not None
            self._writer.close()
            self._writer = None
            self._stream.close()
            self._stream = None
            self.folder.rename(self.temp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        return self.folder.uri(self.path)

    def abort(self) -> None:
        """Drop everything written so far; the final name is left untouched."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._buffer.clear()
        for closer in (self._writer, self._stream):
            if closer is not None:
                try:
                    closer.close()
                except Exception:
                    pass
        self._writer = self._stream = None
        try:
            self.folder.delete(self.temp_path)
        except Exception:
            pass  # a leftover _tmp/ file is invisible to readers; remove_stale_temp cleans up

    # -------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"writer for {self.path} is {self._state}")

    def _open(self) -> None:
        self._stream = self.folder.open_output(self.temp_path)
        self._writer = pq.ParquetWriter(self._stream, self.schema, compression=self.compression)

    def _flush(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        try:
            table = pa.Table.from_pylist(rows, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise ValueError(f"rows do not match the schema of {self.path}: {e}") from None
        self._write(table)

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=max(self.buffer_rows, table.num_rows))
        self.rows_written += table.num_rows


# ---------------------------------------------------------------------- reading


def read_table(
    source: Folder | str,
    *,
    columns: Sequence[str] | None = None,
    schema: pa.Schema | None = None,
    pattern: str | Sequence[str] = "*.parquet",
    recursive: bool = False,
    **folder_options: Any,
) -> pa.Table:
    """Read the committed Parquet files of a folder (or one file) into one table.

    Temporary and hidden files (``_tmp/``, ``.x``, ``*.tmp``) are never read.  Files are read
    in name order.  ``schema`` unifies the files and shapes an empty result; without it an
    empty folder gives an empty table with no columns.
    """
    import pyarrow.dataset as ds

    folder = Folder.from_uri(source, **folder_options)
    files = folder.list(pattern, recursive=recursive)
    if not files:
        empty = schema or pa.schema([])
        return empty.empty_table() if columns is None else empty.empty_table().select(list(columns))
    paths = [folder.fs_path(f) for f in files]
    try:
        dataset = ds.dataset(paths, filesystem=folder.fs, format="parquet", schema=schema)
        return dataset.to_table(columns=list(columns) if columns is not None else None)
    except (OSError, pa.ArrowException) as e:
        raise ConnectorError(f"cannot read Parquet files under {folder.uri()}: {e}") from None


def read_metadata(folder: Folder | str, path: str) -> dict[str, Any] | None:
    """The run manifest in the footer of one data part (:data:`METADATA_KEY`), or None when
    the part has none; only the footer is read."""
    folder = Folder.from_uri(folder)
    try:
        with folder.open_input(path) as f:
            meta = pq.read_schema(f).metadata or {}
    except (OSError, pa.ArrowException) as e:
        raise ConnectorError(f"cannot read the footer of {folder.uri(path)}: {e}") from None
    raw = meta.get(METADATA_KEY.encode())
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def remove_temp(folder: Folder | str) -> None:
    """Delete a folder's ``_tmp/`` with everything in it; only when no writer of the folder
    is active (the end of a run)."""
    Folder.from_uri(folder).delete_dir(TEMP_DIR)


def remove_stale_temp(folder: Folder | str, *, older_than_s: float = 3600.0) -> int:
    """Delete ``_tmp/`` files older than ``older_than_s`` (left by killed writers); returns
    how many.  Run it when no writer of the folder is active, or keep the age margin."""
    folder = Folder.from_uri(folder)
    temp_root = folder.fs_path(TEMP_DIR)
    selector = pafs.FileSelector(temp_root, recursive=True, allow_not_found=True)
    try:
        infos = folder.fs.get_file_info(selector)
    except (OSError, pa.ArrowException) as e:
        raise ConnectorError(f"cannot list {folder.uri(TEMP_DIR)}: {e}") from None
    cutoff = _now() - _dt.timedelta(seconds=older_than_s)
    removed = 0
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        mtime = info.mtime
        if mtime is not None and mtime.tzinfo is None:
            mtime = mtime.replace(tzinfo=_dt.timezone.utc)
        if mtime is None or mtime <= cutoff:
            folder.delete(f"{TEMP_DIR}/{info.path[len(temp_root) + 1 :]}")
            removed += 1
    return removed


# ---------------------------------------------------------------------- the sink
QUARANTINE_DIR = "_quarantine"
RECORDS_DIR = "_records"  # _records/<record type>/part-<k>.parquet
LEGACY_MANIFEST = "_manifest.json"  # where folders written before the footers kept the manifest


def foreign_format(folder: Folder) -> str | None:
    """``"delta"`` or ``"iceberg"`` when ``folder`` holds a table of that format, else None
    (a Delta table has ``_delta_log/``, an Iceberg table ``metadata/*.metadata.json``)."""
    if folder.exists("_delta_log"):
        return "delta"
    if folder.exists("metadata") and folder.child("metadata").list("*.metadata.json", recursive=False):
        return "iceberg"
    return None


class ParquetSink(Sink):
    """The output folder of Parquet part files (the default sink).

    Layout (``location``)::

        part-<k>.parquet                  data rows (OutputAdapter.data_schema)
        _quarantine/part-<k>.parquet      quarantine rows
        _records/<type>/part-<k>.parquet  record rows of a record type
        _tmp/ (in each of them)           files being written, removed when the run ends

    ``<k>`` is the batch key (a hash of its record keys): a retried task writes the same names
    and replaces its files.  A batch's quarantine part is written first, then its record
    parts, and its data part (possibly empty) last: the data part is the commit marker.
    :meth:`check` refuses a folder written with another schema, model or ``keep_text``
    (the manifest in every data part's footer, or the legacy ``_manifest.json``) and a folder
    that holds a Delta or Iceberg table; :meth:`done` deletes temporary files and quarantine
    and record parts without their data part, then reads the key columns of the committed
    parts.  One run per folder at a time (recovery deletes another run's in-flight files).
    """

    format = "parquet"

    def __init__(self, location: str, schema: Any, **options: Any) -> None:
        super().__init__(location, schema, **options)
        self.folder = Folder.from_uri(self.location)
        self.record_types = [rt.name for rt in getattr(schema, "records", ())]

    def adapter_options(self) -> dict[str, Any]:
        return {"metadata": self.manifest or None}  # the manifest rides in every data part's footer

    def uri(self) -> str:
        return self.folder.uri()

    def quarantine_uri(self) -> str:
        return self.folder.uri().rstrip("/") + "/" + QUARANTINE_DIR

    # -------------------------------------------------------------- check
    def written_manifest(self) -> dict[str, Any] | None:
        """The manifest the folder's committed data parts were written with (the footer of
        one of them), the legacy ``_manifest.json`` of older folders, or None for a new folder."""
        out = self.folder
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

    def check(self) -> None:
        out = self.folder
        if with_retries(out.exists, f"checking {out.uri()}"):
            other = with_retries(lambda: foreign_format(out), f"checking {out.uri()}")
            if other:
                raise SinkError(
                    f"{out.uri()} holds a {other.capitalize()} table, not a folder of Parquet parts: "
                    f"write into it with --table-format {other}, or choose another --output."
                )
        old = self.written_manifest()
        if old is None:
            return
        diffs = manifest_differences(old, self.manifest)
        if diffs:
            differ = [k for k in ("model", "keep_text") if old.get(k) != self.manifest.get(k)]
            if len(differ) < len(diffs):
                differ.insert(0, "schema")
            what = " and ".join(differ)
            raise SinkError(
                f"{out.uri()} was written with a different {what}; its rows would not match this run's:\n"
                + "\n".join(f"  - {d}" for d in diffs)
                + "\nUse a new --output folder (or delete the old one)."
            )

    # -------------------------------------------------------------- done set
    def done(self) -> Done:
        out = self.folder
        qdir = out.child(QUARANTINE_DIR)
        stats = {"temp files": 0, "orphan quarantine parts": 0, "orphan record parts": 0}
        if not with_retries(out.exists, f"checking {out.uri()}"):
            return Done(recovered=stats)
        data_parts = set(with_retries(lambda: out.list("part-*.parquet", recursive=False), "listing output"))
        q_parts: set[str] = set()
        if with_retries(qdir.exists, "checking quarantine"):
            q_parts = set(
                with_retries(lambda: qdir.list("part-*.parquet", recursive=False), "listing quarantine")
            )
        for orphan in sorted(q_parts - data_parts):
            with_retries(lambda o=orphan: qdir.delete(o), f"deleting {orphan}")
            stats["orphan quarantine parts"] += 1
        for name in self.record_types:
            rdir = out.child(f"{RECORDS_DIR}/{name}")
            if not with_retries(rdir.exists, f"checking {rdir.uri()}"):
                continue
            r_parts = with_retries(
                lambda d=rdir: d.list("part-*.parquet", recursive=False), "listing records"
            )
            for orphan in sorted(set(r_parts) - data_parts):
                with_retries(lambda o=orphan, d=rdir: d.delete(o), f"deleting {orphan}")
                stats["orphan record parts"] += 1
            stats["temp files"] += with_retries(
                lambda d=rdir: remove_stale_temp(d, older_than_s=0), "removing temp files"
            )
        stats["temp files"] += with_retries(
            lambda: remove_stale_temp(out, older_than_s=0), "removing temp files"
        )
        if q_parts:
            stats["temp files"] += with_retries(
                lambda: remove_stale_temp(qdir, older_than_s=0), "removing temp files"
            )

        done = Done(recovered=stats)
        if data_parts:
            t = with_retries(lambda: read_table(out, columns=["doc_id", "source"]), "reading done keys")
            done.documents = list(zip(t.column("source").to_pylist(), t.column("doc_id").to_pylist()))
        if q_parts & data_parts:
            cols = ["source", "doc_id", "stage", "reason", "detail"]
            t = with_retries(lambda: read_table(qdir, columns=cols), "reading done keys")
            done.verdicts = [
                (source, doc_id, stage, reason, detail or "")
                for source, doc_id, stage, reason, detail in zip(*(t.column(c).to_pylist() for c in cols))
            ]
        return done

    # -------------------------------------------------------------- commit
    def commit_quarantine(self, batch: Batch) -> None:
        if batch.quarantine.num_rows:
            self.write_part(self.folder.child(QUARANTINE_DIR), batch.key, batch.quarantine)

    def commit_records(self, batch: Batch) -> None:
        for name, table in batch.records.items():
            if table.num_rows:
                self.write_part(self.folder.child(f"{RECORDS_DIR}/{name}"), batch.key, table)

    def commit_data(self, batch: Batch) -> None:
        """The data part, written last: once it exists the batch is committed."""
        self.write_part(self.folder, batch.key, batch.data)

    @staticmethod
    def write_part(folder: Folder, key: str, table: pa.Table) -> None:
        with ParquetWriter(folder, table.schema, key) as w:
            w.write_table(table)

    # -------------------------------------------------------------- finish
    def finish(self, *, clean: bool = True) -> None:
        """Remove the writers' ``_tmp/`` folders (not after a failure, where a worker may
        still be busy: the rerun's recovery removes them)."""
        out = self.folder
        if clean and with_retries(out.exists, f"checking {out.uri()}"):
            folders = [out, out.child(QUARANTINE_DIR)] + [
                out.child(f"{RECORDS_DIR}/{name}") for name in self.record_types
            ]
            for folder in folders:
                with_retries(lambda f=folder: remove_temp(f), f"removing {folder.uri(TEMP_DIR)}")

    def has_quarantine(self) -> bool:
        qdir = self.folder.child(QUARANTINE_DIR)
        return bool(
            with_retries(
                lambda: qdir.exists() and bool(qdir.list("part-*.parquet", recursive=False)),
                "checking quarantine",
            )
        )

    def committed(self) -> int:
        try:
            out = self.folder
            return len(out.list("part-*.parquet", recursive=False)) if out.exists() else 0
        except Exception:
            return -1
