"""(Re)generate the bundled sample documents: ``python samples/make_samples.py``.

Writes, next to this script:

- ``contracts/*.pdf``: four contracts made with reportlab -- Chinese ones in the built-in CID
  font ``STSong-Light`` (no font file, nothing embedded), English ones in Helvetica:
    - ``zh_purchase_contract.pdf``   设备采购合同, one page, ¥1,200,000.00 in words and figures;
      a line break falls inside 乙方's name in the preamble (深 / 圳市华南精密机械制造有限公司);
    - ``en_services_agreement.pdf``  Master Services Agreement, USD 250,000; a line break
      falls inside Party B's name (Bluefin Software / Solutions Ltd.);
    - ``zh_lease_contract.pdf``      房屋租赁合同, three pages with a repeated header
      (title + contract number) and footer (第 N 页 共 3 页); a line break falls inside the
      deposit amount (（ / ¥170,000.00）);
    - ``bilingual_tech_services.pdf`` 技术服务合同 / Technical Services Agreement, two pages,
      Chinese and English side by side, with a repeated footer;
- ``contracts/_expected.json``: the values a reader should find in each contract (parties,
  amounts, dates, governing law, dispute resolution) -- for evaluation;
- ``tickets/tickets.jsonl``: 22 hotline tickets (20 Chinese, 2 English) with ``id``,
  ``created_at``, ``channel``, ``text`` (applicant, phone, address, request) and
  ``category`` (the label for classification);
- ``tickets/_expected.json``: per ticket id, the applicant, phone, address and category.

Files whose names start with ``_`` are skipped by ``connectors.fs.Folder.list``, so the
expectation files never get read as documents.  Output is deterministic (reportlab's
``invariant=1`` fixes dates and document ids): running the script twice gives identical bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
CJK = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK))

PAGE_W, PAGE_H = A4
MARGIN_X = 64
TOP_Y = PAGE_H - 88
BOTTOM_Y = 72
_NO_LINE_START = set("，。、；：？！）》」』”’,.;:?!)")
_TOKEN = re.compile(r"[A-Za-z0-9$€£¥][A-Za-z0-9.,;:'’\"()$%&/@+\-]*\s*|\s+|.")


# ---------------------------------------------------------------------- layout


@dataclass
class Block:
    kind: str  # title | p | line | gap | sign | pagebreak
    text: str = ""
    right: str = ""
    size: float = 11.0


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap: Latin words stay whole, CJK characters break anywhere, closing
    punctuation never starts a line; an explicit ``\\n`` forces a break."""
    lines: list[str] = []
    for raw in text.split("\n"):
        cur = ""
        for tok in _TOKEN.findall(raw):
            if pdfmetrics.stringWidth(cur + tok.rstrip(), font, size) <= width or tok[0] in _NO_LINE_START:
                cur += tok
                continue
            if cur.strip():
                lines.append(cur.rstrip())
            cur = tok.lstrip()
        lines.append(cur.rstrip())
    return lines


@dataclass
class Doc:
    filename: str
    title: str
    subject: str
    font: str
    bold: str
    blocks: list[Block]
    header: str | None = None
    footer: str | None = None  # format with {page} and {pages}
    line_gap: float = 1.65


def _paginate(doc: Doc) -> list[list[tuple[str, float, str, str, float]]]:
    """Lay blocks out into pages of (kind, x, text, font, size) with y implied by order."""
    width = PAGE_W - 2 * MARGIN_X
    pages: list[list[tuple[str, float, str, str, float]]] = [[]]
    y = TOP_Y

    def need(h: float) -> None:
        nonlocal y
        if y - h < BOTTOM_Y:
            pages.append([])
            y = TOP_Y

    for b in doc.blocks:
        if b.kind == "pagebreak":
            pages.append([])
            y = TOP_Y
            continue
        if b.kind == "gap":
            y -= b.size
            pages[-1].append(("gap", 0, "", doc.font, b.size))
            continue
        font = doc.bold if b.kind == "title" else doc.font
        lh = b.size * doc.line_gap
        if b.kind == "sign":
            need(lh)
            pages[-1].append(("sign", 0, b.text + "\x00" + b.right, font, b.size))
            y -= lh
            continue
        lines = [b.text] if b.kind in ("title", "line") else _wrap(b.text, font, b.size, width)
        for line in lines:
            need(lh)
            pages[-1].append((b.kind, 0, line, font, b.size))
            y -= lh
    return pages


