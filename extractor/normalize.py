"""Value normalizers: pure functions that turn an extracted span into a canonical value.

Every normalizer takes the verbatim text of a span and returns the canonical value, or
``None`` when the text does not hold a value of that kind.  They never raise on bad input,
never use floats for amounts, and import nothing beyond the standard library, so the engine,
the schema validator and the pipeline can all call them cheaply.

Normalized formats (the contract with the Parquet writer and the warehouse):

``normalize_money`` -> ``{"amount": "2380.00", "currency": "CNY"}``
    ``amount`` is a plain decimal string (never an exponent), computed with
    :class:`decimal.Decimal`; it has exactly two decimals unless the source is more precise
    (``$0.125`` -> ``"0.125"``).  Negative amounts keep their sign.  ``currency`` is an
    ISO 4217 code, or ``None`` when the text names none (``"5万"``).  ``¥``/``￥``, ``RMB``,
    ``人民币``, ``yuan``, ``块`` and a bare ``元``/``圆`` mean CNY; a bare ``$`` means USD.
    Chinese multipliers (``万``, ``亿``, ``千`` ...), English ones (``k``, ``M``, ``million``,
    ``bn`` ...), Chinese numerals incl. the capital forms of 大写金额 with ``角``/``分``,
    and European separators (``1.234,56``) are understood.  Separators: when a number holds
    both ``.`` and ``,`` the last one is the decimal mark; a single ``,`` followed by exactly
    three digits groups thousands, any other single ``,`` is a decimal comma; a single ``.``
    is always a decimal point, several ``.`` group thousands.
``normalize_date`` -> ``"YYYY-MM-DD"`` (ISO 8601), or ``"YYYY-MM"`` when the text has no day
    (``2023年9月``, ``September 2023``).  Numeric ``A/B/YYYY`` dates are ambiguous: if
    ``A > 12`` it is the day (``D/M/YYYY``), otherwise the text is read month-first
    (``M/D/YYYY``, US style) -- the same rule for ``/``, ``-`` and ``.``; pass
    ``dayfirst=True``/``False`` to choose the reading when both are possible.  Impossible
    dates (``2023-02-30``) give ``None``; when a text holds several dates the first is used.
``normalize_phone`` -> E.164 without separators for mobiles and foreign numbers
    (``+8613812345678``, ``+14155550132``); ``+86-<area>-<local>`` for Chinese landlines
    (``+86-10-12345678``, ``+86-571-87654321``) with an extension appended RFC 3966 style
    (``+86-571-87654321;ext=8001``); ``400-820-8820`` for 400/800 hotlines; short service
    numbers as bare digits (``12345``, ``95588``); a 7-8 digit local number written without
    area code stays bare digits (``87654321``).  Normalized values normalize to themselves.
``validate_id_number`` -> the 18-character resident ID upper-cased (``...002X``), or None
    when the ISO 7064 MOD 11-2 check digit or the birth date is wrong (15-digit IDs of the
    first generation are not accepted).
``normalize_integer`` -> ``int`` (``1,200`` -> 1200, ``3万`` -> 30000, ``十二`` -> 12);
    ``None`` when the value is not whole (``3.5``).
``normalize_percent`` -> the percentage as a plain decimal string (``12.5%`` -> ``"12.5"``,
    ``百分之十二点五`` -> ``"12.5"``, ``三成`` -> ``"30"``, ``5‰`` -> ``"0.5"``); a bare number
    without a percent marker gives ``None``.

Approximate values (``is_approximate``): a text that does not state an exact value -- a
hedge (``约30万元``, ``大概五十万左右``, ``about $2M``, ``~500``), a vague numeral (``五十多万``,
``30余万元``, ``十来万``, ``几十万``, ``上百万``), a bound (``30万元以上``, ``不超过5万``, ``at least
100``) or a vague part of a date (``三月中旬``, ``9月初``, ``2023年底``, ``early March 2023``,
``Q3``) -- is still normalized where the text allows, to the value it names or its lower
bound (``五十多万`` -> 500000.00, ``上百万`` -> 1000000.00, ``2023年3月中旬`` -> ``2023-03``), and
``None`` where it names none (``几十万``; ``三月中旬`` has no year).  The normalizers never say
whether a value is approximate: callers ask :func:`is_approximate` and carry the flag next
to the value (``Span.approximate``, the Parquet ``<f>_approximate`` column), so an
approximate amount is never passed off as an exact one.

``NORMALIZERS`` maps a field type name (see :mod:`extractor.schema`) to its normalizer.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation, localcontext
from functools import wraps
from typing import Any, TypeVar

__all__ = [
    "NORMALIZERS",
    "id_check_digit",
    "is_approximate",
    "normalize_date",
    "normalize_integer",
    "normalize_money",
    "normalize_percent",
    "normalize_phone",
    "parse_money_unit",
    "parse_number",
    "validate_id_number",
]

# --------------------------------------------------------------------------------------
# Numbers: Arabic (with any separator convention), Chinese and mixed ("1万2千", "12.5万").
# --------------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
    "三": 3, "叁": 3, "參": 3, "叄": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_CN_UNIT_CHARS = "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)
_ARABIC_RE = re.compile(r"\d+(?:[.,']\d+)*")
_PLAIN_DECIMAL_RE = re.compile(r"\d+(?:\.\d+)?")


_F = TypeVar("_F", bound=Callable[..., Any])
_MAX_DIGITS = 40  # longer digit runs are not amounts; keeps every result exact at prec 100


def _exact(fn: _F) -> _F:
    """Run ``fn`` with a Decimal precision that no accepted number can exceed (no rounding)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with localcontext() as ctx:
            ctx.prec = 100
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _nfkc(s: str) -> str:
    """Full-width digits, letters, ``￥``, ``＋``, ``（`` ... become their ASCII forms."""
    return unicodedata.normalize("NFKC", s)


