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
        self.info = info or {}
        vocab_size = getattr(getattr(model, "config", None), "vocab_size", None)
        self.vocab = TokenBytes(tokenizer, vocab_size=vocab_size)
        self.decoder = GreedyDecoder(model, tokenizer, self.vocab)

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
        }
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
        found: dict[int, list[tuple[Chunk, list[Span]]]] = {}
        best_class: dict[tuple[int, str], tuple[tuple[float, int], list[ClassLabel]]] = {}
        for job, gen in self._run(jobs):
            results[job.doc].prompts += 1
            if job.task == EXTRACT:
                spans = self._spans(job, gen, constrained)
                found.setdefault(job.doc, []).append((job.chunk, spans))
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
        for d, text in enumerate(texts):
            merged = merge_spans(found.get(d, []), len(text))
            seen: set[tuple[str, str]] = set()
            for s in merged:
                if (s.field, s.text) in seen:  # the same value at several places: keep the first
                    continue
                seen.add((s.field, s.text))
                results[d].values[s.field].append(s)
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
        by_label = dict(zip(job.labels, job.fields))
        out: list[Span] = []
        if constrained:
            found, _, _ = job.grammar.finish(gen.state, len(gen.token_ids))
            idx = job.index
            for f in found:
                cs, ce = idx.char_at[f.start], idx.char_at[f.end]
                last = min(f.last_token, len(gen.logprobs) - 1)
                conf = self._geo_mean(gen.logprobs[max(f.first_token, 0) : last + 1])
                out.append(self._make_span(job, by_label[job.labels[f.label]].name, cs, ce, conf))
        else:
            answer = self.tokenizer.decode(gen.token_ids, skip_special_tokens=True)
            conf = self._geo_mean(gen.logprobs)
            for label, values in parse_answer(answer, job.labels).items():
                if label not in by_label:
                    continue
                for v in values:
                    pos = job.chunk.text.find(v)
                    if pos >= 0:  # free answers that are not in the text are dropped
                        out.append(self._make_span(job, by_label[label].name, pos, pos + len(v), conf))
        return [s for s in out if s is not None]

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
