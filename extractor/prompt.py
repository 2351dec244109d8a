"""The SeqGPT prompt contract, and a tolerant parser for free (unconstrained) answers.

From the public SeqGPT repository (inference.py)::

    输入: {text}\\n{task}: {labels}\\n输出: [GEN]

``task`` is ``抽取`` (extract) or ``分类`` (classify), and stays Chinese for English text;
labels are joined with the full-width comma ``，`` and an ASCII comma inside a label becomes
``，`` (SeqGPT's own input handling does the same).  Extraction asks at most
``MAX_LABELS_PER_PROMPT`` labels per prompt (more labels, lower recall); one document chunk
x one label group is one prompt.

The answer is one line per label, ``label: span`` with several spans separated by a tab or
``，``, and ``None`` when nothing is found.  The constrained decoder
(``extractor.constraints``) reads answers itself; ``parse_answer`` is for answers produced
without constraints (baselines, other tools) and never raises.
"""

from __future__ import annotations

import re

GEN_TOKEN = "[GEN]"
EXTRACT = "抽取"
CLASSIFY = "分类"
LABEL_JOINER = "，"
MAX_LABELS_PER_PROMPT = 6
PROMPT_TEMPLATE = "输入: {text}\n{task}: {labels}\n输出: {gen}"


def clean_label(label: str) -> str:
    """A label as the prompt carries it: stripped, ASCII commas made full-width, no newlines."""
    label = " ".join(label.split())
    return label.replace(",", LABEL_JOINER)


def label_line(labels: list[str], task: str = EXTRACT) -> str:
    """The prompt's task line as the model reads it: ``抽取: 甲方，乙方，签约日期(YYYY-MM-DD)``."""
    if task not in (EXTRACT, CLASSIFY):
        raise ValueError(f"task must be {EXTRACT!r} or {CLASSIFY!r}, not {task!r}")
    if not labels:
        raise ValueError("a prompt needs at least one label")
    return f"{task}: " + LABEL_JOINER.join(clean_label(lab) for lab in labels)


def build_prompt(text: str, labels: list[str], task: str = EXTRACT) -> str:
    """The exact SeqGPT prompt for ``text`` and ``labels`` (``task`` 抽取 or 分类)."""
    line = label_line(labels, task)
    return PROMPT_TEMPLATE.format(text=text, task=task, labels=line[len(task) + 2 :], gen=GEN_TOKEN)


def group_labels(labels: list[str], size: int = MAX_LABELS_PER_PROMPT) -> list[list[str]]:
    """Labels in consecutive groups of at most ``size`` (schema order kept)."""
    if size < 1:
        raise ValueError("labels per prompt must be at least 1")
    return [labels[i : i + size] for i in range(0, len(labels), size)]


_LINE_SPLIT = re.compile(r"\r?\n")
_VALUE_SPLIT = re.compile(r"\t|，|；|;")
_COLON = re.compile(r"\s*[:：]\s*")


def parse_answer(answer: str, labels: list[str]) -> dict[str, list[str]]:
    """Values per requested label from a free-form SeqGPT answer.

    Tolerates a missing space after the colon, a full-width colon, a missing colon when
    the line starts with a known label, ``None``/empty values, tabs or ``，`` between values,
    duplicated values, labels outside the request (dropped) and trailing garbage lines.
    """
    wanted = [clean_label(lab) for lab in labels]
    out: dict[str, list[str]] = {lab: [] for lab in wanted}
    for label, rest in _answer_lines(answer, wanted):
        for value in _VALUE_SPLIT.split(rest):
            value = value.strip()
            if value and value.lower() != "none" and value not in out[label]:
                out[label].append(value)
    return out


def _answer_lines(answer: str, wanted: list[str]):
    """``(label, rest of the line)`` for every line of ``answer`` that starts with one of the
    ``wanted`` (cleaned) labels; other lines are skipped."""
    by_len = sorted(wanted, key=len, reverse=True)
    known = set(wanted)
    for line in _LINE_SPLIT.split(answer.replace(GEN_TOKEN, "")):
        line = line.strip()
        if not line:
            continue
        parts = _COLON.split(line, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() in known:
            yield parts[0].strip(), parts[1]
            continue
        for lab in by_len:  # "label value" without a colon
            if line.startswith(lab):
                yield lab, line[len(lab) :].lstrip(" :：")
                break


def unanswered_labels(answer: str, labels: list[str]) -> list[str]:
    """The requested ``labels`` (as given) that have no line of their own in ``answer``,
    ``None`` lines counting as answered: what an answer cut at the token budget never
    reached."""
    answered = {label for label, _ in _answer_lines(answer, [clean_label(lab) for lab in labels])}
    return [lab for lab in labels if clean_label(lab) not in answered]


def parse_class_answer(answer: str, labels: list[str]) -> list[str]:
    """Labels named in a free-form classification answer, in answer order."""
    wanted = [clean_label(lab) for lab in labels]
    found: list[str] = []
    for piece in _VALUE_SPLIT.split(answer.replace(GEN_TOKEN, "").replace("\n", "\t")):
        piece = piece.strip()
        if piece in wanted and piece not in found:
            found.append(piece)
    return found