def _parse_arabic(token: str) -> Decimal | None:
    """Parse ``1,234.56``, ``1.234,56``, ``1'234``, ``12,5`` (see the module docstring)."""
    tok = token.replace("'", "")
    group: str | None
    dec: str | None
    if "," in tok and "." in tok:
        dec, group = (",", ".") if tok.rfind(",") > tok.rfind(".") else (".", ",")
    elif "," in tok:
        if tok.count(",") > 1 or re.fullmatch(r"\d+,\d{3}", tok):
            dec, group = None, ","
        else:
            dec, group = ",", None
    elif tok.count(".") > 1:
        dec, group = None, "."
    else:
        dec, group = ".", None
    if group:
        tok = tok.replace(group, "")
    if dec and dec != ".":
        tok = tok.replace(dec, ".")
    if not _PLAIN_DECIMAL_RE.fullmatch(tok) or len(tok) > _MAX_DIGITS:
        return None
    try:
        return Decimal(tok)
    except InvalidOperation:  # pragma: no cover - the regex guarantees a valid literal
        return None


class _Tok:
    __slots__ = ("arabic", "decimal", "kind", "value")

    def __init__(self, kind: str, value: Decimal, arabic: bool = False) -> None:
        self.kind = kind  # "num" or "unit"
        self.value = value
        self.arabic = arabic
        self.decimal = False  # a num token that got a fractional part through 点


def _numeral_runs(s: str) -> list[tuple[int, int, list[_Tok]]]:
    """Split ``s`` into maximal runs of numeral tokens: ``[(start, end, tokens), ...]``.

    A run holds Arabic numbers, Chinese digits, Chinese units and ``点`` decimals; runs
    without any number (a lone ``万``) are dropped, except those starting with 十 (十二).
    """
    runs: list[tuple[int, int, list[_Tok]]] = []
    toks: list[_Tok] = []
    start = 0
    i = 0
    n = len(s)

    def close(end: int) -> None:
        if toks and (any(t.kind == "num" for t in toks) or toks[0].value == 10):  # 十二, 拾元
            runs.append((start, end, list(toks)))
        toks.clear()

    while i < n:
        c = s[i]
        m = _ARABIC_RE.match(s, i) if c.isascii() and c.isdigit() else None
        if not toks:
            start = i
        if m:
            value = _parse_arabic(m.group())
            if value is None:
                close(i)
                i = m.end()
                continue
            toks.append(_Tok("num", value, arabic=True))
            i = m.end()
        elif c in _CN_DIGITS:
            toks.append(_Tok("num", Decimal(_CN_DIGITS[c])))
            i += 1
        elif c in _CN_SMALL_UNITS or c in _CN_BIG_UNITS:
            toks.append(_Tok("unit", Decimal(_CN_SMALL_UNITS.get(c) or _CN_BIG_UNITS[c])))
            i += 1
        elif c == "点" and toks and i + 1 < n and (s[i + 1] in _CN_DIGITS or s[i + 1].isdigit()):
            j = i + 1
            frac = ""
            while j < n and (s[j] in _CN_DIGITS or (s[j].isascii() and s[j].isdigit())):
                frac += str(_CN_DIGITS[s[j]]) if s[j] in _CN_DIGITS else s[j]
                j += 1
            if toks[-1].kind == "unit":  # 一百点五
                toks.append(_Tok("num", Decimal(0)))
            last = toks[-1]
            if last.decimal or last.value != last.value.to_integral_value():
                close(i)
                i = j
                continue
            last.value = last.value + Decimal("0." + frac)
            last.decimal = True
            i = j
        else:
            if toks:
                close(i)
            i += 1
    if toks:
        close(n)
    return runs


