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


DESCRIPTION = "Extract applicant, phone, address, category and request from hotline tickets."
EPILOG = """\b
Example:
  ray job submit --working-dir . -- python jobs/tickets.py \\
      --input s3://hotline/2024/ --output s3://warehouse/tickets/ --gpus-per-actor 1
Every option of `seqgpt run` works here too (this script is `seqgpt run` with these defaults)."""
DEFAULTS = {
    "input_uri": _default(DEFAULT_INPUT),
    "output_uri": _default(DEFAULT_OUTPUT),
    "schema_file": _default(DEFAULT_SCHEMA),
    "kind": "tickets",
    "batch_size": 16,
    "rows_per_part": 1024,
}


def main(argv=None) -> int:
    from seqgpt.options import job_main

    return job_main("jobs/tickets.py", argv, description=DESCRIPTION, epilog=EPILOG, defaults=DEFAULTS)


if __name__ == "__main__":
    sys.exit(main())
