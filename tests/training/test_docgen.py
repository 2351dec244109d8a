"""The business-document generator (training.docgen): exact gold spans, records, classes,
determinism, the train/heldout template partition, and values that normalize to what the
generator meant."""

import json
import random
from collections import Counter

import pytest

from extractor.normalize import validate_id_number
from extractor.schema import Field
from extractor.validation import normalize_value
from training import docgen
from training.datasets import load_jsonl
from training.docgen import (
    CLASS_CHOICES,
    FIELDS,
    KINDS,
    RECORD_TYPES,
    RELATION_FIELDS,
    SYNONYMS,
    TEMPLATES,
    generate_documents,
    write_jsonl,
)
from training.evaluate import score


@pytest.fixture(scope="module")
def many():
    """Thousands of documents over several seeds and all three splits."""
    docs = []
    for seed in range(4):
        docs += generate_documents(n=700, seed=seed)
    docs += generate_documents(n=350, seed=11, split="train")
    docs += generate_documents(n=350, seed=12, split="heldout")
    return docs


def record_spans(doc):
    for k, rec in enumerate(doc["records"]):
        for name, spans in rec["fields"].items():
            for sp in spans:
                yield k, name, sp


def test_every_entity_and_record_value_sits_exactly_at_its_offsets(many):
    assert len(many) >= 3000
    for doc in many:
        text = doc["text"]
        assert doc["entities"], doc["id"]
        for e in doc["entities"]:
            assert 0 <= e["start"] < e["end"] <= len(text)
            assert text[e["start"] : e["end"]] == e["text"], (doc["id"], e)
            assert e["text"].strip() == e["text"] and "\n" not in e["text"] and "，" not in e["text"], e
        for _, name, sp in record_spans(doc):
            assert text[sp["start"] : sp["end"]] == sp["text"], (doc["id"], name, sp)


def test_documents_are_json_and_have_the_documented_shape(many):
    keys = {"id", "kind", "lang", "template", "text", "entities", "label_set", "records", "classes",
            "class_choices", "values"}  # fmt: skip
    ids = Counter()
    for doc in many[:700]:
        assert set(doc) == keys
        assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc
        assert doc["id"].startswith(f"{doc['lang']}-{doc['kind']}-")
        assert doc["template"].startswith(f"{doc['lang']}_{doc['kind']}_")
        ids[doc["id"]] += 1
    assert max(ids.values()) == 1
    for d in many:
        n = len(d["text"])
        if d["kind"] != "agreement":
            assert 200 <= n <= 1500, (d["id"], n)
        else:
            assert 200 <= n <= 2000 or 2500 <= n <= 4000, (d["id"], n)
    assert sum(len(d["text"]) >= 2500 for d in many) >= 40


def test_same_arguments_same_documents_other_seed_other_documents():
    a = generate_documents(n=60, seed=5, split="heldout", kinds=["contract", "traffic"], lang="zh")
    b = generate_documents(n=60, seed=5, split="heldout", kinds=["contract", "traffic"], lang="zh")
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    c = generate_documents(n=60, seed=6, split="heldout", kinds=["contract", "traffic"], lang="zh")
    assert [d["text"] for d in a] != [d["text"] for d in c]
    assert generate_documents(n=10, seed=5)[:5] == generate_documents(n=5, seed=5)  # a prefix is stable


def test_agreements_are_deterministic_too():
    a = generate_documents(n=30, seed=9, kinds=["agreement", "ticket"])
    assert a == generate_documents(n=30, seed=9, kinds=["agreement", "ticket"])
    assert [d["text"] for d in a] != [
        d["text"] for d in generate_documents(n=30, seed=10, kinds=["agreement", "ticket"])
    ]


def test_the_global_random_state_is_neither_used_nor_changed():
    import random

    random.seed(123)
    before = random.getstate()
    a = generate_documents(n=20, seed=1)
    assert random.getstate() == before
    random.seed(999)
    assert generate_documents(n=20, seed=1) == a


