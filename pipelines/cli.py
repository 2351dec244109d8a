"""The ``seqgpt`` command line.

Heavy packages (torch, transformers, pyarrow, ray) are imported inside the commands, so
``seqgpt --help`` answers at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

EXAMPLES = """\b
Examples:
  seqgpt extract --fields "甲方,乙方,合同金额,签约日期(YYYY-MM-DD)" contract.pdf
  echo "Acme Corp. hired John Smith on Sep 12, 2023." | seqgpt extract --fields "person,company,date" -
  seqgpt extract --schema contract.yaml --model DAMO-NLP/SeqGPT-560M --format table contract.txt
  seqgpt schema "身份证号(18位), 项目阶段(立项/招标/实施/验收)" --save fields.yaml
"""


@click.group(epilog=EXAMPLES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seqgpt-nlp")
def main():
    """seqgpt: pull named fields out of business documents as verbatim, validated values.

    Name the fields you want as short noun phrases, with optional hints in parentheses
    (formats such as 18位 or YYYY-MM-DD, choices such as 立项/招标/实施/验收, parts such as
    姓名+职务).  Every value is a verbatim span of the document with its character offsets
    and a confidence from the model itself.
    """


def _load_schema(fields: str | None, schema_file: str | None):
    from extractor.schema import Schema, SchemaError

    if bool(fields) == bool(schema_file):
        raise click.UsageError("give the fields either with --fields or with --schema FILE (exactly one)")
    try:
        return Schema.from_file(schema_file) if schema_file else Schema.parse(fields)
    except SchemaError as exc:
        raise click.BadParameter(str(exc), param_hint="--schema" if schema_file else "--fields") from exc


def _read_document(source: str) -> tuple[str, str]:
    """The text of a text or PDF file, or of stdin for ``-``; (text, name)."""
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
    if data[:5] == b"%PDF-" or name.lower().endswith(".pdf"):
        from connectors.pdf import read_pdf
        from connectors.records import Quarantine

        doc = read_pdf(data, name)
        if isinstance(doc, Quarantine):
            raise click.ClickException(f"cannot read {name}: {doc.reason} ({doc.detail})")
        return doc.text, name
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), name
        except UnicodeDecodeError:
            continue
    raise click.ClickException(f"{name} is neither UTF-8 nor GB18030 text, nor a PDF")


def _load_extractor(model: str | None, device: str, dtype: str, compile: bool, **kwargs):
    from extractor.engine import Extractor
    from extractor.loading import ModelLoadError

    try:
        ex = Extractor.load(model, device=device, dtype=dtype, compile=compile, **kwargs)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from exc
    if ex.untrained:
        click.echo(
            f"note: using an untrained tiny demo model ({ex.model_id}); values are verbatim spans but not "
            "meaningful. Pass --model DAMO-NLP/SeqGPT-560M or a local model folder for real extraction.",
            err=True,
        )
    return ex


def model_options(f):
    f = click.option(
        "--compile/--no-compile", default=False, help="torch.compile the model (worth it on GPU)."
    )(f)
    f = click.option("--dtype", default="auto", show_default=True, help="auto, fp32, fp16 or bf16.")(f)
    f = click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")(f)
    f = click.option(
        "--model",
        default=None,
        metavar="ID_OR_DIR",
        help="Hub id (e.g. DAMO-NLP/SeqGPT-560M, read from the local cache) or a local model folder. "
        "Default: the bundled model.",
    )(f)
    return f


@main.command()
@click.option(
    "--fields",
    "-f",
    default=None,
    help='Comma list of fields, e.g. "甲方,乙方,合同金额,签约日期(YYYY-MM-DD)".',
)
@click.option(
    "--schema", "schema_file", default=None, type=click.Path(), help="Schema file (.yaml/.yml/.json)."
)
@model_options
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table", "markdown"]), default="json", show_default=True
)
@click.option(
    "--labels-per-prompt", default=6, show_default=True, help="Labels asked per prompt (SeqGPT: 6)."
)
@click.option("--max-new-tokens", default=128, show_default=True, help="Answer budget per prompt.")
@click.argument("source", metavar="FILE|-", default="-")
def extract(
    fields, schema_file, model, device, dtype, compile, fmt, labels_per_prompt, max_new_tokens, source
):
    """Extract fields from one text or PDF file (or stdin).

    JSON output gives, per field, a list of values with text, start, end (character offsets
    into the document text), confidence and, where the field's type has one, the normalized
    value; then classification labels, rule violations and warnings.
    """
    schema = _load_schema(fields, schema_file)
    text, name = _read_document(source)
    if not text.strip():
        raise click.ClickException(f"{name} contains no text to extract from")
    ex = _load_extractor(
        model, device, dtype, compile, labels_per_prompt=labels_per_prompt, max_new_tokens=max_new_tokens
    )
    result = ex.extract(text, schema)
    click.echo(render(result, schema, fmt, source=name, model=ex.model_id))


def render(result, schema, fmt: str, *, source: str = "", model: str = "") -> str:
    """A DocumentResult as JSON, a plain-text table or a Markdown table."""
    if fmt == "json":
        payload = {"source": source, "model": model, **result.to_dict()}
        return json.dumps(payload, ensure_ascii=False, indent=2)
    rows = []
    for f in schema.extraction_fields:
        spans = result.values.get(f.name, [])
        if not spans:
            rows.append([f.name, "", "", "", ""])
        for s in spans:
            norm = "" if s.normalized is None else json.dumps(s.normalized, ensure_ascii=False)
            if s.issues:
                norm = (norm + " ! " + "; ".join(s.issues)).strip()
            rows.append([f.name, s.text, f"{s.confidence:.3f}", norm, f"{s.start}-{s.end}"])
    for c in schema.classification_fields:
        labels = result.classes.get(c.name, [])
        rows.append(
            [
                c.name,
                ", ".join(x.label for x in labels),
                ", ".join(f"{x.confidence:.3f}" for x in labels),
                "",
                "",
            ]
        )
    header = ["field", "value", "confidence", "normalized", "offsets"]
    notes = [f"violation: {v}" for v in result.violations] + [f"warning: {w}" for w in result.warnings]
    if fmt == "markdown":

        def esc(x):
            return str(x).replace("|", "\\|").replace("\n", " ")

        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows]
        return "\n".join(lines + ([""] + [f"- {n}" for n in notes] if notes else []))
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(str(x), w) for x, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)


def _width(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


@main.command("schema")
@click.argument("fields", required=False)
@click.option("--file", "schema_file", default=None, type=click.Path(), help="Check a schema file instead.")
@click.option(
    "--save", default=None, type=click.Path(), help="Write the parsed schema to a .yaml/.json file."
)
def schema_cmd(fields, schema_file, save):
    """Show how a field list (or schema file) is understood: names, hints, types, rules."""
    schema = _load_schema(fields, schema_file)
    click.echo(json.dumps(schema.to_dict(), ensure_ascii=False, indent=2))
    if save:
        schema.save(save)
        click.echo(f"saved to {save}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
