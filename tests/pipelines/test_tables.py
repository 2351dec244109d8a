"""Runs into Iceberg and Delta tables (real pyiceberg SQL catalog on SQLite, real deltalake,
real DuckDB extensions, real Ray, real SeaweedFS): the same rows as the Parquet folder, a
SIGKILL mid-run and its rerun, schema evolution, S3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.config import ModelConfig, RunConfig
from pipelines.run import PipelineError, run_pipeline

from .conftest import REPO, comparable, corpus_config, keys_of, read_rows

QUIET = {"echo": lambda line: None}
FORMATS = ["delta", "iceberg"]
TABLE_ONLY = ("run_date",)  # columns the table formats add to the Parquet folder's


def open_tables(fmt: str, location, *, catalog: str | None = None, name: str | None = None, s3=None):
    """The data and quarantine tables with the format's own library: deltalake.DeltaTable or
    a pyiceberg Table from the (default or given) SQL catalog."""
    location = str(location)
    if fmt == "delta":
        from deltalake import DeltaTable

        opts = None
        if s3 is not None:
            opts = {
                "AWS_ENDPOINT_URL": s3.endpoint,
                "AWS_ACCESS_KEY_ID": s3.access_key,
                "AWS_SECRET_ACCESS_KEY": s3.secret_key,
                "AWS_REGION": s3.region,
                "AWS_ALLOW_HTTP": "true",
            }
        return DeltaTable(location, storage_options=opts), DeltaTable(
            f"{location}_quarantine", storage_options=opts
        )
    from pyiceberg.catalog.sql import SqlCatalog

    props = {}
    if s3 is not None:
        props = {
            "s3.endpoint": s3.endpoint,
            "s3.access-key-id": s3.access_key,
            "s3.secret-access-key": s3.secret_key,
            "s3.region": s3.region,
        }
    cat = SqlCatalog("seqgpt", uri=catalog or f"sqlite:///{location}.catalog.db", **props)
    name = name or f"seqgpt.{Path(location).name}"
    return cat.load_table(name), cat.load_table(f"{name}_quarantine")


def to_arrow(fmt: str, table):
    return table.to_pyarrow_table() if fmt == "delta" else table.scan().to_arrow()


def table_rows(fmt: str, location, **kw) -> tuple[list[dict], list[dict]]:
    data, bad = open_tables(fmt, location, **kw)
    return to_arrow(fmt, data).to_pylist(), to_arrow(fmt, bad).to_pylist()


def without_table_columns(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TABLE_ONLY and not k.endswith("_date")} for r in rows]


def history(fmt: str, table) -> list[dict]:
    """Commits with their metadata (seqgpt.run-id, seqgpt.batch), oldest first."""
    if fmt == "delta":
        return list(reversed(table.history()))
    by_id = {s.snapshot_id: s for s in table.metadata.snapshots}
    return [
        {
            "operation": by_id[e.snapshot_id].summary.operation.value,
            **by_id[e.snapshot_id].summary._additional_properties,
        }
        for e in table.history()
    ]


def data_files(fmt: str, table) -> int:
    if fmt == "delta":
        return len(table.file_uris())
    return int(table.current_snapshot().summary["total-data-files"])


def duckdb_rows(fmt: str, table, columns: str) -> list[tuple]:
    """``columns`` of the table read by DuckDB's own delta/iceberg extension (from the
    duckdb-extension-* packages: no download at run time)."""
    import importlib.util

    import duckdb

    def load(con, name):
        spec = importlib.util.find_spec(f"duckdb_extension_{name}")
        assert spec is not None, f"duckdb-extension-{name} is not installed"
        path = next(Path(spec.origin).parent.glob(f"extensions/*/{name}.duckdb_extension"))
        con.execute(f"LOAD '{path}'")

    con = duckdb.connect()
    if fmt == "delta":
        load(con, "delta")
        return con.execute(f"SELECT {columns} FROM delta_scan('{table.table_uri}')").fetchall()
    load(con, "avro")
    load(con, "iceberg")
    return con.execute(f"SELECT {columns} FROM iceberg_scan('{table.metadata_location}')").fetchall()


@pytest.fixture(scope="module")
def table_runs(corpus, tiny_model_dir, tmp_path_factory):
    """The corpus run into a Delta and into an Iceberg table: {format: (location, summary)}."""
    from tests.conftest import start_local_ray

    start_local_ray()
    out = {}
    for fmt in FORMATS:
        location = tmp_path_factory.mktemp(fmt) / "contracts"
        summary = run_pipeline(corpus_config(corpus, location, tiny_model_dir, table_format=fmt), **QUIET)
        out[fmt] = (location, summary)
    return out


# ------------------------------------------------------------------ the same rows
@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_table_holds_the_rows_of_the_parquet_folder(fmt, table_runs, reference):
    location, summary = table_runs[fmt]
    assert summary.completed and summary.table_format == fmt
    ref_data, ref_bad = read_rows(reference[0])
    data, bad = table_rows(fmt, location)
    assert comparable(without_table_columns(data)) == comparable(ref_data)
    assert comparable(without_table_columns(bad)) == comparable(ref_bad)
    assert len(set(keys_of(data))) == len(data) and data
    assert summary.quarantine_exists and summary.quarantine_uri.startswith(f"{location}_quarantine")
    # the warehouse's types: date, decimal, float, lists; the run date as the partition column
    table, _ = open_tables(fmt, location)
    arrow = to_arrow(fmt, table)
    types = {f.name: str(f.type) for f in arrow.schema}
    assert types["签约日期_date"] == "date32[day]" and types["run_date"] == "date32[day]"
    assert types["合同金额_amount"] == "decimal128(22, 4)" and types["甲方_confidence"] == "float"
    assert "list" in types["甲方_all"] and "struct<start: int32, end: int32>" in types["甲方_offsets"]
    for r in data:  # the date column holds the day the value names (null without a full day)
        assert r["签约日期_date"] is None or r["签约日期_normalized"] is not None
        if (
            r["签约日期_normalized"]
            and len(r["签约日期_normalized"]) == 10
            and r["签约日期_normalized"][4] == "-"
        ):
            assert r["签约日期_date"].isoformat() == r["签约日期_normalized"]
    run_day = f"{summary.run_id[:4]}-{summary.run_id[4:6]}-{summary.run_id[6:8]}"
    assert {r["run_date"].isoformat() for r in data + bad} == {run_day}
    # DuckDB reads the same rows through its own extension
    rows = duckdb_rows(fmt, table, "doc_id, 合同金额_amount")
    assert sorted(rows, key=str) == sorted(((r["doc_id"], r["合同金额_amount"]) for r in data), key=str)
    # every batch is one transaction carrying the run id and the batch's key hash; compacted at the end
    commits = [c for c in history(fmt, table) if c.get("seqgpt.batch")]
    assert commits and {c["seqgpt.run-id"] for c in commits} == {summary.run_id}
    assert sum(int(c["seqgpt.rows"]) for c in commits) == len(data)
    assert len({c["seqgpt.batch"] for c in commits}) == len(commits)
    assert data_files(fmt, table) == 1, "the run's partition is compacted into one file"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rerun_into_a_table_commits_nothing_twice(fmt, table_runs, corpus, tiny_model_dir, local_ray):
    location, first = table_runs[fmt]
    before, _ = table_rows(fmt, location)
    again = run_pipeline(corpus_config(corpus, location, tiny_model_dir, table_format=fmt), **QUIET)
    assert again.completed and again.documents == 0 and again.skipped == first.documents
    after, _ = table_rows(fmt, location)
    assert comparable(after) == comparable(before)


# ------------------------------------------------------------------ SIGKILL
_KILLED_RUN = """
import sys
sys.path.insert(0, {repo!r})
from types import SimpleNamespace
from tests.pipelines.conftest import corpus_config
from pipelines.run import run_pipeline
corpus = SimpleNamespace(root={root!r}, max_chars={max_chars!r})
run_pipeline(corpus_config(corpus, {out!r}, {model!r}, table_format={fmt!r}, batch_size=1, rows_per_part=1),
             echo=lambda line: print(line, flush=True))
