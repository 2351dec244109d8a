"""training.calibration: ECE, the report, the fit, saved outcomes, and `seqgpt calibrate`."""

import json
import math
import random
import shutil

import pytest
from click.testing import CliRunner

from extractor.confidence import SINGLE_FEATURES, Calibrator
from seqgpt.cli import main
from training.calibration import (
    Outcome,
    apply_calibration,
    best_threshold,
    calibration_report,
    cross_fitted,
    ece,
    fit_calibration,
    fit_logistic,
    read_outcome_files,
    read_outcomes,
    reliability_bins,
    write_outcomes,
)


def _o(conf, right, **kw):
    return Outcome(kw.pop("field", "f"), kw.pop("type", "text"), kw.pop("multiple", False), conf, right, **kw)


def test_ece_is_the_weighted_gap_per_bin():
    # bin 0.9-1.0: 4 values at 0.95, 2 right (gap 0.45); bin 0.1-0.2: 4 at 0.15, 1 right (gap 0.1)
    outs = [_o(0.95, i < 2) for i in range(4)] + [_o(0.15, i < 1) for i in range(4)]
    assert ece(outs) == pytest.approx(0.5 * 0.45 + 0.5 * 0.10)
    assert ece([]) is None
    bins = reliability_bins(outs)
    assert len(bins) == 10 and sum(b["n"] for b in bins) == 8
    assert ece([_o(1.0, True), _o(0.0, False)]) == pytest.approx(0.0)  # the edges belong to a bin


