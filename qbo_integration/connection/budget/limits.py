"""What the budget allows, and the one rule all its stores apply: from a company's tally — what it has in flight
and what it sent in the last minute and second — how long a new request must wait (0: it may go now).

The windows slide like QuickBooks' (docs/quickbooks/limits.md#request-limits): a request counts for `window`
seconds from the moment it was admitted, so the budget never lets more than `per_minute` through in any
`window` seconds, nor more than `concurrent` be in flight.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# While every slot is taken nobody knows when one frees: look again after a short, jittered moment (jitter keeps
# the waiters of several machines from asking all at once).
SLOT_POLL_SECONDS = (0.02, 0.1)
# A wait ends a hair after the oldest request leaves its window, not on the edge itself.
EDGE_SECONDS = 0.01


@dataclass(frozen=True)
class Limits:
    per_minute: int | None = 480
    batch_per_minute: int | None = 110
    concurrent: int | None = 8
    per_second: int | None = None
    window: float = 60.0  # the sliding "minute", in seconds
    hold: float = 40.0  # the longest a request keeps its slot: a crashed holder's slot frees after this long


@dataclass(frozen=True)
class Window:
    """The requests of one sliding window: how many, and when the oldest was admitted."""

    count: int = 0
    oldest: float | None = None


@dataclass(frozen=True)
class Tally:
    now: float  # seconds since the epoch, on the store's clock (one clock for every machine)
    in_flight: int
    minute: Window
    batch: Window
    second: Window


@dataclass(frozen=True)
class Grant:
    """A request's place in its company's budget: a stamp in the windows and a slot, released by `token`."""

    realm_id: str
    token: str


@dataclass(frozen=True)
class Wait:
    """No place now: look again after `seconds`."""

    seconds: float


class StoreUnavailable(Exception):
    """The store could not be asked (its server is down or unreachable)."""


def wait_seconds(tally: Tally, *, is_batch: bool, limits: Limits) -> float:
    """0 when a request may go now, else how long it should wait before asking again."""
    waits = [
        _window_wait(tally.minute, limits.per_minute, limits.window, tally.now),
        _window_wait(tally.second, limits.per_second, 1.0, tally.now),
    ]
    if is_batch:
        waits.append(_window_wait(tally.batch, limits.batch_per_minute, limits.window, tally.now))
    if slots_full(tally.in_flight, limits):
        waits.append(slot_poll())
    return max(waits)


def slots_full(in_flight: int, limits: Limits) -> bool:
    return limits.concurrent is not None and in_flight >= limits.concurrent


def slot_poll() -> float:
    return random.uniform(*SLOT_POLL_SECONDS)


def _window_wait(window: Window, limit: int | None, length: float, now: float) -> float:
    if limit is None or window.count < limit:
        return 0.0
    oldest = now if window.oldest is None else window.oldest
    return max(oldest + length - now, 0.0) + EDGE_SECONDS
