"""Browser tests: the real Streamlit app (app.py) in headless Chromium, driven by Playwright.

The app runs as ``streamlit run app.py`` in a subprocess with the tiny untrained BLOOM of
the ``tiny_bloom_dir`` fixture as its model; Debian's ``chromium`` is driven through
Playwright's sync API with ``executable_path`` (no browser download).  Every test opens a
fresh page (a fresh Streamlit session); the model is loaded once by the server process.
Screenshots are kept under the test's ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from extractor.schema import Schema
from seqgpt import app_support as sup

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90
UI_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
    ),
]

DOC = (
    "采购合同\n"
    "甲方：北京云杉科技有限公司\n"
    "乙方：上海海川贸易有限公司\n"
    "合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。\n"
    "本合同于2023年9月12日签订，有效期至2024年9月11日。\n"
    "This Agreement is made between Acme Corporation and Globex Ltd.\n"
    "联系人：张伟，电话：13812345678。"
)

JS_MARKS = """els => els.map(e => ({field: e.dataset.field, start: +e.dataset.start, end: +e.dataset.end,
  confidence: +e.dataset.confidence, status: e.dataset.status, text: e.textContent}))"""


# ---------------------------------------------------------------- fixtures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tiny_bloom_dir, tmp_path_factory) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port with the tiny model; its URL."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = dict(os.environ, SEQGPT_MODEL=str(tiny_bloom_dir), SEQGPT_DEVICE="cpu", PYTHONUNBUFFERED="1")
    # no statistics, no file watching: the shipped .streamlit/config.toml says so (cwd=ROOT)
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer within {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(
        viewport={"width": 1400, "height": 2600}, accept_downloads=True, locale="zh-CN"
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    pg = context.new_page()
    pg.goto(app_url)
    # the model section is rendered once the (cached) model is loaded
    pg.get_by_text("Untrained demo model.", exact=True).wait_for()
    try:
        yield pg
    finally:
        context.close()


# ---------------------------------------------------------------- helpers


def fill_document(page, text: str) -> None:
    area = page.locator(".st-key-doc_text textarea")
    area.fill(text)
    area.press("Control+Enter")  # commit the value (Streamlit applies a text area on Ctrl+Enter / blur)
    page.get_by_text(f"Source: pasted text · {len(text):,} characters").wait_for()


def add_fields(page, spec: str) -> None:
    box = page.get_by_label("Add fields")
    box.fill(spec)
    box.press("Enter")  # submits the form
    labels = "，".join(f.prompt_label for f in Schema.parse(spec).fields)
    page.get_by_text(re.compile("Labels sent to the model: .*" + re.escape(labels))).wait_for()


def run(page) -> int:
    """Press Run and wait for the new results; the run's number."""
    before = page.get_by_text(re.compile(r"^Run #\d+")).all_inner_texts()
    number = int(before[0].split("#")[1].split()[0]) + 1 if before else 1
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(re.compile(rf"^Run #{number} ")).wait_for()
    return number


def output_json(page, run_number: int) -> dict:
    return json.loads(page.locator(f".st-key-output_{run_number} code").inner_text())


def marks(page, run_number: int) -> list[dict]:
    """The highlighted values of run ``run_number`` (waits until the view shows that run)."""
    view = f'.seqgpt-view[data-run="{run_number}"] .seqgpt-doc'
    page.locator(view).wait_for()
    return page.eval_on_selector_all(f"{view} mark.seqgpt-mark", JS_MARKS)


def field_rows(page, count: int) -> list[list[str]]:
    """The cells of the field table (the grid's accessible table), once it has ``count`` rows."""
    from playwright.sync_api import expect

    rows = page.locator(".st-key-fields_table table tbody tr")
    expect(rows).to_have_count(count)
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def download(page, button: str, target: Path) -> Path:
    """Click a download button and save the file; retried once if a rerun replaced the file."""
    from playwright.sync_api import Error

    for attempt in range(2):
        try:
            with page.expect_download() as info:
                page.get_by_role("button", name=button).click()
            info.value.save_as(target)
            assert info.value.suggested_filename.endswith(target.suffix)
            return target
        except Error:
            if attempt:
                raise
            page.wait_for_timeout(1000)
    raise AssertionError("unreachable")


