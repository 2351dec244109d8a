"""Entity-level evaluation of an :class:`~extractor.engine.Extractor` on labelled examples.

``evaluate`` runs the real ``Extractor.extract_batch`` -- chunking, prompts, constrained
greedy decoding, offsets, validation: the code path of ``seqgpt extract`` and of the
pipeline's actors -- over examples from :mod:`training.datasets` and scores what it returns:

- **entities** (the headline figure): a prediction is correct when its label and its
  character offsets equal a gold entity's exactly.  Precision = tp / predicted,
  recall = tp / gold, F1 = 2PR / (P + R) (0 when P + R = 0), micro-averaged over all
  labels ("overall") and per label; ``macro_f1`` is the mean of the per-label F1s.
  Predictions and gold entities are sets: a span predicted twice counts once (the repeat is
  counted in ``duplicate_predictions``).
- **by text**: the same scores over the distinct (label, text) pairs of each example, i.e.
  ignoring where a value was found.  It is how SeqGPT's own evaluation compares answers and
  does not depend on which occurrence of a repeated value the engine points to.
- **classification**: for examples with gold ``labels``, accuracy = share of examples whose
  predicted label set equals the gold set.
- **throughput**: examples/s, characters/s and prompts/s over the wall time of the
  ``extract_batch`` calls only (model loading and data reading excluded).

``score`` computes the same report from given predictions, without a model.  Nothing here
imports torch.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Counts", "Report", "evaluate", "prf", "score"]


def prf(tp: int, pred: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts (0.0 where a denominator is 0)."""
    p = tp / pred if pred else 0.0
    r = tp / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@dataclass
class Counts:
    """True positives, predictions and gold entities of one label (or of all)."""

    tp: int = 0
    pred: int = 0
    gold: int = 0

    @property
    def fp(self) -> int:
        return self.pred - self.tp

    @property
    def fn(self) -> int:
        return self.gold - self.tp

    @property
    def precision(self) -> float:
        return prf(self.tp, self.pred, self.gold)[0]

    @property
    def recall(self) -> float:
        return prf(self.tp, self.pred, self.gold)[1]

    @property
    def f1(self) -> float:
        return prf(self.tp, self.pred, self.gold)[2]

    def add(self, tp: int, pred: int, gold: int) -> None:
        self.tp += tp
        self.pred += pred
        self.gold += gold

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "pred": self.pred,
            "gold": self.gold,
        }


