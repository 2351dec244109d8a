"""bench/calibration.py compares calibration designs on saved outcomes (no model run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.training.test_calibration import _synthetic
from training.calibration import write_outcomes

REPO = Path(__file__).resolve().parents[2]


def test_designs_side_by_side_cross_validated_and_on_other_documents(tmp_path):
    fit, test = tmp_path / "fit.jsonl", tmp_path / "test.jsonl"
    write_outcomes(fit, _synthetic(400, seed=1), {"gold_by_group": {"date": 400}})
    write_outcomes(test, _synthetic(300, seed=5), {"gold_by_group": {"date": 300}})
    out = tmp_path / "cal.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "calibration.py"), "--fit", str(fit), "--measure", str(test),
         "--folds", "4", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "4-fold by document" in proc.stdout and "answers+groups" in proc.stdout
    rep = json.loads(out.read_text())
    assert rep["machine"]["cpu"] and "best F1" in proc.stdout
    cv, held = rep["sets"][f"{fit}, 4-fold by document"], rep["sets"][str(test)]
    for designs, n in ((cv, 400), (held, 300)):
        assert set(designs) == {"recorded", "all", "answers", "answers+groups"}
        assert all(d["overall"]["values"] == n for d in designs.values())  # the answers only
        # recorded: every answer was written at 0.5 while some 60% are right
        assert designs["recorded"]["overall"]["mean_confidence"] == 0.5
        assert designs["answers"]["overall"]["ece"] + 0.05 < designs["all"]["overall"]["ece"]
