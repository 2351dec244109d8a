"""PDF reader: bytes in, a :class:`Doc` or a :class:`Quarantine` out -- never an exception.

Text is taken page by page with pypdfium2 (``engine="pdfium"``, the default: 1,200-1,400
pages/s on one core) or pdfplumber (``engine="pdfplumber"``: ~30 pages/s, kept for its
layout-aware extraction and as an optional ``fallback=True`` when pdfium cannot open a
file).  Pages are joined with ``"\\f"`` (form feed) so the cleaner can find page boundaries
(repeated headers and footers); a form feed inside a page becomes ``"\\n"``, line ends are
``"\\n"``, NULs and other control characters (except tab) are dropped.  ``Doc.pages`` is the
page count, ``Doc.id`` the ``doc_id`` argument or else ``source``.

``Doc.meta``: ``engine``, ``bytes`` (file size), ``blank_pages`` (how many pages had no
text), ``unmapped_chars`` when some glyphs have no Unicode mapping (pdfplumber writes them
as ``(cid:123)``, pdfium as U+FFFD: the text layer is partly garbage), ``fallback_from``
when the fallback engine read it, plus ``title``/``author`` from the PDF's info dictionary.

Quarantine reasons (``Quarantine.reason``; ``detail`` says more, ``stage`` is ``"parse"``):

``too_large``
    more bytes than ``max_bytes`` (default ``connectors.documents.DEFAULT_MAX_BYTES``, 64 MiB,
    the one limit of every reader); checked before parsing.
``empty``
    zero bytes, or a valid PDF with zero pages.
``encrypted``
    password-protected (a user password is needed to open it).  PDFs with only an owner
    password (printing/copying restrictions) open normally and are read.
``corrupt``
    cannot be parsed: not a PDF at all (no ``%PDF-`` header in the first 1 KiB, e.g.
    binary garbage named ``.pdf``), truncated, broken cross-reference table ...
``no_text_layer``
    pages exist but none has extractable text: a scan or image-only PDF that needs OCR.

pypdfium2 is not thread-safe: call this from one thread per process (Ray tasks and actors
are processes, which is fine).
"""

from __future__ import annotations

import io
import re
from typing import Any

from connectors.documents import DEFAULT_MAX_BYTES
from connectors.records import Doc, Quarantine

__all__ = ["ENGINES", "QUARANTINE_REASONS", "read_pdf"]

ENGINES = ("pdfium", "pdfplumber")
QUARANTINE_REASONS = ("too_large", "empty", "encrypted", "corrupt", "no_text_layer")
STAGE = "parse"
_SECOND_OPINION_MAX_BYTES = 32 * 1024 * 1024  # pdfplumber re-checks pdfium failures up to this size

_UNMAPPED = re.compile(r"\(cid:\d+\)|\ufffd")  # glyphs without a Unicode mapping
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"\r\n|[\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]")


class _Encrypted(Exception):
    pass


class _Corrupt(Exception):
    pass


def clean_page_text(text: str) -> str:
    """Normalize one page's text: ``\\n`` line ends, no form feeds, no control characters."""
    return _CONTROL.sub("", _BREAKS.sub("\n", text))