@dataclass
class Report:
    """Scores, counts and throughput of one evaluation run."""

    per_label: dict[str, Counts]
    label_map: dict[str, str]
    by_text: Counts = field(default_factory=Counts)
    examples: int = 0
    characters: int = 0
    prompts: int = 0
    seconds: float = 0.0
    duplicate_predictions: int = 0
    warnings: int = 0  # answers cut at the token budget (DocumentResult.warnings)
    class_examples: int = 0
    class_correct: int = 0
    class_unanswered: int = 0
    record_examples: int = 0
    records: Counts = field(default_factory=Counts)  # (field, value) pairs inside matched records
    records_exact: Counts = field(default_factory=Counts)  # whole records equal to a gold record
    meta: dict[str, Any] = field(default_factory=dict)
    outcomes: list = field(default_factory=list)  # training.calibration.Outcome per value returned
    gold_by_group: dict[str, int] = field(default_factory=dict)  # distinct gold (label, text) per type group
    asked: int = 0  # (document, asked field) pairs
    main_right: int = 0  # ... whose main value (kept, chosen) is right, or empty where the gold is
    main_value_right: int = 0  # ... the same, or its normalized value (money, date) is the gold's
    absent: int = 0  # ... without a gold value
    absent_empty: int = 0  # ... of those, given no value

    def calibration(self) -> dict[str, Any] | None:
        """The calibration section (``training.calibration``); None without values."""
        if not self.outcomes and not self.asked:
            return None
        from .calibration import calibration_report

        fields = {
            "asked": self.asked,
            "main_right": round(self.main_right / self.asked, 4) if self.asked else None,
            "main_value_right": round(self.main_value_right / self.asked, 4) if self.asked else None,
            "absent": self.absent,
            "absent_empty": round(self.absent_empty / self.absent, 4) if self.absent else None,
            "definition": "main value: the field's kept chosen value (the Parquet column), right when its "
            "text is a gold value of the field, or when neither exists; main value right by value: the same, or "
            "its normalized value equals the gold's (an amount written in words where the gold span is the "
            "figures; needs the examples' `values`); absent: asked fields without gold",
        }
        return calibration_report(self.outcomes, self.gold_by_group, fields=fields)

    @property
    def overall(self) -> Counts:
        total = Counts()
        for c in self.per_label.values():
            total.add(c.tp, c.pred, c.gold)
        return total

    @property
    def macro_f1(self) -> float:
        return sum(c.f1 for c in self.per_label.values()) / len(self.per_label) if self.per_label else 0.0

    @property
    def accuracy(self) -> float | None:
        return self.class_correct / self.class_examples if self.class_examples else None

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        s = self.seconds
        d: dict[str, Any] = {
            **self.meta,
            "overall": self.overall.to_dict(),
            "macro_f1": round(self.macro_f1, 6),
            "per_label": {
                gold: {"asked": self.label_map.get(gold, gold), **c.to_dict()}
                for gold, c in self.per_label.items()
            },
            "by_text": self.by_text.to_dict(),
            "counts": {
                "examples": self.examples,
                "characters": self.characters,
                "prompts": self.prompts,
                "gold_entities": self.overall.gold,
                "predicted_entities": self.overall.pred,
                "duplicate_predictions": self.duplicate_predictions,
                "cut_answers": self.warnings,
            },
            "throughput": {
                "seconds": round(s, 4),
                "examples_per_s": round(self.examples / s, 3) if s > 0 else None,
                "characters_per_s": round(self.characters / s, 1) if s > 0 else None,
                "prompts_per_s": round(self.prompts / s, 3) if s > 0 else None,
            },
        }
        if self.record_examples:
            d["records"] = {
                "examples": self.record_examples,
                "values": self.records.to_dict(),
                "exact": self.records_exact.to_dict(),
            }
        cal = self.calibration()
        if cal is not None:
            d["calibration"] = cal
        if self.class_examples:
            d["classification"] = {
                "examples": self.class_examples,
                "correct": self.class_correct,
                "unanswered": self.class_unanswered,
                "accuracy": round(self.accuracy or 0.0, 6),
            }
        return d

    def format(self) -> str:
        """A plain-text table: one row per label, then the micro overall and the extras."""
        header = ["label", "asked", "gold", "pred", "tp", "precision", "recall", "f1"]

        def row(name: str, asked: str, c: Counts) -> list[str]:
            return [name, asked, str(c.gold), str(c.pred), str(c.tp), f"{c.precision:.4f}", f"{c.recall:.4f}", f"{c.f1:.4f}"]  # fmt: skip

        rows = [row(g, self.label_map.get(g, g), c) for g, c in self.per_label.items()]
        rows.append(row("overall (micro)", "", self.overall))
        rows.append(row("by text (micro)", "", self.by_text))
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        right = {2, 3, 4, 5, 6, 7}

        def line(r: list[str]) -> str:
            cells = [_pad(x, w, right=i in right) for i, (x, w) in enumerate(zip(r, widths))]
            return "  ".join(cells).rstrip()

        out = []
        m = self.meta
        if m:
            desc = m.get("dataset", {})
            what = desc.get("name", "")
            if desc.get("split"):
                what += f" ({desc['split']}"
                what += f", subset {desc['subset']})" if desc.get("subset") else ")"
            out.append(
                f"dataset {what}: {self.examples} of {desc.get('total', self.examples)} examples   "
                f"model {m.get('model', '?')}   {'constrained' if m.get('constrained', True) else 'unconstrained'}"
            )
        out.append(line(header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows[:-2])
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows[-2:])
        out.append(f"macro F1 {self.macro_f1:.4f}")
        if self.class_examples:
            out.append(
                f"classification accuracy {self.accuracy:.4f} ({self.class_correct}/{self.class_examples}, "
                f"{self.class_unanswered} unanswered)"
            )
        if self.record_examples:
            v, x = self.records, self.records_exact
            out.append(
                f"records: value F1 {v.f1:.4f} (P {v.precision:.4f} R {v.recall:.4f}, {v.gold} gold values), "
                f"exact-record F1 {x.f1:.4f} ({x.tp}/{x.gold} gold records, {x.pred} predicted)"
            )
        if self.duplicate_predictions or self.warnings:
            out.append(
                f"{self.duplicate_predictions} duplicate predictions, {self.warnings} answers cut at the token budget"
            )
        tput = f"{self.examples} examples, {self.characters} characters, {self.prompts} prompts in {self.seconds:.2f} s"
        if self.seconds > 0:
            tput += (
                f": {self.examples / self.seconds:.2f} examples/s, {self.characters / self.seconds:.0f} chars/s, "
                f"{self.prompts / self.seconds:.2f} prompts/s"
            )
        if m.get("batch_size"):
            tput += f" (batch {m['batch_size']}"
            tput += f", {m['device']})" if m.get("device") else ")"
        out.append(tput)
        cal = self.calibration()
        if cal is not None:
            from .calibration import format_calibration

            out.append(format_calibration(cal))
        return "\n".join(out)


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * (w - _width(s))
    return fill + s if right else s + fill


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------


