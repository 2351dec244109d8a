"""Generated test inputs for the pipeline: good and bad PDFs, images, Word, e-mail, HTML and text
files and ticket records.

Everything is made in-process (reportlab for PDFs, Chinese in the built-in CID font
``STSong-Light``), small, and deterministic.  ``build_corpus(folder)`` writes one folder with
every kind of input and returns what the pipeline should make of it.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

CJK_FONT = "STSong-Light"

ZH_PAGES = [
    [
        "设备采购合同",
        "合同编号：CG-2024-0315",
        "甲方（采购方）：北京云杉数据科技有限公司",
        "乙方（供货方）：深圳市华南精密机械制造有限公司",
        "根据《中华人民共和国民法典》及相关法律法规，本合同由甲方北京云杉数据科技有限公司与乙方深",
        "圳市华南精密机械制造有限公司在平等、自愿、协商一致的基础上签订，双方共同遵守。",
        "第一条 合同金额：本合同总金额为人民币壹佰贰拾万元整（¥1,200,000.00），含13%增值税、包装、",
        "运输、安装调试及培训费用。",
    ],
    [
        "第二条 合同期限：本合同有效期自2024年4月1日起至2025年3月31日止。",
        "第三条 适用法律：本合同适用中华人民共和国法律。",
        "第四条 争议解决：因本合同引起的争议，提交北京仲裁委员会仲裁。",
        "签约日期：2024年3月15日",
    ],
]
EN_PAGES = [
    [
        "MASTER SERVICES AGREEMENT",
        "This Master Services Agreement is entered into on February 20, 2024 by and between Northwind",
        "Analytics Inc. (Party A) and Bluefin Software Solutions Ltd. (Party B).",
        "Fees. Party A shall pay Party B a total fixed fee of USD 250,000.",
        "Term. This Agreement runs from March 1, 2024 until February 28, 2025.",
        "Governing Law. This Agreement is governed by the laws of the State of New York.",
    ]
]
NOTE_TEXT = (
    "补充协议\n甲方：上海静安置业有限公司\n乙方：杭州青禾文化传媒有限公司\n"
    "双方同意将月租金调整为人民币捌万元整（¥80,000.00），自2025年1月1日起执行。\n"
)
TICKETS = [
    {
        "id": "T1",
        "text": "市民张伟来电，电话13812345678，住址北京市朝阳区建国路88号。反映楼下餐馆噪音扰民，请核实处理。",
    },
    {
        "id": "T2",
        "text": "王秀英女士，手机13910234567，地址：上海市浦东新区张杨路500号。诉求：人行道地砖松动，希望尽快维修。",
    },
    {
        "id": "T3",
        "text": "李建国先生（010-65123456）咨询：东城区东直门南大街5号院连续三天停水，何时恢复供水？",
    },
    {
        "id": "T4",
        "text": "Mr. John Smith, phone +1 415 555 0132, asks how to apply for a residence permit in Pudong.",
    },
]


def _canvas(buf, **kw):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return canvas.Canvas(buf, pagesize=A4, invariant=1, **kw), A4


def make_pdf(pages: list[list[str]], *, font: str = CJK_FONT, header: str | None = None, **kw) -> bytes:
    """A text PDF: one list of lines per page; ``header`` repeats on every page, and every
    page gets a ``第 N 页 共 M 页`` footer when there are several."""
    buf = io.BytesIO()
    c, (w, h) = _canvas(buf, **kw)
    for n, lines in enumerate(pages, 1):
        if header:
            c.setFont(CJK_FONT, 9)
            c.drawString(60, h - 40, header)
        c.setFont(font, 10.5)
        y = h - 80
        for line in lines:
            c.drawString(60, y, line)
            y -= 18
        if len(pages) > 1:
            c.setFont(CJK_FONT, 9)
            c.drawString(w / 2 - 30, 30, f"第 {n} 页 共 {len(pages)} 页")
        c.showPage()
    c.save()
    return buf.getvalue()


def make_encrypted_pdf() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption

    return make_pdf([["这份合同需要密码才能打开。"]], encrypt=StandardEncryption("user-pw", "owner-pw"))


def make_image_only_pdf() -> bytes:
    """A 'scan' of a blank page: one page holding only a picture (the copier's grey shadow),
    no text layer, nothing OCR can read."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    img = Image.new("L", (200, 100), 255)
    for x in range(200):
        for y in range(100):
            img.putpixel((x, y), 255 - (x * y) % 7)
    buf = io.BytesIO()
    c, (_w, h) = _canvas(buf)
    c.drawImage(ImageReader(img), 60, h - 300, width=400, height=200)
    c.showPage()
    c.save()
    return buf.getvalue()


def make_png(width: int, height: int, text: str | None = None) -> bytes:
    """A white PNG (with ``text`` drawn in Pillow's default font, when given)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    if text:
        ImageDraw.Draw(img).text((4, 4), text, fill="black")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_encrypted_docx() -> bytes:
    """What Word writes for a password-protected .docx: an OLE2 compound file holding an
    ``EncryptionInfo`` and an ``EncryptedPackage`` stream (directory names in UTF-16)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    directory = "EncryptionInfo".encode("utf-16-le") + bytes(50) + "EncryptedPackage".encode("utf-16-le")
    return header + directory + random.Random(5).randbytes(2048)


EMAIL = (
    b"From: Li Wei <li.wei@example.com>\r\n"
    b"To: contracts@example.com\r\n"
    b"Subject: =?utf-8?b?5ZCI5ZCM6KGl5YWF5Y2P6K6u?=\r\n"
    b"Date: Mon, 04 Mar 2024 09:30:00 +0800\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    + "附件是补充协议，甲方：北京云杉科技有限公司，乙方：上海海岳贸易有限公司。\r\n".encode()
    + b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b'Content-Disposition: attachment; filename="terms.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    + __import__("base64").encodebytes("补充协议\n合同金额：人民币伍万元整\n".encode())
    + b"--b1\r\nContent-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    + __import__("base64").encodebytes(b"MZ\x90\x00" + bytes(60))
    + b"--b1--\r\n"
)
ENCRYPTED_EMAIL = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: secret\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n"
)