def _evaluate(tokens: list[_Tok]) -> Decimal | None:
    """Value of one run of numeral tokens, or None when the run is not a well-formed number."""
    if not tokens or not (any(t.kind == "num" for t in tokens) or tokens[0].value == 10):
        return None
    if all(t.kind == "num" for t in tokens):
        if len(tokens) == 1:
            return tokens[0].value
        # Positional Chinese digits: 二〇二三 -> 2023.
        if any(t.arabic or t.decimal for t in tokens):
            return None
        return Decimal("".join(str(int(t.value)) for t in tokens))

    total = Decimal(0)
    section = Decimal(0)
    number: Decimal | None = None
    number_tok: _Tok | None = None
    last_unit: Decimal | None = None
    prev: _Tok | None = None
    zero_seen = False
    for tok in tokens:
        if tok.kind == "num":
            if not tok.arabic and not tok.decimal and tok.value == 0:
                zero_seen = True  # 一千零五: 零 only marks a gap
                prev = tok
                continue
            if number is not None:
                return None  # two numbers in a row: 三五万
            number, number_tok = tok.value, tok
        else:
            unit = tok.value
            if prev is not None and prev.kind == "unit" and number is None and unit < 10**4:
                return None  # 百十: a small unit right after another unit
            if unit < 10**4:
                section += (number if number is not None else Decimal(1)) * unit
            elif unit == 10**4:
                base = section + (number or 0)
                total += (base if base else Decimal(1)) * unit
                section = Decimal(0)
            else:  # 亿
                base = total + section + (number or 0)
                total = (base if base else Decimal(1)) * unit
                section = Decimal(0)
            number, number_tok, last_unit, zero_seen = None, None, unit, False
        prev = tok
    if number is not None:
        colloquial = (
            last_unit is not None
            and not zero_seen
            and number_tok is not None
            and not number_tok.arabic
            and not number_tok.decimal
            and tokens[-1] is number_tok
            and tokens[-2].kind == "unit"
        )
        if colloquial and last_unit is not None:  # 一万五 = 15000, 三百五 = 350
            number = number * last_unit / 10
        total += section + number
    else:
        total += section
    return total


@_exact
def parse_number(s: str) -> Decimal | None:
    """Parse a text that is exactly one number: ``1,234.5``, ``二〇二三``, ``一万五``, ``12.5万``."""
    text = _nfkc(s).strip()
    runs = _numeral_runs(text)
    if len(runs) != 1 or runs[0][0] != 0 or runs[0][1] != len(text):
        return None
    return _evaluate(runs[0][2])


def _plain(d: Decimal) -> str:
    """A Decimal as a plain string without exponent and without trailing zeros."""
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "0") else s


def _join_spaced_units(s: str) -> str:
    """``12.5 万`` -> ``12.5万`` (PDF text often puts a space there)."""
    return re.sub(rf"(?<=\d)\s+(?=[{_CN_UNIT_CHARS}])", "", s)


_CN_NUMERAL = "〇○零一二三四五六七八九十百千两壹贰貳叁參叄肆伍陆陸柒捌玖拾佰仟"
# 多/余/来/几 between a number and its unit: 五十多万, 30余万元, 十来万, 十几万 (a lower bound)
_VAGUE_INFIX_RE = re.compile(rf"(?<=[\d{_CN_NUMERAL}])\s*[多余来几](?=\s*[{_CN_UNIT_CHARS}元圆块])")
# a unit right after a hedge stands for one of it: 上百万, 近千, 逾亿 -> 上一百万 ...
_HEDGED_UNIT_RE = re.compile(r"(?<=[上近逾超约])(?=[十百千万亿萬億])")


