"""Command-line options, declared once: the ``seqgpt`` commands and the job scripts share them.

- :func:`schema_options` -- ``--fields/-f``, ``--schema``, ``--record``, ``--summary``
  (extract, compare, schema, run, jobs), read by :func:`load_schema`;
- :func:`model_options` -- ``--model``, ``--device``, ``--dtype``, ``--compile`` (extract,
  compare, eval; ``seqgpt run`` and the jobs take ``--model`` and ``--dtype``), read by
  :func:`model_config` into a :class:`~pipelines.config.ModelConfig`;
- :func:`run_options` -- everything ``seqgpt run`` takes, read by :func:`run_config` into the
  run's one :class:`~pipelines.config.RunConfig`; :func:`run_and_report` runs it and prints
  the summary.  ``jobs/*.py`` are the same options with the job's defaults
  (:func:`job_main`), so a job and ``seqgpt run`` accept the same flags.

:class:`Command`/:class:`Group` turn any :class:`~extractor.errors.SeqgptError` a command
lets through into a message and exit status 1 -- the one place errors are caught.

Only click and standard-library imports at module level, so ``--help`` stays instant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import click

from extractor.errors import SeqgptError

__all__ = [
    "Command",
    "Group",
    "job_command",
    "job_main",
    "load_schema",
    "model_config",
    "model_options",
    "run_and_report",
    "run_config",
    "run_options",
    "schema_options",
]

MODEL_HELP = (
    "Hub id (e.g. DAMO-NLP/SeqGPT-560M, read from the local cache), a local model folder or an adapter "
    "folder (on a cluster: a path every worker sees). Default: the bundled model."
)


class _SeqgptErrorsAsMessages:
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except SeqgptError as exc:
            raise click.ClickException(str(exc)) from exc


class Group(_SeqgptErrorsAsMessages, click.Group):
    """A click group whose commands' ``SeqgptError`` become a message, exit status 1."""


class Command(_SeqgptErrorsAsMessages, click.Command):
    """A click command (a job script) whose ``SeqgptError`` become a message, exit status 1."""


def _apply(f: Callable, options: list[Callable]) -> Callable:
    for option in reversed(options):  # decorators apply bottom-up: keep the listed order
        f = option(f)
    return f


# ----------------------------------------------------------------------------- schema
def schema_options(f: Callable | None = None, *, schema_default: str | None = None):
    """--fields, --schema, --record and --summary (``schema_default``: a job's schema file)."""

    def decorate(f: Callable) -> Callable:
        schema_help = "Schema file (.yaml/.yml/.json)."
        if schema_default:
            schema_help += " --fields or --record replace it."
        return _apply(
            f,
            [
                click.option(
                    "--fields",
                    "-f",
                    default=None,
                    help='Comma list of fields, e.g. "甲方,乙方,合同金额,签约日期(YYYY-MM-DD)".',
                ),
                click.option(
                    "--schema",
                    "schema_file",
                    default=schema_default,
                    show_default=bool(schema_default),
                    type=click.Path(),
                    help=schema_help,
                ),
                click.option(
                    "--record",
                    "records",
                    multiple=True,
                    metavar="TYPE: FIELDS",
                    help='A record type grouping fields whose values belong together, e.g. "车辆: 车牌号, 驾驶人, '
                    '车辆类型" (repeatable; its fields need not be in --fields).',
                ),
                click.option(
                    "--summary",
                    default=None,
                    metavar="TEMPLATE",
                    help='Summary built only from extracted values, e.g. "{申请人} 于 {日期} 反映 {核心诉求}"; '
                    "[...] marks a part left out when its value is missing.",
                ),
            ],
        )

    return decorate(f) if f is not None else decorate


