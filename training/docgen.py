"""Generated business documents with gold spans, records and classes.

Training and evaluation data for the extractor that the project writes itself (no data hub
is reachable): contracts, hotline tickets, invoices, CVs, medical reports, insurance claims,
traffic accident reports and agreements (loans, IOUs and promissory notes, equity and asset
transfers, leases, purchase and service contracts beside guarantors and witnesses), in
Chinese and English (some Chinese ones with bilingual
headings), laid out the way such documents are (letterheads, numbered clauses, ``key：value``
forms, flattened tables, free-text narratives), with many value formats (``¥2,380.00元``,
``人民币12万元``, ``壹拾贰万元整``, ``人民币壹佰贰拾万元整（¥1,200,000.00）``, ``USD 12,000.00``,
``$1.2 million``; ``2023年9月12日``,
``2023-09-12``, ``Sept. 12, 2023``; ``+86 138 1234 5678``, ``010-12345678``; valid 18-digit
resident ID numbers; licence plates ``京A·12345``)::

    from training.docgen import generate_documents, KINDS, SYNONYMS, write_jsonl
    docs = generate_documents(n=200, seed=0, split="heldout", kinds=["ticket"], lang="zh")
    write_jsonl("tickets.jsonl", docs)   # readable by training.datasets.load_jsonl

Each document is a JSON-serialisable dict::

    {"id": "zh-contract-0001", "kind": "contract", "lang": "zh", "template": "zh_contract_purchase",
     "text": "...",
     "entities": [{"label": "甲方", "start": 12, "end": 24, "text": "..."}],
     "label_set": ["合同编号", "甲方", ...],     # every field of the kind, present or not
     "records": [{"type": "付款", "fields": {"付款节点": [{"start", "end", "text"}], ...}}],
     "classes": {"工单类别": "投诉", "紧急程度": "高"},
     "class_choices": {"工单类别": [...], "紧急程度": [...]},
     "values": [{"label": "合同金额", "start": 40, "end": 52, "type": "money",
                 "value": {"amount": "120000.00", "currency": "CNY"}}]}

What is true of every document:

- ``text[start:end] == text`` for every entity and every record value; labels are the
  canonical field names of :data:`FIELDS` (``SYNONYMS`` lists other names a user may type).
- **Where a value is labelled.**  A value is labelled at the place the template writes it
  *as that field* (its slot: ``甲方：X``, the ``驾驶人`` cell of a vehicle line).  A field
  outside records has one slot, the first place the template writes it; the same string
  written elsewhere -- repeated in a signature block or a narrative, or standing for another
  field -- is plain text there.  Each record has its own slots, so a value that two records
  share (two vehicles of the same type) is two entities, one per record.  Values of one
  document are drawn so that none is written inside another (``2023/9/1`` never beside
  ``2023/9/12``); still, about 0.5% of the entities have their text written earlier in
  another role (a suggestion ticket's story already names what the caller asks for, a
  desired position equals a past job title), and their gold span stays at the slot.
- ``label_set`` is the kind's whole field list (:data:`FIELDS`), so fields a document does
  not mention are asked too and their gold answer is None.
- ``records`` (contract payments, invoice line items, CV jobs, traffic vehicles; ``[]`` for
  the other kinds) hold 1-4 records; every record value is also an entity, values of
  different records never overlap, each record is written in its own line(s) or
  sentence(s), and values may repeat across records (same vehicle type, same position,
  equal instalments), so grouping by text alone fails.  Record fields are listed in the
  order of :data:`RECORD_TYPES`.
- ``classes`` / ``class_choices``: tickets only (工单类别 咨询/投诉/求助/建议/表扬 and
  紧急程度 高/中/低); the gold class follows from the text (a complaint reads like one, an
  urgent ticket says so).  ``{}`` for the other kinds.
- ``values`` (optional key) holds what the generator meant for money, dates, phones,
  integers, percentages and ID numbers, in the formats of :mod:`extractor.normalize`.
- Entity values hold no line break and no full-width comma ``，`` (the model's answer
  separators).  Texts are 200-1,500 characters (:data:`SHORT_CHARS`); agreements are
  200-2,000 (:data:`AGREEMENT_CHARS`: English ones run longer), and about a fifth of them
  (not IOUs and promissory notes) are long, 2,500-4,000 (:data:`LONG_CHARS`), with clauses
  that hold no field (representations, confidentiality, notices …); the signature blocks of
  long ones name nobody, so that no training window of such a text holds a party's name
  away from its slot.
- Every field of :data:`RELATION_FIELDS` is relation-style: a person together with their
  title (``张伟（总经理）``, ``总经理张伟``, ``Emily Chen (Finance Manager)``); the gold span is
  the whole phrase.  Agreements have no relation field.

Agreements (kind ``agreement``; the hard cases: ``generate_documents(kinds=["agreement"])``,
``python -m training.docgen --kinds agreement``) teach which party plays which role and which
date is which:

- Their ``label_set`` has 25 fields, most of them absent from any one document (a loan has
  no 出租方, a lease no 年利率), so asked fields whose answer is None are common.  Each value
  has one field: the roles 出借人/借款人, 转让方/受让方, 出租方/承租方, 保证人 (the only field
  with several values: 丙方 and 丁方, two guarantors), and 甲方/乙方 only in purchase and
  service contracts, where 甲方 is always the buyer or client (so the synonyms 买方, 委托方,
  buyer, client hold) and the other agreements never write 甲方/乙方; the amounts 合同金额
  (purchase and service contracts), 借款金额, 转让价款, 月租金, 押金; 年利率; the dates
  签约日期, 开始日期, 结束日期 (of the term), 交付日期, 付款日期, 还款日期, 交割日期; 适用法律
  (``中华人民共和国法律``, ``the laws of the State of New York``) and 争议解决, the forum
  (``北京仲裁委员会``, ``上海市静安区人民法院``, ``arbitration administered by the Singapore
  International Arbitration Centre``, ``the courts of Singapore``).
- A party's gold span is its name only: the role word (``丙方（保证人）：``, ``Party C``),
  ``（以下简称“买方”）`` / ``(the "Lender")``, ``（盖章）`` and the details written beside it
  (address, legal representative, agent, ID number, credit code, phone) stay outside; an
  amount, often in words and figures as one span, stands beside instalments, a unit price,
  a deposit, a performance bond, interest, a registered capital or a share percentage that
  are no field; the guarantor, a witness (丁方（见证方）, no field) and the legal
  representatives are people and companies beside the parties.
- The parties come in either order (the borrower, the tenant, 乙方 first in about a third),
  under varying role words (出借人/贷款人/出借方, Landlord/Lessor, 甲方（采购方）/买方（甲方）).
- Dates of different kinds in one document are different dates, each labelled once in its
  own clause (a loan names its 还款日期 only where its term has no 结束日期: they would be
  the same date).

Templates are named ``{lang}_{kind}_{layout}`` and partitioned once into ``train`` and
``heldout`` (:data:`TEMPLATES`): within each kind, sorted by name, every third template
starting with the second is heldout (about a third, both languages having some).  Adding
the agreements and the role-word tickets changed which documents a given seed gives: figures
measured on ``--n 60 --seed 1 --split heldout`` before them are not comparable with later ones.
Tickets include six layouts (``*_ticket_portal``, ``referral``, ``webform``, ``transfer``,
``visit``, ``wechat``) that introduce the caller with a role word (``消费者郑伟``,
``市民王女士``, ``resident Mary Smith``): the gold 来电人 is the name only (``郑伟``,
``王女士``), and the company complained about (涉及单位, also asked as 被投诉单位) stands
apart from the complainant (来电人, also 投诉人); their names sort after the older tickets',
so those keep their split.  Likewise the agreement layouts added after the first fourteen
(``en_agreement_share``, ``tenancy``, ``termloan``; ``zh_agreement_transfer``, ``working``)
sort after them in each language, three English ones at once, so no template ever moved from
one split to the other (tests pin both).
Output depends only on the arguments (``random.Random`` objects seeded from ``seed``; the
global RNG is never used).  Pure Python; ``python -m training.docgen --help``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from extractor.normalize import id_check_digit

__all__ = [
    "AGREEMENT_CHARS",
    "CLASS_CHOICES",
    "FIELDS",
    "KINDS",
    "LONG_CHARS",
    "RECORD_TYPES",
    "RELATION_FIELDS",
    "SHORT_CHARS",
    "SYNONYMS",
    "TEMPLATES",
    "generate_documents",
    "main",
    "write_jsonl",
]

KINDS: tuple[str, ...] = (
    "contract",
    "ticket",
    "invoice",
    "cv",
    "medical",
    "insurance",
    "traffic",
    "agreement",
)

FIELDS: dict[str, list[str]] = {
    "contract": ["合同编号", "甲方", "乙方", "标的", "合同金额", "签约日期", "签约地点", "有效期至",
                 "违约金", "负责人", "联系电话", "付款节点", "付款金额"],
    "ticket": ["工单编号", "来电时间", "来电人", "联系电话", "身份证号", "事发地址", "涉及单位",
               "核心诉求", "承办人", "办结时限"],
    "invoice": ["发票号码", "开票日期", "购买方", "销售方", "纳税人识别号", "品名", "数量", "单价",
                "金额", "税额", "价税合计", "负责人"],
    "cv": ["姓名", "性别", "出生日期", "联系电话", "电子邮箱", "身份证号", "毕业院校", "学历", "专业",
           "期望职位", "期望薪资", "公司", "职位", "起止时间", "证明人"],
    "medical": ["患者姓名", "性别", "年龄", "身份证号", "就诊日期", "医院", "科室", "住院号", "诊断",
                "主治医师", "医疗费用", "联系电话"],
    "insurance": ["保单号", "保险公司", "投保人", "被保险人", "身份证号", "出险日期", "出险地点",
                  "出险原因", "保险金额", "理赔金额", "负责人", "联系电话"],
    "traffic": ["事故编号", "事故时间", "事故地点", "天气", "伤亡情况", "车牌号", "驾驶人", "车辆类型",
                "损失情况", "责任认定", "处理民警"],
    "agreement": ["合同编号", "甲方", "乙方", "保证人", "出借人", "借款人", "转让方", "受让方", "出租方",
                  "承租方", "合同金额", "借款金额", "年利率", "转让价款", "月租金", "押金", "签约日期",
                  "开始日期", "结束日期", "交付日期", "付款日期", "还款日期", "交割日期", "适用法律",
                  "争议解决"],
}  # fmt: skip
"""Kind -> its canonical field names (the ``label_set`` of each of its documents)."""

RECORD_TYPES: dict[str, tuple[str, list[str]]] = {
    "contract": ("付款", ["付款节点", "付款金额"]),
    "invoice": ("明细", ["品名", "数量", "单价", "金额"]),
    "cv": ("工作经历", ["公司", "职位", "起止时间"]),
    "traffic": ("车辆", ["车牌号", "驾驶人", "车辆类型", "损失情况"]),
}
"""Kind -> (record type, its fields); kinds not listed have no records."""

RELATION_FIELDS: dict[str, str] = {
    "contract": "负责人",
    "ticket": "承办人",
    "invoice": "负责人",
    "cv": "证明人",
    "medical": "主治医师",
    "insurance": "负责人",
    "traffic": "处理民警",
}
"""Kind -> its relation-style field (name and title in one span)."""

CLASS_CHOICES: dict[str, dict[str, list[str]]] = {
    "ticket": {"工单类别": ["咨询", "投诉", "求助", "建议", "表扬"], "紧急程度": ["高", "中", "低"]},
}
"""Kind -> class field -> choices (only tickets are classified)."""

SYNONYMS: dict[str, list[str]] = {
    "合同编号": ["合同号", "协议编号", "contract number", "contract no."],
    "甲方": ["买方", "委托方", "发包方", "Party A", "buyer", "client"],
    "乙方": ["卖方", "受托方", "承包方", "供应商", "Party B", "seller", "supplier", "service provider"],
    "标的": ["合同标的", "采购内容", "服务内容", "subject matter", "scope"],
    "合同金额": ["合同总价", "合同价款", "总金额", "contract amount", "contract price", "total price"],
    "签约日期": ["签订日期", "签署日期", "合同日期", "signing date", "date signed"],
    "签约地点": ["签订地点", "签署地点", "place of signing"],
    "有效期至": ["到期日", "合同终止日期", "截止日期", "expiry date", "valid until"],
    "违约金": ["违约赔偿", "罚金", "liquidated damages", "penalty"],
    "负责人": ["联系人", "经办人", "项目负责人", "当前负责人", "person in charge", "contact person"],
    "联系电话": ["电话", "手机号", "联系方式", "phone", "phone number", "telephone", "contact number"],
    "付款节点": ["付款条件", "付款时间", "支付节点", "payment milestone", "payment term"],
    "付款金额": ["支付金额", "分期金额", "payment amount", "installment"],
    "工单编号": ["工单号", "受理编号", "ticket number", "ticket id", "case number"],
    "来电时间": ["受理时间", "来电日期", "反映时间", "call time", "date of call"],
    "来电人": ["反映人", "诉求人", "来电市民", "投诉人", "caller", "complainant"],
    "身份证号": ["身份证号码", "公民身份号码", "证件号码", "ID number", "national ID"],
    "事发地址": ["事发地点", "地址", "问题地址", "location", "address"],
    "涉及单位": [
        "被反映单位",
        "涉事单位",
        "相关单位",
        "被投诉单位",
        "company involved",
        "organization",
        "company complained about",
    ],
    "核心诉求": ["诉求", "主要诉求", "要求", "request", "main request"],
    "承办人": ["办理人", "处理人", "承办单位负责人", "handler", "case officer"],
    "办结时限": ["办理期限", "截止时间", "回复期限", "deadline", "due date"],
    "发票号码": ["发票号", "票号", "invoice number", "invoice no."],
    "开票日期": ["发票日期", "日期", "invoice date", "date of issue"],
    "购买方": ["购货单位", "买方", "客户", "buyer", "bill to", "customer"],
    "销售方": ["销货单位", "卖方", "开票单位", "seller", "vendor", "supplier"],
    "纳税人识别号": ["税号", "统一社会信用代码", "tax id", "taxpayer id"],
    "品名": ["货物名称", "商品名称", "项目名称", "item", "description", "product"],
    "数量": ["件数", "qty", "quantity"],
    "单价": ["价格", "unit price", "rate"],
    "金额": ["小计", "行金额", "amount", "line total"],
    "税额": ["增值税", "税金", "tax", "VAT"],
    "价税合计": ["合计金额", "总计", "应付金额", "total", "total due", "amount due"],
    "姓名": ["人名", "名字", "候选人", "name", "candidate", "person"],
    "性别": ["gender", "sex"],
    "出生日期": ["生日", "出生年月", "date of birth", "birthday", "DOB"],
    "电子邮箱": ["邮箱", "email", "e-mail"],
    "毕业院校": ["学校", "毕业学校", "school", "university"],
    "学历": ["最高学历", "degree", "education level"],
    "专业": ["所学专业", "major", "field of study"],
    "期望职位": ["求职意向", "应聘职位", "desired position", "target role"],
    "期望薪资": ["期望工资", "薪资要求", "expected salary", "salary expectation"],
    "公司": ["任职公司", "工作单位", "雇主", "company", "employer"],
    "职位": ["职务", "岗位", "title", "position", "job title"],
    "起止时间": ["任职时间", "工作时间", "在职时间", "period", "dates of employment"],
    "证明人": ["推荐人", "背景调查联系人", "referee", "reference"],
    "患者姓名": ["病人姓名", "姓名", "患者", "patient", "patient name"],
    "年龄": ["岁数", "age"],
    "就诊日期": ["入院日期", "门诊日期", "visit date", "admission date"],
    "医院": ["医疗机构", "就诊医院", "hospital", "medical center"],
    "科室": ["就诊科室", "department", "ward"],
    "住院号": ["病案号", "门诊号", "medical record number", "MRN"],
    "诊断": ["诊断结果", "疾病", "病名", "diagnosis", "disease"],
    "主治医师": ["医生", "经治医师", "attending physician", "doctor"],
    "医疗费用": ["医药费", "费用合计", "medical expenses", "total charges"],
    "保单号": ["保险单号", "保单号码", "policy number", "policy no."],
    "保险公司": ["保险人", "承保公司", "insurer", "insurance company"],
    "投保人": ["要保人", "policyholder", "applicant"],
    "被保险人": ["受保人", "insured", "insured person"],
    "出险日期": ["事故日期", "出险时间", "date of loss", "incident date"],
    "出险地点": ["事故地点", "出险地址", "place of loss", "incident location"],
    "出险原因": ["事故原因", "损失原因", "cause of loss", "cause"],
    "保险金额": ["保额", "sum insured", "coverage amount"],
    "理赔金额": ["赔付金额", "赔款", "claim amount", "payout"],
    "事故编号": ["事故认定书编号", "案件编号", "report number", "accident number"],
    "事故时间": ["发生时间", "事故日期", "time of accident", "accident date"],
    "事故地点": ["发生地点", "事故发生地", "accident location", "place of accident"],
    "天气": ["天气情况", "weather"],
    "伤亡情况": ["人员伤亡", "伤亡", "casualties", "injuries"],
    "车牌号": ["号牌号码", "车牌", "车牌号码", "license plate", "plate number"],
    "驾驶人": ["司机", "驾驶员", "当事人", "driver"],
    "车辆类型": ["车型", "车辆种类", "vehicle type"],
    "损失情况": ["车辆损失", "损坏情况", "damage", "vehicle damage"],
    "责任认定": ["事故责任", "责任划分", "liability", "fault determination"],
    "处理民警": ["交警", "办案民警", "investigating officer", "police officer"],
    "保证人": ["担保人", "保证方", "guarantor", "surety"],
    "出借人": ["贷款人", "出借方", "债权人", "lender", "creditor"],
    "借款人": ["借款方", "债务人", "borrower", "debtor"],
    "转让方": ["出让方", "transferor", "assignor"],
    "受让方": ["受让人", "transferee", "assignee"],
    "出租方": ["出租人", "lessor", "landlord"],
    "承租方": ["承租人", "lessee", "tenant"],
    "借款金额": ["借款本金", "贷款金额", "loan amount", "principal"],
    "年利率": ["借款利率", "利率", "interest rate", "annual interest rate"],
    "转让价款": ["转让价格", "股权转让款", "transfer price", "consideration"],
    "月租金": ["每月租金", "租金", "monthly rent", "rent"],
    "押金": ["租赁押金", "房屋押金", "deposit", "security deposit"],
    "开始日期": ["起始日期", "起始日", "start date", "commencement date"],
    "结束日期": ["终止日期", "届满日期", "end date", "termination date"],
    "交付日期": ["交货日期", "交付时间", "delivery date", "handover date"],
    "付款日期": ["支付日期", "付款日", "payment date", "date of payment"],
    "还款日期": ["还款日", "到期还款日", "repayment date", "maturity date"],
    "交割日期": ["交割日", "closing date", "completion date"],
    "适用法律": ["准据法", "法律适用", "governing law", "applicable law"],
    "争议解决": ["争议解决方式", "争议解决机构", "dispute resolution", "forum"],
    "工单类别": ["诉求类型", "工单类型", "ticket category", "category"],
    "紧急程度": ["优先级", "紧急度", "urgency", "priority"],
}
"""Canonical field name -> other names a user might type (Chinese and English)."""


# --------------------------------------------------------------------------------------
# Values: a text as written plus what it means
# --------------------------------------------------------------------------------------


class _Val:
    """A value as the document writes it; ``type``/``value`` say what it means (or None)."""

    __slots__ = ("text", "type", "value")

    def __init__(self, text: str, type: str | None = None, value: Any = None):
        self.text = text
        self.type = type
        self.value = value


_DIGITS_CAP = "零壹贰叁肆伍陆柒捌玖"


def _cap4(n: int) -> str:
    out, zero = "", False
    for i, unit in enumerate(("仟", "佰", "拾", "")):
        d = n // 10 ** (3 - i) % 10
        if d == 0:
            zero = zero or bool(out)
        else:
            out += ("零" if zero else "") + _DIGITS_CAP[d] + unit
            zero = False
    return out


def _capital(amount: Decimal) -> str:
    """``Decimal("120000")`` -> ``壹拾贰万元整`` (大写金额, amounts below 1亿)."""
    cents = int((amount * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    hi, lo = divmod(yuan, 10000)
    s = _cap4(hi) + "万" if hi else ""
    if lo:
        s += ("零" if hi and lo < 1000 else "") + _cap4(lo)
    s = (s or "零") + "元"
    if not jiao and not fen:
        return s + "整"
    s += _DIGITS_CAP[jiao] + "角" if jiao else "零"
    return s + (_DIGITS_CAP[fen] + "分" if fen else "")


def _money(rng: random.Random, amount: Decimal, lang: str, styles: Iterable[str] | None = None) -> _Val:
    """``amount`` written in one of the styles of ``lang`` (those that can write it exactly)."""
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole = amount == amount.to_integral_value()
    f2, f0 = f"{amount:,.2f}", f"{int(amount):,}"
    options: dict[str, tuple[str, str]] = {}
    if lang == "zh":
        options.update({
            "yen": (f"¥{f2}元" if rng.random() < 0.5 else f"¥{f2}", "CNY"),
            "rmb": (f"人民币{f2}元", "CNY"), "yuan": (f"{f2}元", "CNY"), "RMB": (f"RMB {f2}", "CNY"),
            "fullwidth": (f"￥{f2}", "CNY"),
        })  # fmt: skip
        if whole and amount < 100_000_000:
            options["capital"] = (("人民币" if rng.random() < 0.5 else "") + _capital(amount), "CNY")
        if amount >= 10000 and (amount / 1000) == (amount / 1000).to_integral_value():
            wan = amount / 10000
            text = f"{wan:f}".rstrip("0").rstrip(".")
            options["wan"] = (f"人民币{text}万元" if rng.random() < 0.5 else f"{text}万元", "CNY")
    else:
        options.update({"usd": (f"USD {f2}", "USD"), "dollar": (f"${f2}", "USD"), "cny": (f"CNY {f2}", "CNY"),
                        "rmb": (f"RMB {f2}", "CNY")})  # fmt: skip
        if whole:
            options["usdollar"] = (f"US${f0}", "USD")
        if amount >= 1_000_000 and (amount / 100_000) == (amount / 100_000).to_integral_value():
            m = f"{amount / 1_000_000:f}".rstrip("0").rstrip(".")
            options["million"] = (f"${m} million", "USD")
    if styles and "bare" in styles:  # a number in a priced table, no currency written
        options["bare"] = (f2, None)
    keys = [k for k in (styles or options) if k in options] or list(options)
    text, currency = options[rng.choice(keys)]
    return _Val(text, "money", {"amount": f"{amount:.2f}", "currency": currency})


_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]  # fmt: skip
_EN_ABBR = ["Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]


def _date(rng: random.Random, d: _dt.date, lang: str, styles: Iterable[str] | None = None) -> _Val:
    y, m, dd = d.year, d.month, d.day
    if lang == "zh":
        options = {"cn": f"{y}年{m}月{dd}日", "iso": f"{y}-{m:02d}-{dd:02d}", "dot": f"{y}.{m:02d}.{dd:02d}",
                   "slash": f"{y}/{m}/{dd}"}  # fmt: skip
    else:
        options = {"abbr": f"{_EN_ABBR[m - 1]} {dd}, {y}", "long": f"{_EN_MONTHS[m - 1]} {dd}, {y}",
                   "dmy": f"{dd} {_EN_MONTHS[m - 1]} {y}", "iso": f"{y}-{m:02d}-{dd:02d}",
                   "us": f"{m:02d}/{dd:02d}/{y}"}  # fmt: skip
        if dd > 12:  # day-first numeric dates only where they cannot be read month-first
            options["uk"] = f"{dd:02d}/{m:02d}/{y}"
    keys = [k for k in (styles or options) if k in options] or list(options)
    return _Val(options[rng.choice(keys)], "date", d.isoformat())


def _rand_date(rng: random.Random, start: int = 2021, end: int = 2024) -> _dt.date:
    first = _dt.date(start, 1, 1).toordinal()
    return _dt.date.fromordinal(rng.randrange(first, _dt.date(end, 12, 31).toordinal()))


def _phone(rng: random.Random, lang: str, landline: bool | None = None) -> _Val:
    if landline is None:
        landline = rng.random() < 0.3
    if landline:
        area, local = rng.choice(
            [("10", 8), ("21", 8), ("20", 8), ("755", 8), ("571", 8), ("25", 8), ("28", 8)]
        )
        digits = str(rng.randint(2, 8)) + "".join(str(rng.randrange(10)) for _ in range(local - 1))
        text = rng.choice(
            [f"0{area}-{digits}", f"(0{area}) {digits[:4]} {digits[4:]}", f"+86 {area} {digits}"]
        )
        return _Val(text, "phone", f"+86-{area}-{digits}")
    digits = rng.choice(["13", "15", "18", "17", "19"]) + "".join(str(rng.randrange(10)) for _ in range(9))
    forms = [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
             f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"]  # fmt: skip
    if lang == "en":
        forms = forms[1:]
    return _Val(rng.choice(forms), "phone", "+86" + digits)


_REGIONS = ["110105", "110108", "310104", "310115", "440106", "440305", "330106", "320102", "510107",
            "420103", "610113", "120101", "500103", "370102", "350203"]  # fmt: skip


def _id_number(rng: random.Random, born: _dt.date | None = None, male: bool | None = None) -> _Val:
    born = born or _rand_date(rng, 1958, 2003)
    seq = rng.randrange(0, 100) * 10 + (rng.choice([1, 3, 5, 7, 9]) if male else rng.choice([0, 2, 4, 6, 8]))
    first17 = f"{rng.choice(_REGIONS)}{born:%Y%m%d}{seq:03d}"
    value = first17 + id_check_digit(first17)
    return _Val(value, "id_number", value)


# --------------------------------------------------------------------------------------
# Names, companies, places
# --------------------------------------------------------------------------------------

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAMES += ["欧阳", "司马", "上官", "诸葛"]
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛超霞平刚华建志红玉梅晨宇浩然轩欣怡远嘉俊雨涵博文萱鸣佳琪佑曦子昊睿泽诗涛婷露颖凯亮斌鹏晓慧琳彬毅飞"
)
_EN_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
             "Elizabeth", "William", "Susan", "Richard", "Jessica", "Thomas", "Sarah", "Daniel", "Karen",
             "Emily", "Olivia", "Ethan", "Sophia", "Lucas", "Grace", "Henry", "Chloe", "Nathan", "Megan"]  # fmt: skip
_EN_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
            "Anderson", "Taylor", "Moore", "Martin", "Walker", "Hall", "Young", "King", "Wright", "Chen",
            "Wang", "Zhang", "Liu", "Patel", "Nguyen", "Kim", "O'Brien", "Murphy", "Brooks", "Foster"]  # fmt: skip
_PINYIN_SUR = ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma"]
_PINYIN_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yang", "Jie", "Tao", "Hao", "Xin", "Yu",
                 "Ming", "Hui", "Lin", "Peng", "Kai", "Ying", "Xiaoming", "Jiahui", "Zihan"]  # fmt: skip

_CITIES = {
    "北京": ("京", "AEFNQ", ["朝阳区", "海淀区", "东城区", "丰台区"]),
    "上海": ("沪", "ABCD", ["浦东新区", "徐汇区", "静安区", "闵行区"]),
    "广州": ("粤", "A", ["天河区", "越秀区", "海珠区"]),
    "深圳": ("粤", "B", ["南山区", "福田区", "宝安区"]),
    "杭州": ("浙", "A", ["西湖区", "滨江区", "余杭区", "拱墅区"]),
    "南京": ("苏", "A", ["鼓楼区", "玄武区", "建邺区"]),
    "成都": ("川", "A", ["武侯区", "锦江区", "高新区"]),
    "武汉": ("鄂", "A", ["江汉区", "洪山区", "武昌区"]),
    "西安": ("陕", "A", ["雁塔区", "碑林区", "未央区"]),
    "天津": ("津", "ABC", ["和平区", "河西区", "南开区"]),
    "重庆": ("渝", "AB", ["渝中区", "江北区", "沙坪坝区"]),
    "苏州": ("苏", "E", ["姑苏区", "工业园区", "吴中区"]),
}
_PINYIN_CITY = {"北京": "Beijing", "上海": "Shanghai", "广州": "Guangzhou", "深圳": "Shenzhen", "杭州": "Hangzhou",
                "南京": "Nanjing", "成都": "Chengdu", "武汉": "Wuhan", "西安": "Xi'an", "天津": "Tianjin",
                "重庆": "Chongqing", "苏州": "Suzhou"}  # fmt: skip
_ROADS = ["建国路", "中山路", "人民路", "解放大道", "长江路", "南京西路", "科技园路", "文三路", "天府大道",
          "高新路", "淮海中路", "深南大道", "学院路", "滨江大道", "东风路"]  # fmt: skip
_EN_ROADS = [
    "Jianguo Road",
    "Zhongshan Road",
    "Renmin Road",
    "Changjiang Road",
    "Keji Road",
    "Binjiang Avenue",
]
_US_CITIES = ["San Francisco, CA 94105", "Austin, TX 78701", "Seattle, WA 98101", "Boston, MA 02110",
              "Chicago, IL 60601", "Denver, CO 80202", "Portland, OR 97204"]  # fmt: skip
_US_STREETS = ["Market Street", "Pine Avenue", "Oak Boulevard", "Lake Shore Drive", "Main Street", "Elm Road"]
_BRANDS = ["华信", "恒达", "盛世", "瑞丰", "鼎力", "中联", "天成", "宏图", "金桥", "博远", "新元", "海纳",
           "永安", "佳禾", "卓越", "星辰", "智联", "正泰", "万通", "远航"]  # fmt: skip
_INDUSTRIES = ["科技", "贸易", "建筑工程", "物流", "医疗器械", "食品", "信息技术", "环保科技", "文化传媒",
               "电子", "机械设备", "网络科技", "物业管理", "餐饮管理"]  # fmt: skip
_EN_BRANDS = ["Northwind", "Bluestone", "Apex", "Silverline", "Crescent", "Harbor", "Evergreen", "Summit",
              "Redwood", "Lumen", "Vertex", "Oakridge", "Pinnacle", "Brightway", "Ironbridge", "Clearwater"]  # fmt: skip
_EN_INDUSTRIES = ["Technologies", "Logistics", "Trading", "Medical Supplies", "Engineering", "Foods",
                  "Software", "Consulting", "Electronics", "Industrial"]  # fmt: skip


class _Pool:
    """Draws values for one document; a new value is never inside an earlier one or the
    reverse, so every value is found where it is written."""

    def __init__(self, rng: random.Random, lang: str):
        self.rng, self.lang, self.used = rng, lang, []

    def fits(self, s: str) -> bool:
        return not any(s != u and (s in u or u in s) for u in self.used)

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(200):
            s = make()
            if s not in self.used and self.fits(s):
                self.used.append(s)
                return s
        raise RuntimeError("could not draw a distinct value")  # pragma: no cover

    def val(self, make: Callable[[], _Val]) -> _Val:
        """A value whose text is neither inside an earlier value nor holds one (equal is fine),
        when one of 50 draws gives such a text (else the last draw)."""
        for _ in range(50):
            v = make()
            if self.fits(v.text):
                break
        self.used.append(v.text)
        return v

    def person(self, lang: str | None = None) -> str:
        r = self.rng
        if (lang or self.lang) == "zh":
            return self.unique(lambda: r.choice(_SURNAMES) + "".join(r.sample(_GIVEN, r.choice((1, 2, 2)))))
        if r.random() < 0.3:
            return self.unique(lambda: f"{r.choice(_PINYIN_GIVEN)} {r.choice(_PINYIN_SUR)}")
        return self.unique(lambda: f"{r.choice(_EN_FIRST)} {r.choice(_EN_LAST)}")

    def city(self) -> str:
        return self.rng.choice(list(_CITIES))

    def company(self, industry: str | None = None, lang: str | None = None) -> str:
        r = self.rng
        if (lang or self.lang) == "zh":
            return self.unique(
                lambda: r.choice(list(_CITIES)) + r.choice(_BRANDS) + (industry or r.choice(_INDUSTRIES))
                + r.choice(["有限公司", "有限公司", "股份有限公司", "有限责任公司"])
            )  # fmt: skip
        return self.unique(
            lambda: (
                f"{r.choice(_EN_BRANDS)} {industry or r.choice(_EN_INDUSTRIES)} "
                + r.choice(["Inc.", "Ltd.", "LLC", "Co., Ltd.", "Corp."])
            )
        )

    def address(self, city: str | None = None, lang: str | None = None) -> str:
        r = self.rng
        city = city or self.city()
        district = r.choice(_CITIES[city][2])
        if (lang or self.lang) == "zh":
            tail = r.choice(["", f"{r.randint(1, 30)}号楼{r.randint(1, 25)}{r.randint(1, 9):02d}室",
                             f"{r.choice(_BRANDS)}大厦{r.randint(2, 30)}层"])  # fmt: skip
            return self.unique(lambda: f"{city}市{district}{r.choice(_ROADS)}{r.randint(1, 999)}号{tail}")
        if r.random() < 0.5:
            return self.unique(
                lambda: f"{r.randint(10, 9999)} {r.choice(_US_STREETS)}, {r.choice(_US_CITIES)}"
            )
        return self.unique(
            lambda: (
                f"Room {r.randint(101, 2999)}, No. {r.randint(1, 999)} {r.choice(_EN_ROADS)}, {_PINYIN_CITY[city]}"
            )
        )

    def plate(self, city: str | None = None) -> str:
        r = self.rng
        province, letters, _ = _CITIES[city or self.city()]
        chars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

        def make() -> str:
            body = "".join(r.choice(chars if i < 2 else "0123456789") for i in range(5))
            sep = "·" if r.random() < 0.6 else ""
            return f"{province}{r.choice(letters)}{sep}{body}"

        return self.unique(make)

    def us_plate(self) -> str:
        r = self.rng
        return self.unique(
            lambda: (
                f"{r.randint(1, 9)}{''.join(r.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}{r.randint(100, 999)}"
            )
        )

    def code(self, prefix: str, digits: int) -> str:
        return self.unique(lambda: prefix + "".join(str(self.rng.randrange(10)) for _ in range(digits)))


_TITLES_ZH = [
    "总经理",
    "副总经理",
    "财务总监",
    "法务经理",
    "采购经理",
    "项目经理",
    "销售总监",
    "行政主管",
    "技术总监",
]
_TITLES_EN = ["General Manager", "Finance Manager", "Procurement Manager", "Project Manager", "Sales Director",
              "Legal Counsel", "Operations Director", "Chief Technology Officer"]  # fmt: skip


def _relation(rng: random.Random, name: str, title: str, lang: str) -> _Val:
    """A person with their title, as one span: ``张伟（总经理）`` / ``总经理张伟`` (relation-style)."""
    if lang == "zh":
        text = rng.choice([f"{name}（{title}）", f"{title}{name}", f"{name}({title})"])
    else:
        text = rng.choice([f"{name} ({title})", f"{title} {name}"])
    return _Val(text, "relation", {"name": name, "title": title})


def _int(text: str, value: int) -> _Val:
    return _Val(text, "integer", value)


# --------------------------------------------------------------------------------------
# The writer: text and gold spans built together
# --------------------------------------------------------------------------------------


_SLOT_RE = re.compile(r"\{([^{}|]+)(?:\|([^{}]*))?\}")


class _Writer:
    """Appends text; ``v`` appends a field value and records its gold span where it is written."""

    def __init__(self, facts: dict[str, Any], lang: str):
        self.f = facts
        self.lang = lang
        self.done: set[str] = set()
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.values: list[dict[str, Any]] = []
        self.distractors: list[dict[str, Any]] = []

    def t(self, *texts: str) -> None:
        for s in texts:
            self.parts.append(s)
            self.pos += len(s)

    def v(
        self,
        label: str,
        val: _Val | str | None = None,
        record: dict[str, Any] | None = None,
        multi: bool = False,
    ) -> None:
        """Write ``val`` (default: the fact ``label``) as a value of ``label``; with
        ``multi``, a further value of a field that has several (two guarantors) is
        labelled too (a text already labelled stays plain)."""
        if val is None:
            val = self.f[label] if record is None else record["_facts"][label]
        if isinstance(val, str):
            val = _Val(val)
        repeat = label in self.done
        if multi and repeat:
            repeat = any(e["label"] == label and e["text"] == val.text for e in self.entities)
        if record is None and repeat:  # a repeat of a labelled field: plain text
            self.t(val.text)
            return
        if record is None:
            self.done.add(label)
        start = self.pos
        self.t(val.text)
        span = {"start": start, "end": self.pos, "text": val.text}
        self.entities.append({"label": label, **span})
        if record is not None:
            record["fields"].setdefault(label, []).append(dict(span))
        if val.type in ("money", "date", "phone", "integer", "id_number", "percent"):
            self.values.append({"label": label, "start": start, "end": self.pos, "type": val.type,
                                "value": val.value})  # fmt: skip

    def d(self, kind: str, val: _Val | str | None) -> None:
        """Write ``val`` as plain text that is no field's value but stands beside them (an
        address, a legal representative, an instalment); where, is kept for the tests."""
        if val is None:
            return
        text = val.text if isinstance(val, _Val) else val
        start = self.pos
        self.t(text)
        self.distractors.append({"kind": kind, "start": start, "end": self.pos, "text": text})

    def has(self, label: str) -> bool:
        return self.f.get(label) is not None

    def kv(self, key: str, label: str, sep: str = "：", end: str = "\n") -> None:
        """``key：value`` + ``end`` when the fact is present; nothing otherwise."""
        if self.has(label):
            self.t(key, sep)
            self.v(label)
            self.t(end)

    def fmt(self, template: str, record: dict[str, Any] | None = None) -> None:
        """Write ``template`` with ``{field}`` slots filled (``{field|other text}``: the other
        text when the fact is absent; a bare ``{field}`` writes nothing then)."""
        pos = 0
        for m in _SLOT_RE.finditer(template):
            self.t(template[pos : m.start()])
            label, fallback = m.group(1), m.group(2)
            facts = record["_facts"] if record is not None else self.f
            if facts.get(label) is not None:
                self.v(label, facts[label], record)
            elif fallback:
                self.t(fallback)
            pos = m.end()
        self.t(template[pos:])

    def rec(self, rtype: str, facts: dict[str, _Val]) -> dict[str, Any]:
        r = {"type": rtype, "fields": {}, "_facts": facts}
        self.records.append(r)
        return r

    def text(self) -> str:
        return "".join(self.parts)


Template = Callable[[_Writer, random.Random], None]
_TEMPLATES: dict[str, tuple[str, str, Template]] = {}


def _template(name: str) -> Callable[[Template], Template]:
    lang, kind, _ = name.split("_", 2)

    def register(fn: Template) -> Template:
        _TEMPLATES[name] = (kind, lang, fn)
        return fn

    return register


def _maybe(rng: random.Random, p: float, make: Callable[[], Any]) -> Any:
    """``make()`` with probability ``p``, else None (a field the document leaves out)."""
    return make() if rng.random() < p else None


# --------------------------------------------------------------------------------------
# Contracts (records: payments)
# --------------------------------------------------------------------------------------

_SUBJECTS = {
    "zh": ["数控机床设备采购", "办公楼装修工程", "企业管理软件开发服务", "仓储物流服务", "广告投放服务",
           "中央空调设备租赁", "员工食堂餐饮服务", "网络安全运维服务"],
    "en": ["supply of CNC machine tools", "office renovation works", "custom ERP software development",
           "warehousing and logistics services", "digital advertising services", "lease of HVAC equipment",
           "IT security operations services"],
}  # fmt: skip
_NODES = {
    "zh": ["合同签订后5个工作日内", "货物到达甲方指定地点并验收合格后", "项目上线运行满30日后", "质保期满且无质量问题后",
           "乙方提交设计方案并经甲方确认后", "收到乙方开具的合法发票后10日内", "设备安装调试完成后", "首批货物交付后"],
    "en": ["within 10 business days after signing", "upon delivery and acceptance", "upon completion of installation",
           "after the warranty period expires", "upon approval of the design", "within 30 days of receipt of invoice",
           "upon go-live of the system", "upon delivery of the first batch"],
}  # fmt: skip
_SPLITS = [
    [30, 70],
    [50, 50],
    [30, 60, 10],
    [20, 30, 40, 10],
    [40, 40, 20],
    [25, 25, 25, 25],
    [100],
    [60, 40],
]


def _contract_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    total = Decimal(
        rng.choice([rng.randint(2, 300) * 1000, rng.randint(5, 90) * 10000, rng.randint(1000, 99999) * 10])
    )
    signed = _rand_date(rng)
    f: dict[str, Any] = {
        "合同编号": _Val(
            pool.code(rng.choice(["HT-", "CG", "XS-", "CTR-", "SA-"]) + str(signed.year) + "-", 5)
        ),
        "甲方": _Val(pool.company()),
        "乙方": _Val(pool.company()),
        "标的": _Val(rng.choice(_SUBJECTS[lang])),
        "合同金额": pool.val(lambda: _money(rng, total, lang)),
        "签约日期": pool.val(lambda: _date(rng, signed, lang)),
        "city": pool.city(),
    }
    f["签约地点"] = _maybe(rng, 0.7, lambda: _Val(f"{f['city']}市{rng.choice(_CITIES[f['city']][2])}" if lang == "zh"
                                                    else f"{_PINYIN_CITY[f['city']]}, China"))  # fmt: skip
    f["有效期至"] = _maybe(
        rng,
        0.6,
        lambda: pool.val(
            lambda: _date(rng, signed + _dt.timedelta(days=rng.choice([364, 365, 729, 1095])), lang)
        ),
    )
    f["违约金"] = _maybe(
        rng, 0.6, lambda: pool.val(lambda: _money(rng, total * rng.choice([5, 10, 20]) / 100, lang))
    )
    titles = _TITLES_ZH if lang == "zh" else _TITLES_EN
    f["负责人"] = _maybe(rng, 0.8, lambda: _relation(rng, pool.person(), rng.choice(titles), lang))
    f["联系电话"] = _maybe(rng, 0.7, lambda: pool.val(lambda: _phone(rng, lang)))
    split = rng.choice(_SPLITS)
    nodes = rng.sample(_NODES[lang], len(split))
    style = [
        rng.choice(["yen", "rmb", "yuan", "wan", "capital"] if lang == "zh" else ["usd", "dollar", "cny"])
    ]
    by_pct: dict[int, _Val] = {}
    f["_records"] = []
    for pct, node in zip(split, nodes):
        if pct not in by_pct:  # equal instalments are written alike
            by_pct[pct] = pool.val(lambda pct=pct: _money(rng, total * pct / 100, lang, style))
        f["_records"].append({"付款节点": _Val(node), "付款金额": by_pct[pct], "pct": pct})
    return f


_CN_ORD = "一二三四五六七八九十"


@_template("zh_contract_purchase")
def _zh_contract_purchase(w: _Writer, rng: random.Random) -> None:
    w.fmt("采 购 合 同\n\n合同编号：{合同编号}\n\n甲方（买方）：{甲方}\n乙方（卖方）：{乙方}\n\n")
    w.t(
        "根据《中华人民共和国民法典》及有关法律法规，甲乙双方本着平等自愿、诚实信用的原则，经协商一致，订立本合同。\n\n"
    )
    w.fmt(
        "第一条 采购内容：{标的}，具体规格详见附件清单。\n第二条 合同金额：本合同总价为{合同金额}（含税）。\n第三条 付款方式：\n"
    )
    for i, r in enumerate(w.f["_records"]):
        w.fmt(f"（{_CN_ORD[i]}）{{付款节点}}，甲方向乙方支付{{付款金额}}；\n", w.rec("付款", r))
    w.t("第四条 交货与验收：乙方应按约定时间交货，甲方在收货后七日内完成验收。\n")
    if w.has("违约金"):
        w.fmt("第五条 违约责任：任何一方违约的，应向守约方支付违约金{违约金}。\n")
    if w.has("有效期至"):
        w.fmt("第六条 本合同自双方签字盖章之日起生效，有效期至{有效期至}。\n")
    w.fmt("\n签订日期：{签约日期}\n")
    w.kv("签订地点", "签约地点")
    w.fmt("甲方代表：{负责人|（签字）}\n")
    w.kv("联系电话", "联系电话")
    w.t("乙方（盖章）：", w.f["乙方"].text, "\n")


@_template("zh_contract_service")
def _zh_contract_service(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "技术服务合同\n编号：{合同编号}\n\n委托方：{甲方}（以下简称“甲方”）\n受托方：{乙方}（以下简称“乙方”）\n\n"
    )
    w.fmt("甲乙双方于{签约日期}{签约地点|}就{标的}事宜达成如下协议：\n")
    w.fmt(
        "一、服务内容：乙方为甲方提供{标的}，并指派专人驻场支持。\n二、服务费用：服务费总额为{合同金额}，分期支付如下。\n"
    )
    w.t("付款节点 | 付款金额 | 比例\n")
    for r in w.f["_records"]:
        w.fmt(f"{{付款节点}} | {{付款金额}} | {r['pct']}%\n", w.rec("付款", r))
    w.t("三、保密条款：双方对在合作中知悉的商业秘密负有保密义务。\n")
    w.t("四、违约责任：一方违约的，应赔偿对方因此遭受的损失")
    w.fmt("，并支付违约金{违约金}。\n" if w.has("违约金") else "。\n")
    w.fmt("五、合同期限：自签订之日起至{有效期至|项目验收合格之日}止。\n\n")
    w.fmt("甲方项目负责人：{负责人|待定}\n")
    w.kv("电话", "联系电话")
    w.t("（以下无正文）\n")


@_template("zh_contract_lease")
def _zh_contract_lease(w: _Writer, rng: random.Random) -> None:
    w.fmt("设备租赁协议书\n\n协议编号 {合同编号}\n出租方（乙方）：{乙方}\n承租方（甲方）：{甲方}\n")
    w.fmt("租赁标的：{标的}\n租金总额：{合同金额}\n签署日期：{签约日期}\n")
    w.kv("签署地点", "签约地点")
    w.kv("租期届满日", "有效期至")
    w.t("\n租金支付安排：\n")
    for i, r in enumerate(w.f["_records"], 1):
        w.fmt(f"{i}. 甲方应于{{付款节点}}支付租金{{付款金额}}。\n", w.rec("付款", r))
    w.t("\n双方约定：租赁期间设备的日常维护由甲方负责，重大故障由乙方负责维修；甲方不得转租。")
    if w.has("违约金"):
        w.fmt("甲方逾期支付租金超过三十日的，乙方有权解除协议并要求甲方支付违约金{违约金}。")
    w.t("\n\n")
    w.fmt("甲方授权代表：{负责人|（签字）}")
    w.fmt("\n联系方式：{联系电话|见附件}\n")


@_template("zh_contract_bilingual")
def _zh_contract_bilingual(w: _Writer, rng: random.Random) -> None:
    w.fmt("采购合同 PURCHASE CONTRACT\n合同编号 Contract No.: {合同编号}\n签订日期 Date: {签约日期}\n")
    w.kv("签订地点 Place", "签约地点", ": ")
    w.fmt("\n甲方 Party A (Buyer): {甲方}\n乙方 Party B (Seller): {乙方}\n\n1. 合同标的 Subject: {标的}\n")
    w.fmt("2. 合同总价 Total Price: {合同金额}\n3. 付款 Payment:\n")
    for r in w.f["_records"]:
        w.fmt("   - {付款节点}：{付款金额}\n", w.rec("付款", r))
    w.kv("4. 违约金 Liquidated Damages", "违约金", ": ")
    w.kv("5. 有效期至 Valid Until", "有效期至", ": ")
    w.t(
        "\n本合同一式两份，中英文版本具有同等效力。This contract is made in duplicate in Chinese and English.\n"
    )
    w.kv("甲方代表 Representative", "负责人", ": ")
    w.kv("电话 Tel", "联系电话", ": ")


@_template("en_contract_supply")
def _en_contract_supply(w: _Writer, rng: random.Random) -> None:
    w.fmt("SUPPLY AGREEMENT\nAgreement No. {合同编号}\n\nThis Supply Agreement is made on {签约日期}")
    w.fmt(" at {签约地点} " if w.has("签约地点") else " ")
    w.fmt('between {甲方} (the "Buyer") and {乙方} (the "Seller").\n\n1. SUBJECT. The Seller shall provide {标的} '
          "as specified in Schedule A.\n2. PRICE. The total contract price is {合同金额}, inclusive of all taxes.\n"
          "3. PAYMENT. The Buyer shall pay as follows:\n")  # fmt: skip
    for k, r in enumerate(w.f["_records"]):
        w.fmt(f"   ({'abcd'[k]}) {{付款金额}} {{付款节点}};\n", w.rec("付款", r))
    if w.has("违约金"):
        w.fmt("4. DAMAGES. A party in breach shall pay liquidated damages of {违约金}.\n")
    if w.has("有效期至"):
        w.fmt("5. TERM. This Agreement remains in force until {有效期至}.\n")
    w.fmt("\nFor the Buyer: {负责人|authorised signatory}\n")
    w.kv("Phone", "联系电话", ": ")
    w.t("For the Seller: ", w.f["乙方"].text, "\n")


@_template("en_contract_services")
def _en_contract_services(w: _Writer, rng: random.Random) -> None:
    w.fmt("MASTER SERVICES AGREEMENT\n\nReference: {合同编号}\nClient: {甲方}\nService Provider: {乙方}\n")
    w.fmt("Effective Date: {签约日期}\n")
    w.kv("Expiry Date", "有效期至", ": ")
    w.kv("Place of Signing", "签约地点", ": ")
    w.fmt(
        "\nScope of Services: {标的}.\nTotal Fees: {合同金额}\n\nPayment Schedule\nMilestone | Amount | Share\n"
    )
    for r in w.f["_records"]:
        w.fmt(f"{{付款节点}} | {{付款金额}} | {r['pct']}%\n", w.rec("付款", r))
    w.t("\nConfidentiality: each party shall keep the other party's business information confidential.\n")
    w.kv("Liquidated damages for late delivery", "违约金", ": ")
    w.fmt("Client contact: {负责人|to be appointed}")
    w.fmt(" / Tel. {联系电话}\n" if w.has("联系电话") else "\n")


@_template("en_contract_po")
def _en_contract_po(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "{甲方}\nPURCHASE ORDER AND CONTRACT\n\nPO / Contract No.: {合同编号}\nDate: {签约日期}\nVendor: {乙方}\n"
    )
    w.fmt("Goods / Services: {标的}\nOrder Value: {合同金额}\n")
    w.kv("Penalty for breach", "违约金", ": ")
    w.kv("Valid until", "有效期至", ": ")
    w.t("\nTerms of payment:\n")
    for k, r in enumerate(w.f["_records"], 1):
        w.fmt(f"Installment {k}: {{付款金额}} payable {{付款节点}}.\n", w.rec("付款", r))
    w.t("\nDelivery shall be made to the Buyer's warehouse. Title passes upon acceptance.\n")
    w.fmt("Approved by: {负责人|Procurement Department}\n")
    w.kv("Contact number", "联系电话", ": ")
    w.kv("Issued at", "签约地点", ": ")


@_template("en_contract_consulting")
def _en_contract_consulting(w: _Writer, rng: random.Random) -> None:
    w.fmt("CONSULTING CONTRACT ({合同编号})\n\n{甲方}, hereinafter the Client, and {乙方}, hereinafter the Consultant, "
          "signed this contract on {签约日期}")  # fmt: skip
    w.fmt(" in {签约地点}.\n" if w.has("签约地点") else ".\n")
    w.fmt("The Consultant will deliver {标的}")
    w.fmt(" for a fixed fee of {合同金额}.\n\n")
    for r in w.f["_records"]:
        w.fmt(f"A payment of {{付款金额}} ({r['pct']}% of the fee) is due {{付款节点}}.\n", w.rec("付款", r))
    if w.has("违约金"):
        w.fmt("\nShould either party fail to perform, it shall pay {违约金} as liquidated damages.")
    if w.has("有效期至"):
        w.fmt(" The contract expires on {有效期至}.")
    w.t("\n\nGoverning law: the laws of the People's Republic of China.\n")
    w.fmt("Signed for the Client by {负责人|its legal representative}.\n")
    w.kv("Telephone", "联系电话", ": ")


# --------------------------------------------------------------------------------------
# Hotline tickets (classes: category and urgency)
# --------------------------------------------------------------------------------------

# category -> [(narrative with slots, core request)]; the narrative reads like the category
_TICKET_STORIES = {
    "zh": {
        "投诉": [("来电人投诉{涉及单位|小区物业公司}长期多收物业费且拒不解释", "退还多收的物业费"),
                 ("来电人投诉{涉及单位|某施工单位}在{事发地址|小区附近}夜间施工噪音严重扰民", "停止夜间违规施工"),
                 ("来电人投诉在{涉及单位|某商家}购买的电器存在质量问题而商家拒绝退货", "责令商家办理退货退款"),
                 ("来电人投诉{涉及单位|某培训机构}未经同意扣划课时费用", "退还被扣划的课时费")],
        "咨询": [("来电人咨询公积金提取需要准备哪些材料", "告知公积金提取所需材料"),
                 ("来电人咨询外地户籍人员如何办理居住证", "告知居住证办理流程"),
                 ("来电人咨询新生儿医保如何参保缴费", "告知新生儿医保参保办法"),
                 ("来电人咨询在{事发地址|小区}安装新能源汽车充电桩需要办理什么手续", "告知充电桩报装流程")],
        "求助": [("来电人求助称{事发地址|所住小区}已停水两天", "尽快恢复供水"),
                 ("来电人求助称家中老人在{事发地址|家附近}走失", "协助寻找走失老人"),
                 ("来电人求助称{事发地址|门前道路}路面塌陷有车辆陷入", "尽快修复塌陷路面")],
        "建议": [("来电人建议在{事发地址|学校门口}增设人行横道和信号灯", "增设人行横道和信号灯"),
                 ("来电人建议公交线路在早高峰增加班次", "增加早高峰公交班次"),
                 ("来电人建议{涉及单位|社区服务中心}周末开放办事窗口", "周末开放办事窗口")],
        "表扬": [("来电人表扬{涉及单位|营业厅}工作人员耐心细致帮助其办理业务", "对工作人员予以表扬"),
                 ("来电人表扬{承办人|社区网格员}上门帮助独居老人", "向相关单位转达感谢")],
    },
    "en": {
        "投诉": [("The caller complained that {涉及单位|the property manager} has been overcharging service fees", "refund of the overcharged fees"),
                 ("The caller complained about night-time construction noise by {涉及单位|a contractor} near {事发地址|their home}", "stop the night-time construction"),
                 ("The caller complained that {涉及单位|a retailer} refused to take back a faulty washing machine", "a full refund for the faulty appliance")],
        "咨询": [("The caller asked which documents are needed to withdraw housing fund savings", "list of documents for the withdrawal"),
                 ("The caller asked how to register a newborn for medical insurance", "instructions for newborn insurance registration"),
                 ("The caller asked what permits are needed to install an EV charger at {事发地址|their building}", "the EV charger permit procedure")],
        "求助": [("The caller reported that the water supply at {事发地址|their building} has been cut for two days", "restore the water supply"),
                 ("The caller asked for help finding an elderly relative missing near {事发地址|their home}", "help locating the missing relative"),
                 ("The caller reported a collapsed road surface at {事发地址|the corner}", "emergency road repair")],
        "建议": [("The caller suggested adding a pedestrian crossing outside {事发地址|the school}", "add a pedestrian crossing"),
                 ("The caller suggested that {涉及单位|the service center} open on weekends", "weekend opening hours")],
        "表扬": [("The caller praised staff at {涉及单位|the service hall} for their patient help", "pass on thanks to the staff")],
    },
}  # fmt: skip
_URGENCY_OK = {"咨询": "中低", "投诉": "高中低", "求助": "高中", "建议": "中低", "表扬": "低"}
_URGENCY_TEXT = {
    "zh": {"高": ["情况紧急，已严重影响正常生活，请立即处理。", "现场存在安全隐患，请相关部门马上到场处置。"],
           "中": ["希望相关部门尽快处理并回复。", "请在规定时限内给予答复。"],
           "低": ["此事不急，方便时回复即可。", "来电人表示不急于处理，仅希望登记备案。"]},
    "en": {"高": ["This is urgent and a safety risk: please act immediately.", "URGENT: the caller needs help right away."],
           "中": ["Please handle within the normal time frame.", "The caller expects a reply within the standard period."],
           "低": ["No rush: a reply at your convenience is fine.", "Low priority; for the record only."]},
}  # fmt: skip
_HANDLER_TITLES = {"zh": ["街道办科员", "城管执法队员", "市场监管所所长", "社区主任", "热线专员"],
                   "en": ["Case Officer", "Customer Service Supervisor", "Community Liaison", "Duty Manager"]}  # fmt: skip


def _ticket_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    category = rng.choice(list(_TICKET_STORIES[lang]))
    urgency = rng.choice(_URGENCY_OK[category])
    story, request = rng.choice(_TICKET_STORIES[lang][category])
    called = _rand_date(rng)
    hm = f"{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}"

    def call_time() -> _Val:
        d = _date(rng, called, lang, ["cn", "iso", "abbr", "long", "us"])
        return _Val(d.text + rng.choice(["", " " + hm]), "date", d.value)

    industries = {
        "zh": ["物业管理", "建筑工程", "电器", "教育咨询", "贸易"],
        "en": ["Trading", "Engineering", "Consulting"],
    }
    f: dict[str, Any] = {
        "工单编号": _Val(pool.code(rng.choice(["GD", "12345-", "RX", "TKT-", "CS"]) + f"{called:%Y%m%d}", 4)),
        "来电时间": pool.val(call_time),
        "来电人": _Val(pool.person()),
        "联系电话": pool.val(lambda: _phone(rng, lang, landline=rng.random() < 0.15)),
        "身份证号": _maybe(rng, 0.35, lambda: _id_number(rng)),
        "事发地址": _maybe(rng, 0.8, lambda: _Val(pool.address())),
        "涉及单位": _maybe(rng, 0.8, lambda: _Val(pool.company(rng.choice(industries[lang])))),
        "核心诉求": _Val(request),
        "承办人": _maybe(rng, 0.7, lambda: _relation(rng, pool.person(), rng.choice(_HANDLER_TITLES[lang]), lang)),
        "办结时限": _maybe(rng, 0.6, lambda: pool.val(lambda: _date(rng, called + _dt.timedelta(days=rng.choice([3, 5, 7, 15])), lang))),
        "story": story,
        "_pool": pool,
        "urgency_text": rng.choice(_URGENCY_TEXT[lang][urgency]),
        "_classes": {"工单类别": category, "紧急程度": urgency},
    }  # fmt: skip
    for label in ("涉及单位", "事发地址"):  # what the story does not speak of, the ticket leaves out
        if "{" + label not in story:
            f[label] = None
    if "{承办人" in story:  # the praised person is the handler of record
        f["承办人"] = f["承办人"] or _relation(rng, pool.person(), rng.choice(_HANDLER_TITLES[lang]), lang)
    return f


def _ticket_story(w: _Writer) -> None:
    w.fmt(w.f["story"])
    w.t("。" if w.lang == "zh" else ". ")


@_template("zh_ticket_form")
def _zh_ticket_form(w: _Writer, rng: random.Random) -> None:
    w.t("12345政务服务便民热线 工单\n")
    w.fmt("工单编号：{工单编号}\n来电时间：{来电时间}\n来电人：{来电人}\n联系电话：{联系电话}\n")
    w.kv("身份证号", "身份证号")
    w.kv("事发地址", "事发地址")
    w.t("诉求内容：")
    _ticket_story(w)
    w.fmt(w.f["urgency_text"] + "来电人要求{核心诉求}。\n")
    w.t("受理方式：电话受理\n")
    w.kv("承办人", "承办人")
    w.kv("办结时限", "办结时限")
    w.t("备注：请承办单位按时反馈办理结果。\n")


@_template("zh_ticket_record")
def _zh_ticket_record(w: _Writer, rng: random.Random) -> None:
    w.fmt("【热线受理记录】{工单编号}\n\n{来电时间}，市民{来电人}（电话{联系电话}）来电。")
    if w.has("身份证号"):
        w.fmt("来电人身份证号码为{身份证号}。")
    w.t("\n")
    _ticket_story(w)
    w.fmt(w.f["urgency_text"] + "\n核心诉求：{核心诉求}\n")
    w.t(
        "处理意见：转相关部门核实处理，并按规定时限向来电人反馈办理结果。\n回访要求：办结后三个工作日内电话回访。\n"
    )
    if w.has("承办人"):
        w.fmt("本单由{承办人}跟进")
        w.fmt("，须于{办结时限}前办结。\n" if w.has("办结时限") else "。\n")


@_template("zh_ticket_table")
def _zh_ticket_table(w: _Writer, rng: random.Random) -> None:
    w.t("客户服务中心来电登记表\n")
    w.fmt("单号 | {工单编号}\n时间 | {来电时间}\n姓名 | {来电人}\n电话 | {联系电话}\n")
    w.kv("证件号码 | ", "身份证号", "")
    w.kv("地址 | ", "事发地址", "")
    w.kv("被反映单位 | ", "涉及单位", "")
    w.t("来电内容 | ")
    _ticket_story(w)
    w.t(w.f["urgency_text"] + "\n")
    w.fmt("诉求 | {核心诉求}\n")
    w.kv("处理人 | ", "承办人", "")
    w.kv("回复期限 | ", "办结时限", "")
    w.t("回访结果 | 待回访\n")


@_template("zh_ticket_summary")
def _zh_ticket_summary(w: _Writer, rng: random.Random) -> None:
    w.fmt("工单摘要（{工单编号}）\n\n一、来电信息\n来电人{来电人}于{来电时间}来电，联系方式{联系电话}。\n")
    w.kv("来电人证件号：", "身份证号", "")
    w.kv("涉及地点：", "事发地址", "")
    w.kv("涉及单位：", "涉及单位", "")
    w.t("\n二、反映问题\n")
    _ticket_story(w)
    w.t(w.f["urgency_text"])
    w.fmt("\n\n三、诉求\n{核心诉求}\n\n四、办理\n")
    w.fmt("承办：{承办人|待分派}\n")
    w.kv("时限：", "办结时限", "")


@_template("en_ticket_form")
def _en_ticket_form(w: _Writer, rng: random.Random) -> None:
    w.t("CITY SERVICE HOTLINE - CASE RECORD\n")
    w.fmt("Case No.: {工单编号}\nReceived: {来电时间}\nCaller: {来电人}\nPhone: {联系电话}\n")
    w.kv("ID No.", "身份证号", ": ")
    w.kv("Location", "事发地址", ": ")
    w.kv("Organization", "涉及单位", ": ")
    w.t("Description: ")
    _ticket_story(w)
    w.fmt(w.f["urgency_text"] + "\nRequest: {核心诉求}\n")
    w.kv("Assigned to", "承办人", ": ")
    w.kv("Due", "办结时限", ": ")


@_template("en_ticket_email")
def _en_ticket_email(w: _Writer, rng: random.Random) -> None:
    w.fmt("Subject: Hotline ticket {工单编号}\n\nDear team,\n\nOn {来电时间} we received a call from {来电人} "
          "(tel. {联系电话}). ")  # fmt: skip
    _ticket_story(w)
    w.fmt(w.f["urgency_text"] + " What the caller wants: {核心诉求}.\n\n")
    if w.has("承办人"):
        w.fmt("This ticket is assigned to {承办人}.")
        w.fmt(" Please close it by {办结时限}.\n" if w.has("办结时限") else "\n")
    w.t("\nBest regards,\nHotline Service Desk\n")


@_template("en_ticket_log")
def _en_ticket_log(w: _Writer, rng: random.Random) -> None:
    w.t("Customer Care Call Log\n-----------------------\n")
    w.fmt("Ticket ID | {工单编号}\nDate/Time | {来电时间}\nCustomer | {来电人}\nContact | {联系电话}\n")
    w.kv("Address | ", "事发地址", "")
    w.kv("Company | ", "涉及单位", "")
    w.t("Notes | ")
    _ticket_story(w)
    w.t(w.f["urgency_text"] + "\n")
    w.fmt("Resolution sought | {核心诉求}\n")
    w.kv("Owner | ", "承办人", "")
    w.kv("Deadline | ", "办结时限", "")


@_template("en_ticket_narrative")
def _en_ticket_narrative(w: _Writer, rng: random.Random) -> None:
    w.fmt("Ticket {工单编号} - summary for the duty manager\n\n{来电人} called the hotline on {来电时间}")
    w.fmt(" from {联系电话}. ")
    _ticket_story(w)
    w.t(w.f["urgency_text"])
    w.fmt(" The caller is asking for {核心诉求}.")
    w.fmt(" Caller ID number: {身份证号}." if w.has("身份证号") else "")
    w.t("\n\n")
    w.fmt("Handled by {承办人}" if w.has("承办人") else "Not yet assigned")
    w.fmt("; reply due {办结时限}.\n" if w.has("办结时限") else ".\n")


# tickets whose caller is introduced with a role word (消费者郑伟, 市民王女士): the gold span is
# the name; three English and three Chinese layouts, named so that the older tickets keep
# their split

_CALLER_WORDS = {"zh": ["消费者", "市民", "投诉人", "居民", "业主", "顾客", "来电市民"],
                 "en": ["consumer", "resident", "customer", "complainant"]}  # fmt: skip


def _role_caller(w: _Writer, rng: random.Random) -> str:
    """The role word this ticket puts before the caller; a Chinese caller is now and then
    named by surname and title only (王女士, 李先生), which is then the gold span."""
    f = w.f
    if w.lang == "zh" and rng.random() < 0.25:
        pool = f["_pool"]
        f["来电人"] = _Val(pool.unique(lambda: rng.choice(_SURNAMES) + rng.choice(["女士", "先生"])))
    return rng.choice(_CALLER_WORDS[w.lang])


def _role_company(w: _Writer, rng: random.Random) -> None:
    """The company the caller complains about, under its own heading, where there is one."""
    if w.has("涉及单位"):
        key = rng.choice(["被投诉单位", "被反映单位", "投诉对象"] if w.lang == "zh" else ["Company complained about",
                          "Respondent", "Business named"])  # fmt: skip
        w.kv(key, "涉及单位", "：" if w.lang == "zh" else ": ")


@_template("zh_ticket_transfer")
def _zh_ticket_transfer(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.t(rng.choice(["12345热线转办单", "市民热线工单转办函", "消费投诉转办单"]), "\n")
    w.fmt("工单编号：{工单编号}    受理时间：{来电时间}\n\n")
    w.t(role)
    w.fmt("{来电人}来电（联系电话：{联系电话}）反映：")
    _ticket_story(w)
    w.t(w.f["urgency_text"], "\n")
    _role_company(w, rng)
    w.kv("事发地址", "事发地址")
    w.kv("来电人身份证号", "身份证号")
    w.fmt("诉求：{核心诉求}\n")
    if w.has("承办人"):
        w.fmt("转办意见：请{承办人}核实处理")
        w.fmt("，于{办结时限}前反馈办理结果。\n" if w.has("办结时限") else "，并按时反馈办理结果。\n")
    w.t(f"备注：请承办单位按规定时限办理，办结后电话回访；请勿向被反映对象泄露{role}的个人信息。\n")


@_template("zh_ticket_visit")
def _zh_ticket_visit(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.t("工单回访记录\n\n")
    w.fmt("原工单：{工单编号}\n")
    w.fmt("{来电时间}，" + role + "{来电人}通过热线反映问题（联系电话{联系电话}）。")
    w.t("工单内容摘录如下：")
    _ticket_story(w)
    w.t(w.f["urgency_text"], "\n")
    w.kv("涉及地址：", "事发地址", "")
    w.kv("涉及单位：", "涉及单位", "")
    w.fmt("核心诉求：{核心诉求}\n")
    w.fmt(
        "\n回访情况：经电话回访，"
        + role
        + "对目前的办理进度表示知悉，要求承办单位继续跟进，办结后再次回访。\n"
    )
    w.kv("承办：", "承办人", "")
    w.kv("办结时限：", "办结时限", "")


@_template("zh_ticket_wechat")
def _zh_ticket_wechat(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.t("【网络问政留言】\n")
    w.fmt("留言编号：{工单编号}\n留言时间：{来电时间}\n")
    w.t("标题：", role)
    w.fmt("{来电人}反映问题\n")
    w.t("内容：")
    _ticket_story(w)
    w.t(w.f["urgency_text"])
    w.fmt("希望{核心诉求}。\n")
    w.fmt("联系方式：{联系电话}\n")
    _role_company(w, rng)
    w.kv("问题地址", "事发地址")
    w.kv("办理单位", "承办人")
    w.kv("答复期限", "办结时限")
    w.t(
        "公开方式：同意公开（隐去个人信息）\n答复要求：请承办单位在答复期限内通过平台公开答复，并同步电话告知留言人办理结果。\n"
    )


@_template("en_ticket_portal")
def _en_ticket_portal(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.t("ONLINE COMPLAINT PORTAL - SUBMISSION\n")
    w.fmt("Reference: {工单编号}\nSubmitted: {来电时间}\n\n")
    w.t(f"Submitted by {role} ")
    w.fmt("{来电人} (phone {联系电话}).\n")
    _role_company(w, rng)
    w.kv("Location", "事发地址", ": ")
    w.t("Details: ")
    _ticket_story(w)
    w.fmt(w.f["urgency_text"] + "\nRequested outcome: {核心诉求}\n")
    w.kv("Case owner", "承办人", ": ")
    w.kv("Respond by", "办结时限", ": ")


@_template("en_ticket_referral")
def _en_ticket_referral(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.fmt("Referral note - hotline case {工单编号}\n\n")
    w.t(role.capitalize(), " ")
    w.fmt("{来电人} contacted the hotline on {来电时间} (tel. {联系电话}). ")
    _ticket_story(w)
    w.t(w.f["urgency_text"])
    w.fmt(f" The {role} asks for " + "{核心诉求}.\n")
    _role_company(w, rng)
    if w.has("承办人"):
        w.fmt("\nReferred to {承办人}")
        w.fmt(" for a reply by {办结时限}.\n" if w.has("办结时限") else ".\n")


@_template("en_ticket_webform")
def _en_ticket_webform(w: _Writer, rng: random.Random) -> None:
    role = _role_caller(w, rng)
    w.t("Customer Feedback Web Form\n--------------------------\n")
    w.fmt("Form ID | {工单编号}\nReceived | {来电时间}\n")
    w.t(f"From | {role} ")
    w.fmt("{来电人}\nPhone | {联系电话}\n")
    w.kv("ID number | ", "身份证号", "")
    w.kv("Business | ", "涉及单位", "")
    w.t("Message | ")
    _ticket_story(w)
    w.t(w.f["urgency_text"], "\n")
    w.fmt("Wants | {核心诉求}\n")
    w.kv("Assigned | ", "承办人", "")


# --------------------------------------------------------------------------------------
# Invoices (records: line items)
# --------------------------------------------------------------------------------------

_PRODUCTS = {
    "zh": [("办公椅", "把", 180, 900), ("台式电脑", "台", 3000, 8000), ("激光打印机", "台", 900, 3000),
           ("A4复印纸", "箱", 120, 260), ("笔记本电脑", "台", 4000, 12000), ("投影仪", "台", 2000, 6000),
           ("机架式服务器", "台", 15000, 40000), ("千兆交换机", "台", 800, 5000), ("空气净化器", "台", 1200, 4000),
           ("钢制文件柜", "组", 600, 1800), ("会议桌", "张", 1500, 6000), ("27英寸显示器", "台", 900, 2500),
           ("硒鼓", "个", 150, 600), ("不间断电源", "套", 1500, 5000), ("技术服务费", "项", 5000, 30000)],
    "en": [("Office chair", "pcs", 80, 400), ("Desktop computer", "units", 600, 1500), ("Laser printer", "units", 200, 700),
           ("A4 copy paper (box)", "boxes", 25, 60), ("Laptop", "units", 800, 2500), ("Projector", "units", 400, 1200),
           ("Rack server", "units", 3000, 9000), ("Network switch", "units", 150, 900), ("Desk lamp", "pcs", 20, 90),
           ("Filing cabinet", "sets", 100, 400), ("Toner cartridge", "pcs", 30, 120), ("Software license", "seats", 50, 300),
           ("Installation service", "hours", 60, 150)],
}  # fmt: skip
_INVOICE_TITLES = {"zh": ["财务主管", "会计", "出纳", "财务经理"], "en": ["Accounts Receivable Clerk", "Finance Manager", "Billing Officer"]}  # fmt: skip


def _tax_id(rng: random.Random, pool: _Pool) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return pool.unique(
        lambda: "91" + rng.choice(_REGIONS) + "MA" + "".join(rng.choice(chars) for _ in range(8))
    )


def _invoice_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    issued = _rand_date(rng)
    style = [rng.choice(["yen", "bare", "fullwidth"] if lang == "zh" else ["dollar", "bare", "usd"])]
    items, subtotal = [], Decimal(0)
    last_qty: dict[str, _Val] = {}
    for name, unit, lo, hi in rng.sample(_PRODUCTS[lang], rng.randint(1, 4)):
        n = rng.choice([1, 2, 3, 5, 10, 12, 20, 50]) if unit not in last_qty or rng.random() < 0.5 else None
        if n is None:  # the same quantity as an earlier item (same unit)
            qty = last_qty[unit]
            n = qty.value
        else:
            qty = pool.val(lambda n=n, unit=unit: _int(f"{n}{unit}" if lang == "zh" else f"{n} {unit}", n))
        last_qty[unit] = qty
        price = Decimal(rng.randint(lo, hi)) + rng.choice([Decimal(0), Decimal("0.50"), Decimal("0.99")])
        amount = price * n
        subtotal += amount
        items.append({"品名": _Val(name), "数量": qty,
                      "单价": pool.val(lambda p=price: _money(rng, p, lang, style)),
                      "金额": pool.val(lambda a=amount: _money(rng, a, lang, style))})  # fmt: skip
    rate = rng.choice([13, 6, 9])
    tax = (subtotal * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    total_styles = ["yen", "rmb", "capital"] if lang == "zh" else ["usd", "dollar"]
    f: dict[str, Any] = {
        "发票号码": _Val(pool.code(rng.choice(["", "No.", "INV-"] if lang == "en" else ["", "No "]), rng.choice([8, 8, 20]))),
        "开票日期": pool.val(lambda: _date(rng, issued, lang)),
        "购买方": _Val(pool.company()),
        "销售方": _Val(pool.company()),
        "纳税人识别号": _maybe(rng, 0.7, lambda: _Val(_tax_id(rng, pool))),
        "税额": _maybe(rng, 0.75, lambda: pool.val(lambda: _money(rng, tax, lang, style))),
        "价税合计": pool.val(lambda: _money(rng, subtotal + tax, lang, total_styles)),
        "负责人": _maybe(rng, 0.6, lambda: _relation(rng, pool.person(), rng.choice(_INVOICE_TITLES[lang]), lang)),
        "rate": rate,
        "_records": items,
    }  # fmt: skip
    if f["价税合计"].value["currency"] is None:  # pragma: no cover - total styles always name one
        f["价税合计"] = _money(rng, subtotal + tax, lang, ["rmb"])
    return f


@_template("zh_invoice_vat")
def _zh_invoice_vat(w: _Writer, rng: random.Random) -> None:
    w.fmt("增值税普通发票\n发票号码：{发票号码}\n开票日期：{开票日期}\n\n购买方名称：{购买方}\n")
    w.kv("纳税人识别号", "纳税人识别号")
    w.fmt("销售方名称：{销售方}\n\n货物或应税劳务名称 | 数量 | 单价 | 金额 | 税率\n")
    for r in w.f["_records"]:
        w.fmt(f"*{{品名}} | {{数量}} | {{单价}} | {{金额}} | {w.f['rate']}%\n", w.rec("明细", r))
    w.kv("税额合计", "税额")
    w.fmt("价税合计（大写/小写）：{价税合计}\n")
    w.fmt("开票人：{负责人}\n" if w.has("负责人") else "开票人：系统自动开具\n")
    w.t("备注：本发票为电子发票，与纸质发票具有同等法律效力。\n")


@_template("zh_invoice_receipt")
def _zh_invoice_receipt(w: _Writer, rng: random.Random) -> None:
    w.fmt("{销售方}\n销 售 清 单\n\n单据号：{发票号码}    日期：{开票日期}\n客户：{购买方}\n")
    w.kv("客户税号", "纳税人识别号")
    w.t("\n")
    for i, r in enumerate(w.f["_records"], 1):
        w.fmt(f"{i}. {{品名}}，数量{{数量}}，单价{{单价}}，小计{{金额}}。\n", w.rec("明细", r))
    w.kv("\n其中税额", "税额")
    w.fmt("应付合计：{价税合计}\n")
    w.kv("经办人", "负责人")
    w.t("货物签收后如有质量问题请于七日内联系我司。\n")


@_template("zh_invoice_electronic")
def _zh_invoice_electronic(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "电子发票（普通发票）\n\n【发票信息】\n发票号码 {发票号码}\n开票日期 {开票日期}\n\n【购买方信息】\n名称 {购买方}\n"
    )
    w.kv("统一社会信用代码/纳税人识别号 ", "纳税人识别号", "")
    w.fmt("\n【销售方信息】\n名称 {销售方}\n\n【项目明细】\n")
    for r in w.f["_records"]:
        w.fmt("项目名称：{品名}；数量：{数量}；单价：{单价}；金额：{金额}\n", w.rec("明细", r))
    w.t(f"税率：{w.f['rate']}%\n")
    w.kv("税额：", "税额", "")
    w.fmt("价税合计：{价税合计}\n")
    w.fmt("\n复核：{负责人}\n" if w.has("负责人") else "\n")


@_template("zh_invoice_bilingual")
def _zh_invoice_bilingual(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "发票 INVOICE\n编号 No.: {发票号码}\n日期 Date: {开票日期}\n卖方 Seller: {销售方}\n买方 Buyer: {购买方}\n"
    )
    w.kv("税号 Tax ID", "纳税人识别号", ": ")
    w.t("\n品名 Item | 数量 Qty | 单价 Unit Price | 金额 Amount\n")
    for r in w.f["_records"]:
        w.fmt("{品名} | {数量} | {单价} | {金额}\n", w.rec("明细", r))
    w.kv("\n税额 Tax", "税额", ": ")
    w.fmt("合计 Total: {价税合计}\n")
    w.kv("负责人 Approved by", "负责人", ": ")


@_template("en_invoice_classic")
def _en_invoice_classic(w: _Writer, rng: random.Random) -> None:
    w.fmt("{销售方}\nINVOICE\n\nInvoice Number: {发票号码}\nInvoice Date: {开票日期}\n\nBill To:\n{购买方}\n")
    w.kv("Tax ID", "纳税人识别号", ": ")
    w.t("\nDescription | Qty | Unit Price | Amount\n")
    for r in w.f["_records"]:
        w.fmt("{品名} | {数量} | {单价} | {金额}\n", w.rec("明细", r))
    w.kv(f"\nVAT ({w.f['rate']}%)", "税额", ": ")
    w.fmt("TOTAL DUE: {价税合计}\n\nPayment terms: net 30 days.\n")
    w.kv("Issued by", "负责人", ": ")


@_template("en_invoice_receipt")
def _en_invoice_receipt(w: _Writer, rng: random.Random) -> None:
    w.fmt("RECEIPT {发票号码}\n\nReceived on {开票日期} from {购买方}, for goods supplied by {销售方}:\n\n")
    for r in w.f["_records"]:
        w.fmt("- {数量} of {品名} at {单价} each, line total {金额}.\n", w.rec("明细", r))
    w.fmt("\nTax included: {税额}.\n" if w.has("税额") else "\n")
    w.fmt("Amount received: {价税合计}.\n")
    w.kv("Buyer tax number", "纳税人识别号", ": ")
    w.fmt("Received by {负责人}.\n" if w.has("负责人") else "Thank you for your business.\n")


@_template("en_invoice_proforma")
def _en_invoice_proforma(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "PRO FORMA INVOICE\n\nSeller: {销售方}\nBuyer: {购买方}\nRef.: {发票号码}\nDate of issue: {开票日期}\n\n"
    )
    for k, r in enumerate(w.f["_records"], 1):
        w.fmt(
            f"Item {k}: {{品名}}\n  Quantity: {{数量}}; Unit price: {{单价}}; Amount: {{金额}}\n",
            w.rec("明细", r),
        )
    w.kv("\nSales tax", "税额", ": ")
    w.fmt("Grand total: {价税合计}\n")
    w.kv("Buyer tax ID", "纳税人识别号", ": ")
    w.t("This pro forma invoice is valid for 30 days.\n")
    w.kv("Authorized signature", "负责人", ": ")


@_template("en_invoice_statement")
def _en_invoice_statement(w: _Writer, rng: random.Random) -> None:
    w.fmt("STATEMENT OF CHARGES\nAccount: {购买方}\nFrom: {销售方}\nDocument {发票号码} dated {开票日期}\n\n")
    w.t("Charges for the period:\n")
    for r in w.f["_records"]:
        w.fmt("{品名}: {数量} x {单价} = {金额}\n", w.rec("明细", r))
    if w.has("税额"):
        w.fmt(f"\nTax at {w.f['rate']}%: {{税额}}\n")
    w.fmt("Balance payable: {价税合计}\n")
    w.fmt("Questions? Contact {负责人}.\n" if w.has("负责人") else "Please remit payment within 30 days.\n")


# --------------------------------------------------------------------------------------
# CVs (records: jobs)
# --------------------------------------------------------------------------------------

_JOBS = {"zh": ["软件工程师", "高级工程师", "产品经理", "测试工程师", "数据分析师", "销售经理", "运营专员", "会计",
                "人事专员", "前端开发工程师", "架构师", "项目经理"],
         "en": ["Software Engineer", "Senior Engineer", "Product Manager", "QA Engineer", "Data Analyst",
                "Sales Manager", "Operations Specialist", "Accountant", "HR Specialist", "Project Manager"]}  # fmt: skip
_SCHOOLS = {"zh": ["浙江大学", "复旦大学", "武汉大学", "南京大学", "中山大学", "四川大学", "华中科技大学", "西安交通大学",
                   "北京理工大学", "同济大学"],
            "en": ["University of Washington", "Boston University", "University of Texas at Austin", "Tsinghua University",
                   "Zhejiang University", "University of Manchester", "National University of Singapore"]}  # fmt: skip
_DEGREES = {
    "zh": ["本科", "硕士研究生", "博士研究生", "大专"],
    "en": ["Bachelor of Science", "Master of Science", "MBA", "PhD"],
}
_MAJORS = {"zh": ["计算机科学与技术", "软件工程", "会计学", "市场营销", "金融学", "机械工程", "统计学"],
           "en": ["Computer Science", "Accounting", "Finance", "Marketing", "Mechanical Engineering", "Statistics"]}  # fmt: skip
_EN_MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _period(rng: random.Random, a: tuple[int, int], b: tuple[int, int] | None, lang: str) -> _Val:
    def one(ym: tuple[int, int] | None, style: int) -> str:
        if ym is None:
            return ["至今", "至今", "现在"][style] if lang == "zh" else ["Present", "present", "now"][style]
        y, m = ym
        if lang == "zh":
            return [f"{y}.{m:02d}", f"{y}年{m}月", f"{y}/{m:02d}"][style]
        return [f"{_EN_MON[m - 1]} {y}", f"{m:02d}/{y}", f"{_EN_MONTHS[m - 1]} {y}"][style]

    style = rng.randrange(3)
    sep = rng.choice(["-", "–", " - ", "至"] if lang == "zh" else ["-", " – ", " to "])
    if b is None and sep == "至":
        sep = "-"
    return _Val(one(a, style) + sep + one(b, style))


def _cv_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    male = rng.random() < 0.5
    born = _rand_date(rng, 1975, 2000)
    jobs, year, month = [], born.year + 22 + rng.randint(0, 3), rng.randint(1, 12)
    n = rng.randint(1, 4)
    same_title = rng.random() < 0.4
    title = rng.choice(_JOBS[lang])
    for k in range(n):
        end = None if k == n - 1 and rng.random() < 0.6 else (year + rng.randint(1, 4), rng.randint(1, 12))
        jobs.append({"公司": _Val(pool.company()), "职位": _Val(title if same_title else rng.choice(_JOBS[lang])),
                     "起止时间": pool.val(lambda s=(year, month), e=end: _period(rng, s, e, lang))})  # fmt: skip
        if end is None:
            break
        year, month = end if end[1] < 12 else (end[0] + 1, 1)
    jobs.reverse()  # most recent first, as CVs are written
    ref_titles = ["人事经理", "部门总监", "直属上级", "技术总监"] if lang == "zh" else ["HR Manager", "Line Manager", "Director of Engineering"]  # fmt: skip
    name = pool.person()
    handle = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8)))
    f: dict[str, Any] = {
        "姓名": _Val(name),
        "性别": _Val(("男" if male else "女") if lang == "zh" else ("Male" if male else "Female")),
        "出生日期": _maybe(rng, 0.7, lambda: pool.val(lambda: _date(rng, born, lang))),
        "联系电话": pool.val(lambda: _phone(rng, lang, landline=False)),
        "电子邮箱": _Val(pool.unique(lambda: f"{handle}{rng.randint(1, 999)}@{rng.choice(['163.com', 'qq.com', 'gmail.com', 'outlook.com'])}")),
        "身份证号": _maybe(rng, 0.3 if lang == "zh" else 0.0, lambda: _id_number(rng, born, male)),
        "毕业院校": _Val(rng.choice(_SCHOOLS[lang])),
        "学历": _Val(rng.choice(_DEGREES[lang])),
        "专业": _maybe(rng, 0.8, lambda: _Val(rng.choice(_MAJORS[lang]))),
        "期望职位": _maybe(rng, 0.7, lambda: _Val(rng.choice([j for j in _JOBS[lang] if j != title]))),
        "期望薪资": _maybe(rng, 0.5, lambda: pool.val(lambda: _money(rng, Decimal(rng.randint(8, 60) * 1000), lang, ["yuan", "wan", "yen", "dollar", "usd"]))),
        "证明人": _maybe(rng, 0.5, lambda: _relation(rng, pool.person(), rng.choice(ref_titles), lang)),
        "_records": jobs,
    }  # fmt: skip
    return f


@_template("zh_cv_standard")
def _zh_cv_standard(w: _Writer, rng: random.Random) -> None:
    w.fmt("个人简历\n\n【基本信息】\n姓名：{姓名}    性别：{性别}\n")
    w.kv("出生日期", "出生日期")
    w.fmt("手机：{联系电话}\n邮箱：{电子邮箱}\n")
    w.kv("身份证号", "身份证号")
    w.kv("求职意向", "期望职位")
    w.kv("期望薪资", "期望薪资", "：", "/月\n")
    w.fmt("\n【教育背景】\n{毕业院校}  {学历}")
    w.fmt("  {专业}\n" if w.has("专业") else "\n")
    w.t("\n【工作经历】\n")
    for r in w.f["_records"]:
        w.fmt("{起止时间}  {公司}  {职位}\n", w.rec("工作经历", r))
    w.t("\n【自我评价】\n工作认真负责，沟通能力强，具备良好的团队合作精神。\n")
    w.kv("证明人", "证明人")


@_template("zh_cv_narrative")
def _zh_cv_narrative(w: _Writer, rng: random.Random) -> None:
    w.fmt("求职信\n\n尊敬的招聘负责人：\n\n您好！我叫{姓名}，{性别}")
    w.fmt("，出生于{出生日期}。" if w.has("出生日期") else "。")
    w.fmt("我毕业于{毕业院校}")
    w.fmt("{专业}专业" if w.has("专业") else "")
    w.fmt("，学历为{学历}。\n")
    for r in w.f["_records"]:
        w.fmt("{起止时间}我在{公司}担任{职位}一职。", w.rec("工作经历", r))
    w.t("\n")
    w.fmt("此次希望应聘贵公司{期望职位}岗位" if w.has("期望职位") else "希望能加入贵公司")
    w.fmt("，期望月薪{期望薪资}。\n" if w.has("期望薪资") else "。\n")
    w.fmt("如需了解我的工作表现，可联系{证明人}。\n" if w.has("证明人") else "")
    w.fmt("联系电话：{联系电话}\n电子邮箱：{电子邮箱}\n此致\n敬礼！\n")


@_template("zh_cv_table")
def _zh_cv_table(w: _Writer, rng: random.Random) -> None:
    w.t("应聘登记表\n")
    w.fmt("姓名 | {姓名} | 性别 | {性别}\n")
    w.kv("出生年月 | ", "出生日期", "")
    w.kv("证件号码 | ", "身份证号", "")
    w.fmt("联系电话 | {联系电话}\n电子邮箱 | {电子邮箱}\n毕业学校 | {毕业院校}\n最高学历 | {学历}\n")
    w.kv("所学专业 | ", "专业", "")
    w.kv("应聘岗位 | ", "期望职位", "")
    w.kv("期望待遇 | ", "期望薪资", "")
    w.t("\n工作单位 | 职务 | 起止年月\n")
    for r in w.f["_records"]:
        w.fmt("{公司} | {职位} | {起止时间}\n", w.rec("工作经历", r))
    w.kv("\n背景调查联系人 | ", "证明人", "")
    w.t("本人承诺以上信息真实有效。\n")


@_template("zh_cv_bilingual")
def _zh_cv_bilingual(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "简历 RESUME\n\n姓名 Name: {姓名}\n性别 Gender: {性别}\n电话 Mobile: {联系电话}\n邮箱 Email: {电子邮箱}\n"
    )
    w.kv("出生日期 Date of Birth", "出生日期", ": ")
    w.kv("求职意向 Objective", "期望职位", ": ")
    w.fmt("\n教育 Education\n{毕业院校}, {学历}")
    w.fmt(", {专业}\n" if w.has("专业") else "\n")
    w.t("\n工作经历 Experience\n")
    for r in w.f["_records"]:
        w.fmt("* {公司} / {职位} / {起止时间}\n", w.rec("工作经历", r))
    w.kv("\n期望薪资 Expected Salary", "期望薪资", ": ")
    w.kv("证明人 Reference", "证明人", ": ")
    w.t("技能 Skills: Python, SQL, 办公软件\n")


@_template("en_cv_chronological")
def _en_cv_chronological(w: _Writer, rng: random.Random) -> None:
    w.fmt("{姓名}\n{电子邮箱} | {联系电话}\n\n")
    w.fmt("OBJECTIVE\nSeeking a position as {期望职位}.\n\n" if w.has("期望职位") else "")
    w.t("EXPERIENCE\n")
    for r in w.f["_records"]:
        w.fmt("{职位}, {公司} ({起止时间})\n", w.rec("工作经历", r))
        w.t("  - Delivered projects on schedule and mentored junior colleagues.\n")
    w.fmt("\nEDUCATION\n{学历}")
    w.fmt(" in {专业}" if w.has("专业") else "")
    w.fmt(", {毕业院校}\n")
    w.fmt("\nPERSONAL\nGender: {性别}\n")
    w.kv("Date of birth", "出生日期", ": ")
    w.kv("Expected salary", "期望薪资", ": ")
    w.kv("References", "证明人", ": ")


@_template("en_cv_cover")
def _en_cv_cover(w: _Writer, rng: random.Random) -> None:
    w.fmt("Dear Hiring Manager,\n\nMy name is {姓名} and I am applying for the ")
    w.fmt("{期望职位} role" if w.has("期望职位") else "open role")
    w.fmt(" at your company. I hold a {学历} degree")
    w.fmt(" in {专业}" if w.has("专业") else "")
    w.fmt(" from {毕业院校}.\n\n")
    for r in w.f["_records"]:
        w.fmt("From {起止时间} I worked at {公司} as {职位}. ", w.rec("工作经历", r))
    w.t("\n\n")
    w.fmt("My salary expectation is {期望薪资} per month. " if w.has("期望薪资") else "")
    w.fmt("{证明人} can speak to my work. " if w.has("证明人") else "")
    w.fmt("\n\nYou can reach me at {联系电话} or {电子邮箱}.\n\nSincerely,\n")
    w.t(w.f["姓名"].text, "\n")


@_template("en_cv_form")
def _en_cv_form(w: _Writer, rng: random.Random) -> None:
    w.t("EMPLOYMENT APPLICATION FORM\n\n")
    w.fmt("Full name: {姓名}\nSex: {性别}\n")
    w.kv("DOB", "出生日期", ": ")
    w.fmt("Phone: {联系电话}\nE-mail: {电子邮箱}\n")
    w.kv("Position applied for", "期望职位", ": ")
    w.kv("Desired pay", "期望薪资", ": ")
    w.fmt("School: {毕业院校}\nDegree: {学历}\n")
    w.kv("Major", "专业", ": ")
    w.t("\nEmployer | Title | Dates\n")
    for r in w.f["_records"]:
        w.fmt("{公司} | {职位} | {起止时间}\n", w.rec("工作经历", r))
    w.kv("\nReferee", "证明人", ": ")
    w.t("I certify that the information above is true.\n")


@_template("en_cv_profile")
def _en_cv_profile(w: _Writer, rng: random.Random) -> None:
    w.fmt("CANDIDATE PROFILE - {姓名}\n\nContact: {联系电话}, {电子邮箱}\nGender: {性别}\n")
    w.kv("Born", "出生日期", ": ")
    w.t("\nCareer history\n")
    for r in w.f["_records"]:
        w.fmt("{公司}\n  Role: {职位}\n  Period: {起止时间}\n\n", w.rec("工作经历", r))
    w.fmt("Education: {毕业院校}, {学历}")
    w.fmt(" ({专业})\n" if w.has("专业") else "\n")
    w.kv("Target role", "期望职位", ": ")
    w.kv("Salary expectation", "期望薪资", ": ")
    w.kv("Reference", "证明人", ": ")
    w.t("Notice period: one month.\n")


# --------------------------------------------------------------------------------------
# Medical reports
# --------------------------------------------------------------------------------------

_DISEASES = {"zh": ["急性上呼吸道感染", "2型糖尿病", "原发性高血压", "急性阑尾炎", "腰椎间盘突出症", "社区获得性肺炎",
                    "慢性胃炎", "冠状动脉粥样硬化性心脏病", "右桡骨远端骨折", "过敏性鼻炎", "胆囊结石"],
             "en": ["acute appendicitis", "type 2 diabetes mellitus", "essential hypertension", "community-acquired pneumonia",
                    "lumbar disc herniation", "chronic gastritis", "distal radius fracture", "allergic rhinitis",
                    "cholelithiasis", "acute bronchitis"]}  # fmt: skip
_DEPTS = {"zh": ["内科", "普外科", "骨科", "心内科", "消化内科", "呼吸内科", "急诊科", "内分泌科"],
          "en": ["Internal Medicine", "General Surgery", "Orthopedics", "Cardiology", "Gastroenterology", "Emergency Department"]}  # fmt: skip
_DOCTOR_TITLES = {
    "zh": ["主任医师", "副主任医师", "主治医师"],
    "en": ["Attending Physician", "Consultant", "Chief Resident"],
}


def _hospital(rng: random.Random, pool: _Pool, lang: str) -> str:
    city = pool.city()
    if lang == "zh":
        return pool.unique(lambda: rng.choice([f"{city}市第{rng.choice(_CN_ORD[:6])}人民医院", f"{city}大学附属医院",
                                               f"{city}市中心医院", f"{city}市中医医院"]))  # fmt: skip
    town = (
        _PINYIN_CITY[city]
        if rng.random() < 0.4
        else rng.choice(["Riverside", "Lakeview", "Westfield", "Mercy"])
    )
    return pool.unique(lambda: rng.choice([f"{town} General Hospital", f"{town} Memorial Medical Center",
                                           f"{town} University Hospital"]))  # fmt: skip


def _medical_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    male = rng.random() < 0.5
    age = rng.randint(3, 88)
    visit = _rand_date(rng)
    born = _dt.date(visit.year - age, rng.randint(1, 12), rng.randint(1, 28))
    if (born.month, born.day) > (visit.month, visit.day):
        born = born.replace(year=born.year - 1)
    return {
        "患者姓名": _Val(pool.person()),
        "性别": _Val(("男" if male else "女") if lang == "zh" else ("male" if male else "female")),
        "年龄": pool.val(lambda: _int(f"{age}岁" if lang == "zh" else rng.choice([f"{age} years", f"{age}-year-old"]), age)),
        "身份证号": _maybe(rng, 0.5 if lang == "zh" else 0.0, lambda: _id_number(rng, born, male)),
        "就诊日期": pool.val(lambda: _date(rng, visit, lang)),
        "医院": _Val(_hospital(rng, pool, lang)),
        "科室": _Val(rng.choice(_DEPTS[lang])),
        "住院号": _maybe(rng, 0.6, lambda: _Val(pool.code(rng.choice(["ZY", "MZ", "MRN-", ""]), rng.choice([6, 7, 8])))),
        "诊断": _Val(rng.choice(_DISEASES[lang])),
        "主治医师": _maybe(rng, 0.8, lambda: _relation(rng, pool.person(), rng.choice(_DOCTOR_TITLES[lang]), lang)),
        "医疗费用": _maybe(rng, 0.6, lambda: pool.val(lambda: _money(rng, Decimal(rng.randint(20000, 4000000)) / 100, lang))),
        "联系电话": _maybe(rng, 0.5, lambda: pool.val(lambda: _phone(rng, lang))),
    }  # fmt: skip


@_template("zh_medical_discharge")
def _zh_medical_discharge(w: _Writer, rng: random.Random) -> None:
    w.fmt("{医院}\n出 院 小 结\n\n姓名：{患者姓名}  性别：{性别}  年龄：{年龄}\n科室：{科室}\n")
    w.kv("住院号", "住院号")
    w.kv("身份证号", "身份证号")
    w.fmt("入院日期：{就诊日期}\n\n入院情况：患者因反复不适入院，完善相关检查。\n出院诊断：{诊断}\n")
    w.t("诊疗经过：入院后予以对症支持治疗，病情好转。\n出院医嘱：注意休息，按时服药，两周后门诊复查。\n")
    w.kv("住院总费用", "医疗费用")
    w.fmt("\n医师签名：{主治医师}\n" if w.has("主治医师") else "\n")
    w.kv("家属联系电话", "联系电话")


@_template("zh_medical_outpatient")
def _zh_medical_outpatient(w: _Writer, rng: random.Random) -> None:
    w.fmt("门诊病历\n就诊医院：{医院}    就诊科室：{科室}\n就诊日期：{就诊日期}\n")
    w.kv("门诊号", "住院号")
    w.fmt("\n患者{患者姓名}，{性别}，{年龄}。")
    w.fmt("身份证号{身份证号}。" if w.has("身份证号") else "")
    w.fmt(
        "主诉：咳嗽、乏力三天。\n现病史：患者三天前受凉后出现咳嗽，伴乏力、食欲减退，无胸痛及咯血。\n既往史：否认药物过敏史。\n体格检查：神志清，精神可，双肺呼吸音粗。\n初步诊断：{诊断}。\n处理：药物治疗，多饮水，注意休息，不适随诊。\n"
    )
    w.kv("本次费用", "医疗费用")
    w.kv("接诊医生", "主治医师")
    w.kv("电话", "联系电话")


@_template("zh_medical_certificate")
def _zh_medical_certificate(w: _Writer, rng: random.Random) -> None:
    w.fmt("诊 断 证 明 书\n\n兹证明患者{患者姓名}（{性别}，{年龄}")
    w.fmt("，身份证号{身份证号}" if w.has("身份证号") else "")
    w.fmt("）于{就诊日期}在我院{科室}就诊")
    w.fmt("（病案号{住院号}）" if w.has("住院号") else "")
    w.fmt("，经检查诊断为{诊断}，建议休息两周。\n")
    w.fmt("此次就诊共发生医疗费用{医疗费用}。\n" if w.has("医疗费用") else "")
    w.t(
        "注意事项：本证明仅作为患者病休及办理相关手续的依据，涂改无效；复印件需加盖医院公章方有效。\n特此证明。\n\n"
    )
    w.fmt("{主治医师}\n" if w.has("主治医师") else "")
    w.fmt("{医院}（盖章）\n")
    w.kv("联系电话", "联系电话")


@_template("zh_medical_exam")
def _zh_medical_exam(w: _Writer, rng: random.Random) -> None:
    w.fmt("健康检查报告\n\n受检者 | {患者姓名}\n性别 | {性别}\n年龄 | {年龄}\n")
    w.kv("证件号 | ", "身份证号", "")
    w.kv("手机 | ", "联系电话", "")
    w.fmt("体检日期 | {就诊日期}\n体检机构 | {医院}\n科室 | {科室}\n")
    w.kv("档案号 | ", "住院号", "")
    w.fmt(
        "\n一般检查：身高、体重、血压已测。\n实验室检查：血常规、肝功能、肾功能、血脂、血糖。\n主要阳性发现：血压偏高、血脂异常。\n结论：{诊断}，建议专科随诊。\n"
    )
    w.kv("费用 | ", "医疗费用", "")
    w.kv("总检医师 | ", "主治医师", "")


@_template("en_medical_discharge")
def _en_medical_discharge(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "{医院}\nDISCHARGE SUMMARY\n\nPatient: {患者姓名}\nSex: {性别}    Age: {年龄}\nDepartment: {科室}\n"
    )
    w.kv("MRN", "住院号", ": ")
    w.fmt("Admission date: {就诊日期}\n\nFinal diagnosis: {诊断}\n")
    w.t("Hospital course: the patient responded well to treatment and was discharged in stable condition.\n")
    w.kv("Total charges", "医疗费用", ": ")
    w.kv("Attending", "主治医师", ": ")
    w.kv("Contact phone", "联系电话", ": ")


@_template("en_medical_letter")
def _en_medical_letter(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "To whom it may concern,\n\nThis is to certify that {患者姓名}, a {年龄} {性别}, was seen in our {科室} at {医院} on {就诊日期}"
    )
    w.fmt(" (record no. {住院号})" if w.has("住院号") else "")
    w.fmt(" and was diagnosed with {诊断}. Rest for two weeks is advised.\n")
    w.fmt("The charges for this visit came to {医疗费用}.\n" if w.has("医疗费用") else "")
    w.fmt("\nYours faithfully,\n{主治医师}\n" if w.has("主治医师") else "\nMedical Records Office\n")
    w.kv("Tel", "联系电话", ": ")


@_template("en_medical_clinic")
def _en_medical_clinic(w: _Writer, rng: random.Random) -> None:
    w.fmt("OUTPATIENT VISIT NOTE\nFacility: {医院}\nClinic: {科室}\nVisit: {就诊日期}\n")
    w.kv("Chart #", "住院号", ": ")
    w.fmt("\nS: {患者姓名}, {年龄}, {性别}, presents with three days of cough and fatigue.\n")
    w.fmt(
        "O: Afebrile. Chest clear.\nA: {诊断}.\nP: Medication as prescribed; follow up if symptoms persist.\n"
    )
    w.kv("\nBilled", "医疗费用", ": ")
    w.kv("Seen by", "主治医师", ": ")
    w.kv("Patient phone", "联系电话", ": ")


@_template("en_medical_lab")
def _en_medical_lab(w: _Writer, rng: random.Random) -> None:
    w.fmt("HEALTH SCREENING REPORT\n\nName | {患者姓名}\nAge | {年龄}\nGender | {性别}\nDate | {就诊日期}\n")
    w.fmt("Provider | {医院}\nUnit | {科室}\n")
    w.kv("Record | ", "住院号", "")
    w.kv("Phone | ", "联系电话", "")
    w.fmt("\nFindings: elevated blood pressure and cholesterol.\nImpression: {诊断}\n")
    w.kv("Fee | ", "医疗费用", "")
    w.kv("Reviewed by | ", "主治医师", "")


# --------------------------------------------------------------------------------------
# Insurance claims
# --------------------------------------------------------------------------------------

_CAUSES = {"zh": ["暴雨导致仓库进水", "车辆追尾碰撞", "住院治疗", "厨房电线短路引发火灾", "货物运输途中倾覆", "意外摔伤"],
           "en": ["storm water entering the warehouse", "rear-end collision", "hospitalization", "kitchen electrical fire",
                  "cargo overturned in transit", "accidental fall"]}  # fmt: skip
_ADJUSTER_TITLES = {
    "zh": ["理赔专员", "查勘员", "理赔经理"],
    "en": ["Claims Adjuster", "Loss Assessor", "Claims Manager"],
}


def _insurance_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    loss = _rand_date(rng)
    insured = Decimal(rng.choice([10, 20, 50, 100, 200, 500]) * 10000)
    paid = (insured * Decimal(rng.randint(2, 60)) / 100).quantize(Decimal("1"))
    holder = pool.person()
    same = rng.random() < 0.4
    company = "财产保险股份有限公司" if lang == "zh" else "Insurance Co., Ltd."
    return {
        "保单号": _Val(pool.code(rng.choice(["P", "PDAA", "POL-", "BD"]) + str(loss.year - 1), rng.choice([8, 10, 12]))),
        "保险公司": _Val(pool.unique(lambda: (pool.city() + rng.choice(_BRANDS) + company) if lang == "zh"
                                    else f"{rng.choice(_EN_BRANDS)} {company}")),
        "投保人": _Val(holder),
        "被保险人": None if same else _Val(pool.person()),
        "身份证号": _maybe(rng, 0.5 if lang == "zh" else 0.0, lambda: _id_number(rng)),
        "出险日期": pool.val(lambda: _date(rng, loss, lang)),
        "出险地点": _maybe(rng, 0.8, lambda: _Val(pool.address())),
        "出险原因": _Val(rng.choice(_CAUSES[lang])),
        "保险金额": _maybe(rng, 0.7, lambda: pool.val(lambda: _money(rng, insured, lang))),
        "理赔金额": pool.val(lambda: _money(rng, paid, lang)),
        "负责人": _maybe(rng, 0.7, lambda: _relation(rng, pool.person(), rng.choice(_ADJUSTER_TITLES[lang]), lang)),
        "联系电话": _maybe(rng, 0.6, lambda: pool.val(lambda: _phone(rng, lang))),
    }  # fmt: skip


@_template("zh_insurance_claim")
def _zh_insurance_claim(w: _Writer, rng: random.Random) -> None:
    w.fmt("{保险公司}\n理赔申请书\n\n保单号：{保单号}\n投保人：{投保人}\n")
    w.kv("被保险人", "被保险人")
    w.kv("身份证号码", "身份证号")
    w.kv("联系电话", "联系电话")
    w.fmt("出险日期：{出险日期}\n")
    w.kv("出险地点", "出险地点")
    w.fmt("出险原因：{出险原因}\n")
    w.kv("保险金额", "保险金额")
    w.fmt(
        "申请理赔金额：{理赔金额}\n\n所附材料：保险单复印件、身份证明、事故证明、损失清单及相关票据。\n本人声明以上所填内容真实无误，如有隐瞒愿承担相应法律责任。\n"
    )
    w.kv("受理人", "负责人")


@_template("zh_insurance_report")
def _zh_insurance_report(w: _Writer, rng: random.Random) -> None:
    w.fmt("查勘报告\n\n一、保险信息\n承保公司为{保险公司}，保单号{保单号}")
    w.fmt("，保险金额{保险金额}。\n" if w.has("保险金额") else "。\n")
    w.fmt("投保人{投保人}")
    w.fmt("，被保险人{被保险人}" if w.has("被保险人") else "")
    w.fmt("，证件号码{身份证号}。\n" if w.has("身份证号") else "。\n")
    w.fmt("二、出险经过\n{出险日期}")
    w.fmt("，在{出险地点}" if w.has("出险地点") else "")
    w.fmt("发生事故，事故原因为{出险原因}。\n三、核定结果\n经核定，本次赔付{理赔金额}。\n")
    w.fmt("\n查勘人：{负责人}\n" if w.has("负责人") else "")
    w.kv("报案电话", "联系电话")


@_template("zh_insurance_notice")
def _zh_insurance_notice(w: _Writer, rng: random.Random) -> None:
    w.fmt("理赔结案通知书\n\n尊敬的{投保人}：\n\n您于{出险日期}报案的保险事故（保单号{保单号}）已处理完毕。")
    w.fmt("被保险人{被保险人}因{出险原因}申请理赔" if w.has("被保险人") else "您因{出险原因}申请理赔")
    w.fmt("，我司核定赔款{理赔金额}，将于十个工作日内支付至您指定的账户。\n")
    w.kv("事故地点", "出险地点")
    w.kv("保额", "保险金额")
    w.kv("身份证号", "身份证号")
    w.fmt("\n如有疑问请联系{负责人}" if w.has("负责人") else "\n如有疑问请联系客服")
    w.fmt("，电话{联系电话}。\n" if w.has("联系电话") else "。\n")
    w.fmt("{保险公司}\n")


@_template("zh_insurance_form")
def _zh_insurance_form(w: _Writer, rng: random.Random) -> None:
    w.t("出险报案登记表\n")
    w.fmt("保单号码 | {保单号}\n保险人 | {保险公司}\n投保人 | {投保人}\n")
    w.kv("被保险人 | ", "被保险人", "")
    w.kv("证件号 | ", "身份证号", "")
    w.fmt("出险时间 | {出险日期}\n")
    w.kv("出险地址 | ", "出险地点", "")
    w.fmt("损失原因 | {出险原因}\n")
    w.kv("保险金额 | ", "保险金额", "")
    w.fmt("赔付金额 | {理赔金额}\n")
    w.kv("经办人 | ", "负责人", "")
    w.kv("联系方式 | ", "联系电话", "")
    w.t("备注 | 资料齐全\n")


@_template("en_insurance_claim")
def _en_insurance_claim(w: _Writer, rng: random.Random) -> None:
    w.fmt("{保险公司}\nCLAIM FORM\n\nPolicy number: {保单号}\nPolicyholder: {投保人}\n")
    w.kv("Insured person", "被保险人", ": ")
    w.kv("Phone", "联系电话", ": ")
    w.fmt("Date of loss: {出险日期}\n")
    w.kv("Place of loss", "出险地点", ": ")
    w.fmt("Cause: {出险原因}\n")
    w.kv("Sum insured", "保险金额", ": ")
    w.fmt("Amount claimed: {理赔金额}\n\nI declare that the above information is true.\n")
    w.kv("Received by", "负责人", ": ")


@_template("en_insurance_letter")
def _en_insurance_letter(w: _Writer, rng: random.Random) -> None:
    w.fmt("Dear {投保人},\n\nRe: policy {保单号}\n\nWe refer to the loss of {出险日期}")
    w.fmt(" at {出险地点}" if w.has("出险地点") else "")
    w.fmt(", caused by {出险原因}.")
    w.fmt(" The insured, {被保险人}, has been assessed." if w.has("被保险人") else "")
    w.fmt(" We are pleased to confirm a settlement of {理赔金额}")
    w.fmt(" under a sum insured of {保险金额}.\n" if w.has("保险金额") else ".\n")
    w.fmt("\nYour claim was handled by {负责人}" if w.has("负责人") else "\nYour claims team")
    w.fmt(", who can be reached at {联系电话}.\n" if w.has("联系电话") else ".\n")
    w.fmt("\nKind regards,\n{保险公司}\n")


@_template("en_insurance_adjuster")
def _en_insurance_adjuster(w: _Writer, rng: random.Random) -> None:
    w.fmt("LOSS ADJUSTER'S REPORT\n\nInsurer: {保险公司}\nPolicy: {保单号}\nInsured: {投保人}\n")
    w.kv("Also insured", "被保险人", ": ")
    w.fmt("\nCircumstances: on {出险日期} a loss occurred due to {出险原因}.")
    w.fmt(" Location: {出险地点}." if w.has("出险地点") else "")
    w.fmt("\nRecommendation: settle at {理赔金额}.\n")
    w.kv("Policy limit", "保险金额", ": ")
    w.kv("Adjuster", "负责人", ": ")
    w.kv("Tel.", "联系电话", " ")


@_template("en_insurance_table")
def _en_insurance_table(w: _Writer, rng: random.Random) -> None:
    w.t("FIRST NOTICE OF LOSS\n")
    w.fmt("Policy No. | {保单号}\nCarrier | {保险公司}\nPolicyholder | {投保人}\n")
    w.kv("Insured | ", "被保险人", "")
    w.fmt("Date | {出险日期}\n")
    w.kv("Location | ", "出险地点", "")
    w.fmt("Cause | {出险原因}\n")
    w.kv("Coverage | ", "保险金额", "")
    w.fmt("Payout | {理赔金额}\n")
    w.kv("Handler | ", "负责人", "")
    w.kv("Callback | ", "联系电话", "")


# --------------------------------------------------------------------------------------
# Traffic accident reports (records: vehicles)
# --------------------------------------------------------------------------------------

_VEHICLE_TYPES = {"zh": ["小型轿车", "小型普通客车", "轻型厢式货车", "重型半挂牵引车", "二轮摩托车", "大型普通客车"],
                  "en": ["sedan", "SUV", "pickup truck", "box truck", "motorcycle", "minivan"]}  # fmt: skip
_DAMAGES = {"zh": ["前保险杠及左前大灯损坏", "车辆右后部受损", "车头严重变形", "左侧车门凹陷", "后尾灯破裂", "无明显损失"],
            "en": ["front bumper and left headlight damaged", "rear-end damage", "front end crushed", "left door dented",
                   "broken tail light", "no visible damage"]}  # fmt: skip
_WEATHER = {
    "zh": ["晴", "阴", "小雨", "大雨", "雾"],
    "en": ["clear", "overcast", "light rain", "heavy rain", "fog"],
}
_LIABILITY = {"zh": ["甲车负全部责任", "双方负同等责任", "甲车负主要责任", "乙车负全部责任"],
              "en": ["Vehicle 1 fully at fault", "equal liability", "Vehicle 2 fully at fault", "Vehicle 1 mainly at fault"]}  # fmt: skip
_CASUALTIES = {
    "zh": ["无人员伤亡", "一人轻伤", "两人受伤"],
    "en": ["no injuries", "one minor injury", "two people injured"],
}
_CAR_NAMES = "甲乙丙丁"


def _traffic_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    when = _rand_date(rng)
    city = pool.city()
    n = rng.choice([1, 2, 2, 2, 3, 3, 4])
    vehicles: list[dict[str, _Val]] = []
    for k in range(n):
        vtype = (
            vehicles[-1]["车辆类型"] if k and rng.random() < 0.4 else _Val(rng.choice(_VEHICLE_TYPES[lang]))
        )
        damage = vehicles[-1]["损失情况"] if k and rng.random() < 0.25 else _Val(rng.choice(_DAMAGES[lang]))
        plate = pool.plate(city) if lang == "zh" or rng.random() < 0.3 else pool.us_plate()
        vehicles.append(
            {"车牌号": _Val(plate), "驾驶人": _Val(pool.person()), "车辆类型": vtype, "损失情况": damage}
        )
    h, m = rng.randint(0, 23), rng.randint(0, 59)

    def at() -> _Val:
        d = _date(rng, when, lang, ["cn", "iso", "abbr", "long"])
        return _Val(d.text + (f"{h}时{m:02d}分" if "年" in d.text else f" {h:02d}:{m:02d}"), "date", d.value)

    if lang == "zh":
        place = f"{city}市{rng.choice(_CITIES[city][2])}{rng.choice(_ROADS)}与{rng.choice(_ROADS)}交叉口"
    else:
        place = rng.choice([f"the intersection of {rng.choice(_US_STREETS)} and {rng.choice(_EN_ROADS)}",
                            f"{rng.randint(100, 9999)} block of {rng.choice(_US_STREETS)}"])  # fmt: skip
    officer = ["交警", "民警", "事故处理民警"] if lang == "zh" else ["Officer", "Traffic Officer", "Sergeant"]
    return {
        "事故编号": _Val(pool.code(rng.choice(["第", "SG", "TA-"]) + str(when.year), 6) + ("号" if lang == "zh" and rng.random() < 0.5 else "")),
        "事故时间": pool.val(at),
        "事故地点": _Val(pool.unique(lambda: place)),
        "天气": _maybe(rng, 0.6, lambda: _Val(rng.choice(_WEATHER[lang]))),
        "伤亡情况": _maybe(rng, 0.7, lambda: _Val(rng.choice(_CASUALTIES[lang]))),
        "责任认定": _maybe(rng, 0.7, lambda: _Val(rng.choice(_LIABILITY[lang][1:] if n > 1 else _LIABILITY[lang][:1]))),
        "处理民警": _maybe(rng, 0.7, lambda: _relation(rng, pool.person(), rng.choice(officer), lang)),
        "_records": vehicles,
    }  # fmt: skip


@_template("zh_traffic_certificate")
def _zh_traffic_certificate(w: _Writer, rng: random.Random) -> None:
    w.fmt("道路交通事故认定书（简易程序）\n编号：{事故编号}\n\n事故时间：{事故时间}\n事故地点：{事故地点}\n")
    w.kv("天气", "天气")
    w.t("\n当事车辆情况：\n")
    for k, r in enumerate(w.f["_records"]):
        w.fmt(
            f"{_CAR_NAMES[k]}车：号牌{{车牌号}}，{{车辆类型}}，驾驶人{{驾驶人}}，车损：{{损失情况}}。\n",
            w.rec("车辆", r),
        )
    w.t("\n事故经过：各方车辆行驶至事发路口时发生碰撞。\n")
    w.kv("人员伤亡", "伤亡情况")
    w.kv("责任认定", "责任认定")
    w.kv("处理民警", "处理民警")
    w.t("当事人对本认定如有异议，可在三日内申请复核。\n")


@_template("zh_traffic_narrative")
def _zh_traffic_narrative(w: _Writer, rng: random.Random) -> None:
    w.fmt("交通事故情况说明（{事故编号}）\n\n{事故时间}")
    w.fmt("，天气{天气}" if w.has("天气") else "")
    w.fmt("，在{事故地点}发生一起道路交通事故。\n")
    for r in w.f["_records"]:
        w.fmt("{驾驶人}驾驶号牌为{车牌号}的{车辆类型}行至该处，事故造成该车{损失情况}。\n", w.rec("车辆", r))
    w.fmt("事故{伤亡情况}。" if w.has("伤亡情况") else "")
    w.fmt("经调查，{责任认定}。\n" if w.has("责任认定") else "\n")
    w.fmt("\n{处理民警}\n" if w.has("处理民警") else "")
    w.t("（本说明仅供保险理赔参考）\n")


@_template("zh_traffic_table")
def _zh_traffic_table(w: _Writer, rng: random.Random) -> None:
    w.fmt("交通事故现场记录表\n编号 | {事故编号}\n时间 | {事故时间}\n地点 | {事故地点}\n")
    w.kv("天气 | ", "天气", "")
    w.kv("伤亡 | ", "伤亡情况", "")
    w.t("\n车辆 | 号牌号码 | 车型 | 驾驶人 | 损失\n")
    for k, r in enumerate(w.f["_records"]):
        w.fmt(
            f"{_CAR_NAMES[k]}车 | {{车牌号}} | {{车辆类型}} | {{驾驶人}} | {{损失情况}}\n", w.rec("车辆", r)
        )
    w.kv("\n责任 | ", "责任认定", "")
    w.kv("记录人 | ", "处理民警", "")


@_template("zh_traffic_agreement")
def _zh_traffic_agreement(w: _Writer, rng: random.Random) -> None:
    w.fmt(
        "机动车交通事故快速处理协议书\n\n协议编号：{事故编号}\n发生时间：{事故时间}\n发生地点：{事故地点}\n"
    )
    w.kv("天气情况", "天气")
    w.t("\n")
    for k, r in enumerate(w.f["_records"]):
        w.fmt(
            f"当事人{_CAR_NAMES[k]}：{{驾驶人}}，车牌号{{车牌号}}，车辆类型{{车辆类型}}，车辆损失{{损失情况}}。\n",
            w.rec("车辆", r),
        )
    w.fmt("\n事故责任：{责任认定}\n" if w.has("责任认定") else "\n事故责任：待定\n")
    w.kv("伤亡情况", "伤亡情况")
    w.t("各方当事人对上述事实无异议，自行协商解决。\n")
    w.kv("见证民警", "处理民警")


@_template("en_traffic_police")
def _en_traffic_police(w: _Writer, rng: random.Random) -> None:
    w.fmt("TRAFFIC COLLISION REPORT\nReport No.: {事故编号}\nDate/Time: {事故时间}\nLocation: {事故地点}\n")
    w.kv("Weather", "天气", ": ")
    w.t("\nVEHICLES\n")
    for k, r in enumerate(w.f["_records"], 1):
        w.fmt(
            f"Vehicle {k}: plate {{车牌号}}, {{车辆类型}}, driven by {{驾驶人}}; damage: {{损失情况}}.\n",
            w.rec("车辆", r),
        )
    w.kv("\nInjuries", "伤亡情况", ": ")
    w.kv("Fault", "责任认定", ": ")
    w.kv("Reporting officer", "处理民警", ": ")


@_template("en_traffic_narrative")
def _en_traffic_narrative(w: _Writer, rng: random.Random) -> None:
    w.fmt("Accident summary ({事故编号})\n\nAt {事故时间} a collision occurred at {事故地点}")
    w.fmt(" in {天气} conditions.\n" if w.has("天气") else ".\n")
    for r in w.f["_records"]:
        w.fmt(
            "{驾驶人} was driving a {车辆类型} with plate {车牌号}; the vehicle sustained {损失情况}.\n",
            w.rec("车辆", r),
        )
    w.fmt("Outcome: {伤亡情况}. " if w.has("伤亡情况") else "")
    w.fmt("Determination: {责任认定}." if w.has("责任认定") else "")
    w.fmt("\n\nInvestigated by {处理民警}.\n" if w.has("处理民警") else "\n")


@_template("en_traffic_exchange")
def _en_traffic_exchange(w: _Writer, rng: random.Random) -> None:
    w.fmt("DRIVER INFORMATION EXCHANGE\nIncident: {事故编号}\nWhen: {事故时间}\nWhere: {事故地点}\n")
    w.t("\n")
    for k, r in enumerate(w.f["_records"], 1):
        w.fmt(
            f"Party {k}\n  Driver: {{驾驶人}}\n  Plate: {{车牌号}}\n  Vehicle: {{车辆类型}}\n  Damage: {{损失情况}}\n\n",
            w.rec("车辆", r),
        )
    w.kv("Weather", "天气", ": ")
    w.kv("Injuries", "伤亡情况", ": ")
    w.kv("Liability", "责任认定", ": ")
    w.kv("Officer on scene", "处理民警", ": ")


@_template("en_traffic_table")
def _en_traffic_table(w: _Writer, rng: random.Random) -> None:
    w.fmt("CRASH LOG\nCase | {事故编号}\nTime | {事故时间}\nPlace | {事故地点}\n")
    w.kv("Weather | ", "天气", "")
    w.t("\nUnit | Plate | Type | Driver | Damage\n")
    for k, r in enumerate(w.f["_records"], 1):
        w.fmt(f"{k} | {{车牌号}} | {{车辆类型}} | {{驾驶人}} | {{损失情况}}\n", w.rec("车辆", r))
    w.kv("\nCasualties | ", "伤亡情况", "")
    w.kv("Fault | ", "责任认定", "")
    w.kv("Officer | ", "处理民警", "")


# --------------------------------------------------------------------------------------
# Agreements: loans, transfers, leases, purchase and service contracts beside third parties
# --------------------------------------------------------------------------------------

_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
            "fifteen sixteen seventeen eighteen nineteen").split()  # fmt: skip
_EN_TENS = "- - twenty thirty forty fifty sixty seventy eighty ninety".split()


def _en_words(n: int) -> str:
    """``1250000`` -> ``One Million Two Hundred Fifty Thousand`` (0 < n < 10**9)."""

    def small(k: int) -> list[str]:
        out = [_EN_ONES[k // 100], "hundred"] if k >= 100 else []
        k %= 100
        if k >= 20:
            out.append(_EN_TENS[k // 10] + (f"-{_EN_ONES[k % 10]}" if k % 10 else ""))
        elif k:
            out.append(_EN_ONES[k])
        return out

    words: list[str] = []
    for size, name in ((10**6, "million"), (1000, "thousand"), (1, "")):
        k = n // size % 1000
        if k:
            words += small(k) + ([name] if name else [])
    return " ".join(words).title()


def _words_money(rng: random.Random, amount: Decimal, lang: str, currency: str = "CNY") -> _Val:
    """A whole amount in words and figures as one span: ``人民币壹佰贰拾万元整（¥1,200,000.00）``,
    ``USD 250,000.00 (US Dollars Two Hundred Fifty Thousand Only)``."""
    amount = amount.quantize(Decimal("0.01"))
    f2 = f"{amount:,.2f}"
    if lang == "zh":
        cap = _capital(amount)
        currency = "CNY"
        text = rng.choice([f"人民币{cap}（¥{f2}）", f"人民币{cap}（¥{f2}）", f"{cap}（¥{f2}）",
                           f"人民币{cap}（小写：¥{f2}）", f"¥{f2}（大写：人民币{cap}）",
                           f"人民币{f2}元（大写：{cap}）"])  # fmt: skip
    elif currency == "USD":
        words = _en_words(int(amount))
        text = rng.choice([f"USD {f2} (US Dollars {words} Only)", f"{words} US Dollars (USD {f2})",
                           f"US${int(amount):,} ({words} Dollars)"])  # fmt: skip
    else:
        words = _en_words(int(amount))
        text = rng.choice([f"RMB {f2} (Renminbi {words} Yuan Only)", f"CNY {f2} ({words} Yuan)"])
    return _Val(text, "money", {"amount": f"{amount:.2f}", "currency": currency})


def _add_months(d: _dt.date, months: int) -> _dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    last = (_dt.date(y + m // 12, m % 12 + 1, 1) - _dt.timedelta(days=1)).day
    return _dt.date(y, m, min(d.day, last))


def _whole(rng: random.Random, lo: int, hi: int, step: int) -> Decimal:
    return Decimal(rng.randint(lo, hi) * step)


def _ag_money(f: dict[str, Any], amount: Decimal, words: float = 0.75) -> _Val:
    """A main amount (the price, the loan, the rent): mostly in words and figures."""
    pool, rng, lang = f["_pool"], f["_rng"], f["_lang"]
    if rng.random() < words:
        return pool.val(lambda: _words_money(rng, amount, lang, f["_cur"]))
    return pool.val(lambda: _money(rng, amount, lang, f["_styles"]))


def _side_money(f: dict[str, Any], amount: Decimal) -> _Val:
    """An amount beside the main one (an instalment, a fee, interest): in figures."""
    pool, rng, lang = f["_pool"], f["_rng"], f["_lang"]
    return pool.val(lambda: _money(rng, amount.quantize(Decimal("0.01")), lang, f["_styles"]))


def _ag_date(f: dict[str, Any], d: _dt.date) -> _Val:
    """A date in the document's one date style."""
    return f["_pool"].val(lambda: _date(f["_rng"], d, f["_lang"], [f["_ds"]]))


