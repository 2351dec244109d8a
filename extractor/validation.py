"""Validation: what a schema's declarations mean for a document's extracted values.

:mod:`extractor.schema` declares fields, rules, record types and a summary template; this
module applies them to what the model found:

- :func:`normalize_value` -- one value of one field: ``(normalized value or None, issues)``
  (money, dates in the hint's pattern, phones, ID numbers with their check digit, integers,
  percentages, the matching choice, the parts of a ``姓名+职务`` value; the formats are
  described in ``extractor.schema`` and ``extractor.normalize``), plus the exact-length
  check of a ``18位`` hint;
- :func:`is_approximate_value` -- whether a money, integer, percent or date value is
  written only roughly (``约30万元``, ``五十多万``, ``三月中旬``): ``Span.approximate``;
- :func:`comparable` -- the value rules and comparisons compare (an ISO date,
  ``(Decimal, currency)``, a Decimal, or a width/case/space-free key);
- :func:`check_rule` -- one cross-field rule on the chosen values of its two fields
  (broken, or not checked because a value does not parse: both are reported);
- :func:`validate` -- a whole ``DocumentResult``: every value normalized, thresholds
  applied (dropped values kept for audit), required fields, values and rules checked, with
  every problem on the value it concerns (``Span.issues``) and on the row
  (``DocumentResult.violations``), records grouped (``extractor.records``) and the summary
  rendered (``extractor.summary``).  ``Schema.validate`` calls it; the engine
  runs it on every document.

This module reads the schema objects by their attributes and never imports
``extractor.schema`` (the schema imports this module), so there is no import circle.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from extractor.normalize import (
    id_birth_date,
    id_check_digit,
    is_approximate,
    normalize_date,
    normalize_integer,
    normalize_money,
    normalize_percent,
    normalize_phone,
    validate_id_number,
)
from extractor.records import group_records
from extractor.summary import render_summary
from extractor.types import DocumentResult, Span, best_span

if TYPE_CHECKING:  # type names only: extractor.schema imports this module
    from extractor.schema import Field, Rule, Schema

__all__ = [
    "RuleOutcome",
    "check_rule",
    "comparable",
    "is_approximate_value",
    "match_choice",
    "normalize_value",
    "text_key",
    "validate",
]

_PARTS_SPLIT_RE = re.compile(r"[\s,，、/／|｜;；:：()（）\[\]【】]+")
_DATE_TOKEN_RE = re.compile(r"YYYY|YY|MM|M|DD|D")


def text_key(s: str) -> str:
    """Comparison key of names, choices and text values: NFKC, case-folded, without whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s)).casefold()


# --------------------------------------------------------------------------------------
# One value
# --------------------------------------------------------------------------------------


def _measure(field: Field, text: str) -> tuple[int, str]:
    """The length a ``18位`` hint checks: digits of phones (without ``+86``) and integers,
    else characters without whitespace."""
    if field.type in ("phone", "integer"):
        digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text))
        if field.type == "phone" and re.match(
            r"\s*\(?\s*(?:\+|00)\s*86", unicodedata.normalize("NFKC", text)
        ):
            digits = digits[4:] if digits.startswith("0086") else digits[2:]
        return len(digits), "digits"
    return len(re.sub(r"\s+", "", text)), "characters"


def _format_date(field: Field, iso: str) -> tuple[str, list[str]]:
    """An ISO date written in the field's pattern (``YYYY年MM月DD日`` ...); (text, issues)."""
    if not field.pattern:
        return iso, []
    has_day = len(iso) == 10
    if "D" in field.pattern and not has_day:
        return iso, [f"date has no day (expected {field.pattern})"]
    y, m = int(iso[:4]), int(iso[5:7])
    d = int(iso[8:10]) if has_day else 0
    tokens = {
        "YYYY": f"{y:04d}",
        "YY": f"{y % 100:02d}",
        "MM": f"{m:02d}",
        "M": str(m),
        "DD": f"{d:02d}",
        "D": str(d),
    }
    return _DATE_TOKEN_RE.sub(lambda mt: tokens[mt.group()], field.pattern), []


def _id_issue(text: str) -> str:
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()
    m = re.search(r"(?<![0-9A-Z])\d{17}[\dX](?![0-9A-Z])", t)
    if not m:
        return "not an 18-character resident ID number"
    value = m.group()
    if id_check_digit(value[:17]) != value[17]:
        return "invalid ID check digit"
    if id_birth_date(value) is None:
        return "invalid birth date in ID number"
    return "invalid region code in ID number"


def match_choice(field: Field, text: str) -> str | None:
    """The field's choice ``text`` stands for (exact, else ignoring width, case and spaces)."""
    if text in field.choices:
        return text
    key = text_key(text)
    for choice in field.choices:
        if text_key(choice) == key:
            return choice
    return None


