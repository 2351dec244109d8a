"""The Python API (`import seqgpt`): fields in any form, results equal to the CLI's JSON,
batch tables and JSONL, lazy imports, and the README's example run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from tests.answers import same

REPO = Path(__file__).resolve().parents[2]
DOC = "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。"
FIELDS = "甲方,乙方,合同金额"


@pytest.fixture(scope="module")
def ex(tiny_bloom_dir):
    import seqgpt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = seqgpt.Extractor.load(str(tiny_bloom_dir), device="cpu")
    assert any("untrained" in str(w.message) for w in caught)  # said plainly, as the CLI does
    return loaded


def test_import_seqgpt_loads_no_torch_and_names_the_api():
    code = (
        "import sys, seqgpt; "
        "heavy = [m for m in ('torch', 'transformers', 'pyarrow', 'ray') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "print(sorted(n for n in seqgpt.__all__ if callable(getattr(seqgpt, n))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = set(eval(proc.stdout))
    assert {"extract", "extract_batch", "classify", "load", "Extractor", "Schema", "as_schema"} <= names
    import seqgpt

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        seqgpt.nope  # noqa: B018


def test_fields_as_string_list_or_schema_give_the_same_result(ex):
    import seqgpt

    as_string = ex.extract(DOC, FIELDS).to_dict()
    assert ex.extract(DOC, ["甲方", "乙方", "合同金额"]).to_dict() == as_string
    assert ex.extract(DOC, seqgpt.Schema.parse(FIELDS)).to_dict() == as_string
    assert ex.extract(DOC, "甲方，乙方、合同金额").to_dict() == as_string
    assert list(as_string["fields"]) == ["甲方", "乙方", "合同金额"]
    for values in as_string["fields"].values():
        for v in values:
            assert DOC[v["start"] : v["end"]] == v["text"]


def test_the_engine_class_is_the_same_extractor(ex):
    from extractor.engine import Extractor as EngineExtractor

    assert isinstance(ex, EngineExtractor)
    engine = EngineExtractor(ex.model, ex.tokenizer, model_id=ex.model_id)
    from extractor.schema import Schema

    assert engine.extract(DOC, Schema.parse(FIELDS)).to_dict() == {
        k: v for k, v in ex.extract(DOC, FIELDS).to_dict().items() if k not in ("source", "model")
    }


def test_result_to_dict_is_the_cli_json(ex, tiny_bloom_dir):
    from seqgpt.cli import main

    res = CliRunner().invoke(
        main, ["extract", "-f", FIELDS, "--model", str(tiny_bloom_dir), "--format", "json", "-"], input=DOC
    )
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    api = ex.extract(DOC, FIELDS, source="<stdin>")
    assert api.to_dict() == cli
    assert json.loads(api.to_json()) == cli and list(api.to_dict()) == list(cli)  # same keys, same order


def test_bad_fields_raise_schema_error_with_an_example(ex):
    import seqgpt

    for bad, message in [(None, "comma list"), ("", "empty field list"), ([3], "a field must be a string")]:
        with pytest.raises(seqgpt.SchemaError, match=message):
            ex.extract(DOC, bad)
    with pytest.raises(TypeError, match="use extract"):
        ex.extract_batch(DOC, FIELDS)
    with pytest.raises(ValueError, match="2 texts but 1 sources"):
        ex.extract_batch([DOC, DOC], FIELDS, sources=["a"])


def test_batch_results_table_and_jsonl(ex, tmp_path):
    from connectors.parquet import OutputAdapter, output_schema

    texts = [DOC, "Acme Corp. hired John Smith on Sep 12, 2023.", "   "]
    batch = ex.extract_batch(texts, ["甲方", "合同金额", "签约日期"], sources=["c.txt", "e.txt", "blank.txt"])
    assert len(batch) == 3 and [r.source for r in batch] == ["c.txt", "e.txt", "blank.txt"]
    # a batch gives what each text gives alone
    for text, r in zip(texts, batch):
        alone = ex.extract(text, "甲方,合同金额,签约日期").to_dict()
        assert same(r.to_dict(), {**alone, "source": r.source})

    table = batch.to_arrow()
    assert isinstance(table, pa.Table) and table.num_rows == 3
    # the rows of `seqgpt run`, shaped by its OutputAdapter: output_schema, then what the
    # reader did (notes, and OCR's confidence and lines)
    assert table.schema == OutputAdapter(batch.schema).data_schema
    base = output_schema(batch.schema.extraction_fields, batch.schema.classification_fields).names
    assert table.schema.names[: len(base)] == base
    assert table.schema.names[len(base) :] == ["notes", "ocr_confidence", "ocr_lines"]
    assert table.column("doc_id").to_pylist() == ["c.txt", "e.txt", "blank.txt"]
    assert {"合同金额_amount", "合同金额_approximate", "签约日期_normalized", "签约日期_approximate"} <= set(
        table.column_names
    )
    for i, r in enumerate(batch):
        offsets = table.column("甲方_offsets")[i].as_py()
        # the value and its scored alternatives, in text order
        every = sorted([*r.values["甲方"], *r.alternatives.get("甲方", [])], key=lambda s: (s.start, s.end))
        assert [texts[i][o["start"] : o["end"]] for o in offsets] == [s.text for s in every]
    df = batch.to_pandas()
    assert list(df["doc_id"]) == ["c.txt", "e.txt", "blank.txt"] and df.shape[0] == 3
    assert set(df["model"]) == {ex.model_id}

    path = tmp_path / "out.jsonl"
    batch.to_jsonl(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == batch.to_dicts()
    assert "北京" in lines[0] or "\\u" not in lines[0]  # non-ASCII kept as text

    unnamed = ex.extract_batch(texts[:2], "甲方")
    assert unnamed.to_arrow().column("doc_id").to_pylist() == ["0", "1"]  # position when no source


def test_classify_picks_one_of_the_labels(ex):
    import seqgpt

    r = ex.classify("市民来电投诉楼下噪音", ["咨询", "投诉", "求助"], name="类别")
    (label,) = r.classes["类别"]
    assert label.label in ("咨询", "投诉", "求助") and 0 < label.confidence <= 1
    assert r.to_dict()["classes"]["类别"][0]["label"] == label.label
    assert ex.classify("市民来电投诉楼下噪音", "咨询/投诉/求助").classes["label"][0].label in (
        "咨询",
        "投诉",
        "求助",
    )
    with pytest.raises(seqgpt.SchemaError, match="at least two labels"):
        ex.classify("x", ["投诉"])
    with pytest.raises(seqgpt.SchemaError, match="labels must be"):
        ex.classify("x", 3)


def test_module_functions_share_one_model_per_process(monkeypatch, tiny_bloom_dir):
    import seqgpt
    from seqgpt import api

    monkeypatch.setattr(api, "_loaded", {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = seqgpt.extract(DOC, FIELDS, model=str(tiny_bloom_dir), device="cpu")
        again = seqgpt.extract_batch([DOC], FIELDS, model=str(tiny_bloom_dir), device="cpu")
        label = seqgpt.classify("投诉噪音", ["咨询", "投诉"], model=str(tiny_bloom_dir), device="cpu")
    assert len(api._loaded) == 1 and seqgpt.load(str(tiny_bloom_dir), device="cpu") is next(
        iter(api._loaded.values())
    )
    assert first.to_dict() == again[0].to_dict() and first.model == again.model
    assert label.classes["label"][0].label in ("咨询", "投诉")


def test_approximate_values_through_the_engine_into_json_and_table(tiny_tokenizer):
    """A scripted model says the fuzzy values: the real engine and schema keep them verbatim,
    normalize them where possible and flag them in JSON and in the table."""
    import seqgpt
    from tests.extractor.scripted import ScriptedLM

    text = "合同金额：大概五十万左右。签约日期：三月中旬。人数：五十多人。付款：¥2,380.00元。"
    # 人数 is an integer field: with typed values (the engine's default) its value is the
    # number without its unit, 五十多 of 五十多人 (extractor.recognize)
    answer = "合同金额: 大概五十万左右\n签约日期: 三月中旬\n人数: 五十多\n付款金额: ¥2,380.00元"
    # each field asked alone (how one-value fields' options are scored) answers its own line
    script = {f"抽取: {line.split(':')[0]}\n": line for line in answer.split("\n")}
    script["抽取: 合同金额，"] = answer
    ex = seqgpt.Extractor(ScriptedLM(tiny_tokenizer, script), tiny_tokenizer, model_id="scripted")
    batch = ex.extract_batch([text], "合同金额,签约日期,人数,付款金额")
    fields = batch[0].to_dict()["fields"]
    (amount,) = fields["合同金额"]
    assert amount["text"] == "大概五十万左右" and text[amount["start"] : amount["end"]] == amount["text"]
    assert amount["normalized"] == {"amount": "500000.00", "currency": None} and amount["approximate"] is True
    (date,) = fields["签约日期"]
    assert date["approximate"] is True and "normalized" not in date
    assert date["issues"] == ["approximate date, not normalized"]
    assert fields["人数"][0]["normalized"] == 50 and fields["人数"][0]["approximate"] is True
    (exact,) = fields["付款金额"]
    assert "approximate" not in exact and exact["normalized"] == {"amount": "2380.00", "currency": "CNY"}

    row = batch.to_arrow().to_pylist()[0]
    assert (row["合同金额"], str(row["合同金额_amount"]), row["合同金额_approximate"]) == (
        "大概五十万左右",
        "500000.0000",
        True,
    )
    assert (row["签约日期_normalized"], row["签约日期_approximate"]) == (None, True)
    assert (row["人数_normalized"], row["人数_approximate"]) == (50, True)
    assert row["付款金额_approximate"] is False


def _readme_block(heading: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, f"no python block under '## {heading}'"
    return blocks[0]


def test_the_readme_example_runs_as_written(tmp_path):
    code = _readme_block("Python API")
    assert "seqgpt.extract(" in code and "seqgpt.Extractor.load(" in code
    env = dict(os.environ, SEQGPT_DEFAULT_MODEL="tiny", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    printed = json.loads(proc.stdout[proc.stdout.index("{\n") : proc.stdout.index("\n}\n") + 2])
    assert list(printed["fields"]) == ["甲方", "乙方", "合同金额", "签约日期"]
    assert "doc_id" in proc.stdout and "a.txt" in proc.stdout and "b.txt" in proc.stdout
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["source"] for line in lines] == ["a.txt", "b.txt"]
    assert proc.stdout.strip().splitlines()[-1].split()[0] in ("咨询", "投诉", "求助")
