"""Webhook dispatcher (docs/quickbooks/webhooks.md).

Every change reported by the accounting engine is queued as an event. Events are batched over a
short window into deliveries; deliveries go out strictly in order, one at a time (Intuit's
in-order queue per app, docs/quickbooks/webhooks.md#delivery): a delivery that is not acknowledged (2xx within 3 s) is
retried on Intuit's schedule in emulator time and everything after it waits. Fault injection can drop,
duplicate or reorder deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

from .clock import Clock

# 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h (docs/quickbooks/webhooks.md#delivery).
RETRY_SCHEDULE = (10, 20, 30, 300, 1200, 7200, 14400, 21600)
ACK_DEADLINE_SECONDS = 3.0
MAX_EVENTS_PER_DELIVERY = 100
FORMATS = ("legacy", "cloudevents")
VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Merge": "merged",
    "Emailed": "emailed",
}

Deliver = Callable[[str, bytes, dict], int]


def default_deliver(url: str, body: bytes, headers: dict) -> int:
    return requests.post(url, data=body, headers=headers, timeout=ACK_DEADLINE_SECONDS).status_code


def sign(verifier_token: str, body: bytes) -> str:
    """intuit-signature: base64(HMAC-SHA256(verifier token, raw body)) (docs/quickbooks/webhooks.md#signature)."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def retry_delay(attempts: int) -> int:
    return RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]


@dataclass
class WebhookConfig:
    url: str | None = None
    # Several receivers (app servers with no balancer in front): each delivery attempt goes to the next in turn.
    urls: list[str] = field(default_factory=list)
    format: str = "legacy"
    verifier_token: str = "emulator-verifier-token"
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    batch_window: float = 1.0
    app_id: str = "emulator-client-id"

    def to_dict(self) -> dict:
        return dict(self.__dict__) | {"urls": list(self.urls)}

    def targets(self) -> list[str]:
        return list(self.urls) or ([self.url] if self.url else [])


@dataclass
class Event:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: datetime
    queued_at: datetime
    extra: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "realm_id": self.realm_id,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "operation": self.operation,
            "last_updated": _iso_z(self.last_updated),
            "extra": self.extra,
        }


@dataclass
class Delivery:
    events: list[Event]
    next_attempt_at: datetime
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "events": [event.to_dict() for event in self.events],
            "attempts": self.attempts,
            "next_attempt_at": _iso_z(self.next_attempt_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_payload(events: list[Event]) -> dict:
    """One eventNotifications entry per realm (docs/quickbooks/webhooks.md#legacy-payload)."""
    by_realm: dict[str, list[dict]] = {}
    for event in events:
        entity = {
            "name": event.entity,
            "id": event.entity_id,
            "operation": event.operation,
            "lastUpdated": _iso_z(event.last_updated),
        }
        deleted_id = _deleted_id(event)
        if deleted_id:
            entity["deletedId"] = deleted_id
        by_realm.setdefault(event.realm_id, []).append(entity)
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}} for realm, entities in by_realm.items()
        ]
    }


def cloudevents_payload(events: list[Event], app_id: str) -> list[dict]:
    """A JSON array of CloudEvents (docs/quickbooks/webhooks.md#cloudevents-payload)."""
    source = "intuit." + base64.b64encode(hashlib.sha256(app_id.encode()).digest()).decode()
    batch = []
    for event in events:
        verb = VERBS.get(event.operation, event.operation.lower())
        data: dict = {}
        deleted_id = _deleted_id(event)
        if deleted_id:
            data["deletedid"] = deleted_id
        batch.append(
            {
                "specversion": "1.0",
                "id": event.id,
                "source": source,
                "type": f"qbo.{event.entity.lower()}.{verb}.v1",
                "datacontenttype": "application/json",
                "time": _iso_z(event.last_updated),
                "intuitentityid": event.entity_id,
                "intuitaccountid": event.realm_id,
                "data": data,
            }
        )
    return batch


