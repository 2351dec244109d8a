"""Ticket reader: one JSONL / CSV / Parquet file in, one record per ticket out.

``read_tickets(data, source)`` yields a :class:`Doc` per good record and a
:class:`Quarantine` per bad one; it never stops at a bad record.  Per record:

- ``Doc.id`` is the ``id_column`` value as a string (surrounding spaces stripped; an integral
  float such as ``1001.0`` -- what pandas makes of a nullable int column -- becomes ``"1001"``;
  control and invisible characters -- NUL, ESC, newlines, bidi overrides -- are escaped as
  ``\\xNN``/``\\uNNNN`` with an ``id_escaped`` note, :func:`connectors.records.safe_id`;
  anything else, ``../../x`` or ``/abs/path`` included, is data and kept as it is);
- ``Doc.text`` is the ``text_columns`` values joined with ``"\\n"`` (e.g. title + body),
  each stripped, empty ones skipped; non-string values are written as text (JSON for lists
  and objects);
- ``Doc.meta`` holds every other column unchanged, plus the reader's own keys ``_line`` (the
  1-based line of a JSONL/CSV record, or row of a Parquet/JSON-array record), ``_format``
  and ``_encoding`` (``utf-8``, ``gb18030`` ... for text formats);
- ``Doc.pages`` is 1.

Formats: ``fmt`` is ``"jsonl"``, ``"json"`` (a JSON array of objects, or JSON lines),
``"csv"``, ``"tsv"`` or ``"parquet"``; ``None`` picks it from the extension (``.jsonl``,
``.ndjson``, ``.json``, ``.csv``, ``.tsv``, ``.parquet``/``.pq``), after removing a ``.gz``
suffix (gzip is decompressed).

Encodings (:func:`decode_bytes`, shared with plain text files): a byte-order mark (UTF-8,
UTF-16) decides; else valid UTF-8 is UTF-8.  Text that is UTF-8 with a few invalid bytes
(at least two valid multi-byte characters per invalid byte) stays UTF-8: the invalid bytes
alone are marked, every valid character around them is kept.  Otherwise the encoding is
chosen by evidence (charset-normalizer's measure of how messy each reading is) among
GB18030 (a superset of GBK/GB2312), Big5, cp1252 (Western European, a superset of
Latin-1's letters), cp932 (Japanese), EUC-KR and cp1251 (Cyrillic); when several read the
bytes equally well but differently, the first of that list wins and the text gets an
``encoding_uncertain`` note naming the others (as do texts with invalid bytes).
``encoding=`` forces one.  Records that still hold undecodable bytes are quarantined
(``bad_encoding``); the rest of the file is kept.

Quarantine reasons (``stage`` is ``"parse"``; ``id`` is the record's id when known, else
``"{source}#L{line}"`` for line-based formats or ``"{source}#R{row}"`` for Parquet and JSON
arrays, or ``source`` for a problem with the whole file):

``malformed_json``  a JSONL line that is not valid JSON or not a JSON object (line in detail)
``bad_encoding``    a record with bytes that are invalid in the file's encoding
``missing_id``      no id, or an empty one
``duplicate_id``    an id already seen in this file (the first good record wins)
``empty_text``      all text columns missing or blank
``malformed_row``   a CSV row with more or fewer fields than the header
``malformed_csv``   the CSV parser gave up (e.g. a NUL byte); the rest of the file is lost
``corrupt``         the whole file cannot be read (broken Parquet, bad gzip data)
``missing_column``  the CSV header or Parquet schema lacks the id column or a text column:
                    the whole file (id ``source``), with the columns it has and the option
                    that would read it (``--text-column body``); other files go on
``empty``           the file holds no record at all (0 bytes, blank lines, a header only)
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.records import ConnectorError, Doc, Quarantine, safe_id

__all__ = [
    "FORMATS",
    "QUARANTINE_REASONS",
    "Decoded",
    "decode_bytes",
    "decode_text",
    "detect_format",
    "read_tickets",
]

FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
QUARANTINE_REASONS = (
    "malformed_json",
    "bad_encoding",
    "missing_id",
    "duplicate_id",
    "empty_text",
    "malformed_row",
    "malformed_csv",
    "corrupt",
    "missing_column",
    "empty",
)
STAGE = "parse"

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

# Undecodable bytes become U+DC00+byte (like "surrogateescape", also for bytes < 0x80 that
# some codecs reject inside a multi-byte sequence), so bad records can be found afterwards.
_ESCAPE = "connectors.tickets.escape"
_ESCAPED = re.compile("[\udc00-\udcff]")


def _escape_handler(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    return "".join(chr(0xDC00 + b) for b in bad), err.end


codecs.register_error(_ESCAPE, _escape_handler)


def detect_format(source: str) -> tuple[str | None, bool]:
    """(format from the file name or None, whether it is gzip-compressed)."""
    name = source.rsplit("/", 1)[-1].lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt, gz
    return None, gz


# Legacy encodings weighed when a file is not UTF-8, in the order that wins a tie.
CANDIDATE_ENCODINGS = ("gb18030", "big5", "cp1252", "cp932", "euc_kr", "cp1251")
_CHAOS_TIE = 0.02  # readings this close in charset-normalizer's "chaos" are equally good


@dataclass(frozen=True)
class Decoded:
    """A decoded text file: ``text`` (undecodable bytes kept as U+DC80..U+DCFF escapes),
    the ``encoding`` used and ``notes`` (``encoding_uncertain: ...`` when the reading is not
    certain)."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