def _days(d: _dt.date, n: int) -> _dt.date:
    return d + _dt.timedelta(days=n)


_LAWS = {"zh": ["中华人民共和国法律"] * 6 + ["中华人民共和国现行有效的法律", "中国法律"],
         "en": ["the laws of the People's Republic of China"] * 3 + [
             "the laws of the State of New York", "the laws of England and Wales", "the laws of Singapore",
             "the laws of the State of California", "the laws of the Hong Kong Special Administrative Region"]}  # fmt: skip
_ARBITRATION = {"zh": ["中国国际经济贸易仲裁委员会", "上海国际仲裁中心", "深圳国际仲裁院", "{c}仲裁委员会",
                       "{c}仲裁委员会", "中国国际经济贸易仲裁委员会{c}分会"],
                "en": ["the Hong Kong International Arbitration Centre", "the Singapore International Arbitration Centre",
                       "the American Arbitration Association", "the London Court of International Arbitration",
                       "the China International Economic and Trade Arbitration Commission"]}  # fmt: skip
_COURTS_EN = ["the courts of England and Wales", "the state and federal courts located in New York County",
              "the courts of Singapore", "the courts of the Hong Kong Special Administrative Region"]  # fmt: skip


def _forum(rng: random.Random, pool: _Pool, lang: str, city: str) -> tuple[str, _Val]:
    """(``"arbitration"`` or ``"court"``, the forum as the gold span of 争议解决): an
    arbitration body or a named court in Chinese; ``arbitration administered by …`` or the
    courts in English."""
    kind = rng.choice(["arbitration", "court"])

    def make() -> _Val:
        if lang == "zh" and kind == "court":
            district = rng.choice(_CITIES[city][2])
            return _Val(rng.choice([f"{city}市{district}人民法院", f"{city}市中级人民法院"]))
        if lang == "zh":
            return _Val(rng.choice(_ARBITRATION["zh"]).format(c=city))
        if kind == "court":
            return _Val(rng.choice(_COURTS_EN))
        return _Val("arbitration administered by " + rng.choice(_ARBITRATION["en"]))

    return kind, pool.val(make)