def normalize_value(field: Field, text: str) -> tuple[Any, list[str]]:
    """``(normalized value or None, issues)`` for one extracted text of ``field``."""
    raw = text if isinstance(text, str) else str(text)
    stripped = raw.strip()
    issues: list[str] = []
    if field.length is not None:
        got, unit = _measure(field, stripped)
        if got != field.length:
            issues.append(f"expected {field.length} {unit}, got {got}")
    value: Any = None
    if field.type == "date":
        iso = normalize_date(stripped, dayfirst=field.dayfirst)
        if iso is None:
            issues.append(
                "approximate date, not normalized" if is_approximate(stripped, "date") else "not a valid date"
            )
        else:
            value, more = _format_date(field, iso)
            issues.extend(more)
    elif field.type == "money":
        value = normalize_money(stripped, unit=field.hint)
        if value is None:
            issues.append("no amount found")
    elif field.type == "phone":
        value = normalize_phone(stripped)
        if value is None:
            issues.append("not a phone number")
    elif field.type == "id_number":
        value = validate_id_number(stripped)
        if value is None:
            issues.append(_id_issue(stripped))
    elif field.type == "integer":
        value = normalize_integer(stripped)
        if value is None:
            issues.append("not a whole number")
    elif field.type == "percent":
        value = normalize_percent(stripped)
        if value is None:
            issues.append("not a percentage")
    elif field.type in ("choice", "class"):
        value = match_choice(field, stripped)
        if value is None:
            issues.append(f"not one of {'/'.join(field.choices)}")
    elif field.parts:
        pieces = [p for p in _PARTS_SPLIT_RE.split(stripped) if p]
        if len(pieces) == len(field.parts):
            value = dict(zip(field.parts, pieces, strict=True))
    return value, issues


def is_approximate_value(field: Field, text: str) -> bool:
    """Whether ``text`` states this money, integer, percent or date field's value only
    roughly (``约30万元``, ``五十多万``, ``三月中旬``; ``extractor.normalize.is_approximate``);
    always False for the other types, whose value is the text or a choice."""
    if field.type in ("money", "integer", "percent"):
        return is_approximate(text, "number")
    if field.type == "date":
        return is_approximate(text, "date")
    return False


def comparable(field: Field, text: str) -> Any:
    """The value rules compare: an ISO date, ``(Decimal, currency)``, a Decimal, or a key."""
    if field.type == "date":
        return normalize_date(text, dayfirst=field.dayfirst)
    if field.type == "money":
        money = normalize_money(text.strip(), unit=field.hint)
        return (Decimal(money["amount"]), money["currency"]) if money else None
    if field.type == "integer":
        number = normalize_integer(text)
        return Decimal(number) if number is not None else None
    if field.type == "percent":
        percent = normalize_percent(text)
        return Decimal(percent) if percent is not None else None
    value, _ = normalize_value(field, text)
    if value is not None and not isinstance(value, dict):
        return text_key(str(value))
    return text_key(text)


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def _as_amount(value: Any) -> tuple[Decimal, str | None]:
    return value if isinstance(value, tuple) else (value, None)


def _show(entry: tuple[Field, Span]) -> str:
    field, span = entry
    normalized = span.normalized
    if normalized is None:
        normalized, _ = normalize_value(field, span.text)
    if isinstance(normalized, dict) and "amount" in normalized:
        currency = normalized.get("currency")
        return f"{normalized['amount']} {currency}" if currency else str(normalized["amount"])
    if normalized is None or isinstance(normalized, dict):
        return repr(span.text)
    return str(normalized)


@dataclass(frozen=True)
class RuleOutcome:
    """What checking one rule found: ``message`` (for the row's violations and the values'
    issues), ``fields`` (the fields whose chosen values it concerns) and ``checked`` (False
    when the rule could not be checked: a value that does not parse, different currencies)."""

    message: str
    fields: tuple[str, ...]
    checked: bool = True


def _unreadable(entry: tuple[Field, Span]) -> str:
    field, span = entry
    _, issues = normalize_value(field, span.text)
    why = "; ".join(issues) or f"cannot be read as a {field.type}"
    return f"{field.name}={span.text!r} ({why})"


