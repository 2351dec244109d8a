"""Records on generated documents with several records each (training.docgen): with the
values a perfect model would give, the grouping never mixes two gold records, and the
evaluation command's record-level F1 measures it through the real engine."""

import re

import pytest

from extractor.records import group_records
from extractor.schema import RecordType
from extractor.types import Span
from tests.extractor.scripted import scripted_extractor
from training.evaluate import evaluate, score_records

docgen = pytest.importorskip("training.docgen")

PROMPT = re.compile(r"^输入: (.*)\n抽取: (.*)\n输出: \[GEN\]$", re.S)
FORMAT_CHARS = ("，", "\t", "\n", "\r")


def record_docs(n=120, seed=7, split="all"):
    docs = [d for d in docgen.generate_documents(n=n, seed=seed, split=split) if len(d["records"]) >= 2]
    assert docs, "the generator writes documents with several records"
    return docs


def perfect_values(doc):
    """Each field's gold values, once each, at their first occurrence (what the engine keeps)."""
    text, values = doc["text"], {}
    for e in doc["entities"]:
        value = text[e["start"] : e["end"]]
        spans = values.setdefault(e["label"], [])
        if value not in [s.text for s in spans]:
            i = text.index(value)
            spans.append(Span(e["label"], value, i, i + len(value), 1.0))
    return values


def gold_owner(doc):
    """(field, start, end) -> index of the gold record it belongs to."""
    owner = {}
    for k, rec in enumerate(doc["records"]):
        for name, spans in rec["fields"].items():
            for sp in spans:
                owner[(name, sp["start"], sp["end"])] = k
    return owner


def record_types(docs):
    types = {}
    for d in docs:
        for rec in d["records"]:
            types.setdefault(rec["type"], {}).update(dict.fromkeys(rec["fields"]))
    return {t: RecordType(t, list(f)) for t, f in types.items() if len(f) >= 2}


def test_grouping_never_mixes_two_gold_records_and_scores_high():
    docs = record_docs()
    types = record_types(docs)
    mixed, checked = [], 0
    values_total = exact_total = None
    for doc in docs:
        values = perfect_values(doc)
        owner = gold_owner(doc)
        predicted = []
        for rtype in {r["type"] for r in doc["records"]}:
            for rec in group_records(doc["text"], values, types[rtype]):
                owners = {
                    owner[(f, s.start, s.end)] for f, s in rec.values.items() if (f, s.start, s.end) in owner
                }
                checked += 1
                if len(owners) > 1:
                    mixed.append((doc["id"], {f: s.text for f, s in rec.values.items()}))
                predicted.append(
                    {"type": rec.type, "fields": {f: (s.start, s.end) for f, s in rec.values.items()}}
                )
        v, x = score_records(doc["text"], doc["records"], predicted)
        if values_total is None:
            values_total, exact_total = v, x
        else:
            values_total.add(v.tp, v.pred, v.gold)
            exact_total.add(x.tp, x.pred, x.gold)
    assert checked > 50
    assert not mixed, f"records mixing two gold records: {mixed[:3]}"
    assert values_total.f1 >= 0.9, values_total.to_dict()


def oracle(docs):
    """Answers every prompt with the gold values inside its text, as a perfect model would."""

    def answer(prompt):
        m = PROMPT.match(prompt)
        if not m:
            return ""
        chunk, labels = m.group(1), m.group(2).split("，")
        doc = next((d for d in docs if chunk in d["text"]), None)
        lines = []
        for label in labels:
            found = []
            for e in doc["entities"] if doc else []:
                value = doc["text"][e["start"] : e["end"]]
                if e["label"] == label and value in chunk and value not in found:
                    if not any(c in value for c in FORMAT_CHARS) and value.strip() == value:
                        found.append(value)
            found.sort(key=chunk.index)
            lines.append(f"{label}: {'，'.join(found) if found else 'None'}")
        return "\n".join(lines)

    return answer


def test_eval_reports_record_f1_through_the_engine(tiny_tokenizer, tmp_path):
    from training.datasets import load_jsonl

    docs = [d for d in record_docs(n=40, seed=3) if len(d["text"]) < 900][:6]
    path = tmp_path / "records.jsonl"
    docgen.write_jsonl(path, docs)
    examples = load_jsonl(path)
    assert all(ex["records"] for ex in examples)
    ex, _ = scripted_extractor(tiny_tokenizer, oracle(docs), max_new_tokens=1024, max_prompt_tokens=4096)
    report = evaluate(ex, examples)
    d = report.to_dict()
    assert d["records"]["examples"] == len(examples)
    assert report.overall.recall > 0.8  # values with format characters cannot be written
    assert report.records.f1 > 0.8, d["records"]
    assert "records: value F1" in report.format()
