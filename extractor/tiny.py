"""Tiny, untrained models built in-process: for tests, and as the stand-in default model.

No model hub is reachable from our machines, so the test suite (and, until a trained
bundled model exists, the quick-start job) builds its own checkpoints: a byte-level BPE
tokenizer trained with ``tokenizers`` on a few lines of Chinese and English, and a 2-layer
model of a real architecture (BLOOM, SeqGPT-560M's; or Llama, SmolLM2's) with random
weights.  They are saved with ``save_pretrained`` and loaded back through the real loading
path (``extractor.loading``), so everything but the weights is exercised for real.

A random model's *values* are meaningless, but the constrained decoder still guarantees
that they are verbatim spans of the input under requested labels.
"""

from __future__ import annotations

import os
from pathlib import Path

TINY_CORPUS = [
    "输入: 甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司，合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。",
    "抽取: 甲方，乙方，合同金额，签约日期\n输出: [GEN]甲方: 北京云杉科技有限公司\n乙方: 上海海川贸易有限公司",
    "分类: 咨询，投诉，求助，建议\n输出: [GEN]投诉",
    "本合同于2023年9月12日签订，有效期至2024年9月11日。联系人：张伟，电话：13812345678。",
    "市民王女士来电反映，朝阳区建国路88号小区垃圾无人清运，请尽快处理。身份证号11010519491231002X。",
    "人名: 张三\t李四\n地名: None\n机构名: 国家发展和改革委员会",
    "This Agreement is made on September 12, 2023 between Acme Corporation and Globex Ltd.",
    "Party A: Acme Corporation. Party B: Globex Ltd. Total amount: USD 250,000.",
    "person: John Smith\ncompany: None\ndate: 2023-09-12",
    "The quick brown fox jumps over the lazy dog 0123456789 ,.;:!?()[]{}<>-_/+*=%$#@&",
]

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]  # ids 0..3, BLOOM's order (bos=1, eos=2, pad=3)


def build_tokenizer(vocab_size: int = 700, corpus: list[str] | None = None):
    """A byte-level BPE tokenizer (like BLOOM's and SmolLM2's) trained on ``corpus``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus or TINY_CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        padding_side="left",
        truncation_side="left",
    )
    return fast


def build_model(tokenizer, arch: str = "bloom", seed: int = 0, layers: int = 2, hidden: int = 64):
    """A randomly initialised causal LM of ``arch`` ("bloom", "llama" or "gemma3") for ``tokenizer``.

    The tiny Gemma 3 has a sliding-window layer (window 8) before its global one, so short
    test prompts already exercise the windowed attention masks of seqgpt-mini's base."""
    import torch
    from transformers import AutoModelForCausalLM, BloomConfig, Gemma3TextConfig, LlamaConfig

    vocab = len(tokenizer)
    common = dict(
        vocab_size=vocab,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if arch == "bloom":
        config = BloomConfig(n_layer=layers, hidden_size=hidden, n_head=4, **common)
    elif arch == "llama":
        config = LlamaConfig(
            num_hidden_layers=layers,
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            **common,
        )
    elif arch == "gemma3":
        config = Gemma3TextConfig(
            num_hidden_layers=layers,
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=16,
            sliding_window=8,
            layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"],
            max_position_embeddings=4096,
            **common,
        )
    else:
        raise ValueError(f"unknown tiny architecture {arch!r} (bloom, llama or gemma3)")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    # widen the logits so greedy choices are not near-ties (keeps tests meaningful)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(8.0)
    model.eval()
    return model


def save_tiny(path: str | os.PathLike, arch: str = "bloom", seed: int = 0) -> Path:
    """Build a tiny model + tokenizer and ``save_pretrained`` both into ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer()
    model = build_model(tok, arch=arch, seed=seed)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    (path / "TINY_UNTRAINED").write_text(
        "Random-weight test model built by extractor.tiny; values are valid spans but not meaningful.\n"
    )
    return path


def default_tiny_dir() -> Path:
    base = os.environ.get("SEQGPT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "seqgpt-nlp")
    return Path(base) / "tiny-bloom"


def ensure_tiny(path: str | os.PathLike | None = None) -> Path:
    """The cached tiny demo model, built on first use."""
    from .mini import cache_lock

    path = Path(path) if path else default_tiny_dir()
    if not (path / "TINY_UNTRAINED").exists():
        with cache_lock(path):
            if not (path / "TINY_UNTRAINED").exists():  # written last: the folder is whole
                save_tiny(path)
    return path