def check_rule(
    rule: Rule, left: tuple[Field, Span] | None, right: tuple[Field, Span] | None
) -> RuleOutcome | None:
    """What ``rule`` finds on the chosen values of its two fields: None when it holds (or
    cannot apply because a value is absent), else a :class:`RuleOutcome`.

    ``not_before``: date ``left >= right``; ``less_equal``/``greater_equal``: money (same
    currency) or numbers; ``different``/``same``: :func:`comparable` values;
    ``required_together``: when ``left`` has a value, ``right`` must have one.  The other
    kinds apply only when both values are present; a present value that cannot be
    normalized (a "date" that is a company name) or amounts in different currencies make
    the rule *not checked*, which is reported (``checked=False``), never passed silently.
    """
    if rule.kind == "required_together":
        if left is not None and right is None:
            message = f"rule {rule} broken: {rule.left}={left[1].text!r} but {rule.right} not found"
            return RuleOutcome(message, (rule.left,))
        return None
    if left is None or right is None:
        return None
    lv, rv = comparable(left[0], left[1].text), comparable(right[0], right[1].text)
    if lv is None or rv is None:
        bad = [e for e, v in ((left, lv), (right, rv)) if v is None]
        message = f"rule {rule} not checked: " + ", ".join(_unreadable(e) for e in bad)
        return RuleOutcome(message, tuple(e[0].name for e in bad), checked=False)
    values = f"{rule.left}={_show(left)}, {rule.right}={_show(right)}"
    both = (rule.left, rule.right)
    if rule.kind == "not_before":
        n = min(len(lv), len(rv))
        if lv[:n] == rv[:n] or lv[:n] > rv[:n]:
            return None
        return RuleOutcome(f"rule {rule} broken: {rule.left} is before {rule.right} ({values})", both)
    if rule.kind in ("less_equal", "greater_equal"):
        (la, lc), (ra, rc) = _as_amount(lv), _as_amount(rv)
        if lc and rc and lc != rc:  # not comparable without exchange rates
            return RuleOutcome(
                f"rule {rule} not checked: different currencies ({values})", both, checked=False
            )
        ok = la <= ra if rule.kind == "less_equal" else la >= ra
        word = "greater" if rule.kind == "less_equal" else "less"
        return (
            None
            if ok
            else RuleOutcome(f"rule {rule} broken: {rule.left} is {word} than {rule.right} ({values})", both)
        )
    if rule.kind == "different":
        return None if lv != rv else RuleOutcome(f"rule {rule} broken: both are the same ({values})", both)
    if rule.kind == "same":
        return None if lv == rv else RuleOutcome(f"rule {rule} broken: they differ ({values})", both)
    return None  # pragma: no cover - kinds are validated by Schema


# --------------------------------------------------------------------------------------
# A document
# --------------------------------------------------------------------------------------


def validate(schema: Schema, result: DocumentResult, text: str | None = None) -> DocumentResult:
    """Normalize every span, apply thresholds, check required fields and rules, and build
    records and the summary (in place); returns ``result``.  Running it again gives the same.

    Spans of ``result.values[field.name]`` (or keyed by the prompt label) get
    ``normalized``/``issues`` from :func:`normalize_value` and ``approximate`` from
    :func:`is_approximate_value`; spans below the field's threshold (its own, else the
    default the engine set in ``result.thresholds``) move to
    ``result.dropped`` (kept for audit, normalized and checked too).  Each field's chosen
    value (:func:`extractor.types.best_span`, the value the Parquet ``<f>`` column holds) is
    marked ``chosen``.  ``result.violations`` gets, in this order, one message per missing
    required field, per kept value that fails its type or hint
    (``签约日期='上海静安置业有限公司': not a valid date``), per class label outside the
    choices, and per rule that is broken or could not be checked (:func:`check_rule`); a
    rule's message is also added to the issues of the chosen values it concerns.  With the
    document ``text``, the record types are grouped (``extractor.records.group_records``);
    the summary needs no text.
    """
    chosen: dict[str, tuple[Field, Span]] = {}
    violations: list[str] = []
    value_issues: list[str] = []
    for f in schema.extraction_fields:
        key = f.name if f.name in result.values else f.prompt_label
        spans = result.values.get(key)
        kept: list[Span] = []
        for span in spans or []:
            span.normalized, span.issues = normalize_value(f, span.text)
            span.approximate = is_approximate_value(f, span.text)
            span.chosen = False
            if span.confidence < result.threshold(f):
                result.dropped.append(span)
            else:
                kept.append(span)
                value_issues += [f"{f.name}={span.text!r}: {issue}" for issue in span.issues]
        if spans is not None:
            spans[:] = kept
        if kept:
            best = best_span(kept)
            assert best is not None
            best.chosen = True
            chosen[f.name] = (f, best)
        elif f.required:
            violations.append(f"required field {f.name} not found")
    for f in schema.classification_fields:
        key = f.name if f.name in result.classes else f.prompt_label
        labels = result.classes.get(key) or []
        if f.required and not labels:
            violations.append(f"required field {f.name} not found")
        for label in labels:
            if match_choice(f, label.label) is None:
                value_issues.append(
                    f"field {f.name}: label {label.label!r} is not one of {'/'.join(f.choices)}"
                )
        if labels:
            top = max(labels, key=lambda c: c.confidence)
            chosen[f.name] = (f, Span(f.name, top.label, 0, 0, top.confidence))
    violations += value_issues
    for rule in schema.rules:
        outcome = check_rule(rule, chosen.get(rule.left), chosen.get(rule.right))
        if outcome is None:
            continue
        violations.append(outcome.message)
        for name in outcome.fields:
            span = chosen[name][1]
            if outcome.message not in span.issues:
                span.issues.append(outcome.message)
    for message in violations:
        if message not in result.violations:
            result.violations.append(message)
    if text is not None and schema.records:
        result.records = [r for rt in schema.records for r in group_records(text, result.values, rt)]
    if schema.summary is not None:
        result.summary, missing = render_summary(schema.summary, {k: v[1].text for k, v in chosen.items()})
        if result.summary is None:
            note = f"summary left empty: no value for {', '.join(missing)}"
            if note not in result.warnings:
                result.warnings.append(note)
    return result
