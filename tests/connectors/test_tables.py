"""The Iceberg and Delta sinks on their own (no Ray, no model): real pyiceberg (SQL catalog on
SQLite), real deltalake, local tables in a temporary folder.

What the pipeline tests (tests/pipelines/test_tables.py) cannot aim at one moment: a batch
committed twice, a kill between a batch's record and data commits, two runs starting at once,
a killed run's writer committing after the rerun took over, many writers of one run at once,
compaction."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from connectors.sink import Batch, ConcurrentRunError, SchemaChangeError, SinkError, open_sink
from extractor.schema import Field, Schema
from extractor.types import DocumentResult, Record, Span
from pipelines.stages import part_key, record_key

FORMATS = ["delta", "iceberg"]
SCHEMA = Schema.parse("甲方,合同金额,签约日期", records=["车辆: 车牌号, 驾驶人"])


def make_sink(fmt: str, location: Path, run_id: str, schema: Schema = SCHEMA, **options):
    return open_sink(
        fmt, str(location), schema, model="m", run_id=run_id, manifest={"run_id": run_id}, **options
    )


def span(field: str, text: str, start: int = 0, normalized=None) -> Span:
    return Span(field, text, start, start + len(text), 0.9, normalized, [])


def batch(sink, ids: list[str], *, bad: list[str] = ()) -> Batch:
    """One batch as WriteStage makes it: a data row and a 车辆 record per id, a quarantine row
    per ``bad`` id, keyed by the hash of the record keys."""
    from connectors.records import Quarantine

    shaped = []
    for i in ids:
        result = DocumentResult(
            values={
                "甲方": [span("甲方", f"甲{i}")],
                "合同金额": [span("合同金额", "¥1,000元", 5, {"amount": "1000", "currency": "CNY"})],
                "签约日期": [span("签约日期", "2024年3月15日", 12, "2024-03-15")],
            },
            records=[
                Record("车辆", 0, {"车牌号": span("车牌号", f"京A{i}"), "驾驶人": span("驾驶人", "张三")})
            ],
        )
        shaped.append(sink.adapter.shape({"id": i, "source": f"/in/{i}", "pages": 1}, result))
    data, records, misfits = sink.adapter.tables(shaped)
    assert not misfits
    quarantine = sink.adapter.quarantine_table(
        [Quarantine(id=b, source=f"/in/{b}", stage="parse", reason="corrupt", detail="x") for b in bad]
    )
    keys = [record_key(f"/in/{i}", i) for i in ids] + [
        record_key(f"/in/{b}", b, "parse", "corrupt", "x") for b in bad
    ]
    return Batch(part_key(keys), data, records, quarantine)


def read(fmt: str, sink, kind: str = "data", record_type: str | None = None) -> list[dict]:
    """A table's rows through the format's own library (not the sink)."""
    t = sink.table(kind, record_type)
    if fmt == "delta":
        from deltalake import DeltaTable

        return DeltaTable(t.location).to_pyarrow_table().to_pylist()
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog("seqgpt", uri=sink.catalog_uri).load_table(t.name).scan().to_arrow().to_pylist()


def ids(rows: list[dict]) -> list[str]:
    return sorted(r["doc_id"] for r in rows)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_batch_committed_twice_is_in_the_table_once(fmt, tmp_path):
    sink = make_sink(fmt, tmp_path / "t", "run1")
    sink.check()
    one = batch(sink, ["a", "b"], bad=["c"])
    sink.commit(one)
    sink.commit(one)  # a retried Ray task: the same key
    assert ids(read(fmt, sink)) == ["a", "b"]
    assert ids(read(fmt, sink, "records", "车辆")) == ["a", "b"]
    assert ids(read(fmt, sink, "quarantine")) == ["c"]
    commits = [c for c in sink.history(sink.table("data")) if c.get("seqgpt.batch")]
    assert [(c["seqgpt.run-id"], c["seqgpt.batch"], c["seqgpt.rows"]) for c in commits] == [
        ("run1", one.key, "2")
    ]
    row = read(fmt, sink)[0]  # the warehouse's types
    assert str(row["合同金额_amount"]) == "1000.0000" and row["签约日期_date"].isoformat() == "2024-03-15"
    sink.finish()
    done = make_sink(fmt, tmp_path / "t", "run2").done()
    assert sorted(done.documents) == [("/in/a", "a"), ("/in/b", "b")]
    assert done.verdicts == [("/in/c", "c", "parse", "corrupt", "x")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_kill_between_the_record_and_data_commits_is_recovered_and_the_old_writer_is_shut_out(
    fmt, tmp_path
):
    killed = make_sink(fmt, tmp_path / "t", "run1")
    killed.lease["pid"] = dead_pid()  # as if this run's driver was SIGKILLed
    killed.check()
    first = batch(killed, ["a"])
    killed.commit(first)
    half = batch(killed, ["e"], bad=["d"])
    killed.commit_quarantine(half)
    killed.commit_records(half)
    cut = batch(killed, ["b", "c"])
    killed.commit_quarantine(cut)
    killed.commit_records(cut)  # ... killed here: records without their data rows

    rerun = make_sink(fmt, tmp_path / "t", "run2")
    rerun.check()  # takes the dead run's lease over
    done = rerun.done()
    assert done.recovered == {"orphan record rows": 3}
    assert done.documents == [("/in/a", "a")]
    assert done.verdicts == [("/in/d", "d", "parse", "corrupt", "x")]  # a verdict stands on its own
    assert ids(read(fmt, rerun, "records", "车辆")) == ["a"]
    # the killed run's last writer wakes up: it may not commit into the table any more
    with pytest.raises(ConcurrentRunError, match="no longer holds the table's lease"):
        killed.commit_data(cut)
    # the rerun redoes b, c and e: b and c make the same batch as before, so the same batch key
    redo = batch(rerun, ["b", "c"])
    assert redo.key == cut.key
    rerun.commit(redo)
    rerun.commit(batch(rerun, ["e"]))
    rerun.finish()
    assert ids(read(fmt, rerun)) == ["a", "b", "c", "e"]
    assert ids(read(fmt, rerun, "records", "车辆")) == ["a", "b", "c", "e"], "every record once, none lost"
    assert ids(read(fmt, rerun, "quarantine")) == ["d"]
    runs = [c["seqgpt.run-id"] for c in rerun.history(rerun.table("data")) if c.get("seqgpt.batch")]
    assert runs == ["run1", "run2", "run2"]


@pytest.mark.parametrize("tables", ["new", "existing"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_two_runs_starting_at_once_one_writes_the_others_are_refused(fmt, tables, tmp_path):
    if tables == "existing":  # the tables exist, no lease held: the runs race for it
        first = make_sink(fmt, tmp_path / "t", "run0")
        first.check()
        first.finish()
    sinks = [make_sink(fmt, tmp_path / "t", f"run{i}") for i in range(1, 5)]
    outcome: dict[str, str] = {}
    gate = threading.Barrier(len(sinks))

    def start(sink):
        gate.wait()
        try:
            sink.check()
            outcome[sink.run_id] = "ok"
        except ConcurrentRunError as e:
            outcome[sink.run_id] = str(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in sinks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    winners = [r for r, o in outcome.items() if o == "ok"]
    assert len(outcome) == 4 and len(winners) == 1, outcome
    for run, text in outcome.items():
        if run not in winners:
            assert f"another run ({winners[0]}" in text and "is writing into" in text
    winner = next(s for s in sinks if s.run_id == winners[0])
    loser = next(s for s in sinks if s.run_id != winners[0])
    winner.commit(batch(winner, ["a"]))
    with pytest.raises(ConcurrentRunError):
        loser.commit(batch(loser, ["b"]))
    winner.finish()  # releases the lease: the next run may start
    later = make_sink(fmt, tmp_path / "t", "run9")
    later.check()
    assert later.done().documents == [("/in/a", "a")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_writers_of_one_run_commit_at_once_and_finish_compacts(fmt, tmp_path):
    driver = make_sink(fmt, tmp_path / "t", "run1")
    driver.check()
    workers = [pickle.loads(pickle.dumps(driver)) for _ in range(3)]  # as Ray ships it to writer tasks
    errors: list[BaseException] = []

    def write(sink, n):
        try:
            for j in range(4):
                one = batch(sink, [f"w{n}-{j}"])
                sink.commit(one)
                sink.commit(one)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    data = driver.table("data")
    assert ids(read(fmt, driver)) == sorted(f"w{n}-{j}" for n in range(3) for j in range(4))
    assert len(ids(read(fmt, driver, "records", "车辆"))) == 12
    assert len([c for c in driver.history(data) if c.get("seqgpt.batch")]) == 12
    assert driver.data_files(data) == 12
    driver.maintain()  # 12 small files >= compact_min_files: compacted while the run goes on
    assert driver.data_files(data) == 1
    driver.commit(batch(driver, ["x"]))
    driver.finish()
    assert driver.data_files(data) == 1
    assert len(read(fmt, driver)) == 13
    ops = [c.get("seqgpt.operation") for c in driver.history(data)]
    assert ops.count("compaction") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_type_is_refused_and_another_format_or_a_foreign_table_too(fmt, tmp_path):
    sink = make_sink(fmt, tmp_path / "t", "run1")
    sink.check()
    sink.commit(batch(sink, ["a"]))
    sink.finish()
    retyped = Schema(
        ["甲方", "合同金额", Field(name="签约日期", type="text")], records=["车辆: 车牌号, 驾驶人"]
    )
    with pytest.raises(SchemaChangeError, match="field 签约日期: date in the table, text in this run"):
        make_sink(fmt, tmp_path / "t", "run2", retyped).check()
    other = "iceberg" if fmt == "delta" else "delta"
    with pytest.raises(SinkError, match=f"--table-format {fmt}"):
        make_sink(other, tmp_path / "t", "run3").check()
    with pytest.raises(SinkError, match=f"--table-format {fmt}"):
        make_sink("parquet", tmp_path / "t", "run4").check()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lease_whose_pid_now_belongs_to_another_process_is_taken_over(fmt, tmp_path):
    import os

    old = make_sink(fmt, tmp_path / "t", "run1")
    old.lease["pid"] = os.getpid()  # the killed driver's pid, reused since (here: by this very process)
    old.lease["started"] = "another-boot:1"
    old.check()
    old.commit(batch(old, ["a"]))
    rerun = make_sink(fmt, tmp_path / "t", "run2")
    rerun.check()
    assert rerun.done().documents == [("/in/a", "a")]
    live = make_sink(fmt, tmp_path / "t", "run3")  # rerun's lease: this process, this start time
    with pytest.raises(ConcurrentRunError, match=r"another run \(run2, pid"):
        live.check()
