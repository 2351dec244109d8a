"""Output schema, result -> row, the atomic ParquetWriter and read_table (local and S3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from connectors.fs import Folder
from connectors.parquet import (
    AMOUNT_TYPE,
    TEMP_DIR,
    ParquetWriter,
    output_schema,
    quarantine_schema,
    quarantine_to_row,
    read_table,
    remove_stale_temp,
    result_to_row,
)
from connectors.records import ConnectorError, Doc, Quarantine
from extractor.types import ClassLabel, DocumentResult, Span

FIELDS = [
    ("甲方", "text"),
    ("合同金额", "money"),
    ("签约日期", "date"),
    ("联系电话", "phone"),
    ("身份证号", "id_number"),
    ("员工人数", "integer"),
    ("税率", "percent"),
    ("项目阶段", "choice"),
]
CLASSES = ["合同类型"]
AT = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def span(field, text, start, conf, normalized=None, issues=()):
    return Span(field, text, start, start + len(text), conf, normalized, list(issues))


def sample_result() -> DocumentResult:
    return DocumentResult(
        values={
            "甲方": [span("甲方", "北京云杉数据科技有限公司", 120, 0.80), span("甲方", "北京云杉", 10, 0.95)],
            "合同金额": [
                span("合同金额", "¥1,200,000.00", 300, 0.9, {"amount": "1200000.00", "currency": "CNY"}),
                span("合同金额", "1,200,000", 40, 0.99, None, ["not a money amount"]),
            ],
            "签约日期": [span("签约日期", "2024年3月15日", 500, 0.7, "2024-03-15")],
            "联系电话": [],
            "员工人数": [span("员工人数", "一千二百", 600, 0.6, 1200)],
            "税率": [span("税率", "13%", 700, 0.9, "13")],
            "项目阶段": [span("项目阶段", "验收阶段", 800, 0.5, "验收")],
        },
        classes={"合同类型": [ClassLabel("合同类型", "采购", 0.7), ClassLabel("合同类型", "租赁", 0.2)]},
        violations=["结束日期 >= 开始日期: 2024-01-01 < 2024-02-01"],
    )


# ---------------------------------------------------------------------- schema


def test_output_schema_layout():
    schema = output_schema(FIELDS, CLASSES)
    assert schema.names == [
        "doc_id", "doc_key", "source", "pages",
        "甲方", "甲方_all", "甲方_confidence", "甲方_offsets", "甲方_issues", "甲方_dropped", "甲方_alternatives",
        "合同金额", "合同金额_all", "合同金额_confidence", "合同金额_offsets", "合同金额_amount", "合同金额_currency",
        "合同金额_approximate", "合同金额_issues", "合同金额_dropped", "合同金额_alternatives",
        "签约日期", "签约日期_all", "签约日期_confidence", "签约日期_offsets", "签约日期_normalized",
        "签约日期_approximate", "签约日期_issues", "签约日期_dropped", "签约日期_alternatives",
        "联系电话", "联系电话_all", "联系电话_confidence", "联系电话_offsets", "联系电话_normalized", "联系电话_issues",
        "联系电话_dropped", "联系电话_alternatives",
        "身份证号", "身份证号_all", "身份证号_confidence", "身份证号_offsets", "身份证号_normalized", "身份证号_issues",
        "身份证号_dropped", "身份证号_alternatives",
        "员工人数", "员工人数_all", "员工人数_confidence", "员工人数_offsets", "员工人数_normalized",
        "员工人数_approximate", "员工人数_issues", "员工人数_dropped", "员工人数_alternatives",
        "税率", "税率_all", "税率_confidence", "税率_offsets", "税率_normalized", "税率_approximate", "税率_issues",
        "税率_dropped", "税率_alternatives",
        "项目阶段", "项目阶段_all", "项目阶段_confidence", "项目阶段_offsets", "项目阶段_normalized", "项目阶段_issues",
        "项目阶段_dropped", "项目阶段_alternatives",
        "合同类型", "合同类型_confidence",
        "violations", "model", "run_id", "extracted_at",
    ]  # fmt: skip
    t = {f.name: f.type for f in schema}
    assert t["pages"] == pa.int32() and t["甲方"] == pa.string()
    assert t["甲方_all"] == pa.list_(pa.string()) and t["甲方_confidence"] == pa.float32()
    assert t["甲方_offsets"] == pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32())]))
    assert t["合同金额_amount"] == AMOUNT_TYPE == pa.decimal128(22, 4)
    assert t["员工人数_normalized"] == pa.int64() and t["签约日期_normalized"] == pa.string()
    assert t["合同金额_approximate"] == t["签约日期_approximate"] == t["税率_approximate"] == pa.bool_()
    assert t["合同类型_confidence"] == pa.float32() and t["violations"] == pa.list_(pa.string())
    assert t["extracted_at"] == pa.timestamp("us", tz="UTC")
    assert not schema.field("doc_id").nullable


def test_output_schema_accepts_field_objects_and_rejects_bad_input():
    objects = [SimpleNamespace(name="Party A", type="text"), SimpleNamespace(name="Fee", type="Money")]
    assert output_schema(objects, [SimpleNamespace(name="kind")]).names[4:8] == [
        "Party A",
        "Party A_all",
        "Party A_confidence",
        "Party A_offsets",
    ]
    with pytest.raises(ValueError, match="unknown type 'amount'"):
        output_schema([("x", "amount")], [])
    with pytest.raises(ValueError, match="'x_all'"):
        output_schema([("x", "text"), ("x_all", "text")], [])
    with pytest.raises(ValueError, match="'source'"):
        output_schema([("source", "text")], [])


def test_quarantine_schema_and_row():
    assert quarantine_schema().names == [
        "doc_id",
        "doc_key",
        "source",
        "stage",
        "reason",
        "detail",
        "run_id",
        "at",
    ]
    q = Quarantine("a.pdf", "s3://b/a.pdf", "parse", "encrypted", "password-protected PDF")
    row = quarantine_to_row(q, "run-1", at=AT)
    assert row == quarantine_to_row(q.to_dict(), "run-1", at=AT)
    table = pa.Table.from_pylist([row], schema=quarantine_schema())
    assert table.to_pylist()[0]["reason"] == "encrypted"


# ---------------------------------------------------------------------- rows


def test_result_to_row_picks_the_best_value_and_normalizes():
    doc = Doc("c-1", "s3://bucket/c-1.pdf", "...", pages=3)
    row = result_to_row(
        doc.to_dict(), sample_result(), FIELDS, CLASSES, "seqgpt-560m", "run-7", extracted_at=AT
    )
    table = pa.Table.from_pylist([row], schema=output_schema(FIELDS, CLASSES))  # the row fits the schema
    assert table.num_rows == 1
    assert (row["doc_id"], row["source"], row["pages"]) == ("c-1", "s3://bucket/c-1.pdf", 3)
    # highest confidence wins; _all and _offsets are in text order
    assert row["甲方"] == "北京云杉" and row["甲方_confidence"] == pytest.approx(0.95)
    assert row["甲方_all"] == ["北京云杉", "北京云杉数据科技有限公司"]
    assert row["甲方_offsets"] == [{"start": 10, "end": 14}, {"start": 120, "end": 132}]
    # a value without validation issues beats a more confident one with issues
    assert row["合同金额"] == "¥1,200,000.00" and row["合同金额_confidence"] == pytest.approx(0.9)
    assert row["合同金额_amount"] == Decimal("1200000.0000") and row["合同金额_currency"] == "CNY"
    assert row["签约日期_normalized"] == "2024-03-15"
    assert row["员工人数_normalized"] == 1200 and row["税率_normalized"] == "13"
    assert row["项目阶段_normalized"] == "验收"
    assert row["合同金额_approximate"] is False and row["签约日期_approximate"] is False
    # a field without values, and one the result does not mention at all
    for name in ("联系电话", "身份证号"):
        assert row[name] is None and row[f"{name}_all"] == [] and row[f"{name}_offsets"] == []
        assert row[f"{name}_confidence"] is None and row[f"{name}_normalized"] is None
    assert row["合同类型"] == "采购" and row["合同类型_confidence"] == pytest.approx(0.7)
    assert row["violations"] == ["结束日期 >= 开始日期: 2024-01-01 < 2024-02-01"]
    # every problem of a field's values, naming the value; nothing dropped here
    assert row["合同金额_issues"] == ["1,200,000: not a money amount"] and row["甲方_issues"] == []
    assert row["合同金额_dropped"] == [] and row["联系电话_issues"] == []
    assert (row["model"], row["run_id"], row["extracted_at"]) == ("seqgpt-560m", "run-7", AT)


def test_issues_and_dropped_values_reach_their_columns_and_survive_a_parquet_round_trip(tmp_path):
    from extractor.schema import Field, Schema

    schema = Schema([Field.parse("签约日期"), Field.parse("身份证号(18位)", threshold=0.5)])
    result = DocumentResult(
        values={
            "签约日期": [Span("签约日期", "上海静安置业有限公司", 3, 13, 0.8)],
            "身份证号": [
                Span("身份证号", "110105194912310021", 20, 38, 0.3),
                Span("身份证号", "123", 50, 53, 0.9),
            ],
        }
    )
    schema.validate(result)
    row = result_to_row(
        {"id": "d", "source": "s", "pages": 1}, result, schema.fields, [], "m", "r", extracted_at=AT
    )
    assert row["签约日期"] == "上海静安置业有限公司" and row["签约日期_normalized"] is None
    assert row["签约日期_issues"] == ["上海静安置业有限公司: not a valid date"]
    assert row["身份证号_issues"] == [
        "123: expected 18 characters, got 3",
        "123: not an 18-character resident ID number",
    ]
    assert row["身份证号_dropped"] == [
        {"value": "110105194912310021", "confidence": pytest.approx(0.3), "start": 20, "end": 38}
    ]
    assert row["violations"] == [
        "签约日期='上海静安置业有限公司': not a valid date",
        "身份证号='123': expected 18 characters, got 3",
        "身份证号='123': not an 18-character resident ID number",
    ]
    out = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([row], schema=output_schema(schema.fields)), out)
    back = pq.read_table(out)
    assert back.schema.field("身份证号_dropped").type == pa.list_(
        pa.struct(
            [("value", pa.string()), ("confidence", pa.float32()), ("start", pa.int32()), ("end", pa.int32())]
        )
    )
    got = back.to_pylist()[0]
    assert got["身份证号_dropped"][0]["value"] == "110105194912310021"
    assert got["签约日期_issues"] == ["上海静安置业有限公司: not a valid date"]


def test_approximate_values_get_their_flag_next_to_the_normalized_column():
    fields = [("金额", "money"), ("日期", "date"), ("人数", "integer"), ("甲方", "text")]
    fuzzy = span("金额", "大概五十万左右", 3, 0.8, {"amount": "500000.00", "currency": None})
    fuzzy.approximate = True
    month = span("日期", "2023年3月中旬", 20, 0.7, "2023-03")
    month.approximate = True
    result = DocumentResult(values={"金额": [fuzzy], "日期": [month], "人数": [], "甲方": []})
    row = result_to_row({"doc_id": "d"}, result, fields, [], "m", "r", extracted_at=AT)
    # the verbatim text, the normalized value (never passed off as exact) and the flag
    assert (row["金额"], row["金额_amount"], row["金额_approximate"]) == (
        "大概五十万左右",
        Decimal("500000.0000"),
        True,
    )
    assert (row["日期"], row["日期_normalized"], row["日期_approximate"]) == (
        "2023年3月中旬",
        "2023-03",
        True,
    )
    assert row["人数_approximate"] is None  # no value: null, like its normalized column
    assert "甲方_approximate" not in row and "甲方_approximate" not in output_schema(fields).names
    table = pa.Table.from_pylist([row], schema=output_schema(fields))
    assert table.column("金额_approximate").to_pylist() == [True]


def test_the_output_adapter_writes_the_approximate_flag_in_data_and_record_rows():
    """seqgpt run's rows (and seqgpt.Results.to_arrow) are shaped by OutputAdapter: the flag
    set by validation reaches the data row and the record rows, and both fit their tables."""
    from connectors.parquet import OutputAdapter
    from extractor.schema import Schema

    schema = Schema.parse("车牌号, 损失金额, 签约日期", records=["车辆: 车牌号, 损失金额"])
    text = "京A12345 损失约3万元；沪B67890 损失2万元。签约日期：2023年3月中旬。"
    result = DocumentResult(
        values={
            "车牌号": [Span("车牌号", "京A12345", 0, 7, 0.9), Span("车牌号", "沪B67890", 15, 22, 0.9)],
            "损失金额": [Span("损失金额", "约3万元", 10, 14, 0.95), Span("损失金额", "2万元", 25, 28, 0.9)],
            "签约日期": [Span("签约日期", "2023年3月中旬", 34, 43, 0.9)],
        }
    )
    schema.validate(result, text)
    adapter = OutputAdapter(schema, model="m", run_id="r")
    row, records = adapter.shape({"doc_id": "d", "source": "d.txt", "pages": 1}, result, extracted_at=AT)
    assert (row["损失金额"], row["损失金额_amount"], row["损失金额_approximate"]) == (
        "约3万元",
        Decimal("30000.0000"),
        True,
    )
    assert (row["签约日期_normalized"], row["签约日期_approximate"]) == ("2023-03", True)
    assert "车牌号_approximate" not in row
    by_plate = {r["车牌号"]: r["损失金额_approximate"] for r in records["车辆"]}
    assert by_plate == {"京A12345": True, "沪B67890": False}
    data, record_tables, misfits = adapter.tables([(row, records)])
    assert misfits == {} and data.column("损失金额_approximate").to_pylist() == [True]
    assert data.schema.field("签约日期_approximate").type == pa.bool_()
    assert record_tables["车辆"].column("损失金额_approximate").to_pylist() == [True, False]


def test_ties_go_to_the_earliest_offset_and_amount_edge_cases():
    fields = [("x", "text"), ("m", "money"), ("n", "integer")]
    result = DocumentResult(
        values={
            "x": [span("x", "later", 50, 0.5), span("x", "first", 5, 0.5)],
            "m": [span("m", "$0.12345", 0, 0.9, {"amount": "0.12345", "currency": "USD"})],
            "n": [span("n", "3.5", 0, 0.9, "3.5")],
        }
    )
    row = result_to_row({"id": 1, "source": "x", "pages": 1}, result, fields, [], "m", "r", extracted_at=AT)
    assert row["x"] == "first" and row["doc_id"] == "1"
    assert row["m_amount"] == Decimal("0.1234")  # rounded half-even to 4 decimals
    assert row["n_normalized"] is None
    huge = DocumentResult(
        values={"m": [span("m", "big", 0, 1.0, {"amount": "1" + "0" * 20, "currency": None})]}
    )
    row = result_to_row({"doc_id": "d"}, huge, fields, [], "m", "r", extracted_at=AT)
    assert row["m_amount"] is None and row["m_currency"] is None and row["m"] == "big"
    pa.Table.from_pylist([row], schema=output_schema(fields, []))


# ---------------------------------------------------------------------- writer


def _rows(n, start=0):
    return [
        {"doc_id": f"d{i:03d}", "reason": "corrupt", "stage": "parse", "at": AT}
        for i in range(start, start + n)
    ]


def test_writer_round_trip_and_deterministic_name(tmp_path):
    out = Folder.from_uri(tmp_path / "out")
    with ParquetWriter(out, quarantine_schema(), key="00003", buffer_rows=4) as w:
        w.write_rows(_rows(10))
    assert w.rows_written == 10 and out.list() == ["part-00003.parquet"]
    assert pq.ParquetFile(out.fs_path("part-00003.parquet")).metadata.num_row_groups == 3
    table = read_table(out)
    assert table.schema == quarantine_schema()
    assert table.column("doc_id").to_pylist() == [f"d{i:03d}" for i in range(10)]
    assert table.column("at").to_pylist()[0] == AT
    # a rerun of the same shard replaces its file instead of adding one
    with ParquetWriter(out, quarantine_schema(), key="00003") as w:
        w.write_rows(_rows(2, start=100))
    assert out.list() == ["part-00003.parquet"]
    assert read_table(str(tmp_path / "out")).column("doc_id").to_pylist() == ["d100", "d101"]
    assert list((tmp_path / "out" / TEMP_DIR).iterdir()) == []


def test_exception_inside_the_block_leaves_no_file(tmp_path):
    out = Folder.from_uri(tmp_path)
    with ParquetWriter(out, quarantine_schema(), key="0") as w:
        w.write_rows(_rows(3))
    before = out.read_bytes("part-0.parquet")
    with (
        pytest.raises(RuntimeError, match="boom"),
        ParquetWriter(out, quarantine_schema(), key="0", buffer_rows=2) as w,
    ):
        w.write_rows(_rows(5, start=50))  # two row groups already on disk
        raise RuntimeError("boom")
    assert out.read_bytes("part-0.parquet") == before  # the committed file is untouched
    assert list((tmp_path / TEMP_DIR).iterdir()) == []  # and the temporary file is gone
    with pytest.raises(RuntimeError), ParquetWriter(out, quarantine_schema(), key="1") as w:
        w.write_rows(_rows(3))
        raise RuntimeError("boom")
    assert out.list() == ["part-0.parquet"]


def test_a_killed_writer_leaves_only_an_invisible_temp_file(tmp_path):
    out = Folder.from_uri(tmp_path)
    w = ParquetWriter(out, quarantine_schema(), key="7", buffer_rows=2)
    w.write_rows(_rows(5))  # flushed row groups, never closed: the process "died" here
    temp = [p for p in (tmp_path / TEMP_DIR).iterdir()]
    assert len(temp) == 1 and temp[0].name.startswith("part-7.")
    assert out.list() == []
    assert read_table(out).num_rows == 0
    assert ds.dataset(str(tmp_path), format="parquet").files == []  # pyarrow skips _tmp/ itself
    assert remove_stale_temp(out, older_than_s=3600) == 0
    assert remove_stale_temp(out, older_than_s=0) == 1
    assert list((tmp_path / TEMP_DIR).iterdir()) == []


def test_empty_shard_and_schema_checks(tmp_path):
    out = Folder.from_uri(tmp_path)
    with ParquetWriter(out, quarantine_schema(), key="empty"):
        pass
    assert read_table(out).schema == quarantine_schema() and read_table(out).num_rows == 0
    with ParquetWriter(out, quarantine_schema(), key="skip", write_empty=False):
        pass
    assert out.list() == ["part-empty.parquet"]
    with (
        pytest.raises(ValueError, match="columns not in the schema: bogus"),
        ParquetWriter(out, quarantine_schema(), key="x") as w,
    ):
        w.write({"doc_id": "1", "bogus": 2})
    with (
        pytest.raises(ValueError, match="do not match the schema"),
        ParquetWriter(out, quarantine_schema(), key="x") as w,
    ):
        w.write({"doc_id": "1", "at": "not a timestamp"})
    for bad_key in ("../x", "a/b", "", "x y"):
        with pytest.raises(ValueError, match="part key"):
            ParquetWriter(out, quarantine_schema(), key=bad_key)
    assert out.list() == ["part-empty.parquet"]


def test_write_table_and_read_columns(tmp_path):
    schema = output_schema(FIELDS, CLASSES)
    row = result_to_row({"id": "d1", "source": "s", "pages": 1}, sample_result(), FIELDS, CLASSES, "m", "r")
    table = pa.Table.from_pylist([row], schema=schema).select(["doc_id", "甲方", "合同金额_amount"])
    with ParquetWriter(tmp_path, schema, key="t") as w:
        w.write_table(table)
        w.write(row)
    back = read_table(tmp_path, columns=["doc_id", "甲方", "合同金额_amount", "签约日期_normalized"])
    assert back.to_pylist() == [
        {
            "doc_id": "d1",
            "甲方": "北京云杉",
            "合同金额_amount": Decimal("1200000.0000"),
            "签约日期_normalized": None,
        },
        {
            "doc_id": "d1",
            "甲方": "北京云杉",
            "合同金额_amount": Decimal("1200000.0000"),
            "签约日期_normalized": "2024-03-15",
        },
    ]


def test_read_table_of_an_empty_or_missing_folder(tmp_path):
    assert read_table(tmp_path).num_rows == 0
    assert read_table(tmp_path, schema=quarantine_schema()).schema == quarantine_schema()
    with pytest.raises(ConnectorError, match="not found"):
        read_table(tmp_path / "missing")


# ---------------------------------------------------------------------- S3


def test_s3_writer_round_trip_and_crash(seaweed, s3_prefix):
    out = Folder.from_uri(s3_prefix, **seaweed.folder_options)
    with ParquetWriter(out, quarantine_schema(), key="00001", buffer_rows=3) as w:
        w.write_rows(_rows(7))
    with pytest.raises(RuntimeError), ParquetWriter(out, quarantine_schema(), key="00002") as w:
        w.write_rows(_rows(3))
        raise RuntimeError("worker died")
    assert out.list() == ["part-00001.parquet"]
    assert [
        i.path for i in out.fs.get_file_info(pafs.FileSelector(out.base, recursive=True)) if "_tmp/" in i.path
    ] == []
    table = read_table(s3_prefix, **seaweed.folder_options)
    assert table.num_rows == 7 and table.schema == quarantine_schema()
    # the dataset API on the same folder sees exactly the committed part
    dataset = ds.dataset(out.base, filesystem=out.fs, format="parquet")
    assert [f.rsplit("/", 1)[-1] for f in dataset.files] == ["part-00001.parquet"]


def test_part_columns_hold_the_parts_of_the_chosen_value_and_summary_is_optional():
    from extractor.schema import Field

    boss = Field.parse("负责人(姓名+职务)")
    schema = output_schema([boss])
    assert "负责人_姓名" in schema.names and "负责人_职务" in schema.names and "summary" not in schema.names
    assert "summary" in output_schema([boss], summary=True).names
    weak = span("负责人", "李四", 0, 0.3)
    best = span("负责人", "总经理王五", 10, 0.9)
    best.parts = {"姓名": span("姓名", "王五", 13, 0.8)}
    result = DocumentResult(values={"负责人": [weak, best]}, summary="王五 负责")
    row = result_to_row({"id": "d", "source": "s", "pages": 1}, result, [boss], summary=True)
    assert (row["负责人"], row["负责人_姓名"], row["负责人_职务"], row["summary"]) == (
        "总经理王五",
        "王五",
        None,
        "王五 负责",
    )
    pa.Table.from_pylist([row], schema=output_schema([boss], summary=True))


def test_alternatives_of_a_one_value_field_go_to_all_and_alternatives():
    """The chosen value is <f>; every candidate the model considered is in <f>_all with its
    offsets (text order), and the alternatives with their own confidences in <f>_alternatives."""
    from extractor.types import DocumentResult, Span

    res = DocumentResult(
        values={"甲方": [Span("甲方", "北京云杉", 10, 14, 0.97)]},
        alternatives={"甲方": [Span("甲方", "上海海岳", 20, 24, 0.02), Span("甲方", "丙方", 2, 4, 0.01)]},
    )
    row = result_to_row(
        {"id": "d1", "source": "a.txt", "pages": 1}, res, [("甲方", "text")], model="m", run_id="r"
    )
    assert row["甲方"] == "北京云杉" and row["甲方_confidence"] == pytest.approx(0.97)
    assert row["甲方_all"] == ["丙方", "北京云杉", "上海海岳"]
    assert row["甲方_offsets"] == [{"start": 2, "end": 4}, {"start": 10, "end": 14}, {"start": 20, "end": 24}]
    assert [(a["value"], a["confidence"]) for a in row["甲方_alternatives"]] == [
        ("上海海岳", 0.02),
        ("丙方", 0.01),
    ]
    table = pa.Table.from_pylist([row], schema=output_schema([("甲方", "text")]))
    assert table.column("甲方_alternatives").to_pylist()[0][0]["value"] == "上海海岳"
