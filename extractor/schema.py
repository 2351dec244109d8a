"""Field definitions, the schema: what a person asks for, declared and checked once.

A schema is what a person asks for: ``"甲方, 乙方, 合同金额, 签约日期(YYYY-MM-DD)"`` or a
YAML/JSON file.  Each item is a :class:`Field`: a name, an optional hint in parentheses
(sent to the model verbatim as part of the label, as SeqGPT expects), a type that picks the
normalizer (:mod:`extractor.normalize`), and the checks the hint implies.  :class:`Rule`
objects relate fields to each other (``结束日期 >= 开始日期``), :class:`RecordType` groups
fields, and a summary template names fields.  This module parses, infers and checks these
declarations (a bad one raises :class:`SchemaError` when the schema is built) and reads and
writes schema files; it does not look at documents.  Applying a schema to a document's
values is :mod:`extractor.validation` (normalization, thresholds, rules; ``Schema.validate``
calls it), grouping records is :mod:`extractor.records`, filling the summary template is
:mod:`extractor.summary`.

Syntax of a field item (comma list or a string entry of a schema file)::

    name                       甲方
    name(hint)                 签约日期(YYYY-MM-DD), 身份证号(18位), 项目阶段(立项/招标/实施/验收)
    name(hint)*                合同金额*   -- a trailing ``*`` marks the field required

Items are separated by ``,`` ``，`` ``、`` or newlines, never inside parentheses;
full-width parentheses ``（）`` are accepted and become ASCII ``()``.  Inside a hint,
``/ | , ， 、`` separate choices and ``+`` separates parts (``姓名+职务``).

What hints mean:

- a date pattern (``YYYY-MM-DD``, ``YYYY年MM月DD日``, ``DD/MM/YYYY``, ``YYYY-MM``) -> type
  ``date``; the normalized value is written in that pattern (ISO 8601 without a pattern),
  and a pattern with the day before the month reads ``12/09/2023`` day-first;
- ``日期``/``日期格式``/``date``/``ISO 8601`` -> type ``date`` (ISO output);
- ``18位``/``6 digits``/``8 characters`` -> an exact length (characters ignoring spaces;
  digits for ``phone`` and ``integer`` fields, without a ``+86`` prefix);
- ``a/b/c`` -> type ``choice`` with those choices (unless the name says otherwise, as in
  ``租金(元/月)``);
- a money unit (``万元``, ``USD``, ``千美元``, ``元/月``) -> type ``money``, and a bare number
  in the text is read in that unit (``120`` in ``合同金额(万元)`` -> 1200000.00 CNY);
- ``%``/``百分比`` -> ``percent``; ``整数``/``integer`` -> ``integer``; ``身份证`` -> ``id_number``.

Without an explicit type, the type comes from the hint as above, then from the name's
ending (keyword tables in Chinese and English below, e.g. ``合同金额`` -> money, ``联系电话``
-> phone, ``签约日期`` -> date, ``员工人数`` -> integer), and is ``text`` otherwise.

Normalized values (``Span.normalized``, set by :mod:`extractor.validation`): ``money`` -> ``{"amount": "2380.00", "currency":
"CNY"}``; ``date`` -> ``"2023-09-12"`` (or the hint's pattern); ``phone`` ->
``"+8613812345678"`` / ``"+86-10-12345678"``; ``id_number`` -> the upper-cased ID;
``integer`` -> ``int``; ``percent`` -> ``"12.5"``; ``choice``/``class`` -> the matching
choice as written in the schema; ``text`` -> ``None`` (the span text is the value), or a
``{part: value}`` dict for a ``姓名+职务`` hint when the text splits into exactly that many
pieces.  See the ``extractor.normalize`` docstring for the details of each format.
A money, integer, percent or date value written only roughly (``约30万元``, ``五十多万``,
``三月中旬``) is normalized to what it names or its lower bound where it can be, and its
span is flagged ``approximate`` (``extractor.validation.is_approximate_value``), never passed off as exact.

Beyond single fields (``extractor.records``):

- a *record type* groups fields whose values belong together, written ``"车辆: 车牌号, 驾驶人,
  车辆类型"`` (or ``{name, fields}`` in a file); the result then holds one :class:`Record` per
  vehicle found.  A record field not listed among the fields is added to them.  A relation
  between two fields (company <-> registered capital) is a record type of those two fields;
- a field with parts (``当前负责人(姓名+职务)``) yields linked part values per value
  (``Span.parts``), read by the model inside the value;
- ``summary`` is a template filled only with extracted values: ``"{申请人} 于 {日期} 反映
  {核心诉求}"``; a part in square brackets is left out when one of its fields has no value
  (``"{甲方}[ 与 {乙方}] 签订合同"``), any other missing value leaves the summary empty.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import yaml

from extractor.errors import SchemaError, quote
from extractor.normalize import parse_money_unit
from extractor.summary import check_template
from extractor.types import DocumentResult
from extractor.validation import text_key, validate

__all__ = [
    "FIELD_TYPES",
    "RULE_KINDS",
    "Field",
    "RecordType",
    "Rule",
    "Schema",
    "SchemaError",
    "as_schema",
    "infer_type",
]

FIELD_TYPES = ("text", "money", "date", "phone", "id_number", "integer", "percent", "choice", "class")
RULE_KINDS = ("not_before", "different", "same", "less_equal", "greater_equal", "required_together")
_NUMERIC_TYPES = ("money", "integer")
_FIELD_KEYS = (
    "name", "hint", "type", "required", "threshold", "multiple", "choices", "parts", "length", "pattern",
    "description",
)  # fmt: skip
_SCHEMA_KEYS = ("name", "fields", "rules", "records", "summary")
# a hint that asks for every value, and names that are entity categories rather than one slot
_MULTI_HINT_RE = re.compile(
    r"多个|多项|多条|列表|清单|全部|所有|各个|\blist\b|\ball\b|multiple|several|every"
)
_ENTITY_CATEGORIES = frozenset(
    """人名 人物 姓名列表 地名 地点 位置 机构名 机构 组织 组织机构 组织名 单位名称列表 时间 日期 产品 品牌 事件 职位名称
    person people persons name names location locations place places organization organizations org orgs
    company companies date dates time times product products brand brands event events entity entities
    group corporation creative-work facility facilities movie movies other geo-loc""".split()
) | {"musicartist", "sportsteam", "tvshow"}  # text_key drops spaces


# --------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------


def _ascii_parens(s: str) -> str:
    return s.replace("（", "(").replace("）", ")")


def _collapse(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _check_balanced(s: str, what: str) -> None:
    depth = 0
    for ch in s:
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth -= 1
            if depth < 0:
                raise SchemaError(f"unbalanced parentheses in {what}: a ')' without '(' in {quote(s)}")
    if depth:
        raise SchemaError(f"unbalanced parentheses in {what}: '(' is never closed in {quote(s)}")


def _split_trailing_hint(s: str) -> tuple[str, str | None]:
    """``"签约日期(YYYY-MM-DD)"`` -> ``("签约日期", "YYYY-MM-DD")``; ASCII parentheses only."""
    if not s.endswith(")"):
        return s, None
    depth = 0
    for i in range(len(s) - 1, -1, -1):
        if s[i] == ")":
            depth += 1
        elif s[i] == "(":
            depth -= 1
            if depth == 0:
                return s[:i].strip(), s[i + 1 : -1].strip() or None
    return s, None  # pragma: no cover - callers check the balance first


def _split_items(spec: str) -> list[str]:
    """Split a field list on top-level ``,`` ``，`` ``、`` and newlines; drop empty items."""
    _check_balanced(spec, "the field list")
    items: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in spec:
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth -= 1
        if depth == 0 and ch in ",，、\n\r":
            items.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    items.append("".join(buf))
    return [item.strip() for item in items if item.strip()]


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {quote(close[0])}?" if close else ""


def _list_item(item: str, position: int) -> list[Field]:
    """The fields of one string item of a field *list* (a schema file's ``fields:``, an API
    list): one field, or a comma list; never empty, never split by a line break."""
    if not item.strip():
        raise SchemaError(f"field {position} of the list is empty: remove it or write the field's name")
    if "\n" in item.strip() or "\r" in item.strip():
        raise SchemaError(
            f"field {position} of the list, {quote(item)}, holds a line break: write one field per list item "
            "(or separate fields with commas)"
        )
    return [Field.parse(part) for part in _split_items(item)]


# Control characters (C0, DEL, C1) and the invisible characters that make a name print as
# something else (line/paragraph separators, bidi overrides): never part of a field.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _check_plain(text: str, what: str, *, allow: str = "") -> None:
    """SchemaError when ``text`` (a name, hint, choice ...) holds a control character."""
    for m in _CONTROL_RE.finditer(text):
        if m[0] not in allow:
            raise SchemaError(
                f"{what} holds the control character U+{ord(m[0]):04X} at position {m.start()}: field names, "
                "hints and choices are plain text (no line breaks, tabs, NUL, ESC or BEL)"
            )


# --------------------------------------------------------------------------------------
# Questions and instructions are not field names
# --------------------------------------------------------------------------------------

# SeqGPT labels are noun phrases ("公司名称", "签约日期", "company name"); a question or an
# instruction ("请告诉我这家公司叫什么名字", "What is the price?") gets empty answers.
_CN_QUESTION = re.compile(
    "^请(?:问|你|您|告诉|给|列出|找出|找|提取|抽取|帮|说明|回答|指出|输出|写出|描述|识别|根据|从|把|将|判断|确认|查找|提供|返回|标出|分析|总结)"
    "|^(?:麻烦|帮我|帮忙|给我|能否|能不能|可否|你能|您能|我想知道|想知道|问一下)"
    "|告诉我|是什么|是谁|是多少|是哪|是几|叫什么|叫啥|有哪些|有多少|多少钱|为什么|为何|怎么|如何|什么|哪些|哪个|哪里|哪儿|哪家|哪位|何时|吗$|[？?]"
)
_EN_QUESTION = re.compile(
    r"^(?:what|which|who|whom|whose|where|when|why|how)\b|^(?:please|kindly)\b"
    r"|^(?:tell|give|show|find) me\b|^(?:can|could|would|will) you\b|^i (?:want|need)\b|\?"
)
_CN_STRIP_PREFIX = re.compile(
    "^(?:请问|请你|请您|请帮我|请帮忙|请|麻烦你|麻烦|帮我|帮忙|给我|告诉我|能否|能不能|可否|你能|您能|我想知道|想知道|问一下"
    "|告诉|给出|列出|找出|提取出|提取|抽取出|抽取|指出|说明|回答|输出|写出|描述|识别出|识别|查找|找到|找|提供|返回|标出|一下"
    "|文中|文档中|合同中|本合同|该合同|这份合同|这份|这家|这个|这位|这些|该|此|本|的)"
)
_QUESTION_ENDINGS = (  # (question ending, the noun it asks for, endings that already say it)
    (
        re.compile("(?:的)?(?:叫什么名字|名字是什么|名字叫什么|叫什么|叫啥|的名字|名字)$"),
        "名称",
        ("名称", "姓名", "名"),
    ),
    (re.compile("(?:是)?(?:什么时候|何时)$"), "时间", ("日期", "时间", "日", "时")),
    (re.compile("(?:在)?(?:哪里|哪儿|在哪)$"), "地点", ("地址", "地点", "位置", "所在地")),
    (re.compile("(?:是)?多少钱$"), "金额", ("金额", "价", "款", "费", "额")),
    (
        re.compile("(?:是什么|是谁|是多少|是哪个|是哪家|是哪位|是哪些|是哪|是几|有哪些|有多少|吗|呢)$"),
        "",
        ("",),
    ),
)
_EN_STRIP = re.compile(
    r"^(?:please|kindly|tell me|give me|show me|find me|(?:can|could|would|will) you (?:tell me|give me|find|list)?"
    r"|(?:what|which|who|where)(?: is| are| was| were|'s)|the|a|an)\s+"
)


def _question(name: str) -> bool:
    key = unicodedata.normalize("NFKC", name).casefold().strip()
    return bool(_CN_QUESTION.search(key) or _EN_QUESTION.search(key))


def _noun_phrase(name: str) -> str | None:
    """A field name for what a question asks (``请告诉我这家公司叫什么名字`` -> ``公司名称``,
    ``What is the company name?`` -> ``company name``), or None when none is clear."""
    t = re.sub("[？?。！!\\s]+$", "", unicodedata.normalize("NFKC", name).strip())
    t = t.replace("?", "").replace("？", "")
    for _ in range(8):  # peel instruction words and demonstratives off the front
        t2 = _CN_STRIP_PREFIX.sub("", t, count=1).strip()
        t2 = _EN_STRIP.sub("", t2.lower() if t2.isascii() else t2, count=1).strip()
        if t2 == t:
            break
        t = t2
    for rx, noun, said in _QUESTION_ENDINGS:
        if rx.search(t):
            stem = rx.sub("", t).strip().rstrip("的")
            t = stem if stem.endswith(said) else stem + noun
            break
    t = t.strip("的 ")
    return t if t and t != name and not _question(t) else None


def _check_noun_phrase(name: str) -> None:
    if not _question(name):
        return
    better = _noun_phrase(name)
    advice = f"try {quote(better)}" if better else "e.g. '公司名称', '签约日期' or 'company name'"
    raise SchemaError(
        f"field {quote(name)} reads as a question or an instruction; a field is a noun phrase naming what to "
        f"extract (the model answers labels, not questions): {advice}"
    )


# --------------------------------------------------------------------------------------
# Schema files: bounded before they are built
# --------------------------------------------------------------------------------------

MAX_SCHEMA_BYTES = 1024 * 1024
MAX_SCHEMA_NODES = 20_000  # values in the file once YAML aliases (&a / *a) are expanded
MAX_SCHEMA_DEPTH = 20  # nesting of lists and mappings


class _TooBig(Exception):
    pass


def _node_budget(root: yaml.Node) -> None:
    """Refuse a YAML document whose aliases expand to more than MAX_SCHEMA_NODES values or
    that nests deeper than MAX_SCHEMA_DEPTH, without expanding it (each node is sized once)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    active: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_SCHEMA_NODES:
                raise _TooBig(
                    f"its YAML aliases (&name / *name) expand to more than {MAX_SCHEMA_NODES:,} values; "
                    "a schema is a short list of fields: write it without nested aliases"
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise _TooBig("a YAML alias refers to a value that contains it (a cycle)")
        if depth > MAX_SCHEMA_DEPTH:
            raise _TooBig(f"it nests lists and mappings more than {MAX_SCHEMA_DEPTH} levels deep")
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` after :func:`_node_budget` checked the composed document."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _TooBig(f"it nests lists and mappings more than {MAX_SCHEMA_DEPTH} levels deep") from None
        if node is None:
            return None
        _node_budget(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _load_json(text: str) -> Any:
    try:
        data = json.loads(text)
    except RecursionError:
        raise _TooBig(f"it nests lists and mappings more than {MAX_SCHEMA_DEPTH} levels deep") from None
    count, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_SCHEMA_NODES:
            raise _TooBig(
                f"it holds more than {MAX_SCHEMA_NODES:,} values; a schema is a short list of fields"
            )
        if depth > MAX_SCHEMA_DEPTH:
            raise _TooBig(f"it nests lists and mappings more than {MAX_SCHEMA_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return data


def quote_text(text: str, limit: int = 600) -> str:
    """A parser's message, cut to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------
# Hints and type inference
# --------------------------------------------------------------------------------------

_DATE_PATTERN_RE = re.compile(r"(?:YYYY|YY|MM|M|DD|D|[-/. 年月日号])+")
_DATE_HINT_WORDS = ("日期", "日期格式", "年月日", "date", "iso", "iso8601", "iso 8601")
_PERCENT_HINT_WORDS = ("%", "百分比", "百分数", "percent", "percentage")
_INTEGER_HINT_WORDS = ("整数", "integer", "int", "whole number")
_LENGTH_RE = re.compile(r"(\d+)\s*-?\s*(位(?:数字|数)?|个?字符?|digits?|chars?|characters?)", re.IGNORECASE)
_CHOICE_SEP_RE = re.compile(r"\s*[/|,，、／｜]\s*")
_PART_SEP_RE = re.compile(r"\s*[+＋]\s*")

# Name endings (Chinese heads are final: 电话费 is money, 费用类型 is not).
_CN_SUFFIXES: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证", "身份证号", "身份证号码", "公民身份号码", "身份号码", "身份证件号码"),
    "phone": (
        "电话", "电话号码", "手机", "手机号", "手机号码", "联系方式", "座机", "传真", "传真号",
        "热线", "移动电话", "固话",
    ),
    "date": ("日期", "生日", "出生年月", "签署日", "签订日", "生效日", "到期日", "截止日", "届满日"),
    "money": (
        "金额", "价款", "费用", "注册资本", "价格", "总价", "单价", "报价", "售价", "造价",
        "中标价", "货款", "租金", "工资", "薪资", "薪酬", "保证金", "押金", "违约金", "罚款",
        "罚金", "赔偿金", "报酬", "资本", "资金", "预算", "款项", "总额", "余额", "欠款",
        "借款", "贷款", "尾款", "首付款", "预付款", "费",
    ),
    "percent": (
        "比例", "百分比", "占比", "比率", "税率", "利率", "费率", "增长率", "折扣率", "收益率",
        "毛利率", "利润率",
    ),
    "integer": ("数量", "人数", "件数", "个数", "次数", "数目", "天数", "页数", "户数", "台数", "套数", "份数"),
}  # fmt: skip
_EN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (t, re.compile(p))
    for t, p in [
        (
            "id_number",
            r"^(?:(?:chinese|national|resident|citizen)\s+)?(?:id|identity)(?:\s+card)?\s+(?:number|no\.?|#)$"
            r"|^(?:id|identity) card$",
        ),
        (
            "phone",
            r"\b(?:phone|telephone|tel|mobile|cellphone|cell|fax|hotline)(?:\s+(?:number|no\.?|#))?$"
            r"|^contact number$",
        ),
        ("date", r"\bdate$|^date of\b|\bdate signed$|\bsigned on$|\bbirthday$|\bdob$"),
        (
            "money",
            r"\b(?:amount|price|fee|fees|capital|cost|costs|salary|wage|wages|rent|deposit|budget)$"
            r"|^(?:amount|price|cost) of\b",
        ),
        ("percent", r"\b(?:percentage|percent|ratio|tax rate|interest rate|discount rate|growth rate)$"),
        ("integer", r"^(?:total\s+)?number of\b|\b(?:count|quantity|qty|headcount)$"),
    ]
]


def _date_pattern(hint: str | None) -> str | None:
    """``"yyyy-mm-dd"`` -> ``"YYYY-MM-DD"``; None when the hint is not a date pattern."""
    if not hint:
        return None
    upper = hint.strip().upper()
    if _DATE_PATTERN_RE.fullmatch(upper) and "YY" in upper and "M" in upper:
        return upper
    return None


def _hint_length(hint: str | None) -> int | None:
    if not hint:
        return None
    m = _LENGTH_RE.fullmatch(unicodedata.normalize("NFKC", hint).strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def _hint_list(hint: str | None, sep: re.Pattern[str]) -> list[str]:
    if not hint:
        return []
    items = [item.strip() for item in sep.split(hint)]
    items = [item for item in items if item]
    return items if len(items) >= 2 else []


def _type_from_name(name: str) -> str | None:
    key = _collapse(unicodedata.normalize("NFKC", name)).casefold()
    best: tuple[int, str] | None = None
    for type_, suffixes in _CN_SUFFIXES.items():
        for suffix in suffixes:
            if key.endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), type_)
    if best:
        return best[1]
    for type_, pattern in _EN_PATTERNS:
        if pattern.search(key):
            return type_
    return None


def infer_type(name: str, hint: str | None = None) -> str:
    """The field type of ``name(hint)`` when none is given; ``text`` when unclear."""
    h = text_key(hint) if hint else ""
    if hint:
        if _date_pattern(hint) or h in _DATE_HINT_WORDS:
            return "date"
        if "身份证" in h:
            return "id_number"
        if h in _PERCENT_HINT_WORDS:
            return "percent"
        if h in _INTEGER_HINT_WORDS:
            return "integer"
    by_name = _type_from_name(name)
    if by_name:
        return by_name
    if hint:
        if _hint_list(hint, _CHOICE_SEP_RE):
            return "choice"
        if parse_money_unit(hint):
            return "money"
    return "text"


def _derived(hint: str | None, type_: str) -> dict[str, Any]:
    """The attributes a hint implies for a field of type ``type_`` (see the module docstring)."""
    return {
        "choices": _hint_list(hint, _CHOICE_SEP_RE) if type_ in ("choice", "class") else [],
        "parts": _hint_list(hint, _PART_SEP_RE) if type_ == "text" else [],
        "length": _hint_length(hint),
        "pattern": _date_pattern(hint) if type_ == "date" else None,
    }


# --------------------------------------------------------------------------------------
# Field
# --------------------------------------------------------------------------------------


@dataclass
class Field:
    """One field to extract (or classify).

    ``type`` left as None is inferred from the name and hint; ``choices``, ``parts``,
    ``length`` and ``pattern`` left empty are derived from the hint.  A ``name`` ending in a
    parenthesized group with no ``hint`` given is split: ``Field("金额(万元)")`` has name
    ``金额`` and hint ``万元``.  Invalid definitions raise :class:`SchemaError`.
    """

    name: str
    hint: str | None = None
    type: str | None = None
    required: bool = False
    threshold: float | None = None
    choices: list[str] = dc_field(default_factory=list)
    parts: list[str] = dc_field(default_factory=list)
    length: int | None = None
    pattern: str | None = None
    description: str | None = None
    multiple: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SchemaError(f"a field name must be a string, got {quote(self.name)}")
        _check_plain(self.name.strip(), f"field {quote(self.name)}")
        if isinstance(self.hint, str):
            _check_plain(self.hint.strip(), f"the hint of field {quote(self.name)}")
        if isinstance(self.description, str):
            _check_plain(self.description, f"the description of field {quote(self.name)}", allow="\n\t\r")
        name = _collapse(_ascii_parens(self.name))
        _check_balanced(name, f"field {quote(name)}")
        if self.hint is None:
            name, hint = _split_trailing_hint(name)
        else:
            if not isinstance(self.hint, str):
                raise SchemaError(f"field {quote(name)}: the hint must be a string, got {quote(self.hint)}")
            hint = _collapse(_ascii_parens(self.hint)) or None
            if hint:
                _check_balanced(hint, f"the hint of field {quote(name)}")
        if not name:
            raise SchemaError(
                f"a field has an empty name (hint {quote(hint)}); write the name before the hint, e.g. '签约日期(YYYY-MM-DD)'"
            )
        self.name, self.hint = name, hint
        _check_noun_phrase(name)

        if self.type is None:
            self.type = infer_type(name, hint)
        elif not isinstance(self.type, str) or self.type.strip().lower() not in FIELD_TYPES:
            raise SchemaError(
                f"field {name!r}: unknown type {self.type!r}{_did_you_mean(str(self.type), FIELD_TYPES)} "
                f"(known types: {', '.join(FIELD_TYPES)})"
            )
        else:
            self.type = self.type.strip().lower()

        if not isinstance(self.required, bool):
            raise SchemaError(f"field {name!r}: 'required' must be true or false, got {self.required!r}")
        if self.threshold is not None:
            if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)):
                raise SchemaError(
                    f"field {name!r}: 'threshold' must be a number in [0, 1], got {self.threshold!r}"
                )
            if not 0.0 <= float(self.threshold) <= 1.0:
                raise SchemaError(f"field {name!r}: threshold {self.threshold} is outside [0, 1]")
            self.threshold = float(self.threshold)
        if self.multiple is not None and not isinstance(self.multiple, bool):
            raise SchemaError(f"field {name!r}: 'multiple' must be true or false, got {self.multiple!r}")

        derived = _derived(hint, self.type)
        self.choices = self._str_list("choices", self.choices) or derived["choices"]
        self.parts = self._str_list("parts", self.parts) or derived["parts"]
        if self.length is None:
            self.length = derived["length"]
        elif isinstance(self.length, bool) or not isinstance(self.length, int) or self.length <= 0:
            raise SchemaError(f"field {name!r}: 'length' must be a positive integer, got {self.length!r}")
        if self.pattern is None:
            self.pattern = derived["pattern"]
        else:
            pattern = _date_pattern(self.pattern) if isinstance(self.pattern, str) else None
            if pattern is None:
                raise SchemaError(
                    f"field {name!r}: pattern {self.pattern!r} is not a date pattern such as 'YYYY-MM-DD'"
                )
            if self.type != "date":
                raise SchemaError(f"field {name!r}: a pattern needs type 'date', not {self.type!r}")
            self.pattern = pattern
        if self.description is not None and not isinstance(self.description, str):
            raise SchemaError(f"field {name!r}: 'description' must be a string")

        if self.type in ("choice", "class") and not self.choices:
            raise SchemaError(
                f"field {name!r} has type {self.type!r} but no choices; give them in the hint "
                f"('{name}(咨询/投诉/求助/建议)') or as 'choices: [...]'"
            )
        keys = [text_key(c) for c in self.choices]
        if len(set(keys)) != len(keys):
            raise SchemaError(f"field {name!r} lists the same choice twice: {self.choices}")

    def _str_list(self, attr: str, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            _check_plain(value.strip(), f"field {quote(self.name)}: its {attr}")
            return _hint_list(value, _CHOICE_SEP_RE if attr == "choices" else _PART_SEP_RE) or [value.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise SchemaError(
                f"field {quote(self.name)}: {quote(attr)} must be a list of non-empty strings, got {quote(value)}"
            )
        for v in value:
            _check_plain(v.strip(), f"field {quote(self.name)}: the {attr[:-1]} {quote(v)}")
        return [v.strip() for v in value]

    # -- construction ---------------------------------------------------------------

    @classmethod
    def parse(cls, spec: str, **attrs: Any) -> Field:
        """One item of a field list: ``"签约日期(YYYY-MM-DD)"``, ``"合同金额*"`` (required)."""
        if not isinstance(spec, str):
            raise SchemaError(f"a field must be written as a string, got {quote(spec)}")
        text = _collapse(_ascii_parens(spec))
        if text.endswith("*"):
            text = text[:-1].rstrip()
            attrs.setdefault("required", True)
        _check_balanced(text, f"field {quote(text)}")
        name, hint = _split_trailing_hint(text)
        if not name:
            raise SchemaError(f"field {quote(spec)} has an empty name; write it as 'name(hint)'")
        return cls(name=name, hint=hint or "", **attrs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
        """A mapping of a schema file: ``{name, hint?, type?, required?, threshold?, choices?, ...}``."""
        unknown = [k for k in data if k not in _FIELD_KEYS]
        if unknown:
            raise SchemaError(
                f"field {quote(data.get('name'))}: unknown key {quote(unknown[0])}{_did_you_mean(str(unknown[0]), _FIELD_KEYS)} "
                f"(allowed: {', '.join(_FIELD_KEYS)})"
            )
        if "name" not in data or not isinstance(data["name"], str):
            raise SchemaError(f"a field mapping needs a string 'name': {quote(dict(data))}")
        attrs = {k: v for k, v in data.items() if v is not None or k == "name"}
        return cls(**attrs)

    def to_dict(self) -> dict[str, Any]:
        """The mapping form for a schema file; keys the hint already implies are left out."""
        d: dict[str, Any] = {"name": self.name}
        if self.hint is not None:
            d["hint"] = self.hint
        elif _split_trailing_hint(self.name)[1] is not None:
            d["hint"] = ""  # keep "a(b)" whole when it is read back
        d["type"] = self.type
        if self.required:
            d["required"] = True
        if self.threshold is not None:
            d["threshold"] = self.threshold
        if self.multiple is not None:
            d["multiple"] = self.multiple
        derived = _derived(self.hint, self.type or "text")
        for attr in ("choices", "parts", "length", "pattern"):
            value = getattr(self, attr)
            if value != derived[attr]:
                d[attr] = list(value) if isinstance(value, list) else value
        if self.description is not None:
            d["description"] = self.description
        return d

    # -- use --------------------------------------------------------------------------

    @property
    def is_multiple(self) -> bool:
        """Whether the field holds several values (a list of people, every date of a text)
        rather than one (甲方, 合同金额, 签约日期): ``multiple`` when given, else from the hint
        (``多个``, ``全部``, ``list``, ``all`` ...) and the name (an entity category such as
        人名/地名/机构名/person/location/date, or an English plural).  A one-value field gets
        its best value, the others are kept as scored alternatives (``extractor.confidence``)."""
        if self.multiple is not None:
            return self.multiple
        if self.type == "class":
            return False
        if self.hint and _MULTI_HINT_RE.search(text_key(self.hint)):
            return True
        key = text_key(self.name)
        if key in _ENTITY_CATEGORIES:
            return True
        return bool(re.fullmatch(r"[a-z][a-z .'-]*[^s]s", key)) and not key.endswith(("ss", "us", "ics"))

    @property
    def prompt_label(self) -> str:
        """The label sent to the model: ``签约日期(YYYY-MM-DD)``, or the bare name."""
        return f"{self.name}({self.hint})" if self.hint else self.name

    @property
    def dayfirst(self) -> bool | None:
        """How the pattern reads ``A/B/YYYY``: True for ``DD/MM/YYYY``, False for ``MM/DD``."""
        if not self.pattern or "D" not in self.pattern:
            return None
        day, month = self.pattern.find("D"), self.pattern.find("M")
        if self.pattern.find("Y") < min(day, month):
            return None
        return day < month


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------

_OPERATOR_RE = re.compile(
    r"\s*(>=|<=|!=|==|=>|->|≥|≤|≠|=)\s*"
    r"|\s+(not_before|different|same|less_equal|greater_equal|required_together|requires)\s+"
)
_SYMBOL = {
    "not_before": ">=", "greater_equal": ">=", "less_equal": "<=", "different": "!=", "same": "==",
    "required_together": "->",
}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """A check between two fields, on the chosen value of each (``extractor.validation.check_rule``).

    ``not_before``: date ``left >= right``; ``less_equal``/``greater_equal``: money or
    integers; ``different``/``same``: any two fields (normalized values, else the text
    without spaces, case-folded); ``required_together``: when ``left`` has a value,
    ``right`` must have one.  Written ``"结束日期 >= 开始日期"``, ``"已付金额 <= 合同金额"``,
    ``"甲方 != 乙方"``, ``"甲方 == 签字方"``, ``"担保人 -> 担保人电话"``.
    """

    kind: str
    left: str
    right: str

    def __str__(self) -> str:
        return f"{self.left} {_SYMBOL.get(self.kind, self.kind)} {self.right}"

    @classmethod
    def parse(cls, text: str, fields: Iterable[Field]) -> Rule:
        """Parse ``"结束日期 >= 开始日期"``; ``>=``/``<=`` pick the kind from the field types."""
        if not isinstance(text, str):
            raise SchemaError(f"a rule must be a string like '结束日期 >= 开始日期', got {quote(text)}")
        fields = list(fields)
        src = unicodedata.normalize("NFKC", text).strip()
        m = _OPERATOR_RE.search(src)
        if not m or not src[: m.start()].strip() or not src[m.end() :].strip():
            raise SchemaError(
                f"cannot read rule {quote(text)}: write 'A >= B' (dates or numbers), 'A <= B', 'A != B', "
                f"'A == B' or 'A -> B' (if A is present B must be)"
            )
        left = _resolve(src[: m.start()], fields, text)
        right = _resolve(src[m.end() :], fields, text)
        op = m.group(1) or m.group(2)
        op = {"≥": ">=", "≤": "<=", "≠": "!=", "=": "==", "=>": "->", "requires": "->"}.get(op, op)
        if op in (">=", "<="):
            types = {left.type, right.type}
            if types == {"date"}:
                return (
                    cls("not_before", left.name, right.name)
                    if op == ">="
                    else cls("not_before", right.name, left.name)
                )
            return cls("greater_equal" if op == ">=" else "less_equal", left.name, right.name)
        kind = {"!=": "different", "==": "same", "->": "required_together"}.get(op, op)
        return cls(kind, left.name, right.name)


def _resolve(ref: str, fields: list[Field], rule: str) -> Field:
    ref = _collapse(_ascii_parens(ref))
    for f in fields:
        if f.name == ref or f.prompt_label == ref:
            return f
    for f in fields:
        if text_key(f.name) == text_key(ref) or text_key(f.prompt_label) == text_key(ref):
            return f
    names = [f.name for f in fields]
    raise SchemaError(
        f"rule {quote(rule)} names an unknown field {quote(ref)}{_did_you_mean(ref, names)} (fields: {', '.join(names)})"
    )


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------


_RECORD_RE = re.compile(r"^\s*([^:：()（）]+?)\s*[:：]\s*(.+)$", re.S)


@dataclass
class RecordType:
    """A group of fields whose values belong together: ``RecordType.parse("车辆: 车牌号, 驾驶人")``.

    ``fields`` are item strings (``"签约日期(YYYY-MM-DD)"``) or names; :class:`Schema` adds the
    ones it does not list yet and keeps the names here.
    """

    name: str
    fields: list[str]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SchemaError(
                f"a record type needs a name, e.g. '车辆: 车牌号, 驾驶人'; got {quote(self.name)}"
            )
        _check_plain(self.name.strip(), f"record type {quote(self.name)}")
        self.name = _collapse(self.name)
        if re.search(r"[/\\:*?\"<>|]", self.name) or self.name.startswith((".", "_")):
            raise SchemaError(
                f"record type {quote(self.name)}: its name names a folder of the output (_records/<name>/); "
                "leave out / \\ : * ? \" < > | and a leading '.' or '_'"
            )
        if isinstance(self.fields, str):
            self.fields = _split_items(self.fields)
        if not isinstance(self.fields, list) or not all(
            isinstance(f, str) and f.strip() for f in self.fields
        ):
            raise SchemaError(f"record type {quote(self.name)}: 'fields' must be a list of field names")
        if len(self.fields) < 2:
            raise SchemaError(
                f"record type {quote(self.name)} has {len(self.fields)} field; a record groups at least two "
                f"(e.g. '{self.name}: 车牌号, 驾驶人')"
            )

    @classmethod
    def parse(cls, spec: str) -> RecordType:
        """``"车辆: 车牌号, 驾驶人, 车辆类型"`` (ASCII or full-width colon)."""
        if not isinstance(spec, str):
            raise SchemaError(f"a record type must be written as 'name: field, field', got {quote(spec)}")
        m = _RECORD_RE.match(spec)
        if not m:
            raise SchemaError(
                f"record type {quote(spec)}: write it as 'name: field, field', e.g. '车辆: 车牌号, 驾驶人'"
            )
        return cls(m.group(1), _split_items(m.group(2)))

    @classmethod
    def from_value(cls, value: Any) -> RecordType:
        if isinstance(value, RecordType):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            if len(value) == 1 and not set(value) & {"name", "fields"}:  # YAML "- 车辆: 车牌号, 驾驶人"
                ((name, fields),) = value.items()
                return cls(str(name), fields)
            if set(value) - {"name", "fields"} or "name" not in value or "fields" not in value:
                raise SchemaError(
                    f"a record type mapping needs exactly 'name' and 'fields': {quote(dict(value))}"
                )
            return cls(value["name"], value["fields"])
        raise SchemaError(
            f"a record type must be 'name: field, field' or {{name, fields}}, got {quote(value)}"
        )

    def __str__(self) -> str:
        return f"{self.name}: {', '.join(self.fields)}"


@dataclass
class Schema:
    """An ordered list of fields, cross-field rules, record types, a summary template and an
    optional name.

    ``fields`` may be given as :class:`Field` objects or item strings, ``rules`` as
    :class:`Rule` objects or rule strings and ``records`` as :class:`RecordType` objects or
    ``"name: field, field"`` strings; everything is checked at construction.
    """

    fields: list[Field]
    rules: list[Rule] = dc_field(default_factory=list)
    name: str | None = None
    records: list[RecordType] = dc_field(default_factory=list)
    summary: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.fields, str):
            raise SchemaError(
                "Schema(fields=...) takes a list; use Schema.parse('甲方, 乙方') for a field list"
            )
        fields = [f if isinstance(f, Field) else Field.parse(f) for f in self.fields or []]
        if not fields and not self.records:
            raise SchemaError("empty field list: give at least one field, e.g. '甲方, 乙方, 合同金额'")
        seen: dict[str, str] = {}
        for f in fields:
            k = text_key(f.name)
            if k in seen:
                raise SchemaError(
                    f"duplicate field name {quote(f.name)} (also {quote(seen[k])}); every field needs its own name"
                )
            seen[k] = f.name
        self.fields = fields
        if self.name is not None and not isinstance(self.name, str):
            raise SchemaError(f"the schema name must be a string, got {quote(self.name)}")
        if self.name is not None:
            _check_plain(self.name, f"the schema name {quote(self.name)}")
        if isinstance(self.records, (str, RecordType, Mapping)):
            self.records = [self.records]
        self.records = [self._check_record(RecordType.from_value(r), seen) for r in self.records or []]
        names = [r.name for r in self.records]
        if len(set(names)) != len(names):
            raise SchemaError(f"two record types share a name: {names}")
        if isinstance(self.rules, (str, Rule)):
            self.rules = [self.rules]
        self.rules = [self._check_rule(r) for r in self.rules or []]
        if self.summary is not None:
            check_template(self.summary, [f.name for f in self.fields])

    def _check_record(self, record: RecordType, seen: dict[str, str]) -> RecordType:
        names: list[str] = []
        for item in record.fields:
            f = Field.parse(item)
            k = text_key(f.name)
            if k not in seen:  # a record field not listed yet joins the fields
                self.fields.append(f)
                seen[k] = f.name
            elif f.hint is not None and f.prompt_label != self.field(seen[k]).prompt_label:
                raise SchemaError(
                    f"record type {quote(record.name)} writes {quote(item)}, but field {quote(seen[k])} is defined as "
                    f"{quote(self.field(seen[k]).prompt_label)}; name the field only"
                )
            field_ = self.field(seen[k])
            if field_.type == "class":
                raise SchemaError(
                    f"record type {quote(record.name)}: {quote(field_.name)} is a classification field; records group "
                    "extracted values"
                )
            if field_.name in names:
                raise SchemaError(f"record type {quote(record.name)} lists {quote(field_.name)} twice")
            names.append(field_.name)
        return RecordType(record.name, names)

    def _check_rule(self, rule: Rule | str) -> Rule:
        if isinstance(rule, str):
            rule = Rule.parse(rule, self.fields)
        if not isinstance(rule, Rule):
            raise SchemaError(f"a rule must be a string like '结束日期 >= 开始日期', got {quote(rule)}")
        if rule.kind not in RULE_KINDS:
            raise SchemaError(
                f"unknown rule kind {quote(rule.kind)}{_did_you_mean(rule.kind, RULE_KINDS)} (known: {', '.join(RULE_KINDS)})"
            )
        names = {f.name: f for f in self.fields}
        for ref in (rule.left, rule.right):
            if ref not in names:
                raise SchemaError(
                    f"rule '{rule}' names an unknown field {quote(ref)}{_did_you_mean(ref, names)} "
                    f"(fields: {', '.join(names)})"
                )
        left, right = names[rule.left], names[rule.right]
        if left.name == right.name:
            raise SchemaError(f"rule '{rule}' compares field {quote(left.name)} with itself")
        if rule.kind == "not_before" and (left.type != "date" or right.type != "date"):
            raise SchemaError(
                f"rule '{rule}' compares dates, but {quote(left.name)} is {left.type} and {quote(right.name)} is {right.type}; "
                f"give both fields type 'date' (e.g. a 'YYYY-MM-DD' hint)"
            )
        if rule.kind in ("less_equal", "greater_equal"):
            numeric = left.type in _NUMERIC_TYPES and right.type in _NUMERIC_TYPES
            if not numeric and not (left.type == right.type == "percent"):
                raise SchemaError(
                    f"rule '{rule}' compares amounts, but {quote(left.name)} is {left.type} and {quote(right.name)} is "
                    f"{right.type}; it needs two money or integer fields (or two dates, for '>=' and '<=')"
                )
        return rule

    # -- constructors -----------------------------------------------------------------

    @classmethod
    def parse(
        cls,
        spec: str,
        *,
        name: str | None = None,
        rules: Iterable[Rule | str] = (),
        records: Iterable[RecordType | str] = (),
        summary: str | None = None,
    ) -> Schema:
        """``Schema.parse("甲方, 乙方, 签约日期(YYYY-MM-DD), 项目阶段(立项/招标)")``; ``records``
        like ``["车辆: 车牌号, 驾驶人"]`` (their fields may be left out of ``spec``)."""
        if not isinstance(spec, str):
            raise SchemaError(f"Schema.parse takes a string field list, got {type(spec).__name__}")
        fields = [Field.parse(item) for item in _split_items(spec)]
        return cls(fields, list(rules), name, list(records), summary)

    @classmethod
    def from_dict(cls, data: Any) -> Schema:
        """``{name?, fields: [...], rules: [...]}``; a bare list is taken as the fields."""
        if isinstance(data, list):
            data = {"fields": data}
        if not isinstance(data, Mapping):
            raise SchemaError(f"a schema must be a mapping with a 'fields' list, got {type(data).__name__}")
        unknown = [k for k in data if k not in _SCHEMA_KEYS]
        if unknown:
            raise SchemaError(
                f"unknown schema key {quote(unknown[0])}{_did_you_mean(str(unknown[0]), _SCHEMA_KEYS)} "
                f"(allowed: {', '.join(_SCHEMA_KEYS)})"
            )
        raw = data.get("fields")
        records_raw = data.get("records") or []
        if isinstance(records_raw, (str, Mapping)):
            records_raw = [records_raw]
        if not isinstance(records_raw, list):
            raise SchemaError(
                f"'records' must be a list like ['车辆: 车牌号, 驾驶人'], got {quote(records_raw)}"
            )
        if raw is None and records_raw:
            raw = []
        if raw is None:
            raise SchemaError("the schema has no 'fields': list the fields to extract under 'fields:'")
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise SchemaError(f"'fields' must be a list, got {type(raw).__name__}")
        fields: list[Field] = []
        for position, item in enumerate(raw, start=1):
            if isinstance(item, str):
                fields.extend(_list_item(item, position))
            elif isinstance(item, Mapping):
                fields.append(Field.from_dict(item))
            else:
                raise SchemaError(f"a field must be a string or a mapping with 'name', got {quote(item)}")
        rules_raw = data.get("rules") or []
        if isinstance(rules_raw, str):
            rules_raw = [rules_raw]
        if not isinstance(rules_raw, list):
            raise SchemaError(
                f"'rules' must be a list of strings like '结束日期 >= 开始日期', got {quote(rules_raw)}"
            )
        rules: list[Rule | str] = []
        for r in rules_raw:
            if isinstance(r, Mapping):
                if set(r) != {"kind", "left", "right"}:
                    raise SchemaError(
                        f"a rule mapping needs exactly 'kind', 'left' and 'right': {quote(dict(r))}"
                    )
                if not all(isinstance(r[k], str) for k in ("kind", "left", "right")):
                    raise SchemaError(
                        f"a rule mapping's 'kind', 'left' and 'right' must be strings: {quote(dict(r))}"
                    )
                rules.append(Rule(r["kind"], r["left"], r["right"]))
            else:
                rules.append(r)
        return cls(fields, rules, data.get("name"), records_raw, data.get("summary"))

    @classmethod
    def from_file(cls, path: str | Path) -> Schema:
        """Load a ``.yaml``/``.yml``/``.json`` schema file."""
        p = Path(path)
        if not p.is_file():
            raise SchemaError(f"schema file not found: {p}" + (" (it is a directory)" if p.is_dir() else ""))
        suffix = p.suffix.lower()
        if suffix not in (".yaml", ".yml", ".json"):
            raise SchemaError(f"schema file {p} must end in .yaml, .yml or .json")
        try:
            size = p.stat().st_size
            if size > MAX_SCHEMA_BYTES:
                raise SchemaError(
                    f"schema file {p} has {size:,} bytes, over the limit of {MAX_SCHEMA_BYTES:,} for a schema"
                )
            text = p.read_text(encoding="utf-8")
            data = _load_json(text) if suffix == ".json" else _load_yaml(text)
        except (OSError, UnicodeDecodeError) as e:
            raise SchemaError(f"cannot read schema file {p}: {e}") from e
        except (ValueError, yaml.YAMLError) as e:
            raise SchemaError(f"cannot parse schema file {p}: {quote_text(str(e))}") from e
        except _TooBig as e:
            raise SchemaError(f"schema file {p} is refused: {e}") from None
        if data is None:
            raise SchemaError(f"schema file {p} is empty; it needs a 'fields' list")
        try:
            return cls.from_dict(data)
        except SchemaError as e:
            raise SchemaError(f"{p}: {e}") from e

    def to_dict(self) -> dict[str, Any]:
        """The file form: ``{name?, fields: [mapping, ...], rules?: ["A >= B", ...], records?:
        ["车辆: 车牌号, 驾驶人"], summary?: "..."}``."""
        d: dict[str, Any] = {}
        if self.name is not None:
            d["name"] = self.name
        d["fields"] = [f.to_dict() for f in self.fields]
        if self.rules:
            d["rules"] = [str(r) for r in self.rules]
        if self.records:
            d["records"] = [str(r) for r in self.records]
        if self.summary is not None:
            d["summary"] = self.summary
        return d

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML or JSON (by extension); ``from_file`` reads it back equal."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".json":
            text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        elif suffix in (".yaml", ".yml"):
            text = yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)
        else:
            raise SchemaError(f"cannot save a schema as {p}: use a .yaml, .yml or .json file name")
        p.write_text(text, encoding="utf-8")
        return p

    # -- access -----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def extraction_fields(self) -> list[Field]:
        return [f for f in self.fields if f.type != "class"]

    @property
    def classification_fields(self) -> list[Field]:
        return [f for f in self.fields if f.type == "class"]

    def is_multiple(self, f: Field) -> bool:
        """Whether ``f`` holds several values in this schema: :attr:`Field.is_multiple`, and
        every field of a record type (one value per record)."""
        if f.multiple is not None:
            return f.multiple
        return f.is_multiple or any(f.name in r.fields for r in self.records)

    def record_fields(self, record: RecordType) -> list[Field]:
        """The fields of one of this schema's record types, in the record type's order."""
        return [self.field(name) for name in record.fields]

    def field(self, name: str) -> Field:
        """The field called ``name`` (or whose prompt label is ``name``); KeyError otherwise."""
        for f in self.fields:
            if f.name == name:
                return f
        for f in self.fields:
            if f.prompt_label == name:
                return f
        names = [f.name for f in self.fields]
        raise KeyError(f"no field {quote(name)}{_did_you_mean(name, names)} (fields: {', '.join(names)})")

    def by_prompt_label(self, label: str) -> Field | None:
        """The field a model output label refers to, tolerant of width, spacing and case
        (``项目阶段(立项，招标)`` matches ``项目阶段(立项,招标)``); None when unknown."""
        key = text_key(_ascii_parens(label))
        for f in self.fields:
            if text_key(f.prompt_label) == key:
                return f
        for f in self.fields:
            if text_key(f.name) == key:
                return f
        return None

    # -- validation -------------------------------------------------------------------

    def validate(self, result: DocumentResult, text: str | None = None) -> DocumentResult:
        """Validate one document's result against this schema, in place
        (:func:`extractor.validation.validate`: normalized values, thresholds, required
        fields, rules, records and the summary); returns ``result``."""
        return validate(self, result, text)


def as_schema(fields: Any) -> Schema:
    """The one place where "the fields" become a :class:`Schema`, whatever form they come in:

    - a ``Schema`` (returned as it is) or a single ``Field``;
    - a comma list string, ``"甲方, 乙方, 合同金额, 签约日期(YYYY-MM-DD)"`` (``Schema.parse``);
    - a list or tuple of field strings (each may itself be a comma list), ``Field`` objects
      and ``{name, hint?, type?, ...}`` mappings: ``["person", "company", "date"]``;
    - a mapping in the schema file's form, ``{"fields": [...], "rules": [...]}``;
    - a ``pathlib.Path`` (or other path object) of a ``.yaml``/``.yml``/``.json`` schema file.

    A plain string is always a field list, never a file name.  Anything else, and an empty
    field list, raises :class:`SchemaError` with an example of what is accepted.
    """
    if isinstance(fields, Schema):
        return fields
    if isinstance(fields, Field):
        return Schema([fields])
    if isinstance(fields, str):
        return Schema.parse(fields)
    if isinstance(fields, Path) or (hasattr(fields, "__fspath__") and not isinstance(fields, bytes)):
        return Schema.from_file(Path(fields))
    if isinstance(fields, Mapping):
        return Schema.from_dict(fields)
    if isinstance(fields, (list, tuple)):
        items: list[Field] = []
        for position, item in enumerate(fields, start=1):
            if isinstance(item, Field):
                items.append(item)
            elif isinstance(item, str):
                items.extend(_list_item(item, position))
            elif isinstance(item, Mapping):
                items.append(Field.from_dict(item))
            else:
                raise SchemaError(
                    f"a field must be a string like '签约日期(YYYY-MM-DD)', a Field or a mapping with 'name', "
                    f"got {quote(item)}"
                )
        return Schema(items)
    raise SchemaError(
        f"fields must be a comma list ('甲方, 乙方, 合同金额'), a list of field strings (['person', 'company']) "
        f"or a Schema, got {type(fields).__name__}"
    )
