"""The extractor end to end on tiny random models: what it guarantees whatever the weights."""

import math

import pytest

from extractor.engine import ExtractionError, Extractor
from extractor.schema import Schema

DOC = (
    "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。"
    "本合同于2023年9月12日签订，联系人张伟，电话13812345678。"
)
FIELDS = "甲方,乙方,合同金额,签约日期(YYYY-MM-DD),联系人,电话,项目阶段(立项/招标/实施/验收),备注"


def check_result(text, result, schema):
    names = {f.name for f in schema.extraction_fields}
    assert set(result.values) == names
    for field, spans in result.values.items():
        for s in spans:
            assert s.field == field
            assert text[s.start : s.end] == s.text, "offsets must point at the verbatim value"
            assert s.text == s.text.strip() and s.text
            assert 0.0 < s.confidence <= 1.0


def test_values_are_verbatim_spans_with_offsets(tiny_extractor):
    schema = Schema.parse(FIELDS)
    result = tiny_extractor.extract(DOC, schema)
    check_result(DOC, result, schema)
    # 8 fields at 6 labels per prompt = 2 prompts for the single chunk
    assert result.prompts == 2 and result.chunks == 1
    assert sum(len(v) for v in result.values.values()) > 0, "the random model should write something"


def test_batch_equals_one_by_one(tiny_extractor):
    schema = Schema.parse(FIELDS)
    texts = [DOC, "Party A: Acme Corp. Party B: Globex Ltd. signed on September 12, 2023.", "短"]
    batch = tiny_extractor.extract_batch(texts, schema)
    for text, res in zip(texts, batch):
        single = tiny_extractor.extract(text, schema)
        # same values and offsets; confidences equal up to float noise from padding
        assert _shape(res) == _shape(single)
        for a, b in zip(_confs(res), _confs(single)):
            assert a == pytest.approx(b, rel=1e-4)


def _shape(res):
    return {k: [(s.text, s.start, s.end) for s in v] for k, v in res.values.items()}


def _confs(res):
    return [s.confidence for v in res.values.values() for s in v]


def test_long_documents_are_chunked_and_merged(tiny_bloom_dir):
    ex = Extractor.load(str(tiny_bloom_dir), device="cpu", max_prompt_tokens=160, overlap=16)
    schema = Schema.parse("甲方,乙方,电话")
    text = DOC * 14
    result = ex.extract(text, schema)
    assert result.chunks > 3
    check_result(text, result, schema)
    seen = [(s.field, s.text) for spans in result.values.values() for s in spans]
    assert len(seen) == len(set(seen)), "a value found by several chunks is kept once"


def test_threshold_moves_low_confidence_values_to_dropped(tiny_extractor):
    loose = tiny_extractor.extract(DOC, Schema.parse("甲方,乙方,电话"))
    kept = [s for spans in loose.values.values() for s in spans]
    assert kept, "need some values to threshold"
    cut = sorted(s.confidence for s in kept)[len(kept) // 2]
    strict = Schema.from_dict({"fields": [{"name": n, "threshold": cut} for n in ("甲方", "乙方", "电话")]})
    res = tiny_extractor.extract(DOC, strict)
    assert all(s.confidence >= cut for spans in res.values.values() for s in spans)
    assert res.dropped and all(s.confidence < cut for s in res.dropped)


def test_classification_returns_one_of_the_choices(tiny_extractor, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "fields:\n  - 申请人\n  - name: 类别\n    type: class\n    choices: [咨询, 投诉, 求助, 建议]\n",
        encoding="utf-8",
    )
    schema = Schema.from_file(path)
    res = tiny_extractor.extract("市民王女士来电反映小区垃圾无人清运，请尽快处理。", schema)
    labels = res.classes["类别"]
    assert len(labels) == 1 and labels[0].label in {"咨询", "投诉", "求助", "建议"}
    assert 0.0 < labels[0].confidence <= 1.0


def test_empty_and_blank_documents(tiny_extractor):
    schema = Schema.parse("甲方,乙方")
    for text in ["", "   \n\t "]:
        res = tiny_extractor.extract(text, schema)
        assert res.values == {"甲方": [], "乙方": []} and res.prompts == 0 and res.chunks == 0


def test_non_text_input_is_an_error(tiny_extractor):
    with pytest.raises(ExtractionError):
        tiny_extractor.extract_batch([None], Schema.parse("甲方"))


def test_labels_too_long_for_the_window(tiny_bloom_dir):
    ex = Extractor.load(str(tiny_bloom_dir), device="cpu", max_prompt_tokens=64)
    with pytest.raises(ExtractionError, match="no room for text"):
        ex.extract(DOC, Schema.parse(",".join(f"非常长的字段名称第{i}号" for i in range(6))))


def test_unconstrained_mode_drops_what_is_not_in_the_text(tiny_extractor):
    schema = Schema.parse("甲方,乙方")
    res = tiny_extractor.extract(DOC, schema, constrained=False)
    check_result(DOC, res, schema)


def test_confidence_is_the_geometric_mean_of_token_probabilities():
    assert Extractor._geo_mean([math.log(0.5), math.log(0.5)]) == pytest.approx(0.5)
    assert Extractor._geo_mean([math.log(0.9), math.log(0.1)]) == pytest.approx(0.3)
    assert Extractor._geo_mean([]) == 0.0


def test_llama_architecture_works_too(tiny_llama_dir):
    ex = Extractor.load(str(tiny_llama_dir), device="cpu")
    schema = Schema.parse(FIELDS)
    check_result(DOC, ex.extract(DOC, schema), schema)


@pytest.mark.slow
def test_compiled_model_extracts_the_same_values(tiny_bloom_dir):
    """torch.compile (inductor) path: same spans as eager; needs a C compiler, ~1 min on 2 cores."""
    eager = Extractor.load(str(tiny_bloom_dir), device="cpu")
    compiled = Extractor.load(str(tiny_bloom_dir), device="cpu", compile=True)
    assert compiled.info["compiled"]
    schema = Schema.parse("甲方,乙方,电话")
    texts = [DOC, DOC[:30]]
    a, b = eager.extract_batch(texts, schema), compiled.extract_batch(texts, schema)
    assert [_shape(r) for r in a] == [_shape(r) for r in b]


def test_fields_as_a_string_or_a_list(tiny_extractor):
    from extractor.schema import Schema

    text = "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。"
    ref = tiny_extractor.extract(text, Schema.parse("甲方,乙方"))
    for fields in ("甲方,乙方", ["甲方", "乙方"], "甲方，乙方"):
        got = tiny_extractor.extract(text, fields)
        assert {k: [(s.text, s.start) for s in v] for k, v in got.values.items()} == {
            k: [(s.text, s.start) for s in v] for k, v in ref.values.items()
        }
