"""Review outside the app: the standalone HTML page of `seqgpt extract --format html` and
`seqgpt run --html-report`, opened in headless Chromium (Debian's, through Playwright), and
what a clean run leaves in its output folder (polars reads it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractor.schema import Field, Schema
from seqgpt.cli import main, render
from tests.seqgpt.test_app import CHROMIUM, CHROMIUM_ARGS

from ..extractor.scripted import by_label, scripted_extractor

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed")

HOSTILE = (
    "合同\n甲方：北京云杉科技有限公司 <script>window.__xss = 'script'</script>\n"
    "乙方：<b>上海海川贸易有限公司</b> <img src=x onerror=\"window.__xss = 'img'\">\n"
    "签约日期：上海静安置业有限公司\n身份证号：110105194912310021\n"
)
ANSWER = (
    "甲方: 北京云杉科技有限公司\n乙方: <b>上海海川贸易有限公司</b>\n签约日期: 上海静安置业有限公司\n"
    "身份证号: 110105194912310021\n联系电话: None"
)

# every mark: its field and offsets, its text, and the offset where its text really starts
# in the document element's text (walking the text nodes), for the offsets check
JS_MARKS = """root => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const starts = new Map(); let pos = 0; let node;
  while ((node = walker.nextNode())) {
    let el = node.parentElement;
    while (el && el !== root) { if (el.tagName === 'MARK' && !starts.has(el)) starts.set(el, pos); el = el.parentElement; }
    pos += node.data.length;
  }
  return [...root.querySelectorAll('mark')].map(m => ({field: m.dataset.field, start: +m.dataset.start,
    end: +m.dataset.end, status: m.dataset.status, text: m.textContent, at: starts.get(m), title: m.title}));
}"""


def _schema() -> Schema:
    return Schema(
        [
            Field.parse("甲方"),
            Field.parse("乙方"),
            Field.parse("签约日期"),
            Field.parse("身份证号(18位)", threshold=0.5),
            Field.parse("联系电话"),
        ]
    )


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, requests


def _check_document(page, section, text: str) -> list[dict]:
    """The section's document element holds exactly ``text``, every mark is the verbatim
    span at its offsets, and no script of the document ran."""
    doc = section.locator(".seqgpt-doc")
    assert doc.evaluate("e => e.textContent") == text
    found = doc.evaluate(JS_MARKS)
    for m in found:
        assert m["at"] == m["start"], m
        assert text[m["start"] : m["end"]] == m["text"], m
    assert page.evaluate("() => window.__xss") is None
    return found


@needs_chromium
@pytest.mark.slow
def test_the_extract_page_highlights_values_at_their_offsets_and_shows_markup_as_text(
    browser, tiny_tokenizer, tmp_path
):
    # typed=False: the grammar lets the scripted model write a company name as a date, as an
    # untyped model may; validation must then say so
    knows = by_label(ANSWER, 8.0)

    def script(prompt):  # asked alone, the model doubts the ID number: a low confidence, dropped
        return ("身份证号(18位): None", 8.0) if "抽取: 身份证号(18位)\n" in prompt else knows(prompt)

    ex, _ = scripted_extractor(tiny_tokenizer, script, max_new_tokens=1024, typed=False)
    schema = _schema()
    result = ex.extract(HOSTILE, schema)
    page_html = render(result, schema, "html", source="hostile.txt", model="scripted", text=HOSTILE)
    assert "<script>window" not in page_html and "<b>上海" not in page_html  # escaped, never markup
    path = tmp_path / "review.html"
    path.write_text(page_html, encoding="utf-8")
    page, requests = _open(browser, path)
    assert all(u.startswith("file:") for u in requests), requests  # standalone: nothing fetched
    found = _check_document(page, page.locator("section.seqgpt-document"), HOSTILE)
    by_field = {m["field"]: m for m in found}
    assert by_field["甲方"]["text"] == "北京云杉科技有限公司" and by_field["甲方"]["status"] == "ok"
    assert by_field["乙方"]["text"] == "<b>上海海川贸易有限公司</b>"  # a value holding markup: text
    assert by_field["签约日期"]["status"] == "issue" and "not a valid date" in by_field["签约日期"]["title"]
    assert by_field["身份证号"]["status"] == "dropped" and "threshold 0.5" in by_field["身份证号"]["title"]
    assert "confidence 1.000" in by_field["甲方"]["title"]  # the scripted model is sure of it
    # the document's markup is shown as text
    shown = page.locator(".seqgpt-doc").inner_text()
    assert "<script>window.__xss = 'script'</script>" in shown and "<img src=x" in shown
    # a legend per field, with what became of it
    legend = page.locator(".seqgpt-legend li").all_inner_texts()
    assert [item.split(" ")[0] for item in legend] == [
        "甲方",
        "乙方",
        "签约日期",
        "身份证号(18位)",
        "联系电话",
    ]
    assert any("联系电话" in item and "not found" in item for item in legend)
    assert any("身份证号" in item and "1 dropped" in item for item in legend)
    # the values table: confidences, statuses, issues; violations listed
    rows = page.locator("table.seqgpt-values tr").all_inner_texts()
    assert any("签约日期" in r and "issue: not a valid date" in r for r in rows)
    assert any("身份证号" in r and "dropped: below threshold 0.5" in r for r in rows)
    assert any(r.startswith("联系电话") and "not found" in r for r in rows)
    violations = page.locator(".seqgpt-violations li").all_inner_texts()
    assert "签约日期='上海静安置业有限公司': not a valid date" in violations
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    page.close()


@needs_chromium
@pytest.mark.slow
def test_seqgpt_extract_format_html_is_a_standalone_page(browser, tiny_bloom_dir, tmp_path):
    doc = tmp_path / "hostile.txt"
    doc.write_text(HOSTILE, encoding="utf-8")
    res = CliRunner().invoke(
        main,
        ["extract", "-f", "甲方,乙方,签约日期", "--model", str(tiny_bloom_dir), "--format", "html", str(doc)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("<!DOCTYPE html>") and "<script" not in res.stdout.lower().replace(
        "&lt;script", ""
    )
    path = tmp_path / "page.html"
    path.write_text(res.stdout, encoding="utf-8")
    page, requests = _open(browser, path)
    assert all(u.startswith("file:") for u in requests), requests
    # the reader cleans the file as `seqgpt run` does: offsets point into the cleaned text
    from connectors.documents import read_document

    cleaned = read_document(HOSTILE.encode(), "hostile.txt").text
    _check_document(page, page.locator("section.seqgpt-document"), cleaned)
    assert page.locator("h2").inner_text().endswith("hostile.txt")
    page.close()


# --------------------------------------------------------------------------- a run
@pytest.mark.slow
def test_a_clean_run_leaves_data_parts_only_polars_reads_it_and_the_review_page_opens(
    tiny_model_dir, tmp_path, browser
):
    import polars as pl
    import pyarrow.dataset as ds

    from pipelines.config import ModelConfig, RunConfig
    from pipelines.run import run_pipeline

    from .conftest import start_local_ray

    start_local_ray()
    src = tmp_path / "in"
    src.mkdir()
    texts = {
        "a.txt": "甲方：北京云杉科技有限公司 <script>window.__xss = 1</script>\n乙方：上海海川贸易有限公司",
        "b.txt": "甲方：天津云杉有限公司\n乙方：<b>深圳</b>海川有限公司\n签约日期：2023年9月12日",
    }
    for name, text in texts.items():
        (src / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    report = tmp_path / "review" / "run.html"
    lines: list[str] = []
    config = RunConfig(
        str(src), str(out), "甲方, 乙方, 签约日期", model=ModelConfig(tiny_model_dir), html_report=str(report)
    )
    summary = run_pipeline(config, echo=lines.append)
    assert summary.completed and summary.rows == 2
    # the folder holds the data parts and nothing else: no _manifest.json, no _tmp/, no _quarantine/
    assert [p.name for p in out.iterdir()] == [p.name for p in out.glob("part-*.parquet")]
    assert pl.read_parquet(out).height == 2 == ds.dataset(out).count_rows()
    text = summary.format()
    assert "_quarantine" not in text and "quarantined    0" in text
    assert f"review page    {report}  (2 documents)" in text
    # the review page: one section per document, values at their offsets, markup as text
    page, requests = _open(browser, report)
    assert all(u.startswith("file:") for u in requests), requests
    sections = page.locator("section.seqgpt-document")
    assert sections.count() == 2
    from connectors.documents import read_document

    for i, name in enumerate(sorted(texts)):
        section = sections.nth(i)
        assert section.locator("h2").inner_text().endswith(name)
        cleaned = read_document(texts[name].encode(), name).text
        _check_document(page, section, cleaned)
    assert "<script>window.__xss = 1</script>" in sections.nth(0).locator(".seqgpt-doc").inner_text()
    page.close()
    # polars: a bare folder path works while only data parts are there; `*.parquet` always
    (out / "_quarantine").mkdir()
    import shutil

    shutil.copy(next(out.glob("part-*.parquet")), out / "_quarantine" / "part-x.parquet")
    assert pl.read_parquet(f"{out}/*.parquet").height == 2
