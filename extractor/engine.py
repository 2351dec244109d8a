"""The extractor: documents + a schema in, validated values with offsets and confidence out.

``Extractor`` ties the parts together, the same way for the CLI, the Ray actors, the
evaluation and the app:

1. each document is cut into chunks that fit the model's window (``extractor.chunking``);
2. each chunk x group of at most 6 extraction labels becomes one SeqGPT prompt
   (``extractor.prompt``); each classification field becomes one ``分类`` prompt per chunk,
   and the whole document gets the answer of the chunk the model was surest about (a long
   contract's type may only show on page 3);
3. prompts of many documents are sorted by length and decoded in batches by our greedy
   decoder (``extractor.decoding``) under the output grammar (``extractor.constraints``), so
   every value is a verbatim span of its chunk and every label one that was asked;
4. spans are mapped back to document character offsets, merged across chunks and given a
   confidence;
5. a value of a field with parts (``当前负责人(姓名+职务)``) is read again, alone, with the
   parts as labels, so each part is a linked verbatim span inside it (``Span.parts``);
6. the schema validates and normalizes the values, groups record types and fills the
   summary (``extractor.schema``, ``extractor.records``).

Confidence of a value: the geometric mean of the model's unconstrained probabilities of the
tokens that wrote it, from its first token to the token that closed it (separator, line
break or end).  A geometric mean does not punish long values for their length the way a
product does; counting the closing token makes a value whose end the model was unsure of
score lower; using the unconstrained distribution keeps the grammar from inflating it.
Confidence of a classification: the probability of the whole answer (label and end token),
since there the question is "which label", not "how good is each token".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

from .chunking import Chunk, merge_spans, split_text
from .confidence import family_of, normalized, single_features
from .constraints import Grammar, TextIndex
from .errors import SeqgptError
from .prompt import (
    CLASSIFY,
    EXTRACT,
    MAX_LABELS_PER_PROMPT,
    build_prompt,
    group_labels,
    parse_answer,
    unanswered_labels,
)
from .types import ClassLabel, DocumentResult, Span

PROMPT_MARGIN = 8  # tokens kept free for tokenization differences at the text's edges
MAX_OPTIONS = 10  # candidate values per family and chunk scored for a one-value field (greedy's first)
MAX_ALTERNATIVES = 5  # alternatives kept per one-value field
KEEP_PREFIX_BYTES = 512 * 2**20  # decoding's chunk caches kept for scoring the options, at most
TIE_BREAK = 1e-6  # nats given to greedy decoding's own value of a field when options are assigned


def _maximal(spans) -> list[tuple[int, int]]:
    """The spans not inside another one, in text order."""
    spans = sorted(set(spans), key=lambda ab: (ab[0], -ab[1]))
    return [(a, b) for a, b in spans if not any(c <= a and b <= d and (c, d) != (a, b) for c, d in spans)]


def _dedupe(spans: list[Span]) -> list[Span]:
    """One span per offsets (the surest)."""
    best: dict[tuple[int, int], Span] = {}
    for s in spans:
        k = (s.start, s.end)
        if k not in best or s.confidence > best[k].confidence:
            best[k] = s
    return list(best.values())


class ExtractionError(SeqgptError, ValueError):
    """The request cannot be served (e.g. labels so long that no text fits a prompt)."""


@dataclass
class _Job:
    doc: int
    chunk: Chunk
    fields: list  # schema fields answered by this prompt
    labels: list[str]  # prompt labels (extraction) or choices (classification)
    task: str
    prompt: str
    grammar: Grammar | None = None
    index: TextIndex | None = None
    parent: Span | None = None  # the value whose parts this prompt reads
    chunk_no: int = 0


@dataclass
class _Plan:
    """The one-value fields of one family in one chunk: their options and the assignment."""

    doc: int
    chunk: Chunk
    names: list[str]
    cands: dict[tuple[int, int], str]  # span (document offsets) -> its text
    greedy: dict[tuple[str, tuple[int, int]], float]  # (field, span) greedy decoding gave -> its confidence
    picked: dict[str, tuple[int, int] | None] | None = None

    def key(self, name: str, span) -> tuple:
        return (self.doc, self.chunk.start, self.chunk.end, name, span)

    def options(self, name: str, scores: dict) -> list:
        from .confidence import Option

        return [Option(name, span, *scores[self.key(name, span)]) for span in [*self.cands, None]]

    def assign(self, scores: dict) -> None:
        """Greedy decoding's answer stands as far as *whether* a field answers: a field it gave
        a value gets one of the spans (which one is decided jointly), a field it left empty
        may stay None; the confidence threshold then decides whether a value is shown."""
        from .confidence import Option, assign

        answered = {name for name, _ in self.greedy}
        opts = {  # equal scores: greedy decoding's own choice for the field wins
            n: [
                Option(n, o.span, o.logprob + (TIE_BREAK if (n, o.span) in self.greedy else 0.0), o.tokens)
                for o in self.options(n, scores)
                if o.span is not None or n not in answered
            ]
            for n in self.names
        }
        self.picked = {n: o.span for n, o in assign(self.names, opts).items()}

    def answer_sure(self, made: dict[str, list[Span]], threshold: float) -> None:
        """A field the assignment answered None gets its surest free option instead when that
        option's calibrated confidence (``made``: each field's scored spans) reaches
        ``threshold``: None won on the raw log-probabilities, but whether a value is shown is
        decided on the calibrated scale, where the threshold lives.  A span another field of
        the family holds stays theirs; the surest (field, span) pairs are answered first."""
        taken = {s for s in self.picked.values() if s is not None}
        open_ = [(s, name) for name, spans in made.items() if self.picked.get(name) is None for s in spans]
        for span, name in sorted(open_, key=lambda p: (-p[0].confidence, p[0].start)):
            key = (span.start, span.end)
            if span.confidence >= threshold and key not in taken and self.picked.get(name) is None:
                self.picked[name] = key
                taken.add(key)

    def losers(self) -> list[str]:
        """Fields greedy decoding answered that got no span (another field of the family won it)."""
        answered = {name for name, _ in self.greedy}
        return [n for n in self.names if n in answered and (self.picked or {}).get(n) is None]


class Extractor:
    """A loaded model plus everything needed to run SeqGPT-style extraction with it."""

    def __init__(
        self,
        model,
        tokenizer,
        *,
        model_id: str = "model",
        max_prompt_tokens: int = 1024,
        max_new_tokens: int = 128,
        labels_per_prompt: int = MAX_LABELS_PER_PROMPT,
        batch_size: int = 16,
        overlap: int = 64,
        untrained: bool = False,
        info: dict | None = None,
        typed: bool = True,
        rescore: bool = True,
        calibration=None,
    ):
        from .decoding import GreedyDecoder
        from .vocab import TokenBytes

        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.max_prompt_tokens = max_prompt_tokens
        self.max_new_tokens = max_new_tokens
        self.labels_per_prompt = labels_per_prompt
        self.batch_size = batch_size
        self.overlap = overlap
        self.untrained = untrained
        self.typed = typed  # typed fields may only take spans their type accepts (extractor.recognize)
        # one-value fields: options scored by teacher forcing, one assignment per family
        # (extractor.confidence); calibration: an extractor.confidence.Calibrator or None
        self.rescore = rescore
        self.calibration = calibration
        self.info = info or {}
        vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
        self.vocab = TokenBytes(tokenizer, vocab_size=vocab_size)
        self.decoder = GreedyDecoder(model, tokenizer, self.vocab)
        self._close_ids: tuple[int, ...] | None = None

    @classmethod
    def load(
        cls,
        model: str | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        compile: bool = False,
        quantize: str = "auto",
        **kwargs,
    ) -> Extractor:
        """Load ``model`` (hub id, folder, or None for the bundled default) and wrap it.

        ``quantize``: ``auto`` (int8 for the bundled model on CPU), ``int8`` or ``none``."""
        from .loading import load_model

        lm = load_model(model, device=device, dtype=dtype, compile=compile, quantize=quantize)
        info = {
            "device": lm.device,
            "dtype": lm.dtype,
            "attention": lm.attention,
            "compiled": lm.compiled,
            "quantized": lm.quantized,
            "quantize_probe": lm.quantize_probe,
        }
        if "calibration" not in kwargs:
            from .confidence import Calibrator

            kwargs["calibration"] = Calibrator.from_dict(lm.calibration)
        info["calibrated"] = kwargs["calibration"] is not None
        return cls(lm.model, lm.tokenizer, model_id=lm.model_id, untrained=lm.untrained, info=info, **kwargs)

    # ------------------------------------------------------------------ public
    def extract(self, text: str, schema, *, constrained: bool = True) -> DocumentResult:
        return self.extract_batch([text], schema, constrained=constrained)[0]

    def extract_batch(self, texts: list[str], schema, *, constrained: bool = True) -> list[DocumentResult]:
        """Extract ``schema``'s fields from every text; one ``DocumentResult`` per text.

        ``schema``: a ``Schema``, a comma list (``"甲方, 乙方, 合同金额"``), a list of field
        strings or anything else ``extractor.schema.as_schema`` takes."""
        from .schema import as_schema

        schema = as_schema(schema)
        fields = list(schema.extraction_fields)
        classes = list(schema.classification_fields)
        results = [
            DocumentResult(
                values={f.name: [] for f in fields}, classes={c.name: [] for c in classes}, chunks=0
            )
            for _ in texts
        ]
        jobs = self.plan(texts, schema, constrained=constrained)
        for job in jobs:
            results[job.doc].chunks = max(results[job.doc].chunks, job.chunk_no + 1)
        found: dict[int, list[tuple[Chunk, list[tuple[Span, list[float], int]]]]] = {}
        single = (
            {f.name: f for f in fields if not schema.is_multiple(f)} if constrained and self.rescore else {}
        )
        # scoring the options asks each chunk again: decoding keeps the chunks' caches for it
        self.decoder.clear_prefixes()
        self.decoder.keep_prefixes = KEEP_PREFIX_BYTES if single else 0
        best_class: dict[tuple[int, str], tuple[tuple[float, int], list[ClassLabel]]] = {}
        for job, gen in self._run(jobs):
            results[job.doc].prompts += 1
            if job.task == EXTRACT:
                found.setdefault(job.doc, []).append((job.chunk, self._scored_spans(job, gen, constrained)))
                if not gen.finished:  # cut at the budget: say which labels it never reached, if any
                    answer = self.tokenizer.decode(gen.token_ids, skip_special_tokens=True)
                    missing = unanswered_labels(answer, job.labels)
                    if missing:
                        results[job.doc].warnings.append(
                            f"answer cut at {self.max_new_tokens} tokens before {'，'.join(missing)} got an answer "
                            f"line (chars {job.chunk.start}-{job.chunk.end}): values of these labels may be missing"
                        )
            else:
                labels = self._classes(job, gen, constrained)
                rank = (labels[0].confidence, -job.chunk.start) if labels else None
                key = (job.doc, job.fields[0].name)
                if rank is not None and (key not in best_class or rank > best_class[key][0]):
                    best_class[key] = (rank, labels)  # the surest chunk; ties: the earliest
        for (d, name), (_, labels) in best_class.items():
            results[d].classes[name] = labels
        try:
            decided = self._decide(texts, found, single) if single else {}
        finally:
            self.decoder.keep_prefixes = 0
            self.decoder.clear_prefixes()
        for d, text in enumerate(texts):
            many = [
                (
                    chunk,
                    [
                        self._calibrated_multi(span, lps, k, schema)
                        for span, lps, k in spans
                        if span.field not in single
                    ],
                )
                for chunk, spans in found.get(d, [])
            ]
            merged = merge_spans(many, len(text))
            seen: set[tuple[str, str]] = set()
            for s in merged:
                if (s.field, s.text) in seen:  # the same value at several places: keep the first
                    continue
                seen.add((s.field, s.text))
                results[d].values[s.field].append(s)
            for name, (best, alternatives) in decided.get(d, {}).items():
                if best is not None:
                    results[d].values[name].append(best)
                if alternatives:
                    results[d].alternatives[name] = alternatives
            if self.calibration is not None:
                for name, f in single.items():
                    if f.threshold is None:
                        results[d].thresholds[name] = self.calibration.threshold
        self._read_parts(results, fields, constrained)
        for d, text in enumerate(texts):
            schema.validate(results[d], text)
        return results

    def plan(self, texts: list[str], schema, *, constrained: bool = True) -> list[_Job]:
        """The prompts ``extract_batch`` decodes for ``texts``: each chunk x label group (``抽取``)
        and each chunk x classification field (``分类``), with their grammars."""
        from .schema import as_schema

        schema = as_schema(schema)
        fields = list(schema.extraction_fields)
        classes = list(schema.classification_fields)
        groups = group_labels(fields, self.labels_per_prompt) if fields else []
        budget = self._text_budget(groups, classes)
        jobs: list[_Job] = []
        for d, text in enumerate(texts):
            if not isinstance(text, str):
                raise ExtractionError(f"document {d} is {type(text).__name__}, not text")
            chunks = split_text(text, self.tokenizer, budget, self.overlap) if text.strip() else []
            for k, chunk in enumerate(chunks):
                index = TextIndex(chunk.text, self.vocab) if constrained else None
                for group in groups:
                    labels = [f.prompt_label for f in group]
                    prompt = build_prompt(chunk.text, labels, EXTRACT)
                    grammar = (
                        Grammar(labels, index, candidates=self._candidates(group, index))
                        if constrained
                        else None
                    )
                    jobs.append(_Job(d, chunk, group, labels, EXTRACT, prompt, grammar, index, chunk_no=k))
                for cf in classes:
                    labels = list(cf.choices)
                    prompt = build_prompt(chunk.text, labels, CLASSIFY)
                    grammar = Grammar(labels, None, classify=True).bind(self.vocab) if constrained else None
                    jobs.append(_Job(d, chunk, [cf], labels, CLASSIFY, prompt, grammar, None, chunk_no=k))
        return jobs

    def _read_parts(self, results: list[DocumentResult], fields, constrained: bool) -> None:
        """One prompt per value of a field with parts: the value alone is the input and the
        parts are the labels, so each part found is a verbatim span inside the value."""
        jobs: list[_Job] = []
        for d, result in enumerate(results):
            for f in fields:
                if not f.parts:
                    continue
                labels = list(f.parts)
                parts = [SimpleNamespace(name=p) for p in labels]
                for span in result.values[f.name]:
                    chunk = Chunk(span.start, span.end, span.text)
                    index = TextIndex(span.text, self.vocab) if constrained else None
                    grammar = Grammar(labels, index) if constrained else None
                    prompt = build_prompt(span.text, labels, EXTRACT)
                    jobs.append(_Job(d, chunk, parts, labels, EXTRACT, prompt, grammar, index, span))
        for job, gen in self._run(jobs):
            results[job.doc].prompts += 1
            for part in self._spans(job, gen, constrained):
                job.parent.parts.setdefault(part.field, part)

    # --------------------------------------------------------------- internals
    def _candidates(self, group, index: TextIndex) -> dict:
        """Per label of ``group``: the spans of the chunk its field's type accepts, for the
        grammar (typed fields only; free-text fields take any span)."""
        if not self.typed:
            return {}
        from .constraints import Candidates
        from .recognize import candidate_spans

        out = {}
        for j, f in enumerate(group):
            spans = candidate_spans(f, index.text)
            if spans is not None:
                out[j] = Candidates.from_chars(index, spans)
        return out

    def _text_budget(self, groups, classes) -> int:
        overheads = [
            len(self.tokenizer(build_prompt("", [f.prompt_label for f in g], EXTRACT))["input_ids"])
            for g in groups
        ]
        overheads += [
            len(self.tokenizer(build_prompt("", list(c.choices), CLASSIFY))["input_ids"]) for c in classes
        ]
        overhead = max(overheads, default=0)
        budget = self.max_prompt_tokens - overhead - PROMPT_MARGIN
        if budget < 32:
            raise ExtractionError(
                f"the labels take {overhead} of the {self.max_prompt_tokens} prompt tokens, leaving no room for "
                "text: use fewer or shorter labels per prompt (labels_per_prompt) or shorter hints"
            )
        return budget

    def _run(self, jobs: list[_Job]):
        """Decode every job's prompt; ``(job, generation)`` pairs in job order.

        The prompts of one chunk (its label groups and classification fields) form a group
        whose common prefix, the chunk's text, is prefilled once; groups are queued shortest
        first and decoded with continuous batching (``extractor.decoding``)."""
        if not jobs:
            return
        from .decoding import Request

        encoded = self.tokenizer([j.prompt for j in jobs])["input_ids"]
        for n in map(len, encoded):
            if n > self.max_prompt_tokens:  # chunking keeps a margin; never truncate silently
                raise ExtractionError(f"internal: prompt of {n} tokens exceeds {self.max_prompt_tokens}")
        groups: dict[tuple, list[int]] = {}
        for i, job in enumerate(jobs):
            key = (job.doc, job.chunk.start, job.chunk.end) if job.parent is None else ("part", i)
            groups.setdefault(key, []).append(i)
        ordered = sorted(
            groups.values(), key=lambda members: (max(len(encoded[i]) for i in members), members[0])
        )
        requests = [
            Request(encoded[i], jobs[i].grammar, self._new_tokens([jobs[i]]), group=g, key=i)
            for g, members in enumerate(ordered)
            for i in members
        ]
        gens: dict[int, object] = {}
        for req, gen in self.decoder.run(requests, max_batch=self.batch_size):
            gens[req.key] = gen
        for i, job in enumerate(jobs):
            yield job, gens[i]

    def _new_tokens(self, batch: list[_Job]) -> int:
        return self.max_new_tokens

    @staticmethod
    def _geo_mean(logprobs: list[float]) -> float:
        if not logprobs:
            return 0.0
        return float(math.exp(sum(logprobs) / len(logprobs)))

    def _spans(self, job: _Job, gen, constrained: bool) -> list[Span]:
        return [span for span, _, _ in self._scored_spans(job, gen, constrained)]

    def _scored_spans(self, job: _Job, gen, constrained: bool) -> list[tuple[Span, list[float], int]]:
        """The answer's values as ``(span, log-probabilities of the tokens that wrote it and of
        its closing token, its position among its label's values)``."""
        by_label = dict(zip(job.labels, job.fields))
        out: list[tuple[Span | None, list[float], int]] = []
        if constrained:
            found, _, _ = job.grammar.finish(gen.state, len(gen.token_ids))
            idx = job.index
            count: dict[int, int] = {}
            for f in found:
                cs, ce = idx.char_at[f.start], idx.char_at[f.end]
                last = min(f.last_token, len(gen.logprobs) - 1)
                lps = gen.logprobs[max(f.first_token, 0) : last + 1]
                k = count.get(f.label, 0)
                count[f.label] = k + 1
                span = self._make_span(job, by_label[job.labels[f.label]].name, cs, ce, self._geo_mean(lps))
                out.append((span, lps, k))
        else:
            answer = self.tokenizer.decode(gen.token_ids, skip_special_tokens=True)
            conf = self._geo_mean(gen.logprobs)
            for label, values in parse_answer(answer, job.labels).items():
                if label not in by_label:
                    continue
                for k, v in enumerate(values):
                    pos = job.chunk.text.find(v)
                    if pos >= 0:  # free answers that are not in the text are dropped
                        span = self._make_span(job, by_label[label].name, pos, pos + len(v), conf)
                        out.append((span, list(gen.logprobs), k))
        return [(s, lps, k) for s, lps, k in out if s is not None]

    # ------------------------------------------------------------- confidence
    def _calibrated_multi(self, span: Span, lps: list[float], k: int, schema) -> Span:
        """A value of a many-value field, its confidence calibrated when the model has a calibration."""
        from .confidence import multi_features

        span.features = multi_features(lps, k)
        if self.calibration is not None:
            p = self.calibration.multi_probability(span.features, schema.field(span.field).type)
            if p is not None:
                span.confidence = p
        return span

    def close_ids(self) -> tuple[int, ...]:
        """Token ids that may close a value: the end token(s) and every token that starts with
        a line break, a tab or ``，`` (the answer grammar's value ends)."""
        if self._close_ids is None:
            starts = (b"\n", b"\t", "，".encode())
            ids = set(self.decoder.eos_ids)
            for tid, b in enumerate(self.vocab.bytes):
                if b and b.startswith(starts):
                    ids.add(tid)
            self._close_ids = tuple(sorted(ids))
        return self._close_ids

    def _option_request(self, prompt_ids: list[int], label: str, value: str, group, key):
        """The score request of the answer ``label: value`` after ``prompt_ids``: the tokens of
        ``label:`` join the prompt, the value's tokens are the target, then a closing token."""
        from .decoding import ScoreRequest

        answer = f"{label}: {value}"
        enc = self.tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
        head = len(label) + 1
        cut = next((i for i, (_, e) in enumerate(offsets) if e > head), len(ids))
        return ScoreRequest(prompt_ids + ids[:cut], ids[cut:], group=group, key=key, end=self.close_ids())

    def _decide(self, texts: list[str], found, single: dict) -> dict[int, dict[str, tuple]]:
        """The value of each one-value field of each document, and its scored alternatives
        (``extractor.confidence``).  Per chunk and family, the options are the values greedy
        decoding found for the family's fields (and, for typed families, every value of the
        type in the chunk), plus None; each option is scored in each field's own prompt and
        the family gets one assignment.  A field greedy decoding answered that loses its
        value to another field of the family (a party written under both roles) is decoded
        again, alone, and what it writes joins the options.  The options' confidences are
        calibrated, and a field assigned None answers its surest free option when that one
        reaches the calibrated threshold; across chunks the surest value wins.  Returns ``{doc:
        {field: (best Span or None, [alternative Spans, best first])}}``."""
        from .recognize import candidate_spans

        members: dict[str, list[str]] = {}
        for name, f in single.items():
            members.setdefault(family_of(f.type, f.name), []).append(name)
        plans: list[_Plan] = []
        for d, items in found.items():
            by_chunk: dict[tuple[int, int], tuple[Chunk, list]] = {}
            for chunk, spans in items:
                by_chunk.setdefault((chunk.start, chunk.end), (chunk, []))[1].extend(spans)
            for chunk, spans in by_chunk.values():
                for names in members.values():
                    mine = [s for s, _, _ in spans if s.field in names]
                    greedy = {(s.field, (s.start, s.end)): s.confidence for s in mine}
                    ranked = sorted(
                        {(s.start, s.end): s for s in mine}.values(), key=lambda s: (-s.confidence, s.start)
                    )
                    cands = {(s.start, s.end): s.text for s in ranked}
                    if self.typed:  # typed families: every value of the type the chunk holds
                        for a, b in _maximal(candidate_spans(single[names[0]], chunk.text) or []):
                            cands.setdefault((chunk.start + a, chunk.start + b), chunk.text[a:b])
                    if cands:
                        plans.append(_Plan(d, chunk, names, dict(list(cands.items())[:MAX_OPTIONS]), greedy))
        scores: dict[tuple, tuple[float, int]] = {}
        self._score_options(plans, single, scores, new_only=False)
        for plan in plans:
            plan.assign(scores)
        losers = [(plan, name) for plan in plans for name in plan.losers()]
        if losers:  # decode each alone; its own answer becomes an option of the family
            for (plan, _name), spans in zip(losers, self._decode_alone(losers, single)):
                for a, b in spans:
                    plan.cands.setdefault((a, b), texts[plan.doc][a:b])
            touched = list({id(p): p for p, _ in losers}.values())
            self._score_options(touched, single, scores, new_only=True)
            for plan in touched:
                plan.assign(scores)
        chosen: dict[int, dict[str, list[Span]]] = {}
        alts: dict[int, dict[str, list[Span]]] = {}
        for plan in plans:
            made: dict[str, list[Span]] = {}
            for name in plan.names:
                f = single[name]
                opts = plan.options(name, scores)
                for o in opts:
                    if o.span is None:
                        continue
                    roles = [scores[plan.key(g, o.span)][0] for g in plan.names if g != name]
                    feats = single_features(o, opts, roles, plan.greedy.get((name, o.span)))
                    conf = self.calibration.single_probability(feats, f.type) if self.calibration else None
                    if conf is None:
                        conf = normalized(opts, o)
                    span = Span(
                        name, texts[plan.doc][o.span[0] : o.span[1]], o.span[0], o.span[1], float(conf)
                    )
                    span.features = feats
                    made.setdefault(name, []).append(span)
            if self.calibration is not None:
                plan.answer_sure(made, self.calibration.threshold)
            for name, spans in made.items():
                for span in spans:
                    target = chosen if plan.picked.get(name) == (span.start, span.end) else alts
                    target.setdefault(plan.doc, {}).setdefault(name, []).append(span)
        out: dict[int, dict[str, tuple]] = {}
        for d in set(chosen) | set(alts):
            out[d] = {}
            for name in single:
                picks = _dedupe(chosen.get(d, {}).get(name, []))
                best = max(picks, key=lambda s: (s.confidence, -s.start)) if picks else None
                rest = [s for s in picks if s is not best] + alts.get(d, {}).get(name, [])
                rest = [s for s in _dedupe(rest) if best is None or s.text != best.text]
                seen_text: set[str] = set()
                alternatives = []
                for s in sorted(rest, key=lambda s: (-s.confidence, s.start)):
                    if s.text not in seen_text:
                        seen_text.add(s.text)
                        alternatives.append(s)
                out[d][name] = (best, alternatives[:MAX_ALTERNATIVES])
        return out

    def _score_options(self, plans: list[_Plan], single: dict, scores: dict, *, new_only: bool) -> None:
        """Score every (field, option) of ``plans`` into ``scores`` (those not there yet when
        ``new_only``): ``key -> (log-probability, tokens)``; one shared-prefix group per chunk,
        normalized over the chunk's vocabulary inside a value."""
        from .prompt import clean_label

        by_chunk: dict[tuple, list] = {}
        prompt_ids: dict[tuple, list[int]] = {}
        for plan in plans:
            group = (plan.doc, plan.chunk.start, plan.chunk.end)
            for name in plan.names:
                f = single[name]
                pkey = (*group, name)
                for span, text in [*plan.cands.items(), (None, "None")]:
                    key = plan.key(name, span)
                    if new_only and key in scores:
                        continue
                    if pkey not in prompt_ids:
                        prompt_ids[pkey] = self.tokenizer(
                            build_prompt(plan.chunk.text, [f.prompt_label], EXTRACT)
                        )["input_ids"]
                    req = self._option_request(
                        prompt_ids[pkey], clean_label(f.prompt_label), text, group, key
                    )
                    by_chunk.setdefault(group, [plan.chunk, []])[1].append(req)
        requests = []
        for chunk, reqs in by_chunk.values():
            vocab = set(self.tokenizer(chunk.text, add_special_tokens=False)["input_ids"])
            vocab.update(self.close_ids())
            for r in reqs:
                vocab.update(r.target)
            restrict = tuple(sorted(vocab))
            for r in reqs:
                r.restrict = restrict
            requests += reqs
        for req, lps in self.decoder.score(requests, max_batch=self.batch_size):
            scores[req.key] = (float(sum(lps)), len(req.target))

    def _decode_alone(self, losers: list[tuple[_Plan, str]], single: dict) -> list[list[tuple[int, int]]]:
        """Each (plan, field) decoded with the field as the prompt's only label: its spans in
        document offsets."""
        from .decoding import Request

        jobs, requests = [], []
        for i, (plan, name) in enumerate(losers):
            f = single[name]
            index = TextIndex(plan.chunk.text, self.vocab)
            labels = [f.prompt_label]
            grammar = Grammar(labels, index, candidates=self._candidates([f], index))
            prompt = build_prompt(plan.chunk.text, labels, EXTRACT)
            job = _Job(plan.doc, plan.chunk, [f], labels, EXTRACT, prompt, grammar, index)
            jobs.append(job)
            ids = self.tokenizer(prompt)["input_ids"]
            requests.append(
                Request(ids, grammar, self.max_new_tokens, group=(plan.doc, plan.chunk.start), key=i)
            )
        out: list[list[tuple[int, int]]] = [[] for _ in losers]
        for req, gen in self.decoder.run(requests, max_batch=self.batch_size):
            out[req.key] = [(s.start, s.end) for s in self._spans(jobs[req.key], gen, True)]
        return out

    @staticmethod
    def _make_span(job: _Job, field: str, cs: int, ce: int, conf: float) -> Span | None:
        text = job.chunk.text
        while cs < ce and text[cs].isspace():
            cs += 1
        while ce > cs and text[ce - 1].isspace():
            ce -= 1
        if cs >= ce:
            return None
        return Span(
            field=field,
            text=text[cs:ce],
            start=job.chunk.start + cs,
            end=job.chunk.start + ce,
            confidence=conf,
        )

    def _classes(self, job: _Job, gen, constrained: bool) -> list[ClassLabel]:
        name = job.fields[0].name
        conf = float(math.exp(sum(gen.logprobs))) if gen.logprobs else 0.0
        if constrained:
            _, labels, _ = job.grammar.finish(gen.state, len(gen.token_ids))
            return [ClassLabel(name, job.labels[i], conf) for i in labels]
        from .prompt import parse_class_answer

        answer = self.tokenizer.decode(gen.token_ids, skip_special_tokens=True)
        return [ClassLabel(name, lab, conf) for lab in parse_class_answer(answer, job.labels)]