def load_schema(
    fields: str | None,
    schema_file: str | None,
    records=(),
    summary: str | None = None,
    *,
    file_option: str = "--schema",
):
    """The schema of --fields or --schema, plus --record types and a --summary template;
    ``file_option`` is how the command names its schema file option in errors
    (``seqgpt schema`` takes ``--file``)."""
    from extractor.schema import Schema, SchemaError

    if fields and schema_file:
        raise click.UsageError(f"give the fields either with --fields or with {file_option} FILE, not both")
    if not fields and not schema_file and not records:
        raise click.UsageError("give the fields with --fields, --schema FILE or --record")
    try:
        if schema_file:
            base = Schema.from_file(schema_file)
            if not records and summary is None:
                return base
            return Schema(
                list(base.fields), list(base.rules), base.name, [*base.records, *records],
                summary if summary is not None else base.summary,
            )  # fmt: skip
        return Schema.parse(fields or "", records=list(records), summary=summary)
    except SchemaError as exc:
        hint = file_option if schema_file else ("--fields" if fields and not records else "--fields/--record")
        raise click.BadParameter(str(exc), param_hint=hint) from exc


# ------------------------------------------------------------------------------ model
def model_options(
    f: Callable | None = None, *, device: bool = True, compile: bool = True, threads_help: str | None = None
):
    """--model, --dtype, --quantize and --threads, with --device and --compile unless turned
    off (``seqgpt run``: actors decide the device); ``threads_help``: the --threads help of a
    command whose default differs (``seqgpt serve``: per replica)."""

    def decorate(f: Callable) -> Callable:
        options = [click.option("--model", default=None, metavar="ID_OR_DIR", help=MODEL_HELP)]
        if device:
            options.append(
                click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
            )
        options.append(
            click.option("--dtype", default="auto", show_default=True, help="auto, fp32, fp16 or bf16.")
        )
        options.append(
            click.option(
                "--quantize",
                type=click.Choice(["auto", "int8", "none"]),
                default="auto",
                show_default=True,
                help="int8 linear layers on CPU. auto: for a model whose card allows int8 (the bundled one), "
                "int8 where a short timed probe finds it faster on this CPU (cached per machine), else fp32.",
            )
        )
        options.append(
            click.option(
                "--threads",
                type=click.IntRange(min=1),
                default=None,
                help=threads_help
                or "torch CPU threads (per extraction actor in `seqgpt run`; default: "
                + (
                    "the cores divided among actors and readers)."
                    if not device
                    else "1 on a CPU of 2 cores or less, else half the cores)."
                ),
            )
        )
        if compile:
            options.append(
                click.option(
                    "--compile/--no-compile", default=False, help="torch.compile the model (worth it on GPU)."
                )
            )
        return _apply(f, options)

    return decorate(f) if f is not None else decorate


def model_config(params: Mapping[str, Any], **engine: int | None):
    """The :class:`ModelConfig` of :func:`model_options`' values (``engine``: the engine
    options a command adds, e.g. ``max_new_tokens``)."""
    from pipelines.config import ModelConfig

    return ModelConfig(
        model=params.get("model"),
        device=params.get("device") or "auto",
        dtype=params.get("dtype") or "auto",
        compile=bool(params.get("compile")),
        quantize=params.get("quantize") or "auto",
        threads=params.get("threads") or None,
        **engine,
    )


