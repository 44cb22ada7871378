"""Inbox processing: per company, in order, idempotent. A webhook is a doorbell — each handler reads the
entity from QuickBooks (or uses the full object a CDC catch-up already fetched) and applies it.

Rules that hold for every handler:
- Never move backwards: a QuickBooks version older than the one Kadouri has seen (SyncToken, then
  LastUpdatedTime) is skipped; the same version again (an echo of Kadouri's own write, a duplicate or
  replayed delivery) changes nothing and logs nothing.
- QuickBooks is the source of truth for invoices (spec, Business Rules); Kadouri's own edits to products
  are protected by recording a conflict rather than overwriting them.
- Failures retry with backoff; after the last attempt the event is `failed` and shown to operators.
Facts: ../shared/reference/qbo-api.md §2.3–§2.5, §3.4, §3.5, §7.4; field-lessons.md §1 (echo suppression).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.models import Account
from kadouri.text import clean_inbound_line
from orders.models import Order
from products.models import Product

from . import mapping
from .client.errors import QboError, QboNotFoundError, QboPausedError
from .connection import calls
from .documents.apply import Cause, Outcome, converting_invoice, estimate_apply, invoice_apply
from .documents.reading import Version, is_voided, money, payment_invoice_ids
from .reads import read_many
from .mapping import customer_fingerprint, product_edited_since_push, product_fingerprint
from .refs.accounts import income_account_id
from .models import QboConnection, QboInboxLease, QboWebhookEvent, SyncConflict

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# After attempts 1..5; the 6th failure marks the event failed. Both from settings (the soak compresses them).
BACKOFF_SECONDS = tuple(settings.QBO_INBOX_BACKOFF_SECONDS)
LEASE = timedelta(seconds=settings.QBO_INBOX_LEASE_SECONDS)
BATCH = 100
REPLAY_MARK = "Replay requested"
UNEXPECTED_ERROR = "unexpected error while processing the event; it retries automatically (the worker log has the details)."
Status = QboWebhookEvent.Status


class Ignored(Exception):
    """Nothing in Kadouri is concerned; the event is marked `ignored` with this reason."""


def _cause(event: QboWebhookEvent, **extra) -> Cause:
    return Cause(source=event.source, event_id=event.pk, operation=event.operation, **extra)


# --- reading QuickBooks values ----------------------------------------------------------------------


# --- applying an invoice to its order -----------------------------------------------------------------


# --- fetching ---------------------------------------------------------------------------------------

def _fetch(event: QboWebhookEvent, entity: str, entity_id: str, *, fresh: bool) -> dict | None:
    """The entity as QuickBooks has it now; None when it no longer exists (610). A CDC event already
    carries the full object (deleted ones as {"Id", "status": "Deleted"}), so it costs no read."""
    if event.source == QboWebhookEvent.Source.CDC and not fresh and event.entity == entity \
            and event.entity_id == entity_id and event.raw.get("Id"):
        return None if event.raw.get("status") == "Deleted" else event.raw
    try:
        return calls.read(entity, entity_id, realm_id=event.realm_id)
    except QboNotFoundError:
        return None


# --- handlers -----------------------------------------------------------------------------------

def _invoice_orders(ids) -> list[Order]:
    return list(Order.objects.linked_to(Order.DocType.INVOICE, ids).order_by("pk"))


def _handle_invoice(event: QboWebhookEvent, fresh: bool) -> Outcome:
    orders = _invoice_orders([event.entity_id])
    if not orders:
        raise Ignored(f"Invoice {event.entity_id} is not linked to any Kadouri order; nothing was changed.")
    invoice = _fetch(event, "Invoice", event.entity_id, fresh=fresh)
    cause = _cause(event)
    results = [invoice_apply(order_id=o.pk, doc_id=event.entity_id, invoice=invoice, cause=cause,
                             void_hint=event.operation == "Void") for o in orders]
    return Outcome(any(r.changed for r in results), " ".join(r.text for r in results))


def _payment_links_seen(event: QboWebhookEvent) -> list[str]:
    """The invoices this payment was applied to, as earlier events of it recorded them."""
    seen: list[str] = []
    for ids in QboWebhookEvent.objects.filter(realm_id=event.realm_id, entity="Payment", entity_id=event.entity_id) \
            .exclude(pk=event.pk).values_list("invoice_ids", flat=True):
        seen += [str(i) for i in ids or [] if str(i) not in seen]
    return seen


def _handle_payment(event: QboWebhookEvent, fresh: bool) -> Outcome:
    payment = _fetch(event, "Payment", event.entity_id, fresh=fresh)
    voided = payment is not None and is_voided(payment, void_hint=event.operation == "Void")
    operation = "Delete" if payment is None else ("Void" if voided else event.operation)
    linked = payment_invoice_ids(payment)
    if linked:  # remembered for the day the payment is deleted: it then comes back as an Id only
        event.invoice_ids = linked
        QboWebhookEvent.objects.filter(pk=event.pk).update(invoice_ids=linked)
    orders = _invoice_orders(linked)
    seen = _payment_links_seen(event) if payment is None or voided else []
    if seen:
        # A deleted payment comes back as an Id only (610 on read, {"Id", "status": "Deleted"} in CDC) and a
        # voided one has lost its links: the invoices it was applied to when Kadouri saw it are re-read.
        orders = _invoice_orders(set(linked) | set(seen))
    elif payment is None or voided:
        # Never seen with its links (e.g. created and deleted while the webhooks were lost): every order it could
        # have paid is re-checked — the invoices partly or fully paid in Kadouri. One query per 100 of them.
        known = {o.pk for o in orders}
        orders += [o for o in Order.objects.linked().filter(
            qbo_doc_type=Order.DocType.INVOICE,
            payment_status__in=[Order.PaymentStatus.PARTIAL, Order.PaymentStatus.PAID],
        ).exclude(status=Order.Status.CANCELLED).order_by("pk") if o.pk not in known]
    if not orders:
        raise Ignored(f"Payment {event.entity_id} concerns no invoice of a Kadouri order; nothing was changed.")
    invoices = read_many("Invoice", [o.qbo_doc_id for o in orders], realm_id=event.realm_id)
    cause = _cause(event, payment_id=event.entity_id, payment_operation=operation)
    results = [invoice_apply(order_id=o.pk, doc_id=o.qbo_doc_id, invoice=invoices[o.qbo_doc_id], cause=cause)
               for o in orders]
    if any(r.changed for r in results):
        return Outcome.of(results)
    return Outcome(False, f"Payment {event.entity_id} ({operation}): {len(results)} linked order{pluralize(len(results))} already up to date.")


def _handle_estimate(event: QboWebhookEvent, fresh: bool) -> Outcome:
    orders = list(Order.objects.linked_to(Order.DocType.ESTIMATE, [event.entity_id]))
    if not orders:
        raise Ignored(f"Estimate {event.entity_id} is not linked to any Kadouri order; nothing was changed.")
    estimate = _fetch(event, "Estimate", event.entity_id, fresh=fresh)
    invoice = converting_invoice(estimate, realm_id=event.realm_id)
    cause = _cause(event)
    return Outcome.of([estimate_apply(order_id=o.pk, doc_id=event.entity_id, estimate=estimate, cause=cause,
                                      invoice=invoice) for o in orders])


def _merged_away_id(event: QboWebhookEvent) -> str:
    raw = event.raw or {}
    value = raw.get("deletedId") or raw.get("deletedid") or (raw.get("data") or {}).get("deletedid") \
        or (raw.get("data") or {}).get("deletedId")
    return str(value or "")


def _handle_customer(event: QboWebhookEvent, fresh: bool) -> Outcome:
    merged_from = _merged_away_id(event) if event.operation == "Merge" else ""
    linked = Account.objects.filter(qbo_customer_id=event.entity_id)
    moved_ids = list(Account.objects.filter(qbo_customer_id=merged_from).values_list("pk", flat=True)) if merged_from else []
    if not linked.exists() and not moved_ids:
        raise Ignored(f"Customer {event.entity_id} is not linked to any Kadouri account; nothing was changed.")
    customer = _fetch(event, "Customer", event.entity_id, fresh=fresh)
    if customer is None:
        raise Ignored(f"Customer {event.entity_id} does not exist in QuickBooks; nothing was changed.")
    version = Version.of(customer)
    texts: list[Outcome] = []
    with transaction.atomic():
        for account in Account.objects.select_for_update().filter(pk__in=moved_ids):
            account.qbo_customer_id, account.qbo_sync_token = event.entity_id, str(version.sync_token or "")
            account.save(update_fields=["qbo_customer_id", "qbo_sync_token", "updated_at"])
            texts.append(Outcome(True, f"Account {account.code} now points at customer {event.entity_id} "
                                       f"(customer {merged_from} was merged into it in QuickBooks)."))
        for account in Account.objects.select_for_update().filter(qbo_customer_id=event.entity_id).exclude(pk__in=moved_ids):
            if version.compare(account.qbo_sync_token, None) <= 0 and not merged_from:
                texts.append(Outcome(False, f"Account {account.code}: customer SyncToken {version.sync_token} already known."))
                continue
            account.qbo_sync_token = str(version.sync_token if version.sync_token is not None else account.qbo_sync_token)
            fields = ["qbo_sync_token", "updated_at"]
            # Invisible and control characters typed in QuickBooks never reach Kadouri's names.
            name = clean_inbound_line(customer.get("DisplayName"))[:200]
            # The DisplayName Kadouri pushed is its mapped version of the name (":" → " - ", " (CODE)" for a
            # duplicate): an edit of the phone or address in QuickBooks must not rename "Acme" to "Acme (ACM2)".
            ours = {mapping.customer_display_name(account, disambiguate=d) for d in (False, True)}
            if name and name not in ours:
                text = f"Account {account.code} renamed from “{account.name}” to “{name}” (QuickBooks DisplayName)."
                log.info("quickbooks customer %s: %s", event.entity_id, text)
                texts.append(Outcome(True, text))
                account.name = name
                # Kadouri now matches QuickBooks: the outbound sync must not push the old name back.
                account.qbo_fingerprint = customer_fingerprint(account)
                fields += ["name", "qbo_fingerprint"]
            account.save(update_fields=fields)
    return Outcome.of(texts, f"Customer {event.entity_id}: nothing to change.")


def _conflict(product: Product, field: str, kadouri_value, quickbooks_value) -> str:
    conflict, created = SyncConflict.objects.get_or_create(
        object_type="product", object_id=product.pk, field=field, state=SyncConflict.State.OPEN,
        defaults={"kadouri_value": str(kadouri_value)[:500], "quickbooks_value": str(quickbooks_value)[:500]},
    )
    if not created:
        SyncConflict.objects.filter(pk=conflict.pk).update(kadouri_value=str(kadouri_value)[:500],
                                                           quickbooks_value=str(quickbooks_value)[:500])
    return f"{field}: Kadouri “{kadouri_value}” vs QuickBooks “{quickbooks_value}”"


def _clear_item(product: Product, why: str) -> Outcome:
    """Gone or inactive in QuickBooks: the id is cleared (the spec), and the product is made inactive so it is
    not put on new orders, whose invoices QuickBooks would refuse."""
    old = product.qbo_item_id
    product.qbo_item_id, product.qbo_sync_token, product.qbo_fingerprint = None, "", ""
    product.active = False
    product.save(update_fields=["qbo_item_id", "qbo_sync_token", "qbo_fingerprint", "active", "updated_at"])
    return Outcome(True, f"Product “{product.name}”: QuickBooks item id {old} cleared and the product made "
                         f"inactive ({why}).")


def _apply_item(product: Product, item: dict, income: str) -> Outcome:
    version = Version.of(item)
    if version.compare(product.qbo_sync_token, None) <= 0:
        return Outcome(False, f"Product “{product.name}”: item SyncToken {version.sync_token} already known; nothing changed.")
    name = clean_inbound_line(item.get("Name"))[:100] or product.name
    price = money(item.get("UnitPrice"))
    price = product.unit_price if price is None else price
    differs = [(f, k, q) for f, k, q in (("name", product.name, name), ("unit_price", product.unit_price, price)) if k != q]
    if differs and product_edited_since_push(product, income_account_id=income):
        listed = "; ".join(_conflict(product, f, k, q) for f, k, q in differs)
        return Outcome(True, f"Product “{product.name}” was edited in Kadouri since its last push: conflict recorded ({listed}).")
    if name != product.name and Product.objects.filter(name=name).exclude(pk=product.pk).exists():
        return Outcome(True, f"Product “{product.name}”: conflict recorded ({_conflict(product, 'name', product.name, name)}; "
                             f"another product already has that name).")
    changes = [f"{f} {k} → {q}" for f, k, q in differs]
    product.name, product.unit_price = name, price
    product.qbo_sync_token = str(version.sync_token if version.sync_token is not None else product.qbo_sync_token)
    product.qbo_fingerprint = product_fingerprint(product, income_account_id=income)
    try:
        with transaction.atomic():
            product.save(update_fields=["name", "unit_price", "qbo_sync_token", "qbo_fingerprint", "updated_at"])
    except IntegrityError:
        return Outcome(False, f"Product {product.pk}: the QuickBooks name “{name}” is already used; nothing changed.")
    if changes:
        return Outcome(True, f"Product “{product.name}” follows QuickBooks: {', '.join(changes)}.")
    return Outcome(False, f"Product “{product.name}”: up to date (SyncToken {version.sync_token}).")


def _handle_item(event: QboWebhookEvent, fresh: bool) -> Outcome:
    products = list(Product.objects.filter(qbo_item_id=event.entity_id))
    if not products:
        raise Ignored(f"Item {event.entity_id} is not linked to any Kadouri product; nothing was changed.")
    item = _fetch(event, "Item", event.entity_id, fresh=fresh)
    income = income_account_id() if item is not None and item.get("Active") is not False else ""  # HTTP: not under the locks
    texts = []
    with transaction.atomic():
        for product in Product.objects.select_for_update().filter(pk__in=[p.pk for p in products]):
            if item is None:
                texts.append(_clear_item(product, "deleted in QuickBooks"))
            elif item.get("Active") is False:
                texts.append(_clear_item(product, "made inactive in QuickBooks"))
            else:
                texts.append(_apply_item(product, item, income))
    return Outcome.of(texts)


HANDLERS = {
    "Invoice": _handle_invoice,
    "Payment": _handle_payment,
    "Estimate": _handle_estimate,
    "Customer": _handle_customer,
    "Item": _handle_item,
}


# --- the processing loop --------------------------------------------------------------------------

def _realm_connected(realm_id: str) -> bool:
    return QboConnection.objects.filter(realm_id=realm_id).exclude(state=QboConnection.State.DISCONNECTED).exists()


def _finish(event: QboWebhookEvent, status: str, result: str, *, changed: bool = False) -> None:
    event.status, event.result, event.processed_at, event.changed = status, result[:500], timezone.now(), changed
    event.last_error = "" if status in (Status.DONE, Status.IGNORED) else event.last_error
    QboWebhookEvent.objects.filter(pk=event.pk).update(status=status, result=event.result, processed_at=event.processed_at,
                                                       last_error=event.last_error, attempts=event.attempts, changed=changed)


def _retry_or_fail(event: QboWebhookEvent, message: str, retry_at: datetime | None = None) -> None:
    event.last_error = message[:500]
    if event.attempts >= MAX_ATTEMPTS:
        _finish(event, Status.FAILED, f"Gave up after {event.attempts} attempts; replay it from the inbox when fixed.")
        log.error("quickbooks inbox event %s failed for good: %s", event.pk, message)
        return
    delay = timedelta(seconds=BACKOFF_SECONDS[min(event.attempts, len(BACKOFF_SECONDS)) - 1])
    not_before = max(timezone.now() + delay, retry_at or timezone.now())
    event.status, event.not_before = Status.PENDING, not_before
    QboWebhookEvent.objects.filter(pk=event.pk).update(status=Status.PENDING, not_before=not_before,
                                                       last_error=event.last_error, attempts=event.attempts)
    log.warning("quickbooks inbox event %s attempt %s failed, retry at %s: %s", event.pk, event.attempts,
                not_before.isoformat(), message)


def event_process(*, event: QboWebhookEvent, fresh: bool = False) -> QboWebhookEvent:
    """Runs one inbox event through its handler and records the outcome on the row."""
    # No separate "processing" write: the company's lease already keeps every other worker off this event,
    # and a worker that dies mid-event leaves it pending, to run again.
    event.attempts += 1
    handler = HANDLERS.get(event.entity)
    try:
        if handler is None:
            raise Ignored(f"Kadouri does not act on {event.entity} changes.")
        if not _realm_connected(event.realm_id):
            raise Ignored(f"Company {event.realm_id} is not connected to Kadouri; nothing was changed.")
        outcome = handler(event, fresh)
    except Ignored as e:
        _finish(event, Status.IGNORED, str(e))
    except QboPausedError as e:
        # Nothing was sent: the company is paused after a 429. Waiting is not a failed attempt — counting it made
        # events fail for good during a burst of throttling (found by the soak).
        event.attempts -= 1
        event.status, event.not_before, event.last_error = Status.PENDING, e.retry_at or timezone.now(), f"{e.kind}: {e.message}"[:500]
        QboWebhookEvent.objects.filter(pk=event.pk).update(status=event.status, not_before=event.not_before,
                                                           last_error=event.last_error, attempts=event.attempts)
    except QboError as e:
        _retry_or_fail(event, f"{e.kind}: {e.message}", retry_at=e.retry_at)
    except Exception as e:  # a bug must not stop the company's queue; the row shows it and it retries
        log.exception("quickbooks inbox event %s crashed", event.pk)
        # Only the class goes on the row (operators see it): the exception's text may hold anything.
        _retry_or_fail(event, f"{e.__class__.__name__}: {UNEXPECTED_ERROR}")
    else:
        _finish(event, Status.DONE, outcome.text, changed=outcome.changed)
    return event


def _lease_take(realm_id: str) -> str | None:
    QboInboxLease.objects.get_or_create(realm_id=realm_id)
    holder, now = uuid.uuid4().hex, timezone.now()
    # One UPDATE decides the winner on SQLite and PostgreSQL alike (the row lock serialises it).
    taken = QboInboxLease.objects.filter(realm_id=realm_id).filter(Q(holder="") | Q(expires_at__lt=now)).update(
        holder=holder, expires_at=now + LEASE)
    return holder if taken else None


def _lease_renew(realm_id: str, holder: str) -> bool:
    return bool(QboInboxLease.objects.filter(realm_id=realm_id, holder=holder).update(expires_at=timezone.now() + LEASE))


def _lease_release(realm_id: str, holder: str) -> None:
    QboInboxLease.objects.filter(realm_id=realm_id, holder=holder).update(holder="", expires_at=None)


def _due(realm_id: str):
    return QboWebhookEvent.objects.filter(realm_id=realm_id, status=Status.PENDING, not_before__lte=timezone.now())


def inbox_process_realm(*, realm_id: str, limit: int = 5000) -> int:
    """Processes a company's due events in order of occurrence, one worker per company (a lease). Returns
    how many it processed. Another worker already on it → 0; it will see the new events."""
    processed = 0
    while processed < limit:
        holder = _lease_take(realm_id)
        if holder is None:
            return processed
        renew_at = time.monotonic() + LEASE.total_seconds() / 3
        try:
            # We hold the lease, so nothing else is processing this company: rows left `processing`
            # belong to a worker that died mid-event.
            QboWebhookEvent.objects.filter(realm_id=realm_id, status=Status.PROCESSING).update(status=Status.PENDING)
            while processed < limit:
                batch = list(_due(realm_id).order_by(F("occurred_at").asc(nulls_first=True), "id")[:BATCH])
                if not batch:
                    break
                covered: set[int] = set()
                for event in batch:
                    if event.pk in covered:
                        continue
                    if time.monotonic() > renew_at:  # renewing every event would cost a commit each
                        if not _lease_renew(realm_id, holder):
                            return processed
                        renew_at = time.monotonic() + LEASE.total_seconds() / 3
                    twins = _twins(event, batch, covered)
                    event_process(event=event, fresh=event.result.startswith(REPLAY_MARK))
                    _cover(event, twins)
                    processed += 1 + len(twins)
        finally:
            _lease_release(realm_id, holder)
        # Events stored while we were finishing enqueued a task that found the lease taken: look again.
        if not _due(realm_id).exists():
            break
    return processed


def _twins(event: QboWebhookEvent, batch: list[QboWebhookEvent], covered: set[int]) -> list[QboWebhookEvent]:
    """Doorbells for the same entity waiting together: one read answers them all (it sees every change made
    before it). Merges carry their own data (deletedId) and CDC events their own snapshot, so they never merge."""
    if event.source == QboWebhookEvent.Source.CDC or event.operation == "Merge":
        return []
    twins = [e for e in batch if e.pk != event.pk and e.pk not in covered and e.entity == event.entity
             and e.entity_id == event.entity_id and e.source != QboWebhookEvent.Source.CDC and e.operation != "Merge"]
    covered.update(e.pk for e in twins)
    if any(e.operation == "Void" for e in twins):
        event.operation = "Void"  # keeps the void hint; the row itself is not saved with it
    return twins


def _cover(event: QboWebhookEvent, twins: list[QboWebhookEvent]) -> None:
    if not twins:
        return
    event.refresh_from_db(fields=["status", "result"])
    if event.status in (Status.DONE, Status.IGNORED):
        QboWebhookEvent.objects.filter(pk__in=[t.pk for t in twins]).update(
            status=event.status, processed_at=timezone.now(),
            result=f"Covered by event {event.pk}, which read {event.entity} {event.entity_id} after this change.")
    # If the read failed, the twins simply stay pending and run (or are covered) on the next pass.


def inbox_process_due() -> int:
    """The scheduled sweep: retries whose backoff has passed, and anything a lost task left behind."""
    realms = _due_realms()
    return sum(inbox_process_realm(realm_id=realm_id) for realm_id in realms)


def _due_realms() -> list[str]:
    return list(QboWebhookEvent.objects.filter(status=Status.PENDING, not_before__lte=timezone.now())
                .values_list("realm_id", flat=True).distinct().order_by("realm_id"))


def inbox_replay(*, event_ids: list[int], by=None) -> int:
    """Operators replay events (failed, ignored or done): they run again with a fresh read from QuickBooks."""
    who = getattr(by, "username", "") or "an operator"
    events = QboWebhookEvent.objects.filter(pk__in=event_ids).exclude(status=Status.PROCESSING)
    realms = sorted(set(events.values_list("realm_id", flat=True)))
    count = events.update(status=Status.PENDING, attempts=0, not_before=timezone.now(), last_error="",
                          result=f"{REPLAY_MARK} by {who} at {timezone.now():%Y-%m-%d %H:%M:%S}.", processed_at=None)
    from .inbound import inbox_enqueue

    for realm_id in realms:
        transaction.on_commit(lambda realm_id=realm_id: inbox_enqueue(realm_id=realm_id))
    return count