def render(doc: Doc, out_dir: Path) -> Path:
    pages = _paginate(doc)
    path = out_dir / doc.filename
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(doc.title)
    c.setAuthor("seqgpt-nlp samples")
    c.setSubject(doc.subject)
    c.setCreator("samples/make_samples.py")
    total = len(pages)
    for number, items in enumerate(pages, start=1):
        if doc.header:
            c.setFont(doc.font, 8.5)
            c.drawString(MARGIN_X, PAGE_H - 52, doc.header)
            c.setLineWidth(0.5)
            c.line(MARGIN_X, PAGE_H - 58, PAGE_W - MARGIN_X, PAGE_H - 58)
        if doc.footer:
            c.setFont(doc.font, 8.5)
            c.drawCentredString(PAGE_W / 2, 40, doc.footer.format(page=number, pages=total))
        y = TOP_Y
        for kind, _x, text, font, size in items:
            if kind == "gap":
                y -= size
                continue
            c.setFont(font, size)
            if kind == "title":
                c.drawCentredString(PAGE_W / 2, y, text)
            elif kind == "sign":
                left, right = text.split("\x00")
                c.drawString(MARGIN_X, y, left)
                c.drawString(PAGE_W / 2 + 10, y, right)
            else:
                c.drawString(MARGIN_X, y, text)
            y -= size * doc.line_gap
        c.showPage()
    c.save()
    return path


def T(text: str, size: float = 16) -> Block:
    return Block("title", text, size=size)


def P(text: str, size: float = 10.5) -> Block:
    return Block("p", text, size=size)


def L(text: str, size: float = 10.5) -> Block:
    return Block("line", text, size=size)


def G(h: float = 8) -> Block:
    return Block("gap", size=h)


def S(left: str, right: str, size: float = 10.5) -> Block:
    return Block("sign", left, right, size=size)


# ---------------------------------------------------------------------- contracts


def zh_purchase() -> Doc:
    a, b = "北京云杉数据科技有限公司", "深圳市华南精密机械制造有限公司"
    blocks = [
        T("设备采购合同", 18),
        G(6),
        L("合同编号：CG-2024-0315"),
        G(4),
        L(f"甲方（采购方）：{a}"),
        L("地址：北京市海淀区中关村大街27号 邮编：100080"),
        L("法定代表人：周明远    联系电话：010-82561234"),
        G(4),
        L(f"乙方（供货方）：{b}"),
        L("地址：广东省深圳市南山区科技园南路18号"),
        L("法定代表人：陈国华    联系电话：0755-26781234"),
        G(8),
        P(
            # the line wraps inside 乙方's name here (深 / 圳市华南...): checked in the tests
            "根据《中华人民共和国民法典》及相关法律法规，本合同由甲方北京云杉数据科技有限公司与乙方深圳市华南精密机械"
            "制造有限公司在平等、自愿、协商一致的基础上签订，双方共同遵守。"
        ),
        P(
            "第一条 合同标的：乙方向甲方提供数控加工中心两台（型号 HN-VMC850）及配套夹具、随机工具和技术资料，"
            "具体规格以附件一《技术规格书》为准。"
        ),
        P(
            "第二条 合同金额：本合同总金额为人民币壹佰贰拾万元整（¥1,200,000.00），含13%增值税、包装、运输、"
            "安装调试及培训费用。除本合同另有约定外，甲方无需另行支付其他费用。"
        ),
        P(
            "第三条 付款方式：合同生效后十个工作日内甲方支付合同总金额的30%作为预付款，即人民币叁拾陆万元整"
            "（¥360,000.00）；设备验收合格后支付60%；剩余10%作为质量保证金，于质保期满后无息支付。"
        ),
        P(
            "第四条 交付与验收：乙方应于2024年4月30日前将设备运至甲方指定地点并完成安装调试，甲方在十五日内组织验收。"
        ),
        P("第五条 合同期限：本合同有效期自2024年4月1日起至2025年3月31日止。质保期为验收合格之日起十二个月。"),
        P(
            "第六条 违约责任：乙方逾期交货的，每逾期一日按合同总金额的千分之五向甲方支付违约金，但累计不超过合同总金额的10%。"
        ),
        P(
            "第七条 适用法律与争议解决：本合同的订立、效力、解释和履行适用中华人民共和国法律。因本合同引起的或与本合同有关的"
            "任何争议，双方应友好协商解决；协商不成的，任何一方均可将争议提交北京仲裁委员会，按照申请仲裁时该会现行有效的"
            "仲裁规则进行仲裁。仲裁裁决是终局的，对双方均有约束力。"
        ),
        P("第八条 其他：本合同一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。"),
        G(14),
        S("甲方（盖章）：北京云杉数据科技有限公司", "乙方（盖章）：深圳市华南精密机械制造有限公司", 9.5),
        S("授权代表：周明远", "授权代表：陈国华", 9.5),
        S("签约日期：2024年3月15日", "签约日期：2024年3月15日", 9.5),
        L("签约地点：北京市海淀区", 9.5),
    ]
    return Doc("zh_purchase_contract.pdf", "设备采购合同", "CG-2024-0315", CJK, CJK, blocks)


