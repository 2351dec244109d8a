"""Unit tests of connectors.clean on inputs shaped like what the PDF and ticket readers give."""

from __future__ import annotations

import pytest

from connectors.clean import clean_text, repair_mojibake


def clean(text: str, **kw) -> str:
    return clean_text(text, **kw)[0]


def notes_of(text: str, **kw) -> list[str]:
    return clean_text(text, **kw)[1]


def has_note(notes: list[str], kind: str) -> bool:
    return any(n.startswith(kind + ":") for n in notes)


# ----------------------------------------------------------------------- basics
def test_empty_and_ascii_pass_through():
    assert clean_text("") == ("", [])
    assert clean_text("   \n\n  ") == ("", [])
    assert clean("Party A: Acme Corporation.") == "Party A: Acme Corporation."


def test_crlf_and_cr_become_newlines():
    assert clean("甲方：北京云杉科技有限公司\r\n乙方：上海海川贸易有限公司\r") == (
        "甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司"
    )


def test_idempotent_on_realistic_contract():
    text = (
        "采购合同\n\n甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司\n"
        "第一条 合同金额为人民币壹佰贰拾万元整（¥1,200,000.00），含税。\n"
        "第二条 本合同适用中华人民共和国法律。"
    )
    once = clean(text)
    assert clean(once) == once
    assert once == text


# -------------------------------------------------------------- width and NFKC
def test_fullwidth_letters_and_digits_become_halfwidth():
    assert clean("合同编号：ＨＴ－２０２３－００１") == "合同编号：HT-2023-001"
    assert clean("联系电话：１３８１２３４５６７８") == "联系电话：13812345678"


def test_cjk_punctuation_is_kept():
    out = clean("甲方（买方）：北京云杉科技有限公司，地址：北京市；电话？是！～")
    assert out == "甲方（买方）：北京云杉科技有限公司，地址：北京市；电话？是！～"
    assert clean("本合同一式两份。双方各执一份、具有同等效力……《合同法》【附件】「甲方」“乙方”") == (
        "本合同一式两份。双方各执一份、具有同等效力……《合同法》【附件】「甲方」“乙方”"
    )


def test_fullwidth_comma_between_digit_groups_becomes_ascii():
    assert clean("金额：１，２００，０００元") == "金额：1,200,000元"
    assert clean("金额：1，200元，共计三笔") == "金额：1,200元，共计三笔"
    # a clause comma after a number stays
    assert clean("共3，另有12项") == "共3，另有12项"


def test_time_colon():
    assert clean("会议时间：10：30") == "会议时间：10:30"


def test_ideographic_space_and_nbsp_collapse():
    assert (
        clean("甲方：\u3000\u3000北京云杉科技有限公司\u00a0\u00a0（盖章）")
        == "甲方： 北京云杉科技有限公司 （盖章）"
    )


def test_kangxi_radicals_and_compat_ideographs_from_pdf_fonts():
    # some PDF fonts map 日/月/金/方 to Kangxi radical code points (U+2F xx)
    assert clean("签约⽇期：2023年9⽉12⽇") == "签约日期：2023年9月12日"
    assert clean("\u2f45") == "方"
    assert clean("\uf900") == "豈"


def test_ligatures_are_split():
    assert clean("The ﬁrst party shall ﬁle the ﬂow report.") == "The first party shall file the flow report."


# ------------------------------------------------------------- control chars
def test_control_and_format_characters_removed():
    text = "甲方\x00：北京\u200b云杉\ufeff科技\x07有限\u00ad公司\x1b\x7f"
    out, notes = clean_text(text)
    assert out == "甲方：北京云杉科技有限公司"
    assert has_note(notes, "control_chars_removed")


def test_tabs_become_spaces():
    assert clean("姓名\t\t张三\t电话\t13812345678") == "姓名 张三 电话 13812345678"


def test_form_feed_is_a_page_break_not_text():
    out = clean("第一页内容。\f第二页内容。")
    assert "\f" not in out
    assert out == "第一页内容。\n第二页内容。"


# ------------------------------------------------------------------ whitespace
def test_whitespace_collapsed_and_blank_lines_reduced():
    text = "  甲方：   北京云杉科技有限公司   \n\n\n\n乙方：上海海川贸易有限公司  "
    assert clean(text) == "甲方： 北京云杉科技有限公司\n\n乙方：上海海川贸易有限公司"


