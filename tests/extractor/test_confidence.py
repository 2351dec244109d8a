"""One value per one-value field, decided with the model's own scores, and a confidence that
is a probability: the option scoring (teacher forcing), the joint assignment, the
calibrator, and the engine end to end with scripted and tiny models."""

from __future__ import annotations

import math

import pytest
import torch

from extractor.confidence import (
    Calibrator,
    Option,
    assign,
    family_of,
    multi_features,
    normalized,
    single_features,
)
from extractor.schema import Field, Schema

from .scripted import scripted_extractor

CONTRACT = "借款合同\n出借人：北京云杉科技有限公司\n借款人：上海海岳贸易有限公司\n签订日期：2024年3月1日\n"


# ------------------------------------------------------------------ teacher forcing
def test_scores_equal_a_full_forward_and_share_the_chunk_prefix(tiny_extractor):
    """``GreedyDecoder.score`` gives every target token the log-probability a plain forward
    pass over the whole sequence gives it, whichever requests share a prefix or a batch;
    the end mass is the log of the summed probability of the end ids."""
    from extractor.decoding import ScoreRequest

    ex = tiny_extractor
    tok, model = ex.tokenizer, ex.model
    prompts = [f"输入: {CONTRACT}\n抽取: {lab}\n输出: [GEN]" for lab in ("出借人", "借款人")]
    reqs = []
    for i, p in enumerate(prompts):
        for value in ("北京云杉科技有限公司", "None", "上海海岳贸易有限公司"):
            ids = tok(p)["input_ids"]
            target = tok(f" {value}", add_special_tokens=False)["input_ids"]
            reqs.append(ScoreRequest(ids, target, group="chunk", key=(i, value), end=(5, 7, 11)))
    before = ex.decoder.stats["prefill_tokens"]
    got = {r.key: lps for r, lps in ex.decoder.score(reqs, max_batch=2)}
    shared_saving = sum(len(r.ids) + len(r.target) for r in reqs) - (
        ex.decoder.stats["prefill_tokens"] - before
    )
    assert shared_saving > 0  # the common prefix was prefilled once
    for r in reqs:
        seq = torch.tensor([r.ids + r.target])
        with torch.no_grad():
            lsm = torch.log_softmax(model(seq).logits[0].float(), -1)
        want = [float(lsm[len(r.ids) - 1 + t, r.target[t]]) for t in range(len(r.target))]
        want.append(float(torch.logsumexp(lsm[len(r.ids) - 1 + len(r.target), list(r.end)], 0)))
        assert got[r.key] == pytest.approx(want, abs=1e-4)


def test_scoring_reuses_the_caches_decoding_kept_and_gives_the_same_scores(tiny_extractor):
    """With ``keep_prefixes``, decoding keeps each prompt's cache (shared prefixes and lone
    prompts) and ``score`` starts from the longest kept prefix of its own prompts instead of
    prefilling the chunk again; the log-probabilities are those of a fresh prefill."""
    from extractor.decoding import Request, ScoreRequest

    ex = tiny_extractor
    tok, dec = ex.tokenizer, ex.decoder
    chunk = f"输入: {CONTRACT}\n抽取: "
    decode = [
        tok(f"{chunk}出借人，借款人\n输出: [GEN]")["input_ids"],
        tok(f"{chunk}签订日期\n输出: [GEN]")["input_ids"],
    ]
    alone = tok(f"输入: {CONTRACT}。\n抽取: 出借人\n输出: [GEN]")[
        "input_ids"
    ]  # a lone prompt of another chunk

    def score_requests():
        reqs = []
        for lab in ("出借人", "借款人"):
            ids = tok(f"{chunk}{lab}\n输出: [GEN]")["input_ids"]
            for value in ("北京云杉科技有限公司", "None"):
                target = tok(f" {value}", add_special_tokens=False)["input_ids"]
                reqs.append(ScoreRequest(ids, target, group="c", key=(lab, value), end=(5, 7)))
        target = tok(" None", add_special_tokens=False)["input_ids"]
        reqs.append(ScoreRequest(alone[:-2], target, group="lone", key="lone"))
        return reqs

    start = dec.stats["prefill_tokens"]
    fresh = {r.key: lps for r, lps in dec.score(score_requests())}
    cost_fresh = dec.stats["prefill_tokens"] - start
    dec.keep_prefixes = 64 * 2**20
    try:
        reqs = [Request(ids, None, 2, group="c", key=i) for i, ids in enumerate(decode)]
        reqs.append(Request(alone, None, 2, key="lone"))
        list(dec.run(reqs))
        assert len(dec._prefixes) == 2  # the chunk's shared prefix, the lone prompt
        before, reused = dec.stats["prefill_tokens"], dec.stats["reused_tokens"]
        again = {r.key: lps for r, lps in dec.score(score_requests())}
        cost_again = dec.stats["prefill_tokens"] - before
    finally:
        dec.keep_prefixes = 0
        dec.clear_prefixes()
    assert dec.stats["reused_tokens"] - reused >= len(tok(chunk)["input_ids"]) - 1
    assert cost_again < cost_fresh / 2  # the chunks were not prefilled again
    assert again.keys() == fresh.keys()
    for k in fresh:
        assert again[k] == pytest.approx(fresh[k], abs=1e-4)


