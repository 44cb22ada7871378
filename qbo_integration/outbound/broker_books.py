"""The broker's own document of one order in QuickBooks, one attempt at a time
(docs/quickbooks/beyond.md#the-brokers-own-books): a bill to the seller for its proceeds, or an invoice to the seller
for the commission — created once the order is invoiced, updated when the order is, deleted (a bill: QuickBooks
cannot void one) or voided (an invoice) when the order is cancelled.

Exactly once, as for an order's invoice (outbound/__init__.py): the job's fixed `requestid`; the `BrokerDocument`
row saved with that id before the create leaves, so any later try knows a create may have reached QuickBooks and
first looks for the document carrying the order's marker (`[kadouri-broker:<order id>]`); and one job of an order's
broker document running at a time (a later one waits for the earlier).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity

from ..adapt.numbering import quickbooks_numbers
from ..adapt.tax import AUTOMATED, GLOBAL, document_tax_fields, tax_context
from ..client.errors import QboDuplicateError, QboNotFoundError, QboStaleError, QboTransientError
from ..connection import calls
from ..connection.profile import connected_profile
from ..connection.vault import usable_connection
from ..documents.broker import (
    ENTITY_OF_KIND,
    Kind,
    bill_payload,
    broker_amount,
    commission_number,
    commission_payload,
    currency_problem,
    described,
    live_document,
    marked_order_id,
    order_kind,
    owed,
    payload_fingerprint,
    wanted,
)
from ..documents.broker_store import broker_record, first_up
from ..documents.reading import is_voided, money, paid_amount
from ..models import BrokerDocument, QboSyncJob
from ..outbox.jobs import SyncRefused, reapply_id
from ..outbox.log import job_details, job_log, job_user_name
from ..reads import QUERY_MAX_RESULTS, quoted
from ..refs.accounts import term_id_for
from ..refs.broker_refs import BROKER_PLACE, commission_item_id, seller_customer_id, seller_vendor_id
from ..refs.markers import CLOCK_MARGIN, MAX_PAGES
from .record import load_order
from .registry import job_runner

Action = QboSyncJob.Action
State = BrokerDocument.State
Type = OrderActivity.Type


@job_runner(Action.SYNC_BROKER_DOCUMENT)
def run_broker_job(job: QboSyncJob) -> dict:
    order = load_order(job)
    _wait_for_earlier(job)
    conn = usable_connection(job.realm_id)
    row = live_document(order)
    if row is not None and row.state == State.ACTIVE and (row.qbo_id or row.request_id):
        return _sync(job, order, row.kind) if wanted(order) else _remove(job, order, row)
    if not wanted(order):
        return {"nothing": f"Order {order.number} has no invoice in QuickBooks to follow."}
    kind = order_kind(row, conn)
    if not kind:
        return {"nothing": "The company keeps the commission in Kadouri only."}
    if row is not None and row.kind == kind and not (job.params or {}).get("again"):
        return {"nothing": f"The {described(row)} was removed in QuickBooks; it is made again only when asked."}
    problem = currency_problem(order)
    if problem:
        raise SyncRefused(problem, status=422)
    if not owed(order, kind):
        return {"nothing": f"Nothing is owed on order {order.number}: no {kind.replace('_', ' ')} is made."}
    return _sync(job, order, kind)


def _wait_for_earlier(job: QboSyncJob) -> None:
    """One job of an order's broker document at a time: a later one waits for the one that started first."""
    earlier = (
        QboSyncJob.objects.filter(order_id=job.order_id, action=job.action, state=QboSyncJob.State.RUNNING)
        .exclude(pk=job.pk)
        .filter(Q(claimed_at__lt=job.claimed_at) | Q(claimed_at=job.claimed_at, pk__lt=job.pk))
    )
    if earlier.exists():
        raise QboTransientError(
            "Another change of this order's broker document is being sent to QuickBooks; this one follows it."
        )


# --- what is sent ---------------------------------------------------------------------------------------------------


