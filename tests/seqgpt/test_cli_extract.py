"""`seqgpt extract` and `seqgpt schema` through click's CliRunner, on a saved tiny model."""

import json

import pytest
from click.testing import CliRunner

from seqgpt.cli import main

DOC = "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。"


@pytest.fixture(scope="module")
def model_dir(tiny_bloom_dir):
    return str(tiny_bloom_dir)


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_help_lists_commands_with_examples():
    res = run("--help")
    assert res.exit_code == 0
    assert "extract" in res.output and "schema" in res.output and "Examples:" in res.output


def test_extract_json_from_stdin(model_dir):
    res = run("extract", "--fields", "甲方,乙方,合同金额", "--model", model_dir, "-", input=DOC)
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert set(payload["fields"]) == {"甲方", "乙方", "合同金额"}
    for values in payload["fields"].values():
        for v in values:
            assert DOC[v["start"] : v["end"]] == v["text"]
            assert 0 < v["confidence"] <= 1
    assert "untrained" in res.stderr


def test_extract_table_and_markdown_from_a_file(model_dir, tmp_path):
    f = tmp_path / "doc.txt"
    f.write_text(DOC, encoding="utf-8")
    table = run("extract", "-f", "甲方,乙方", "--model", model_dir, "--format", "table", str(f))
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split() == [
        "field",
        "value",
        "confidence",
        "normalized",
        "offsets",
        "status",
    ]
    md = run("extract", "-f", "甲方,乙方", "--model", model_dir, "--format", "markdown", str(f))
    assert md.exit_code == 0 and md.stdout.startswith("| field | value |")


def test_extract_gbk_text_file(model_dir, tmp_path):
    f = tmp_path / "gbk.txt"
    doc = DOC.replace("¥", "￥")  # GBK has only the full-width yen sign
    f.write_bytes(doc.encode("gbk"))
    res = run("extract", "-f", "甲方,乙方", "--model", model_dir, str(f))
    assert res.exit_code == 0
    values = [v for vs in json.loads(res.stdout)["fields"].values() for v in vs]
    assert values
    # offsets point into the cleaned text, as in `seqgpt run`: NFKC made the full-width ￥ a ¥
    cleaned = doc.replace("￥", "¥")
    for v in values:
        assert cleaned[v["start"] : v["end"]] == v["text"]


def test_extract_with_a_schema_file(model_dir, tmp_path):
    s = tmp_path / "s.yaml"
    s.write_text(
        "fields:\n  - 甲方\n  - name: 类别\n    type: class\n    choices: [合同, 发票]\n", encoding="utf-8"
    )
    res = run("extract", "--schema", str(s), "--model", model_dir, "-", input=DOC)
    assert res.exit_code == 0
    payload = json.loads(res.stdout)
    assert next(c["label"] for c in payload["classes"]["类别"]) in {"合同", "发票"}


@pytest.mark.parametrize(
    "args,message",
    [
        (["extract", "-"], "give the fields with --fields, --schema file or --record"),
        (["extract", "-f", "甲方(立项", "-"], "parenthes"),
        (["extract", "-f", "甲方", "/no/such/file.txt"], "no such file"),
        (["extract", "-f", "甲方", "--model", "/no/such/model", "-"], "does not exist"),
        (["extract", "-f", "甲方", "--schema", "x.yaml", "-"], "not both"),
        (["extract", "--record", "车辆 车牌号", "-"], "write it as 'name: field, field'"),
        (["extract", "--record", "车辆: 车牌号", "-"], "at least two"),
        (["extract", "-f", "甲方", "--summary", "{乙方} 签约", "-"], "unknown field {乙方}"),
        (["compare", "-f", "甲方", "/no/such/a.txt", "-"], "no such file"),
    ],
)
def test_user_errors_are_clear_messages_not_tracebacks(args, message):
    res = CliRunner().invoke(main, args, input=DOC)
    assert res.exit_code != 0
    assert message in res.output.lower() or message in str(res.output)
    assert "Traceback" not in res.output


