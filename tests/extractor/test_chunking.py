import itertools

import pytest

from extractor.chunking import Chunk, merge_spans, split_text
from extractor.types import Span

SENT = "甲方：北京云杉科技有限公司。乙方：上海海川贸易有限公司，合同金额为人民币壹佰贰拾万元整。This is a sentence. "


def ntok(tok, s):
    return len(tok(s, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("budget,overlap", [(40, 0), (100, 20), (300, 64)])
def test_chunks_fit_the_budget_cover_everything_and_overlap(tiny_tokenizer, budget, overlap):
    text = SENT * 30
    chunks = split_text(text, tiny_tokenizer, budget, overlap)
    assert len(chunks) > 1
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for a, b in itertools.pairwise(chunks):
        assert b.start <= a.end, "a gap would lose text"
        assert b.start > a.start, "chunking must make progress"
        if overlap:
            assert b.start < a.end, "neighbours share text"
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert ntok(tiny_tokenizer, c.text) <= budget


def test_cuts_fall_on_sentence_ends_when_one_is_near(tiny_tokenizer):
    text = SENT * 30
    chunks = split_text(text, tiny_tokenizer, 100, 0)
    enders = ("。", "，", ".", " ")
    assert all(c.text.endswith(enders) for c in chunks[:-1])
    assert sum(c.text.endswith("。") for c in chunks[:-1]) >= len(chunks[:-1]) // 2


def test_short_and_empty_texts_are_one_chunk(tiny_tokenizer):
    assert split_text("短文本", tiny_tokenizer, 100) == [Chunk(0, 3, "短文本")]
    assert split_text("", tiny_tokenizer, 100) == [Chunk(0, 0, "")]
    with pytest.raises(ValueError):
        split_text("x", tiny_tokenizer, 2)


def test_text_without_any_break_is_still_cut_within_budget(tiny_tokenizer):
    text = "齉" * 3000  # one rare character: several byte tokens each, no sentence end at all
    chunks = split_text(text, tiny_tokenizer, 64, 8)
    assert chunks[-1].end == len(text)
    assert all(ntok(tiny_tokenizer, c.text) <= 64 for c in chunks)


def test_a_huge_text_is_cut_in_linear_time(tiny_tokenizer):
    text = SENT * 4000  # ~ 400k characters
    chunks = split_text(text, tiny_tokenizer, 900, 64)
    assert chunks[-1].end == len(text)
    assert len(chunks) > 100


def _s(field, start, end, conf=0.5, text="x"):
    return Span(field=field, text=text, start=start, end=end, confidence=conf)


def test_merge_dedupes_overlap_and_prefers_the_uncut_value():
    a, b = Chunk(0, 100, ""), Chunk(80, 200, "")
    merged = merge_spans(
        [
            (a, [_s("甲方", 10, 20), _s("乙方", 90, 100, 0.9)]),  # 乙方 touches a's cut edge
            (b, [_s("甲方", 150, 160), _s("乙方", 90, 110, 0.4), _s("甲方", 85, 95, 0.7)]),
        ],
        200,
    )
    got = [(s.field, s.start, s.end) for s in merged]
    assert ("乙方", 90, 110) in got and ("乙方", 90, 100) not in got
    assert ("甲方", 10, 20) in got and ("甲方", 150, 160) in got and ("甲方", 85, 95) in got
    assert got == sorted(got, key=lambda g: (g[1], g[2], g[0]))


def test_merge_keeps_one_copy_of_a_value_seen_by_two_chunks():
    a, b = Chunk(0, 100, ""), Chunk(80, 200, "")
    merged = merge_spans([(a, [_s("f", 85, 90, 0.3)]), (b, [_s("f", 85, 90, 0.8)])], 200)
    assert [(s.start, s.end, s.confidence) for s in merged] == [(85, 90, 0.8)]