def assert_no_traceback(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert "Something went wrong" not in body


def screenshot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 1000 and height >= 1000 and len(data) > 30_000, (width, height, len(data))
    return path


def result_dropped(result: dict) -> list[str]:
    """The dropped values of a JSON output, as ``field=text``."""
    return [f"{f}={v['text']}" for f, vs in result.get("dropped", {}).items() for v in vs]


def check_marks_against(found: list[dict], text: str, result: dict) -> None:
    """Every mark is the verbatim span at its offsets, and every kept value has its mark."""
    for m in found:
        assert text[m["start"] : m["end"]] == m["text"], m
        assert 0.0 <= m["confidence"] <= 1.0
        assert m["status"] in ("ok", "issue", "dropped")
    kept = {(f, v["start"], v["end"], v["text"]) for f, vs in result["fields"].items() for v in vs}
    shown = {(m["field"], m["start"], m["end"], m["text"]) for m in found if m["status"] != "dropped"}
    # a value crossing another one's edge would be listed under the view instead of marked;
    # the tiny model's values on these documents nest or are disjoint, so all are marks
    assert shown == kept
    for field, start, end, value in kept:
        assert text[start:end] == value, (field, start, end, value)


def make_pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 12)
    for i, line in enumerate(lines):
        c.drawString(72, 760 - 20 * i, line)
    c.save()
    path.write_bytes(buf.getvalue())
    return path


# ---------------------------------------------------------------- tests


def test_paste_add_fields_run_highlights_and_json(page, tmp_path):
    # the model is named for what it is, not by the folder it was loaded from
    caption = page.get_by_text(re.compile("^In use: untrained demo model"))
    caption.wait_for()
    assert "tiny-bloom" not in caption.inner_text() and "/" not in caption.inner_text().split("·")[0]
    fill_document(page, DOC)
    add_fields(page, "甲方, 乙方, 合同金额, 签约日期(YYYY-MM-DD)")
    add_fields(page, "company, 联系电话")  # a second batch is appended
    names = ["甲方", "乙方", "合同金额", "签约日期", "company", "联系电话"]
    assert [r[0] for r in field_rows(page, 6)] == names
    # reorder: 联系电话 one up
    page.locator(".st-key-move_field").click()
    page.get_by_role("option", name="联系电话").click()
    page.get_by_role("button", name="↑ Up").click()
    page.get_by_text(re.compile("Labels sent to the model: .*联系电话，company$")).wait_for()
    names = ["甲方", "乙方", "合同金额", "签约日期", "联系电话", "company"]
    assert [r[0] for r in field_rows(page, 6)] == names

    number = run(page)
    result = output_json(page, number)
    assert list(result["fields"]) == names
    page.get_by_text(re.compile(r"model: untrained demo model \(tiny, random weights\)")).first.wait_for()
    assert result["source"] == "pasted text"
    assert Path(result["model"]).name == "tiny-bloom"
    found = marks(page, number)
    assert found, "the tiny model found no value at all"
    check_marks_against(found, DOC, result)
    # the highlighted element's text is exactly the document, so the offsets are the document's
    assert page.eval_on_selector(".seqgpt-doc", "e => e.textContent") == DOC
    values = page.locator(".st-key-values_table table tbody tr")
    missing = [f for f, vs in result["fields"].items() if not vs and f not in result["dropped"]]
    values.nth(len(found) + len(missing) - 1).wait_for(state="attached")  # the grid renders after the marks
    assert values.count() == len(found) + len(missing)
    # a field without any value has its row, saying so (statuses as the CLI writes them)
    statuses = [values.nth(i).locator("td").last.inner_text().strip() for i in range(values.count())]
    assert statuses.count("not found") == len(missing)
    assert all(s == "ok" or s.startswith(("issue: ", "dropped: ", "not found")) for s in statuses), statuses

    # clicking a value shows where it came from
    target = found[-1]
    page.locator(
        f'.seqgpt-doc mark[data-start="{target["start"]}"][data-field="{target["field"]}"]'
    ).first.click()
    context = page.locator(".st-key-source_context")
    context.get_by_text(f"chars {target['start']}-{target['end']}").wait_for()
    assert context.locator(".seqgpt-context mark").inner_text() == target["text"]

    # the other output formats render the same result
    page.get_by_text("Table", exact=True).click()
    page.locator(f".st-key-output_{number} code").get_by_text(
        re.compile("field +value +confidence")
    ).wait_for()
    page.get_by_text("Markdown", exact=True).click()
    page.locator(f".st-key-output_{number} table").wait_for()

    assert_no_traceback(page)
    shot = screenshot(page, tmp_path / "app-results.png")
    assert shot.exists()


