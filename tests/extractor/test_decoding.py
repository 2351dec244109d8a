"""Our greedy decoder against transformers' generate(), token for token."""

import pytest
import torch

from extractor.decoding import GreedyDecoder
from extractor.prompt import build_prompt

PROMPTS = [
    build_prompt("甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。", ["甲方", "乙方"]),
    build_prompt("hello world", ["person"]),
    build_prompt(
        "市民王女士来电反映，朝阳区建国路88号小区垃圾无人清运，请尽快处理。", ["咨询", "投诉"], "分类"
    ),
    build_prompt("短", ["人名", "地名", "机构名"]),
]


def _load(path):
    from extractor.loading import load_model

    return load_model(str(path), device="cpu")


def _stop_early(model, tok, ids, mask, n=24):
    """Make rows stop at different steps: every token the model writes within the first
    steps of some row becomes an end token (besides </s>)."""
    ref = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
        num_beams=1,
        max_new_tokens=n,
        pad_token_id=tok.pad_token_id,
    )
    gen = ref[:, ids.shape[1] :]
    extra = {int(gen[0, 3]), int(gen[1, 7])}
    return [tok.eos_token_id, *sorted(extra - {tok.eos_token_id})]


@pytest.mark.parametrize("arch_dir", ["tiny_bloom_dir", "tiny_llama_dir"])
@pytest.mark.parametrize("prune", [True, False])
def test_unconstrained_decoder_emits_exactly_generates_tokens(request, arch_dir, prune):
    lm = _load(request.getfixturevalue(arch_dir))
    model, tok = lm.model, lm.tokenizer
    dec = GreedyDecoder(model, tok, prune_finished=prune)
    ids, mask = dec.encode(PROMPTS)
    assert (mask[:, 0] == 0).any(), "the batch must really be left-padded"
    eos = _stop_early(model, tok, ids, mask)
    model.generation_config.eos_token_id = eos
    dec = GreedyDecoder(model, tok, prune_finished=prune)
    n = 24
    ours = dec.generate(ids, mask, max_new_tokens=n)
    ref = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
        num_beams=1,
        max_new_tokens=n,
        pad_token_id=tok.pad_token_id,
        eos_token_id=eos,
    )
    stopped = 0
    for row, out in enumerate(ours):
        expected = ref[row, ids.shape[1] :].tolist()
        if out.finished:
            stopped += 1
            expected = expected[: len(out.token_ids)]
            assert expected[-1] in eos
            assert all(t == tok.pad_token_id for t in ref[row, ids.shape[1] + len(out.token_ids) :].tolist())
        else:
            assert len(out.token_ids) == n
        assert out.token_ids == expected, f"row {row}"
        assert len(out.logprobs) == len(out.token_ids)
        assert all(lp <= 0.0 for lp in out.logprobs)
    assert stopped >= 2, "the test must cover rows that stop at different steps"


def test_logprobs_are_the_models_own(tiny_bloom_dir):
    lm = _load(tiny_bloom_dir)
    dec = GreedyDecoder(lm.model, lm.tokenizer)
    ids, mask = dec.encode(PROMPTS[:1])
    out = dec.generate(ids, mask, max_new_tokens=3)[0]
    with torch.no_grad():
        full = torch.cat([ids, torch.tensor([out.token_ids[:2]])], dim=1)
        logits = lm.model(input_ids=full).logits[0].float()
    for k in range(3):
        lp = torch.log_softmax(logits[ids.shape[1] - 1 + k], -1)[out.token_ids[k]].item()
        assert lp == pytest.approx(out.logprobs[k], abs=1e-4)


def test_decoding_is_deterministic(tiny_llama_dir):
    lm = _load(tiny_llama_dir)
    dec = GreedyDecoder(lm.model, lm.tokenizer)
    a = dec.generate_text(PROMPTS, max_new_tokens=12)
    b = dec.generate_text(list(PROMPTS), max_new_tokens=12)
    assert [x.token_ids for x in a] == [y.token_ids for y in b]
    assert [x.logprobs for x in a] == [y.logprobs for y in b]


def test_constrained_rows_need_the_byte_table(tiny_bloom_dir):
    from extractor.constraints import Grammar

    lm = _load(tiny_bloom_dir)
    dec = GreedyDecoder(lm.model, lm.tokenizer)
    with pytest.raises(ValueError, match="byte table"):
        dec.generate_text(PROMPTS[:1], [Grammar(["a"], None, classify=True)], max_new_tokens=2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_cuda_decoder_matches_generate(tiny_bloom_dir):
    from extractor.loading import load_model

    lm = load_model(str(tiny_bloom_dir), device="cuda", dtype="fp16")
    dec = GreedyDecoder(lm.model, lm.tokenizer)
    ids, mask = dec.encode(PROMPTS)
    ours = dec.generate(ids, mask, max_new_tokens=16)
    ref = lm.model.generate(
        input_ids=ids.cuda(),
        attention_mask=mask.cuda(),
        do_sample=False,
        num_beams=1,
        max_new_tokens=16,
        pad_token_id=lm.tokenizer.pad_token_id,
    )
    for row, out in enumerate(ours):
        assert out.token_ids == ref[row, ids.shape[1] :].tolist()[: len(out.token_ids)]


def test_pad_equals_the_tokenizers_left_padding(tiny_bloom_dir):
    lm = _load(tiny_bloom_dir)
    dec = GreedyDecoder(lm.model, lm.tokenizer)
    ids, mask = dec.encode(PROMPTS)
    pids, pmask = dec.pad([lm.tokenizer(p)["input_ids"] for p in PROMPTS])
    assert torch.equal(ids, pids) and torch.equal(mask, pmask)
