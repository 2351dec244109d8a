"""`seqgpt serve`: the request checks alone (no Ray), then one real server for the module --
the `seqgpt serve` command in a subprocess on 127.0.0.1 with the tiny default model (local
Ray + Ray Serve): concurrent requests answer what `seqgpt extract --format json` answers,
bad requests get 4xx with a message and the server keeps serving, SIGTERM stops it cleanly."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from seqgpt.serve import RequestError, load_schemas, parse_request
from tests.answers import same

REPO = Path(__file__).resolve().parents[2]
TICKETS = REPO / "jobs" / "schemas" / "tickets.yaml"
CONTRACTS = REPO / "jobs" / "schemas" / "contracts.yaml"
PDF = REPO / "samples" / "contracts" / "en_services_agreement.pdf"
MAX_BODY = 256 * 1024
MAX_CHARS = 20_000
TEXTS = {
    "t1.txt": "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。合同金额约30万元，签约日期2024年3月中旬。",
    "t2.txt": "市民王女士来电反映，朝阳区建国路88号院垃圾五天无人清运。联系电话13812345678。",
    "t3.txt": "Acme Corp. hired John Smith on Sep 12, 2023 for about $2M.",
    # full-width digits, CRLFs, a tab and doubled spaces: cleaning changes this one, so the
    # server must clean `text` as `seqgpt extract` cleans a file for the offsets to agree
    "t4.txt": "甲方：北京云杉科技有限公司\r\n乙方：上海海川贸易有限公司\r\n合同金额：１２０万元\t签约日期：２０２４年３月１５日，  联系电话１３９１０２３４５６７。",
}
FIELD_LISTS = ["甲方,乙方,合同金额,签约日期", "申请人,电话,地址"]


# ------------------------------------------------------------------ the checks alone
SCHEMAS = load_schemas([TICKETS, CONTRACTS])


def refused(body, kind="extract", **limits) -> RequestError:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    with pytest.raises(RequestError) as info:
        parse_request(raw, kind, SCHEMAS, **limits)
    return info.value


BAD_REQUESTS = [
    # (body, kind, status, words of the message)
    (b"\xff\xfe{}", "extract", 400, "not valid UTF-8"),
    (b'{"text": "\xe4\xb8"}', "extract", 400, "not valid UTF-8"),
    (b"{'text': 1}", "extract", 400, "not valid JSON"),
    (b"", "extract", 400, "empty request body"),
    (b'["a"]', "extract", 400, "must be a JSON object"),
    ({"text": "甲方：某公司"}, "extract", 400, "no fields"),
    ({"text": "x", "fields": ""}, "extract", 400, "empty field list"),
    ({"text": "x", "fields": "a(b"}, "extract", 400, "unbalanced parentheses"),
    ({"text": "x", "fields": 3}, "extract", 400, "bad fields"),
    ({"text": "x", "feilds": "a"}, "extract", 400, "did you mean 'fields'"),
    ({"fields": "甲方"}, "extract", 400, "no document"),
    ({"text": "x", "pdf_base64": "JVBERi0=", "fields": "a"}, "extract", 400, "not both"),
    ({"text": 5, "fields": "a"}, "extract", 400, "'text' must be a string"),
    ({"text": "x", "fields": "a", "schema": "tickets"}, "extract", 400, "not both"),
    ({"text": "x", "schema": "nope"}, "extract", 404, "unknown schema 'nope' (loaded schemas: contracts, tickets)"),
    ({"text": "x", "schema": 7}, "extract", 400, "must be the name"),
    ({"pdf_base64": "not base64!!", "fields": "a"}, "extract", 400, "not valid base64"),
    ({"file_base64": "not base64!!", "filename": "a.docx", "fields": "a"}, "extract", 400, "not valid base64"),
    ({"file_base64": "eA==", "filename": 3, "fields": "a"}, "extract", 400, "'filename' a string"),
    ({"file_base64": "eA==", "text": "x", "fields": "a"}, "extract", 400, "not both"),
    ({"file_base64": base64.b64encode(b"PK\x03\x04word/ cut").decode(), "filename": "a.docx", "fields": "a"}, "extract", 422, "cannot read the file: corrupt"),
    ({"file_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(), "filename": "a.png", "fields": "a"}, "extract", 422, "cannot read the file: corrupt"),
    ({"pdf_base64": base64.b64encode(b"hello world").decode(), "fields": "a"}, "extract", 415, "does not hold a PDF"),
    ({"pdf_base64": base64.b64encode(b"%PDF-1.4 garbage").decode(), "fields": "a"}, "extract", 422, "cannot read the PDF"),
    ({"text": "   \n ", "fields": "a"}, "extract", 422, "contains no text"),
    ({"text": "\u200b\u200b", "fields": "a"}, "extract", 422, "contains no text"),  # nothing left after cleaning
    ({"text": "a\u0000b", "fields": "a"}, "extract", 400, "NUL characters"),
    ({"text": "x" * (MAX_CHARS + 1), "fields": "a"}, "extract", 413, "over the limit of 20,000"),
    ({"text": "x", "fields": "a", "source": 1}, "extract", 400, "'source' must be a string"),
    ({"text": "投诉噪音", "labels": ["投诉"]}, "classify", 400, "at least two labels"),
    ({"text": "投诉噪音"}, "classify", 400, "no labels"),
    ({"text": "投诉噪音", "schema": "contracts"}, "classify", 400, "has no classification field"),
    ({"text": "投诉噪音", "labels": "咨询/投诉", "name": ""}, "classify", 400, "'name' must be"),
    ({"text": "投诉噪音", "fields": "a"}, "classify", 400, "unknown key 'fields'"),
    # hostile input (issues 22, 23): nesting, questions, control characters, empty items
    (b"[" * 100_000 + b"]" * 100_000, "extract", 400, "nests JSON arrays or objects too deeply"),
    (b'{"text": "x", "fields": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "extract", 400, "nests JSON"),
    ({"text": "x", "fields": "请告诉我这家公司叫什么名字,甲方"}, "extract", 400, "reads as a question or an instruction; a field is a noun phrase naming what to extract (the model answers labels, not questions): try '公司名称'"),
    ({"text": "x", "fields": ["What is the price?"]}, "extract", 400, "try 'price'"),
    ({"text": "x", "fields": ["甲\u0000方"]}, "extract", 400, "holds the control character U+0000"),
    ({"text": "x", "fields": ["甲方", ""]}, "extract", 400, "field 2 of the list is empty"),
    ({"text": "x", "fields": ["甲方\n乙方"]}, "extract", 400, "holds a line break"),
    ({"text": "投诉噪音", "labels": ["咨询", "投诉"], "name": "这是什么类型？"}, "classify", 400, "reads as a question"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "kind", "status", "words"), BAD_REQUESTS)
def test_bad_requests_are_refused_with_a_status_and_a_message(body, kind, status, words):
    err = refused(body, kind, max_chars=MAX_CHARS)
    assert (err.status, words in err.message) == (status, True), err.message


def test_a_lone_surrogate_is_refused_before_the_model():
    err = refused(b'{"text": "abc\\ud800", "fields": "a"}')
    assert err.status == 400 and "lone surrogate" in err.message


def test_body_limit():
    err = refused({"text": "x" * 300, "fields": "a"}, max_body_bytes=100)
    assert err.status == 413 and "over the limit of 100" in err.message


def test_good_requests_become_jobs():
    job = parse_request(
        json.dumps({"text": "甲方：A", "fields": ["甲方", "乙方"]}).encode(), "extract", SCHEMAS
    )
    assert job.text == "甲方：A" and [f.name for f in job.schema] == ["甲方", "乙方"] and job.source is None
    same_fields = parse_request(
        json.dumps({"text": "B", "fields": "甲方，乙方"}).encode(), "extract", SCHEMAS
    )
    assert same_fields.key == job.key  # may share a batch
    named = parse_request(
        json.dumps({"text": "x", "schema": "contracts", "source": "c1"}).encode(), "extract", SCHEMAS
    )
    assert named.schema is SCHEMAS["contracts"] and named.source == "c1" and named.key != job.key
    pdf = base64.b64encode(PDF.read_bytes()).decode()
    from_pdf = parse_request(json.dumps({"pdf_base64": pdf, "fields": "a"}).encode(), "extract", SCHEMAS)
    assert "Services Agreement" in from_pdf.text or "SERVICES" in from_pdf.text.upper()
    classes = parse_request(json.dumps({"text": "x", "schema": "tickets"}).encode(), "classify", SCHEMAS)
    assert [f.type for f in classes.schema] == ["class"]


def test_documents_are_read_as_seqgpt_extract_reads_a_file():
    """`text` is cleaned as a text file is, a PDF as a PDF file is (connectors.documents)."""
    from connectors.documents import read_document

    text = TEXTS["t4.txt"]
    job = parse_request(json.dumps({"text": text, "fields": "甲方"}).encode(), "extract", SCHEMAS)
    assert job.text == read_document(text.encode("utf-8"), "t4.txt").text != text
    assert "\r" not in job.text and "１" not in job.text and "\t" not in job.text
    clean = "Acme Corp. hired John Smith."
    same_text = parse_request(json.dumps({"text": clean, "fields": "a"}).encode(), "extract", SCHEMAS)
    assert same_text.text == clean  # clean text comes back as it is: offsets into the text sent
    pdf = base64.b64encode(PDF.read_bytes()).decode()
    from_pdf = parse_request(json.dumps({"pdf_base64": pdf, "fields": "a"}).encode(), "extract", SCHEMAS)
    assert from_pdf.text == read_document(PDF.read_bytes(), PDF.name).text


def test_two_schema_files_with_one_name_are_refused(tmp_path):
    from extractor.errors import SchemaError, SeqgptError
    from seqgpt.cli import main

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: same\nfields: [甲方]\n", encoding="utf-8")
    b.write_text("name: same\nfields: [乙方]\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="two schemas are named 'same'") as info:
        load_schemas([a, b])
    assert isinstance(info.value, SeqgptError) and isinstance(info.value, ValueError)
    assert set(load_schemas([a, TICKETS])) == {"same", "tickets"}
    # the command says so and exits 1 before it starts Ray (a SeqgptError, caught in one place)
    res = CliRunner().invoke(main, ["serve", "--schema", str(a), "--schema", str(b), "--port", "1"])
    assert res.exit_code == 1 and "Error: two schemas are named 'same'" in res.output, res.output
    assert "Traceback" not in res.output


def test_serve_takes_the_model_options_of_the_other_commands():
    from seqgpt.cli import main

    res = CliRunner().invoke(main, ["serve", "--help"])
    assert res.exit_code == 0
    for option in ("--model", "--device", "--dtype", "--quantize", "--threads", "--compile", "--schema"):
        assert option in res.output
    assert "divided among the replicas" in " ".join(res.output.split())


def test_cpu_replicas_share_the_default_threads():
    from extractor.loading import default_threads
    from seqgpt.serve import replica_threads

    assert replica_threads(1) == default_threads()
    assert replica_threads(2) == max(1, default_threads() // 2) and replica_threads(64) == 1


def test_the_proxy_body_limit_reads_no_more_than_the_limit_and_one_chunk():
    """seqgpt.serve.BodyLimit, the middleware of Serve's HTTP proxy, on an endless chunked
    body: 413 with Connection: close after one chunk past the limit; a body within the limit
    reaches the app whole, as it came; a Content-Length over the limit is refused unread."""
    import asyncio

    from seqgpt.serve import BodyLimit

    async def endless():
        endless.read += 1000
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def app(scope, receive, send):
        got = []
        while True:
            message = await receive()
            got.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        app.bodies.append(b"".join(got))

    def call(receive, headers=()):
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/extract", "headers": list(headers)}
        asyncio.run(BodyLimit(app, max_bytes=10_500)(scope, receive, send))
        return sent

    endless.read, app.bodies = 0, []
    start, body = call(endless)
    assert endless.read == 11_000 and app.bodies == []
    assert start["status"] == 413 and (b"connection", b"close") in start["headers"]
    assert json.loads(body["body"]) == {
        "error": "request body is over the limit of 10,500 bytes (refused as it streamed in, after 11,000)",
        "status": 413,
    }
    parts = iter([b"{", b'"text": "x"', b"}"])

    async def three():
        part = next(parts)
        return {"type": "http.request", "body": part, "more_body": part != b"}"}

    assert call(three) == [] and app.bodies == [b'{"text": "x"}']
    endless.read = 0
    start, _ = call(endless, [(b"content-length", b"20000")])
    assert start["status"] == 413 and endless.read == 0


# ------------------------------------------------------------------ one real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, url: str):
        self.url = url

    def call(self, path: str, body=None, *, raw: bytes | None = None, method: str | None = None, timeout=120):
        data = (
            raw
            if raw is not None
            else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
        )
        req = urllib.request.Request(
            self.url + path, data=data, method=method or ("POST" if data is not None else "GET")
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body or b"null")
            except ValueError:  # Serve's proxy answers plain text before the app is up
                return e.code, body.decode(errors="replace")


def _wait_until_up(proc, client, log, timeout=240.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"seqgpt serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if client.call("/health", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"seqgpt serve not up after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`seqgpt serve` as a user starts it; stopped with SIGTERM at the end of the module."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    port = _free_port()
    env = dict(os.environ, SEQGPT_DEFAULT_MODEL="tiny", PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    cmd = [
        sys.executable, "-m", "seqgpt.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--schema", str(TICKETS), "--schema", str(CONTRACTS), "--max-body-mb", str(MAX_BODY / 2**20),
        "--max-chars", str(MAX_CHARS), "--batch-wait-ms", "50",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    client = Client(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(proc, client, log)
    except BaseException:  # never leave a server behind
        _kill_session(proc.pid)
        proc.wait(30)
        raise
    client.proc, client.log, client.port = proc, log, port
    yield client
    if proc.poll() is None or _session(proc.pid):  # the last test stops it; if it failed, do it here
        _kill_session(proc.pid)
        proc.wait(30)


def cli_extract(path: Path, fields: str) -> dict:
    from seqgpt.cli import main

    res = CliRunner().invoke(main, ["extract", "-f", fields, "--format", "json", str(path)])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_health_and_schemas(server):
    status, health = server.call("/health")
    assert status == 200 and health["status"] == "ok" and health["untrained"] is True
    assert health["model"].endswith("tiny-bloom") and health["device"] == "cpu"
    assert health["schemas"] == ["contracts", "tickets"]
    status, listed = server.call("/schemas")
    assert status == 200 and set(listed["schemas"]) == {"contracts", "tickets"}
    assert listed["schemas"]["tickets"] == SCHEMAS["tickets"].to_dict()


def test_concurrent_requests_answer_what_seqgpt_extract_answers(server, tmp_path):
    from connectors.documents import read_document

    docs = []
    for name, text in TEXTS.items():
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8"))  # CRLFs kept
        docs += [(path, {"text": text}, fields) for fields in FIELD_LISTS]
    pdf = {"pdf_base64": base64.b64encode(PDF.read_bytes()).decode()}
    docs.append((PDF, pdf, "party, amount, date"))
    expected = {(str(p), f): cli_extract(p, f) for p, _, f in docs}

    before = server.call("/health")[1]["stats"]
    requests = [docs[i % len(docs)] for i in range(64)]  # every document, seven times or more
    with ThreadPoolExecutor(64) as pool:  # 64 clients at once (issue 23: held, keep it so)
        answers = list(
            pool.map(
                lambda d: server.call("/extract", {**d[1], "fields": d[2], "source": str(d[0])}), requests
            )
        )
    for (path, _, fields), (status, payload) in zip(requests, answers):
        assert status == 200, payload
        want = expected[(str(path), fields)]
        assert same(payload, want), (path.name, fields, payload, want)
        text = read_document(path.read_bytes(), path.name).text  # what seqgpt extract read
        for values in payload["fields"].values():
            for v in values:  # verbatim spans with offsets into the cleaned text
                assert text[v["start"] : v["end"]] == v["text"]
    after = server.call("/health")[1]["stats"]
    assert after["documents"] - before["documents"] == len(requests)
    assert after["largest_batch"] > 1  # requests that arrived together were decoded together
    assert after["batches"] - before["batches"] < len(requests)


def test_classify_answers_one_of_the_labels(server):
    status, payload = server.call(
        "/classify", {"text": "市民来电投诉楼下噪音", "labels": ["咨询", "投诉", "求助"]}
    )
    assert status == 200 and payload["fields"] == {}
    (label,) = payload["classes"]["label"]
    assert label["label"] in ("咨询", "投诉", "求助") and 0 < label["confidence"] <= 1
    status, named = server.call("/classify", {"text": "市民来电投诉楼下噪音", "schema": "tickets"})
    assert status == 200 and list(named["classes"]) == [
        f.name for f in SCHEMAS["tickets"].classification_fields
    ]


@pytest.mark.slow
def test_a_scan_in_file_base64_answers_what_seqgpt_extract_answers_with_its_ocr_confidence(server, tmp_path):
    from tests.connectors.scans import header_scan

    path = tmp_path / "page1.png"
    path.write_bytes(header_scan()[0])
    want = cli_extract(path, FIELD_LISTS[0])
    body = {"file_base64": base64.b64encode(path.read_bytes()).decode(), "filename": path.name}
    status, payload = server.call("/extract", {**body, "fields": FIELD_LISTS[0], "source": str(path)})
    assert status == 200, payload
    assert same(payload, want), (payload, want)
    assert payload["ocr_confidence"] == want["ocr_confidence"] and payload["ocr_confidence"]["lines"] >= 4
    assert payload["ocr_lines"] == want["ocr_lines"]


def test_bad_requests_get_4xx_and_the_server_keeps_serving(server):
    good = {"text": TEXTS["t1.txt"], "fields": FIELD_LISTS[0]}
    status, first = server.call("/extract", good)
    assert status == 200
    errors_before = server.call("/health")[1]["stats"]["errors_4xx"]
    cases = [(b, k, s, w) for b, k, s, w in BAD_REQUESTS if s != 413] + [
        (b"x" * (MAX_BODY + 1), "extract", 413, "over the limit"),
        ({"text": "x" * (MAX_CHARS + 1), "fields": "a"}, "extract", 413, "over the limit of 20,000"),
        (b'{"text": "abc\\ud800", "fields": "a"}', "extract", 400, "lone surrogate"),
    ]
    for body, kind, want, words in cases:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        status, payload = server.call(f"/{kind}", raw=raw)
        assert status == want and words in payload["error"] and payload["status"] == want, (body, payload)
    assert server.call("/extract", method="GET")[0] == 405
    assert server.call("/nowhere")[0] == 404
    stats = server.call("/health")[1]["stats"]
    assert stats["errors_4xx"] - errors_before == len(cases) - 1  # the oversized body stopped at the proxy
    status, again = server.call("/extract", good)
    assert status == 200 and same(again, first)  # still serving, same answer


def test_a_chunked_body_is_refused_while_it_streams(server):
    """Transfer-Encoding: chunked, no Content-Length: the server must answer 413 once the
    limit is passed, without waiting for the end of the body.  The client never sends the
    last chunk, so a server that reads the body whole first would never answer."""
    chunk = b"x" * 65_536
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        sock.sendall(
            b"POST /extract HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(MAX_BODY // len(chunk) + 2):  # past the limit, and no terminating chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65_536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower(), answer[:300]
    payload = json.loads(body[body.index(b"{") :])
    # refused in Serve's HTTP proxy (seqgpt.serve.BodyLimit), which never buffers more than
    # the limit and one chunk: the replica never saw the request
    prefix = f"request body is over the limit of {MAX_BODY:,} bytes (refused as it streamed in, after "
    assert payload["status"] == 413 and payload["error"].startswith(prefix), payload
    read = int(payload["error"][len(prefix) : -1].replace(",", ""))  # as uvicorn grouped the chunks
    assert MAX_BODY < read <= (MAX_BODY // len(chunk) + 2) * len(chunk)
    assert server.call("/health")[0] == 200  # and it keeps serving


def test_the_local_cluster_of_seqgpt_serve_listens_on_loopback_only(server):
    """Every listening socket of the server's session -- Ray's GCS, raylet, object manager,
    workers, agents, Serve's proxy -- is on 127.0.0.1; no dashboard (8265)."""
    from tests.conftest import is_loopback, listening_sockets, session_pids

    sockets = listening_sockets(session_pids(server.proc.pid))
    names = {name for name, _, _ in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets  # the cluster the server started
    assert ("?", "127.0.0.1", server.port) in {("?", a, p) for _, a, p in sockets}
    assert [s for s in sockets if not is_loopback(s[1])] == []
    assert 8265 not in {port for _, _, port in sockets}


def _session(sid: int) -> list[str]:
    """The processes of session ``sid``: the server and everything Ray started for it (its
    workers have process groups of their own, the session is shared)."""
    ps = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if line.split()[1:2] == [str(sid)]]


