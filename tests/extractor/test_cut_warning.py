"""The "answer cut" warning is true: it appears only when a requested label got no answer
line within the token budget, and it names those labels (the real engine, a scripted model)."""

from __future__ import annotations

from extractor.prompt import unanswered_labels
from extractor.schema import Schema

from .scripted import scripted_extractor

DOC = "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。"
FIELDS = "甲方, 乙方, 电话"
ANSWER = "甲方: 北京云杉科技有限公司\n乙方: 上海海川贸易有限公司\n电话: None"


def _tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _extract(tiny_tokenizer, max_new_tokens: int):
    ex, _ = scripted_extractor(tiny_tokenizer, {"抽取: 甲方": ANSWER}, max_new_tokens=max_new_tokens)
    return ex.extract(DOC, Schema.parse(FIELDS))


def test_unanswered_labels_reads_answer_lines():
    assert unanswered_labels(ANSWER, ["甲方", "乙方", "电话"]) == []
    assert unanswered_labels("甲方: X\n乙", ["甲方", "乙方", "电话"]) == ["乙方", "电话"]
    # a line cut in its value still is an answer line
    assert unanswered_labels("甲方: X\n乙方: 上海", ["甲方", "乙方", "电话"]) == ["电话"]
    assert unanswered_labels("", ["a(b,c)"]) == ["a(b,c)"]
    assert unanswered_labels("a(b，c): None", ["a(b,c)"]) == []  # as the prompt writes the label


def test_no_warning_when_every_label_was_answered_even_without_the_end_token(tiny_tokenizer):
    full = _extract(tiny_tokenizer, 1024)
    assert full.warnings == []
    assert [s.text for s in full.values["乙方"]] == ["上海海川贸易有限公司"]
    # a budget of exactly the answer: every line written, the end token cut off -- nothing is missing
    exact = _extract(tiny_tokenizer, _tokens(tiny_tokenizer, ANSWER))
    assert exact.warnings == []
    assert [s.text for s in exact.values["甲方"]] == ["北京云杉科技有限公司"]


def test_a_cut_before_labels_names_them(tiny_tokenizer):
    budget = _tokens(tiny_tokenizer, "甲方: 北京云杉科技有限公司\n")
    result = _extract(tiny_tokenizer, budget)
    assert [s.text for s in result.values["甲方"]] == ["北京云杉科技有限公司"]
    assert result.values["乙方"] == []
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.startswith(f"answer cut at {budget} tokens before 乙方，电话 got an answer line")
    assert "甲方" not in warning
