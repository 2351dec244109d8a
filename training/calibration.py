"""Is a confidence a probability?  Measuring it, and fitting the calibration a model carries.

Measuring (``seqgpt eval --report``): every value the engine returns -- kept or dropped by a
threshold -- is an *outcome* ``(confidence, right)``: right when the document's gold answer
for that field holds the same text.  From the outcomes:

- **expected calibration error** (ECE) over 10 equal-width confidence bins: the mean of
  ``|share right - mean confidence|`` per bin, weighted by the bin's share of values;
- per threshold t (0.5, 0.7, 0.9, 0.95): the **precision** of the values at confidence >= t,
  their **recall** of the gold values and the share of the *right* values they keep;
- a **reliability diagram** (PNG, drawn with Pillow): per bin, the share right against the
  mean confidence, the diagonal being perfect calibration;
- per field type group (text, date, money, number, code) and overall.

Fitting (``seqgpt calibrate``): the features the engine attached to each value
(``Span.features``, :mod:`extractor.confidence`) and whether the value was right fit two
L2-regularized logistic models (one-value fields, many-value fields) with an intercept per
type group, by Newton's method; the result is the ``calibration`` entry of the model's
``card.json``.  Fit it on documents the model never trained on, and measure it on others.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from extractor.confidence import (
    CALIBRATION_VERSION,
    MULTI_FEATURES,
    SINGLE_FEATURES,
    TYPE_GROUPS,
)

__all__ = [
    "THRESHOLDS",
    "Outcome",
    "apply_calibration",
    "best_threshold",
    "calibration_report",
    "cross_fitted",
    "ece",
    "fit_calibration",
    "fit_logistic",
    "read_outcomes",
    "reliability_bins",
    "reliability_png",
    "write_outcomes",
]

THRESHOLDS = (0.5, 0.7, 0.9, 0.95)
FIT_ON = ("answers", "all")
BINS = 10
GROUPS = ("text", "date", "money", "number", "code")


@dataclass
class Outcome:
    """One value the engine returned, judged against the gold answer."""

    field: str
    type: str  # the field's type (extractor.schema.FIELD_TYPES)
    multiple: bool  # a many-value field
    confidence: float
    right: bool
    # the field's answer (its best value, kept or dropped by the threshold) or a list value
    shown: bool = True
    features: dict[str, float] | None = None
    doc: str = ""  # the document it came from (its "id", else its index)

    @property
    def group(self) -> str:
        return TYPE_GROUPS.get(self.type, "text")


def text_key(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def reliability_bins(outcomes: Sequence[Outcome], bins: int = BINS) -> list[dict[str, Any]]:
    """Per equal-width confidence bin: its bounds, count, mean confidence and share right."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [o for o in outcomes if lo <= o.confidence < hi or (b == bins - 1 and o.confidence >= hi)]
        n = len(members)
        out.append(
            {
                "lo": lo,
                "hi": hi,
                "n": n,
                "confidence": sum(o.confidence for o in members) / n if n else None,
                "accuracy": sum(o.right for o in members) / n if n else None,
            }
        )
    return out


def ece(outcomes: Sequence[Outcome], bins: int = BINS) -> float | None:
    """Expected calibration error over ``bins`` equal-width bins (None without outcomes)."""
    if not outcomes:
        return None
    total = len(outcomes)
    return sum(
        b["n"] / total * abs(b["accuracy"] - b["confidence"])
        for b in reliability_bins(outcomes, bins)
        if b["n"]
    )