def _kill_session(sid: int) -> None:
    for line in _session(sid):
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_sigterm_stops_the_server_cleanly(server):
    server.proc.send_signal(signal.SIGTERM)  # what `kill PID` sends
    assert server.proc.wait(120) == 0, server.log.read_text(errors="replace")[-3000:]
    assert "stopping" in server.log.read_text(errors="replace")
    with pytest.raises(OSError):
        server.call("/health", timeout=5)
    deadline = time.monotonic() + 60  # Ray's own processes (GCS, raylet, proxy, replica) end too
    while _session(server.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _session(server.proc.pid) == []


@pytest.mark.slow
def test_any_file_in_file_base64_is_read_as_seqgpt_extract_reads_it():
    """``file_base64`` + ``filename``: a Word file, and a scan read by OCR whose job keeps the
    OCR confidence and lines for the answer (serve flags values from weak lines with them)."""
    from connectors.documents import read_document
    from tests.connectors.scans import header_scan
    from tests.connectors.test_formats import make_docx

    def job(data: bytes, filename: str):
        body = {"file_base64": base64.b64encode(data).decode(), "filename": filename, "fields": "甲方"}
        return parse_request(json.dumps(body).encode(), "extract", SCHEMAS)

    docx = make_docx()
    from_docx = job(docx, "agreement.docx")
    assert from_docx.text == read_document(docx, "agreement.docx").text and from_docx.ocr is None
    png = header_scan()[0]
    scan = job(png, "page1.png")
    doc = read_document(png, "page1.png")
    assert scan.text == doc.text and "Northwind Analytics Inc." in scan.text
    assert scan.ocr == {"ocr": doc.meta["ocr"], "ocr_lines": doc.meta["ocr_lines"]}
