"""Nightly contract extraction: an archive of contracts (Chinese and English) -> one Parquet
row per contract.  Every kind ``seqgpt run`` reads, by extension: PDFs (scanned pages through
OCR), scans and photos (.png .jpg .tif ...), Word (.docx), e-mail (.eml: the message and each
attachment), HTML and text files.

Runs from the repository root without installing anything beyond the requirements::

    python jobs/contracts.py                                   # bundled samples, local Ray
    python jobs/contracts.py --input /data/contracts --output /data/out/contracts
    ray job submit --address http://HEAD:8265 --working-dir . -- \\
        python jobs/contracts.py --input s3://archive/contracts/ --output s3://warehouse/contracts/ \\
        --model /home/ubuntu/models/seqgpt-560m --actors 4 --gpus-per-actor 1

Fields (jobs/schemas/contracts.yaml): 甲方/乙方 (Party A/B), 合同金额 (money), 签约日期,
合同期限, 开始日期, 结束日期 (dates), 争议解决方式, 适用法律; rules 甲方 != 乙方 and
结束日期 >= 开始日期.  Rerunning the same command skips contracts already written, so a
killed run is finished by running it again (see pipelines/run.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as `python jobs/contracts.py` without installing
    sys.path.insert(0, str(ROOT))

DEFAULT_INPUT = "samples/contracts"
DEFAULT_OUTPUT = "out/contracts"
DEFAULT_SCHEMA = "jobs/schemas/contracts.yaml"


def _default(path: str) -> str:
    """Embedded defaults are relative to the repository, wherever the job is started from."""
    return str(ROOT / path)


DESCRIPTION = "Extract parties, amount, dates, term, governing law and dispute resolution from contracts."
EPILOG = """\b
Example:
  ray job submit --working-dir . -- python jobs/contracts.py \\
      --input s3://archive/contracts/ --output s3://warehouse/contracts/ --gpus-per-actor 1
Every option of `seqgpt run` works here too (this script is `seqgpt run` with these defaults)."""
DEFAULTS = {
    "input_uri": _default(DEFAULT_INPUT),
    "output_uri": _default(DEFAULT_OUTPUT),
    "schema_file": _default(DEFAULT_SCHEMA),
    "kind": "auto",  # by extension: PDFs, scans, Word, e-mail, HTML, text
    "batch_size": 8,
    "rows_per_part": 256,
}


def main(argv=None) -> int:
    from seqgpt.options import job_main

    return job_main("jobs/contracts.py", argv, description=DESCRIPTION, epilog=EPILOG, defaults=DEFAULTS)


if __name__ == "__main__":
    sys.exit(main())