def _commission_tax() -> tuple[str, dict]:
    """The commission line's tax code and the document's tax fields, as the company's sales tax needs them: exempt
    from Automated Sales Tax (a service the broker bills), the Settings default code where every line needs one."""
    ctx = tax_context()
    if ctx.mode == AUTOMATED:
        return "NON", {}
    if ctx.mode == GLOBAL:
        if not ctx.default_code:
            raise SyncRefused(
                "QuickBooks needs a tax code on the commission invoice's line: choose a default tax code in "
                "Settings → QuickBooks → Company rules, then send it again.",
                status=422,
            )
        return ctx.default_code, document_tax_fields(ctx)
    return "", {}


def _payload(order: Order, kind: str) -> tuple[str, dict]:
    """The party (the seller's Vendor or Customer, made if needed) and the document to send."""
    conn = usable_connection()
    profile = connected_profile()
    currency = profile.home_currency if profile is not None and profile.multi_currency else None
    term_id = term_id_for(order)
    if kind == Kind.SELLER_BILL:
        if not conn.seller_bill_account_id:
            raise SyncRefused(
                f"Choose the expense account the seller bills are booked to in {BROKER_PLACE}, then send it again.",
                status=422,
            )
        vendor_id = seller_vendor_id(order.seller)
        payload = bill_payload(
            order, vendor_id=vendor_id, account_id=conn.seller_bill_account_id, term_id=term_id, currency=currency
        )
        return vendor_id, payload
    customer_id = seller_customer_id(order.seller)
    payload = commission_payload(
        order,
        customer_id=customer_id,
        item_id=commission_item_id(),
        term_id=term_id,
        doc_number=commission_number(order, quickbooks_numbers=quickbooks_numbers()),
        tax=_commission_tax(),
        currency=currency,
    )
    return customer_id, payload


# --- create or update -------------------------------------------------------------------------------------------------


def _sync(job: QboSyncJob, order: Order, kind: str) -> dict:
    """Created, or updated when what Kadouri sends changed. Asked again by a person (`again`: reconciliation, the
    order card), it is updated even when unchanged here (changed in QuickBooks), and made again when QuickBooks no
    longer has it."""
    entity, again = ENTITY_OF_KIND[kind], bool((job.params or {}).get("again"))
    party_id, payload = _payload(order, kind)
    pushed = payload_fingerprint(payload)
    row = live_document(order)
    if row is not None and row.kind == kind and row.state == State.ACTIVE and row.qbo_id:
        if row.pushed_fingerprint == pushed and not again:
            return _result(row, unchanged=True)
        updated = _update(job, order, row, payload, pushed)
        if updated is not None or not again:
            return updated or _result(BrokerDocument.objects.get(pk=row.pk))
    row, in_doubt = _claim(job, order, kind, entity)
    in_doubt = in_doubt or job.in_doubt
    found = _existing(entity, order, party_id) if in_doubt else None
    doc = found or _create(job, entity, payload, order, party_id)
    if in_doubt and not found:
        # A replayed answer is the create's, as it was then: the seller may have been paid since (its webhooks came
        # while Kadouri did not know the document's id). The document as QuickBooks has it now is recorded.
        doc = _current_of(entity, str(doc["Id"])) or doc
    row = broker_record(row.pk, doc, pushed_fingerprint=pushed)
    _log_created(job, order, row, adopted=found is not None)
    return _result(row, adopted=found is not None)


@transaction.atomic
def _claim(job: QboSyncJob, order: Order, kind: str, entity: str) -> tuple[BrokerDocument, bool]:
    """The order's row for this kind, holding the job's requestid before the create leaves (committed); and whether
    an earlier try may have created the document already (its requestid is on the row, with no id back)."""
    row, _ = BrokerDocument.objects.select_for_update().get_or_create(
        order=order, kind=kind, defaults={"realm_id": job.realm_id, "entity": entity}
    )
    in_doubt = bool(row.request_id) and not row.qbo_id and row.state == State.ACTIVE
    if row.qbo_id or row.state != State.ACTIVE:  # removed in QuickBooks, made again at a person's request
        row.qbo_id = row.doc_number = row.sync_token = row.pushed_fingerprint = row.party_id = ""
        row.state, row.total, row.balance, row.qbo_last_updated = State.ACTIVE, None, None, None
    row.realm_id, row.entity, row.request_id = job.realm_id, entity, job.request_id
    row.save()
    return row, in_doubt


