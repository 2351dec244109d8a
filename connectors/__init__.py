"""Where documents come from and where rows go.

- :mod:`connectors.records` -- ``Doc`` and ``Quarantine``, the records every reader yields;
- :mod:`connectors.fs` -- ``Folder``: local paths and ``s3://`` through one pyarrow.fs API;
- :mod:`connectors.documents` -- the one way to read a document: ``read_document(data, name)``
  (parse + clean, what the CLI and the app call), ``parse_documents`` and ``clean_document``
  (the pipeline's read and clean stages), ``ReadOptions`` and the size limits;
- :mod:`connectors.pdf` -- ``read_pdf(data, source)``;
- :mod:`connectors.tickets` -- ``read_tickets(data, source)`` for JSONL/CSV/Parquet tickets;
- :mod:`connectors.clean` -- ``clean_text(text)``: NFKC with CJK punctuation kept, headers and
  footers, wrapped lines, mojibake;
- :mod:`connectors.sink` -- the one sink interface of a run's output (check the destination,
  read the done set, commit a batch, finish) and ``open_sink``;
- :mod:`connectors.parquet` -- output schemas, ``result_to_row``, ``OutputAdapter``,
  ``ParquetWriter``, ``read_table`` and ``ParquetSink`` (the output folder).

Nothing here imports torch, transformers or ``pipelines``.  pyarrow, pypdfium2 and
pdfplumber are imported only when the submodule that needs them is, so ``import connectors``
stays cheap (the CLI imports it for ``--help``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from connectors.records import ConnectorError, Doc, Quarantine, record_from_dict

__all__ = [
    "ConnectorError",
    "Doc",
    "Folder",
    "ParquetWriter",
    "Quarantine",
    "ReadOptions",
    "clean_document",
    "output_schema",
    "parse_documents",
    "quarantine_schema",
    "quarantine_to_row",
    "read_document",
    "read_pdf",
    "read_table",
    "read_tickets",
    "record_from_dict",
    "result_to_row",
]

_LAZY = {
    "Folder": "connectors.fs",
    "ReadOptions": "connectors.documents",
    "clean_document": "connectors.documents",
    "parse_documents": "connectors.documents",
    "read_document": "connectors.documents",
    "read_pdf": "connectors.pdf",
    "read_tickets": "connectors.tickets",
    "ParquetWriter": "connectors.parquet",
    "output_schema": "connectors.parquet",
    "quarantine_schema": "connectors.parquet",
    "quarantine_to_row": "connectors.parquet",
    "read_table": "connectors.parquet",
    "result_to_row": "connectors.parquet",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'connectors' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
