"""Records, parts, summaries and comparisons: grouping rules on hand-made documents, the
schema syntax, and the engine end to end with a scripted model."""

import pytest

from extractor.compare import compare
from extractor.records import group_records, occurrences
from extractor.schema import RecordType, Schema, SchemaError
from extractor.summary import render_summary
from extractor.types import ClassLabel, DocumentResult, Span
from training.evaluate import score_records

from .scripted import scripted_extractor

ACCIDENT = (
    "事故经过：\n"
    "车辆一：京A·12345，小型轿车，驾驶人张三，车头受损。\n"
    "车辆二：京B·67890，小型轿车，驾驶人李四，车尾受损。\n"
    "经认定，京A·12345负主要责任。\n"
)
VEHICLE = RecordType.parse("车辆: 车牌号, 驾驶人, 车辆类型, 损失情况, 责任")


def spans(text, field, *values, conf=0.9):
    out = []
    for v in values:
        i = text.index(v)
        out.append(Span(field, v, i, i + len(v), conf))
    return out


def grouped(text, rtype, **values):
    recs = group_records(text, {f: spans(text, f, *v) for f, v in values.items()}, rtype)
    for rec in recs:
        for s in rec.values.values():
            assert text[s.start : s.end] == s.text
    return [{f: s.text for f, s in rec.values.items()} for rec in recs]


def test_two_vehicles_each_keep_their_own_values_and_a_shared_type():
    got = grouped(
        ACCIDENT,
        VEHICLE,
        车牌号=["京A·12345", "京B·67890"],
        驾驶人=["张三", "李四"],
        车辆类型=["小型轿车"],  # the model names a value once; both vehicles have it
        损失情况=["车头受损", "车尾受损"],
        责任=["负主要责任"],
    )
    assert got == [
        {
            "车牌号": "京A·12345",
            "驾驶人": "张三",
            "车辆类型": "小型轿车",
            "损失情况": "车头受损",
            "责任": "负主要责任",
        },
        {"车牌号": "京B·67890", "驾驶人": "李四", "车辆类型": "小型轿车", "损失情况": "车尾受损"},
    ]


def test_the_shared_value_points_at_each_records_own_occurrence():
    recs = group_records(
        ACCIDENT,
        {
            "车牌号": spans(ACCIDENT, "车牌号", "京A·12345", "京B·67890"),
            "车辆类型": spans(ACCIDENT, "车辆类型", "小型轿车"),
        },
        VEHICLE,
    )
    starts = [r.values["车辆类型"].start for r in recs]
    assert starts == occurrences(ACCIDENT, "小型轿车") and len(set(starts)) == 2


def test_values_before_their_anchor_in_the_same_clause():
    text = "张三驾驶京A12345，李四驾驶京B67890，两车相撞。"
    rt = RecordType.parse("车辆: 车牌号, 驾驶人")
    assert grouped(text, rt, 车牌号=["京A12345", "京B67890"], 驾驶人=["张三", "李四"]) == [
        {"车牌号": "京A12345", "驾驶人": "张三"},
        {"车牌号": "京B67890", "驾驶人": "李四"},
    ]


def test_a_value_before_every_anchor_and_sharing_no_unit_joins_no_record():
    text = "驾驶人王五在场。\n\n车辆：京A12345，驾驶人张三。\n车辆：京B67890，驾驶人李四。"
    rt = RecordType.parse("车辆: 车牌号, 驾驶人")
    got = grouped(text, rt, 车牌号=["京A12345", "京B67890"], 驾驶人=["王五", "张三", "李四"])
    # 驾驶人 has the most distinct values, so it is the anchor: three records, 王五 alone
    assert {"驾驶人": "王五"} in got and {"驾驶人": "张三", "车牌号": "京A12345"} in got


def test_a_record_never_borrows_a_neighbours_value_for_a_field_it_already_has():
    text = "1. 公司：甲公司，职位：工程师，职位：组长\n2. 公司：乙公司"
    rt = RecordType.parse("工作: 公司, 职位")
    got = grouped(text, rt, 公司=["甲公司", "乙公司"], 职位=["工程师", "组长"])
    assert got == [{"公司": "甲公司", "职位": "工程师"}, {"公司": "乙公司"}]


def test_one_anchor_value_is_one_record_of_the_chosen_values_and_none_is_no_record():
    text = "甲方：北京云杉科技有限公司。乙方：上海海川贸易有限公司。"
    rt = RecordType.parse("合同: 甲方, 乙方")
    values = {
        "甲方": spans(text, "甲方", "北京云杉科技有限公司"),
        "乙方": spans(text, "乙方", "上海海川贸易有限公司"),
    }
    (rec,) = group_records(text, values, rt)
    assert (rec.type, rec.index, rec.values["乙方"].text) == ("合同", 0, "上海海川贸易有限公司")
    assert group_records(text, {"甲方": [], "乙方": []}, rt) == []


