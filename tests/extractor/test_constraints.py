"""The output grammar: exact allowed sets, exact offsets, and what random models can write."""

import random

import pytest

from extractor.constraints import Grammar, TextIndex
from extractor.vocab import TokenBytes

TEXT = "甲方：北京云杉科技有限公司，乙方：Nokia上海分公司，None of them。签约日期2023年9月12日"
LABELS = ["甲方", "乙方", "签约日期", "Name"]


@pytest.fixture(scope="module")
def vocab(tiny_tokenizer):
    return TokenBytes(tiny_tokenizer)


def feed(grammar, state, data: bytes, t=0):
    """Advance byte by byte (each byte its own step) and return the state."""
    for k, b in enumerate(data):
        state = grammar.advance(state, bytes([b]), t + k)
        assert state, f"rejected at byte {k} of {data!r}"
    return state


def spans_of(grammar, state, index):
    found, _, complete = grammar.finish(state, 999)
    assert complete
    return [
        (grammar.labels[f.label], index.text[index.char_at[f.start] : index.char_at[f.end]]) for f in found
    ]


def test_answer_with_tabs_none_and_comma_separators(vocab):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    out = "甲方: 北京云杉科技有限公司\t上海分公司\n乙方: None\n签约日期: 2023年9月12日，北京云杉".encode()
    st = feed(g, g.initial(), out)
    assert g.can_end(st)
    assert spans_of(g, st, idx) == [
        ("甲方", "北京云杉科技有限公司"),
        ("甲方", "上海分公司"),
        ("签约日期", "2023年9月12日"),
        ("签约日期", "北京云杉"),
    ]


def test_none_is_preferred_but_a_value_starting_with_N_is_possible(vocab):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    st = feed(g, g.initial(), "乙方: None".encode())
    assert spans_of(g, st, idx) == []  # the word None
    st = feed(g, g.initial(), "乙方: None of them".encode())
    assert spans_of(g, st, idx) == [("乙方", "None of them")]
    st = feed(g, g.initial(), "乙方: Nokia上海分公司".encode())
    assert spans_of(g, st, idx) == [("乙方", "Nokia上海分公司")]


def test_full_width_comma_inside_a_value_continues_it(vocab):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    st = feed(g, g.initial(), "甲方: 有限公司，乙方".encode())
    # both readings are alive; the preferred one keeps the verbatim span whole
    assert spans_of(g, st, idx) == [("甲方", "有限公司，乙方")]


@pytest.mark.parametrize(
    "bad",
    [
        "丙方: 北京",  # label not requested
        "甲方: 北京市",  # not in the text
        "甲方: 北京\n甲方: 上海",  # a label twice
        "甲方: \t北京",  # empty value
        "甲方: 北京\n\n",  # empty line
    ],
)
def test_rejected_outputs(vocab, bad):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    st = g.initial()
    for k, b in enumerate(bad.encode()):
        st = g.advance(st, bytes([b]), k)
        if not st:
            return
    assert not g.can_end(st), f"{bad!r} was accepted"


def test_a_repeated_value_ends_the_line(vocab):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    st = feed(g, g.initial(), "甲方: 北京\t北京".encode())
    assert not g.advance(st, b"\t", 99) and not g.advance(st, "，".encode(), 99)
    st = feed(g, st, "\n乙方: 上海".encode())
    assert spans_of(g, st, idx) == [("甲方", "北京"), ("甲方", "北京"), ("乙方", "上海")]


def test_a_value_cannot_end_inside_a_character(vocab):
    idx = TextIndex(TEXT, vocab)
    g = Grammar(LABELS, idx)
    half = "甲方: 北京云".encode()[:-1]  # last character cut after 2 of its 3 bytes
    st = feed(g, g.initial(), half)
    assert not g.can_end(st)
    assert not g.advance(st, b"\t", 99)


def test_classification_grammar(vocab):
    g = Grammar(["咨询", "投诉", "求助"], None, classify=True).bind(vocab)
    st = feed(g, g.initial(), "投诉".encode())
    assert g.can_end(st)
    assert g.finish(st, 9)[1] == [1]
    assert not g.advance(st, b"\t", 9)  # single label
    multi = Grammar(["咨询", "投诉", "求助"], None, classify=True, multi_label=True).bind(vocab)
    st = feed(multi, multi.initial(), "投诉\t咨询".encode())
    assert multi.finish(st, 9)[1] == [1, 0]
    assert not multi.advance(multi.initial(), "建议".encode(), 0)
    # the fast allowed() walk agrees with a brute-force check in the classifier too
    for state in (multi.initial(), st, feed(multi, multi.initial(), "投".encode())):
        assert multi.allowed(state) == _brute_allowed(multi, state, vocab)


