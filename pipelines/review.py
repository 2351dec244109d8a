"""What a person reviews: a document's values with their status, highlighted in its text.

One place for how values are shown, used by the CLI tables (``seqgpt extract``), the app
(``app.py`` through ``seqgpt.app_support``) and the standalone HTML report
(``seqgpt extract --format html``, ``seqgpt run --html-report``):

- :data:`STATUSES` -- the words every view uses for a value: ``ok``, ``issue`` (it fails
  its type, hint or a rule; the issues are listed), ``dropped`` (below its field's
  threshold, kept for audit) and ``not found`` (a field without any value);
  :func:`status_text` writes a value's status with its reasons.
- :func:`collect_spans` / :func:`highlight_html`: the document text as HTML with every
  value in a ``<mark>`` carrying ``data-field``, ``data-start``, ``data-end``,
  ``data-confidence`` and ``data-status``.  The text is escaped; the marks' text is exactly
  ``text[start:end]`` and the whole element's text content is exactly the document text,
  so the offsets shown are the offsets a job writes.
- :func:`context` / :func:`context_html`: where a value came from.
- :func:`value_rows`: the values as table rows (and ``not found`` rows for fields without
  any value); :func:`side_text`: one side of a comparison (``not found`` when empty).
- :func:`schema_view` / :func:`prompt_lines`: how a schema is understood -- the labels
  actually sent to the model (prompt by prompt), parsed types, choices, parts and checks,
  and the human ``description`` (documentation only, never sent to the model); what
  ``seqgpt schema`` prints and the app shows.
- :func:`document_section` / :func:`report_page` / :func:`html_report`: a standalone HTML
  page (inline CSS, no script, no external resource) with, per document, the highlighted
  text, a legend per field, every value with its confidence, normalized form, status and
  issues, the dropped values, and the row's violations and warnings -- what langextract's
  ``visualize`` gives its users, for a reviewer without the app.

Only the standard library and ``extractor`` imports: no Streamlit, no model.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from extractor.types import DocumentResult

__all__ = [
    "NOT_FOUND",
    "STATUSES",
    "SpanView",
    "collect_spans",
    "context",
    "context_html",
    "document_section",
    "field_colors",
    "highlight_html",
    "html_report",
    "missing_fields",
    "normalized_text",
    "prompt_lines",
    "report_page",
    "schema_view",
    "side_text",
    "status_text",
    "value_rows",
]

STATUSES = ("ok", "issue", "dropped", "not found")
NOT_FOUND = "not found"
_PALETTE = (  # background colours of the fields' marks, in schema order
    "#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc", "#e9d5ff",
)  # fmt: skip


def field_colors(schema) -> dict[str, str]:
    """The mark colour of every field, in schema order (the palette repeats after 8)."""
    return {f.name: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(schema.fields)}


# --------------------------------------------------------------------------------------
# Values and their status
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanView:
    """One value as a view shows it."""

    field: str
    text: str
    start: int
    end: int
    confidence: float
    status: str  # "ok", "issue" (failed its field's checks or a rule) or "dropped" (below the threshold)
    color: str = _PALETTE[0]
    threshold: float = 0.0
    issues: tuple[str, ...] = ()
    normalized: Any = None
    approximate: bool = False  # the text states the amount or date only roughly (约30万元)

    @property
    def key(self) -> str:
        """A stable id: ``start:end:field``."""
        return f"{self.start}:{self.end}:{self.field}"

    @property
    def label(self) -> str:
        flag = {"ok": "", "issue": "  ⚠ issue", "dropped": "  ↓ dropped"}[self.status]
        return f"{self.field}: {self.text}  ({self.confidence:.4f}, chars {self.start}-{self.end}){flag}"


def status_text(view: SpanView) -> str:
    """``ok``, ``issue: <issues>`` or ``dropped: below threshold <t>`` (:data:`STATUSES`)."""
    if view.status == "dropped":
        return f"dropped: below threshold {view.threshold:g}"
    if view.status == "issue":
        return "issue: " + "; ".join(view.issues)
    return "ok"


def collect_spans(result: DocumentResult, schema) -> list[SpanView]:
    """Every value of ``result`` (kept and dropped), sorted by offset (outer spans first)."""
    colors = field_colors(schema)
    thresholds = {f.name: result.threshold(f) for f in schema.fields}
    views: list[SpanView] = []

    def add(span, status: str) -> None:
        views.append(
            SpanView(
                field=span.field,
                text=span.text,
                start=span.start,
                end=span.end,
                confidence=float(span.confidence),
                status=status,
                color=colors.get(span.field, _PALETTE[0]),
                threshold=thresholds.get(span.field, 0.0),
                issues=tuple(span.issues or ()),
                normalized=span.normalized,
                approximate=bool(getattr(span, "approximate", False)),
            )
        )

    for spans in result.values.values():
        for span in spans:
            add(span, "issue" if span.issues else "ok")
    for span in result.dropped:
        add(span, "dropped")
    views.sort(key=lambda v: (v.start, -v.end, v.field))
    return views


def missing_fields(result: DocumentResult, schema) -> list[str]:
    """The extraction fields without any value, kept or dropped (their status: ``not found``)."""
    dropped = {s.field for s in result.dropped}
    return [
        f.name for f in schema.extraction_fields if not result.values.get(f.name) and f.name not in dropped
    ]


def side_text(values: Sequence[str]) -> str:
    """One side of a comparison in a table cell: its values joined with `` | ``, or
    ``not found``."""
    return " | ".join(values) if values else NOT_FOUND


def normalized_text(normalized: Any, approximate: bool = False) -> str:
    """A normalized value in a table cell (JSON), ``(approximate)`` after a value the text
    states only roughly."""
    text = "" if normalized is None else json.dumps(normalized, ensure_ascii=False)
    return f"{text} (approximate)".strip() if approximate else text


def value_rows(views: Iterable[SpanView], missing: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The values as table rows (field, value, confidence, offsets, normalized, status),
    then one ``not found`` row per field of ``missing`` (:func:`missing_fields`)."""
    rows = []
    for v in views:
        rows.append(
            {
                "field": v.field,
                "value": v.text,
                "confidence": round(v.confidence, 4),
                "start": v.start,
                "end": v.end,
                "normalized": normalized_text(v.normalized, v.approximate),
                "status": status_text(v),
            }
        )
    for name in missing:
        rows.append(
            {
                "field": name,
                "value": "",
                "confidence": None,
                "start": None,
                "end": None,
                "normalized": "",
                "status": NOT_FOUND,
            }
        )
    return rows