def _deleted_id(event: Event) -> str | None:
    for key in ("deletedId", "deleted_id", "deletedid", "merged_from", "from_id"):
        if event.extra.get(key):
            return str(event.extra[key])
    return None


class WebhookDispatcher:
    def __init__(
        self, clock: Clock, config: WebhookConfig | None = None, deliver: Deliver | None = None, seed: int | None = None
    ) -> None:
        self.clock = clock
        self.config = config or WebhookConfig()
        self.deliver: Deliver = deliver or default_deliver
        self.random = random.Random(seed)
        self.history: list[dict] = []
        self.events: list[Event] = []
        self._open: list[Event] = []
        self._queue: deque[Delivery] = deque()
        self._lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._turn = 0  # which of several receivers is next

    # ---- intake --------------------------------------------------------------------------

    def on_change(
        self,
        realm_id: str,
        entity: str,
        entity_id: str,
        operation: str,
        last_updated: datetime,
        extra: dict | None = None,
    ) -> None:
        """The accounting engine's ChangeListener."""
        event = Event(
            str(realm_id), entity, str(entity_id), operation, last_updated, self.clock.now(), dict(extra or {})
        )
        with self._lock:
            self.events.append(event)
            self._open.append(event)

    def configure(self, **values: object) -> WebhookConfig:
        for key, value in values.items():
            if not hasattr(self.config, key):
                raise ValueError(f"unknown webhook setting {key!r}")
            if key == "format" and value not in FORMATS:
                raise ValueError(f"format must be one of {', '.join(FORMATS)}")
            if key in ("drop_rate", "duplicate_rate", "batch_window"):
                value = float(value)  # type: ignore[arg-type]
            if key == "urls":
                value = [str(url) for url in (value or [])]  # type: ignore[union-attr]
            setattr(self.config, key, value)
        return self.config

    # ---- inspection ----------------------------------------------------------------------

    def pending(self) -> list[dict]:
        """Deliveries not yet acknowledged, in order, plus a pseudo-delivery for unbatched events."""
        with self._lock:
            queued = [delivery.to_dict() for delivery in self._queue]
            if self._open:
                queued.append(
                    {
                        "id": None,
                        "events": [event.to_dict() for event in self._open],
                        "attempts": 0,
                        "next_attempt_at": None,
                        "last_status": None,
                        "last_error": None,
                    }
                )
            return queued

    def pending_events(self) -> list[dict]:
        return [event for delivery in self.pending() for event in delivery["events"]]

    def delivered(self) -> list[dict]:
        """Attempts that were acknowledged."""
        return [entry for entry in self.history if entry["outcome"] in ("delivered", "duplicate")]

    def snapshot(self) -> dict:
        return {"config": self.config.to_dict(), "pending": self.pending(), "history": list(self.history)}

    def reset(self) -> None:
        with self._lock:
            self._open.clear()
            self._queue.clear()
            self.history.clear()
            self.events.clear()

    # ---- delivery ------------------------------------------------------------------------

    def flush(self, force: bool = False) -> list[dict]:
        """Batch every queued event now and send what is due. ``force`` also ignores retry back-off.

        Returns the attempts made (``outcome`` delivered, failed, dropped or duplicate).
        """
        with self._send_lock:
            self._close_batches(self.clock.now(), everything=True)
            return self._send_due(force)

    def tick(self) -> list[dict]:
        """What the background thread does: batch events older than the window, send what is due."""
        with self._send_lock:
            self._close_batches(self.clock.now(), everything=False)
            return self._send_due(False)

    def _close_batches(self, now: datetime, everything: bool) -> None:
        with self._lock:
            if not self._open:
                return
            oldest = self._open[0].queued_at
            if not everything and now - oldest < timedelta(seconds=self.config.batch_window):
                return
            events, self._open = self._open, []
        batches = [events[i : i + MAX_EVENTS_PER_DELIVERY] for i in range(0, len(events), MAX_EVENTS_PER_DELIVERY)]
        if self.config.reorder:
            # Out-of-sequence arrival (docs/quickbooks/webhooks.md#delivery): newest first.
            batches = [list(reversed(batch)) for batch in reversed(batches)]
        with self._lock:
            for batch in batches:
                self._queue.append(Delivery(batch, now))

    def _send_due(self, force: bool) -> list[dict]:
        attempts: list[dict] = []
        while True:
            with self._lock:
                if not self._queue:
                    return attempts
                head = self._queue[0]
                if not force and head.next_attempt_at > self.clock.now():
                    # Later events wait behind an unacknowledged one (docs/quickbooks/webhooks.md#delivery).
                    return attempts
            if not self.config.targets():
                return attempts
            outcome = self._attempt(head)
            attempts.extend(outcome)
            if outcome[0]["outcome"] == "failed":
                return attempts
            with self._lock:
                if self._queue and self._queue[0] is head:
                    self._queue.popleft()

    def _attempt(self, delivery: Delivery) -> list[dict]:
        if self.config.drop_rate and self.random.random() < self.config.drop_rate:
            return [self._record(delivery, "dropped", None, None, b"", {}, None)]
        body, headers = self.render(delivery.events)
        url = self._next_target()
        status, error = self._send(url, body, headers)
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = status, error
        if status is not None and 200 <= status < 300 and error is None:
            records = [self._record(delivery, "delivered", status, None, body, headers, url)]
            if self.config.duplicate_rate and self.random.random() < self.config.duplicate_rate:
                dup_url = self._next_target()
                dup_status, dup_error = self._send(dup_url, body, headers)
                records.append(self._record(delivery, "duplicate", dup_status, dup_error, body, headers, dup_url))
            return records
        delivery.next_attempt_at = self.clock.now() + timedelta(seconds=retry_delay(delivery.attempts))
        return [self._record(delivery, "failed", status, error, body, headers, url)]

    def _next_target(self) -> str:
        targets = self.config.targets()
        with self._lock:
            self._turn += 1
            return targets[(self._turn - 1) % len(targets)]

    def _send(self, url: str, body: bytes, headers: dict) -> tuple[int | None, str | None]:
        started = time.monotonic()
        try:
            status = int(self.deliver(url, body, dict(headers)))
        except Exception as exc:  # any transport failure counts as unacknowledged
            return None, f"{type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - started
        if elapsed > ACK_DEADLINE_SECONDS:
            # Answers slower than 3 s are not acknowledgements (docs/quickbooks/webhooks.md#delivery).
            return status, f"slow answer ({elapsed:.1f} s)"
        return status, None

    def render(self, events: list[Event]) -> tuple[bytes, dict]:
        if self.config.format == "cloudevents":
            payload: object = cloudevents_payload(events, self.config.app_id)
            # Content type unverified (docs/quickbooks/webhooks.md#cloudevents-payload,
            # docs/quickbooks.md#open-questions).
            content_type = "application/cloudevents+json"
        else:
            payload = legacy_payload(events)
            content_type = "application/json"
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": content_type,
            "intuit-signature": sign(self.config.verifier_token, body),
            "intuit-t-id": uuid.uuid4().hex,
            "User-Agent": "QBO-Emulator-Webhooks/1.0",
        }
        return body, headers

    def _record(
        self,
        delivery: Delivery,
        outcome: str,
        status: int | None,
        error: str | None,
        body: bytes,
        headers: dict,
        url: str | None,
    ) -> dict:
        entry = {
            "delivery_id": delivery.id,
            "outcome": outcome,
            "attempt": delivery.attempts,
            "status": status,
            "error": error,
            "at": _iso_z(self.clock.now()),
            "url": url,
            "event_ids": [event.id for event in delivery.events],
            "body": body.decode("utf-8"),
            "headers": dict(headers),
        }
        with self._lock:
            self.history.append(entry)
        return entry

    # ---- background thread (live server) -------------------------------------------------

    def start(self, interval: float = 0.2) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="qbo-emulator-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:  # keep delivering; the failure is in the history when it comes from a send
                pass
