"""Scanned copies of the bundled sample contracts, made in the test: pypdfium2 renders the
pages, Pillow writes them as PNG files or as an image-only PDF (no text layer).

Rendering the Chinese samples needs a CJK font on the machine (their STSong-Light font is
not embedded): Debian's ``fonts-wqy-microhei``, installed by ``make browser`` (which
``make test`` runs).  :func:`skip_without_cjk_font` skips a test where it is missing.
"""

from __future__ import annotations

import io
import unicodedata
from functools import cache
from pathlib import Path

import pytest

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


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: the Levenshtein distance between the two texts (NFKC, runs of
    white space as one space) over the reference's length."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).split())

    a, b = norm(reference), norm(hypothesis)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(1, len(a))
