"""One way to read a document: bytes in, the clean text every offset refers to out.

``seqgpt extract``/``compare`` (a file or stdin), the app (an upload), ``seqgpt serve`` (a
request) and ``seqgpt run`` (every file of a folder or bucket) all turn bytes into text
here, so the same file gives the same text -- and therefore the same values at the same
offsets -- wherever it is read.

**One table of readers**, :data:`READERS` (kind, extensions, size limit, parse)::

    kind     extensions                              reader
    pdf      .pdf                                    connectors.pdf.read_pdf (pypdfium2)
    image    .png .jpg .jpeg .tif .tiff .bmp .webp   connectors.images.read_image (OCR)
             .gif
    docx     .docx .docm                             connectors.word.read_docx (python-docx)
    email    .eml                                    connectors.mail.read_email (+ attachments)
    html     .html .htm .xhtml                       connectors.web.read_html (visible text)
    tickets  .jsonl .ndjson .json .csv .tsv          connectors.tickets.read_tickets (per record)
             .parquet .pq (also .gz)
    text     .txt .text .md                          parse_text

Three steps, each usable alone (the pipeline runs them as its read, OCR and clean stages):

:func:`parse_documents` ``(data, source, kind, options)``
    bytes -> raw :class:`Doc` / :class:`Quarantine` records, never an exception for bad
    input: one for a PDF, image, Word, HTML or text file, one per ticket of a ticket file,
    the message and one per attachment of an e-mail.  A file over its kind's size limit and
    a document over ``max_chars`` characters are quarantined (``too_large``).  Pages that
    need OCR (PDF pages without a usable text layer, every frame of an image) are listed in
    ``meta["ocr_todo"]``, their text left empty, the bytes kept in ``Doc.blob``.
:func:`ocr_document` ``(doc, options, engine)``
    a raw ``Doc`` with pages to OCR -> the ``Doc`` with their text filled in
    (``connectors.ocr``: PP-OCRv4 from the rapidocr-onnxruntime wheel) and ``meta["ocr"]``
    (``mean``/``min`` line score, lines, pages, DPI) and ``meta["ocr_lines"]`` (each line's
    page, box, text and score), or a ``Quarantine`` (``stage="ocr"``: ``ocr_empty`` when OCR
    finds no text at all, ``ocr_error`` if rendering or the model fails).  What it did goes
    into ``notes`` (``ocr: page 2 (no text layer): 31 lines, mean score 0.98``; a page where
    OCR finds nothing in a document that has other text is a note too).  A document with
    nothing to OCR is returned as it is.
:func:`clean_document` ``(doc, kind)``
    a raw ``Doc`` -> the cleaned ``Doc`` (:func:`connectors.clean.clean_text`: with page
    layout repair for PDFs and OCR'd images, without it for the other kinds; the cleaner's
    notes in ``Doc.notes``; OCR lines located in the cleaned text,
    :func:`connectors.ocr.locate_lines`), or a ``Quarantine`` (``stage="clean"``:
    ``empty_text`` when nothing is left, ``clean_error`` if the cleaner fails).

:func:`read_document` ``(data, name, kind=None)`` is the three steps for one file
(``kind=None`` sniffs it with :func:`sniff_kind`); an e-mail gives its message (its
attachments are documents of their own: :func:`read_documents` returns all of them).

Limits (:class:`ReadOptions`, one set for every caller): ``max_bytes`` per file
(:data:`DEFAULT_MAX_BYTES`, 64 MiB; a text or HTML file also at most 4 bytes per allowed
character), ``max_chars`` per document's text (:data:`DEFAULT_MAX_CHARS`, 2,000,000, about
1,000 pages); images at most ``connectors.images.MAX_IMAGE_PIXELS`` pixels a frame and at
least ``MIN_IMAGE_SIDE`` pixels a side.  ``ocr`` (on by default) and ``ocr_dpi`` (200) say
whether and at what resolution pages without a text layer are read.

Text files: UTF-8 (with or without BOM), UTF-16 with a BOM, UTF-8 with a few invalid bytes
(every valid character kept), else the legacy encoding the evidence favours (GB18030, Big5,
cp1252 ...: :func:`connectors.tickets.decode_bytes`); a reading that is not certain adds an
``encoding_uncertain: ...`` note to the document (and so to its output row).  A file with
NUL bytes (binary, or UTF-16 without a BOM) or with more than ``max(10, 1%)`` undecodable
characters is ``bad_encoding``; fewer undecodable bytes become U+FFFD.  An empty or blank
file is ``empty``; so is a ticket file without a single record.

Imports only the standard library at module level (each reader imports its own packages
when a file of its kind is read; the OCR model is loaded on the first page to OCR).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from connectors.records import Doc, Quarantine

log = logging.getLogger("seqgpt.documents")

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_CHARS",
    "KINDS",
    "READERS",
    "ReadOptions",
    "Reader",
    "clean_document",
    "kind_for_name",
    "ocr_document",
    "parse_documents",
    "parse_text",
    "read_document",
    "read_documents",
    "size_limit",
    "sniff_kind",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # one file
DEFAULT_MAX_CHARS = 2_000_000  # one document's text (about 1,000 pages)
PARSE, OCR, CLEAN = "parse", "ocr", "clean"  # the stage names of the three steps' quarantines


@dataclass(frozen=True)
class ReadOptions:
    """How documents are read: limits, the PDF engine, OCR (on/off, the DPI PDF pages are
    rendered at, onnxruntime threads), and for ticket files the id and text columns and the
    format (``None``: by extension)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_chars: int = DEFAULT_MAX_CHARS
    pdf_engine: str = "pdfium"
    id_column: str = "id"
    text_columns: tuple[str, ...] = ("text",)
    ticket_format: str | None = None
    ocr: bool = True
    ocr_dpi: int = 200
    ocr_threads: int | None = 1

    def __post_init__(self) -> None:
        if isinstance(self.text_columns, str):
            object.__setattr__(self, "text_columns", (self.text_columns,))
        else:
            object.__setattr__(self, "text_columns", tuple(self.text_columns))
        if self.max_bytes < 1 or self.max_chars < 1:
            raise ValueError("max_bytes and max_chars must be at least 1")
        if not 50 <= self.ocr_dpi <= 600:
            raise ValueError("ocr_dpi must be between 50 and 600")