def test_the_engine_decides_the_same_with_and_without_kept_caches(tiny_extractor, monkeypatch):
    import extractor.engine as engine

    schema = "出借人, 借款人, 签订日期"
    with_kept = tiny_extractor.extract(CONTRACT, schema).to_dict()
    monkeypatch.setattr(engine, "KEEP_PREFIX_BYTES", 0)
    without = tiny_extractor.extract(CONTRACT, schema).to_dict()

    def rounded(d):
        return {
            k: [(v["text"], v["start"], v["end"], round(v["confidence"], 3)) for v in vs]
            for part in ("fields", "alternatives")
            for k, vs in d.get(part, {}).items()
        }

    assert rounded(with_kept) == rounded(without)
    assert not tiny_extractor.decoder._prefixes  # nothing kept once a batch is done


def test_a_restricted_vocabulary_normalizes_every_position_but_the_first(tiny_extractor):
    """With ``restrict``, the first target token is normalized over the whole vocabulary and
    the others over the restricted ids only: never below the true log-probability (a
    partial normalizer is smaller), equal to it when the restriction is the whole vocabulary."""
    from extractor.decoding import ScoreRequest

    ex = tiny_extractor
    tok = ex.tokenizer
    ids = tok(f"输入: {CONTRACT}\n抽取: 出借人\n输出: [GEN]")["input_ids"]
    target = tok(" 2024年3月1日", add_special_tokens=False)["input_ids"]
    assert len(target) >= 3
    full = next(ex.decoder.score([ScoreRequest(ids, target)]))[1]
    everything = tuple(range(len(ex.vocab.bytes)))
    same = next(ex.decoder.score([ScoreRequest(ids, target, restrict=everything)]))[1]
    assert same == pytest.approx(full, abs=1e-4)
    narrow = tuple(sorted(set(tok(CONTRACT, add_special_tokens=False)["input_ids"]) | set(target)))
    part = next(ex.decoder.score([ScoreRequest(ids, target, restrict=narrow)]))[1]
    assert part[0] == pytest.approx(full[0], abs=1e-4)
    assert all(p >= f - 1e-5 for p, f in zip(part[1:], full[1:]))
    assert any(p > f + 1e-3 for p, f in zip(part[1:], full[1:]))  # a random model's mass is everywhere


# ------------------------------------------------------------------ pure decisions
def _opts(field, scores):
    return [Option(field, span, lp, 1) for span, lp in scores.items()]


def test_assign_gives_each_span_to_one_field_with_the_best_total():
    a, b = (0, 5), (6, 11)
    options = {
        "甲方": _opts("甲方", {a: -1.0, b: -3.0, None: -9.0}),
        "乙方": _opts("乙方", {a: -0.5, b: -2.0, None: -9.0}),
    }
    picked = assign(["甲方", "乙方"], options)
    # independent greedy choices would give `a` to both; jointly 甲方=a, 乙方=b (-3) beats the swap (-3.5)
    assert picked["甲方"].span == a and picked["乙方"].span == b


def test_assign_leaves_a_field_empty_when_none_scores_best_and_finds_the_optimum():
    import itertools
    import random

    rng = random.Random(3)
    spans = [(i, i + 1) for i in range(4)]
    fields = ["f1", "f2", "f3"]
    for _ in range(50):
        options = {
            f: _opts(f, {**{s: rng.uniform(-8, 0) for s in spans}, None: rng.uniform(-8, 0)}) for f in fields
        }
        picked = assign(fields, options)
        total = sum(o.logprob for o in picked.values())
        best = -math.inf
        for combo in itertools.product(*[options[f] for f in fields]):
            used = [o.span for o in combo if o.span is not None]
            if len(used) == len(set(used)):
                best = max(best, sum(o.logprob for o in combo))
        assert total == pytest.approx(best)
        used = [o.span for o in picked.values() if o.span is not None]
        assert len(used) == len(set(used))


