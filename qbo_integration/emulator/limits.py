"""Per-company request limits (docs/quickbooks/limits.md#request-limits): 500 requests a minute, 10 concurrent, 120
batch requests a minute; optionally 10 a second (off by default). Windows slide over emulator time; tests may
shorten the "minute" (``window_seconds``).

Besides what it refused, it counts the peaks it admitted — most in flight at once, most in any window, most batch
requests in any window — so a run can show it stayed under every limit.

Only admitted requests fill a window; a throttled one is counted in ``throttled`` but does not
extend the penalty (Intuit's exact accounting is not documented).

Concurrency: a request is in flight from the moment its headers arrive until its answer goes out, so a
server takes a ``Slot`` before reading the body (``RateLimiter.take_slot``) and releases it as it starts
writing the answer (never after: a client holding its answer must find its slot free for its next request).
The per-minute limits are applied later by ``enter(..., holding_slot=True)``. Callers without a socket (the
in-process ``Emulator.handle``) let ``enter``/``leave`` count the concurrency around the call instead.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .clock import Clock


@dataclass
class RealmCounters:
    requests: int = 0
    batch_requests: int = 0
    throttled: int = 0
    throttled_per_minute: int = 0
    throttled_concurrent: int = 0
    throttled_batch: int = 0
    throttled_per_second: int = 0
    in_flight: int = 0
    max_concurrent: int = 0
    max_per_minute: int = 0
    max_batch_per_minute: int = 0
    window: deque = field(default_factory=deque)
    batch_window: deque = field(default_factory=deque)

    def to_dict(self) -> dict:
        return {
            "requests": self.requests,
            "batch_requests": self.batch_requests,
            "throttled": self.throttled,
            "throttled_per_minute": self.throttled_per_minute,
            "throttled_concurrent": self.throttled_concurrent,
            "throttled_batch": self.throttled_batch,
            "throttled_per_second": self.throttled_per_second,
            "in_flight": self.in_flight,
            "max_concurrent": self.max_concurrent,
            "max_per_minute": self.max_per_minute,
            "max_batch_per_minute": self.max_batch_per_minute,
            "last_minute": len(self.window),
            "batch_last_minute": len(self.batch_window),
        }


@dataclass
class LimitConfig:
    per_minute: int | None = 500
    concurrent: int | None = 10
    batch_per_minute: int | None = 120
    per_second: int | None = None
    window_seconds: float = 60.0  # the sliding "minute"


def _trim(window: deque, cutoff: datetime) -> None:
    while window and window[0] <= cutoff:
        window.popleft()


def _count_since(window: deque, cutoff: datetime) -> int:
    return sum(1 for stamp in window if stamp > cutoff)


def _count_throttled(counters: RealmCounters, reason: str) -> None:
    counters.throttled += 1
    setattr(counters, f"throttled_{reason}", getattr(counters, f"throttled_{reason}") + 1)


def _count_in_flight(counters: RealmCounters) -> None:
    counters.in_flight += 1
    counters.max_concurrent = max(counters.max_concurrent, counters.in_flight)


class RateLimiter:
    def __init__(self, clock: Clock, config: LimitConfig | None = None) -> None:
        self.clock = clock
        self.config = config or LimitConfig()
        self._realms: dict[str, RealmCounters] = {}
        self._lock = threading.Lock()

    def configure(self, **values: float | None) -> LimitConfig:
        for key, value in values.items():
            if not hasattr(self.config, key):
                raise ValueError(f"unknown limit {key!r}")
            if key == "window_seconds":  # a length, never switched off
                value = 60.0 if value is None else float(value)
            elif value is not None:
                value = int(value)
            setattr(self.config, key, value)
        return self.config

    def take_slot(self, realm: str) -> Slot:
        """A request's headers have arrived: count it in flight, or refuse it (``Slot.refused``) when the
        company already has its limit in flight."""
        with self._lock:
            counters = self._realms.setdefault(realm, RealmCounters())
            if self._too_many_in_flight(counters):
                _count_throttled(counters, "concurrent")
                return Slot(self, realm, refused=True)
            _count_in_flight(counters)
            return Slot(self, realm, refused=False)

    def enter(self, realm: str, is_batch: bool = False, holding_slot: bool = False) -> str | None:
        """Admit a request (returns None) or name the limit it breaks. Call ``leave`` after an admitted one,
        unless it came with a slot (``holding_slot``): its concurrency was settled when the slot was taken."""
        now = self.clock.now()
        with self._lock:
            counters = self._realms.setdefault(realm, RealmCounters())
            minute_ago = now - timedelta(seconds=self.config.window_seconds)
            _trim(counters.window, minute_ago)
            _trim(counters.batch_window, minute_ago)
            reason = "concurrent" if not holding_slot and self._too_many_in_flight(counters) else None
            reason = reason or self._breach(counters, now, is_batch)
            if reason:
                _count_throttled(counters, reason)
                return reason
            counters.requests += 1
            counters.window.append(now)
            counters.max_per_minute = max(counters.max_per_minute, len(counters.window))
            if is_batch:
                counters.batch_requests += 1
                counters.batch_window.append(now)
                counters.max_batch_per_minute = max(counters.max_batch_per_minute, len(counters.batch_window))
            if not holding_slot:
                _count_in_flight(counters)
            return None

    def _too_many_in_flight(self, counters: RealmCounters) -> bool:
        return self.config.concurrent is not None and counters.in_flight >= self.config.concurrent

    def _breach(self, counters: RealmCounters, now: datetime, is_batch: bool) -> str | None:
        cfg = self.config
        if cfg.per_minute is not None and len(counters.window) >= cfg.per_minute:
            return "per_minute"
        if cfg.per_second is not None and _count_since(counters.window, now - timedelta(seconds=1)) >= cfg.per_second:
            return "per_second"
        if is_batch and cfg.batch_per_minute is not None and len(counters.batch_window) >= cfg.batch_per_minute:
            return "batch"
        return None

    def leave(self, realm: str) -> None:
        """The request's answer is going out: it no longer counts in flight."""
        with self._lock:
            counters = self._realms.get(realm)
            if counters and counters.in_flight > 0:
                counters.in_flight -= 1

    def counters(self, realm: str | None = None) -> dict:
        with self._lock:
            if realm is not None:
                return self._realms.get(realm, RealmCounters()).to_dict()
            return {name: counters.to_dict() for name, counters in self._realms.items()}

    def reset(self) -> None:
        with self._lock:
            self._realms.clear()


class Slot:
    """One request's place among its company's concurrent requests, from its headers to its answer.
    A refused slot holds nothing; ``release`` is safe to call more than once."""

    def __init__(self, limiter: RateLimiter, realm: str, refused: bool) -> None:
        self._limiter = limiter
        self.realm = realm
        self.refused = refused
        self._held = not refused
        self._release_lock = threading.Lock()

    def release(self) -> None:
        with self._release_lock:
            held, self._held = self._held, False
        if held:
            self._limiter.leave(self.realm)
