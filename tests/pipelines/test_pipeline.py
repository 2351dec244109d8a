"""The Ray Data pipeline end to end (in-process Ray, tiny model), reruns and faults."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.records import ConnectorError
from pipelines.config import ModelConfig, RunConfig
from pipelines.run import PipelineError, Summary, recover_output, run_pipeline
from pipelines.stages import kind_of, part_key, record_key

from .conftest import REPO, SCHEMA, comparable, corpus_config, keys_of, read_rows
from .faults import exit_actor_once, stop_after_parts

QUIET = {"echo": lambda line: None}


def qparts(out: Path) -> set[str]:
    return {p.name for p in (out / "_quarantine").glob("part-*.parquet")}


def last(doc_id: str) -> str:
    return doc_id.rsplit("/", 1)[-1]


# ------------------------------------------------------------------ without Ray
def test_record_key_separates_documents_from_reader_verdicts():
    doc = record_key("s3://b/t.jsonl", "T1")
    assert record_key("s3://b/t.jsonl", "T1", "extract", "extract_error", "boom") == doc
    dup = record_key(
        "s3://b/t.jsonl", "T1", "parse", "duplicate_id", "line 7: id 'T1' already used at line 1"
    )
    assert dup != doc
    assert dup != record_key("s3://b/t.jsonl", "T1", "parse", "duplicate_id", "line 9: id 'T1' already used")
    assert record_key("a", "b\x00c") != record_key("a\x00b", "c")


def test_part_key_is_order_free_and_content_addressed():
    assert part_key(["b", "a"]) == part_key(["a", "b"])
    assert part_key(["a"]) != part_key(["a", "b"])
    assert len(part_key(["x"])) == 24


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("a/b.PDF", "pdf"),
        ("t.jsonl", "tickets"),
        ("t.jsonl.gz", "tickets"),
        ("t.parquet", "tickets"),
        ("n.txt", "text"),
        ("x.docx", "docx"),
        ("scan.TIFF", "image"),
        ("photo.jpg", "image"),
        ("fwd.eml", "email"),
        ("page.htm", "html"),
        ("x.msg", None),
        ("x.doc", None),
    ],
)
def test_kind_by_extension(path, kind):
    assert kind_of(path) == kind
    assert kind_of(path, "pdf") == "pdf"


def _part(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def test_recovery_deletes_orphans_and_temp_files_and_reads_the_done_set(tmp_path):
    from connectors.parquet import ParquetSink, quarantine_schema
    from extractor.schema import Schema

    out = tmp_path / "out"
    data_schema = pa.schema([("doc_id", pa.string()), ("source", pa.string())])
    _part(out / "part-aaa.parquet", [{"doc_id": "a.pdf", "source": "/in/a.pdf"}], data_schema)
    q = {"doc_id": "b.pdf", "source": "/in/b.pdf", "stage": "parse", "reason": "corrupt", "detail": "x"}
    _part(out / "_quarantine" / "part-aaa.parquet", [q], quarantine_schema())
    orphan = {**q, "doc_id": "c.pdf", "source": "/in/c.pdf"}
    _part(out / "_quarantine" / "part-bbb.parquet", [orphan], quarantine_schema())  # no data part
    (out / "_tmp").mkdir()
    (out / "_tmp" / "part-ccc.123.parquet").write_bytes(b"half a file")
    vehicles = out / "_records" / "车辆"
    _part(vehicles / "part-aaa.parquet", [{"doc_id": "a.pdf", "source": "/in/a.pdf"}], data_schema)
    _part(vehicles / "part-bbb.parquet", [{"doc_id": "c.pdf", "source": "/in/c.pdf"}], data_schema)  # orphan
    (vehicles / "_tmp").mkdir()
    (vehicles / "_tmp" / "part-ddd.1.parquet").write_bytes(b"half")

    schema = Schema.parse("甲方", records=["车辆: 车牌号, 驾驶人", "人员: 姓名, 职务"])
    done, stats = recover_output(ParquetSink(str(out), schema))
    assert stats == {"temp files": 2, "orphan quarantine parts": 1, "orphan record parts": 1}
    assert [p.name for p in vehicles.rglob("*.parquet")] == ["part-aaa.parquet"]
    assert not (out / "_quarantine" / "part-bbb.parquet").exists()
    assert not (out / "_tmp" / "part-ccc.123.parquet").exists()
    assert done == {
        "/in/a.pdf": {record_key("/in/a.pdf", "a.pdf")},
        "/in/b.pdf": {record_key("/in/b.pdf", "b.pdf", "parse", "corrupt", "x")},
    }
    assert recover_output(ParquetSink(str(tmp_path / "missing"), schema)) == (
        {},
        {"temp files": 0, "orphan quarantine parts": 0, "orphan record parts": 0},
    )


def _vehicles():
    """A schema with a record type and a summary, a text and its DocumentResult (validated)."""
    from extractor.schema import Schema
    from extractor.types import DocumentResult, Span

    text = "车辆一：京A12345，驾驶人张三，损失约¥2,000元。车辆二：京B67890，驾驶人李四，损失约¥500元。"

    def sp(field, value):
        i = text.index(value)
        return Span(field, value, i, i + len(value), 0.8)

    schema = Schema.parse(
        "事故时间",
        records=["车辆: 车牌号, 驾驶人, 损失金额"],
        summary="{驾驶人} 驾驶 {车牌号}[ 于 {事故时间}]",
    )
    result = DocumentResult(
        values={
            "事故时间": [],
            "车牌号": [sp("车牌号", "京A12345"), sp("车牌号", "京B67890")],
            "驾驶人": [sp("驾驶人", "张三"), sp("驾驶人", "李四")],
            "损失金额": [sp("损失金额", "¥2,000元"), sp("损失金额", "¥500元")],
        }
    )
    schema.validate(result, text)
    return schema, text, result


def _work(text: str, **changes) -> dict:
    row = {"key": "k1", "source": "/in/a.txt", "id": "a.txt", "pages": 1, "notes": None, "text": text,
           "t_read": 0.0, "t_clean": 0.0, "stage": "", "reason": "", "detail": ""}  # fmt: skip
    return {**row, **changes}


def test_write_stage_commits_record_parts_before_the_data_part(tmp_path):
    """Records and summaries go from a DocumentResult to _records/<type>/part-<k>.parquet and
    the summary column, through the same functions the actors and writers run."""
    from connectors.fs import Folder
    from connectors.parquet import read_table
    from pipelines.stages import RESULT_SCHEMA, WriteStage, result_row

    schema, text, result = _vehicles()
    good = result_row(_work(text), result)
    bad = result_row(_work(text, key="k2", id="b.txt", stage="parse", reason="corrupt", detail="x"))
    out = Folder.from_uri(str(tmp_path / "out"))
    config = RunConfig("unused", out.uri(), schema, model=ModelConfig("m"), run_id="run1")
    write = WriteStage(config.sink(), config)
    stats = write(pa.Table.from_pylist([good, bad], schema=RESULT_SCHEMA)).to_pylist()[0]
    assert (stats["docs"], stats["rows"], stats["records"]) == (2, 1, 2)
    part = f"part-{stats['part']}.parquet"
    assert (tmp_path / "out" / "_records" / "车辆" / part).exists() and (tmp_path / "out" / part).exists()
    recs = read_table(out.child("_records/车辆")).to_pylist()
    assert [
        (r["doc_id"], r["record"], r["车牌号"], r["驾驶人"], str(r["损失金额_amount"])) for r in recs
    ] == [
        ("a.txt", 0, "京A12345", "张三", "2000.0000"),
        ("a.txt", 1, "京B67890", "李四", "500.0000"),
    ]
    assert all(text[r["驾驶人_start"] : r["驾驶人_end"]] == r["驾驶人"] for r in recs)
    (row,) = read_table(out).to_pylist()
    assert row["summary"] == "张三 驾驶 京A12345"  # the chosen values: equal confidence, earliest first
    assert (row["model"], row["run_id"]) == ("m", "run1")
    (q,) = read_table(out.child("_quarantine")).to_pylist()
    assert (q["doc_id"], q["stage"], q["reason"], q["detail"], q["run_id"]) == (
        "b.txt",
        "parse",
        "corrupt",
        "x",
        "run1",
    )


def test_write_stage_quarantines_a_document_whose_rows_do_not_fit_and_keeps_the_others(tmp_path):
    """One document with a value that cannot become its column (a span whose offsets are
    not numbers, an amount that is not text): that document alone is quarantined."""
    import copy

    from connectors.fs import Folder
    from connectors.parquet import read_table
    from pipelines.stages import RESULT_SCHEMA, WriteStage, result_row

    schema, text, result = _vehicles()
    unshapeable = copy.deepcopy(result)
    unshapeable.values["驾驶人"][0].start = "here"  # int("here") fails while the row is shaped
    misfit = copy.deepcopy(result)
    misfit.summary = {"not": "text"}  # shaped, but does not fit the string summary column
    rows = [
        result_row(_work(text), result),
        result_row(_work(text, key="k2", id="b.txt"), unshapeable),
        result_row(_work(text, key="k3", id="c.txt"), misfit),
    ]
    out = Folder.from_uri(str(tmp_path / "out"))
    config = RunConfig("unused", out.uri(), schema, model=ModelConfig("m"))
    stats = WriteStage(config.sink(), config)(pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)).to_pylist()[0]
    assert (stats["docs"], stats["rows"], stats["records"]) == (3, 1, 2)
    assert json.loads(stats["quarantined"]) == {"row_error": 2}
    assert [r["doc_id"] for r in read_table(out).to_pylist()] == ["a.txt"]
    assert {r["doc_id"] for r in read_table(out.child("_records/车辆")).to_pylist()} == {"a.txt"}
    bad = sorted(read_table(out.child("_quarantine")).to_pylist(), key=lambda r: r["doc_id"])
    assert [(r["doc_id"], r["stage"], r["reason"]) for r in bad] == [
        ("b.txt", "write", "row_error"),
        ("c.txt", "write", "row_error"),
    ]
    assert "Error: " in bad[0]["detail"] and "do not fit the output table" in bad[1]["detail"]


def test_rerun_into_a_legacy_folder_with_another_schema_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("甲方：北京云杉科技有限公司")
    out = tmp_path / "out"
    out.mkdir()
    (out / "_manifest.json").write_text(  # what folders written before the footers hold
        json.dumps({"schema": {"fields": [{"name": "x", "type": "text"}]}, "model": "m", "keep_text": False})
    )
    with pytest.raises(PipelineError, match="different schema") as err:
        run_pipeline(RunConfig(str(tmp_path / "in"), str(out), "甲方,乙方", model=ModelConfig("m")), **QUIET)
    assert "fields only in the folder: x" in str(err.value) and "fields only in this run: 甲方, 乙方" in str(
        err.value
    )


def test_manifest_differences_name_what_differs_in_words():
    from connectors.sink import manifest_differences

    old = RunConfig("in", "out", "jobs/schemas/contracts.yaml", model=ModelConfig("m")).manifest()
    schema = old["schema"]
    assert manifest_differences(old, old) == []
    # descriptions and the schema's name are documentation: they may change
    doc_only = json.loads(json.dumps(old))
    doc_only["schema"]["fields"][0]["description"] = "another word"
    doc_only["schema"]["name"] = "renamed"
    assert manifest_differences(old, doc_only) == []
    changed = json.loads(json.dumps(old))
    changed["schema"]["fields"][2]["threshold"] = 0.5  # 合同金额
    changed["schema"]["fields"][3]["type"] = "text"  # 签约日期
    del changed["schema"]["fields"][-1]  # 适用法律
    changed["schema"]["fields"].append({"name": "违约金", "type": "money"})
    changed["schema"]["rules"] = ["甲方 != 乙方"]
    changed["model"] = "/models/other"
    changed["keep_text"] = True
    assert manifest_differences(old, changed) == [
        "fields only in the folder: 适用法律",
        "fields only in this run: 违约金",
        "field 合同金额: threshold (not set) -> 0.5",
        'field 签约日期: type "date" -> "text"',
        'rules: ["甲方 != 乙方", "结束日期 >= 开始日期"] in the folder, ["甲方 != 乙方"] in this run',
        'model: "m" in the folder, "/models/other" in this run',
        "keep_text: false in the folder, true in this run",
    ]
    reordered = json.loads(json.dumps(old))
    reordered["schema"]["fields"][0], reordered["schema"]["fields"][1] = (
        schema["fields"][1],
        schema["fields"][0],
    )
    assert manifest_differences(old, reordered)[0].startswith("field order: 甲方, 乙方, ")


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(PipelineError, match="not found"):
        run_pipeline(RunConfig(str(tmp_path / "nope"), str(tmp_path / "out"), "甲方"), **QUIET)


def test_summary_format_mentions_everything():
    s = Summary(
        run_id="r1",
        model="m",
        untrained=True,
        input_uri="in",
        output_uri="out",
        files=3,
        documents=10,
        rows=8,
        pages=20,
        quarantined={"corrupt": 2},
        seconds=4.0,
        stage_seconds={"read": 1.0, "extract": 2.0},
        completed=True,
    )
    text = s.format()
    for part in (
        "documents      10",
        "rows           8",
        "corrupt: 2",
        "2.50 docs/s",
        "5.00 pages/s",
        "UNTRAINED",
    ):
        assert part in text
    assert s.quarantine_uri == "out/_quarantine"
    assert "_quarantine" not in text  # never created: not named
    s.quarantine_exists = True
    assert "quarantined    2  (corrupt: 2)  in out/_quarantine" in s.format()


# -------------------------------------------------------------------- with Ray
@pytest.mark.slow
def test_end_to_end_rows_quarantine_and_summary(reference, corpus, tiny_model_dir):
    out, summary = reference
    data, bad = read_rows(out)
    assert summary.completed
    # one row per good document, nothing twice
    assert sorted(last(r["doc_id"]) for r in data) == sorted(last(d) for d in corpus.rows)
    assert len(set(keys_of(data))) == len(data)
    # every bad input is a quarantine row with its reason; the good rows still arrived
    assert {last(r["doc_id"]): r["reason"] for r in bad} == corpus.quarantine
    assert all(r["stage"] for r in bad) and all(r["detail"] for r in bad)
    assert summary.documents == len(data) + len(bad)
    assert summary.rows == len(data)
    assert summary.quarantined == dict(Counter(corpus.quarantine.values()))
    assert (
        summary.pages == sum(r["pages"] for r in data) == 2 + 1 + 1 + 4 + 2
    )  # + mail.eml and its attachment
    assert summary.files == len(list(p for p in corpus.root.rglob("*") if p.is_file()))
    assert summary.untrained and summary.stage_seconds["extract"] > 0
    # model and run id in every row
    assert {r["model"] for r in data} == {tiny_model_dir}
    assert {r["run_id"] for r in data + bad} == {summary.run_id}
    # the layout: parts named by content, quarantine parts paired with data parts
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    qparts = sorted(p.name for p in (out / "_quarantine").glob("part-*.parquet"))
    assert len(parts) == summary.parts and set(qparts) <= set(parts)
    # the run's manifest is in every data part's footer; nothing else lies beside the parts
    from connectors.parquet import read_metadata

    for name in parts:
        assert read_metadata(str(out), name)["model"] == tiny_model_dir
    assert {p.name for p in out.iterdir()} == {*parts, "_quarantine"}
    assert not list(out.rglob("_tmp")), "the writers' _tmp/ folders are removed when the run ends"
    assert summary.quarantine_exists and f"in {out}/_quarantine" in summary.format()


@pytest.mark.slow
def test_offsets_point_into_the_cleaned_text(reference):
    out, _ = reference
    data, _ = read_rows(out)
    from extractor.schema import Schema

    schema = Schema.from_file(REPO / SCHEMA)
    checked = 0
    for r in data:
        text = r["text"]
        assert text and "\f" not in text
        for f in schema.extraction_fields:
            values, offsets = r[f"{f.name}_all"], r[f"{f.name}_offsets"]
            assert len(values) == len(offsets)
            for v, o in zip(values, offsets):
                assert text[o["start"] : o["end"]] == v
                checked += 1
            if r[f.name] is not None:
                assert r[f.name] in values
    assert checked > 0
    zh = next(r for r in data if r["doc_id"] == "zh_purchase.pdf")
    # cleaning happened: header/footer gone, the wrapped party name rejoined
    assert "第 1 页" not in zh["text"] and "CG-2024-0315\n" not in zh["text"][:10]
    assert "乙方深圳市华南精密机械制造有限公司" in zh["text"]
    assert any(n.startswith("headers_footers_removed") for n in zh["notes"])


@pytest.mark.slow
def test_validation_reaches_the_written_rows(reference):
    """Every problem the engine's validation found is in the row, and every violation of the
    row is explained: a value's issue is in its field's ``<f>_issues`` (naming one of the
    field's values) and, for type and hint problems, in the row's violations; a missing
    required field is one whose column is empty; dropped values have their column (empty: the
    schema sets no threshold and the tiny model has no calibration)."""
    out, _ = reference
    data, _ = read_rows(out)
    from extractor.schema import Schema

    schema = Schema.from_file(REPO / SCHEMA)
    checked = 0
    for r in data:
        explained = set()
        for f in schema.extraction_fields:
            assert r[f"{f.name}_dropped"] == []
            if f.required and r[f.name] is None:
                explained.add(f"required field {f.name} not found")
            for entry in r[f"{f.name}_issues"]:
                value = next((v for v in r[f"{f.name}_all"] if entry.startswith(f"{v}: ")), None)
                assert value is not None, entry
                issue = entry[len(value) + 2 :]
                explained.add(issue if issue.startswith("rule ") else f"{f.name}={value!r}: {issue}")
        assert set(r["violations"]) == explained, (r["doc_id"], r["violations"], explained)
        checked += len(explained)
    assert checked > 0, "the tiny model leaves a required party empty or breaks a rule somewhere"


@pytest.mark.slow
def test_rerun_with_another_schema_says_which_fields_differ(reference, corpus, tiny_model_dir, tmp_path):
    out, _ = reference
    other = tmp_path / "other.yaml"
    text = (REPO / SCHEMA).read_text(encoding="utf-8")
    other.write_text(text.replace("  - name: 适用法律\n", "  - name: 管辖法院\n"), encoding="utf-8")
    from dataclasses import replace

    from extractor.schema import Schema

    with pytest.raises(PipelineError) as err:
        run_pipeline(
            replace(corpus_config(corpus, out, tiny_model_dir), schema=Schema.from_file(other)), **QUIET
        )
    message = str(err.value)
    assert message.startswith(
        f"{out} was written with a different schema; its rows would not match this run's:"
    )
    assert "  - fields only in the folder: 适用法律\n  - fields only in this run: 管辖法院" in message
    assert message.endswith("Use a new --output folder (or delete the old one).")
    with pytest.raises(PipelineError, match="different model") as err:
        run_pipeline(corpus_config(corpus, out, tiny_model_dir, model=ModelConfig("/models/x")), **QUIET)
    assert f'model: "{tiny_model_dir}" in the folder, "/models/x" in this run' in str(err.value)


@pytest.mark.slow
def test_rerun_skips_everything_already_done(reference, corpus, tiny_model_dir, local_ray):
    out, first = reference
    before = read_rows(out)
    again = run_pipeline(corpus_config(corpus, out, tiny_model_dir), **QUIET)
    assert again.completed and again.documents == 0 and again.parts == 0
    assert again.skipped == first.documents
    after = read_rows(out)
    assert comparable(after[0]) == comparable(before[0]) and comparable(after[1]) == comparable(before[1])
    assert len(set(keys_of(after[0]))) == len(after[0])


@pytest.mark.slow
def test_interrupted_run_then_rerun_gives_exactly_the_uninterrupted_rows(
    reference, corpus, tiny_model_dir, local_ray, tmp_path
):
    out = tmp_path / "out"
    config = corpus_config(corpus, out, tiny_model_dir)
    with pytest.raises(PipelineError, match="stopped early") as err:
        run_pipeline(config, stages=stop_after_parts(2), **QUIET)
    partial = err.value.summary
    assert partial is not None and not partial.completed
    committed = {p.name for p in out.glob("part-*.parquet")}
    ref_data, ref_bad = read_rows(reference[0])
    total = len(ref_data) + len(ref_bad)
    half, _ = read_rows(out)
    assert 2 <= len(committed) and len(half) < len(ref_data)
    # a batch that died between its two files left a quarantine part without a data part
    orphans = qparts(out) - committed
    committed_bad = sum(pq.read_metadata(out / "_quarantine" / n).num_rows for n in committed & qparts(out))

    resumed = run_pipeline(corpus_config(corpus, out, tiny_model_dir), **QUIET)
    assert resumed.completed
    data, bad = read_rows(out)
    assert comparable(data) == comparable(ref_data)
    assert comparable(bad) == comparable(ref_bad)
    assert len(set(keys_of(data))) == len(data) and len(set(keys_of(bad))) == len(bad)
    # the rerun removed the crash leftovers and did only what was missing
    assert resumed.recovered["orphan quarantine parts"] == len(orphans)
    assert resumed.documents == total - resumed.skipped
    assert resumed.skipped == len(half) + committed_bad > 0
    assert qparts(out) <= {p.name for p in out.glob("part-*.parquet")}


@pytest.mark.slow
def test_killed_extraction_actor_loses_nothing(reference, corpus, tiny_model_dir, local_ray, tmp_path):
    marker = tmp_path / "actor-killed"
    out = tmp_path / "out"
    summary = run_pipeline(
        corpus_config(corpus, out, tiny_model_dir), stages=exit_actor_once(str(marker)), **QUIET
    )
    assert marker.exists()  # an actor really died (os._exit) on its first batch
    assert summary.completed
    data, bad = read_rows(out)
    ref_data, ref_bad = read_rows(reference[0])
    assert comparable(data) == comparable(ref_data)
    assert comparable(bad) == comparable(ref_bad)


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "No space left on device"),
        OSError(30, "Read-only file system"),
        OSError(122, "Disk quota exceeded"),
        # what connectors.fs raises: the OS message as text
        ConnectorError("cannot write /out/_tmp/part-1.parquet: [errno 28] No space left on device"),
        pa.ArrowIOError("IOError: Read-only file system. Detail: [errno 30]"),
    ],
)
def test_storage_errors_no_wait_can_cure_are_not_retried(error):
    """A full or read-only disk fails at once (it used to be retried for ~40 s)."""
    from pipelines.stages import with_retries

    calls = []

    def fail():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        with_retries(fail, "writing", base=0.0)
    assert len(calls) == 1


def test_transient_storage_errors_are_still_retried():
    from pipelines.stages import with_retries

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OSError(104, "Connection reset by peer")
        return "ok"

    assert with_retries(flaky, "reading", base=0.0) == "ok" and len(calls) == 3
