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

__all__ = ["SchemaError", "SeqgptError"]


class SeqgptError(Exception):
    """Base of every error seqgpt-nlp raises on purpose; the message is meant for the user."""


class SchemaError(SeqgptError, ValueError):
    """A schema (field list, file or rule) that cannot be used; the message says how to fix it."""
