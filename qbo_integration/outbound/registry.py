"""Runners of the jobs beyond the spec (docs/quickbooks/beyond.md): each module registers the function that runs
one attempt of its action; outbound/runners.py dispatches to them."""

from __future__ import annotations

from collections.abc import Callable

from ..models import QboSyncJob

JobRunner = Callable[[QboSyncJob], dict]
JOB_RUNNERS: dict[str, JobRunner] = {}


def job_runner(action: str) -> Callable[[JobRunner], JobRunner]:
    def register(run: JobRunner) -> JobRunner:
        JOB_RUNNERS[action] = run
        return run

    return register
