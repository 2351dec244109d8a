"""The pipeline against a real S3 server (SeaweedFS, tests/conftest.py): inputs read from a
bucket, Parquet written back to it, and the server stopped for a while mid-run.

Decision: storage errors are retried where they happen (``stages.with_retries``: every
read and every part commit, with exponential backoff, ~20-35 s in all), so a brief outage
only slows the run down; an outage longer than that stops the job, and the rerun finishes
it (tests/pipelines/test_pipeline.py covers interrupted runs)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from connectors.documents import ReadOptions
from pipelines.config import ModelConfig, RunConfig
from pipelines.run import run_pipeline

from .conftest import REPO, SCHEMA, read_rows
from .corpus import build_corpus


def _upload(client, bucket: str, prefix: str, root) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(root).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())


@pytest.mark.slow
def test_s3_input_and_output_survive_a_brief_outage(s3_env, s3_prefix, tiny_model_dir, local_ray, tmp_path):
    from connectors.fs import Folder

    server = s3_env
    corpus = build_corpus(tmp_path / "in", huge=False)
    prefix = s3_prefix.split("/", 3)[3]
    client = server.client()
    _upload(client, server.bucket, f"{prefix}/in", corpus.root)

    outage: dict[str, float] = {}
    finished = threading.Event()

    def cut_the_power():
        # wait for the first committed part, then stop the server for a few seconds
        while not finished.is_set():
            try:
                listed = client.list_objects_v2(Bucket=server.bucket, Prefix=f"{prefix}/out/part-")
            except Exception:
                listed = {}
            if listed.get("KeyCount", 0) >= 1:
                outage["stop"] = time.monotonic()
                outage["stop_wall"] = time.time()
                server.stop()
                time.sleep(2)
                server.start()
                outage["start"] = time.monotonic()
                return
            time.sleep(0.1)

    t = threading.Thread(target=cut_the_power, daemon=True)
    t.start()
    try:
        config = RunConfig(
            f"{s3_prefix}/in",
            f"{s3_prefix}/out",
            str(REPO / SCHEMA),
            model=ModelConfig(tiny_model_dir),
            read=ReadOptions(max_chars=corpus.max_chars),
            batch_size=1,
            rows_per_part=1,
            keep_text=True,
        )
        summary = run_pipeline(config, echo=lambda line: None)
        done_at = time.monotonic()
    finally:
        finished.set()
        t.join(timeout=120)
    server.start()

    assert "stop" in outage and outage["stop"] < done_at, "the outage must hit the running job"
    listed = client.list_objects_v2(Bucket=server.bucket, Prefix=f"{prefix}/out/part-")["Contents"]
    after = [o for o in listed if o["LastModified"].timestamp() > outage["stop_wall"]]
    print(
        f"outage {outage['start'] - outage['stop']:.1f} s; parts committed after it began: {len(after)}/{len(listed)}"
    )
    assert after, "some parts must have been written (retried) after the server went down"
    assert summary.completed
    out = Folder.from_uri(f"{s3_prefix}/out")
    data, bad = read_rows(out)
    assert sorted(r["doc_id"].rsplit("/", 1)[-1] for r in data) == sorted(
        d.rsplit("/", 1)[-1] for d in corpus.rows
    )
    assert Counter(r["reason"] for r in bad) == Counter(corpus.quarantine.values())
    assert len({(r["source"], r["doc_id"]) for r in data}) == len(data)
    assert all(r["source"].startswith(f"{s3_prefix}/in/") for r in data + bad)
    for r in data:  # offsets still point into the stored cleaned text
        for v, o in zip(r["甲方_all"], r["甲方_offsets"]):
            assert r["text"][o["start"] : o["end"]] == v
    # no credentials in what was written
    manifest = out.read_bytes("_manifest.json").decode()
    assert server.secret_key not in manifest and server.access_key not in manifest
