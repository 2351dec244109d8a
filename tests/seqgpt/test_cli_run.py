"""`seqgpt run`, jobs/tickets.py and ray_cluster.yaml."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from seqgpt.cli import main
from tests.conftest import REPO
from tests.pipelines.conftest import read_rows


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_help_has_examples():
    res = invoke("run", "--help")
    assert res.exit_code == 0
    for part in ("--input", "--output", "--gpus-per-actor", "--kind", "--text-column", "Examples:", "s3://"):
        assert part in res.output


def test_run_needs_fields_or_schema(tmp_path):
    res = invoke("run", "--input", str(tmp_path), "--output", str(tmp_path / "o"))
    assert res.exit_code == 2
    assert "give the fields with --fields, --schema FILE or --record" in res.output


def test_run_reports_a_missing_input_as_an_error(tmp_path):
    res = invoke("run", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o"), "-f", "甲方")
    assert res.exit_code == 1
    assert "not found" in res.output


def test_run_help_names_the_table_formats_and_refuses_a_catalog_without_iceberg(tmp_path):
    res = invoke("run", "--help")
    for part in ("--table-format", "[parquet|iceberg|delta]", "--catalog", "--table", "--partition-by"):
        assert part in res.output
    (tmp_path / "in").mkdir()
    res = invoke(
        "run", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "-f", "甲方",
        "--table-format", "delta", "--catalog", "sqlite:///x.db",
    )  # fmt: skip
    assert res.exit_code == 1
    assert "--catalog and --table name an Iceberg table" in res.output


@pytest.mark.slow
def test_cli_run_into_a_delta_table_then_a_parquet_run_there_is_refused(tmp_path, tiny_model_dir, local_ray):
    from deltalake import DeltaTable

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("甲方：北京云杉科技有限公司", encoding="utf-8")
    out = tmp_path / "t"
    args = ["run", "--input", str(src), "--output", str(out), "-f", "甲方", "--model", tiny_model_dir]
    res = invoke(*args, "--table-format", "delta")
    assert res.exit_code == 0, res.output
    assert "(1 new commits, delta)" in res.output
    assert DeltaTable(str(out)).to_pyarrow_table(columns=["doc_id"]).column("doc_id").to_pylist() == ["a.txt"]
    res = invoke(*args)  # parquet, the default, into the Delta table's location
    assert res.exit_code == 1
    assert "holds a Delta table, not a folder of Parquet parts" in res.output


@pytest.mark.parametrize("job", ["contracts", "tickets"])
def test_jobs_answer_help_from_any_folder(job, tmp_path):
    res = subprocess.run(
        [sys.executable, str(REPO / "jobs" / f"{job}.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert f"samples/{job}" in res.stdout and "ray job submit" in res.stdout
    assert "--table-format [parquet|iceberg|delta]" in res.stdout and "--catalog" in res.stdout


@pytest.mark.slow
def test_cli_run_on_text_files(tmp_path, tiny_model_dir, local_ray):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司\n", encoding="utf-8")
    (src / "b.txt").write_text("Party A: Acme Corporation. Party B: Globex Ltd.", encoding="utf-8")
    out = tmp_path / "out"
    res = invoke(
        "run", "--input", str(src), "--output", str(out), "--fields", "甲方,乙方",
        "--record", "合同: 甲方, 乙方", "--summary", "{甲方}[ 与 {乙方}] 签约",
        "--model", tiny_model_dir, "--batch-size", "2", "--keep-text", "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{") :])
    assert summary["completed"] and summary["rows"] == 2 and summary["documents"] == 2
    data, bad = read_rows(out)
    assert sorted(r["doc_id"] for r in data) == ["a.txt", "b.txt"] and not bad
    for r in data:
        for v, o in zip(r["甲方_all"], r["甲方_offsets"]):
            assert r["text"][o["start"] : o["end"]] == v
        # the summary holds chosen values only, or nothing when 甲方 was not found
        assert r["summary"] == (None if r["甲方"] is None else r["summary"])
        if r["summary"] is not None:
            assert r["summary"].startswith(r["甲方"]) and r["summary"].endswith("签约")
    # record rows: keyed by doc_id, offsets into the same text; a lone record holds the chosen values
    from collections import Counter

    from connectors.parquet import read_table

    recs = read_table(str(out / "_records" / "合同")).to_pylist() if (out / "_records").exists() else []
    assert summary["records"] == len(recs)
    by_doc, per_doc = {r["doc_id"]: r for r in data}, Counter(r["doc_id"] for r in recs)
    for rec in recs:
        row = by_doc[rec["doc_id"]]
        for f in ("甲方", "乙方"):
            if rec[f] is not None:
                assert row["text"][rec[f"{f}_start"] : rec[f"{f}_end"]] == rec[f]
        if per_doc[rec["doc_id"]] == 1:
            assert rec["record"] == 0 and (rec["甲方"], rec["乙方"]) == (row["甲方"], row["乙方"])


@pytest.mark.slow
def test_tickets_job_on_the_bundled_samples(tmp_path, tiny_model_dir, local_ray, capsys):
    sys.path.insert(0, str(REPO / "jobs"))
    try:
        import tickets as tickets_job
    finally:
        sys.path.remove(str(REPO / "jobs"))
    out = tmp_path / "tickets"
    rc = tickets_job.main(["--output", str(out), "--model", tiny_model_dir, "--run-id", "nightly-1"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "seqgpt run nightly-1: done" in printed and "UNTRAINED" in printed
    data, bad = read_rows(out)
    ids = [
        json.loads(line)["id"] for line in (REPO / "samples/tickets/tickets.jsonl").read_text().splitlines()
    ]
    assert sorted(r["doc_id"] for r in data) == sorted(ids) and not bad
    assert {r["run_id"] for r in data} == {"nightly-1"}
    choices = {"咨询", "投诉", "求助", "建议", "举报"}
    assert all(r["类别"] in choices for r in data)  # the classification column
    assert {"联系电话_normalized", "类别_confidence", "诉求_offsets"} <= set(data[0])


@pytest.mark.slow
def test_a_job_says_once_that_the_default_model_is_untrained(tmp_path, local_ray, capsys):
    """Without --model the tests' default is the untrained demo model: one note, not one from
    the job script and another from the pipeline."""
    from pipelines.config import UNTRAINED_NOTE

    sys.path.insert(0, str(REPO / "jobs"))
    try:
        import tickets as tickets_job
    finally:
        sys.path.remove(str(REPO / "jobs"))
    src = tmp_path / "in"
    src.mkdir()
    (src / "t.jsonl").write_text(
        '{"id": "T1", "text": "市民张伟来电，电话13812345678。"}\n', encoding="utf-8"
    )
    rc = tickets_job.main(["--input", str(src), "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert (captured.out + captured.err).count(UNTRAINED_NOTE) == 1
    assert (captured.out + captured.err).lower().count("untrained tiny demo model") == 1
    assert "UNTRAINED" in captured.out  # and the summary says it too


@pytest.mark.parametrize("job", ["contracts", "tickets"])
def test_jobs_take_the_options_of_seqgpt_run(job):
    """One declaration: a job script takes exactly `seqgpt run`'s options, with its defaults."""
    import click

    from seqgpt.cli import main
    from seqgpt.options import job_command

    sys.path.insert(0, str(REPO / "jobs"))
    try:
        module = __import__(job)
    finally:
        sys.path.remove(str(REPO / "jobs"))
    command = job_command(
        f"jobs/{job}.py", description=module.DESCRIPTION, epilog=module.EPILOG, defaults=module.DEFAULTS
    )
    run = main.commands["run"]

    def options(cmd):
        return [(p.name, p.opts, p.secondary_opts) for p in cmd.params if isinstance(p, click.Option)]

    assert options(command) == options(run)
    job_defaults = {p.name: p.default for p in command.params}
    assert job_defaults["kind"] == {"contracts": "auto", "tickets": "tickets"}[job]
    assert job_defaults["schema_file"].endswith(f"jobs/schemas/{job}.yaml")
    assert job_defaults["input_uri"].endswith(f"samples/{job}")
    run_defaults = {p.name: p.default for p in run.params}
    assert (run_defaults["kind"], run_defaults["schema_file"], run_defaults["input_uri"]) == (
        "auto",
        None,
        None,
    )


