"""Scoring on hand-made predictions, the evaluate loop on a fake and on a tiny real model."""

import json

import pytest

from extractor.engine import Extractor
from extractor.types import ClassLabel, DocumentResult, Span
from training.evaluate import CLASS_FIELD, Counts, evaluate, prf, score

EXAMPLES = [
    {
        "text": "张伟在北京大学工作",
        "entities": [
            {"label": "PER", "start": 0, "end": 2},
            {"label": "ORG", "start": 3, "end": 7},
        ],
    },
    {"text": "上海下雨", "entities": [{"label": "LOC", "start": 0, "end": 2}]},
    {"text": "今天没事", "entities": []},
]
LABELS = {"PER": "人名", "LOC": "地名", "ORG": "机构名"}
GOLD = [[(e["label"], e["start"], e["end"]) for e in ex["entities"]] for ex in EXAMPLES]


def test_prf_formulas():
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    p, r, f = prf(2, 4, 8)
    assert (p, r) == (0.5, 0.25) and f == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    c = Counts(tp=3, pred=5, gold=4)
    assert (c.fp, c.fn, c.precision, c.recall) == (2, 1, 0.6, 0.75)


def test_perfect_predictions():
    r = score(EXAMPLES, GOLD, LABELS)
    assert (r.overall.tp, r.overall.pred, r.overall.gold) == (3, 3, 3)
    assert r.overall.f1 == 1.0 and r.macro_f1 == 1.0 and r.by_text.f1 == 1.0
    assert all(c.f1 == 1.0 for c in r.per_label.values())
    assert r.examples == 3 and r.characters == 17


def test_partial_predictions():
    preds = [
        [("PER", 0, 2), ("ORG", 3, 5)],  # right; wrong end
        [("PER", 0, 2)],  # right span, wrong label
        [{"label": "LOC", "start": 0, "end": 2}],  # a false positive (dicts accepted too)
    ]
    r = score(EXAMPLES, preds, LABELS)
    o = r.overall
    assert (o.tp, o.pred, o.gold, o.fp, o.fn) == (1, 4, 3, 3, 2)
    assert o.precision == 0.25 and o.recall == pytest.approx(1 / 3)
    assert o.f1 == pytest.approx(2 * 0.25 * (1 / 3) / (0.25 + 1 / 3))
    assert (r.per_label["PER"].tp, r.per_label["PER"].pred, r.per_label["PER"].gold) == (1, 2, 1)
    assert (r.per_label["LOC"].tp, r.per_label["LOC"].pred, r.per_label["LOC"].gold) == (0, 1, 1)
    assert (r.per_label["ORG"].tp, r.per_label["ORG"].pred, r.per_label["ORG"].gold) == (0, 1, 1)
    assert r.macro_f1 == pytest.approx(r.per_label["PER"].f1 / 3)
    d = r.to_dict()
    assert d["overall"]["tp"] == 1 and d["per_label"]["PER"]["asked"] == "人名"
    assert d["counts"]["gold_entities"] == 3 and d["counts"]["predicted_entities"] == 4


def test_no_predictions():
    r = score(EXAMPLES, [[], [], []], LABELS)
    assert (r.overall.tp, r.overall.pred, r.overall.gold) == (0, 0, 3)
    assert (r.overall.precision, r.overall.recall, r.overall.f1) == (0.0, 0.0, 0.0)


def test_duplicate_predictions_count_once():
    preds = [[("PER", 0, 2), ("PER", 0, 2), ("PER", 0, 2)], [], []]
    r = score(EXAMPLES, preds, LABELS)
    assert (r.overall.tp, r.overall.pred) == (1, 1) and r.duplicate_predictions == 2
    assert r.overall.precision == 1.0


def test_by_text_ignores_which_occurrence():
    ex = [{"text": "中国和中国", "entities": [{"label": "LOC", "start": 3, "end": 5}]}]
    r = score(ex, [[("LOC", 0, 2)]], {"LOC": "地名"})
    assert r.overall.tp == 0 and r.by_text.tp == 1 and r.by_text.f1 == 1.0


def test_labels_default_to_those_of_the_examples_and_unasked_gold_is_missed():
    r = score(EXAMPLES, GOLD)
    assert r.label_map == {"PER": "PER", "ORG": "ORG", "LOC": "LOC"}
    r = score(EXAMPLES, GOLD, {"PER": "人名"})
    assert r.overall.gold == 3 and r.per_label["LOC"].gold == 1


