"""Tiny models built in-process and saved with save_pretrained (no hub, no download)."""

from __future__ import annotations

import pytest


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
def tiny_extractor(tiny_bloom_dir):
    """The real loading path on a saved tiny BLOOM."""
    from extractor.engine import Extractor

    return Extractor.load(str(tiny_bloom_dir), device="cpu")
