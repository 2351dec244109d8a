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
    pages exist but none has extractable text, and OCR cannot help: OCR is off
    (``ocr=False``), or no page holds an image.

Pages without a usable text layer (**a per-page decision**, :func:`page_needs_ocr`): a page
whose text layer is empty and that holds an image (a scan, a photographed page), or whose
text layer is mostly glyphs without a Unicode mapping (more than :data:`UNUSABLE_SHARE` of
its characters), is left empty in ``Doc.text`` and listed in ``meta["ocr_todo"]``
(``{"pages": [0-based indexes], "why": {index: reason}}``), with the PDF's bytes in
``Doc.blob``: ``connectors.documents.ocr_document`` (the pipeline's OCR stage) renders and
reads exactly those pages.  Pages with a text layer keep it, untouched by OCR.

pypdfium2 is not thread-safe: call this from one thread per process (Ray tasks and actors
are processes, which is fine).
"""

from __future__ import annotations

import io
import re
from typing import Any

from connectors.documents import DEFAULT_MAX_BYTES
from connectors.records import Doc, Quarantine

__all__ = ["ENGINES", "QUARANTINE_REASONS", "UNUSABLE_SHARE", "page_needs_ocr", "read_pdf"]

ENGINES = ("pdfium", "pdfplumber")
QUARANTINE_REASONS = ("too_large", "empty", "encrypted", "corrupt", "no_text_layer")
STAGE = "parse"
_SECOND_OPINION_MAX_BYTES = 32 * 1024 * 1024  # pdfplumber re-checks pdfium failures up to this size
UNUSABLE_SHARE = 0.3  # a text layer with more unmapped glyphs than this share is read by OCR

_UNMAPPED = re.compile(r"\(cid:\d+\)|\ufffd")  # glyphs without a Unicode mapping
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"\r\n|[\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]")


class _Encrypted(Exception):
    pass


class _Corrupt(Exception):
    pass


def page_needs_ocr(text: str, images: int) -> str | None:
    """Why a page (its text layer ``text``, ``images`` image objects) is read by OCR, or None
    when its text layer is used: ``"no text layer"`` (empty text, at least one image) or
    ``"text layer unusable (N% unmapped glyphs)"``."""
    chars = sum(1 for ch in text if not ch.isspace())
    if chars == 0:
        return "no text layer" if images else None
    matches = _UNMAPPED.findall(text)  # a "(cid:123)" or a U+FFFD stands for one glyph
    glyphs = len(matches)
    share = glyphs / max(1, chars - sum(len(m) for m in matches) + glyphs)
    if glyphs and share > UNUSABLE_SHARE:
        return f"text layer unusable ({share:.0%} unmapped glyphs)"
    return None


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
    ocr: bool = True,
) -> Doc | Quarantine:
    """Read one PDF.  Returns a :class:`Doc`, or a :class:`Quarantine` saying why not.

    When pdfium cannot open a file, pdfplumber gives the verdict (``empty``, ``encrypted`` or
    ``corrupt``; files up to 32 MB, larger ones are ``corrupt``): pdfium's error codes are
    process-global and can be stale, which would make the reason depend on the previous
    file.  With ``fallback=True`` pdfplumber's text is used when it can read such a file
    (``meta["fallback_from"] = "pdfium"``); without it that file is ``corrupt``.
    ``max_bytes=None`` removes the size limit.  ``ocr=False``: pages without a usable text
    layer stay as they are (an image-only PDF is ``no_text_layer``).
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
    page_images = info.pop("page_images", None) or [0] * len(texts)
    todo = {i: why for i, t in enumerate(texts) if (why := page_needs_ocr(t, page_images[i]))} if ocr else {}
    for i in todo:
        texts[i] = ""  # filled by OCR (connectors.documents.ocr_document)
    blank = sum(1 for t in texts if not t.strip())
    if blank == len(texts) and not todo:
        images = info.pop("images", None)
        found = f", {images} image(s)" if images else ""
        why = "OCR is off" if not ocr else "no page holds an image to OCR"
        return quarantine(
            "no_text_layer",
            f"{len(texts)} page(s){found} and no extractable text ({why})",
        )
    info.pop("images", None)
    meta: dict[str, Any] = {"engine": name, "bytes": size, "blank_pages": blank - len(todo)}
    if todo:
        meta["ocr_todo"] = {"kind": "pdf", "pages": sorted(todo), "why": {str(i): w for i, w in todo.items()}}
    unmapped = sum(len(_UNMAPPED.findall(t)) for t in texts)
    if unmapped:
        meta["unmapped_chars"] = unmapped
    if name != engine:
        meta["fallback_from"] = engine
    meta.update({k: v for k, v in info.items() if v})
    return Doc(
        id=doc_id,
        source=source,
        text="\f".join(texts),
        pages=len(texts),
        meta=meta,
        blob=data if todo else None,
    )


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
        page_images: list[int] = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
                n = 0
                if page_needs_ocr(text, 1):  # images are counted only where they matter
                    n = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
            finally:
                page.close()
            texts.append(text)
            page_images.append(n)
        info: dict[str, Any] = {"images": sum(page_images), "page_images": page_images}
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
        page_images: list[int] = []
        try:
            for page in pdf.pages:
                text = page.extract_text() or ""
                page_images.append(len(page.images) if page_needs_ocr(text, 1) else 0)
                texts.append(text)
        except Exception as e:
            if is_password(e):
                raise _Encrypted(repr(e)) from None
            raise _Corrupt(repr(e)) from None
        md = pdf.metadata or {}
        info = {
            "images": sum(page_images),
            "page_images": page_images,
            "title": _plain(md.get("Title")),
            "author": _plain(md.get("Author")),
        }
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