def test_record_schema_syntax_round_trip_and_errors(tmp_path):
    s = Schema.parse(
        "事故时间",
        records=["车辆：车牌号，驾驶人(姓名)", "人员: 驾驶人, 电话"],
        summary="{驾驶人} 驾驶 {车牌号}",
    )
    assert [f.name for f in s.fields] == ["事故时间", "车牌号", "驾驶人", "电话"]  # record fields joined
    assert [str(r) for r in s.records] == ["车辆: 车牌号, 驾驶人", "人员: 驾驶人, 电话"]
    for ext in ("yaml", "json"):
        back = Schema.from_file(s.save(tmp_path / f"s.{ext}"))
        assert back.to_dict() == s.to_dict() and back.summary == s.summary
    only_records = Schema.from_dict({"records": [{"name": "工作", "fields": ["公司", "职位"]}]})
    assert [f.name for f in only_records.fields] == ["公司", "职位"]
    bad = [
        (lambda: RecordType.parse("车辆 车牌号"), "name: field, field"),
        (lambda: RecordType.parse("车辆: 车牌号"), "at least two"),
        (lambda: RecordType.parse("_x: a, b"), "folder"),
        (lambda: Schema.parse("a", records=["r: a, a"]), "twice"),
        (lambda: Schema.parse("a, b", records=["r: a, b", "r: b, a"]), "share a name"),
        (lambda: Schema.from_dict({"fields": ["a"], "records": 3}), "must be a list"),
        (lambda: Schema.parse("a, b", summary="{c}"), "unknown field {c}"),
        (lambda: Schema.parse("a, b", summary="a and b"), "names no field"),
        (lambda: Schema.parse("a, b", summary="{a}[ [x]]"), "cannot nest"),
        (lambda: Schema.parse("a, b", summary="{a}]"), "without '['"),
    ]
    for make, message in bad:
        with pytest.raises(
            SchemaError, match=message.replace("{", r"\{").replace("}", r"\}").replace("[", r"\[")
        ):
            make()
    with pytest.raises(SchemaError, match="classification field"):
        Schema.from_dict(
            {
                "fields": [{"name": "类别", "type": "class", "choices": ["a", "b"]}, "b"],
                "records": ["r: 类别, b"],
            }
        )


def test_summary_uses_chosen_values_and_optional_parts():
    t = "{申请人} 于 {日期} 反映[ {核心诉求}]"
    assert render_summary(t, {"申请人": "张三", "日期": "5月1日", "核心诉求": "路灯不亮"}) == (
        "张三 于 5月1日 反映 路灯不亮",
        [],
    )
    assert render_summary(t, {"申请人": "张三", "日期": "5月1日"}) == ("张三 于 5月1日 反映", [])
    assert render_summary(t, {"日期": "5月1日"}) == (None, ["申请人"])
    s = Schema.parse("申请人, 日期, 核心诉求", summary=t)
    r = DocumentResult(values={"申请人": [], "日期": [Span("日期", "5月1日", 0, 4, 0.9)], "核心诉求": []})
    s.validate(r)
    assert r.summary is None and r.warnings == ["summary left empty: no value for 申请人"]
    r = DocumentResult(
        values={
            "申请人": [Span("申请人", "张三", 0, 2, 0.4), Span("申请人", "李四", 5, 7, 0.8)],
            "日期": [Span("日期", "5月1日", 9, 13, 0.9)],
            "核心诉求": [],
        }
    )
    assert s.validate(r).summary == "李四 于 5月1日 反映"  # the best value, as in the Parquet column


def test_engine_reads_parts_inside_the_value_and_builds_records_and_summary(tiny_tokenizer):
    text = ACCIDENT + "负责人：总经理王五\n"

    def answers(prompt):
        if "抽取: 事故时间" in prompt:
            return (
                "事故时间: None\n负责人(姓名+职务): 总经理王五\n车牌号: 京A·12345，京B·67890\n驾驶人: 张三，李四\n"
                "车辆类型: 小型轿车\n损失情况: 车头受损，车尾受损"
            )
        if "抽取: 责任" in prompt:
            return "责任: 负主要责任"
        if prompt.startswith("输入: 总经理王五\n"):
            return "姓名: 王五\n职务: 总经理"
        return ""

    ex, model = scripted_extractor(tiny_tokenizer, answers, max_new_tokens=256)  # tiny vocab: many tokens
    schema = Schema.parse(
        "事故时间, 负责人(姓名+职务)",
        records=[str(VEHICLE)],
        summary="{驾驶人}[ 于 {事故时间}] 驾驶 {车牌号}",
    )
    result = ex.extract(text, schema)
    boss = result.values["负责人"][0]
    assert {k: (p.text, text[p.start : p.end]) for k, p in boss.parts.items()} == {
        "姓名": ("王五", "王五"),
        "职务": ("总经理", "总经理"),
    }
    assert boss.start <= boss.parts["职务"].start < boss.parts["姓名"].end <= boss.end
    assert result.prompts == 3  # 7 labels = 2 prompts, + 1 for the parts of the one 负责人 value
    assert "输入: 总经理王五\n抽取: 姓名，职务\n输出: [GEN]" in model.prompts
    assert [
        (r.index, r.values["车牌号"].text, r.values["驾驶人"].text, r.values["损失情况"].text)
        for r in result.records
    ] == [
        (0, "京A·12345", "张三", "车头受损"),
        (1, "京B·67890", "李四", "车尾受损"),
    ]
    assert result.summary == "张三 驾驶 京A·12345"
    d = result.to_dict()
    assert d["fields"]["负责人"][0]["parts"]["姓名"]["text"] == "王五"
    assert d["records"][1]["fields"]["车辆类型"]["start"] == text.rindex("小型轿车")


