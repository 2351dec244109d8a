"""Image files (scans, photographed receipts) and the page images OCR reads.

:func:`read_image` ``(data, source, doc_id)`` checks an image file without decoding its
pixels more than once and returns a raw :class:`Doc` whose every page (frame: a multi-page
TIFF has several) awaits OCR (``meta["ocr_todo"]``, bytes in ``Doc.blob``), or a
:class:`Quarantine` (``stage="parse"``):

``corrupt``
    Pillow cannot identify or decode the file (not an image, truncated data).
``too_large``
    more than :data:`MAX_IMAGE_PIXELS` pixels in a frame (a decompression bomb, or a scan at
    an absurd resolution), or more than :data:`MAX_FRAMES` frames.
``too_small``
    a side shorter than :data:`MIN_IMAGE_SIDE` pixels: no line of text fits.

:func:`page_images` renders the pages OCR must read: PDF pages through pypdfium2 at the
document's DPI (fewer pixels on pages so large that :data:`MAX_IMAGE_PIXELS` would be
passed), image frames as they are.

Pillow and pypdfium2 are imported inside the functions.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from connectors.records import Doc, Quarantine

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_FRAMES",
    "MAX_IMAGE_PIXELS",
    "MIN_IMAGE_SIDE",
    "is_image",
    "page_images",
    "read_image",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
MAX_IMAGE_PIXELS = 64_000_000  # one frame or rendered page (an A3 page at 600 DPI is 70 M)
MIN_IMAGE_SIDE = 24  # pixels: below that no line of text fits
MAX_FRAMES = 1000
STAGE = "parse"

_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF87a", b"GIF89a")


def is_image(data: bytes) -> bool:
    """True for bytes that start like a PNG, JPEG, TIFF, BMP, GIF or WebP file."""
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def read_image(data: bytes, source: str, doc_id: str | None = None) -> Doc | Quarantine:
    """One image file as a raw :class:`Doc` awaiting OCR, or its :class:`Quarantine`
    (module docstring)."""
    from PIL import Image

    doc_id = source if doc_id is None else doc_id

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=source, stage=STAGE, reason=reason, detail=detail)

    if not data:
        return quarantine("empty", "the file has zero bytes")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or "image"
            frames = int(getattr(img, "n_frames", 1) or 1)
            if frames > MAX_FRAMES:
                return quarantine("too_large", f"{frames:,} frames is over the limit of {MAX_FRAMES:,}")
            for frame in range(frames):
                img.seek(frame)
                w, h = img.size
                if w * h > MAX_IMAGE_PIXELS:
                    return quarantine(
                        "too_large",
                        f"{fmt} frame {frame + 1} is {w:,} x {h:,} pixels, over the limit of "
                        f"{MAX_IMAGE_PIXELS:,} pixels",
                    )
                if min(w, h) < MIN_IMAGE_SIDE:
                    return quarantine(
                        "too_small",
                        f"{fmt} frame {frame + 1} is {w} x {h} pixels: a side under {MIN_IMAGE_SIDE} "
                        "pixels holds no readable line of text",
                    )
                img.load()  # decodes: a truncated file fails here, not in the OCR stage
    except Image.DecompressionBombError as e:
        return quarantine("too_large", f"decompression bomb: {e}")
    except Exception as e:  # UnidentifiedImageError, OSError (truncated), SyntaxError ...
        return quarantine("corrupt", f"cannot decode the image: {type(e).__name__}: {e}")
    meta: dict[str, Any] = {
        "format": fmt,
        "bytes": len(data),
        "ocr_todo": {"kind": "image", "pages": list(range(frames)), "why": {}},
    }
    return Doc(id=doc_id, source=source, text="\f".join([""] * frames), pages=frames, meta=meta, blob=data)


def page_images(doc: Doc, dpi: int) -> Iterator[tuple[int, Any]]:
    """``(page index, PIL image)`` for every page of ``doc.meta["ocr_todo"]``: PDF pages
    rendered at ``dpi`` (a page that would pass :data:`MAX_IMAGE_PIXELS` at that resolution
    is rendered smaller), image frames as stored (RGB)."""
    todo = doc.meta.get("ocr_todo") or {}
    pages = [int(p) for p in todo.get("pages", [])]
    if doc.blob is None or not pages:
        return
    if todo.get("kind") == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(doc.blob)
        try:
            for index in pages:
                page = pdf[index]
                try:
                    w_pt, h_pt = page.get_size()
                    scale = dpi / 72
                    if w_pt * h_pt * scale * scale > MAX_IMAGE_PIXELS:
                        scale = (MAX_IMAGE_PIXELS / (w_pt * h_pt)) ** 0.5
                    bitmap = page.render(scale=scale)
                    image = bitmap.to_pil().convert("RGB")
                    bitmap.close()
                finally:
                    page.close()
                yield index, image
        finally:
            pdf.close()
        return
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(doc.blob)) as img:
        for index in pages:
            img.seek(index)
            frame = ImageOps.exif_transpose(img) if index == 0 else img  # photos: upright as shown
            yield index, _on_white(frame)


def _on_white(img: Any) -> Any:
    """RGB, with transparency flattened onto white (a transparent PNG's text stays dark)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")