def en_services() -> Doc:
    blocks = [
        T("MASTER SERVICES AGREEMENT", 16),
        G(6),
        L("Agreement No. MSA-2024-017"),
        G(6),
        P(
            'This Master Services Agreement (the "Agreement") is entered into on February 20, 2024 by and between '
            'Northwind Analytics Inc., a Delaware corporation ("Party A"), and Bluefin Software\n'
            'Solutions Ltd., a company registered in England and Wales ("Party B").'
        ),
        P("Party A address: 1200 Harbor Boulevard, Suite 400, Weehawken, NJ 07086, United States."),
        P("Party B address: 25 Old Broad Street, London EC2N 1HQ, United Kingdom."),
        G(4),
        P(
            "1. Services. Party B shall provide the data platform migration, integration and support services "
            'described in Statement of Work No. 1 (the "Services").'
        ),
        P(
            "2. Fees. In consideration of the Services, Party A shall pay Party B a total fixed fee of USD 250,000 "
            "(two hundred fifty thousand US dollars), payable in three installments of USD 100,000, USD 100,000 and "
            "USD 50,000 upon the milestones set out in the Statement of Work. Invoices are due within thirty (30) days."
        ),
        P(
            '3. Term. This Agreement commences on March 1, 2024 (the "Effective Date") and remains in force until '
            "February 28, 2025, unless terminated earlier in accordance with Section 7."
        ),
        P(
            "4. Confidentiality. Each party shall keep the other party's Confidential Information secret and use it "
            "only to perform this Agreement, during the Term and for three (3) years thereafter."
        ),
        P(
            "5. Governing Law. This Agreement shall be governed by and construed in accordance with the laws of the "
            "State of New York, without regard to its conflict of laws principles."
        ),
        P(
            "6. Dispute Resolution. Any dispute arising out of or relating to this Agreement shall be finally settled "
            "by arbitration administered by the American Arbitration Association in New York, New York, under its "
            "Commercial Arbitration Rules."
        ),
        P(
            "7. Termination. Either party may terminate this Agreement upon sixty (60) days' written notice, or "
            "immediately if the other party materially breaches it and fails to cure the breach within thirty days."
        ),
        G(14),
        S("For Northwind Analytics Inc. (Party A)", "For Bluefin Software Solutions Ltd. (Party B)", 10),
        S("Name: Laura Chen, Chief Operating Officer", "Name: James O'Connor, Director", 10),
        S("Date: February 20, 2024", "Date: February 20, 2024", 10),
    ]
    return Doc(
        "en_services_agreement.pdf",
        "Master Services Agreement",
        "MSA-2024-017",
        "Helvetica",
        "Helvetica-Bold",
        blocks,
    )


