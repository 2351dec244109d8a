"""RunConfig: the one typed configuration of a run, built once and read by every stage."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from connectors.documents import ReadOptions
from extractor.schema import Schema
from pipelines.config import UNTRAINED_LABEL, ConfigError, ModelConfig, RunConfig

from .conftest import REPO, SCHEMA


def test_the_schema_is_loaded_once_from_a_file_a_field_list_or_given():
    from_file = RunConfig("in", "out", str(REPO / SCHEMA))
    assert (
        isinstance(from_file.schema, Schema) and from_file.schema.name == Schema.from_file(REPO / SCHEMA).name
    )
    assert [f.name for f in RunConfig("in", "out", "甲方, 乙方").schema] == ["甲方", "乙方"]
    schema = Schema.parse("甲方")
    assert RunConfig("in", "out", schema).schema is schema


def test_defaults_are_the_cli_defaults_and_the_run_id_is_made_once():
    c = RunConfig("in", "out", "甲方")
    assert (c.kind, c.actors, c.gpus_per_actor, c.batch_size, c.rows_per_part, c.keep_text) == (
        "auto", 1, 0.0, 8, 256, False,
    )  # fmt: skip
    assert c.read == ReadOptions() and c.model == ModelConfig()
    assert c.run_id and dataclasses.replace(c, batch_size=2).run_id == c.run_id
    assert RunConfig("in", "out", "甲方", pattern="*.pdf").pattern == ("*.pdf",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "doc"},
        {"actors": 0},
        {"batch_size": 0},
        {"rows_per_part": 0},
        {"ocr_actors": 0},
        {"ocr_cpus_per_actor": 0},
    ],
)
def test_impossible_settings_are_refused(changes):
    with pytest.raises(ConfigError):
        RunConfig("in", "out", "甲方", **changes)


def test_resolved_fills_in_the_automatic_settings():
    auto = RunConfig("in", "out", "甲方", actors=None, gpus_per_actor=None)
    on_gpus = auto.resolved(cluster_gpus=4, cpu_count=16)
    assert (on_gpus.actors, on_gpus.gpus_per_actor, on_gpus.cpus_per_actor, on_gpus.on_gpu) == (
        4,
        1.0,
        1.0,
        True,
    )
    on_cpu = auto.resolved(cluster_gpus=0, cpu_count=2)
    assert (on_cpu.actors, on_cpu.gpus_per_actor, on_cpu.cpus_per_actor, on_cpu.threads_per_actor) == (
        1,
        0.0,
        0.5,
        1,
    )
    fixed = RunConfig("in", "out", "甲方", actors=2, gpus_per_actor=0.5, threads_per_actor=3).resolved(8)
    assert (fixed.actors, fixed.gpus_per_actor, fixed.threads_per_actor) == (2, 0.5, 3)
    assert on_gpus.run_id == auto.run_id


def test_model_config_labels_and_engine_options(tmp_path):
    assert ModelConfig().label == UNTRAINED_LABEL and ModelConfig().untrained  # the tests' default: tiny
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "TINY_UNTRAINED").write_text("")
    assert (ModelConfig(str(demo)).label, ModelConfig(str(demo)).untrained) == (str(demo), True)
    assert ModelConfig("/models/seqgpt-560m").untrained is False
    assert ModelConfig().engine_options() == {}
    assert ModelConfig(max_new_tokens=64, prompt_batch_size=4).engine_options() == {
        "max_new_tokens": 64,
        "batch_size": 4,
    }


def test_the_config_travels_to_the_workers_whole():
    c = RunConfig("in", "out", "甲方, 合同金额", model=ModelConfig("/m", dtype="fp16"), keep_text=True)
    again = pickle.loads(pickle.dumps(c))
    assert again == c and again.schema.to_dict() == c.schema.to_dict()
    assert c.manifest() == {
        "schema": c.schema.to_dict(),
        "model": "/m",
        "keep_text": True,
        "run_id": c.run_id,
    }


def test_model_load_threads_the_configs_then_the_callers(tiny_bloom_dir):
    """A CPU actor loads with the run's threads per actor unless --threads says otherwise (the
    load must not reset them to the machine default)."""
    import torch

    from pipelines.config import ModelConfig

    before = torch.get_num_threads()
    try:
        ModelConfig(str(tiny_bloom_dir), device="cpu").load(threads=3)
        assert torch.get_num_threads() == 3
        ModelConfig(str(tiny_bloom_dir), device="cpu", threads=2).load(threads=3)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
