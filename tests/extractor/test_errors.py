"""One exception base: every error the project raises on purpose is a SeqgptError."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from connectors.records import ConnectorError
from extractor.engine import ExtractionError
from extractor.errors import SchemaError, SeqgptError
from extractor.loading import ModelLoadError
from extractor.mini import MiniUnavailable
from pipelines.run import PipelineError
from training.datasets import DatasetError
from training.finetune import FinetuneError


@pytest.mark.parametrize(
    ("error", "std_base"),
    [
        (SchemaError, ValueError),
        (ExtractionError, ValueError),
        (ModelLoadError, RuntimeError),
        (MiniUnavailable, RuntimeError),
        (ConnectorError, Exception),
        (PipelineError, RuntimeError),
        (DatasetError, ValueError),
        (FinetuneError, ValueError),
    ],
)
def test_project_errors_share_one_base_and_keep_their_standard_one(error, std_base):
    assert issubclass(error, SeqgptError) and issubclass(error, std_base)


def test_schema_module_reexports_the_one_schema_error():
    from extractor import schema

    assert schema.SchemaError is SchemaError


def test_the_cli_turns_any_seqgpt_error_into_a_message(tmp_path):
    from seqgpt.cli import main

    # ModelLoadError, raised deep inside the loader, reaches the group's one handler
    res = CliRunner().invoke(
        main, ["extract", "-f", "甲方", "--model", str(tmp_path / "none"), "-"], input="甲方"
    )
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and "does not exist" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
