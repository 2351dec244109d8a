"""The real loading path, on checkpoints saved in the test's own folders."""

import json

import pytest

from extractor.loading import ModelLoadError, load_model, resolve_dtype


def test_saved_tiny_models_load_back(tiny_bloom_dir, tiny_llama_dir):
    bloom = load_model(str(tiny_bloom_dir), device="cpu")
    assert bloom.model.config.model_type == "bloom"
    assert bloom.attention == "eager"  # BLOOM has no SDPA path in transformers (ALiBi)
    assert bloom.untrained and bloom.dtype == "float32"
    assert bloom.tokenizer.padding_side == "left" and bloom.tokenizer.truncation_side == "left"
    llama = load_model(str(tiny_llama_dir), device="cpu")
    assert llama.attention == "sdpa"
    assert llama.model.config._attn_implementation == "sdpa"


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(str(tmp_path / "nope"))
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model("./models/nope")


def test_a_folder_without_a_model(tmp_path):
    (tmp_path / "README.md").write_text("hi")
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        load_model(str(tmp_path))


def test_unknown_architecture(tmp_path):
    from transformers import DistilBertConfig

    DistilBertConfig(dim=32, n_layers=1, n_heads=2, hidden_dim=64).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="not a causal language model"):
        load_model(str(tmp_path))
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["model_type"] = "no-such-architecture"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError):
        load_model(str(tmp_path))


def test_hub_id_without_network_or_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelLoadError, match="local Hugging Face cache"):
        load_model("nonexistent-org/nonexistent-model")


def test_weights_missing_from_a_folder(tiny_bloom_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_bloom_dir, broken)
    for f in broken.glob("*.safetensors"):
        f.unlink()
    with pytest.raises(ModelLoadError, match="weights"):
        load_model(str(broken))


def test_cuda_requested_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_model(None, device="cuda")


def test_dtypes():
    import torch

    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(ModelLoadError):
        resolve_dtype("int3", "cpu")


def test_default_model_is_built_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQGPT_CACHE", str(tmp_path))
    lm = load_model(None, device="cpu")
    assert lm.untrained and (tmp_path / "tiny-bloom" / "config.json").exists()
    mtime = (tmp_path / "tiny-bloom" / "config.json").stat().st_mtime
    load_model(None, device="cpu")
    assert (tmp_path / "tiny-bloom" / "config.json").stat().st_mtime == mtime
