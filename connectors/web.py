"""HTML pages: the visible text only (standard library ``html.parser``, no dependency).

:func:`read_html` ``(data, source, doc_id)`` -> a raw :class:`Doc` or a :class:`Quarantine`
(``stage="parse"``: ``empty`` when no visible text is left, ``bad_encoding`` for NUL bytes or
many undecodable bytes, as for text files).  :func:`visible_text` is the text extraction
alone (e-mail bodies written in HTML use it too).

Visible means: not inside ``<head>``, ``<script>``, ``<style>``, ``<noscript>``,
``<template>``, ``<svg>``, ``<object>``, ``<iframe>``, nor inside an element with the
``hidden`` attribute, ``aria-hidden="true"`` or an inline ``display: none`` /
``visibility: hidden`` style.  Block elements (``p``, ``div``, ``li``, ``h1`` ... ``tr``,
``br``) end a line, table cells are separated by a tab, white space is collapsed as a
browser does (kept inside ``<pre>``), character references are decoded, and an ``<img>``
contributes its ``alt`` text.

Decoding: a byte-order mark, else the ``charset`` named in the first 4 KiB (``<meta
charset>``), else UTF-8 or GB18030 as for text files (``connectors.tickets.decode_text``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from connectors.records import Doc, Quarantine

__all__ = ["HTML_EXTENSIONS", "read_html", "visible_text"]

HTML_EXTENSIONS = (".html", ".htm", ".xhtml")
STAGE = "parse"

_INVISIBLE = {"head", "script", "style", "noscript", "template", "svg", "object", "iframe", "title"}
_BLOCK = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
    "thead", "tfoot", "tr", "ul",
}  # fmt: skip
_CELL = {"td", "th"}
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
}  # fmt: skip
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.hidden = 0
        self.pre = 0

    def _hides(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _INVISIBLE:
            return True
        a = {k.lower(): (v or "") for k, v in attrs}
        return (
            "hidden" in a
            or a.get("aria-hidden", "").lower() == "true"
            or bool(_HIDDEN_STYLE.search(a.get("style", "")))
        )

    def handle_starttag(self, tag: str, attrs) -> None:
        tag = tag.lower()
        if tag in _VOID:
            if not self.hidden:
                if tag in ("br", "hr"):
                    self.out.append("\n")
                elif tag == "img":
                    alt = dict(attrs).get("alt")
                    if alt:
                        self.out.append(f" {alt} ")
            return
        hides = self._hides(tag, attrs)
        self.stack.append((tag, hides))
        self.hidden += hides
        if tag == "pre":
            self.pre += 1
        if not self.hidden:
            if tag in _BLOCK:
                self.out.append("\n")
            elif tag in _CELL:
                self.out.append("\t")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag.lower() in _VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in _VOID or not any(t == tag for t, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            t, hides = self.stack.pop()
            self.hidden -= hides
            if t == "pre":
                self.pre -= 1
            if t == tag:
                break
        if not self.hidden and tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.out.append(data if self.pre else _SPACES.sub(" ", data))


def visible_text(html: str) -> str:
    """The text a browser shows for ``html`` (module docstring): one line per block, without
    leading or trailing spaces and without blank lines."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    lines = []
    for line in "".join(parser.out).split("\n"):
        cells = [c.strip(" ") for c in line.split("\t")]
        line = "\t".join(c for c in cells if c)
        if line:
            lines.append(line)
    return "\n".join(lines)


def decode_html(data: bytes) -> tuple[str, str]:
    """(text, encoding) of an HTML file (module docstring)."""
    from connectors.tickets import decode_text

    if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        m = _CHARSET.search(data[:4096])
        if m:
            name = m.group(1).decode("ascii", "replace")
            try:
                return data.decode(name), name.lower()
            except (LookupError, UnicodeDecodeError):
                pass
    return decode_text(data)


def read_html(data: bytes, source: str, doc_id: str | None = None) -> Doc | Quarantine:
    """One HTML file as a raw :class:`Doc` of its visible text (module docstring)."""
    doc_id = source if doc_id is None else doc_id

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=source, stage=STAGE, reason=reason, detail=detail)

    if not data.strip():
        return quarantine("empty", "the file has no content")
    html, encoding = decode_html(data)
    if "\x00" in html:
        return quarantine("bad_encoding", "NUL bytes: a binary file, not HTML")
    bad = sum(1 for ch in html if "\udc80" <= ch <= "\udcff")
    if bad > max(10, len(html) // 100):
        return quarantine("bad_encoding", f"{bad} bytes are invalid UTF-8 and invalid GB18030")
    html = "".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in html) if bad else html
    try:
        text = visible_text(html)
    except Exception as e:  # html.parser is lenient; this is a parser bug on an exotic page
        return quarantine("corrupt", f"cannot parse the HTML: {type(e).__name__}: {e}")
    if not text.strip():
        return quarantine("empty", "no visible text in the page")
    meta = {"_encoding": encoding, "bytes": len(data), "format": "html"}
    return Doc(id=doc_id, source=source, text=text, pages=1, meta=meta)
