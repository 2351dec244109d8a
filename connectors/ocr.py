"""OCR for pages without a usable text layer and for image files: pixels in, lines of text out.

The model is PP-OCRv4 (Chinese + English; detection and recognition ONNX models) as shipped
inside the ``rapidocr-onnxruntime`` wheel (1.4.4, 15 MB): it runs on onnxruntime's CPU
kernels and downloads nothing.  Why this one and how it is run (measured on the bundled
sample contracts rendered at 200 DPI; README "Input kinds and OCR"):

- PP-OCRv4 reads Chinese and English business text with a character error rate of about 1%
  (Tesseract's Chinese models, the other packaged option, are known to be far weaker on
  Chinese and would need Debian's ``tesseract-ocr-chi-sim``; rapidocr 3.x and the PP-OCRv5/v6
  packages fetch their models at run time, which fails here);
- rapidocr's **direction classifier is not used**: it flipped correct long English lines by
  180 degrees and turned them into garbage (measured: 4 of 19 lines of the English sample);
  scans are upright pages;
- recognition drops most spaces between Latin words (``MASTERSERVICESAGREEMENT``): spaces are
  put back where the line image has a gap of no ink wider than a quarter of the line height
  between two recognized characters (their positions come from the CTC decoder's columns),
  which took the English sample from 3.9% to 0.3% CER counting spaces;
- detection runs on the page scaled to at most :data:`DET_MAX_SIDE` pixels, recognition on
  crops of the full-resolution page (small Chinese characters need the pixels: at 150 DPI
  甲 was read as 申, at 200 DPI not).

:class:`OcrEngine` holds the loaded model (one per process or Ray actor: :func:`engine`);
:meth:`OcrEngine.read_image` returns :class:`OcrLine` objects (text, box in page pixels,
score) in reading order: rows top to bottom (boxes whose vertical middles overlap form one
row), left to right within a row.  :func:`page_text` joins them the way pypdfium2 joins a
text layer (one row per line, boxes of a row with a space).

Confidence: each line's score is the recognizer's mean character probability.  Lines below
:data:`DROP_SCORE` (0.5, rapidocr's own default) are noise (a stamp, a smudge) and left out
of the text, and the document's notes say how many; lines below :data:`LOW_SCORE` are kept,
and every value read from one carries an issue (:func:`flag_values`).

Imports numpy, onnxruntime, rapidocr and Pillow only inside the functions that need them.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("seqgpt.ocr")

__all__ = [
    "DEFAULT_DPI",
    "DROP_SCORE",
    "LOW_SCORE",
    "OcrEngine",
    "OcrLine",
    "cer",
    "engine",
    "flag_values",
    "lines_for",
    "locate_lines",
    "ocr_summary",
    "page_text",
]

DEFAULT_DPI = 200  # a PDF page without a text layer is rendered at this resolution
DET_MAX_SIDE = 2000  # detection input, longer side in pixels
DROP_SCORE = 0.5  # lines below: noise, left out of the text (counted in the notes)
LOW_SCORE = 0.8  # lines below: kept, but values read from them carry an issue
SPACE_GAP = 0.24  # a gap of no ink wider than this share of the line height is a space (Latin)
SPACE_GAP_CJK = 0.9  # ... next to a CJK character (their own spacing is wider)


@dataclass
class OcrLine:
    """One recognized line: ``page`` (0-based), ``box`` ``(x0, y0, x1, y1)`` in pixels of the
    page image OCR read (``dpi`` of the document's ``meta["ocr"]`` for PDF pages, the image's
    own pixels for image files), ``score`` in [0, 1], ``start``/``end`` its offsets in the
    cleaned document text once :func:`locate_lines` has found it (None: the cleaner removed
    it, e.g. a repeated page header)."""

    page: int
    box: tuple[int, int, int, int]
    text: str
    score: float
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "box": list(self.box),
            "text": self.text,
            "score": round(float(self.score), 4),
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OcrLine:
        return cls(
            page=int(d["page"]),
            box=tuple(int(v) for v in d["box"]),  # type: ignore[arg-type]
            text=str(d["text"]),
            score=float(d["score"]),
            start=d.get("start"),
            end=d.get("end"),
        )


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


class OcrEngine:
    """The loaded PP-OCRv4 detection and recognition models (module docstring).

    ``threads``: onnxruntime intra-op threads (1 by default: OCR scales by processes -- Ray
    actors -- not by threads, and on a 2-core machine shared with extraction more threads
    only spin).  Loading takes about 0.3 s; build one per process (:func:`engine`).
    """

    def __init__(self, threads: int | None = 1):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:  # pyproject cannot declare it (it pins the GUI opencv-python)
            raise ImportError(
                f"OCR needs rapidocr-onnxruntime ({e}): pip install --no-deps rapidocr-onnxruntime==1.4.4 "
                "(make install does)"
            ) from e

        n = int(threads) if threads else max(1, (os.cpu_count() or 2) // 2)
        self.threads = n
        self._ocr = RapidOCR(
            text_score=0.0, use_cls=False, intra_op_num_threads=n, inter_op_num_threads=1, print_verbose=False
        )

    def read_image(self, image: Any, page: int = 0) -> list[OcrLine]:
        """The lines of one page image (a PIL image or an RGB ``uint8`` array), in reading
        order, without the lines below :data:`DROP_SCORE` (see :meth:`read_image_all`)."""
        return [ln for ln in self.read_image_all(image, page) if ln.score >= DROP_SCORE]

    def read_image_all(self, image: Any, page: int = 0) -> list[OcrLine]:
        """Every recognized line of one page image, noise included."""
        import numpy as np

        img = _rgb_array(image)
        h, w = img.shape[:2]
        scale = min(1.0, DET_MAX_SIDE / max(h, w))
        det_img = img if scale >= 1.0 else _resize(img, scale)
        boxes, _ = self._ocr.text_det(det_img)
        if boxes is None or len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32) / scale
        boxes[..., 0] = boxes[..., 0].clip(0, w - 1)
        boxes[..., 1] = boxes[..., 1].clip(0, h - 1)
        boxes = _merge_split_boxes(boxes)
        crops = self._ocr.get_crop_img_list(img, list(boxes))
        recognized, _ = self._ocr.text_rec(crops, True)
        lines = []
        for quad, crop, rec in zip(boxes, crops, recognized):
            text, score = rec[0], float(rec[1])
            if len(rec) > 2 and text:
                text = _with_spaces(text, rec[2], crop)
            text = text.strip()
            if not text:
                continue
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            box = (int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
            lines.append(OcrLine(page, box, text, score))
        return _reading_order(lines)


_ENGINES: dict[int, OcrEngine] = {}
_LOCK = threading.Lock()


def engine(threads: int | None = 1) -> OcrEngine:
    """This process's :class:`OcrEngine` with ``threads`` threads (loaded on first use)."""
    key = int(threads or 0)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = OcrEngine(threads)
        return _ENGINES[key]


