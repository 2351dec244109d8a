"""A causal LM that answers from a script: for tests that need the model to say something
specific (the records, parts and compare paths), in the style of a mock model with queued
responses.

``ScriptedLM(tokenizer, answers)`` answers a prompt with ``answers(prompt_text)`` (a function
or a dict from a substring of the prompt to the answer): its logits put almost all the
probability on the next token of that answer, then on the end token.  An answer given as
``(text, logit)`` is said less surely: the chosen token gets ``logit`` against 0 for every
other token (the default, 20 against -20, is near certainty).  It goes through the
real engine: the real tokenizer, our greedy decoder with continuous batching and shared
prompt prefixes, and the output grammar, which must accept every token of the answer (it
does for a well-formed answer that only quotes the prompt's text).

How it remembers: its "KV cache" is a real ``DynamicCache`` whose one layer holds, per row,
the token ids it was fed (keys), so the decoder's own cache surgery (copying a shared prefix,
padding, merging, dropping rows) keeps each row's history; every position reads its prompt
(up to ``[GEN]``) and its place in the answer from that history, so teacher-forced scoring
reads the script as decoding does: an option that is not the scripted answer gets ``low``
against ``high``.
Its "hidden state" is (next answer token, high logit, low logit); its head turns that into
logits over the vocabulary.
"""

from __future__ import annotations

import torch
from transformers import BloomConfig, DynamicCache
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast

GEN = "[GEN]"


class _Head(torch.nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        flat = hidden.reshape(-1, 3)
        logits = flat[:, 2:3].expand(-1, self.vocab).clone()
        logits[torch.arange(flat.shape[0]), flat[:, 0].long()] = flat[:, 1]
        return logits.reshape(*hidden.shape[:-1], self.vocab)


class _Body(torch.nn.Module):
    def __init__(self, owner: ScriptedLM):
        super().__init__()
        self.owner = [owner]  # not a submodule

    def forward(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=True, **_):
        owner = self.owner[0]
        cache = past_key_values if past_key_values is not None else DynamicCache()
        b, s = input_ids.shape
        keys = input_ids.float()[:, None, :, None]
        cache.update(keys, torch.zeros_like(keys), 0)
        layer = cache.layers[0]
        hidden = torch.zeros((b, s, 3))
        width = layer.keys.shape[2]
        for r in range(b):
            mask = attention_mask[r].bool().tolist()
            keys = layer.keys[r, 0, :, 0].long().tolist()
            # every new position predicts the next token of the answer its prompt asks for (so
            # teacher forcing, Extractor's option scoring, reads the script too); the prompt is
            # recorded when a forward ends right on it (a prefill).  Rows may be padded on
            # either side: a position's history is the real tokens up to it.
            real = [t for t, m in zip(keys, mask) if m]
            gen = owner.gen_end(real)
            for q in range(s):
                col = width - s + q
                if not mask[col]:
                    continue
                ids = [t for t, m in zip(keys[: col + 1], mask[: col + 1]) if m]
                p = len(ids) - 1
                if gen is None or p < gen:
                    target, (high, low) = [owner.tokenizer.eos_token_id], (20.0, -20.0)
                    step = 0
                else:
                    target, (high, low) = owner.target(ids[: gen + 1], first=p == gen and q == s - 1)
                    step = p - gen
                hidden[r, q] = torch.tensor([float(target[min(step, len(target) - 1)]), high, low])
        return BaseModelOutputWithPast(last_hidden_state=hidden, past_key_values=cache)


class ScriptedLM(torch.nn.Module):
    base_model_prefix = "model"

    def __init__(self, tokenizer, answers):
        super().__init__()
        self.tokenizer = tokenizer
        self.answers = answers
        self.config = BloomConfig(vocab_size=len(tokenizer), n_layer=1, hidden_size=8, n_head=2)
        self.generation_config = None
        self._dummy = torch.nn.Parameter(torch.zeros(1))
        self.model = _Body(self)
        self.lm_head = _Head(len(tokenizer))
        self.prompts: list[str] = []  # every prompt answered, for assertions
        self._targets: dict[tuple[int, ...], tuple[list[int], tuple[float, float]]] = {}
        self._gen: dict[tuple[int, ...], int | None] = {}

    @property
    def base_model(self):
        return self.model

    def get_output_embeddings(self):
        return self.lm_head

    def get_input_embeddings(self):
        return None

    def _answer(self, prompt: str) -> str:
        if callable(self.answers):
            return self.answers(prompt)
        for key, answer in self.answers.items():
            if key in prompt:
                return answer
        return ""

    def gen_end(self, ids: list[int]) -> int | None:
        """The index of the token that ends the first ``[GEN]`` of ``ids`` (None: none yet)."""
        key = tuple(ids)
        if key in self._gen:
            return self._gen[key]
        found = None
        for k in range(len(ids)):
            if self.tokenizer.decode(ids[max(0, k - 8) : k + 1], skip_special_tokens=False).endswith(GEN):
                found = k
                break
        self._gen[key] = found
        return found

    def target(self, prompt_ids: list[int], first: bool = False) -> tuple[list[int], tuple[float, float]]:
        """The answer's token ids (then the end token) and its sureness; ``first``: a row's
        first step (its prompt is recorded in ``prompts``)."""
        key = tuple(prompt_ids)
        prompt = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
        if not prompt.rstrip().endswith(GEN):  # a shared prefix alone: not a question yet
            return [self.tokenizer.eos_token_id], (20.0, -20.0)
        if first:
            self.prompts.append(prompt)
        if key not in self._targets:
            answer = self._answer(prompt)
            answer, sure = (
                (answer, (20.0, -20.0)) if isinstance(answer, str) else (answer[0], (answer[1], 0.0))
            )
            ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"] if answer else []
            self._targets[key] = ([*ids, self.tokenizer.eos_token_id], sure)
        return self._targets[key]

    def forward(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=True, **kw):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=past_key_values)
        return CausalLMOutputWithPast(
            logits=self.lm_head(out.last_hidden_state), past_key_values=out.past_key_values
        )


def scripted_extractor(tokenizer, answers, **kwargs):
    from extractor.engine import Extractor

    model = ScriptedLM(tokenizer, answers)
    return Extractor(model, tokenizer, model_id="scripted", **kwargs), model


def by_label(answer: str, sure: float | None = None):
    """A script that knows each label's answer line (from ``answer``, one ``label: value``
    line per label) and answers whichever labels a prompt asks, in the prompt's order, as a
    model trained on varying label sets does: a one-value field asked alone (how the engine
    scores its options) gets its own line.  Labels it has no line for are answered None.
    ``sure``: the logit of the answer tokens (None: near certainty)."""
    lines = {}
    for line in answer.split("\n"):
        label, _, value = line.partition(": ")
        lines[label] = value

    def script(prompt: str):
        task = next((ln for ln in prompt.split("\n") if ln.startswith("抽取: ")), None)
        if task is None:
            return ""
        asked = task[len("抽取: ") :].split("，")
        # a label with a hint (身份证号(18位)) answers with its name's line
        text = "\n".join(f"{lab}: {lines.get(lab, lines.get(lab.split('(')[0], 'None'))}" for lab in asked)
        return text if sure is None else (text, sure)

    return script