def _existing(entity: str, order: Order, party_id: str) -> dict | None:
    """The party's document carrying the order's marker (an earlier try's), voided ones left out: one query, more
    pages only for a very busy seller."""
    field = "VendorRef" if entity == "Bill" else "CustomerRef"
    since = (order.created_at - CLOCK_MARGIN).isoformat(timespec="seconds")
    for page in range(MAX_PAGES):
        sql = (
            f"select * from {entity} where {field} = {quoted(str(party_id))} and MetaData.CreateTime >= "
            f"{quoted(since)} ORDERBY MetaData.CreateTime STARTPOSITION {page * QUERY_MAX_RESULTS + 1} "
            f"MAXRESULTS {QUERY_MAX_RESULTS}"
        )
        rows = calls.query(sql).get(entity, [])
        found = next((r for r in reversed(rows) if marked_order_id(r) == order.pk and not is_voided(r)), None)
        if found is not None or len(rows) < QUERY_MAX_RESULTS:
            return found
    return None


def _create(job: QboSyncJob, entity: str, payload: dict, order: Order, party_id: str) -> dict:
    """Created with the job's requestid. A number already used (6140) is an earlier try's document (found by its
    marker), or another one's: a bill then keeps the order's number anyway (a bill's number is the vendor's
    reference), a commission invoice takes QuickBooks' next number."""
    try:
        return calls.create(entity, payload, request_id=job.request_id)
    except QboDuplicateError as e:
        if e.code != "6140":
            raise
        found = _existing(entity, order, party_id)
        if found is not None:
            return found
    if entity == "Bill":
        params = {"include": "allowduplicatedocnum"}
        answer = calls.api_call("POST", "bill", params=params, body=payload, request_id=reapply_id(job))
        return answer["Bill"]
    unnumbered = {k: v for k, v in payload.items() if k != "DocNumber"}
    return calls.create(entity, unnumbered, request_id=reapply_id(job))


def _update(job: QboSyncJob, order: Order, row: BrokerDocument, payload: dict, pushed: str) -> dict | None:
    """The document read first (deleted or voided in QuickBooks: recorded, nothing sent, None answered), then a
    sparse update of what Kadouri sends; a stale SyncToken (5010) is read again and re-applied once. QuickBooks keeps
    its own number."""
    for attempt in (1, 2):
        current = _current(row)
        if current is None or (row.entity == "Invoice" and is_voided(current)):
            broker_record(row.pk, current, void_hint=current is not None)
            return None
        _refuse_below_paid(order, row, current, payload)
        body = {k: v for k, v in payload.items() if k != "DocNumber"}
        body |= {"Id": row.qbo_id, "SyncToken": current.get("SyncToken"), "sparse": True}
        try:
            doc = calls.update(row.entity, body, request_id=job.request_id if attempt == 1 else reapply_id(job))
        except QboStaleError:
            if attempt == 2:
                raise
            continue
        before = row.total
        row = broker_record(row.pk, doc, pushed_fingerprint=pushed)
        change = f"{display_money(before, order)} → {display_money(row.total, order)}" if before != row.total else ""
        text = f"{first_up(described(row))} updated in QuickBooks{f' ({change})' if change else ''} by "
        job_log(job, Type.BROKER_DOC_UPDATED, text + f"{job_user_name(job)}.", _details(job, row), order)
        return _result(row)
    raise AssertionError("unreachable")


def _current(row: BrokerDocument) -> dict | None:
    return _current_of(row.entity, row.qbo_id)


def _current_of(entity: str, qbo_id: str) -> dict | None:
    try:
        return calls.read(entity, qbo_id)
    except QboNotFoundError:
        return None


def _refuse_below_paid(order: Order, row: BrokerDocument, current: dict, payload: dict) -> None:
    paid = paid_amount(money(current.get("TotalAmt")), money(current.get("Balance")))
    amount = money(payload["Line"][0]["Amount"])
    if paid > amount:
        whom = "paid to the seller" if row.kind == Kind.SELLER_BILL else "paid by the seller"
        raise SyncRefused(
            f"{display_money(paid, order)} is already {whom} on the {described(row)} in QuickBooks, more than the "
            f"{display_money(amount, order)} it would now be. Settle the difference in QuickBooks.",
            status=409,
        )


