"""Field definitions: parsing, hints, type inference, files, errors and validation of results."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from extractor.normalize import id_check_digit
from extractor.schema import FIELD_TYPES, Field, Rule, Schema, SchemaError, infer_type
from extractor.types import ClassLabel, DocumentResult, Span, best_span
from extractor.validation import is_approximate_value, normalize_value

EXAMPLE = "甲方, 乙方, 合同金额, 签约日期(YYYY-MM-DD), 身份证号(18位), 项目阶段(立项/招标/实施/验收), 负责人(姓名+职务)"


def span(field: str, text: str, confidence: float = 0.9, start: int = 0) -> Span:
    return Span(field=field, text=text, start=start, end=start + len(text), confidence=confidence)


# --------------------------------------------------------------------------------------
# The comma list
# --------------------------------------------------------------------------------------


def test_parse_the_design_example():
    s = Schema.parse(EXAMPLE)
    assert [f.name for f in s] == ["甲方", "乙方", "合同金额", "签约日期", "身份证号", "项目阶段", "负责人"]
    assert [f.prompt_label for f in s] == [
        "甲方",
        "乙方",
        "合同金额",
        "签约日期(YYYY-MM-DD)",
        "身份证号(18位)",
        "项目阶段(立项/招标/实施/验收)",
        "负责人(姓名+职务)",
    ]
    assert [f.type for f in s] == ["text", "text", "money", "date", "id_number", "choice", "text"]
    assert s.field("签约日期").pattern == "YYYY-MM-DD"
    assert s.field("身份证号").length == 18
    assert s.field("项目阶段").choices == ["立项", "招标", "实施", "验收"]
    assert s.field("负责人").parts == ["姓名", "职务"]
    assert s.field("甲方").hint is None and s.field("甲方").required is False
    assert s.rules == [] and s.name is None and len(s) == 7


@pytest.mark.parametrize(
    "spec",
    [
        "甲方,乙方,合同金额",
        "甲方，乙方，合同金额",
        "甲方、乙方、合同金额",
        "甲方\n乙方\r\n合同金额\n",
        "  甲方 ,\t乙方 ,  合同金额  ",
        "甲方,, 乙方 , ,合同金额,",
        "甲方，乙方、合同金额\n",
    ],
)
def test_separators_spaces_and_empty_items(spec):
    assert [f.name for f in Schema.parse(spec)] == ["甲方", "乙方", "合同金额"]


def test_no_split_inside_parentheses_and_commas_are_choice_separators():
    s = Schema.parse("项目阶段(立项,招标), 状态（进行中，已完成、已取消）, 日期")
    assert [f.name for f in s] == ["项目阶段", "状态", "日期"]
    assert s.field("项目阶段").choices == ["立项", "招标"]
    assert s.field("状态").choices == ["进行中", "已完成", "已取消"]


def test_full_width_parentheses_become_ascii_and_hint_is_kept_verbatim():
    f = Schema.parse("签署日期（YYYY年MM月DD日）").fields[0]
    assert f.name == "签署日期" and f.hint == "YYYY年MM月DD日"
    assert f.prompt_label == "签署日期(YYYY年MM月DD日)"
    assert Schema.parse("签约日期 (YYYY-MM-DD)").fields[0].prompt_label == "签约日期(YYYY-MM-DD)"


def test_nested_parentheses_and_non_trailing_groups():
    f = Field.parse("负责人(姓名(全名)+职务)")
    assert f.name == "负责人" and f.hint == "姓名(全名)+职务"
    g = Field.parse("(注)备注")
    assert g.name == "(注)备注" and g.hint is None
    h = Field.parse("金额()")
    assert h.name == "金额" and h.hint is None and h.prompt_label == "金额"


def test_trailing_star_marks_required():
    s = Schema.parse("合同金额*, 签约日期(YYYY-MM-DD) *, 甲方")
    assert [f.required for f in s] == [True, True, False]
    assert s.field("签约日期").prompt_label == "签约日期(YYYY-MM-DD)"


def test_field_constructor_splits_a_trailing_hint():
    f = Field("合同金额(万元)")
    assert (f.name, f.hint, f.type) == ("合同金额", "万元", "money")
    assert Field("金额(元)", hint="万元").name == "金额(元)"


# --------------------------------------------------------------------------------------
# Type inference
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "type_"),
    [
        ("合同金额", "money"),
        ("价款", "money"),
        ("服务费用", "money"),
        ("注册资本", "money"),
        ("电话费", "money"),
        ("标的(万元)", "money"),
        ("租金(元/月)", "money"),
        ("contract amount", "money"),
        ("Price", "money"),
        ("registered capital", "money"),
        ("annual fee", "money"),
        ("签约日期", "date"),
        ("出生日期", "date"),
        ("出生年月", "date"),
        ("截止(YYYY-MM-DD)", "date"),
        ("签约时间(日期格式)", "date"),
        ("付款金额(YYYY/MM/DD)", "date"),
        ("Signing Date", "date"),
        ("date of birth", "date"),
        ("signed on", "date"),
        ("联系电话", "phone"),
        ("手机号码", "phone"),
        ("联系方式", "phone"),
        ("phone", "phone"),
        ("Tel", "phone"),
        ("mobile number", "phone"),
        ("身份证号", "id_number"),
        ("身份证号码(18位)", "id_number"),
        ("证件号码(身份证)", "id_number"),
        ("ID number", "id_number"),
        ("员工人数", "integer"),
        ("采购数量", "integer"),
        ("number of employees", "integer"),
        ("head count", "integer"),
        ("持股比例", "percent"),
        ("增长(%)", "percent"),
        ("tax rate", "percent"),
        ("项目阶段(立项/招标/实施/验收)", "choice"),
        ("是否盖章(是/否)", "choice"),
        # conservative: unclear names stay text
        ("甲方", "text"),
        ("费用类型", "text"),
        ("开会时间", "text"),
        ("date range notes", "text"),
        ("update", "text"),
        ("phone model", "text"),
        ("证件号码(18位)", "text"),
        ("负责人(姓名+职务)", "text"),
        ("备注", "text"),
    ],
)
def test_type_inference(spec, type_):
    assert Field.parse(spec).type == type_


def test_infer_type_function_and_explicit_type_wins():
    assert infer_type("合同金额") == "money"
    assert infer_type("项目", "A/B") == "choice"
    assert infer_type("项目") == "text"
    f = Field.parse("合同金额", type="text")
    assert f.type == "text"
    assert Field("备注", hint="a/b", type="text").choices == []  # choices only for choice/class
    assert Field("Status", type="CHOICE", choices=["a", "b"]).type == "choice"


# --------------------------------------------------------------------------------------
# Field.normalize
# --------------------------------------------------------------------------------------


def test_normalize_money_date_phone_integer():
    s = Schema.parse("合同金额, 签约日期, 电话, 人数, 比例(%)")
    assert normalize_value(s.field("合同金额"), "¥2,380.00元") == (
        {"amount": "2380.00", "currency": "CNY"},
        [],
    )
    assert normalize_value(s.field("合同金额"), "面议") == (None, ["no amount found"])
    assert normalize_value(s.field("签约日期"), "2023年9月12日") == ("2023-09-12", [])
    assert normalize_value(s.field("签约日期"), "2023-02-30") == (None, ["not a valid date"])
    assert normalize_value(s.field("电话"), "+86 138-1234-5678") == ("+8613812345678", [])
    assert normalize_value(s.field("电话"), "见附件") == (None, ["not a phone number"])
    assert normalize_value(s.field("人数"), "12人") == (12, [])
    assert normalize_value(s.field("人数"), "若干") == (None, ["not a whole number"])
    assert normalize_value(s.field("比例"), "12.5%") == ("12.5", [])
    assert normalize_value(s.field("比例"), "一半") == (None, ["not a percentage"])


def test_money_hint_unit_scales_bare_numbers():
    f = Field.parse("合同金额(万元)")
    assert normalize_value(f, "120") == ({"amount": "1200000.00", "currency": "CNY"}, [])
    assert normalize_value(f, "120万元") == ({"amount": "1200000.00", "currency": "CNY"}, [])


def test_length_hint():
    f = Field.parse("编号(6位)")
    assert normalize_value(f, "AB1234") == (None, [])
    assert normalize_value(f, "AB 12 34") == (None, [])  # spaces ignored
    assert normalize_value(f, "AB123") == (None, ["expected 6 characters, got 5"])
    g = Field.parse("验证码(6 digits)")
    assert g.length == 6 and normalize_value(g, "1234567")[1] == ["expected 6 characters, got 7"]
    m = Field.parse("手机(11位)")
    assert m.type == "phone" and m.length == 11
    assert normalize_value(m, "+86 138-1234-5678") == ("+8613812345678", [])  # digits, without +86
    assert normalize_value(m, "138-1234-567")[1] == ["expected 11 digits, got 10", "not a phone number"]


def test_id_number_issues():
    f = Field.parse("身份证号(18位)")
    assert normalize_value(f, "11010519491231002x") == ("11010519491231002X", [])
    assert normalize_value(f, "110105194912310021") == (None, ["invalid ID check digit"])
    assert normalize_value(f, "11010519491231002") == (
        None,
        ["expected 18 characters, got 17", "not an 18-character resident ID number"],
    )
    # valid check digit, impossible birth date (1949-02-31)
    bad_birth = "11010519490231002" + id_check_digit("11010519490231002")
    assert normalize_value(f, bad_birth) == (None, ["invalid birth date in ID number"])


def test_choices():
    f = Field.parse("项目阶段(立项/招标/实施/验收)")
    assert normalize_value(f, "招标") == ("招标", [])
    assert normalize_value(f, " 招标 ") == ("招标", [])
    assert normalize_value(f, "验收阶段") == (None, ["not one of 立项/招标/实施/验收"])
    g = Field.parse("status(Open/Closed)")
    assert normalize_value(g, "open") == (
        "Open",
        [],
    )  # case and width do not matter; the schema's spelling is returned
    assert normalize_value(g, "ＣＬＯＳＥＤ") == ("Closed", [])


@pytest.mark.parametrize(
    ("hint", "text", "value"),
    [
        ("YYYY-MM-DD", "2023年9月12日", "2023-09-12"),
        ("YYYY年MM月DD日", "2023-9-12", "2023年09月12日"),
        ("yyyy/mm/dd", "September 12, 2023", "2023/09/12"),
        ("YYYY-MM", "2023年9月12日", "2023-09"),
        ("DD/MM/YYYY", "12/09/2023", "12/09/2023"),  # read day-first, as the pattern says
        ("MM/DD/YYYY", "12/09/2023", "12/09/2023"),
        ("YYYY.M.D", "2023-09-02", "2023.9.2"),
    ],
)
def test_date_pattern_is_the_output_form(hint, text, value):
    f = Field.parse(f"日期({hint})")
    assert f.type == "date"
    assert normalize_value(f, text) == (value, [])


def test_date_pattern_day_first_changes_the_reading():
    assert normalize_value(Field.parse("d(DD/MM/YYYY)"), "12/09/2023")[0] == "12/09/2023"
    assert normalize_value(Field.parse("d(YYYY-MM-DD)"), "12/09/2023")[0] == "2023-12-09"
    assert normalize_value(Field.parse("d(DD-MM-YYYY)"), "03/04/2024")[0] == "03-04-2024"
    assert normalize_value(Field.parse("d(YYYY-MM-DD)"), "03/04/2024")[0] == "2024-03-04"


def test_date_missing_day_with_a_day_pattern():
    f = Field.parse("签约日期(YYYY-MM-DD)")
    assert normalize_value(f, "2023年9月") == ("2023-09", ["date has no day (expected YYYY-MM-DD)"])


def test_parts_hint_splits_when_it_can():
    f = Field.parse("负责人(姓名+职务)")
    assert normalize_value(f, "张三 总经理") == ({"姓名": "张三", "职务": "总经理"}, [])
    assert normalize_value(f, "张三（总经理）") == ({"姓名": "张三", "职务": "总经理"}, [])
    assert normalize_value(f, "张三总经理") == (None, [])  # cannot split: no issue, the text is the value


def test_plain_text_has_no_normalized_value():
    assert normalize_value(Field.parse("甲方"), "北京云杉科技有限公司") == (None, [])


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _rich_schema() -> Schema:
    return Schema(
        [
            Field.parse("甲方", required=True),
            Field.parse("乙方"),
            Field.parse("合同金额(万元)", threshold=0.5, description="total price"),
            Field.parse("已付金额"),
            Field.parse("开始日期(YYYY-MM-DD)"),
            Field.parse("结束日期(YYYY年MM月DD日)"),
            Field.parse("身份证号(18位)"),
            Field.parse("项目阶段(立项/招标/实施/验收)"),
            Field.parse("负责人(姓名+职务)"),
            Field("备注", hint="a/b", type="text"),
            Field("优先级", type="choice", choices=["高", "中", "低"]),
            Field("编号", length=8),
            Field("类别", type="class", choices=["咨询", "投诉", "求助", "建议"], required=True),
            Field("工单类型(咨询/投诉)", type="class", threshold=0.25),
            Field("金额说明(元)", hint=None, type="text"),
            Field.parse("附件(一)()"),  # a name that ends in parentheses, with no hint
        ],
        rules=[
            "结束日期 >= 开始日期",
            "已付金额 <= 合同金额",
            "甲方 != 乙方",
            "负责人 -> 甲方",
            "甲方 == 负责人",
        ],
        name="contracts",
    )


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_file_round_trip(tmp_path, suffix):
    schema = _rich_schema()
    path = schema.save(tmp_path / f"schema{suffix}")
    loaded = Schema.from_file(path)
    assert loaded == schema
    assert loaded.to_dict() == schema.to_dict()
    assert [f.prompt_label for f in loaded] == [f.prompt_label for f in schema]
    # and a second trip changes nothing
    again = Schema.from_file(loaded.save(tmp_path / f"again{suffix}"))
    assert again == schema
    assert path.read_text(encoding="utf-8") == (tmp_path / f"again{suffix}").read_text(encoding="utf-8")


def test_saved_files_are_readable(tmp_path):
    schema = _rich_schema()
    data = yaml.safe_load(schema.save(tmp_path / "s.yaml").read_text(encoding="utf-8"))
    assert "合同金额" in (tmp_path / "s.yaml").read_text(encoding="utf-8")  # unicode, not escapes
    assert data["name"] == "contracts"
    assert data["rules"] == [
        "结束日期 >= 开始日期",
        "已付金额 <= 合同金额",
        "甲方 != 乙方",
        "负责人 -> 甲方",
        "甲方 == 负责人",
    ]
    by_name = {d["name"]: d for d in data["fields"]}
    assert by_name["开始日期"] == {
        "name": "开始日期",
        "hint": "YYYY-MM-DD",
        "type": "date",
    }
    assert by_name["优先级"]["choices"] == ["高", "中", "低"]  # not implied by a hint: written out
    assert "choices" not in by_name["项目阶段"]  # implied by the hint: left out
    assert by_name["合同金额"]["threshold"] == 0.5 and by_name["甲方"]["required"] is True
    assert json.loads(schema.save(tmp_path / "s.json").read_text(encoding="utf-8")) == schema.to_dict()


def test_parse_result_round_trips_too(tmp_path):
    schema = Schema.parse(EXAMPLE, name="x", rules=[])
    assert Schema.from_file(schema.save(tmp_path / "a.yaml")) == schema
    assert Schema.from_file(schema.save(tmp_path / "a.json")) == schema


def test_from_file_string_and_mapping_fields(tmp_path):
    path = tmp_path / "tickets.yaml"
    path.write_text(
        "name: tickets\n"
        "fields:\n"
        "  - 申请人\n"
        "  - 联系电话*\n"
        "  - 项目阶段(立项,招标)\n"
        "  - 甲方, 乙方\n"
        "  - name: 类别\n"
        "    type: class\n"
        "    choices: [咨询, 投诉, 求助, 建议]\n"
        "  - {name: 金额, hint: 万元, threshold: 0.3, description: 总价}\n"
        "rules:\n"
        "  - 乙方 != 甲方\n",
        encoding="utf-8",
    )
    s = Schema.from_file(path)
    assert s.name == "tickets"
    assert [f.name for f in s] == ["申请人", "联系电话", "项目阶段", "甲方", "乙方", "类别", "金额"]
    assert s.field("联系电话").required and s.field("联系电话").type == "phone"
    assert s.field("项目阶段").choices == ["立项", "招标"]
    assert [f.name for f in s.classification_fields] == ["类别"]
    assert "类别" not in [f.name for f in s.extraction_fields] and len(s.extraction_fields) == 6
    assert s.field("类别").choices == ["咨询", "投诉", "求助", "建议"]
    amount = s.field("金额")
    assert (amount.type, amount.threshold, amount.description, amount.prompt_label) == (
        "money",
        0.3,
        "总价",
        "金额(万元)",
    )
    assert s.rules == [Rule("different", "乙方", "甲方")]


def test_from_file_json_and_bare_list(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(["甲方", {"name": "签约日期", "hint": "YYYY-MM-DD"}], ensure_ascii=False), encoding="utf-8"
    )
    s = Schema.from_file(path)
    assert [f.prompt_label for f in s] == ["甲方", "签约日期(YYYY-MM-DD)"]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Schema.parse(""), "empty field list"),
        (lambda: Schema.parse(" , ，、\n "), "empty field list"),
        (lambda: Schema([]), "empty field list"),
        (lambda: Schema.parse("甲方, 乙方, 甲方"), "duplicate field name '甲方'"),
        (lambda: Schema.parse("日期(YYYY-MM-DD), 日期(YYYY/MM/DD)"), "duplicate field name"),
        (lambda: Schema.parse("Amount, amount"), "duplicate field name"),
        (lambda: Schema.parse("甲方, (YYYY-MM-DD)"), "empty name"),
        (lambda: Field(""), "empty name"),
        (lambda: Field("  "), "empty name"),
        (lambda: Schema.parse("签约日期(YYYY-MM-DD"), "unbalanced parentheses"),
        (lambda: Schema.parse("甲方), 乙方"), "unbalanced parentheses"),
        (lambda: Schema.parse("项目阶段（立项/招标"), "unbalanced parentheses"),
        (lambda: Field("x", hint="a(b"), "unbalanced parentheses"),
        (lambda: Field("金额", type="mony"), "unknown type 'mony'.*did you mean 'money'"),
        (lambda: Field("金额", type=3), "unknown type"),
        (lambda: Field("金额", threshold=1.5), r"threshold 1.5 is outside \[0, 1\]"),
        (lambda: Field("金额", threshold=-0.1), "outside"),
        (lambda: Field("金额", threshold="high"), "must be a number"),
        (lambda: Field("金额", threshold=True), "must be a number"),
        (lambda: Field("类别", type="class"), "no choices"),
        (lambda: Field("阶段", type="choice"), "no choices"),
        (lambda: Field("类别", type="class", choices=["a", "A"]), "same choice twice"),
        (lambda: Field("类别", type="class", choices=["a", ""]), "non-empty strings"),
        (lambda: Field("x", required="yes"), "'required' must be true or false"),
        (lambda: Field("x", length=0), "'length' must be a positive integer"),
        (lambda: Field("x", type="date", pattern="hello"), "not a date pattern"),
        (lambda: Field("x", pattern="YYYY-MM-DD"), "needs type 'date'"),
        (
            lambda: Schema.parse("开始日期, 结束日期", rules=["结束日期 >= 开工日期"]),
            "unknown field '开工日期'",
        ),
        (lambda: Schema.parse("甲方, 乙方", rules=["甲方 != 丙方"]), "unknown field '丙方'"),
        (lambda: Schema.parse("甲方, 乙方", rules=["甲方 乙方"]), "cannot read rule"),
        (lambda: Schema.parse("甲方, 乙方", rules=[">= 乙方"]), "cannot read rule"),
        (lambda: Schema.parse("甲方, 乙方", rules=["甲方 >= 乙方"]), "compares amounts"),
        (lambda: Schema.parse("开始日期, 合同金额", rules=["开始日期 >= 合同金额"]), "compares amounts"),
        (lambda: Schema.parse("甲方, 乙方", rules=["甲方 != 甲方"]), "with itself"),
        (lambda: Schema.parse("甲方, 乙方", rules=[Rule("not_before", "甲方", "乙方")]), "compares dates"),
        (lambda: Schema.parse("甲方, 乙方", rules=[Rule("bigger", "甲方", "乙方")]), "unknown rule kind"),
        (lambda: Schema.parse("甲方, 乙方", rules=[42]), "a rule must be a string"),
        (lambda: Schema.from_dict({"fields": ["甲方"], "rule": []}), "unknown schema key 'rule'.*'rules'"),
        (lambda: Schema.from_dict({"name": "x"}), "has no 'fields'"),
        (
            lambda: Schema.from_dict({"fields": [{"name": "甲方", "typ": "text"}]}),
            "unknown key 'typ'.*'type'",
        ),
        (lambda: Schema.from_dict({"fields": [{"hint": "x"}]}), "needs a string 'name'"),
        (lambda: Schema.from_dict({"fields": [3]}), "string or a mapping"),
        (lambda: Schema.from_dict({"fields": "甲方", "rules": {"a": 1}}), "'rules' must be a list"),
        (lambda: Schema.from_dict("甲方"), "must be a mapping"),
    ],
)
def test_schema_errors(make, message):
    with pytest.raises(SchemaError, match=message):
        make()


def test_schema_error_is_a_value_error():
    assert issubclass(SchemaError, ValueError)


def test_file_errors(tmp_path):
    with pytest.raises(SchemaError, match="schema file not found"):
        Schema.from_file(tmp_path / "missing.yaml")
    with pytest.raises(SchemaError, match="directory"):
        Schema.from_file(tmp_path)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("fields: [甲方, 乙方\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="cannot parse schema file"):
        Schema.from_file(bad_yaml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"fields": ["甲方",]}', encoding="utf-8")
    with pytest.raises(SchemaError, match="cannot parse schema file"):
        Schema.from_file(bad_json)
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SchemaError, match="is empty"):
        Schema.from_file(empty)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SchemaError, match="cannot read schema file"):
        Schema.from_file(binary)
    txt = tmp_path / "s.txt"
    txt.write_text("甲方", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"\.yaml, \.yml or \.json"):
        Schema.from_file(txt)
    with pytest.raises(SchemaError, match=r"\.yaml, \.yml or \.json"):
        Schema.parse("甲方").save(tmp_path / "s.toml")
    dup = tmp_path / "dup.yaml"
    dup.write_text("fields: [甲方, 甲方]\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"dup\.yaml: duplicate field name"):
        Schema.from_file(dup)


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_rule_parsing_picks_the_kind_from_field_types():
    s = Schema.parse(
        "开始日期, 结束日期, 合同金额, 已付金额, 人数, 甲方, 乙方",
        rules=[
            "结束日期 >= 开始日期",
            "开始日期 <= 结束日期",
            "已付金额 <= 合同金额",
            "合同金额 >= 已付金额",
            "合同金额 ≥ 人数",
            "甲方 != 乙方",
            "甲方 ≠ 乙方",
            "甲方 == 乙方",
            "甲方 = 乙方",
            "甲方 -> 乙方",
            "甲方 requires 乙方",
            "甲方 => 乙方",
            "结束日期 not_before 开始日期",
            "甲方 different 乙方",
            "甲方　！＝　乙方",
        ],
    )
    assert s.rules == [
        Rule("not_before", "结束日期", "开始日期"),
        Rule("not_before", "结束日期", "开始日期"),
        Rule("less_equal", "已付金额", "合同金额"),
        Rule("greater_equal", "合同金额", "已付金额"),
        Rule("greater_equal", "合同金额", "人数"),
        Rule("different", "甲方", "乙方"),
        Rule("different", "甲方", "乙方"),
        Rule("same", "甲方", "乙方"),
        Rule("same", "甲方", "乙方"),
        Rule("required_together", "甲方", "乙方"),
        Rule("required_together", "甲方", "乙方"),
        Rule("required_together", "甲方", "乙方"),
        Rule("not_before", "结束日期", "开始日期"),
        Rule("different", "甲方", "乙方"),
        Rule("different", "甲方", "乙方"),
    ]
    assert [str(r) for r in s.rules[:3]] == [
        "结束日期 >= 开始日期",
        "结束日期 >= 开始日期",
        "已付金额 <= 合同金额",
    ]


def test_rules_may_name_fields_by_prompt_label_and_names_with_spaces():
    s = Schema.parse("start date, end date(YYYY-MM-DD)", rules=["end date(YYYY-MM-DD) >= start date"])
    assert s.rules == [Rule("not_before", "end date", "start date")]


# --------------------------------------------------------------------------------------
# validate()
# --------------------------------------------------------------------------------------


def test_validate_normalizes_in_place_and_applies_thresholds():
    schema = Schema(
        [
            Field.parse("合同金额", threshold=0.5),
            Field.parse("签约日期(YYYY-MM-DD)"),
            Field.parse("身份证号(18位)"),
        ]
    )
    low = span("合同金额", "3万元", 0.2)
    edge = span("合同金额", "¥2,380.00元", 0.5)
    result = DocumentResult(
        values={
            "合同金额": [low, edge],
            "签约日期": [span("签约日期", "2023年9月12日")],
            "身份证号": [span("身份证号", "11010519491231002")],
        }
    )
    values_list = result.values["合同金额"]
    out = schema.validate(result)
    assert out is result
    assert result.values["合同金额"] == [edge] and values_list is result.values["合同金额"]
    assert edge.normalized == {"amount": "2380.00", "currency": "CNY"} and edge.issues == []
    assert result.dropped == [low] and low.normalized == {"amount": "30000.00", "currency": "CNY"}
    assert result.values["签约日期"][0].normalized == "2023-09-12"
    id_span = result.values["身份证号"][0]
    assert id_span.normalized is None
    assert id_span.issues == ["expected 18 characters, got 17", "not an 18-character resident ID number"]
    # a value that fails its type or hint is a row violation too, naming the field and the value
    assert result.violations == [
        "身份证号='11010519491231002': expected 18 characters, got 17",
        "身份证号='11010519491231002': not an 18-character resident ID number",
    ]


def test_threshold_zero_keeps_everything():
    schema = Schema.parse("甲方")
    result = DocumentResult(values={"甲方": [span("甲方", "A公司", 0.0), span("甲方", "B公司", 0.01)]})
    schema.validate(result)
    assert len(result.values["甲方"]) == 2 and result.dropped == []


def test_required_fields():
    schema = Schema(
        [
            Field.parse("合同金额*", threshold=0.8),
            Field.parse("甲方*"),
            Field.parse("乙方"),
            Field("类别", type="class", choices=["咨询", "投诉"], required=True),
        ]
    )
    result = DocumentResult(
        values={"合同金额": [span("合同金额", "5万元", 0.3)], "甲方": [span("甲方", "A公司")], "乙方": []},
        classes={"类别": []},
    )
    schema.validate(result)
    assert result.violations == ["required field 合同金额 not found", "required field 类别 not found"]
    assert [s.text for s in result.dropped] == ["5万元"]


def test_missing_keys_count_as_absent():
    schema = Schema.parse("合同金额*, 甲方")
    result = schema.validate(DocumentResult())
    assert result.violations == ["required field 合同金额 not found"]
    assert result.values == {}


def _contract(**texts: str | None) -> DocumentResult:
    return DocumentResult(values={k: ([span(k, v)] if v is not None else []) for k, v in texts.items()})


RULES_SCHEMA = Schema.parse(
    "开始日期, 结束日期, 合同金额, 已付金额, 甲方, 乙方, 签字方, 担保人, 担保人电话",
    rules=[
        "结束日期 >= 开始日期",
        "已付金额 <= 合同金额",
        "合同金额 >= 已付金额",
        "甲方 != 乙方",
        "签字方 == 甲方",
        "担保人 -> 担保人电话",
    ],
)


def test_rules_all_hold():
    result = _contract(
        开始日期="2023年9月12日",
        结束日期="2024-09-11",
        合同金额="壹佰贰拾万元整",
        已付金额="¥300,000.00",
        甲方="北京云杉科技有限公司",
        乙方="上海海川贸易有限公司",
        签字方="北京云杉科技 有限公司",
        担保人="王五",
        担保人电话="13812345678",
    )
    RULES_SCHEMA.validate(result)
    assert result.violations == []


def test_rules_all_broken_say_which_values():
    result = _contract(
        开始日期="2024年9月12日",
        结束日期="2023-09-11",
        合同金额="5万元",
        已付金额="¥300,000.00",
        甲方="北京云杉科技有限公司",
        乙方="北京云杉科技有限公司",
        签字方="上海海川贸易有限公司",
        担保人="王五",
        担保人电话=None,
    )
    RULES_SCHEMA.validate(result)
    assert result.violations == [
        "rule 结束日期 >= 开始日期 broken: 结束日期 is before 开始日期 (结束日期=2023-09-11, 开始日期=2024-09-12)",
        "rule 已付金额 <= 合同金额 broken: 已付金额 is greater than 合同金额 (已付金额=300000.00 CNY, 合同金额=50000.00 CNY)",
        "rule 合同金额 >= 已付金额 broken: 合同金额 is less than 已付金额 (合同金额=50000.00 CNY, 已付金额=300000.00 CNY)",
        "rule 甲方 != 乙方 broken: both are the same (甲方='北京云杉科技有限公司', 乙方='北京云杉科技有限公司')",
        "rule 签字方 == 甲方 broken: they differ (签字方='上海海川贸易有限公司', 甲方='北京云杉科技有限公司')",
        "rule 担保人 -> 担保人电话 broken: 担保人='王五' but 担保人电话 not found",
    ]


def test_rules_on_absent_values_are_skipped_and_on_unreadable_ones_say_so():
    result = _contract(
        开始日期="2024-01-01",
        结束日期=None,
        合同金额="面议",
        已付金额="5万元",
        担保人=None,
        担保人电话="13812345678",
    )
    RULES_SCHEMA.validate(result)
    # an absent value: the rule does not apply (required fields say what must be there);
    # a value that does not parse: the rule is not checked, and the output says so
    assert result.violations == [
        "合同金额='面议': no amount found",
        "rule 已付金额 <= 合同金额 not checked: 合同金额='面议' (no amount found)",
        "rule 合同金额 >= 已付金额 not checked: 合同金额='面议' (no amount found)",
    ]
    assert result.values["合同金额"][0].issues == [
        "no amount found",
        "rule 已付金额 <= 合同金额 not checked: 合同金额='面议' (no amount found)",
        "rule 合同金额 >= 已付金额 not checked: 合同金额='面议' (no amount found)",
    ]
    assert result.values["已付金额"][0].issues == []  # it parsed: nothing wrong with it


def test_a_date_field_holding_a_company_name_reaches_the_violations():
    schema = Schema.parse("开始日期, 结束日期", rules=["结束日期 >= 开始日期"])
    result = _contract(开始日期="2023-09-12", 结束日期="上海静安置业有限公司")
    schema.validate(result)
    bad = result.values["结束日期"][0]
    assert bad.normalized is None
    assert bad.issues == [
        "not a valid date",
        "rule 结束日期 >= 开始日期 not checked: 结束日期='上海静安置业有限公司' (not a valid date)",
    ]
    assert result.violations == [
        "结束日期='上海静安置业有限公司': not a valid date",
        "rule 结束日期 >= 开始日期 not checked: 结束日期='上海静安置业有限公司' (not a valid date)",
    ]
    assert result.to_dict()["fields"]["结束日期"][0]["issues"] == bad.issues


def test_a_broken_rule_is_an_issue_of_both_chosen_values_which_stay_chosen():
    schema = Schema.parse("开始日期, 结束日期", rules=["结束日期 >= 开始日期"])
    result = DocumentResult(
        values={
            "开始日期": [span("开始日期", "2024-01-01", 0.9)],
            "结束日期": [
                span("结束日期", "2023-01-01", 0.9, start=20),
                span("结束日期", "2025-01-01", 0.5, start=40),
            ],
        }
    )
    schema.validate(result)
    message = "rule 结束日期 >= 开始日期 broken: 结束日期 is before 开始日期 (结束日期=2023-01-01, 开始日期=2024-01-01)"
    assert result.violations == [message]
    first, second = result.values["结束日期"]
    assert first.issues == [message] and second.issues == []
    assert result.values["开始日期"][0].issues == [message]
    # the value the rule was checked on stays the field's chosen value (the Parquet <f> column)
    assert best_span(result.values["结束日期"]) is first and first.chosen and not second.chosen
    schema.validate(result)  # validating again gives the same
    assert result.violations == [message] and first.issues == [message]


def test_dropped_values_are_kept_for_audit_in_json():
    schema = Schema([Field.parse("身份证号(18位)", threshold=0.5), Field.parse("甲方")])
    low = span("身份证号", "11010519491231002", 0.2)
    result = DocumentResult(values={"身份证号": [low], "甲方": [span("甲方", "A公司")]})
    schema.validate(result)
    d = result.to_dict()
    assert d["fields"]["身份证号"] == []
    assert d["dropped"] == {
        "身份证号": [
            {
                "text": "11010519491231002",
                "start": 0,
                "end": 17,
                "confidence": 0.2,
                "issues": ["expected 18 characters, got 17", "not an 18-character resident ID number"],
            }
        ]
    }
    assert result.violations == []  # a dropped value is audit, not a problem of the row


def test_rules_compare_the_first_kept_value_and_equal_values_pass():
    schema = Schema.parse("开始日期, 结束日期", rules=["结束日期 >= 开始日期"])
    result = DocumentResult(
        values={
            "开始日期": [span("开始日期", "2023-09-12")],
            "结束日期": [
                span("结束日期", "2023年9月12日", start=5),
                span("结束日期", "2020-01-01", start=30),
            ],
        }
    )
    schema.validate(result)
    assert result.violations == []
    # a low-confidence first value is dropped, so the second one is compared
    schema2 = Schema(
        [Field.parse("开始日期"), Field.parse("结束日期", threshold=0.5)], rules=["结束日期 >= 开始日期"]
    )
    result2 = DocumentResult(
        values={
            "开始日期": [span("开始日期", "2023-09-12")],
            "结束日期": [span("结束日期", "2024-01-01", 0.1), span("结束日期", "2020-01-01", 0.9)],
        }
    )
    schema2.validate(result2)
    assert result2.violations == [
        "rule 结束日期 >= 开始日期 broken: 结束日期 is before 开始日期 (结束日期=2020-01-01, 开始日期=2023-09-12)"
    ]


def test_partial_dates_compare_only_what_they_have():
    schema = Schema.parse("开始日期, 结束日期", rules=["结束日期 >= 开始日期"])
    same_month = _contract(开始日期="2023-09-12", 结束日期="2023年9月")
    schema.validate(same_month)
    assert same_month.violations == []
    earlier = _contract(开始日期="2023-09-12", 结束日期="2023年8月")
    schema.validate(earlier)
    assert len(earlier.violations) == 1


def test_money_in_different_currencies_is_not_compared_and_says_so():
    schema = Schema.parse("合同金额, 已付金额", rules=["已付金额 <= 合同金额"])
    result = _contract(合同金额="$100", 已付金额="¥500")
    schema.validate(result)
    assert result.violations == [
        "rule 已付金额 <= 合同金额 not checked: different currencies (已付金额=500.00 CNY, 合同金额=100.00 USD)"
    ]
    no_currency = _contract(合同金额="100", 已付金额="¥500")
    schema.validate(no_currency)
    assert len(no_currency.violations) == 1


def test_same_and_different_use_normalized_values():
    schema = Schema.parse(
        "联系电话, 担保人电话, 合同金额(万元), 发票金额",
        rules=["联系电话 != 担保人电话", "合同金额 == 发票金额"],
    )
    result = _contract(
        联系电话="138-1234-5678", 担保人电话="+86 13812345678", 合同金额="120", 发票金额="1,200,000元"
    )
    schema.validate(result)
    assert result.violations == [
        "rule 联系电话 != 担保人电话 broken: both are the same (联系电话=+8613812345678, 担保人电话=+8613812345678)"
    ]


def test_validate_accepts_values_keyed_by_prompt_label_and_is_idempotent():
    schema = Schema.parse("签约日期(YYYY年MM月DD日)*, 甲方*")
    result = DocumentResult(
        values={"签约日期(YYYY年MM月DD日)": [span("签约日期(YYYY年MM月DD日)", "2023-9-12")]}
    )
    schema.validate(result)
    schema.validate(result)
    assert result.values["签约日期(YYYY年MM月DD日)"][0].normalized == "2023年09月12日"
    assert result.violations == ["required field 甲方 not found"]


def test_class_labels_are_checked_against_the_choices():
    schema = Schema([Field("类别", type="class", choices=["咨询", "投诉"])])
    result = DocumentResult(classes={"类别": [ClassLabel("类别", "表扬", 0.9)]})
    schema.validate(result)
    assert result.violations == ["field 类别: label '表扬' is not one of 咨询/投诉"]
    ok = DocumentResult(classes={"类别": [ClassLabel("类别", "投诉", 0.9)]})
    assert schema.validate(ok).violations == []


# --------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------


def test_field_lookup_and_prompt_labels():
    s = Schema.parse("项目阶段(立项,招标), 签约日期(YYYY-MM-DD), Contract Amount")
    assert s.field("签约日期").hint == "YYYY-MM-DD"
    assert s.field("签约日期(YYYY-MM-DD)").name == "签约日期"
    with pytest.raises(KeyError, match="签约日"):
        s.field("签约日")
    assert s.by_prompt_label("签约日期(YYYY-MM-DD)").name == "签约日期"
    assert s.by_prompt_label("项目阶段(立项，招标)").name == "项目阶段"  # the prompt turns , into ，
    assert s.by_prompt_label("项目阶段（立项，招标）").name == "项目阶段"
    assert s.by_prompt_label("contract amount").name == "Contract Amount"
    assert s.by_prompt_label("签约日期").name == "签约日期"
    assert s.by_prompt_label("乙方") is None


def test_field_types_constant():
    assert set(FIELD_TYPES) >= {"text", "money", "date", "phone", "id_number", "integer", "choice", "class"}


def test_module_imports_no_heavy_dependencies():
    import extractor.schema as mod

    source = open(mod.__file__, encoding="utf-8").read()
    imports = set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M))
    assert not {i.split(".")[0] for i in imports} & {
        "torch",
        "transformers",
        "ray",
        "connectors",
        "pipelines",
    }


# --------------------------------------------------------------------------------------
# approximate values
# --------------------------------------------------------------------------------------


def test_validate_flags_approximate_values_and_json_says_so():
    schema = Schema.parse("合同金额, 签约日期, 人数, 甲方")
    result = DocumentResult(
        values={
            "合同金额": [span("合同金额", "大概五十万左右"), span("合同金额", "¥2,380.00元")],
            "签约日期": [span("签约日期", "三月中旬"), span("签约日期", "2023年3月中旬")],
            "人数": [span("人数", "五十多人")],
            "甲方": [span("甲方", "约翰公司")],  # a text field is never approximate, whatever it says
        }
    )
    schema.validate(result)
    fuzzy, exact = result.values["合同金额"]
    assert (fuzzy.approximate, fuzzy.normalized) == (True, {"amount": "500000.00", "currency": None})
    assert (exact.approximate, exact.normalized) == (False, {"amount": "2380.00", "currency": "CNY"})
    no_year, month = result.values["签约日期"]
    assert (no_year.approximate, no_year.normalized, no_year.issues) == (
        True,
        None,
        ["approximate date, not normalized"],
    )
    assert (month.approximate, month.normalized, month.issues) == (True, "2023-03", [])
    assert result.values["人数"][0].approximate and result.values["人数"][0].normalized == 50
    assert result.values["甲方"][0].approximate is False
    fields = result.to_dict()["fields"]
    assert fields["合同金额"][0]["approximate"] is True and fields["合同金额"][0]["text"] == "大概五十万左右"
    assert "approximate" not in fields["合同金额"][1]  # exact values keep their old JSON
    assert fields["签约日期"][0] == {
        "text": "三月中旬",
        "start": 0,
        "end": 4,
        "confidence": 0.9,
        "approximate": True,
        "issues": ["approximate date, not normalized"],
    }


def test_a_date_that_is_not_a_date_is_still_not_a_valid_date():
    assert normalize_value(Field.parse("签约日期"), "上海静安置业有限公司") == (None, ["not a valid date"])
    assert is_approximate_value(Field.parse("签约日期"), "上海静安置业有限公司") is False


def test_records_keep_the_approximate_flag():
    schema = Schema.parse("车牌号, 损失金额", records=["车辆: 车牌号, 损失金额"])
    text = "京A12345 损失约3万元；沪B67890 损失2万元。"
    result = DocumentResult(
        values={
            "车牌号": [Span("车牌号", "京A12345", 0, 7, 0.9), Span("车牌号", "沪B67890", 15, 22, 0.9)],
            "损失金额": [Span("损失金额", "约3万元", 10, 14, 0.9), Span("损失金额", "2万元", 25, 28, 0.9)],
        }
    )
    schema.validate(result, text)
    by_plate = {r.values["车牌号"].text: r.values["损失金额"] for r in result.records}
    assert by_plate["京A12345"].approximate is True and by_plate["沪B67890"].approximate is False


# --------------------------------------------------------------------------------------
# as_schema: the one place where fields become a Schema
# --------------------------------------------------------------------------------------


def test_as_schema_accepts_a_string_a_list_a_mapping_a_path_and_a_schema(tmp_path):
    from pathlib import Path

    from extractor.schema import as_schema

    s = Schema.parse("甲方, 乙方")
    assert as_schema(s) is s
    assert [f.name for f in as_schema("person,company")] == ["person", "company"]
    assert [f.name for f in as_schema("甲方，乙方、合同金额")] == ["甲方", "乙方", "合同金额"]
    listed = as_schema(["person", "项目阶段(立项,招标)", {"name": "开始", "type": "date"}, Field("备注")])
    assert [f.prompt_label for f in listed] == ["person", "项目阶段(立项,招标)", "开始", "备注"]
    assert listed.field("项目阶段").choices == ["立项", "招标"]
    assert [f.name for f in as_schema(("a, b", "c"))] == ["a", "b", "c"]  # a list item may be a comma list
    assert [f.name for f in as_schema({"fields": ["a", "b"], "rules": ["a != b"]})] == ["a", "b"]
    assert [f.name for f in as_schema(Field.parse("签约日期(YYYY-MM-DD)"))] == ["签约日期"]
    path = Path(tmp_path) / "s.yaml"
    Schema.parse("甲方, 乙方", name="c").save(path)
    assert as_schema(path).name == "c"
    assert [f.name for f in as_schema(str(path))] == [str(path)]  # a string is always a field list


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "comma list"),
        ("", "empty field list"),
        ([], "empty field list"),
        ([1], "a field must be a string"),
        (42, "got int"),
        (b"a,b", "got bytes"),
        ("a(b", "unbalanced parentheses"),
    ],
)
def test_as_schema_errors_say_what_is_accepted(value, message):
    from extractor.schema import as_schema

    with pytest.raises(SchemaError, match=re.escape(message)):
        as_schema(value)


# --------------------------------------------------------------------------------------
# Hostile schemas (issues 22 and 23): questions, control characters, bombs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "advice"),
    [
        ("请告诉我这家公司叫什么名字", "try '公司名称'"),
        ("甲方是谁？", "try '甲方'"),
        ("签约日期是什么时候", "try '签约日期'"),
        ("合同金额是多少钱", "try '合同金额'"),
        ("项目在哪里", "try '项目地点'"),
        ("请问乙方叫什么", "try '乙方名称'"),
        ("What is the company name?", "try 'company name'"),
        ("please tell me the buyer", "try 'buyer'"),
        ("哪家公司中标", "e.g. '公司名称', '签约日期' or 'company name'"),
        ("Who signed the contract", "e.g. '公司名称'"),
        ("合同已签字吗", "try '合同已签字'"),
    ],
)
def test_questions_and_instructions_are_refused_with_a_noun_phrase_to_try(name, advice):
    with pytest.raises(SchemaError) as info:
        Schema.parse(f"{name}, 甲方")
    message = str(info.value)
    assert message.startswith(f"field {name!r} reads as a question or an instruction")
    assert message.endswith(advice) or advice in message, message


def test_noun_phrases_that_look_like_instructions_are_fields():
    names = [
        "申请人",
        "请求人",
        "请假天数",
        "请示事项",
        "是否盖章",
        "List price",
        "Whole amount",
        "备注(是/否)",
    ]
    assert [f.name for f in Schema.parse(", ".join(names))] == [n.split("(")[0] for n in names]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Schema.parse("x\x00y"), "field 'x\\x00y' holds the control character U+0000"),
        (lambda: Schema.parse("甲方\x1b[31m"), "U+001B"),
        (lambda: Schema.parse("ding\x07"), "U+0007"),
        (lambda: Field("甲\t方"), "U+0009"),
        (
            lambda: Field("金额", hint="万\x00元"),
            "the hint of field '金额' holds the control character U+0000",
        ),
        (lambda: Field("类别", type="class", choices=["咨询", "投\x1b诉"]), "U+001B"),
        (lambda: Schema.from_dict({"fields": ["甲方", ""]}), "field 2 of the list is empty"),
        (lambda: Schema.from_dict({"fields": ["甲方", "  "]}), "field 2 of the list is empty"),
        (
            lambda: Schema.from_dict({"fields": ["甲方\n乙方"]}),
            "field 1 of the list, '甲方\\n乙方', holds a line break",
        ),
        (lambda: Schema.parse("甲方", name="a\x00"), "the schema name 'a\\x00' holds the control character"),
        (lambda: Schema.parse("甲方", records=["车\x00辆: 车牌号, 驾驶人"]), "record type"),
    ],
)
def test_control_characters_and_empty_list_items_are_refused_with_the_field_named(make, message):
    with pytest.raises(SchemaError, match=re.escape(message)):
        make()


def test_a_description_may_have_line_breaks_but_no_other_control_characters():
    assert Field("甲方", description="第一行\n第二行\t注").description == "第一行\n第二行\t注"
    with pytest.raises(
        SchemaError, match=re.escape("the description of field '甲方' holds the control character U+001B")
    ):
        Field("甲方", description="x\x1b[2J")


def _bomb() -> str:
    """The 9x9 alias bomb of issue 23 (1 billion 'lol' once expanded) with an unknown key, so
    that an error message would quote the expanded field name."""
    levels = ["&a [" + ", ".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "fields: [{name: [" + ", ".join(levels) + "], bogus: 1}]\n"


def test_a_yaml_alias_bomb_is_refused_before_it_is_built_in_bounded_memory(tmp_path):
    import time
    import tracemalloc

    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(), encoding="utf-8")
    assert len(path.read_bytes()) < 500
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SchemaError) as info:
            Schema.from_file(path)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "expand to more than 20,000 values" in str(info.value) and len(str(info.value)) < 400
    assert seconds < 1.0 and peak < 100 * 2**20  # generous: it takes milliseconds and kilobytes


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("fields: " + "[" * 100_000 + "]" * 100_000, ".yaml", "more than 20 levels deep"),
        ('{"fields": ' + "[" * 100_000 + "]" * 100_000 + "}", ".json", "more than 20 levels deep"),
        ("fields: &a [甲方, *a]\n", ".yaml", "a cycle"),
        (
            '{"fields": [' + ", ".join(f'"f{i}"' for i in range(25_000)) + "]}",
            ".json",
            "more than 20,000 values",
        ),
    ],
)
def test_deep_cyclic_and_huge_schema_files_are_refused(tmp_path, text, suffix, message):
    path = tmp_path / f"s{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match=re.escape(message)):
        Schema.from_file(path)


def test_an_oversized_schema_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"fields: [a]\n" + b"#" * (1024 * 1024))
    with pytest.raises(SchemaError, match="over the limit of 1,048,576 for a schema"):
        Schema.from_file(path)


def test_error_messages_quote_bounded_values():
    from extractor.errors import quote

    shared = ["x" * 1000] * 10
    for _ in range(8):
        shared = [shared] * 10  # 10^9 strings if expanded, but shared
    with pytest.raises(SchemaError) as info:
        Schema.from_dict({"fields": [{"name": shared, "bogus": 1}]})
    assert len(str(info.value)) < 600
    assert len(quote("y" * 10**6)) < 100 and quote("甲方") == "'甲方'"


def test_every_schema_error_message_is_bounded(tmp_path):
    """A value quoted without extractor.errors.quote (a megabyte 'threshold' string in a
    schema file) still gives a message of a few thousand characters, its start kept."""
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump({"fields": [{"name": "甲方", "threshold": "x" * 1_000_000}]}), encoding="utf-8"
    )
    with pytest.raises(SchemaError) as info:
        Schema.from_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: field '甲方': 'threshold' must be a number in [0, 1], got 'xxx")
    assert message.endswith(" more characters not shown)") and len(message) < 4_200