def test_empty_input_and_bad_pdf(model_dir, tmp_path):
    res = CliRunner().invoke(main, ["extract", "-f", "甲方", "--model", model_dir, "-"], input="  \n")
    assert res.exit_code != 0 and "no text" in res.output
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage garbage")
    res = CliRunner().invoke(main, ["extract", "-f", "甲方", "--model", model_dir, str(bad)])
    assert res.exit_code != 0 and "cannot read" in res.output and "Traceback" not in res.output


def test_schema_command_shows_and_saves(tmp_path):
    out = tmp_path / "f.yaml"
    res = run("schema", "身份证号(18位), 项目阶段(立项/招标/实施/验收)", "--save", str(out))
    assert res.exit_code == 0
    shown = json.loads(res.stdout)
    types = {f["name"]: f["type"] for f in shown["fields"]}
    assert types == {"身份证号": "id_number", "项目阶段": "choice"}
    assert out.exists()
    again = run("schema", "--file", str(out))
    assert json.loads(again.stdout) == shown
    from extractor.schema import Schema

    assert (
        Schema.from_file(out).to_dict()
        == Schema.parse("身份证号(18位), 项目阶段(立项/招标/实施/验收)").to_dict()
    )


def test_schema_command_shows_what_the_model_is_sent_and_what_is_only_documentation(tmp_path):
    s = tmp_path / "s.yaml"
    s.write_text(
        "fields:\n"
        "  - {name: 签约日期, hint: YYYY-MM-DD, description: 'signing date, for people'}\n"
        "  - 项目阶段(立项/招标/实施/验收)\n"
        "  - 负责人(姓名+职务)\n"
        "  - 甲方, 乙方, 合同金额, 开始日期, 结束日期\n"
        "  - {name: 类别, type: class, choices: [咨询, 投诉]}\n",
        encoding="utf-8",
    )
    res = run("schema", "--file", str(s))
    assert res.exit_code == 0, res.output
    view = json.loads(res.stdout)
    by_name = {f["name"]: f for f in view["fields"]}
    assert by_name["签约日期"]["label"] == "签约日期(YYYY-MM-DD)" and by_name["签约日期"]["type"] == "date"
    assert by_name["签约日期"]["description"] == "signing date, for people"
    assert by_name["项目阶段"]["choices"] == ["立项", "招标", "实施", "验收"]
    assert by_name["负责人"]["parts"] == ["姓名", "职务"]
    # the labels as the engine sends them: 6 per prompt, joined with ，; the description is not sent
    assert view["prompts"] == [
        "抽取: 签约日期(YYYY-MM-DD)，项目阶段(立项/招标/实施/验收)，负责人(姓名+职务)，甲方，乙方，合同金额",
        "抽取: 开始日期，结束日期",
        "分类: 咨询，投诉",
    ]
    assert view["part_prompts"] == {"负责人": "抽取: 姓名，职务"}
    assert all("signing date" not in line for line in view["prompts"])
    table = run("schema", "--file", str(s), "--format", "table")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["field", "label"]
    row = next(line for line in lines if line.startswith("签约日期"))
    assert "签约日期(YYYY-MM-DD)" in row and "signing date, for people" in row
    assert "  抽取: 开始日期，结束日期" in lines


