"""LoRA fine-tuning of a causal LM into the SeqGPT prompt format (``seqgpt finetune``).

Training data are examples in the span format of the evaluation (``training.datasets``):
``{"text", "entities": [{"label", "start", "end"}], "label_set"?, "labels"?, "choices"?}``,
from JSONL files and from named sources (``msra`` = MSRA *train*, ``wnut16``, ``docgen`` =
documents of the project's generator, train-split templates only).  Each example becomes
one or more (prompt, answer) pairs:

- the prompt is built by the engine's own ``build_prompt`` with at most
  ``MAX_LABELS_PER_PROMPT`` labels, exactly as ``Extractor`` asks;
- the label set varies per pair: a random subset of the example's labels, each label
  written as itself or as a synonym (人名 / 姓名 / 人物 / person ...), English labels on
  Chinese text and the reverse, plus labels the text has no value for (answer ``None``);
- the answer is written in the grammar the constrained decoder accepts
  (``extractor.constraints``): one line per label in prompt order, ``label: v1\\tv2`` with
  distinct values in order of first occurrence, ``None`` when there is none, lines joined
  by ``\\n``, then the model's end token.  ``answer_ok`` checks a pair against the real
  ``Grammar`` (the tests check every generated pair);
- classification pairs (``分类``) for examples with gold class labels (docgen's ticket
  ``classes``, JSONL ``labels``): the choices in random order, the answer the gold label.

The loss covers the answer tokens only, and the LM head runs on those positions only (no
vocabulary-sized logits for the prompt).  Texts longer than ``window_chars`` are cut into
windows on line or sentence ends (``split_long``).  A run is deterministic for its seed:
the pairs, their order, the LoRA initialisation and the optimizer all follow from it.
Checkpoints (``checkpoint-<step>/``) hold the adapter, the optimizer state and the step, so
``--resume`` continues a run where it stopped (or fine-tunes a saved adapter further).
The output folder is a peft adapter (``adapter_config.json`` +
``adapter_model.safetensors``) with ``card.json`` and ``README.md`` (base, data, steps,
tokens, loss, eval figures, the exact command); ``extractor.loading.load_model`` loads it.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from extractor.errors import SeqgptError
from extractor.prompt import CLASSIFY, EXTRACT, MAX_LABELS_PER_PROMPT, build_prompt, clean_label

# canonical label -> other names a user might type (Chinese and English)
SYNONYMS: dict[str, list[str]] = {
    "人名": ["姓名", "人物", "person", "people", "name", "人"],
    "地名": ["地点", "位置", "location", "place", "地区"],
    "机构名": ["组织", "单位", "公司", "机构", "organization", "company", "institution"],
    "person": ["people", "name", "人名", "姓名", "人物"],
    "location": ["place", "geo-location", "地名", "地点"],
    "company": ["organization", "business", "公司", "机构名"],
    "product": ["产品"],
    "facility": ["设施", "building"],
    "movie": ["film", "电影"],
    "music artist": ["musician", "singer", "歌手"],
    "sports team": ["team", "球队"],
    "tv show": ["television show", "电视节目"],
    "other": ["其他实体"],
}
# labels to ask where a text has no value (answer None), by language: typed ones only, asked
# only where their type's recognizer finds no value in the text (a contract is full of
# dates: "日期: None" there would teach the model to miss them)
DISTRACTORS = {
    "zh": ["日期", "金额", "电话", "数量", "身份证号", "百分比"],
    "en": ["date", "amount", "phone number", "price", "percentage"],
}
NAMED_SOURCES = ("msra", "wnut16", "docgen")
ANSWER_SEP = "\t"


class FinetuneError(SeqgptError, ValueError):
    """Fine-tuning cannot start or continue; the message says why and what to do."""


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


@dataclass
class Pair:
    """One training example: the prompt as the engine builds it and the answer it expects."""

    prompt: str
    answer: str  # without the end token
    task: str
    labels: list[str]
    text: str
    source: str = ""


def _synonyms() -> dict[str, list[str]]:
    table = {k: list(v) for k, v in SYNONYMS.items()}
    try:
        from . import docgen  # being written alongside; optional until it lands
    except ImportError:
        return table
    for k, v in getattr(docgen, "SYNONYMS", {}).items():
        table.setdefault(k, [])
        table[k] += [s for s in v if s not in table[k]]
    return table


def _mapped(ex: dict[str, Any], label_map: dict[str, str] | None, source: str) -> dict[str, Any]:
    m = label_map or {}
    ents = [
        {"label": m.get(e["label"], e["label"]), "start": e["start"], "end": e["end"]} for e in ex["entities"]
    ]
    out = {"text": ex["text"], "entities": ents, "source": source}
    if "label_set" in ex:
        out["label_set"] = [m.get(x, x) for x in ex["label_set"]]
    elif label_map:
        out["label_set"] = list(dict.fromkeys(label_map.values()))
    classes = dict(ex.get("classes") or {})
    choices = {k: list(v) for k, v in (ex.get("class_choices") or {}).items()}
    if ex.get("labels"):  # JSONL gold classification labels
        ch = list(ex.get("choices") or [])
        if ch:
            classes.setdefault("类别", ex["labels"][0])
            choices.setdefault("类别", ch)
    out["classes"] = {k: v for k, v in classes.items() if k in choices and v in choices[k]}
    out["class_choices"] = choices
    return out


def hash_kinds(kinds: str) -> int:
    """A stable small number for a kinds list (``str`` hashes change between processes)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(kinds)) % 100_003


