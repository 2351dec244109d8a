"""Typed values: the spans each field type accepts, and a grammar that only writes those."""

import random

import pytest

from extractor.recognize import candidate_spans
from extractor.schema import Field, Schema

TEXT = (
    "采购合同 编号CG-2024-0315\n甲方：北京云杉数据科技有限公司，联系电话010-82561234，手机13812345678。\n"
    "合同金额：人民币壹佰贰拾万元整（¥1,200,000.00），首付30%，约30万元。签约日期：2024年3月15日，"
    "验收于2025年3月31日前完成，3月中旬发货。Signed on March 1, 2024. 身份证号11010519491231002X。项目阶段：验收。"
)


def _values(spec, text=TEXT):
    field = Field.parse(spec)
    spans = candidate_spans(field, text)
    return None if spans is None else {text[a:b] for a, b in spans}


def test_dates_are_whole_dates_never_labels_or_names():
    got = _values("签约日期")
    assert {"2024年3月15日", "2025年3月31日", "March 1, 2024", "3月15日"} <= got
    assert not any("签约" in v or "公司" in v or "：" in v for v in got)
    assert "2024-0315" not in got and "2024-03" not in got  # a contract number is not a date
    assert "2024年3月1" not in got  # never cut inside a number


def test_amounts_say_they_are_amounts():
    got = _values("合同金额")
    assert {
        "人民币壹佰贰拾万元整",
        "¥1,200,000.00",
        "约30万元",
        "人民币壹佰贰拾万元整（¥1,200,000.00）",
    } <= got
    assert not {"2024", "3", "1,200", "¥1,200", "000.00"} & got


def test_phones_ids_percents_choices_and_codes():
    assert {"010-82561234", "13812345678"} <= _values("联系电话")
    assert "(025) 4804 1936" in _values("联系电话", "Tel: (025) 4804 1936, fax 4804 1937")
    assert _values("身份证号") == {"11010519491231002X"}
    assert (
        _values("身份证号", TEXT.replace("11010519491231002X", "110105194912310021")) == set()
    )  # bad check digit
    assert "30%" in _values("首付比例(百分比)")
    assert _values("项目阶段(立项/招标/实施/验收)") == {"验收"}
    codes = _values("合同编号(12位)")
    assert (
        "CG-2024-0315" in codes
        and all(len(c) == 12 for c in codes)
        and "北京云杉数据科技有限公司" not in codes
    )
    assert _values("甲方") is None and _values("备注") is None  # free text: any span


def test_counts_keep_their_unit_and_stay_one_number():
    """docgen writes 数量 as ``2台`` / ``5 units``: a count field may end on its counting unit
    (typed 数量 scored 0.0 F1 on held-out documents when only ``2`` was allowed)."""
    table = "笔记本电脑 | 2台 | 4,383.5\n千兆交换机 | 1台 | 1,857.5"
    assert _values("数量", table) == {"2", "2台", "1", "1台"}
    assert {"5", "5 units"} <= _values("数量", "Quantity: 5 units; Unit price 20")
    got = _values("人数", "共5台2箱，约30余人，1,200人次，4-year-old")
    assert {"约30余人", "1,200人次", "5台", "4-year-old"} <= got
    assert not {"5台2", "5台2箱", "台", "1,2"} & got  # one number per value, never a unit alone


def test_typed_grammar_writes_only_candidates_or_none(tiny_tokenizer):
    """Random walks through the grammar: every value of the typed label is a candidate span."""
    from extractor.constraints import Candidates, Grammar, TextIndex
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(tiny_tokenizer)
    index = TextIndex(TEXT, vocab)
    field = Field.parse("签约日期")
    allowed_spans = set(candidate_spans(field, TEXT))
    cands = {0: Candidates.from_chars(index, allowed_spans)}
    rng = random.Random(1)
    typed = free = 0
    for _ in range(60):
        grammar = Grammar(["签约日期", "甲方"], index, candidates=cands)
        state = grammar.initial()
        for t in range(40):
            allowed = sorted(grammar.allowed(state))
            if not allowed or (grammar.can_end(state) and rng.random() < 0.15):
                break
            state = grammar.advance(state, vocab.bytes[rng.choice(allowed)], t)
            assert state
        found, _, _ = grammar.finish(state, 40)
        for f in found:
            span = (index.char_at[f.start], index.char_at[f.end])
            if f.label == 0:
                assert span in allowed_spans, TEXT[span[0] : span[1]]
                typed += 1
            else:
                free += 1
    assert typed >= 10 and free >= 10


def test_engine_typed_fields_take_only_values_of_their_type(tiny_extractor):
    schema = Schema.parse("签约日期,合同金额,甲方")
    allowed = {
        f.name: {TEXT[a:b] for a, b in candidate_spans(f, TEXT)} for f in schema.fields if f.name != "甲方"
    }
    typed = tiny_extractor.extract(TEXT, schema)
    for name, spans in allowed.items():
        assert all(s.text in spans for s in typed.values[name]), (name, [s.text for s in typed.values[name]])
    tiny_extractor.typed = False
    try:
        free = tiny_extractor.extract(TEXT, schema)
    finally:
        tiny_extractor.typed = True
    # the untrained demo model writes random spans when nothing stops it
    loose = [s.text for n in allowed for s in free.values[n] if s.text not in allowed[n]]
    assert loose, "without types the random model should have written a non-date or non-amount"


@pytest.mark.parametrize("spec", ["签约日期", "合同金额", "联系电话"])
def test_candidates_are_fast_and_cached(spec):
    import time

    field = Field.parse(spec)
    long_text = TEXT * 20
    t0 = time.perf_counter()
    first = candidate_spans(field, long_text)
    t1 = time.perf_counter()
    again = candidate_spans(Field.parse(spec), long_text)
    t2 = time.perf_counter()
    assert first == again and (t2 - t1) < max(0.01, (t1 - t0) / 5)


def test_a_limit_is_never_cut_into_its_opposite():
    text = "本合同金额不超过5万元，另付约3万元。"
    got = _values("合同金额", text)
    assert "不超过5万元" in got and "5万元" in got and "约3万元" in got
    assert not any(v.startswith("超过") for v in got)  # 不超过 (at most) never read as 超过 (more than)
