"""Plain result types shared by the engine, the schema validators and the pipeline.

Nothing here imports torch: the CLI, the connectors and the tests can use these types
without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Span:
    """One extracted value: a verbatim span of the document.

    ``start``/``end`` are character offsets into the document text the engine was given,
    so ``document[start:end] == text`` always holds.  ``confidence`` is in [0, 1] and comes
    from the model's own token probabilities (see ``extractor.decoding``).  ``normalized``
    is filled by the schema (money, dates, phones, ID numbers ...) and ``issues`` lists the
    validation problems of this single value (wrong format, not one of the choices, a
    cross-field rule it breaks or that could not be checked on it).
    ``approximate`` is True when the text does not state an exact amount, count or date
    (``约30万元``, ``五十多万``, ``三月中旬``): ``normalized`` then holds what the text names or
    its lower bound, never an exact value (``extractor.normalize.is_approximate``).
    ``chosen`` marks the value that stands for its field (set by validation, see
    :func:`best_span`).
    """

    field: str
    text: str
    start: int
    end: int
    confidence: float
    normalized: Any = None
    issues: list[str] = field(default_factory=list)
    parts: dict[str, Span] = field(default_factory=dict)
    approximate: bool = False
    chosen: bool = False
    # what the confidence was computed from (extractor.confidence); not part of the output
    features: dict[str, float] | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }
        if self.normalized is not None:
            d["normalized"] = self.normalized
        if self.approximate:
            d["approximate"] = True
        if self.issues:
            d["issues"] = list(self.issues)
        if self.parts:
            d["parts"] = {name: s.to_dict() for name, s in self.parts.items()}
        return d


def best_span(spans: list[Span]) -> Span | None:
    """The value that stands for a field when one is needed (the Parquet ``<f>`` column, rules,
    summaries, comparisons): the one validation marked ``chosen``, if any; else one without
    validation issues beats one with issues, then the higher confidence wins, then the earlier
    offset.  None for no spans.  Validation chooses before it checks rules, so a value that
    breaks a rule (and gets that issue) stays the chosen one."""
    if not spans:
        return None
    for s in spans:
        if s.chosen:
            return s
    return min(spans, key=lambda s: (bool(s.issues), -float(s.confidence), s.start))


@dataclass
class ClassLabel:
    """One label chosen by a classification (``分类``) prompt."""

    field: str
    label: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence}


@dataclass
class Record:
    """One record found in a document: values of a record type's fields that belong together
    (one vehicle of an accident report, one job of a CV), at most one span per field.

    ``index`` numbers the document's records of this type from 0 in text order.
    """

    type: str
    index: int
    values: dict[str, Span] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """The lowest confidence of the record's values (a record is as sure as its weakest value)."""
        return min((s.confidence for s in self.values.values()), default=0.0)

    @property
    def start(self) -> int:
        return min((s.start for s in self.values.values()), default=0)

    @property
    def end(self) -> int:
        return max((s.end for s in self.values.values()), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "index": self.index,
            "confidence": self.confidence,
            "fields": {name: s.to_dict() for name, s in self.values.items()},
        }


@dataclass
class DocumentResult:
    """Everything the engine found in one document.

    ``values`` maps every extraction field of the schema (in schema order) to its kept spans,
    sorted by offset; ``classes`` maps every classification field to its labels;
    ``dropped`` holds spans removed by a field's confidence threshold (kept for audit);
    ``violations`` are the row's problems: missing required fields, every kept value that
    fails its type or hint (``field='text': issue``), broken cross-field rules and rules that
    could not be checked (a value that does not parse, amounts in different currencies);
    ``warnings`` say where the engine itself may have missed something (an answer cut at the
    token budget), so nothing is lost silently; ``alternatives`` holds, per one-value field,
    the other values the model considered, with their own confidences, best first
    (``extractor.confidence``); ``thresholds`` the confidence under which a field without a
    threshold of its own is answered None (set by the engine from the model's calibration); ``records`` are the schema's record types as
    found (``extractor.records``) and ``summary`` the schema's summary template filled with
    extracted values (None when the schema has none or a required value is missing).
    ``ocr_confidence`` and ``ocr_lines`` are set by the reader's side for a document read by
    OCR (``connectors.ocr.flag_values``): ``{"mean", "min", "lines", "pages", "dpi"}`` (the
    mean and minimum line score) and each line's ``page``, ``box``, ``text``, ``score`` and
    ``start``/``end`` in the text; None for a text-layer document.
    """

    values: dict[str, list[Span]] = field(default_factory=dict)
    classes: dict[str, list[ClassLabel]] = field(default_factory=dict)
    dropped: list[Span] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    summary: str | None = None
    chunks: int = 1
    prompts: int = 0
    alternatives: dict[str, list[Span]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    ocr_confidence: dict[str, Any] | None = None
    ocr_lines: list[dict[str, Any]] | None = None

    def threshold(self, f) -> float:
        """The confidence threshold of field ``f`` here: its own, else the default the engine set."""
        own = getattr(f, "threshold", None)
        return float(own) if own is not None else float(self.thresholds.get(f.name, 0.0))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "fields": {k: [s.to_dict() for s in v] for k, v in self.values.items()},
            "classes": {k: [c.to_dict() for c in v] for k, v in self.classes.items()},
        }
        if self.records:
            d["records"] = [r.to_dict() for r in self.records]
        if self.summary is not None:
            d["summary"] = self.summary
        dropped: dict[str, list[dict[str, Any]]] = {}
        for s in self.dropped:
            dropped.setdefault(s.field, []).append(s.to_dict())
        alternatives = {k: [s.to_dict() for s in v] for k, v in self.alternatives.items() if v}
        if alternatives:
            d["alternatives"] = alternatives
        d.update(
            dropped=dropped,
            violations=list(self.violations),
            warnings=list(self.warnings),
            chunks=self.chunks,
        )
        if self.ocr_confidence is not None:
            d["ocr_confidence"] = dict(self.ocr_confidence)
            d["ocr_lines"] = list(self.ocr_lines or [])
        return d
