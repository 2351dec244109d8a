"""Where a typed field's value can be: candidate spans of a text, per field type.

A ``date`` field must never receive a company name.  For fields whose type can be recognized
(``date``, ``money``, ``phone``, ``id_number``, ``integer``, ``percent``, ``choice``, and any
field whose hint fixes a length, ``18位``), ``candidate_spans(field, text)`` lists every span
of ``text`` the type accepts; the grammar then lets the model write only one of those spans
(``extractor.constraints.Candidates``).  The model still chooses *which* one: recognizers
find dates, the model finds the signing date.  Other fields (free text) return None and stay
unconstrained.

How spans are found: for each type a character class finds *runs* of characters a value of
that type is made of (digits, Chinese numerals, 年月日, currency signs and words, month
names ...); every sub-span of a run that starts and ends on a sensible character is tested
by the type's own acceptance: the same normalizers validation uses
(``extractor.validation.normalize_value``, with no issue), and for dates an exact match of a date pattern (with or without a year,
with an approximate ``中旬`` / ``左右`` allowed; a month or a year alone only with such an edge:
``三月中旬``, ``2023年底``) so that ``签约日期：2024年3月15日`` itself is
never a date value, only ``2024年3月15日``.  Runs are short, so this is a few hundred
normalizer calls per run at most; results are cached per (field signature, text).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .normalize import _DATE_PATTERNS, _ID_RE, _MON

TYPED = ("date", "money", "phone", "id_number", "integer", "percent", "choice")
MAX_SPAN_CHARS = 48

_CN_NUM = "〇○零一二两三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬億廿卅点"
_APPROX_PRE = r"(?:约|大约|大概|近|逾|不超过|不高于|不少于|不低于|(?<!不)超过|将近|about|approximately|approx\.?|around|over|nearly)"
_APPROX_POST = r"(?:左右|前后|上下|多|余|以上|以内|上旬|中旬|下旬|初|底|末)"
# what a count is counted in, written after the number: 2台, 54岁, 1,200人次, 5 units, 4-year-old
_COUNT_UNIT = (
    r"人次|小时|公斤|千克|平方米|[个件台套张箱人次天页户份岁名位辆间本支只条把块双对批瓶包袋盒桶吨株头匹座栋层周年月项期]"
    r"|-?year-old|years?\s+old|(?:units?|pcs|pieces?|seats?|hours?|days?|weeks?|months?|years?|people|persons?"
    r"|items?|sets?|boxes?|copies|times|nights|rooms|vehicles?|cars?|kg|tons?|licen[cs]es?)\b"
)
_RUNS = {
    "date": re.compile(
        rf"(?:[0-9{_CN_NUM}年月日号號\-/.,]|[ \t](?=\S)|\b{_MON}|\b(?:st|nd|rd|th|of)\b|{_APPROX_PRE}|{_APPROX_POST})+",
        re.IGNORECASE,
    ),
    "money": re.compile(
        rf"(?:[0-9{_CN_NUM}元圆块角分整¥$€£()（）]|(?<=\d)[,.'](?=\d)|[ \t](?=\S)|{_APPROX_PRE}|{_APPROX_POST}"
        r"|人民币|美元|欧元|英镑|港元|港币|日元|RMB|CNY|USD|US|EUR|GBP|HKD|JPY|dollars?|yuan|euros?"
        r"|million|billion|thousand|\bk\b|\bm\b|\bbn\b)+",
        re.IGNORECASE,
    ),
    "phone": re.compile(r"(?:[0-9+\-()（）]|[ \t](?=\S)|转|分机|ext\.?|\bx\b|#)+", re.IGNORECASE),
    "integer": re.compile(
        rf"(?:[0-9{_CN_NUM},]|{_APPROX_PRE}|{_APPROX_POST}|(?<=[0-9{_CN_NUM}多余])[ \t]?(?:{_COUNT_UNIT}))+",
        re.IGNORECASE,
    ),
    "percent": re.compile(
        rf"(?:[0-9{_CN_NUM}.%‰成]|百分之|千分之|[ \t](?=\S)|percent|per\s?cent|pct)+", re.I
    ),
    "length": re.compile(r"[A-Za-z0-9\-_/.]+"),  # codes: 合同编号(10位), 邮编(6位)
}
_NEEDS = {  # a value of the type contains one of these
    "date": re.compile(rf"[0-9{_CN_NUM}]"),
    # an amount says so: a currency, a unit, thousands separators or cents (not "第1条", "2024")
    "money": re.compile(
        r"[¥$€£元圆块]|人民币|美元|欧元|英镑|港|日元|RMB|CNY|USD|EUR|GBP|HKD|JPY|dollar|yuan|euro"
        r"|\d[万亿千百]|[万亿]|million|billion|thousand|\dk\b|\d,\d{3}|\d\.\d\d(?!\d)",
        re.I,
    ),
    "phone": re.compile(r"[0-9]{3}"),
    "length": re.compile(r"[0-9]"),  # a code has a digit (not any 10-letter word)
    "integer": re.compile(rf"[0-9{_CN_NUM}]"),
    "percent": re.compile(r"%|‰|成|百分之|千分之|percent|per\s?cent|pct", re.I),
}
_CURRENCY_WORDS = r"人民币|美元|欧元|英镑|港元|港币|日元|RMB|CNY|USD|US\$|EUR|GBP|HKD|JPY"
_STARTS = {  # where a value of the type can begin (not inside 人民币, not at 万)
    "date": re.compile(rf"[0-9〇○零一二三四五六七八九十]|{_MON}|{_APPROX_PRE}", re.I),
    "money": re.compile(
        rf"[0-9¥$€£〇○零一二两三四五六七八九十壹贰貳叁參肆伍陆陸柒捌玖拾]|{_CURRENCY_WORDS}|{_APPROX_PRE}",
        re.I,
    ),
    "integer": re.compile(rf"[0-9〇○零一二两三四五六七八九十壹贰貳叁參肆伍陆陸柒捌玖拾]|{_APPROX_PRE}"),
}
_BAD_EDGE = set(" \t,.，。-/、:：;；") | set("(（")
_BAD_END = set(" \t,，、:：;；-/.") | set("(（")
_YEARLESS = [
    re.compile(
        r"(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(?P<d>\d{1,2}|[一二三四五六七八九十]{1,4})\s*[日号號]"
    ),
    re.compile(rf"{_MON}\s+\d{{1,2}}(?:st|nd|rd|th)?", re.I),
    re.compile(rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}", re.I),
]
_PERIODS = [  # a month or a year alone: a date only with an approximate edge (三月中旬, 2023年底)
    re.compile(r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"),
    re.compile(r"(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*年"),
]
_APPROX_EDGES = re.compile(rf"^(?:{_APPROX_PRE}\s*)?(?P<core>.+?)(?:\s*{_APPROX_POST})?$", re.I | re.S)


def _nfkc_chars(text: str) -> str:
    """NFKC per character where it keeps the length (full-width digits, ￥, （ ...), so offsets
    in the result are offsets in ``text``."""
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


def _is_date(span: str) -> bool:
    """The whole span is one date (a year-month, a day without a year, an approximate
    ``2024年3月中旬``, ``三月中旬`` or ``2023年底``), a real one (``2024-02-30`` and
    ``9131-01-06`` are not)."""
    from .normalize import is_approximate, normalize_date

    m = _APPROX_EDGES.match(span)
    core = m.group("core") if m else span
    for candidate in {span, core}:
        for kind, pattern in _DATE_PATTERNS:
            found = pattern.fullmatch(candidate)
            if found and normalize_date(candidate) is not None:
                year = found.groupdict().get("y") or ""
                if kind != "compact" or year[:2] in ("19", "20"):
                    return True
        if any(p.fullmatch(candidate) for p in _YEARLESS):
            return True
    if core != span and is_approximate(span, "date") and any(p.fullmatch(core) for p in _PERIODS):
        return True  # 三月中旬, 9月初, 2023年底 (never a bare 三月 or 2023年)
    return False


_INTEGER = re.compile(  # one number, its approximate edges and at most one counting unit
    rf"(?:{_APPROX_PRE}\s*)?[0-9{_CN_NUM}][0-9{_CN_NUM},.]*(?:\s*{_APPROX_POST})?"
    rf"(?:[ \t]?(?:{_COUNT_UNIT}))?(?:\s*{_APPROX_POST})?",
    re.IGNORECASE,
)


def _accepts(field, kind: str, span: str) -> bool:
    if kind == "date":
        return _is_date(span)
    if kind == "integer" and not _INTEGER.fullmatch(span):
        return False  # 5台2 is not one count
    if kind in _NEEDS and not _NEEDS[kind].search(span):
        return False
    from .validation import normalize_value

    value, issues = normalize_value(field, span)
    if issues:
        return False
    return kind == "length" or value is not None


def _signature(field) -> tuple:
    return (
        field.type,
        tuple(field.choices or ()),
        field.length,
        getattr(field, "pattern", None),
        getattr(field, "hint", None),
    )


def candidate_spans(field, text: str) -> list[tuple[int, int]] | None:
    """Character spans of ``text`` a value of ``field`` may be, or None when the field takes any
    span (free text)."""
    if field.type not in TYPED and not field.length:
        return None
    if field.type in ("class",):
        return None
    return list(_cached(_signature(field), text, field))


@lru_cache(maxsize=512)
def _cached_spans(signature: tuple, text: str, field_ref) -> tuple[tuple[int, int], ...]:
    field = field_ref.field
    if field.type == "choice":
        return tuple(_choice_spans(field, text))
    if field.type == "id_number":
        norm = _nfkc_chars(text)
        return tuple(m.span() for m in _ID_RE.finditer(norm) if _accepts(field, "id_number", m.group()))
    kind = field.type if field.type in _RUNS else "length"
    return tuple(_run_spans(field, kind, text))


class _Ref:
    """Hashable wrapper: the cache keys on the field's signature, not on the object."""

    def __init__(self, field, signature):
        self.field, self.signature = field, signature

    def __hash__(self) -> int:
        return hash(self.signature)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Ref) and other.signature == self.signature