_CN_DIGITS = "零一二三四五六七八九"


def _cn_num(n: int) -> str:
    """``1`` -> 一, ``12`` -> 十二, ``25`` -> 二十五 (below 100)."""
    tens, ones = divmod(n, 10)
    return ((_CN_DIGITS[tens] if tens > 1 else "") + "十" if tens else "") + (
        _CN_DIGITS[ones] if ones else ""
    )


class _Num:
    """Clause numbers of one document, in one style (``第三条``, ``三、``, ``3.``, ``Article 3.``)."""

    def __init__(self, rng: random.Random, lang: str):
        self.i = 0
        styles = (
            ["第{c}条 ", "第{c}条 ", "{c}、", "{i}. "]
            if lang == "zh"
            else ["{i}. ", "Article {i}. ", "Section {i}. "]
        )
        self.style = rng.choice(styles)

    def __call__(self) -> str:
        self.i += 1
        return self.style.format(c=_cn_num(self.i), i=self.i)


def _agreement_facts(rng: random.Random, pool: _Pool, lang: str) -> dict[str, Any]:
    """What every agreement shares (number, signing date, law, forum, date style, currency);
    each template draws its parties, amounts and other dates itself (``_loan_facts`` …)."""
    signed = _rand_date(rng, 2021, 2025)
    cur = "CNY" if lang == "zh" else rng.choice(["USD", "USD", "CNY"])
    f: dict[str, Any] = {
        "_pool": pool, "_rng": rng, "_lang": lang, "_signed": signed, "_cur": cur,
        "_ds": rng.choice(["cn", "cn", "cn", "iso", "dot"] if lang == "zh" else ["long", "long", "abbr", "iso", "us"]),
        "_styles": (["yen", "rmb", "yuan"] if lang == "zh" else ["usd", "dollar"] if cur == "USD" else ["cny", "rmb"]),
        "_long": rng.random() < 0.2, "city": pool.city(),
        "合同编号": _maybe(rng, 0.85, lambda: _Val(pool.code(rng.choice(["HT-", "JK-", "XY", "AGR-", "No."]) + f"{signed.year}-", 4))),
    }  # fmt: skip
    f["签约日期"] = _maybe(rng, 0.9, lambda: _ag_date(f, signed))
    f["适用法律"] = _maybe(rng, 0.75, lambda: pool.val(lambda: _Val(rng.choice(_LAWS[lang]))))
    f["_forum"], forum = _forum(rng, pool, lang, f["city"])
    f["争议解决"] = forum if rng.random() < 0.75 else None
    return f


