"""Plain result types shared by the engine, the schema validators and the pipeline.

Nothing here imports torch: the CLI, the connectors and the tests can use these types
without loading a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Span:
    """One extracted value: a verbatim span of the document.

    ``start``/``end`` are character offsets into the document text the engine was given,
    so ``document[start:end] == text`` always holds.  ``confidence`` is in [0, 1] and comes
    from the model's own token probabilities (see ``extractor.decoding``).  ``normalized``
    is filled by the schema (money, dates, phones, ID numbers ...) and ``issues`` lists the
    validation problems of this single value (wrong format, not one of the choices ...).
    """

    field: str
    text: str
    start: int
    end: int
    confidence: float
    normalized: Any = None
    issues: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("field")
        if d["normalized"] is None:
            d.pop("normalized")
        if not d["issues"]:
            d.pop("issues")
        return d


@dataclass
class ClassLabel:
    """One label chosen by a classification (``分类``) prompt."""

    field: str
    label: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence}


@dataclass
class DocumentResult:
    """Everything the engine found in one document.

    ``values`` maps every extraction field of the schema (in schema order) to its kept spans,
    sorted by offset; ``classes`` maps every classification field to its labels;
    ``dropped`` holds spans removed by a field's confidence threshold (kept for audit);
    ``violations`` are the messages of broken cross-field rules and missing required fields;
    ``warnings`` say where the engine itself may have missed something (an answer cut at the
    token budget), so nothing is lost silently.
    """

    values: dict[str, list[Span]] = field(default_factory=dict)
    classes: dict[str, list[ClassLabel]] = field(default_factory=dict)
    dropped: list[Span] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 1
    prompts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": {k: [s.to_dict() for s in v] for k, v in self.values.items()},
            "classes": {k: [c.to_dict() for c in v] for k, v in self.classes.items()},
            "violations": list(self.violations),
            "warnings": list(self.warnings),
            "chunks": self.chunks,
        }
