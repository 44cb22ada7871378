"""Fault injection for the emulator (the fault bodies themselves are in ``web/responses``).

A rule answers the next ``count`` requests whose method and path match with a canned failure.
With a ``rate`` (0 < rate <= 1) the rule is probabilistic instead: each matching request fails with
that probability, for as long as the rule lives (``count`` then caps the failures; none = no cap) —
the soak's "20 % transient faults" is a handful of such rules. Kinds: ``429`` ``500`` ``503`` ``401``
``xml`` (answer with a fault), ``slow`` (run the request, then wait ``delay`` real seconds before
answering) and ``drop`` (run the request, then close the connection without an answer).
"""

from __future__ import annotations

import itertools
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime

from .web.responses import (
    Response,
    auth_fault,
    server_error_fault,
    throttle_fault,
    unavailable_fault,
    xml_throttle_fault,
)

RESPONSE_KINDS = ("429", "500", "503", "401", "xml")
BEHAVIOUR_KINDS = ("slow", "drop")
KINDS = RESPONSE_KINDS + BEHAVIOUR_KINDS


def fault_response(kind: str, now: datetime) -> Response:
    builders = {
        "429": throttle_fault,
        "500": server_error_fault,
        "503": unavailable_fault,
        "401": auth_fault,
        "xml": xml_throttle_fault,
    }
    return builders[kind](now)


_ids = itertools.count(1)


@dataclass
class FaultRule:
    kind: str
    method: str = "*"
    path: str = ".*"
    count: int | None = 1
    delay: float = 0.0
    rate: float | None = None
    body: str = ""  # optional regex the request body must match (e.g. '"operation": "create"')
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0
    seen: int = 0

    def matches(self, method: str, path: str, body: str = "") -> bool:
        method_ok = self.method in ("*", "", None) or self.method.upper() == method.upper()
        body_ok = not self.body or re.search(self.body, body) is not None
        return method_ok and body_ok and re.search(self.path, path) is not None

    def to_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.random = random.Random(seed)

    def add(
        self,
        kind: str,
        method: str = "*",
        path: str = ".*",
        count: int | None = 1,
        delay: float = 0.0,
        rate: float | None = None,
        body: str = "",
    ) -> FaultRule:
        kind = str(kind).lower()
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if rate is not None:
            rate = float(rate)
            if not 0 < rate <= 1:
                raise ValueError("rate must be greater than 0 and at most 1")
        elif count is None:
            raise ValueError("count is required without a rate")
        if count is not None and int(count) < 1:
            raise ValueError("count must be at least 1")
        if float(delay or 0) < 0:
            raise ValueError("delay cannot be negative")
        re.compile(path or ".*")
        re.compile(body or "")
        rule = FaultRule(
            kind=kind,
            method=method or "*",
            path=path or ".*",
            count=None if count is None else int(count),
            delay=float(delay or 0),
            rate=rate,
            body=body or "",
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str, body: str = "") -> FaultRule | None:
        """The first live rule that fires for the request (a counted rule always does, a rule with a
        rate with that probability), with one use consumed."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, body):
                    continue
                rule.seen += 1
                if rule.rate is not None and self.random.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]