def _ag_party(f: dict[str, Any], person: bool) -> dict[str, Any]:
    """A party (a company or a person) and what stands beside its name: address, legal
    representative, agent, ID number, credit code, phone."""
    pool, rng, lang = f["_pool"], f["_rng"], f["_lang"]
    p: dict[str, Any] = {"person": person, "name": pool.person() if person else pool.company()}
    if person:
        p["id"] = (pool.val(lambda: _id_number(rng)).text if lang == "zh"
                   else _maybe(rng, 0.6, lambda: pool.code(rng.choice(["E", "G", "P"]), 8)))  # fmt: skip
    else:
        p["code"] = _tax_id(rng, pool) if lang == "zh" else None
        p["rep"] = pool.person()
        p["agent"] = _maybe(rng, 0.5, pool.person)
    p["addr"] = pool.address()
    p["phone"] = _maybe(rng, 0.6, lambda: pool.val(lambda: _phone(rng, lang)).text)
    return p


def _zh_party(w: _Writer, rng: random.Random, head: str, label: str | None, p: dict[str, Any],
              alias: str | None = None, multi: bool = False) -> None:  # fmt: skip
    """``head：name`` (the gold span of ``label``; None: a party that is no field), an
    optional ``（以下简称“…”）``, then the party's details on one line or several."""
    w.t(head, "：")
    if label:
        w.v(label, p["name"], multi=multi)
    else:
        w.d("party", p["name"])
    if alias:
        w.d("alias", f"（以下简称“{alias}”）")
    if p["person"]:
        rows = [
            ("身份证号码", "id", p.get("id")),
            (rng.choice(["住址", "住所", "通讯地址"]), "address", p["addr"]),
        ]
    else:
        rows = [("统一社会信用代码", "code", p.get("code")),
                (rng.choice(["住所", "住所地", "注册地址", "地址"]), "address", p["addr"]),
                ("法定代表人", "rep", p.get("rep")), (rng.choice(["委托代理人", "授权代表"]), "agent", p.get("agent"))]  # fmt: skip
    rows.append((rng.choice(["联系电话", "电话"]), "phone", p.get("phone")))
    rows = [r for r in rows if r[2] and rng.random() < 0.85]
    inline = rng.random() < 0.3
    w.t("" if inline else "\n")
    for key, kind, val in rows:
        w.t("，" if inline else "", key, "：")
        w.d(kind, val)
        w.t("" if inline else "\n")
    w.t("\n" if inline else "")


