"""`seqgpt run` and the schema commands against hostile input (issues 22 and 23), on the real
CLI with the tiny model: a folder holding every kind of bad file at once (asserted from one
run's rows and quarantine), the rerun over an output folder inside the input, the listening
sockets of the local cluster the run starts, a driver killed with SIGKILL, read-only and full
output disks (real tmpfs mounts where this user may mount them), alias bombs and
question-like field names."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqgpt.cli import main
from tests.conftest import REPO, is_loopback, listening_sockets, session_pids
from tests.pipelines.conftest import comparable, read_rows

LATIN = "Société Générale, Herr Müller, Zürich. Le contrat est signé à Paris."
SECRET = "SECRET-outside 甲方：外部公司"
CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "HF_TOKEN",
    "DATABASE_PASSWORD",
)


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env.pop("RAY_ADDRESS", None)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqgpt.cli", *args]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _summary(output: str) -> dict:
    return json.loads(output[output.index("{\n") :])


def _key(source: str, doc_id: str) -> str:
    return hashlib.sha1(json.dumps([source, doc_id]).encode()).hexdigest()


# ------------------------------------------------------------------ one folder, every bad input
def _hostile_folder(root: Path) -> Path:
    src = root / "in"
    src.mkdir(parents=True)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (src / "a.txt").write_text("甲公司2024年1月1日\n", encoding="utf-8")
    os.symlink(".", src / "loop")  # 22.1: a directory loop
    os.symlink(outside / "secret.txt", src / "link.txt")  # 22.2: a link out of the input
    (src / "n.csv").write_bytes(b"id,body\n1,x\n")  # 22.3: a ticket file without a text column
    (src / "empty.jsonl").write_bytes(b"")  # 22.5: a 0-byte JSONL
    rows = [
        ("T1", "甲方：北京云杉科技有限公司"),
        ("../../x", "乙方：上海"),
        ("/abs/path", "丙方"),
        ("N\x00UL", "丁方"),
    ]
    (src / "t1.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8"
    )  # 22.6: odd ids, one with a NUL
    (src / "t2.jsonl").write_text(
        json.dumps({"id": "T1", "text": "乙方：上海海川贸易有限公司"}) + "\n"
    )  # the same id
    (src / os.fsdecode(b"caf\xe9.txt")).write_bytes("甲方：某公司".encode())  # 23.4: not UTF-8
    (src / "tab\tname.txt").write_text("乙方：某公司", encoding="utf-8")  # a control character in a name
    (src / "latin.txt").write_bytes(LATIN.encode("latin-1"))  # 23.5
    (src / "damaged.txt").write_bytes("甲方：北京".encode() + b"\xff\xfe\x80\x81" + "乙方：上海".encode())
    os.symlink("nowhere.txt", src / "dangling.txt")  # 23.7
    return src


@pytest.mark.slow
def test_a_hostile_folder_is_read_once_every_file_accounted_for_and_the_cluster_stays_local(
    tmp_path, tiny_model_dir, local_ray
):
    src = _hostile_folder(tmp_path)
    out = src / "out"  # 22.4: the output inside the input
    args = ["run", "--input", str(src), "--output", str(out), "-f", "公司", "--model", tiny_model_dir]
    args += ["--keep-text", "--json"]
    # held (issue 23): credentials in the environment reach no output and no log, Ray's included
    secrets = {name: f"{name.lower()}-{os.urandom(8).hex()}" for name in CREDENTIALS}
    ray_tmp = Path(tempfile.mkdtemp(prefix="sr", dir="/tmp"))  # this run's Ray logs (short: socket paths)
    env = {**_env(), **secrets, "RAY_TMPDIR": str(ray_tmp)}
    try:
        proc = subprocess.Popen(
            _cli(*args), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, text=True,
        )  # fmt: skip
        sockets: set = set()
        while proc.poll() is None:  # 22.7: what the cluster this run started listens on
            sockets |= listening_sockets(session_pids(proc.pid))
            time.sleep(0.3)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr[-3000:]
        logs = [p for p in ray_tmp.rglob("*") if p.is_file() and not p.is_symlink()]
        assert any(p.name.startswith("raylet") for p in logs), logs  # the logs were looked at
        written = b"".join(p.read_bytes() for p in logs + [p for p in out.rglob("*") if p.is_file()])
        for value in secrets.values():
            assert value not in stdout and value not in stderr and value.encode() not in written
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    names = {name for name, _, _ in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets
    assert [s for s in sockets if not is_loopback(s[1])] == [], sockets
    assert 8265 not in {port for _, _, port in sockets}  # no dashboard unless --dashboard
    assert "core_worker.cc" not in stderr and "Traceback" not in stderr  # 22.9

    summary = _summary(stdout)
    assert (summary["files"], summary["rows"], summary["documents"]) == (8, 9, 13)
    assert summary["quarantined"] == {"bad_file_name": 1, "broken_link": 1, "empty": 1, "missing_column": 1}
    assert summary["not_read"] == {"link_loop": 1, "link_outside": 1}
    assert summary["not_read_examples"]["link_outside"] == [
        f"link.txt: a symbolic link to {(tmp_path / 'outside').resolve()}/secret.txt, outside the input folder "
        "(--follow-links reads it)"
    ]
    data, bad = read_rows(out)
    base = str(src.resolve())
    got = sorted((r["source"][len(base) + 1 :], r["doc_id"], r["notes"], r["text"]) for r in data)
    escaped = "id_escaped: control or invisible characters in the id are written as \\xNN/\\uNNNN"
    damaged = (
        "encoding_uncertain: 4 byte(s) are not valid UTF-8 (marked U+FFFD; the text around them is kept)"
    )
    assert got == [
        ("a.txt", "a.txt", [], "甲公司2024年1月1日"),  # once, not once per loop level
        ("damaged.txt", "damaged.txt", [damaged, "replacement_chars: 4"], "甲方：北京\ufffd\ufffd\ufffd\ufffd乙方：上海"),
        ("latin.txt", "latin.txt", [], LATIN),
        ("t1.jsonl", "../../x", [], "乙方：上海"),  # odd ids are data
        ("t1.jsonl", "/abs/path", [], "丙方"),
        ("t1.jsonl", "N\\x00UL", [escaped], "丁方"),
        ("t1.jsonl", "T1", [], "甲方：北京云杉科技有限公司"),
        ("t2.jsonl", "T1", [], "乙方：上海海川贸易有限公司"),
        ("tab\tname.txt", "tab\\x09name.txt", [escaped], "乙方：某公司"),
    ]  # fmt: skip
    assert [r["doc_key"] for r in data] == [_key(r["source"], r["doc_id"]) for r in data]
    assert len({r["doc_key"] for r in data}) == 9  # T1 twice, two keys
    assert sorted(
        (r["source"][len(base) + 1 :], r["doc_id"], r["stage"], r["reason"], r["detail"]) for r in bad
    ) == [
        ("caf\\xe9.txt", "caf\\xe9.txt", "list", "bad_file_name",
         "the file name is not valid UTF-8 (shown with its bytes escaped); rename it (e.g. `convmv -f gbk -t utf-8`) to read it"),
        ("dangling.txt", "dangling.txt", "list", "broken_link", f"a symbolic link to {base}/nowhere.txt, which does not exist"),
        ("empty.jsonl", f"{base}/empty.jsonl", "parse", "empty", "no ticket record in the file (0 bytes)"),
        ("n.csv", f"{base}/n.csv", "parse", "missing_column",
         "no column 'text' in the csv header (columns: 'id', 'body'); the file was not read: --text-column body would read it"),
    ]  # fmt: skip
    stored = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert b"SECRET-outside" not in stored  # the outside link was not read

    # 22.4 + 22.2: the rerun never reads its own output; --follow-links reads the outside link
    res = invoke(*args, "--follow-links")
    assert res.exit_code == 0, res.output
    again = _summary(res.output)
    assert (again["documents"], again["rows"], again["skipped"]) == (1, 1, 13)
    assert again["not_read"] == {"excluded": 1, "link_loop": 1}
    assert (
        "5 to read (4 ticket files, read again for new records: 7 of their records are already done"
        in res.output
    )
    data2, bad2 = read_rows(out)
    (link,) = [r for r in data2 if r["doc_id"] == "link.txt"]
    assert link["text"] == SECRET  # read because it was asked for
    assert comparable([r for r in data2 if r["doc_id"] != "link.txt"]) == comparable(data)
    assert comparable(bad2) == comparable(bad)


# ------------------------------------------------------------------ the driver killed with SIGKILL
def _run_and_kill(args: list[str], out: Path, parts: int, *, group: bool) -> int:
    """Start ``seqgpt run`` in a session of its own, SIGKILL it once ``out`` holds ``parts``
    data parts -- the driver alone, or (``group``) its whole process group -- then whatever
    of the session is left (Ray's processes); the parts committed when the driver died."""
    proc = subprocess.Popen(
        _cli(*args), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        while proc.poll() is None and len(list(out.glob("part-*.parquet"))) < parts:
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-3000:]
        if group:
            os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -PGID: the driver and its group
        else:
            os.kill(proc.pid, signal.SIGKILL)  # kill -9 the driver mid-run
        assert proc.wait(30) == -signal.SIGKILL
        return len(list(out.glob("part-*.parquet")))
    finally:
        for pid in session_pids(proc.pid):  # what is left (Ray's processes have groups of their own)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.stderr.close()


@pytest.mark.slow
def test_a_driver_killed_with_sigkill_leaves_a_folder_the_rerun_finishes_exactly(
    tmp_path, tiny_model_dir, local_ray
):
    """Held (issue 23): SIGKILL of the driver, then of the rerun's whole process group, then
    a rerun that finishes: every document exactly once, nothing quarantined, no _tmp/."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(24):
        (src / f"doc{i:02d}.txt").write_text(
            f"甲方：北京云杉科技有限公司{i}\n乙方：上海海川贸易有限公司\n", encoding="utf-8"
        )
    out = tmp_path / "out"
    args = ["run", "--input", str(src), "--output", str(out), "-f", "甲方,乙方", "--model", tiny_model_dir]
    args += ["--batch-size", "1", "--rows-per-part", "1"]
    first = _run_and_kill(args, out, 3, group=False)
    assert 3 <= first < 24
    second = _run_and_kill(args, out, first + 3, group=True)
    assert first + 3 <= second < 24
    committed = len(list(out.glob("part-*.parquet")))  # parts a worker finished after the kill count too
    res = invoke(*args, "--json")
    assert res.exit_code == 0, res.output
    summary = _summary(res.output)
    assert summary["skipped"] == committed and summary["skipped"] + summary["documents"] == 24
    data, bad = read_rows(out)
    assert sorted(r["doc_id"] for r in data) == [f"doc{i:02d}.txt" for i in range(24)] and not bad
    assert len(list(out.glob("part-*.parquet"))) == 24 and not (out / "_tmp").exists()


# ------------------------------------------------------------------ read-only and full output disks
@pytest.fixture
def mount_point(tmp_path):
    """A tmpfs mounted at a fresh folder (root only: skipped where mounting is not allowed)."""
    point = tmp_path / "mnt"
    point.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=4m", "tmpfs", str(point)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def _remount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)


@pytest.mark.slow
def test_read_only_and_full_output_disks_fail_at_once_clearly_and_the_rerun_is_exact(
    tmp_path, mount_point, tiny_model_dir, local_ray
):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        (src / f"doc{i:02d}.txt").write_text(
            f"甲方：北京云杉科技有限公司{i}\n乙方：上海海川贸易有限公司\n", encoding="utf-8"
        )
    out = mount_point / "out"
    args = ["run", "--input", str(src), "--output", str(out), "-f", "甲方,乙方", "--model", tiny_model_dir]
    args += ["--batch-size", "1", "--rows-per-part", "1", "--keep-text"]
    ref = tmp_path / "reference"
    assert invoke(*args[:4], str(ref), *args[5:]).exit_code == 0

    # read-only: a clear error naming it, nothing written
    res = invoke(*args)
    assert res.exit_code == 1
    assert (
        "Read-only file system" in res.output
        and "make it writable, then run the same command again" in res.output
    )
    assert list(mount_point.rglob("*")) == []

    # full: the run stops at the first part that does not fit, in a process of its own (its local Ray)
    _remount(mount_point, "rw,size=48k")
    full = subprocess.run(_cli(*args), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert full.returncode == 1, full.stderr[-3000:]
    assert (
        "No space left on device" in full.stderr
        and "free space on it, then run the same command again" in full.stderr
    )
    committed = len(list(out.glob("part-*.parquet")))
    assert committed < 12
    assert f"holds {committed} committed parts ({committed} of them written by this run)" in full.stderr
    assert f"({committed} new parts)" in full.stderr  # the summary says the same
    assert not (out / "_tmp").exists()  # nothing half-written is left, visible or not
    assert "Traceback" not in full.stderr

    _remount(mount_point, "rw,size=4m")
    res = invoke(*args, "--json")
    assert res.exit_code == 0, res.output
    assert _summary(res.output)["skipped"] == committed
    data, bad = read_rows(out)
    ref_data, ref_bad = read_rows(ref)
    assert comparable(data) == comparable(ref_data) and len(data) == 12 and not bad and not ref_bad


# ------------------------------------------------------------------ schemas and field names
def _bomb() -> str:
    levels = ["&a [" + ", ".join(["lol"] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"&{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "fields: [{name: [" + ", ".join(levels) + "], bogus: 1}]\n"


# The peak memory of the command itself: VmHWM of /proc/self/status starts again at exec
# (getrusage's ru_maxrss would include the pytest process it was forked from).
_MEASURE = (
    "import runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__') if sys.argv[0].endswith('.py') "
    "else runpy.run_module('seqgpt.cli', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "    print('peak_kb', hwm[0] if hwm else -1, file=sys.stderr)\n"
)


def test_an_alias_bomb_schema_is_refused_before_it_is_expanded_in_under_1_s_and_100_mb(tmp_path):
    import tracemalloc

    from extractor.schema import Schema, SchemaError

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(), encoding="utf-8")
    assert len(bomb.read_bytes()) < 500  # 9**9 = 387,420,489 strings once expanded
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SchemaError) as info:
            Schema.from_file(bomb)
        seconds, peak = time.perf_counter() - t0, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"schema file {bomb} is refused: its YAML aliases (&name / *name) expand to more than 20,000 values; "
        "a schema is a short list of fields: write it without nested aliases"
    )
    assert seconds < 1 and peak < 100 * 2**20


@pytest.mark.parametrize(
    "command",
    [
        ["seqgpt.cli", "schema", "--file", "{bomb}"],
        ["seqgpt.cli", "extract", "--schema", "{bomb}", "{doc}"],
        [str(REPO / "jobs" / "contracts.py"), "--schema", "{bomb}", "--output", "{out}"],
        [str(REPO / "jobs" / "tickets.py"), "--schema", "{bomb}", "--output", "{out}"],
        ["seqgpt.cli", "serve", "--schema", "{bomb}", "--port", "1"],  # refused before Ray starts
    ],
)
def test_an_alias_bomb_schema_fails_at_once_in_bounded_memory_with_a_short_message(tmp_path, command):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(), encoding="utf-8")
    doc = tmp_path / "doc.txt"
    doc.write_text("甲方：某公司", encoding="utf-8")
    argv = [a.format(bomb=bomb, doc=doc, out=tmp_path / "o") for a in command]
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - t0
    refused = f"schema file {bomb} is refused: its YAML aliases"
    if "serve" in argv[:2]:  # serve's schemas are read by start_server: an error, not a usage error
        assert res.returncode == 1 and f"Error: {refused}" in res.stderr, res.stderr[-2000:]
    else:
        option = "--file" if "schema" in argv[:2] else "--schema"
        assert res.returncode == 2 and f"Invalid value for {option}: {refused}" in res.stderr, res.stderr[
            -2000:
        ]
    assert len(res.stderr) < 2000
    peak_mb = int(res.stderr.rsplit("peak_kb", 1)[1]) / 1024
    assert peak_mb < 100 and seconds < 60  # the expanded bomb needed 3 GB and 30 s; this takes ~25 MB


def test_the_app_refuses_an_alias_bomb_upload_quickly():
    from extractor.schema import SchemaError
    from seqgpt.app_support import load_schema_bytes

    t0 = time.perf_counter()
    with pytest.raises(SchemaError, match=r"bomb\.yaml is refused: its YAML aliases") as info:
        load_schema_bytes(_bomb().encode(), "bomb.yaml")
    assert time.perf_counter() - t0 < 5 and len(str(info.value)) < 400


QUESTION = "请告诉我这家公司叫什么名字"
ADVICE = (
    f"field '{QUESTION}' reads as a question or an instruction; a field is a noun phrase naming what to extract "
    "(the model answers labels, not questions): try '公司名称'"
)


def test_question_like_fields_are_refused_by_the_cli_the_api_the_app_and_schema_files(tmp_path):
    import seqgpt
    from extractor.schema import Schema, SchemaError
    from seqgpt.app_support import rows_to_schema

    res = CliRunner().invoke(main, ["extract", "--fields", f"{QUESTION},甲方", "-"], input="甲方：某公司")
    assert res.exit_code == 2 and "Invalid value for --fields" in res.output
    assert ADVICE in " ".join(res.output.split())
    res = invoke("run", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "-f", f"甲方,{QUESTION}")
    assert res.exit_code == 2 and "try '公司名称'" in res.output and not (tmp_path / "o").exists()
    with pytest.raises(SchemaError, match="try '公司名称'"):
        seqgpt.extract("甲方：某公司", f"{QUESTION},甲方")
    with pytest.raises(SchemaError, match="try '公司名称'"):
        rows_to_schema([{"name": QUESTION}])
    path = tmp_path / "s.yaml"
    path.write_text(f"fields:\n  - 甲方\n  - {{name: '{QUESTION}'}}\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        Schema.from_file(path)
    assert str(info.value) == f"{path}: {ADVICE}"


@pytest.mark.parametrize(
    ("fields", "words"),
    [("甲方\x00乙方", "U+0000"), ("甲方\x1b[31m", "U+001B"), ("ding\x07", "U+0007")],
)
def test_control_characters_in_field_names_are_refused_before_they_reach_prompts_or_columns(fields, words):
    res = CliRunner().invoke(
        main, ["extract", "--fields", fields, "--format", "table", "-"], input="甲方：某公司"
    )
    assert res.exit_code == 2 and words in res.output and "--fields" in res.output


def test_an_output_folder_that_is_the_input_folder_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "a.txt").write_text("甲方：某公司", encoding="utf-8")
    res = invoke("run", "--input", str(tmp_path), "--output", str(tmp_path), "-f", "甲方")
    assert res.exit_code == 1
    assert f"the output folder {tmp_path.resolve()} is the input folder" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_run_help_names_follow_links_and_dashboard():
    text = " ".join(invoke("run", "--help").output.split())
    assert "--follow-links Read symbolic links that lead out of the input folder" in text
    assert "--dashboard Start Ray's dashboard (http://127.0.0.1:8265)" in text
    assert "listens on 127.0.0.1 only" in text