def test_report_thresholds_count_precision_and_the_right_values_kept():
    outs = [_o(0.95, True), _o(0.8, True), _o(0.6, False), _o(0.3, True), _o(0.2, False, shown=False)]
    rep = calibration_report(outs, {"text": 5})
    all_ = rep["overall"]
    assert all_["values"] == 4 and all_["right"] == 3  # the unshown alternative is not a value the user sees
    at = all_["thresholds"]
    assert at["0.5"]["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert at["0.5"]["right_kept"] == pytest.approx(2 / 3, abs=1e-4)
    assert at["0.9"]["precision"] == 1.0 and at["0.9"]["recall"] == pytest.approx(1 / 5)


def test_fit_logistic_recovers_known_weights():
    rng = random.Random(0)
    rows, labels = [], []
    for _ in range(4000):
        x = rng.uniform(-3, 3)
        rows.append([x, 1.0])
        labels.append(rng.random() < 1 / (1 + math.exp(-(2.0 * x - 1.0))))
    w = fit_logistic(rows, labels, l2=0.01)
    assert w[0] == pytest.approx(2.0, abs=0.25) and w[1] == pytest.approx(-1.0, abs=0.2)


def _synthetic(n=600, seed=1):
    """Answers whose rightness follows their option probability, and mostly-wrong
    alternatives with a low one: fitted on answers alone, the answers come out calibrated."""
    rng = random.Random(seed)
    outs = []
    for i in range(n):
        z = rng.uniform(-2, 3)
        feats = {k: 0.0 for k in SINGLE_FEATURES} | {"logit_p": z}
        outs.append(_o(0.5, rng.random() < 1 / (1 + math.exp(-z)), features=feats, doc=str(i), type="date"))
        alt = {k: 0.0 for k in SINGLE_FEATURES} | {"logit_p": z - 1}
        outs.append(_o(0.1, rng.random() < 0.02, features=alt, doc=str(i), shown=False, type="date"))
    return outs


def test_fit_on_answers_leaves_the_alternatives_out_and_calibrates_the_answers():
    outs = _synthetic()
    answers_fit = fit_calibration(outs, fit_on="answers")
    all_fit = fit_calibration(outs)
    assert all_fit["fit_on"] == "all"
    assert answers_fit["fit_on"] == "answers" and answers_fit["single"]["values"] == 600
    assert all_fit["single"]["values"] == 1200
    assert fit_calibration(outs, fit_on="all")["multi"] == {}  # no many-value outcomes: no model

    def answer_ece(cal):
        c = Calibrator.from_dict(cal)
        held = [o for o in _synthetic(seed=2) if o.shown]
        return ece([_o(c.single_probability(o.features, o.type), o.right) for o in held])

    assert answer_ece(answers_fit) < 0.05 < answer_ece(all_fit)
    with pytest.raises(ValueError, match="fit_on"):
        fit_calibration(outs, fit_on="chosen")


def test_outcomes_round_trip_with_their_meta(tmp_path):
    outs = _synthetic(5)
    p = tmp_path / "o.jsonl"
    assert write_outcomes(p, outs, {"fitted_on": "cal.jsonl", "quantize": "int8"}) == 10
    back, meta = read_outcomes(p)
    assert back == outs and meta == {"fitted_on": "cal.jsonl", "quantize": "int8"}
    write_outcomes(p, outs[:2])
    assert read_outcomes(p) == (outs[:2], {})
    p.write_text(p.read_text() + "[1, 2]\n")
    with pytest.raises(ValueError, match="line 3"):
        read_outcomes(p)


@pytest.fixture
def model_copy(tiny_bloom_dir, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(tiny_bloom_dir, dst)
    return dst


def test_calibrate_from_saved_outcomes_writes_the_card_without_running_a_model(model_copy, tmp_path):
    p = tmp_path / "cal.outcomes.jsonl"
    write_outcomes(p, _synthetic(), {"fitted_on": "cal200.jsonl (200 documents)", "quantize": "int8"})
    res = CliRunner().invoke(
        main,
        ["calibrate", "--from-outcomes", str(p), "--model", str(model_copy), "--threshold", "0.3",
         "--fit-on", "answers", "--group-min", "300"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "fitted on 600 of 1200 values of 600 documents" in res.output and "answers" in res.output
    card = json.loads((model_copy / "card.json").read_text(encoding="utf-8"))
    cal = card["calibration"]
    assert cal["threshold"] == 0.3 and cal["fit_on"] == "answers" and cal["quantize"] == "int8"
    assert cal["group_min"] == 300 and set(cal["single"]["groups"]) == {"date"}
    assert cal["fitted_on"] == "cal200.jsonl (200 documents)" and cal["single"]["values"] == 600
    assert cal["in_sample_ece"]["after"] < cal["in_sample_ece"]["before"]
    assert Calibrator.from_dict(cal).threshold == 0.3
    # the default fits every option (alternatives too), and --dry-run leaves the card as it was
    res = CliRunner().invoke(
        main,
        [
            "calibrate",
            "--from-outcomes",
            str(p),
            "--model",
            str(model_copy),
            "--dry-run",
            "--threshold",
            "0.3",
        ],
    )
    assert res.exit_code == 0 and "fitted on 1200 of 1200" in res.output
    assert '"fit_on": "all"' in res.output and '"group_min": 0' in res.output
    assert json.loads((model_copy / "card.json").read_text(encoding="utf-8"))["calibration"] == cal


def test_outcomes_of_parts_judged_apart_fit_as_one(model_copy, tmp_path):
    outs = _synthetic()
    whole, a, b = (tmp_path / f"{n}.jsonl" for n in ("whole", "a", "b"))
    write_outcomes(whole, outs, {"fitted_on": "cal", "quantize": "int8", "gold_by_group": {"date": 300}})
    half = len(outs) // 2  # documents 0-299 and 300-599
    write_outcomes(
        a, outs[:half], {"fitted_on": "cal_h0", "quantize": "int8", "gold_by_group": {"date": 140}}
    )
    write_outcomes(
        b, outs[half:], {"fitted_on": "cal_h1", "quantize": "int8", "gold_by_group": {"date": 160}}
    )
    merged, meta = read_outcome_files([a, b])
    assert merged == outs and meta["gold_by_group"] == {"date": 300}
    assert meta["fitted_on"] == "cal_h0 + cal_h1" and meta["quantize"] == "int8"

    def fitted(*files):
        args = ["calibrate", "--model", str(model_copy), "--dry-run"]
        for f in files:
            args += ["--from-outcomes", str(f)]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        return json.loads(res.output[res.output.index("{") :])

    one, two = fitted(whole), fitted(a, b)
    assert two["fitted_on"] == "cal_h0 + cal_h1"
    for key in ("single", "threshold", "threshold_choice", "cross_validated_ece"):
        assert two[key] == one[key], key  # the best threshold uses the summed gold count
    # the same document in two files, or two quantizations, do not merge
    write_outcomes(b, outs[half - 2 :], {"quantize": "int8"})
    with pytest.raises(ValueError, match="document '299' was judged in"):
        read_outcome_files([a, b])
    write_outcomes(b, outs[half:], {"quantize": "none"})
    res = CliRunner().invoke(
        main, ["calibrate", "--model", str(model_copy), "--from-outcomes", str(a), "--from-outcomes", str(b)]
    )
    assert res.exit_code != 0 and "quantize 'none', but an earlier file has 'int8'" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --dataset"),
        (["--dataset", "x.jsonl", "--from-outcomes", "OUT"], "not both"),
        (["--from-outcomes", "BAD"], "not an outcome"),
    ],
)
def test_calibrate_user_errors(args, message, model_copy, tmp_path):
    good = tmp_path / "o.jsonl"
    write_outcomes(good, _synthetic(3))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    args = [{"OUT": str(good), "BAD": str(bad)}.get(a, a) for a in args]
    res = CliRunner().invoke(main, ["calibrate", "--model", str(model_copy), *args])
    assert res.exit_code != 0 and message in res.output


def test_eval_writes_the_outcomes_it_judged(tiny_bloom_dir, tmp_path):
    f = tmp_path / "docs.jsonl"
    rows = [
        {"text": "甲方：北京云杉科技有限公司\n乙方：上海海蓝贸易有限公司", "entities": [
            {"label": "甲方", "start": 3, "end": 13}, {"label": "乙方", "start": 17, "end": 27}]},
        {"text": "市民张伟来电投诉噪音。", "entities": [{"label": "联系人", "start": 2, "end": 4}]},
    ]  # fmt: skip
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out, rep = tmp_path / "o.jsonl", tmp_path / "r.json"
    res = CliRunner().invoke(
        main,
        ["eval", "--dataset", str(f), "--model", str(tiny_bloom_dir), "--max-new-tokens", "12", "--report", str(rep),
         "--outcomes", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    outs, meta = read_outcomes(out)
    assert outs, "the tiny model returned no value to judge"
    assert meta["fitted_on"]["name"] == "docs.jsonl" and meta["quantize"] == "none"
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert sum(o.shown for o in outs) == report["calibration"]["overall"]["values"]
    assert {o.doc for o in outs} <= {"0", "1"}
    assert all(o.features is not None for o in outs if o.shown and not o.multiple)


def test_a_group_with_enough_values_gets_weights_of_its_own():
    rng = random.Random(3)
    outs = []
    for i in range(800):  # dates: right follows margin_none closely; text: hardly
        date = i % 2 == 0
        z = rng.uniform(-3, 3)
        feats = {k: 0.0 for k in SINGLE_FEATURES} | {"margin_none": z}
        right = rng.random() < 1 / (1 + math.exp(-(3 * z if date else 0.2 * z)))
        outs.append(_o(0.5, right, type="date" if date else "text", features=feats, doc=str(i)))
    shared = fit_calibration(outs)
    assert shared["group_min"] == 0
    own = fit_calibration(outs, group_min=300)
    assert "groups" not in shared["single"] and set(own["single"]["groups"]) == {"date", "text"}
    assert own["single"]["groups"]["date"]["values"] == 400
    assert own["single"]["groups"]["date"]["weights"]["margin_none"] > 1.0
    assert abs(own["single"]["groups"]["text"]["weights"]["margin_none"]) < 0.6
    assert fit_calibration(outs, group_min=500)["single"].get("groups") is None  # too few values per group

    held = outs  # in-sample: both fits saw these values
    c_shared, c_own = Calibrator.from_dict(shared), Calibrator.from_dict(own)
    dates = [o for o in held if o.type == "date"]  # the shared weights' compromise misjudges them
    e_shared = ece([_o(c_shared.single_probability(o.features, o.type), o.right) for o in dates])
    e_own = ece([_o(c_own.single_probability(o.features, o.type), o.right) for o in dates])
    assert e_own + 0.03 < e_shared
    # a card without groups (the first calibrations) reads as before
    assert Calibrator.from_dict(shared).single_probability(held[0].features, "date") == pytest.approx(
        Calibrator.from_dict({**shared, "single": {**shared["single"], "groups": {}}}).single_probability(
            held[0].features, "date"
        )
    )


def test_best_threshold_maximizes_the_f1_of_the_kept_values():
    # one-value answers: right ones at 0.8, wrong ones at 0.35 and 0.15; a many-value value is always kept
    outs = [_o(0.8, True) for _ in range(6)] + [_o(0.35, False) for _ in range(3)]
    outs += [_o(0.15, False) for _ in range(3)] + [_o(0.1, True, multiple=True)]
    best = best_threshold(outs, gold=10)
    assert 0.35 < best["threshold"] <= 0.8  # drops the wrong ones, keeps the right ones
    assert best["precision"] == 1.0 and best["recall"] == pytest.approx(0.7)
    assert best["f1"] == pytest.approx(2 * 0.7 / 1.7, abs=1e-4)
    assert best["threshold"] == 0.8  # the tie goes to the higher threshold
    assert best["by_threshold"]["0.1"] < best["f1"]


def test_cross_fitted_judges_every_document_by_a_fit_without_it():
    outs = _synthetic(200)
    crossed = cross_fitted(outs, 5, fit_on="answers")
    assert sorted((o.doc, o.shown) for o in crossed) == sorted((o.doc, o.shown) for o in outs)
    inside = apply_calibration(fit_calibration(outs, fit_on="answers"), outs)
    assert [o.confidence for o in crossed] != [o.confidence for o in inside]
    assert ece([o for o in crossed if o.shown]) < 0.1


def test_calibrate_picks_the_threshold_by_cross_validated_f1(model_copy, tmp_path):
    p = tmp_path / "cal.outcomes.jsonl"
    write_outcomes(p, _synthetic(), {"fitted_on": "cal", "quantize": "none", "gold_by_group": {"date": 700}})
    res = CliRunner().invoke(
        main, ["calibrate", "--from-outcomes", str(p), "--model", str(model_copy), "--fit-on", "answers"]
    )
    assert res.exit_code == 0, res.output
    assert "5-fold cross-validated" in res.output and "threshold" in res.output
    cal = json.loads((model_copy / "card.json").read_text(encoding="utf-8"))["calibration"]
    choice = cal["threshold_choice"]
    assert cal["threshold"] == choice["threshold"] and 0.05 <= choice["threshold"] <= 0.95
    assert choice["f1"] == max(choice["by_threshold"].values())
    assert 0 < cal["cross_validated_ece"]["ece"] < 0.1
    # without the gold count (outcomes saved before it was recorded) a number must be given
    write_outcomes(p, _synthetic())
    res = CliRunner().invoke(main, ["calibrate", "--from-outcomes", str(p), "--model", str(model_copy)])
    assert res.exit_code != 0 and "give a number" in res.output
    res = CliRunner().invoke(
        main, ["calibrate", "--from-outcomes", str(p), "--model", str(model_copy), "--threshold", "1.5"]
    )
    assert res.exit_code != 0 and "best or a number" in res.output