_EN_JURISDICTIONS = ["the People's Republic of China", "the State of Delaware", "Hong Kong", "Singapore",
                     "England and Wales", "the State of New York"]  # fmt: skip


def _en_party(w: _Writer, rng: random.Random, head: str, label: str | None, p: dict[str, Any],
              alias: str | None = None, multi: bool = False, sentence: bool | None = None) -> None:  # fmt: skip
    """``HEAD: name`` with its details in lines, or (``sentence``) ``name, a company … (the
    "Lender")`` where only the alias names the role."""
    sentence = rng.random() < 0.4 if sentence is None else sentence

    def name() -> None:
        if label:
            w.v(label, p["name"], multi=multi)
        else:
            w.d("party", p["name"])

    if sentence:
        name()
        if p["person"]:
            if p.get("id"):
                w.t(", holder of passport No. ")
                w.d("id", p["id"])
            w.t(", residing at ")
            w.d("address", p["addr"])
        else:
            w.t(f", a company incorporated in {rng.choice(_EN_JURISDICTIONS)}" if rng.random() < 0.4 else "")
            w.t(", with its registered office at ")
            w.d("address", p["addr"])
            if p.get("rep"):
                w.t(", represented by ")
                w.d("rep", p["rep"])
        alias = alias or head
        w.d("alias", f' (hereinafter "{alias}")' if alias.startswith("Party") else f' (the "{alias}")')
        return
    w.t(head, ": ")
    name()
    if alias:
        w.d("alias", rng.choice([f' (the "{alias}")', f' (hereinafter "{alias}")']))
    keys = (
        ["Address", "Residential Address"] if p["person"] else ["Address", "Registered Address", "Domicile"]
    )
    rows = [(rng.choice(keys), "address", p["addr"])]
    if p["person"]:
        rows.append(("Passport No.", "id", p.get("id")))
    else:
        rows += [("Legal Representative", "rep", p.get("rep")),
                 (rng.choice(["Authorized Agent", "Attorney-in-fact", "Authorized Representative"]), "agent", p.get("agent"))]  # fmt: skip
    rows.append((rng.choice(["Tel.", "Phone"]), "phone", p.get("phone")))
    w.t("\n")
    keep = 0.85 if w.f.get("_long") else 0.55
    for key, kind, val in rows:
        if val and rng.random() < keep:
            w.t(key, ": ")
            w.d(kind, val)
            w.t("\n")


