"""Text cleaning between the readers and the extractor: pure functions, no Ray, no I/O.

``clean_text(text) -> (text, notes)`` turns what a PDF or ticket reader produced into the
text the extractor sees (and against which every output offset is counted).  In order:

1. **Line ends**: ``\\r\\n``, ``\\r``, U+2028 become ``\\n``; U+2029 a paragraph break.
2. **Mojibake repair**, before anything else touches the characters: UTF-8 bytes that were
   decoded as latin-1/cp1252 (``åˆåŒ``, ``å\\x90\\x88å\\x90\\x8c`` for 合同) are repaired run
   by run -- a run of such characters is replaced only when its bytes are valid UTF-8, which
   real latin-1 text practically never is.  UTF-8 bytes decoded as GBK (``鍚堝悓`` for 合同)
   look like ordinary Chinese, so that repair is decided for the whole text: it is applied
   only when the gb18030 -> UTF-8 round trip of the text loses (almost) nothing, which
   genuine Chinese text never survives.  What cannot be repaired (``锟斤拷``, stray
   ``Ã©``-style pairs, replacement characters) is kept and reported in the notes.
3. **Unicode NFKC** -- full-width ASCII letters and digits become half-width (``ＡＢＣ１２３``
   -> ``ABC123``), compatibility ideographs and Kangxi radicals that PDF fonts produce become
   the ordinary characters, ligatures are split (``ﬁ`` -> ``fi``), the ideographic space
   becomes a space -- **except CJK punctuation**: ``，：；（）！？～`` and ``…`` are kept as they
   are.  NFKC would turn ``，`` into ``,``; Chinese business text (and SeqGPT's training
   data) uses the full-width forms, and ``,`` inside ``1,200,000`` must stay unambiguous
   with the clause comma.  ``。、“”《》【】「」`` are not touched by NFKC anyway.
4. **Control and format characters** are removed (C0/C1 controls except ``\\n`` and the
   ``\\f`` page break; zero-width spaces, BOMs, soft hyphens, bidi marks); tabs become spaces.
5. **Whitespace**: runs of spaces collapse to one, lines are stripped, letter-spaced CJK
   headings (``合 同 书``) are closed up, more than one blank line becomes one.
6. **Repeated page headers and footers**: the text is split into pages at ``\\f``; a line
   among the first or last two lines of a page is removed when it appears there on most
   pages (at least 2 and 60%) -- compared with digits masked when it holds a page counter
   (``采购合同 第3页``, ``Page 3``, ``3/5``), verbatim otherwise, so numbered clauses that
   happen to open every page stay -- and page-number lines at a page's
   edge (``第 3 页``, ``第3页 共5页``, ``Page 3 of 5``, ``- 3 -``, ``3/5``) are removed always
   (a bare number only in documents of several pages).
7. **Wrapped lines are rejoined**: PDF line breaks inside a sentence are removed --
   without a space between CJK characters (``北京云杉科技`` + ``有限公司``), with one between
   Latin words; a line-end hyphen is kept and joined without a space (``well-`` + ``known``;
   dropping it would corrupt real hyphenated names, keeping it never loses a character).
   A break is a wrap when the line ran to the right margin (at least 75% of the document's
   typical full line width, and 18 CJK / 36 Latin characters), ends in a clause comma or
   an opening bracket, or the next line starts with lower case or
   closing punctuation; it is kept when the line ends a sentence (``。！？；``) or a label
   (``：``) or a Latin sentence before a capitalized line (``... thirty days.`` /
   ``For Acme Inc.``), or the next line starts a clause, list item or ``label：`` pair (``第三条``,
   ``二、``, ``(1)``, ``乙方：``, ``Party B:``).  Blank lines (paragraphs) are kept; page
   breaks are treated like line breaks, so a sentence running over a page is rejoined too.

Notes are short strings, ``"<kind>: <detail>"``, for the output row and the run summary.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["KEEP_PUNCT", "clean_text", "repair_mojibake"]

# Full-width punctuation that NFKC would fold to ASCII but Chinese text should keep.
KEEP_PUNCT = "，：；（）！？～…"
_KEEP_SPLIT = re.compile(f"([{re.escape(KEEP_PUNCT)}]+)")

# --------------------------------------------------------------------------- mojibake
# cp1252's printable characters above U+00FF, and the byte each one stands for
_CP1252_SPECIAL = {
    ch: bytes([b]) for b in range(0x80, 0xA0) for ch in [bytes([b]).decode("cp1252", errors="ignore")] if ch
}
_LATIN_RUN = re.compile("[\x80-\xff" + re.escape("".join(_CP1252_SPECIAL)) + "]{2,}")
# what latin-1/cp1252-read UTF-8 looks like: a lead byte char followed by a continuation char
_LATIN_SIGNATURE = re.compile("[\xc2-\xf4][\x80-\xbf" + re.escape("".join(_CP1252_SPECIAL)) + "]")
_GBK_SIGNATURE = "锟斤拷"  # U+FFFD's UTF-8 bytes read as GBK: the loss already happened


def _latin_run_bytes(run: str) -> bytes:
    return b"".join(bytes([ord(c)]) if ord(c) < 256 else _CP1252_SPECIAL[c] for c in run)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
        or 0x3000 <= o <= 0x303F  # CJK symbols and punctuation
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x3040 <= o <= 0x30FF  # kana
        or 0xAC00 <= o <= 0xD7AF  # hangul
        or o in (0x201C, 0x201D, 0x2018, 0x2019, 0x2026, 0x2014)  # quotes, …, — used in CJK text
    )


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F or 0xF900 <= o <= 0xFAFF


def _gbk_round_trip(text: str) -> tuple[str, int]:
    """Re-read ``text`` as the UTF-8 bytes it was before a GBK decode; (text, new losses).

    Characters already lost (U+FFFD) split the text into pieces that are re-read on their
    own; a half character at a piece's edge belongs to that old loss and is not counted.
    """
    pieces = []
    lost = 0
    split = text.split("\ufffd")
    for i, piece in enumerate(split):
        core = piece.encode("gb18030").decode("utf-8", errors="replace")
        if i > 0:
            core = core.lstrip("\ufffd")
        if i < len(split) - 1:
            core = core.rstrip("\ufffd")
        lost += core.count("\ufffd")
        pieces.append(core)
    return re.sub("\ufffd+", "\ufffd", "\ufffd".join(pieces)), lost


def repair_mojibake(text: str) -> tuple[str, list[str]]:
    """Repair UTF-8 text that was decoded as latin-1/cp1252 or as GBK; (text, notes)."""
    notes: list[str] = []
    repaired = 0

    def fix(m: re.Match) -> str:
        nonlocal repaired
        run = m.group(0)
        data = _latin_run_bytes(run)
        try:
            out = data.decode("utf-8")
        except UnicodeDecodeError:
            # bytes the wrong decode dropped (cp1252 has no 0x81 0x8d 0x8f 0x90 0x9d) break
            # single characters, not the run: accept it when it is mostly good characters
            out = data.decode("utf-8", errors="replace")
            bad = out.count("\ufffd")
            good = sum(1 for c in out if ord(c) >= 0x800)
            if good < 2 or bad * 2 > good:
                return run
        repaired += 1
        return out

    if _LATIN_RUN.search(text):
        text = _LATIN_RUN.sub(fix, text)
        if repaired:
            notes.append(f"mojibake_repaired: UTF-8 read as latin-1/cp1252 ({repaired} runs)")

    han = sum(1 for c in text if _is_han(c))
    if han >= 2:
        candidate, lost = _gbk_round_trip(text)
        han_after = sum(1 for c in candidate if _is_han(c))
        if candidate != text and 2 <= han_after <= 0.8 * han and lost <= han_after // 10:
            text = candidate
            notes.append(
                "mojibake_repaired: UTF-8 read as GBK"
                + (f" ({lost} undecodable byte sequences)" if lost > 0 else "")
            )

    suspicious = []
    if _GBK_SIGNATURE in text:
        suspicious.append(f"{text.count(_GBK_SIGNATURE)}x 锟斤拷")
    sig = len(_LATIN_SIGNATURE.findall(text))
    if sig >= 2:
        suspicious.append(f"{sig} latin-1 byte pairs")
    if suspicious:
        notes.append("mojibake_suspected: " + ", ".join(suspicious) + " (not repairable)")
    bad = text.count("\ufffd")
    if bad:
        notes.append(f"replacement_chars: {bad}")
    return text, notes


# ------------------------------------------------------------------- normalization
def _nfkc(text: str) -> str:
    """NFKC everywhere except the CJK punctuation in KEEP_PUNCT."""
    if text.isascii():
        return text
    parts = _KEEP_SPLIT.split(text)
    for i in range(0, len(parts), 2):  # even indexes: text between kept punctuation
        if not parts[i].isascii():
            parts[i] = unicodedata.normalize("NFKC", parts[i])
    return "".join(parts)


# a full-width comma/colon that NFKC kept but that groups digits (１，２００) or writes a time
_DIGIT_COMMA = re.compile(r"(?<=\d)，(?=\d{3}(?!\d))")
_DIGIT_COLON = re.compile(r"(?<=\d)：(?=\d\d(?!\d))")

_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f"  # C0/C1 controls except \t \n \f (\r handled before)
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\ufffe\uffff]"
)
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_CJK_CLASS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20"
_LETTER_SPACED = re.compile(f"(?<!\\S)[{_CJK_CLASS}](?: [{_CJK_CLASS}]){{2,}}(?!\\S)")


def _close_letter_spacing(line: str) -> str:
    """``合 同 书`` -> ``合同书`` (3+ single CJK characters separated by single spaces)."""
    if " " not in line:
        return line
    return _LETTER_SPACED.sub(lambda m: m.group(0).replace(" ", ""), line)


# ------------------------------------------------------------- headers and footers
_PAGE_NUMBER = re.compile(
    r"""^(?:
        第\s*\d+\s*页(?:\s*[,，/、]?\s*共\s*\d+\s*页)? |
        共\s*\d+\s*页\s*[,，/、]?\s*第\s*\d+\s*页 |
        [-–—]\s*\d+\s*[-–—] |
        (?:page|p\.?)\s*\d+(?:\s*(?:of|/)\s*\d+)? |
        \d+\s*/\s*\d+ |
        \d+\s*of\s*\d+
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_DIGITS = re.compile(r"\d+")
_PAGE_WORD = re.compile(r"页|\bpage\b|\bp\.\s*\d|\d\s*/\s*\d|\d\s+of\s+\d|[-–—]\s*\d+\s*[-–—]", re.IGNORECASE)
EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be header/footer


def _edges(n: int) -> list[int]:
    idx = list(range(min(EDGE_LINES, n))) + list(range(max(n - EDGE_LINES, 0), n))
    return sorted(set(idx))


def _repeat_key(line: str) -> str:
    """What must repeat across pages: the line itself, or with digits masked when it holds
    a page counter (``北京云杉 采购合同 第3页`` / ``Contract 001 · Page 3``)."""
    return _DIGITS.sub("#", line) if _PAGE_WORD.search(line) else line


def _remove_headers_footers(pages: list[list[str]]) -> tuple[list[list[str]], int]:
    """Drop repeated top/bottom lines and page-number lines; pages are lists of lines."""
    multi = len(pages) >= 2
    counts: dict[str, int] = {}
    if multi:
        for lines in pages:
            content = [i for i, ln in enumerate(lines) if ln]
            for k in {_repeat_key(lines[content[j]]) for j in _edges(len(content))}:
                counts[k] = counts.get(k, 0) + 1
    need = max(2, -(-len(pages) * 6 // 10))  # at least 2 pages and 60% of them
    removed = 0
    out = []
    for lines in pages:
        content = [i for i, ln in enumerate(lines) if ln]
        drop = set()
        for j in _edges(len(content)):
            i = content[j]
            ln = lines[i]
            if (
                _PAGE_NUMBER.match(ln)
                or (multi and _BARE_NUMBER.match(ln))
                or (multi and counts.get(_repeat_key(ln), 0) >= need)
            ):
                drop.add(i)
        removed += len(drop)
        out.append([ln for i, ln in enumerate(lines) if i not in drop])
    return out, removed


# ----------------------------------------------------------------- wrapped lines
_STARTS_ITEM = re.compile(
    r"""^(?:
        第[一二三四五六七八九十百零〇\d]+[条章节款项部分] |
        [一二三四五六七八九十]+[、.．] |
        [（(][一二三四五六七八九十\d]+[)）](?!\s*[a-z]) |
        \d+(?:\.\d+)*[、.．)）](?!\d) |
        [•·●○■□▪◆◇\-–—*>] |
        [A-Za-z][.)]\s |
        (?:Article|Section|Clause|ARTICLE|SECTION|WHEREAS|NOW,?\s+THEREFORE)\b
    )""",
    re.VERBOSE,
)
_STARTS_LABEL = re.compile(
    r"^(?:[^\s：:，,。；;]{1,12}[：:]|[A-Z][A-Za-z .()/&'-]{0,30}:|[a-z][a-z _-]{0,20}:)"
)
_HARD_END = (*"。！？；：!?;:", "……")
_LATIN_SENTENCE_END = re.compile(r"[a-z0-9)][.!?][\"')\]]?$")
_SOFT_END = tuple("，、,（(《“‘[【-–/")
_CONT_START = tuple("，。、；：！？）)》”’】]%,.;:")
WRAP_RATIO = 0.75  # a line at least this share of the typical full line width ran to the margin
MIN_FULL_WIDTH = 36  # ... and at least this wide (18 CJK or 36 Latin characters) to count as full


def _width(s: str) -> int:
    return sum(2 if _is_cjk(c) else 1 for c in s)


def _reference_width(lines: list[str]) -> int:
    widths = sorted(_width(ln) for ln in lines if ln)
    if not widths:
        return 0
    return widths[min(len(widths) - 1, int(len(widths) * 0.95))]


def _is_wrap(a: str, b: str, ref: int) -> bool:
    if _STARTS_ITEM.match(b) or _STARTS_LABEL.match(b):
        return False
    if b.startswith(_CONT_START) or b[0].islower():
        return True
    if a.endswith(_HARD_END) or (_LATIN_SENTENCE_END.search(a) and b[0].isupper()):
        return False
    if a.endswith(_SOFT_END):
        return True
    w = _width(a)
    return w >= MIN_FULL_WIDTH and w >= WRAP_RATIO * ref


def _join(a: str, b: str) -> str:
    x, y = a[-1], b[0]
    if _is_cjk(x) or _is_cjk(y) or y in ",.;:!?)]}%" or x in "([{/-–":
        return a + b
    return a + " " + b


def _rejoin(lines: list[str]) -> tuple[list[str], int]:
    """Lines (``""`` = paragraph break) -> lines with wraps joined; (lines, joins)."""
    ref = _reference_width(lines)
    out: list[str] = []
    joins = 0
    prev = ""  # the previous physical line: its width says whether it ran to the margin
    for ln in lines:
        if not ln:
            if out and out[-1]:
                out.append("")
            prev = ""
            continue
        if out and out[-1] and prev and _is_wrap(prev, ln, ref):
            out[-1] = _join(out[-1], ln)
            joins += 1
        else:
            out.append(ln)
        prev = ln
    while out and not out[-1]:
        out.pop()
    return out, joins


# ------------------------------------------------------------------------ public
def clean_text(text: str, *, layout: bool = True) -> tuple[str, list[str]]:
    """Clean one document's text; returns (clean text, notes).  See the module docstring.

    ``layout=False`` is for text that never went through a page layout (ticket records,
    plain text typed by a person): the author's line breaks are kept as they are and no
    header/footer removal happens; everything else is the same.
    """
    notes: list[str] = []
    if not text:
        return "", notes
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text, mj = repair_mojibake(text)
    notes += mj
    text = _nfkc(text)
    text = _DIGIT_COMMA.sub(",", text)
    text = _DIGIT_COLON.sub(":", text)
    text, n_ctrl = _CONTROL.subn("", text)
    if n_ctrl:
        notes.append(f"control_chars_removed: {n_ctrl}")
    pages = []
    for page in text.split("\f"):
        lines = [_close_letter_spacing(_SPACES.sub(" ", ln).strip()) for ln in page.split("\n")]
        pages.append(lines)
    if layout:
        pages, removed = _remove_headers_footers(pages)
        if removed:
            notes.append(f"headers_footers_removed: {removed} lines")
    lines = [ln for page in pages for ln in page]
    if layout:
        lines, joins = _rejoin(lines)
        if joins:
            notes.append(f"lines_joined: {joins}")
    else:
        lines = _squeeze_blank(lines)
    return "\n".join(lines), notes


def _squeeze_blank(lines: list[str]) -> list[str]:
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):
            out.append(ln)
    while out and not out[-1]:
        out.pop()
    return out
