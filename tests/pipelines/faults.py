"""Fault injection for the pipeline tests: stage subclasses handed to ``run_pipeline(stages=...)``.

The production stages carry no test hooks; a faulty stage is an ordinary subclass that does
something bad at a real seam of its parent, and Ray ships it to the workers like any stage.
"""

from __future__ import annotations

import logging
import os

from pipelines.run import Stages
from pipelines.stages import ExtractStage, WriteStage

log = logging.getLogger("seqgpt.pipeline")


class InjectedFault(RuntimeError):
    """Raised by :func:`stop_after_parts` (a RuntimeError: storage retries never repeat it)."""


def stop_after_parts(n: int) -> Stages:
    """A writer that fails the job before writing a batch's data part once ``n`` data parts
    are committed -- after its quarantine and record parts, like a crash between the files."""

    class StopAfterParts(WriteStage):
        def write_data_part(self, key, data):
            committed = len(self.out.list("part-*.parquet", recursive=False)) if self.out.exists() else 0
            if committed >= n:
                raise InjectedFault(f"fault injection: stopping after {committed} committed parts")
            WriteStage.write_data_part(self, key, data)

    return Stages(write=StopAfterParts)


def exit_actor_once(marker: str) -> Stages:
    """An extraction actor that kills its own process (``os._exit``) on its first batch if
    ``marker`` does not exist yet (it creates it), so exactly one actor dies mid-run."""

    class ExitActorOnce(ExtractStage):
        def __call__(self, batch):
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return ExtractStage.__call__(self, batch)
            os.close(fd)
            log.warning("fault injection: extraction actor %d exits now", os.getpid())
            os._exit(3)

    return Stages(extract=ExitActorOnce)
