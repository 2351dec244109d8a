"""Pure helpers of the Streamlit app (``app.py``): no Streamlit, no model, unit-testable.

- :func:`md_text` / :func:`md_code`: user and document text escaped for Streamlit's Markdown
  elements, as text or as a code span that cannot be broken out of (the HTML views escape
  with ``html.escape``), so a document's markup is always shown as text.
- :func:`collect_spans` / :func:`highlight_html`: the document text as HTML with every
  value in a ``<mark>`` carrying ``data-field``, ``data-start``, ``data-end``,
  ``data-confidence`` and ``data-status`` (``ok``, ``issue`` for a value that failed its
  field's checks, ``low`` for a value below the field's threshold).  The text is escaped;
  the marks' text is exactly ``text[start:end]`` and the whole element's text content is
  exactly the document text, so the offsets shown are the offsets a job writes.
- :func:`context`: where a value came from (the text around its offsets, line and column).
- :func:`schema_to_rows` / :func:`rows_to_schema`: a schema as the rows of the editable
  field table and back; ``rows_to_schema(schema_to_rows(s)).to_dict() == s.to_dict()``.
- :func:`schema_file_bytes` / :func:`load_schema_bytes`: the schema file the app offers for
  download (byte for byte what ``Schema.save`` writes) and the one it reads back (through
  ``Schema.from_file``, as ``seqgpt run --schema`` does).
- :func:`read_upload`: an uploaded PDF or text file as its clean text (the one reader of
  ``connectors.documents``, as ``seqgpt run`` reads it), or a message for the page.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from extractor.schema import FIELD_TYPES, Field, Schema, SchemaError, infer_type
from extractor.types import DocumentResult

__all__ = [
    "AUTO_TYPE",
    "MODEL_ENV",
    "ROW_COLUMNS",
    "SpanView",
    "collect_spans",
    "context",
    "context_html",
    "highlight_html",
    "load_schema_bytes",
    "md_code",
    "md_text",
    "model_from_argv",
    "parse_field_list",
    "read_upload",
    "rows_to_schema",
    "schema_file_bytes",
    "schema_to_rows",
    "value_rows",
]

MODEL_ENV = "SEQGPT_MODEL"  # set by `seqgpt ui --model ...`
DEVICE_ENV = "SEQGPT_DEVICE"
AUTO_TYPE = "auto"  # the type column's "infer it from the name and hint"
TYPE_OPTIONS = (AUTO_TYPE, *FIELD_TYPES)
ROW_COLUMNS = ("name", "hint", "type", "required", "threshold", "choices", "more")
_MORE_KEYS = ("parts", "length", "pattern", "description")
_PALETTE = (  # background colours of the fields' marks, in schema order
    "#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc", "#e9d5ff",
)  # fmt: skip


# --------------------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------------------

_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#+-.!|<>~=$")


def md_text(text: str) -> str:
    """``text`` (a document's words, a field name, a file name) for any Streamlit Markdown
    element, shown exactly as typed: every Markdown and HTML special character is
    backslash-escaped, so ``<script>``, ``<img onerror=...>``, ``[link](...)``, ``**`` or
    ``$...$`` in a document never become markup, links, images or formulas."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in str(text))


def md_code(text: str) -> str:
    """``text`` as an inline code span (rules, record types, templates, model ids: shown
    verbatim, ``>=`` not turned into ``≥``), whatever backticks it holds: the fence is one
    backtick longer than its longest backtick run, so it cannot be closed from inside."""
    text = " ".join(str(text).splitlines())
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# --------------------------------------------------------------------------------------
# Model selection
# --------------------------------------------------------------------------------------


def model_from_argv(argv: Iterable[str], environ: Mapping[str, str] | None = None) -> str | None:
    """The model the app should load: ``--model X`` / ``--model=X`` among the script's
    arguments (``streamlit run app.py -- --model X``), else ``$SEQGPT_MODEL``, else None
    (the bundled default model)."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--model" and i + 1 < len(args):
            return args[i + 1] or None
        if arg.startswith("--model="):
            return arg.split("=", 1)[1] or None
    environ = os.environ if environ is None else environ
    return environ.get(MODEL_ENV) or None


# --------------------------------------------------------------------------------------
# Highlighting
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanView:
    """One value as the page shows it."""

    field: str
    text: str
    start: int
    end: int
    confidence: float
    status: str  # "ok", "issue" (failed its field's checks) or "low" (below the threshold)
    color: str = _PALETTE[0]
    threshold: float = 0.0
    issues: tuple[str, ...] = ()
    normalized: Any = None

    @property
    def key(self) -> str:
        """A stable id: ``start:end:field``."""
        return f"{self.start}:{self.end}:{self.field}"

    @property
    def label(self) -> str:
        flag = {"ok": "", "issue": "  ⚠ check failed", "low": "  ↓ below threshold"}[self.status]
        return f"{self.field}: {self.text}  ({self.confidence:.4f}, chars {self.start}-{self.end}){flag}"


def collect_spans(result: DocumentResult, schema: Schema) -> list[SpanView]:
    """Every value of ``result`` (kept and dropped), sorted by offset (outer spans first)."""
    colors = {f.name: _PALETTE[i % len(_PALETTE)] for i, f in enumerate(schema.fields)}
    thresholds = {f.name: f.threshold for f in schema.fields}
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
            )
        )

    for spans in result.values.values():
        for span in spans:
            add(span, "issue" if span.issues else "ok")
    for span in result.dropped:
        add(span, "low")
    views.sort(key=lambda v: (v.start, -v.end, v.field))
    return views


def _mark_open(v: SpanView, index: int) -> str:
    title = f"{v.field} · confidence {v.confidence:.3f} · chars {v.start}-{v.end}"
    if v.status == "low":
        title += f" · below the field's threshold {v.threshold:g}"
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


def value_rows(views: Iterable[SpanView]) -> list[dict[str, Any]]:
    """The values as table rows (field, value, confidence, offsets, normalized, status)."""
    rows = []
    for v in views:
        if v.status == "low":
            status = f"below threshold {v.threshold:g} (dropped)"
        elif v.status == "issue":
            status = "check failed: " + "; ".join(v.issues)
        else:
            status = "ok"
        normalized = "" if v.normalized is None else json.dumps(v.normalized, ensure_ascii=False)
        rows.append(
            {
                "field": v.field,
                "value": v.text,
                "confidence": round(v.confidence, 4),
                "start": v.start,
                "end": v.end,
                "normalized": normalized,
                "status": status,
            }
        )
    return rows


# --------------------------------------------------------------------------------------
# Schema <-> editable rows
# --------------------------------------------------------------------------------------


def _field_row(f: Field) -> dict[str, Any]:
    d = f.to_dict()
    row_type = AUTO_TYPE if d["type"] == infer_type(f.name, f.hint) else d["type"]
    more = {k: d[k] for k in _MORE_KEYS if k in d}
    return {
        "name": f.name,
        "hint": f.hint or "",
        "type": row_type,
        "required": bool(f.required),
        "threshold": float(f.threshold),
        "choices": "/".join(d.get("choices", [])),
        "more": json.dumps(more, ensure_ascii=False) if more else "",
    }


def schema_to_rows(schema: Schema) -> list[dict[str, Any]]:
    """One editable row per field (columns :data:`ROW_COLUMNS`).

    ``type`` is ``auto`` where the name and hint imply it; ``choices`` holds choices given
    explicitly (``/``-separated), ``more`` any other explicit key (parts, length, pattern,
    description) as JSON.
    """
    return [_field_row(f) for f in schema.fields]


def parse_field_list(spec: str) -> list[dict[str, Any]]:
    """Rows for a typed field list (``"甲方, 合同金额(万元)*, 签约日期(YYYY-MM-DD)"``)."""
    return schema_to_rows(Schema.parse(spec))


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _row_field(row: Mapping[str, Any]) -> Field:
    data: dict[str, Any] = {"name": "" if _blank(row.get("name")) else str(row["name"]).strip()}
    if not data["name"]:
        raise SchemaError("the name is empty")
    if not _blank(row.get("hint")):
        data["hint"] = str(row["hint"]).strip()
    row_type = row.get("type")
    if not _blank(row_type) and str(row_type).strip().lower() != AUTO_TYPE:
        data["type"] = str(row_type).strip()
    if not _blank(row.get("required")):
        data["required"] = bool(row["required"])
    threshold = row.get("threshold")
    if not _blank(threshold):
        try:
            data["threshold"] = float(threshold)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"threshold {threshold!r} is not a number in [0, 1]") from exc
    if not _blank(row.get("choices")):
        data["choices"] = [c.strip() for c in str(row["choices"]).split("/") if c.strip()]
    if not _blank(row.get("more")):
        try:
            more = json.loads(str(row["more"]))
        except ValueError as exc:
            raise SchemaError(f"'more' is not JSON ({exc}); write e.g. {{\"length\": 18}}") from exc
        if not isinstance(more, dict):
            raise SchemaError("'more' must be a JSON object, e.g. {\"length\": 18}")
        unknown = [k for k in more if k not in _MORE_KEYS]
        if unknown:
            raise SchemaError(f"'more' may hold {', '.join(_MORE_KEYS)}; not {unknown[0]!r}")
        data.update(more)
    return Field.from_dict(data)


def rows_to_schema(
    rows: Iterable[Mapping[str, Any]],
    *,
    name: str | None = None,
    rules: Iterable[str] = (),
    records: Iterable[str] = (),
    summary: str | None = None,
) -> Schema:
    """The schema the rows describe, with rules, record types (``"车辆: 车牌号, 驾驶人"``
    lines) and a summary template; rows with every cell blank are ignored.

    Raises :class:`SchemaError` naming the row (1-based) of the first bad field, or saying
    that there are no fields.
    """
    fields: list[Field] = []
    for i, row in enumerate(rows, start=1):
        if all(_blank(row.get(c)) for c in ("name", "hint")):
            continue  # a new row with only defaults filled in
        try:
            fields.append(_row_field(row))
        except SchemaError as exc:
            raise SchemaError(f"field row {i}: {exc}") from exc
    record_list = [r.strip() for r in records if r and r.strip()]
    if not fields and not record_list:
        raise SchemaError("no fields: add at least one field (a name such as 甲方 or 'person')")
    rule_list = [r.strip() for r in rules if r and r.strip()]
    summary = (summary or "").strip() or None
    return Schema(fields, rule_list, (name or "").strip() or None, record_list, summary)


def record_rows(result: DocumentResult) -> dict[str, list[dict[str, Any]]]:
    """Per record type, one table row per record: its number, each field's value with its
    confidence, and the record's lowest confidence."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in result.records:
        row: dict[str, Any] = {"record": rec.index}
        for name, span in rec.values.items():
            row[name] = span.text
            row[f"{name} conf."] = round(span.confidence, 4)
        row["confidence"] = round(rec.confidence, 4)
        out.setdefault(rec.type, []).append(row)
    return out


STATUS_TEXT = {
    "same": "same",
    "different": "DIFFERENT",
    "only_a": "only in A",
    "only_b": "only in B",
    "missing": "in neither",
}


def compare_rows(schema: Schema, a: DocumentResult, b: DocumentResult) -> list[dict[str, Any]]:
    """The side-by-side comparison table of two documents (``extractor.compare``)."""
    from extractor.compare import compare

    return [
        {"field": c.field, "status": STATUS_TEXT[c.status], "A": " | ".join(c.a), "B": " | ".join(c.b)}
        for c in compare(schema, a, b)
    ]


# --------------------------------------------------------------------------------------
# Schema files
# --------------------------------------------------------------------------------------


def schema_file_bytes(schema: Schema, fmt: str) -> bytes:
    """The schema file as ``Schema.save`` writes it (``fmt``: ``yaml`` or ``json``)."""
    if fmt == "json":
        text = json.dumps(schema.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif fmt in ("yaml", "yml"):
        text = yaml.safe_dump(schema.to_dict(), allow_unicode=True, sort_keys=False)
    else:
        raise ValueError(f"unknown schema file format {fmt!r} (yaml or json)")
    return text.encode("utf-8")


def load_schema_bytes(data: bytes, filename: str) -> Schema:
    """An uploaded schema file read exactly as ``seqgpt run --schema`` reads it."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise SchemaError(f"{filename}: a schema file must end in .yaml, .yml or .json")
    with tempfile.TemporaryDirectory(prefix="seqgpt-schema-") as tmp:
        path = Path(tmp) / f"schema{suffix}"
        path.write_bytes(data)
        try:
            return Schema.from_file(path)
        except SchemaError as exc:
            raise SchemaError(str(exc).replace(str(path), filename)) from exc


# --------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------

_MESSAGES = {  # reason -> what the page says (connectors.documents quarantine reasons)
    "encrypted": "{name} is password-protected: remove the password (or print it to a new PDF) and upload it again.",
    "corrupt": "{name} cannot be read as a PDF: the file is damaged or not a PDF ({detail}).",
    "empty": "{name} is empty: it has no bytes or no pages.",
    "no_text_layer": "{name} has no text layer (a scan or images only): it needs OCR before extraction.",
    "too_large": "{name} is too large to read here ({detail}).",
    "empty_text": "{name} contains no text.",
    "bad_encoding": "{name} is neither a PDF nor UTF-8/GB18030 text ({detail}).",
}
_TEXT_MESSAGES = {**_MESSAGES, "empty": "{name} contains no text."}


def read_upload(data: bytes, filename: str) -> tuple[str | None, str | None]:
    """An uploaded PDF or text file as ``(clean text, None)`` or ``(None, message)``; never
    raises.  Read and cleaned by ``connectors.documents.read_document``, exactly as
    ``seqgpt run`` reads the same file, so the offsets shown are the offsets a job writes."""
    from connectors.documents import read_document, sniff_kind
    from connectors.records import Quarantine

    name = filename or "the file"
    kind = sniff_kind(data, name)
    try:
        doc = read_document(data, name, kind)
    except Exception as exc:  # the reader promises not to raise; the page must not either
        return None, f"{name} cannot be read ({type(exc).__name__}: {exc})."
    if isinstance(doc, Quarantine):
        template = (_MESSAGES if kind == "pdf" else _TEXT_MESSAGES).get(
            doc.reason, "{name} cannot be read ({reason}: {detail})."
        )
        return None, template.format(name=name, reason=doc.reason, detail=doc.detail or doc.reason)
    return doc.text, None
