"""Hotline tickets (JSONL, JSON, CSV or Parquet records) -> one Parquet row per ticket.

Runs from the repository root without installing anything beyond the requirements::

    python jobs/tickets.py                                     # bundled samples, local Ray
    python jobs/tickets.py --input /data/tickets --output /data/out/tickets --text-column title --text-column body
    ray job submit --address http://HEAD:8265 --working-dir . -- \\
        python jobs/tickets.py --input s3://hotline/2024/ --output s3://warehouse/tickets/ \\
        --model /home/ubuntu/models/seqgpt-560m --gpus-per-actor 1

Fields (jobs/schemas/tickets.yaml): 来电人 (applicant), 联系电话 (phone, normalized to E.164),
地址 (address), 类别 (a classification: 咨询/投诉/求助/建议/举报) and 诉求 (the request).  The
ticket id (``--id-column``) is kept as ``doc_id``; malformed lines, undecodable bytes, missing
or duplicate ids become quarantine rows.  Rerunning skips tickets already written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python jobs/tickets.py` without installing
    sys.path.insert(0, str(ROOT))

DEFAULT_INPUT = "samples/tickets"
DEFAULT_OUTPUT = "out/tickets"
DEFAULT_SCHEMA = "jobs/schemas/tickets.yaml"


def _default(path: str) -> str:
    """Embedded defaults are relative to the repository, wherever the job is started from."""
    return str(ROOT / path)


def parse_args(argv=None) -> argparse.Namespace:
    from pipelines.run import add_job_arguments

    p = argparse.ArgumentParser(
        prog="jobs/tickets.py",
        description="Extract applicant, phone, address, category and request from hotline tickets.",
        epilog="Example: ray job submit --working-dir . -- python jobs/tickets.py "
        "--input s3://hotline/2024/ --output s3://warehouse/tickets/ --gpus-per-actor 1",
    )
    p.add_argument(
        "--input", default=_default(DEFAULT_INPUT), help=f"folder, file or s3:// URI [{DEFAULT_INPUT}]"
    )
    p.add_argument(
        "--output", default=_default(DEFAULT_OUTPUT), help=f"folder or s3:// URI [{DEFAULT_OUTPUT}]"
    )
    p.add_argument("--schema", default=_default(DEFAULT_SCHEMA), help=f"schema file [{DEFAULT_SCHEMA}]")
    p.add_argument("--model", default=None, help="hub id or model folder [the bundled model]")
    p.add_argument("--id-column", default="id", help="the ticket id column [id]")
    p.add_argument(
        "--text-column",
        dest="text_columns",
        action="append",
        default=None,
        help="text column, repeatable [text]",
    )
    p.add_argument(
        "--format", dest="ticket_format", default=None, help="jsonl, json, csv, tsv or parquet [by extension]"
    )
    add_job_arguments(p, noun="tickets", batch_size=16, rows_per_part=1024)
    return p.parse_args(argv)


def main(argv=None) -> int:
    from pipelines.run import run_job

    args = parse_args(argv)
    return run_job(
        "jobs/tickets.py",
        "tickets",
        args,
        kind="tickets",
        id_column=args.id_column,
        text_columns=tuple(args.text_columns or ("text",)),
        ticket_format=args.ticket_format,
    )


if __name__ == "__main__":
    sys.exit(main())
