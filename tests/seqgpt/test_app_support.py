"""The app's pure helpers (seqgpt.app_support) and the `seqgpt ui` command, without a browser."""

from __future__ import annotations

import html
import io
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.schema import Field, Schema, SchemaError
from extractor.types import DocumentResult, Span
from seqgpt import app_support as sup
from seqgpt.cli import main

# ---------------------------------------------------------------- highlighting


class _Marks(HTMLParser):
    """Collects the text content of the document and of every mark (nested too)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[dict] = []
        self.marks: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "mark":
            self.open.append({**dict(attrs), "_text": []})

    def handle_endtag(self, tag):
        if tag == "mark":
            self.marks.append(self.open.pop())

    def handle_data(self, data):
        self.text.append(data)
        for m in self.open:
            m["_text"].append(data)


def _parse(markup: str) -> tuple[str, list[dict]]:
    p = _Marks()
    p.feed(markup)
    p.close()
    assert not p.open, "unclosed <mark>"
    marks = [{**m, "_text": "".join(m["_text"])} for m in p.marks]
    return "".join(p.text), sorted(marks, key=lambda m: (int(m["data-start"]), -int(m["data-end"])))


def _view(text: str, start: int, end: int, field: str = "f", status: str = "ok", conf: float = 0.9):
    return sup.SpanView(field, text[start:end], start, end, conf, status)


def test_highlight_escapes_text_and_attributes():
    text = '<b>A&B</b> "Acme" <script>x</script>\nline 2'
    field = 'we"ird<f>'
    markup, skipped = sup.highlight_html(text, [_view(text, 0, 10, field=field)])
    assert skipped == []
    assert "<b>" not in markup and "<script>" not in markup
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in markup
    assert f'data-field="{html.escape(field, quote=True)}"' in markup
    content, marks = _parse(markup)
    assert content == text  # the element's text is exactly the document
    assert marks[0]["data-field"] == field
    assert marks[0]["_text"] == text[0:10]


def test_highlight_non_overlapping_offsets_exact():
    text = "甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司，金额¥1,200,000.00。"
    spans = [
        _view(text, 3, 13, "甲方", conf=0.91),
        _view(text, 17, 27, "乙方", status="issue", conf=0.5),
        _view(text, 30, 43, "合同金额", status="dropped", conf=0.1),
    ]
    markup, skipped = sup.highlight_html(text, reversed(spans))
    assert skipped == []
    content, marks = _parse(markup)
    assert content == text
    assert [(m["data-field"], m["data-start"], m["data-end"]) for m in marks] == [
        ("甲方", "3", "13"),
        ("乙方", "17", "27"),
        ("合同金额", "30", "43"),
    ]
    for m in marks:
        assert m["_text"] == text[int(m["data-start"]) : int(m["data-end"])]
    assert [m["data-status"] for m in marks] == ["ok", "issue", "dropped"]
    assert marks[0]["data-confidence"] == "0.9100"
    assert "seqgpt-dropped" in marks[2]["class"] and "seqgpt-issue" in marks[1]["class"]


def test_highlight_nested_same_start_and_crossing_spans():
    text = "Acme Corporation Ltd signed"
    outer = _view(text, 0, 20, "company")
    inner = _view(text, 0, 4, "brand")
    inner2 = _view(text, 5, 16, "word")
    crossing = _view(text, 17, 27, "other")  # starts inside outer, ends after it
    same = _view(text, 0, 20, "alias")  # identical offsets, another field: nested
    markup, skipped = sup.highlight_html(text, [crossing, inner2, inner, outer, same])
    assert skipped == [crossing]
    content, marks = _parse(markup)
    assert content == text
    assert len(marks) == 4
    for m in marks:
        assert m["_text"] == text[int(m["data-start"]) : int(m["data-end"])]
    assert markup.index('data-field="alias"') < markup.index('data-field="brand"')


def test_highlight_skips_spans_that_do_not_match_the_text():
    text = "abc"
    bad = [sup.SpanView("f", "zz", 0, 2, 0.5, "ok"), sup.SpanView("f", "c", 2, 9, 0.5, "ok")]
    markup, skipped = sup.highlight_html(text, bad)
    assert skipped == bad
    assert _parse(markup) == (text, [])


def test_highlight_empty_text_and_no_spans():
    assert sup.highlight_html("", []) == ('<div class="seqgpt-doc"></div>', [])


def test_collect_spans_marks_dropped_and_issue_values_and_rows_say_not_found():
    schema = Schema([Field("甲方", threshold=0.5), Field("签约日期", hint="YYYY-MM-DD")])
    text = "甲方：云杉公司，签约日期：2023年13月45日"
    result = DocumentResult(
        values={
            "甲方": [Span("甲方", "云杉公司", 3, 7, 0.9)],
            "签约日期": [Span("签约日期", "2023年13月45日", 13, 24, 0.8, issues=["not a date"])],
        },
        dropped=[Span("甲方", "甲方", 0, 2, 0.2)],
    )
    views = sup.collect_spans(result, schema)
    assert [(v.field, v.status, v.start) for v in views] == [
        ("甲方", "dropped", 0),
        ("甲方", "ok", 3),
        ("签约日期", "issue", 13),
    ]
    assert views[0].threshold == 0.5
    assert views[0].color != views[2].color
    rows = sup.value_rows(views, sup.missing_fields(result, schema))
    assert rows[0]["status"] == "dropped: below threshold 0.5"
    assert rows[1]["status"] == "ok"
    assert rows[2]["status"] == "issue: not a date"
    assert len(rows) == 3  # every field has a value
    assert sup.missing_fields(DocumentResult(values={"甲方": []}), schema) == ["甲方", "签约日期"]
    assert sup.value_rows([], ["签约日期"]) == [
        {"field": "签约日期", "value": "", "confidence": None, "start": None, "end": None, "normalized": "",
         "status": "not found"}
    ]  # fmt: skip
    for v in views:
        assert text[v.start : v.end] == v.text
        assert v.key == f"{v.start}:{v.end}:{v.field}"


def test_context_around_offsets():
    text = "line one\nline two has 甲方 here\nlast"
    start = text.index("甲方")
    c = sup.context(text, start, start + 2, width=5)
    assert c["value"] == "甲方"
    assert c["before"] == text[start - 5 : start] and c["after"] == text[start + 2 : start + 7]
    assert c["cut_before"] and c["cut_after"]
    assert (c["line"], c["column"]) == (2, start - text.index("line two") + 1)
    whole = sup.context(text, 0, 4, width=1000)
    assert not whole["cut_before"] and not whole["cut_after"] and whole["line"] == 1
    markup = sup.context_html("<&>" + text, sup.SpanView("f", "<&>", 0, 3, 0.5, "ok"))
    assert "<mark>&lt;&amp;&gt;</mark>" in markup


# ---------------------------------------------------------------- schema rows


ROUND_TRIP = {
    "name": "contracts",
    "fields": [
        {"name": "甲方", "type": "text", "required": True, "threshold": 0.4},
        {"name": "合同金额", "hint": "万元", "type": "money", "threshold": 0.25},
        {"name": "签约日期", "hint": "YYYY-MM-DD", "type": "date"},
        {"name": "项目阶段", "hint": "立项/招标/实施/验收", "type": "choice"},
        {"name": "工单类型", "type": "class", "choices": ["咨询", "投诉", "求助", "建议"]},
        {"name": "身份证号", "hint": "18位", "type": "id_number"},
        {"name": "负责人", "hint": "姓名+职务", "type": "text", "description": "the person in charge"},
        {"name": "编号", "type": "text", "length": 8},
        {"name": "备注", "hint": "YYYY-MM-DD", "type": "text"},  # explicit type against the hint
        {"name": "开始日期", "type": "date"},
        {"name": "结束日期", "type": "date", "pattern": "DD/MM/YYYY"},
    ],
    "rules": ["结束日期 >= 开始日期"],
}


def test_schema_rows_round_trip_exactly():
    schema = Schema.from_dict(ROUND_TRIP)
    rows = sup.schema_to_rows(schema)
    assert [r["name"] for r in rows] == [f["name"] for f in ROUND_TRIP["fields"]]
    assert set(rows[0]) == set(sup.ROW_COLUMNS)
    by_name = {r["name"]: r for r in rows}
    assert by_name["签约日期"]["type"] == sup.AUTO_TYPE  # implied by the hint
    assert by_name["备注"]["type"] == "text"  # explicit, not implied
    assert by_name["工单类型"]["choices"] == "咨询/投诉/求助/建议"
    assert json.loads(by_name["编号"]["more"]) == {"length": 8}
    back = sup.rows_to_schema(rows, name=schema.name, rules=[str(r) for r in schema.rules])
    assert back.to_dict() == schema.to_dict()


def test_rows_as_the_editor_returns_them():
    # pandas gives NaN/None for empty cells and floats for numbers
    rows = [
        {"name": "甲方", "hint": None, "type": "auto", "required": False, "threshold": float("nan")},
        {"name": None, "hint": None, "type": None, "required": None, "threshold": None},  # a new blank row
        {"name": " 金额 ", "hint": "万元", "type": None, "required": True, "threshold": 0.5, "choices": ""},
    ]
    schema = sup.rows_to_schema(rows)
    assert [f.name for f in schema.fields] == ["甲方", "金额"]
    assert (
        schema.fields[1].type == "money" and schema.fields[1].required and schema.fields[1].threshold == 0.5
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no fields"),
        ([{"name": "", "hint": ""}], "no fields"),
        ([{"name": "", "hint": "YYYY-MM-DD"}], "row 1: the name is empty"),
        ([{"name": "a"}, {"name": "b", "threshold": 2}], "row 2"),
        ([{"name": "a"}, {"name": "A"}], "duplicate"),
        ([{"name": "a", "type": "nope"}], "unknown type"),
        ([{"name": "a", "more": "{bad"}], "not JSON"),
        ([{"name": "a", "more": '{"colour": 1}'}], "not 'colour'"),
        ([{"name": "a", "type": "class"}], "no choices"),
    ],
)
def test_bad_rows_name_the_problem(rows, message):
    with pytest.raises(SchemaError, match=re.escape(message)):
        sup.rows_to_schema(rows)


def test_rules_are_checked_against_the_rows():
    rows = sup.parse_field_list("开始日期(YYYY-MM-DD), 结束日期(YYYY-MM-DD)")
    assert sup.rows_to_schema(rows, rules=["结束日期 >= 开始日期", " "]).rules
    with pytest.raises(SchemaError, match="unknown field"):
        sup.rows_to_schema(rows, rules=["结東日期 >= 开始"])


def test_parse_field_list_rows():
    rows = sup.parse_field_list("甲方, 合同金额(万元)*, 项目阶段(立项/招标/实施/验收)")
    assert [(r["name"], r["hint"], r["type"], r["required"]) for r in rows] == [
        ("甲方", "", "auto", False),
        ("合同金额", "万元", "auto", True),
        ("项目阶段", "立项/招标/实施/验收", "auto", False),
    ]
    with pytest.raises(SchemaError):
        sup.parse_field_list("a(b")


# ---------------------------------------------------------------- schema files


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_schema_file_bytes_is_what_save_writes_and_loads_back(tmp_path, fmt):
    schema = Schema.from_dict(ROUND_TRIP)
    data = sup.schema_file_bytes(schema, fmt)
    saved = schema.save(tmp_path / f"s.{fmt}")
    assert data == saved.read_bytes()
    assert Schema.from_file(saved).to_dict() == schema.to_dict()
    assert sup.load_schema_bytes(data, f"upload.{fmt}").to_dict() == schema.to_dict()


def test_load_schema_bytes_errors_name_the_upload():
    with pytest.raises(SchemaError, match=r"mine\.yaml.*parse|cannot parse"):
        sup.load_schema_bytes(b"fields: [a, b\n", "mine.yaml")
    with pytest.raises(SchemaError, match=r"mine\.yaml"):
        sup.load_schema_bytes(b"fields: []\n", "mine.yaml")
    with pytest.raises(SchemaError, match=r"\.yaml, \.yml or \.json"):
        sup.load_schema_bytes(b"{}", "schema.txt")
    with pytest.raises(ValueError):
        sup.schema_file_bytes(Schema.parse("a"), "toml")


# ---------------------------------------------------------------- uploads


def _pdf_bytes(lines: list[str], **canvas_kwargs) -> bytes:
    import io

    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, **canvas_kwargs)
    c.setFont("STSong-Light", 12)
    for i, line in enumerate(lines):
        c.drawString(72, 760 - 18 * i, line)
    c.save()
    return buf.getvalue()


def test_read_upload_pdf_text_and_failures():
    text, error = sup.read_upload(_pdf_bytes(["甲方：北京云杉科技有限公司", "Party B: Globex Ltd."]), "c.pdf")
    assert error is None and "北京云杉科技有限公司" in text and "Globex" in text
    text, error = sup.read_upload(b"%PDF-1.4\n garbage \x00\x01", "bad.pdf")
    assert text is None and "cannot be read as a PDF" in error and "bad.pdf" in error
    text, error = sup.read_upload(b"", "empty.pdf")
    assert text is None and "empty" in error
    text, error = sup.read_upload(_pdf_bytes(["secret"], encrypt="pw"), "locked.pdf")
    assert text is None and "password" in error
    text, error = sup.read_upload(_pdf_bytes([]), "blank.pdf")
    assert text is None and "no text" in error


def test_read_upload_word_email_html_and_their_failures():
    from tests.connectors.test_formats import make_docx, make_eml
    from tests.pipelines.corpus import ENCRYPTED_EMAIL, make_encrypted_docx

    text, error = sup.read_upload(make_docx(), "a.docx")
    assert error is None and "甲方：北京云杉科技有限公司" in text and "合同金额 人民币伍拾万元整" in text
    text, error = sup.read_upload(make_eml([]), "m.eml")
    assert error is None and text.startswith("From: Li Wei") and "请查收" in text
    assert sup.read_upload("<p>甲方：张三</p><script>x()</script>".encode(), "p.html") == ("甲方：张三", None)
    text, error = sup.read_upload(make_docx()[:900], "cut.docx")
    assert text is None and "cannot be read as a Word document (.docx)" in error and "cut.docx" in error
    assert "encrypted or password-protected" in sup.read_upload(make_encrypted_docx(), "x.docx")[1]
    assert "encrypted or password-protected" in sup.read_upload(ENCRYPTED_EMAIL, "x.eml")[1]
    tiny = sup.read_upload(_png(10, 10), "dot.png")[1]
    assert "too small" in tiny and "10 x 10" in tiny


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.slow
def test_read_upload_reads_a_scan_by_ocr_and_marks_the_lines_values_came_from():
    from PIL import Image

    from connectors.ocr import LOW_SCORE
    from tests.connectors.scans import header_scan

    png = header_scan()[0]
    doc, error = sup.read_upload_doc(png, "page1.png")
    assert error is None and "Northwind Analytics Inc." in doc.text
    assert doc.meta["ocr"]["lines"] == len(doc.meta["ocr_lines"]) >= 4
    line = next(ln for ln in doc.meta["ocr_lines"] if "Northwind" in ln["text"])
    start = doc.text.index("Northwind Analytics Inc.")
    value = Span("甲方", "Northwind Analytics Inc.", start, start + 24, 0.9)
    ((index, image),) = sup.ocr_page_images(png, doc.meta, DocumentResult(values={"甲方": [value]}))
    assert index == 0 and image.size == Image.open(io.BytesIO(png)).size
    x0, y0, _, y1 = line["box"]
    colour = (200, 30, 30) if line["score"] < LOW_SCORE else (20, 150, 60)
    assert image.getpixel((x0 + 1, (y0 + y1) // 2)) == colour  # the box of the value's line is drawn
    other = doc.meta["ocr_lines"][0]  # the title: no value was read from it
    assert "MASTER" in other["text"] and other is not line
    assert image.getpixel((other["box"][0] + 1, (other["box"][1] + other["box"][3]) // 2)) != colour
    assert sup.ocr_page_images(png, {}, DocumentResult()) == []


def test_read_upload_text_files():
    assert sup.read_upload("甲方：张三".encode(), "a.txt") == ("甲方：张三", None)
    assert sup.read_upload("甲方：张三".encode("gb18030"), "a.txt") == ("甲方：张三", None)
    assert sup.read_upload(b"  \n", "a.txt")[1] == "a.txt contains no text."
    assert "neither" in sup.read_upload(b"\x00\xff\xfe\x00", "a.bin")[1]


def test_model_from_argv_and_env():
    assert sup.model_from_argv(["--model", "/m"], {}) == "/m"
    assert sup.model_from_argv(["--model=/m2"], {"SEQGPT_MODEL": "/e"}) == "/m2"
    assert sup.model_from_argv([], {"SEQGPT_MODEL": "/e"}) == "/e"
    assert sup.model_from_argv([], {}) is None


# ---------------------------------------------------------------- seqgpt ui


class _Exec(Exception):
    pass


@pytest.fixture
def fake_exec(monkeypatch):
    """Replaces os.execve (``seqgpt ui`` becomes the Streamlit process) with a recorder."""
    calls = []

    def execve(path, args, env):
        calls.append((path, list(args), dict(env)))
        raise _Exec

    monkeypatch.setattr("os.execve", execve)
    return calls


def test_ui_command_runs_streamlit_on_app_py(fake_exec):
    args = ["ui", "--model", "/models/x", "--port", "8765", "--headless", "--", "--server.maxUploadSize", "5"]
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, _Exec), result.output
    (path, cmd, env), *_ = fake_exec
    assert path == sys.executable
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    app = Path(cmd[4])
    assert app.name == "app.py" and app.is_file() and (app.parent / "seqgpt" / "cli.py").is_file()
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[-2:] == ["--server.maxUploadSize", "5"]
    assert env["SEQGPT_MODEL"] == "/models/x"
    # no usage statistics, no file watching, wherever `seqgpt ui` is started
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--server.fileWatcherType") + 1] == "none"


def test_streamlit_run_app_py_sends_no_statistics_watches_no_files_and_listens_on_loopback():
    """`streamlit run app.py` from the repository root reads the shipped .streamlit/config.toml:
    no statistics, no file watching, and 127.0.0.1 as `seqgpt ui` (not every address)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    settings = dict(
        line.split(" = ", 1) for line in res.stdout.splitlines() if " = " in line and not line.startswith("#")
    )
    assert settings["gatherUsageStats"] == "false"
    assert settings["fileWatcherType"] == '"none"'
    assert settings["address"] == '"127.0.0.1"'


