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


def build_prompt(text: str, labels: list[str], task: str = EXTRACT) -> str:
    """The exact SeqGPT prompt for ``text`` and ``labels`` (``task`` 抽取 or 分类)."""
    if task not in (EXTRACT, CLASSIFY):
        raise ValueError(f"task must be {EXTRACT!r} or {CLASSIFY!r}, not {task!r}")
    if not labels:
        raise ValueError("a prompt needs at least one label")
    joined = LABEL_JOINER.join(clean_label(lab) for lab in labels)
    return PROMPT_TEMPLATE.format(text=text, task=task, labels=joined, gen=GEN_TOKEN)


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
    by_len = sorted(wanted, key=len, reverse=True)
    for line in _LINE_SPLIT.split(answer.replace(GEN_TOKEN, "")):
        line = line.strip()
        if not line:
            continue
        label, rest = None, None
        parts = _COLON.split(line, maxsplit=1)
        if len(parts) == 2 and parts[0].strip() in out:
            label, rest = parts[0].strip(), parts[1]
        else:
            for lab in by_len:  # "label value" without a colon
                if line.startswith(lab):
                    label, rest = lab, line[len(lab) :].lstrip(" :：")
                    break
        if label is None:
            continue
        for value in _VALUE_SPLIT.split(rest):
            value = value.strip()
            if value and value.lower() != "none" and value not in out[label]:
                out[label].append(value)
    return out


def parse_class_answer(answer: str, labels: list[str]) -> list[str]:
    """Labels named in a free-form classification answer, in answer order."""
    wanted = [clean_label(lab) for lab in labels]
    found: list[str] = []
    for piece in _VALUE_SPLIT.split(answer.replace(GEN_TOKEN, "").replace("\n", "\t")):
        piece = piece.strip()
        if piece in wanted and piece not in found:
            found.append(piece)
    return found