# --------------------------------------------------------------------------------------
# How a schema is understood
# --------------------------------------------------------------------------------------


def prompt_lines(schema, labels_per_prompt: int | None = None) -> list[str]:
    """The task line of every prompt a document chunk gets, as the model reads it
    (``抽取: 甲方，乙方，签约日期(YYYY-MM-DD)``, at most ``labels_per_prompt`` labels each, then
    one ``分类: 咨询，投诉`` per classification field): the engine's own grouping
    (``extractor.prompt.group_labels``) and label line (``extractor.prompt.label_line``)."""
    from extractor.prompt import CLASSIFY, EXTRACT, MAX_LABELS_PER_PROMPT, group_labels, label_line

    size = labels_per_prompt or MAX_LABELS_PER_PROMPT
    labels = [f.prompt_label for f in schema.extraction_fields]
    lines = [label_line(group, EXTRACT) for group in group_labels(labels, size)] if labels else []
    lines += [label_line(list(c.choices), CLASSIFY) for c in schema.classification_fields if c.choices]
    return lines


def schema_view(schema, labels_per_prompt: int | None = None) -> dict[str, Any]:
    """How ``schema`` is understood, as a mapping: per field its ``name``, the ``label`` sent
    to the model, the parsed ``type``, ``hint``, ``choices``, ``parts``, ``length``,
    ``pattern`` (those that apply), ``required``, ``threshold`` (None: the model's default),
    ``multiple`` (several values, or one value and scored alternatives) and ``description``; the
    ``prompts`` (:func:`prompt_lines`), the ``part_prompts`` a value of a field with parts
    gets (the value alone as the input); then ``rules``, ``records`` and ``summary``."""
    from extractor.prompt import clean_label, label_line

    fields = []
    for f in schema.fields:
        d: dict[str, Any] = {"name": f.name, "label": clean_label(f.prompt_label), "type": f.type}
        if f.type == "class":
            d["label"] = None  # a classification field asks its choices, not its name
        if f.hint is not None:
            d["hint"] = f.hint
        for attr in ("choices", "parts", "length", "pattern"):
            value = getattr(f, attr)
            if value:
                d[attr] = list(value) if isinstance(value, list) else value
        d["required"] = bool(f.required)
        d["threshold"] = f.threshold  # None: the model's calibrated default for one-value fields
        d["multiple"] = schema.is_multiple(f)
        if f.description is not None:
            d["description"] = f.description
        fields.append(d)
    view: dict[str, Any] = {}
    if schema.name is not None:
        view["name"] = schema.name
    view["fields"] = fields
    view["prompts"] = prompt_lines(schema, labels_per_prompt)
    view["part_prompts"] = {f.name: label_line(list(f.parts)) for f in schema.extraction_fields if f.parts}
    view["rules"] = [str(r) for r in schema.rules]
    view["records"] = [str(r) for r in schema.records]
    view["summary"] = schema.summary
    return view