def zh_lease() -> Doc:
    a, b = "上海静安置业有限公司", "杭州青禾文化传媒有限公司"
    clauses = [
        "第一条 房屋基本情况：甲方将其合法拥有的位于上海市静安区南京西路1266号恒隆广场办公楼28层2801室（建筑面积"
        "420平方米）出租给乙方作办公使用。甲方保证对该房屋享有完整的出租权利。",
        "第二条 租赁期限：租期三年，自2024年6月1日起至2027年5月31日止。租期届满乙方需续租的，应提前三个月书面通知甲方。",
        "第三条 租金：月租金为人民币捌万伍仟元整（¥85,000.00），租金按季度支付，乙方应于每季度首月五日前支付当季租金"
        "人民币贰拾伍万伍仟元整（¥255,000.00）。第二个租赁年度起租金每年递增3%。",
        "第四条 押金：乙方应于本合同签订之日起五个工作日内向甲方支付押金人民币壹拾柒万元整（¥170,000.00）。租赁期满"
        "且乙方结清全部费用后，甲方应在十五个工作日内无息退还押金。",
        "第五条 免租期：甲方给予乙方装修免租期一个月，即2024年6月1日至2024年6月30日，免租期内乙方无需支付租金，但应承担"
        "物业管理费及能源费用。",
        "第六条 物业管理费及其他费用：租赁期间的物业管理费按每月每平方米人民币叁拾伍元计收，由乙方直接向物业服务企业"
        "缴纳；水、电、燃气、通讯等费用按实际用量由乙方承担。",
        "第七条 房屋交付：甲方应于2024年6月1日前将房屋按现状交付乙方，双方共同签署《房屋交接确认书》，载明房屋及设施"
        "设备状况。",
        "第八条 装修与改造：乙方对房屋进行装修或改造的，应事先取得甲方书面同意，并遵守大厦装修管理规定；涉及消防、"
        "结构的改动须报有关部门审批。",
        "第九条 维修责任：房屋主体结构及甲方提供的设施设备的正常维修由甲方负责；因乙方使用不当造成损坏的，由乙方负责"
        "修复或赔偿。",
        "第十条 转租：未经甲方书面同意，乙方不得将房屋全部或部分转租、分租给第三方，亦不得与他人交换使用。",
        "第十一条 甲方权利义务：甲方应保证房屋符合安全使用条件，并协助乙方办理工商注册所需的产权证明文件。",
        "第十二条 乙方权利义务：乙方应按约定用途合理使用房屋，按时支付租金及各项费用，遵守大厦管理规约。",
        "第十三条 合同解除：乙方逾期支付租金超过三十日的，甲方有权解除本合同，押金不予退还，并有权要求乙方赔偿损失。",
        "第十四条 违约责任：任何一方违反本合同约定的，应向守约方支付相当于两个月租金的违约金；违约金不足以弥补损失的，"
        "还应赔偿差额部分。",
        "第十五条 不可抗力：因地震、火灾、战争、政府行为等不可抗力致使本合同无法履行的，双方互不承担责任，本合同可以"
        "解除，租金按实际使用期限结算。",
        "第十六条 房屋返还：租赁期满或合同解除后，乙方应于十日内将房屋恢复原状（正常损耗除外）并返还甲方。",
        "第十七条 通知：双方的通知应以书面形式送达本合同首部载明的地址，一方地址变更的应及时书面通知对方。",
        "第十八条 适用法律：本合同的订立、效力、解释、履行及争议的解决均适用中华人民共和国法律。",
        "第十九条 争议解决：因履行本合同发生的争议，由双方协商解决；协商不成的，任何一方均可向房屋所在地的上海市静安区"
        "人民法院提起诉讼。",
        "第二十条 其他约定：本合同未尽事宜，双方可另行签订补充协议，补充协议与本合同具有同等法律效力。",
        "第二十一条 合同生效：本合同一式四份，甲乙双方各执两份，自双方签字盖章之日起生效。",
    ]
    blocks = [
        T("房屋租赁合同", 18),
        G(6),
        L(f"出租方（甲方）：{a}"),
        L("统一社会信用代码：91310106MA1FL2XK3Q"),
        L("地址：上海市静安区南京西路1266号"),
        G(4),
        L(f"承租方（乙方）：{b}"),
        L("统一社会信用代码：91330106MA2H0Q7N5B"),
        L("地址：浙江省杭州市西湖区文三路90号"),
        G(8),
        P(
            "甲乙双方根据《中华人民共和国民法典》等有关法律法规，就乙方承租甲方房屋事宜，经协商一致，订立本合同。"
        ),
    ]
    for i, clause in enumerate(clauses):
        blocks.append(P(clause))
        if i in (6, 14):
            blocks.append(Block("pagebreak"))
    blocks += [
        G(16),
        S(f"甲方（盖章）：{a}", f"乙方（盖章）：{b}", 9.5),
        S("法定代表人：沈立群", "法定代表人：吴晓青", 9.5),
        S("签约日期：2024年5月20日", "签约日期：2024年5月20日", 9.5),
    ]
    return Doc(
        "zh_lease_contract.pdf",
        "房屋租赁合同",
        "ZL-2024-0520",
        CJK,
        CJK,
        blocks,
        header="房屋租赁合同　　合同编号：ZL-2024-0520　　上海静安置业有限公司",
        footer="第 {page} 页 共 {pages} 页",
    )


