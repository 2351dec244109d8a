"""Scanned copies of the bundled sample contracts, made in the test: pypdfium2 renders the
pages, Pillow writes them as PNG files or as an image-only PDF (no text layer).

Rendering the Chinese samples needs a CJK font on the machine (their STSong-Light font is
not embedded): Debian's ``fonts-wqy-microhei``, installed by ``make browser`` (which
``make test`` runs).  :func:`skip_without_cjk_font` skips a test where it is missing.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest

from connectors.ocr import cer  # noqa: F401  (the tests' CER, also bench/ocr.py's)

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "contracts"
DPI = 200  # a copier's usual resolution


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.pdf").read_bytes()


@cache
def page_images(name: str, dpi: int = DPI) -> tuple:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(sample(name))
    try:
        return tuple(pdf[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(pdf)))
    finally:
        pdf.close()


def image_pdf(images, dpi: int = DPI) -> bytes:
    """An image-only PDF of ``images`` (Pillow's PDF writer: one JPEG-free page per image)."""
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=list(images[1:]), resolution=dpi)
    return buf.getvalue()


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def skip_without_cjk_font() -> None:
    fonts = Path("/usr/share/fonts")
    found = fonts.exists() and any(p.name.lower().startswith("wqy") for p in fonts.rglob("*"))
    if not found:
        pytest.skip(
            "no CJK font to render the Chinese samples with (make browser installs fonts-wqy-microhei)"
        )


HEADER_TEXT = ("MASTER SERVICES AGREEMENT", "Northwind Analytics Inc.", "Bluefin Software Solutions Ltd.")


@cache
def header_scan() -> tuple:
    """The top of the English sample's first page (its title and the parties' paragraph,
    1654 x 520 pixels at 200 DPI; no CJK font needed) as ``(PNG bytes, image-only PDF bytes,
    the text layer of that part)``: a small real scan that OCR reads in a second or two."""
    image = page_images("en_services_agreement")[0].crop((0, 0, 1654, 520))
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(sample("en_services_agreement"))
    try:
        page = pdf[0]
        width, height = page.get_size()
        # the same region of the page in PDF points (origin bottom left)
        layer = page.get_textpage().get_text_bounded(0, height - 520 * 72 / DPI, width, height)
    finally:
        pdf.close()
    return png(image), image_pdf([image]), layer


@cache
def read_scan(name: str):
    """``read_document`` of the image-only PDF of sample ``name`` (OCR'd once per test process,
    with this process's OCR engine: the OCR tests and the default-model test share it)."""
    from connectors.documents import read_document

    return read_document(image_pdf(page_images(name)), f"{name}-scan.pdf")
