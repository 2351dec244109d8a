"""`seqgpt run` over real scans (in-process Ray, tiny model, the real OCR model): an image-only
PDF and an e-mail with a scanned PNG attached go through the OCR stage's actor pool; their
rows carry the OCR text's offsets, each line's page and box, and the OCR confidence."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from connectors.clean import clean_text
from connectors.ocr import cer

from ..connectors.scans import HEADER_TEXT, header_scan
from .conftest import REPO, SCHEMA, read_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model_dir):
    from connectors.documents import ReadOptions
    from pipelines.config import ModelConfig, RunConfig
    from pipelines.run import run_pipeline
    from tests.conftest import start_local_ray

    png, pdf, layer = header_scan()
    root = tmp_path_factory.mktemp("scans")
    (root / "in").mkdir()
    (root / "in" / "scan.pdf").write_bytes(pdf)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "the signed copy"
    msg.set_content("Attached: the first page, scanned.\n")
    msg.add_attachment(png, maintype="image", subtype="png", filename="page1.png")
    (root / "in" / "fwd.eml").write_bytes(bytes(msg))
    start_local_ray()
    config = RunConfig(
        str(root / "in"),
        str(root / "out"),
        str(REPO / SCHEMA),
        model=ModelConfig(tiny_model_dir),
        read=ReadOptions(),
        keep_text=True,
        batch_size=2,
    )
    summary = run_pipeline(config, echo=lambda line: None)
    data, bad = read_rows(root / "out")
    return summary, {r["doc_id"]: r for r in data}, bad, layer


def test_scans_go_through_the_ocr_stage_into_rows_with_ocr_confidence_and_lines(run):
    summary, rows, bad, layer = run
    assert bad == [] and summary.completed and summary.quarantined == {}
    assert set(rows) == {"scan.pdf", "fwd.eml", "fwd.eml/attachment-1/page1.png"}
    assert summary.stage_seconds["ocr"] > 0
    message = rows["fwd.eml"]
    assert message["ocr_confidence"] is None and message["ocr_lines"] == []
    for doc_id, dpi in (("scan.pdf", 200), ("fwd.eml/attachment-1/page1.png", None)):
        row = rows[doc_id]
        text, conf, lines = row["text"], row["ocr_confidence"], row["ocr_lines"]
        assert cer(layer, text) <= 0.02, (doc_id, text)
        for words in HEADER_TEXT:
            assert words in text, (doc_id, words)
        assert conf["pages"] == [0] and conf["dpi"] == dpi and conf["lines"] == len(lines) >= 4
        assert 0.5 <= conf["min"] <= conf["mean"] <= 1
        assert any(n.startswith("ocr: page 1") for n in row["notes"]), row["notes"]
        for ln in lines:  # each line's page, box (pixels of the 1654 x 520 scan) and its place in the text
            assert ln["page"] == 0 and 0 <= ln["x0"] < ln["x1"] <= 1654 and 0 <= ln["y0"] < ln["y1"] <= 520
            assert text[ln["start"] : ln["end"]] == clean_text(ln["text"], layout=False)[0]


def test_values_from_scans_are_verbatim_spans_of_the_ocr_text_on_located_lines(run):
    _, rows, _, _ = run
    from extractor.schema import Schema

    schema = Schema.from_file(str(REPO / SCHEMA))
    found = 0
    for doc_id in ("scan.pdf", "fwd.eml/attachment-1/page1.png"):
        row = rows[doc_id]
        located = [(ln["start"], ln["end"]) for ln in row["ocr_lines"]]
        for f in schema.extraction_fields:
            for value, at in zip(row[f"{f.name}_all"], row[f"{f.name}_offsets"]):
                found += 1
                start, end = at["start"], at["end"]
                assert row["text"][start:end] == value
                # ... read from lines whose page and box the row keeps
                assert any(s < end and start < e for s, e in located), (value, start, end)
    assert found  # the tiny model's values are arbitrary spans, but spans of the OCR text
