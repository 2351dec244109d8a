"""Word documents (``.docx``): paragraphs and tables in reading order, through python-docx.

:func:`read_docx` ``(data, source, doc_id, max_bytes)`` -> a raw :class:`Doc` or a
:class:`Quarantine` (``stage="parse"``).  The body is read in document order
(``Document.iter_inner_content``): a paragraph is a line, a table is one line per row with
its cells separated by a tab (a merged cell once) and the paragraphs inside a cell joined
with a space; headers, footers, footnotes, comments and text boxes are not read.
``meta``: ``paragraphs``, ``tables``, ``title``/``author`` from the core properties.

Quarantine reasons, as for PDFs:

``encrypted``
    a password-protected document (Office stores it as an OLE2 compound file holding an
    ``EncryptedPackage`` stream, not as a zip).
``corrupt``
    not a zip (a legacy ``.doc`` from Word 97-2003 is named in the detail: save it as
    ``.docx``), a zip without ``word/document.xml``, or XML python-docx cannot read.
``too_large``
    the document's XML parts unpack to more than ``4 x max_bytes`` (a zip bomb).
``empty``
    no text in the body.

python-docx is imported inside :func:`read_docx`.
"""

from __future__ import annotations

import io
import zipfile

from connectors.records import Doc, Quarantine

__all__ = ["DOCX_EXTENSIONS", "read_docx"]

DOCX_EXTENSIONS = (".docx", ".docm")
STAGE = "parse"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def read_docx(
    data: bytes, source: str, doc_id: str | None = None, max_bytes: int | None = None
) -> Doc | Quarantine:
    """One ``.docx`` file as a raw :class:`Doc` (module docstring)."""
    doc_id = source if doc_id is None else doc_id

    def quarantine(reason: str, detail: str) -> Quarantine:
        return Quarantine(id=doc_id, source=source, stage=STAGE, reason=reason, detail=detail)

    if not data:
        return quarantine("empty", "the file has zero bytes")
    if data.startswith(OLE_MAGIC):
        if _ENCRYPTED_STREAM in data:
            return quarantine("encrypted", "password-protected Word document (an encrypted OLE2 package)")
        return quarantine(
            "corrupt", "an OLE2 file, not a .docx: a legacy Word 97-2003 .doc is not read (save it as .docx)"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        return quarantine("corrupt", f"not a .docx (not a zip archive: {e})")
    with zf:
        names = set(zf.namelist())
        if "word/document.xml" not in names:
            return quarantine("corrupt", "a zip archive without word/document.xml: not a Word document")
        unpacked = sum(i.file_size for i in zf.infolist() if i.filename.endswith((".xml", ".rels")))
        limit = 4 * max_bytes if max_bytes else None
        if limit is not None and unpacked > limit:
            return quarantine(
                "too_large", f"the document's XML unpacks to {unpacked:,} bytes, over the limit of {limit:,}"
            )
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        lines, paragraphs, tables = _body_lines(document)
    except Exception as e:  # broken XML, a missing part python-docx needs ...
        return quarantine("corrupt", f"cannot read the Word document: {type(e).__name__}: {e}")
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        return quarantine("empty", "no text in the document body")
    meta = {"bytes": len(data), "format": "docx", "paragraphs": paragraphs, "tables": tables}
    try:
        props = document.core_properties
        meta.update({k: v for k, v in (("title", props.title), ("author", props.author)) if v})
    except Exception:
        pass
    return Doc(id=doc_id, source=source, text=text, pages=1, meta=meta)


def _body_lines(document) -> tuple[list[str], int, int]:
    from docx.table import Table

    lines: list[str] = []
    paragraphs = tables = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            tables += 1
            lines += _table_lines(block)
        else:
            paragraphs += 1
            lines.append(block.text)
    return lines, paragraphs, tables


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            for inner in cell.tables:  # a table inside a cell: its rows, in order
                text = " ".join([text, *(ln.replace("\t", " ") for ln in _table_lines(inner))]).strip()
            cells.append(text)
        lines.append("\t".join(cells).rstrip("\t"))
    return lines