# --------------------------------------------------------------------------------------
# Highlighting
# --------------------------------------------------------------------------------------


def _mark_open(v: SpanView, index: int) -> str:
    title = f"{v.field} · confidence {v.confidence:.3f} · chars {v.start}-{v.end}"
    if v.status == "dropped":
        title += f" · dropped: below the field's threshold {v.threshold:g}"
    if v.issues:
        title += " · " + "; ".join(v.issues)
    attrs = {
        "class": f"seqgpt-mark seqgpt-{v.status}",
        "data-field": v.field,
        "data-start": str(v.start),
        "data-end": str(v.end),
        "data-confidence": f"{v.confidence:.4f}",
        "data-status": v.status,
        "data-key": v.key,
        "data-index": str(index),
        "style": f"background:{v.color}",
        "title": title,
        "tabindex": "0",
    }
    return "<mark " + " ".join(f'{k}="{html.escape(val, quote=True)}"' for k, val in attrs.items()) + ">"


def highlight_html(text: str, spans: Iterable[SpanView]) -> tuple[str, list[SpanView]]:
    """``text`` as escaped HTML with the spans in ``<mark>`` elements; (html, not shown).

    Spans inside another span are nested marks; a span that crosses another one's edge
    (``[0, 5)`` and ``[3, 8)``) cannot be nested and is returned in the second list (the
    page lists it separately).  Spans outside the text or empty are returned there too.
    """
    ordered = sorted(spans, key=lambda v: (v.start, -v.end, v.field))
    placed: list[tuple[int, SpanView]] = []
    skipped: list[SpanView] = []
    stack: list[SpanView] = []
    for v in ordered:
        if not (0 <= v.start < v.end <= len(text)) or text[v.start : v.end] != v.text:
            skipped.append(v)
            continue
        while stack and stack[-1].end <= v.start:
            stack.pop()
        if stack and v.end > stack[-1].end:  # crosses the enclosing span's end
            skipped.append(v)
            continue
        stack.append(v)
        placed.append((len(placed), v))

    # Events at each offset: closes before opens; among opens, the outer (longer) first.
    opens: dict[int, list[tuple[int, SpanView]]] = {}
    closes: dict[int, int] = {}
    for idx, v in placed:
        opens.setdefault(v.start, []).append((idx, v))
        closes[v.end] = closes.get(v.end, 0) + 1
    out: list[str] = []
    pos = 0
    for cut in sorted(set(opens) | set(closes)):
        out.append(html.escape(text[pos:cut], quote=False))
        pos = cut
        out.append("</mark>" * closes.get(cut, 0))
        for idx, v in opens.get(cut, []):  # already outer-first (sorted above)
            out.append(_mark_open(v, idx))
    out.append(html.escape(text[pos:], quote=False))
    return '<div class="seqgpt-doc">' + "".join(out) + "</div>", skipped


