"""Adapters load anywhere a model loads (base + LoRA merged); the CLI trains them."""

import json

import pytest
from click.testing import CliRunner

from extractor.loading import ModelLoadError, default_model, load_model
from training.finetune import FinetuneConfig, finetune

TRAIN = [
    {
        "text": "张三在北京的清华大学工作。",
        "entities": [{"label": "人名", "start": 0, "end": 2}, {"label": "地名", "start": 3, "end": 5}],
    },
    {"text": "Acme Corp. hired John Smith.", "entities": [{"label": "person", "start": 17, "end": 27}]},
    {
        "text": "李四去了上海。",
        "entities": [{"label": "人名", "start": 0, "end": 2}, {"label": "地名", "start": 4, "end": 6}],
    },
]


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in TRAIN) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def adapter_dir(tiny_llama_dir, train_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapters") / "tiny-adapter"
    finetune(
        FinetuneConfig(
            base=str(tiny_llama_dir),
            train=str(train_file),
            output=str(out),
            max_steps=3,
            batch_size=2,
            lora_rank=4,
            lr=0.05,
            warmup_steps=1,
        ),
        log=lambda s: None,
    )
    return out


def test_an_adapter_folder_loads_merged_and_changes_the_model(adapter_dir, tiny_llama_dir):
    import torch

    base = load_model(str(tiny_llama_dir), device="cpu")
    tuned = load_model(str(adapter_dir), device="cpu")
    assert tuned.adapter == str(adapter_dir) and tuned.model_id == str(adapter_dir)
    assert not any("lora" in name for name, _ in tuned.model.named_parameters())  # merged: plain layers
    assert tuned.untrained  # an adapter on the random demo base is no better than it
    ids = base.tokenizer("输入: 张三\n抽取: 人名\n输出: [GEN]", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a = base.model(ids).logits
        b = tuned.model(ids).logits
    assert not torch.allclose(a, b)


def test_extract_with_an_adapter(adapter_dir):
    from extractor.engine import Extractor
    from extractor.schema import Schema

    ex = Extractor.load(str(adapter_dir), device="cpu")
    text = "王五在广州的中山大学读书。"
    result = ex.extract(text, Schema.parse("人名,地名"))
    for spans in result.values.values():
        for s in spans:
            assert text[s.start : s.end] == s.text


def test_missing_base_is_a_clear_error(adapter_dir, tmp_path):
    import shutil

    moved = tmp_path / "adapter"
    shutil.copytree(adapter_dir, moved)
    card = json.loads((moved / "card.json").read_text())
    card["base"] = str(tmp_path / "no-such-base")
    (moved / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="needs its base model"):
        load_model(str(moved), device="cpu")
    (moved / "card.json").unlink()
    cfg = json.loads((moved / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = None
    (moved / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="does not name its base"):
        load_model(str(moved), device="cpu")


def test_default_model_can_be_pinned(monkeypatch):
    monkeypatch.setenv("SEQGPT_DEFAULT_MODEL", "tiny")
    assert default_model() == "tiny"
    lm = load_model(None, device="cpu")
    assert lm.untrained and lm.adapter is None


def test_cli_finetune_then_extract(tiny_llama_dir, train_file, tmp_path):
    from seqgpt.cli import main

    out = tmp_path / "cli-adapter"
    runner = CliRunner()
    res = runner.invoke(
        main,
        ["finetune", "--base", str(tiny_llama_dir), "--train", str(train_file), "--eval", str(train_file),
         "--output", str(out), "--max-steps", "2", "--batch-size", "2", "--lora-rank", "4", "--seed", "3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"adapter written to {out}" in res.stdout and "eval F1" in res.stdout
    assert "step 2/2" in res.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 2 and card["seed"] == 3 and card["lora_rank"] == 4
    assert card["command"].startswith("seqgpt finetune --base") and "--max-steps 2" in card["command"]
    res = runner.invoke(
        main, ["extract", "--fields", "人名,地名", "--model", str(out), "-"], input="赵六住在杭州。"
    )
    assert res.exit_code == 0, res.output
    assert set(json.loads(res.stdout)["fields"]) == {"人名", "地名"}


def test_cli_finetune_user_errors(tiny_llama_dir, tmp_path):
    from seqgpt.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["finetune", "--base", str(tiny_llama_dir), "--train", str(tmp_path / "nope.jsonl"),
                               "--output", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 1 and "no such file" in res.output
    res = runner.invoke(main, ["finetune", "--base", str(tmp_path / "nobase"), "--train", "x.jsonl",
                               "--output", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 1 and "Error" in res.output
    res = runner.invoke(main, ["finetune", "--help"])
    assert res.exit_code == 0 and "--lora-rank" in res.output and "Examples:" in res.output