def test_ui_command_default_model(fake_exec, monkeypatch):
    monkeypatch.delenv("SEQGPT_MODEL", raising=False)
    result = CliRunner().invoke(main, ["ui"])
    assert isinstance(result.exception, _Exec)
    assert "SEQGPT_MODEL" not in fake_exec[-1][2]
    assert "untrained demo model" in result.output
    CliRunner().invoke(main, ["ui"], env={"SEQGPT_MODEL": "/from/env"})
    assert fake_exec[-1][2]["SEQGPT_MODEL"] == "/from/env"


def test_record_rows_compare_rows_and_schema_with_records():
    from extractor.types import DocumentResult, Record, Span

    schema = sup.rows_to_schema(
        [{"name": "事故时间"}], records=["车辆: 车牌号, 驾驶人", " "], summary=" {驾驶人} 驾驶 {车牌号} "
    )
    assert [f.name for f in schema.fields] == ["事故时间", "车牌号", "驾驶人"]
    assert schema.summary == "{驾驶人} 驾驶 {车牌号}"
    assert sup.rows_to_schema([], records=["车辆: 车牌号, 驾驶人"]).records[0].fields == ["车牌号", "驾驶人"]
    r = DocumentResult(
        values={"事故时间": [], "车牌号": [Span("车牌号", "京A1", 0, 3, 0.9)], "驾驶人": []},
        records=[
            Record(
                "车辆",
                0,
                {"车牌号": Span("车牌号", "京A1", 0, 3, 0.9), "驾驶人": Span("驾驶人", "张三", 4, 6, 0.5)},
            )
        ],
    )
    assert sup.record_rows(r) == {
        "车辆": [
            {
                "record": 0,
                "车牌号": "京A1",
                "车牌号 conf.": 0.9,
                "驾驶人": "张三",
                "驾驶人 conf.": 0.5,
                "confidence": 0.5,
            }
        ]
    }
    other = DocumentResult(
        values={"事故时间": [], "车牌号": [Span("车牌号", "京B2", 0, 3, 0.9)], "驾驶人": []}
    )
    rows = sup.compare_rows(schema, r, other)
    # the statuses `seqgpt compare` prints, and "not found" for a side without a value
    assert [row["status"] for row in rows] == ["missing", "different", "missing"]
    assert rows[0]["A"] == rows[0]["B"] == "not found"


