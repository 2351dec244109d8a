"""Constrained decoding: the output grammar as a byte-level automaton.

The model may only write what the schema allows, so every value is a verbatim span of the
input and every label is one the user asked for.  The grammar of an extraction answer is::

    answer := line ("\\n" line)* EOS
    line   := LABEL ":" [" "] ( "None" | span (SEP span)* )
    SEP    := "\\t" | "，"

where LABEL is one of the requested prompt labels not yet answered (each at most once, so
decoding always terminates), and a span is a non-empty byte string that occurs in the input
text, starts and ends on a character boundary, starts on a non-space character and contains
no tab or newline.  A value repeated within one line may only be followed by the line's end
(a model that starts looping cannot starve the other labels of the token budget).  A
classification answer is one requested label (or, for multi-label
fields, several separated by SEP).

The automaton runs on UTF-8 bytes because byte-level BPE tokens can end in the middle of a
character.  It is a small NFA: a state is a tuple of alternatives (``"N"`` can start
``None`` or a span beginning with N; ``，`` inside a value can continue the span or separate
two values), listed in order of preference; decoding keeps every alternative alive and the
first one that accepts the end wins.  A span alternative carries the set of byte positions
where the text read so far can end, so continuing it is a lookup, and the character offsets
of a finished span are exact: ``text[start:end] == value``.

Typed labels.  A label may come with ``Candidates``: the spans of the text its field's type
accepts (dates, amounts, phone numbers, ID numbers with a valid check digit, choices ... see
``extractor.recognize``).  Its values may then only be one of those spans: a value starts
only where a candidate starts, continues only while a candidate from that start is longer,
and closes only at a candidate's end.  A label without candidates takes any span.

``allowed(state)`` returns the token ids the model may produce next.  It walks the token
byte index (``extractor.vocab``) along what the automaton accepts and stops as soon as no
token continues, so its cost is independent of the vocabulary size; the largest set, the
tokens that can start a value, is computed once per input text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocab import TokenBytes

TAB = 0x09
NL = 0x0A
SPACE = 0x20
COLON = b":"
NONE = b"None"
CN_COMMA = "，".encode()
SEPARATORS = (b"\t", CN_COMMA)
MAX_SPANS_PER_LABEL = 32
MAX_ALTERNATIVES = 8

# Alternative kinds (first element of each alternative tuple).
HEAD, VSTART, NONEWORD, LINE_END, SPAN, SEPARATOR, CLASS, CLASS_DONE = range(8)


@dataclass(frozen=True)
class FoundSpan:
    """A span read from the output: label index, byte offsets and the tokens that made it."""

    label: int
    start: int
    end: int
    first_token: int
    last_token: int


class TextIndex:
    """Per input text: its bytes, character boundaries and the tokens that can start a value."""

    def __init__(self, text: str, vocab: TokenBytes):
        self.text = text
        self.data = text.encode("utf-8")
        self.vocab = vocab
        n = len(self.data)
        # byte offset -> char offset, for character boundaries only
        self.char_at: dict[int, int] = {}
        self.byte_at: list[int] = []  # char offset -> byte offset (and len(text) -> n)
        pos = 0
        starts: list[int] = []
        for ci, ch in enumerate(text):
            self.char_at[pos] = ci
            self.byte_at.append(pos)
            if not ch.isspace():
                starts.append(pos)
            pos += len(ch.encode("utf-8"))
        self.char_at[n] = len(text)
        self.byte_at.append(n)
        self.value_starts = starts
        self.by_first_byte: dict[int, list[int]] = {}
        for p in starts:
            self.by_first_byte.setdefault(self.data[p], []).append(p)
        self._start_tables: dict = {}
        self._keep_alive: list = []
        self._phrase: tuple[set[int], dict[int, int]] | None = None

    def is_boundary(self, pos: int) -> bool:
        return pos in self.char_at

    def phrase_ok(self, start: int, end: int) -> bool:
        """Whether a free-text value may be the bytes ``start:end``: it does not end on a word
        that cannot end a phrase (的, 及, 和, 与, 或 ..., of, the, and, to ...: ``协商不成的``
        is half a clause) and its brackets and quotes balance (``北京云杉（集团`` is cut
        inside a bracket)."""
        if self._phrase is None:
            self._phrase = _phrase_tables(self.text, self.byte_at)
        dangling, depth = self._phrase
        if end in dangling:
            return False
        return depth.get(end, 0) == depth.get(start, 0)

    def start_table(self, lead: bytes, candidates: Candidates | None = None) -> dict[int, frozenset[int]]:
        """Tokens made of ``lead`` + the beginning of a value, with the value's end positions
        (values restricted to ``candidates``' spans when given)."""
        key = (lead, id(candidates)) if candidates is not None else lead
        table = self._start_tables.get(key)
        if table is not None:
            return table
        acc: dict[int, set[int]] = {}
        vocab, data = self.vocab, self.data
        by_bytes, prefixes = vocab.by_bytes, vocab.prefixes
        if lead and lead not in prefixes:
            self._start_tables[key] = {}
            return {}
        starts = self.value_starts if candidates is None else sorted(candidates.ends)
        for p in starts:
            end = p + 1
            limit = min(len(data), p + vocab.max_len)
            if candidates is not None:
                limit = min(limit, candidates.max_end[p])
            while end <= limit:
                b = data[end - 1]
                if b == TAB or b == NL:
                    break
                piece = lead + data[p:end]
                tid = by_bytes.get(piece)
                if tid is not None:
                    acc.setdefault(tid, set()).add(end)
                if piece not in prefixes:
                    break
                end += 1
        table = {tid: frozenset(ends) for tid, ends in acc.items()}
        self._start_tables[key] = table
        if candidates is not None:
            self._keep_alive.append(candidates)  # its id() keys the table
        return table


# a free-text value does not end on these function words (的 unless in 目的; English: whole words)
_DANGLING_ZH = set("的及与或对把被按从跟")  # not 和/之/向: names end on them (王羲之)
_DANGLING_EN = {
    "of",
    "the",
    "a",
    "an",
    "and",
    "or",
    "to",
    "by",
    "with",
    "for",
    "in",
    "on",
    "at",
    "from",
    "as",
}
_NUMERALS = set("〇零一二两三四五六七八九十百千万")
_OPEN = {"（": 1, "(": 1, "【": 1, "[": 1, "《": 1, "“": 1, "「": 1, "{": 1}
_CLOSE = {"）": 1, ")": 1, "】": 1, "]": 1, "》": 1, "”": 1, "」": 1, "}": 1}


def _phrase_tables(text: str, byte_at: list[int]) -> tuple[set[int], dict[int, int]]:
    """Byte offsets where a free-text value may not end, and the bracket depth at every
    character boundary (for ``TextIndex.phrase_ok``)."""
    dangling: set[int] = set()
    depth: dict[int, int] = {0: 0}
    d = 0
    for i, ch in enumerate(text):
        d += _OPEN.get(ch, 0) - _CLOSE.get(ch, 0)
        end = byte_at[i + 1]
        depth[end] = d
        prev = text[i - 1] if i > 0 else ""
        if (
            ch in _DANGLING_ZH
            and not (ch == "的" and prev == "目")
            and not (prev.isdigit() or prev in _NUMERALS)
        ):
            dangling.add(end)  # (3把, 一对: a count's unit, not a function word)
        elif (
            ch.isascii()
            and ch.isalpha()
            and not (i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalpha())
        ):
            j = i
            while j > 0 and text[j - 1].isascii() and text[j - 1].isalpha():
                j -= 1
            if text[j : i + 1].lower() in _DANGLING_EN and (j == 0 or not text[j - 1].isalnum()):
                dangling.add(end)
    return dangling, depth


class Candidates:
    """The spans (byte offsets) a typed label's value may be: ``(start, end)`` pairs."""

    @classmethod
    def from_chars(cls, index: TextIndex, spans) -> Candidates:
        """From character spans of ``index.text`` (values never start on a space)."""
        text, at = index.text, index.byte_at
        return cls((at[a], at[b]) for a, b in spans if 0 <= a < b <= len(text) and not text[a].isspace())

    def __init__(self, spans):
        ends: dict[int, set[int]] = {}
        for start, end in spans:
            if end > start:
                ends.setdefault(start, set()).add(end)
        self.ends = {s: frozenset(e) for s, e in ends.items()}
        self.max_end = {s: max(e) for s, e in ends.items()}

    def __bool__(self) -> bool:
        return bool(self.ends)

    def by_first_byte(self, data: bytes) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for start in sorted(self.ends):
            out.setdefault(data[start], []).append(start)
        return out

    def can_grow(self, end: int, length: int) -> bool:
        """A candidate from ``end - length`` is longer than ``length``."""
        return self.max_end.get(end - length, -1) > end

    def closes(self, end: int, length: int) -> bool:
        return end in self.ends.get(end - length, ())


class Grammar:
    """The automaton for one prompt: an extraction over ``labels`` or a classification.

    States are immutable tuples of alternatives; ``initial()``, ``allowed()``,
    ``advance()``, ``can_end()`` and ``finish()`` are pure functions of the state, so the
    decoder keeps one state per sequence and nothing else.
    """

    def __init__(
        self,
        labels: list[str],
        index: TextIndex | None,
        *,
        classify: bool = False,
        multi_label: bool = False,
        candidates: dict[int, Candidates] | None = None,
    ):
        if not labels:
            raise ValueError("a grammar needs at least one label")
        self.labels = labels
        self.index = index
        self.candidates = dict(candidates or {})  # label index -> the spans its value may be
        self._cand_first = {
            j: c.by_first_byte(index.data) for j, c in self.candidates.items() if index is not None
        }
        self.vocab = index.vocab if index is not None else None
        self.classify = classify
        self.multi_label = multi_label
        if not classify and index is None:
            raise ValueError("an extraction grammar needs the input text")
        tail = b"" if classify else COLON
        self.heads = [lab.encode("utf-8") + tail for lab in labels]

    def bind(self, vocab: TokenBytes) -> Grammar:
        self.vocab = vocab
        return self

    # ----------------------------------------------------------------- states
    def initial(self) -> tuple:
        mask = frozenset(range(len(self.labels)))
        if self.classify:
            return ((CLASS, mask, b"", ()),)
        return ((HEAD, mask, b"", ()),)

    # an alternative's byte transitions -------------------------------------------------
    def _step(self, alt: tuple, byte: int, t: int) -> list[tuple]:
        kind = alt[0]
        out: list[tuple] = []
        if kind == HEAD or kind == CLASS:
            _, mask, prefix, spans = alt
            new = prefix + bytes((byte,))
            inside = False
            for j in sorted(mask):
                head = self.heads[j]
                if head == new:
                    if kind == HEAD:
                        out.append((VSTART, mask - {j}, j, True, True, spans))
                    else:
                        out.append((CLASS_DONE, mask - {j}, (*spans, j)))
                elif head.startswith(new):
                    inside = True
            if inside:
                out.append((kind, mask, new, spans))
            return out
        if kind == CLASS_DONE:
            _, mask, chosen = alt
            if self.multi_label and mask and byte == TAB:
                out.append((CLASS, mask, b"", chosen))
            return out
        if kind == VSTART:
            _, mask, j, space_ok, first, spans = alt
            if byte == SPACE and space_ok:
                out.append((VSTART, mask, j, False, first, spans))
            if first and byte == NONE[0]:
                out.append((NONEWORD, mask, 1, spans))
            positions = self._first_bytes(j).get(byte)
            if positions and self._line_count(spans, j) < MAX_SPANS_PER_LABEL:
                out.append((SPAN, mask, j, frozenset(p + 1 for p in positions), 1, t, spans))
            return out
        if kind == NONEWORD:
            _, mask, k, spans = alt
            if byte == NONE[k]:
                out.append((LINE_END, mask, spans) if k + 1 == len(NONE) else (NONEWORD, mask, k + 1, spans))
            return out
        if kind == LINE_END:
            _, mask, spans = alt
            if byte == NL and mask:
                out.append((HEAD, mask, b"", spans))
            return out
        if kind == SPAN:
            _, mask, j, ends, length, t0, spans = alt
            data = self.index.data
            cand = self.candidates.get(j)
            if byte != TAB and byte != NL:
                nxt = frozenset(
                    e + 1
                    for e in ends
                    if e < len(data) and data[e] == byte and (cand is None or cand.can_grow(e, length))
                )
                if nxt:
                    out.append((SPAN, mask, j, nxt, length + 1, t0, spans))
            end = self._close_at(alt)
            if end is not None:
                closed = (*spans, (j, end - length, end, t0, t))
                if self._repeats(spans, j, end - length, end):
                    # the same value again: the answer for this label is looping; the line
                    # may only end here (the copy is merged away), so it cannot starve the
                    # labels after it of the token budget
                    if byte == NL and mask:
                        out.append((HEAD, mask, b"", closed))
                    return out
                if byte == TAB:
                    out.append((VSTART, mask, j, False, False, closed))
                elif byte == NL and mask:
                    out.append((HEAD, mask, b"", closed))
                elif byte == CN_COMMA[0]:
                    out.append((SEPARATOR, mask, j, 1, closed))
            return out
        if kind == SEPARATOR:
            _, mask, j, k, spans = alt
            if byte == CN_COMMA[k]:
                if k + 1 == len(CN_COMMA):
                    out.append((VSTART, mask, j, True, False, spans))
                else:
                    out.append((SEPARATOR, mask, j, k + 1, spans))
            return out
        raise AssertionError(f"unknown alternative {alt!r}")

    def _first_bytes(self, j: int) -> dict[int, list[int]]:
        """Where label ``j``'s values may start, by first byte."""
        return self._cand_first[j] if j in self._cand_first else self.index.by_first_byte

    def _close_at(self, alt: tuple) -> int | None:
        """The end offset a SPAN alternative closes at (its first occurrence that is a whole
        character, and a candidate for typed labels), or None when it cannot close here."""
        _, _mask, j, ends, length, _t0, _spans = alt
        cand = self.candidates.get(j)
        for end in sorted(ends):
            if not self.index.is_boundary(end):
                continue
            if cand is None and not self.index.phrase_ok(end - length, end):
                continue
            if cand is None or cand.closes(end, length):
                return end
        return None

    def _repeats(self, spans: tuple, j: int, start: int, end: int) -> bool:
        data = self.index.data
        value = data[start:end]
        return any(s[0] == j and data[s[1] : s[2]] == value for s in spans)

    @staticmethod
    def _line_count(spans: tuple, j: int) -> int:
        return sum(1 for s in spans if s[0] == j)

    def _step_state(self, state: tuple, byte: int, t: int) -> tuple:
        out: list[tuple] = []
        for alt in state:
            for nxt in self._step(alt, byte, t):
                if nxt not in out:
                    out.append(nxt)
        return tuple(out[:MAX_ALTERNATIVES])

    def advance(self, state: tuple, token_bytes: bytes, t: int) -> tuple:
        """The state after the token with bytes ``token_bytes`` at output position ``t``."""
        for byte in token_bytes:
            state = self._step_state(state, byte, t)
            if not state:
                return ()
        return state

    # ------------------------------------------------------------- end of output
    def _alt_can_end(self, alt: tuple) -> bool:
        kind = alt[0]
        if kind == HEAD:
            return alt[2] == b""
        if kind == LINE_END:
            return True
        if kind == SPAN:
            return self._close_at(alt) is not None
        return kind == CLASS_DONE

    def can_end(self, state: tuple) -> bool:
        return any(self._alt_can_end(a) for a in state)

    def finish(self, state: tuple, t: int) -> tuple[list[FoundSpan], list[int], bool]:
        """Spans (extraction) or label indices (classification) of the preferred complete
        reading of the output, and whether the output was complete at all."""
        for alt in state:
            if self._alt_can_end(alt):
                return (*self._collect(alt, t), True)
        # cut off (token budget): keep what was closed in the first alternative
        if state:
            spans, labels = self._collect(state[0], t, closing=False)
            return spans, labels, False
        return [], [], False

    def _collect(self, alt: tuple, t: int, closing: bool = True) -> tuple[list[FoundSpan], list[int]]:
        if alt[0] in (CLASS, CLASS_DONE):
            return [], list(alt[-1])
        spans = alt[-1]
        if alt[0] == SPAN:
            _, _mask, j, _ends, length, t0, _ = alt
            end = self._close_at(alt)
            if closing and end is not None:
                spans = (*spans, (j, end - length, end, t0, t))
        return [FoundSpan(j, s, e, t0, t1) for j, s, e, t0, t1 in spans], []

    # ---------------------------------------------------------------- allowed tokens
    def allowed(self, state: tuple) -> set[int]:
        """Token ids that keep at least one alternative of ``state`` alive."""
        vocab = self.vocab
        by_bytes, prefixes = vocab.by_bytes, vocab.prefixes
        result: set[int] = set()
        frontier: list[tuple[bytes, tuple]] = []
        for alt in state:
            if alt[0] == VSTART:
                self._value_start_tokens(alt, b"", result)
            frontier.append((b"", alt))
        seen: set[tuple[bytes, tuple]] = set()
        while frontier:
            prefix, alt = frontier.pop()
            for byte, nxt in self._transitions(alt, prefix):
                piece = prefix + bytes((byte,))
                in_prefixes = piece in prefixes
                tid = by_bytes.get(piece)
                if tid is None and not in_prefixes:
                    continue
                for a in nxt:
                    if tid is not None:
                        result.add(tid)
                    if in_prefixes and (piece, a) not in seen:
                        seen.add((piece, a))
                        if a[0] == VSTART and piece == b" ":
                            # a space then a value: the second precomputed table
                            self._value_start_tokens(a, piece, result)
                        frontier.append((piece, a))
        return result

    def _value_start_tokens(self, alt: tuple, lead: bytes, result: set[int]) -> None:
        _, _mask, j, _space_ok, _first, spans = alt
        if self._line_count(spans, j) >= MAX_SPANS_PER_LABEL:
            return
        result.update(self.index.start_table(lead, self.candidates.get(j)))

    def _transitions(self, alt: tuple, prefix: bytes) -> list[tuple[int, list[tuple]]]:
        """(byte, next alternatives) pairs out of ``alt``, for the allowed-token walk.

        Value starts reached at the beginning of a token (or after one leading space) come
        from the precomputed start tables instead, so they are not expanded here.
        """
        kind = alt[0]
        if kind == SPAN:
            _, mask, j, ends, length, t0, spans = alt
            data = self.index.data
            cand = self.candidates.get(j)
            groups: dict[int, list[int]] = {}
            for e in ends:
                if e < len(data) and (cand is None or cand.can_grow(e, length)):
                    b = data[e]
                    if b != TAB and b != NL:
                        groups.setdefault(b, []).append(e + 1)
            moves = [(b, [(SPAN, mask, j, frozenset(v), length + 1, t0, spans)]) for b, v in groups.items()]
            if self._close_at(alt) is not None:
                for byte in (TAB, NL, CN_COMMA[0]):
                    nxt = self._step(alt, byte, -1)
                    nxt = [a for a in nxt if a[0] != SPAN]
                    if nxt:
                        moves.append((byte, nxt))
            return moves
        if kind == VSTART:
            _, mask, j, space_ok, first, spans = alt
            moves = []
            if space_ok:
                moves.append((SPACE, [(VSTART, mask, j, False, first, spans)]))
            if first:
                moves.append((NONE[0], [(NONEWORD, mask, 1, spans)]))
            if prefix not in (b"", b" "):
                # a value starting in the middle of a token (after ':' or a separator)
                if self._line_count(spans, j) < MAX_SPANS_PER_LABEL:
                    for byte, positions in self._first_bytes(j).items():
                        moves.append(
                            (byte, [(SPAN, mask, j, frozenset(p + 1 for p in positions), 1, -1, spans)])
                        )
            return moves
        if kind in (HEAD, CLASS):
            _, mask, prefix_h, _spans = alt
            nexts = {
                self.heads[j][len(prefix_h)]
                for j in mask
                if len(self.heads[j]) > len(prefix_h) and self.heads[j].startswith(prefix_h)
            }
            return [(byte, self._step(alt, byte, -1)) for byte in sorted(nexts)]
        return [(byte, self._step(alt, byte, -1)) for byte in self._literal_next(alt)]

    def _literal_next(self, alt: tuple) -> list[int]:
        kind = alt[0]
        if kind == NONEWORD:
            return [NONE[alt[2]]]
        if kind == LINE_END:
            return [NL] if alt[1] else []
        if kind == SEPARATOR:
            return [CN_COMMA[alt[3]]]
        if kind == CLASS_DONE:
            return [TAB] if self.multi_label and alt[1] else []
        return []