# 几十万, 数百万: no number to stand for
_VAGUE_MAGNITUDE_RE = re.compile(rf"(?<![\d{_CN_NUMERAL}])[几数](?=[十百千万亿萬億])")


def _defuzz(s: str) -> str | None:
    """Vague numerals rewritten to the number they are at least: ``五十多万`` -> ``五十万``,
    ``上百万`` -> ``上一百万``; None for a magnitude without a number (``几十万``, ``数百万``).
    Exact texts come back unchanged."""
    if _VAGUE_MAGNITUDE_RE.search(s):
        return None
    return _HEDGED_UNIT_RE.sub("一", _VAGUE_INFIX_RE.sub("", s))


def _negative_before(s: str, start: int) -> bool:
    prefix = s[:start].rstrip()
    return bool(re.search(r"(?:^|[\s(:：])[-−]\s*[^\d\s]{0,4}\s*$", " " + prefix)) or prefix.endswith("负")


# --------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------


def _code(code: str) -> str:
    return rf"(?<![A-Za-z]){code}(?![A-Za-z])"


_CURRENCIES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), c)
    for p, c in [
        (rf"HK\$|{_code('HKD')}|港元|港币|港幣", "HKD"),
        (rf"NT\$|{_code('TWD')}|{_code('NTD')}|新台币|新台幣", "TWD"),
        (rf"(?<![A-Za-z])S\$|{_code('SGD')}|新加坡元|新元", "SGD"),
        (rf"(?<![A-Za-z])A\$|{_code('AUD')}|澳元|澳币", "AUD"),
        (rf"(?<![A-Za-z])C\$|{_code('CAD')}|加元|加币", "CAD"),
        (rf"JP¥|{_code('JPY')}|日元|日圆|円", "JPY"),
        (rf"{_code('KRW')}|韩元|₩", "KRW"),
        (rf"{_code('CHF')}|瑞士法郎", "CHF"),
        (rf"{_code('GBP')}|英镑|£|\bpounds?\b|\bsterling\b", "GBP"),
        (rf"{_code('EUR')}|欧元|€|\beuros?\b", "EUR"),
        (rf"US\$|{_code('USD')}|美元|美金|\$|\bdollars?\b|\bbucks\b", "USD"),
        (rf"{_code('RMB')}|{_code('CNY')}|{_code('CNH')}|人民币|¥|\byuan\b|\brmb\b|元|圆|块", "CNY"),
    ]
]

_EN_MULTIPLIER_RE = re.compile(
    r"\s*(thousand|million|billion|trillion|mln|mio|mm|mn|bn|tn|k|m|b)(?![A-Za-z])\.?", re.IGNORECASE
)
_EN_MULTIPLIERS = {
    "thousand": 10**3, "k": 10**3, "million": 10**6, "mln": 10**6, "mio": 10**6, "mm": 10**6,
    "mn": 10**6, "m": 10**6, "billion": 10**9, "bn": 10**9, "b": 10**9, "trillion": 10**12,
    "tn": 10**12,
}  # fmt: skip
_YUAN_RE = re.compile(r"\s*[元圆块]")


def _currency(s: str) -> str | None:
    for pattern, code in _CURRENCIES:
        if pattern.search(s):
            return code
    return None


def _pick_money_run(s: str, runs: list[tuple[int, int, list[_Tok]]]) -> int | None:
    """Index of the run holding the amount: the first Arabic one, else the one before 元."""
    for k, (_, _, toks) in enumerate(runs):
        if any(t.arabic for t in toks):
            return k
    for k, (_, end, _) in enumerate(runs):
        if _YUAN_RE.match(s, end):
            return k
    best = None
    for k, (start, end, _) in enumerate(runs):
        if best is None or end - start > runs[best][1] - runs[best][0]:
            best = k
    return best


def _format_amount(d: Decimal) -> str:
    if d.as_tuple().exponent >= -2:  # type: ignore[operator]
        return format(d.quantize(Decimal("0.01")), "f")
    return format(d.normalize(), "f")


_PER_UNIT_RE = re.compile(r"\s*(?:/|每|per\b)\s*\S+$", re.IGNORECASE)
_BARE_NUMBER_RE = re.compile(r"[-+−]?\d[\d,.' ]*")


