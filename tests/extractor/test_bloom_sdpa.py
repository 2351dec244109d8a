"""BLOOM attention through SDPA (the GPU path) equals transformers' eager attention."""

import copy

import torch

from extractor.bloom_sdpa import use_sdpa
from extractor.decoding import GreedyDecoder
from extractor.loading import load_model

PROMPTS = [
    "输入: 甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。\n抽取: 甲方，乙方\n输出: [GEN]",
    "hello",
]


def test_sdpa_bloom_gives_eager_logits_and_tokens(tiny_bloom_dir, tiny_llama_dir):
    lm = load_model(str(tiny_bloom_dir), device="cpu", quantize="none")
    eager, tok = lm.model, lm.tokenizer
    fast = copy.deepcopy(eager)
    assert use_sdpa(fast) == eager.config.n_layer
    enc = tok(PROMPTS, return_tensors="pt", padding=True)
    assert (enc["attention_mask"] == 0).any()  # padding goes through the mask too
    with torch.no_grad():
        a, b = eager(**enc).logits, fast(**enc).logits
    real = enc["attention_mask"].bool()
    assert torch.allclose(a[real], b[real], atol=1e-4)
    slow = GreedyDecoder(eager, tok).generate_text(PROMPTS, max_new_tokens=12)
    quick = GreedyDecoder(fast, tok).generate_text(PROMPTS, max_new_tokens=12)
    assert [g.token_ids for g in slow] == [g.token_ids for g in quick]  # through the KV cache
    other = load_model(str(tiny_llama_dir), device="cpu", quantize="none").model
    assert use_sdpa(other) == 0  # other architectures are left alone