def test_letter_spaced_cjk_heading_is_closed_up():
    assert clean("合 同 书\n\n甲方：北京云杉科技有限公司") == "合同书\n\n甲方：北京云杉科技有限公司"
    assert clean("采 购 合 同") == "采购合同"
    # two CJK words separated by one space are not letter spacing
    assert clean("甲方 北京云杉") == "甲方 北京云杉"
    assert clean("Acme Corp 北 京") == "Acme Corp 北 京"


# ---------------------------------------------------------- headers and footers
def _pages(bodies: list[list[str]], header: str | None, footer) -> str:
    pages = []
    n = len(bodies)
    for i, body in enumerate(bodies, 1):
        lines = ([header] if header else []) + body + ([footer(i, n)] if footer else [])
        pages.append("\n".join(lines))
    return "\f".join(pages)


BODIES = [
    ["第一条 甲方向乙方采购服务器设备一批。", "第二条 合同金额为人民币壹佰贰拾万元整。"],
    ["第三条 乙方应于2023年10月31日前交货。", "第四条 付款方式为银行转账。"],
    ["第五条 本合同适用中华人民共和国法律。", "第六条 争议提交北京仲裁委员会仲裁。"],
    ["第七条 本合同自双方签字盖章之日起生效。", "甲方（盖章）：北京云杉科技有限公司"],
]


def test_repeated_header_and_chinese_page_numbers_removed():
    text = _pages(BODIES, "北京云杉科技有限公司 采购合同 HT-2023-001", lambda i, n: f"第 {i} 页 共 {n} 页")
    out, notes = clean_text(text)
    assert "采购合同 HT-2023-001" not in out
    assert "页" not in out
    for body in BODIES:
        for line in body:
            assert line in out
    assert has_note(notes, "headers_footers_removed")


def test_english_page_of_footer_removed():
    bodies = [[f"Section {i}. The Supplier shall deliver the goods."] for i in range(1, 4)]
    text = _pages(bodies, "CONFIDENTIAL - Master Services Agreement", lambda i, n: f"Page {i} of {n}")
    out = clean(text)
    assert "CONFIDENTIAL" not in out and "Page" not in out
    assert out.count("The Supplier shall deliver the goods.") == 3


@pytest.mark.parametrize("footer", ["- {i} -", "{i}", "{i}/{n}", "第{i}页", "共{n}页 第{i}页", "p. {i}"])
def test_page_number_styles(footer):
    text = _pages(BODIES, None, lambda i, n: footer.format(i=i, n=n))
    out = clean(text)
    assert out.splitlines()[-1] == "甲方（盖章）：北京云杉科技有限公司"
    assert len(out.splitlines()) == 8


def test_single_page_keeps_bare_number_but_drops_explicit_page_number():
    assert clean("合同金额：\n100") == "合同金额：\n100"
    assert clean("本合同一式两份。\n第 1 页 共 1 页") == "本合同一式两份。"


def test_line_repeated_in_body_but_not_at_edges_is_kept():
    bodies = [["开头", "甲方：北京云杉科技有限公司", "中间内容", "结尾"] for _ in range(3)]
    bodies = [[f"第{i}部分", *b[1:3], f"完{i}"] for i, b in enumerate(bodies)]
    text = "\f".join("\n".join(["页眉", *b, "页脚"]) for b in bodies)
    out = clean(text)
    assert "页眉" not in out and "页脚" not in out
    assert out.count("中间内容") == 3


def test_header_on_less_than_most_pages_is_kept():
    pages = ["附件一\n正文一。", "正文二。", "正文三。", "正文四。", "附件一\n正文五。"]
    out = clean("\f".join(pages))
    assert out.count("附件一") == 2


# ----------------------------------------------------------------- rejoining
def test_cjk_wrapped_line_joined_without_space():
    text = (
        "本合同由北京云杉科技有限公司（以下简称甲方）与上海海川贸易有限公司（以下简称乙方）于二〇二三年九月\n"
        "十二日在北京市签订，合同总金额为人民币壹佰贰拾万元整。"
    )
    assert clean(text) == text.replace("\n", "")


def test_value_split_over_lines_is_rejoined():
    text = (
        "经双方友好协商，甲方同意将位于北京市朝阳区建国路88号的办公用房出租给上海海川贸易有\n"
        "限公司使用，租期自2023年10月1日起至2024年9月30日止，月租金为人民币伍万元整。"
    )
    assert "上海海川贸易有限公司" in clean(text)


