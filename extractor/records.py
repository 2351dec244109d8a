"""Records: from flat field values to the rows a warehouse wants.

A schema's record type (``车辆: 车牌号, 驾驶人, 车辆类型``) asks which values belong
together.  The model finds the values (every one a verbatim span with its confidence); this
module groups them by where they stand in the text, the way a reader does:

1. **Candidates.**  Every occurrence in the text of every value the model found for the
   record's fields.  A value written twice (the same vehicle type for two vehicles, a plate
   number repeated in the conclusion) is a candidate at each place it stands, because the
   model names a value once even when it belongs to several records.
2. **The anchor field** is the record field with the most distinct values (ties: the record
   type's order): the plate number of a vehicle, the company of a job.  Each distinct anchor
   value is one record; all its occurrences point to that record.
3. **Assignment.**  Every other candidate joins the record of an anchor occurrence in the
   smallest text unit that holds both -- clause (``，；``), sentence, line, paragraph --
   the nearest anchor before it in that unit, else the nearest after it.  A candidate that
   shares no unit with any anchor joins the nearest anchor before it in the document; one
   before every anchor joins none.
4. **One value per field.**  A record keeps the first candidate of each field in text order;
   later ones of the same field are not moved into another record, so a record never takes
   a value from a neighbour to fill a gap.

With a single anchor value (one contract, one ticket) there is one record holding each
field's chosen value (:func:`extractor.types.best_span`).  Without any anchor value there is
no record.

``record_type`` is read by its ``name`` and ``fields`` (an ``extractor.schema.RecordType``);
this module imports nothing from the schema.  Summaries are :mod:`extractor.summary`.

Pure Python; no model needed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

from .types import Record, Span, best_span

_CLAUSE_END = re.compile(r"[，,；;。！？!?\n\f]|\.(?=\s|$)")
_SENTENCE_END = re.compile(r"[。！？!?\n\f]|\.(?=\s|$)")
_LINE_END = re.compile(r"[\n\f]")
_PARAGRAPH_END = re.compile(r"\n\s*\n|\f")


def _unit_starts(text: str, pattern: re.Pattern[str]) -> list[int]:
    """Start offsets of the units that ``pattern``'s matches end."""
    return [0] + [m.end() for m in pattern.finditer(text)]


class _Units:
    """Which clause, sentence, line and paragraph a character offset belongs to."""

    def __init__(self, text: str):
        self.levels = [_unit_starts(text, p) for p in (_CLAUSE_END, _SENTENCE_END, _LINE_END, _PARAGRAPH_END)]

    def ids(self, offset: int) -> list[int]:
        return [bisect.bisect_right(starts, offset) - 1 for starts in self.levels]


def occurrences(text: str, value: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences of ``value`` in ``text``."""
    out, pos = [], text.find(value) if value else -1
    while pos >= 0:
        out.append(pos)
        pos = text.find(value, pos + len(value))
    return out


def _moved(span: Span, start: int) -> Span:
    shift = start - span.start
    parts = {k: _moved(p, p.start + shift) for k, p in span.parts.items()}
    return Span(span.field, span.text, start, start + len(span.text), span.confidence,
                span.normalized, list(span.issues), parts, span.approximate)  # fmt: skip


def group_records(text: str, values: Mapping[str, list[Span]], record_type) -> list[Record]:
    """The records of ``record_type`` (an ``extractor.schema.RecordType``) in a document
    whose extracted ``values`` are keyed by field name (module docstring for the rules)."""
    fields = list(record_type.fields)
    found = {f: [s for s in values.get(f) or [] if s.text] for f in fields}
    distinct = {f: list(dict.fromkeys(s.text for s in spans)) for f, spans in found.items()}
    anchor = max(fields, key=lambda f: (len(distinct[f]), -fields.index(f)))
    if not distinct[anchor]:
        return []
    if len(distinct[anchor]) == 1:
        chosen = {f: best_span(found[f]) for f in fields if found[f]}
        return [Record(record_type.name, 0, {f: s for f, s in chosen.items() if s is not None})]

    units = _Units(text)
    # anchor occurrences: (start, record key), in text order
    points: list[tuple[int, str, Span]] = []
    for span in found[anchor]:
        for start in occurrences(text, span.text) or [span.start]:
            points.append((start, span.text, _moved(span, start)))
    points.sort(key=lambda p: p[0])
    point_units = [units.ids(p[0]) for p in points]
    order = list(dict.fromkeys(key for _, key, _ in points))  # records in order of first mention
    members: dict[str, dict[str, Span]] = {key: {} for key in order}
    for _, key, span in points:
        members[key].setdefault(anchor, span)

    candidates: list[Span] = []
    for f in fields:
        if f == anchor:
            continue
        for span in found[f]:
            for start in occurrences(text, span.text) or [span.start]:
                candidates.append(_moved(span, start))
    candidates.sort(key=lambda s: (s.start, fields.index(s.field)))
    starts = [p[0] for p in points]
    for cand in candidates:
        key = _owner(cand.start, units.ids(cand.start), points, point_units, starts)
        if key is not None:
            members[key].setdefault(cand.field, cand)
    records = []
    for i, key in enumerate(order):
        spans = members[key]
        records.append(Record(record_type.name, i, {f: spans[f] for f in fields if f in spans}))
    return records


def _owner(offset: int, ids: list[int], points, point_units, starts) -> str | None:
    for level in range(len(ids)):
        near = [i for i, u in enumerate(point_units) if u[level] == ids[level]]
        if near:
            before = [i for i in near if starts[i] <= offset]
            i = before[-1] if before else near[0]
            return points[i][1]
    k = bisect.bisect_right(starts, offset) - 1
    return points[k][1] if k >= 0 else None