def context(text: str, start: int, end: int, width: int = 80) -> dict[str, Any]:
    """Where ``text[start:end]`` sits: the text before and after (``width`` characters
    each, cut at the ends), the 1-based line and column, and whether it was cut."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = max(0, start - width), min(len(text), end + width)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return {
        "before": text[lo:start],
        "value": text[start:end],
        "after": text[end:hi],
        "cut_before": lo > 0,
        "cut_after": hi < len(text),
        "line": line,
        "column": column,
    }


def context_html(text: str, view: SpanView, width: int = 80) -> str:
    """The value in its surroundings, for the "where it came from" panel."""
    c = context(text, view.start, view.end, width)
    return (
        '<div class="seqgpt-context" data-field="{f}" data-start="{s}" data-end="{e}">'
        "{lead}{before}<mark>{value}</mark>{after}{tail}</div>"
    ).format(
        f=html.escape(view.field, quote=True),
        s=view.start,
        e=view.end,
        lead="…" if c["cut_before"] else "",
        before=html.escape(c["before"], quote=False),
        value=html.escape(c["value"], quote=False),
        after=html.escape(c["after"], quote=False),
        tail="…" if c["cut_after"] else "",
    )


# --------------------------------------------------------------------------------------
# The standalone HTML report
# --------------------------------------------------------------------------------------

REPORT_CSS = """
body { font-family: "Source Sans Pro", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; margin: 1.5rem;
  color: #111827; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; }
.seqgpt-meta { color: #4b5563; font-size: .9rem; }
.seqgpt-doc { white-space: pre-wrap; word-break: break-word; line-height: 1.9; padding: .75rem 1rem;
  border: 1px solid #d1d5db; border-radius: .5rem; }
.seqgpt-mark { color: inherit; padding: 1px 0; border-radius: 3px; }
.seqgpt-mark.seqgpt-dropped { background: transparent !important; outline: 1px dashed #9ca3af; color: #6b7280; }
.seqgpt-mark.seqgpt-issue { text-decoration: underline wavy #dc2626; }
.seqgpt-legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
.seqgpt-swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 3px; vertical-align: -2px;
  margin-right: .3rem; border: 1px solid #9ca3af; }
table.seqgpt-values { border-collapse: collapse; margin-top: .75rem; font-size: .9rem; }
table.seqgpt-values th, table.seqgpt-values td { border: 1px solid #d1d5db; padding: .25rem .5rem;
  text-align: left; vertical-align: top; }
tr.seqgpt-issue td { background: #fef2f2; } tr.seqgpt-dropped td { color: #6b7280; }
tr.seqgpt-notfound td { color: #6b7280; font-style: italic; }
.seqgpt-violations li { color: #b91c1c; } .seqgpt-warnings li { color: #92400e; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _legend(result: DocumentResult, schema, colors: dict[str, str]) -> str:
    items = []
    dropped: dict[str, int] = {}
    for s in result.dropped:
        dropped[s.field] = dropped.get(s.field, 0) + 1
    for f in schema.extraction_fields:
        kept = result.values.get(f.name) or []
        counts = [f"{len(kept)} value{'s' if len(kept) != 1 else ''}"] if kept else []
        if any(s.issues for s in kept):
            counts.append(f"{sum(1 for s in kept if s.issues)} with issues")
        if dropped.get(f.name):
            counts.append(f"{dropped[f.name]} dropped")
        what = ", ".join(counts) or NOT_FOUND
        items.append(
            f'<li data-field="{_e(f.name)}"><span class="seqgpt-swatch" style="background:{colors[f.name]}">'
            f'</span>{_e(f.prompt_label)} <span class="seqgpt-meta">({_e(f.type)}; {_e(what)})</span></li>'
        )
    return '<ul class="seqgpt-legend">' + "".join(items) + "</ul>"


def _values_table(views: Sequence[SpanView], missing: Sequence[str], result: DocumentResult, schema) -> str:
    head = "<tr><th>field</th><th>value</th><th>confidence</th><th>offsets</th><th>normalized</th><th>status</th></tr>"
    body = []
    for v in views:
        body.append(
            f'<tr class="seqgpt-{v.status}" data-field="{_e(v.field)}" data-start="{v.start}" data-end="{v.end}">'
            f"<td>{_e(v.field)}</td><td>{_e(v.text)}</td><td>{v.confidence:.3f}</td>"
            f"<td>{v.start}-{v.end}</td><td>{_e(normalized_text(v.normalized, v.approximate))}</td>"
            f"<td>{_e(status_text(v))}</td></tr>"
        )
    for c in schema.classification_fields:
        labels = result.classes.get(c.name) or []
        if not labels:
            missing = [*missing, c.name]
            continue
        for lab in labels:
            body.append(
                f'<tr class="seqgpt-ok" data-field="{_e(c.name)}"><td>{_e(c.name)}</td><td>{_e(lab.label)}</td>'
                f"<td>{lab.confidence:.3f}</td><td></td><td></td><td>ok</td></tr>"
            )
    for name in missing:
        body.append(
            f'<tr class="seqgpt-notfound" data-field="{_e(name)}"><td>{_e(name)}</td><td></td><td></td><td></td>'
            f"<td></td><td>{NOT_FOUND}</td></tr>"
        )
    return f'<table class="seqgpt-values">{head}{"".join(body)}</table>'


def document_section(text: str, result: DocumentResult, schema, *, source: str = "", model: str = "") -> str:
    """One document's part of the report: title (with the OCR confidence of a document read
    by OCR), legend, highlighted text, values table, overlapping values that could not be
    highlighted inline, summary, violations, warnings."""
    colors = field_colors(schema)
    views = collect_spans(result, schema)
    missing = missing_fields(result, schema)
    marked, skipped = highlight_html(text, views)
    kept = sum(len(v) for v in result.values.values())
    meta = f"{kept} values · {len(result.dropped)} dropped · {len(result.violations)} violations"
    if model:
        meta += f" · model {model}"
    ocr = getattr(result, "ocr_confidence", None)
    if ocr:  # read by OCR (connectors.ocr.flag_values): values from weak lines carry an issue
        pages = ", ".join(str(int(p) + 1) for p in ocr.get("pages") or [])
        meta += (
            f" · read by OCR (page {pages}: {ocr.get('lines')} lines, line score mean "
            f"{float(ocr.get('mean') or 0):.3f}, min {float(ocr.get('min') or 0):.3f})"
        )
    parts = [
        f'<section class="seqgpt-document" data-source="{_e(source)}">',
        f"<h2>{_e(source or 'document')}</h2>",
        f'<p class="seqgpt-meta">{_e(meta)}</p>',
        _legend(result, schema, colors),
        marked,
    ]
    if skipped:
        parts.append(
            '<p class="seqgpt-meta">Overlapping values not highlighted inline: '
            + _e("; ".join(f"{v.field}={v.text!r} [{v.start}-{v.end}]" for v in skipped))
            + "</p>"
        )
    parts.append(_values_table(views, missing, result, schema))
    if result.summary is not None:
        parts.append(f"<p><b>Summary:</b> {_e(result.summary)}</p>")
    for title, css, messages in (
        ("Violations", "seqgpt-violations", result.violations),
        ("Warnings", "seqgpt-warnings", result.warnings),
    ):
        if messages:
            items = "".join(f"<li>{_e(m)}</li>" for m in messages)
            parts.append(f'<h3>{title}</h3><ul class="{css}">{items}</ul>')
    parts.append("</section>")
    return "\n".join(parts)


def report_page(sections: Sequence[str], *, title: str, lines: Sequence[str] = ()) -> str:
    """A standalone page around :func:`document_section` parts: inline CSS, no script, no
    external resource, so it can be mailed or archived as one file."""
    intro = "".join(f'<p class="seqgpt-meta">{_e(line)}</p>' for line in lines)
    made = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{REPORT_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_e(title)}</h1>\n{intro}"
        f'<p class="seqgpt-meta">Made {made} by seqgpt. Hover a highlighted value for its confidence and '
        "issues; dashed values are below their field's threshold (dropped, kept for audit); wavy-underlined "
        "values have issues.</p>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def html_report(text: str, result: DocumentResult, schema, *, source: str = "", model: str = "") -> str:
    """The whole report page of one document (``seqgpt extract --format html``)."""
    section = document_section(text, result, schema, source=source, model=model)
    return report_page(
        [section], title=f"seqgpt: {source or 'document'}", lines=[f"model: {model}"] if model else []
    )
