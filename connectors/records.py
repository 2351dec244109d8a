"""The record types that flow from the readers into the pipeline.

One unit of work is a :class:`Doc` (like datatrove's ``Document``): a PDF, or one ticket of a
JSONL/CSV/Parquet file.  An input that cannot become a ``Doc`` becomes a :class:`Quarantine`
record instead -- readers never raise for bad input, they say why and move on, so one broken
file never stops a run of millions and nothing is dropped silently.

Both types turn into plain dicts (``to_dict``) and back (``from_dict``, or
:func:`record_from_dict` when the kind is not known): Ray Data passes rows as dicts.

This module imports only the standard library and ``extractor.errors`` (the project's
exception base, itself standard library only).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from extractor.errors import SeqgptError

__all__ = ["ConnectorError", "Doc", "Quarantine", "doc_key", "escape_unsafe", "record_from_dict", "safe_id"]

# Characters that never belong in an id or a printed name: C0/C1 controls (NUL, ESC, BEL,
# newlines ...), lone surrogates, line/paragraph separators and the bidi overrides that can
# make a name print as something else.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_unsafe(text: str) -> str:
    """``text`` with every unsafe character (controls, lone surrogates, line separators, bidi
    overrides) written as ``\\xNN`` or ``\\uNNNN``; other text unchanged."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def safe_id(doc_id: str) -> tuple[str, str | None]:
    """``(id, note)``: an id with unsafe characters escaped (:func:`escape_unsafe`) and a note
    saying so, or the id unchanged and None.  Ids are otherwise data: ``../../x`` and
    ``/abs/path`` are kept as they are (they never name a file of ours)."""
    escaped = escape_unsafe(doc_id)
    if escaped == doc_id:
        return doc_id, None
    return escaped, "id_escaped: control or invisible characters in the id are written as \\xNN/\\uNNNN"


def doc_key(source: str, doc_id: str) -> str:
    """The unambiguous key of one input record: a SHA-1 of ``(source, id)`` (40 hex digits).
    ``doc_id`` alone repeats when two ticket files use the same id; the key does not.  It is
    also the record key of exactly-once reruns (``pipelines.stages.record_key``)."""
    return hashlib.sha1(json.dumps([source, doc_id]).encode()).hexdigest()


class ConnectorError(SeqgptError):
    """A problem with an input or output location as a whole (missing bucket, missing path,
    unreadable listing, a file whose header lacks the configured id column ...).

    The message always names the URI involved and never holds credentials.  Problems with a
    single document are not errors: they become :class:`Quarantine` records.
    """


def _meta_to_json(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)


@dataclass
class Doc:
    """One document to extract from.

    ``id`` is unique within a run's input (a PDF's relative path, a ticket's id column);
    ``source`` is the file it came from (URI or relative path; a ticket's line number is in
    ``meta["_line"]``); ``text`` is the whole text, PDF pages joined with ``"\\f"`` (form
    feed); ``pages`` is the page count (1 for tickets); ``meta`` holds everything else the
    reader knows (a ticket's other columns, the PDF engine, ``ocr``: the OCR confidence
    and lines of a document read by OCR ...); ``notes`` are what the reader and the cleaner
    did or suspect (``connectors.clean``: repaired mojibake, removed headers; ``ocr: ...``:
    which pages were OCR'd and why).  ``blob`` holds the file's bytes while pages still
    await OCR (``meta["ocr_todo"]``, see ``connectors.documents.ocr_document``), else None;
    it is not part of :meth:`to_dict`.
    """

    id: str
    source: str
    text: str
    pages: int = 1
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    blob: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self, *, meta_json: bool = False) -> dict[str, Any]:
        """A plain dict row.  ``meta_json=True`` encodes ``meta`` as a JSON string, which keeps
        Arrow blocks of heterogeneous tickets in one schema (no struct type conflicts)."""
        meta: Any = _meta_to_json(self.meta) if meta_json else dict(self.meta)
        return {
            "id": self.id,
            "source": self.source,
            "text": self.text,
            "pages": self.pages,
            "meta": meta,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Doc:
        """Inverse of :meth:`to_dict` (either ``meta`` form); also accepts ``doc_id``."""
        meta = d.get("meta") or {}
        if isinstance(meta, (str, bytes)):
            meta = json.loads(meta)
        doc_id = d["id"] if d.get("id") is not None else d["doc_id"]
        pages = d.get("pages")
        return cls(
            id=str(doc_id),
            source=str(d.get("source") or ""),
            text=d.get("text") or "",
            pages=int(pages) if pages is not None else 1,
            meta=dict(meta),
            notes=[str(n) for n in d.get("notes") or []],
        )


@dataclass
class Quarantine:
    """An input that could not be processed, and why.

    ``reason`` is a stable short code (``encrypted``, ``corrupt``, ``malformed_json`` ...: see
    :mod:`connectors.pdf` and :mod:`connectors.tickets`), ``detail`` a human sentence, ``stage``
    the pipeline stage that gave up (readers use ``"parse"``).
    """

    id: str
    source: str
    stage: str
    reason: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Quarantine:
        doc_id = d["id"] if d.get("id") is not None else d["doc_id"]
        return cls(
            id=str(doc_id),
            source=str(d.get("source") or ""),
            stage=str(d.get("stage") or ""),
            reason=str(d["reason"]),
            detail=str(d.get("detail") or ""),
        )


def record_from_dict(d: dict[str, Any]) -> Doc | Quarantine:
    """A :class:`Quarantine` when the dict has a non-empty ``reason``, else a :class:`Doc`."""
    if d.get("reason"):
        return Quarantine.from_dict(d)
    return Doc.from_dict(d)
