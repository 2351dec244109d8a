"""Doc / Quarantine dict round trips, import hygiene, the sample generator."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from connectors.records import Doc, Quarantine, record_from_dict

ROOT = Path(__file__).resolve().parents[2]


def test_doc_round_trip_both_meta_forms():
    doc = Doc("t-1", "s3://b/t.jsonl", "市民反映\f第二页", pages=2, meta={"category": "噪音", "_line": 3})
    assert Doc.from_dict(doc.to_dict()) == doc
    row = doc.to_dict(meta_json=True)
    assert isinstance(row["meta"], str) and json.loads(row["meta"]) == doc.meta
    assert Doc.from_dict(row) == doc
    assert record_from_dict(row) == doc
    assert Doc.from_dict({"doc_id": 7, "text": "x"}) == Doc("7", "", "x", 1, {})


def test_quarantine_round_trip():
    q = Quarantine("a.pdf", "in/a.pdf", "parse", "encrypted", "password-protected PDF")
    assert Quarantine.from_dict(q.to_dict()) == q
    assert record_from_dict(q.to_dict()) == q
    assert set(q.to_dict()) == {"id", "source", "stage", "reason", "detail"}


def test_connectors_import_no_torch_and_stay_lazy():
    code = (
        "import sys, connectors\n"
        "assert 'pyarrow' not in sys.modules, 'import connectors must stay cheap'\n"
        "from connectors import Folder, read_pdf, read_tickets, ParquetWriter, read_table\n"
        "import connectors.fs, connectors.pdf, connectors.tickets, connectors.parquet, connectors.records\n"
        "read_pdf(b'', 'x.pdf')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'pipelines')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_sample_generator_is_deterministic(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_samples", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    module.main(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(generated) == 7
    for rel in generated:  # the committed samples are what the script makes
        assert (tmp_path / rel).read_bytes() == (ROOT / "samples" / rel).read_bytes(), rel
