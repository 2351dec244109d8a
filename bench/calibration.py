"""Calibration designs side by side, on values a model already judged (no model is run).

    seqgpt calibrate --dataset cal.jsonl --dry-run --outcomes cal.outcomes.jsonl
    seqgpt eval --dataset heldout.jsonl --outcomes heldout.outcomes.jsonl
    python bench/calibration.py --fit cal.outcomes.jsonl --measure heldout.outcomes.jsonl
    python bench/calibration.py --fit cal.outcomes.jsonl --folds 5     # cross-validated by document

Each design is fitted (``training.calibration.fit_calibration``) on the ``--fit`` outcomes
and applied to the answers of the ``--measure`` outcomes (or, with ``--folds``, to the
documents of each fold left out of the fit), then judged as ``seqgpt eval --report`` judges
values: ECE over 10 bins, precision / recall / share of right values kept at the thresholds,
ECE per type group, and the threshold with the highest F1 (needs the gold count that
``--outcomes`` records).  The designs:

- ``recorded``: the confidence written in the measured outcomes themselves (the calibration
  the model carried when they were judged);
- ``all``: one logistic model over every scored option, the losing alternatives included,
  with an intercept per type group (``seqgpt calibrate``'s default);
- ``answers``: the same, fitted on the answers only (``--fit-on answers``);
- ``answers+groups``: the answers, and a type group with ``--group-min`` values or more
  gets weights of its own (``--group-min``).

Pure Python and numpy; the figures do not depend on the machine, which is printed anyway.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from _common import machine, write_json

from training.calibration import (
    GROUPS,
    Outcome,
    apply_calibration,
    best_threshold,
    calibration_report,
    cross_fitted,
    fit_calibration,
    read_outcome_files,
    read_outcomes,
)


def _designs(group_min: int) -> dict[str, dict[str, Any] | None]:
    return {
        "recorded": None,
        "all": {"fit_on": "all"},
        "answers": {"fit_on": "answers"},
        "answers+groups": {"fit_on": "answers", "group_min": group_min},
    }


def measure(fit: list[Outcome], test: list[Outcome], gold: dict[str, int], group_min: int) -> dict[str, Any]:
    """Each design's calibration section on ``test`` after fitting on ``fit``."""
    res = {}
    for name, opts in _designs(group_min).items():
        judged = test if opts is None else apply_calibration(fit_calibration(fit, **opts), test)
        res[name] = _report(judged, gold)
    return res


def _report(judged: list[Outcome], gold: dict[str, int]) -> dict[str, Any]:
    rep = calibration_report(judged, gold)
    rep["best_threshold"] = best_threshold(judged, sum(gold.values())) if gold else None
    return rep


def cross_validated(
    outcomes: list[Outcome], folds: int, gold: dict[str, int], group_min: int
) -> dict[str, Any]:
    """Each design's calibration section with every document judged by a fit without it."""
    return {
        name: _report(outcomes if opts is None else cross_fitted(outcomes, folds, **opts), gold)
        for name, opts in _designs(group_min).items()
    }


def _row(name: str, rep: dict[str, Any]) -> str:
    o = rep["overall"]
    t5, t9 = o["thresholds"]["0.5"], o["thresholds"]["0.9"]

    def f(x):
        return "-" if x is None else f"{x:.3f}"

    groups = " ".join(f"{g} {f(rep['by_type'][g]['ece'])}" for g in GROUPS if g in rep["by_type"])
    b = rep.get("best_threshold") or {}
    best = f"{b['f1']:.3f} at {b['threshold']:.2f}" if b else "-"
    return (
        f"{name:<16} {f(o['ece']):>6} {f(t5['precision']):>7} {f(t5['recall']):>7} {f(t5['right_kept']):>7} "
        f"{f(t9['precision']):>7} {f(t9['right_kept']):>7} {best:>13}   {groups}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--fit",
        required=True,
        nargs="+",
        help="outcomes to fit on (seqgpt calibrate/eval --outcomes; several: one set)",
    )
    ap.add_argument("--measure", action="append", default=[], help="outcomes to measure on (repeatable)")
    ap.add_argument("--folds", type=int, default=0, help="also cross-validate on --fit, by document")
    ap.add_argument(
        "--group-min", type=int, default=300, help="values a type group needs for its own weights"
    )
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args(argv)
    fit, fit_meta = read_outcome_files(args.fit)
    fit_name = " + ".join(args.fit)
    sets: dict[str, dict[str, Any]] = {}
    if args.folds:
        sets[f"{fit_name}, {args.folds}-fold by document"] = cross_validated(
            fit, args.folds, fit_meta.get("gold_by_group") or {}, args.group_min
        )
    for path in args.measure:
        test, meta = read_outcomes(path)
        sets[path] = measure(fit, test, meta.get("gold_by_group") or {}, args.group_min)
    if not sets:
        ap.error("give --measure FILE and/or --folds K")
    print(f"machine: {machine()['cpu']}; fitted on {fit_name} ({len(fit)} values)")
    for title, designs in sets.items():
        print(f"\n{title}")
        print(
            f"{'design':<16} {'ECE':>6} {'P@.5':>7} {'R@.5':>7} {'kept@.5':>7} {'P@.9':>7} {'kept@.9':>7} {'best F1':>13}   ECE by type"
        )
        for name, rep in designs.items():
            print(_row(name, rep))
    if args.json:
        write_json(args.json, {"machine": machine(), "fit": args.fit, "sets": sets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
