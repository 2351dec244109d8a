"""read_tickets: JSONL / CSV / Parquet, encodings, ids, and every quarantine reason."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.records import ConnectorError, Doc, Quarantine
from connectors.tickets import QUARANTINE_REASONS, decode_text, detect_format, read_tickets

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tickets"


def split(records):
    records = list(records)
    docs = [r for r in records if isinstance(r, Doc)]
    bad = [r for r in records if isinstance(r, Quarantine)]
    assert all(q.reason in QUARANTINE_REASONS and q.stage == "parse" and q.detail for q in bad)
    return docs, bad


def jsonl(*rows) -> bytes:
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows
    ).encode()


# ---------------------------------------------------------------------- samples


def test_bundled_sample_tickets():
    docs, bad = split(read_tickets((SAMPLES / "tickets.jsonl").read_bytes(), "samples/tickets/tickets.jsonl"))
    expected = json.loads((SAMPLES / "_expected.json").read_text(encoding="utf-8"))
    assert not bad and len(docs) == len(expected) == 22
    assert [d.id for d in docs] == list(expected)
    for doc in docs:
        gold = expected[doc.id]
        assert doc.meta["category"] == gold.get("诉求类别", gold.get("category"))
        for key in ("姓名", "电话", "地址", "name", "phone", "address"):
            if key in gold:
                assert gold[key] in doc.text, (doc.id, key)
        assert doc.meta["_format"] == "jsonl" and doc.meta["_encoding"] == "utf-8"
        assert doc.pages == 1 and doc.source == "samples/tickets/tickets.jsonl"


# ---------------------------------------------------------------------- JSONL


def test_jsonl_ids_text_and_meta():
    data = jsonl(
        {"id": 17, "title": "噪音", "body": "楼下施工噪音", "category": "噪音扰民", "tags": ["夜间"]},
        {"id": " A-2 ", "title": None, "body": "只有正文"},
        {"id": 3.0, "title": "标题", "body": ""},
    )
    docs, bad = split(read_tickets(data, "t.jsonl", text_columns=("title", "body")))
    assert not bad
    assert [d.id for d in docs] == ["17", "A-2", "3"]
    assert docs[0].text == "噪音\n楼下施工噪音"
    assert docs[0].meta == {
        "category": "噪音扰民",
        "tags": ["夜间"],
        "_line": 1,
        "_format": "jsonl",
        "_encoding": "utf-8",
    }
    assert docs[1].text == "只有正文" and docs[2].text == "标题"


def test_jsonl_bad_records_are_quarantined_and_the_rest_kept():
    data = jsonl(
        {"id": "1", "text": "ok"},
        '{"id": "2", "text": "unterminated',
        "[1, 2, 3]",
        "",
        {"text": "no id"},
        {"id": "", "text": "blank id"},
        {"id": "6", "text": "   "},
        {"id": "1", "text": "again"},
        {"id": "8", "text": "fine"},
    )
    docs, bad = split(read_tickets(data, "in/t.jsonl"))
    assert [d.id for d in docs] == ["1", "8"]
    assert [(q.id, q.reason) for q in bad] == [
        ("in/t.jsonl#L2", "malformed_json"),
        ("in/t.jsonl#L3", "malformed_json"),
        ("in/t.jsonl#L5", "missing_id"),
        ("in/t.jsonl#L6", "missing_id"),
        ("6", "empty_text"),
        ("1", "duplicate_id"),
    ]
    assert "line 2" in bad[0].detail and "JSON object" in bad[1].detail
    assert "already used at line 1" in bad[-1].detail
    assert docs[1].meta["_line"] == 9


def test_duplicate_of_a_quarantined_record_is_kept():
    data = jsonl({"id": "1", "text": ""}, {"id": "1", "text": "second try"})
    docs, bad = split(read_tickets(data, "t.jsonl"))
    assert [d.text for d in docs] == ["second try"] and [q.reason for q in bad] == ["empty_text"]


def test_gbk_file_is_detected_and_decoded():
    rows = [{"id": f"G{i}", "text": f"市民王先生反映：小区门口道路积水严重，第{i}次来电。"} for i in range(5)]
    data = jsonl(*rows).decode().encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    docs, bad = split(read_tickets(data, "gbk.jsonl"))
    assert not bad and [d.text for d in docs] == [r["text"] for r in rows]
    assert {d.meta["_encoding"] for d in docs} == {"gb18030"}


def test_invalid_bytes_quarantine_only_their_lines():
    good = jsonl({"id": "1", "text": "正常的工单内容"}, {"id": "3", "text": "另一条正常工单"})
    lines = good.split(b"\n")
    broken = '{"id": "2", "text": "坏'.encode() + b"\xff\xfe\x80" + '字节"}'.encode()
    data = b"\n".join([lines[0], broken, lines[1]]) + b"\n"
    docs, bad = split(read_tickets(data, "mixed.jsonl"))
    assert [d.id for d in docs] == ["1", "3"] and docs[0].meta["_encoding"] == "utf-8"
    assert [(q.id, q.reason) for q in bad] == [("2", "bad_encoding")]
    assert "line 2" in bad[0].detail and "3 byte(s)" in bad[0].detail


def test_gbk_file_with_a_broken_line():
    data = (
        jsonl({"id": "1", "text": "供暖温度不达标"}, {"id": "2", "text": "电梯经常故障"})
        .decode()
        .encode("gbk")
    )
    lines = data.split(b"\n")
    data = lines[0] + b"\n" + lines[1][:-4] + b"\x81\n"  # cut inside a character
    docs, bad = split(read_tickets(data, "g.jsonl"))
    assert [d.id for d in docs] == ["1"] and docs[0].meta["_encoding"] == "gb18030"
    assert [q.reason for q in bad] == ["bad_encoding"] and bad[0].id == "g.jsonl#L2"


def test_decode_text():
    assert decode_text("你好".encode()) == ("你好", "utf-8")
    assert decode_text(b"\xef\xbb\xbf" + "你好".encode()) == ("你好", "utf-8")
    assert decode_text("你好".encode("gbk")) == ("你好", "gb18030")
    assert decode_text("你好".encode("utf-16")) == ("你好", "utf-16")
    assert decode_text("你好".encode("big5"), encoding="big5") == ("你好", "big5")


def test_json_array_and_gzip():
    data = json.dumps([{"id": 1, "text": "a"}, {"id": 2, "text": "b"}, "oops"]).encode()
    docs, bad = split(read_tickets(data, "t.json"))
    assert [d.id for d in docs] == ["1", "2"] and [(q.id, q.reason) for q in bad] == [
        ("t.json#R3", "malformed_json")
    ]
    docs, _ = split(read_tickets(gzip.compress(jsonl({"id": 1, "text": "z"})), "t.jsonl.gz"))
    assert [d.text for d in docs] == ["z"]
    _, bad = split(read_tickets(b"\x1f\x8b\x08\x00broken", "t.jsonl.gz"))
    assert [(q.id, q.reason) for q in bad] == [("t.jsonl.gz", "corrupt")]


def test_format_detection():
    assert detect_format("a/b/t.JSONL") == ("jsonl", False)
    assert detect_format("t.ndjson.gz") == ("jsonl", True)
    assert detect_format("t.csv") == ("csv", False)
    assert detect_format("t.pq") == ("parquet", False)
    assert detect_format("t.txt") == (None, False)
    with pytest.raises(ConnectorError, match=r"cannot tell the ticket format of t\.txt"):
        list(read_tickets(b"", "t.txt"))
    docs, _ = split(read_tickets(jsonl({"id": 1, "text": "x"}), "t.txt", fmt="jsonl"))
    assert len(docs) == 1


# ---------------------------------------------------------------------- CSV


def test_csv_with_quoted_newlines_bom_and_bad_rows():
    text = (
        "\ufeffid,title,body,category\n"
        '1,停水,"小区停水,\n已经三天",供水\n'
        "2,噪音,晚上施工,噪音扰民\n"
        "3,短行\n"
        "4,多,了,一,列\n"
        ",无编号,有内容,其他\n"
        "\n"
        "2,重复,重复内容,其他\n"
    )
    docs, bad = split(read_tickets(text.encode(), "t.csv", text_columns=["title", "body"]))
    assert [d.id for d in docs] == ["1", "2"]
    assert docs[0].text == "停水\n小区停水,\n已经三天" and docs[0].meta["category"] == "供水"
    assert docs[1].meta["_line"] == 4  # the record after a two-line record
    assert [(q.id, q.reason) for q in bad] == [
        ("3", "malformed_row"),
        ("4", "malformed_row"),
        ("t.csv#L7", "missing_id"),
        ("2", "duplicate_id"),
    ]


def test_csv_in_gbk_and_tsv():
    data = "id,text\n1,市民反映路灯不亮\n2,咨询社保政策\n".encode("gbk")
    docs, bad = split(read_tickets(data, "t.csv"))
    assert not bad and docs[0].text == "市民反映路灯不亮" and docs[0].meta["_encoding"] == "gb18030"
    docs, _ = split(read_tickets(b"id\ttext\n1\thello, world\n", "t.tsv"))
    assert docs[0].text == "hello, world"
    data = "id,text\n1,正常内容\n2,坏".encode() + b"\xff" + "字节\n3,也正常\n".encode()
    docs, bad = split(read_tickets(data, "u.csv"))
    assert [d.id for d in docs] == ["1", "3"] and [(q.id, q.reason) for q in bad] == [("2", "bad_encoding")]


def test_a_header_without_the_configured_columns_is_one_quarantine_row_with_the_fix():
    """Not an error that stops every other file: the file is one `missing_column` row naming
    the columns it has and the option that reads it."""
    docs, bad = split(read_tickets(b"id,body\n1,x\n", "n.csv"))
    assert not docs and [(q.id, q.reason) for q in bad] == [("n.csv", "missing_column")]
    assert bad[0].detail == (
        "no column 'text' in the csv header (columns: 'id', 'body'); the file was not read: "
        "--text-column body would read it"
    )
    _, bad = split(read_tickets(b"ticket_no,text,title\n1,x,y\n", "t.csv", text_columns=("content",)))
    assert [q.reason for q in bad] == ["missing_column"]
    assert "no column 'id', 'content'" in bad[0].detail and "--id-column ticket_no" in bad[0].detail
    assert "--text-column NAME with NAME one of 'text', 'title' (repeat" in bad[0].detail


def test_csv_parser_failure_keeps_what_came_before(monkeypatch):
    import csv

    import connectors.tickets as tickets

    real_reader = csv.reader

    class FailingReader:  # the csv module gives up, e.g. on a field over its size limit
        def __init__(self, *args, **kwargs):
            self._reader = real_reader(*args, **kwargs)

        def __iter__(self):
            return self

        def __next__(self):
            row = next(self._reader)
            if row and row[0] == "2":
                raise csv.Error("field larger than field limit (131072)")
            return row

        @property
        def line_num(self):
            return self._reader.line_num

    monkeypatch.setattr(tickets.csv, "reader", FailingReader)
    docs, bad = split(read_tickets(b"id,text\n1,ok\n2,too long\n3,never read\n", "t.csv"))
    assert [d.id for d in docs] == ["1"]
    assert [q.reason for q in bad] == ["malformed_csv"] and bad[0].id == "t.csv#L3"
    assert "field limit" in bad[0].detail and "rest of the file" in bad[0].detail


# ---------------------------------------------------------------------- Parquet


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_parquet_tickets_keep_ids_and_types():
    table = pa.table(
        {
            "ticket_no": pa.array([1001, 1002, None, 1001], pa.int64()),
            "title": ["路灯", "占道", "无编号", "重复"],
            "body": ["路灯不亮", None, "x", "y"],
            "created": pa.array([1, 2, 3, 4], pa.timestamp("s")),
        }
    )
    docs, bad = split(
        read_tickets(_parquet(table), "t.parquet", id_column="ticket_no", text_columns=("title", "body"))
    )
    assert [d.id for d in docs] == ["1001", "1002"]
    assert docs[0].text == "路灯\n路灯不亮" and docs[1].text == "占道"
    assert docs[0].meta["_line"] == 1 and "_encoding" not in docs[0].meta
    assert json.loads(docs[0].to_dict(meta_json=True)["meta"])["created"].startswith("1970-01-01")
    assert [(q.id, q.reason) for q in bad] == [("t.parquet#R3", "missing_id"), ("1001", "duplicate_id")]


def test_parquet_float_ids_from_pandas_and_errors():
    table = pa.table({"id": pa.array([1.0, 2.0, float("nan")]), "text": ["a", "b", "c"]})
    docs, bad = split(read_tickets(_parquet(table), "t.parquet"))
    assert [d.id for d in docs] == ["1", "2"] and [q.reason for q in bad] == ["missing_id"]
    _, bad = split(read_tickets(_parquet(pa.table({"id": [1]})), "t.parquet"))
    assert [(q.id, q.reason) for q in bad] == [("t.parquet", "missing_column")]
    assert "no column 'text' in the parquet header (columns: 'id')" in bad[0].detail
    _, bad = split(read_tickets(b"PAR1 not really", "t.parquet"))
    assert [(q.id, q.reason) for q in bad] == [("t.parquet", "corrupt")]


@pytest.mark.parametrize(
    ("data", "name", "what"),
    [(b"", "e.jsonl", "0 bytes"), (b"\n\n  \n", "b.jsonl", "5 bytes and no record"),
     (b"id,text\n", "h.csv", "8 bytes and no record"), (b"[]", "a.json", "2 bytes and no record")],
)  # fmt: skip
def test_a_ticket_file_without_records_is_one_empty_row(data, name, what):
    docs, bad = split(read_tickets(data, name))
    assert not docs and [(q.id, q.reason, q.detail) for q in bad] == [
        (name, "empty", f"no ticket record in the file ({what})")
    ]


def test_ids_with_control_characters_are_escaped_with_a_note_other_odd_ids_are_data():
    lines = [
        {"id": "T\u00001", "text": "a"},
        {"id": "../../x", "text": "b"},
        {"id": "/abs/path", "text": "c"},
        {"id": "E\u001b[31m", "text": "d"},
        {"id": "T\\x001", "text": "e"},  # the escaped form of the first id, written literally
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    docs, bad = split(read_tickets(data, "t.jsonl"))
    assert [d.id for d in docs] == ["T\\x001", "../../x", "/abs/path", "E\\x1b[31m"]
    assert [d.notes for d in docs] == [[NOTE], [], [], [NOTE]]
    assert [(q.id, q.reason) for q in bad] == [("T\\x001", "duplicate_id")]  # never two rows for one id


NOTE = "id_escaped: control or invisible characters in the id are written as \\xNN/\\uNNNN"
