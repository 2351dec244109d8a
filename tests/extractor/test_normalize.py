"""Normalizers on real-world spellings of amounts, dates, phones, IDs, counts and percentages."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from extractor.normalize import (
    NORMALIZERS,
    id_check_digit,
    is_approximate,
    normalize_date,
    normalize_integer,
    normalize_money,
    normalize_percent,
    normalize_phone,
    parse_money_unit,
    parse_number,
    validate_id_number,
)

# --------------------------------------------------------------------------------------
# money
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("¥2,380.00元", "2380.00", "CNY"),
        ("￥2380", "2380.00", "CNY"),
        ("￥ 2,380.00", "2380.00", "CNY"),
        ("人民币100亿元", "10000000000.00", "CNY"),
        ("5万元", "50000.00", "CNY"),
        ("12.5 万元", "125000.00", "CNY"),
        ("伍万元整", "50000.00", "CNY"),
        ("壹佰贰拾万元整", "1200000.00", "CNY"),
        ("叁拾万零伍佰元整", "300500.00", "CNY"),
        ("壹仟零伍拾元整", "1050.00", "CNY"),
        ("人民币壹万贰仟叁佰肆拾伍元陆角柒分", "12345.67", "CNY"),
        ("伍元零伍分", "5.05", "CNY"),
        ("拾元", "10.00", "CNY"),
        ("RMB 1,000,000", "1000000.00", "CNY"),
        ("RMB2.5亿", "250000000.00", "CNY"),
        ("CNY 12.5万", "125000.00", "CNY"),
        ("$1.2M", "1200000.00", "USD"),
        ("USD 3,400.50", "3400.50", "USD"),
        ("USD3,400", "3400.00", "USD"),
        ("US$ 2 million", "2000000.00", "USD"),
        ("10,000.00 美元", "10000.00", "USD"),
        ("100 dollars", "100.00", "USD"),
        ("€1.234,56", "1234.56", "EUR"),
        ("1.234.567,89 EUR", "1234567.89", "EUR"),
        ("€1,50", "1.50", "EUR"),
        ("1,5 Mio. €", "1500000.00", "EUR"),
        ("EUR 500", "500.00", "EUR"),
        ("HK$300", "300.00", "HKD"),
        ("300港元", "300.00", "HKD"),
        ("NT$1,000", "1000.00", "TWD"),
        ("JP¥1000", "1000.00", "JPY"),
        ("£20k", "20000.00", "GBP"),
        ("1.5 billion yuan", "1500000000.00", "CNY"),
        ("3千元", "3000.00", "CNY"),
        ("两千块", "2000.00", "CNY"),
        ("一百二十万元", "1200000.00", "CNY"),
        ("一亿二千万元", "120000000.00", "CNY"),
        ("1万2千元", "12000.00", "CNY"),
        ("1,000万元", "10000000.00", "CNY"),
        ("-500元", "-500.00", "CNY"),
        ("$0.125", "0.125", "USD"),
        # both spellings in one span: the Arabic figure wins
        ("人民币壹佰贰拾万元整（¥1,200,000.00）", "1200000.00", "CNY"),
    ],
)
def test_money(text, amount, currency):
    assert normalize_money(text) == {"amount": amount, "currency": currency}


@pytest.mark.parametrize(
    ("text", "amount"), [("5万", "50000.00"), ("陆角", "0.60"), ("伍角伍分", "0.55"), ("1200", "1200.00")]
)
def test_money_without_currency(text, amount):
    assert normalize_money(text) == {"amount": amount, "currency": None}


@pytest.mark.parametrize("text", ["", "元", "人民币", "万元", "USD", "abc", "整", None, 12])
def test_money_without_a_number_is_none(text):
    assert normalize_money(text) is None


def test_money_amount_is_exact_decimal_without_exponent():
    assert normalize_money("1.1 million")["amount"] == "1100000.00"  # float would give ...0.0000000002
    assert normalize_money("0.29万")["amount"] == "2900.00"  # float: 2899.9999999999995
    big = normalize_money("人民币1万亿元")
    assert big["amount"] == "1000000000000.00" and "E" not in big["amount"]
    assert Decimal(normalize_money("$19.99")["amount"]) == Decimal("19.99")


@pytest.mark.parametrize(
    ("text", "unit", "amount", "currency"),
    [
        ("120", "万元", "1200000.00", "CNY"),  # a bare number is read in the hint's unit
        ("1,200.5", "千美元", "1200500.00", "USD"),
        ("120万", "元", "1200000.00", "CNY"),  # own multiplier kept, currency from the hint
        ("$120", "万元", "120.00", "USD"),  # own currency: the hint does not apply
        ("3000", "元/月", "3000.00", "CNY"),
        ("3000", "立项/招标", "3000.00", None),  # not a unit: ignored
    ],
)
def test_money_with_unit_hint(text, unit, amount, currency):
    assert normalize_money(text, unit=unit) == {"amount": amount, "currency": currency}


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("万元", (Decimal(10000), "CNY")),
        ("人民币万元", (Decimal(10000), "CNY")),
        ("USD", (Decimal(1), "USD")),
        ("千美元", (Decimal(1000), "USD")),
        ("USD million", (Decimal(1000000), "USD")),
        ("元/月", (Decimal(1), "CNY")),
        ("万", (Decimal(10000), None)),
        ("立项/招标", None),
        ("18位", None),
        ("YYYY-MM-DD", None),
        ("姓名+职务", None),
        ("", None),
    ],
)
def test_parse_money_unit(hint, expected):
    assert parse_money_unit(hint) == expected


# --------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.5", "1234.5"),
        ("1.234,5", "1234.5"),
        ("1'234", "1234"),
        ("二〇二三", "2023"),
        ("二零二三", "2023"),
        ("十", "10"),
        ("十二", "12"),
        ("二十", "20"),
        ("一百零五", "105"),
        ("一千零一十", "1010"),
        ("一万五", "15000"),
        ("三百五", "350"),
        ("二十万零三", "200003"),
        ("一万亿", "1000000000000"),
        ("十二点五", "12.5"),
        ("三点五万", "35000"),
        ("12.5万", "125000"),
        ("零", "0"),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "万", "三五万", "百十", "12三", "1万 and more", "abc"])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


# --------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2023年9月12日", "2023-09-12"),
        ("2023年09月12号", "2023-09-12"),
        ("2023 年 9 月 12 日", "2023-09-12"),
        ("二〇二三年九月十二日", "2023-09-12"),
        ("二零二三年十二月三十一日", "2023-12-31"),
        ("二〇二四年二月二十九日", "2024-02-29"),
        ("2023/9/12", "2023-09-12"),
        ("2023-09-12", "2023-09-12"),
        ("2023-9-1", "2023-09-01"),
        ("2023.9.12", "2023-09-12"),
        ("20230912", "2023-09-12"),
        ("2023-09-12 10:30:00", "2023-09-12"),
        ("2023-09-12T10:30", "2023-09-12"),
        ("September 12, 2023", "2023-09-12"),
        ("12 September 2023", "2023-09-12"),
        ("Sep. 12, 2023", "2023-09-12"),
        ("Sept 12 2023", "2023-09-12"),
        ("Dec 31st, 2023", "2023-12-31"),
        ("3rd March 2024", "2024-03-03"),
        ("12th of Sep 2023", "2023-09-12"),
        ("12-Sep-2023", "2023-09-12"),
        ("signed on September 12, 2023 in Beijing", "2023-09-12"),
        ("１２/０９/２０２３", "2023-12-09"),  # full-width digits
        ("2023年9月12日至2024年9月11日", "2023-09-12"),  # the first date
    ],
)
def test_date(text, iso):
    assert normalize_date(text) == iso


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("12/09/2023", "2023-12-09"),  # both <= 12: month first (US)
        ("09/12/2023", "2023-09-12"),
        ("13/09/2023", "2023-09-13"),  # first > 12: it is the day
        ("31.12.2023", "2023-12-31"),
        ("1-2-2024", "2024-01-02"),
    ],
)
def test_ambiguous_numeric_dates_rule(text, iso):
    assert normalize_date(text) == iso


def test_dayfirst_flag_picks_the_reading_when_both_are_possible():
    assert normalize_date("12/09/2023", dayfirst=True) == "2023-09-12"
    assert normalize_date("12/09/2023", dayfirst=False) == "2023-12-09"
    # impossible as asked: the other reading is used
    assert normalize_date("09/13/2023", dayfirst=True) == "2023-09-13"
    assert normalize_date("13/09/2023", dayfirst=False) == "2023-09-13"


@pytest.mark.parametrize(
    ("text", "ym"), [("2023年9月", "2023-09"), ("September 2023", "2023-09"), ("2023-09", "2023-09")]
)
def test_date_without_day_is_year_month(text, ym):
    assert normalize_date(text) == ym


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-30",
        "2/29/2023",
        "2023年13月1日",
        "2023年9月31日",
        "0000-01-01",
        "13/13/2023",
        "20231340",
        "2023年",
        "yesterday",
        "",
        None,
    ],
)
def test_invalid_dates_are_none(text):
    assert normalize_date(text) is None


# --------------------------------------------------------------------------------------
# phones
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("(+86)13812345678", "+8613812345678"),
        ("（+86）138 1234 5678", "+8613812345678"),
        ("+8613812345678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("86 13812345678", "+8613812345678"),
        ("电话：13812345678", "+8613812345678"),
        ("010-12345678", "+86-10-12345678"),
        ("(010)12345678", "+86-10-12345678"),
        ("01012345678", "+86-10-12345678"),
        ("020-87654321", "+86-20-87654321"),
        ("0571-87654321", "+86-571-87654321"),
        ("057187654321", "+86-571-87654321"),
        ("0755 8888 6666", "+86-755-88886666"),
        ("0571-8765432", "+86-571-8765432"),
        ("0571-87654321-8001", "+86-571-87654321;ext=8001"),
        ("010-12345678 转 8001", "+86-10-12345678;ext=8001"),
        ("010-12345678分机8001", "+86-10-12345678;ext=8001"),
        ("+86 10 1234 5678", "+86-10-12345678"),
        ("+86 (0)10 1234 5678", "+86-10-12345678"),
        ("400-820-8820", "400-820-8820"),
        ("4008208820", "400-820-8820"),
        ("800 820 8820", "800-820-8820"),
        ("12345", "12345"),
        ("110", "110"),
        ("95588", "95588"),
        ("87654321", "87654321"),
        ("8765-4321", "87654321"),
        ("+1 (415) 555-0132", "+14155550132"),
        ("+1 415.555.0132 ext. 12", "+14155550132;ext=12"),
        ("+44 20 7946 0958", "+442079460958"),
        ("Tel: +49 30 123456", "+4930123456"),
    ],
)
def test_phone(text, phone):
    assert normalize_phone(text) == phone


@pytest.mark.parametrize(
    "text",
    [
        "+86-10-12345678",
        "+86-571-87654321;ext=8001",
        "+8613812345678",
        "400-820-8820",
        "+14155550132",
        "12345",
    ],
)
def test_normalized_phones_normalize_to_themselves(text):
    assert normalize_phone(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2023-09-12",
        "2,380.00",
        "110105194912310021",
        "12",
        "1234567890123456",
        "(415) 555-0132",  # a US number without +1 is not guessed
        "2023年9月12日",
        "+86 1234",
        None,
    ],
)
def test_not_a_phone(text):
    assert normalize_phone(text) is None


# --------------------------------------------------------------------------------------
# ID numbers
# --------------------------------------------------------------------------------------

VALID_IDS = ["11010519491231002X", "440524188001010014", "11010119900307803X", "110101199003074514"]


@pytest.mark.parametrize("id18", VALID_IDS)
def test_known_valid_ids(id18):
    assert id_check_digit(id18[:17]) == id18[17]
    assert validate_id_number(id18) == id18
    assert validate_id_number(id18.lower()) == id18
    assert validate_id_number(f" {id18[:6]} {id18[6:14]} {id18[14:]} ") == id18
    assert validate_id_number(f"身份证号：{id18}。") == id18


@pytest.mark.parametrize("id18", VALID_IDS)
def test_changing_any_digit_breaks_the_check(id18):
    for pos in range(17):
        digit = id18[pos]
        for other in "0123456789":
            if other == digit:
                continue
            broken = id18[:pos] + other + id18[pos + 1 :]
            if id_check_digit(broken[:17]) == broken[17]:  # pragma: no cover - MOD 11-2 catches it
                pytest.fail(f"{broken} passes the check")
            assert validate_id_number(broken) is None


def test_id_check_digit_examples():
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"
    with pytest.raises(ValueError):
        id_check_digit("1234")
    with pytest.raises(ValueError):
        id_check_digit("1101051949123100X")


def _with_check(first17: str) -> str:
    return first17 + id_check_digit(first17)


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002",  # 17 characters
        "1101051949123100211",  # 19
        "110105194912310021",  # wrong check digit
        _with_check("11010519490231002"),  # 1949-02-31
        _with_check("11010518001301002"),  # month 13
        _with_check(f"110105{dt.date.today().year + 1}0101002"),  # born next year
        _with_check("01010519491231002"),  # region cannot start with 0
        "",
        None,
    ],
)
def test_invalid_ids(text):
    assert validate_id_number(text) is None


# --------------------------------------------------------------------------------------
# integers and percentages
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,200", 1200),
        ("3万", 30000),
        ("1.5万", 15000),
        ("十二", 12),
        ("12人", 12),
        ("约120人", 120),
        ("两千", 2000),
        ("一百零五", 105),
        ("二〇二三", 2023),
        ("-5", -5),
        ("1,200 employees", 1200),
        ("３０", 30),
    ],
)
def test_integer(text, value):
    assert normalize_integer(text) == value


@pytest.mark.parametrize("text", ["3.5", "1.5人", "", "若干", "many", None])
def test_not_an_integer(text):
    assert normalize_integer(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.5%", "12.5"),
        ("12.5 %", "12.5"),
        ("１２．５％", "12.5"),
        ("100%", "100"),
        ("百分之十二点五", "12.5"),
        ("百分之二十", "20"),
        ("三成", "30"),
        ("5‰", "0.5"),
        ("千分之五", "0.5"),
        ("12.5 percent", "12.5"),
        ("-3%", "-3"),
    ],
)
def test_percent(text, value):
    assert normalize_percent(text) == value


@pytest.mark.parametrize("text", ["12", "0.13", "abc", "", None])
def test_not_a_percent(text):
    assert normalize_percent(text) is None


# --------------------------------------------------------------------------------------
# approximate amounts and dates: normalized where the text allows, always flagged
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("大概五十万左右", "500000.00", None),
        ("约30万元", "300000.00", "CNY"),
        ("30万元上下", "300000.00", "CNY"),
        ("五十多万", "500000.00", None),  # more than 500000: its lower bound, never 50
        ("30余万元", "300000.00", "CNY"),  # was 30.00 before 余 was understood
        ("十来万", "100000.00", None),
        ("十几万元", "100000.00", "CNY"),
        ("一千多元", "1000.00", "CNY"),
        ("上百万元", "1000000.00", "CNY"),
        ("近百万", "1000000.00", None),
        ("约¥30,000", "30000.00", "CNY"),
        ("about $2M", "2000000.00", "USD"),
        ("~500 EUR", "500.00", "EUR"),
        ("30万元以上", "300000.00", "CNY"),
        ("不超过5万元", "50000.00", "CNY"),
    ],
)
def test_approximate_amounts_are_normalized_and_flagged(text, amount, currency):
    assert normalize_money(text) == {"amount": amount, "currency": currency}
    assert is_approximate(text, "number") is True


@pytest.mark.parametrize("text", ["几十万", "数百万元", "几千块"])
def test_a_magnitude_without_a_number_has_no_amount(text):
    assert normalize_money(text) is None and normalize_integer(text) is None
    assert is_approximate(text) is True


@pytest.mark.parametrize(
    ("text", "value"), [("五十多人", 50), ("约120人", 120), ("30余万", 300000), ("近千人", 1000)]
)
def test_approximate_counts(text, value):
    assert normalize_integer(text) == value and is_approximate(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "¥2,380.00元", "人民币壹万贰仟叁佰肆拾伍元陆角柒分", "5万元", "RMB 1,000,000", "USD 3,400.50",
        "12.5 万元", "100 dollars", "€1.234,56", "伍拾万元整", "120人", "12.5%",
        # 约 of 合约/签约, 许 of 许可费, 余 of 余额, 上 of 上一年度: words, not hedges
        "合约金额30万元", "许可费30万元", "余额30万元", "上一年度营业额300万元",
    ],
)  # fmt: skip
def test_exact_amounts_are_not_approximate(text):
    assert is_approximate(text, "number") is False


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("三月中旬", None),  # no year: nothing to normalize to
        ("2023年3月中旬", "2023-03"),
        ("2023年9月初", "2023-09"),
        ("2024年5月底", "2024-05"),
        ("2023年底", None),
        ("early March 2023", "2023-03"),
        ("约2023年9月", "2023-09"),
        ("2023年第三季度", None),
    ],
)
def test_approximate_dates_keep_only_what_the_text_says(text, iso):
    assert normalize_date(text) == iso
    assert is_approximate(text, "date") is True


@pytest.mark.parametrize(
    "text", ["2023年9月12日", "2023-09-12", "Sep 12, 2023", "12/09/2023", "2023年9月", "二〇二三年九月十二日"]
)
def test_exact_dates_are_not_approximate(text):
    assert is_approximate(text, "date") is False


def test_is_approximate_on_other_input():
    assert is_approximate(None) is False and is_approximate("约30万", "colour") is False
    assert is_approximate("", "date") is False


# --------------------------------------------------------------------------------------
# registry and purity
# --------------------------------------------------------------------------------------


def test_registry_covers_the_typed_fields():
    assert set(NORMALIZERS) == {"money", "date", "phone", "id_number", "integer", "percent"}
    assert NORMALIZERS["money"]("5万元") == {"amount": "50000.00", "currency": "CNY"}
    assert NORMALIZERS["date"]("2023年9月12日") == "2023-09-12"
    assert NORMALIZERS["phone"]("13812345678") == "+8613812345678"
    assert NORMALIZERS["id_number"]("11010519491231002x") == "11010519491231002X"
    assert NORMALIZERS["integer"]("十二") == 12
    assert NORMALIZERS["percent"]("5%") == "5"


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_normalizers_never_raise_on_garbage(name):
    fn = NORMALIZERS[name]
    for junk in ["", " ", "(((", "+", "..,,", "点", "零零零", "9" * 200, "年月日", "¥", "\x00", "１" * 30]:
        fn(junk)  # must not raise
    assert fn("no value here") is None


def test_module_imports_no_heavy_dependencies():
    import extractor.normalize as mod

    source = open(mod.__file__, encoding="utf-8").read()
    imports = set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M))
    assert not {i.split(".")[0] for i in imports} & {
        "torch",
        "transformers",
        "ray",
        "connectors",
        "pipelines",
    }