def load_sources(spec: str | list[str], *, seed: int = 0, docgen_n: int = 2000) -> list[dict[str, Any]]:
    """Training examples from a comma list of JSONL paths and named sources.

    ``msra`` = MSRA train split (asked as 人名/地名/机构名), ``wnut16`` = WNUT-16 (plain English
    labels), ``docgen`` or ``docgen:N`` = N generated documents of the train-split templates
    (default ``docgen_n``), ``docgen:N:agreement+ticket`` = N of those kinds only (drawn with
    their own seed, so they add documents to a plain ``docgen:N``).  Labels are mapped to the
    names the evaluation asks."""
    from .datasets import MSRA_LABELS, WNUT16_LABELS, DatasetError, load_jsonl, load_msra, load_wnut16

    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise FinetuneError("no training data: pass --train FILE.jsonl and/or msra, wnut16, docgen")
    out: list[dict[str, Any]] = []
    for item in items:
        name, _, arg = item.partition(":")
        try:
            if name == "msra":
                exs = load_msra("train", limit=int(arg) if arg else None)
                out += [_mapped(e, MSRA_LABELS, "msra") for e in exs]
            elif name == "wnut16":
                exs = load_wnut16("train", limit=int(arg) if arg else None)
                out += [_mapped(e, WNUT16_LABELS, "wnut16") for e in exs]
            elif name == "docgen":
                try:
                    from .docgen import generate_documents
                except ImportError as e:
                    raise FinetuneError(f"the docgen source needs training.docgen ({e})") from e
                n, _, kinds = arg.partition(":")
                docs = generate_documents(
                    n=int(n) if n else docgen_n,
                    seed=seed + (1 + hash_kinds(kinds) if kinds else 0),
                    split="train",
                    kinds=kinds.split("+") if kinds else None,
                )
                out += [_mapped(d, None, "docgen") for d in docs]
            else:
                exs = load_jsonl(item)
                every = list(dict.fromkeys(lab for e in exs for lab in e.get("labels") or []))
                for e in exs:
                    if e.get("labels") and not e.get("choices") and len(every) > 1:
                        e["choices"] = every  # as `seqgpt eval` asks: every gold label of the file
                out += [_mapped(e, None, Path(item).name) for e in exs]
        except DatasetError as e:
            raise FinetuneError(str(e)) from e
        except ValueError as e:
            if isinstance(e, FinetuneError):
                raise
            raise FinetuneError(f"bad training source {item!r}: {e}") from e
    return out


PACKED_SOURCES = ("msra", "wnut16")
"""Sources of single sentences (consecutive in their corpus) that ``pack_sentences`` joins."""


