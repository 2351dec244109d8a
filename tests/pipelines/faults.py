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
    """A writer that fails the job before committing a batch's data rows once ``n`` batches
    are committed -- after its quarantine and record rows, like a crash between the commits."""

    class StopAfterParts(WriteStage):
        def commit(self, batch):
            committed = self.sink.committed()
            if committed >= n:
                self.sink.commit_quarantine(batch)
                self.sink.commit_records(batch)
                raise InjectedFault(f"fault injection: stopping after {committed} committed parts")
            WriteStage.commit(self, batch)

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