def bilingual_tech() -> Doc:
    blocks = [
        T("技术服务合同", 17),
        T("TECHNICAL SERVICES AGREEMENT", 13),
        G(6),
        L("合同编号 Contract No.: JS-2024-1108"),
        G(4),
        L("委托方（甲方）：苏州工业园区智造研究院有限公司"),
        L("Party A: Suzhou Industrial Park Intelligent Manufacturing Institute Co., Ltd."),
        L("受托方（乙方）：成都天府云图信息技术有限公司"),
        L("Party B: Chengdu Tianfu Cloudmap Information Technology Co., Ltd."),
        G(8),
        P(
            "一、服务内容：乙方为甲方提供工业视觉质检系统的模型训练、部署及运维技术服务，具体内容见附件《服务说明书》。"
        ),
        P(
            "1. Scope. Party B shall provide model training, deployment and maintenance services for Party A's "
            "industrial visual inspection system as described in the Service Specification attached."
        ),
        P(
            "二、服务费用：技术服务费总额为人民币伍拾捌万元整（¥580,000.00），甲方分两期支付，每期人民币贰拾玖万元整。"
        ),
        P(
            "2. Fees. The total service fee is RMB 580,000.00 (five hundred eighty thousand yuan), payable by Party A "
            "in two equal installments of RMB 290,000.00 each."
        ),
        P("三、服务期限：自2024年11月15日起至2025年11月14日止。"),
        P("3. Term. The service period runs from November 15, 2024 to November 14, 2025."),
        Block("pagebreak"),
        P("四、知识产权：乙方在履行本合同过程中为甲方专门开发的模型及代码，其知识产权归甲方所有。"),
        P(
            "4. Intellectual Property. Models and code developed by Party B specifically for Party A under this "
            "Agreement belong to Party A."
        ),
        P("五、适用法律：本合同适用中华人民共和国法律。"),
        P("5. Governing Law. This Agreement is governed by the laws of the People's Republic of China."),
        P(
            "六、争议解决：因本合同引起的争议，双方应协商解决；协商不成的，提交中国国际经济贸易仲裁委员会上海分会仲裁。"
        ),
        P(
            "6. Disputes. Any dispute arising from this Agreement shall be settled through negotiation; failing that, "
            "it shall be submitted to the China International Economic and Trade Arbitration Commission (CIETAC) "
            "Shanghai Sub-Commission for arbitration."
        ),
        G(16),
        S("甲方（盖章）Party A (seal)", "乙方（盖章）Party B (seal)", 10),
        S("签订日期 Date：2024年11月8日", "签订日期 Date：2024年11月8日", 10),
    ]
    return Doc(
        "bilingual_tech_services.pdf",
        "技术服务合同 Technical Services Agreement",
        "JS-2024-1108",
        CJK,
        CJK,
        blocks,
        footer="技术服务合同 JS-2024-1108　　第 {page} 页 / 共 {pages} 页",
    )


