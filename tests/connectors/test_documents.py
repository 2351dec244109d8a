"""connectors.documents: the one reader + cleaner of the CLI, the app and the pipeline."""

from __future__ import annotations

import inspect
import json

import pytest

from connectors.clean import clean_text
from connectors.documents import (
    DEFAULT_MAX_BYTES,
    ReadOptions,
    clean_document,
    parse_documents,
    parse_text,
    read_document,
    size_limit,
    sniff_kind,
)
from connectors.pdf import read_pdf
from connectors.records import Doc, Quarantine
from tests.pipelines.corpus import ZH_PAGES, make_pdf


def test_one_size_limit_for_every_reader():
    assert DEFAULT_MAX_BYTES == 64 * 1024 * 1024
    assert inspect.signature(read_pdf).parameters["max_bytes"].default == DEFAULT_MAX_BYTES
    assert ReadOptions().max_bytes == DEFAULT_MAX_BYTES == size_limit("pdf")
    assert size_limit("text", ReadOptions(max_chars=100)) == 400
    assert size_limit("tickets") is None


def test_sniff_kind():
    assert sniff_kind(b"%PDF-1.7 ...", "upload") == "pdf"
    assert sniff_kind(b"", "a.PDF") == "pdf"
    assert sniff_kind("甲方".encode(), "<stdin>") == "text"


def test_text_files_decode_and_refuse_binary():
    assert parse_text("甲方：张三".encode("gb18030"), "a.txt").text == "甲方：张三"
    assert parse_text(b"\xef\xbb\xbfParty A", "a.txt").text == "Party A"  # BOM dropped
    empty = parse_text(b" \n", "a.txt")
    assert isinstance(empty, Quarantine) and (empty.stage, empty.reason) == ("parse", "empty")
    assert parse_text(b"\x00\xff\xfe\x00", "a.bin").reason == "bad_encoding"
    assert parse_text("合同文本 A".encode("utf-16-le"), "u16.txt").reason == "bad_encoding"  # no BOM: NULs
    mostly_bad = b"\xff\xfe\xfd\xfc" * 20 + b"ok"
    assert parse_text(mostly_bad[2:], "x.txt").reason == "bad_encoding"
    few_bad = "甲方：北京云杉科技有限公司".encode() + b"\xff" + "乙方".encode()
    assert "\ufffd" in parse_text(few_bad, "x.txt").text


def test_limits_quarantine_too_large_documents():
    (q,) = parse_documents("很长".encode() * 60, "big.txt", "text", ReadOptions(max_chars=50))
    assert isinstance(q, Quarantine) and q.reason == "too_large" and "bytes" in q.detail
    (q,) = parse_documents("很长".encode() * 20, "big.txt", "text", ReadOptions(max_chars=30))
    assert q.reason == "too_large" and "40 characters is over the limit of 30" in q.detail
    tickets = "\n".join(json.dumps({"id": i, "text": "字" * n}) for i, n in ((1, 5), (2, 50))).encode()
    recs = list(parse_documents(tickets, "t.jsonl", "tickets", ReadOptions(max_chars=10)))
    assert [type(r).__name__ for r in recs] == ["Doc", "Quarantine"] and recs[1].id == "2"
    with pytest.raises(ValueError, match="unknown document kind"):
        list(parse_documents(b"x", "x", "xlsx"))


def test_clean_document_keeps_notes_and_quarantines_nothing_left():
    doc = Doc("a", "a.txt", "合同编号：ＨＴ－２０２３\u200b\r\n")
    clean = clean_document(doc, "text")
    assert clean.text == "合同编号：HT-2023" and clean.notes == ["control_chars_removed: 1"]
    gone = clean_document(Doc("b", "b.txt", "\u200b\u200b"), "text")
    assert isinstance(gone, Quarantine) and (gone.stage, gone.reason) == ("clean", "empty_text")


def test_read_document_is_parse_then_clean_with_the_pdf_layout():
    data = make_pdf(ZH_PAGES, header="设备采购合同 CG-2024-0315")
    doc = read_document(data, "c.pdf")
    raw = read_pdf(data, "c.pdf").text
    assert "\f" in raw and "\f" not in doc.text and "第 1 页" in raw and "第 1 页" not in doc.text
    assert doc.text == clean_text(raw, layout=True)[0]
    assert read_document("甲方：张三\n\n\n乙方：李四".encode(), "t.txt").text == "甲方：张三\n\n乙方：李四"
    assert read_document(b"%PDF-1.4 garbage", "<stdin>").reason == "corrupt"  # sniffed as a PDF
    with pytest.raises(ValueError):
        read_document(b"{}", "t.jsonl", "tickets")


# ------------------------------------------------------------------ encodings by evidence (issue 23)
LATIN = "Société Générale, Herr Müller, Zürich. Le contrat est signé à Paris."


def test_latin1_text_is_read_as_latin_not_as_gb18030_garbage():
    doc = read_document(LATIN.encode("latin-1"), "latin.txt")
    assert doc.text == LATIN and doc.notes == [] and doc.meta["_encoding"] == "cp1252"


def test_valid_characters_around_bad_utf8_bytes_are_kept_and_the_document_is_flagged():
    data = "甲方：北京".encode() + b"\xff\xfe\x80\x81" + "乙方：上海".encode()
    doc = read_document(data, "damaged.txt")
    assert doc.text == "甲方：北京\ufffd\ufffd\ufffd\ufffd乙方：上海"  # 京 and 乙 kept
    assert doc.notes == [
        "encoding_uncertain: 4 byte(s) are not valid UTF-8 (marked U+FFFD; the text around them is kept)",
        "replacement_chars: 4",
    ]


@pytest.mark.parametrize(
    ("text", "encoding", "used"),
    [
        ("甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。", "gbk", "gb18030"),
        ("甲方：台北雲杉科技有限公司，乙方：高雄海川貿易有限公司。", "big5", "big5"),
        ("Договор между ООО Ромашка и ИП Иванов заключен в Москве.", "cp1251", "cp1251"),
    ],
)
def test_legacy_encodings_are_detected_with_certainty_when_the_evidence_is_clear(text, encoding, used):
    doc = read_document(text.encode(encoding), "t.txt")
    assert (doc.text, doc.meta["_encoding"], doc.notes) == (text, used, [])


def test_a_reading_that_is_not_certain_is_flagged_in_the_notes():
    doc = read_document("Müller".encode("latin-1"), "short.txt")
    assert doc.text == "Müller" and doc.notes == [
        "encoding_uncertain: read as cp1252; the bytes read as well as cp1251 (convert the file to UTF-8 to be sure)"
    ]


def test_a_50_mb_jsonl_line_is_one_too_large_row_and_the_next_line_is_read():
    """Issue 23 (held): one 50 MB record of a ticket file is quarantined by the character
    limit, the file's other records are read."""
    big = json.dumps({"id": "big", "text": "甲方" + "x" * 50_000_000})
    data = (big + "\n" + json.dumps({"id": "T2", "text": "乙方：上海"}) + "\n").encode()
    got = [
        (type(r).__name__, r.id, r.reason, r.detail)
        if isinstance(r, Quarantine)
        else ("Doc", r.id, None, r.text)
        for r in parse_documents(data, "t.jsonl", "tickets")
    ]
    assert got == [
        ("Quarantine", "big", "too_large", "50,000,002 characters is over the limit of 2,000,000"),
        ("Doc", "T2", None, "乙方：上海"),
    ]