@_exact
def parse_money_unit(s: str) -> tuple[Decimal, str | None] | None:
    """The unit of a money hint: ``"万元"`` -> ``(10000, "CNY")``, ``"USD"`` -> ``(1, "USD")``,
    ``"千美元"`` -> ``(1000, "USD")``, ``"million"`` -> ``(1000000, None)``; None for anything
    that is not only a currency and/or a multiplier (``"立项/招标"``, ``"18位"``).  A trailing
    rate such as ``/月`` or ``每年`` is allowed and ignored (``"元/月"`` -> ``(1, "CNY")``).
    """
    if not isinstance(s, str):
        return None
    text = _PER_UNIT_RE.sub("", _nfkc(s).strip())
    if not text or re.search(r"\d", text):
        return None
    currency = _currency(text)
    rest = text
    for pattern, _ in _CURRENCIES:
        rest = pattern.sub(" ", rest)
    multiplier = Decimal(1)
    cn_units = "".join(c for c in rest if c in _CN_UNIT_CHARS)
    if cn_units:
        value = parse_number("一" + cn_units)
        if value is None:
            return None
        multiplier = value
    rest = "".join(c for c in rest if c not in _CN_UNIT_CHARS).strip()
    if rest:
        m = _EN_MULTIPLIER_RE.fullmatch(rest)
        if not m:
            return None
        multiplier *= _EN_MULTIPLIERS[m.group(1).lower()]
    if currency is None and multiplier == 1:
        return None
    return multiplier, currency


@_exact
def normalize_money(s: str, *, unit: str | None = None) -> dict[str, Any] | None:
    """``"¥2,380.00元"`` -> ``{"amount": "2380.00", "currency": "CNY"}``; None without a number.

    ``unit`` is the unit a field's hint gives (``合同金额(万元)``): a bare number (``"120"``)
    is read in that unit (1200000.00 CNY); a value with its own unit keeps it, and only takes
    the hint's currency when it names none.
    """
    value = _normalize_money(s)
    parsed_unit = parse_money_unit(unit) if unit else None
    if value is None or parsed_unit is None:
        return value
    multiplier, currency = parsed_unit
    if _BARE_NUMBER_RE.fullmatch(_nfkc(s).strip()):
        value["amount"] = _format_amount(Decimal(value["amount"]) * multiplier)
    if value["currency"] is None:
        value["currency"] = currency
    return value


def _normalize_money(s: str) -> dict[str, Any] | None:
    if not isinstance(s, str):
        return None
    text = _defuzz(_join_spaced_units(_nfkc(s).strip()))
    if text is None:
        return None
    runs = _numeral_runs(text)
    k = _pick_money_run(text, runs)
    if k is None:
        return None
    start, end, toks = runs[k]
    amount = _evaluate(toks)
    if amount is None:
        return None
    m = _EN_MULTIPLIER_RE.match(text, end)
    if m and not any(t.kind == "unit" for t in toks):
        amount *= _EN_MULTIPLIERS[m.group(1).lower()]
    tail = text[end:].lstrip()
    if tail.startswith("角"):  # 陆角 without 元
        amount /= 10
    elif tail.startswith("分"):
        amount /= 100
    # 角 / 分 after the yuan amount: 壹万元陆角柒分, 5元5角.
    for _, sub_end, sub_toks in runs[k + 1 :]:
        value = _evaluate(sub_toks)
        rest = text[sub_end:].lstrip()
        if value is None or value >= 10 or value != value.to_integral_value():
            break
        if rest.startswith("角"):
            amount += value / 10
        elif rest.startswith("分"):
            amount += value / 100
        else:
            break
    if _negative_before(text, start):
        amount = -amount
    return {"amount": _format_amount(amount), "currency": _currency(text)}


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------