"""


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_sigkill_mid_run_then_rerun_gives_the_clean_rows(
    fmt, table_runs, corpus, tiny_model_dir, local_ray, tmp_path
):
    location = tmp_path / "contracts"
    script = _KILLED_RUN.format(
        repo=str(REPO), root=str(corpus.root), max_chars=corpus.max_chars, out=str(location),
        model=tiny_model_dir, fmt=fmt,
    )  # fmt: skip
    env = {**os.environ, "RAY_ADDRESS": ""}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    killed = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                table, _ = open_tables(fmt, location)
                done = sum(1 for c in history(fmt, table) if c.get("seqgpt.batch"))
            except Exception:
                done = 0
            if done >= 2:
                os.killpg(proc.pid, signal.SIGKILL)  # the driver and its local Ray, at once
                killed = True
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None and not killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert killed, "the run must be killed while it runs"
    partial, _ = table_rows(fmt, location)
    clean_data, clean_bad = table_rows(fmt, table_runs[fmt][0])
    assert 0 < len(partial) < len(clean_data)

    resumed = run_pipeline(corpus_config(corpus, location, tiny_model_dir, table_format=fmt), **QUIET)
    assert resumed.completed and resumed.skipped > 0
    data, bad = table_rows(fmt, location)
    assert sorted(keys_of(data)) == sorted(keys_of(clean_data)), "the same ids as a clean run"
    assert sorted(keys_of(bad)) == sorted(keys_of(clean_bad))
    assert len(set(keys_of(data))) == len(data), "0 duplicated"
    assert comparable(without_table_columns(data)) == comparable(without_table_columns(clean_data))
    table, _ = open_tables(fmt, location)
    commits = [c for c in history(fmt, table) if c.get("seqgpt.batch")]
    runs = [c["seqgpt.run-id"] for c in commits]
    assert len(set(runs)) == 2 and runs[-1] == resumed.run_id, "the history shows both runs' commits"


# ------------------------------------------------------------------ schema evolution
def _texts(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (folder / name).write_text(
            f"合同{i}：甲方北京云杉科技有限公司，乙方上海海川贸易有限公司，签约日期2024年3月{i + 1}日，合同金额¥{i + 1},000元。",
            encoding="utf-8",
        )
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_added_field_adds_its_column_and_a_changed_type_is_refused(
    fmt, tiny_model_dir, local_ray, tmp_path
):
    location = tmp_path / "t"
    first = _texts(tmp_path / "in1", ["a.txt", "b.txt"])

    def run(src, fields, **kw):
        config = RunConfig(
            str(src), str(location), fields, model=ModelConfig(tiny_model_dir), table_format=fmt, **kw
        )
        return run_pipeline(config, **QUIET)

    run(first, "甲方,签约日期")
    second = _texts(tmp_path / "in2", ["c.txt", "d.txt"])
    added = run(second, "甲方,签约日期,合同金额")
    assert added.completed and added.documents == 2
    data, _ = table_rows(fmt, location)
    by_doc = {r["doc_id"]: r for r in data}
    assert set(by_doc) == {"a.txt", "b.txt", "c.txt", "d.txt"}
    for old in ("a.txt", "b.txt"):  # the new columns exist; the older rows hold nulls there
        assert by_doc[old]["合同金额"] is None and by_doc[old]["合同金额_amount"] is None
        assert by_doc[old]["合同金额_all"] in (None, [])
    assert all("合同金额_currency" in r for r in data)
    # a field left out keeps its columns (null in the new rows)
    third = _texts(tmp_path / "in3", ["e.txt"])
    run(third, "甲方,合同金额")
    data, _ = table_rows(fmt, location)
    e = next(r for r in data if r["doc_id"] == "e.txt")
    assert "签约日期_date" in e and e["签约日期"] is None and e["签约日期_date"] is None
    # a changed type is refused, naming the field; nothing is written
    fourth = _texts(tmp_path / "in4", ["f.txt"])
    retyped = tmp_path / "retyped.yaml"
    retyped.write_text("fields:\n  - name: 甲方\n  - name: 签约日期\n    type: text\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="field 签约日期: date in the table, text in this run"):
        run(fourth, str(retyped))
    assert "f.txt" not in {r["doc_id"] for r in table_rows(fmt, location)[0]}


# ------------------------------------------------------------------ S3
@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_table_on_s3(fmt, s3_env, s3_prefix, tiny_model_dir, local_ray, tmp_path):
    src = _texts(tmp_path / "in", ["a.txt", "b.txt", "c.txt"])
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    catalog = f"sqlite:///{tmp_path / 'catalog.db'}" if fmt == "iceberg" else None
    location = f"{s3_prefix}/contracts"
    config = RunConfig(
        str(src), location, "甲方,乙方,签约日期", model=ModelConfig(tiny_model_dir), table_format=fmt,
        catalog=catalog, rows_per_part=2,
    )  # fmt: skip
    summary = run_pipeline(config, **QUIET)
    assert summary.completed and summary.rows == 3
    data, bad = table_rows(fmt, location, catalog=catalog, s3=s3_env)
    assert sorted(r["doc_id"] for r in data) == ["a.txt", "b.txt", "c.txt"]
    assert [r["doc_id"] for r in bad] == ["broken.pdf"]
    again = run_pipeline(config, **QUIET)
    assert again.documents == 0 and len(table_rows(fmt, location, catalog=catalog, s3=s3_env)[0]) == 3
    # no credentials in anything written to the bucket (table metadata, logs, data)
    client = s3_env.client()
    prefix = s3_prefix.split("/", 3)[3]
    objects = client.list_objects_v2(Bucket=s3_env.bucket, Prefix=prefix)["Contents"]
    assert objects
    for o in objects:
        body = client.get_object(Bucket=s3_env.bucket, Key=o["Key"])["Body"].read()
        assert s3_env.secret_key.encode() not in body and s3_env.access_key.encode() not in body, o["Key"]