def test_schema_download_and_upload_round_trip(page, tmp_path):
    add_fields(
        page, "开始日期(YYYY-MM-DD), 结束日期(YYYY-MM-DD)*, 合同金额(万元), 项目阶段(立项/招标/实施/验收)"
    )
    page.locator(".st-key-schema_name input").fill("contracts")
    page.locator(".st-key-schema_name input").press("Enter")
    rules = page.locator(".st-key-rules_text textarea")
    rules.fill("结束日期 >= 开始日期")
    rules.press("Control+Enter")
    expected = Schema.parse(
        "开始日期(YYYY-MM-DD), 结束日期(YYYY-MM-DD)*, 合同金额(万元), 项目阶段(立项/招标/实施/验收)",
        name="contracts",
        rules=["结束日期 >= 开始日期"],
    )

    page.get_by_text(
        re.compile(re.escape(f"rules: {expected.rules[0]} · schema name: contracts") + "$")
    ).wait_for()
    for fmt, label in (("yaml", "Download YAML"), ("json", "Download JSON")):
        # the caption updates before the script run reaches the download buttons: poll
        # (bounded) until the served file is the one of the finished run
        for _ in range(20):
            target = download(page, label, tmp_path / f"downloaded.{fmt}")
            if target.read_bytes() == sup.schema_file_bytes(expected, fmt):
                break
            page.wait_for_timeout(500)
        assert target.read_bytes() == sup.schema_file_bytes(expected, fmt)
        assert Schema.from_file(target).to_dict() == expected.to_dict()  # what `seqgpt run --schema` reads

    # load another schema file: thresholds, required, explicit choices and keys, rules
    other = Schema.from_dict(
        {
            "name": "night job",
            "fields": [
                {"name": "乙方", "type": "text", "threshold": 0.99, "required": True},
                {"name": "甲方", "type": "text", "threshold": 0.99},
                {
                    "name": "工单类型",
                    "type": "class",
                    "choices": ["咨询", "投诉"],
                    "description": "ticket kind",
                },
                {"name": "编号", "type": "text", "length": 8},
            ],
        }
    )
    upload = other.save(tmp_path / "night.yaml")
    page.locator(".st-key-schema_upload input[type=file]").set_input_files(str(upload))
    page.get_by_text("Loaded 4 fields from night.yaml.").wait_for()
    rows = field_rows(page, 4)
    assert [r[0] for r in rows] == ["乙方", "甲方", "工单类型", "编号"]
    assert page.locator(".st-key-schema_name input").input_value() == "night job"
    again = download(page, "Download YAML", tmp_path / "again.yaml")
    assert again.read_bytes() == upload.read_bytes()  # exactly what was loaded

    # the loaded thresholds apply: everything the tiny model finds is below 0.99
    fill_document(page, DOC)
    number = run(page)
    found = marks(page, number)
    assert any(m["status"] == "dropped" for m in found)  # the tiny model does find (low) values here
    assert all(m["status"] == "dropped" for m in found if m["field"] in ("甲方", "乙方"))
    check_marks_against(found, DOC, output_json(page, number))
    page.get_by_text("Violation: required field 乙方 not found").wait_for()
    page.get_by_text(re.compile(r"value\(s\) dropped: below their field's confidence threshold")).wait_for()
    assert result_dropped(output_json(page, number))  # the JSON output keeps them for audit
    result = output_json(page, number)
    assert result["fields"]["乙方"] == [] and result["fields"]["甲方"] == []
    assert {c["label"] for c in result["classes"]["工单类型"]} <= {"咨询", "投诉"}
    assert "required field 乙方 not found" in result["violations"]

    # a broken schema file: a message, and the fields stay as they were
    bad = tmp_path / "broken.yaml"
    bad.write_text("fields:\n  - name: a\n    colour: red\n", encoding="utf-8")
    page.locator(".st-key-schema_upload input[type=file]").set_input_files(str(bad))
    page.get_by_text(re.compile(r"Cannot load broken\.yaml: .*unknown key 'colour'")).wait_for()
    assert [r[0] for r in field_rows(page, 4)] == ["乙方", "甲方", "工单类型", "编号"]
    assert_no_traceback(page)