def read_pdf(
    data: bytes,
    source: str,
    *,
    doc_id: str | None = None,
    engine: str = "pdfium",
    fallback: bool = False,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    stage: str = STAGE,
) -> Doc | Quarantine:
    """Read one PDF.  Returns a :class:`Doc`, or a :class:`Quarantine` saying why not.

    When pdfium cannot open a file, pdfplumber gives the verdict (``empty``, ``encrypted`` or
    ``corrupt``; files up to 32 MB, larger ones are ``corrupt``): pdfium's error codes are
    process-global and can be stale, which would make the reason depend on the previous
    file.  With ``fallback=True`` pdfplumber's text is used when it can read such a file
    (``meta["fallback_from"] = "pdfium"``); without it that file is ``corrupt``.
    ``max_bytes=None`` removes the size limit.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r} (choose one of {', '.join(ENGINES)})")
    doc_id = source if doc_id is None else doc_id

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=source, stage=stage, reason=reason, detail=detail)

    size = len(data)
    if max_bytes is not None and size > max_bytes:
        return quarantine("too_large", f"{size:,} bytes is over the limit of {max_bytes:,} bytes")
    if size == 0:
        return quarantine("empty", "the file has zero bytes")
    if b"%PDF-" not in data[:1024]:
        head = data[:8].hex(" ")
        return quarantine(
            "corrupt", f"not a PDF: no %PDF- header in the first 1024 bytes (starts with {head})"
        )

    name = engine
    try:
        pages, info = _PAGE_READERS[engine](data)
    except _Encrypted as e:
        return quarantine("encrypted", f"password-protected PDF ({e})")
    except Exception as e:  # _Corrupt, or a reader bug on an exotic file: never raise
        error = f"{engine}: {e}" if isinstance(e, _Corrupt) else f"{engine}: {type(e).__name__}: {e}"
        if engine != "pdfium" or not (fallback or size <= _SECOND_OPINION_MAX_BYTES):
            return quarantine("corrupt", f"cannot parse the PDF ({error})")
        # pdfium's error code is process-global and not reset on every failure (a PDF with
        # zero pages fails without setting it), so its reason cannot be trusted: ask
        # pdfplumber for a deterministic verdict (empty / encrypted / corrupt)
        name = "pdfplumber"
        try:
            pages, info = _pdfplumber_pages(data)
        except _Encrypted as e2:
            return quarantine("encrypted", f"password-protected PDF ({e2})")
        except Exception as e2:
            detail = f"{e2}" if isinstance(e2, _Corrupt) else f"{type(e2).__name__}: {e2}"
            return quarantine("corrupt", f"cannot parse the PDF ({error}; pdfplumber: {detail})")
        if pages and not fallback:
            return quarantine(
                "corrupt", f"cannot parse the PDF ({error}; pdfplumber can: read it with fallback=True)"
            )

    if not pages:
        return quarantine("empty", "the PDF has zero pages")
    texts = [clean_page_text(t) for t in pages]
    blank = sum(1 for t in texts if not t.strip())
    if blank == len(texts):
        images = info.pop("images", None)
        found = f", {images} image(s)" if images else ""
        return quarantine(
            "no_text_layer",
            f"{len(texts)} page(s){found} and no extractable text: a scan or image-only PDF (needs OCR)",
        )
    info.pop("images", None)
    meta: dict[str, Any] = {"engine": name, "bytes": size, "blank_pages": blank}
    unmapped = sum(len(_UNMAPPED.findall(t)) for t in texts)
    if unmapped:
        meta["unmapped_chars"] = unmapped
    if name != engine:
        meta["fallback_from"] = engine
    meta.update({k: v for k, v in info.items() if v})
    return Doc(id=doc_id, source=source, text="\f".join(texts), pages=len(texts), meta=meta)


# ---------------------------------------------------------------------- engines


def _pdfium_pages(data: bytes) -> tuple[list[str], dict[str, Any]]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        code = getattr(e, "err_code", None)
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            # an encrypted PDF names its /Encrypt dictionary in the (never compressed) trailer
            # or cross-reference stream dictionary; without it the code is a stale one
            if b"/Encrypt" in data:
                raise _Encrypted(str(e)) from None
        raise _Corrupt(str(e)) from None
    try:
        texts: list[str] = []
        images = 0
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
                if not text.strip():
                    images += sum(
                        1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2)
                    )
            finally:
                page.close()
            texts.append(text)
        info: dict[str, Any] = {"images": images}
        try:
            md = pdf.get_metadata_dict(skip_empty=True)
            info["title"] = str(md.get("Title", "")).strip()
            info["author"] = str(md.get("Author", "")).strip()
        except Exception:
            pass
        return texts, info
    finally:
        pdf.close()


def _pdfplumber_pages(data: bytes) -> tuple[list[str], dict[str, Any]]:
    import pdfplumber

    try:
        from pdfminer.pdfdocument import PDFPasswordIncorrect
    except ImportError:  # pragma: no cover - pdfminer ships with pdfplumber
        PDFPasswordIncorrect = ()  # type: ignore[assignment]

    def is_password(e: BaseException) -> bool:
        seen: BaseException | None = e
        while seen is not None:
            if isinstance(seen, PDFPasswordIncorrect) or "password" in type(seen).__name__.lower():
                return True
            seen = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        return False

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as e:
        if is_password(e):
            raise _Encrypted(repr(e)) from None
        raise _Corrupt(repr(e)) from None
    try:
        texts: list[str] = []
        images = 0
        try:
            for page in pdf.pages:
                text = page.extract_text() or ""
                if not text.strip():
                    images += len(page.images)
                texts.append(text)
        except Exception as e:
            if is_password(e):
                raise _Encrypted(repr(e)) from None
            raise _Corrupt(repr(e)) from None
        md = pdf.metadata or {}
        info = {"images": images, "title": _plain(md.get("Title")), "author": _plain(md.get("Author"))}
        return texts, info
    finally:
        pdf.close()


def _plain(value: Any) -> str:
    if isinstance(value, bytes):
        for enc in ("utf-16", "utf-8", "latin-1"):
            try:
                return value.decode(enc).strip()
            except UnicodeDecodeError:
                continue
    return str(value).strip() if value is not None else ""


_PAGE_READERS = {"pdfium": _pdfium_pages, "pdfplumber": _pdfplumber_pages}