def test_compare_reports_same_different_and_missing_by_normalized_value():
    s = Schema.from_dict(
        {
            "fields": [
                "合同金额, 签约日期, 争议解决方式, 违约责任",
                {"name": "类别", "type": "class", "choices": ["合同", "发票"]},
            ]
        }
    )
    a = DocumentResult(
        values={
            "合同金额": [Span("合同金额", "¥120,000.00", 0, 11, 0.9)],
            "签约日期": [Span("签约日期", "2023年9月12日", 20, 30, 0.8)],
            "争议解决方式": [Span("争议解决方式", "提交仲裁", 40, 44, 0.7)],
            "违约责任": [],
        },
        classes={"类别": [ClassLabel("类别", "合同", 0.9)]},
    )
    b = DocumentResult(
        values={
            "合同金额": [Span("合同金额", "人民币12万元", 0, 7, 0.6)],
            "签约日期": [Span("签约日期", "2023-09-13", 9, 19, 0.8)],
            "争议解决方式": [],
            "违约责任": [],
        },
        classes={"类别": [ClassLabel("类别", "合同", 0.7)]},
    )
    got = {c.field: c.status for c in compare(s, a, b)}
    assert got == {
        "合同金额": "same",
        "签约日期": "different",
        "争议解决方式": "only_a",
        "违约责任": "missing",
        "类别": "same",
    }
    assert {c.field: c.status for c in compare(s, b, a)}["争议解决方式"] == "only_b"


def test_record_scores_count_a_value_in_the_wrong_record_as_wrong():
    text = "京A1 张三 京B2 李四"
    gold = [
        {"type": "车", "fields": {"牌": [{"start": 0, "end": 3}], "人": [{"start": 4, "end": 6}]}},
        {"type": "车", "fields": {"牌": [{"start": 7, "end": 10}], "人": [{"start": 11, "end": 13}]}},
    ]
    right = [
        {"type": "车", "fields": {"牌": (0, 3), "人": (4, 6)}},
        {"type": "车", "fields": {"牌": (7, 10), "人": (11, 13)}},
    ]
    swapped = [
        {"type": "车", "fields": {"牌": (0, 3), "人": (11, 13)}},
        {"type": "车", "fields": {"牌": (7, 10), "人": (4, 6)}},
    ]
    values, exact = score_records(text, gold, right)
    assert (values.tp, values.pred, values.gold, exact.tp) == (4, 4, 4, 2)
    values, exact = score_records(text, gold, swapped)
    assert (values.tp, values.pred, values.gold, exact.tp) == (2, 4, 4, 0)
    values, exact = score_records(text, gold, [])
    assert (values.f1, exact.gold) == (0.0, 2)


def test_the_readme_schema_example_parses_as_documented():
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Records, relations, summaries, comparisons", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    s = Schema.from_dict(yaml.safe_load(block))
    assert [str(r) for r in s.records] == [
        "车辆: 车牌号, 驾驶人, 车辆类型, 损失情况",
        "公司: 公司名称, 注册资本",
    ]
    assert s.field("当前负责人").parts == ["姓名", "职务"]
    assert s.summary.startswith("{驾驶人} 驾驶 {车牌号}[ 于 {事故时间}]")
    assert RecordType.from_value({"工作": ["公司", "职位"]}).fields == ["公司", "职位"]


def test_classification_reads_every_chunk_and_keeps_the_surest_answer(tiny_tokenizer):
    text = "第一部分：双方友好协商，内容如下。" * 12 + "第二部分：市民强烈投诉噪音扰民。" * 12

    def answers(prompt):
        if "\n分类: " not in prompt:
            return ""
        return ("投诉", 12.0) if "投诉" in prompt.split("\n分类: ")[0] else ("咨询", 4.0)

    ex, model = scripted_extractor(tiny_tokenizer, answers, max_prompt_tokens=256, overlap=0)
    schema = Schema.from_dict({"fields": [{"name": "类别", "type": "class", "choices": ["咨询", "投诉"]}]})
    result = ex.extract(text, schema)
    asked = [p for p in model.prompts if "\n分类: 咨询，投诉\n" in p]
    assert result.chunks >= 2 and len(asked) == result.chunks == result.prompts
    (label,) = result.classes["类别"]
    assert label.label == "投诉" and label.confidence > 0.5
    first_only = ex.extract(text[: len(text) // 3], schema).classes["类别"][0]
    assert first_only.label == "咨询" and first_only.confidence < label.confidence