def test_pdf_upload_and_run(page, tmp_path):
    lines = [
        "租赁合同",
        "出租方（甲方）：北京云杉科技有限公司",
        "承租方（乙方）：上海海川贸易有限公司",
        "Rent: CNY 12,000 per month.",
    ]
    pdf = make_pdf(tmp_path / "lease.pdf", lines)
    page.locator(".st-key-doc_upload input[type=file]").set_input_files(str(pdf))
    page.get_by_text(re.compile(r"Source: lease\.pdf · ")).wait_for()
    text = page.locator(".st-key-doc_text textarea").input_value()
    assert "北京云杉科技有限公司" in text and "Rent: CNY 12,000" in text
    add_fields(page, "甲方, 乙方, 租金")
    number = run(page)
    result = output_json(page, number)
    assert result["source"] == "lease.pdf"
    check_marks_against(marks(page, number), text, result)
    assert page.eval_on_selector(".seqgpt-doc", "e => e.textContent") == text
    shot = screenshot(page, tmp_path / "app-pdf.png")
    assert shot.exists()
    assert_no_traceback(page)


def test_bad_inputs_get_clear_messages(page, tmp_path):
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n\x00\x13garbage, no xref, truncated")
    page.locator(".st-key-doc_upload input[type=file]").set_input_files(str(corrupt))
    page.get_by_text(re.compile(r"corrupt\.pdf cannot be read as a PDF")).wait_for()
    assert_no_traceback(page)

    locked = tmp_path / "locked.pdf"
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(locked), encrypt="secret")
    c.drawString(72, 760, "Party A: Acme")
    c.save()
    page.locator(".st-key-doc_upload input[type=file]").set_input_files(str(locked))
    page.get_by_text(re.compile(r"locked\.pdf is password-protected")).wait_for()

    # Run with an empty document, then with no fields
    add_fields(page, "甲方")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("The document is empty").wait_for()
    fill_document(page, DOC)
    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_text("No fields yet").wait_for()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("No usable fields").wait_for()
    assert page.get_by_text(re.compile(r"^Run #")).count() == 0
    assert_no_traceback(page)


def test_records_summary_and_compare_two_documents(page, tmp_path):
    fill_document(page, DOC)
    add_fields(page, "甲方, 乙方, 合同金额")
    records = page.locator(".st-key-records_text textarea")
    records.fill("合同: 甲方, 乙方")
    records.press("Control+Enter")
    template = page.locator(".st-key-summary_text input")
    template.fill("{甲方}[ 与 {乙方}] 签订合同")
    template.press("Enter")
    page.get_by_text(re.compile("records: 合同: 甲方, 乙方 · summary: ")).wait_for()

    number = run(page)
    result = output_json(page, number)
    found = result.get("records", [])
    page.get_by_text(f"Records: 合同 ({len(found)} found; fields 甲方, 乙方)").wait_for()
    box = page.locator(".st-key-summary_box")
    if result.get("summary") is not None:
        assert box.inner_text().strip() == f"Summary: {result['summary']}"
        assert result["summary"].endswith("签订合同")
    else:
        assert "No summary" in box.inner_text()
    if found:
        rows = page.locator(".st-key-records_0 table tbody tr")
        rows.nth(len(found) - 1).wait_for(state="attached")  # the grid renders after the heading
        assert rows.count() == len(found)

    # compare the document with itself: a deterministic extractor finds the same values
    page.get_by_text("Compare with a second document").click()
    area = page.locator(".st-key-doc_b_text textarea")
    area.fill(DOC)
    area.press("Control+Enter")
    page.get_by_role("button", name="Compare A and B").click()
    table = page.locator(".st-key-compare_table")
    table.wait_for()
    page.get_by_text("A: pasted text · B: pasted text").wait_for()
    table.locator("table tbody tr").nth(2).wait_for(
        state="attached"
    )  # one row per field (a hidden a11y table)
    cells = table.locator("table tbody td").all_inner_texts()
    assert len(cells) >= 3 * 4, cells
    # the statuses `seqgpt compare` prints: the same document is never different
    for status in ("different", "only_a", "only_b"):
        assert status not in cells
    assert any(c in ("same", "missing") for c in cells)
    assert all(c not in ("DIFFERENT", "in neither") for c in cells)
    assert_no_traceback(page)
    assert screenshot(page, tmp_path / "app-compare.png").exists()


