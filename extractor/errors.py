"""The project's exception base and the errors that several modules raise.

Every error the project raises on purpose -- a schema that cannot be used, a model that
cannot be loaded, an unreachable bucket, a run that stopped early -- derives from
:class:`SeqgptError`, so a caller (the CLI, the app, a job script) catches one class and
shows its message, which always says what went wrong and what to do.  Errors keep their
standard-library base too (``SchemaError`` is a ``ValueError``, ``ModelLoadError`` a
``RuntimeError``), so older ``except ValueError`` code still works.

Where each one lives: ``SchemaError`` here (the schema and summary modules share it),
``ExtractionError`` in ``extractor.engine``, ``ModelLoadError`` in ``extractor.loading``,
``MiniUnavailable`` in ``extractor.mini``, ``ConnectorError`` in ``connectors.records``,
``PipelineError`` in ``pipelines.run``, ``DatasetError`` in ``training.datasets``,
``FinetuneError`` in ``training.finetune``.

Standard library only.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["SchemaError", "SeqgptError", "quote"]

_QUOTE = reprlib.Repr()
_QUOTE.maxlevel = 3
_QUOTE.maxstring = _QUOTE.maxother = 80
_QUOTE.maxlist = _QUOTE.maxtuple = _QUOTE.maxdict = _QUOTE.maxset = 6
_QUOTE.maxlong = 40


def quote(value: Any) -> str:
    """``repr(value)`` for an error message, bounded in length and depth (at most 3 levels,
    6 items per level, 80 characters per string): what a user wrote is shown, never expanded
    -- a YAML alias bomb or a 20 MB request would otherwise become a gigabyte message."""
    text = _QUOTE.repr(value)
    return text if len(text) <= 400 else text[:397] + "..."


class SeqgptError(Exception):
    """Base of every error seqgpt-nlp raises on purpose; the message is meant for the user."""


MAX_MESSAGE_CHARS = 4000


class SchemaError(SeqgptError, ValueError):
    """A schema (field list, file or rule) that cannot be used; the message says how to fix it.

    The message is cut to :data:`MAX_MESSAGE_CHARS` (its start kept): values a user wrote
    are quoted with :func:`quote`, and this bounds the rest (a megabyte 'threshold' string in
    a schema file or a request stays a short message)."""

    def __init__(self, *args: Any) -> None:
        if args and isinstance(args[0], str) and len(args[0]) > MAX_MESSAGE_CHARS:
            cut = len(args[0]) - MAX_MESSAGE_CHARS
            args = (f"{args[0][:MAX_MESSAGE_CHARS]}... ({cut:,} more characters not shown)", *args[1:])
        super().__init__(*args)
