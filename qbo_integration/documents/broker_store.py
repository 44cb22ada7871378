"""A broker document as QuickBooks has it, kept on its `BrokerDocument` row
(docs/quickbooks/beyond.md#the-brokers-own-books): what Kadouri's job wrote, and what QuickBooks says later — the
bill paid to the seller, the commission invoice paid by the seller, a document deleted or voided there. Never
backwards (an older version changes nothing), and each change a person should know of is written once in the
order's activity log."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity
from orders.services import order_activity_log

from ..models import BrokerDocument
from .apply import Outcome
from .broker import described
from .reading import ZERO, Version, is_voided, money, parse_time

State = BrokerDocument.State
Type = OrderActivity.Type
SYNC_NAME = "QuickBooks sync"


@dataclass(frozen=True)
class Author:
    """Who an activity entry names: the person whose job wrote it, else QuickBooks (a webhook, a catch-up)."""

    user_name: str = SYNC_NAME
    user: object = None
    ip: str | None = None
    details: dict | None = None


def first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def state_of(entity: str, doc: dict | None, *, void_hint: bool = False) -> str:
    if doc is None:
        return State.DELETED
    if entity == "Invoice" and is_voided(doc, void_hint=void_hint):
        return State.VOIDED
    return State.ACTIVE


def values_of(entity: str, doc: dict) -> dict:
    """The row's fields from the document: id, number, version, party, amounts, currency."""
    party = doc.get("VendorRef") if entity == "Bill" else doc.get("CustomerRef")
    return {
        "qbo_id": str(doc.get("Id") or ""),
        "doc_number": str(doc.get("DocNumber") or "")[:21],
        "sync_token": str(doc.get("SyncToken") or "")[:16],
        "party_id": str((party or {}).get("value") or "")[:32],
        "total": money(doc.get("TotalAmt")),
        "balance": money(doc.get("Balance")),
        "currency": str((doc.get("CurrencyRef") or {}).get("value") or "")[:3],
        "qbo_last_updated": parse_time((doc.get("MetaData") or {}).get("LastUpdatedTime")),
    }


def broker_store(row: BrokerDocument, doc: dict | None, *, void_hint: bool = False, **extra) -> list[str]:
    """QuickBooks' values on the row, saved; `extra` fields too (the fingerprint a job pushed). Returns what changed."""
    fields = {"state": state_of(row.entity, doc, void_hint=void_hint), **extra}
    if doc is not None:
        fields |= values_of(row.entity, doc)
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, fields[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])
    return changed


def broker_log(row: BrokerDocument, activity_type: str, text: str, author: Author, **details) -> None:
    order = row.order
    order_activity_log(
        order=order,
        activity_type=activity_type,
        description=text,
        user=author.user,
        user_name=author.user_name,
        ip=author.ip,
        details={
            **(author.details or {}),
            "brokerDocument": row.pk,
            "kind": row.kind,
            "qboId": row.qbo_id,
            **details,
        },
    )


def _paid(total: Decimal | None, balance: Decimal | None) -> Decimal:
    if total is None or balance is None:
        return ZERO
    return total - balance


def _news(row: BrokerDocument, before: tuple) -> tuple[str, str] | None:
    """The activity entry a change from QuickBooks deserves, or None: deleted or voided there, paid, reopened."""
    state, total, balance = before
    order = row.order
    what = first_up(described(row))
    if row.state != state and row.state == State.DELETED:
        return Type.BROKER_DOC_VOIDED, f"{what} was deleted in QuickBooks."
    if row.state != state and row.state == State.VOIDED:
        return Type.BROKER_DOC_VOIDED, f"{what} was voided in QuickBooks."
    paid_before, paid_now = _paid(total, balance), _paid(row.total, row.balance)
    if row.state != State.ACTIVE or paid_now == paid_before:
        return None
    whom = "paid to the seller" if row.kind == BrokerDocument.Kind.SELLER_BILL else "paid by the seller"
    if row.balance == 0 and row.total:
        return Type.BROKER_DOC_UPDATED, f"{what} is {whom} in full in QuickBooks."
    if paid_now > paid_before:
        amount = display_money(paid_now, order)
        return Type.BROKER_DOC_UPDATED, f"{what}: {amount} {whom} so far in QuickBooks."
    owed = display_money(row.balance, order)
    return Type.BROKER_DOC_UPDATED, f"{what}: a payment was removed in QuickBooks; {owed} open again."


