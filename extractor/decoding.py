"""Greedy decoding with continuous batching, shared prompt prefixes and logits only where needed.

This is our own loop, not ``model.generate``: it is deterministic (argmax, no sampling), lets a
grammar (``extractor.constraints``) restrict every step, keeps the model's own
log-probabilities of the chosen tokens for confidence, and schedules the work the way a
serving engine does:

- **Continuous batching.** ``run`` takes a stream of requests (prompts of many documents) and
  keeps up to ``max_batch`` of them decoding at once; a finished row leaves the batch at
  once (its KV cache rows are dropped) and waiting prompts join between steps, so the batch
  stays full instead of shrinking to its slowest answer.  Rows are left-padded: every row's
  real tokens are contiguous and end at the newest cache column, with position ids
  ``cumsum(mask) - 1``; joining rows are padded on the left to the batch's width (or the
  batch to theirs), and columns that only padding uses any more are trimmed away.
- **Shared prefixes.** Requests with the same ``group`` (the label groups of one document
  chunk all start with ``输入: {chunk}\\n``) share their longest common token prefix: it is
  prefilled once and its KV cache rows are copied for every request of the group, then
  each request's own suffix is prefilled on top (suffixes of equal length together, so no
  padding ever sits between a prefix and its suffix), as vLLM's prefix caching does.
- **Logits only where needed.** The output head of a 262k vocabulary (Gemma) costs more than
  the rest of a decode step.  The chosen token is the argmax over the ids the grammar allows,
  computed from those rows of the head only; the full vocabulary is computed only for rows
  whose log-probability is used: tokens inside a value and the token that closes it
  (extraction confidence), every token of a classification answer, and unconstrained rows.
  Other steps (label names, ``:``, ``None``, line breaks) store ``nan`` as their log-probability.

- **Teacher forcing over kept caches.** ``score`` gives the log-probability of given answers
  (the engine's options for a one-value field); with ``keep_prefixes`` (a byte budget) the
  prompts ``run`` prefills leave their caches behind, and ``score`` starts each group from
  the longest kept prefix of its prompts instead of prefilling the chunk again.

Unconstrained, it emits exactly the token ids of ``model.generate(do_sample=False,
num_beams=1)`` for the same prompts (a test checks it); with shared prefixes and continuous
batching it emits the tokens of decoding each prompt alone.

Confidence.  Each chosen token's log-probability is taken from the model's *unconstrained*
distribution (softmax over the whole vocabulary, before the grammar's restriction), so a
value the model only produced because the grammar left nothing else scores low instead of
being inflated by renormalisation.  ``extractor.engine`` turns these into a per-value
confidence.
"""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from .constraints import SPAN, Grammar
from .vocab import TokenBytes

MIN_SHARED_PREFIX = 8  # tokens; a shorter common prefix is not worth a separate prefill
CPU_PREFILL_TOKENS = 1024  # padded tokens per prefill forward on a CPU (see _prefill_all)


@dataclass
class Generation:
    """One row's output: generated ids (the end token included when produced), the model's
    unconstrained log-probability of each (``nan`` where it was not needed, see the module
    docstring), whether the row ended by itself, and the final grammar state."""

    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finished: bool = False
    state: Any = None


@dataclass
class Request:
    """One prompt to decode: its token ids, its grammar (None: unconstrained), its token
    budget, a ``group`` (requests of one group share a prompt prefix, prefilled once) and the
    caller's ``key``, handed back with the result."""

    ids: list[int]
    grammar: Grammar | None = None
    max_new_tokens: int = 64
    group: Hashable | None = None
    key: Any = None


@dataclass
class ScoreRequest:
    """A continuation to score: prompt token ids, the ``target`` ids whose log-probabilities
    are wanted, a ``group`` (requests of one group share a prompt prefix) and the caller's
    ``key``."""

    ids: list[int]
    target: list[int]
    group: Hashable | None = None
    key: Any = None
    end: tuple[int, ...] | None = None  # ids whose total probability after the target is wanted too
    # the vocabulary that normalizes every scored position but the first (None: all of it);
    # one per group (the first request's counts)
    restrict: tuple[int, ...] | None = None


@dataclass
class _Row:
    req: Request
    gen: Generation
    state: Any


