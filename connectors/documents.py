"""One way to read a document: bytes in, the clean text every offset refers to out.

``seqgpt extract``/``compare`` (a file or stdin), the app (an upload) and ``seqgpt run``
(every file of a folder or bucket) all turn bytes into text here, so the same PDF or the
same ticket gives the same text -- and therefore the same values at the same offsets --
wherever it is read.  Two steps, each usable alone (the pipeline runs them as its read
and clean stages):

:func:`parse_documents` ``(data, source, kind, options)``
    bytes -> raw :class:`Doc` / :class:`Quarantine` records, never an exception for bad
    input: ``pdf`` through :func:`connectors.pdf.read_pdf` (pages joined with ``\\f``),
    ``text`` through :func:`parse_text`, ``tickets`` through
    :func:`connectors.tickets.read_tickets` (one record per ticket).  A file over the
    size limit and a document over ``max_chars`` characters are quarantined
    (``too_large``).
:func:`clean_document` ``(doc, kind)``
    a raw ``Doc`` -> the cleaned ``Doc`` (:func:`connectors.clean.clean_text`: with page
    layout repair for PDFs, without it for text and tickets; the cleaner's notes in
    ``Doc.notes``), or a ``Quarantine`` (``stage="clean"``: ``empty_text`` when nothing is
    left, ``clean_error`` if the cleaner fails).

:func:`read_document` ``(data, name, kind=None)`` is both steps for one document (a PDF or
a text file; ``kind=None`` sniffs it with :func:`sniff_kind`): what the CLI and the app call.

Limits (:class:`ReadOptions`, one set for every caller): ``max_bytes`` per PDF or text file
(:data:`DEFAULT_MAX_BYTES`, 64 MiB; a text file also at most 4 bytes per allowed
character), ``max_chars`` per document's text (:data:`DEFAULT_MAX_CHARS`, 2,000,000, about
1,000 pages).

Text files: UTF-8 (with or without BOM), UTF-16 with a BOM, UTF-8 with a few invalid bytes
(every valid character kept), else the legacy encoding the evidence favours (GB18030, Big5,
cp1252 ...: :func:`connectors.tickets.decode_bytes`); a reading that is not certain adds an
``encoding_uncertain: ...`` note to the document (and so to its output row).  A file with
NUL bytes (binary, or UTF-16 without a BOM) or with more than ``max(10, 1%)`` undecodable
characters is ``bad_encoding``; fewer undecodable bytes become U+FFFD.  An empty or blank
file is ``empty``; so is a ticket file without a single record.

Imports only the standard library at module level (pypdfium2 and pyarrow when a PDF or a
Parquet ticket file is read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from connectors.records import Doc, Quarantine

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_CHARS",
    "KINDS",
    "ReadOptions",
    "clean_document",
    "parse_documents",
    "parse_text",
    "read_document",
    "size_limit",
    "sniff_kind",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one PDF or text file
DEFAULT_MAX_CHARS = 2_000_000  # one document's text (about 1,000 pages)
KINDS = ("pdf", "text", "tickets")
PARSE, CLEAN = "parse", "clean"  # the stage names of the two steps' quarantines


@dataclass(frozen=True)
class ReadOptions:
    """How documents are read: limits, the PDF engine, and for ticket files the id and text
    columns and the format (``None``: by extension)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_chars: int = DEFAULT_MAX_CHARS
    pdf_engine: str = "pdfium"
    id_column: str = "id"
    text_columns: tuple[str, ...] = ("text",)
    ticket_format: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.text_columns, str):
            object.__setattr__(self, "text_columns", (self.text_columns,))
        else:
            object.__setattr__(self, "text_columns", tuple(self.text_columns))
        if self.max_bytes < 1 or self.max_chars < 1:
            raise ValueError("max_bytes and max_chars must be at least 1")


def sniff_kind(data: bytes, name: str) -> str:
    """``pdf`` for bytes with a PDF header or a ``.pdf`` name, else ``text`` (one document)."""
    return "pdf" if data[:5] == b"%PDF-" or name.lower().endswith(".pdf") else "text"


def size_limit(kind: str, options: ReadOptions = ReadOptions()) -> int | None:
    """The most bytes a file of ``kind`` may have (None: no limit, ticket files are streamed
    record by record)."""
    if kind == "pdf":
        return options.max_bytes
    if kind == "text":  # more than 4 bytes per allowed character cannot fit
        return min(options.max_bytes, 4 * options.max_chars)
    return None


