"""Pure helpers of the Streamlit app (``app.py``): no Streamlit, no model, unit-testable.

- :func:`md_text` / :func:`md_code`: user and document text escaped for Streamlit's Markdown
  elements, as text or as a code span that cannot be broken out of (the HTML views escape
  with ``html.escape``), so a document's markup is always shown as text.
- :func:`collect_spans` / :func:`highlight_html` / :func:`context` / :func:`value_rows`:
  the values highlighted in the escaped document text and as table rows, with the status
  words every view uses (``ok``, ``issue``, ``dropped``, ``not found``); they live in
  :mod:`pipelines.review` (shared with the CLI tables and the HTML report) and are
  re-exported here for the page.
- :func:`model_name`: the model as the page names it (the bundled seqgpt-mini, the
  untrained demo model, or the id/folder given).
- :func:`schema_to_rows` / :func:`rows_to_schema`: a schema as the rows of the editable
  field table and back; ``rows_to_schema(schema_to_rows(s)).to_dict() == s.to_dict()``.
- :func:`schema_file_bytes` / :func:`load_schema_bytes`: the schema file the app offers for
  download (byte for byte what ``Schema.save`` writes) and the one it reads back (through
  ``Schema.from_file``, as ``seqgpt run --schema`` does).
- :func:`read_upload`: an uploaded PDF or text file as its clean text (the one reader of
  ``connectors.documents``, as ``seqgpt run`` reads it), or a message for the page.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from extractor.schema import FIELD_TYPES, Field, Schema, SchemaError, infer_type
from extractor.types import DocumentResult
from pipelines.review import (
    SpanView,
    collect_spans,
    context,
    context_html,
    highlight_html,
    missing_fields,
    prompt_lines,
    side_text,
    status_text,
    value_rows,
)

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
    "missing_fields",
    "model_from_argv",
    "model_name",
    "parse_field_list",
    "prompt_lines",
    "read_upload",
    "rows_to_schema",
    "schema_file_bytes",
    "schema_to_rows",
    "status_text",
    "value_rows",
]

MODEL_ENV = "SEQGPT_MODEL"  # set by `seqgpt ui --model ...`
DEVICE_ENV = "SEQGPT_DEVICE"
AUTO_TYPE = "auto"  # the type column's "infer it from the name and hint"
TYPE_OPTIONS = (AUTO_TYPE, *FIELD_TYPES)
ROW_COLUMNS = ("name", "hint", "type", "required", "threshold", "choices", "more", "description")
_MORE_KEYS = ("parts", "length", "pattern", "multiple")


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


def model_name(model_id: str, untrained: bool) -> str:
    """The model as the page names it: the bundled seqgpt-mini, an untuned packaged base,
    the untrained demo model, or the hub id / folder that was given."""
    from extractor.mini import PACKAGED_BASES, bundled_adapter_dir, bundled_base

    if untrained:
        return "untrained demo model (tiny, random weights)"

    def same(a: Path, b: Path) -> bool:
        try:
            return a.expanduser().resolve() == b.expanduser().resolve()
        except OSError:
            return False

    path = Path(str(model_id))
    if same(path, bundled_adapter_dir()):
        base = bundled_base()
        made = f" ({base.title} + our LoRA adapter)" if base else ""
        return f"seqgpt-mini, the small bundled model{made}"
    for base in PACKAGED_BASES:
        if same(path, base.cache_dir()):
            return f"{base.title}, a packaged base model without our fine-tuning"
    return str(model_id)


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
        "threshold": f.threshold,  # None: the model's calibrated default
        "choices": "/".join(d.get("choices", [])),
        "more": json.dumps(more, ensure_ascii=False) if more else "",
        "description": f.description or "",
    }


def schema_to_rows(schema: Schema) -> list[dict[str, Any]]:
    """One editable row per field (columns :data:`ROW_COLUMNS`).

    ``type`` is ``auto`` where the name and hint imply it; ``choices`` holds choices given
    explicitly (``/``-separated), ``more`` any other explicit key (parts, length, pattern)
    as JSON, ``description`` the field's documentation for people (never sent to the model).
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
    if not _blank(row.get("description")):
        data["description"] = str(row["description"]).strip()
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


