"""Compare two documents field by field: what is the same, what differs, what is missing.

``compare(schema, a, b)`` takes the two documents' ``DocumentResult`` (same schema) and
returns one :class:`FieldComparison` per field, in schema order.  Values are compared the
way rules compare them (``Field.comparable``): ``¥120,000.00`` and ``人民币12万元`` are the
same amount, ``2023年9月12日`` and ``2023-09-12`` the same date, text compares without case,
width or spaces.  A field with several values compares them as sets.

Statuses: ``same``, ``different``, ``only_a`` (B has no value), ``only_b``, ``missing``
(neither document has one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .types import DocumentResult
from .validation import comparable

STATUSES = ("same", "different", "only_a", "only_b", "missing")


@dataclass
class FieldComparison:
    field: str
    status: str
    a: list[str] = field(default_factory=list)
    b: list[str] = field(default_factory=list)
    a_confidence: float | None = None  # lowest confidence among the side's values
    b_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "status": self.status,
            "a": list(self.a),
            "b": list(self.b),
            "a_confidence": self.a_confidence,
            "b_confidence": self.b_confidence,
        }


def _side(schema_field, result: DocumentResult) -> tuple[list[str], set, float | None]:
    if schema_field.type == "class":
        labels = result.classes.get(schema_field.name) or []
        texts = [c.label for c in labels]
        confs = [c.confidence for c in labels]
    else:
        spans = result.values.get(schema_field.name) or []
        texts = [s.text for s in spans]
        confs = [s.confidence for s in spans]
    keys = set()
    for t in texts:
        key = comparable(schema_field, t)
        keys.add(key if key is not None else t)
    return texts, keys, (min(confs) if confs else None)


def compare(schema, a: DocumentResult, b: DocumentResult) -> list[FieldComparison]:
    """One comparison per field of ``schema`` (module docstring)."""
    out = []
    for f in schema.fields:
        a_texts, a_keys, a_conf = _side(f, a)
        b_texts, b_keys, b_conf = _side(f, b)
        if not a_texts and not b_texts:
            status = "missing"
        elif not b_texts:
            status = "only_a"
        elif not a_texts:
            status = "only_b"
        else:
            status = "same" if a_keys == b_keys else "different"
        out.append(FieldComparison(f.name, status, a_texts, b_texts, a_conf, b_conf))
    return out