def too_large(source: str, doc_id: str, kind: str, size: int, limit: int) -> Quarantine:
    """The quarantine of a file over :func:`size_limit` (checked before it is read, when the
    listing knows the size, and again after)."""
    detail = f"{size:,} bytes is over the limit of {limit:,} bytes for a {kind} file"
    return Quarantine(id=doc_id, source=source, stage=PARSE, reason="too_large", detail=detail)


def parse_text(data: bytes, source: str, doc_id: str | None = None) -> Doc | Quarantine:
    """A plain text file as one raw :class:`Doc` (module docstring for the encodings)."""
    from connectors.tickets import decode_bytes

    doc_id = source if doc_id is None else doc_id

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=source, stage=PARSE, reason=reason, detail=detail)

    if not data.strip():
        return quarantine("empty", "no text in the file")
    decoded = decode_bytes(data)
    text, encoding = decoded.text, decoded.encoding
    if "\x00" in text:
        return quarantine(
            "bad_encoding", "NUL bytes: a binary file, or UTF-16 text without a byte-order mark"
        )
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    if bad > max(10, len(text) // 100):
        return quarantine(
            "bad_encoding", f"{bad} bytes are invalid in UTF-8, GB18030 and every other encoding tried"
        )
    if bad:
        text = "".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in text)
    meta = {"_encoding": encoding, "bytes": len(data)}
    return Doc(id=doc_id, source=source, text=text, pages=1, meta=meta, notes=list(decoded.notes))


def parse_documents(
    data: bytes, source: str, kind: str, options: ReadOptions = ReadOptions(), *, doc_id: str | None = None
) -> Iterator[Doc | Quarantine]:
    """The raw records of one file of ``kind`` (``pdf``, ``text`` or ``tickets``): one for a
    PDF or text file (``doc_id``, default ``source``), one per ticket of a ticket file.

    Raises ``ValueError`` for an unknown kind (a ticket file whose header lacks the id or
    text column is a ``missing_column`` quarantine, one without records ``empty``).
    """
    doc_id = source if doc_id is None else doc_id
    limit = size_limit(kind, options)
    if limit is not None and len(data) > limit:
        yield too_large(source, doc_id, kind, len(data), limit)
        return
    if kind == "pdf":
        from connectors.pdf import read_pdf

        records = [
            read_pdf(data, source, doc_id=doc_id, engine=options.pdf_engine, max_bytes=options.max_bytes)
        ]
    elif kind == "text":
        records = [parse_text(data, source, doc_id)]
    elif kind == "tickets":
        from connectors.tickets import read_tickets

        records = read_tickets(
            data,
            source,
            options.ticket_format,
            id_column=options.id_column,
            text_columns=options.text_columns,
        )
    else:
        raise ValueError(f"unknown document kind {kind!r} (one of {', '.join(KINDS)})")
    for rec in records:
        if isinstance(rec, Doc) and len(rec.text) > options.max_chars:
            detail = f"{len(rec.text):,} characters is over the limit of {options.max_chars:,}"
            rec = Quarantine(id=rec.id, source=rec.source, stage=PARSE, reason="too_large", detail=detail)
        yield rec


def clean_document(doc: Doc, kind: str) -> Doc | Quarantine:
    """``doc`` with its text cleaned (PDFs with page-layout repair: headers, footers and
    wrapped lines; text and tickets keep their line breaks) and the cleaner's notes in
    ``notes``; a :class:`Quarantine` when no text is left or the cleaner fails."""
    from connectors.clean import clean_text

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc.id, source=doc.source, stage=CLEAN, reason=reason, detail=detail)

    try:
        text, notes = clean_text(doc.text, layout=kind == "pdf")
    except Exception as e:  # a cleaner bug on an exotic text: this document only
        return quarantine("clean_error", f"{type(e).__name__}: {e}")
    if not text.strip():
        return quarantine("empty_text", "no text left after cleaning")
    return replace(doc, text=text, notes=[*doc.notes, *notes])


def read_document(
    data: bytes, name: str, kind: str | None = None, options: ReadOptions = ReadOptions()
) -> Doc | Quarantine:
    """One PDF or text file, parsed and cleaned: the text ``seqgpt run`` extracts from.
    ``kind`` ``None`` sniffs it (:func:`sniff_kind`)."""
    kind = kind or sniff_kind(data, name)
    if kind not in ("pdf", "text"):
        raise ValueError(f"read_document reads one PDF or text file, not {kind!r}")
    (rec,) = parse_documents(data, name, kind, options)
    return rec if isinstance(rec, Quarantine) else clean_document(rec, kind)