def test_compare_a_document_with_itself_and_with_another(model_dir, tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text(DOC, encoding="utf-8")
    b.write_text(DOC.replace("北京", "天津").replace("2023", "2024"), encoding="utf-8")
    fields = "甲方,乙方,合同金额,签约日期"
    res = run("compare", "-f", fields, "--model", model_dir, "--format", "json", str(a), str(a))
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert [c["field"] for c in payload["fields"]] == fields.split(",")
    # the extractor is deterministic: the same document compares the same, field by field
    assert {c["status"] for c in payload["fields"]} <= {"same", "missing"}
    assert all(c["a"] == c["b"] for c in payload["fields"])
    res = run(
        "compare", "-f", fields, "--model", model_dir, "--differences", "--format", "table", str(a), str(b)
    )
    assert res.exit_code == 0 and res.stdout.splitlines()[0].split()[:2] == ["field", "status"]
    assert " same " not in res.stdout
    res = run("compare", "-f", fields, "--model", model_dir, "--format", "markdown", str(a), str(b))
    assert res.stdout.startswith("| field | status | A: ") and len(res.stdout.splitlines()) == 2 + 4


def test_schema_command_shows_records_and_summary(tmp_path):
    out = tmp_path / "s.yaml"
    res = run(
        "schema",
        "事故时间",
        "--record",
        "车辆: 车牌号, 驾驶人",
        "--summary",
        "{驾驶人} 驾驶 {车牌号}",
        "--save",
        str(out),
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["records"] == ["车辆: 车牌号, 驾驶人"] and d["summary"] == "{驾驶人} 驾驶 {车牌号}"
    assert [f["name"] for f in d["fields"]] == ["事故时间", "车牌号", "驾驶人"]
    res = run("schema", "--file", str(out), "--record", "人员: 驾驶人, 电话")
    assert json.loads(res.stdout)["records"] == ["车辆: 车牌号, 驾驶人", "人员: 驾驶人, 电话"]


def test_table_marks_approximate_values():
    from extractor.schema import Schema
    from extractor.types import DocumentResult, Span
    from seqgpt.cli import render

    schema = Schema.parse("合同金额, 签约日期")
    result = DocumentResult(
        values={
            "合同金额": [Span("合同金额", "约30万元", 5, 10, 0.8)],
            "签约日期": [Span("签约日期", "三月中旬", 15, 19, 0.7)],
        }
    )
    schema.validate(result)
    lines = render(result, schema, "table").splitlines()
    amount = next(line for line in lines if line.startswith("合同金额"))
    assert '"amount": "300000.00"' in amount and "(approximate)" in amount
    date = next(line for line in lines if line.startswith("签约日期"))
    # the flag in the normalized column, the problem in the status column
    assert "(approximate)" in date and date.endswith("issue: approximate date, not normalized")


def test_extract_int8_with_threads_gives_verbatim_values_and_sets_threads(model_dir):
    import torch

    before = torch.get_num_threads()
    try:
        res = run(
            "extract", "-f", "甲方,合同金额", "--model", model_dir, "--quantize", "int8", "--threads", "1",
            "--format", "json", "-", input=DOC,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    for values in json.loads(res.stdout)["fields"].values():
        for v in values:
            assert DOC[v["start"] : v["end"]] == v["text"]
    bad = CliRunner().invoke(main, ["extract", "-f", "甲方", "--quantize", "int4", "-"], input=DOC)
    assert bad.exit_code != 0 and "int4" in bad.output


def test_schema_prompts_are_the_engines_prompts(tiny_extractor):
    from extractor.schema import Schema
    from pipelines.review import prompt_lines

    schema = Schema.parse(
        "签约日期(YYYY-MM-DD), 项目阶段(立项,招标), 甲方, 乙方, 合同金额, 开始日期, 结束日期"
    )
    schema = Schema(
        [
            *schema.fields,
            *Schema.from_dict(
                {"fields": [{"name": "类别", "type": "class", "choices": ["咨询", "投诉"]}]}
            ).fields,
        ]
    )
    jobs = tiny_extractor.plan([DOC], schema)
    sent = [job.prompt.splitlines()[-2] for job in jobs]  # the task line, before "输出: [GEN]"
    assert sent == prompt_lines(schema)
    assert "项目阶段(立项，招标)" in sent[0]  # an ASCII comma in a label is sent full-width


def test_tables_align_chinese_and_say_not_found_issue_and_dropped():
    from rich.cells import cell_len

    from extractor.schema import Field, Schema
    from extractor.types import DocumentResult, Span
    from seqgpt.cli import render

    schema = Schema(
        [
            Field.parse("甲方"),
            Field.parse("签约日期"),
            Field.parse("身份证号(18位)", threshold=0.5),
            Field.parse("乙方"),
        ]
    )
    result = DocumentResult(
        values={
            "甲方": [Span("甲方", "北京云杉科技有限公司", 3, 13, 0.91)],
            "签约日期": [Span("签约日期", "上海静安置业有限公司", 20, 30, 0.8)],
            "身份证号": [Span("身份证号", "110105194912310021", 40, 58, 0.2)],
            "乙方": [],
        }
    )
    schema.validate(result)
    lines = render(result, schema, "table").splitlines()
    header = lines[0]
    status_at = cell_len(header[: header.index("status")])
    confidence_at = cell_len(header[: header.index("confidence")])
    rows = {
        line.split()[0]: line for line in lines[2:] if line and not line.startswith(("violation", "warning"))
    }
    expected = {
        "甲方": "ok",
        "签约日期": "issue: not a valid date",
        "身份证号": "dropped: below threshold 0.5",
        "乙方": "not found",
    }
    assert set(rows) == set(expected)
    for name, status in expected.items():
        row = rows[name]
        assert row.endswith(status), row
        assert cell_len(row[: row.rindex(status)]) == status_at, f"status column misaligned: {row!r}"
        if name != "乙方":  # a field not found has no confidence
            conf = row.split()[2]
            assert cell_len(row[: row.index(conf)]) == confidence_at, f"confidence misaligned: {row!r}"
    assert "violation: 签约日期='上海静安置业有限公司': not a valid date" in lines
    # rich markup in a document is text, never markup
    result.values["甲方"][0].text = "[bold]A[/bold]"
    assert "[bold]A[/bold]" in render(result, schema, "table")


def test_extract_and_compare_default_to_the_same_format():
    defaults = {
        name: next(p.default for p in main.commands[name].params if p.name == "fmt")
        for name in ("extract", "compare")
    }
    assert defaults == {"extract": "json", "compare": "json"}


@pytest.mark.slow
def test_extract_reads_a_scan_by_ocr_and_reports_its_confidence_and_lines(model_dir, tmp_path):
    """A PNG goes through OCR (the real model); the JSON has ocr_confidence and ocr_lines, and
    the values are spans of the OCR text at lines with a page and a box."""
    from connectors.documents import read_document
    from tests.connectors.scans import HEADER_TEXT, header_scan

    png = tmp_path / "page1.png"
    png.write_bytes(header_scan()[0])
    res = run("extract", "-f", "甲方,乙方,签约日期", "--model", model_dir, str(png))
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    text = read_document(png.read_bytes(), png.name).text  # the one reader: the same OCR text
    assert all(words in text for words in HEADER_TEXT)
    conf, lines = payload["ocr_confidence"], payload["ocr_lines"]
    assert conf["pages"] == [0] and conf["dpi"] is None and conf["lines"] == len(lines) >= 4
    assert 0.5 <= conf["min"] <= conf["mean"] <= 1
    values = [v for vs in payload["fields"].values() for v in vs]
    assert values
    for v in values:
        assert text[v["start"] : v["end"]] == v["text"]
        assert any(ln["start"] < v["end"] and v["start"] < ln["end"] for ln in lines), v
    for ln in lines:
        assert ln["page"] == 0 and len(ln["box"]) == 4 and 0 < ln["score"] <= 1
    text_file = tmp_path / "same.txt"  # a text file has no OCR keys at all
    text_file.write_text(text, encoding="utf-8")
    plain = json.loads(
        run("extract", "-f", "甲方,乙方,签约日期", "--model", model_dir, str(text_file)).stdout
    )
    assert "ocr_confidence" not in plain and plain["fields"] == payload["fields"]
    page = run(
        "extract", "-f", "甲方,乙方,签约日期", "--model", model_dir, "--format", "html", str(png)
    ).stdout
    assert f"read by OCR (page 1: {conf['lines']} lines, line score mean {conf['mean']:.3f}" in page
