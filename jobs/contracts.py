"""Nightly contract extraction: PDFs (Chinese and English) -> one Parquet row per contract.

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

import argparse
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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="jobs/contracts.py",
        description="Extract parties, amount, dates, term, governing law and dispute resolution from contracts.",
        epilog="Example: ray job submit --working-dir . -- python jobs/contracts.py "
        "--input s3://archive/contracts/ --output s3://warehouse/contracts/ --gpus-per-actor 1",
    )
    p.add_argument("--input", default=_default(DEFAULT_INPUT), help=f"folder or s3:// URI [{DEFAULT_INPUT}]")
    p.add_argument(
        "--output", default=_default(DEFAULT_OUTPUT), help=f"folder or s3:// URI [{DEFAULT_OUTPUT}]"
    )
    p.add_argument("--schema", default=_default(DEFAULT_SCHEMA), help=f"schema file [{DEFAULT_SCHEMA}]")
    p.add_argument("--model", default=None, help="hub id or model folder [the bundled model]")
    p.add_argument("--actors", type=int, default=None, help="extraction actors [1 per GPU, or 1]")
    p.add_argument("--gpus-per-actor", type=float, default=None, help="[1 if the cluster has GPUs, else 0]")
    p.add_argument("--batch-size", type=int, default=8, help="documents per extraction call [8]")
    p.add_argument("--rows-per-part", type=int, default=256, help="documents per Parquet part file [256]")
    p.add_argument("--keep-text", action="store_true", help="also store the cleaned text")
    p.add_argument("--run-id", default=None, help="run id written into every row [time + random]")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from pipelines.run import PipelineError, run_pipeline

    if args.model is None:
        print(
            "jobs/contracts.py: no --model given, so the bundled default is used. It is currently an UNTRAINED "
            "tiny demo model: the values it writes are verbatim spans of the contracts but NOT meaningful "
            "extractions. Pass --model DAMO-NLP/SeqGPT-560M (from the local cache) or a model folder.",
            flush=True,
        )
    try:
        summary = run_pipeline(
            args.input,
            args.output,
            args.schema,
            model=args.model,
            actors=args.actors,
            gpus_per_actor=args.gpus_per_actor,
            batch_size=args.batch_size,
            rows_per_part=args.rows_per_part,
            run_id=args.run_id,
            kind="pdf",
            keep_text=args.keep_text,
        )
    except PipelineError as e:
        if e.summary is not None:
            print(e.summary.format(), flush=True)
        print(f"jobs/contracts.py: {e}", file=sys.stderr, flush=True)
        return 1
    print(summary.format(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