CONTRACT_EXPECTED = {
    "zh_purchase_contract.pdf": {
        "language": "zh",
        "pages": 1,
        "fields": {
            "甲方": "北京云杉数据科技有限公司",
            "乙方": "深圳市华南精密机械制造有限公司",
            "合同金额": "人民币壹佰贰拾万元整（¥1,200,000.00）",
            "签约日期": "2024年3月15日",
            "开始日期": "2024年4月1日",
            "结束日期": "2025年3月31日",
            "适用法律": "中华人民共和国法律",
            "争议解决": "北京仲裁委员会",
        },
        "normalized": {
            "合同金额": {"amount": "1200000.00", "currency": "CNY"},
            "签约日期": "2024-03-15",
            "开始日期": "2024-04-01",
            "结束日期": "2025-03-31",
        },
        "wrapped_value": "深圳市华南精密机械制造有限公司",
    },
    "en_services_agreement.pdf": {
        "language": "en",
        "pages": 1,
        "fields": {
            "Party A": "Northwind Analytics Inc.",
            "Party B": "Bluefin Software Solutions Ltd.",
            "Contract Amount": "USD 250,000",
            "Signing Date": "February 20, 2024",
            "Start Date": "March 1, 2024",
            "End Date": "February 28, 2025",
            "Governing Law": "the laws of the State of New York",
            "Dispute Resolution": "arbitration administered by the American Arbitration Association",
        },
        "normalized": {
            "Contract Amount": {"amount": "250000.00", "currency": "USD"},
            "Signing Date": "2024-02-20",
            "Start Date": "2024-03-01",
            "End Date": "2025-02-28",
        },
        "wrapped_value": "Bluefin Software Solutions Ltd.",
    },
    "zh_lease_contract.pdf": {
        "language": "zh",
        "pages": 3,
        "fields": {
            "甲方": "上海静安置业有限公司",
            "乙方": "杭州青禾文化传媒有限公司",
            "月租金": "人民币捌万伍仟元整（¥85,000.00）",
            "押金": "人民币壹拾柒万元整（¥170,000.00）",
            "签约日期": "2024年5月20日",
            "开始日期": "2024年6月1日",
            "结束日期": "2027年5月31日",
            "适用法律": "中华人民共和国法律",
            "争议解决": "上海市静安区人民法院",
        },
        "normalized": {
            "月租金": {"amount": "85000.00", "currency": "CNY"},
            "押金": {"amount": "170000.00", "currency": "CNY"},
            "签约日期": "2024-05-20",
            "开始日期": "2024-06-01",
            "结束日期": "2027-05-31",
        },
        "repeated_header": "房屋租赁合同　　合同编号：ZL-2024-0520　　上海静安置业有限公司",
        "repeated_footer": "第 {page} 页 共 3 页",
    },
    "bilingual_tech_services.pdf": {
        "language": "zh+en",
        "pages": 2,
        "fields": {
            "甲方": "苏州工业园区智造研究院有限公司",
            "乙方": "成都天府云图信息技术有限公司",
            "合同金额": "人民币伍拾捌万元整（¥580,000.00）",
            "签约日期": "2024年11月8日",
            "开始日期": "2024年11月15日",
            "结束日期": "2025年11月14日",
            "适用法律": "中华人民共和国法律",
            "争议解决": "中国国际经济贸易仲裁委员会上海分会",
        },
        "normalized": {
            "合同金额": {"amount": "580000.00", "currency": "CNY"},
            "签约日期": "2024-11-08",
            "开始日期": "2024-11-15",
            "结束日期": "2025-11-14",
        },
        "repeated_footer": "技术服务合同 JS-2024-1108　　第 {page} 页 / 共 2 页",
    },
}


# ---------------------------------------------------------------------- tickets