_CN_D = "〇○零一二三四五六七八九"
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MON = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "cn",
        re.compile(
            rf"(?P<y>\d{{4}}|[{_CN_D}]{{4}})\s*年\s*(?P<m>\d{{1,2}}|[一二三四五六七八九十]{{1,3}})\s*月"
            rf"(?:\s*(?P<d>\d{{1,2}}|[一二三四五六七八九十]{{1,4}})\s*[日号號])?"
        ),
    ),
    ("ymd", re.compile(r"(?<!\d)(?P<y>\d{4})\s*([-/.])\s*(?P<m>\d{1,2})\s*\2\s*(?P<d>\d{1,2})(?!\d)")),
    ("abY", re.compile(r"(?<!\d)(?P<a>\d{1,2})([-/.])(?P<b>\d{1,2})\2(?P<y>\d{4})(?!\d)")),
    ("compact", re.compile(r"(?<!\d)(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?!\d)")),
    ("mdy", re.compile(rf"\b{_MON}\s+(?P<d>\d{{1,2}}){_ORD}\s*,?\s*(?P<y>\d{{4}})(?!\d)", re.I)),
    (
        "dmy",
        re.compile(
            rf"(?<!\d)(?P<d>\d{{1,2}}){_ORD}[\s\-/]*(?:of\s+)?{_MON},?[\s\-/]*(?P<y>\d{{4}})(?!\d)", re.I
        ),
    ),
    ("ym", re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})(?!\d|\s*[-/.]\s*\d)")),
    ("my", re.compile(rf"\b{_MON},?\s+(?P<y>\d{{4}})(?!\d)", re.I)),
]


def _int_of(s: str) -> int | None:
    value = parse_number(s)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def _iso(y: int | None, m: int | None, d: int | None) -> str | None:
    if y is None or m is None:
        return None
    if d is None:
        return f"{y:04d}-{m:02d}" if 1 <= m <= 12 and y >= 1 else None
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _date_from_match(kind: str, m: re.Match[str], dayfirst: bool | None) -> str | None:
    g = m.groupdict()
    y = _int_of(g["y"])
    if kind == "abY":
        a, b = int(g["a"]), int(g["b"])
        if dayfirst is None:
            day_first = a > 12
        else:
            day_first = dayfirst
            if day_first and b > 12 >= a:
                day_first = False
            elif not day_first and a > 12 >= b:
                day_first = True
        d, mo = (a, b) if day_first else (b, a)
        return _iso(y, mo, d)
    if g.get("mon"):
        mo = _MONTHS[g["mon"].lower()[:3]]
    else:
        mo = _int_of(g["m"])
    day = g.get("d")
    return _iso(y, mo, _int_of(day) if day else None)


@_exact
def normalize_date(s: str, *, dayfirst: bool | None = None) -> str | None:
    """``"2023年9月12日"`` -> ``"2023-09-12"``; ``"2023年9月"`` -> ``"2023-09"``; None if invalid."""
    if not isinstance(s, str):
        return None
    text = _nfkc(s)
    best: tuple[int, int, re.Match[str], str] | None = None
    for order, (kind, pattern) in enumerate(_DATE_PATTERNS):
        m = pattern.search(text)
        if m and (best is None or (m.start(), order) < (best[0], best[1])):
            best = (m.start(), order, m, kind)
    if best is None:
        return None
    return _date_from_match(best[3], best[2], dayfirst)


# --------------------------------------------------------------------------------------
# Phones
# --------------------------------------------------------------------------------------

