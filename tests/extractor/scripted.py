"""A causal LM that answers from a script: for tests that need the model to say something
specific (the records, parts and compare paths), in the style of a mock model with queued
responses.

``ScriptedLM(tokenizer, answers)`` answers a prompt with ``answers(prompt_text)`` (a function
or a dict from a substring of the prompt to the answer): its logits put almost all the
probability on the next token of that answer, then on the end token.  An answer given as
``(text, logit)`` is said less surely: the chosen token gets ``logit`` against 0 for every
other token (the default, 20 against -20, is near certainty).  It goes through the
real engine: the real tokenizer, our greedy decoder with its batch pruning and the output
grammar, which must accept every token of the answer (it does for a well-formed answer that
only quotes the prompt's text).
"""

from __future__ import annotations

import torch
from transformers import BloomConfig
from transformers.modeling_outputs import CausalLMOutputWithPast


class _Cache:
    """Per-row state the decoder carries between steps (prunes it like a KV cache)."""

    def __init__(self, targets: list[list[int]], steps: list[int], sureness: list[tuple[float, float]]):
        self.targets, self.steps, self.sureness = targets, steps, sureness

    def batch_select_indices(self, sel: torch.Tensor) -> None:
        keep = sel.tolist()
        self.targets = [self.targets[i] for i in keep]
        self.steps = [self.steps[i] for i in keep]
        self.sureness = [self.sureness[i] for i in keep]


class ScriptedLM(torch.nn.Module):
    def __init__(self, tokenizer, answers):
        super().__init__()
        self.tokenizer = tokenizer
        self.answers = answers
        self.config = BloomConfig(vocab_size=len(tokenizer), n_layer=1, hidden_size=8, n_head=2)
        self.generation_config = None
        self._dummy = torch.nn.Parameter(torch.zeros(1))
        self.prompts: list[str] = []  # every prompt seen, for assertions

    def _answer(self, prompt: str) -> str:
        if callable(self.answers):
            return self.answers(prompt)
        for key, answer in self.answers.items():
            if key in prompt:
                return answer
        return ""

    def forward(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=True, **_):
        vocab = self.config.vocab_size
        if not isinstance(past_key_values, _Cache):  # the prompt: look up each row's answer
            targets, sureness = [], []
            for row, mask in zip(input_ids.tolist(), attention_mask.tolist()):
                prompt = self.tokenizer.decode([t for t, m in zip(row, mask) if m], skip_special_tokens=False)
                self.prompts.append(prompt)
                answer = self._answer(prompt)
                answer, sure = (
                    (answer, (20.0, -20.0)) if isinstance(answer, str) else (answer[0], (answer[1], 0.0))
                )
                ids = self.tokenizer(answer, add_special_tokens=False)["input_ids"] if answer else []
                targets.append([*ids, self.tokenizer.eos_token_id])
                sureness.append(sure)
            cache = _Cache(targets, [0] * len(targets), sureness)
        else:
            cache = past_key_values
            cache.steps = [s + 1 for s in cache.steps]
        logits = torch.zeros((input_ids.shape[0], input_ids.shape[1], vocab))
        for r, (target, step, (high, low)) in enumerate(zip(cache.targets, cache.steps, cache.sureness)):
            logits[r, -1] = low
            logits[r, -1, target[min(step, len(target) - 1)]] = high
        return CausalLMOutputWithPast(logits=logits, past_key_values=cache)


def scripted_extractor(tokenizer, answers, **kwargs):
    from extractor.engine import Extractor

    model = ScriptedLM(tokenizer, answers)
    return Extractor(model, tokenizer, model_id="scripted", **kwargs), model
