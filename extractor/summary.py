"""Summary templates: check one against a schema's field names, fill it with chosen values.

A summary template is a sentence with field names in braces, ``"{申请人} 于 {日期} 反映
{核心诉求}"``; a part in square brackets is left out when one of its fields has no value
(``"{甲方}[ 与 {乙方}] 签订合同"``), and any other missing value leaves the whole summary
empty.  :func:`check_template` is what :class:`extractor.schema.Schema` runs when a schema
is built; :func:`render_summary` is what validation runs on a document's chosen values
(``extractor.types.best_span``), so a summary never says anything the document does not.

Pure Python; imports only ``extractor.errors`` and the standard library.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from extractor.errors import SchemaError, quote

__all__ = ["PLACEHOLDER_RE", "check_template", "render_summary", "template_segments"]

PLACEHOLDER_RE = re.compile(r"\{([^{}]+)\}")


def template_segments(template: str) -> list[tuple[bool, str]]:
    """``(optional, text)`` pieces of a summary template; square brackets mark optional pieces.
    Raises :class:`SchemaError` for nested, unopened or unclosed brackets."""
    out: list[tuple[bool, str]] = []
    buf, optional = "", False
    for ch in template:
        if ch == "[":
            if optional:
                raise SchemaError(f"summary {quote(template)}: optional parts '[...]' cannot nest")
            out.append((False, buf))
            buf, optional = "", True
        elif ch == "]":
            if not optional:
                raise SchemaError(f"summary {quote(template)}: a ']' without '['")
            out.append((True, buf))
            buf, optional = "", False
        else:
            buf += ch
    if optional:
        raise SchemaError(f"summary {quote(template)}: '[' is never closed")
    out.append((False, buf))
    return [(opt, text) for opt, text in out if text]


def check_template(template: str, names: Iterable[str]) -> None:
    """Raise :class:`SchemaError` unless ``template`` is a well-formed summary template that
    names at least one field, and only fields among ``names``."""
    if not isinstance(template, str) or not template.strip():
        raise SchemaError(
            f"the summary must be a template string like '{{申请人}} 于 {{日期}} 反映 {{核心诉求}}', got {quote(template)}"
        )
    names = list(names)
    found = False
    for _, text in template_segments(template):
        for ref in PLACEHOLDER_RE.findall(text):
            found = True
            if ref.strip() not in names:
                close = difflib.get_close_matches(ref.strip(), names, n=1)
                hint = f"; did you mean {quote(close[0])}?" if close else ""
                raise SchemaError(
                    f"summary names an unknown field {{{ref}}}{hint} (fields: {', '.join(names)})"
                )
        rest = PLACEHOLDER_RE.sub("", text)
        if "{" in rest or "}" in rest:
            raise SchemaError(f"summary {quote(template)}: unbalanced '{{' or '}}'")
    if not found:
        raise SchemaError(
            f"summary {quote(template)} names no field; write fields in braces: '{{申请人}} 反映 {{核心诉求}}'"
        )


def render_summary(template: str, chosen: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """``(summary, missing fields)``: ``template`` with ``{field}`` replaced by the chosen value's
    text; a ``[...]`` part is dropped when one of its fields has no value; any other missing
    value gives ``(None, [fields])``.  The template was checked by :func:`check_template`."""
    out: list[str] = []
    missing: list[str] = []
    for optional, piece in template_segments(template):
        refs = [r.strip() for r in PLACEHOLDER_RE.findall(piece)]
        absent = [r for r in refs if not chosen.get(r)]
        if absent:
            if not optional:
                missing.extend(r for r in absent if r not in missing)
            continue
        out.append(PLACEHOLDER_RE.sub(lambda m: chosen[m.group(1).strip()], piece))
    if missing:
        return None, missing
    return "".join(out).strip(), []
