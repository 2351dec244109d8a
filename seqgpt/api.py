"""The Python API behind ``import seqgpt`` (see the package docstring).

- :class:`Extractor` is the engine's ``extractor.engine.Extractor`` taking the fields in any
  form :func:`extractor.schema.as_schema` reads (comma string, list, ``Schema``) and giving
  :class:`Result` / :class:`Results` objects;
- :class:`Result` is a ``DocumentResult`` that knows its source and model, so ``to_dict()``
  is exactly the JSON object ``seqgpt extract --format json`` prints (and ``seqgpt serve``
  answers);
- :class:`Results` is the list of a batch, with ``to_dicts``, ``to_jsonl``, ``to_arrow`` and
  ``to_pandas`` (the columns of ``seqgpt run``'s Parquet rows);
- :func:`extract`, :func:`extract_batch` and :func:`classify` use one model per process,
  loaded on first use and kept (:func:`load`).

torch, transformers and pyarrow are imported only when a model is loaded or a table built.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import IO, Any

from extractor import engine as _engine
from extractor.errors import quote
from extractor.schema import Field, Schema, SchemaError, as_schema
from extractor.types import DocumentResult

__all__ = [
    "Extractor",
    "Result",
    "Results",
    "classification_schema",
    "classify",
    "extract",
    "extract_batch",
    "load",
]


@dataclass
class Result(DocumentResult):
    """One document's result (a ``DocumentResult``) with the document's ``source`` (a file
    name or id, or None) and the ``model`` that read it.

    ``to_dict()`` is the JSON object of ``seqgpt extract --format json``: ``source``,
    ``model``, then per field a list of values (``text``, ``start``, ``end``,
    ``confidence``, ``normalized``, ``approximate``, ``issues``, ``parts``), ``classes``,
    ``records``, ``summary``, ``violations``, ``warnings`` and ``chunks``.
    """

    source: str | None = None
    model: str = ""

    @classmethod
    def of(cls, result: DocumentResult, source: str | None = None, model: str = "") -> Result:
        values = {f.name: getattr(result, f.name) for f in fields(DocumentResult)}
        return cls(**values, source=source, model=model)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "model": self.model, **super().to_dict()}

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text (non-ASCII kept; ``indent=2`` gives the CLI's layout)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)


class Results(list):
    """The results of a batch, in input order (a list of :class:`Result`), with the schema
    they were read with and writers for the usual destinations."""

    def __init__(self, results: Iterable[Result] = (), *, schema: Schema | None = None, model: str = ""):
        super().__init__(results)
        self.schema = schema
        self.model = model

    def to_dicts(self) -> list[dict[str, Any]]:
        """One ``seqgpt extract --format json`` object per document."""
        return [r.to_dict() for r in self]

    def to_jsonl(self, path_or_file: str | os.PathLike | IO[str]) -> None:
        """Write one JSON object per line (UTF-8, non-ASCII kept) to a path or a text file."""
        lines = "".join(r.to_json() + "\n" for r in self)
        if hasattr(path_or_file, "write"):
            path_or_file.write(lines)  # type: ignore[union-attr]
            return
        with open(path_or_file, "w", encoding="utf-8") as f:  # type: ignore[arg-type]
            f.write(lines)

    def to_arrow(self, *, run_id: str = ""):
        """A ``pyarrow.Table``, one row per document, with the columns of ``seqgpt run``'s
        Parquet rows, shaped by the same ``connectors.parquet.OutputAdapter``: ``doc_id``
        (the source, or the position in the batch), ``source``, per field ``<f>``,
        ``<f>_all``, ``<f>_confidence``, ``<f>_offsets`` and the normalized columns (with
        ``<f>_approximate``), per classification field ``<c>`` and ``<c>_confidence``,
        ``violations``, ``model`` ... and ``notes`` (the engine's warnings)."""
        from connectors.parquet import OutputAdapter

        if self.schema is None:
            raise ValueError("these Results have no schema: build them with Extractor.extract_batch")
        model = self.model or next((r.model for r in self if r.model), "")
        adapter = OutputAdapter(self.schema, model=model, run_id=run_id)
        shaped = [
            adapter.shape(
                {"doc_id": r.source if r.source is not None else str(i), "source": r.source, "pages": None}, r
            )
            for i, r in enumerate(self)
        ]
        table, _, misfits = adapter.tables(shaped)
        if misfits:
            i, why = next(iter(misfits.items()))
            raise ValueError(f"result {i} does not fit the table: {why}")
        return table

    def to_pandas(self, **kwargs: Any):
        """``to_arrow().to_pandas()`` (needs pandas)."""
        return self.to_arrow(**kwargs).to_pandas()


class Extractor(_engine.Extractor):
    """The engine's extractor (``extractor.engine.Extractor``) for Python callers: the fields
    may be a comma list string, a list of field strings or a ``Schema``; results carry their
    source and model.

    >>> ex = Extractor.load()                      # doctest: +SKIP
    >>> ex.extract("Acme Corp. hired John Smith.", "person, company").to_dict()   # doctest: +SKIP
    """

    @classmethod
    def load(cls, model: str | None = None, **kwargs: Any) -> Extractor:
        """Load ``model`` (a hub id read from the local cache, a folder, an adapter folder, or
        None for the bundled default) on ``device`` (``auto``, ``cpu``, ``cuda``) with
        ``dtype`` and optional ``compile``; other keyword arguments (``max_new_tokens``,
        ``labels_per_prompt``, ``batch_size`` ...) go to the extractor.  Warns when the model
        is the untrained demo model.  Raises ``ModelLoadError`` with what to do."""
        ex = super().load(model, **kwargs)
        if ex.untrained:
            warnings.warn(
                f"seqgpt: {ex.model_id} is the untrained tiny demo model; values are verbatim spans but not "
                "meaningful. Load DAMO-NLP/SeqGPT-560M or a model folder for real extraction.",
                UserWarning,
                stacklevel=2,
            )
        return ex  # type: ignore[return-value]

    def extract(  # type: ignore[override]
        self, text: str, fields: Any, *, source: str | None = None, constrained: bool = True
    ) -> Result:
        """The values of ``fields`` in ``text`` (a :class:`Result`)."""
        sources = None if source is None else [source]
        return self.extract_batch([text], fields, sources=sources, constrained=constrained)[0]

    def extract_batch(  # type: ignore[override]
        self,
        texts: Iterable[str],
        fields: Any,
        *,
        sources: Sequence[str] | None = None,
        constrained: bool = True,
    ) -> Results:
        """The values of ``fields`` in every text, decoded in shared batches; ``sources``
        (one name or id per text) label the results and become ``doc_id`` in tables."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("extract_batch takes a list of texts; use extract() for one text")
        texts = list(texts)
        schema = as_schema(fields)
        if sources is not None:
            sources = [None if s is None else str(s) for s in sources]
            if len(sources) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(sources)} sources")
        found = super().extract_batch(texts, schema, constrained=constrained)
        names = sources or [None] * len(texts)
        return Results(
            [Result.of(r, s, self.model_id) for r, s in zip(found, names)], schema=schema, model=self.model_id
        )

    def classify(self, text: str, labels: Any, *, name: str = "label", source: str | None = None) -> Result:
        """Which of ``labels`` (a list, or ``"咨询/投诉/求助"``) fits ``text`` (a SeqGPT ``分类``
        prompt): ``result.classes[name]`` holds the chosen label and its confidence."""
        return self.extract(text, classification_schema(labels, name), source=source)


def classification_schema(labels: Any, name: str = "label") -> Schema:
    """A schema of one classification field ``name`` with ``labels`` as its choices
    (a list of strings, or one string separated by ``/``, ``|``, ``,`` or ``、``)."""
    if isinstance(labels, str):
        field = Field(name, type="class", choices=labels)
    elif isinstance(labels, (list, tuple)) and all(isinstance(x, str) for x in labels):
        field = Field(name, type="class", choices=list(labels))
    else:
        raise SchemaError(
            f"labels must be a list of strings or a string like '咨询/投诉/求助', got {quote(labels)}"
        )
    if len(field.choices) < 2:
        raise SchemaError(f"classification needs at least two labels, got {field.choices}")
    return Schema([field])


# ----------------------------------------------------------------- one model per process
_loaded: dict[tuple, Extractor] = {}
_lock = threading.Lock()


def load(model: str | None = None, **kwargs: Any) -> Extractor:
    """The process's extractor for ``model`` and these options, loaded on first use and kept
    (``extract``/``extract_batch``/``classify`` use it).  ``Extractor.load`` loads afresh."""
    key = (model, tuple(sorted(kwargs.items())))
    with _lock:
        ex = _loaded.get(key)
        if ex is None:
            ex = _loaded[key] = Extractor.load(model, **kwargs)
        return ex


def extract(
    text: str, fields: Any, *, model: str | None = None, source: str | None = None, **kwargs: Any
) -> Result:
    """``seqgpt.extract(text, fields="甲方,乙方,合同金额")``: the values of ``fields`` in
    ``text`` with the process's model (``model`` and ``kwargs`` as for :func:`load`)."""
    return load(model, **kwargs).extract(text, fields, source=source)


def extract_batch(
    texts: Iterable[str],
    fields: Any,
    *,
    model: str | None = None,
    sources: Sequence[str] | None = None,
    **kwargs: Any,
) -> Results:
    """:func:`extract` for many texts at once (batched on the model)."""
    return load(model, **kwargs).extract_batch(texts, fields, sources=sources)


def classify(
    text: str, labels: Any, *, name: str = "label", model: str | None = None, **kwargs: Any
) -> Result:
    """Which of ``labels`` fits ``text``; ``result.classes[name][0].label``."""
    return load(model, **kwargs).classify(text, labels, name=name)
