"""The budget counted in this process only: right for a single process (the test suite; development on SQLite,
where the web server and the worker each keep their own count). Several processes need a shared store."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .limits import Grant, Limits, Tally, Wait, Window, wait_seconds


@dataclass
class _Realm:
    sent: deque = field(default_factory=deque)  # admission times, oldest first
    batch_sent: deque = field(default_factory=deque)
    held: dict[str, float] = field(default_factory=dict)  # slot token → expiry

    def forget(self, now: float, limits: Limits) -> None:
        for stamps in (self.sent, self.batch_sent):
            while stamps and stamps[0] <= now - limits.window:
                stamps.popleft()
        for token in [token for token, expiry in self.held.items() if expiry <= now]:
            del self.held[token]

    def tally(self, now: float) -> Tally:
        last_second = list(itertools.takewhile(lambda stamp: stamp > now - 1.0, reversed(self.sent)))
        return Tally(
            now=now,
            in_flight=len(self.held),
            minute=_window(self.sent),
            batch=_window(self.batch_sent),
            second=Window(len(last_second), last_second[-1] if last_second else None),
        )


def _window(stamps: deque) -> Window:
    return Window(len(stamps), stamps[0] if stamps else None)


class ProcessStore:
    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._realms: dict[str, _Realm] = {}
        self._tokens = itertools.count(1)

    def take(self, realm_id: str, *, is_batch: bool, limits: Limits) -> Grant | Wait:
        with self._lock:
            now = self.clock()
            realm = self._realms.setdefault(realm_id, _Realm())
            realm.forget(now, limits)
            wait = wait_seconds(realm.tally(now), is_batch=is_batch, limits=limits)
            if wait:
                return Wait(wait)
            token = str(next(self._tokens))
            realm.sent.append(now)
            if is_batch:
                realm.batch_sent.append(now)
            realm.held[token] = now + limits.hold
            return Grant(realm_id, token)

    def release(self, grant: Grant) -> None:
        with self._lock:
            realm = self._realms.get(grant.realm_id)
            if realm is not None:
                realm.held.pop(grant.token, None)

    def clear(self) -> None:
        with self._lock:
            self._realms.clear()