def _zh_sign(w: _Writer, rng: random.Random, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Signature block: role word and seal, and in short documents the name again (plain
    text, outside any gold span); long documents leave the lines blank (their last window
    would otherwise hold a party's name without its slot)."""
    w.t("\n")
    for head, p in rows:
        seal = "（签字）" if p["person"] else rng.choice(["（盖章）", "（公章）", "（签章）", "（盖章）"])
        if w.f.get("_long"):
            w.t(head, seal, "：\n")
        elif rng.random() < 0.5:
            w.t(head, seal, "：")
            w.d("sign", p["name"])
            w.t("\n")
        else:
            w.t(head, "：")
            w.d("sign", p["name"])
            w.d("seal", seal)
            w.t("\n")
        if not p["person"] and rng.random() < 0.6:
            w.t(
                rng.choice(
                    ["法定代表人或委托代理人（签字）：", "授权代表（签字）：", "法定代表人（签字）："]
                ),
                "\n",
            )


def _en_sign(w: _Writer, rng: random.Random, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Long documents: blank signature blocks; short ones: one line per party, its name
    again (plain text) and who signs for it."""
    if w.f.get("_long"):
        w.t("\nIN WITNESS WHEREOF, the parties have executed this Agreement on the date stated in it.\n")
        for head, _ in rows:
            w.t(f"\n{head.upper()}\nBy: ____________________\nName:\nTitle:\n")
        return
    w.t("\n")
    for head, p in rows:
        w.t(f"{head.upper()}: ")
        w.d("sign", p["name"])
        if p["person"] or not p.get("rep"):
            w.t("  Signature: __________\n")
        else:
            w.t("  By: __________ (")
            w.d("rep", p["rep"])
            w.t(", Legal Representative)\n")


def _zh_law(w: _Writer, rng: random.Random, num: _Num, many: bool) -> None:
    """适用法律 and 争议解决 (the forum) in one clause or two, whichever the document has."""
    both = "各方" if many else "双方"
    law = rng.choice(["本合同的订立、效力、解释、履行及争议的解决均适用{适用法律}。", "本合同适用{适用法律}。",
                      "本合同受{适用法律}管辖，并依其解释。"])  # fmt: skip
    if w.f["_forum"] == "arbitration":
        forum = (
            f"因本合同引起的或与本合同有关的任何争议，{both}应友好协商解决；协商不成的，任何一方均有权将争议提交"
            "{争议解决}，按照申请仲裁时该会现行有效的仲裁规则进行仲裁。仲裁裁决是终局的，对"
            + both
            + "均有约束力。"
        )
    else:
        forum = rng.choice([f"因履行本合同发生的争议，由{both}协商解决；协商不成的，任何一方均可向" + "{争议解决}提起诉讼。",
                            f"凡因本合同引起的争议，{both}应协商解决；协商不成的，由" + "{争议解决}管辖。"])  # fmt: skip
    has_law, has_forum = w.has("适用法律"), w.has("争议解决")
    if has_law and has_forum and rng.random() < 0.5:
        w.fmt(num() + "适用法律与争议解决：" + law + forum + "\n")
        return
    if has_law:
        w.fmt(num() + "适用法律：" + law + "\n")
    if has_forum:
        w.fmt(num() + "争议解决：" + forum + "\n")


def _en_law(w: _Writer, rng: random.Random, num: _Num) -> None:
    if w.has("适用法律"):
        w.fmt(num() + rng.choice(["Governing Law. This Agreement shall be governed by and construed in accordance "
                                  "with {适用法律}.", "Governing Law. This Agreement is governed by {适用法律}."]) + "\n")  # fmt: skip
    if w.has("争议解决"):
        if w.f["_forum"] == "arbitration":
            w.fmt(num() + rng.choice(["Dispute Resolution. Any dispute arising out of this Agreement shall be finally "
                                      "settled by {争议解决}.\n", "Disputes. Any dispute shall be finally settled by "
                                      "{争议解决} under its rules then in force.\n"]))  # fmt: skip
        else:
            w.fmt(num() + "Jurisdiction. The parties submit to the exclusive jurisdiction of {争议解决}.\n")


# clauses of long agreements that hold no field ({a}, {b}: the parties' role words)
_BOILER = {
    "zh": [
        "陈述与保证：{a}和{b}各自向对方陈述并保证，其为依法设立并有效存续的主体或具有完全民事行为能力的自然人，具有签订和履行本合同的权利能力和行为能力；其签署和履行本合同不违反对其有约束力的法律、法规、章程或其他协议；其向对方提供的全部文件、资料均真实、准确、完整。",
        "保密：未经对方事先书面同意，任何一方不得向第三方披露因签订和履行本合同而知悉的对方商业秘密、技术信息、经营信息及本合同的内容，但法律法规另有规定或有权机关要求披露的除外。本条约定的保密义务不因本合同的变更、解除或终止而失效，保密期限为本合同终止后三年。",
        "不可抗力：因地震、台风、水灾、火灾、战争、疫情以及其他不能预见、不能避免并不能克服的客观情况，致使一方不能履行或不能完全履行本合同的，遭受不可抗力的一方应在不可抗力发生后十五日内书面通知对方，并提供有关机构出具的证明文件；根据不可抗力的影响，可部分或全部免除其责任。",
        "通知与送达：本合同项下的通知应以书面形式作出，以专人递送、挂号信、快递或电子邮件方式发送至本合同首部载明的地址。任何一方变更通讯地址的，应在变更后三日内书面通知对方，否则按原地址送达即视为有效送达；邮寄送达的，以交邮后第三日为送达日。",
        "合同的变更与解除：本合同的任何变更、补充均须经各方协商一致并以书面形式作出。除本合同另有约定或法律另有规定外，任何一方不得单方解除本合同。一方严重违约致使合同目的无法实现的，守约方有权书面通知解除本合同，并要求违约方赔偿由此造成的全部损失。",
        "税费：因签订和履行本合同所产生的各项税费，由各方依照国家有关法律法规的规定各自承担；法律法规没有规定的，由各方平均分担。任何一方代对方缴纳税费的，对方应在收到缴款凭证后十日内予以返还。",
        "反商业贿赂：各方承诺在本合同的签订和履行过程中严格遵守反商业贿赂的相关规定，不得向对方工作人员提供任何形式的回扣、礼金、有价证券或其他不正当利益。一经发现，受损方有权解除本合同并追究违约方的责任。",
        "权利义务的转让：未经对方事先书面同意，任何一方不得将其在本合同项下的全部或部分权利、义务转让给任何第三方；{b}的关联公司承继其业务的，应事先书面通知{a}。",
        "完整协议：本合同及其附件构成各方就本合同事项所达成的完整协议，取代各方此前就该等事项所作的任何口头或书面的约定、承诺与陈述。本合同的附件是本合同不可分割的组成部分，与本合同具有同等法律效力。",
        "可分割性：本合同的任何条款被有权机关认定为无效或不可执行的，不影响本合同其他条款的效力，各方应本着诚实信用的原则协商确定替代条款，使其尽可能接近原条款的本意。",
        "弃权：任何一方未行使或迟延行使其在本合同项下的任何权利，不构成对该权利的放弃；单独或部分行使任何权利，亦不妨碍其进一步行使该权利或其他权利。",
        "信息披露与配合：在本合同履行期间，{a}与{b}应相互配合，及时提供对方合理要求的文件和资料；任何一方发生名称、住所、法定代表人变更或者涉及重大诉讼、仲裁的，应在相关事项发生后五个工作日内书面通知对方。",
        "个人信息保护：各方因履行本合同而获取的对方员工或客户的个人信息，仅可用于履行本合同之目的，并应按照《中华人民共和国个人信息保护法》的规定采取必要的安全保护措施，不得非法收集、使用、加工、传输或向他人提供。",
        "文本与份数：本合同以中文书写，如有其他文字译本，以中文文本为准。本合同的附件及各方就本合同签订的补充协议，均为本合同的组成部分。",
        "违约责任的一般约定：任何一方违反本合同约定的，应当继续履行、采取补救措施并赔偿守约方因此遭受的全部损失，包括但不限于直接损失、可得利益损失以及守约方为实现权利而支付的诉讼费、仲裁费、保全费、律师费、差旅费等合理费用。",
        "合同的终止：本合同因期限届满、协议解除或者法律规定的其他情形而终止。本合同终止后，各方仍应遵守本合同中有关保密、结算、违约责任及争议解决的约定，该等条款在本合同终止后继续有效。",
        "授权代表：各方应指定专人负责本合同的联络与履行，授权代表的变更应提前书面通知对方。授权代表在授权范围内作出的意思表示对其所代表的一方具有约束力。",
        "廉洁合作：各方工作人员在本合同的谈判、签订和履行过程中应廉洁自律，不得索取或收受对方的财物、宴请或其他利益，不得利用职务之便为自己或他人谋取不正当利益。",
        "档案与资料：各方应妥善保管与本合同有关的原始凭证、往来函件、会议纪要等资料，保存期限不少于本合同终止后五年，并在对方或有权机关依法查询时予以配合。",
        "数据安全：任何一方在履行本合同过程中接触对方信息系统或数据的，应遵守对方的信息安全管理制度，采取必要措施防止数据泄露、篡改或丢失，不得将对方数据用于本合同以外的目的。",
        "补充协议：本合同未尽事宜，由各方另行协商并签订补充协议。补充协议与本合同约定不一致的，以补充协议为准；补充协议未作约定的，仍以本合同为准。",
        "联系与协调：各方应建立定期沟通机制，及时通报合同履行中出现的问题，并在收到对方书面询问后五个工作日内作出答复；对履行中出现的分歧，应首先提交各方授权代表协商处理。",
    ],
    "en": [
        "Representations and Warranties. Each party represents and warrants to the other that it has full power and authority to enter into and perform this Agreement, that this Agreement constitutes its legal, valid and binding obligation, and that its execution and performance do not conflict with any law, charter document or agreement binding on it.",
        "Confidentiality. Each party shall keep confidential all information disclosed by the other party in connection with this Agreement and shall not disclose it to any third party without the prior written consent of the disclosing party, except as required by law or by a competent authority. This obligation survives the termination of this Agreement for three years.",
        "Force Majeure. Neither party shall be liable for any failure or delay in performance caused by events beyond its reasonable control, including natural disasters, war, epidemics or government action, provided that the affected party notifies the other party in writing within fifteen days and uses reasonable efforts to mitigate the effects.",
        "Notices. All notices under this Agreement shall be in writing and delivered by hand, by courier or by e-mail to the addresses set out above, or to such other address as a party may notify to the other. A notice is deemed received on delivery, or on the third business day after dispatch by courier.",
        "Assignment. Neither party may assign or transfer any of its rights or obligations under this Agreement without the prior written consent of the other party, which shall not be unreasonably withheld.",
        "Entire Agreement. This Agreement, together with its schedules, constitutes the entire agreement between the parties with respect to its subject matter and supersedes all prior negotiations, understandings and agreements, whether written or oral.",
        "Severability. If any provision of this Agreement is held invalid or unenforceable, the remaining provisions shall continue in full force and effect, and the parties shall negotiate in good faith a valid provision that comes as close as possible to the original intent.",
        "Amendment and Waiver. No amendment of this Agreement is effective unless made in writing and signed by both parties. No failure or delay in exercising any right operates as a waiver of that right.",
        "Anti-Bribery. Each party shall comply with all applicable anti-bribery and anti-corruption laws and shall not offer or give any improper payment or advantage to any employee or representative of the other party.",
        "Counterparts. This Agreement may be executed in counterparts, each of which is deemed an original, and all of which together constitute one and the same instrument. Signatures delivered electronically are as effective as originals.",
        "Costs. Each party shall bear its own legal and other costs incurred in the negotiation, preparation and execution of this Agreement, and all taxes shall be borne by the party on which they are levied by law.",
    ],
}  # fmt: skip
_BOILER_FAMILY = {
    "loan": {
        "zh": ["借款用途的监督：{a}有权检查、监督借款的使用情况，{b}应按季度向{a}提供财务报表及借款使用情况的说明；{b}不得将借款用于证券、期货投资或其他违反法律法规的用途。",
               "提前还款：{b}提前归还借款的，应提前三十日书面通知{a}，并按实际借款天数计付利息；提前还款不免除{b}已产生的违约责任。",
               "借款人的义务：在借款本息全部清偿之前，{b}进行合并、分立、减资、股权变动、重大资产转让或者对外提供担保的，应事先征得{a}的书面同意。",
               "扣划与抵销：{b}未按期偿还借款本息的，{a}有权从{b}在其处开立的任何账户中扣划相应款项，或以其对{b}负有的到期债务予以抵销。"],
        "en": ["Prepayment. {B} may prepay the loan in whole or in part on thirty days' prior written notice, together with the interest accrued on the amount prepaid up to the date of prepayment.",
               "Covenants. Until the loan is repaid in full, {b} shall not create any security over its assets, dispose of any material asset or make any loan to a third party without the prior written consent of {a}, and shall deliver its audited financial statements each year.",
               "Events of Default. Each of the following is an event of default: non-payment of any sum when due, a material misrepresentation, insolvency of {b}, or a breach of covenant not remedied within fifteen days. Upon an event of default {a} may declare all outstanding amounts immediately due."],
    },
    "lease": {
        "zh": ["房屋的维修：租赁期间，{a}负责房屋主体结构及公共设施的维修；因{b}使用不当造成房屋或设施损坏的，由{b}负责修复或赔偿。",
               "装修与改建：{b}对房屋进行装修或改建的，应事先将装修方案报{a}书面同意，并自行办理相关报批手续；租赁期满时，{b}可移动的装修物可自行拆除，不可移动的部分无偿归{a}所有。",
               "转租：未经{a}书面同意，{b}不得将房屋全部或部分转租、转借给第三方，亦不得与他人调换使用。",
               "续租：租赁期满，{b}需继续承租的，应于期满前三个月书面通知{a}，在同等条件下{b}享有优先承租权。"],
        "en": ["Maintenance. {A} shall keep the structure, roof and common facilities of the premises in good repair, and {b} shall keep the interior in good and clean condition, fair wear and tear excepted.",
               "Alterations. {B} shall not make any structural alteration to the premises without the prior written consent of {a} and shall, at the end of the term, reinstate the premises unless {a} agrees otherwise.",
               "Subletting. {B} shall not sublet, assign or share possession of the premises or any part of them without the prior written consent of {a}."],
    },
    "equipment": {
        "zh": ["设备的交付与验收：{a}交付设备时应同时提供设备的合格证、使用说明书及维修保养手册，{b}应在设备安装调试完毕后三日内进行验收，验收合格后双方签署《设备交接单》。",
               "设备的所有权：租赁期间设备的所有权属于{a}，{b}仅享有使用权；{b}不得将设备出售、转租、抵押或以其他任何方式处分，并应防止设备被第三方扣押或查封。",
               "设备的保险：租赁期间，{b}应以{a}为第一受益人为设备投保财产一切险，保险费用由{b}承担；设备发生保险事故的，{b}应立即通知{a}并协助办理理赔。",
               "设备的返还：租赁期满或本合同提前解除的，{b}应在五日内将设备以正常使用后的状态返还{a}；设备存在非正常损耗的，{b}应负责修复或按评估价值予以赔偿。"],
    },
    "transfer": {
        "zh": ["过渡期安排：自本协议签订之日起至交割完成之日止为过渡期。过渡期内，{a}应促使目标公司按照以往的惯例正常经营，不得进行利润分配、对外担保或处置重大资产。",
               "债权债务：交割前目标公司已经发生但未向{b}披露的债务，由{a}承担；因此给{b}或目标公司造成损失的，{a}应予以全额赔偿。",
               "员工安置：目标公司现有员工的劳动关系保持不变，由目标公司继续履行与员工签订的劳动合同，{b}不因本次转让承担额外的安置费用。",
               "变更登记：{a}应配合目标公司在本协议签订后尽快向市场监督管理部门申请办理股东变更登记，{b}应提供办理登记所需的全部文件。"],
        "en": ["Conduct before Closing. Until Closing, {a} shall carry on its business in the ordinary course and shall not create any encumbrance over, or dispose of, anything to be transferred under this Agreement.",
               "Indemnity. {A} shall indemnify {b} against any liability arising before Closing that was not disclosed in writing to {b}.",
               "Further Assurance. Each party shall execute such documents and do such things as the other party may reasonably require to give full effect to the transfer, including the filings with the competent registration authority."],
    },
    "purchase": {
        "zh": ["质量标准：{b}提供的货物应符合国家标准、行业标准及本合同附件约定的技术要求；没有约定标准的，按照通常标准或符合合同目的的特定标准执行。",
               "包装与运输：货物的包装应适合长途运输，能够防潮、防震、防锈，运输费用及运输途中的风险由{b}承担，直至货物交付{a}为止。",
               "验收：{a}应在货物到达后七个工作日内组织验收，验收不合格的，{b}应在十日内无偿更换或修复，由此产生的费用由{b}承担。",
               "质量保证：货物的质量保证期为验收合格之日起十二个月，在质量保证期内出现质量问题的，{b}应在接到通知后四十八小时内派员到场处理。"],
        "en": ["Inspection. {A} shall inspect the goods within seven business days of delivery and shall notify {b} in writing of any defect, in which case {b} shall repair or replace the goods at its own cost.",
               "Warranty. {B} warrants that the goods are new, of merchantable quality and conform to the specifications for twelve months from acceptance.",
               "Risk and Title. Risk in the goods passes to {a} on delivery; title passes on payment of the contract price in full."],
    },
    "service": {
        "zh": ["服务标准：{b}应按照本合同附件约定的服务标准和行业规范提供服务，并指派具有相应资质的人员组成项目组，未经{a}同意不得更换项目负责人。",
               "成果的验收：{b}提交阶段性成果后，{a}应在十个工作日内提出书面意见；逾期未提出意见的，视为该阶段成果验收合格。",
               "知识产权：{b}在履行本合同过程中为{a}完成的工作成果，其知识产权归{a}所有；{b}保证其提供的服务和成果不侵犯任何第三方的合法权利。",
               "人员管理：{b}派驻{a}现场的人员应遵守{a}的各项管理制度，其劳动报酬、社会保险及人身安全由{b}负责。"],
        "en": ["Personnel. {B} shall assign suitably qualified personnel to perform the services and shall not replace the project manager without the consent of {a}.",
               "Acceptance. {A} shall review each deliverable within ten business days of receipt and either accept it or give written reasons for rejection; a deliverable not rejected within that period is deemed accepted.",
               "Intellectual Property. All deliverables created for {a} under this Agreement belong to {a} upon payment, and {b} warrants that they do not infringe any third-party rights."],
    },
}  # fmt: skip


def _boiler(w: _Writer, rng: random.Random, num: _Num, family: str, a: str, b: str) -> None:
    """Long documents only: clauses that hold no field, until the text before the last
    clauses and the signatures is long enough for a 2,500-4,000-character document."""
    if not w.f.get("_long"):
        return
    lang = w.lang
    target = rng.randint(2500, 3300) if lang == "zh" else rng.randint(2300, 3000)
    clauses = list(_BOILER_FAMILY[family][lang])
    rest = list(_BOILER[lang])
    rng.shuffle(rest)
    for c in clauses + rest:
        if w.pos >= target:
            break
        w.t(num(), c.format(a=a, b=b, A=a[:1].upper() + a[1:], B=b[:1].upper() + b[1:]), "\n")


# loans -------------------------------------------------------------------------------

_LOAN_PURPOSES = {"zh": ["补充流动资金", "购置生产设备", "支付货款", "厂房装修", "经营周转", "偿还到期债务"],
                  "en": ["working capital", "the purchase of production equipment", "the refurbishment of its plant",
                         "general corporate purposes", "the refinancing of existing debt"]}  # fmt: skip
_RATES = ["3.45", "3.65", "4.35", "4.75", "4.9", "5.6", "6", "7.2", "8", "10", "12"]
_TERM_WORDS = {"zh": {3: "三个月", 6: "六个月", 12: "十二个月", 18: "十八个月", 24: "二十四个月", 36: "三十六个月"},
               "en": {3: "three (3) months", 6: "six (6) months", 12: "twelve (12) months", 18: "eighteen (18) months",
                      24: "twenty-four (24) months", 36: "thirty-six (36) months"}}  # fmt: skip


def _loan_facts(f: dict[str, Any], guarantors: list[int] | None = None) -> None:
    """Lender, borrower, 0-2 guarantors, the loan, the rate, the term and its dates."""
    rng, pool = f["_rng"], f["_pool"]
    f["_lender"] = _ag_party(f, rng.random() < 0.35)
    f["_borrower"] = _ag_party(f, rng.random() < 0.4)
    f["_guarantors"] = [
        _ag_party(f, rng.random() < 0.4) for _ in range(rng.choice(guarantors or [0, 1, 1, 2]))
    ]
    amount = rng.choice([_whole(rng, 5, 300, 10000), _whole(rng, 20, 900, 1000)])
    f["_amount"] = amount
    f["借款金额"] = _ag_money(f, amount)
    rate = rng.choice(_RATES)
    f["_rate"] = Decimal(rate)
    f["年利率"] = _maybe(rng, 0.85, lambda: pool.val(lambda: _Val(rate + "%", "percent", rate)))
    months = rng.choice([3, 6, 12, 12, 18, 24, 36])
    start = _days(f["_signed"], rng.randint(1, 10))
    end = _days(_add_months(start, months), -1)
    f["_months"], f["_start"], f["_end"] = months, start, end
    f["开始日期"] = _maybe(rng, 0.75, lambda: _ag_date(f, start))
    f["结束日期"] = _ag_date(f, end) if f["开始日期"] and rng.random() < 0.9 else None
    # the repayment date where the term has no end date (beside one it would be the same
    # date written twice, and an engine that points to the first would miss its slot)
    f["还款日期"] = None if f["结束日期"] else _ag_date(f, end)


def _zh_loan_parties(w: _Writer, rng: random.Random) -> tuple[str, str, str]:
    """Lender and borrower in either order, then the guarantors; returns their role words."""
    f = w.f
    lw = rng.choice(["出借人", "出借人", "贷款人", "出借方"])
    bw = rng.choice(["借款人", "借款人", "借款方"])
    gw = rng.choice(["保证人", "保证人", "担保人"])
    rows = [(lw, "出借人", f["_lender"]), (bw, "借款人", f["_borrower"])]
    if rng.random() < 0.35:
        rows.reverse()
    gs = f["_guarantors"]
    rows += [(gw + ("" if len(gs) == 1 else "一二"[i]), "保证人", g) for i, g in enumerate(gs)]
    for head, label, p in rows:
        alias = head if len(gs) < 2 and rng.random() < 0.25 else None
        _zh_party(w, rng, head, label, p, alias=alias, multi=label == "保证人")
    f["_sign_rows"] = [(head, p) for head, _, p in rows]
    return lw, bw, gw


def _zh_loan_body(w: _Writer, rng: random.Random, num: _Num, lw: str, bw: str, gw: str) -> None:
    f = w.f
    term = _TERM_WORDS["zh"][f["_months"]]
    w.fmt(num() + rng.choice(["借款金额：{借款金额}。\n", "借款金额：{lw}同意向{bw}出借{借款金额}。\n"
                              .replace("{lw}", lw).replace("{bw}", bw)]))  # fmt: skip
    if w.has("开始日期"):
        w.fmt(num() + f"借款期限：{term}，自" + "{开始日期}起至{结束日期|借款本息全部清偿之日}止。\n")
    else:
        w.t(num(), f"借款期限：借款期限为{term}，自{lw}实际发放借款之日起计算。\n")
    w.t(num(), f"借款发放：{lw}应在本合同生效且{bw}提交借款借据后三个工作日内，将借款划入{bw}指定的账户。\n")
    if w.has("年利率"):
        period = rng.choice(["月", "季"])
        interest = f["_amount"] * f["_rate"] / 100 / (12 if period == "月" else 4)
        w.fmt(num() + "借款利率：本合同项下借款的年利率为{年利率}，按" + period + "结息")
        if rng.random() < 0.6:
            w.t(f"，每{period}应付利息为")
            w.d("interest", _side_money(f, interest))
        w.t("。\n")
    if w.has("还款日期"):
        w.fmt(num() + f"还款：{bw}应于" + "{还款日期}前一次性归还全部借款本金及尚欠利息。\n")
    else:
        w.t(num(), f"还款：{bw}应于借款期限届满之日一次性归还全部借款本金及尚欠利息。\n")
    if f["_guarantors"]:
        w.t(num(), f"保证：{gw}自愿为{bw}在本合同项下的全部债务提供连带责任保证，保证范围包括借款本金、利息、逾期利息、"
            "违约金及实现债权的费用，保证期间为借款期限届满之日起三年。\n")  # fmt: skip
    w.t(num(), f"违约责任：{bw}未按期归还借款本息的，自逾期之日起在借款利率基础上加收")
    w.d("percent", rng.choice(["30%", "50%"]))
    w.t("计收逾期利息")
    if rng.random() < 0.5:
        w.t("，并应向", lw, "支付违约金")
        w.d("penalty", _side_money(f, f["_amount"] * rng.choice([2, 5, 10]) / 100))
    w.t("。\n")


def _zh_signed(w: _Writer, rng: random.Random, where: str) -> None:
    """The signing date where this template writes it (``head``: under the number; ``end``)."""
    if where == "head" and w.has("签约日期"):
        w.fmt(rng.choice(["签订日期：{签约日期}\n", "签约日期：{签约日期}\n", "签署日期：{签约日期}\n"]))
    elif where == "end" and w.has("签约日期"):
        w.fmt(rng.choice(["\n签订日期：{签约日期}\n", "\n本合同于{签约日期}签订。\n",
                          "\n签订时间：{签约日期}    签订地点：" + w.f["city"] + "市\n"]))  # fmt: skip


def _zh_copies(w: _Writer, num: _Num, n: int) -> None:
    copies = "两" if n == 2 else _cn_num(n)
    who = "双方" if n == 2 else "各方"
    w.t(
        num(),
        f"其他：本合同自{who}签字或盖章之日起生效。本合同一式{copies}份，{who}各执一份，具有同等法律效力。\n",
    )


@_template("zh_agreement_loan")
def _zh_agreement_loan(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _loan_facts(f)
    num = _Num(rng, "zh")
    w.t(rng.choice(["借款合同", "借 款 合 同", "借款协议", "借款合同书"]), "\n\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    where = rng.choice(["head", "end", "end"])
    _zh_signed(w, rng, where if where == "head" else "")
    w.t("\n")
    lw, bw, gw = _zh_loan_parties(w, rng)
    purpose = rng.choice(_LOAN_PURPOSES["zh"])
    w.t(f"\n鉴于{bw}因{purpose}需要资金，{lw}同意向{bw}提供借款", f"，{gw}同意为该笔借款提供担保" if f["_guarantors"] else "",
        "。根据《中华人民共和国民法典》等有关法律法规的规定，各方经平等协商，订立本合同，以资共同遵守。\n\n")  # fmt: skip
    _zh_loan_body(w, rng, num, lw, bw, gw)
    _boiler(w, rng, num, "loan", lw, bw)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_signed(w, rng, where if where == "end" else "")
    _zh_sign(w, rng, f["_sign_rows"])


# leases ------------------------------------------------------------------------------

_USES = {"zh": ["办公", "商业经营", "居住", "仓储"], "en": ["office", "retail", "residential", "warehouse"]}
_EQUIPMENT = {"zh": ["数控机床三台（型号VMC-850）", "叉车五台", "中央空调机组两套", "挖掘机一台（型号SY215C）", "塔式起重机一台",
                     "服务器机柜二十台"],
              "en": ["three CNC machining centres (model VMC-850)", "five electric forklifts", "two chiller units",
                     "one crawler excavator (model SY215C)", "twenty server racks"]}  # fmt: skip
_YEARS = {"zh": {1: "一年", 2: "两年", 3: "三年", 5: "五年"}, "en": {1: "one (1) year", 2: "two (2) years",
          3: "three (3) years", 5: "five (5) years"}}  # fmt: skip


def _lease_facts(f: dict[str, Any], equipment: bool = False) -> None:
    """Lessor, lessee (a guarantor now and then), premises or equipment, the monthly rent,
    the deposit, the term and its dates, the handover date; an annual rent and a
    management fee stand beside the rent."""
    rng, pool, lang = f["_rng"], f["_pool"], f["_lang"]
    f["_lessor"] = _ag_party(f, rng.random() < 0.3)
    f["_lessee"] = _ag_party(f, rng.random() < 0.3)
    f["_guarantors"] = [_ag_party(f, rng.random() < 0.5)] if rng.random() < 0.2 else []
    f["_premises"] = rng.choice(_EQUIPMENT[lang]) if equipment else pool.address()
    f["_area"] = f"{rng.randint(60, 3000)}{rng.choice(['', '.5'])}"
    years = rng.choice([1, 2, 3, 3, 5])
    signed = f["_signed"]
    start = _add_months(signed.replace(day=1), 1) if rng.random() < 0.6 else _days(signed, rng.randint(5, 30))
    end = _days(_add_months(start, 12 * years), -1)
    handover = _days(start, -rng.randint(2, 15))
    if handover <= signed:
        handover = _days(signed, 1) if _days(signed, 1) < start else start
    f["_years"] = years
    rent = _whole(rng, 4, 160, 500) if not equipment else _whole(rng, 3, 90, 1000)
    f["_rent"] = rent
    f["月租金"] = _ag_money(f, rent)
    f["押金"] = _maybe(rng, 0.8, lambda: _ag_money(f, rent * rng.choice([2, 3]), words=0.5))
    f["开始日期"] = _maybe(rng, 0.9, lambda: _ag_date(f, start))
    f["结束日期"] = _ag_date(f, end) if f["开始日期"] and rng.random() < 0.95 else None
    f["交付日期"] = _ag_date(f, handover) if handover != start and rng.random() < 0.6 else None
    f["_annual"] = _side_money(f, rent * 12) if rng.random() < 0.4 else None
    f["_fee"] = _side_money(f, _whole(rng, 3, 80, 100)) if rng.random() < 0.5 and not equipment else None


def _zh_lease_parties(w: _Writer, rng: random.Random) -> tuple[str, str]:
    f = w.f
    ls, ts = rng.choice(["出租方", "出租方", "出租人"]), rng.choice(["承租方", "承租方", "承租人"])
    rows = [(ls, "出租方", f["_lessor"]), (ts, "承租方", f["_lessee"])]
    if rng.random() < 0.3:
        rows.reverse()
    rows += [("保证人", "保证人", g) for g in f["_guarantors"]]
    for head, label, p in rows:
        _zh_party(w, rng, head, label, p, alias=head if rng.random() < 0.2 else None)
    f["_sign_rows"] = [(head, p) for head, _, p in rows]
    return ls, ts


def _zh_lease_money(w: _Writer, rng: random.Random, num: _Num, ls: str, ts: str) -> None:
    f = w.f
    w.fmt(num() + "租金：月租金为{月租金}")
    if f["_annual"]:
        w.t("，年租金合计")
        w.d("annual", f["_annual"])
    w.t(
        rng.choice(
            [
                f"。租金按季度支付，{ts}应于每季度首月五日前支付当季租金。\n",
                f"。{ts}应于每月五日前支付当月租金。\n",
            ]
        )
    )
    if w.has("押金"):
        w.fmt(num() + f"押金：{ts}应于本合同签订之日起三日内向{ls}支付押金" + "{押金}。租赁期满，"
              f"{ts}结清全部费用并返还租赁物后，{ls}应将押金无息退还。\n")  # fmt: skip
    if f["_fee"]:
        w.t(num(), "其他费用：租赁期间的物业管理费（每月")
        w.d("fee", f["_fee"])
        w.t(f"）以及水、电、燃气、通讯等费用由{ts}承担。\n")


@_template("zh_agreement_house")
def _zh_agreement_house(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _lease_facts(f)
    num = _Num(rng, "zh")
    w.t(rng.choice(["房屋租赁合同", "房 屋 租 赁 合 同", "写字楼租赁合同", "商铺租赁协议"]), "\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    w.t("\n")
    ls, ts = _zh_lease_parties(w, rng)
    w.t(
        f"\n根据《中华人民共和国民法典》及有关规定，{ls}与{ts}在平等、自愿、协商一致的基础上，就房屋租赁事宜达成如下协议：\n\n"
    )
    w.t(num(), f"房屋基本情况：{ls}将其合法拥有的位于")
    w.d("premises", f["_premises"])
    w.t(f"的房屋出租给{ts}使用，建筑面积{f['_area']}平方米，用途为{rng.choice(_USES['zh'])}。\n")
    years = _YEARS["zh"][f["_years"]]
    if w.has("开始日期"):
        w.fmt(num() + rng.choice([f"租赁期限：租赁期限为{years}，自" + "{开始日期}起至{结束日期|双方另行约定之日}止。\n",
                                  "租赁期限：自{开始日期}起至{结束日期|双方另行约定之日}止，" + f"共计{years}。\n"]))  # fmt: skip
    else:
        w.t(num(), f"租赁期限：租赁期限为{years}，自房屋交付之日起计算。\n")
    if w.has("交付日期"):
        w.fmt(
            num()
            + f"房屋交付：{ls}应于"
            + "{交付日期}"
            + f"前将房屋交付{ts}，双方应在交付时签署《房屋交接确认书》。\n"
        )
    else:
        w.t(num(), f"房屋交付：{ls}应在租赁期限开始前将房屋交付{ts}使用。\n")
    _zh_lease_money(w, rng, num, ls, ts)
    if f["_guarantors"]:
        w.t(num(), f"保证：保证人为{ts}在本合同项下支付租金及其他费用的义务提供连带责任保证。\n")
    w.t(num(), f"违约责任：{ts}逾期支付租金超过十五日的，{ls}有权解除本合同并收回房屋；{ls}未按时交付房屋的，每逾期一日应按日租金的两倍向{ts}支付违约金。\n")  # fmt: skip
    _boiler(w, rng, num, "lease", ls, ts)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_signed(w, rng, "end")
    _zh_sign(w, rng, f["_sign_rows"])


@_template("zh_agreement_equipment")
def _zh_agreement_equipment(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _lease_facts(f, equipment=True)
    num = _Num(rng, "zh")
    w.t(rng.choice(["设备租赁合同", "机械设备租赁协议", "设备租赁合同书"]), "\n")
    if w.has("合同编号"):
        w.fmt("编号：{合同编号}\n")
    _zh_signed(w, rng, "head")
    w.t("\n")
    ls, ts = _zh_lease_parties(w, rng)
    w.t(f"\n{ts}因生产经营需要，向{ls}租赁下列设备，双方经协商一致，订立本合同。\n\n")
    w.t(num(), "租赁设备：")
    w.d("premises", f["_premises"])
    w.t(f"，设备由{ls}负责运输、安装和调试。\n")
    if w.has("开始日期"):
        w.fmt(num() + "租赁期限：起租日为{开始日期}，租期届满日为{结束日期|设备退还之日}。\n")
    else:
        w.t(num(), f"租赁期限：{_YEARS['zh'][f['_years']]}，自设备验收合格之日起算。\n")
    if w.has("交付日期"):
        w.fmt(num() + f"设备交付：{ls}应于" + "{交付日期}" + f"前将设备运至{ts}指定地点并完成安装调试。\n")
    _zh_lease_money(w, rng, num, ls, ts)
    w.t(num(), f"设备的使用与维护：{ts}应按照设备操作规程使用设备，不得转租或抵押；设备的日常保养由{ts}负责，重大故障由{ls}负责维修。\n")  # fmt: skip
    if f["_guarantors"]:
        w.t(num(), f"保证：保证人对{ts}在本合同项下的全部付款义务承担连带保证责任。\n")
    _boiler(w, rng, num, "equipment", ls, ts)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_sign(w, rng, f["_sign_rows"])


# transfers ---------------------------------------------------------------------------

_ASSETS = {"zh": ["数控加工中心等生产设备一批（详见附件《资产清单》）", "位于工业园区的厂房及其占用范围内的土地使用权",
                  "“{b}”系列注册商标专用权", "运输车辆十二辆", "软件著作权三项及相关源代码"],
           "en": ["the production equipment listed in Schedule 1", "the warehouse building and the land use right of its site",
                  "the \"{b}\" trademarks", "a fleet of twelve delivery trucks", "three software copyrights and their source code"]}  # fmt: skip
_PCTS = [10, 15, 20, 25, 30, 35, 40, 49, 51, 60, 70, 100]


def _transfer_facts(f: dict[str, Any]) -> None:
    """Transferor, transferee (a guarantor now and then), the target company or asset, the
    transfer price (instalments beside it), the payment date and the closing date."""
    rng, pool, lang = f["_rng"], f["_pool"], f["_lang"]
    f["_transferor"] = _ag_party(f, rng.random() < 0.4)
    f["_transferee"] = _ag_party(f, rng.random() < 0.3)
    f["_guarantors"] = [_ag_party(f, rng.random() < 0.5)] if rng.random() < 0.25 else []
    f["_target"] = pool.company()
    f["_capital"] = _side_money(f, _whole(rng, 1, 500, 100000))
    f["_pct"] = rng.choice(_PCTS)
    f["_asset"] = rng.choice(_ASSETS[lang]).format(b=rng.choice(_BRANDS if lang == "zh" else _EN_BRANDS))
    price = rng.choice([_whole(rng, 10, 3000, 10000), _whole(rng, 50, 900, 1000)])
    f["_price"] = price
    f["转让价款"] = _ag_money(f, price)
    signed = f["_signed"]
    pay, closing = _days(signed, rng.randint(3, 30)), _days(signed, rng.randint(35, 120))
    f["付款日期"] = _maybe(rng, 0.6, lambda: _ag_date(f, pay))
    f["交割日期"] = _maybe(rng, 0.75, lambda: _ag_date(f, closing))
    first = rng.choice([20, 30, 40, 50])
    f["_instalments"] = None if f["付款日期"] else [(first, _side_money(f, price * first / 100)),
                                                   (100 - first, _side_money(f, price * (100 - first) / 100))]  # fmt: skip


def _zh_transfer_parties(w: _Writer, rng: random.Random) -> tuple[str, str]:
    f = w.f
    a, b = rng.choice(["转让方", "转让方", "出让方"]), rng.choice(["受让方", "受让方", "受让人"])
    rows = [(a, "转让方", f["_transferor"]), (b, "受让方", f["_transferee"])]
    if rng.random() < 0.3:
        rows.reverse()
    rows += [("保证人", "保证人", g) for g in f["_guarantors"]]
    for head, label, p in rows:
        _zh_party(w, rng, head, label, p, alias=head if rng.random() < 0.25 else None)
    f["_sign_rows"] = [(head, p) for head, _, p in rows]
    return a, b


def _zh_transfer_pay(w: _Writer, rng: random.Random, num: _Num, a: str, b: str, after: str) -> None:
    f = w.f
    if w.has("付款日期"):
        w.fmt(
            num() + f"价款支付：{b}应于" + "{付款日期}" + f"前将全部转让价款一次性支付至{a}指定的银行账户。\n"
        )
    else:
        (p1, m1), (p2, m2) = f["_instalments"]
        w.t(num(), f"价款支付：转让价款分两期支付：本协议签订后五个工作日内，{b}支付转让价款的{p1}%，即")
        w.d("instalment", m1)
        w.t(f"；{after}后十个工作日内，{b}支付剩余的{p2}%，即")
        w.d("instalment", m2)
        w.t("。\n")


@_template("zh_agreement_share")
def _zh_agreement_share(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _transfer_facts(f)
    num = _Num(rng, "zh")
    w.t(rng.choice(["股权转让协议", "股权转让合同", "股 权 转 让 协 议"]), "\n")
    if w.has("合同编号"):
        w.fmt("协议编号：{合同编号}\n")
    w.t("\n")
    a, b = _zh_transfer_parties(w, rng)
    w.t("\n鉴于：\n1. ")
    w.d("party", f["_target"])
    w.t("（以下简称“目标公司”）系一家依法设立并有效存续的有限责任公司，注册资本为")
    w.d("capital", f["_capital"])
    w.t(f"；\n2. {a}合法持有目标公司")
    w.d("percent", f"{f['_pct']}%")
    w.t(f"的股权，{a}同意将其转让给{b}，{b}同意受让。\n据此，双方经友好协商，达成如下协议：\n\n")
    w.t(num(), f"转让标的：{a}持有的目标公司{f['_pct']}%股权及其所对应的全部股东权利和义务。\n")
    w.fmt(num() + rng.choice(["转让价款：经双方协商，标的股权的转让价款为{转让价款}。\n",
                              "转让价款：标的股权的转让价格确定为{转让价款}，该价款为含税价格。\n"]))  # fmt: skip
    _zh_transfer_pay(w, rng, num, a, b, "股权变更登记完成")
    if w.has("交割日期"):
        w.fmt(
            num()
            + "交割：双方应于{交割日期}前办理完毕股权变更登记手续，该日为交割日；"
            + f"自交割日起，{b}享有标的股权对应的股东权利。\n"
        )
    else:
        w.t(num(), f"交割：股权变更登记完成之日为交割日，自交割日起{b}享有标的股权对应的股东权利。\n")
    if f["_guarantors"]:
        w.t(num(), f"保证：保证人为{b}在本协议项下的付款义务提供连带责任保证。\n")
    w.t(num(), f"违约责任：{b}逾期支付转让价款的，每逾期一日，应按逾期金额的万分之五向{a}支付违约金。\n")
    _boiler(w, rng, num, "transfer", a, b)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_signed(w, rng, "end")
    _zh_sign(w, rng, f["_sign_rows"])


@_template("zh_agreement_asset")
def _zh_agreement_asset(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _transfer_facts(f)
    num = _Num(rng, "zh")
    w.t(rng.choice(["资产转让合同", "资产转让协议", "资产买卖协议"]), "\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    if w.has("签约日期"):
        w.fmt("\n本合同由以下双方于{签约日期}" + f"在{f['city']}市签订：\n")
    w.t("\n")
    a, b = _zh_transfer_parties(w, rng)
    w.t(f"\n{a}拟将其合法拥有的下列资产转让给{b}，双方经协商一致，订立本合同。\n\n")
    w.t(num(), "转让资产：")
    w.d("asset", f["_asset"])
    w.t(f"（以下简称“标的资产”），{a}保证对标的资产享有完整的所有权，不存在抵押、查封等权利限制。\n")
    w.fmt(num() + "转让价款：标的资产的转让价款为{转让价款}" + rng.choice(["。\n", "（含增值税）。\n"]))
    _zh_transfer_pay(w, rng, num, a, b, "标的资产交割完成")
    if w.has("交割日期"):
        w.fmt(
            num()
            + f"资产交割：{a}应于"
            + "{交割日期}"
            + f"前将标的资产及其权属证明文件移交{b}，该日为交割日。\n"
        )
    else:
        w.t(num(), f"资产交割：{a}应在收到全部转让价款后十日内将标的资产移交{b}。\n")
    w.t(num(), f"风险转移：标的资产毁损、灭失的风险自交割日起由{b}承担。\n")
    if f["_guarantors"]:
        w.t(num(), f"保证：保证人为{b}在本合同项下的付款义务提供连带责任保证。\n")
    _boiler(w, rng, num, "transfer", a, b)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_sign(w, rng, f["_sign_rows"])


# purchase and service contracts beside a third and a fourth party ---------------------

_GOODS = {"zh": [("数控机床", "台"), ("服务器", "台"), ("办公家具", "套"), ("医用监护仪", "台"), ("光伏组件", "批"),
                 ("叉车", "辆"), ("安防监控设备", "套")],
          "en": [("CNC machine tools", "units"), ("rack servers", "units"), ("office furniture sets", "sets"),
                 ("patient monitors", "units"), ("solar panels", "lots"), ("forklift trucks", "units")]}  # fmt: skip
_WITNESSES = {
    "zh": ["见证方", "监理单位", "采购代理机构", "居间方"],
    "en": ["Witness", "Procurement Agent", "Supervisor"],
}


def _purchase_facts(f: dict[str, Any], service: bool = False) -> None:
    """Party A (buyer or client) and Party B (seller or provider), a guarantor as Party C
    and now and then a Party D (a second guarantor, or a witness that is no field); the
    contract price beside its instalments, a unit price and a performance bond; the term,
    delivery and payment dates."""
    rng, lang = f["_rng"], f["_lang"]
    f["_a"], f["_b"] = _ag_party(f, False), _ag_party(f, False)
    f["_c"] = _ag_party(f, rng.random() < 0.3) if rng.random() < 0.7 else None
    f["_d"] = _ag_party(f, False) if rng.random() < 0.35 else None
    f["_d_guarantor"] = bool(f["_d"]) and rng.random() < 0.4
    f["_d_role"] = rng.choice(_WITNESSES[lang])
    total = rng.choice([_whole(rng, 5, 500, 10000), _whole(rng, 20, 900, 1000)])
    f["_total"] = total
    f["合同金额"] = _ag_money(f, total)
    split = rng.choice([s for s in _SPLITS if len(s) > 1])
    f["_instalments"] = [(pct, node, _side_money(f, total * pct / 100))
                         for pct, node in zip(split, rng.sample(_NODES[lang], len(split)))]  # fmt: skip
    n = rng.choice([2, 4, 5, 10, 20])
    f["_goods"], f["_unit"] = rng.choice(_GOODS[lang])
    f["_qty"] = n
    f["_unit_price"] = _side_money(f, total / n) if not service and rng.random() < 0.6 else None
    f["_bond"] = _side_money(f, total * rng.choice([5, 10]) / 100) if rng.random() < 0.4 else None
    signed = f["_signed"]
    start = _days(signed, rng.randint(1, 10))
    months = rng.choice([6, 12, 12, 24, 36] if service else [12, 12, 24, 36])
    end = _days(_add_months(start, months), -1)
    delivery = _days(signed, rng.randint(15, 60))
    pay = _days(delivery, rng.randint(10, 30))
    f["_months"] = months
    f["开始日期"] = _maybe(rng, 0.65 if not service else 0.85, lambda: _ag_date(f, start))
    f["结束日期"] = _ag_date(f, end) if f["开始日期"] and rng.random() < 0.95 else None
    f["交付日期"] = _maybe(rng, 0.8 if not service else 0.5, lambda: _ag_date(f, delivery))
    f["付款日期"] = _maybe(rng, 0.4, lambda: _ag_date(f, pay if pay < end else _days(delivery, 1)))


_ZH_A = {"purchase": ["甲方（买方）", "甲方（采购方）", "买方（甲方）", "甲方"],
         "service": ["甲方（委托方）", "委托方（甲方）", "甲方"]}  # fmt: skip
_ZH_B = {"purchase": ["乙方（卖方）", "乙方（供货方）", "卖方（乙方）", "乙方"],
         "service": ["乙方（服务方）", "受托方（乙方）", "乙方（受托方）", "乙方"]}  # fmt: skip
_ZH_ALIAS = {"purchase": ("采购方", "供货方"), "service": ("委托方", "服务方")}


def _zh_abcd(w: _Writer, rng: random.Random, family: str) -> int:
    """Parties A and B in either order (A: buyer or client, the field 甲方), then 丙方 and
    丁方; the guarantors' gold span is their name, never the role word.  Returns how many."""
    f = w.f
    if rng.random() < 0.25:  # a role word as head, 甲方/乙方 only as the short name after it
        ha, hb = _ZH_ALIAS[family]
        rows = [(ha, "甲方", f["_a"], "甲方"), (hb, "乙方", f["_b"], "乙方")]
    else:
        alias = rng.random() < 0.3
        buyer, seller = ("买方", "卖方") if family == "purchase" else ("委托方", "受托方")
        rows = [(rng.choice(_ZH_A[family]), "甲方", f["_a"], buyer if alias else None),
                (rng.choice(_ZH_B[family]), "乙方", f["_b"], seller if alias else None)]  # fmt: skip
    if rng.random() < 0.35:
        rows.reverse()
    if f["_c"]:
        head = rng.choice(["丙方（保证人）", "保证人（丙方）", "丙方（担保人）", "丙方"])
        rows.append((head, "保证人", f["_c"], "保证人" if head == "丙方" else None))
    if f["_d"]:
        if f["_d_guarantor"]:
            rows.append((rng.choice(["丁方（保证人）", "丁方（连带保证人）"]), "保证人", f["_d"], None))
        else:
            rows.append((f"丁方（{f['_d_role']}）", None, f["_d"], None))
    for head, label, p, alias in rows:
        _zh_party(w, rng, head, label, p, alias=alias, multi=label == "保证人")
    f["_sign_rows"] = [(_sign_head(head, label), p) for head, label, p, _ in rows]
    return len(rows)


def _sign_head(head: str, label: str | None) -> str:
    for word in ("甲方", "乙方", "丙方", "丁方"):
        if word in head or word == label:
            return word
    return head


def _zh_instalments(w: _Writer, rng: random.Random, num: _Num, head: str) -> None:
    f = w.f
    w.t(num(), head, "\n")
    for i, (pct, node, amount) in enumerate(f["_instalments"]):
        w.t(f"（{_CN_ORD[i]}）{node}，甲方向乙方支付合同总价款的{pct}%，即")
        w.d("instalment", amount)
        w.t("；\n")
    if w.has("付款日期"):
        w.fmt("甲方最迟应于{付款日期}前付清全部款项。\n")


def _zh_third(w: _Writer, num: _Num) -> None:
    f = w.f
    if f["_c"] or f["_d_guarantor"]:
        who = "、".join(x for x, on in (("丙方", f["_c"]), ("丁方", f["_d_guarantor"])) if on)
        w.t(num(), f"保证：{who}自愿为乙方履行本合同项下的全部义务向甲方提供连带责任保证，保证期间为主债务履行期限届满之日起两年。\n")  # fmt: skip
    if f["_d"] and not f["_d_guarantor"]:
        w.t(num(), f"{f['_d_role']}：丁方作为{f['_d_role']}，对本合同的签订和履行进行见证和协调，不承担本合同项下的付款或保证责任。\n")  # fmt: skip


@_template("zh_agreement_purchase")
def _zh_agreement_purchase(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _purchase_facts(f)
    num = _Num(rng, "zh")
    w.t(rng.choice(["采购合同", "设备采购合同", "买卖合同", "采 购 合 同"]), "\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    _zh_signed(w, rng, rng.choice(["head", ""]))
    w.t("\n")
    n = _zh_abcd(w, rng, "purchase")
    w.t("\n根据《中华人民共和国民法典》及相关法律法规的规定，", "各方" if n > 2 else "甲乙双方",
        "在平等、自愿、公平和诚实信用的基础上，经协商一致，订立本合同。\n\n")  # fmt: skip
    w.t(num(), f"合同标的：乙方向甲方供应{f['_goods']}，数量{f['_qty']}{f['_unit']}")
    if f["_unit_price"]:
        w.t("，单价")
        w.d("unit", f["_unit_price"])
    w.t("，具体规格型号详见附件《供货清单》。\n")
    w.fmt(num() + rng.choice(["合同金额：本合同总价款为{合同金额}（含13%增值税）。\n",
                              "合同价款：本合同价款合计{合同金额}，该价款包括货物、包装、运输、安装调试及培训等全部费用。\n"]))  # fmt: skip
    _zh_instalments(w, rng, num, "付款方式：")
    if w.has("交付日期"):
        w.fmt(num() + "交付：乙方应于{交付日期}前将全部货物运抵甲方指定地点，并负责安装调试。\n")
    else:
        w.t(num(), "交付：乙方应在本合同生效后三十日内交货，并负责安装调试。\n")
    if w.has("开始日期"):
        w.fmt(num() + "合同期限：本合同有效期自{开始日期}起至{结束日期|双方义务履行完毕之日}止。\n")
    if f["_bond"]:
        w.t(num(), "履约保证金：乙方应于本合同签订后五个工作日内向甲方提交履约保证金")
        w.d("bond", f["_bond"])
        w.t("，货物验收合格后无息退还。\n")
    _zh_third(w, num)
    w.t(num(), "违约责任：乙方逾期交货的，每逾期一日按合同总价款的千分之五向甲方支付违约金；甲方逾期付款的，按同样标准承担违约责任。\n")  # fmt: skip
    _boiler(w, rng, num, "purchase", "甲方", "乙方")
    _zh_law(w, rng, num, n > 2)
    _zh_copies(w, num, n)
    if "签约日期" not in w.done:
        _zh_signed(w, rng, "end")
    _zh_sign(w, rng, f["_sign_rows"])


_SERVICES = {"zh": ["企业管理软件开发服务", "仓储物流服务", "广告投放服务", "网络安全运维服务", "员工食堂餐饮服务", "财务审计咨询服务"],
             "en": ["custom ERP software development", "warehousing and logistics services", "digital advertising services",
                    "IT security operations services", "financial audit and advisory services"]}  # fmt: skip
_DELIVERABLES = {"zh": ["系统设计方案及源代码", "年度审计报告", "市场调研报告", "运维月报及系统升级包"],
                 "en": ["the system design and source code", "the audit report", "the market study", "the monthly operations reports"]}  # fmt: skip


@_template("zh_agreement_service")
def _zh_agreement_service(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _purchase_facts(f, service=True)
    num = _Num(rng, "zh")
    w.t(rng.choice(["技术服务合同", "咨询服务协议", "运维服务合同", "委托服务合同"]), "\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    if w.has("签约日期") and rng.random() < 0.5:
        w.fmt("签订日期：{签约日期}    签订地点：" + f["city"] + "市\n")
    w.t("\n")
    n = _zh_abcd(w, rng, "service")
    w.t("\n", "各方" if n > 2 else "甲乙双方", "经友好协商，就甲方委托乙方提供服务事宜达成如下协议：\n\n")
    w.t(num(), f"服务内容：乙方为甲方提供{rng.choice(_SERVICES['zh'])}，并指派专人驻场支持。\n")
    if w.has("开始日期"):
        w.fmt(num() + "服务期限：自{开始日期}起至{结束日期|项目验收合格之日}止。\n")
    else:
        w.t(num(), f"服务期限：{_cn_num(f['_months'])}个月，自本合同生效之日起计算。\n")
    w.fmt(num() + "服务费用：本合同服务费总额为{合同金额}，该费用已包含乙方人员的差旅及食宿费用。\n")
    _zh_instalments(w, rng, num, "支付方式：服务费按以下节点支付：")
    if w.has("交付日期"):
        w.fmt(num() + "成果交付：乙方应于{交付日期}前向甲方交付" + rng.choice(_DELIVERABLES["zh"]) + "。\n")
    if f["_bond"]:
        w.t(num(), "履约担保：乙方应向甲方提交金额为")
        w.d("bond", f["_bond"])
        w.t("的银行履约保函。\n")
    _zh_third(w, num)
    _boiler(w, rng, num, "service", "甲方", "乙方")
    _zh_law(w, rng, num, n > 2)
    _zh_copies(w, num, n)
    if "签约日期" not in w.done:
        _zh_signed(w, rng, "end")
    _zh_sign(w, rng, f["_sign_rows"])


# IOUs: short, the borrower's name first written where they sign ------------------------


@_template("zh_agreement_iou")
def _zh_agreement_iou(w: _Writer, rng: random.Random) -> None:
    f = w.f
    f["_long"] = False
    _loan_facts(f, guarantors=[0, 0, 1])
    f["适用法律"] = None
    L, B = f["_lender"], f["_borrower"]
    w.t(rng.choice(["借  条", "借条", "借据", "借款借据"]), "\n\n")
    purpose = rng.choice(_LOAN_PURPOSES["zh"])
    if rng.random() < 0.5:  # the borrower writes: only the lender is named in the text
        w.t("今借到")
        w.v("出借人", L["name"])
        if L["person"]:
            w.t("（身份证号码：")
            w.d("id", L["id"])
            w.t("）")
        w.fmt("借款{借款金额}，用于" + purpose + "。")
        signed_by_borrower = True
    else:
        w.t("借款人")
        w.v("借款人", B["name"])
        w.t(f"因{purpose}，向出借人")
        w.v("出借人", L["name"])
        w.fmt("借款{借款金额}。")
        signed_by_borrower = False
    if w.has("开始日期"):
        w.fmt("借款期限自{开始日期}起至{结束日期|还清之日}止")
    else:
        w.t(f"借款期限为{_TERM_WORDS['zh'][f['_months']]}")
    w.fmt("，年利率{年利率}" if w.has("年利率") else "，不计利息")
    w.fmt(
        "，借款人承诺于{还款日期}前一次性归还全部本息。\n"
        if w.has("还款日期")
        else "，到期一次性归还本息。\n"
    )
    w.t(rng.choice(["如借款人逾期未还，愿按未还金额每日万分之五支付逾期利息，并承担出借人为实现债权所支出的律师费、诉讼费等全部费用。\n",
                    "借款人保证按期足额还款；逾期未还的，出借人有权要求借款人一次性偿还全部借款本息，并承担实现债权的费用。\n"]))  # fmt: skip
    if f["_guarantors"]:
        w.t("担保人")
        w.v("保证人", f["_guarantors"][0]["name"])
        w.t("自愿为上述借款提供连带责任保证，保证期间为借款到期之日起两年。\n")
    w.t("本借条一式两份，借款人、出借人各执一份。借款人已收到上述全部借款，特立此据。\n")
    if w.has("争议解决"):
        if f["_forum"] == "court":
            w.fmt("如因本借款发生争议，由{争议解决}管辖。\n")
        else:
            w.fmt("如因本借款发生争议，提交{争议解决}仲裁。\n")
    w.t("\n借款人（签字并捺印）：" if B["person"] else "\n借款人（盖章）：")
    if signed_by_borrower:
        w.v("借款人", B["name"])
    else:
        w.d("sign", B["name"])
    w.t("\n")
    if B["person"] and B.get("id"):
        w.t("身份证号码：")
        w.d("id", B["id"])
        w.t("\n")
    if f["_guarantors"]:
        w.t("担保人（签字）：")
        w.d("sign", f["_guarantors"][0]["name"])
        w.t("\n")
    if w.has("签约日期"):
        w.fmt(rng.choice(["日期：{签约日期}\n", "{签约日期}\n"]))


# English agreements ------------------------------------------------------------------


def _en_rows(
    w: _Writer, rng: random.Random, rows: list[tuple[str, str | None, dict[str, Any], str | None]]
) -> None:
    """Numbered party paragraphs (``(1) name, a company … (the "Lender")``) or blocks."""
    sentence = rng.random() < 0.5
    if sentence:
        w.t("BETWEEN:\n" if rng.random() < 0.5 else "This Agreement is made between:\n")
    for i, (head, label, p, alias) in enumerate(rows, 1):
        if sentence:
            w.t(f"({i}) ")
            _en_party(w, rng, head, label, p, alias=alias or head, multi=label == "保证人", sentence=True)
            w.t(";\n" if i < len(rows) else ".\n")
        else:
            _en_party(w, rng, head, label, p, alias=alias, multi=label == "保证人", sentence=False)
    w.t("\n")
    w.f["_sign_rows"] = [(alias or head, p) for head, _, p, alias in rows]


def _en_dated(w: _Writer, rng: random.Random, title: str) -> bool:
    """``This … is made on {签约日期}`` (True) or nothing (the date comes at the end)."""
    if w.has("签约日期") and rng.random() < 0.6:
        w.fmt(f'This {title} (the "Agreement") is made on ' + "{签约日期}.\n\n")
        return True
    return False


def _en_end_date(w: _Writer, rng: random.Random) -> None:
    if "签约日期" not in w.done and w.has("签约日期"):
        w.fmt(
            rng.choice(
                ["\nDate of signing: {签约日期}\n", "\nSigned on {签约日期}.\n", "\nDated: {签约日期}\n"]
            )
        )


@_template("en_agreement_loan")
def _en_agreement_loan(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _loan_facts(f)
    num = _Num(rng, "en")
    w.t(rng.choice(["LOAN AGREEMENT", "TERM LOAN AGREEMENT", "Loan Agreement"]), "\n")
    if w.has("合同编号"):
        w.fmt("Agreement No.: {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, "Loan Agreement")
    rows = [("Lender", "出借人", f["_lender"], None), ("Borrower", "借款人", f["_borrower"], None)]
    if rng.random() < 0.35:
        rows.reverse()
    gs = f["_guarantors"]
    rows += [
        ("Guarantor", "保证人", g, "Guarantor" if len(gs) == 1 else f"Guarantor {i}")
        for i, g in enumerate(gs, 1)
    ]
    _en_rows(w, rng, rows)
    term = _TERM_WORDS["en"][f["_months"]]
    w.fmt(num() + "Loan. The Lender agrees to lend to the Borrower the principal amount of {借款金额} (the \"Loan\") for "
          + rng.choice(_LOAN_PURPOSES["en"]) + ".\n")  # fmt: skip
    if w.has("开始日期"):
        w.fmt(num() + f"Term. The Loan has a term of {term}, commencing on " + "{开始日期}"
              + (" and ending on {结束日期}.\n" if w.has("结束日期") else ".\n"))  # fmt: skip
    else:
        w.t(num(), f"Term. The Loan has a term of {term} from the date on which it is drawn down.\n")
    if w.has("年利率"):
        period = rng.choice(["monthly", "quarterly"])
        w.fmt(
            num() + "Interest. The Loan bears interest at the rate of {年利率} per annum, payable " + period
        )
        if rng.random() < 0.5:
            w.t(", each instalment of interest amounting to ")
            w.d(
                "interest",
                _side_money(f, f["_amount"] * f["_rate"] / 100 / (12 if period == "monthly" else 4)),
            )
        w.t(".\n")
    if w.has("还款日期"):
        w.fmt(num() + "Repayment. The Borrower shall repay the Loan together with all accrued interest in full on or "
              "before {还款日期}.\n")  # fmt: skip
    else:
        w.t(num(), "Repayment. The Borrower shall repay the Loan in full on the last day of the term.\n")
    if gs:
        w.t(num(), "Guarantee. The Guarantor", "s jointly and severally" if len(gs) > 1 else "",
            " unconditionally and irrevocably guarantee", "" if len(gs) > 1 else "s",
            " to the Lender the punctual payment of all sums due from the Borrower under this Agreement.\n")  # fmt: skip
    w.t(num(), "Default Interest. Any overdue amount bears default interest at ")
    w.d("percent", rng.choice(["2%", "3%", "5%"]))
    w.t(" per annum above the rate of the Loan")
    if rng.random() < 0.4:
        w.t(", and the Borrower shall pay liquidated damages of ")
        w.d("penalty", _side_money(f, f["_amount"] * rng.choice([2, 5]) / 100))
    w.t(".\n")
    _boiler(w, rng, num, "loan", "the Lender", "the Borrower")
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


@_template("en_agreement_note")
def _en_agreement_note(w: _Writer, rng: random.Random) -> None:
    f = w.f
    f["_long"] = False
    _loan_facts(f, guarantors=[0, 1])
    f["结束日期"] = None  # a note names its maturity (the repayment date), not a term
    if not f["还款日期"]:
        f["还款日期"] = _ag_date(f, f["_end"])
    L, B = f["_lender"], f["_borrower"]
    w.t("PROMISSORY NOTE\n\n")
    w.fmt("Principal Amount: {借款金额}\n")
    if w.has("签约日期"):
        w.fmt(rng.choice(["Date: {签约日期}\n", "Date of Note: {签约日期}\n"]))
    if w.has("合同编号"):
        w.fmt("Note No.: {合同编号}\n")
    w.t("\nFOR VALUE RECEIVED, ")
    if rng.random() < 0.5:
        w.v("借款人", B["name"])
        w.t(", of ")
        w.d("address", B["addr"])
        w.t(' (the "Borrower"), promises to pay to the order of ')
        w.v("出借人", L["name"])
        w.t(' (the "Lender") the principal sum stated above')
    else:
        w.t('the undersigned borrower (the "Borrower") promises to pay to ')
        w.v("出借人", L["name"])
        w.t(", of ")
        w.d("address", L["addr"])
        w.t(' (the "Lender"), the principal sum stated above')
    if w.has("年利率"):
        w.fmt(", together with interest at {年利率} per annum")
        if w.has("开始日期"):
            w.fmt(" accruing from {开始日期}")
    w.t(".\n\n")
    w.fmt("Maturity. The unpaid principal and all accrued interest are due and payable on {还款日期} (the "
          '"Maturity Date").\n')  # fmt: skip
    w.t("Prepayment. The Borrower may prepay this Note in whole or in part at any time without penalty.\n")
    w.t("Default. If any payment is not made within ten days of its due date, the Lender may declare the entire unpaid "
        "balance immediately due.\n")  # fmt: skip
    if f["_guarantors"]:
        w.t("Guaranty. ")
        w.v("保证人", f["_guarantors"][0]["name"])
        w.t(' (the "Guarantor") unconditionally guarantees the payment of this Note.\n')
    if w.has("适用法律"):
        w.fmt("Governing Law. This Note is governed by {适用法律}.\n")
    w.t("\nBORROWER: ")
    if "借款人" in w.done:
        w.d("sign", B["name"])
    else:
        w.v("借款人", B["name"])
    w.t("\nSignature: ____________________\n")


@_template("en_agreement_lease")
def _en_agreement_lease(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _lease_facts(f)
    num = _Num(rng, "en")
    w.t(rng.choice(["LEASE AGREEMENT", "COMMERCIAL LEASE", "OFFICE LEASE AGREEMENT"]), "\n")
    if w.has("合同编号"):
        w.fmt("Lease No.: {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, "Lease")
    ls, ts = rng.choice(["Landlord", "Landlord", "Lessor"]), rng.choice(["Tenant", "Tenant", "Lessee"])
    rows = [(ls, "出租方", f["_lessor"], None), (ts, "承租方", f["_lessee"], None)]
    if rng.random() < 0.3:
        rows.reverse()
    rows += [("Guarantor", "保证人", g, None) for g in f["_guarantors"]]
    _en_rows(w, rng, rows)
    w.t(num(), f"Premises. The {ls} leases to the {ts} the premises located at ")
    w.d("premises", f["_premises"])
    w.t(
        f" with a floor area of about {f['_area']} square meters, for use as {rng.choice(_USES['en'])} premises.\n"
    )
    years = _YEARS["en"][f["_years"]]
    if w.has("开始日期"):
        w.fmt(num() + f"Term. The term of this Lease is {years}, commencing on " + '{开始日期} (the "Commencement Date")'
              + (" and expiring on {结束日期}.\n" if w.has("结束日期") else ".\n"))  # fmt: skip
    else:
        w.t(
            num(),
            f"Term. The term of this Lease is {years} from the date on which the premises are handed over.\n",
        )
    if w.has("交付日期"):
        w.fmt(
            num()
            + f"Handover. The {ls} shall deliver possession of the premises to the {ts} on or before "
            + "{交付日期}.\n"
        )
    w.fmt(num() + "Rent. The monthly rent is {月租金}")
    if f["_annual"]:
        w.t(" (an annual rent of ")
        w.d("annual", f["_annual"])
        w.t(")")
    w.t(", payable in advance on or before the fifth day of each month.\n")
    if w.has("押金"):
        w.fmt(num() + f"Security Deposit. On signing, the {ts} shall pay a security deposit of " + "{押金}" +
              f", which the {ls} shall refund without interest at the end of the term.\n")  # fmt: skip
    if f["_fee"]:
        w.t(num(), f"Service Charges. The {ts} shall pay a monthly management fee of ")
        w.d("fee", f["_fee"])
        w.t(" and all utilities consumed at the premises.\n")
    if f["_guarantors"]:
        w.t(
            num(),
            f"Guarantee. The Guarantor guarantees the due payment of the rent and all other sums payable by the {ts}.\n",
        )
    _boiler(w, rng, num, "lease", f"the {ls}", f"the {ts}")
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


@_template("en_agreement_sale")
def _en_agreement_sale(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _transfer_facts(f)
    num = _Num(rng, "en")
    shares = rng.random() < 0.6
    title = "Share Transfer Agreement" if shares else "Asset Transfer Agreement"
    w.t(title.upper() if rng.random() < 0.5 else title, "\n")
    if w.has("合同编号"):
        w.fmt("Reference: {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, title)
    a, b = (
        rng.choice(["Transferor", "Transferor", "Assignor"]),
        rng.choice(["Transferee", "Transferee", "Assignee"]),
    )
    rows = [(a, "转让方", f["_transferor"], None), (b, "受让方", f["_transferee"], None)]
    if rng.random() < 0.3:
        rows.reverse()
    rows += [("Guarantor", "保证人", g, None) for g in f["_guarantors"]]
    _en_rows(w, rng, rows)
    if shares:
        w.t("RECITALS\n(A) ")
        w.d("party", f["_target"])
        w.t(' (the "Company") has a registered capital of ')
        w.d("capital", f["_capital"])
        w.t(f".\n(B) The {a} holds ")
        w.d("percent", f"{f['_pct']}%")
        w.t(
            f' of the equity interest in the Company (the "Sale Shares") and wishes to transfer them to the {b}.\n\n'
        )
        what = "the Sale Shares"
    else:
        w.t(num(), f"Assets. The {a} transfers to the {b} ")
        w.d("asset", f["_asset"])
        w.t(' (the "Assets"), free from any encumbrance.\n')
        what = "the Assets"
    w.fmt(num() + f"Consideration. The consideration for {what} is " + '{转让价款} (the "Transfer Price").\n')
    if w.has("付款日期"):
        w.fmt(
            num() + f"Payment. The {b} shall pay the Transfer Price in full on or before " + "{付款日期}.\n"
        )
    else:
        (p1, m1), (p2, m2) = f["_instalments"]
        w.t(num(), f"Payment. The {b} shall pay {p1}% of the Transfer Price, being ")
        w.d("instalment", m1)
        w.t(
            ", within five business days after signing, and the remaining {p2}%, being ".replace(
                "{p2}", str(p2)
            )
        )
        w.d("instalment", m2)
        w.t(", within ten business days after Closing.\n")
    if w.has("交割日期"):
        w.fmt(num() + 'Closing. Closing shall take place on {交割日期} (the "Closing Date").\n')
    else:
        w.t(num(), "Closing. Closing shall take place on the date on which the transfer is registered.\n")
    if f["_guarantors"]:
        w.t(
            num(),
            f"Guarantee. The Guarantor guarantees the payment obligations of the {b} under this Agreement.\n",
        )
    _boiler(w, rng, num, "transfer", f"the {a}", f"the {b}")
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


_EN_A = {"purchase": ["Party A (Buyer)", "Buyer (Party A)", "Party A", "Buyer"],
         "service": ["Client", "Client (Party A)", "Party A (Client)"]}  # fmt: skip
_EN_B = {"purchase": ["Party B (Seller)", "Seller (Party B)", "Party B", "Seller"],
         "service": ["Service Provider", "Service Provider (Party B)", "Party B (Service Provider)"]}  # fmt: skip


def _en_abcd(w: _Writer, rng: random.Random, family: str) -> tuple[str, str, int]:
    """Party A (buyer or client) and Party B in either order, a guarantor as Party C and
    now and then a Party D; returns the words the clauses use for A and B, and how many."""
    f = w.f
    ha, hb = rng.choice(_EN_A[family]), rng.choice(_EN_B[family])
    a = "Party A" if ha.startswith("Party A") else ha.split(" (")[0]
    b = "Party B" if hb.startswith("Party B") else hb.split(" (")[0]
    rows: list[tuple[str, str | None, dict[str, Any], str | None]] = [
        (ha, "甲方", f["_a"], a),
        (hb, "乙方", f["_b"], b),
    ]
    if rng.random() < 0.35:
        rows.reverse()
    if f["_c"]:
        head = rng.choice(["Party C (Guarantor)", "Guarantor (Party C)", "Guarantor"])
        rows.append((head, "保证人", f["_c"], "Party C" if "Party C" in head else "Guarantor"))
    if f["_d"]:
        if f["_d_guarantor"]:
            rows.append(("Party D (Guarantor)", "保证人", f["_d"], "Party D"))
        else:
            rows.append((f"Party D ({f['_d_role']})", None, f["_d"], "Party D"))
    _en_rows(w, rng, rows)
    return a, b, len(rows)


def _en_third(w: _Writer, num: _Num, b: str) -> None:
    f = w.f
    who = [x for x, on in (("Party C" if f["_c"] and "Party C" in str(f["_sign_rows"]) else "the Guarantor", f["_c"]),
                           ("Party D", f["_d_guarantor"])) if on]  # fmt: skip
    if who:
        w.t(num(), f"Guarantee. {' and '.join(who)} guarantee", "" if len(who) > 1 else "s",
            f" the performance by {b} of this Agreement.\n")  # fmt: skip
    if f["_d"] and not f["_d_guarantor"]:
        w.t(num(), f"{f['_d_role']}. Party D acts as {f['_d_role'].lower()} only and gives no guarantee.\n")


def _en_instalments(w: _Writer, rng: random.Random, num: _Num, a: str) -> None:
    f = w.f
    w.t(num(), f"Payment. {a} shall pay the price as follows:\n")
    for k, (pct, node, amount) in enumerate(f["_instalments"]):
        w.t(f"   ({'abcd'[k]}) {pct}% of the price, i.e. ")
        w.d("instalment", amount)
        w.t(f", {node};\n")
    if w.has("付款日期"):
        w.fmt("   and the full price shall be paid no later than {付款日期}.\n")


@_template("en_agreement_purchase")
def _en_agreement_purchase(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _purchase_facts(f)
    num = _Num(rng, "en")
    w.t(rng.choice(["PURCHASE AGREEMENT", "SALES CONTRACT", "EQUIPMENT PURCHASE AGREEMENT"]), "\n")
    if w.has("合同编号"):
        w.fmt("Contract No.: {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, "Purchase Agreement")
    a, b, _ = _en_abcd(w, rng, "purchase")
    w.t(num(), f"Goods. {b} shall supply {f['_qty']} {f['_unit']} of {f['_goods']} to {a}")
    if f["_unit_price"]:
        w.t(" at a unit price of ")
        w.d("unit", f["_unit_price"])
    w.t(".\n")
    w.fmt(num() + "Price. The total contract price is {合同金额}" + rng.choice([" (VAT included).\n", ".\n"]))
    _en_instalments(w, rng, num, a)
    if w.has("交付日期"):
        w.fmt(
            num()
            + f"Delivery. {b} shall deliver the goods to the site of {a} on or before "
            + '{交付日期} (the "Delivery Date").\n'
        )
    else:
        w.t(
            num(),
            f"Delivery. {b} shall deliver the goods within thirty days after this Agreement takes effect.\n",
        )
    if w.has("开始日期"):
        w.fmt(
            num()
            + "Term. This Agreement is valid from {开始日期}"
            + (" to {结束日期}.\n" if w.has("结束日期") else ".\n")
        )
    if f["_bond"]:
        w.t(num(), f"Bond. {b} shall provide a performance bond of ")
        w.d("bond", f["_bond"])
        w.t(" within five days of signing.\n")
    _en_third(w, num, b)
    _boiler(w, rng, num, "purchase", a, b)
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


@_template("en_agreement_services")
def _en_agreement_services(w: _Writer, rng: random.Random) -> None:
    f = w.f
    _purchase_facts(f, service=True)
    num = _Num(rng, "en")
    w.t(
        rng.choice(["SERVICES AGREEMENT", "CONSULTING SERVICES AGREEMENT", "Master Services Agreement"]), "\n"
    )
    if w.has("合同编号"):
        w.fmt("Agreement No.: {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, "Services Agreement")
    a, b, _ = _en_abcd(w, rng, "service")
    w.t(num(), f"Services. {b} shall provide {rng.choice(_SERVICES['en'])} to {a}.\n")
    if w.has("开始日期"):
        w.fmt(num() + 'Term. The services shall be performed from {开始日期} (the "Start Date")'
              + (' until {结束日期} (the "End Date").\n' if w.has("结束日期") else ".\n"))  # fmt: skip
    else:
        w.t(num(), f"Term. This Agreement runs for {f['_months']} months from its effective date.\n")
    w.fmt(num() + "Fees. The total fee for the services is {合同金额}, exclusive of reimbursable expenses.\n")
    _en_instalments(w, rng, num, a)
    if w.has("交付日期"):
        w.fmt(
            num() + f"Deliverables. {b} shall deliver {rng.choice(_DELIVERABLES['en'])} by " + "{交付日期}.\n"
        )
    if f["_bond"]:
        w.t(num(), f"Security. {b} shall provide a bank guarantee of ")
        w.d("bond", f["_bond"])
        w.t(" as security for its performance.\n")
    _en_third(w, num, b)
    _boiler(w, rng, num, "service", a, b)
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


# more layouts (names after the first fourteen, so that those keep their split) ----------


@_template("en_agreement_share")
def _en_agreement_share(w: _Writer, rng: random.Random) -> None:
    """An equity transfer whose amounts and dates are first written as defined terms."""
    f = w.f
    _transfer_facts(f)
    num = _Num(rng, "en")
    w.t(rng.choice(["EQUITY TRANSFER AGREEMENT", "Equity Transfer Agreement"]), "\n")
    if w.has("合同编号"):
        w.fmt("No. {合同编号}\n")
    w.t("\n")
    _en_dated(w, rng, "Equity Transfer Agreement")
    a, b = rng.choice(["Transferor", "Assignor"]), rng.choice(["Transferee", "Assignee"])
    rows = [(a, "转让方", f["_transferor"], None), (b, "受让方", f["_transferee"], None)]
    if rng.random() < 0.35:
        rows.reverse()
    rows += [("Guarantor", "保证人", g, None) for g in f["_guarantors"]]
    w.t("PARTIES\n")
    _en_rows(w, rng, rows)
    w.t(num(), "Definitions. In this Agreement:\n")
    w.t('   "Company" means ')
    w.d("party", f["_target"])
    w.t(", with a registered capital of ")
    w.d("capital", f["_capital"])
    w.t(';\n   "Equity Interest" means ')
    w.d("percent", f"{f['_pct']}%")
    w.t(f" of the equity interest in the Company held by the {a};\n")
    w.fmt('   "Transfer Price" means {转让价款};\n')
    if w.has("付款日期"):
        w.fmt('   "Payment Date" means {付款日期};\n')
    if w.has("交割日期"):
        w.fmt('   "Closing Date" means {交割日期}.\n')
    w.t(
        num(),
        f"Transfer. The {a} agrees to transfer the Equity Interest to the {b} for the Transfer Price.\n",
    )
    if w.has("付款日期"):
        w.t(num(), f"Payment. The {b} shall pay the Transfer Price in full on or before the Payment Date.\n")
    else:
        (p1, m1), (p2, m2) = f["_instalments"]
        w.t(num(), f"Payment. The {b} shall pay a first instalment of ")
        w.d("instalment", m1)
        w.t(f" ({p1}%) on signing and the balance of ")
        w.d("instalment", m2)
        w.t(f" ({p2}%) at Closing.\n")
    closing = "on the Closing Date" if w.has("交割日期") else "when the transfer is registered"
    w.t(
        num(),
        f"Closing. Closing takes place {closing}, when the {a} shall deliver the amended register of members.\n",
    )
    if f["_guarantors"]:
        w.t(num(), f"Guarantee. The Guarantor guarantees the obligations of the {b} under this Agreement.\n")
    _boiler(w, rng, num, "transfer", f"the {a}", f"the {b}")
    _en_law(w, rng, num)
    _en_end_date(w, rng)
    _en_sign(w, rng, f["_sign_rows"])


@_template("en_agreement_tenancy")
def _en_agreement_tenancy(w: _Writer, rng: random.Random) -> None:
    """A tenancy whose particulars come first as a schedule, the conditions after."""
    f = w.f
    _lease_facts(f)
    w.t(rng.choice(["TENANCY AGREEMENT", "Tenancy Agreement"]), "\n\nPARTICULARS\n")
    if w.has("合同编号"):
        w.fmt("Reference | {合同编号}\n")
    if w.has("签约日期"):
        w.fmt("Date | {签约日期}\n")
    rows = [("Landlord", "出租方", f["_lessor"]), ("Tenant", "承租方", f["_lessee"])]
    if rng.random() < 0.35:
        rows.reverse()
    rows += [("Guarantor", "保证人", g) for g in f["_guarantors"]]
    for head, label, p in rows:
        w.t(f"{head} | ")
        w.v(label, p["name"])
        w.t(", of ")
        w.d("address", p["addr"])
        w.t("\n")
    w.t("Premises | ")
    w.d("premises", f["_premises"])
    w.t(f" ({f['_area']} sq. m)\n")
    years = _YEARS["en"][f["_years"]]
    if w.has("开始日期"):
        w.fmt(f"Term | {years}, from " + "{开始日期}" + (" to {结束日期}\n" if w.has("结束日期") else "\n"))
    else:
        w.t(f"Term | {years} from handover\n")
    w.kv("Handover Date | ", "交付日期", "")
    w.fmt("Monthly Rent | {月租金}\n")
    if f["_annual"]:
        w.t("Annual Rent | ")
        w.d("annual", f["_annual"])
        w.t("\n")
    w.kv("Deposit | ", "押金", "")
    if f["_fee"]:
        w.t("Management Fee | ")
        w.d("fee", f["_fee"])
        w.t(" per month\n")
    w.t("\nCONDITIONS\n")
    num = _Num(rng, "en")
    w.t(
        num(),
        "The Tenant shall pay the rent monthly in advance and keep the Premises clean and in good repair.\n",
    )
    w.t(
        num(),
        "The Landlord shall hand over the Premises with all fixtures in working order and insure the building.\n",
    )
    if f["_guarantors"]:
        w.t(num(), "The Guarantor guarantees every payment due from the Tenant under this Agreement.\n")
    _boiler(w, rng, num, "lease", "the Landlord", "the Tenant")
    _en_law(w, rng, num)
    _en_sign(w, rng, [(head, p) for head, _, p in rows])


@_template("en_agreement_termloan")
def _en_agreement_termloan(w: _Writer, rng: random.Random) -> None:
    """A facility letter: the lender's name heads the letter, the borrower is its addressee."""
    f = w.f
    _loan_facts(f, guarantors=[0, 1, 1])
    if f["_lender"]["person"]:  # a facility letter comes from a lender with a letterhead
        f["_lender"] = _ag_party(f, False)
    L, B = f["_lender"], f["_borrower"]
    w.v("出借人", L["name"])
    w.t("\n")
    w.d("address", L["addr"])
    w.t("\n\nFACILITY LETTER\n")
    if w.has("合同编号"):
        w.fmt("Ref: {合同编号}\n")
    if w.has("签约日期"):
        w.fmt("Date: {签约日期}\n")
    w.t("\nTo: ")
    w.v("借款人", B["name"])
    w.t("\n")
    w.d("address", B["addr"])
    w.t(
        "\n\nDear Sirs,\n\nTERM LOAN FACILITY\n\nWe are pleased to offer you a term loan facility on the following terms:\n\n"
    )
    num = _Num(rng, "en")
    w.fmt(num() + "Facility Amount: {借款金额}\n")
    w.t(num(), "Purpose: ", rng.choice(_LOAN_PURPOSES["en"]), "\n")
    if w.has("年利率"):
        w.fmt(num() + "Interest Rate: {年利率} per annum, payable quarterly in arrears\n")
    term = _TERM_WORDS["en"][f["_months"]]
    if w.has("开始日期"):
        w.fmt(
            num() + f"Term: {term} from " + "{开始日期}" + (" to {结束日期}\n" if w.has("结束日期") else "\n")
        )
    else:
        w.t(num(), f"Term: {term} from the date of drawdown\n")
    w.kv(num() + "Final Repayment Date", "还款日期", ": ")
    w.t(num(), "Arrangement Fee: ")
    w.d("fee", _side_money(f, f["_amount"] * rng.choice([1, 2]) / 100))
    w.t(", payable on acceptance of this letter\n")
    if f["_guarantors"]:
        w.t(num(), "Security: a guarantee from ")
        w.v("保证人", f["_guarantors"][0]["name"])
        w.t(" in a form satisfactory to us\n")
    _boiler(w, rng, num, "loan", "the Lender", "the Borrower")
    _en_law(w, rng, num)
    w.t(
        "\nPlease confirm your acceptance by signing and returning the enclosed copy of this letter.\n\nYours faithfully,\n"
    )
    if not f.get("_long"):
        w.t("For and on behalf of ")
        w.d("sign", L["name"])
        w.t("\n\nAccepted by ")
        w.d("sign", B["name"])
        w.t("\n")


@_template("zh_agreement_transfer")
def _zh_agreement_transfer(w: _Writer, rng: random.Random) -> None:
    """An equity transfer whose terms come first as a table (要素表), the clauses after."""
    f = w.f
    _transfer_facts(f)
    w.t(rng.choice(["股权转让协议", "股权转让合同"]), "\n")
    if w.has("合同编号"):
        w.fmt("协议编号：{合同编号}\n")
    w.t("\n一、交易各方\n")
    a, b = _zh_transfer_parties(w, rng)
    w.t("\n二、交易要素\n目标公司 | ")
    w.d("party", f["_target"])
    w.t("\n注册资本 | ")
    w.d("capital", f["_capital"])
    w.t("\n转让股权比例 | ")
    w.d("percent", f"{f['_pct']}%")
    w.fmt("\n转让价款 | {转让价款}\n")
    w.kv("付款日期 | ", "付款日期", "")
    w.kv("交割日期 | ", "交割日期", "")
    w.kv("签署日期 | ", "签约日期", "")
    w.t("\n三、主要条款\n")
    num = _Num(rng, "zh")
    if w.has("付款日期"):
        w.t(num(), f"{b}应于付款日期前将转让价款一次性支付至{a}指定账户。\n")
    else:
        _zh_transfer_pay(w, rng, num, a, b, "股权变更登记完成")
    when = "交割日期前" if w.has("交割日期") else "收到全部转让价款后十个工作日内"
    w.t(num(), f"{a}应于{when}配合目标公司办理股东变更登记，自交割日起{b}享有相应的股东权利。\n")
    if f["_guarantors"]:
        w.t(num(), f"保证人为{b}的付款义务提供连带责任保证。\n")
    _boiler(w, rng, num, "transfer", a, b)
    _zh_law(w, rng, num, len(f["_sign_rows"]) > 2)
    _zh_copies(w, num, len(f["_sign_rows"]))
    _zh_sign(w, rng, f["_sign_rows"])


_BANK_BRANCHES = ["分行", "支行", "分行营业部"]


@_template("zh_agreement_working")
def _zh_agreement_working(w: _Writer, rng: random.Random) -> None:
    """A bank's working-capital loan (流动资金借款合同) in chapters; the lender is a bank."""
    f = w.f
    _loan_facts(f, guarantors=[0, 1, 1, 2])
    pool, city = f["_pool"], f["city"]
    f["_lender"]["person"] = False
    f["_lender"]["name"] = pool.unique(
        lambda: (
            f"{rng.choice(['中国', '招商', '兴业', '浦发', '华夏'])}银行股份有限公司{city}"
            + rng.choice(_CITIES[city][2])
            + rng.choice(_BANK_BRANCHES)
        )
    )
    w.t("流动资金借款合同\n")
    if w.has("合同编号"):
        w.fmt("合同编号：{合同编号}\n")
    w.t("\n")
    rows = [(rng.choice(["贷款人", "出借人"]), "出借人", f["_lender"]), ("借款人", "借款人", f["_borrower"])]
    if rng.random() < 0.4:
        rows.reverse()
    gs = f["_guarantors"]
    rows += [("保证人" + ("" if len(gs) == 1 else "一二"[i]), "保证人", g) for i, g in enumerate(gs)]
    for head, label, p in rows:
        _zh_party(w, rng, head, label, p, multi=label == "保证人")
    f["_sign_rows"] = [(head, p) for head, _, p in rows]
    lw = next(h for h, label, _ in rows if label == "出借人")
    w.t("\n第一章 借款金额、用途和期限\n")
    num = _Num(rng, "zh")
    w.fmt(num() + "借款金额：{借款金额}。\n")
    w.t(
        num(),
        f"借款用途：本合同项下借款仅用于借款人{rng.choice(_LOAN_PURPOSES['zh'])}，未经{lw}书面同意不得改变用途。\n",
    )
    term = _TERM_WORDS["zh"][f["_months"]]
    if w.has("开始日期"):
        w.fmt(
            num()
            + f"借款期限：{term}，自"
            + "{开始日期}起至{结束日期|借款全部清偿之日}止；实际放款日与上述日期不一致的，以借款借据记载为准。\n"
        )
    else:
        w.t(num(), f"借款期限：{term}，自首次放款之日起计算，具体以借款借据记载为准。\n")
    w.t("\n第二章 利率与计息\n")
    if w.has("年利率"):
        w.fmt(num() + "借款利率：本合同项下借款的年利率为{年利率}，在借款期限内保持不变。\n")
    else:
        w.t(num(), "借款利率：按放款日前一个工作日公布的一年期贷款市场报价利率加")
        w.d("bps", rng.choice(["30个基点", "50个基点", "85个基点"]))
        w.t("确定。\n")
    w.t(num(), "计息与结息：借款按日计息，按季结息，结息日为每季末月的第二十日。\n")
    w.t("\n第三章 还款\n")
    if w.has("还款日期"):
        w.fmt(num() + "还款方式：借款人应于{还款日期}一次性归还全部借款本金。\n")
    else:
        w.t(num(), "还款方式：借款人应于借款到期日一次性归还全部借款本金，利息随结息日支付。\n")
    w.t(num(), f"提前还款：借款人提前还款的，应提前三十日向{lw}提出书面申请，并经{lw}同意。\n")
    if gs:
        w.t("\n第四章 担保\n")
        w.t(
            num(),
            "保证：保证人自愿为借款人在本合同项下的全部债务提供连带责任保证，保证期间为主债务履行期届满之日起三年。\n",
        )
    w.t("\n第五章 违约责任\n")
    w.t(num(), "借款人未按约定用途使用借款的，对违约使用部分按借款利率加收")
    w.d("percent", "100%")
    w.t("计收罚息；逾期还款的，按借款利率加收")
    w.d("percent", "50%")
    w.t("计收罚息。\n")
    _boiler(w, rng, num, "loan", lw, "借款人")
    w.t("\n第六章 其他\n")
    _zh_law(w, rng, num, len(rows) > 2)
    _zh_copies(w, num, len(rows))
    _zh_signed(w, rng, "end")
    _zh_sign(w, rng, f["_sign_rows"])


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------

_FACTS: dict[str, Callable[[random.Random, _Pool, str], dict[str, Any]]] = {
    "contract": _contract_facts,
    "ticket": _ticket_facts,
    "invoice": _invoice_facts,
    "cv": _cv_facts,
    "medical": _medical_facts,
    "insurance": _insurance_facts,
    "traffic": _traffic_facts,
    "agreement": _agreement_facts,
}


def _partition() -> dict[str, str]:
    split: dict[str, str] = {}
    for kind in KINDS:
        names = sorted(n for n, (k, _, _) in _TEMPLATES.items() if k == kind)
        for i, name in enumerate(names):
            split[name] = "heldout" if i % 3 == 1 else "train"
    return split


TEMPLATES: dict[str, str] = _partition()
"""Template name -> ``"train"`` or ``"heldout"`` (fixed; no template is in both)."""


SHORT_CHARS = (200, 1500)
"""Length of a document, in characters (min, max), but for agreements."""
AGREEMENT_CHARS = (200, 2000)
"""Length of an agreement that is not a long one (English ones run longer)."""
LONG_CHARS = (2500, 4000)
"""Length of a long agreement (about a fifth of them)."""


def _limits(kind: str, facts: dict[str, Any]) -> tuple[int, int]:
    if facts.get("_long"):
        return LONG_CHARS
    return AGREEMENT_CHARS if kind == "agreement" else SHORT_CHARS


def _document(name: str, rng: random.Random, distractors: bool = False) -> dict[str, Any]:
    """One document of template ``name``; with ``distractors``, also where the template
    wrote text that stands beside a field without being its value (``_distractors``: kind,
    start, end, text), for the tests."""
    kind, lang, write = _TEMPLATES[name]
    # a draw whose text falls outside its length range is drawn again (200 times at most: a
    # few short templates miss 200 characters in three draws of four)
    for _ in range(200):
        facts = _FACTS[kind](rng, _Pool(rng, lang), lang)
        w = _Writer(facts, lang)
        write(w, rng)
        text = w.text()
        lo, hi = _limits(kind, facts)
        if lo <= len(text) <= hi:
            break
    rfields = RECORD_TYPES.get(kind, ("", []))[1]
    records = [
        {"type": r["type"], "fields": {f: r["fields"][f] for f in rfields if f in r["fields"]}}
        for r in w.records
        if r["fields"]
    ]
    doc = {
        "id": "",
        "kind": kind,
        "lang": lang,
        "template": name,
        "text": text,
        "entities": sorted(w.entities, key=lambda e: (e["start"], e["end"], e["label"])),
        "label_set": list(FIELDS[kind]),
        "records": records,
        "classes": dict(facts.get("_classes") or {}),
        "class_choices": {k: list(v) for k, v in CLASS_CHOICES.get(kind, {}).items()},
        "values": w.values,
    }
    if distractors:
        doc["_distractors"] = w.distractors
    return doc


def generate_documents(
    n: int = 200,
    seed: int = 0,
    split: str = "all",
    kinds: Iterable[str] | None = None,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """``n`` documents (see the module docstring), from the templates of ``split`` (``train``,
    ``heldout`` or ``all``), of the given ``kinds`` (default: all of :data:`KINDS`) and
    language (``zh``, ``en`` or None for both).  Kinds take turns; each document's template
    is drawn among those allowed.  The same arguments give the same documents."""
    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be train, heldout or all, got {split!r}")
    if lang not in (None, "zh", "en"):
        raise ValueError(f"lang must be zh, en or None, got {lang!r}")
    kinds = list(KINDS if kinds is None else kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kinds {unknown}: choose among {', '.join(KINDS)}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    pools = {
        kind: sorted(
            name
            for name, (k, lg, _) in _TEMPLATES.items()
            if k == kind and (lang is None or lg == lang) and (split == "all" or TEMPLATES[name] == split)
        )
        for kind in kinds
    }
    empty = [k for k, names in pools.items() if not names]
    if empty:
        raise ValueError(f"no {split} templates for {', '.join(empty)} in language {lang}")
    rng = random.Random(seed)
    counts: Counter[tuple[str, str]] = Counter()
    docs = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        name = rng.choice(pools[kind])
        doc = _document(name, random.Random(rng.getrandbits(64)))
        counts[doc["lang"], kind] += 1
        doc["id"] = f"{doc['lang']}-{kind}-{counts[doc['lang'], kind]:04d}"
        docs.append(doc)
    return docs


def write_jsonl(path: str | Path, docs: Iterable[dict[str, Any]]) -> Path:
    """Write one document per line (UTF-8, non-ASCII kept); returns the path."""
    p = Path(path)
    with open(p, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m training.docgen --n 500 --seed 0 --split heldout --out FILE.jsonl``."""
    parser = argparse.ArgumentParser(
        prog="python -m training.docgen",
        description="Write generated business documents with gold spans as JSONL "
        "(readable by seqgpt eval --dataset FILE.jsonl) and print counts per kind.",
    )
    parser.add_argument("--n", type=int, default=200, help="number of documents (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--split", choices=["train", "heldout", "all"], default="all",
                        help="which templates to use (default all)")  # fmt: skip
    parser.add_argument("--kinds", nargs="+", choices=KINDS, metavar="KIND",
                        help=f"kinds to generate (default all: {' '.join(KINDS)})")  # fmt: skip
    parser.add_argument("--lang", choices=["zh", "en"], help="only this language (default both)")
    parser.add_argument("--out", required=True, help="output .jsonl file")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("--n must be >= 0")
    try:
        docs = generate_documents(args.n, args.seed, args.split, args.kinds, args.lang)
    except ValueError as e:
        parser.error(str(e))
    path = write_jsonl(args.out, docs)
    rows: dict[str, list[int]] = {}
    for d in docs:
        row = rows.setdefault(d["kind"], [0, 0, 0])
        row[0] += 1
        row[1] += len(d["entities"])
        row[2] += len(d["records"])
    print(f"{'kind':<10} {'docs':>6} {'entities':>9} {'records':>8}")
    for kind in KINDS:
        if kind in rows:
            print(f"{kind:<10} {rows[kind][0]:>6} {rows[kind][1]:>9} {rows[kind][2]:>8}")
    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    print(f"{'total':<10} {total[0]:>6} {total[1]:>9} {total[2]:>8}")
    print(f"wrote {len(docs)} documents to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