def test_train_and_heldout_templates_are_disjoint_and_both_non_empty_per_kind_and_language():
    assert set(TEMPLATES.values()) == {"train", "heldout"}
    for kind in KINDS:
        for lang in ("zh", "en"):
            names = [t for t in TEMPLATES if t.startswith(f"{lang}_{kind}_")]
            assert len(names) >= 4, (kind, lang)
            assert {TEMPLATES[t] for t in names} == {"train", "heldout"}, (kind, lang)
        share = Counter(TEMPLATES[t] for t in TEMPLATES if f"_{kind}_" in t)
        assert 0.25 <= share["heldout"] / sum(share.values()) <= 0.45, (kind, share)
    train = generate_documents(n=300, seed=0, split="train")
    heldout = generate_documents(n=300, seed=0, split="heldout")
    assert {TEMPLATES[d["template"]] for d in train} == {"train"}
    assert {TEMPLATES[d["template"]] for d in heldout} == {"heldout"}
    assert not {d["template"] for d in train} & {d["template"] for d in heldout}
    assert {d["kind"] for d in heldout} == set(KINDS)


def test_kinds_and_lang_filters():
    docs = generate_documents(n=40, seed=3, kinds=["invoice", "cv"], lang="en")
    assert Counter(d["kind"] for d in docs) == {"invoice": 20, "cv": 20}
    assert {d["lang"] for d in docs} == {"en"}
    both = generate_documents(n=200, seed=3)
    assert {d["lang"] for d in both} == {"zh", "en"}
    n = len(KINDS)
    assert Counter(d["kind"] for d in both) == {k: 200 // n + (i < 200 % n) for i, k in enumerate(KINDS)}
    with pytest.raises(ValueError, match="unknown kinds"):
        generate_documents(n=1, kinds=["poem"])
    with pytest.raises(ValueError, match="split"):
        generate_documents(n=1, split="test")
    with pytest.raises(ValueError, match="lang"):
        generate_documents(n=1, lang="fr")


def test_records_values_are_entities_and_never_overlap_across_records(many):
    repeated = 0
    for doc in many:
        kind = doc["kind"]
        if kind not in RECORD_TYPES:
            assert doc["records"] == []
            continue
        rtype, fields = RECORD_TYPES[kind]
        assert 1 <= len(doc["records"]) <= 4, doc["id"]
        entities = {(e["label"], e["start"], e["end"]) for e in doc["entities"]}
        spans = list(record_spans(doc))
        for rec in doc["records"]:
            assert rec["type"] == rtype
            assert list(rec["fields"]) == [f for f in fields if f in rec["fields"]]
        for _, name, sp in spans:
            assert (name, sp["start"], sp["end"]) in entities, (doc["id"], name, sp)
        for k1, _, a in spans:
            for k2, _, b in spans:
                if k1 != k2:
                    assert a["end"] <= b["start"] or b["end"] <= a["start"], (doc["id"], a, b)
        texts = Counter((name, sp["text"]) for _, name, sp in spans)
        repeated += any(n > 1 for n in texts.values())
    assert repeated >= 100  # the same value in two records (two sedans, equal instalments)


def test_label_set_covers_the_entities_and_some_fields_are_absent(many):
    absent = Counter()
    for doc in many:
        assert doc["label_set"] == FIELDS[doc["kind"]]
        labels = {e["label"] for e in doc["entities"]}
        assert labels <= set(doc["label_set"]), doc["id"]
        absent.update(set(doc["label_set"]) - labels)
    for kind in KINDS:
        assert any(absent[f] for f in FIELDS[kind]), kind
    assert len(absent) >= 25


def test_ticket_classes_are_among_the_choices_and_follow_from_the_text(many):
    seen = Counter()
    for doc in many:
        if doc["kind"] != "ticket":
            assert doc["classes"] == {} and doc["class_choices"] == {}
            continue
        assert doc["class_choices"] == CLASS_CHOICES["ticket"]
        for name, value in doc["classes"].items():
            assert value in doc["class_choices"][name]
        category, urgency = doc["classes"]["工单类别"], doc["classes"]["紧急程度"]
        seen[category, urgency] += 1
        text = doc["text"]
        if doc["lang"] == "zh":
            assert f"来电人{category}" in text, (doc["id"], category)
        cues = docgen._URGENCY_TEXT[doc["lang"]][urgency]
        assert any(c in text for c in cues), (doc["id"], urgency)
        others = [c for u, cs in docgen._URGENCY_TEXT[doc["lang"]].items() if u != urgency for c in cs]
        assert not any(c in text for c in others)
    assert {c for c, _ in seen} == set(CLASS_CHOICES["ticket"]["工单类别"])
    assert {u for _, u in seen} == {"高", "中", "低"}


def test_jsonl_round_trip_through_load_jsonl(tmp_path):
    docs = generate_documents(n=70, seed=4)
    path = write_jsonl(tmp_path / "docs.jsonl", docs)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 70 and "\\u" not in lines[0]  # UTF-8, not escaped
    examples = load_jsonl(path)
    assert [ex["id"] for ex in examples] == [d["id"] for d in docs]
    for ex, doc in zip(examples, docs):
        assert ex["text"] == doc["text"]
        assert ex["label_set"] == doc["label_set"]
        assert [(e["label"], e["start"], e["end"]) for e in ex["entities"]] == [
            (e["label"], e["start"], e["end"]) for e in doc["entities"]
        ]
        assert len(ex["records"]) == len(doc["records"])


def test_a_perfect_prediction_scores_f1_one_and_a_wrong_one_less(tmp_path):
    docs = generate_documents(n=140, seed=8)
    examples = load_jsonl(write_jsonl(tmp_path / "d.jsonl", docs))
    perfect = score(
        examples,
        [ex["entities"] for ex in examples],
        records=[[{"type": r["type"], "fields": r["fields"]} for r in ex["records"]] for ex in examples],
    )
    assert perfect.overall.f1 == 1.0 and perfect.overall.gold == sum(len(d["entities"]) for d in docs)
    assert perfect.records.f1 == 1.0 and perfect.records_exact.f1 == 1.0
    missing_one = score(examples, [ex["entities"][1:] for ex in examples])
    assert missing_one.overall.f1 < 1.0


def test_counts_of_kinds_templates_and_fields():
    assert len(KINDS) >= 7
    assert {"contract", "ticket", "invoice", "cv", "medical", "insurance", "traffic"} <= set(KINDS)
    fields = {f for kind in KINDS for f in FIELDS[kind]}
    assert len(fields) >= 40
    assert fields <= set(SYNONYMS)
    for name, alternatives in SYNONYMS.items():
        assert alternatives and name not in alternatives
        assert any(a.isascii() for a in alternatives), name  # an English name for every field
    assert SYNONYMS["甲方"][:2] == ["买方", "委托方"] and "Party A" in SYNONYMS["甲方"]
    assert set(RELATION_FIELDS) == set(KINDS) - {"agreement"}
    for kind, field in RELATION_FIELDS.items():
        assert field in FIELDS[kind]
    assert set(RECORD_TYPES) == {"contract", "invoice", "cv", "traffic"}


def test_every_kind_has_its_relation_field_as_one_span_with_name_and_title(many):
    seen = Counter()
    for doc in many:
        field = RELATION_FIELDS.get(doc["kind"])
        for e in doc["entities"]:
            if e["label"] == field:
                seen[doc["kind"]] += 1
                if doc["lang"] == "zh":
                    assert len(e["text"]) >= 4, e  # a title of at least two characters and a name
                else:
                    assert " " in e["text"], e
    assert set(seen) == set(RELATION_FIELDS)
    texts = [e["text"] for d in many if d["lang"] == "zh" for e in d["entities"] if e["label"] == "负责人"]
    assert any(t.endswith("）") for t in texts) and any(not t.endswith(("）", ")")) for t in texts)


def test_id_numbers_are_valid(many):
    ids = [e["text"] for d in many for e in d["entities"] if e["label"] == "身份证号"]
    assert len(ids) >= 100
    for value in ids:
        assert len(value) == 18 and validate_id_number(value) == value


def test_money_dates_phones_and_counts_normalize_to_what_the_generator_meant(many):
    kinds = Counter()
    for doc in many:
        for v in doc["values"]:
            text = doc["text"][v["start"] : v["end"]]
            assert any(e["label"] == v["label"] and e["start"] == v["start"] for e in doc["entities"])
            got, issues = normalize_value(Field(v["label"], type=v["type"]), text)
            assert got == v["value"], (doc["id"], v, text, issues)
            kinds[v["type"]] += 1
    assert set(kinds) == {"money", "date", "phone", "integer", "id_number", "percent"}
    assert kinds["money"] >= 1000 and kinds["date"] >= 1000


def test_value_formats_vary(many):
    money = {
        e["text"] for d in many for e in d["entities"] if e["label"] in ("合同金额", "价税合计", "理赔金额")
    }
    assert any(t.startswith("¥") for t in money)
    assert any("万元" in t for t in money)
    assert any(t.endswith("元整") for t in money)
    assert any(t.startswith("USD ") for t in money)
    assert any(t.endswith(" million") for t in money)
    dates = {
        e["text"] for d in many for e in d["entities"] if e["label"] in ("签约日期", "开票日期", "就诊日期")
    }
    assert any("年" in t for t in dates) and any("-" in t for t in dates)
    assert any("/" in t for t in dates) and any(t[:3].isalpha() for t in dates)
    plates = {e["text"] for d in many for e in d["entities"] if e["label"] == "车牌号"}
    assert any("·" in t for t in plates)


def test_cli_writes_the_file_and_prints_counts(tmp_path, capsys):
    out = tmp_path / "held.jsonl"
    assert docgen.main(["--n", "30", "--seed", "2", "--split", "heldout", "--out", str(out),
                        "--kinds", "traffic", "cv", "--lang", "zh"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    examples = load_jsonl(out)
    assert len(examples) == 30
    rows = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line.split()}
    assert rows["traffic"][0] == "15" and rows["cv"][0] == "15" and rows["total"][0] == "30"
    assert int(rows["total"][1]) == sum(len(ex["entities"]) for ex in examples)
    assert int(rows["total"][2]) == sum(len(ex["records"]) for ex in examples)
    with pytest.raises(SystemExit):
        docgen.main(["--n", "3", "--split", "dev", "--out", str(out)])


# --------------------------------------------------------------------------------------
# Agreements: competing roles, distractors beside every party, dates of several kinds
# --------------------------------------------------------------------------------------

AGREEMENT = sorted(n for n, (k, _, _) in docgen._TEMPLATES.items() if k == "agreement")
PARTIES = {"甲方", "乙方", "保证人", "出借人", "借款人", "转让方", "受让方", "出租方", "承租方"}
AMOUNTS = {"合同金额", "借款金额", "转让价款", "月租金", "押金"}
DATES = {"签约日期", "开始日期", "结束日期", "交付日期", "付款日期", "还款日期", "交割日期"}
ROLE_WORDS = ["甲方", "乙方", "丙方", "丁方", "Party A", "Party B", "Party C", "Party D", "出借人", "借款人", "保证人",
              "担保人", "出租方", "承租方", "转让方", "受让方", "Lender", "Borrower", "Guarantor", "Landlord", "Tenant",
              "Transferor", "Transferee", "Client", "Service Provider", "Buyer", "Seller"]  # fmt: skip
MARKS = ["以下简称", "盖章", "签字", "公章", "签章", "hereinafter", "（", "(the", "："]


@pytest.fixture(scope="module")
def agreements():
    """Every agreement template over many seeds, with where each wrote its distractors."""
    return {
        name: [docgen._document(name, random.Random(f"{name}:{s}"), distractors=True) for s in range(80)]
        for name in AGREEMENT
    }


def test_agreement_spans_are_verbatim_and_lengths_short_or_long(agreements):
    assert len(AGREEMENT) >= 1
    for name, docs in agreements.items():
        n_long = 0
        for doc in docs:
            text = doc["text"]
            assert doc["kind"] == "agreement" and doc["label_set"] == FIELDS["agreement"]
            for e in doc["entities"]:
                assert text[e["start"] : e["end"]] == e["text"], (name, e)
                assert e["text"].strip() == e["text"] and "\n" not in e["text"] and "，" not in e["text"], e
                assert e["label"] in FIELDS["agreement"]
            for d in doc["_distractors"]:
                assert text[d["start"] : d["end"]] == d["text"]
            lo, hi = docgen.LONG_CHARS if len(text) > docgen.AGREEMENT_CHARS[1] else docgen.AGREEMENT_CHARS
            assert lo <= len(text) <= hi, (name, len(text))
            n_long += len(text) > docgen.AGREEMENT_CHARS[1]
        if not name.endswith(("_iou", "_note")):
            assert 5 <= n_long <= 35, (name, n_long)  # about a fifth are long


def test_agreement_distractors_and_marks_stay_outside_gold_spans(agreements):
    kinds = Counter()
    for name, docs in agreements.items():
        for doc in docs:
            gold = doc["entities"]
            for d in doc["_distractors"]:
                kinds[d["kind"]] += 1
                for e in gold:
                    assert d["end"] <= e["start"] or e["end"] <= d["start"], (name, d, e)
            for i, a in enumerate(gold):  # no gold span inside another (the guarantor beside a party)
                for b in gold[i + 1 :]:
                    assert a["end"] <= b["start"] or (a["start"], a["end"]) == (b["start"], b["end"]), (
                        name,
                        a,
                        b,
                    )
            for e in gold:
                assert not any(m in e["text"] for m in ("以下简称", "盖章", "签字", "hereinafter")), (name, e)
                if e["label"] in PARTIES | AMOUNTS or e["label"] in ("适用法律", "争议解决"):
                    assert e["text"] not in ROLE_WORDS, (name, e)
                if e["label"] in PARTIES:
                    assert not any(m in e["text"] for m in MARKS), (name, e)
                    assert not any(r in e["text"] for r in ROLE_WORDS), (name, e)
                if e["label"] in AMOUNTS:
                    assert not any(m in e["text"] for m in ("以下简称", "盖章", "hereinafter")), (name, e)
    assert {"address", "rep", "alias", "sign", "id"} <= set(kinds), kinds


def test_agreement_one_value_per_field_except_guarantors_and_dates_of_different_kinds_differ(agreements):
    two_guarantors = 0
    for name, docs in agreements.items():
        for doc in docs:
            labels = Counter(e["label"] for e in doc["entities"])
            for e in doc["entities"]:  # first written at its slot: an engine pointing to the first finds it
                assert doc["text"].find(e["text"]) == e["start"], (name, e)
            for label, n in labels.items():
                assert n == 1 or label == "保证人", (name, label, n)
            two_guarantors += labels["保证人"] >= 2
            dates = {v["label"]: v["value"] for v in doc["values"] if v["label"] in DATES}
            for a in dates:
                for b in dates:
                    if a < b:
                        assert dates[a] != dates[b], (name, a, b, dates)
            if "开始日期" in dates and "结束日期" in dates:
                assert dates["开始日期"] < dates["结束日期"]
            if "签约日期" in dates and "开始日期" in dates:
                assert dates["签约日期"] < dates["开始日期"]
    assert two_guarantors >= 5


def test_agreement_fields_are_often_absent_and_roles_come_in_either_order(agreements):
    absent, present, order = Counter(), Counter(), Counter()
    for docs in agreements.values():
        for doc in docs:
            labels = {e["label"] for e in doc["entities"]}
            present.update(labels)
            absent.update(set(doc["label_set"]) - labels)
            first = {e["label"]: e["start"] for e in sorted(doc["entities"], key=lambda e: -e["start"])}
            for a, b in (("出借人", "借款人"), ("甲方", "乙方"), ("出租方", "承租方"), ("转让方", "受让方")):
                if a in first and b in first:
                    order[a, first[a] < first[b]] += 1
    n = sum(len(d) for d in agreements.values())
    assert sum(absent.values()) / n >= 8  # most asked fields have no value in a given document
    for a in ("出借人", "甲方", "出租方", "转让方"):
        assert order[a, True] >= 10 and order[a, False] >= 10, order
    for field in FIELDS["agreement"]:
        assert present[field] >= 20 and absent[field] >= 20, (field, present[field], absent[field])


def test_agreement_templates_are_partitioned_with_heldout_ones_in_both_languages():
    assert set(AGREEMENT) == {t for t in TEMPLATES if t.split("_")[1] == "agreement"}
    assert len(AGREEMENT) >= 12
    for lang in ("zh", "en"):
        names = [t for t in AGREEMENT if t.startswith(lang)]
        assert len(names) >= 6
        assert {TEMPLATES[t] for t in names} == {"train", "heldout"}
    heldout = [t for t in AGREEMENT if TEMPLATES[t] == "heldout"]
    assert 0.3 <= len(heldout) / len(AGREEMENT) <= 0.4
    docs = generate_documents(n=40, seed=2, split="heldout", kinds=["agreement"])
    assert {d["template"] for d in docs} <= set(heldout) and {d["lang"] for d in docs} == {"zh", "en"}
    assert {d["kind"] for d in docs} == {"agreement"}


def test_agreement_templates_keep_the_split_they_were_first_committed_with():
    first = {"en_agreement_lease": "train", "en_agreement_loan": "heldout", "en_agreement_note": "train",
             "en_agreement_purchase": "train", "en_agreement_sale": "heldout", "en_agreement_services": "train",
             "zh_agreement_asset": "train", "zh_agreement_equipment": "heldout", "zh_agreement_house": "train",
             "zh_agreement_iou": "train", "zh_agreement_loan": "heldout", "zh_agreement_purchase": "train",
             "zh_agreement_service": "train", "zh_agreement_share": "heldout"}  # fmt: skip
    assert {t: TEMPLATES[t] for t in first} == first  # a model trained on them is measured on the others
    for family in (("loan", "note", "termloan", "iou", "working"), ("sale", "share", "asset", "transfer"),
                   ("lease", "tenancy", "house", "equipment"), ("purchase",), ("service", "services")):  # fmt: skip
        for lang in ("zh", "en"):
            names = [t for t in AGREEMENT if t.startswith(lang) and t.split("_", 2)[2] in family]
            assert "train" in {TEMPLATES[t] for t in names}, (lang, family)


def test_agreement_synonyms_never_name_two_fields_of_the_kind():
    seen = {}
    for field in FIELDS["agreement"]:
        for name in [field, *SYNONYMS[field]]:
            key = name.lower()
            assert key not in seen, (name, field, seen.get(key))
            seen[key] = field


def test_agreement_pairs_are_accepted_by_the_engine_grammar(agreements, tiny_tokenizer):
    from extractor.vocab import TokenBytes
    from training.finetune import answer_ok, make_pairs, split_long

    vocab = TokenBytes(tiny_tokenizer)
    rng = random.Random(0)
    n = 0
    docs = [d for ds in agreements.values() for d in ds]
    docs += [docgen._document(t, random.Random(f"{t}:{s}")) for t in ROLE_TICKETS for s in range(20)]
    for doc in docs:
        ex = {k: doc[k] for k in ("text", "entities", "label_set", "classes", "class_choices")}
        for window in split_long(ex, 1200):
            for pair in make_pairs(window, rng):
                assert answer_ok(pair, vocab), (pair.prompt, pair.answer)
                n += 1
    assert n >= len(docs)


ROLE_TICKETS = ["en_ticket_portal", "en_ticket_referral", "en_ticket_webform", "zh_ticket_transfer", "zh_ticket_visit",
                "zh_ticket_wechat"]  # fmt: skip


def test_tickets_with_a_role_word_before_the_caller_label_the_name_only():
    words = docgen._CALLER_WORDS["zh"] + docgen._CALLER_WORDS["en"]
    titles = 0
    for name in ROLE_TICKETS:
        for s in range(60):
            doc = docgen._document(name, random.Random(f"{name}:{s}"))
            (caller,) = [e for e in doc["entities"] if e["label"] == "来电人"]
            before = doc["text"][: caller["start"]].rstrip().lower()
            assert before.endswith(tuple(words)), (name, doc["text"][: caller["end"]])
            assert not caller["text"].lower().startswith(tuple(words)), caller
            titles += caller["text"].endswith(("女士", "先生"))
            companies = [e for e in doc["entities"] if e["label"] == "涉及单位"]
            assert all(not c["text"].startswith(("被投诉", "投诉对象")) for c in companies)
    assert titles >= 10
    assert "投诉人" in SYNONYMS["来电人"] and "被投诉单位" in SYNONYMS["涉及单位"]


def test_older_ticket_templates_keep_their_split():
    old = {"en_ticket_email": "train", "en_ticket_form": "heldout", "en_ticket_log": "train",
           "en_ticket_narrative": "train", "zh_ticket_form": "heldout", "zh_ticket_record": "train",
           "zh_ticket_summary": "train", "zh_ticket_table": "heldout"}  # fmt: skip
    assert {t: TEMPLATES[t] for t in old} == old
    assert {TEMPLATES[t] for t in ROLE_TICKETS if t.startswith("en")} == {"train", "heldout"}
    assert {TEMPLATES[t] for t in ROLE_TICKETS if t.startswith("zh")} == {"train", "heldout"}
