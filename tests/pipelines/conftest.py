"""Fixtures for the pipeline tests: a tiny model, in-process Ray, a generated corpus and a
reference (uninterrupted) run to compare faulted runs against."""

from __future__ import annotations

import math

import pytest

from tests.conftest import REPO, start_local_ray

VOLATILE = {"run_id", "extracted_at", "at"}  # what legitimately differs between runs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from .corpus import build_corpus

    return build_corpus(tmp_path_factory.mktemp("corpus") / "in")


SCHEMA = "jobs/schemas/contracts.yaml"
RUN_ARGS = dict(batch_size=2, rows_per_part=3, keep_text=True)


def corpus_config(corpus, out, tiny_model_dir, **changes):
    """The RunConfig of the corpus runs: the contracts schema, the tiny model, the corpus's
    character limit, small batches and parts, the cleaned text kept."""
    from connectors.documents import ReadOptions
    from pipelines.config import ModelConfig, RunConfig

    args = dict(model=ModelConfig(tiny_model_dir), read=ReadOptions(max_chars=corpus.max_chars), **RUN_ARGS)
    return RunConfig(str(corpus.root), str(out), str(REPO / SCHEMA), **{**args, **changes})


@pytest.fixture(scope="module")
def reference(corpus, tiny_model_dir, tmp_path_factory):
    """One uninterrupted run over the corpus: (output dir, summary)."""
    from pipelines.run import run_pipeline

    start_local_ray()
    out = tmp_path_factory.mktemp("reference") / "out"
    summary = run_pipeline(corpus_config(corpus, out, tiny_model_dir), echo=lambda line: None)
    return out, summary


# ------------------------------------------------------------------ reading outputs
def read_rows(out) -> tuple[list[dict], list[dict]]:
    """(data rows, quarantine rows) of an output folder (local path or Folder)."""
    from connectors.fs import Folder
    from connectors.parquet import read_table

    folder = Folder.from_uri(out) if not hasattr(out, "child") else out
    data = read_table(folder).to_pylist() if folder.exists() else []
    q = folder.child("_quarantine")
    bad = read_table(q).to_pylist() if q.exists() else []
    return data, bad


def comparable(rows: list[dict]) -> list[dict]:
    """Rows without run ids and timestamps, confidences rounded (float32 sums differ in the
    last bits when documents are batched differently), sorted by key."""
    out = []
    for r in rows:
        c = {}
        for k, v in r.items():
            if k in VOLATILE:
                continue
            if k.endswith("_confidence") and v is not None:
                v = round(float(v), 4) if not math.isnan(v) else v
            c[k] = v
        out.append(c)
    return sorted(out, key=lambda r: (r["source"] or "", r["doc_id"], r.get("reason") or ""))


def keys_of(rows: list[dict]) -> list[tuple]:
    return [(r["source"], r["doc_id"], r.get("reason"), r.get("detail")) for r in rows]
