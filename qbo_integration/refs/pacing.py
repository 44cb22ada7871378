"""Pacing a run under the company's limits, and a bulk push's resend after a transient failure.

A single job sends each request once (`NO_PACER`): its retry is the whole job's, by the worker. A bulk push
paces itself and resends a failed request a few times before giving its orders back to their own jobs.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ..client.errors import QboPausedError, QboTransientError
from ..connection import calls

BATCH_MAX_ITEMS = 30  # docs/quickbooks/api.md#batch
BULK_MAX_PAUSES = 20  # waits for a pause another request's 429 set, before the push gives the work back


class Pacer:
    """Keeps a run under the company's limits (docs/quickbooks/limits.md#request-limits): 500 requests and 120 batch
    requests a minute, one request at a time (well under 10 concurrent). Counts what it lets through."""

    def __init__(
        self, per_minute: int = 480, batch_per_minute: int = 110, sleep=time.sleep, clock=time.monotonic
    ) -> None:
        self.per_minute, self.batch_per_minute = per_minute, batch_per_minute
        self.sleep, self.clock = sleep, clock
        self.window: deque[float] = deque()
        self.batch_window: deque[float] = deque()
        self.used = 0
        self.waited = 0.0

    def before(self, *, is_batch: bool = False) -> None:
        for window, limit, applies in (
            (self.window, self.per_minute, True),
            (self.batch_window, self.batch_per_minute, is_batch),
        ):
            now = self.clock()
            while window and window[0] <= now - 60:
                window.popleft()
            if applies and len(window) >= limit:
                pause = 60 - (now - window[0]) + 0.05
                self.waited += pause
                self.sleep(pause)
        now = self.clock()
        self.window.append(now)
        if is_batch:
            self.batch_window.append(now)
        self.used += 1

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


NO_PACER = Pacer(per_minute=10**9, batch_per_minute=10**9)


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