def _brute_allowed(g, state, vocab):
    return {tid for tid, b in enumerate(vocab.bytes) if b and g.advance(state, b, 0)}


@pytest.mark.parametrize("seed", range(6))
def test_allowed_equals_brute_force_over_the_whole_vocabulary(vocab, seed):
    """On random walks through the grammar, allowed() is exactly the set of tokens that
    advance() accepts: the fast candidate walk misses nothing and adds nothing."""
    rng = random.Random(seed)
    text = TEXT if seed % 2 == 0 else "Party A: Acme Corp. signed on Sep 12, 2023; Party B: None.\tTab"
    labels = LABELS if seed % 2 == 0 else ["Party A", "Party B", "date"]
    idx = TextIndex(text, vocab)
    g = Grammar(labels, idx)
    state = g.initial()
    for t in range(40):
        allowed = g.allowed(state)
        assert allowed == _brute_allowed(g, state, vocab), f"step {t}"
        if not allowed:
            assert g.can_end(state)
            break
        tid = rng.choice(sorted(allowed))
        state = g.advance(state, vocab.bytes[tid], t)
        assert state


def test_random_models_only_write_substrings_and_requested_labels(tiny_tokenizer, vocab):
    from extractor.decoding import GreedyDecoder
    from extractor.prompt import build_prompt
    from extractor.tiny import build_model

    texts = [
        TEXT,
        "Party A: Acme Corp. signed on Sep 12, 2023; Party B: Globex Ltd.",
        "市民王女士来电反映垃圾无人清运",
    ]
    for seed in range(4):
        model = build_model(tiny_tokenizer, arch="bloom" if seed % 2 else "llama", seed=seed)
        dec = GreedyDecoder(model, tiny_tokenizer, vocab)
        grammars, prompts = [], []
        for text in texts:
            idx = TextIndex(text, vocab)
            grammars.append(Grammar(LABELS, idx))
            prompts.append(build_prompt(text, LABELS))
        outs = dec.generate_text(prompts, grammars, max_new_tokens=40)
        for text, g, out in zip(texts, grammars, outs):
            written = b"".join(vocab.bytes[t] for t in out.token_ids if vocab.bytes[t]).decode(
                "utf-8", "replace"
            )
            for line in written.split("\n"):
                if line:
                    assert line.split(":")[0] in LABELS
            found, _, _ = g.finish(out.state, len(out.token_ids))
            for f in found:
                idx = g.index
                cs, ce = idx.char_at[f.start], idx.char_at[f.end]
                value = text[cs:ce]
                assert value and value in text and text[cs:ce] == value


def test_a_free_text_value_ends_on_a_phrase_boundary_and_balances_its_brackets(vocab):
    """``协商不成的`` is half a clause: a free-text value may not close right after 的 (or of,
    the, and ...) nor inside a bracket; it can go on to the clause's end.  Typed values are
    the recognizer's spans and keep their own rule."""
    text = "争议解决：协商不成的，提交北京仲裁委员会（北京）仲裁。Governing law: the laws of the State of New York."
    idx = TextIndex(text, vocab)
    g = Grammar(["争议解决", "适用法律"], idx)
    st = feed(g, g.initial(), "争议解决: 协商不成的".encode())
    assert not g.can_end(st) and not g.advance(st, b"\n", 99)  # cannot close after 的
    st = feed(g, st, "，提交北京仲裁委员会（北京）".encode())
    st = feed(g, st, "\n适用法律: the laws of the State of New York".encode())
    assert g.can_end(st)
    assert spans_of(g, st, idx) == [
        ("争议解决", "协商不成的，提交北京仲裁委员会（北京）"),
        ("适用法律", "the laws of the State of New York"),
    ]
    st = feed(g, g.initial(), "争议解决: 北京仲裁委员会（北京".encode())
    assert not g.can_end(st)  # inside the bracket
    st = feed(g, g.initial(), "适用法律: the laws of".encode())
    assert not g.can_end(st)
    purpose = TextIndex("用途：用于研发目的。", vocab)  # 目的 is a word: it may end a value
    g2 = Grammar(["用途"], purpose)
    assert g2.can_end(feed(g2, g2.initial(), "用途: 用于研发目的".encode()))
