"""E-mail messages (``.eml``, RFC 5322 / MIME): the message and each attachment as documents.

:func:`read_email` ``(data, source, doc_id, parse)`` -> a list of raw records:

- the **message** (``id`` = ``doc_id``): its headers ``From``, ``To``, ``Cc``, ``Date``,
  ``Subject`` as ``Name: value`` lines, a blank line, and the text body (``text/plain``, else
  the visible text of the ``text/html`` body, ``connectors.web.visible_text``);
  ``meta``: ``from``, ``to``, ``subject``, ``date``, ``message_id`` and ``attachments`` (their
  ids);
- every **attachment** as a document of its own, read by the reader of its kind (PDF, image,
  Word, HTML, text, an attached e-mail ...: ``parse(data, source, kind, doc_id)``, i.e.
  ``connectors.documents.parse_documents``) and keyed under the message:
  ``id`` = ``<doc_id>/attachment-<n>/<file name>`` (n from 1), ``meta["message"]`` =
  ``doc_id``.  An attachment no reader takes is a quarantine row (``unsupported_type``), so
  it is never lost silently; a message attached to a message is read the same way, at most
  :data:`MAX_DEPTH` levels deep.

Quarantine reasons (``stage="parse"``), as for PDFs: ``encrypted`` (S/MIME enveloped data,
``multipart/encrypted`` PGP), ``corrupt`` (NUL bytes or no header at all: not an e-mail),
``empty`` (no header, body or attachment with content).

Standard library only (``email``); the readers of the attachments import what they need.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from connectors.records import Doc, Quarantine

__all__ = ["EMAIL_EXTENSIONS", "MAX_DEPTH", "read_email"]

EMAIL_EXTENSIONS = (".eml",)
HEADERS = ("From", "To", "Cc", "Date", "Subject")
MAX_DEPTH = 3
STAGE = "parse"
_UNSAFE = re.compile(r"[\x00-\x1f/\\]+")

Parse = Callable[[bytes, str, str, str], Iterable[Doc | Quarantine]]


def read_email(
    data: bytes, source: str, doc_id: str | None = None, parse: Parse | None = None
) -> list[Doc | Quarantine]:
    """The message and its attachments (module docstring).  ``parse(data, source, kind,
    doc_id)`` reads an attachment of ``kind``; None leaves attachments unread (each one a
    quarantine row saying so)."""
    doc_id = source if doc_id is None else doc_id
    depth = doc_id.count("/attachment-")  # an attached message is read with its own id

    def quarantine(reason: str, detail: str, rid: str = doc_id) -> Quarantine:
        return Quarantine(id=rid, source=source, stage=STAGE, reason=reason, detail=detail)

    if not data.strip():
        return [quarantine("empty", "the file has no content")]
    if b"\x00" in data[:65536]:
        return [quarantine("corrupt", "NUL bytes: a binary file, not an e-mail message")]
    try:
        msg = BytesParser(policy=policy.default).parsebytes(data)
    except Exception as e:
        return [quarantine("corrupt", f"cannot parse the message: {type(e).__name__}: {e}")]
    if not msg.keys():
        return [quarantine("corrupt", "no e-mail headers (From, To, Subject ...): not an e-mail message")]
    ctype = msg.get_content_type()
    if ctype == "multipart/encrypted" or (
        ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime")
        and "signed-data" not in str(msg.get_param("smime-type") or "")
    ):
        return [quarantine("encrypted", f"an encrypted message ({ctype}): it cannot be read without the key")]

    head = []
    for name in HEADERS:
        value = msg.get(name)
        if value is not None and str(value).strip():
            head.append(f"{name}: {_one_line(str(value))}")
    body = _body_text(msg)
    records: list[Doc | Quarantine] = []
    attachment_ids: list[str] = []
    for n, part in enumerate(msg.iter_attachments(), 1):
        name = _UNSAFE.sub("_", part.get_filename() or "") or f"part{n}"
        rid = f"{doc_id}/attachment-{n}/{name}"
        attachment_ids.append(rid)
        records += _attachment(part, name, rid, source, doc_id, parse, depth)
    text = "\n".join(head) + ("\n\n" + body if body.strip() else "")
    if not body.strip() and not head and not attachment_ids:
        return [quarantine("empty", "no headers, body or attachments with content")]
    meta = {
        "format": "eml",
        "bytes": len(data),
        "from": _one_line(str(msg.get("From") or "")),
        "to": _one_line(str(msg.get("To") or "")),
        "subject": _one_line(str(msg.get("Subject") or "")),
        "date": str(msg.get("Date") or ""),
        "message_id": str(msg.get("Message-ID") or ""),
        "attachments": attachment_ids,
    }
    return [Doc(id=doc_id, source=source, text=text, pages=1, meta=meta), *records]


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _body_text(msg: EmailMessage) -> str:
    from connectors.web import visible_text

    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    return visible_text(text) if part.get_content_type() == "text/html" else text


def _part_text(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except Exception:  # an unknown charset, broken transfer encoding: keep what decodes
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)


def _attachment(
    part: EmailMessage, name: str, rid: str, source: str, message_id: str, parse: Parse | None, depth: int
) -> list[Doc | Quarantine]:
    from connectors.documents import kind_for_name, sniff_kind

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=rid, source=source, stage=STAGE, reason=reason, detail=detail)

    ctype = part.get_content_type()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        cte = str(part.get("Content-Transfer-Encoding") or "").strip().lower()
        if cte in ("base64", "quoted-printable") and hasattr(inner, "get_payload"):
            # an encoded attached message is parsed as a message without headers: decode its text
            import base64
            import quopri

            encoded = str(inner.get_payload()).encode("ascii", "replace")
            try:
                data = base64.b64decode(encoded) if cte == "base64" else quopri.decodestring(encoded)
            except ValueError:
                data = b""
        else:
            data = (
                inner.as_bytes()
                if hasattr(inner, "as_bytes")
                else bytes(part.get_payload(decode=True) or b"")
            )
        kind = "email"
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        kind = kind_for_name(name)
        if kind is None and ctype.startswith("text/"):
            kind = "html" if ctype == "text/html" else "text"
        if kind is None:
            sniffed = sniff_kind(data, name)
            kind = sniffed if sniffed in ("pdf", "image", "docx") else None
    if not data:
        return [quarantine("empty", f"attachment {name!r} ({ctype}) has no content")]
    if kind is None or kind == "tickets":
        return [
            quarantine("unsupported_type", f"attachment {name!r} ({ctype}): no reader for this file type")
        ]
    if kind == "email" and depth + 1 > MAX_DEPTH:
        return [quarantine("too_large", f"attached message {name!r} is nested over {MAX_DEPTH} levels deep")]
    if parse is None:
        return [quarantine("unsupported_type", f"attachment {name!r}: attachments are not read here")]
    out: list[Doc | Quarantine] = []
    for rec in parse(data, source, kind, rid):
        if isinstance(rec, Doc):
            rec.meta.setdefault("message", message_id)
            rec.meta.setdefault("filename", name)
            rec.meta.setdefault("_kind", kind)
        out.append(rec)
    return out