# --- removed with the order's invoice --------------------------------------------------------------------------------


def _remove(job: QboSyncJob, order: Order, row: BrokerDocument) -> dict:
    """The order is cancelled: a bill is deleted (QuickBooks has no void for bills), a commission invoice voided —
    unless money moved on it already, when it is kept and the order says so for a person to settle."""
    if not row.qbo_id:
        found = _existing(row.entity, order, row.party_id or _party_of(order, row)) if row.request_id else None
        if found is None:
            return _result(broker_record(row.pk, None))  # its create never reached QuickBooks
        row = broker_record(row.pk, found)
    current = _current(row)
    if current is None or (row.entity == "Invoice" and is_voided(current)):
        return _result(broker_record(row.pk, current, void_hint=current is not None))
    paid = paid_amount(money(current.get("TotalAmt")), money(current.get("Balance")))
    if paid > 0:
        row = broker_record(row.pk, current)
        _log_kept(job, order, row, paid)
        return _result(row, kept=True)
    try:
        if row.entity == "Bill":
            calls.delete("Bill", row.qbo_id, str(current.get("SyncToken")), request_id=job.request_id)
            row, how = broker_record(row.pk, None), "deleted"
        else:
            voided = calls.void("Invoice", row.qbo_id, str(current.get("SyncToken")), request_id=job.request_id)
            row, how = broker_record(row.pk, voided, void_hint=True), "voided"
    except QboNotFoundError:  # an earlier try deleted it and its answer was lost
        row, how = broker_record(row.pk, None), "deleted"
    why = " (QuickBooks cannot void bills)" if row.entity == "Bill" else ""
    text = (
        f"{first_up(described(row))} {how} in QuickBooks with the order's {order.get_qbo_doc_type_display().lower()}"
        f"{why} by {job_user_name(job)}."
    )
    job_log(job, Type.BROKER_DOC_VOIDED, text, _details(job, row), order)
    return _result(row)


def _party_of(order: Order, row: BrokerDocument) -> str:
    return seller_vendor_id(order.seller) if row.entity == "Bill" else seller_customer_id(order.seller)


def _log_kept(job: QboSyncJob, order: Order, row: BrokerDocument, paid) -> None:
    if order.activities.filter(activity_type=Type.BROKER_DOC_UPDATED, details__keptOnCancel=row.pk).exists():
        return
    whom = "the seller was already paid" if row.kind == Kind.SELLER_BILL else "the seller already paid"
    text = (
        f"{first_up(described(row))} is kept in QuickBooks although the order is cancelled: {whom} "
        f"{display_money(paid, order)} on it. Settle it in QuickBooks (a vendor credit or a refund)."
    )
    job_log(job, Type.BROKER_DOC_UPDATED, text, _details(job, row, keptOnCancel=row.pk), order)


# --- what is recorded -------------------------------------------------------------------------------------------------


def _details(job: QboSyncJob, row: BrokerDocument, **extra) -> dict:
    return job_details(job, brokerDocument=row.pk, kind=row.kind, qboId=row.qbo_id, total=str(row.total or ""), **extra)


def _log_created(job: QboSyncJob, order: Order, row: BrokerDocument, *, adopted: bool) -> None:
    amount = display_money(row.total, order)
    rate = f"{order.commission_rate.normalize():f}%"
    if row.kind == Kind.SELLER_BILL:
        why = (
            f"the order's total {display_money(order.total, order)} less commission {rate} "
            f"({display_money(order.commission_amount, order)})"
        )
    else:
        why = f"commission {rate} of {display_money(order.total, order)}"
    found = " (found in QuickBooks after a lost answer)" if adopted else ""
    text = f"{first_up(described(row))} created in QuickBooks for {amount}: {why}{found}, by {job_user_name(job)}."
    job_log(job, Type.BROKER_DOC_CREATED, text, _details(job, row, adopted=adopted), order)


def _result(row: BrokerDocument, **flags) -> dict:
    return {
        "brokerDocument": row.pk,
        "kind": row.kind,
        "qboId": row.qbo_id,
        "docNumber": row.doc_number,
        "state": row.state,
        "total": str(row.total) if row.total is not None else None,
        "expected": str(broker_amount(row.order, row.kind)),
        **flags,
    }