# ------------------------------------------------------------------ image helpers
def _rgb_array(image: Any):
    import numpy as np

    if hasattr(image, "convert"):  # PIL
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    return np.ascontiguousarray(arr.astype(np.uint8, copy=False))


def _resize(img, scale: float):
    import cv2

    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def _with_spaces(text: str, info: Any, crop: Any) -> str:
    """``text`` with a space wherever the line image shows a word gap between two characters.

    ``info`` is rapidocr's word information for the line: ``[columns, words, word columns,
    ...]``; the CTC column of each character gives its position along the crop."""
    import numpy as np

    try:
        columns = float(info[0])
        cols = [c for word in info[2] for c in word]
    except (TypeError, IndexError, ValueError):
        return text
    if len(cols) != len(text) or len(text) < 2 or columns <= 0:
        return text
    gray = crop.mean(axis=2) if crop.ndim == 3 else crop
    h, w = gray.shape[:2]
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < 32:  # no contrast: nothing to measure
        return text
    ink = (gray < (lo + hi) / 2).any(axis=0)
    xs = [(c + 0.5) / columns * w for c in cols]
    out = [text[0]]
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if a != " " and b != " ":
            seg = ink[int(xs[i]) : int(np.ceil(xs[i + 1]))]
            gap = _longest_false_run(seg)
            limit = (SPACE_GAP_CJK if _is_cjk(a) or _is_cjk(b) else SPACE_GAP) * h
            if gap > limit:
                out.append(" ")
        out.append(b)
    return "".join(out)


