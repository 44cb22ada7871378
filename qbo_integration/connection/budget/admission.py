"""Taking a place in the company's request budget before a request leaves, and giving it back after.

The store comes from `settings.QBO_REQUEST_BUDGET` (docs/multi-machine.md#the-request-budget), the limits from the
QBO_BUDGET_* settings. A request waits while the budget is spent — as long as its caller's patience allows
(`patience`; QBO_BUDGET_WAIT_SECONDS by default), then it is not sent and the caller gets a QboPausedError whose
`retry_at` is when the budget frees: a job or an inbox event goes back to its queue until then, as after a 429,
without counting an attempt. A store that cannot be reached does not stop QuickBooks work: the request goes
without a budget (QuickBooks' own 429 and the company's pause still hold it back) and the log says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

import psycopg
import redis
from django.conf import settings
from django.db import connections
from django.utils import timezone

from ...client import http
from ...client.errors import QboPausedError
from .in_postgres import PostgresStore
from .in_process import ProcessStore
from .in_redis import RedisStore
from .limits import Grant, Limits, StoreUnavailable

log = logging.getLogger(__name__)

STORES = ("database", "redis", "process")
CLICK_WAIT_SECONDS = 5.0  # a person's click waits at most this long; then its job is the worker's
HOLD_MARGIN_SECONDS = 5.0  # a slot outlives its request's longest wait for an answer by this much

_patience: ContextVar[float | None] = ContextVar("qbo_budget_patience", default=None)
_sleep: ContextVar[Callable[[float], None]] = ContextVar("qbo_budget_sleep", default=time.sleep)
_stores: dict[tuple, object] = {}


@contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Requests made inside wait at most `seconds` for the budget (a person's click: a few seconds)."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


@contextmanager
def sleeping(sleep: Callable[[float], None]) -> Iterator[None]:
    """Waits for the budget inside use `sleep` (a bulk push's keeps its heartbeat while it waits)."""
    token = _sleep.set(sleep)
    try:
        yield
    finally:
        _sleep.reset(token)


@contextmanager
def admitted(realm_id: str, *, is_batch: bool = False, store=None, limits: Limits | None = None) -> Iterator[None]:
    """The request inside holds a place in the company's budget, given back however the block ends. `store` and
    `limits`: the configured ones unless given."""
    store = store or current_store()
    grant = _wait_for_place(store, realm_id, is_batch, limits or current_limits())
    try:
        yield
    finally:
        if grant is not None:
            _give_back(store, grant)


def current_limits() -> Limits:
    return Limits(
        per_minute=settings.QBO_BUDGET_PER_MINUTE or None,
        batch_per_minute=settings.QBO_BUDGET_BATCH_PER_MINUTE or None,
        concurrent=settings.QBO_BUDGET_CONCURRENT or None,
        per_second=settings.QBO_BUDGET_PER_SECOND or None,
        window=getattr(settings, "QBO_BUDGET_WINDOW_SECONDS", 60.0),  # QuickBooks' minute; tests shorten it
        hold=sum(http.default_timeout()) + HOLD_MARGIN_SECONDS,
    )


def current_store():
    """The configured store, one per process (and per database or Redis server)."""
    kind = settings.QBO_REQUEST_BUDGET
    db = connections["default"].settings_dict
    if kind == "database" and connections["default"].vendor == "postgresql":
        key = ("database", db["NAME"], db["HOST"], db["PORT"])
    elif kind == "redis":
        key = ("redis", settings.REDIS_URL)
    else:  # "process", or "database" on SQLite: one machine, counted per process
        key = ("process",)
    if key not in _stores:
        _stores[key] = _new_store(key)
    return _stores[key]


def forget_counts() -> None:
    """Forgets what this process counted (the test suite starts each test with a fresh budget)."""
    store = _stores.get(("process",))
    if store is not None:
        store.clear()


def _new_store(key: tuple):
    if key[0] == "database":
        return PostgresStore(_postgres_connection)
    if key[0] == "redis":
        return RedisStore(redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5))
    return ProcessStore()


def _postgres_connection() -> psycopg.Connection:
    db = connections["default"]
    params = db.get_connection_params()
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    if "prepare_threshold" not in db.settings_dict["OPTIONS"]:
        # The same few statements, asked hundreds of times a minute: prepared, they are not planned again each time
        # (Django turns preparing off by default for connection poolers; an explicit OPTIONS value is kept).
        params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=True, connect_timeout=5)


def _wait_for_place(store, realm_id: str, is_batch: bool, limits: Limits) -> Grant | None:
    patience_left = _patience.get()
    deadline = time.monotonic() + (settings.QBO_BUDGET_WAIT_SECONDS if patience_left is None else patience_left)
    while True:
        try:
            answer = store.take(realm_id, is_batch=is_batch, limits=limits)
        except StoreUnavailable as e:
            log.warning("quickbooks request budget unavailable (%s); realm %s sends without it", e, realm_id)
            return None
        if isinstance(answer, Grant):
            return answer
        left = deadline - time.monotonic()
        if left <= 0:
            raise _budget_spent(answer.seconds)
        _sleep.get()(min(answer.seconds, left))


def _give_back(store, grant: Grant) -> None:
    try:
        store.release(grant)
    except StoreUnavailable as e:  # the slot expires by itself
        log.warning("quickbooks request budget: a slot of realm %s was not given back (%s)", grant.realm_id, e)


def _budget_spent(seconds: float) -> QboPausedError:
    until = timezone.now() + timedelta(seconds=seconds)
    return QboPausedError(
        "Kadouri is holding this back to stay under QuickBooks' request limits for the company; "
        "it goes as soon as they allow.",
        code="",
        retry_at=until,
    )
