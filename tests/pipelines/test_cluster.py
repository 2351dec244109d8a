"""A real local Ray cluster: `ray start --head` on loopback, then `ray job submit
--working-dir . -- python jobs/contracts.py ...` end to end, exactly as on a cluster.

The head runs as `ray start --head --block` in its own process session, and the test stops
it by signalling that session (the processes it started) rather than with `ray stop`, which
would kill every Ray instance of the user on this machine -- other test sessions included.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO, read_rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TOKEN = secrets.token_hex(16)


def cluster_env() -> dict[str, str]:
    """The environment of the head and of the job client: no RAY_ADDRESS from outside, and
    Ray's token authentication on with a token of this test (nothing read from ~/.ray)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN_PATH")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=_TOKEN)
    return env


@contextlib.contextmanager
def local_cluster(num_cpus: int = 4):
    ray_bin = str(Path(sys.executable).parent / "ray")
    dash = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="rayc-", dir="/tmp")  # short: unix socket paths are limited
    log = open(Path(temp_dir) / "head.log", "wb")
    cmd = [
        ray_bin, "start", "--head", "--block",
        f"--port={_free_port()}",
        "--node-ip-address=127.0.0.1",
        f"--num-cpus={num_cpus}", "--num-gpus=0",
        "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--ray-client-server-port={_free_port()}",
        f"--node-manager-port={_free_port()}", f"--object-manager-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}", f"--metrics-export-port={_free_port()}",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    env = cluster_env()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    address = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # it answers (401 while Ray's token auth is on): the dashboard is up
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    f"ray head did not come up:\n{(Path(temp_dir) / 'head.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield address
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_ray_job_submit_runs_the_contracts_job(tmp_path, tiny_model_dir):
    import ray

    if ray.is_initialized():  # 2 cores: don't run two Ray instances side by side
        ray.shutdown()
    out = tmp_path / "contracts"
    with local_cluster() as address:
        env = cluster_env()
        job = subprocess.run(
            [
                str(Path(sys.executable).parent / "ray"),
                "job",
                "submit",
                "--address",
                address,
                "--working-dir",
                ".",
                "--",
                sys.executable,
                "jobs/contracts.py",
                "--input",
                str(REPO / "samples" / "contracts"),
                "--output",
                str(out),
                "--model",
                tiny_model_dir,
                "--batch-size",
                "2",
                "--run-id",
                "cluster-run",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-4000:]
    assert "seqgpt run cluster-run: done" in job.stdout
    assert "succeeded" in job.stdout + job.stderr
    data, bad = read_rows(out)
    pdfs = sorted(p.name for p in (REPO / "samples" / "contracts").glob("*.pdf"))
    assert sorted(r["doc_id"] for r in data) == pdfs and not bad
    assert {r["run_id"] for r in data} == {"cluster-run"}
