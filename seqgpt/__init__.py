"""seqgpt: pull named fields out of business text as verbatim, validated values.

The Python API of seqgpt-nlp, the same engine as the ``seqgpt`` CLI, the Ray pipeline, the
app and ``seqgpt serve``::

    import seqgpt

    result = seqgpt.extract("甲方：北京云杉科技有限公司 ……", fields="甲方,乙方,合同金额")
    result.to_dict()        # the JSON `seqgpt extract --format json` prints

    ex = seqgpt.Extractor.load()                     # the bundled model; or a hub id / folder
    batch = ex.extract_batch(texts, ["person", "company", "date"])
    batch.to_pandas()       # one row per document, the columns of `seqgpt run`'s Parquet
    batch.to_jsonl("out.jsonl")

Fields may be a comma list string, a list of field strings (or ``Field`` objects, or
mappings) or a ``Schema`` (``seqgpt.as_schema`` says how each is read).  Every value is a
verbatim span of the text with character offsets (``text[v.start:v.end] == v.text``),
a confidence, a normalized form where its type has one, and ``approximate`` when the text
states it only roughly (``约30万元``).

The package is also home to the other front-ends, each one module:

- :mod:`seqgpt.cli` -- the ``seqgpt`` command (``extract | compare | schema | run | eval |
  finetune | ui | serve``);
- :mod:`seqgpt.options` -- the command-line options, declared once for ``seqgpt`` and
  ``jobs/*.py``;
- :mod:`seqgpt.serve` -- ``seqgpt serve`` (Ray Serve);
- :mod:`seqgpt.app_support` -- the Streamlit app's pure helpers (``app.py`` is the page).

Nothing heavy is imported here: torch and transformers load with the first model.
"""

from __future__ import annotations

__all__ = [
    "ClassLabel",
    "DocumentResult",
    "ExtractionError",
    "Extractor",
    "Field",
    "ModelLoadError",
    "Record",
    "Result",
    "Results",
    "Schema",
    "SchemaError",
    "SeqgptError",
    "Span",
    "as_schema",
    "classify",
    "extract",
    "extract_batch",
    "load",
]

_FROM = {
    "ClassLabel": "extractor.types",
    "DocumentResult": "extractor.types",
    "Record": "extractor.types",
    "Span": "extractor.types",
    "Field": "extractor.schema",
    "Schema": "extractor.schema",
    "SchemaError": "extractor.schema",
    "SeqgptError": "extractor.errors",
    "as_schema": "extractor.schema",
    "ExtractionError": "extractor.engine",
    "ModelLoadError": "extractor.loading",
    "Extractor": "seqgpt.api",
    "Result": "seqgpt.api",
    "Results": "seqgpt.api",
    "classify": "seqgpt.api",
    "extract": "seqgpt.api",
    "extract_batch": "seqgpt.api",
    "load": "seqgpt.api",
}


def __getattr__(name: str):
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'seqgpt' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
