"""Word, e-mail and HTML: real files built in the test (python-docx, the standard library's
email package), read by the one reader, compared with the same text as a .txt file."""

from __future__ import annotations

import io
from email.message import EmailMessage

from connectors.documents import ReadOptions, parse_documents, read_document, read_documents, sniff_kind
from connectors.records import Doc, Quarantine

PARAGRAPHS = ["设备采购补充协议", "甲方：北京云杉科技有限公司", "乙方：上海海岳贸易有限公司"]
TABLE = [["项目", "内容"], ["合同金额", "人民币伍拾万元整"], ["签约日期", "2024年3月15日"]]
CLOSING = "本协议自双方签字之日起生效。"
# the same document as a person would type it into a text file: cells separated by a tab
SAME_TEXT = "\n".join([*PARAGRAPHS, *("\t".join(row) for row in TABLE), CLOSING]) + "\n"
FIELDS = "甲方,乙方,合同金额,签约日期"


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    for p in PARAGRAPHS:
        d.add_paragraph(p)
    table = d.add_table(rows=len(TABLE), cols=2)
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph(CLOSING)
    d.core_properties.title = "补充协议"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_eml(attachments: list[tuple[str, bytes, str]], body: str = "请查收附件中的补充协议。\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Li Wei <li.wei@example.com>"
    msg["To"] = "contracts@example.com"
    msg["Subject"] = "补充协议"
    msg["Date"] = "Mon, 04 Mar 2024 09:30:00 +0800"
    msg.set_content(body)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def _txt(text: str = SAME_TEXT) -> Doc:
    doc = read_document(text.encode(), "same.txt")
    assert isinstance(doc, Doc)
    return doc


def _values(ex, text: str):
    from extractor.schema import Schema

    return ex.extract(text, Schema.parse(FIELDS)).to_dict()


def test_docx_reads_paragraphs_and_tables_in_order_and_gives_the_values_of_the_same_txt(tiny_extractor):
    data = make_docx()
    assert sniff_kind(data, "upload") == "docx"
    doc = read_document(data, "agreement.docx")
    assert isinstance(doc, Doc), doc
    assert doc.text == _txt().text
    assert doc.text.index("乙方") < doc.text.index("合同金额") < doc.text.index(CLOSING)  # reading order
    assert doc.meta["paragraphs"] == len(PARAGRAPHS) + 1 and doc.meta["tables"] == 1
    assert doc.meta["title"] == "补充协议"
    values = _values(tiny_extractor, doc.text)
    assert values == _values(tiny_extractor, _txt().text)
    assert any(values["fields"].values())  # something was found, so the comparison says something


def test_eml_message_and_attachment_are_documents_with_the_values_of_the_same_txt(tiny_extractor):
    data = make_eml([("agreement.docx", make_docx(), "application/octet-stream")])
    recs = read_documents(data, "inbox/fwd.eml")
    assert [r.id for r in recs] == ["inbox/fwd.eml", "inbox/fwd.eml/attachment-1/agreement.docx"]
    message, attachment = recs
    assert isinstance(message, Doc) and isinstance(attachment, Doc)
    assert message.text == (
        "From: Li Wei <li.wei@example.com>\nTo: contracts@example.com\nDate: Mon, 04 Mar 2024 09:30:00 +0800\n"
        "Subject: 补充协议\n\n请查收附件中的补充协议。"
    )
    assert message.meta["attachments"] == [attachment.id] and message.meta["subject"] == "补充协议"
    assert attachment.meta["message"] == "inbox/fwd.eml" and attachment.meta["_kind"] == "docx"
    assert attachment.source == "inbox/fwd.eml" and attachment.text == _txt().text
    assert _values(tiny_extractor, attachment.text) == _values(tiny_extractor, _txt().text)
    # the body alone as a text file reads the same as in the message
    body = _txt("请查收附件中的补充协议。\n").text
    assert message.text.endswith(body)


def test_eml_with_html_body_nested_message_and_unreadable_attachment():
    html = "<html><head><style>p{color:red}</style></head><body><p>甲方：<b>北京云杉</b>科技有限公司</p></body></html>"
    inner = make_eml([("note.txt", "合同金额：人民币伍万元整".encode(), "text/plain")])
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "fwd"
    msg.set_content("plain part")
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(inner, maintype="message", subtype="rfc822", filename="orig.eml")
    msg.add_attachment(
        b"MZ\x90\x00binary", maintype="application", subtype="octet-stream", filename="tool.exe"
    )
    recs = list(parse_documents(bytes(msg), "m.eml", "email"))
    by_id = {r.id: r for r in recs}
    assert by_id["m.eml"].text.rstrip().endswith("plain part")  # text/plain is preferred over text/html
    inner_id = "m.eml/attachment-1/orig.eml"
    assert isinstance(by_id[inner_id], Doc) and "Subject: 补充协议" in by_id[inner_id].text
    nested = by_id[f"{inner_id}/attachment-1/note.txt"]
    assert isinstance(nested, Doc) and nested.text.startswith("合同金额")
    bad = by_id["m.eml/attachment-2/tool.exe"]
    assert isinstance(bad, Quarantine) and bad.reason == "unsupported_type" and "tool.exe" in bad.detail

    only_html = EmailMessage()
    only_html["From"], only_html["Subject"] = "a@example.com", "html"
    only_html.set_content(html, subtype="html")
    (doc,) = parse_documents(bytes(only_html), "h.eml", "email")
    assert doc.text.rstrip().endswith("甲方：北京云杉科技有限公司")  # the visible text of the HTML body


def test_html_visible_text_only():
    page = """<!doctype html><html><head><title>标题不显示</title><meta charset="gbk">
    <script>var secret = "脚本";</script><style>.x{}</style></head><body>
    <h1>采购合同</h1><p>甲方：北京云杉科技有限公司</p>
    <div hidden>隐藏的文字</div><p style="display: none">也不显示</p><span aria-hidden="true">图标</span>
    <table><tr><td>合同金额</td><td>人民币伍万元整</td></tr></table>
    <ul><li>第一条</li><li>第二条</li></ul><p>Line one<br>line&nbsp;two &amp; more</p>
    <noscript>请启用脚本</noscript><img src="x.png" alt="公司印章"></body></html>"""
    data = page.encode("gbk")
    assert sniff_kind(data, "page") == "html"
    doc = read_document(data, "page.html")
    assert isinstance(doc, Doc), doc
    for hidden in ("标题不显示", "脚本", "隐藏的文字", "也不显示", "图标", "请启用脚本", ".x"):
        assert hidden not in doc.text
    assert doc.text.split("\n")[:3] == ["采购合同", "甲方：北京云杉科技有限公司", "合同金额 人民币伍万元整"]
    assert "第一条\n第二条" in doc.text and "Line one\nline two & more" in doc.text and "公司印章" in doc.text
    assert doc.meta["_encoding"] == "gbk"


def _quarantine(data: bytes, name: str, kind: str) -> Quarantine:
    (rec,) = parse_documents(data, name, kind)
    assert isinstance(rec, Quarantine), rec
    assert rec.stage == "parse" and rec.detail and rec.id == name
    return rec


def test_bad_word_email_and_html_files_get_their_reason():
    from ..pipelines.corpus import ENCRYPTED_EMAIL, make_encrypted_docx

    good = make_docx()
    assert _quarantine(make_encrypted_docx(), "locked.docx", "docx").reason == "encrypted"
    assert (
        "legacy" in _quarantine(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.docx", "docx").detail
    )
    assert _quarantine(good[: len(good) // 2], "cut.docx", "docx").reason == "corrupt"
    assert _quarantine(b"just text", "fake.docx", "docx").reason == "corrupt"
    assert _quarantine(b"", "empty.docx", "docx").reason == "empty"
    import docx

    blank = io.BytesIO()
    docx.Document().save(blank)
    assert _quarantine(blank.getvalue(), "blank.docx", "docx").reason == "empty"
    (big,) = parse_documents(good, "big.docx", "docx", ReadOptions(max_bytes=len(good) - 1))
    assert isinstance(big, Quarantine) and big.reason == "too_large"
    (bomb,) = parse_documents(good, "bomb.docx", "docx", ReadOptions(max_bytes=len(good)))
    assert isinstance(bomb, Quarantine) and bomb.reason == "too_large" and "unpacks to" in bomb.detail

    assert _quarantine(ENCRYPTED_EMAIL, "sealed.eml", "email").reason == "encrypted"
    pgp = b'From: a@b\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=x\r\n\r\n'
    assert _quarantine(pgp, "pgp.eml", "email").reason == "encrypted"
    assert _quarantine(bytes(range(256)) * 4, "bin.eml", "email").reason == "corrupt"
    assert _quarantine(b"   \n", "blank.eml", "email").reason == "empty"

    nested = make_eml([])
    for _ in range(4):  # a message attached to a message ... four levels deep
        msg = EmailMessage()
        msg["From"], msg["Subject"] = "a@example.com", "fwd"
        msg.set_content("see below")
        msg.add_attachment(nested, maintype="message", subtype="rfc822", filename="fwd.eml")
        nested = bytes(msg)
    deep = [r for r in parse_documents(nested, "deep.eml", "email") if isinstance(r, Quarantine)]
    assert [(r.reason, r.id.count("/attachment-")) for r in deep] == [("too_large", 4)]
    assert "nested over 3 levels" in deep[0].detail

    assert _quarantine(b"<html><body><script>x()</script></body></html>", "s.html", "html").reason == "empty"
    (big,) = parse_documents(b"<p>" + b"x" * 500 + b"</p>", "big.html", "html", ReadOptions(max_chars=100))
    assert isinstance(big, Quarantine) and big.reason == "too_large" and "html file" in big.detail
    assert _quarantine(b"<p>\x00\x00</p>", "nul.html", "html").reason == "bad_encoding"