def compare_rows(schema: Schema, a: DocumentResult, b: DocumentResult) -> list[dict[str, Any]]:
    """The side-by-side comparison table of two documents (``extractor.compare``), with the
    statuses ``seqgpt compare`` prints (same, different, only_a, only_b, missing) and
    ``not found`` for a side without a value."""
    from extractor.compare import compare

    return [
        {"field": c.field, "status": c.status, "A": side_text(c.a), "B": side_text(c.b)}
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
    "corrupt": "{name} cannot be read as {what}: the file is damaged or not {what} ({detail}).",
    "empty": "{name} is empty: it has no bytes or no pages.",
    "no_text_layer": "{name} has no text layer and nothing OCR can read ({detail}).",
    "too_large": "{name} is too large to read here ({detail}).",
    "empty_text": "{name} contains no text.",
    "bad_encoding": "{name} is neither a PDF nor text in a known encoding ({detail}).",
    "ocr_empty": "{name}: OCR found no text ({detail}).",
    "too_small": "{name} is too small to read ({detail}).",
}
_TEXT_MESSAGES = {**_MESSAGES, "empty": "{name} contains no text."}
_OTHER_MESSAGES = {  # Word, e-mail, HTML, images
    **_TEXT_MESSAGES,
    "encrypted": "{name} is encrypted or password-protected: it cannot be read without the key ({detail}).",
    "bad_encoding": "{name} cannot be decoded as text ({detail}).",
    "unsupported_type": "{name}: {detail}.",
}
_WHAT = {  # kind -> the file a corrupt upload should have been
    "pdf": "a PDF",
    "image": "an image",
    "docx": "a Word document (.docx)",
    "email": "an e-mail message",
    "html": "an HTML page",
    "text": "text",
}


UPLOAD_TYPES = [
    "pdf",
    "png",
    "jpg",
    "jpeg",
    "tif",
    "tiff",
    "bmp",
    "webp",
    "docx",
    "eml",
    "html",
    "htm",
    "txt",
    "md",
]


def read_upload(data: bytes, filename: str) -> tuple[str | None, str | None]:
    """An uploaded file (PDF, scan or photo through OCR, Word, e-mail, HTML, text) as
    ``(clean text, None)`` or ``(None, message)``; never raises (:func:`read_upload_doc`)."""
    doc, message = read_upload_doc(data, filename)
    return (doc.text if doc is not None else None), message


def read_upload_doc(data: bytes, filename: str):
    """An uploaded file as ``(Doc, None)`` or ``(None, message)``; never raises.  Read, OCR'd
    where a page has no text layer, and cleaned by ``connectors.documents.read_document``,
    exactly as ``seqgpt run`` reads the same file, so the offsets shown are the offsets a job
    writes; a document read by OCR keeps its lines (page, box, score) in ``meta``."""
    from connectors.documents import read_document, sniff_kind
    from connectors.records import Quarantine

    name = filename or "the file"
    kind = sniff_kind(data, name)
    try:
        doc = read_document(data, name, kind)
    except Exception as exc:  # the reader promises not to raise; the page must not either
        return None, f"{name} cannot be read ({type(exc).__name__}: {exc})."
    if isinstance(doc, Quarantine):
        messages = {"pdf": _MESSAGES, "text": _TEXT_MESSAGES}.get(kind, _OTHER_MESSAGES)
        template = messages.get(doc.reason, "{name} cannot be read ({reason}: {detail}).")
        detail = doc.detail or doc.reason
        return None, template.format(
            name=name, reason=doc.reason, detail=detail, what=_WHAT.get(kind, "a document")
        )
    return doc, None


def ocr_page_images(data: bytes, meta: dict, result, *, max_pages: int = 5) -> list[tuple[int, Any]]:
    """The OCR'd pages of an upload with the boxes of the lines its values were read from
    drawn on them (green; red for a line below ``connectors.ocr.LOW_SCORE``), for the app to
    show next to the text: ``[(page index, PIL image), ...]``, at most ``max_pages``.  Empty
    for a document that was not read by OCR."""
    from PIL import ImageDraw

    from connectors.images import page_images
    from connectors.ocr import LOW_SCORE, OcrLine, lines_for
    from connectors.records import Doc

    ocr = (meta or {}).get("ocr")
    if not ocr:
        return []
    lines = [OcrLine.from_dict(d) for d in meta.get("ocr_lines") or []]
    spans = [s for values in result.values.values() for s in values]
    marked = {id(ln): ln for s in spans for ln in lines_for(lines, s.start, s.end)}
    kind = "pdf" if ocr.get("dpi") else "image"
    pages = list(ocr.get("pages") or [])[:max_pages]
    doc = Doc(
        id="upload", source="upload", text="", meta={"ocr_todo": {"kind": kind, "pages": pages}}, blob=data
    )
    out = []
    for index, image in page_images(doc, int(ocr.get("dpi") or 200)):
        draw = ImageDraw.Draw(image)
        for ln in marked.values():
            if ln.page == index:
                color = (200, 30, 30) if ln.score < LOW_SCORE else (20, 150, 60)
                draw.rectangle(ln.box, outline=color, width=3)
        out.append((index, image))
    return out
