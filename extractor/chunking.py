"""Split long documents into windows the model can read, and merge what they yield.

SeqGPT reads at most ``max_prompt_tokens`` (1,024) tokens and its tokenizer truncates on the
left: an over-long prompt would silently lose the start of the document.  We never let that
happen: a document longer than the budget is cut into chunks of at most ``budget`` tokens,
each ending on a sentence boundary where one is near (。！？；.!? or a line break), with
``overlap`` tokens shared between neighbours so a value cut by one boundary is whole in the
next chunk.  Values found in several chunks are merged by their document offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .types import Span

# sentence ends, strongest first; a boundary is the position right after one
_SENTENCE_END = re.compile(r"[。！？!?；;]+[”’\"')）]*|\n+|\.(?=\s)|\f")
_WEAK_END = re.compile(r"[，,、：:\s]")


@dataclass(frozen=True)
class Chunk:
    start: int  # character offset of the chunk in the document
    end: int
    text: str


def _token_offsets(tokenizer, text: str) -> tuple[list[int], list[int]]:
    """Character offsets where each token of ``text`` starts and ends (offset mapping).

    Byte-level BPE can write one character with several tokens; they all share the
    character's offsets, so "the text before token k starts" is the safe way to stay
    within k tokens."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    return [s for s, _ in offsets], [e for _, e in offsets]


def split_text(
    text: str, tokenizer, budget: int, overlap: int = 64, window_chars: int | None = None
) -> list[Chunk]:
    """Chunks of at most ``budget`` tokens covering ``text`` with ``overlap`` tokens shared.

    Works window by window (``window_chars`` characters are tokenized at a time), so a
    50 MB text costs time proportional to its length and memory proportional to a window.
    """
    if budget < 8:
        raise ValueError(f"token budget {budget} is too small to hold any text")
    overlap = max(0, min(overlap, budget // 2))
    n = len(text)
    if n == 0:
        return [Chunk(0, 0, "")]
    window_chars = window_chars or max(budget * 6, 256)
    chunks: list[Chunk] = []
    start = 0
    while start < n:
        window = text[start : start + window_chars]
        starts, ends = _token_offsets(tokenizer, window)
        if len(ends) <= budget and start + len(window) >= n:
            chunks.append(Chunk(start, n, text[start:n]))
            break
        if len(ends) <= budget:
            # window too small to reach the budget (very short tokens): take it all
            hard = len(window)
        else:
            hard = starts[budget]  # everything before the first token over budget
        cut = _best_cut(window, hard)
        if cut <= 0:
            cut = max(1, hard)
        end = start + cut
        chunks.append(Chunk(start, end, text[start:end]))
        if end >= n:
            break
        # next chunk starts ``overlap`` tokens before the cut, at a boundary if one is close
        inside = [e for e in ends if e <= cut]
        back = inside[-overlap - 1] if overlap and len(inside) > overlap else (inside[0] if overlap else cut)
        back_cut = _best_cut(window, back, look=max(16, (cut - back) // 2), forward=True)
        nxt = start + (back_cut if 0 < back_cut < cut else back)
        start = nxt if nxt > start else end
    return chunks


def _best_cut(window: str, hard: int, look: int | None = None, forward: bool = False) -> int:
    """A cut position near ``hard``: after a sentence end if one is within ``look``
    characters before it (or after it when ``forward``), else after a weak break, else
    ``hard`` itself."""
    look = look if look is not None else max(32, hard // 4)
    lo, hi = (hard, min(len(window), hard + look)) if forward else (max(0, hard - look), hard)
    region = window[lo:hi]
    for pattern in (_SENTENCE_END, _WEAK_END):
        found = [m.end() for m in pattern.finditer(region)]
        if found:
            return lo + (found[0] if forward else found[-1])
    return hard


def merge_spans(per_chunk: list[tuple[Chunk, list[Span]]], doc_len: int) -> list[Span]:
    """Spans of all chunks in document offsets, one per (field, start, end), overlaps resolved.

    For one field, two spans that overlap are the same value seen from two chunks when one
    of them touches a chunk's cut edge (it may be cut short): the one that does not touch
    an edge wins, else the longer, else the more confident.
    """
    best: dict[tuple[str, int, int], tuple[Span, bool]] = {}
    for chunk, spans in per_chunk:
        for s in spans:
            touches = (s.start == chunk.start and chunk.start > 0) or (
                s.end == chunk.end and chunk.end < doc_len
            )
            key = (s.field, s.start, s.end)
            old = best.get(key)
            if old is None or s.confidence > old[0].confidence:
                best[key] = (s, touches and (old[1] if old else True))
    by_field: dict[str, list[tuple[Span, bool]]] = {}
    for s, touches in best.values():
        by_field.setdefault(s.field, []).append((s, touches))
    out: list[Span] = []
    for items in by_field.values():
        items.sort(key=lambda it: (it[1], -(it[0].end - it[0].start), -it[0].confidence))
        kept: list[Span] = []
        for s, touches in items:
            clash = any(s.start < k.end and k.start < s.end for k in kept)
            if clash and (touches or any(k.start <= s.start and s.end <= k.end for k in kept)):
                continue
            kept.append(s)
        out.extend(kept)
    out.sort(key=lambda s: (s.start, s.end, s.field))
    return out