def _labels_of(examples: Iterable[dict[str, Any]], label_map: dict[str, str] | None) -> dict[str, str]:
    if label_map is not None:
        return dict(label_map)
    seen: dict[str, str] = {}
    for ex in examples:
        for label in ex.get("label_set", []):
            seen.setdefault(label, label)
        for ent in ex.get("entities", []):
            seen.setdefault(ent["label"], ent["label"])
    return seen


def _span_key(x: Any) -> tuple[str, int, int]:
    if isinstance(x, dict):
        return x["label"], x["start"], x["end"]
    label, start, end = x
    return label, start, end


def _record_pairs(text: str, fields: dict[str, Any]) -> set[tuple[str, str]]:
    """``{field: span or [spans]}`` (spans as dicts or (start, end)) -> {(field, value text)}."""
    out = set()
    for name, spans in fields.items():
        for sp in spans if isinstance(spans, list) else [spans]:
            start, end = (sp["start"], sp["end"]) if isinstance(sp, dict) else sp
            out.add((name, text[start:end]))
    return out


def score_records(text: str, gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> tuple[Counts, Counts]:
    """Record-level scores of one document: ``(values, exact)``.

    ``gold`` and ``pred`` are lists of ``{"type", "fields": {field: span or [spans]}}``.
    Within each type, predicted records are matched one-to-one to gold records, most shared
    (field, value text) pairs first.  ``values`` counts those pairs: a value counts only when
    it sits in the record matched to its gold record, so a value put into the wrong record
    is both a false positive and a miss.  ``exact`` counts records whose pairs equal a gold
    record's.
    """
    values, exact = Counts(), Counts()
    for rtype in {r["type"] for r in gold} | {r["type"] for r in pred}:
        g = [_record_pairs(text, r["fields"]) for r in gold if r["type"] == rtype]
        p = [_record_pairs(text, r["fields"]) for r in pred if r["type"] == rtype]
        pairs = sorted(
            ((len(gi & pj), i, j) for i, gi in enumerate(g) for j, pj in enumerate(p)), reverse=True
        )
        used_g, used_p, tp, tp_exact = set(), set(), 0, 0
        for shared, i, j in pairs:
            if shared == 0 or i in used_g or j in used_p:
                continue
            used_g.add(i)
            used_p.add(j)
            tp += shared
            tp_exact += g[i] == p[j]
        values.add(tp, sum(map(len, p)), sum(map(len, g)))
        exact.add(tp_exact, len(p), len(g))
    return values, exact


class _Scorer:
    def __init__(self, label_map: dict[str, str]):
        self.report = Report(per_label={g: Counts() for g in label_map}, label_map=dict(label_map))

    def add(
        self,
        ex: dict[str, Any],
        predicted: Iterable[Any],
        classes: list[str] | None = None,
        records: list[dict[str, Any]] | None = None,
    ) -> None:
        r = self.report
        text = ex["text"]
        gold = {_span_key(e) for e in ex.get("entities", [])}
        pred_list = [_span_key(p) for p in predicted]
        pred = set(pred_list)
        r.duplicate_predictions += len(pred_list) - len(pred)
        for label in {k[0] for k in gold | pred}:
            if label not in r.per_label:  # a gold label nobody asked for still counts as missed
                r.per_label[label] = Counts()
            g = {k for k in gold if k[0] == label}
            p = {k for k in pred if k[0] == label}
            r.per_label[label].add(len(g & p), len(p), len(g))
        gold_text = {(lab, text[s:e]) for lab, s, e in gold}
        pred_text = {(lab, text[s:e]) for lab, s, e in pred}
        r.by_text.add(len(gold_text & pred_text), len(pred_text), len(gold_text))
        r.examples += 1
        r.characters += len(text)
        if ex.get("labels") is not None:
            r.class_examples += 1
            got = classes or []
            if not got:
                r.class_unanswered += 1
            if set(got) == set(ex["labels"]):
                r.class_correct += 1
        if ex.get("records") is not None:
            r.record_examples += 1
            values, exact = score_records(text, ex["records"], records or [])
            r.records.add(values.tp, values.pred, values.gold)
            r.records_exact.add(exact.tp, exact.pred, exact.gold)


def score(
    examples: list[dict[str, Any]],
    predictions: list[Iterable[Any]],
    label_map: dict[str, str] | None = None,
    classes: list[list[str] | None] | None = None,
    records: list[list[dict[str, Any]]] | None = None,
) -> Report:
    """Score given predictions: ``predictions[i]`` lists example i's predicted entities as
    ``{"label", "start", "end"}`` dicts or ``(label, start, end)`` tuples (gold labels);
    ``classes[i]`` its predicted classification labels; ``records[i]`` its predicted records
    (``{"type", "fields": {gold label: {"start", "end"}}}``, see :func:`score_records`)."""
    if len(predictions) != len(examples):
        raise ValueError(f"{len(predictions)} predictions for {len(examples)} examples")
    scorer = _Scorer(_labels_of(examples, label_map))
    for i, (ex, pred) in enumerate(zip(examples, predictions)):
        scorer.add(ex, pred, classes[i] if classes else None, records[i] if records else None)
    return scorer.report


# --------------------------------------------------------------------------------------
# Running the extractor
# --------------------------------------------------------------------------------------

CLASS_FIELD = "__class__"


def _choices_of(examples: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for ex in examples:
        for label in ex.get("labels") or []:
            seen.setdefault(label, None)
    return list(seen)


def _record_types(examples: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Gold record types and their fields (gold labels, in order of first appearance)."""
    types: dict[str, dict[str, None]] = {}
    for ex in examples:
        for rec in ex.get("records") or []:
            fields = types.setdefault(rec["type"], {})
            for name in rec["fields"]:
                fields.setdefault(name, None)
    return {t: list(f) for t, f in types.items() if len(f) >= 2}


def _build_schema(asked: list[str], choices: list[str] | None, records: dict[str, list[str]] | None = None):
    """A schema with one text field per asked label (and a class field, and the record types
    given as ``{type: [asked labels]}``); returns the schema and, per asked label, the name
    its values come back under."""
    from extractor.schema import Field, RecordType, Schema

    fields = [Field.parse(label) for label in asked]
    names = [f.name for f in fields]
    if choices:
        fields.append(Field(name=CLASS_FIELD, type="class", choices=list(choices)))
    types = [RecordType(t, [Field.parse(x).name for x in fs]) for t, fs in (records or {}).items()]
    return Schema(fields, records=types), names


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _judge(report: Report, ex: dict[str, Any], res, schema, gold_of: dict[str, str], doc: str = "") -> None:
    """Add one document's calibration outcomes and field-level figures to ``report``."""
    from extractor.confidence import TYPE_GROUPS

    from .calibration import GROUPS, Outcome, text_key

    text = ex["text"]
    gold: dict[str, set[str]] = {}
    for e in ex.get("entities", []):
        gold.setdefault(e["label"], set()).add(text_key(text[e["start"] : e["end"]]))
    meant: dict[str, set[str]] = {}  # gold normalized values (docgen's ``values``), as canonical JSON
    for v in ex.get("values") or []:
        meant.setdefault(v["label"], set()).add(_canonical(v["value"]))
    dropped: dict[str, list] = {}
    for s in res.dropped:
        dropped.setdefault(s.field, []).append(s)
    for name, g in gold_of.items():
        f = schema.field(name)
        group = TYPE_GROUPS.get(f.type, "text")
        if group in GROUPS:
            report.gold_by_group[group] = report.gold_by_group.get(group, 0) + len(gold.get(g, ()))
        truth = gold.get(g, set())
        multiple = schema.is_multiple(f)
        kept = list(res.values.get(name, []))
        answers = kept + dropped.get(name, [])
        if not multiple:  # the field's answer: its best value, kept or dropped; the rest are alternatives
            answers = sorted(answers, key=lambda s: -s.confidence)[:1]
        unshown = [s for s in kept + dropped.get(name, []) if s not in answers]
        unshown += res.alternatives.get(name, [])
        for s, shown in [(s, True) for s in answers] + [(s, False) for s in unshown]:
            right = text_key(s.text) in truth
            report.outcomes.append(
                Outcome(name, f.type, multiple, float(s.confidence), right, shown, s.features, doc)
            )
        report.asked += 1
        main = next((s for s in kept if s.chosen), kept[0] if kept else None)
        main_right = text_key(main.text) in truth if main else not truth
        by_value = main is not None and main.normalized is not None
        by_value = by_value and _canonical(main.normalized) in meant.get(g, ())
        report.main_right += main_right
        report.main_value_right += main_right or by_value
        if not truth:
            report.absent += 1
            report.absent_empty += not kept


def evaluate(
    extractor,
    examples: list[dict[str, Any]],
    label_map: dict[str, str] | None = None,
    *,
    batch_size: int | None = None,
    limit: int | None = None,
    constrained: bool = True,
    progress: Callable[[int, int], None] | None = None,
    meta: dict[str, Any] | None = None,
) -> Report:
    """Run ``extractor.extract_batch`` over ``examples`` and score the results.

    ``label_map`` maps gold labels to the labels asked of the model (None: every label of
    the examples, asked as written).  Each example is asked its ``label_set`` (gold labels)
    if it has one, every label of ``label_map`` otherwise; examples with gold ``labels`` are
    also given a classification prompt over their ``choices`` (default: every gold label of
    the examples).  ``batch_size`` documents go to each ``extract_batch`` call (default: the
    extractor's ``batch_size``); ``limit`` keeps the first examples; ``progress(done, total)``
    is called after every batch; ``meta`` is merged into ``Report.meta`` (e.g. the dataset).
    """
    if limit is not None:
        examples = examples[:limit]
    label_map = _labels_of(examples, label_map)
    if not label_map and not any(ex.get("labels") is not None for ex in examples):
        raise ValueError("nothing to evaluate: the examples have neither entity labels nor class labels")
    batch_size = batch_size or getattr(extractor, "batch_size", 16) or 16
    all_choices = _choices_of(examples)

    # examples asked the same labels share a schema (one extract_batch call per batch)
    groups: dict[tuple, list[int]] = {}
    for i, ex in enumerate(examples):
        if "label_set" in ex:
            wanted = set(ex["label_set"]) | {e["label"] for e in ex["entities"]}
            asked = tuple(g for g in label_map if g in wanted) + tuple(sorted(wanted - set(label_map)))
        else:
            asked = tuple(label_map)
        choices = tuple(ex.get("choices") or all_choices) if ex.get("labels") is not None else ()
        groups.setdefault((asked, choices), []).append(i)

    record_types = _record_types(examples)
    scorer = _Scorer(label_map)
    report = scorer.report
    info = getattr(extractor, "info", None) or {}
    report.meta = {
        "model": getattr(extractor, "model_id", type(extractor).__name__),
        "device": info.get("device"),
        "dtype": info.get("dtype"),
        "constrained": constrained,
        "batch_size": batch_size,
        **(meta or {}),
    }
    predicted: list[tuple[list, list | None, list] | None] = [None] * len(examples)
    done = 0
    seconds = 0.0
    for (asked, choices), members in groups.items():
        types = {
            t: [label_map.get(g, g) for g in fs] for t, fs in record_types.items() if set(fs) <= set(asked)
        }
        schema, names = _build_schema([label_map.get(g, g) for g in asked], list(choices), types)
        gold_of = dict(zip(names, asked))
        for b in range(0, len(members), batch_size):
            idx = members[b : b + batch_size]
            t0 = time.perf_counter()
            results = extractor.extract_batch(
                [examples[i]["text"] for i in idx], schema, constrained=constrained
            )
            seconds += time.perf_counter() - t0
            for i, res in zip(idx, results):
                _judge(report, examples[i], res, schema, gold_of, doc=str(examples[i].get("id", i)))
                spans = [
                    (gold_of[name], s.start, s.end)
                    for name, values in res.values.items()
                    if name in gold_of
                    for s in values
                ]
                labels = [c.label for c in res.classes.get(CLASS_FIELD, [])] if choices else None
                recs = [
                    {
                        "type": rec.type,
                        "fields": {gold_of[n]: (s.start, s.end) for n, s in rec.values.items()},
                    }
                    for rec in res.records
                ]
                predicted[i] = (spans, labels, recs)
                report.prompts += res.prompts
                report.warnings += len(res.warnings)
            done += len(idx)
            if progress:
                progress(done, len(examples))
    for ex, got in zip(examples, predicted):
        scorer.add(ex, got[0], got[1], got[2])
    report.seconds = seconds
    return report