def test_families_and_one_value_fields():
    assert family_of("date", "签约日期") == family_of("date", "结束日期") == "date"
    assert (
        family_of("text", "出借人") == family_of("text", "借款人") == family_of("text", "Party A") == "role"
    )
    assert family_of("text", "争议解决") != family_of("text", "适用法律")
    assert not Field.parse("甲方").is_multiple and not Field.parse("合同金额").is_multiple
    assert Field.parse("人名").is_multiple and Field.parse("person").is_multiple
    assert Field.parse("parties").is_multiple and Field.parse("付款节点(多个)").is_multiple
    assert Field("甲方", multiple=True).is_multiple and not Field("人名", multiple=False).is_multiple
    schema = Schema.parse("甲方, 付款节点, 付款金额", records=["付款: 付款节点, 付款金额"])
    assert [schema.is_multiple(f) for f in schema.fields] == [False, True, True]  # record fields hold several
    back = Schema.from_dict(schema.to_dict())
    assert [f.multiple for f in back.fields] == [None, None, None]
    assert Field.from_dict(Field("乙方", multiple=False, threshold=0.7).to_dict()).multiple is False


def test_normalized_probability_and_features():
    own = _opts("甲方", {(0, 3): math.log(0.6), (4, 7): math.log(0.2), None: math.log(0.2)})
    assert normalized(own, own[0]) == pytest.approx(0.6)
    f = single_features(own[0], own, [math.log(0.01)], 0.99)
    assert f["margin_none"] == pytest.approx(math.log(3)) and f["margin_next"] == pytest.approx(math.log(3))
    assert f["margin_role"] == pytest.approx(math.log(60))
    assert multi_features([-0.1, -0.2, math.nan], 1)["later_value"] == 1.0


def test_calibrator_round_trip_and_type_intercepts():
    cal = Calibrator(single={"weights": {"logit_p": 1.0}, "bias": {"text": 0.0, "date": -2.0}}, threshold=0.6)
    back = Calibrator.from_dict(cal.to_dict())
    assert back.threshold == 0.6
    assert back.single_probability({"logit_p": 0.0}, "text") == pytest.approx(0.5)
    assert back.single_probability({"logit_p": 0.0}, "date") == pytest.approx(1 / (1 + math.e**2))
    assert back.multi_probability({}, "text") is None  # no many-value model: the engine keeps its own
    assert Calibrator.from_dict({"version": 99}) is None and Calibrator.from_dict(None) is None


# ------------------------------------------------------------------ the engine
def _script(prompt: str) -> str:
    """Greedy (both labels asked at once) doubles the lender; asked alone, each role knows its party."""
    if "抽取: 出借人，借款人" in prompt:
        return "出借人: 北京云杉科技有限公司\n借款人: 北京云杉科技有限公司"
    if "抽取: 出借人" in prompt:
        return "出借人: 北京云杉科技有限公司"
    if "抽取: 借款人" in prompt:
        return "借款人: 上海海岳贸易有限公司"
    if "抽取: 签订日期" in prompt:
        return "签订日期: 2024年3月1日"
    return ""


def test_the_roles_are_decided_together_and_the_doubled_value_becomes_an_alternative(tiny_tokenizer):
    ex, model = scripted_extractor(tiny_tokenizer, _script)
    res = ex.extract(CONTRACT, "出借人,借款人")
    assert [s.text for s in res.values["出借人"]] == ["北京云杉科技有限公司"]
    assert [s.text for s in res.values["借款人"]] == ["上海海岳贸易有限公司"]  # not the lender again
    for spans in res.values.values():
        for s in spans:
            assert CONTRACT[s.start : s.end] == s.text and s.features is not None
            assert s.confidence > 0.99  # the scripted model is sure of these
    alts = res.alternatives["借款人"]
    assert [s.text for s in alts] == ["北京云杉科技有限公司"] and alts[0].confidence < 0.01
    assert (
        "alternatives" in res.to_dict() and res.to_dict()["alternatives"]["借款人"][0]["text"] == alts[0].text
    )
    # greedy prompt (both labels) + the options scored in each label's own prompt
    assert any("抽取: 出借人，借款人" in p for p in model.prompts)