def _codec(name: str) -> str:
    return codecs.lookup(name).name.replace("-", "_")


def _escapes(text: str) -> int:
    return len(_ESCAPED.findall(text))


# Characters real documents hardly ever hold but wrong readings produce (GBK bytes read as
# cp932 come out as half-width katakana): private use, C1 controls, undecodable bytes.
_ODD = re.compile("[\uff61-\uff9f\ue000-\uf8ff\x80-\x9f\ufffd\udc00-\udcff]")


def _odd_share(text: str) -> float:
    wide = sum(1 for ch in text if ord(ch) > 0x7F)
    return len(_ODD.findall(text)) / wide if wide else 0.0


def decode_bytes(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode a text file by evidence (module docstring); ``encoding`` forces one."""
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(data[3:].decode("utf-8", _ESCAPE), "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(data.decode("utf-16", _ESCAPE), "utf-16")
    if encoding:
        return Decoded(data.decode(encoding, _ESCAPE), codecs.lookup(encoding).name)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8", _ESCAPE)
    bad = _escapes(as_utf8)
    valid_wide = sum(1 for ch in as_utf8 if ord(ch) > 0x7F) - bad
    if valid_wide >= 2 * bad:  # UTF-8 with a few damaged bytes: keep every valid character
        note = f"encoding_uncertain: {bad} byte(s) are not valid UTF-8 (marked U+FFFD; the text around them is kept)"
        return Decoded(as_utf8, "utf-8", (note,))
    from charset_normalizer import from_bytes

    matches = [m for m in from_bytes(data, cp_isolation=list(CANDIDATE_ENCODINGS)) if m.encoding]
    order = {name: i for i, name in enumerate(CANDIDATE_ENCODINGS)}
    matches = [m for m in matches if _codec(m.encoding) in order]
    if not matches:  # nothing reads it cleanly: the reading with the fewest bad bytes
        as_gb = data.decode("gb18030", _ESCAPE)
        text, used = (as_gb, "gb18030") if _escapes(as_gb) < bad else (as_utf8, "utf-8")
        note = f"encoding_uncertain: no known encoding reads every byte; read as {used}"
        return Decoded(text, used, (note,))
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos <= least + _CHAOS_TIE]
    best_coherence = max(m.coherence for m in tied)
    tied = [m for m in tied if m.coherence >= best_coherence - 0.1]
    odd = {id(m): _odd_share(data.decode(m.encoding, _ESCAPE)) for m in tied}
    tied = [m for m in tied if odd[id(m)] <= min(odd.values()) + 0.05]
    chosen = min(tied, key=lambda m: order[_codec(m.encoding)])
    used = _codec(chosen.encoding)
    text = data.decode(used, _ESCAPE)
    others = sorted(
        {
            _codec(m.encoding)
            for m in tied
            if _codec(m.encoding) != used and data.decode(m.encoding, "replace") != text
        },
        key=order.__getitem__,
    )
    if not others:
        return Decoded(text, used)
    note = f"encoding_uncertain: read as {used}; the bytes read as well as {', '.join(others)} (convert the file to UTF-8 to be sure)"
    return Decoded(text, used, (note,))


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """``(text, encoding)`` of :func:`decode_bytes` (without its notes)."""
    decoded = decode_bytes(data, encoding)
    return decoded.text, decoded.encoding


def read_tickets(
    data: bytes,
    source: str,
    fmt: str | None = None,
    id_column: str = "id",
    text_columns: str | Sequence[str] = ("text",),
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    stage: str = STAGE,
) -> Iterator[Doc | Quarantine]:
    """Yield a :class:`Doc` or :class:`Quarantine` per record of one ticket file.

    Raises :class:`ConnectorError` only for an unknown format; a CSV header or Parquet schema
    without ``id_column`` or one of ``text_columns`` is one ``missing_column`` quarantine.
    """
    if isinstance(text_columns, str):
        text_columns = (text_columns,)
    text_columns = tuple(text_columns)
    if not text_columns:
        raise ValueError("text_columns must name at least one column")
    detected, gz = detect_format(source)
    fmt = (fmt or detected or "").lower() or None
    if fmt not in FORMATS:
        raise ConnectorError(
            f"cannot tell the ticket format of {source} (got {fmt!r}; use one of {', '.join(FORMATS)} "
            "or a .jsonl/.json/.csv/.tsv/.parquet name)"
        )
    if gz or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            yield Quarantine(source, source, stage, "corrupt", f"cannot decompress gzip data: {e}")
            return
    builder = _Builder(source, id_column, text_columns, fmt, stage)
    count = 0
    for rec in _records(data, builder, fmt, encoding, delimiter):
        count += 1
        yield rec
    if not count:  # every file is accounted for: one without records says so
        what = "0 bytes" if not data else f"{len(data):,} bytes and no record"
        yield builder.quarantine(source, "empty", f"no ticket record in the file ({what})")


def _records(data: bytes, builder: _Builder, fmt: str, encoding: str | None, delimiter: str | None):
    if fmt == "parquet":
        yield from _read_parquet(data, builder)
        return
    decoded = decode_bytes(data, encoding)
    builder.encoding, builder.notes = decoded.encoding, list(decoded.notes)
    text = decoded.text
    if fmt in ("csv", "tsv"):
        yield from _read_csv(text, builder, delimiter or ("\t" if fmt == "tsv" else ","))
    elif fmt == "json" and text.lstrip().startswith("["):
        yield from _read_json_array(text, builder)
    else:
        yield from _read_jsonl(text, builder)


# ---------------------------------------------------------------------- records


class _Builder:
    """Turns one parsed record into a Doc or a Quarantine; tracks ids seen in the file."""

    def __init__(self, source: str, id_column: str, text_columns: tuple[str, ...], fmt: str, stage: str):
        self.source, self.id_column, self.text_columns = source, id_column, text_columns
        self.fmt, self.stage = fmt, stage
        self.encoding: str | None = None
        self.notes: list[str] = []  # the file's decoding notes, given to every record
        self.seen: dict[str, str] = {}  # id -> where it was first used

    def locator(self, n: int, tag: str = "L") -> str:
        return f"{self.source}#{tag}{n}"

    def quarantine(self, doc_id: str, reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=self.source, stage=self.stage, reason=reason, detail=detail)

    def record_id(self, rec: dict[str, Any]) -> str | None:
        doc_id = _id_string(rec.get(self.id_column))
        return None if doc_id is None else safe_id(doc_id)[0]

    def build(self, rec: dict[str, Any], n: int, tag: str = "L") -> Doc | Quarantine:
        where = f"{'line' if tag == 'L' else 'row'} {n}"
        raw_id = _id_string(rec.get(self.id_column))
        doc_id, id_note = safe_id(raw_id) if raw_id is not None else (None, None)
        if doc_id is None:
            return self.quarantine(
                self.locator(n, tag), "missing_id", f"{where}: no value in column {self.id_column!r}"
            )
        if doc_id in self.seen:
            return self.quarantine(
                doc_id, "duplicate_id", f"{where}: id {doc_id!r} already used at {self.seen[doc_id]}"
            )
        parts = [_as_text(rec.get(c)).strip() for c in self.text_columns]
        text = "\n".join(p for p in parts if p)
        if not text:
            cols = ", ".join(repr(c) for c in self.text_columns)
            detail = f"{where}: no text in {cols}"
            if not any(c in rec for c in self.text_columns):
                keys = [k for k in rec if k != self.id_column]
                shown = ", ".join(repr(str(k)) for k in keys[:10]) or "none"
                detail += f" (the record has no such key; its other keys: {shown}; --text-column names the text key)"
            return self.quarantine(doc_id, "empty_text", detail)
        if _ESCAPED.search(text):  # lone surrogates from JSON escapes: not encodable as UTF-8
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        skip = {self.id_column, *self.text_columns}
        meta = {k: v for k, v in rec.items() if k not in skip}
        meta["_line"] = n
        meta["_format"] = self.fmt
        if self.encoding:
            meta["_encoding"] = self.encoding
        self.seen[doc_id] = where
        notes = [*self.notes, *([id_note] if id_note else [])]
        return Doc(id=doc_id, source=self.source, text=text, pages=1, meta=meta, notes=notes)


def _id_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal, bool)):
        return str(value)
    return str(value)


# ---------------------------------------------------------------------- formats


def _bad_bytes_detail(where: str, encoding: str | None, text: str) -> str:
    count = len(_ESCAPED.findall(text))
    return f"{where}: {count} byte(s) invalid in {encoding or 'the file encoding'}"


def _read_jsonl(text: str, b: _Builder) -> Iterator[Doc | Quarantine]:
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.strip().lstrip("\ufeff")
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            if _ESCAPED.search(line):
                yield b.quarantine(
                    b.locator(n), "bad_encoding", _bad_bytes_detail(f"line {n}", b.encoding, line)
                )
            else:
                yield b.quarantine(b.locator(n), "malformed_json", f"line {n}: {e.msg} at column {e.colno}")
            continue
        if not isinstance(rec, dict):
            kind = type(rec).__name__
            yield b.quarantine(
                b.locator(n), "malformed_json", f"line {n}: expected a JSON object, got {kind}"
            )
            continue
        if _ESCAPED.search(line):
            doc_id = b.record_id(rec) or b.locator(n)
            yield b.quarantine(doc_id, "bad_encoding", _bad_bytes_detail(f"line {n}", b.encoding, line))
            continue
        yield b.build(rec, n)


def _read_json_array(text: str, b: _Builder) -> Iterator[Doc | Quarantine]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        yield b.quarantine(b.source, "malformed_json", f"not a valid JSON array: {e.msg} at line {e.lineno}")
        return
    for n, rec in enumerate(items, start=1):
        if not isinstance(rec, dict):
            yield b.quarantine(
                b.locator(n, "R"),
                "malformed_json",
                f"row {n}: expected a JSON object, got {type(rec).__name__}",
            )
            continue
        if any(_ESCAPED.search(v) for v in rec.values() if isinstance(v, str)):
            doc_id = b.record_id(rec) or b.locator(n, "R")
            yield b.quarantine(doc_id, "bad_encoding", f"row {n}: bytes invalid in {b.encoding}")
            continue
        yield b.build(rec, n, "R")


def _read_csv(text: str, b: _Builder, delimiter: str) -> Iterator[Doc | Quarantine]:
    if csv.field_size_limit() < 64 * 1024 * 1024:
        csv.field_size_limit(64 * 1024 * 1024)  # long ticket bodies
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as e:
        yield b.quarantine(b.source, "malformed_csv", f"cannot read the header: {e}")
        return
    if header is None:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    missing = _missing_columns(b, header)
    if missing:
        yield missing
        return
    id_index = header.index(b.id_column)
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield b.quarantine(
                b.locator(start), "malformed_csv", f"line {start}: {e}; the rest of the file was not read"
            )
            return
        last_line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        known_id = _id_string(row[id_index]) if id_index < len(row) else None
        qid = safe_id(known_id)[0] if known_id else b.locator(start)
        if any(_ESCAPED.search(v) for v in row):
            yield b.quarantine(
                qid, "bad_encoding", _bad_bytes_detail(f"line {start}", b.encoding, "".join(row))
            )
            continue
        if len(row) != len(header):
            yield b.quarantine(
                qid, "malformed_row", f"line {start}: {len(row)} field(s), the header has {len(header)}"
            )
            continue
        yield b.build(dict(zip(header, row)), start)


def _read_parquet(data: bytes, b: _Builder) -> Iterator[Doc | Quarantine]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        names = pf.schema_arrow.names
    except Exception as e:
        yield b.quarantine(b.source, "corrupt", f"cannot read the Parquet file: {e}")
        return
    missing = _missing_columns(b, names)
    if missing:
        yield missing
        return
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                n += 1
                yield b.build(rec, n, "R")
    except Exception as e:
        yield b.quarantine(b.locator(n + 1, "R"), "corrupt", f"row {n + 1} onwards cannot be read: {e}")


_ID_NAME = re.compile(r"id|(^|[_ -])(no|num|number|key)$|编号|单号")


def _missing_columns(b: _Builder, columns: Iterable[str]) -> Quarantine | None:
    """The ``missing_column`` quarantine of a file whose header lacks the id column or a text
    column (with the columns it has and the option that would read it), else None."""
    columns = [str(c) for c in columns]
    missing = [c for c in (b.id_column, *b.text_columns) if c not in columns]
    if not missing:
        return None
    shown = ", ".join(repr(c) for c in columns[:30]) + (" ..." if len(columns) > 30 else "")
    advice = []
    id_column = b.id_column
    if b.id_column in missing:
        ids = [c for c in columns if _ID_NAME.search(c.lower())]
        id_column = ids[0] if ids else None
        advice.append(f"--id-column {id_column}" if id_column else "--id-column NAME")
    if any(c in missing for c in b.text_columns):
        others = [c for c in columns if c != id_column and c not in b.text_columns]
        if len(others) == 1:
            advice.append(f"--text-column {others[0]}")
        elif others:
            advice.append(
                f"--text-column NAME with NAME one of {', '.join(repr(c) for c in others[:10])} (repeat it to join several)"
            )
    detail = (
        f"no column {', '.join(repr(c) for c in missing)} in the {b.fmt} header (columns: {shown}); "
        f"the file was not read: {' and '.join(advice) or 'set the id and text columns'} would read it"
    )
    return b.quarantine(b.source, "missing_column", detail)