@dataclass
class Corpus:
    root: Path
    rows: set[str] = field(default_factory=set)  # doc ids expected as output rows
    # doc id (its last path component for ids made from the source) -> reason
    quarantine: dict[str, str] = field(default_factory=dict)
    max_chars: int = 20_000


def build_corpus(root: Path, *, huge: bool = True) -> Corpus:
    """Every kind of input in one folder, and the expected outcome per document."""
    root.mkdir(parents=True, exist_ok=True)
    c = Corpus(root)
    good = make_pdf(ZH_PAGES, header="设备采购合同 CG-2024-0315")
    (root / "zh_purchase.pdf").write_bytes(good)
    (root / "en_services.pdf").write_bytes(make_pdf(EN_PAGES, font="Helvetica"))
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "amendment.txt").write_text(NOTE_TEXT, encoding="utf-8")
    c.rows |= {"zh_purchase.pdf", "en_services.pdf", "notes/amendment.txt"}

    (root / "corrupt.pdf").write_bytes(good[: len(good) // 3])  # truncated mid-stream
    (root / "garbage.pdf").write_bytes(random.Random(7).randbytes(4096))
    (root / "empty.pdf").write_bytes(b"")
    (root / "locked.pdf").write_bytes(make_encrypted_pdf())
    (root / "scan.pdf").write_bytes(make_image_only_pdf())
    (root / "readme.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (root / "legacy.msg").write_bytes(b"\xd0\xcf\x11\xe0 an Outlook message")
    # the other readers' bad inputs (cheap: none of them reaches the OCR model)
    (root / "tiny.png").write_bytes(make_png(12, 12))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(600))
    (root / "locked.docx").write_bytes(make_encrypted_docx())
    (root / "sealed.eml").write_bytes(ENCRYPTED_EMAIL)
    (root / "blank.html").write_bytes(
        b"<html><head><title>t</title><script>var a = 1;</script></head><body> </body></html>"
    )
    (root / "mail.eml").write_bytes(EMAIL)
    c.rows |= {"mail.eml", "mail.eml/attachment-1/terms.txt"}
    c.quarantine.update(
        {
            "corrupt.pdf": "corrupt",
            "garbage.pdf": "corrupt",
            "empty.pdf": "empty",
            "locked.pdf": "encrypted",
            "scan.pdf": "ocr_empty",  # pages without a text layer are OCR'd; these hold no text
            "readme.docx": "corrupt",
            "legacy.msg": "unsupported_type",
            "tiny.png": "too_small",
            "broken.jpg": "corrupt",
            "locked.docx": "encrypted",
            "sealed.eml": "encrypted",
            "blank.html": "empty",
            "setup.exe": "unsupported_type",  # mail.eml's second attachment
        }
    )
    if huge:  # 50 MB of text: rejected by size before it is read
        with open(root / "huge.txt", "wb") as f:
            chunk = ("本合同条款重复出现。" * 1000 + "\n").encode("utf-8")
            for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
                f.write(chunk)
        c.quarantine["huge.txt"] = "too_large"

    lines = [json.dumps(t, ensure_ascii=False).encode() for t in TICKETS]
    lines.append(b'{"id": "T5", "text": "unterminated')  # malformed JSON
    lines.append(b'{"id": "T6", "text": "' + "投诉噪音".encode("gbk") + b'"}')  # not UTF-8
    lines.append(json.dumps({"id": "T1", "text": "重复的编号"}, ensure_ascii=False).encode())  # duplicate id
    lines.append(json.dumps({"text": "没有编号的工单"}, ensure_ascii=False).encode())  # missing id
    lines.append(
        json.dumps({"id": "T7", "text": "很长的工单。" * 5000}, ensure_ascii=False).encode()
    )  # too long
    (root / "tickets.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    c.rows |= {"T1", "T2", "T3", "T4"}
    c.quarantine.update(
        {
            "tickets.jsonl#L5": "malformed_json",
            "T6": "bad_encoding",
            "T1": "duplicate_id",
            "tickets.jsonl#L8": "missing_id",
            "T7": "too_large",
        }
    )
    return c