def _merge_split_boxes(boxes):
    """``boxes`` (quads, ``(N, 4, 2)``) with every two upright boxes of one text line that
    overlap merged into one rectangle.

    The detector sometimes splits a line at a wide gap (two ideographic spaces in a page
    header) and grows both halves until they overlap; each half's crop then holds the edge of
    the other's first or last glyph, which the recognizer reads as an extra character (``）``),
    and the page's header no longer matches the other pages' (the cleaner keeps it).  Read as
    one box, the gap becomes a space (:func:`_with_spaces`).  Boxes of one line: both upright
    (top edge within 3 degrees of horizontal), of similar heights (at most 1.5x: not a
    stamp over a line), vertically overlapping by at least 60% of the lower one's height,
    horizontally overlapping or touching."""
    import numpy as np

    if len(boxes) < 2:
        return boxes
    x0, y0 = boxes[..., 0].min(axis=1), boxes[..., 1].min(axis=1)
    x1, y1 = boxes[..., 0].max(axis=1), boxes[..., 1].max(axis=1)
    dx = boxes[:, 1, 0] - boxes[:, 0, 0]
    dy = boxes[:, 1, 1] - boxes[:, 0, 1]
    upright = (dx > 0) & (np.abs(dy) <= 0.05 * np.abs(dx))
    rects: list[list[float]] = []  # merged upright boxes: [x0, y0, x1, y1]
    others = []
    for i in np.argsort(x0):
        if not upright[i]:
            others.append(boxes[i])
            continue
        box = [float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])]
        for r in rects:
            overlap = min(r[3], box[3]) - max(r[1], box[1])
            low, high = sorted((r[3] - r[1], box[3] - box[1]))
            if overlap >= 0.6 * low and high <= 1.5 * low and box[0] <= r[2] + 1:
                r[:] = [min(r[0], box[0]), min(r[1], box[1]), max(r[2], box[2]), max(r[3], box[3])]
                break
        else:
            rects.append(box)
    if len(rects) + len(others) == len(boxes):
        return boxes
    quads = [np.array([[a, b], [c, b], [c, d], [a, d]], dtype=np.float32) for a, b, c, d in rects]
    return np.stack([*quads, *others]).astype(np.float32)


