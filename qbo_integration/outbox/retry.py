"""One retry rule for all work that talks to QuickBooks: outbound jobs and inbox events alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from ..client.errors import QboError, QboPausedError


@dataclass(frozen=True)
class NextTry:
    """What to do after a failed attempt: `attempts` is the count that stands (a pause is not counted),
    `give_up` ends the work for good, otherwise it runs again at `not_before`."""

    attempts: int
    give_up: bool
    not_before: datetime | None


def next_try(*, attempts: int, max_attempts: int, delay: timedelta, error: QboError | None) -> NextTry:
    """After attempt number `attempts` failed with `error` (None: an unexpected crash), wait `delay`, or
    longer when QuickBooks asked for it (a 429's pause). Waiting out a company's pause after someone's 429 is
    not a failed attempt: nothing was sent, and counting it let a busy company use up every queued job's and
    event's attempts until they failed for good (found by the soak)."""
    now = timezone.now()
    if isinstance(error, QboPausedError):
        return NextTry(max(attempts - 1, 0), False, error.retry_at or now)
    if attempts >= max_attempts:
        return NextTry(attempts, True, None)
    asked = getattr(error, "retry_at", None) or now
    return NextTry(attempts, False, max(now + delay, asked))


def doubling_delay(attempts: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """base, 2×base, 4×base … after attempts 1, 2, 3 …, never above `cap`."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


def stepped_delay(attempts: int, *, steps: tuple[float, ...]) -> timedelta:
    """The n-th step (in seconds) after attempt n; the last step repeats."""
    return timedelta(seconds=steps[min(max(attempts, 1), len(steps)) - 1])
