"""The engine on the real vocabularies of the packaged bases.

SmolLM2 (byte-level BPE) and Gemma 3 (SentencePiece with byte fallback, 262k pieces) both
write rare Chinese characters as several byte tokens (龘 = 3 tokens, 𠮷 = 4); the
constrained decoder must still write verbatim values with exact character offsets.  Gemma
also lists ``\n``, ``\n\n`` and ``\t`` as added *non-special* tokens: they are text, and the
only way its tokenizer writes a line break.  The tiny-model tests cover the grammar on a
tiny vocabulary; these are the real ones.
"""

import pytest

from extractor.mini import MiniUnavailable

RARE = "𠮷龘鱻䶮彧赟囧曌燚"
TEXT = "龘鱻科技有限公司的法定代表人是王䶮，联系人赵赟；项目在𠮷野家（燚城店）验收，金额¥2,380.00元。"


@pytest.fixture(scope="module", params=["smollm2", "gemma3-270m"])
def base_tokenizer(request):
    from extractor.mini import load_tokenizer

    try:
        tok = load_tokenizer(request.param)
    except MiniUnavailable as exc:
        pytest.skip(f"{request.param} is not installed: {exc}")
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


@pytest.fixture(scope="module")
def gemma_tokenizer():
    from extractor.mini import load_tokenizer

    try:
        return load_tokenizer("gemma3-270m")
    except MiniUnavailable as exc:
        pytest.skip(f"Gemma 3 270M is not installed: {exc}")


def test_the_vocabulary_really_splits_rare_characters(base_tokenizer):
    for ch in "𠮷龘":
        ids = base_tokenizer(ch, add_special_tokens=False)["input_ids"]
        assert len(ids) >= 3, (ch, ids)


def test_scripted_answers_with_split_characters_keep_exact_offsets(base_tokenizer):
    from extractor.engine import Extractor
    from extractor.schema import Schema
    from tests.extractor.scripted import ScriptedLM

    answer = "公司: 龘鱻科技有限公司\n人名: 王䶮\t赵赟\n地点: 𠮷野家（燚城店）\n金额: ¥2,380.00元"
    model = ScriptedLM(base_tokenizer, {"抽取": answer})
    ex = Extractor(model, base_tokenizer, model_id="scripted")
    result = ex.extract(TEXT, Schema.parse("公司,人名,地点,金额"))
    got = {f: [(s.text, s.start, s.end) for s in spans] for f, spans in result.values.items()}
    for field, spans in got.items():
        for text, start, end in spans:
            assert TEXT[start:end] == text, (field, text)
    assert [t for t, _, _ in got["人名"]] == ["王䶮", "赵赟"]
    assert [t for t, _, _ in got["公司"]] == ["龘鱻科技有限公司"] and got["公司"][0][1] == 0
    assert [t for t, _, _ in got["地点"]] == ["𠮷野家（燚城店）"]
    assert got["地点"][0][1] == TEXT.index("𠮷")


def test_random_walks_on_the_real_vocabulary_only_write_verbatim_spans(base_tokenizer):
    """Pick any token the grammar allows, at random, many times: every value read back is a
    verbatim span with exact character offsets, also where tokens end inside a character."""
    import random

    from extractor.constraints import Grammar, TextIndex
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(base_tokenizer)
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


def test_gemma_line_breaks_and_tabs_are_text_tokens(gemma_tokenizer):
    """Gemma's added non-special tokens are literal text, and the grammar names the id the
    tokenizer itself writes (not the ``<0x0A>`` byte fallback with the same bytes)."""
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(gemma_tokenizer)
    for text in ["\n", "\n\n", "\t", " ", "<b>", "甲方"]:
        ids = gemma_tokenizer(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, text
        assert vocab.bytes[ids[0]] == text.encode() and vocab.by_bytes[text.encode()] == ids[0], text
    byte_nl = gemma_tokenizer.convert_tokens_to_ids("<0x0A>")
    assert vocab.bytes[byte_nl] == b"\n" and vocab.by_bytes[b"\n"] != byte_nl
    for tid in gemma_tokenizer.all_special_ids:
        assert vocab.bytes[tid] is None
    text = "甲方：北京云杉科技有限公司\n乙方：上海\t静安置业有限公司"
    ids = gemma_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert b"".join(vocab.bytes[i] for i in ids) == text.encode()


def test_gemma_multi_label_answer_is_written_with_its_own_line_break(gemma_tokenizer):
    """The bug this guards against: with ``\n`` and ``\t`` treated as control tokens the
    grammar could not write a second line or a second value."""
    from extractor.constraints import Grammar, TextIndex
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(gemma_tokenizer)
    text = "甲方：北京云杉科技有限公司，乙方：王䶮、赵赟。"
    grammar = Grammar(["甲方", "人名"], TextIndex(text, vocab))
    answer = "甲方: 北京云杉科技有限公司\n人名: 王䶮\t赵赟"
    state = grammar.initial()
    for t, tid in enumerate(gemma_tokenizer(answer, add_special_tokens=False)["input_ids"]):
        assert tid in grammar.allowed(state), (t, gemma_tokenizer.convert_ids_to_tokens([tid]))
        state = grammar.advance(state, vocab.bytes[tid], t)
    assert grammar.can_end(state)
    found, _, complete = grammar.finish(state, 99)
    data = text.encode()
    assert complete and [data[f.start : f.end].decode() for f in found] == [
        "北京云杉科技有限公司",
        "王䶮",
        "赵赟",
    ]
