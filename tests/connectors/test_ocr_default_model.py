"""With the bundled default model (seqgpt-mini, int8 on CPU), the scanned copy of a sample
contract gives the values of the original: one contract, four fields."""

from __future__ import annotations

import pytest

from connectors.documents import read_document
from connectors.ocr import OcrLine, flag_values, lines_for
from extractor.mini import base_available, bundled_adapter_available

from .scans import read_scan, sample, skip_without_cjk_font

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not bundled_adapter_available(), reason="no seqgpt-mini adapter bundled"),
    pytest.mark.skipif(not base_available(), reason="seqgpt-mini's base is not installed"),
]


def test_scanned_contract_gives_the_values_of_the_original():
    from extractor.engine import Extractor
    from extractor.schema import Schema
    from extractor.types import best_span

    skip_without_cjk_font()
    name = "zh_purchase_contract"
    original = read_document(sample(name), f"{name}.pdf")
    scan = read_scan(name)
    assert "ocr" not in original.meta and scan.meta["ocr"]["pages"] == [0]
    ex = Extractor.load("seqgpt-mini", device="cpu")
    assert not ex.untrained
    # threshold 0: the comparison is of what the model reads in each copy, not of whether a
    # value clears the calibrated threshold
    schema = Schema.from_dict(
        {"fields": [{"name": n, "threshold": 0.0} for n in ("甲方", "乙方", "合同金额", "签约日期")]}
    )
    a, b = ex.extract_batch([original.text, scan.text], schema)
    flag_values(b, scan.meta)
    lines = [OcrLine.from_dict(d) for d in scan.meta["ocr_lines"]]
    for field in ("甲方", "乙方", "合同金额", "签约日期"):
        va, vb = best_span(a.values[field]), best_span(b.values[field])
        assert va is not None and vb is not None, field
        assert vb.normalized == va.normalized, (field, va.text, vb.text)
        if field == "合同金额":  # the scan also yields the amount in figures (¥1,200,000.00): the same amount
            assert va.text in [s.text for s in b.values[field]]
        else:
            assert vb.text == va.text, field
        for s in b.values[field]:
            assert scan.text[s.start : s.end] == s.text  # a verbatim span of the OCR text
            assert lines_for(lines, s.start, s.end), s  # ... read from lines with a page and a box
    assert b.ocr_confidence["min"] > 0.9 and a.ocr_confidence is None
