"""Confidence that means a probability, and one value per one-value field.

Greedy decoding gives each value the model's token probabilities, and those say little
about whether the value is *right*: a party written under the other party's role, a
delivery date given as the end date, an answer where the document has none -- all come out
at 0.9-1.0, because once the model has started a value, copying the rest of it is easy.
This module scores the answers the way a reader would judge them:

1. **Options, scored by teacher forcing.**  For every one-value field of a chunk, the
   candidate answers are the values greedy decoding found in that chunk for the field and
   for the fields it competes with (its *family*: dates with dates, amounts with amounts,
   parties and people with each other -- :func:`family_of`), plus ``None``.  Each option is
   scored in a prompt that asks that field alone (``输入: {chunk}\\n抽取: {label}\\n输出:
   {label}: {option}``): ``log P(option, then the answer ends)`` under the model, with the
   whole vocabulary as the normalizer and "ends" meaning any token that may close a value
   (a line break, a tab, ``，`` or the end token).  So a value is judged against
   answering ``None``, against the other candidates of the field, and against the other
   fields of its family -- with the model's own probabilities, not the grammar's
   renormalized ones.
2. **One assignment per family** (:func:`assign`): each one-value field of a family gets
   one option (a span or ``None``), no span goes to two fields of a family, and the sum of
   the options' log-probabilities is the largest possible.  Lender and borrower are decided
   together, not by two greedy answers.
3. **Calibration** (:class:`Calibrator`): the features of an assigned value (the option's
   probability normalized over the field's options, its margin over ``None``, over the
   field's next best option and over the value's best other role, the greedy confidence)
   go through a logistic model fitted on documents the model never trained on
   (``seqgpt calibrate``) and stored in the model folder's ``card.json``, so every model
   carries its own.  Whether a field answers is decided on that scale too: a field the
   assignment gave ``None`` answers its surest option no other field of the family holds
   when that option's calibrated confidence reaches the card's threshold (the engine's
   ``_Plan.answer_sure``).  Without a fitted calibration the confidence is the
   option's normalized probability.  Many-value fields (entity lists such as MSRA's 人名/地名/机构名,
   record fields) are not rescored; their calibrated confidence comes from the greedy
   token probabilities.

Pure Python (no torch): the engine gathers the log-probabilities, this module decides.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CALIBRATION_VERSION",
    "Calibrator",
    "Option",
    "assign",
    "family_of",
    "multi_features",
    "normalized",
    "single_features",
]

CALIBRATION_VERSION = 1
MARGIN_CAP = 12.0  # nats; a margin over an option that does not exist counts as this much
NONE = None  # the option "the document does not contain the field"
UNASSIGNED = -1e6  # a field left without any option (all taken): only when nothing else fits

# fields that name a party, a person or an organization compete with each other
_ROLE_ZH = re.compile(
    r"(方|人|者|单位|公司|机构|企业|银行|医院|学校|院校|医师|医生|民警|律师|姓名|名称|代表|代理|股东|客户|商|户)$"
)
_ROLE_EN = re.compile(
    r"\b(party|parties|client|customer|provider|supplier|vendor|seller|buyer|purchaser|lender|borrower|"
    r"guarantor|landlord|lessor|lessee|tenant|licensor|licensee|transferor|transferee|assignor|assignee|"
    r"employer|employee|contractor|consultant|agent|representative|witness|company|bank|insurer|insured|"
    r"applicant|complainant|caller|driver|doctor|physician|officer|name|person|signatory|owner|shareholder)s?$"
    r"|\bparty\s*[a-z0-9]$"
)


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


def family_of(field_type: str, name: str) -> str:
    """The family a one-value field competes in: its type for typed fields (all dates
    compete, all amounts ...), ``role`` for text fields naming a party, person or
    organization (甲方, 出借人, 保证人, client, provider ...), else the field alone."""
    if field_type not in ("text", "choice"):
        return field_type
    k = _key(name)
    if _ROLE_ZH.search(k) or _ROLE_EN.search(k):
        return "role"
    return "field:" + k


@dataclass
class Option:
    """One scored answer of one field in one chunk: a span (document offsets) or None."""

    field: str
    span: tuple[int, int] | None
    logprob: float  # log P(this answer, then the answer ends | the field's own prompt)
    tokens: int = 0


def logsumexp(xs: Iterable[float]) -> float:
    xs = [x for x in xs if x != -math.inf]
    if not xs:
        return -math.inf
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def normalized(options: Sequence[Option], chosen: Option) -> float:
    """``chosen``'s probability among its field's options (None included)."""
    total = logsumexp(o.logprob for o in options)
    return math.exp(chosen.logprob - total) if total != -math.inf else 0.0


def assign(
    fields: Sequence[str], options: Mapping[str, Sequence[Option]], max_states: int = 200_000
) -> dict[str, Option]:
    """The best joint answer of a family: field -> its option (possibly the None option).

    Maximizes the sum of log-probabilities with no span given to two fields; a field whose
    options are all taken by others is left out of the result (at a large cost, so only when
    no assignment gives every field an option).  Exact search
    (depth first, fields with fewer options first, bounded by each remaining field's best
    score); past ``max_states`` visited states the best assignment found so far stands,
    completed greedily."""
    order = sorted(fields, key=lambda f: len(options.get(f, ())))
    ranked = {f: sorted(options.get(f, ()), key=lambda o: -o.logprob) for f in order}
    best_rest = [0.0] * (len(order) + 1)
    for i in range(len(order) - 1, -1, -1):
        top = ranked[order[i]][0].logprob if ranked[order[i]] else UNASSIGNED
        best_rest[i] = best_rest[i + 1] + top
    best: list[Any] = [-math.inf, {}]
    visited = [0]

    def dfs(i: int, used: set, total: float, chosen: dict[str, Option]) -> None:
        visited[0] += 1
        if total + best_rest[i] <= best[0]:
            return
        if i == len(order):
            best[0], best[1] = total, dict(chosen)
            return
        f = order[i]
        feasible = False
        for o in ranked[f]:
            if visited[0] > max_states and best[1]:
                return
            if o.span is not None and o.span in used:
                continue
            feasible = True
            chosen[f] = o
            if o.span is not None:
                used.add(o.span)
            dfs(i + 1, used, total + o.logprob, chosen)
            if o.span is not None:
                used.discard(o.span)
            del chosen[f]
        if not feasible:  # every option taken by other fields: this field stays unassigned
            dfs(i + 1, used, total + UNASSIGNED, chosen)

    dfs(0, set(), 0.0, {})
    return best[1]


# --------------------------------------------------------------------------------------
# Features and the calibrator
# --------------------------------------------------------------------------------------

SINGLE_FEATURES = ("logit_p", "margin_none", "margin_next", "margin_role", "greedy", "log_tokens")
MULTI_FEATURES = ("logit_geo", "min_logprob", "later_value", "log_tokens")
TYPE_GROUPS = {
    "text": "text",
    "choice": "text",
    "date": "date",
    "money": "money",
    "integer": "number",
    "percent": "number",
    "phone": "code",
    "id_number": "code",
}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _cap(x: float) -> float:
    return max(-MARGIN_CAP, min(MARGIN_CAP, x))


def single_features(
    chosen: Option,
    own: Sequence[Option],
    role_scores: Sequence[float],
    greedy_confidence: float | None,
) -> dict[str, float]:
    """Features of a one-value field's assigned value: ``own`` are the field's options (the
    None option among them), ``role_scores`` the log-probabilities of the same span under
    the other fields of its family, ``greedy_confidence`` the decoder's confidence when
    greedy decoding gave this span to this field (None otherwise)."""
    p = normalized(own, chosen)
    none = next((o.logprob for o in own if o.span is None), -math.inf)
    others = [o.logprob for o in own if o is not chosen and o.span is not None]
    return {
        "logit_p": _logit(p),
        "margin_none": _cap(chosen.logprob - none),
        "margin_next": _cap(chosen.logprob - max(others)) if others else MARGIN_CAP,
        "margin_role": _cap(chosen.logprob - max(role_scores)) if role_scores else MARGIN_CAP,
        "greedy": _logit(greedy_confidence) if greedy_confidence is not None else -MARGIN_CAP,
        "log_tokens": math.log(max(1, chosen.tokens)),
    }


def multi_features(logprobs: Sequence[float], index: int) -> dict[str, float]:
    """Features of a value of a many-value field from its greedy token log-probabilities
    (the value's tokens and its closing token) and its position in the answer line."""
    lps = [x for x in logprobs if not math.isnan(x)]
    geo = math.exp(sum(lps) / len(lps)) if lps else 0.0
    return {
        "logit_geo": _logit(geo),
        "min_logprob": max(-MARGIN_CAP, min(lps, default=0.0)),
        "later_value": 1.0 if index > 0 else 0.0,
        "log_tokens": math.log(max(1, len(lps))),
    }


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class Calibrator:
    """Logistic models from features to the probability that a value is right, one for
    one-value fields and one for many-value fields, each with an intercept per type group
    (text, date, money, number, code); a group with enough values of its own may have its
    own weights too (``groups``).  ``threshold`` is the confidence under which a
    one-value field is answered None by default (the value is kept among the dropped ones).
    Read from and written to the ``calibration`` entry of a model's ``card.json``."""

    single: dict[str, Any] = field(default_factory=dict)
    multi: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Calibrator | None:
        if not d or int(d.get("version", 0)) != CALIBRATION_VERSION:
            return None
        meta = {k: v for k, v in d.items() if k not in ("single", "multi", "threshold", "version")}
        return cls(
            dict(d.get("single") or {}), dict(d.get("multi") or {}), float(d.get("threshold", 0.5)), meta
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CALIBRATION_VERSION,
            "single": self.single,
            "multi": self.multi,
            "threshold": self.threshold,
            **self.meta,
        }

    @staticmethod
    def _apply(model: Mapping[str, Any], feats: Mapping[str, float], field_type: str) -> float | None:
        if not model:
            return None
        group = TYPE_GROUPS.get(field_type, "text")
        own = (model.get("groups") or {}).get(group)
        if own:  # a type group fitted on its own values
            z = float(own.get("bias", 0.0))
            weights = own.get("weights", {})
        else:  # the shared weights with the group's intercept
            z = float(model.get("bias", {}).get(group, model.get("bias", {}).get("text", 0.0)))
            weights = model.get("weights", {})
        for name, w in weights.items():
            z += float(w) * float(feats.get(name, 0.0))
        return _sigmoid(z)

    def single_probability(self, feats: Mapping[str, float], field_type: str) -> float | None:
        return self._apply(self.single, feats, field_type)

    def multi_probability(self, feats: Mapping[str, float], field_type: str) -> float | None:
        return self._apply(self.multi, feats, field_type)