def test_md_text_leaves_no_markup_in_markdown():
    hostile = '<script>x</script> <img src=x onerror="y"> [a](javascript:z) ![i](p.png) __b__ *c* `d` $e$ | f'
    escaped = sup.md_text(hostile)
    for special in "<>[]()!_*`$|":
        assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch == special), special
    assert escaped.replace("\\", "") == hostile.replace("\\", "")  # nothing else changes
    assert sup.md_text("甲方：北京云杉科技有限公司") == "甲方：北京云杉科技有限公司"


def test_markdown_output_escapes_document_text_for_the_page_only():
    from seqgpt.cli import render

    schema = Schema.parse("甲方")
    text = "甲方：__粗体__ <b>x</b> | y"
    result = DocumentResult(values={"甲方": [Span("甲方", text[3:], 3, len(text), 0.9)]})
    raw = render(result, schema, "markdown")
    assert "| __粗体__ <b>x</b> \\| y |" in raw  # what `seqgpt extract --format markdown` prints
    shown = render(result, schema, "markdown", escape=sup.md_text)
    assert "\\_\\_粗体\\_\\_ \\<b\\>x\\</b\\> \\| y" in shown


def test_md_code_cannot_be_closed_from_inside():
    assert sup.md_code("结束日期 >= 开始日期") == "`结束日期 >= 开始日期`"
    assert sup.md_code("a`b") == "`` a`b ``"
    assert sup.md_code("x ``` y\nz") == "```` x ``` y z ````"