def test_classification_accuracy():
    ex = [
        {"text": "a", "entities": [], "labels": ["投诉"]},
        {"text": "b", "entities": [], "labels": ["咨询"]},
        {"text": "c", "entities": [], "labels": ["咨询", "建议"]},
    ]
    r = score(ex, [[], [], []], classes=[["投诉"], [], ["建议", "咨询"]])
    assert (r.class_examples, r.class_correct, r.class_unanswered) == (3, 2, 1)
    assert r.to_dict()["classification"]["accuracy"] == pytest.approx(2 / 3)
    assert "classification accuracy 0.6667" in r.format()


class FakeExtractor:
    """Answers from a fixed table: text -> {asked label: [(start, end)]} and class labels."""

    model_id = "fake"
    batch_size = 2

    def __init__(self, answers, classes=None):
        self.info = {"device": "cpu", "dtype": "float32"}
        self.answers = answers
        self.classes = classes or {}
        self.calls = []

    def extract_batch(self, texts, schema, *, constrained=True):
        self.calls.append((list(texts), [f.prompt_label for f in schema.fields], constrained))
        out = []
        for t in texts:
            values = {f.name: [] for f in schema.extraction_fields}
            for label, bounds in self.answers.get(t, {}).items():
                if label in values:
                    values[label] = [Span(label, t[s:e], s, e, 0.9) for s, e in bounds]
            classes = {f.name: [] for f in schema.classification_fields}
            for f in schema.classification_fields:
                classes[f.name] = [ClassLabel(f.name, c, 0.8) for c in self.classes.get(t, [])]
            out.append(DocumentResult(values=values, classes=classes, prompts=1))
        return out


def test_evaluate_maps_asked_labels_back_batches_and_times():
    fake = FakeExtractor(
        {"张伟在北京大学工作": {"人名": [(0, 2)], "机构名": [(3, 5)]}, "上海下雨": {"地名": [(0, 2)]}}
    )
    seen = []
    r = evaluate(
        fake, EXAMPLES, LABELS, progress=lambda d, t: seen.append((d, t)), meta={"dataset": {"name": "x"}}
    )
    assert [len(c[0]) for c in fake.calls] == [2, 1]  # the extractor's batch_size documents per call
    assert fake.calls[0][1] == ["人名", "地名", "机构名"] and fake.calls[0][2] is True
    assert seen == [(2, 3), (3, 3)]
    assert (r.overall.tp, r.overall.pred, r.overall.gold) == (2, 3, 3)
    assert r.per_label["ORG"].tp == 0 and r.per_label["LOC"].tp == 1
    assert r.prompts == 3 and r.seconds > 0 and r.examples_per_s > 0
    d = r.to_dict()
    assert d["model"] == "fake" and d["constrained"] is True and d["dataset"] == {"name": "x"}
    json.dumps(d)
    evaluate(fake, EXAMPLES, LABELS, batch_size=5, limit=2, constrained=False)
    assert [len(c[0]) for c in fake.calls[2:]] == [2] and fake.calls[2][2] is False


def test_evaluate_label_set_and_classification_groups():
    examples = [
        {"text": "张三投诉", "entities": [{"label": "人名", "start": 0, "end": 2}], "labels": ["投诉"]},
        {"text": "无事", "entities": [], "label_set": ["日期"], "labels": ["咨询"]},
        {"text": "李四", "entities": [{"label": "人名", "start": 0, "end": 2}]},
    ]
    fake = FakeExtractor(
        {"张三投诉": {"人名": [(0, 2)]}, "李四": {"人名": [(0, 2)]}}, {"张三投诉": ["投诉"], "无事": ["投诉"]}
    )
    r = evaluate(fake, examples, batch_size=8)
    asked = sorted((c[0][0], tuple(c[1])) for c in fake.calls)
    assert asked == [
        ("张三投诉", ("人名", "日期", CLASS_FIELD)),
        ("无事", ("日期", CLASS_FIELD)),
        ("李四", ("人名", "日期")),
    ]
    assert r.overall.f1 == 1.0 and (r.class_examples, r.class_correct) == (2, 1)