def _cached(signature: tuple, text: str, field) -> tuple[tuple[int, int], ...]:
    return _cached_spans(signature, text, _Ref(field, signature))


def _cls(ch: str) -> str | None:
    if ch.isdigit() or ch in _CN_NUM:
        return "9"
    if ch.isascii() and ch.isalpha():
        return "a"
    return None


def _run_spans(field, kind: str, text: str):
    """Sub-spans of the type's runs that the type accepts, never cutting a number or a Latin
    word in two (``2024-1`` out of ``2024-11``, ``corporatio``)."""
    norm = _nfkc_chars(text)
    n = len(norm)
    seen: set[tuple[int, int]] = set()
    for run in _RUNS[kind].finditer(norm):
        a, b = run.span()
        for s in range(a, b):
            if (norm[s] in _BAD_EDGE and not (kind == "phone" and norm[s] in "(（")) or norm[s].isspace():
                continue  # a phone may open with its area code: (025) 4804 1936
            if s > 0 and _cls(norm[s]) is not None and _cls(norm[s - 1]) == _cls(norm[s]):
                continue
            if kind in _STARTS and not _STARTS[kind].match(norm, s):
                continue
            if s > 1 and norm[s].isdigit() and norm[s - 1] in ",.'" and norm[s - 2].isdigit():
                continue  # inside 1,200,000.00
            for e in range(min(b, s + MAX_SPAN_CHARS), s, -1):
                if norm[e - 1] in _BAD_END or norm[e - 1].isspace():
                    continue
                if e < n and _cls(norm[e - 1]) is not None and _cls(norm[e]) == _cls(norm[e - 1]):
                    continue
                if e + 1 < n and norm[e - 1].isdigit() and norm[e] in ",.'" and norm[e + 1].isdigit():
                    continue  # 1,200 of 1,200,000
                if (s, e) in seen:
                    continue
                if _balanced(norm[s:e]) and _accepts(field, kind, norm[s:e]):
                    seen.add((s, e))
                    yield s, e


def _balanced(span: str) -> bool:
    return span.count("(") + span.count("（") == span.count(")") + span.count("）")


def _choice_spans(field, text: str):
    for choice in field.choices:
        if choice.strip():
            for m in re.finditer(re.escape(choice.strip()), text, re.IGNORECASE):
                yield m.span()