def test_model_name_says_what_the_model_is_not_where_it_lies():
    from extractor.mini import PACKAGED_BASES, bundled_adapter_dir

    name = sup.model_name(str(bundled_adapter_dir()), False)
    assert name.startswith("seqgpt-mini, the small bundled model") and "/" not in name
    assert sup.model_name("/root/.cache/seqgpt-nlp/tiny-bloom", True).startswith("untrained demo model")
    smol = next(b for b in PACKAGED_BASES if b.name.startswith("smollm2"))
    assert sup.model_name(str(smol.cache_dir()), False).startswith("SmolLM2-135M-Instruct, a packaged base")
    assert sup.model_name("DAMO-NLP/SeqGPT-560M", False) == "DAMO-NLP/SeqGPT-560M"  # what the user gave


def test_description_is_its_own_column_and_round_trips_but_is_never_a_label():
    schema = Schema.from_dict(ROUND_TRIP)
    rows = sup.schema_to_rows(schema)
    boss = next(r for r in rows if r["name"] == "负责人")
    assert boss["description"] == "the person in charge" and "description" not in (boss["more"] or "")
    assert sup.rows_to_schema(rows, name="contracts", rules=ROUND_TRIP["rules"]).to_dict() == schema.to_dict()
    assert all("the person in charge" not in line for line in sup.prompt_lines(schema))
