"""Batched greedy decoding over the model's forward pass, with a KV cache and left padding.

This is our own loop, not ``model.generate``: it is deterministic (argmax, no sampling),
lets a grammar (``extractor.constraints``) mask every step, keeps the model's own
log-probabilities of the chosen tokens for confidence, and drops finished rows from the
batch (and from the KV cache) so a batch costs what its longest answer costs, not more.

Unconstrained, it emits exactly the token ids of
``model.generate(do_sample=False, num_beams=1)`` for the same left-padded batch (a test
checks it): the first forward pass sees the whole prompt with the attention mask and
position ids ``cumsum(mask) - 1``, every later pass one token per row.

Confidence.  Each chosen token's log-probability is taken from the model's *unconstrained*
distribution (softmax over the whole vocabulary, before the grammar's mask), so a value the
model only produced because the grammar left nothing else scores low instead of being
inflated by renormalisation.  ``extractor.engine`` turns these into a per-value confidence.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import torch

from .constraints import Grammar
from .vocab import TokenBytes


@dataclass
class Generation:
    """One row's output: generated ids (the end token included when produced), the model's
    unconstrained log-probability of each, whether the row ended by itself, and the final
    grammar state (constrained rows only)."""

    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finished: bool = False
    state: Any = None


class GreedyDecoder:
    """Greedy decoding for any Hugging Face causal LM.

    >>> dec = GreedyDecoder(model, tokenizer)                       # doctest: +SKIP
    >>> outs = dec.generate_text(["输入: ...\\n抽取: 人名\\n输出: [GEN]"], max_new_tokens=32)
    """

    def __init__(self, model, tokenizer, vocab: TokenBytes | None = None, *, prune_finished: bool = True):
        self.model = model
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.prune_finished = prune_finished
        params = set(inspect.signature(model.forward).parameters)
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._pass_positions = "position_ids" in params
        self._logits_to_keep = "logits_to_keep" in params
        gen_cfg = getattr(model, "generation_config", None)
        eos = getattr(gen_cfg, "eos_token_id", None)
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids: list[int] = [eos] if isinstance(eos, int) else list(eos or [])
        if not self.eos_ids:
            raise ValueError("the model and tokenizer define no end-of-sequence token")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]

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

    def _forward(self, ids, mask, positions, cache):
        kwargs: dict[str, Any] = {self._cache_kw: cache, "use_cache": True, "attention_mask": mask}
        if self._pass_positions:
            kwargs["position_ids"] = positions
        if self._logits_to_keep:
            kwargs["logits_to_keep"] = 1
        out = self.model(input_ids=ids, return_dict=True, **kwargs)
        return out.logits[:, -1].to(dtype=torch.float32, copy=True), getattr(
            out, self._cache_kw, None
        ) or getattr(out, "past_key_values", None) or cache

    def _new_cache(self):
        from transformers import DynamicCache

        try:
            return DynamicCache(config=self.model.config)
        except TypeError:  # older signature
            return DynamicCache()

    # ------------------------------------------------------------------ loop
    @torch.inference_mode()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        grammars: list[Grammar | None] | None = None,
        *,
        max_new_tokens: int = 64,
    ) -> list[Generation]:
        device = next(self.model.parameters()).device
        n = input_ids.shape[0]
        grammars = grammars if grammars is not None else [None] * n
        if len(grammars) != n:
            raise ValueError("one grammar (or None) per row")
        if any(g is not None for g in grammars) and self.vocab is None:
            raise ValueError("constrained decoding needs the token byte table (vocab=TokenBytes(...))")
        results = [Generation() for _ in range(n)]
        states = [g.initial() if g is not None else None for g in grammars]
        if max_new_tokens <= 0 or n == 0:
            return results

        ids = input_ids.to(device)
        mask = attention_mask.to(device)
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
        cache = self._new_cache()
        logits, cache = self._forward(ids, mask, positions, cache)
        rows = list(range(n))  # batch row -> original index
        alive = [True] * n

        for step in range(max_new_tokens):
            chosen, logp = self._choose(logits, rows, alive, grammars, states)
            for r, idx in enumerate(rows):
                if not alive[r]:
                    continue
                tok = chosen[r]
                res = results[idx]
                res.token_ids.append(tok)
                res.logprobs.append(logp[r])
                done = tok in self.eos_ids
                g = grammars[idx]
                if g is not None and not done:
                    states[idx] = g.advance(states[idx], self.vocab.bytes[tok] or b"", step)
                    done = not states[idx]  # cannot happen with a consistent mask; be safe
                if done:
                    res.finished = tok in self.eos_ids
                    alive[r] = False
            if not any(alive) or step == max_new_tokens - 1:
                break
            next_ids = torch.tensor([c if a else self.pad_id for c, a in zip(chosen, alive)], device=device)[
                :, None
            ]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
            positions = positions[:, -1:] + 1
            if self.prune_finished and not all(alive):
                keep = [r for r in range(len(rows)) if alive[r]]
                sel = torch.tensor(keep, device=device)
                cache.batch_select_indices(sel)
                mask, positions, next_ids = mask[sel], positions[sel], next_ids[sel]
                rows = [rows[r] for r in keep]
                alive = [True] * len(rows)
            logits, cache = self._forward(next_ids, mask, positions, cache)
        for idx, st in enumerate(states):
            results[idx].state = st
        return results

    def _choose(self, logits: torch.Tensor, rows: list[int], alive: list[bool], grammars, states):
        """Argmax per row under each row's grammar; log-probs from the unconstrained softmax."""
        logp_all = torch.log_softmax(logits, dim=-1)
        constrained = [r for r, idx in enumerate(rows) if alive[r] and grammars[idx] is not None]
        if constrained:
            r_idx: list[int] = []
            t_idx: list[int] = []
            for r in constrained:
                idx = rows[r]
                g, st = grammars[idx], states[idx]
                allowed = g.allowed(st)
                if g.can_end(st) or not allowed:
                    allowed = allowed | set(self.eos_ids)
                r_idx.extend([r] * len(allowed))
                t_idx.extend(allowed)
            if len(constrained) == len(rows):
                masked = torch.full_like(logits, float("-inf"))
            else:
                masked = logits.clone()
                masked[torch.tensor(constrained, device=logits.device)] = float("-inf")
            ri = torch.tensor(r_idx, device=logits.device)
            ti = torch.tensor(t_idx, device=logits.device)
            masked[ri, ti] = logits[ri, ti]
            chosen = torch.argmax(masked, dim=-1)
        else:
            chosen = torch.argmax(logits, dim=-1)
        logp = logp_all.gather(1, chosen[:, None]).squeeze(1)
        return chosen.tolist(), logp.tolist()