_EXT_RE = re.compile(r"(?:;\s*ext=|\bext(?:ension)?\.?|(?<=\d)\s*x|转|分机|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_PHONE_START_RE = re.compile(r"\(\s*\+|\+\s*\d|\d")
_PHONE_CHARS_RE = re.compile(r"[\d\s\-().+]*")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_HOTLINE_RE = re.compile(r"[48]00\d{7}")
_SERVICE_RE = re.compile(r"1\d{2}|1\d{4}|9[56]\d{3}")
_AREA_RE = re.compile(r"10|2\d|[3-9]\d\d")
_LOCAL_RE = re.compile(r"[1-9]\d{6,7}")  # after an area code
_BARE_LOCAL_RE = re.compile(r"[2-9]\d{6,7}")  # without one: never starts with 0/1


def _landline(groups: list[str], ext: str | None) -> str | None:
    """``groups`` of digits without country code and trunk 0: ``["571", "87654321", "8001"]``."""
    digits = "".join(groups)
    if len(groups) >= 2 and _AREA_RE.fullmatch(groups[0]):
        area, rest = groups[0], groups[1:]
        local = ""
        while rest and len(local) < 7:
            local += rest.pop(0)
        if len(rest) == 1 and ext is None and 1 <= len(rest[0]) <= 6:
            ext = rest.pop(0)
        if rest:
            return None
    else:
        area_len = 2 if digits[:1] in ("1", "2") else 3
        area, local = digits[:area_len], digits[area_len:]
    if not _AREA_RE.fullmatch(area) or not _LOCAL_RE.fullmatch(local):
        return None
    return f"+86-{area}-{local}" + (f";ext={ext}" if ext else "")


@_exact
def normalize_phone(s: str) -> str | None:
    """``"+86 138-1234-5678"`` -> ``"+8613812345678"``; ``"010-12345678"`` -> ``"+86-10-12345678"``."""
    if not isinstance(s, str):
        return None
    text = _nfkc(s).strip()
    ext = None
    m = _EXT_RE.search(text)
    if m:
        ext = m.group(1)
        text = text[: m.start()].rstrip()
    m = _PHONE_START_RE.search(text)
    if not m:
        return None
    cand = _PHONE_CHARS_RE.match(text, m.start()).group()  # type: ignore[union-attr]
    if re.search(r"\d", text[m.start() + len(cand) :]):
        # More digits after a letter or another mark: "2023年9月", "138xxxx1234".
        if not re.fullmatch(r"[\s/、,;，；]+.*", text[m.start() + len(cand) :], re.S):
            return None
    groups = re.findall(r"\d+", cand)
    if not groups:
        return None
    intl = cand.lstrip("( ").startswith("+")
    if not intl and groups[0].startswith("00") and len(groups[0]) > 2:
        intl = True
        groups[0] = groups[0][2:]
    digits = "".join(groups)
    if len(digits) > 21:  # 15 (E.164) plus a written-out extension
        return None
    if intl:
        if not digits.startswith("86"):
            if 7 <= len(digits) <= 15:
                return "+" + digits + (f";ext={ext}" if ext else "")
            return None
        groups[0] = groups[0][2:]
        groups = [g for g in groups if g]
        if groups and groups[0].startswith("0"):  # +86 (0)10 ...
            groups[0] = groups[0][1:]
            groups = [g for g in groups if g]
        national = "".join(groups)
        if _MOBILE_RE.fullmatch(national):
            return "+86" + national
        if not national or national[0] in "0":
            return None
        return _landline(groups, ext)
    if _MOBILE_RE.fullmatch(digits):
        return "+86" + digits
    if len(digits) == 13 and digits.startswith("86") and _MOBILE_RE.fullmatch(digits[2:]):
        return "+86" + digits[2:]
    if _HOTLINE_RE.fullmatch(digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if _SERVICE_RE.fullmatch(digits) and len(groups) == 1:
        return digits
    if digits.startswith("0"):
        groups[0] = groups[0][1:]
        return _landline([g for g in groups if g], ext)
    lengths = [len(g) for g in groups]
    if _BARE_LOCAL_RE.fullmatch(digits) and (len(groups) == 1 or lengths in ([3, 4], [4, 4])):
        return digits + (f";ext={ext}" if ext else "")
    return None


# --------------------------------------------------------------------------------------
# Chinese resident ID numbers (GB 11643-1999)
# --------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[\dXx](?![0-9A-Za-z])")


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``-``9`` or ``X``) for 17 ID digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_birth_date(id18: str) -> _dt.date | None:
    """The birth date encoded in characters 7-14 of an ID, or None when it is impossible."""
    try:
        born = _dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    except ValueError:
        return None
    if born.year < 1850 or born > _dt.date.today():
        return None
    return born


@_exact
def validate_id_number(s: str) -> str | None:
    """``"11010519491231002x"`` -> ``"11010519491231002X"``; None when invalid."""
    if not isinstance(s, str):
        return None
    text = re.sub(r"\s+", "", _nfkc(s))
    m = _ID_RE.search(text)
    if not m:
        return None
    value = m.group().upper()
    if id_check_digit(value[:17]) != value[17] or id_birth_date(value) is None:
        return None
    return value


# --------------------------------------------------------------------------------------
# Integers and percentages
# --------------------------------------------------------------------------------------


def _first_number(text: str) -> tuple[Decimal, int, int] | None:
    runs = _numeral_runs(text)
    for start, end, toks in runs:
        value = _evaluate(toks)
        if value is not None:
            return value, start, end
    return None


@_exact
def normalize_integer(s: str) -> int | None:
    """``"1,200"`` -> 1200, ``"3万"`` -> 30000, ``"十二"`` -> 12, ``"12人"`` -> 12."""
    if not isinstance(s, str):
        return None
    text = _defuzz(_join_spaced_units(_nfkc(s).strip()))
    if text is None:
        return None
    found = _first_number(text)
    if found is None:
        return None
    value, start, _ = found
    if value != value.to_integral_value():
        return None
    return -int(value) if _negative_before(text, start) else int(value)


_PCT_AFTER_RE = re.compile(r"\s*(%|‰|成|percent\b|per\s*cent\b|pct\b)", re.IGNORECASE)


@_exact
def normalize_percent(s: str) -> str | None:
    """``"12.5%"`` -> ``"12.5"``, ``"百分之十二"`` -> ``"12"``, ``"三成"`` -> ``"30"``."""
    if not isinstance(s, str):
        return None
    text = _nfkc(s).strip()
    for start, end, toks in _numeral_runs(text):
        value = _evaluate(toks)
        if value is None:
            continue
        before = text[:start].rstrip()
        m = _PCT_AFTER_RE.match(text, end)
        if before.endswith("百分之"):
            pass
        elif before.endswith("千分之"):
            value = value / 10
        elif m and m.group(1) == "‰":
            value = value / 10
        elif m and m.group(1) == "成":
            value = value * 10
        elif not m:
            return None
        if _negative_before(text, start):
            value = -value
        return _plain(value)
    return None


# --------------------------------------------------------------------------------------
# Approximate values
# --------------------------------------------------------------------------------------

_NUM = rf"[\d{_CN_NUMERAL}]"
_UNIT = f"[{_CN_UNIT_CHARS}]"
_YUE = r"(?<![合契条签预公违节制婚邀履解缔特立毁租])约"  # 约, not the 约 of 合约/签约/预约
_APPROX_NUMBER_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # hedges and bounds before the number
        _YUE + r"|大概|大致|大体|估计|预计|预估|差不多|将近|接近|几乎|近似|不到|超过|不超过|不少于"
        r"|不低于|不高于|不多于|至少|至多|最多|最少|高达|≈|~|～|∼",
        rf"[近超逾](?={_NUM}|{_UNIT})|[上数几](?={_UNIT})",
        # after the number
        r"左右|上下|前后|以上|以下|以内|之内|开外|出头|有余",
        rf"(?:{_NUM}|{_UNIT})\s*[多余来几许]",
        r"若干|好几|数以",
        # English
        r"\b(?:about|around|approx(?:imately|\.)?|roughly|nearly|almost|circa|ca\.|some|over|under"
        r"|more\s+than|less\s+than|fewer\s+than|at\s+least|at\s+most|up\s+to|upwards\s+of"
        r"|in\s+excess\s+of|or\s+so|give\s+or\s+take|estimated|est\.)(?![A-Za-z])",
        r"\d\s*-?\s*ish\b|\d[\d,.]*\s*[kmb]?\s*\+|\bplus\b",
    )
]
_APPROX_DATE_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        _YUE
        + r"|上旬|中旬|下旬|月初|月中|月底|月末|年初|年中|年底|年末|岁末|年终|前后|左右|前夕|大概|预计|估计",
        r"月\s*[初底末]|[上下]半年|[上下]半月|第?[一二三四1-4]\s*季度|[春夏秋冬][季天]?(?![\u4e00-\u9fff])",
        r"\b(?:early|mid|late|end\s+of|beginning\s+of|start\s+of|around|about|approx(?:imately|\.)?|circa|ca\."
        r"|sometime|spring|summer|autumn|fall|winter)(?![A-Za-z])|\bQ[1-4]\b|\bH[12]\b",
    )
]


def is_approximate(s: str, kind: str = "number") -> bool:
    """True when ``s`` does not state an exact value (module docstring): ``约30万元``,
    ``大概五十万左右``, ``五十多万``, ``30万元以上``, ``about $2M`` for ``kind="number"`` (money,
    integers, percentages); ``三月中旬``, ``2023年9月初``, ``2023年底``, ``early March 2023``
    for ``kind="date"``.  False for exact texts and for anything that is not a string."""
    if not isinstance(s, str) or kind not in ("number", "date"):
        return False
    text = _nfkc(s)
    patterns = _APPROX_NUMBER_RES if kind == "number" else _APPROX_DATE_RES
    return any(p.search(text) for p in patterns)


NORMALIZERS: dict[str, Callable[[str], Any]] = {
    "money": normalize_money,
    "date": normalize_date,
    "phone": normalize_phone,
    "id_number": validate_id_number,
    "integer": normalize_integer,
    "percent": normalize_percent,
}
