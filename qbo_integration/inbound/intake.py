"""Webhook intake: verify, parse (legacy and CloudEvents with one parser), store in the inbox, enqueue.

The webhook is a doorbell (docs/quickbooks/webhooks.md): nothing here calls QuickBooks, so the request is answered in
milliseconds; the inbox's handlers read each entity from QuickBooks later, per company and in order.
Facts: docs/quickbooks/webhooks.md (payload formats, signature, delivery).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from kadouri.text import is_hidden, storable

from ..documents.reading import parse_time
from ..models import QboConnection, QboWebhookCounter, QboWebhookEvent
from .handlers import HANDLERS
from .inbox import inbox_ring

log = logging.getLogger(__name__)

# Intuit sends at most 100 events and about 1 MB per delivery (docs/quickbooks/limits.md#request-limits,
# docs/quickbooks/webhooks.md#cloudevents-payload); anything larger is not Intuit.
MAX_BODY_BYTES = 1_048_576
MAX_EVENTS_PER_DELIVERY = 1000
HANDLED_ENTITIES = tuple(HANDLERS)
OPERATIONS = ("Create", "Update", "Delete", "Merge", "Void", "Emailed")
# CloudEvents `type` is qbo.<entity lower-case>.<past-tense verb>.v1 (docs/quickbooks/webhooks.md#cloudevents-payload).
CE_VERBS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}
CE_TYPE = re.compile(r"^qbo\.(?P<entity>[a-z0-9_]+)\.(?P<verb>[a-z0-9_]+)(?:\.v\d+)?$", re.I)
# Entities with webhooks (docs/quickbooks/webhooks.md#legacy-payload), to turn CloudEvents' lower-case names back into
# QuickBooks' spelling.
KNOWN_ENTITIES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CompanyInfo",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}
ID_MAX = 32  # QboWebhookEvent.entity_id / realm_id


class MalformedDelivery(ValueError):
    """The body is not a QuickBooks delivery in either format; nothing was stored."""


@dataclass
class ParsedEvent:
    source: str
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    occurred_at: datetime | None
    dedupe_key: str
    raw: dict = field(default_factory=dict)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    realms: set[str] = field(default_factory=set)


# --- signature -------------------------------------------------------------------------------------


@sensitive_variables("token")
def sign(body: bytes, token: str) -> str:
    """intuit-signature: base64(HMAC-SHA256(verifier token, raw body)) (docs/quickbooks/webhooks.md#signature)."""
    return base64.b64encode(hmac.new(token.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


@sensitive_variables("token")
def signature_valid(*, body: bytes, signature: str, token: str) -> bool:
    if not signature or not token:
        return False
    return hmac.compare_digest(sign(body, token).encode("ascii"), signature.strip().encode("utf-8", "replace"))


def rejection_count(*, name: str, detail: str) -> None:
    """Counts a refused delivery. Only a counter and a log line: the body of an unsigned request is never stored."""
    now = timezone.now()
    bump = {"count": F("count") + 1, "last_at": now, "last_detail": detail[:200]}
    if not QboWebhookCounter.objects.filter(name=name).update(**bump):
        counter, created = QboWebhookCounter.objects.get_or_create(
            name=name, defaults={"count": 1, "last_at": now, "last_detail": detail[:200]}
        )
        if not created:
            QboWebhookCounter.objects.filter(pk=counter.pk).update(**bump)


# --- parsing ---------------------------------------------------------------------------------------


def _text(value, what: str, *, required: bool = True, limit: int = ID_MAX) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        if required or value is not None:
            raise MalformedDelivery(f"{what} must be a string")
        return ""
    text = str(value).strip()
    if any(is_hidden(ch) for ch in text):
        raise MalformedDelivery(f"{what} contains control or invisible characters")
    if required and not text:
        raise MalformedDelivery(f"{what} is empty")
    if len(text) > limit:
        raise MalformedDelivery(f"{what} is longer than {limit} characters")
    return text


def _key(*parts: str) -> str:
    key = ":".join(parts)
    # Readable in the admin when short; hashed when an id is unusually long (the column holds 200).
    return key if len(key) <= 200 else f"{parts[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _stamp(moment: datetime | None, raw_value) -> str:
    if moment is not None:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return storable(str(raw_value or ""))


def _entity_name(name: str) -> str:
    return KNOWN_ENTITIES.get(name.lower(), name[:1].upper() + name[1:])


def _parse_legacy(data: dict) -> list[ParsedEvent]:
    notifications = data.get("eventNotifications")
    if not isinstance(notifications, list):
        raise MalformedDelivery("eventNotifications must be a list")
    events = []
    for notification in notifications:
        if not isinstance(notification, dict):
            raise MalformedDelivery("each eventNotifications entry must be an object")
        realm_id = _text(notification.get("realmId"), "realmId")
        change = notification.get("dataChangeEvent")
        entities = change.get("entities") if isinstance(change, dict) else None
        if not isinstance(entities, list):
            raise MalformedDelivery("dataChangeEvent.entities must be a list")
        for entity in entities:
            if not isinstance(entity, dict):
                raise MalformedDelivery("each entity must be an object")
            name = _entity_name(_text(entity.get("name"), "entity name", limit=40))
            entity_id = _text(entity.get("id"), "entity id")
            operation = _text(entity.get("operation"), "operation", limit=20)
            occurred = parse_time(entity.get("lastUpdated"))
            raw = {"realmId": realm_id, **entity}
            # Legacy events carry no id: the change itself identifies them (the dedupe rule).
            key = _key("legacy", realm_id, name, entity_id, operation, _stamp(occurred, entity.get("lastUpdated")))
            events.append(ParsedEvent("legacy", realm_id, name, entity_id, operation, occurred, key, raw))
    return events


def _parse_cloudevent(event) -> ParsedEvent:
    if not isinstance(event, dict):
        raise MalformedDelivery("each CloudEvent must be an object")
    event_id = _text(event.get("id"), "CloudEvent id", limit=150)
    event_type = _text(event.get("type"), "CloudEvent type", limit=100)
    match = CE_TYPE.match(event_type)
    if not match:
        raise MalformedDelivery(f"CloudEvent type {event_type[:60]!r} is not qbo.<entity>.<verb>.v1")
    realm_id = _text(event.get("intuitaccountid"), "intuitaccountid")
    entity_id = _text(event.get("intuitentityid"), "intuitentityid")
    verb = match["verb"].lower()
    operation = CE_VERBS.get(verb, verb[:1].upper() + verb[1:])[:20]
    occurred = parse_time(event.get("time"))
    if event.get("data") is not None and not isinstance(event.get("data"), dict):
        raise MalformedDelivery("CloudEvent data must be an object")
    return ParsedEvent(
        "cloudevents",
        realm_id,
        _entity_name(match["entity"]),
        entity_id,
        operation,
        occurred,
        _key("ce", event_id),
        dict(event),
    )


def parse_delivery(body: bytes) -> list[ParsedEvent]:
    """One parser for both formats, whatever the Content-Type said. Raises MalformedDelivery."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: absurdly deep nesting
        raise MalformedDelivery(f"body is not JSON ({e.__class__.__name__})") from None
    if isinstance(data, dict) and "eventNotifications" in data:
        events = _parse_legacy(data)
    elif isinstance(data, list):
        events = [_parse_cloudevent(event) for event in data]
    elif isinstance(data, dict) and "specversion" in data:
        events = [_parse_cloudevent(data)]  # a single structured-mode CloudEvent
    else:
        raise MalformedDelivery("neither eventNotifications (legacy) nor a CloudEvents array")
    if len(events) > MAX_EVENTS_PER_DELIVERY:
        raise MalformedDelivery(f"more than {MAX_EVENTS_PER_DELIVERY} events in one delivery")
    for event in events:  # ids with control characters were refused above; other fields are only kept
        event.raw = storable(event.raw)
    return events


# --- storing ---------------------------------------------------------------------------------------


def _connected_realms() -> set[str]:
    return set(QboConnection.objects.exclude(state=QboConnection.State.DISCONNECTED).values_list("realm_id", flat=True))


def _initial_status(event: ParsedEvent, realms: set[str]) -> tuple[str, str]:
    if event.realm_id not in realms:
        return (
            QboWebhookEvent.Status.IGNORED,
            f"Company {event.realm_id} is not connected to Kadouri; nothing was changed.",
        )
    if event.entity not in HANDLED_ENTITIES:
        return QboWebhookEvent.Status.IGNORED, f"Kadouri does not act on {event.entity} changes."
    if event.operation not in OPERATIONS:
        return QboWebhookEvent.Status.IGNORED, f"Unknown operation {event.operation!r}; nothing was changed."
    return QboWebhookEvent.Status.PENDING, ""


def inbox_store(*, events: list[ParsedEvent]) -> IngestResult:
    """Stores new events (deduplicated by key), marks the ones Kadouri will not act on as ignored, and rings each
    company's inbox once they are committed."""
    result = IngestResult()
    unique: dict[str, ParsedEvent] = {}
    for event in events:
        unique.setdefault(event.dedupe_key, event)
    result.duplicates = len(events) - len(unique)
    # Read before the transaction: on SQLite a transaction holds the database's one write lock from its first
    # statement (IMMEDIATE, kadouri/settings.py), and every other delivery would wait for these reads as well.
    existing = set(QboWebhookEvent.objects.filter(dedupe_key__in=list(unique)).values_list("dedupe_key", flat=True))
    realms = _connected_realms()
    rows = []
    for key, event in unique.items():
        if key in existing:
            result.duplicates += 1
            continue
        rows.append(_row(event, realms, result))
    if not rows:  # duplicates only: nothing to write, no write lock to take
        return result
    with transaction.atomic():
        # ignore_conflicts: a concurrent duplicate delivery may have stored the same key a moment ago.
        QboWebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
        for realm_id in sorted(result.realms):
            keys = [row.dedupe_key for row in rows if row.realm_id == realm_id]
            transaction.on_commit(lambda realm_id=realm_id, keys=keys: inbox_ring(realm_id=realm_id, dedupe_keys=keys))
    result.stored = len(rows)
    return result


def _row(event: ParsedEvent, realms: set[str], result: IngestResult) -> QboWebhookEvent:
    status, reason = _initial_status(event, realms)
    if status == QboWebhookEvent.Status.IGNORED:
        result.ignored += 1
        log.warning(
            "quickbooks webhook ignored realm=%s entity=%s id=%s op=%s: %s",
            event.realm_id,
            event.entity,
            event.entity_id,
            event.operation,
            reason,
        )
    else:
        result.realms.add(event.realm_id)
    return QboWebhookEvent(
        dedupe_key=event.dedupe_key,
        source=event.source,
        realm_id=event.realm_id,
        entity=event.entity,
        entity_id=event.entity_id,
        operation=event.operation,
        occurred_at=event.occurred_at,
        raw=event.raw,
        status=status,
        result=reason,
        processed_at=timezone.now() if status == QboWebhookEvent.Status.IGNORED else None,
    )


def webhook_ingest(*, body: bytes) -> IngestResult:
    """Parse, store and enqueue one verified delivery. Raises MalformedDelivery before storing anything."""
    return inbox_store(events=parse_delivery(body))
