"""The extraction engine: prompt format, grammar-constrained greedy decoding, confidence,
field definitions, validation and normalization, model loading.

Field definitions are declared in ``extractor.schema`` and applied to a document's values
by ``extractor.validation`` (normalizers in ``extractor.normalize``, record grouping in
``extractor.records``, summary templates in ``extractor.summary``); every error raised on
purpose derives from ``extractor.errors.SeqgptError``.

It imports nothing from ``connectors``/``pipelines`` and works without Ray, so the same
engine serves the CLI, the Ray actors, the evaluation and the app::

    from extractor import Extractor, Schema
    ex = Extractor.load("DAMO-NLP/SeqGPT-560M")          # or a local folder; None = bundled
    result = ex.extract(text, Schema.parse("甲方,乙方,合同金额,签约日期(YYYY-MM-DD)"))

torch and transformers are imported lazily, on first use of ``Extractor``/``load_model``.
"""

from .types import ClassLabel, DocumentResult, Span

__all__ = ["ClassLabel", "DocumentResult", "Extractor", "ModelLoadError", "Schema", "Span", "load_model"]


def __getattr__(name):
    if name == "Extractor":
        from .engine import Extractor

        return Extractor
    if name in ("load_model", "ModelLoadError"):
        from . import loading

        return getattr(loading, name)
    if name == "Schema":
        from .schema import Schema

        return Schema
    raise AttributeError(name)