# -------------------------------------------------------------------------------- run
def run_options(f: Callable | None = None, *, defaults: Mapping[str, Any] | None = None):
    """Every option of ``seqgpt run`` (and of the job scripts, with their ``defaults``:
    ``input_uri``, ``output_uri``, ``schema_file``, ``kind``, ``batch_size``,
    ``rows_per_part``)."""
    from connectors.documents import KINDS  # standard library only
    from connectors.sink import FORMATS, PARTITIONS  # standard library only

    d = dict(defaults or {})

    def decorate(f: Callable) -> Callable:
        return _apply(
            f,
            [
                click.option(
                    "--input",
                    "input_uri",
                    required="input_uri" not in d,
                    default=d.get("input_uri"),
                    show_default="input_uri" in d,
                    metavar="URI",
                    help="Folder, file or s3://bucket/prefix.",
                ),
                click.option(
                    "--output",
                    "output_uri",
                    required="output_uri" not in d,
                    default=d.get("output_uri"),
                    show_default="output_uri" in d,
                    metavar="URI",
                    help="Output folder or s3:// prefix (with --table-format iceberg/delta: the table's location).",
                ),
                click.option(
                    "--table-format",
                    type=click.Choice(list(FORMATS)),
                    default="parquet",
                    show_default=True,
                    help="parquet: a folder of part files; iceberg or delta: a warehouse table at --output "
                    "(transactions, exactly once, new fields become new columns), plus <table>_quarantine "
                    "and <table>_records_<type> beside it.",
                ),
                click.option(
                    "--catalog",
                    default=None,
                    metavar="URI",
                    help="Iceberg catalog: sqlite:///PATH, another SQLAlchemy URI or a REST catalog's http(s):// "
                    "URI [default: the SQLite file OUTPUT.catalog.db next to a local table].",
                ),
                click.option(
                    "--table",
                    default=None,
                    metavar="NAMESPACE.NAME",
                    help="Iceberg table name in the catalog [default: seqgpt.<last part of --output>].",
                ),
                click.option(
                    "--partition-by",
                    type=click.Choice(list(PARTITIONS)),
                    default="run_date",
                    show_default=True,
                    help="Iceberg/Delta: partition a new table by the run's date (UTC), or not at all.",
                ),
                schema_options(schema_default=d.get("schema_file")),
                model_options(device=False, compile=False),
                click.option(
                    "--actors",
                    default=None,
                    type=click.IntRange(min=1),
                    help="Extraction actors [default: 1 per GPU, or 1].",
                ),
                click.option(
                    "--gpus-per-actor",
                    default=None,
                    type=click.FloatRange(min=0),
                    help="GPUs per actor; 0 runs on CPU [default: 1 if the cluster has GPUs, else 0].",
                ),
                click.option(
                    "--batch-size",
                    default=d.get("batch_size", 8),
                    show_default=True,
                    type=click.IntRange(min=1),
                    help="Documents per extraction call.",
                ),
                click.option(
                    "--kind",
                    type=click.Choice(["auto", *KINDS]),
                    default=d.get("kind", "auto"),
                    show_default=True,
                    help="Input kind; auto goes by extension (pdf .pdf, image .png .jpg .tif ..., docx .docx, "
                    "email .eml, html .html .htm, tickets .jsonl .json .csv .tsv .parquet, text .txt .md).",
                ),
                click.option(
                    "--ocr/--no-ocr",
                    default=True,
                    show_default=True,
                    help="Read PDF pages without a usable text layer and image files by OCR (PP-OCRv4 on "
                    "the CPU); with --no-ocr such pages stay empty, and a file with no other text is "
                    "quarantined (no_text_layer).",
                ),
                click.option(
                    "--ocr-dpi",
                    default=200,
                    show_default=True,
                    type=click.IntRange(50, 600),
                    help="Resolution PDF pages are rendered at for OCR.",
                ),
                click.option(
                    "--ocr-actors",
                    default=None,
                    type=click.IntRange(min=1),
                    help="The most OCR actors (an autoscaling CPU pool from 1, each loads the OCR model "
                    "once) [default: one per 2 logical CPUs of the cluster].",
                ),
                click.option("--id-column", default="id", show_default=True, help="Tickets: the id column."),
                click.option(
                    "--text-column",
                    "text_columns",
                    multiple=True,
                    default=("text",),
                    show_default=True,
                    help="Tickets: a text column (repeat for several; joined with newlines).",
                ),
                click.option(
                    "--ticket-format",
                    "--format",
                    "ticket_format",
                    type=click.Choice(["jsonl", "json", "csv", "tsv", "parquet"]),
                    default=None,
                    help="Tickets: the file format [default: by extension].",
                ),
                click.option(
                    "--pattern",
                    multiple=True,
                    help='Only files matching this glob (repeatable), e.g. "2024/**/*.pdf".',
                ),
                click.option(
                    "--rows-per-part",
                    default=d.get("rows_per_part", 256),
                    show_default=True,
                    type=click.IntRange(min=1),
                    help="Records per batch: one Parquet part file, or one table commit.",
                ),
                click.option(
                    "--keep-text",
                    is_flag=True,
                    help="Also store the cleaned text (what the offsets point into).",
                ),
                click.option(
                    "--run-id", default=None, help="Run id written into every row [default: time + random]."
                ),
                click.option(
                    "--html-report",
                    default=None,
                    type=click.Path(dir_okay=False),
                    metavar="PATH",
                    help="Also write a standalone HTML review page (a local file) of the documents this run "
                    "extracts (the first 200): each document's text with its values highlighted, a legend, "
                    "confidences, issues, dropped values and violations.",
                ),
                click.option(
                    "--follow-links",
                    is_flag=True,
                    help="Read symbolic links that lead out of the input folder (by default they are skipped and "
                    "listed in the summary; links inside it are read once, under their real path).",
                ),
                click.option(
                    "--dashboard",
                    is_flag=True,
                    help="Start Ray's dashboard (http://127.0.0.1:8265) with the local Ray this run starts (off by "
                    "default; a local Ray listens on 127.0.0.1 only; a cluster in RAY_ADDRESS is used as it is).",
                ),
                click.option(
                    "--verbose",
                    is_flag=True,
                    help="Show Ray's own logs and progress bars (by default: one progress bar and the summary).",
                ),
                click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
            ],
        )

    return decorate(f) if f is not None else decorate