HOSTILE_DOC = (
    "甲方：北京云杉科技有限公司 <script>window.__xss = 'script'</script>\n"
    "乙方：<img src=x onerror=\"window.__xss = 'img'\">上海海川贸易有限公司\n"
    "备注：[点我](javascript:window.__xss='link') ![图](x.png) <b>加粗</b> `代码` **星号**\n"
)
HOSTILE_FIELD = "<img src=y onerror=window.__xss=1>"
MARKDOWN_FIELD = "__粗体__"  # Markdown for bold: must stay two underscores, the word, two more
TICK_FIELD = "条款`__粗体二__`"  # a backtick that would close a code span around it


def no_injected_markup(page) -> None:
    """Nothing the document or a field name holds ran or became an element."""
    assert page.evaluate("() => window.__xss === undefined")
    for selector in ('img[src="x"]', 'img[src="y"]', "img[src$='x.png']", "a[href^='javascript']"):
        assert page.locator(selector).count() == 0, selector
    assert (
        page.eval_on_selector_all("script", "els => els.filter(e => e.textContent.includes('__xss')).length")
        == 0
    )
    assert page.locator("b", has_text="加粗").count() == 0
    for tag in ("strong", "em", "b", "i", "code"):  # no element made of a name's markup alone
        assert page.locator(tag, has_text=re.compile(r"^\s*(粗体|粗体二|斜体)\s*$")).count() == 0, tag


def test_document_text_and_field_names_are_shown_as_text(page, tmp_path):
    fill_document(page, HOSTILE_DOC)
    add_fields(page, f"甲方, 乙方, 备注, {HOSTILE_FIELD}, {MARKDOWN_FIELD}")
    records = page.locator(".st-key-records_text textarea")
    records.fill(f"合同: 甲方, {HOSTILE_FIELD}, {TICK_FIELD}")
    records.press("Control+Enter")
    template = page.locator(".st-key-summary_text input")
    template.fill("{甲方} <i>斜体</i> {乙方}")
    template.press("Enter")
    page.get_by_text(re.compile("summary: ")).wait_for()
    number = run(page)
    result = output_json(page, number)
    assert list(result["fields"]) == ["甲方", "乙方", "备注", HOSTILE_FIELD, MARKDOWN_FIELD, TICK_FIELD]
    # the document view holds the document's characters, not its markup
    assert page.eval_on_selector(".seqgpt-doc", "e => e.textContent") == HOSTILE_DOC
    check_marks_against(marks(page, number), HOSTILE_DOC, result)
    # field names appear as typed where the page names fields
    page.get_by_text(re.compile("Labels sent to the model: .*" + re.escape(HOSTILE_FIELD))).wait_for()
    page.get_by_text(re.compile(re.escape(f"records: 合同: 甲方, {HOSTILE_FIELD}, {TICK_FIELD}"))).wait_for()
    page.get_by_text(re.compile(re.escape("{甲方} <i>斜体</i> {乙方}"))).first.wait_for()
    no_injected_markup(page)
    # every output format, the Markdown one rendered as Markdown included
    for fmt, cells in (("Table", "code"), ("Markdown", "table td")):
        page.get_by_text(fmt, exact=True).click()
        output = page.locator(f".st-key-output_{number} {cells}")
        output.filter(has_text=HOSTILE_FIELD).first.wait_for()
        output.filter(has_text=MARKDOWN_FIELD).first.wait_for()  # the underscores are still there
        no_injected_markup(page)
    assert_no_traceback(page)
    screenshot(page, tmp_path / "app-hostile.png")
