"""A run's requests, and a bulk push's resend after a transient failure.

The company's limits are kept by the request budget every QuickBooks request passes, shared by every process
(connection/budget, docs/quickbooks/limits.md#the-shared-request-budget). A single job sends each request once
(`NO_PACER`): its retry is the whole job's, by the worker. A bulk push counts its requests and resends a failed
one a few times before giving its orders back to their own jobs.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ..client.errors import QboPausedError, QboTransientError
from ..connection import calls

BATCH_MAX_ITEMS = 30  # docs/quickbooks/api.md#batch
BULK_MAX_PAUSES = 20  # waits for a pause another request's 429 set, before the push gives the work back


class Pacer:
    """A run's count of the requests it sends, and its waits (`sleep`: a bulk push's keeps its heartbeat)."""

    def __init__(self, sleep=time.sleep) -> None:
        self.sleep = sleep
        self.used = 0
        self.waited = 0.0

    def before(self, *, is_batch: bool = False) -> None:
        self.used += 1

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


NO_PACER = Pacer()


def _bulk_retry_delays() -> list[float]:
    return list(getattr(settings, "QBO_BULK_RETRY_DELAYS", (1, 2, 4, 8, 16)))


def _seconds_until(moment: datetime | None) -> float:
    return max((moment - timezone.now()).total_seconds(), 0.0) + 0.05 if moment else 0.0


def retrying(call, pacer: Pacer):
    """A bulk push's request, resent unchanged after a transient failure — the same body and requestid, so a
    write QuickBooks already ran (its answer lost) is answered from its cache, not run twice. It waits as long as
    QuickBooks asks (a 429's pause), else a growing delay, a bounded number of times; then the error goes to the
    caller, which hands the orders to their own retry queue."""
    delays, pauses = _bulk_retry_delays(), 0
    while True:
        try:
            return call()
        except QboPausedError as e:  # nothing was sent: the company is paused after someone's 429
            pauses += 1
            if pauses > BULK_MAX_PAUSES:
                raise
            pacer.wait(_seconds_until(e.retry_at))
        except QboTransientError as e:
            if not delays:
                raise
            pacer.wait(max(delays.pop(0), _seconds_until(e.retry_at)))


def query(sql: str, pacer: Pacer) -> dict:
    def call():
        pacer.before()
        return calls.query(sql)

    return call() if pacer is NO_PACER else retrying(call, pacer)  # single jobs retry as a whole (the worker)


def batch(items: list[dict], pacer: Pacer, request_id: str | None = None) -> dict[str, dict]:
    """The answers of one batch request, by bId."""

    def call():
        pacer.before(is_batch=True)
        return {answer.get("bId"): answer for answer in calls.batch(items, request_id=request_id)}

    return call() if pacer is NO_PACER else retrying(call, pacer)
