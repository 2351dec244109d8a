"""Load a causal LM and its tokenizer from a hub id or a local folder.

``load_model`` is the one place that turns ``--model`` into a ready model:
- a local folder (``./models/seqgpt-560m``) or a hub id (``DAMO-NLP/SeqGPT-560M``); a hub id
  is read from the local Hugging Face cache when the hub is unreachable (no machine of ours
  reaches it), and a clear ``ModelLoadError`` says what to do when it is not there;
- ``None`` (no model given): the bundled default.  Until a trained bundled model ships, that
  is a tiny *untrained* demo model built locally (``extractor.tiny``), and
  ``LoadedModel.untrained`` says so, so callers can print it plainly;
- CPU or CUDA (``device="auto"`` picks CUDA when present), bf16 (or fp16 where bf16 is not
  supported) on GPU and fp32 on CPU unless ``dtype`` says otherwise;
- attention: SDPA where the architecture has it, flash-attention 2 when the optional
  ``flash-attn`` package is installed and the model supports it; BLOOM has neither in
  transformers (eager attention with ALiBi), which is reported in ``attention``;
- ``compile=True`` wraps the forward pass in ``torch.compile`` (dynamic shapes), worth it
  on GPU where per-token kernel-launch overhead dominates decoding.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = None  # the bundled default (see module docstring)
SEQGPT_HUB_ID = "DAMO-NLP/SeqGPT-560M"


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message says why and what to do."""


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    model_id: str
    device: str
    dtype: str
    attention: str
    compiled: bool
    untrained: bool = False


def _looks_like_path(model_id: str) -> bool:
    """A local folder (existing, or written like a path) rather than a hub id ``owner/name``."""
    if Path(model_id).expanduser().exists():
        return True
    return (
        model_id.startswith(("/", "./", "../", "~", ".\\"))
        or model_id.count("/") > 1
        or model_id.endswith("/")
    )


def resolve_device(device: str = "auto") -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} requested but CUDA is not available on this machine")
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype in (None, "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {
        "fp32": torch.float32,
        "float32": torch.float32,
        "fp16": torch.float16,
        "float16": torch.float16,
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
    }
    if dtype not in table:
        raise ModelLoadError(f"unknown dtype {dtype!r}: use auto, fp32, fp16 or bf16")
    return table[dtype]


def _attention_for(config, device: str) -> str:
    from transformers import AutoModelForCausalLM

    model_cls = AutoModelForCausalLM._model_mapping.get(type(config), None)
    if (
        device.startswith("cuda")
        and importlib.util.find_spec("flash_attn")
        and getattr(model_cls, "_supports_flash_attn", False)
    ):
        return "flash_attention_2"
    if getattr(model_cls, "_supports_sdpa", False):
        return "sdpa"
    return "eager"


def load_model(
    model_id: str | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    compile: bool = False,
    local_files_only: bool | None = None,
) -> LoadedModel:
    """Load ``model_id`` (hub id, local folder, or None for the bundled default)."""
    untrained = False
    if model_id in (None, "", "default"):
        from .tiny import ensure_tiny

        path = ensure_tiny()
        model_id, untrained = str(path), True
    elif _looks_like_path(model_id):
        path = Path(model_id).expanduser()
        if not path.exists():
            raise ModelLoadError(f"model path does not exist: {model_id}")
        if not (path / "config.json").exists():
            raise ModelLoadError(
                f"{model_id} is not a model folder: no config.json in it (expected a save_pretrained folder)"
            )
        untrained = (path / "TINY_UNTRAINED").exists()
        model_id = str(path)

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    if local_files_only is None:
        local_files_only = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    try:
        config = AutoConfig.from_pretrained(model_id, local_files_only=local_files_only)
    except OSError as exc:
        raise ModelLoadError(
            f"could not load model {model_id!r}: it is neither a local folder nor in the local Hugging Face "
            f"cache, and the hub could not be reached ({type(exc).__name__}). Download it where the hub is "
            f"reachable (e.g. `huggingface-cli download {model_id}`) and pass the folder with --model."
        ) from exc
    except ValueError as exc:
        raise ModelLoadError(f"could not read the config of {model_id!r}: {exc}") from exc
    if type(config) not in AutoModelForCausalLM._model_mapping:
        arch = getattr(config, "model_type", "?")
        raise ModelLoadError(
            f"model {model_id!r} has architecture {arch!r}, which is not a causal language model "
            "(SeqGPT-style extraction needs a decoder-only LM such as BLOOM, Llama, Qwen or GPT-2)"
        )
    attention = _attention_for(config, dev)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=local_files_only)
        model = AutoModelForCausalLM.from_pretrained(
            model_id, dtype=torch_dtype, attn_implementation=attention, local_files_only=local_files_only
        )
    except OSError as exc:
        raise ModelLoadError(
            f"could not load the weights or tokenizer of {model_id!r} ({exc}). If it is a hub id, the weights "
            "are not in the local cache and the hub is unreachable: pass a local folder with --model."
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{model_id!r} has no fast tokenizer; constrained decoding needs one")
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(dev)
    model.eval()
    compiled = False
    if compile:
        model.forward = torch.compile(model.forward, dynamic=True)
        compiled = True
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_id=model_id,
        device=dev,
        dtype=str(torch_dtype).replace("torch.", ""),
        attention=attention,
        compiled=compiled,
        untrained=untrained,
    )