# (name as written, phone as written, address, request, category, channel)
_TICKETS = [
    (
        "张伟",
        "13812345678",
        "北京市朝阳区建国路88号SOHO现代城3号楼",
        "楼下餐馆每天凌晨两点后排风机噪音很大，严重影响休息，请相关部门核实处理。",
        "噪音扰民",
        "电话",
    ),
    (
        "王秀英",
        "139-1023-4567",
        "上海市浦东新区张杨路500号华润时代广场附近",
        "人行道地砖大面积松动翘起，老人已经摔倒过，希望尽快维修。",
        "道路设施",
        "网站",
    ),
    (
        "李建国",
        "010-65123456",
        "北京市东城区东直门南大街5号院",
        "小区连续三天停水，物业没有任何通知，家里有老人孩子，要求尽快恢复供水并说明原因。",
        "供水供电",
        "电话",
    ),
    (
        "刘洋",
        "15988887777",
        "浙江省杭州市西湖区文三路259号昌地火炬大厦",
        "公司拖欠两个月工资共计人民币一万六千元，多次催要无果，请求劳动监察部门介入。",
        "劳动纠纷",
        "APP",
    ),
    (
        "陈静",
        "+86 137 0000 1234",
        "广东省广州市天河区体育西路191号中石化大厦",
        "在商场某品牌店购买的羽绒服洗后严重掉色，商家拒绝退换，要求依法处理。",
        "消费投诉",
        "微信",
    ),
    (
        "赵敏",
        "13600001111",
        "江苏省南京市鼓楼区中山北路30号",
        "小区供暖温度一直不达标，室内只有14度，物业推诿，请供热公司上门检测。",
        "供暖问题",
        "电话",
    ),
    (
        "孙立",
        "18611112222",
        "北京市海淀区学院路37号",
        "学院路与成府路交叉口红绿灯时间过短，行人无法一次通过，建议调整配时。",
        "交通管理",
        "网站",
    ),
    (
        "周婷",
        "021-64381234",
        "上海市徐汇区漕溪北路88号圣爱大厦",
        "大厦门口长期有车辆违法停放占用消防通道，存在安全隐患，请交警处理。",
        "交通管理",
        "电话",
    ),
    (
        "吴强",
        "13922223333",
        "广东省深圳市福田区深南大道6008号",
        "咨询新能源汽车购置补贴的申请条件和办理流程，以及需要准备哪些材料。",
        "政策咨询",
        "电话",
    ),
    (
        "郑丽",
        "13544445555",
        "四川省成都市锦江区春熙路步行街北段",
        "垃圾桶满溢多日无人清运，气味难闻，蚊蝇滋生，请环卫部门及时清理。",
        "环境卫生",
        "APP",
    ),
    (
        "黄志明",
        "0571-87654321转8001",
        "浙江省杭州市上城区解放路138号",
        "咨询个人如何申领灵活就业社会保险补贴，网上申报一直提示材料不全。",
        "政策咨询",
        "网站",
    ),
    (
        "林小红",
        "13711112222",
        "福建省厦门市思明区湖滨南路90号",
        "楼上住户装修每天早上七点就开始电钻作业，周末也不停，请求协调。",
        "噪音扰民",
        "电话",
    ),
    (
        "何军",
        "15011223344",
        "湖北省武汉市江汉区解放大道690号",
        "小区物业擅自提高停车费且不公示收支，业主多次反映未果，请求住建部门调查。",
        "物业管理",
        "微信",
    ),
    (
        "高峰",
        "18888886666",
        "陕西省西安市雁塔区小寨东路1号",
        "小寨路段雨水井盖缺失，夜间非常危险，请尽快补装。",
        "道路设施",
        "电话",
    ),
    (
        "马兰",
        "13300009999",
        "天津市和平区南京路189号",
        "在网上培训机构报名后要求退费，机构以各种理由拖延至今已三个月。",
        "消费投诉",
        "APP",
    ),
    (
        "罗斌",
        "13899990000",
        "重庆市渝中区解放碑民权路28号",
        "片区频繁停电，一周内停电四次，影响商户正常经营，请供电公司说明情况。",
        "供水供电",
        "电话",
    ),
    (
        "梁静茹",
        "15600002222",
        "广东省佛山市禅城区季华五路22号",
        "小区绿化带被个别住户私自改为菜地，并使用粪水浇灌，气味很大。",
        "环境卫生",
        "网站",
    ),
    (
        "宋佳",
        "17712345678",
        "山东省青岛市市南区香港中路76号",
        "公司未与本人签订书面劳动合同也未缴纳社保，已工作八个月，请求维权。",
        "劳动纠纷",
        "电话",
    ),
    (
        "唐宁",
        "13123456789",
        "湖南省长沙市岳麓区麓山南路932号",
        "小区电梯多次困人，物业维保不及时，请市场监管部门督促检修。",
        "物业管理",
        "APP",
    ),
    (
        "韩雪",
        "15912345678",
        "辽宁省沈阳市和平区南京北街206号",
        "冬季供暖开始后暖气片不热，已报修一周无人上门处理。",
        "供暖问题",
        "电话",
    ),
]