def run_config(params: Mapping[str, Any], ctx: click.Context | None = None):
    """The run's one :class:`RunConfig`, from :func:`run_options`' values.  A job's default
    schema file gives way to --fields or --record given on the command line.  A
    :class:`~pipelines.config.ConfigError` (e.g. --catalog without --table-format iceberg)
    reaches the command as a message."""
    from connectors.documents import ReadOptions
    from pipelines.config import RunConfig

    schema_file = params.get("schema_file")
    if ctx is not None and (params.get("fields") or params.get("records")):
        source = ctx.get_parameter_source("schema_file")
        if source in (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP):
            schema_file = None
    schema = load_schema(
        params.get("fields"), schema_file, params.get("records") or (), params.get("summary")
    )
    return RunConfig(
        input_uri=params["input_uri"],
        output_uri=params["output_uri"],
        schema=schema,
        model=model_config(params),
        read=ReadOptions(
            id_column=params.get("id_column") or "id",
            text_columns=tuple(params.get("text_columns") or ("text",)),
            ticket_format=params.get("ticket_format"),
            ocr=bool(params.get("ocr", True)),
            ocr_dpi=params.get("ocr_dpi") or 200,
        ),
        kind=params.get("kind") or "auto",
        pattern=tuple(params.get("pattern") or ()),
        actors=params.get("actors"),
        gpus_per_actor=params.get("gpus_per_actor"),
        ocr_actors=params.get("ocr_actors"),
        batch_size=params.get("batch_size") or 8,
        rows_per_part=params.get("rows_per_part") or 256,
        keep_text=bool(params.get("keep_text")),
        run_id=params.get("run_id") or "",
        html_report=params.get("html_report") or None,
        verbose=bool(params.get("verbose")),
        follow_links=bool(params.get("follow_links")),
        dashboard=bool(params.get("dashboard")),
        table_format=params.get("table_format") or "parquet",
        catalog=params.get("catalog") or None,
        table=params.get("table") or None,
        partition_by=params.get("partition_by") or "run_date",
    )


def run_and_report(params: Mapping[str, Any], ctx: click.Context | None = None) -> None:
    """Build the config, run the pipeline, print the summary (JSON with ``--json``).  When
    the run stops early its summary goes to stderr and the ``PipelineError`` on to the
    command's error handling."""
    from pipelines.run import PipelineError, run_pipeline

    config = run_config(params, ctx)
    try:
        report = run_pipeline(config)
    except PipelineError as exc:
        if exc.summary is not None:
            click.echo(exc.summary.format(), err=True)
        raise
    as_json = params.get("as_json")
    click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else report.format())


def job_command(name: str, *, description: str, epilog: str, defaults: Mapping[str, Any]) -> Command:
    """A job script's command: ``seqgpt run``'s options (:func:`run_options`) with the job's
    ``defaults``, its description and epilog."""

    @click.command(
        name=name,
        cls=Command,
        help=description,
        epilog=epilog,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @run_options(defaults=defaults)
    @click.pass_context
    def job(ctx: click.Context, **params: Any) -> None:
        run_and_report(params, ctx)

    return job


def job_main(name: str, argv: list[str] | None, **command: Any) -> int:
    """A job script's whole ``main``: run :func:`job_command` on ``argv`` and return the exit
    status (0 done, 1 error, 2 usage error) instead of exiting."""
    try:
        job_command(name, **command).main(args=argv, prog_name=name, standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0  # pragma: no cover - standalone mode always exits