def test_a_calibration_sets_the_confidence_and_answers_none_below_its_threshold(tiny_tokenizer):
    """With a calibration that distrusts everything, a one-value field's value is kept only
    among the dropped ones (the field is answered None), never lost; a field with its own
    threshold keeps it."""
    low = Calibrator(single={"weights": {}, "bias": {"text": -3.0}}, threshold=0.5)
    ex, _ = scripted_extractor(tiny_tokenizer, _script, calibration=low)
    res = ex.extract(CONTRACT, Schema([Field("出借人"), Field("借款人", threshold=0.0)]))
    assert res.values["出借人"] == [] and [s.field for s in res.dropped] == ["出借人"]
    assert res.dropped[0].confidence == pytest.approx(1 / (1 + math.e**3))
    assert [s.text for s in res.values["借款人"]] == ["上海海岳贸易有限公司"]
    assert res.thresholds == {"出借人": 0.5}  # the field with its own threshold keeps it


def test_a_field_assigned_none_answers_a_free_option_the_calibration_is_sure_of(tiny_tokenizer):
    """The model's raw scores prefer None for 结束日期, but whether a value is shown is
    decided on the calibrated scale: an option whose calibrated confidence reaches the
    threshold is answered, unless another field of the family holds it; below the threshold
    the field stays None and the value is an alternative."""
    text = "租赁期限自2024年4月1日起至2025年3月31日止。\n"

    def script(prompt):
        if "抽取: 开始日期，结束日期" in prompt:
            return "开始日期: 2024年4月1日\n结束日期: None"
        if "抽取: 开始日期\n" in prompt:
            return "开始日期: 2024年4月1日"
        if "抽取: 结束日期\n" in prompt:
            return "结束日期: None"
        return ""

    def run(bias):
        cal = Calibrator(single={"weights": {}, "bias": {"date": bias}}, threshold=0.5)
        ex, _ = scripted_extractor(tiny_tokenizer, script, calibration=cal)
        return ex.extract(text, "开始日期,结束日期")

    sure = run(3.0)
    assert [s.text for s in sure.values["开始日期"]] == ["2024年4月1日"]
    assert [s.text for s in sure.values["结束日期"]] == ["2025年3月31日"]  # not 开始日期's date
    assert sure.values["结束日期"][0].confidence == pytest.approx(1 / (1 + math.e**-3))
    unsure = run(-0.5)  # 0.38 < 0.5: None stands, the date is kept as an alternative
    assert unsure.values["结束日期"] == []
    assert "2025年3月31日" in [s.text for s in unsure.alternatives["结束日期"]]


def test_typed_fields_are_offered_every_value_of_their_type(tiny_tokenizer):
    """Greedy decoding left 签订日期 empty and gave the start date the signing date; the date
    family's options are every date of the chunk, so each date field gets the date its own
    prompt prefers."""
    text = "签订日期：2024年3月1日\n租赁期限自2024年4月1日起至2025年3月31日止。\n"

    def script(prompt):
        if "抽取: 签订日期，开始日期，结束日期" in prompt:
            return "签订日期: None\n开始日期: 2024年3月1日\n结束日期: 2025年3月31日"
        for label, value in (
            ("签订日期", "2024年3月1日"),
            ("开始日期", "2024年4月1日"),
            ("结束日期", "2025年3月31日"),
        ):
            if f"抽取: {label}\n" in prompt:
                return f"{label}: {value}"
        return ""

    ex, _ = scripted_extractor(tiny_tokenizer, script)
    res = ex.extract(text, "签订日期,开始日期,结束日期")
    got = {k: [s.text for s in v] for k, v in res.values.items()}
    assert got == {"签订日期": ["2024年3月1日"], "开始日期": ["2024年4月1日"], "结束日期": ["2025年3月31日"]}
    assert res.values["开始日期"][0].normalized == "2024-04-01"


def test_many_value_fields_keep_every_value_and_a_random_model_still_gives_spans(tiny_extractor):
    text = "张伟和李娜在北京与王芳见面，随后去了上海。"
    res = tiny_extractor.extract(text, "人名,地名")
    for spans in res.values.values():
        for s in spans:
            assert text[s.start : s.end] == s.text and 0.0 < s.confidence <= 1.0
    assert res.alternatives == {}  # many-value fields have no alternatives
    one = tiny_extractor.extract(CONTRACT, "出借人,借款人,签订日期")
    for name, spans in one.values.items():
        assert len(spans) <= 1, name  # one value per one-value field
        for s in spans + one.alternatives.get(name, []):
            assert CONTRACT[s.start : s.end] == s.text and 0.0 <= s.confidence <= 1.0
