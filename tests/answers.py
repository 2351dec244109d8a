"""Comparing extraction answers (the JSON of ``seqgpt extract``) across paths."""

from __future__ import annotations

import math


def same(a, b) -> bool:
    """Equal JSON values, floats (confidences) up to the last bits that batching with other
    documents (other padding) may change."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
