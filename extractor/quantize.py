"""int8 linear layers for CPU inference (``--quantize int8``), independent of the batch.

Measured on the project's 2-core AVX2 machine (one thread, Gemma 3 270M's shapes): an
int8 matrix product through fbgemm runs 7-11x faster than fp32 (the 262,144 x 640 output
head at batch 8: 9 ms vs 104 ms), because decoding on a CPU is bound by reading the
weights, and int8 weights are a quarter of the bytes.

torch's own dynamic quantization (``quantize_dynamic``) quantizes each input *tensor* with
one scale taken from its largest value, so a row's result depends on the other rows in the
batch: the same document could get another answer next to another document.  ``Int8Linear``
quantizes per row instead, and exactly: each row is divided by its own largest absolute
value, a constant row ``[1, -1, 0, ...]`` is appended so that the tensor's range is always
exactly [-1, 1] (the scale fbgemm derives is then the same for every batch), and the
result is multiplied back by the row's scale.  Weights are int8 per output channel
(symmetric).  A row's output is therefore a function of that row alone: deterministic
whatever else is decoded with it (a test checks bit equality across batches).

Input embeddings stay fp32 (they are a lookup, not a product): the decoder reads the
grammar's allowed rows of a tied output head from them (``extractor.decoding``).
"""

from __future__ import annotations

import torch
from torch import nn

QUANTIZE_CHOICES = ("auto", "none", "int8")


class Int8Linear(nn.Module):
    """``nn.Linear`` with int8 per-channel weights and exact per-row int8 activations."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        w = linear.weight.detach().float()
        self.in_features, self.out_features = w.shape[1], w.shape[0]
        scales = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
        zeros = torch.zeros(w.shape[0], dtype=torch.long)
        qw = torch.quantize_per_channel(w, scales, zeros, axis=0, dtype=torch.qint8)
        self._packed = torch.ops.quantized.linear_prepack(qw, None)
        bias = linear.bias.detach().float().clone() if linear.bias is not None else None
        self.register_buffer("bias", bias, persistent=False)
        calib = torch.zeros((1, self.in_features))
        calib[0, 0], calib[0, -1 if self.in_features > 1 else 0] = 1.0, -1.0
        self.register_buffer("_calib", calib, persistent=False)

    weight = None  # not a float matrix: the decoder computes this head whole, or reads tied embeddings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, dtype = x.shape, x.dtype
        x2 = x.reshape(-1, self.in_features).float()
        scale = x2.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
        y = torch.ops.quantized.linear_dynamic(torch.cat([x2 / scale, self._calib]), self._packed, True)
        y = y[:-1] * scale
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features).to(dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def available() -> bool:
    """True when this torch build has the fbgemm/x86 int8 kernels."""
    engines = getattr(torch.backends.quantized, "supported_engines", [])
    return any(e in engines for e in ("fbgemm", "x86"))


def quantize_int8(model: nn.Module) -> int:
    """Replace every ``nn.Linear`` of ``model`` (the output head included; a tied head gets its
    own int8 copy, the input embeddings stay fp32) with ``Int8Linear``, in place; returns how
    many were replaced."""
    if not available():
        raise RuntimeError("this torch build has no int8 CPU kernels (fbgemm/x86)")
    targets = [(name, mod) for name, mod in model.named_modules() if type(mod) is nn.Linear]
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear(mod))
    if hasattr(model, "config"):
        model.config.seqgpt_quantized = "int8"
    return len(targets)
