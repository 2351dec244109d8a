"""OCR with the real PP-OCRv4 models of the rapidocr-onnxruntime wheel, on scanned copies of the
bundled sample contracts made in the test (tests/connectors/scans.py): a few pages at 200 DPI."""

from __future__ import annotations

import io

import pytest

from connectors.clean import clean_text
from connectors.documents import ReadOptions, ocr_document, parse_documents, read_document
from connectors.ocr import LOW_SCORE, OcrLine, flag_values, ocr_summary
from connectors.records import Doc, Quarantine
from extractor.types import DocumentResult, Span

from .scans import cer, header_scan, image_pdf, page_images, png, read_scan, sample, skip_without_cjk_font

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():
    from connectors.ocr import OcrEngine

    return OcrEngine(threads=1)


@pytest.fixture(scope="module")
def zh_scan():
    skip_without_cjk_font()
    return read_scan("zh_purchase_contract")


@pytest.fixture(scope="module")
def en_png(engine):
    return read_document(png(page_images("en_services_agreement")[0]), "en.png", engine=engine)


def _original(name: str) -> Doc:
    doc = read_document(sample(name), f"{name}.pdf")
    assert isinstance(doc, Doc) and "ocr" not in doc.meta  # the text layer, no OCR
    return doc


def test_chinese_scan_cer_against_the_text_layer(zh_scan):
    assert isinstance(zh_scan, Doc), zh_scan
    original = _original("zh_purchase_contract")
    rate = cer(original.text, zh_scan.text)
    assert rate <= 0.02, f"CER {rate:.4f}"
    assert "北京云杉数据科技有限公司" in zh_scan.text and "深圳市华南精密机械制造有限公司" in zh_scan.text
    assert zh_scan.meta["ocr"]["pages"] == [0] and zh_scan.meta["ocr"]["dpi"] == 200
    assert any(n.startswith("ocr: page 1 (no text layer): ") for n in zh_scan.notes)


def test_english_image_cer_against_the_text_layer(en_png):
    assert isinstance(en_png, Doc), en_png
    original = _original("en_services_agreement")
    rate = cer(original.text, en_png.text)
    assert rate <= 0.02, f"CER {rate:.4f}"
    # word spaces are recovered from the line image (the recognizer drops most of them)
    assert "Bluefin Software Solutions Ltd." in en_png.text and "Northwind Analytics Inc." in en_png.text
    assert en_png.meta["ocr"]["dpi"] is None  # an image file: its own pixels


def test_lines_keep_page_box_score_and_offsets_into_the_cleaned_text(zh_scan):
    text, lines, summary = zh_scan.text, zh_scan.meta["ocr_lines"], zh_scan.meta["ocr"]
    width, height = page_images("zh_purchase_contract")[0].size
    located = [ln for ln in lines if ln["start"] is not None]
    assert len(located) >= 0.9 * len(lines) > 20
    for ln in located:
        x0, y0, x1, y1 = ln["box"]
        assert ln["page"] == 0 and 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert text[ln["start"] : ln["end"]] == clean_text(ln["text"], layout=False)[0]
    starts = [ln["start"] for ln in located]
    assert starts == sorted(starts)  # reading order
    scores = [ln["score"] for ln in lines]
    assert summary["lines"] == len(lines) and summary["min"] == pytest.approx(min(scores), abs=1e-4)
    assert summary["mean"] == pytest.approx(sum(scores) / len(scores), abs=1e-3) and summary["min"] > 0.5


def test_only_pages_without_a_text_layer_are_ocrd(engine):
    """A per-page decision: page 1 keeps its text layer, page 2 (a scan) is read by OCR."""
    import pypdfium2 as pdfium

    _, header_pdf, header_layer = header_scan()  # the top of the same page, scanned (small: fast)
    text_pdf = pdfium.PdfDocument(sample("en_services_agreement"))
    scan = pdfium.PdfDocument(header_pdf)
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(text_pdf)
    mixed.import_pages(scan)
    buf = io.BytesIO()
    mixed.save(buf)
    (raw,) = parse_documents(buf.getvalue(), "mixed.pdf", "pdf")
    assert raw.meta["ocr_todo"]["pages"] == [1] and raw.meta["ocr_todo"]["why"] == {"1": "no text layer"}
    layer_page = raw.text.split("\f")[0]
    doc = ocr_document(raw, ReadOptions(), engine)
    first, second = doc.text.split("\f")
    assert first == layer_page  # untouched by OCR
    assert cer(header_layer, second) <= 0.02  # the top of the same page, read from its image
    assert [ln["page"] for ln in doc.meta["ocr_lines"]] == [1] * len(doc.meta["ocr_lines"])
    assert [n.split(":")[0] + ":" + n.split(":")[1] for n in doc.notes] == ["ocr: page 2 (no text layer)"]
    assert doc.blob is None and "ocr_todo" not in doc.meta
    # with OCR off the scan page stays empty and the document keeps its text-layer page
    (off,) = parse_documents(buf.getvalue(), "mixed.pdf", "pdf", ReadOptions(ocr=False))
    assert "ocr_todo" not in off.meta and off.text.split("\f")[1] == ""


def test_ocr_finds_nothing_is_a_quarantine_row(engine):
    from PIL import Image

    blank = Image.new("RGB", (900, 600), (250, 250, 248))
    rec = read_document(png(blank), "blank.png", engine=engine)
    assert isinstance(rec, Quarantine) and (rec.stage, rec.reason) == ("ocr", "ocr_empty")
    assert "page(s) 1" in rec.detail
    rec = read_document(image_pdf([blank, blank]), "blank-scan.pdf", engine=engine)
    assert isinstance(rec, Quarantine) and (rec.stage, rec.reason) == ("ocr", "ocr_empty")
    assert "page(s) 1, 2" in rec.detail and "a scan" in rec.detail


