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


@pytest.mark.parametrize("arch_dir", ["tiny_bloom_dir", "tiny_llama_dir", "tiny_gemma3_dir"])
def test_unconstrained_decoder_emits_exactly_generates_tokens(request, arch_dir):
    lm = _load(request.getfixturevalue(arch_dir))
    model, tok = lm.model, lm.tokenizer
    dec = GreedyDecoder(model, tok)
    ids, mask = dec.encode(PROMPTS)
    assert (mask[:, 0] == 0).any(), "the batch must really be left-padded"
    eos = _stop_early(model, tok, ids, mask)
    model.generation_config.eos_token_id = eos
    dec = GreedyDecoder(model, tok)
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


CHUNKS = [
    "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司，合同金额人民币12万元。",
    "Party A: Acme Corp. Party B: Bluefin Ltd., signed on March 1, 2024 in New York.",
    "市民王女士来电反映，朝阳区建国路88号小区垃圾无人清运。",
]
LABEL_GROUPS = [["甲方", "乙方"], ["合同金额", "签约日期", "地点"], ["人名"]]


def _reference(model, vocab, ids, grammar, n):
    """The old decoder's semantics, one prompt alone, from scratch: full logits every step,
    argmax over the grammar's allowed ids, log-probability from the full softmax."""
    out, lps, state = [], [], grammar.initial() if grammar else None
    eos = model.generation_config.eos_token_id
    eos = [eos] if isinstance(eos, int) else list(eos)
    with torch.no_grad():
        for t in range(n):
            logits = model(input_ids=torch.tensor([ids + out])).logits[0, -1].float()
            logp = torch.log_softmax(logits, -1)
            if grammar is not None:
                allowed = grammar.allowed(state)
                if grammar.can_end(state) or not allowed:
                    allowed = allowed | set(eos)
                masked = torch.full_like(logits, float("-inf"))
                idx = torch.tensor(sorted(allowed))
                masked[idx] = logits[idx]
                tok = int(torch.argmax(masked))
            else:
                tok = int(torch.argmax(logits))
            out.append(tok)
            lps.append(float(logp[tok]))
            if tok in eos:
                break
            if grammar is not None:
                state = grammar.advance(state, vocab.bytes[tok], t)
    return out, lps


@pytest.mark.parametrize("arch_dir", ["tiny_bloom_dir", "tiny_gemma3_dir"])
def test_shared_prefixes_and_continuous_batching_equal_each_prompt_alone(request, arch_dir):
    """Chunks x label groups share their chunk's prefix, decoded 3 rows at a time (rows leave
    and join between steps): the same tokens as the old full-logits decoder on each prompt
    alone, and the same log-probability wherever one is kept (values and their closing
    tokens: what confidence is made of)."""
    from extractor.constraints import Grammar, TextIndex
    from extractor.decoding import Request
    from extractor.vocab import TokenBytes

    lm = _load(request.getfixturevalue(arch_dir))
    model, tok = lm.model, lm.tokenizer
    vocab = TokenBytes(tok)
    dec = GreedyDecoder(model, tok, vocab)
    reqs = []
    for c, chunk in enumerate(CHUNKS):
        index = TextIndex(chunk, vocab)
        for labels in LABEL_GROUPS:
            ids = tok(build_prompt(chunk, labels))["input_ids"]
            reqs.append(Request(ids, Grammar(labels, index), 20, group=c, key=len(reqs)))
        ids = tok(build_prompt(chunk, ["咨询", "投诉"], "分类"))["input_ids"]
        reqs.append(
            Request(
                ids, Grammar(["咨询", "投诉"], None, classify=True).bind(vocab), 6, group=c, key=len(reqs)
            )
        )
        reqs.append(
            Request(tok(build_prompt(chunk, ["人名"]))["input_ids"], None, 10, group=c, key=len(reqs))
        )
    got = {req.key: gen for req, gen in dec.run(reqs, max_batch=3)}
    assert dec.stats["shared_tokens"] > 0, "the chunk prefixes must really be shared"
    spans_checked = 0
    for req in reqs:
        ref_ids, ref_lps = _reference(model, vocab, req.ids, req.grammar, req.max_new_tokens)
        gen = got[req.key]
        assert gen.token_ids == ref_ids, req.key
        kept = [k for k, lp in enumerate(gen.logprobs) if lp == lp]
        for k in kept:
            assert gen.logprobs[k] == pytest.approx(ref_lps[k], abs=1e-4)
        if req.grammar is None or req.grammar.classify:
            assert len(kept) == len(gen.token_ids)
        else:
            found, _, _ = req.grammar.finish(gen.state, len(gen.token_ids))
            for f in found:
                last = min(f.last_token, len(gen.logprobs) - 1)
                assert set(range(f.first_token, last + 1)) <= set(kept)
                spans_checked += 1
    assert spans_checked >= 5


def test_logits_of_the_head_rows_equal_the_models(tiny_gemma3_dir):
    from extractor.decoding import _Head

    lm = _load(tiny_gemma3_dir)
    ids = lm.tokenizer(PROMPTS[0], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = lm.model.base_model(input_ids=ids).last_hidden_state[0, -1]
        logits = lm.model(input_ids=ids).logits[0, -1].float()
    head = _Head(lm.model)
    assert torch.allclose(head.full(hidden[None])[0], logits, atol=1e-5)
    pick = torch.tensor([3, 17, 42])
    assert torch.allclose(head.rows(hidden, pick), logits[pick], atol=1e-5)