# -------------------------------------------------------------------------- readers
Parse = Callable[[bytes, str, str, ReadOptions], Iterable[Doc | Quarantine]]


@dataclass(frozen=True)
class Reader:
    """One input kind: the file ``extensions`` it takes (lower case; a ``.gz`` after them is
    allowed where ``gzip`` is True), its size ``limit`` (bytes, None: streamed, no limit),
    ``parse(data, source, doc_id, options)`` -> raw records, and whether its text is cleaned
    with page-layout repair (``layout``: PDF pages and OCR'd images)."""

    kind: str
    extensions: tuple[str, ...]
    parse: Parse
    limit: Callable[[ReadOptions], int | None]
    layout: bool = False
    gzip: bool = False


def _whole(options: ReadOptions) -> int:
    return options.max_bytes


def _text_limit(options: ReadOptions) -> int:  # more than 4 bytes per allowed character cannot fit
    return min(options.max_bytes, 4 * options.max_chars)


def _pdf(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    from connectors.pdf import read_pdf

    return [
        read_pdf(
            data,
            source,
            doc_id=doc_id,
            engine=options.pdf_engine,
            max_bytes=options.max_bytes,
            ocr=options.ocr,
        )
    ]


def _image(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    from connectors.images import read_image

    if not options.ocr:
        detail = "an image file is read only by OCR, which is off"
        return [Quarantine(id=doc_id, source=source, stage=PARSE, reason="no_text_layer", detail=detail)]
    return [read_image(data, source, doc_id)]


def _docx(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    from connectors.word import read_docx

    return [read_docx(data, source, doc_id, options.max_bytes)]


def _email(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    from connectors.mail import read_email

    def attachment(blob: bytes, src: str, kind: str, rid: str) -> Iterator[Doc | Quarantine]:
        return parse_documents(blob, src, kind, options, doc_id=rid)

    return read_email(data, source, doc_id, attachment)


def _html(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    from connectors.web import read_html

    return [read_html(data, source, doc_id)]


def _tickets(data: bytes, source: str, doc_id: str, options: ReadOptions) -> Iterable[Doc | Quarantine]:
    from connectors.tickets import read_tickets

    return read_tickets(
        data, source, options.ticket_format, id_column=options.id_column, text_columns=options.text_columns
    )


def _text(data: bytes, source: str, doc_id: str, options: ReadOptions) -> list[Doc | Quarantine]:
    return [parse_text(data, source, doc_id)]


READERS: tuple[Reader, ...] = (
    Reader("pdf", (".pdf",), _pdf, _whole, layout=True),
    Reader(
        "image",
        (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"),
        _image,
        _whole,
        layout=True,
    ),
    Reader("docx", (".docx", ".docm"), _docx, _whole),
    Reader("email", (".eml",), _email, _whole),
    Reader("html", (".html", ".htm", ".xhtml"), _html, _text_limit),
    Reader(
        "tickets",
        (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq"),
        _tickets,
        lambda o: None,
        gzip=True,
    ),
    Reader("text", (".txt", ".text", ".md"), _text, _text_limit, gzip=True),
)
KINDS = tuple(r.kind for r in READERS)
_BY_KIND = {r.kind: r for r in READERS}


def reader(kind: str) -> Reader:
    """The :class:`Reader` of ``kind`` (``ValueError`` for an unknown kind)."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise ValueError(f"unknown document kind {kind!r} (one of {', '.join(KINDS)})") from None


def kind_for_name(name: str) -> str | None:
    """The kind whose extensions ``name`` ends with (ticket and text files may add ``.gz``),
    or None."""
    low = name.lower()
    for r in READERS:
        if low.endswith(r.extensions) or (r.gzip and low.endswith(tuple(e + ".gz" for e in r.extensions))):
            return r.kind
    return None


def supported_extensions() -> str:
    """The extensions every kind takes, for messages: ``.pdf / .png .jpg ... / ...``."""
    return " / ".join(" ".join(r.extensions) for r in READERS)


def sniff_kind(data: bytes, name: str) -> str:
    """The kind of one file given as bytes (an upload, stdin, a request): by its first bytes
    (PDF, image, a zip holding ``word/``) or else by its name's extension (``tickets`` is read
    as ``text`` here: one document), else ``text``."""
    from connectors.images import is_image

    if data[:5] == b"%PDF-":
        return "pdf"
    if is_image(data):
        return "image"
    if data[:4] == b"PK\x03\x04" and b"word/" in data[:65536]:
        return "docx"
    by_name = kind_for_name(name)
    if by_name and by_name != "tickets":
        return by_name
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def size_limit(kind: str, options: ReadOptions = ReadOptions()) -> int | None:
    """The most bytes a file of ``kind`` may have (None: no limit, ticket files are streamed
    record by record)."""
    return reader(kind).limit(options)


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
    """The raw records of one file of ``kind`` (:data:`KINDS`): one for a PDF, image, Word,
    HTML or text file (``doc_id``, default ``source``), one per ticket of a ticket file, the
    message and one per attachment of an e-mail.  Every record carries its kind in
    ``meta["_kind"]`` (an e-mail's attachments have their own).

    Raises ``ValueError`` for an unknown kind (a ticket file whose header lacks the id or
    text column is a ``missing_column`` quarantine, one without records ``empty``).
    """
    doc_id = source if doc_id is None else doc_id
    r = reader(kind)
    limit = r.limit(options)
    if limit is not None and len(data) > limit:
        yield too_large(source, doc_id, kind, len(data), limit)
        return
    for rec in r.parse(data, source, doc_id, options):
        if isinstance(rec, Doc):
            rec.meta.setdefault("_kind", kind)
            if len(rec.text) > options.max_chars:
                detail = f"{len(rec.text):,} characters is over the limit of {options.max_chars:,}"
                rec = Quarantine(id=rec.id, source=rec.source, stage=PARSE, reason="too_large", detail=detail)
        yield rec


# ------------------------------------------------------------------------------ OCR
def needs_ocr(doc: Doc) -> bool:
    """True while ``doc`` has pages waiting for OCR (``meta["ocr_todo"]``)."""
    todo = doc.meta.get("ocr_todo")
    return bool(todo and todo.get("pages"))


def ocr_document(doc: Doc, options: ReadOptions = ReadOptions(), engine: Any = None) -> Doc | Quarantine:
    """``doc`` with the text of its pages awaiting OCR filled in (module docstring); ``engine``
    an ``connectors.ocr.OcrEngine`` (default: this process's, :func:`connectors.ocr.engine`)."""
    if not needs_ocr(doc):
        return doc
    from connectors.images import page_images
    from connectors.ocr import DROP_SCORE, ocr_summary, page_text
    from connectors.ocr import engine as default_engine

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc.id, source=doc.source, stage=OCR, reason=reason, detail=detail)

    todo = doc.meta["ocr_todo"]
    why = todo.get("why") or {}
    is_pdf = todo.get("kind") == "pdf"
    pages = doc.text.split("\f")
    lines_all = []
    notes = []
    try:
        eng = engine or default_engine(options.ocr_threads)
        for index, image in page_images(doc, options.ocr_dpi):
            every = eng.read_image_all(image, page=index)
            lines = [ln for ln in every if ln.score >= DROP_SCORE]
            noise = len(every) - len(lines)
            pages[index] = page_text(lines)
            lines_all += lines
            label = f"page {index + 1}" + (f" ({why[str(index)]})" if str(index) in why else "")
            size = f"{image.width}x{image.height} px"
            if lines:
                mean = sum(ln.score for ln in lines) / len(lines)
                note = f"ocr: {label}: {len(lines)} lines, mean score {mean:.3f}, {size}"
            else:
                note = f"ocr: {label}: OCR found no text ({size})"
            if noise:
                note += f"; {noise} line(s) below score {DROP_SCORE} left out as noise"
            notes.append(note)
    except Exception as e:  # a rendering or model failure on this document: it alone is quarantined
        return quarantine("ocr_error", f"{type(e).__name__}: {e}")
    if not lines_all and not any(p.strip() for p in pages):
        what = "page(s) " + ", ".join(str(int(p) + 1) for p in todo["pages"])
        return quarantine(
            "ocr_empty",
            f"OCR found no text on {what} ({'a scan' if is_pdf else 'an image'}, {options.ocr_dpi} DPI)",
        )
    meta = {k: v for k, v in doc.meta.items() if k != "ocr_todo"}
    meta["ocr"] = ocr_summary(lines_all, [int(p) for p in todo["pages"]], options.ocr_dpi if is_pdf else None)
    meta["ocr_lines"] = [ln.to_dict() for ln in lines_all]
    text = "\f".join(pages)
    if len(text) > options.max_chars:
        detail = f"{len(text):,} characters is over the limit of {options.max_chars:,}"
        return Quarantine(id=doc.id, source=doc.source, stage=OCR, reason="too_large", detail=detail)
    return replace(doc, text=text, meta=meta, notes=[*doc.notes, *notes], blob=None)


# ---------------------------------------------------------------------------- clean
def clean_document(doc: Doc, kind: str) -> Doc | Quarantine:
    """``doc`` with its text cleaned (PDFs and OCR'd images with page-layout repair:
    headers, footers and wrapped lines; the other kinds keep their line breaks) and the
    cleaner's notes in ``notes``; OCR lines get their offsets in the cleaned text.  A
    :class:`Quarantine` when no text is left or the cleaner fails.  ``kind`` is the file's;
    a record's own ``meta["_kind"]`` (an e-mail attachment's) wins."""
    from connectors.clean import clean_text

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc.id, source=doc.source, stage=CLEAN, reason=reason, detail=detail)

    kind = doc.meta.get("_kind") or kind
    layout = _BY_KIND[kind].layout if kind in _BY_KIND else False
    try:
        text, notes = clean_text(doc.text, layout=layout)
    except Exception as e:  # a cleaner bug on an exotic text: this document only
        return quarantine("clean_error", f"{type(e).__name__}: {e}")
    if not text.strip():
        return quarantine("empty_text", "no text left after cleaning")
    meta = doc.meta
    if meta.get("ocr_lines"):
        from connectors.ocr import OcrLine, locate_lines

        lines = locate_lines(text, [OcrLine.from_dict(d) for d in meta["ocr_lines"]])
        meta = {**meta, "ocr_lines": [ln.to_dict() for ln in lines]}
    return replace(doc, text=text, meta=meta, notes=[*doc.notes, *notes])


# ------------------------------------------------------------------------- one file
def read_documents(
    data: bytes,
    name: str,
    kind: str | None = None,
    options: ReadOptions = ReadOptions(),
    *,
    engine: Any = None,
) -> list[Doc | Quarantine]:
    """Every document of one file, parsed, OCR'd where needed and cleaned: the message and
    the attachments of an e-mail, the one document of any other file.  ``kind`` ``None``
    sniffs it (:func:`sniff_kind`); ``tickets`` is not read here (a file of many records)."""
    kind = kind or sniff_kind(data, name)
    if kind == "tickets":
        raise ValueError("read_document reads one document, not a ticket file (use parse_documents)")
    out: list[Doc | Quarantine] = []
    for rec in parse_documents(data, name, kind, options):
        if isinstance(rec, Doc):
            rec = ocr_document(rec, options, engine)
        if isinstance(rec, Doc):
            rec = clean_document(rec, kind)
        out.append(rec)
    return out


def read_document(
    data: bytes,
    name: str,
    kind: str | None = None,
    options: ReadOptions = ReadOptions(),
    *,
    engine: Any = None,
) -> Doc | Quarantine:
    """One file, parsed, OCR'd where needed and cleaned: the text ``seqgpt run`` extracts
    from (an e-mail: its message, the first of :func:`read_documents`).  ``kind`` ``None``
    sniffs it (:func:`sniff_kind`)."""
    return read_documents(data, name, kind, options, engine=engine)[0]


def ocr_meta_json(meta: dict[str, Any]) -> str:
    """The OCR part of a document's ``meta`` as JSON (``{}`` when it was not OCR'd)."""
    return json.dumps({k: meta[k] for k in ("ocr", "ocr_lines") if k in meta}, ensure_ascii=False)
