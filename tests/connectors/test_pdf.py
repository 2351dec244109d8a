"""read_pdf on the bundled samples and on bad PDFs made in the test."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from connectors.pdf import QUARANTINE_REASONS, read_pdf
from connectors.records import Doc, Quarantine

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "contracts"
EXPECTED = json.loads((SAMPLES / "_expected.json").read_text(encoding="utf-8"))

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def make_pdf(*, pages: int = 1, text: bool = True, encrypt=None, image: bool = False) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, encrypt=encrypt)
    for i in range(pages):
        if text:
            c.setFont("STSong-Light", 12)
            c.drawString(72, 700, f"甲方：上海浦江智能科技有限公司（第{i + 1}页）")
            c.setFont("Helvetica", 12)
            c.drawString(72, 680, "Party A: Acme Corp.")
        else:
            c.rect(100, 100, 200, 200, fill=1)
            c.circle(300, 500, 50)
        if image:
            from PIL import Image

            img = Image.new("RGB", (40, 20), (200, 30, 30))
            c.drawInlineImage(img, 72, 400, width=200, height=100)
        c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_samples_extract_with_both_engines(name, engine):
    doc = read_pdf((SAMPLES / name).read_bytes(), f"samples/{name}", engine=engine)
    assert isinstance(doc, Doc), doc
    expected = EXPECTED[name]
    assert doc.pages == expected["pages"] == doc.text.count("\f") + 1
    assert doc.id == doc.source == f"samples/{name}"
    assert doc.meta["engine"] == engine and doc.meta["blank_pages"] == 0
    assert "\r" not in doc.text
    flat = doc.text.replace("\n", "").replace(" ", "")
    for field, value in expected["fields"].items():
        assert value.replace(" ", "") in flat, (field, value)


def test_chinese_text_and_page_breaks():
    doc = read_pdf((SAMPLES / "zh_lease_contract.pdf").read_bytes(), "lease.pdf")
    pages = doc.text.split("\f")
    assert len(pages) == 3
    header = EXPECTED["zh_lease_contract.pdf"]["repeated_header"]
    for number, page in enumerate(pages, start=1):
        assert header in page
        assert f"第 {number} 页 共 3 页" in page
    assert "出租方（甲方）：上海静安置业有限公司" in pages[0]
    assert "人民币捌万伍仟元整（¥85,000.00）" in doc.text


def test_samples_hold_a_line_break_inside_a_value():
    """What the cleaner must repair: the wrapped names are not found verbatim."""
    zh = read_pdf((SAMPLES / "zh_purchase_contract.pdf").read_bytes(), "zh.pdf").text
    assert "乙方深\n圳市华南精密机械制造有限公司" in zh
    en = read_pdf((SAMPLES / "en_services_agreement.pdf").read_bytes(), "en.pdf").text
    assert "Bluefin Software\nSolutions Ltd." in en


def test_samples_are_small():
    for path in SAMPLES.glob("*.pdf"):
        assert path.stat().st_size < 100_000, path


# ---------------------------------------------------------------------- bad input


def _reason(data: bytes, **kw) -> str:
    result = read_pdf(data, "bad.pdf", **kw)
    assert isinstance(result, Quarantine), result
    assert result.id == "bad.pdf" and result.source == "bad.pdf" and result.stage == "parse"
    assert result.reason in QUARANTINE_REASONS and result.detail
    return result.reason


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_bad_pdfs_are_quarantined_with_the_right_reason(engine):
    good = make_pdf(pages=3)
    assert _reason(b"", engine=engine) == "empty"
    assert _reason(bytes(range(256)) * 8, engine=engine) == "corrupt"  # binary garbage named .pdf
    assert _reason(b"%PDF-1.7\n" + b"\x00garbage" * 50, engine=engine) == "corrupt"
    for cut in (0.3, 0.6, 0.95):
        assert _reason(good[: int(len(good) * cut)], engine=engine) == "corrupt"
    assert _reason(make_pdf(encrypt="secret-pw"), engine=engine) == "encrypted"
    assert _reason(make_pdf(text=False), engine=engine) == "no_text_layer"
    # an image-only PDF: without OCR nothing can be read; with OCR its pages await the OCR stage
    assert _reason(make_pdf(text=False, image=True, pages=2), engine=engine, ocr=False) == "no_text_layer"
    scan = read_pdf(make_pdf(text=False, image=True, pages=2), "scan.pdf", engine=engine)
    assert isinstance(scan, Doc) and scan.meta["ocr_todo"]["pages"] == [0, 1] and scan.blob is not None
    assert scan.meta["ocr_todo"]["why"] == {"0": "no text layer", "1": "no text layer"}
    assert _reason(good, engine=engine, max_bytes=100) == "too_large"


def test_details_are_helpful():
    assert "no %PDF- header" in read_pdf(b"PK\x03\x04zipfile", "x.pdf").detail
    image_only = read_pdf(make_pdf(text=False, image=True, pages=2), "x.pdf", ocr=False)
    assert "2 page(s), 2 image(s)" in image_only.detail and "OCR is off" in image_only.detail
    blank = read_pdf(make_pdf(text=False), "x.pdf")
    assert "no page holds an image" in blank.detail
    assert "over the limit" in read_pdf(b"%PDF-" + b"x" * 50, "x.pdf", max_bytes=10).detail


def test_zero_page_pdf_is_empty_whatever_came_before():
    """pdfium keeps a stale error code for this file: the verdict must not depend on it."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    zero_pages = buf.getvalue()
    good = make_pdf()
    for before in (make_pdf(encrypt="pw"), good[: len(good) // 2], good):
        read_pdf(before, "before.pdf")
        assert _reason(zero_pages) == "empty"


def test_owner_password_only_is_read():
    """Permissions-only encryption (no user password) is not 'password-protected'."""
    doc = read_pdf(make_pdf(encrypt=StandardEncryption("", ownerPassword="owner", canPrint=0)), "x.pdf")
    assert isinstance(doc, Doc) and "上海浦江智能科技有限公司" in doc.text


def test_a_page_without_text_among_text_pages_is_kept():
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.setFont("Helvetica", 12)
    c.drawString(72, 700, "Page one text")
    c.showPage()
    c.rect(100, 100, 50, 50)
    c.showPage()
    c.save()
    doc = read_pdf(buf.getvalue(), "x.pdf", doc_id="doc-1")
    assert isinstance(doc, Doc)
    assert doc.id == "doc-1" and doc.pages == 2 and doc.meta["blank_pages"] == 1
    assert doc.text == "Page one text\f"


def test_fallback_engine_and_unknown_engine():
    good = make_pdf()
    assert read_pdf(good, "x.pdf", fallback=True).meta["engine"] == "pdfium"
    truncated = read_pdf(good[: len(good) // 2], "x.pdf", fallback=True)
    assert truncated.reason == "corrupt" and "pdfium" in truncated.detail and "pdfplumber" in truncated.detail
    with pytest.raises(ValueError, match="unknown PDF engine"):
        read_pdf(good, "x.pdf", engine="ocr")


# ---------------------------------------------------------------------- hostile PDFs (issue 23, held)
def _pdf_of(objects: list[bytes]) -> bytes:
    """A PDF written by hand from its numbered objects (1 the catalog), with a valid xref."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_TEXT = b"BT /F1 12 Tf 72 720 Td (Party A: Acme Corp) Tj ET"
_CONTENT = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(_TEXT), _TEXT)


def _page(parent: int | None, font: int, content: int, extra: bytes = b"") -> bytes:
    up = b"/Parent %d 0 R " % parent if parent else b""
    return (
        b"<< /Type /Page %s/MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R %s>>"
        % (up, font, content, extra)
    )


def test_a_10000_page_pdf_is_read_page_by_page():
    n = 10_000  # every page shares one content stream: a 1.6 MB file
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(n))
    tree = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n)
    pdf = _pdf_of([b"<< /Type /Catalog /Pages 2 0 R >>", tree, _FONT, _CONTENT, *[_page(2, 3, 4)] * n])
    doc = read_pdf(pdf, "long.pdf")
    assert isinstance(doc, Doc), doc
    assert doc.pages == n and doc.text == "\f".join(["Party A: Acme Corp"] * n)


def test_cyclic_and_deeply_nested_page_trees_are_corrupt_not_a_hang_or_a_crash():
    # the page tree lists itself among its kids
    tree = b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>"
    cyclic = _pdf_of([b"<< /Type /Catalog /Pages 2 0 R >>", tree, _page(2, 4, 5), _FONT, _CONTENT])
    result = read_pdf(cyclic, "cyclic.pdf")
    assert (result.reason, result.detail) == (
        "corrupt",
        "cannot parse the PDF (pdfium: PdfiumError: Failed to load page.; pdfplumber can: read it with fallback=True)",
    )

    def nested(depth: int) -> bytes:  # /Pages nodes `depth` deep, one page at the bottom
        tree = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (3 + i) for i in range(depth)]
        page = 2 + depth
        return _pdf_of(
            [b"<< /Type /Catalog /Pages 2 0 R >>", *tree, _page(None, page + 1, page + 2), _FONT, _CONTENT]
        )

    assert read_pdf(nested(50), "nested.pdf").text == "Party A: Acme Corp"
    deep = read_pdf(nested(2_000), "deep.pdf")  # past pdfium's 1,024 levels and Python's recursion limit
    assert deep.reason == "corrupt" and deep.detail.startswith("cannot parse the PDF (pdfium: ")
    assert "maximum recursion depth exceeded" in deep.detail  # pdfplumber's second opinion, caught


def test_a_pdf_with_javascript_is_read_as_text_and_its_script_never_runs():
    import socket

    listener = socket.create_server(("127.0.0.1", 0))  # the script would call this address
    listener.setblocking(False)
    port = listener.getsockname()[1]
    script = (
        b"<< /S /JavaScript /JS (app.launchURL\\('http://127.0.0.1:%d/x'\\); this.submitForm\\('http://127.0.0.1:%d/f'\\);) >>"
        % (port, port)
    )
    pdf = _pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /Names << /JavaScript << /Names [(x) 6 0 R] >> >> >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            _page(2, 4, 5, b"/AA << /O 6 0 R >> "),
            _FONT,
            _CONTENT,
            script,
        ]
    )
    for engine in ("pdfium", "pdfplumber"):
        doc = read_pdf(pdf, "script.pdf", engine=engine)
        assert isinstance(doc, Doc) and doc.text == "Party A: Acme Corp" and doc.pages == 1
    with listener, pytest.raises(BlockingIOError):
        listener.accept()  # nobody called