class _Head:
    """The output head, computable for a few vocabulary rows or for all of them."""

    def __init__(self, model):
        head = model.get_output_embeddings()
        config = getattr(model, "config", None)
        self.module = head
        weight = getattr(head, "weight", None)
        bias = getattr(head, "bias", None)
        if callable(weight):  # a dynamically quantized head: weight() and bias() are methods
            tied = getattr(config, "tie_word_embeddings", False)
            weight = model.get_input_embeddings().weight if tied else weight().dequantize()
            bias = bias() if callable(bias) else bias
        # a head that is not a plain matrix (weight None) is computed whole, then indexed
        self.weight = weight if isinstance(weight, torch.Tensor) else None
        self.bias = bias if isinstance(bias, torch.Tensor) else None
        self.softcap = getattr(config, "final_logit_softcapping", None)
        self.scale = getattr(config, "logit_scale", None)

    def _transform(self, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        if self.scale:
            logits = logits * self.scale
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        return logits

    def full(self, hidden: torch.Tensor) -> torch.Tensor:
        return self._transform(self.module(hidden))

    def some(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits of ``ids`` only, for a batch of hidden states (rows x ids)."""
        if self.weight is None:
            return self.full(hidden).index_select(1, ids)
        w = self.weight.index_select(0, ids)
        out = hidden.to(w.dtype) @ w.T
        if self.bias is not None:
            out = out + self.bias.index_select(0, ids)
        return self._transform(out)

    def rows(self, hidden: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits of ``ids`` only, for one hidden state."""
        if self.weight is None:
            return self.full(hidden[None])[0].index_select(0, ids)
        w = self.weight.index_select(0, ids)
        out = w @ hidden.to(w.dtype)
        if self.bias is not None:
            out = out + self.bias.index_select(0, ids)
        return self._transform(out)


class GreedyDecoder:
    """Greedy decoding for any Hugging Face causal LM.

    >>> dec = GreedyDecoder(model, tokenizer)                       # doctest: +SKIP
    >>> outs = dec.generate_text(["输入: ...\\n抽取: 人名\\n输出: [GEN]"], max_new_tokens=32)
    >>> for req, gen in dec.run(requests, max_batch=16): ...         # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        tokenizer,
        vocab: TokenBytes | None = None,
        *,
        max_batch: int = 16,
        share_prefix: bool = True,
        min_shared: int = MIN_SHARED_PREFIX,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.max_batch = max_batch
        self.share_prefix = share_prefix
        self.min_shared = min_shared
        lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft: the wrapped LM
        self.body = getattr(lm, "base_model", lm)  # the transformer without its output head
        if self.body is lm:
            raise ValueError(f"{type(lm).__name__} has no separate body (base_model) to run without its head")
        params = set(inspect.signature(self.body.forward).parameters)
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._pass_positions = "position_ids" in params
        self.head = _Head(lm)
        # a compiled body cannot trace the in-place growing cache (storage resizes)
        self.grow_in_place = not getattr(lm, "_seqgpt_compiled", False)
        gen_cfg = getattr(model, "generation_config", None)
        eos = getattr(gen_cfg, "eos_token_id", None)
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids: list[int] = [eos] if isinstance(eos, int) else list(eos or [])
        if not self.eos_ids:
            raise ValueError("the model and tokenizer define no end-of-sequence token")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        self.stats = {
            "prefill_tokens": 0,
            "shared_tokens": 0,
            "steps": 0,
            "full_head_rows": 0,
            "rows": 0,
            "reused_tokens": 0,
        }
        # shared prefixes kept from decoding for score() (``keep_prefixes``: a byte budget, 0 off)
        self.keep_prefixes = 0
        self._prefixes: OrderedDict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = OrderedDict()
        self._prefix_bytes = 0

    # ---------------------------------------------------------------- kept prefixes
    def clear_prefixes(self) -> None:
        """Forget the prefixes kept for :meth:`score`."""
        self._prefixes.clear()
        self._prefix_bytes = 0

    def _keep_prefix(self, ids: list[int], cache, row: int, length: int) -> None:
        """Keep row ``row``'s last ``length`` positions of ``cache`` (a prefix of ``ids``, left
        padded in the cache) for :meth:`score`, the oldest ones dropped past the budget."""
        key = tuple(ids[:length])
        if key in self._prefixes:
            self._prefixes.move_to_end(key)
            return
        layers = [
            (layer.keys[row : row + 1, :, -length:].clone(), layer.values[row : row + 1, :, -length:].clone())
            for layer in _layers(cache)
        ]
        size = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)
        if size > self.keep_prefixes:
            return
        self._prefixes[key] = layers
        self._prefix_bytes += size
        while self._prefix_bytes > self.keep_prefixes:
            _, old = self._prefixes.popitem(last=False)
            self._prefix_bytes -= sum(
                k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in old
            )

    def _kept_prefix(self, ids: list[int]):
        """The kept prompt sharing the longest prefix with ``ids`` (at least ``min_shared``
        tokens): ``(that length, a new cache holding those positions)``, or None.  Attention
        is causal, so the first positions of any prompt are a prefix's cache."""
        best, best_n = None, 0
        for key in self._prefixes:
            n = _common_prefix([key, ids])
            if n > best_n:
                best, best_n = key, n
        if best is None or best_n < self.min_shared:
            return None
        self._prefixes.move_to_end(best)
        cache = _new_cache(self.grow_in_place)
        for i, (k, v) in enumerate(self._prefixes[best]):
            cache.update(k[:, :, :best_n], v[:, :, :best_n], i)
        return best_n, cache

    # ---------------------------------------------------------------- helpers
    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ids and attention mask, never truncated."""
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, truncation=False)
        return enc["input_ids"], enc["attention_mask"]

    def pad(self, id_lists: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-pad already tokenized prompts (what ``encode`` does, without tokenizing again)."""
        width = max(len(x) for x in id_lists)
        ids = torch.full((len(id_lists), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(id_lists), width), dtype=torch.long)
        for r, x in enumerate(id_lists):
            if x:
                ids[r, width - len(x) :] = torch.tensor(x, dtype=torch.long)
                mask[r, width - len(x) :] = 1
        return ids, mask

    def generate_text(
        self, prompts: list[str], grammars: list[Grammar | None] | None = None, max_new_tokens: int = 64
    ) -> list[Generation]:
        ids, mask = self.encode(prompts)
        return self.generate(ids, mask, grammars, max_new_tokens=max_new_tokens)

    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        grammars: list[Grammar | None] | None = None,
        *,
        max_new_tokens: int = 64,
    ) -> list[Generation]:
        """Decode a left-padded batch (all rows at once, no prefix sharing); one result per row."""
        n = input_ids.shape[0]
        grammars = grammars if grammars is not None else [None] * n
        if len(grammars) != n:
            raise ValueError("one grammar (or None) per row")
        reqs = [
            Request(
                [int(t) for t, m in zip(input_ids[r].tolist(), attention_mask[r].tolist()) if m],
                grammars[r],
                max_new_tokens,
                key=r,
            )
            for r in range(n)
        ]
        out: list[Generation] = [Generation() for _ in range(n)]
        for req, gen in self.run(reqs, max_batch=max(1, n), share_prefix=False):
            out[req.key] = gen
        return out

    # ---------------------------------------------------------------- the loop
    @torch.inference_mode()
    def run(
        self, requests: Iterable[Request], *, max_batch: int | None = None, share_prefix: bool | None = None
    ) -> Iterator[tuple[Request, Generation]]:
        """Decode ``requests`` with continuous batching; yields ``(request, generation)`` as each
        finishes.  Requests are admitted in the order given, whole groups at a time."""
        max_batch = max_batch or self.max_batch
        share = self.share_prefix if share_prefix is None else share_prefix
        pending = deque(requests)
        if any(r.grammar is not None for r in pending) and self.vocab is None:
            raise ValueError("constrained decoding needs the token byte table (vocab=TokenBytes(...))")
        device = next(self.model.parameters()).device
        rows: list[_Row] = []
        cache = mask = positions = hidden = None
        while pending or rows:
            free = max_batch - len(rows)
            if pending and (not rows or free >= max(1, max_batch // 4)):
                batch = self._take(pending, free)
                ready = [r for r in batch if r.max_new_tokens <= 0]
                for r in ready:
                    yield r, Generation(state=r.grammar.initial() if r.grammar is not None else None)
                batch = [r for r in batch if r.max_new_tokens > 0]
                if batch:
                    new_rows, n_cache, n_mask, n_pos, n_hidden = self._prefill_all(batch, share, device)
                    if rows:
                        cache, mask = _merge(cache, mask, n_cache, n_mask)
                        positions = torch.cat([positions, n_pos])
                        hidden = torch.cat([hidden, n_hidden])
                    else:
                        cache, mask, positions, hidden = n_cache, n_mask, n_pos, n_hidden
                    rows += new_rows
                if not rows:
                    continue
            chosen = self._step(rows, hidden)
            self.stats["steps"] += 1
            keep: list[int] = []
            for r, row in enumerate(rows):
                tok = chosen[r]
                gen = row.gen
                done = tok in self.eos_ids or (row.req.grammar is not None and not row.state)
                if done or len(gen.token_ids) >= row.req.max_new_tokens:
                    gen.finished = tok in self.eos_ids
                    gen.state = row.state
                    yield row.req, gen
                else:
                    keep.append(r)
            if len(keep) < len(rows):
                rows = [rows[r] for r in keep]
                if not rows:
                    cache = mask = positions = hidden = None
                    continue
                sel = torch.tensor(keep, device=device)
                cache.batch_select_indices(sel)
                mask, positions = mask[sel], positions[sel]
                cache, mask = _trim(cache, mask)
            next_ids = torch.tensor([row.gen.token_ids[-1] for row in rows], device=device)[:, None]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
            hidden, cache = self._forward(next_ids, mask, positions[:, None], cache)
            positions = positions + 1

    @staticmethod
    def _take(pending: deque, free: int) -> list[Request]:
        """Whole groups from the front of the queue, up to ``free`` rows (a group larger than
        the batch is split; its rest waits at the front)."""
        free = max(free, 1)
        taken: list[Request] = []
        while pending and len(taken) < free:
            group, size = pending[0].group, 1
            if group is not None:
                while size < len(pending) and pending[size].group == group:
                    size += 1
            if taken and len(taken) + size > free:
                break
            for _ in range(min(size, free - len(taken))):
                taken.append(pending.popleft())
        return taken

    # ---------------------------------------------------------------- prefill
    def _prefill_all(self, batch: list[Request], share: bool, device):
        """Prefill ``batch``: on a GPU in one go (batched, padded); on a CPU in small batches of
        prefix groups (or lone prompts) of at most ``CPU_PREFILL_TOKENS`` padded tokens: a
        long chunk alone (a CPU gains nothing from batching it but pays for the padding and
        loses the causal attention kernel: 57 ms per layer with ``is_causal`` vs 92 ms with a
        padding mask on a 1,300-token prompt), short prompts together (one matrix product
        for many sentences instead of one each)."""
        if device.type != "cpu":
            return self._prefill(batch, share, device)
        groups: list[list[Request]] = []
        for req in batch:
            if share and req.group is not None and groups and groups[-1][0].group == req.group:
                groups[-1].append(req)
            else:
                groups.append([req])
        parts: list[list[Request]] = []
        width = 0
        for g in groups:
            longest = max(len(r.ids) for r in g)
            n = len(parts[-1]) if parts else 0
            if parts and (max(width, longest) * (n + len(g))) <= CPU_PREFILL_TOKENS:
                parts[-1] += g
                width = max(width, longest)
            else:
                parts.append(list(g))
                width = longest
        rows: list[_Row] = []
        caches, masks, positions, hidden = [], [], [], []
        for part in parts:
            r, c, m, p, h = self._prefill(part, share, device)
            rows += r
            caches.append(c)
            masks.append(m)
            positions.append(p)
            hidden.append(h)
        cache, mask = _merge_all(caches, masks)
        return rows, cache, mask, torch.cat(positions), torch.cat(hidden)

    def _prefill(self, batch: list[Request], share: bool, device):
        """Prefill ``batch``: shared prefixes once per group, then every suffix; returns the
        rows, their cache (left-padded, one width), mask, next positions and last hidden states."""
        parts: list[tuple[list[int], Any, torch.Tensor, torch.Tensor]] = []  # (indices, cache, mask, hidden)
        groups: dict[Hashable, list[int]] = {}
        singles: list[int] = []
        for i, req in enumerate(batch):
            if not req.ids:
                raise ValueError("a request needs at least one prompt token")
            if share and req.group is not None:
                groups.setdefault(req.group, []).append(i)
            else:
                singles.append(i)
        shared: list[tuple[list[int], int]] = []  # (members, prefix length)
        for members in groups.values():
            plen = _common_prefix([batch[i].ids for i in members]) if len(members) > 1 else 0
            plen = min(plen, min(len(batch[i].ids) for i in members) - 1)
            if plen >= self.min_shared:
                shared.append((members, plen))
            else:
                singles += members
        if singles:
            ids, mask = self.pad([batch[i].ids for i in singles])
            ids, mask = ids.to(device), mask.to(device)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            hidden, cache = self._forward(ids, mask, pos, None)
            self.stats["prefill_tokens"] += int(mask.sum())
            if self.keep_prefixes:
                for r, i in enumerate(singles):
                    self._keep_prefix(batch[i].ids, cache, r, len(batch[i].ids))
            parts.append((singles, cache, mask, hidden))
        if shared:
            prefixes = [batch[m[0]].ids[:plen] for m, plen in shared]
            p_ids, p_mask = self.pad(prefixes)
            p_ids, p_mask = p_ids.to(device), p_mask.to(device)
            _, p_cache = self._forward(p_ids, p_mask, (p_mask.cumsum(-1) - 1).clamp(min=0), None)
            self.stats["prefill_tokens"] += int(p_mask.sum())
            if self.keep_prefixes:
                for g, (members, plen) in enumerate(shared):
                    self._keep_prefix(batch[members[0]].ids, p_cache, g, plen)
            by_len: dict[int, list[tuple[int, int, int]]] = {}  # suffix length -> (request, prefix row, plen)
            for g, (members, plen) in enumerate(shared):
                for i in members:
                    by_len.setdefault(len(batch[i].ids) - plen, []).append((i, g, plen))
                    self.stats["shared_tokens"] += plen
                self.stats["shared_tokens"] -= plen  # the first copy was computed
            for slen, items in sorted(by_len.items()):
                sel = torch.tensor([g for _, g, _ in items], device=device)
                cache = _select(p_cache, sel, self.grow_in_place)
                suffix = torch.tensor([batch[i].ids[plen:] for i, _, plen in items], device=device)
                mask = torch.cat([p_mask[sel], p_mask.new_ones((len(items), slen))], dim=-1)
                start = torch.tensor([plen for _, _, plen in items], device=device)[:, None]
                pos = start + torch.arange(slen, device=device)[None, :]
                hidden, cache = self._forward(suffix, mask, pos, cache)
                self.stats["prefill_tokens"] += slen * len(items)
                parts.append(([i for i, _, _ in items], cache, mask, hidden))
        order = [i for indices, _, _, _ in parts for i in indices]
        cache, mask = _merge_all([c for _, c, _, _ in parts], [m for _, _, m, _ in parts])
        hidden = torch.cat([h for _, _, _, h in parts])
        cache, mask = _trim(cache, mask)
        rows = []
        for i in order:
            req = batch[i]
            rows.append(_Row(req, Generation(), req.grammar.initial() if req.grammar is not None else None))
        positions = torch.tensor([len(batch[i].ids) for i in order], device=device)
        self.stats["rows"] += len(rows)
        return rows, cache, mask, positions, hidden

    def _forward(self, ids, mask, positions, cache):
        """The model body on ``ids``; the last position's hidden state per row, and the cache."""
        if cache is None:
            cache = _new_cache(self.grow_in_place)
        kwargs: dict[str, Any] = {self._cache_kw: cache, "use_cache": True, "attention_mask": mask}
        if self._pass_positions:
            kwargs["position_ids"] = positions
        out = self.body(input_ids=ids, return_dict=True, **kwargs)
        new_cache = getattr(out, self._cache_kw, None) or getattr(out, "past_key_values", None) or cache
        return out.last_hidden_state[:, -1], new_cache

    # ---------------------------------------------------------------- scoring
    @torch.inference_mode()
    def score(
        self, requests: Iterable[ScoreRequest], *, max_batch: int | None = None, max_tokens: int = 4096
    ) -> Iterator[tuple[ScoreRequest, list[float]]]:
        """Teacher forcing: the model's log-probability of each request's ``target`` tokens
        after its ``ids``, one list per request (``log P(target[k] | ids + target[:k])``, the
        whole vocabulary as the normalizer), plus, for a request with ``end`` ids, the log of
        their total probability right after the target (how sure the model is that the
        value ends there, whatever it would write next); yields ``(request, logprobs)`` in
        request order.

        Requests of one ``group`` share the longest common prefix of their ``ids`` (a chunk's
        text): it is prefilled once and its cache copied for every continuation, which is
        then run on top, several at a time (right-padded: padding after a row's last real
        token changes nothing before it).  Only the positions whose next token is a target
        token go through the output head.  With ``restrict`` (a group's vocabulary: the
        tokens of its chunk, the closing tokens), every position but the first target
        token's is normalized over those rows of the head only: inside a copied value the
        model's mass sits on the text's own tokens, and the whole 262k-row head would cost
        more than the rest of the forward."""
        max_batch = max_batch or self.max_batch
        device = next(self.model.parameters()).device
        reqs = list(requests)
        groups: dict[Hashable, list[int]] = {}
        for i, r in enumerate(reqs):
            if not r.ids or not r.target:
                raise ValueError("a score request needs prompt ids and at least one target token")
            groups.setdefault(("g", r.group) if r.group is not None else ("i", i), []).append(i)
        out: dict[int, list[float]] = {}
        for members in groups.values():
            seqs = [reqs[i].ids + reqs[i].target for i in members]
            # the prefix stops one token short of every prompt: the hidden state that
            # predicts a request's first target token must come out of its own forward
            plen = min(
                _common_prefix([reqs[i].ids for i in members]), min(len(reqs[i].ids) for i in members) - 1
            )
            p_cache = None
            kept = self._kept_prefix(seqs[0][:plen]) if plen > 0 and self._prefixes else None
            if kept is not None:  # decoding prefilled this chunk already: its cache, then the rest
                done, p_cache = kept
                self.stats["reused_tokens"] += done
                if done < plen:
                    rest = torch.tensor([seqs[0][done:plen]], device=device)
                    p_mask = torch.ones((1, plen), dtype=torch.long, device=device)
                    pos = torch.arange(done, plen, device=device)[None]
                    _, p_cache = self._forward(rest, p_mask, pos, p_cache)
                    self.stats["prefill_tokens"] += plen - done
            elif plen > 0:
                p_ids = torch.tensor([seqs[0][:plen]], device=device)
                p_mask = torch.ones_like(p_ids)
                _, p_cache = self._forward(p_ids, p_mask, torch.arange(plen, device=device)[None], None)
                self.stats["prefill_tokens"] += plen
            order = sorted(range(len(members)), key=lambda k: len(seqs[k]))
            sub_ids = sub_pos = None
            start = 0
            while start < len(order):
                width = len(seqs[order[start]]) - plen
                end = start
                while end < len(order) and end - start < max_batch:
                    w = len(seqs[order[end]]) - plen
                    if (end - start + 1) * max(width, w) > max_tokens and end > start:
                        break
                    width = max(width, w)
                    end += 1
                batch = order[start:end]
                start = end
                rows = len(batch)
                ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
                smask = torch.zeros((rows, width), dtype=torch.long)
                for r, k in enumerate(batch):
                    tail = seqs[k][plen:]
                    ids[r, : len(tail)] = torch.tensor(tail, dtype=torch.long)
                    smask[r, : len(tail)] = 1
                ids, smask = ids.to(device), smask.to(device)
                if p_cache is not None:
                    cache = _select(
                        p_cache, torch.zeros(rows, dtype=torch.long, device=device), self.grow_in_place
                    )
                    mask = torch.cat([smask.new_ones((rows, plen)), smask], dim=-1)
                else:
                    cache, mask = None, smask
                pos = plen + torch.arange(width, device=device)[None, :].expand(rows, -1)
                hidden = self._forward_all(ids, mask, pos, cache)
                self.stats["prefill_tokens"] += int(smask.sum())
                picks, where = [], []  # (row, column) of the hidden state; (request, target id or end ids)
                picks_first: list[bool] = []  # the value's first token: always the whole vocabulary
                for r, k in enumerate(batch):
                    req = reqs[members[k]]
                    first = len(req.ids) - plen - 1  # the position that predicts target[0]
                    for t in range(len(req.target)):
                        picks.append((r, first + t))
                        where.append((k, req.target[t]))
                        picks_first.append(t == 0)
                    if req.end:
                        picks.append((r, first + len(req.target)))
                        where.append((k, tuple(req.end)))
                        picks_first.append(False)
                restrict = reqs[members[0]].restrict
                sub = None
                if restrict:  # the group's narrow head: its vocabulary rows, gathered once
                    if sub_ids is None:
                        sub_ids = torch.tensor(sorted(set(restrict)), device=device)
                        sub_pos = {int(t): j for j, t in enumerate(sub_ids.tolist())}
                    full = [j for j, (r, _) in enumerate(picks) if picks_first[j]]
                    narrow = [j for j in range(len(picks)) if not picks_first[j]]
                else:
                    full, narrow = list(range(len(picks))), []
                values: dict[int, float] = {}
                if full:
                    sel_r = torch.tensor([picks[j][0] for j in full], device=device)
                    sel_c = torch.tensor([picks[j][1] for j in full], device=device)
                    logits = self.head.full(hidden[sel_r, sel_c])
                    lse = torch.logsumexp(logits, dim=-1)
                    self.stats["full_head_rows"] += len(full)
                    for q, j in enumerate(full):
                        t = where[j][1]
                        ids_t = torch.tensor(t, device=device) if isinstance(t, tuple) else t
                        v = torch.logsumexp(logits[q, ids_t], dim=0) if isinstance(t, tuple) else logits[q, t]
                        values[j] = float(v - lse[q])
                if narrow:
                    sel_r = torch.tensor([picks[j][0] for j in narrow], device=device)
                    sel_c = torch.tensor([picks[j][1] for j in narrow], device=device)
                    sub = self.head.some(hidden[sel_r, sel_c], sub_ids)
                    lse = torch.logsumexp(sub, dim=-1)
                    for q, j in enumerate(narrow):
                        t = where[j][1]
                        cols = [sub_pos[x] for x in (t if isinstance(t, tuple) else (t,)) if x in sub_pos]
                        if not cols:
                            values[j] = -math.inf
                            continue
                        v = torch.logsumexp(sub[q, torch.tensor(cols, device=device)], dim=0)
                        values[j] = float(v - lse[q])
                for j, (k, _) in enumerate(where):
                    out.setdefault(members[k], []).append(values[j])
        for i, r in enumerate(reqs):
            yield r, out[i]

    def _forward_all(self, ids, mask, positions, cache):
        """The model body on ``ids``; every position's hidden state."""
        if cache is None:
            cache = _new_cache(self.grow_in_place)
        kwargs: dict[str, Any] = {self._cache_kw: cache, "use_cache": True, "attention_mask": mask}
        if self._pass_positions:
            kwargs["position_ids"] = positions
        return self.body(input_ids=ids, return_dict=True, **kwargs).last_hidden_state

    # ---------------------------------------------------------------- one step
    def _step(self, rows: list[_Row], hidden: torch.Tensor) -> list[int]:
        """Choose each row's next token, append it to the row's generation with its
        log-probability and advance the row's grammar state (not past an end token)."""
        device = hidden.device
        chosen: list[int] = [0] * len(rows)
        need: list[int] = []
        for r, row in enumerate(rows):
            g = row.req.grammar
            if g is None:
                need.append(r)
                continue
            allowed = g.allowed(row.state)
            if g.can_end(row.state) or not allowed:
                allowed = allowed | set(self.eos_ids)
            ids = sorted(allowed)
            if len(ids) == 1:
                tok = ids[0]
            else:
                ids_t = torch.tensor(ids, device=device)
                tok = ids[int(torch.argmax(self.head.rows(hidden[r], ids_t)))]
            chosen[r] = tok
            before = row.state
            if tok not in self.eos_ids:
                row.state = g.advance(before, self.vocab.bytes[tok] or b"", len(row.gen.token_ids))
            if g.classify or _in_value(before) or _in_value(row.state):
                need.append(r)
        logps: dict[int, float] = {}
        if need:
            sel = torch.tensor(need, device=device)
            logits = self.head.full(hidden.index_select(0, sel))
            lse = torch.logsumexp(logits, dim=-1)
            for k, r in enumerate(need):
                if rows[r].req.grammar is None:
                    chosen[r] = int(torch.argmax(logits[k]))
                logps[r] = float(logits[k, chosen[r]] - lse[k])
            self.stats["full_head_rows"] += len(need)
        for r, row in enumerate(rows):
            row.gen.token_ids.append(chosen[r])
            row.gen.logprobs.append(logps.get(r, math.nan))
        return chosen


def _in_value(state) -> bool:
    return bool(state) and any(alt[0] == SPAN for alt in state)


def _common_prefix(seqs: list[list[int]]) -> int:
    first = seqs[0]
    n = min(len(s) for s in seqs)
    k = 0
    while k < n and all(s[k] == first[k] for s in seqs[1:]):
        k += 1
    return k


def _growing_layer_class():
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        """A layer's keys and values in a buffer with room to grow: a decode step writes its
        token in place instead of copying the whole history (``DynamicLayer`` concatenates,
        which on a CPU with 1,000-token prompts costs as much as the attention itself);
        ``keys``/``values`` are views of the filled part."""

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.is_initialized, self.device = True, key_states.device
                self.assign(key_states, value_states)
                return self.keys, self.values
            n, length = key_states.shape[-2], self.keys.shape[-2]
            if length + n > self._k.shape[-2]:
                self.assign(self.keys, self.values, room=n)
            self._k[:, :, length : length + n] = key_states
            self._v[:, :, length : length + n] = value_states
            self.keys, self.values = self._k[:, :, : length + n], self._v[:, :, : length + n]
            return self.keys, self.values

        def assign(self, keys, values, room: int = 0) -> None:
            """Hold these keys and values (copied, with room for more tokens)."""
            b, h, length, d = keys.shape
            cap = length + room + 64 + length // 4
            self._k = keys.new_empty((b, h, cap, d))
            self._v = values.new_empty((b, h, cap, values.shape[-1]))
            self._k[:, :, :length] = keys
            self._v[:, :, :length] = values
            self.keys, self.values = self._k[:, :, :length], self._v[:, :, :length]
            self.is_initialized = True

        def batch_select_indices(self, indices) -> None:
            if self.is_initialized:
                self.assign(self.keys.index_select(0, indices), self.values.index_select(0, indices))

    return GrowingLayer


_GROWING: list = []


def _new_cache(grow_in_place: bool = True):
    """A cache that keeps every layer's whole history (sliding-window layers included), so rows
    can be copied, padded and merged uniformly; attention masks do the windowing.  Its layers
    grow in place (``GrowingLayer``) unless told otherwise."""
    from transformers import DynamicCache

    cache = DynamicCache()
    if grow_in_place:
        if not _GROWING:
            _GROWING.append(_growing_layer_class())
        cache.layer_class_to_replicate = _GROWING[0]
    return cache


def _layers(cache) -> list:
    return list(cache.layers)


def _assign(layer, keys, values) -> None:
    if hasattr(layer, "assign"):
        layer.assign(keys, values)
    else:  # a cache the model made itself
        layer.keys, layer.values = keys, values


def _select(cache, sel: torch.Tensor, grow_in_place: bool = True):
    """A new cache with the rows ``sel`` of ``cache`` (rows may repeat)."""
    out = _new_cache(grow_in_place)
    for layer in _layers(cache):
        out.update(layer.keys.index_select(0, sel), layer.values.index_select(0, sel), len(_layers(out)))
    return out


def _pad_left(t: torch.Tensor, width: int) -> torch.Tensor:
    extra = width - t.shape[-2]
    if extra <= 0:
        return t
    shape = list(t.shape)
    shape[-2] = extra
    return torch.cat([t.new_zeros(shape), t], dim=-2)


def _merge(cache_a, mask_a, cache_b, mask_b):
    """Rows of ``b`` after the rows of ``a``, both left-padded to one width."""
    return _merge_all([cache_a, cache_b], [mask_a, mask_b])


def _merge_all(caches: list, masks: list[torch.Tensor]):
    """The rows of every cache in order, left-padded to one width, copied once."""
    if len(caches) == 1:
        return caches[0], masks[0]
    width = max(m.shape[1] for m in masks)
    layers = [_layers(c) for c in caches]
    if len({len(x) for x in layers}) != 1:
        raise RuntimeError("caches of different depth cannot be merged")
    for depth, first in enumerate(layers[0]):
        _assign(
            first,
            torch.cat([_pad_left(ls[depth].keys, width) for ls in layers]),
            torch.cat([_pad_left(ls[depth].values, width) for ls in layers]),
        )
    mask = torch.cat([_pad_left(m[:, :, None], width)[:, :, 0] for m in masks])
    return caches[0], mask


def _trim(cache, mask):
    """Drop leading columns that no row uses (padding only)."""
    used = mask.any(dim=0)
    first = int(torch.argmax(used.int())) if bool(used.any()) else 0
    if first == 0:
        return cache, mask
    for layer in _layers(cache):
        _assign(layer, layer.keys[:, :, first:], layer.values[:, :, first:])
    return cache, mask[:, first:]
