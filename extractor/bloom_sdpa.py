"""BLOOM (SeqGPT-560M's architecture) attention through ``scaled_dot_product_attention``.

transformers runs BLOOM with eager attention only: ``baddbmm`` for the scores with the ALiBi
bias, a float32 softmax materialized over ``heads x query x key``, then ``bmm``.  SDPA takes
the same ALiBi bias as an additive mask and, on a GPU, runs it in a fused memory-efficient
kernel (no score matrix in memory); on a CPU it is the flash kernel with a mask.  The
result is the same attention: ``softmax(q k^T / sqrt(d) + alibi + mask) v`` (a test checks
the logits against eager on a tiny BLOOM).

``use_sdpa(model)`` swaps the forward of every ``BloomAttention`` of a loaded model; models
of other architectures are left alone.  ``extractor.loading`` does it for BLOOM models on a
GPU (``attention="sdpa (alibi)"``) and on request on a CPU.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F


def _forward(
    self,
    hidden_states: torch.Tensor,
    residual: torch.Tensor,
    alibi: torch.Tensor,
    attention_mask: torch.Tensor | None,
    layer_past=None,
    use_cache: bool = False,
    output_attentions: bool = False,
    **kwargs,
):
    batch_size, q_length, _ = hidden_states.shape
    fused_qkv = self.query_key_value(hidden_states)
    query, key, value = self._reshape(fused_qkv)  # [batch, heads, length, head_dim]
    if layer_past is not None:
        key, value = layer_past.update(key, value, self.layer_idx)
    kv_length = key.shape[2]
    bias = alibi.view(batch_size, self.num_heads, -1, kv_length).to(query.dtype) * self.beta
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:  # True = may attend
            attention_mask = torch.zeros_like(attention_mask, dtype=query.dtype).masked_fill(
                ~attention_mask, torch.finfo(query.dtype).min
            )
        bias = bias + attention_mask[..., -kv_length:].to(query.dtype)
    context = F.scaled_dot_product_attention(
        query,
        key,
        value,
        attn_mask=bias,
        dropout_p=self.attention_dropout.p if self.training else 0.0,
        scale=self.inv_norm_factor,
    )
    context = context.transpose(1, 2).reshape(batch_size, q_length, self.num_heads * self.head_dim)
    output = self.dense(context)
    output = F.dropout(output, p=self.hidden_dropout, training=self.training) + residual
    return output, None


def use_sdpa(model) -> int:
    """Route every ``BloomAttention`` of ``model`` through SDPA; returns how many were swapped."""
    try:
        from transformers.models.bloom.modeling_bloom import BloomAttention
    except ImportError:  # pragma: no cover - transformers without BLOOM
        return 0
    swapped = 0
    for module in model.modules():
        if isinstance(module, BloomAttention) and getattr(module, "pretraining_tp", 1) <= 1:
            module.forward = types.MethodType(_forward, module)
            swapped += 1
    return swapped
