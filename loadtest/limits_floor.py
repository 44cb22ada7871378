"""QuickBooks' per-company limits as the benchmarks run them — the emulator's rate limits, every one on — and the
floor they put under a figure (docs/quickbooks/limits.md#request-limits).

The floor is the least wall time in which that many requests can be admitted at all: 10 in any second, 500 (and
120 batch requests) in any 60 s, each request sent the moment the windows allow it and answered instantly.
"""

from __future__ import annotations

PER_MINUTE, BATCH_PER_MINUTE, PER_SECOND, CONCURRENT = 500, 120, 10, 10
LIMITS = {
    "per_minute": PER_MINUTE,
    "batch_per_minute": BATCH_PER_MINUTE,
    "per_second": PER_SECOND,
    "concurrent": CONCURRENT,
}
LIMITS_TEXT = (
    f"{PER_MINUTE} requests/min, {BATCH_PER_MINUTE} batch requests/min, {PER_SECOND} requests/s, "
    f"{CONCURRENT} concurrent per company"
)


def limits_on(emu) -> None:
    """Every limit on, counters from zero (what a set-up sent before does not count against the run)."""
    emu.configure_limits(**LIMITS)
    emu.limits.reset()


def _last_admitted(count: int, per_window: list[tuple[int, float]]) -> float:
    """When the last of `count` requests, each sent as soon as allowed, is admitted under windows of
    (at most n requests, per w seconds)."""
    times: list[float] = []
    for i in range(count):
        start = 0.0
        for limit, window in per_window:
            if i >= limit:
                start = max(start, times[i - limit] + window)
        times.append(start)
    return times[-1] if times else 0.0


def floor_seconds(requests: int, batch_requests: int = 0) -> float:
    """The least wall time the limits allow for `requests`, `batch_requests` of them batch requests."""
    every = _last_admitted(requests, [(PER_SECOND, 1.0), (PER_MINUTE, 60.0)])
    batches = _last_admitted(batch_requests, [(PER_SECOND, 1.0), (BATCH_PER_MINUTE, 60.0)])
    return max(every, batches)


def sustained_events_per_second(requests_per_event: float) -> float:
    """The most events a second the limits let through for good at this many requests an event (500 a minute
    binds before 10 a second)."""
    per_second = min(PER_MINUTE / 60, PER_SECOND)
    return per_second / requests_per_event if requests_per_event else float("inf")
