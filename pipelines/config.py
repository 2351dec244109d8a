"""The typed configuration of a run: :class:`RunConfig`, built once, read by every stage.

``seqgpt run`` and the job scripts build one :class:`RunConfig` from their options
(``seqgpt.options``, declared once for both); tests and benchmarks build it directly::

    config = RunConfig(
        "s3://archive/contracts/", "s3://warehouse/contracts/", "jobs/schemas/contracts.yaml",
        model=ModelConfig("/models/seqgpt-560m"), actors=4, gpus_per_actor=1, batch_size=32,
    )
    summary = run_pipeline(config)

It is frozen: the driver resolves what is left to it (``actors``/``gpus_per_actor`` from
the cluster, torch threads per CPU actor) into a copy (:meth:`RunConfig.resolved`) before
the stages are built, and every stage reads that same object.  Its parts:

- :class:`ModelConfig` -- which model and how to run it (also what ``seqgpt extract``,
  ``compare`` and ``eval`` load with): ``model``, ``device``, ``dtype``, ``compile`` and the
  ``quantize`` (``auto``: int8 for the bundled model on CPU), ``threads`` (torch CPU threads) and the
  engine options ``max_new_tokens``, ``labels_per_prompt``, ``prompt_batch_size`` (None
  keeps the engine's default);
- ``connectors.documents.ReadOptions`` -- how documents are read (size limits, PDF engine,
  ticket id/text columns and format), the same reader the CLI and the app use;
- the run itself: input and output URIs, the schema, input ``kind`` and ``pattern``, the
  extraction pool (``actors``, ``gpus_per_actor``, ``cpus_per_actor``,
  ``threads_per_actor``), the OCR pool (``ocr_actors``, ``ocr_cpus_per_actor``; OCR's own
  options -- on/off, DPI, onnxruntime threads -- are in ``read``), ``batch_size``, ``rows_per_part``, ``keep_text``, ``run_id``,
  ``progress_every_s``, ``html_report`` (a local file for the review page of the run's
  documents), ``verbose`` (Ray's own logs and progress bars), ``follow_links`` (links out
  of the input folder) and ``dashboard`` (Ray's dashboard with a local Ray);
- the output: ``table_format`` (``parquet`` -- a folder of part files, the default --,
  ``iceberg`` or ``delta``), for Iceberg ``catalog`` and ``table``, and ``partition_by``
  (``run_date`` or ``none``) for the table formats; :meth:`RunConfig.sink` opens it.

:data:`UNTRAINED_NOTE` is the one message every entry point prints, once, when the model
is the untrained demo model.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.documents import KINDS as DOCUMENT_KINDS
from connectors.documents import ReadOptions
from connectors.sink import FORMATS, PARTITIONS
from extractor.errors import SeqgptError

if TYPE_CHECKING:
    from extractor.schema import Schema

__all__ = [
    "KINDS",
    "PARTITIONS",
    "TABLE_FORMATS",
    "UNTRAINED_LABEL",
    "UNTRAINED_NOTE",
    "ConfigError",
    "ModelConfig",
    "RunConfig",
    "model_label",
]

KINDS = ("auto", *DOCUMENT_KINDS)
TABLE_FORMATS = tuple(FORMATS)
UNTRAINED_LABEL = "seqgpt-tiny-untrained"
UNTRAINED_NOTE = (
    "note: the model is the untrained tiny demo model: values are verbatim spans of the text but NOT "
    "meaningful. Pass --model DAMO-NLP/SeqGPT-560M (from the local cache) or a model folder for real extraction."
)


class ConfigError(SeqgptError, ValueError):
    """A run configuration that cannot work (an unknown kind, zero actors ...)."""


def model_label(model: str | None) -> tuple[str, bool]:
    """(the model id written into every row, whether it is the untrained demo model)."""
    if model in (None, "", "default"):
        from extractor.loading import TINY_MODEL, default_model

        default = default_model()  # seqgpt-mini when it ships and its base is installed
        return (UNTRAINED_LABEL, True) if default == TINY_MODEL else (default, False)
    path = Path(str(model)).expanduser()
    return str(model), (path / "TINY_UNTRAINED").exists()


@dataclass(frozen=True)
class ModelConfig:
    """Which model to load and how.  ``model``: hub id (from the local cache), model or
    adapter folder, or None for the bundled default (``extractor.loading.default_model``)."""

    model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    compile: bool = False
    quantize: str = "auto"
    threads: int | None = None
    max_new_tokens: int | None = None
    labels_per_prompt: int | None = None
    prompt_batch_size: int | None = None

    def engine_options(self) -> dict[str, int]:
        """The ``Extractor`` keyword arguments given explicitly (the rest keep its defaults)."""
        options = {
            "max_new_tokens": self.max_new_tokens,
            "labels_per_prompt": self.labels_per_prompt,
            "batch_size": self.prompt_batch_size,
        }
        return {k: v for k, v in options.items() if v is not None}

    def load(self, device: str | None = None, *, cls: type | None = None, threads: int | None = None):
        """The loaded ``extractor.engine.Extractor`` (on ``device`` if given), with
        ``threads`` torch threads (this config's, else the caller's ``threads``, else the
        machine's default, ``extractor.loading.default_threads``); ``cls``: a subclass to
        build instead (``seqgpt serve``'s replicas load ``seqgpt.api.Extractor``)."""
        from extractor.engine import Extractor
        from extractor.loading import set_threads

        if self.threads or threads or (device or self.device) in ("cpu", "auto"):
            set_threads(self.threads or threads)  # None: the default for this machine
        return (cls or Extractor).load(
            self.model,
            device=device or self.device,
            dtype=self.dtype,
            compile=self.compile,
            quantize=self.quantize,
            **self.engine_options(),
        )

    @cached_property
    def _label(self) -> tuple[str, bool]:
        return model_label(self.model)

    @property
    def label(self) -> str:
        """The model id written into every row (``seqgpt-tiny-untrained`` for the demo model)."""
        return self._label[0]

    @property
    def untrained(self) -> bool:
        return self._label[1]


def _new_run_id() -> str:
    return f"{_dt.datetime.now(_dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunConfig:
    """One run of the pipeline (module docstring).

    ``schema``: an ``extractor.schema.Schema``, or a schema file path or field list (loaded
    here).  ``actors``/``gpus_per_actor`` None mean auto: one GPU per actor when the cluster
    has GPUs and one actor per GPU, else one CPU actor.  ``cpus_per_actor`` defaults to 0.5
    on CPU (1 with a GPU); ``threads_per_actor`` to the cores divided among the actors plus
    the readers.  ``ocr_actors``: the most OCR actors (an autoscaling pool from 1 up to
    this many; each loads the OCR model once and takes ``ocr_cpus_per_actor`` logical CPUs);
    None: one per 2 logical CPUs of the cluster, so OCR grows with CPU nodes.  ``kind``: ``auto``
    (by extension: ``connectors.documents.READERS``) or force one of
    ``connectors.documents.KINDS``; ``pattern``: only files matching
    one of these globs.  ``batch_size`` documents per extraction call, ``rows_per_part``
    records per part file.  ``keep_text`` adds the cleaned text to every row.  ``run_id``
    empty: the time and a random suffix.  ``html_report``: write a standalone review page of
    the documents this run extracts (the first ``pipelines.run.REPORT_MAX_DOCS``) to this
    local file.  ``verbose``: let Ray print its own logs and progress bars.  ``follow_links``:
    read symbolic links that lead out of the input folder (by default they are skipped and
    counted in the summary).  ``dashboard``: start Ray's dashboard (127.0.0.1:8265) with a
    local Ray (off by default; a cluster in ``RAY_ADDRESS`` is used as it is).
    ``table_format``: ``parquet`` (``output_uri`` a folder of part files), ``iceberg`` or
    ``delta`` (``output_uri`` the table's location); ``catalog`` (Iceberg: a SQLAlchemy or
    REST URI, default a SQLite file next to a local table), ``table`` (Iceberg:
    ``NAMESPACE.NAME``, default ``seqgpt.<last part of output_uri>``), ``partition_by``
    (table formats: ``run_date`` or ``none``).
    """

    input_uri: str
    output_uri: str
    schema: Schema
    model: ModelConfig = field(default_factory=ModelConfig)
    read: ReadOptions = field(default_factory=ReadOptions)
    kind: str = "auto"
    pattern: tuple[str, ...] = ()
    actors: int | None = 1
    gpus_per_actor: float | None = 0.0
    cpus_per_actor: float | None = None
    threads_per_actor: int | None = None
    ocr_actors: int | None = None
    ocr_cpus_per_actor: float = 0.5
    batch_size: int = 8
    rows_per_part: int = 256
    keep_text: bool = False
    run_id: str = ""
    progress_every_s: float = 5.0
    html_report: str | None = None
    verbose: bool = False
    follow_links: bool = False
    dashboard: bool = False
    table_format: str = "parquet"
    catalog: str | None = None
    table: str | None = None
    partition_by: str = "run_date"

    def __post_init__(self) -> None:
        from extractor.schema import Schema

        set_ = object.__setattr__  # frozen: normalize the fields once, here
        if not isinstance(self.schema, Schema):
            spec = str(self.schema)
            if isinstance(self.schema, os.PathLike) or spec.lower().endswith((".yaml", ".yml", ".json")):
                set_(self, "schema", Schema.from_file(spec))
            else:
                set_(self, "schema", Schema.parse(spec))
        if isinstance(self.pattern, str):
            set_(self, "pattern", (self.pattern,))
        else:
            set_(self, "pattern", tuple(self.pattern or ()))
        if not self.run_id:
            set_(self, "run_id", _new_run_id())
        if self.kind not in KINDS:
            raise ConfigError(f"unknown --kind {self.kind!r} (choose one of {', '.join(KINDS)})")
        if self.table_format not in TABLE_FORMATS:
            raise ConfigError(
                f"unknown --table-format {self.table_format!r} (choose one of {', '.join(TABLE_FORMATS)})"
            )
        if self.partition_by not in PARTITIONS:
            raise ConfigError(
                f"unknown --partition-by {self.partition_by!r} (choose one of {', '.join(PARTITIONS)})"
            )
        if self.table_format != "iceberg" and (self.catalog or self.table):
            raise ConfigError(
                "--catalog and --table name an Iceberg table: use them with --table-format iceberg"
            )
        if (self.actors is not None and self.actors < 1) or self.batch_size < 1 or self.rows_per_part < 1:
            raise ConfigError("actors, batch size and rows per part must be at least 1")
        if (self.ocr_actors is not None and self.ocr_actors < 1) or self.ocr_cpus_per_actor <= 0:
            raise ConfigError("ocr actors must be at least 1 and take more than 0 CPUs")

    @property
    def on_gpu(self) -> bool:
        return bool(self.gpus_per_actor and self.gpus_per_actor > 0)

    def resolved(self, cluster_gpus: float, cpu_count: int | None = None) -> RunConfig:
        """A copy with the automatic settings decided: ``gpus_per_actor`` (1 if the cluster
        has GPUs, else 0), ``actors`` (one per GPU, or 1), ``cpus_per_actor`` and
        ``threads_per_actor``."""
        gpus = self.gpus_per_actor
        if gpus is None:
            gpus = 1.0 if cluster_gpus >= 1 else 0.0
        actors = self.actors
        if actors is None:
            actors = max(1, int(cluster_gpus // gpus)) if gpus else 1
        on_gpu = gpus > 0
        cpus = self.cpus_per_actor or (1.0 if on_gpu else 0.5)
        threads = self.threads_per_actor or max(1, (cpu_count or os.cpu_count() or 2) // (actors + 1))
        return replace(
            self, actors=actors, gpus_per_actor=float(gpus), cpus_per_actor=cpus, threads_per_actor=threads
        )

    def sink(self):
        """The run's output sink (``connectors.sink``): the Parquet folder at ``output_uri``
        (``table_format="parquet"``), or the Iceberg or Delta table there."""
        from connectors.sink import open_sink

        options: dict[str, Any] = {}
        if self.table_format != "parquet":
            options["partition_by"] = self.partition_by
        if self.table_format == "iceberg":
            options.update(catalog=self.catalog, table=self.table)
        return open_sink(
            self.table_format,
            self.output_uri,
            self.schema,
            model=self.model.label,
            run_id=self.run_id,
            keep_text=self.keep_text,
            manifest=self.manifest(),
            **options,
        )

    def manifest(self) -> dict[str, Any]:
        """What the output folder's data parts record in their Parquet footers (key
        ``seqgpt``): the schema, model and ``keep_text`` a rerun must match, and the run that
        wrote the part (``pipelines.run``: *Same folder, same job*)."""
        return {
            "schema": self.schema.to_dict(),
            "model": self.model.label,
            "keep_text": self.keep_text,
            "run_id": self.run_id,
        }
