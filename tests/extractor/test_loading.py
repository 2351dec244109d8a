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


def test_a_hub_id_that_is_not_cached_fails_at_once_when_the_hub_is_unreachable():
    import time

    from huggingface_hub import constants

    started = time.perf_counter()
    with pytest.raises(ModelLoadError) as err:
        load_model("nonexistent-org-7c1e/nonexistent-model", device="cpu")
    took = time.perf_counter() - started
    assert took < 3.0, f"{took:.1f} s: the hub must not be retried for a model that is not cached"
    message = str(err.value)
    assert "not in the local Hugging Face cache" in message and constants.HF_HUB_CACHE in message
    assert "hf download nonexistent-org-7c1e/nonexistent-model" in message


def _run_loader(code: str, env: dict):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    full = dict(os.environ, PYTHONPATH=str(root), **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=full, capture_output=True, text=True, timeout=300
    )


def _fake_hub_cache(cache, repo: str, model_dir) -> None:
    """``model_dir``'s files laid out as huggingface_hub's cache holds a downloaded repo."""
    import shutil

    revision = "0123456789abcdef0123456789abcdef01234567"
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / revision
    shutil.copytree(model_dir, snapshot)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(revision)


def test_a_cached_hub_id_loads_from_the_cache_without_the_hub(tiny_bloom_dir, tmp_path):
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "seqgpt-test/tiny-bloom", tiny_bloom_dir)
    code = (
        "import time\n"
        "from extractor.loading import load_model\n"
        "t = time.perf_counter()\n"
        "lm = load_model('seqgpt-test/tiny-bloom', device='cpu')\n"
        "print(lm.model.config.model_type, lm.model_id, round(time.perf_counter() - t, 2))\n"
    )
    # an endpoint nobody answers: loading must not need it at all
    res = _run_loader(code, {"HF_HUB_CACHE": str(cache), "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert res.returncode == 0, res.stderr[-2000:]
    model_type, model_id, seconds = res.stdout.split()
    assert (model_type, model_id) == ("bloom", "seqgpt-test/tiny-bloom")
    assert float(seconds) < 20  # no network retries (those take ~30 s)
    # the same id, not cached, with HF_HUB_OFFLINE: a message at once, naming the switch
    res = _run_loader(
        "from extractor.loading import load_model\nload_model('seqgpt-test/other', device='cpu')\n",
        {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"},
    )
    assert res.returncode != 0 and "HF_HUB_OFFLINE" in res.stderr and "not in the local" in res.stderr


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


def test_a_cache_entry_another_process_is_building_is_waited_for_not_built_again(tmp_path):
    """Two actors of one machine loading the default model for the first time: the second
    waits on the cache lock and then finds the folder the first one built."""
    import threading

    from extractor.mini import cache_lock
    from extractor.tiny import ensure_tiny, save_tiny

    path = tmp_path / "tiny-bloom"
    done = threading.Event()
    with cache_lock(path):  # "the first process", building
        waiter = threading.Thread(target=lambda: (ensure_tiny(path), done.set()))
        waiter.start()
        assert not done.wait(1.0), "ensure_tiny went ahead while the entry was locked"
        save_tiny(path)
        built = (path / "model.safetensors").stat().st_mtime_ns
    waiter.join(60)
    assert done.is_set()
    assert (path / "model.safetensors").stat().st_mtime_ns == built  # found, not rebuilt
    assert (path / "TINY_UNTRAINED").exists()