def test_bad_images_are_quarantined_with_their_reason():
    from PIL import Image

    def reason(data: bytes, name: str = "x.png") -> tuple[str, str, str]:
        (rec,) = parse_documents(data, name, "image")
        assert isinstance(rec, Quarantine), rec
        return rec.stage, rec.reason, rec.detail

    tiny = Image.new("RGB", (300, 12), "white")
    assert reason(png(tiny))[:2] == ("parse", "too_small")
    huge = Image.new("1", (9000, 8000), 1)  # 72 megapixels, a few kB as PNG
    stage, why, detail = reason(png(huge))
    assert (stage, why) == ("parse", "too_large") and "9,000 x 8,000" in detail
    good = png(Image.new("RGB", (200, 200), "white"))
    assert reason(good[: len(good) // 2])[1] == "corrupt"  # truncated
    assert reason(b"GIF89a" + b"\x00" * 20, "x.gif")[1] == "corrupt"
    assert reason(b"")[1] == "empty"
    (ok,) = parse_documents(good, "x.png", "image")
    assert isinstance(ok, Doc) and ok.meta["ocr_todo"]["pages"] == [0] and ok.blob == good
    (off,) = parse_documents(good, "x.png", "image", ReadOptions(ocr=False))
    assert isinstance(off, Quarantine) and off.reason == "no_text_layer" and "OCR" in off.detail


def test_values_from_low_confidence_lines_carry_an_issue():
    text = "甲方：北京云杉科技有限公司\n合同金额：人民币伍万元整"
    lines = [
        OcrLine(0, (10, 10, 300, 40), "甲方：北京云杉科技有限公司", 0.99, 0, 13),
        OcrLine(0, (10, 50, 300, 80), "合同金额：人民币伍万元整", LOW_SCORE - 0.2, 14, 26),
    ]
    meta = {"ocr": ocr_summary(lines, [0], 200), "ocr_lines": [ln.to_dict() for ln in lines]}
    party = Span("甲方", "北京云杉科技有限公司", 3, 13, 0.9)
    amount = Span("合同金额", "人民币伍万元整", 19, 26, 0.8)
    weak_dropped = Span("合同金额", "伍万元", 22, 25, 0.1)
    assert text[amount.start : amount.end] == amount.text and text[party.start : party.end] == party.text
    result = DocumentResult(values={"甲方": [party], "合同金额": [amount]}, dropped=[weak_dropped])
    flag_values(result, meta)
    assert party.issues == []
    assert len(amount.issues) == 1 and "OCR line score 0.60 < 0.80 (page 1)" in amount.issues[0]
    assert weak_dropped.issues == amount.issues  # dropped values are flagged too, without a violation
    assert result.violations == [f"合同金额='人民币伍万元整': {amount.issues[0]}"]
    assert result.ocr_confidence == {"mean": 0.795, "min": 0.6, "lines": 2, "pages": [0], "dpi": 200}
    out = result.to_dict()
    assert out["ocr_confidence"]["min"] == 0.6 and [ln["box"] for ln in out["ocr_lines"]][1] == [
        10,
        50,
        300,
        80,
    ]
    assert flag_values(DocumentResult(), {"engine": "pdfium"}).to_dict().get("ocr_confidence") is None


def test_cer_counts_edits_over_the_reference_length_after_nfkc_and_white_space():
    assert cer("abcd", "abxd") == 0.25 and cer("abcd", "abcd") == 0.0
    assert cer("甲方 乙方", "甲方\n\n乙方") == 0.0  # line and page breaks are white space
    assert cer("ＡＢ12", "AB12") == 0.0  # full-width forms: NFKC
    assert cer("abc", "") == 1.0 and cer("", "x") == 1.0


def test_a_failing_ocr_model_is_this_documents_quarantine_row():
    from PIL import Image

    class Broken:
        def read_image_all(self, image, page=0):
            raise RuntimeError("onnxruntime: bad allocation")

    (raw,) = parse_documents(png(Image.new("RGB", (300, 200), "white")), "x.png", "image")
    rec = ocr_document(raw, ReadOptions(), Broken())
    assert isinstance(rec, Quarantine) and (rec.stage, rec.reason) == ("ocr", "ocr_error")
    assert "RuntimeError: onnxruntime: bad allocation" in rec.detail


def test_the_overlapping_halves_of_a_split_line_are_read_as_one_box():
    """The detector split page 3's header of the lease sample (200 DPI) at its two ideographic
    spaces into these two overlapping boxes; read apart, the right half began with a ghost
    '）' and the header no longer matched the other pages'.  Lines above each other, a taller
    box (a stamp) and a rotated box are left alone."""
    import numpy as np

    from connectors.ocr import _merge_split_boxes

    def rect(x0, y0, x1, y1):
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    left, right, below = rect(177, 123, 623, 151), rect(612, 125, 902, 153), rect(178, 219, 1468, 251)
    stamp, rotated = rect(850, 100, 950, 180), [[1200, 120], [1300, 140], [1296, 168], [1196, 148]]
    merged = _merge_split_boxes(np.array([left, right, below, stamp, rotated], dtype=np.float32))
    assert sorted(merged.astype(int).tolist()) == sorted([rect(177, 123, 902, 153), below, stamp, rotated])
    apart = np.array([left, rect(700, 125, 902, 153)], dtype=np.float32)  # a real gap: two boxes
    assert _merge_split_boxes(apart).tolist() == apart.tolist()