def test_latin_wrapped_line_joined_with_space():
    text = (
        "This Master Services Agreement is entered into as of September 12, 2023 by and between Acme\n"
        "Corporation, a Delaware corporation, and Globex Ltd., a company organized under the laws of\n"
        "England and Wales."
    )
    out = clean(text)
    assert "between Acme Corporation, a Delaware" in out
    assert "laws of England and Wales." in out
    assert "\n" not in out


def test_hyphen_at_line_end_is_kept_and_joined():
    text = (
        "The Supplier shall provide the services described in Schedule A with the care of a well-\n"
        "known provider."
    )
    assert "well-known provider" in clean(text)


def test_short_key_value_lines_stay_separate():
    text = "甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司\n签约日期：2023年9月12日"
    assert clean(text) == text


def test_english_key_value_lines_stay_separate():
    text = "Party A: Acme Corporation\nParty B: Globex Ltd.\nEffective Date: September 12, 2023"
    assert clean(text) == text
    assert clean("person: John Smith\ncompany: None") == "person: John Smith\ncompany: None"


def test_clause_and_list_starts_stay_separate_even_after_full_lines():
    long = "甲方应当按照本合同约定的时间和方式向乙方支付合同价款，并提供必要的技术资料和协助工作条件"
    for start in ["第二条 乙方的义务", "二、乙方的义务", "（二）乙方的义务", "2. 乙方的义务", "• 乙方的义务"]:
        out = clean(long + "\n" + start)
        assert out == long + "\n" + start, start


def test_sentence_end_keeps_break():
    text = "第一条 本合同经双方签字盖章后生效，有效期为一年，期满后双方可协商续签合同。\n本合同一式两份。"
    assert clean(text) == text


def test_comma_at_line_end_joins_short_line():
    assert clean("甲方应支付首期款，\n余款于验收后支付。") == "甲方应支付首期款，余款于验收后支付。"


def test_line_starting_with_closing_punctuation_joins():
    assert (
        clean("合同金额为人民币壹佰贰拾万元整（¥1,200,000.00\n）。")
        == "合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。"
    )


def test_paragraph_breaks_kept():
    text = (
        "第一段的内容比较长，足够占满一整行的宽度，这是一份采购合同的正文第一段落的结尾部分内容\n"
        "到此为止\n\n"
        "第二段开始的地方，这里是另一个段落。"
    )
    assert clean(text) == (
        "第一段的内容比较长，足够占满一整行的宽度，这是一份采购合同的正文第一段落的结尾部分内容到此为止\n\n"
        "第二段开始的地方，这里是另一个段落。"
    )


def test_sentence_running_over_a_page_break_is_rejoined():
    p1 = "甲方：北京云杉科技有限公司\n本合同项下的全部款项应由甲方通过银行转账方式支付至乙方指定的账户，乙方\n第 1 页 共 2 页"
    p2 = "应在收到款项后五个工作日内开具等额增值税专用发票。\n第 2 页 共 2 页"
    out = clean(p1 + "\f" + p2)
    assert "乙方应在收到款项后五个工作日内" in out
    assert "页" not in out


def test_layout_false_keeps_author_line_breaks():
    long = "市民王女士来电反映朝阳区建国路八十八号小区的垃圾已经连续三天无人清运，气味很大影响居民生活"
    text = long + "\n希望有关部门尽快处理。\n第 1 页"
    assert clean(text, layout=False) == text
    assert clean(text) != text


# ------------------------------------------------------------------ mojibake
def test_utf8_read_as_latin1_is_repaired():
    original = "甲方：北京云杉科技有限公司，合同金额：¥1,200,000.00"
    broken = original.encode("utf-8").decode("latin-1")
    assert "å" in broken
    out, notes = clean_text(broken)
    assert out == original
    assert has_note(notes, "mojibake_repaired")


def test_utf8_read_as_cp1252_is_repaired_where_the_bytes_survived():
    original = "合同编号 HT-2023-001：签约日期 2023年9月12日"
    broken = original.encode("utf-8").decode("cp1252", errors="ignore")  # drops 0x81 0x8d 0x8f 0x90 0x9d
    out, notes = clean_text(broken)
    assert has_note(notes, "mojibake_repaired")
    assert out.endswith("HT-2023-001：签约日期 2023年9月12日")
    # 合同编号 lost three of its bytes: left as it is and flagged, never guessed
    assert has_note(notes, "mojibake_suspected")