def pack_sentences(
    examples: list[dict[str, Any]], max_chars: int, rng: random.Random, share: float = 0.5
) -> list[dict[str, Any]]:
    """Consecutive sentences of the same source joined into passages, for about ``share`` of
    them: inference reads chunks of up to a thousand tokens with many values per label, not
    one short sentence, so training must show both.  A passage is a run of neighbouring
    sentences (MSRA's follow its newspaper articles) joined by a line break or nothing, up to
    a length drawn between 2 sentences and ``max_chars`` characters; entities move with their
    sentence.  A passage starts wherever fewer than ``share`` of the sentences read so far
    were packed, so about ``share`` of them end up in passages (deterministic for ``rng``).
    Other sources, and the rest of these, pass unchanged."""
    packable = [ex.get("source") in PACKED_SOURCES and not ex.get("classes") for ex in examples]
    out: list[dict[str, Any]] = []
    i = seen = packed = 0
    while i < len(examples):
        ex = examples[i]
        if not packable[i] or share <= 0 or packed > share * seen:
            out.append(ex)
            seen += packable[i]
            i += 1
            continue
        target = rng.randint(min(2 * len(ex["text"]), max_chars), max_chars)
        joiner = rng.choice(["", "\n"]) if ex["source"] == "msra" else rng.choice([" ", "\n"])
        text, ents, j = ex["text"], list(ex["entities"]), i + 1
        while j < len(examples) and packable[j] and examples[j].get("source") == ex["source"]:
            nxt = examples[j]
            if len(text) + len(joiner) + len(nxt["text"]) > target:
                break
            base = len(text) + len(joiner)
            ents += [dict(e, start=e["start"] + base, end=e["end"] + base) for e in nxt["entities"]]
            text += joiner + nxt["text"]
            j += 1
        out.append(dict(ex, text=text, entities=ents))
        seen += j - i
        packed += j - i
        i = j
    return out