_EN_TICKETS = [
    {
        "id": "RX20240321-0021",
        "created_at": "2024-03-21T09:12:00+08:00",
        "channel": "email",
        "text": "Caller John Smith (+1 415-555-0132) reports that the streetlight in front of 350 Fifth Avenue, "
        "New York has been out for two weeks and asks the city to repair it.",
        "category": "道路设施",
        "name": "John Smith",
        "phone": "+1 415-555-0132",
        "address": "350 Fifth Avenue, New York",
    },
    {
        "id": "RX20240321-0022",
        "created_at": "2024-03-21T10:45:00+08:00",
        "channel": "website",
        "text": "Maria Garcia, phone +44 20 7946 0958, living at 221B Baker Street, London, complains that her landlord "
        "has kept her deposit of GBP 1,200 for three months and requests help.",
        "category": "消费投诉",
        "name": "Maria Garcia",
        "phone": "+44 20 7946 0958",
        "address": "221B Baker Street, London",
    },
]

_HONORIFIC = {
    "王秀英": "女士",
    "李建国": "先生",
    "周婷": "女士",
    "林小红": "女士",
    "何军": "先生",
    "高峰": "先生",
}

_OPENERS = [
    "来电人{name}（联系电话：{phone}）反映：{address}，{request}",
    "市民{name}来电，电话{phone}，住址{address}。反映问题：{request}",
    "{name}，手机{phone}，地址：{address}。诉求：{request}",
    "网友{name}留言（{phone}）：本人住在{address}，{request}",
]


def tickets() -> tuple[list[dict], dict]:
    rows, expected = [], {}
    for i, (name, phone, address, request, category, channel) in enumerate(_TICKETS, start=1):
        honorific = name + _HONORIFIC.get(name, "")
        text = _OPENERS[i % len(_OPENERS)].format(
            name=honorific, phone=phone, address=address, request=request
        )
        tid = f"RX20240315-{i:04d}"
        rows.append(
            {
                "id": tid,
                "created_at": f"2024-03-15T{8 + i // 3:02d}:{(i * 7) % 60:02d}:00+08:00",
                "channel": channel,
                "text": text,
                "category": category,
            }
        )
        expected[tid] = {"姓名": name, "电话": phone, "地址": address, "诉求类别": category}
    for t in _EN_TICKETS:
        rows.append({k: t[k] for k in ("id", "created_at", "channel", "text", "category")})
        expected[t["id"]] = {
            "name": t["name"],
            "phone": t["phone"],
            "address": t["address"],
            "category": t["category"],
        }
    return rows, expected


# ---------------------------------------------------------------------- main


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(out: Path = HERE) -> None:
    """Write everything under ``out`` (default: this script's folder)."""
    out = Path(out)
    contracts = out / "contracts"
    contracts.mkdir(parents=True, exist_ok=True)
    for make in (zh_purchase, en_services, zh_lease, bilingual_tech):
        path = render(make(), contracts)
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    _write_json(contracts / "_expected.json", CONTRACT_EXPECTED)

    ticket_dir = out / "tickets"
    ticket_dir.mkdir(parents=True, exist_ok=True)
    rows, expected = tickets()
    with open(ticket_dir / "tickets.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    _write_json(ticket_dir / "_expected.json", expected)
    print(f"wrote {ticket_dir / 'tickets.jsonl'} ({len(rows)} tickets)")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: samples/)")
    main(parser.parse_args().out)