def _longest_false_run(values) -> int:
    best = run = 0
    for v in values:
        run = 0 if v else run + 1
        best = max(best, run)
    return best


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Rows top to bottom (a box joins a row when its vertical middle lies inside the row's
    band), boxes left to right within a row."""
    rows: list[list[OcrLine]] = []
    for ln in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        mid = (ln.box[1] + ln.box[3]) / 2
        if rows:
            top = min(x.box[1] for x in rows[-1])
            bottom = max(x.box[3] for x in rows[-1])
            if top <= mid <= bottom:
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def page_text(lines: list[OcrLine]) -> str:
    """One page's text from its lines (in reading order): one row per text line, the boxes of
    a row joined with a space."""
    out: list[str] = []
    top = bottom = 0.0
    for ln in lines:
        mid = (ln.box[1] + ln.box[3]) / 2
        if out and top <= mid <= bottom:  # the same row (see _reading_order)
            out[-1] += " " + ln.text
            top, bottom = min(top, ln.box[1]), max(bottom, ln.box[3])
        else:
            out.append(ln.text)
            top, bottom = ln.box[1], ln.box[3]
    return "\n".join(out)


# --------------------------------------------------------- offsets and confidence
def locate_lines(text: str, lines: list[OcrLine]) -> list[OcrLine]:
    """Give each line its ``start``/``end`` in the cleaned document ``text``.

    Each line is cleaned on its own (``connectors.clean.clean_text``: the same character
    normalization as the document) and searched forward from the previous line's end, within
    a window, so a line the cleaner removed (a repeated header, a page number) is not matched
    far ahead: it keeps ``start = end = None``.  Wrapped lines that the cleaner rejoined stay
    contiguous substrings, so they are found."""
    from connectors.clean import clean_text

    cursor = 0
    for ln in lines:
        ln.start = ln.end = None
        needle = clean_text(ln.text, layout=False)[0].strip()
        if not needle:
            continue
        window = text[cursor : cursor + 2 * len(needle) + 400]
        at = window.find(needle)
        if at < 0:
            continue
        ln.start = cursor + at
        ln.end = ln.start + len(needle)
        cursor = ln.end
    return lines


def lines_for(lines: list[OcrLine], start: int, end: int) -> list[OcrLine]:
    """The located lines that overlap the character span ``[start, end)``."""
    return [
        ln
        for ln in lines
        if ln.start is not None and ln.end is not None and ln.start < end and start < ln.end
    ]


def ocr_summary(lines: list[OcrLine], pages: list[int], dpi: int | None) -> dict[str, Any]:
    """``{"mean", "min", "lines", "pages", "dpi"}``: the document's OCR confidence (mean and
    minimum line score), how many lines and which pages (0-based) were OCR'd."""
    scores = [float(ln.score) for ln in lines]
    return {
        "mean": round(sum(scores) / len(scores), 4) if scores else None,
        "min": round(min(scores), 4) if scores else None,
        "lines": len(lines),
        "pages": list(pages),
        "dpi": dpi,
    }


def flag_values(result: Any, meta: dict[str, Any] | None, low: float = LOW_SCORE) -> Any:
    """Attach a document's OCR information to its extraction ``result``
    (``extractor.types.DocumentResult``) and return it.

    ``meta`` is the document's ``Doc.meta`` (or just its ``ocr`` and ``ocr_lines`` keys); a
    document that was not OCR'd is returned unchanged.  Sets ``result.ocr_confidence``
    (:func:`ocr_summary`) and ``result.ocr_lines`` (page, box, text, score and offsets of
    every line); every kept or dropped value whose span overlaps a line scoring below ``low``
    gets the issue ``OCR line score S < low (page P): check it against the page image``, and
    the document a violation for each kept one, as for any value with an issue."""
    if not meta or not meta.get("ocr"):
        return result
    lines = [OcrLine.from_dict(d) for d in meta.get("ocr_lines") or []]
    result.ocr_confidence = dict(meta["ocr"])
    result.ocr_lines = [ln.to_dict() for ln in lines]
    spans = [s for values in result.values.values() for s in values]
    kept = {id(s) for s in spans}
    for s in [*spans, *result.dropped]:
        weak = [ln for ln in lines_for(lines, s.start, s.end) if ln.score < low]
        if not weak:
            continue
        worst = min(weak, key=lambda ln: ln.score)
        issue = (
            f"OCR line score {worst.score:.2f} < {low:.2f} (page {worst.page + 1}): "
            "check it against the page image"
        )
        if issue not in s.issues:
            s.issues.append(issue)
            message = f"{s.field}={s.text!r}: {issue}"
            if id(s) in kept and message not in result.violations:
                result.violations.append(message)
    return result


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference``: their Levenshtein
    distance over the reference's length, both NFKC-normalized with every run of white space
    (line breaks, page breaks) counted as one space -- what the tests and ``bench/ocr.py``
    report for OCR text against a text layer."""

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