def _summary(outcomes: Sequence[Outcome], gold: int) -> dict[str, Any]:
    right = sum(o.right for o in outcomes)
    d: dict[str, Any] = {
        "values": len(outcomes),
        "right": right,
        "gold": gold,
        "ece": _round(ece(outcomes)),
        "mean_confidence": _round(sum(o.confidence for o in outcomes) / len(outcomes)) if outcomes else None,
        "accuracy": _round(right / len(outcomes)) if outcomes else None,
        "thresholds": {},
    }
    for t in THRESHOLDS:
        kept = [o for o in outcomes if o.confidence >= t]
        kr = sum(o.right for o in kept)
        d["thresholds"][str(t)] = {
            "values": len(kept),
            "precision": _round(kr / len(kept)) if kept else None,
            "recall": _round(kr / gold) if gold else None,
            "right_kept": _round(kr / right) if right else None,
        }
    return d


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def calibration_report(
    outcomes: Sequence[Outcome], gold_by_group: dict[str, int], *, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The calibration section of an evaluation report: overall, per type group, the bins.
    ``gold_by_group`` counts the distinct gold (field, text) values per type group;
    ``fields`` are the field-level figures (main value right, absent fields) to include."""
    shown = [o for o in outcomes if o.shown]
    d: dict[str, Any] = {
        "definition": "a value is right when its field's gold answer in the document has the same text; "
        "ECE over 10 equal-width bins of the values returned (kept or dropped by a threshold)",
        "overall": _summary(shown, sum(gold_by_group.values())),
        "by_type": {g: _summary([o for o in shown if o.group == g], gold_by_group.get(g, 0)) for g in GROUPS},
        "bins": reliability_bins(shown),
        "one_value_fields": _summary([o for o in shown if not o.multiple], 0),
        "many_value_fields": _summary([o for o in shown if o.multiple], 0),
    }
    d["by_type"] = {g: v for g, v in d["by_type"].items() if v["values"] or v["gold"]}
    if fields:
        d["fields"] = fields
    return d


def format_calibration(d: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    o = d["overall"]
    lines = [f"calibration: {o['values']} values, {o['right']} right, ECE {_fmt(o['ece'])}"]
    for t, x in o["thresholds"].items():
        lines.append(
            f"  confidence >= {t}: {x['values']} values, precision {_fmt(x['precision'])}, "
            f"recall {_fmt(x['recall'])}, keeps {_fmt(x['right_kept'])} of the right values"
        )
    for g, x in d["by_type"].items():
        lines.append(f"  {g}: {x['values']} values, accuracy {_fmt(x['accuracy'])}, ECE {_fmt(x['ece'])}")
    f = d.get("fields")
    if f:
        by_value = f.get("main_value_right")
        lines.append(
            f"fields: main value right {_fmt(f['main_right'])} of {f['asked']} asked"
            + (f" ({_fmt(by_value)} by normalized value)" if by_value is not None else "")
            + f"; no value for {_fmt(f['absent_empty'])} of {f['absent']} absent fields"
        )
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


# --------------------------------------------------------------------------------------
# Reliability diagram
# --------------------------------------------------------------------------------------


def reliability_png(path: str | Path, series: dict[str, Sequence[Outcome]], title: str = "") -> Path:
    """Draw the reliability diagram of each series (name -> outcomes) into one PNG."""
    from PIL import Image, ImageDraw

    size, pad = 520, 60
    img = Image.new("RGB", (size + 2 * pad, size + 2 * pad + 20 * len(series)), "white")
    g = ImageDraw.Draw(img)

    def xy(conf: float, acc: float) -> tuple[float, float]:
        return pad + conf * size, pad + (1 - acc) * size

    g.rectangle([pad, pad, pad + size, pad + size], outline="black")
    for k in range(11):
        v = k / 10
        x, y = xy(v, v)
        g.line([x, pad + size, x, pad + size + 5], fill="black")
        g.line([pad - 5, y, pad, y], fill="black")
        g.text((x - 8, pad + size + 8), f"{v:.1f}", fill="black")
        g.text((pad - 32, y - 6), f"{v:.1f}", fill="black")
    g.line([*xy(0, 0), *xy(1, 1)], fill=(150, 150, 150), width=1)
    g.text((pad + size // 2 - 40, pad + size + 24), "confidence", fill="black")
    g.text((8, pad - 20), "share right", fill="black")
    if title:
        g.text((pad, 12), title, fill="black")
    colors = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]
    for i, (name, outs) in enumerate(series.items()):
        color = colors[i % len(colors)]
        pts = [(b["confidence"], b["accuracy"], b["n"]) for b in reliability_bins(outs) if b["n"]]
        for (c0, a0, _), (c1, a1, _) in itertools.pairwise(pts):
            g.line([*xy(c0, a0), *xy(c1, a1)], fill=color, width=2)
        for c, a, n in pts:
            r = 2 + min(8, math.sqrt(n))
            x, y = xy(c, a)
            g.ellipse([x - r, y - r, x + r, y + r], outline=color, width=2)
        e = ece(outs)
        label = f"{name}: {len(outs)} values, ECE {'-' if e is None else f'{e:.3f}'}"
        ly = pad + size + 44 + 20 * i
        g.rectangle([pad, ly + 3, pad + 12, ly + 13], fill=color)
        g.text((pad + 18, ly), label, fill="black")
    p = Path(path)
    img.save(p)
    return p


# --------------------------------------------------------------------------------------
# Saved outcomes
# --------------------------------------------------------------------------------------


def write_outcomes(path: str | Path, outcomes: Iterable[Outcome], meta: dict[str, Any] | None = None) -> int:
    """Write judged outcomes with their features as JSON lines (``--outcomes``), so a
    calibration can be refitted and measured again without running the model; a first line
    ``{"meta": ...}`` says what they were judged on (data, model, quantization)."""
    import json
    from dataclasses import asdict

    n = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        if meta:
            fh.write(json.dumps({"meta": meta}, ensure_ascii=False) + "\n")
        for o in outcomes:
            fh.write(json.dumps(asdict(o), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_outcomes(path: str | Path) -> tuple[list[Outcome], dict[str, Any]]:
    """The outcomes and meta :func:`write_outcomes` wrote; ValueError names the first bad line."""
    import json

    names = set(Outcome.__dataclass_fields__)
    out, meta = [], {}
    with Path(path).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                if i == 1 and set(d) == {"meta"}:
                    meta = dict(d["meta"])
                    continue
                out.append(Outcome(**{k: v for k, v in d.items() if k in names}))
            except (ValueError, TypeError, AttributeError) as e:
                raise ValueError(f"{path}, line {i}: not an outcome ({e})") from e
    return out, meta


def read_outcome_files(paths: Sequence[str | Path]) -> tuple[list[Outcome], dict[str, Any]]:
    """The outcomes of several ``--outcomes`` files as one set (e.g. halves of a dataset judged
    on one core each), with one meta: gold counts summed, data names joined.  ValueError when
    the files disagree on the model or its quantization (their features are not alike) or
    when one document was judged in two files (its gold values would count twice)."""
    outcomes: list[Outcome] = []
    merged: dict[str, Any] = {}
    gold: dict[str, int] = {}
    names: list[str] = []
    doc_file: dict[str, str] = {}
    for path in paths:
        part, meta = read_outcomes(path)
        for key in ("model", "quantize"):
            if key in meta and key in merged and meta[key] != merged[key]:
                raise ValueError(
                    f"{path}: {key} {meta[key]!r}, but an earlier file has {merged[key]!r}; "
                    "outcomes of different models or quantizations do not fit together"
                )
            if key in meta:
                merged[key] = meta[key]
        for doc in {o.doc for o in part}:
            if doc in doc_file:
                raise ValueError(f"{path}: document {doc!r} was judged in {doc_file[doc]} too")
            doc_file[doc] = str(path)
        for group, n in (meta.get("gold_by_group") or {}).items():
            gold[group] = gold.get(group, 0) + int(n)
        names.append(str(meta.get("fitted_on") or Path(path).name))
        outcomes.extend(part)
    merged["fitted_on"] = " + ".join(names)
    merged["gold_by_group"] = gold
    return outcomes, merged


def best_threshold(
    outcomes: Sequence[Outcome], gold: int, grid: Sequence[float] | None = None
) -> dict[str, Any]:
    """The threshold under which a one-value field answers None that gives the highest F1
    of the values kept (many-value fields keep theirs whatever it is), ``gold`` counting
    the gold values; a tie goes to the higher threshold.  Returns it with its F1,
    precision and recall, and the F1 at each threshold of the grid (0.05 to 0.95)."""
    grid = grid or [round(0.05 * i, 2) for i in range(1, 20)]
    shown = [o for o in outcomes if o.shown]
    table = []
    for t in grid:
        kept = [o for o in shown if o.multiple or o.confidence >= t]
        tp = sum(o.right for o in kept)
        p = tp / len(kept) if kept else 0.0
        r = tp / gold if gold else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        table.append({"threshold": t, "f1": round(f1, 4), "precision": round(p, 4), "recall": round(r, 4)})
    best = max(table, key=lambda row: (row["f1"], row["threshold"]))
    return {**best, "by_threshold": {str(row["threshold"]): row["f1"] for row in table}}


# Fitting
# --------------------------------------------------------------------------------------


def fit_logistic(
    rows: Sequence[Sequence[float]], labels: Sequence[bool], l2: float = 1.0, iters: int = 50
) -> list[float]:
    """Weights of an L2-regularized logistic regression (every column penalized alike,
    intercepts included: the intercepts are one-hot type groups), by Newton's method
    (numpy: a few features, thousands of rows)."""
    import numpy as np

    x = np.asarray(rows, dtype=float)
    y = np.asarray(labels, dtype=float)
    _n, k = x.shape
    w = np.zeros(k)
    reg = l2 * np.eye(k)
    for _ in range(iters):
        z = x @ w
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        grad = x.T @ (p - y) + reg @ w
        h = (x * (p * (1 - p))[:, None]).T @ x + reg
        step = np.linalg.solve(h, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return [float(v) for v in w]


def _design(outcomes: Sequence[Outcome], names: Sequence[str]) -> tuple[list[list[float]], list[str]]:
    groups = sorted({o.group for o in outcomes})
    rows = []
    for o in outcomes:
        f = o.features or {}
        rows.append([float(f.get(n, 0.0)) for n in names] + [1.0 if o.group == g else 0.0 for g in groups])
    return rows, groups


def _fit_one(
    outcomes: Sequence[Outcome], names: Sequence[str], l2: float, group_min: int = 0
) -> dict[str, Any]:
    usable = [o for o in outcomes if o.features]
    if len(usable) < 20 or len({o.right for o in usable}) < 2:
        return {}
    rows, groups = _design(usable, names)
    w = fit_logistic(rows, [o.right for o in usable], l2=l2)
    bias = dict(zip(groups, w[len(names) :]))
    # a type group without data takes the mean intercept of the others
    mean = sum(bias.values()) / len(bias)
    model: dict[str, Any] = {
        "weights": dict(zip(names, w[: len(names)])),
        "bias": {g: bias.get(g, mean) for g in GROUPS},
        "values": len(usable),
        "right": sum(o.right for o in usable),
    }
    own = {}
    for g in groups if group_min else ():
        members = [o for o in usable if o.group == g]
        if len(members) < group_min or len({o.right for o in members}) < 2:
            continue
        rows, _ = _design(members, names)  # one group: its one-hot column is the intercept
        gw = fit_logistic(rows, [o.right for o in members], l2=l2)
        own[g] = {
            "weights": dict(zip(names, gw[: len(names)])),
            "bias": gw[-1],
            "values": len(members),
            "right": sum(o.right for o in members),
        }
    if own:
        model["groups"] = own
    return model


def fit_calibration(
    outcomes: Iterable[Outcome],
    *,
    threshold: float = 0.5,
    l2: float = 1.0,
    fit_on: str = "all",
    group_min: int = 0,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``calibration`` entry of a card from judged outcomes carrying their features.

    ``fit_on="all"`` fits on every scored value: the answers and the losing options (the
    alternatives, mostly wrong); ``"answers"`` on the values a user is shown only (each
    one-value field's answer, kept or dropped by the threshold, and every value of a
    many-value field).  Cross-validated on seqgpt-mini's calibration documents, "all" gave
    the answers the lower ECE (0.012 against 0.028; ``bench/calibration.py``).
    ``group_min`` > 0: a type group with at least that many values (right and wrong ones
    among them) gets weights of its own, not only an intercept."""
    if fit_on not in FIT_ON:
        raise ValueError(f"fit_on must be one of {', '.join(FIT_ON)}, not {fit_on!r}")
    outs = [o for o in outcomes if o.shown or fit_on == "all"]
    return {
        "version": CALIBRATION_VERSION,
        "single": _fit_one([o for o in outs if not o.multiple], SINGLE_FEATURES, l2, group_min),
        "multi": _fit_one([o for o in outs if o.multiple], MULTI_FEATURES, l2, group_min),
        "threshold": threshold,
        "fit_on": fit_on,
        "group_min": group_min,
        **(meta or {}),
    }


def apply_calibration(cal: dict[str, Any], outcomes: Sequence[Outcome]) -> list[Outcome]:
    """``outcomes`` with the confidence a calibration entry gives their features (a value
    its model does not cover keeps the one it has)."""
    from extractor.confidence import Calibrator

    c = Calibrator.from_dict(cal)
    out = []
    for o in outcomes:
        p = None
        if c is not None:
            p = (c.multi_probability if o.multiple else c.single_probability)(o.features or {}, o.type)
        out.append(replace(o, confidence=o.confidence if p is None else p))
    return out


def cross_fitted(outcomes: Sequence[Outcome], folds: int = 5, **fit: Any) -> list[Outcome]:
    """Every outcome with the confidence of a calibration fitted without its document:
    the documents are dealt into ``folds`` folds, each judged by the fit on the others."""
    docs = sorted({o.doc for o in outcomes})
    fold_of = {d: i % folds for i, d in enumerate(docs)}
    out: list[Outcome] = []
    for f in range(folds):
        train = [o for o in outcomes if fold_of[o.doc] != f]
        test = [o for o in outcomes if fold_of[o.doc] == f]
        if test:
            out += apply_calibration(fit_calibration(train, **fit), test)
    return out