def split_long(ex: dict[str, Any], max_chars: int) -> list[dict[str, Any]]:
    """``ex`` cut into windows of at most ``max_chars`` characters on line or sentence ends
    (the engine also reads long documents in chunks).  Entities inside a window move with
    it; a label with a value cut by a window edge is not asked in that window (``unsafe``).
    Classes stay with the first window only when the text is cut."""
    text = ex["text"]
    if len(text) <= max_chars:
        return [ex]
    cuts = [0]
    pos = 0
    while pos < len(text):
        end = min(len(text), pos + max_chars)
        if end < len(text):
            best = max(text.rfind(c, pos + max_chars // 3, end) for c in ("\n", "。", "；", ". ", "！", "？"))
            if best > pos:
                end = best + 1
        cuts.append(end)
        pos = end
    out = []
    for i in range(len(cuts) - 1):
        a, b = cuts[i], cuts[i + 1]
        ents, unsafe = [], set()
        for e in ex["entities"]:
            if e["start"] >= a and e["end"] <= b:
                ents.append({"label": e["label"], "start": e["start"] - a, "end": e["end"] - a})
            elif e["start"] < b and e["end"] > a:
                unsafe.add(e["label"])
        window = dict(ex, text=text[a:b], entities=ents, unsafe=sorted(unsafe))
        if i:
            window["classes"] = {}
        if window["text"].strip():
            out.append(window)
    return out


def _values(ex: dict[str, Any], label: str) -> list[str]:
    """Distinct values of ``label`` in order of first occurrence, as the grammar can write them."""
    text = ex["text"]
    seen: dict[str, int] = {}
    for e in ex["entities"]:
        if e["label"] != label:
            continue
        v = text[e["start"] : e["end"]]
        if not v or v[0].isspace() or "\t" in v or "\n" in v or v.strip() != v:
            continue
        if v.lower() == "none":
            continue
        pos = text.find(v)
        if v not in seen:
            seen[v] = pos
    return sorted(seen, key=lambda v: seen[v])[:32]


def _unsafe(ex: dict[str, Any], label: str) -> bool:
    """A gold value the grammar could not write (so leave the label out of prompts)."""
    text = ex["text"]
    if label in ex.get("unsafe", ()):
        return True
    for e in ex["entities"]:
        if e["label"] == label:
            v = text[e["start"] : e["end"]]
            if not v or v[0].isspace() or "\t" in v or "\n" in v or v.strip() != v:
                return True
    return False


def _absent_type(label: str, text: str) -> bool:
    """True when the text holds no value of the (typed) label's type."""
    from extractor.recognize import candidate_spans
    from extractor.schema import Field

    return not candidate_spans(Field.parse(label), text)


def make_pairs(
    ex: dict[str, Any], rng: random.Random, synonyms: dict[str, list[str]] | None = None
) -> list[Pair]:
    """The training pairs of one example (one extraction prompt, plus classifications)."""
    synonyms = _synonyms() if synonyms is None else synonyms
    text = ex["text"]
    pairs: list[Pair] = []
    if not text.strip():
        return pairs
    labels = list(dict.fromkeys([*ex.get("label_set", []), *(e["label"] for e in ex["entities"])]))
    labels = [lab for lab in labels if not _unsafe(ex, lab)]
    if labels:
        with_values = [lab for lab in labels if _values(ex, lab)]
        without = [lab for lab in labels if lab not in with_values]
        k = min(len(labels), MAX_LABELS_PER_PROMPT)
        # keep the labels with values most of the time, so answers are mostly non-trivial
        chosen = [lab for lab in with_values if rng.random() < 0.85]
        chosen += [lab for lab in without if rng.random() < 0.5]
        if not chosen:
            chosen = [rng.choice(labels)]
        rng.shuffle(chosen)
        chosen = chosen[:k]
        if rng.random() < 0.3:  # keep the dataset's usual order sometimes
            chosen.sort(key=labels.index)
        asked: list[tuple[str, str]] = []  # (name written in the prompt, canonical label)
        used: set[str] = set()
        for lab in chosen:
            name = lab
            alts = [s for s in synonyms.get(lab, []) if s]
            if alts and rng.random() < 0.35:
                name = rng.choice(alts)
            name = clean_label(name)
            if name in used or not name:
                name = clean_label(lab)
            if name in used:
                continue
            used.add(name)
            asked.append((name, lab))
        pool = [d for d in DISTRACTORS["zh" if rng.random() < 0.7 else "en"] if d not in used]
        pool = [d for d in pool if d not in labels and not any(d in synonyms.get(lab, []) for lab in labels)]
        if pool and len(asked) < MAX_LABELS_PER_PROMPT and rng.random() < 0.3:
            pool = [d for d in pool if _absent_type(d, text)]
            if pool:
                d = rng.choice(pool)
                asked.insert(rng.randrange(len(asked) + 1), (d, ""))
        lines = []
        for name, lab in asked:
            vals = _values(ex, lab) if lab else []
            lines.append(f"{name}: {ANSWER_SEP.join(vals) if vals else 'None'}")
        prompt_labels = [n for n, _ in asked]
        pairs.append(
            Pair(
                build_prompt(text, prompt_labels, EXTRACT),
                "\n".join(lines),
                EXTRACT,
                prompt_labels,
                text,
                ex.get("source", ""),
            )
        )
    for cname, gold in (ex.get("classes") or {}).items():
        choices = [clean_label(c) for c in ex["class_choices"][cname]]
        if len(set(choices)) != len(choices) or clean_label(gold) not in choices:
            continue
        rng.shuffle(choices)
        pairs.append(
            Pair(
                build_prompt(text, choices, CLASSIFY),
                clean_label(gold),
                CLASSIFY,
                choices,
                text,
                ex.get("source", ""),
            )
        )
    return pairs


def answer_ok(pair: Pair, vocab) -> bool:
    """True when the engine's constrained grammar accepts ``pair.answer`` (then the end) for
    its prompt: training teaches only answers the decoder can write."""
    from extractor.constraints import Grammar, TextIndex

    if pair.task == EXTRACT:
        grammar = Grammar(pair.labels, TextIndex(pair.text, vocab))
    else:
        grammar = Grammar(pair.labels, None, classify=True).bind(vocab)
    state = grammar.advance(grammar.initial(), pair.answer.encode("utf-8"), 0)
    return bool(state) and grammar.can_end(state)


EMPTY_KEEP = 0.3
"""Share of examples without any entity or class (most MSRA sentences) kept per epoch."""


def build_pairs(examples: list[dict[str, Any]], seed: int, epoch: int = 0) -> list[Pair]:
    """The pairs of one epoch (label sets differ per epoch), shuffled; examples without any
    gold value are kept with probability ``EMPTY_KEEP`` (they teach ``None`` cheaply)."""
    rng = random.Random(f"{seed}:{epoch}")
    syn = _synonyms()
    pairs: list[Pair] = []
    for ex in examples:
        if not ex["entities"] and not ex.get("classes") and rng.random() >= EMPTY_KEEP:
            continue
        pairs += make_pairs(ex, rng, syn)
    rng.shuffle(pairs)
    return pairs


def _bucketed(
    encoded: list[tuple[list[int], int]], batch_size: int, rng: random.Random, batch_tokens: int = 0
) -> list[list[tuple[list[int], int]]]:
    """Batches of similar length (less padding), in random order; deterministic for ``rng``.

    A batch holds at most ``batch_size`` pairs and, when ``batch_tokens`` is set, at most
    that many tokens counted padded (rows x longest row): long passages come in smaller
    batches, so memory stays bounded whatever the window length."""
    window = batch_size * 16
    batches: list[list[tuple[list[int], int]]] = []
    for w in range(0, len(encoded), window):
        part = sorted(encoded[w : w + window], key=lambda e: len(e[0]))
        batch: list[tuple[list[int], int]] = []
        for e in part:
            width = max(len(e[0]), *(len(x[0]) for x in batch)) if batch else len(e[0])
            if batch and (
                len(batch) >= batch_size or (batch_tokens and (len(batch) + 1) * width > batch_tokens)
            ):
                batches.append(batch)
                batch = []
            batch.append(e)
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def end_token_id(tokenizer, model=None) -> int:
    """The end token the decoder stops on (the generation config's, else the tokenizer's)."""
    gen = getattr(model, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None) if gen is not None else None
    if isinstance(eos, (list, tuple)):
        eos = eos[0] if eos else None
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        raise FinetuneError("the tokenizer has no end token")
    return int(eos)


def encode_pair(pair: Pair, tokenizer, eos: int) -> tuple[list[int], int]:
    """Token ids of prompt + answer + end, and where the answer starts."""
    prompt_ids = tokenizer(pair.prompt)["input_ids"]
    answer_ids = tokenizer(pair.answer, add_special_tokens=False)["input_ids"]
    return list(prompt_ids) + list(answer_ids) + [eos], len(prompt_ids)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass
class FinetuneConfig:
    base: str
    train: str
    output: str
    eval: str | None = None
    lora_rank: int = 16
    lora_alpha: int | None = None
    lora_dropout: float = 0.0
    target_modules: str = "all-linear"
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = 20
    max_tokens: int = 1024
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    resume: str | None = None
    eval_every: int = 0
    eval_limit: int = 50
    save_every: int = 0
    log_every: int = 10
    docgen_n: int = 2000
    window_chars: int = 1200
    batch_tokens: int = 4096
    pack: float = 0.5
    schedule: str = "cosine"
    keep_checkpoints: int = 2
    command: str = ""


@dataclass
class TrainState:
    step: int = 0
    tokens: int = 0  # all tokens seen (prompt + answer)
    answer_tokens: int = 0
    seconds: float = 0.0
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # each start or resume: its command and step
    epoch: int = 0  # where the next step's batch is: epoch and batch index in it
    batch: int = 0
    warm_from: int = 0  # the step the warmup starts at: a resume without optimizer moments warms up again


def _load_base(base: str, device: str):
    from extractor.loading import load_model

    lm = load_model(base, device=device, dtype="fp32")
    return lm


def _lora_model(model, cfg: FinetuneConfig, resume: Path | None):
    from peft import LoraConfig, PeftModel, get_peft_model

    if resume is not None:
        return PeftModel.from_pretrained(model, str(resume), is_trainable=True)
    targets: Any = cfg.target_modules
    if targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    lcfg = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha or 2 * cfg.lora_rank,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lcfg)


LOSS_CHUNK = 128
"""Answer positions whose vocabulary-sized logits exist at once during the loss."""


def _answer_loss_backward(peft_model, ids, mask, labels, chunk: int = LOSS_CHUNK) -> float:
    """Mean cross-entropy over the answer tokens, with its gradients accumulated (``backward``
    done here).  The LM head runs on the answer positions only, ``chunk`` of them at a time:
    each chunk's logits (262,144 wide for Gemma) are made, differentiated into the hidden
    states and freed before the next, so memory does not grow with the number of answer
    tokens; the body then gets one backward pass.  (The head itself is frozen.)"""
    import torch.nn.functional as F

    lm = peft_model.get_base_model()
    body = lm.base_model
    head = lm.get_output_embeddings()
    hidden = body(input_ids=ids, attention_mask=mask).last_hidden_state
    target = labels[:, 1:]
    keep = target != -100
    h = hidden[:, :-1][keep]
    t = target[keep]
    n = int(t.numel())
    if n == 0:
        return 0.0
    h_leaf = h.detach().requires_grad_(True)
    total = 0.0
    for s in range(0, n, chunk):
        loss = F.cross_entropy(head(h_leaf[s : s + chunk]).float(), t[s : s + chunk], reduction="sum") / n
        loss.backward()
        total += float(loss.detach())
    h.backward(h_leaf.grad)
    return total


def _batches(batches: list[list[tuple[list[int], int]]], pad_id: int):
    import torch

    for chunk in batches:
        width = max(len(ids) for ids, _ in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        labels = torch.full((len(chunk), width), -100, dtype=torch.long)
        for i, (seq, start) in enumerate(chunk):
            ids[i, : len(seq)] = torch.tensor(seq)
            mask[i, : len(seq)] = 1
            labels[i, start : len(seq)] = torch.tensor(seq[start:])
        yield ids, mask, labels, int(mask.sum()), int((labels != -100).sum())


SCHEDULES = ("cosine", "constant")


def _lr_at(step: int, total: int, cfg: FinetuneConfig, warm_from: int = 0) -> float:
    """Linear warmup, then a cosine to a tenth of ``lr`` at ``total`` (``cosine``), or ``lr``
    for good (``constant``: a run meant to be resumed with more steps later keeps its rate).

    ``warm_from`` > 0: the run went on from that step with fresh AdamW moments (an adapter
    resumed without ``optimizer.pt``), whose first updates are as large as the rate itself
    whatever the gradient's size; the rate the schedule gives is then ramped up again over
    ``warmup_steps`` from there."""
    if warm_from and warm_from <= step < warm_from + cfg.warmup_steps:
        return _lr_at(step, total, cfg) * (step - warm_from + 1) / cfg.warmup_steps
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant" or total <= cfg.warmup_steps:
        return cfg.lr
    frac = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def _save(peft_model, optimizer, state: TrainState, cfg: FinetuneConfig, path: Path, *, with_optimizer: bool):
    import torch

    path.mkdir(parents=True, exist_ok=True)
    for pc in peft_model.peft_config.values():  # name the base as the user did, not a cache path
        pc.base_model_name_or_path = _portable_base(cfg.base)
    peft_model.save_pretrained(str(path), safe_serialization=True)
    if with_optimizer:
        torch.save(optimizer.state_dict(), path / "optimizer.pt")
    (path / "trainer_state.json").write_text(json.dumps(asdict(state), ensure_ascii=False, indent=1))
    write_card(path, cfg, state)


def _prune_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` ``checkpoint-<step>`` folders (0 keeps them all)."""
    import shutil

    if keep <= 0:
        return
    found = sorted(
        (int(p.name.split("-", 1)[1]), p)
        for p in out.glob("checkpoint-*")
        if p.is_dir() and p.name.split("-", 1)[1].isdigit()
    )
    for _, p in found[:-keep]:
        shutil.rmtree(p, ignore_errors=True)


def _portable_base(base: str) -> str:
    """A hub id or alias as given; a local folder as an absolute path."""
    p = Path(base).expanduser()
    return str(p.resolve()) if p.exists() else base


def write_card(path: Path, cfg: FinetuneConfig, state: TrainState) -> None:
    """card.json and README.md of an adapter folder: what it is and how it was made."""
    last_loss = state.loss_history[-1][1] if state.loss_history else None
    card = {
        "name": Path(cfg.output).name,
        "base": _portable_base(cfg.base),
        "data": cfg.train,
        "eval_data": cfg.eval,
        "steps": state.step,
        "tokens": state.tokens,
        "answer_tokens": state.answer_tokens,
        "train_seconds": round(state.seconds, 1),
        "loss": last_loss,
        "loss_history": state.loss_history[-200:],
        "runs": state.runs,
        "evals": state.evals,
        "lora_rank": cfg.lora_rank,
        "lora_alpha": cfg.lora_alpha or 2 * cfg.lora_rank,
        "target_modules": cfg.target_modules,
        "lr": cfg.lr,
        "batch_size": cfg.batch_size,
        "max_tokens": cfg.max_tokens,
        "window_chars": cfg.window_chars,
        "pack": cfg.pack,
        "schedule": cfg.schedule,
        "seed": cfg.seed,
        "device": cfg.device,
        "resumed_from": cfg.resume,
        "command": cfg.command,
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n")
    ev = state.evals[-1] if state.evals else None
    lines = [
        f"# {card['name']}: a SeqGPT-style LoRA adapter",
        "",
        f"- base: `{cfg.base}`",
        f"- training data: `{cfg.train}`",
        f"- steps: {state.step} (batch {cfg.batch_size}), tokens: {state.tokens:,} "
        f"({state.answer_tokens:,} answer tokens), {state.seconds / 60:.1f} min on {cfg.device}",
        f"- LoRA rank {cfg.lora_rank}, alpha {card['lora_alpha']}, modules {cfg.target_modules}, lr {cfg.lr}, "
        f"seed {cfg.seed}",
        f"- last training loss: {last_loss:.4f}" if last_loss is not None else "- last training loss: -",
    ]
    if ev:
        lines.append(
            f"- eval ({ev.get('data')}, {ev.get('examples')} examples, constrained): "
            f"P {ev['precision']:.3f} R {ev['recall']:.3f} F1 {ev['f1']:.3f} at step {ev['step']}"
        )
    lines += [
        "",
        "Made with:",
        "",
        "```",
        cfg.command or "(not recorded)",
        "```",
        "",
        "Load it with `seqgpt extract --model THIS_FOLDER`: the base named in card.json is loaded and the "
        "adapter merged into it.",
        "",
    ]
    (path / "README.md").write_text("\n".join(lines))


def evaluate_model(model, tokenizer, examples, label_map=None, *, name: str = "model") -> dict[str, Any]:
    """Constrained-engine F1 of ``model`` on ``examples`` (``training.evaluate``)."""
    from extractor.engine import Extractor

    from .evaluate import evaluate

    was_training = model.training
    model.eval()
    try:
        ex = Extractor(model, tokenizer, model_id=name, batch_size=16)
        report = evaluate(ex, examples, label_map)
    finally:
        if was_training:
            model.train()
    o = report.overall
    return {"precision": o.precision, "recall": o.recall, "f1": o.f1, "examples": len(examples)}


def _eval_set(spec: str, limit: int):
    """Eval examples and their label map: ``msra`` / ``wnut16`` (their default splits) or a JSONL file."""
    from .datasets import load_dataset

    ds = load_dataset(spec, None, limit=limit)
    return ds.examples, ds.label_map


def finetune(cfg: FinetuneConfig, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train a LoRA adapter per ``cfg``; returns the model card (also written to ``cfg.output``)."""
    import torch

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.output)
    resume = Path(cfg.resume) if cfg.resume else None
    state = TrainState()
    if resume is not None:
        if not (resume / "adapter_config.json").exists():
            raise FinetuneError(f"--resume {resume}: not an adapter folder (no adapter_config.json)")
        st = resume / "trainer_state.json"
        if st.exists():
            raw = json.loads(st.read_text())
            state = TrainState(**{k: raw[k] for k in asdict(TrainState()) if k in raw})
            state.loss_history = [tuple(x) for x in state.loss_history]
    if cfg.schedule not in SCHEDULES:
        raise FinetuneError(f"unknown schedule {cfg.schedule!r}: use one of {', '.join(SCHEDULES)}")
    examples = load_sources(cfg.train, seed=cfg.seed, docgen_n=cfg.docgen_n)
    if cfg.pack > 0:
        examples = pack_sentences(examples, cfg.window_chars, random.Random(f"{cfg.seed}:pack"), cfg.pack)
    examples = [w for ex in examples for w in split_long(ex, cfg.window_chars)]
    eval_examples, eval_map = (None, None)
    if cfg.eval:
        try:
            eval_examples, eval_map = _eval_set(cfg.eval, cfg.eval_limit)
        except ValueError as e:
            raise FinetuneError(f"--eval {cfg.eval}: {e}") from e

    state.runs.append({"command": cfg.command, "from_step": state.step, "device": cfg.device})
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    lm = _load_base(cfg.base, cfg.device)
    tokenizer, model = lm.tokenizer, lm.model
    eos = end_token_id(tokenizer, model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    torch.manual_seed(cfg.seed)
    peft_model = _lora_model(model, cfg, resume)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    moments = False
    if resume is not None and (resume / "optimizer.pt").exists():
        try:
            optimizer.load_state_dict(torch.load(resume / "optimizer.pt", weights_only=True))
            moments = True
        except (ValueError, RuntimeError) as e:
            log(f"finetune: optimizer state of {resume} not reused ({e})")
    if state.step and not moments:
        state.warm_from = state.step
        log(
            f"finetune: fresh optimizer moments at step {state.step}: warming up again over {cfg.warmup_steps} steps"
        )

    def encoded_epoch(epoch: int) -> list[list[tuple[list[int], int]]]:
        enc = []
        for p in build_pairs(examples, cfg.seed, epoch):
            ids, start = encode_pair(p, tokenizer, eos)
            if len(ids) <= cfg.max_tokens:
                enc.append((ids, start))
        return _bucketed(enc, cfg.batch_size, random.Random(f"{cfg.seed}:batches:{epoch}"), cfg.batch_tokens)

    epoch, skip = state.epoch, state.batch
    if state.step and not (epoch or skip):  # a checkpoint from before epochs were recorded
        per = len(encoded_epoch(0))
        epoch, skip = state.step // per, state.step % per
    first = encoded_epoch(epoch)
    if not first:
        raise FinetuneError(f"no training pair fits --max-tokens {cfg.max_tokens}")
    steps_per_epoch = len(first)
    total = cfg.max_steps if cfg.max_steps else max(1, math.ceil(cfg.epochs * steps_per_epoch))
    log(
        f"finetune: {len(examples)} examples -> {sum(map(len, first))} pairs/epoch ({steps_per_epoch} steps of "
        f"<= {cfg.batch_size} pairs, <= {cfg.batch_tokens or 'any'} tokens), {total} steps, base {cfg.base}, "
        f"from step {state.step} (epoch {epoch}, batch {skip})"
    )
    if state.step >= total:
        log(f"finetune: already at step {state.step} of {total}; nothing to train")

    def run_eval() -> None:
        if eval_examples is None:
            return
        t0 = time.perf_counter()
        res = evaluate_model(peft_model, tokenizer, eval_examples, eval_map, name=str(out))
        res.update(step=state.step, data=cfg.eval, seconds=round(time.perf_counter() - t0, 1))
        state.evals.append(res)
        log(
            f"finetune: eval at step {state.step}: P {res['precision']:.3f} R {res['recall']:.3f} F1 {res['f1']:.3f}"
        )

    running, running_n = 0.0, 0
    enc = first
    while state.step < total:
        for bi, (ids, mask, labels, ntok, nans) in enumerate(_batches(enc, pad_id)):
            if bi < skip:
                continue
            if state.step >= total:
                break
            t0 = time.perf_counter()
            for g in optimizer.param_groups:
                g["lr"] = _lr_at(state.step, total, cfg, state.warm_from)
            dev = lm.device
            optimizer.zero_grad(set_to_none=True)
            loss = _answer_loss_backward(peft_model, ids.to(dev), mask.to(dev), labels.to(dev))
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            state.step += 1
            state.epoch, state.batch = epoch, bi + 1
            state.tokens += ntok
            state.answer_tokens += nans
            state.seconds += time.perf_counter() - t0
            running += loss
            running_n += 1
            if state.step % cfg.log_every == 0 or state.step == total:
                avg = running / running_n
                state.loss_history.append((state.step, round(avg, 5)))
                log(
                    f"finetune: step {state.step}/{total} loss {avg:.4f} "
                    f"{state.tokens / max(state.seconds, 1e-9):.0f} tokens/s"
                )
                running, running_n = 0.0, 0
            if cfg.eval_every and state.step % cfg.eval_every == 0:
                run_eval()
            if cfg.save_every and state.step % cfg.save_every == 0:
                _save(
                    peft_model, optimizer, state, cfg, out / f"checkpoint-{state.step}", with_optimizer=True
                )
                _save(peft_model, optimizer, state, cfg, out, with_optimizer=True)
                _prune_checkpoints(out, cfg.keep_checkpoints)
        skip = 0
        epoch += 1
        state.epoch, state.batch = epoch, 0
        if state.step < total:
            enc = encoded_epoch(epoch)
    if cfg.eval and (not state.evals or state.evals[-1]["step"] != state.step):
        run_eval()
    _save(peft_model, optimizer, state, cfg, out, with_optimizer=True)
    log(f"finetune: adapter saved in {out}")
    return json.loads((out / "card.json").read_text())