class NormalizingFake(FakeExtractor):
    """FakeExtractor whose answers carry a normalized value, as the schema gives typed fields."""

    def __init__(self, answers, normalized):
        super().__init__(answers)
        self.normalized = normalized  # answer text -> normalized value

    def extract_batch(self, texts, schema, *, constrained=True):
        out = super().extract_batch(texts, schema, constrained=constrained)
        for res in out:
            for spans in res.values.values():
                for s in spans:
                    s.normalized = self.normalized.get(s.text)
        return out


def test_main_value_right_absent_fields_and_judging_by_normalized_value():
    money = {"amount": "10000.00", "currency": "CNY"}
    text = "价款人民币壹万元整（¥10,000.00），买方张三"
    examples = [
        {  # the amount in words where the gold span is the figures: wrong by text, right by value
            "text": text,
            "entities": [
                {"label": "价款", "start": 10, "end": 20},
                {"label": "买方", "start": 24, "end": 26},
            ],
            "label_set": ["价款", "买方", "日期"],
            "values": [{"label": "价款", "start": 10, "end": 20, "type": "money", "value": money}],
        },
        {  # a value for an absent field (日期), none for the other (买方)
            "text": "买方李四，日期2024年1月2日",
            "entities": [],
            "label_set": ["买方", "日期"],
        },
    ]
    assert text[10:20] == "¥10,000.00" and text[2:9] == "人民币壹万元整"
    fake = NormalizingFake(
        {text: {"价款": [(2, 9)], "买方": [(24, 26)]}, examples[1]["text"]: {"日期": [(7, 16)]}},
        {text[2:9]: money},
    )
    r = evaluate(fake, examples)
    # asked: 价款, 买方, 日期 in the first document; 买方, 日期 in the second
    assert r.asked == 5 and r.absent == 3
    assert r.absent_empty == 2  # 日期 empty in the first; 买方 empty, 日期 answered in the second
    assert r.main_right == 3  # 买方 and 日期 of the first, 买方 of the second (empty, no gold)
    assert r.main_value_right == 4  # ... and the amount, whose normalized value is the gold's
    f = r.to_dict()["calibration"]["fields"]
    assert (f["main_right"], f["main_value_right"], f["absent_empty"]) == (0.6, 0.8, round(2 / 3, 4))
    assert "main value right 0.600 of 5 asked (0.800 by normalized value)" in r.format()
    assert r.overall.tp == 1 and r.overall.pred == 3  # span scores still judge the text


def test_evaluate_needs_something_to_score():
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(FakeExtractor({}), [{"text": "a", "entities": []}])


# ------------------------------------------------------------------ tiny real model


def test_evaluate_with_a_tiny_model_is_consistent(tiny_extractor):
    from extractor.schema import Schema
    from training.datasets import MSRA_LABELS, DatasetError, load_msra

    try:
        examples = load_msra("test", limit=6)
    except DatasetError as exc:  # pragma: no cover
        pytest.skip(str(exc))
    ex = Extractor(tiny_extractor.model, tiny_extractor.tokenizer, max_new_tokens=24, batch_size=4)
    r = evaluate(ex, examples, MSRA_LABELS)
    # the same extract_batch calls, made here, give the counts the report shows
    schema = Schema.parse("人名,地名,机构名")
    got = ex.extract_batch([e["text"] for e in examples[:4]], schema) + ex.extract_batch(
        [e["text"] for e in examples[4:]], schema
    )
    pred = {
        (lab, i, s.start, s.end)
        for i, res in enumerate(got)
        for lab, name in MSRA_LABELS.items()
        for s in res.values[name]
    }
    gold = {(e["label"], i, e["start"], e["end"]) for i, x in enumerate(examples) for e in x["entities"]}
    o = r.overall
    assert (o.pred, o.gold, o.tp) == (len(pred), len(gold), len(pred & gold))
    assert o.pred > 0, "the random model writes spans"
    assert o.precision == (o.tp / o.pred) and o.recall == (o.tp / o.gold if o.gold else 0.0)
    assert sum(c.gold for c in r.per_label.values()) == o.gold
    assert r.prompts == 6 and r.examples == 6 and r.seconds > 0
    d = json.loads(json.dumps(r.to_dict()))
    assert d["counts"]["examples"] == 6 and d["throughput"]["examples_per_s"] > 0
    table = r.format()
    assert "人名" in table and "overall (micro)" in table and "examples/s" in table