def test_ray_cluster_yaml_is_a_valid_launcher_config():
    from ray.autoscaler._private.util import validate_config

    config = yaml.safe_load((REPO / "ray_cluster.yaml").read_text())
    for key in (
        "cluster_name", "max_workers", "provider", "auth", "available_node_types", "head_node_type",
        "file_mounts", "setup_commands", "head_start_ray_commands", "worker_start_ray_commands",
    ):  # fmt: skip
        assert key in config, key
    validate_config(config)  # Ray's own schema check (ray up runs the same)
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0
    gpu = [t for name, t in types.items() if name != config["head_node_type"]]
    assert gpu and all(t["resources"]["GPU"] == 1 and t["min_workers"] < t["max_workers"] for t in gpu)
    assert any("pip install -e ." in cmd for cmd in config["setup_commands"])
    assert "type: local" in (REPO / "ray_cluster.yaml").read_text()  # the on-prem alternative


def _run_cli(args: list[str], *, tty: bool) -> str:
    """`python -m seqgpt.cli run ...` in a fresh process (its own local Ray), stderr read
    through a pseudo-terminal when ``tty`` (as a person at a terminal sees it)."""
    import os

    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80")
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "seqgpt.cli", "run", *args]
    if not tty:
        res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        return res.stderr
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))  # no colours


@pytest.mark.slow
def test_a_run_shows_one_progress_bar_and_ray_speaks_only_with_verbose(tmp_path, tiny_model_dir):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        (src / f"{i}.txt").write_text(
            f"甲方：北京云杉科技有限公司{i}\n乙方：上海海川贸易有限公司\n", encoding="utf-8"
        )
    ray_noise = (
        "Started a local Ray instance",
        "Running Dataset",
        "Execution plan",
        "Progress bars disabled",
    )
    base = ["--input", str(src), "-f", "甲方,乙方", "--model", tiny_model_dir]
    at_terminal = _run_cli([*base, "--output", str(tmp_path / "a")], tty=True)
    assert "extraction: 1 extraction actor(s), CPU" in at_terminal
    assert "3/3 documents" in at_terminal and "pages/s · ETA" in at_terminal  # the bar, with the known total
    assert "progress:" not in at_terminal  # the bar replaces the plain progress lines
    assert not [n for n in ray_noise if n in at_terminal], at_terminal[-3000:]
    verbose = _run_cli([*base, "--output", str(tmp_path / "b"), "--verbose"], tty=False)
    assert "progress: 3/3 documents" in verbose  # not a terminal: plain lines
    assert "Running Dataset" in verbose or "Starting execution of Dataset" in verbose


def test_run_help_tells_the_review_page_limit_and_verbose():
    from pipelines.run import REPORT_MAX_DOCS

    text = " ".join(invoke("run", "--help").output.split())
    assert f"(the first {REPORT_MAX_DOCS})" in text and "--verbose" in text and "--html-report PATH" in text
