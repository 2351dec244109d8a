"""One reader and cleaner: `seqgpt extract`, the app and `seqgpt run` see the same text.

The same PDF (two pages, a repeated header, page footers, a party name wrapped over two
lines) and the same ticket go through the three entry points with the same tiny model; the
values and their offsets must be identical.  Before the reader was shared, the CLI and the
app extracted from the raw PDF text (header, footers and the wrap still in it), so their
offsets pointed elsewhere than the pipeline's.
"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from seqgpt.cli import main

from .conftest import REPO, read_rows, start_local_ray
from .corpus import ZH_PAGES, make_pdf

SCHEMA = REPO / "jobs" / "schemas" / "contracts.yaml"
# full-width digits, a CRLF and doubled spaces: cleaning changes this text too
TICKET = {
    "id": "T9",
    "text": "王秀英女士，手机１３９１０２３４５６７，地址：上海市浦东新区张杨路500号。\r\n诉求：人行道地砖松动，  希望尽快维修。",
}
TICKET_FIELDS = "来电人, 联系电话, 地址, 诉求"


def spans_of(fields: dict) -> dict[str, list[tuple[str, int, int, float]]]:
    """``{field: [(text, start, end, confidence)]}`` from the JSON of `seqgpt extract`."""
    return {f: [(v["text"], v["start"], v["end"], v["confidence"]) for v in vs] for f, vs in fields.items()}


def candidates_of(result: dict) -> dict[str, list[tuple[str, int, int, float]]]:
    """Values and scored alternatives of each field, in text order: what a Parquet row's
    ``<f>_all`` and ``<f>_offsets`` hold."""
    alternatives = spans_of(result.get("alternatives", {}))
    out = {}
    for f, vs in spans_of(result["fields"]).items():
        out[f] = sorted(vs + alternatives.get(f, []), key=lambda s: (s[1], s[2]))
    return out


def spans_of_row(row: dict, names: list[str]) -> dict[str, list[tuple[str, int, int, float | None]]]:
    """The same from a Parquet row: ``<f>_all`` and ``<f>_offsets`` (confidence of the chosen
    value only, so it is left out here and compared separately)."""
    out = {}
    for f in names:
        out[f] = [(v, o["start"], o["end"], None) for v, o in zip(row[f"{f}_all"], row[f"{f}_offsets"])]
    return out


def without_confidence(spans: dict) -> dict:
    return {f: [s[:3] for s in vs] for f, vs in spans.items()}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("one-reader")
    src = root / "in"
    src.mkdir()
    pdf = src / "contract.pdf"
    pdf.write_bytes(make_pdf(ZH_PAGES, header="设备采购合同 CG-2024-0315"))
    (src / "tickets.jsonl").write_text(json.dumps(TICKET, ensure_ascii=False) + "\n", encoding="utf-8")
    return root, pdf


@pytest.fixture(scope="module")
def pipeline_rows(inputs, tiny_model_dir):
    """`seqgpt run` over the folder (one document per extraction call), then the rows."""
    root, _ = inputs
    start_local_ray()
    runner = CliRunner()
    rows = {}
    for name, schema, kind in (
        ("contracts", ["--schema", str(SCHEMA)], "pdf"),
        ("tickets", ["-f", TICKET_FIELDS], "tickets"),
    ):
        out = root / f"out-{name}"
        res = runner.invoke(
            main,
            ["run", "--input", str(root / "in"), "--output", str(out), *schema, "--kind", kind,
             "--pattern", "*.pdf" if kind == "pdf" else "*.jsonl", "--model", tiny_model_dir,
             "--batch-size", "1", "--keep-text"],
            catch_exceptions=False,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        data, bad = read_rows(out)
        assert len(data) == 1 and not bad, (data, bad)
        rows[name] = data[0]
    return rows


def cli_extract(args: list[str], tiny_model_dir: str, input: str | None = None) -> dict:
    res = CliRunner().invoke(main, ["extract", *args, "--model", tiny_model_dir], input=input)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def app_extract(data: bytes, filename: str, schema, tiny_model_dir: str) -> tuple[str, dict]:
    """What the app does on an upload and Run: read_upload, then Extractor.extract."""
    from extractor.engine import Extractor
    from seqgpt import app_support as sup

    text, error = sup.read_upload(data, filename)
    assert error is None, error
    ex = Extractor.load(tiny_model_dir, device="cpu")
    return text, ex.extract(text, schema).to_dict()


@pytest.mark.slow
def test_the_same_pdf_gives_the_same_values_and_offsets_everywhere(inputs, pipeline_rows, tiny_model_dir):
    from connectors.pdf import read_pdf
    from extractor.schema import Schema

    _, pdf = inputs
    schema = Schema.from_file(SCHEMA)
    names = [f.name for f in schema.extraction_fields]
    row = pipeline_rows["contracts"]

    cli = cli_extract(["--schema", str(SCHEMA), str(pdf)], tiny_model_dir)
    app_text, app = app_extract(pdf.read_bytes(), pdf.name, schema, tiny_model_dir)

    # the three read the same clean text: header and footers gone, the wrapped name joined
    assert app_text == row["text"]
    assert "第 1 页" not in app_text and "乙方深圳市华南精密机械制造有限公司" in app_text
    assert read_pdf(pdf.read_bytes(), pdf.name).text != app_text  # cleaning did change it

    found = spans_of(cli["fields"])
    assert sum(len(v) for v in found.values()) > 0, "the tiny model found nothing to compare"
    assert found == spans_of(app["fields"])
    assert candidates_of(cli) == candidates_of(app)
    assert without_confidence(candidates_of(cli)) == without_confidence(spans_of_row(row, names))
    for f in names:
        for text, start, end, _ in found[f]:
            assert app_text[start:end] == text
        if row[f] is not None:  # the chosen value's confidence is one of the CLI's
            assert any(math.isclose(row[f"{f}_confidence"], c, abs_tol=1e-4) for *_, c in found[f])
    assert cli["classes"] == app["classes"]


@pytest.mark.slow
def test_the_same_ticket_gives_the_same_values_and_offsets_everywhere(pipeline_rows, tiny_model_dir):
    from extractor.schema import Schema

    schema = Schema.parse(TICKET_FIELDS)
    names = [f.name for f in schema.extraction_fields]
    row = pipeline_rows["tickets"]
    text = TICKET["text"]

    cli = cli_extract(["-f", TICKET_FIELDS, "-"], tiny_model_dir, input=text)
    app_text, app = app_extract(text.encode("utf-8"), "ticket.txt", schema, tiny_model_dir)

    assert app_text == row["text"] != text
    assert "13910234567" in app_text and "\r" not in app_text and "  " not in app_text
    found = spans_of(cli["fields"])
    assert sum(len(v) for v in found.values()) > 0, "the tiny model found nothing to compare"
    assert found == spans_of(app["fields"])
    assert candidates_of(cli) == candidates_of(app)
    assert without_confidence(candidates_of(cli)) == without_confidence(spans_of_row(row, names))


@pytest.mark.slow
def test_seqgpt_serve_reads_the_same_text_as_the_pipeline(inputs, pipeline_rows):
    """`seqgpt serve`'s request reader (no server needed): a PDF in `pdf_base64` and a ticket's
    text in `text` become the cleaned text the pipeline stored, so its offsets are the job's."""
    import base64

    from seqgpt.serve import parse_request

    _, pdf = inputs
    body = {"pdf_base64": base64.b64encode(pdf.read_bytes()).decode(), "fields": "甲方"}
    job = parse_request(json.dumps(body).encode(), "extract", {})
    assert job.text == pipeline_rows["contracts"]["text"]
    body = {"text": TICKET["text"], "fields": TICKET_FIELDS}
    job = parse_request(json.dumps(body, ensure_ascii=False).encode(), "extract", {})
    assert job.text == pipeline_rows["tickets"]["text"] != TICKET["text"]
