"""The tokenizer's vocabulary as raw bytes, for constrained decoding.

Constraints work on UTF-8 bytes, not on characters: byte-level BPE (BLOOM, SmolLM2, GPT-2)
can split one Chinese character over two or three tokens, and a token can start in the
middle of a character.  ``TokenBytes`` maps every token id to the exact bytes it adds to
the output, and indexes the vocabulary so that "which tokens are a prefix of these bytes"
is a handful of dict lookups instead of a scan over 250,000 tokens.

Two tokenizer families are understood:
- byte-level BPE (``ByteLevel`` pre-tokenizer/decoder): token strings use GPT-2's
  printable stand-ins for the 256 byte values;
- SentencePiece-style with byte fallback (``▁`` for a space, ``<0x0A>`` for raw bytes).
Special tokens (``<s>``, ``</s>``, ``<pad>``, ``<start_of_image>`` ...) map to ``None``: they
can never be part of a value.  Added tokens that are *not* special are literal text, whatever
the tokenizer family: Gemma lists ``\n``, ``\n\n``, ``\t`` and HTML tags such as ``<b>``
that way, and its tokenizer always writes a line break as that added ``\n`` token.

Several ids can carry the same bytes (a SentencePiece piece and its ``<0xNN>`` byte
fallback; an added ``\n`` and ``<0x0A>``).  The grammar names one id per byte string, and it
must be the one the tokenizer itself produces for that text, since that is the one the model
was trained on: ``by_bytes`` prefers it, and the lowest id where the text does not say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def byte_level_alphabet() -> dict[str, int]:
    """GPT-2's reversible byte <-> printable-character table, as char -> byte value.

    Printable Latin-1 bytes stand for themselves; the other 68 byte values (controls,
    space, a few Latin-1 ones) are shifted to code points 256 and up, in byte order.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


def _is_byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    parts = [backend.pre_tokenizer, backend.decoder]
    text = " ".join(repr(p) for p in parts if p is not None)
    return "ByteLevel" in text


class TokenBytes:
    """Bytes of every token id, plus an index for prefix walks over byte strings.

    ``by_bytes`` maps a token's bytes to its id (the tokenizer's own choice when several
    tokens share the same bytes); ``prefixes`` holds every proper prefix of every token, so a walk along
    a byte string can stop as soon as no token can continue it.
    """

    def __init__(self, tokenizer, vocab_size: int | None = None):
        vocab = tokenizer.get_vocab()
        size = max(vocab_size or 0, max(vocab.values()) + 1)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
        literal: dict[int, str] = {}
        for i, tok in added.items():
            if getattr(tok, "special", True):
                special.add(int(i))
            else:
                literal[int(i)] = str(getattr(tok, "content", tok))
        byte_level = _is_byte_level(tokenizer)
        alphabet = byte_level_alphabet()
        self.bytes: list[bytes | None] = [None] * size
        for tok, idx in vocab.items():
            if idx in special:
                continue
            if idx in literal:
                b = literal[idx].encode("utf-8")
            else:
                b = self._token_to_bytes(tok, byte_level, alphabet)
            if b:
                self.bytes[idx] = b
        self.by_bytes: dict[bytes, int] = {}
        self.prefixes: set[bytes] = set()
        shared: set[bytes] = set()
        for idx, b in enumerate(self.bytes):
            if b is None:
                continue
            if b in self.by_bytes:
                shared.add(b)
            else:
                self.by_bytes[b] = idx  # ids ascend: the lowest id unless the tokenizer says otherwise
            for k in range(1, len(b)):
                self.prefixes.add(b[:k])
        for b in shared:
            own = self._own_id(tokenizer, b)
            if own is not None and self.bytes[own] == b:
                self.by_bytes[b] = own
        self.max_len = max((len(b) for b in self.by_bytes), default=1)

    @staticmethod
    def _own_id(tokenizer, data: bytes) -> int | None:
        """The single id the tokenizer writes for ``data`` alone, if it is one token."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # a piece of a character: only byte tokens write it
        try:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        except Exception:  # a tokenizer that cannot encode a lone piece; keep the lowest id
            return None
        return int(ids[0]) if len(ids) == 1 else None

    @staticmethod
    def _token_to_bytes(tok: str, byte_level: bool, alphabet: dict[str, int]) -> bytes | None:
        if byte_level:
            try:
                return bytes(alphabet[c] for c in tok)
            except KeyError:
                return tok.encode("utf-8")
        m = _BYTE_TOKEN.match(tok)
        if m:
            return bytes([int(m.group(1), 16)])
        return tok.replace("\u2581", " ").encode("utf-8")

    def ids_along(self, data: bytes, start: int, stop: int | None = None) -> Iterator[tuple[int, int]]:
        """Yield ``(token_id, end)`` for every token whose bytes equal ``data[start:end]``.

        Walks forward from ``start`` and stops as soon as no token has the bytes read so far
        as a prefix: cost is the length of the longest matching token, not the vocabulary.
        """
        stop = len(data) if stop is None else stop
        end = start + 1
        limit = min(stop, start + self.max_len)
        while end <= limit:
            piece = data[start:end]
            idx = self.by_bytes.get(piece)
            if idx is not None:
                yield idx, end
            if piece not in self.prefixes:
                return
            end += 1

    def ids_with_prefix_of(self, data: bytes) -> list[int]:
        """Token ids whose bytes are a non-empty prefix of ``data``."""
        return [idx for idx, _ in self.ids_along(data, 0)]