def test_the_classic_he_tong_pattern():
    assert repair_mojibake("å\x90\x88å\x90\x8c")[0] == "合同"
    assert repair_mojibake("é\x87\x91é¢\x9d")[0] == "金额"


def test_utf8_read_as_gbk_is_repaired():
    original = "合同编号：HT-2023-001\n甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司"
    broken = original.encode("utf-8").decode("gbk", errors="replace")
    out, notes = clean_text(broken)
    assert has_note(notes, "mojibake_repaired")
    assert "合同编号" in out and "乙方：上海海川贸易有限" in out
    assert clean("鍚堝悓") == "合同"


def test_strict_gbk_mojibake_repaired_without_loss():
    original = "合同甲方北京乙方上海"  # these bytes happen to read as GBK without error
    broken = original.encode("utf-8").decode("gbk")
    assert clean(broken) == original


@pytest.mark.parametrize(
    "text",
    [
        "中华人民共和国合同法适用于本合同",
        "电话",
        "市民王女士来电反映，朝阳区建国路88号小区垃圾无人清运，请尽快处理。",
        "Größe Müller café naïve Straße Señor ação ±2°C ¥100 £5 “quoted” — em dash",
        "Ææ øå ©® ×÷ ½ ¼",
        "东京 ソウル 서울 北京",
    ],
)
def test_genuine_text_is_not_repaired(text):
    out, notes = repair_mojibake(text)
    assert out == text
    assert not notes


def test_unrepairable_mojibake_is_flagged():
    out, notes = clean_text("合同锟斤拷锟斤拷金额")
    assert has_note(notes, "mojibake_suspected")
    assert "锟斤拷" in out  # kept, not guessed away
    assert clean("Ã© Ã¨ Ã\u00a0") == "é è à"  # complete pairs are repaired
    _, notes = clean_text("itâ€ s the partyâ€ s")  # truncated sequences are not
    assert has_note(notes, "mojibake_suspected")


def test_replacement_characters_are_reported():
    out, notes = clean_text("甲方：北京云杉\ufffd\ufffd有限公司")
    assert "\ufffd" in out
    assert any(n == "replacement_chars: 2" for n in notes)


# -------------------------------------------------------------- whole documents
def test_realistic_pdf_page_text():
    page = (
        "北京云杉科技有限公司  采购合同\r\n"
        "合 同 书\r\n"
        "合同编号：ＨＴ－２０２３－００１\r\n"
        "甲方（采购方）：北京云杉科技有限公司\r\n"
        "乙方（供应方）：上海海川贸易有限公司\r\n"
        "第一条 甲方向乙方采购服务器设备一批，设备型号、数量及单价详见附件一，合同总金额为人民币\r\n"
        "壹佰贰拾万元整（¥1,200,000.00），该价格已包含税费、运输费及安装调试费用。\r\n"
        "第二条 本合同自2023年9月12日起生效，有效期一年。\r\n"
        "第 {i} 页 共 2 页"
    )
    page2 = page.format(i=2).replace("第一条", "第三条").replace("第二条", "第四条")
    page2 = "\r\n".join(ln for ln in page2.split("\r\n") if "合" not in ln[:3] and "方（" not in ln)
    text = page.format(i=1) + "\f" + page2
    out, notes = clean_text(text)
    assert "采购合同\n" not in out
    assert out.startswith("合同书\n合同编号：HT-2023-001\n甲方（采购方）：北京云杉科技有限公司")
    assert "合同总金额为人民币壹佰贰拾万元整（¥1,200,000.00）" in out
    assert "页" not in out
    assert has_note(notes, "lines_joined") and has_note(notes, "headers_footers_removed")


def test_large_text_is_linear_enough():
    import time

    para = "条款{p}之{i}，甲方应当按照本合同约定的时间和方式向乙方支付合同价款，并提供必要的技术资料。\n"
    text = "\f".join("".join(para.format(p=p, i=i) for i in range(20)) for p in range(500))  # 500 pages
    t = time.perf_counter()
    out, _ = clean_text(text)
    assert time.perf_counter() - t < 10
    assert len(out) > 0.9 * len(text.replace("\n", "").replace("\f", ""))