def broker_apply(
    row_id: int, doc: dict | None, *, source: str, force: bool = False, void_hint: bool = False
) -> Outcome:
    """A broker document as QuickBooks has it now (None: deleted there), applied to its row under the row's lock:
    an older version than the one stored changes nothing (`force`: reconciliation takes QuickBooks' values as they
    are)."""
    with transaction.atomic():
        row = BrokerDocument.objects.select_for_update().select_related("order__seller").get(pk=row_id)
        what = first_up(described(row))
        if doc is not None and not force and Version.of(doc).compare(row.sync_token, row.qbo_last_updated) <= 0:
            return Outcome(False, f"{what}: already up to date.")
        if doc is None and row.state == State.DELETED:
            return Outcome(False, f"{what}: already deleted.")
        before = (row.state, row.total, row.balance)
        changed = broker_store(row, doc, void_hint=void_hint)
        news = _news(row, before)
        if news is not None:
            broker_log(row, news[0], news[1], Author(details={"source": source}))
            return Outcome(True, news[1])
        return Outcome(bool(changed), f"{what}: {', '.join(changed) or 'nothing'} updated.")


def active_broker_ids(entity: str) -> list[str]:
    """QuickBooks ids of the broker documents Kadouri follows (a full catch-up reads them again)."""
    rows = BrokerDocument.objects.filter(entity=entity, state=State.ACTIVE).exclude(qbo_id="")
    return list(rows.values_list("qbo_id", flat=True))


def broker_rows(realm_id: str, entity: str, ids) -> list[BrokerDocument]:
    """The broker documents of these QuickBooks ids (a webhook's, a payment's links)."""
    return list(
        BrokerDocument.objects.filter(realm_id=realm_id, entity=entity, qbo_id__in=[str(i) for i in ids])
        .select_related("order")
        .order_by("pk")
    )


def open_order_problem(row: BrokerDocument, order: Order) -> str:
    """Why a person must look at the order: cancelled while the seller was already paid on its bill (or the
    commission invoice paid): Kadouri keeps the document and says so ("" when nothing is wrong)."""
    if order.status != Order.Status.CANCELLED or row.state != State.ACTIVE or not row.qbo_id:
        return ""
    paid = _paid(row.total, row.balance)
    if paid <= 0:
        return ""
    whom = "the seller was already paid" if row.kind == BrokerDocument.Kind.SELLER_BILL else "the seller already paid"
    return (
        f"The order is cancelled but {whom} {display_money(paid, order)} on {described(row)}, so Kadouri keeps it in "
        "QuickBooks. Settle it there (a vendor credit or a refund), then delete or void it."
    )


def broker_record(row_id: int, doc: dict | None, *, void_hint: bool = False, **extra) -> BrokerDocument:
    """What a Kadouri job wrote (or found), on the row under its lock, with `extra` (the pushed fingerprint). An
    answer older than what a webhook stored meanwhile (the seller paid already) keeps the newer values."""
    with transaction.atomic():
        row = BrokerDocument.objects.select_for_update().select_related("order__seller").get(pk=row_id)
        same_doc = doc is not None and row.qbo_id == str(doc.get("Id"))
        if same_doc and Version.of(doc).compare(row.sync_token, row.qbo_last_updated) < 0:
            for name, value in extra.items():
                setattr(row, name, value)
            row.save(update_fields=[*extra, "updated_at"])
        else:
            broker_store(row, doc, void_hint=void_hint, **extra)
    return row
