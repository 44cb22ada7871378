"""Invoices that reach the buyer (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer): what may be delivered,
and the runners of the three jobs — QuickBooks emails the invoice or estimate (SEND_DOCUMENT), Kadouri fetches its
PDF (FETCH_PDF), and the invoice is opened to online payment by card or bank transfer (SET_ONLINE_PAYMENT).
The requests that record these jobs are in `delivery_requests.py`.

Exactly once: a send is not repeatable by nature (every `/send` mails again), so its job reads the document before
sending and keeps the DeliveryTime it saw; a retry after a lost answer that finds a later DeliveryTime adopts that
send instead of mailing twice. The online-payment write is a sparse update of two flags (the same on every replay),
with the job's `requestid`. A PDF fetch writes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from orders.models import Order, OrderActivity

from ..client.errors import QboStaleError, QboValidationError
from ..connection import calls
from ..connection.profile import profile_for
from ..documents.apply import Cause, estimate_apply, invoice_apply
from ..documents.delivery import bill_email, delivered_at
from ..documents.reading import GONE_STATES, is_voided, parse_time
from ..documents.store import ENTITY_OF_TYPE, entity_of, label_of
from ..models import CompanyProfile, QboSyncJob
from ..models_beyond import QboDocumentPdf
from ..outbox import jobs
from ..outbox.jobs import SyncRefused, is_due, reapply_id
from ..outbox.log import job_details, job_log, job_user_name
from .money_jobs import keep_in_result
from .record import checked_target, load_order
from .registry import JOB_RUNNERS, job_runner

Action = QboSyncJob.Action
DELIVERED_TYPES = (Order.DocType.INVOICE, Order.DocType.ESTIMATE)
PDF_MAX_BYTES = 20 * 1024 * 1024
# A send that reached QuickBooks while Kadouri kept no note of what it saw before (a try that died in between) is
# recognised by its time: at most this far before the job began, for the two clocks.
CLOCK_MARGIN = timedelta(minutes=2)
SYNC = Cause(source="sync")
_email = EmailValidator()


# --- what may be delivered --------------------------------------------------------------------------------------


def doc_name(order: Order, *, first: bool = False) -> str:
    """The document as staff read it: invoice #1001 (Invoice #1001 to start a sentence)."""
    label = label_of(entity_of(order))
    return f"{label[:1].upper() + label[1:] if first else label} #{order.qbo_doc_number or order.qbo_doc_id}"


def document_refusal(order: Order) -> str:
    """Why the order's document cannot be emailed or printed now ("" when it can): only an invoice or an
    estimate in QuickBooks, whose link is sound, that is not voided, rejected or deleted."""
    if order.qbo_link_problem:
        return f"Order {order.number}'s QuickBooks link looks wrong, so nothing is sent: {order.qbo_link_problem}"
    if not order.qbo_doc_id:
        return f"Order {order.number} is a draft and not in QuickBooks yet. Create its invoice first."
    if order.qbo_doc_type not in DELIVERED_TYPES:
        return (
            f"Order {order.number} is a cash sale (sales receipt #{order.qbo_doc_number}); Kadouri emails and prints "
            "invoices and estimates only."
        )
    if order.qbo_doc_state in (*GONE_STATES, "Rejected") or order.status == Order.Status.CANCELLED:
        state = (order.qbo_doc_state or "voided").lower()
        return f"{doc_name(order, first=True)} is {state} in QuickBooks; it is not sent to the buyer."
    return ""


def online_payment_refusal(order: Order, profile: CompanyProfile) -> str:
    """Why the order's invoice cannot be opened to online payment ("" when it can)."""
    problem = document_refusal(order)
    if problem:
        return problem
    if order.qbo_doc_type != Order.DocType.INVOICE:
        return f"Order {order.number} has an estimate: online payment is for invoices. Convert it to an invoice first."
    if not profile.online_payments:
        return online_payments_off(profile)
    if order.status == Order.Status.PAID:
        return f"{doc_name(order, first=True)} is paid in full; nothing is left to pay online."
    return ""


def online_payments_off(profile: CompanyProfile) -> str:
    company = profile.company_name or "The connected QuickBooks company"
    return (
        f"{company} does not accept online payments (QuickBooks Payments is not turned on for it), so its invoices "
        "cannot be paid online. Turn on online payments in QuickBooks (Account and settings › Payments) first."
    )


def email_problem(address: str) -> str:
    """Why `address` is no address QuickBooks can mail ("" when it is one)."""
    if not address:
        return "Enter the buyer's email address."
    if any(ch in ",;" for ch in address) or address.count("@") > 1:
        return "Enter one email address."
    if len(address) > 254:
        return "An email address has at most 254 characters."
    try:
        _email(address)
    except ValidationError:
        return f"“{address}” is not an email address."
    return ""


def _refuse(problem: str, status: int = 409) -> None:
    if problem:
        raise SyncRefused(problem, status=status)


def attempt_once(job: QboSyncJob) -> QboSyncJob:
    """The request's one attempt, if the job is due; a retry belongs to the worker."""
    return jobs.job_run(job_id=job.pk, run=lambda j: JOB_RUNNERS[j.action](j)) if is_due(job) else job


def apply_read(order_id: int, entity: str, doc: dict) -> None:
    """A version of the order's document Kadouri read or got back, applied as any read is (documents/apply.py):
    its delivery values are stored with it."""
    if entity == "Invoice":
        invoice_apply(order_id=order_id, doc_id=str(doc["Id"]), invoice=doc, cause=SYNC)
    else:
        estimate_apply(order_id=order_id, doc_id=str(doc["Id"]), estimate=doc, cause=SYNC)


def _logged(order: Order, activity_type: str, job: QboSyncJob) -> bool:
    return order.activities.filter(activity_type=activity_type, details__requestId=job.request_id).exists()


# --- emailing ----------------------------------------------------------------------------------------------------


def _sent_since_job_began(doc: dict, job: QboSyncJob) -> bool:
    sent = parse_time(delivered_at(doc))
    return sent is not None and sent >= job.created_at - CLOCK_MARGIN


@job_runner(Action.SEND_DOCUMENT)
def run_send(job: QboSyncJob) -> dict:
    order = load_order(job)
    _refuse(document_refusal(order))
    entity = entity_of(order)
    current = calls.read(entity, order.qbo_doc_id)
    checked_target(job, order, current)  # a wrong link is recorded and refused
    if is_voided(current):
        raise SyncRefused(f"QuickBooks shows {doc_name(order)} as voided; it is not sent to the buyer.", status=409)
    seen, before = delivered_at(current), (job.result or {}).get("deliveredBefore")
    if before is None:
        if job.attempts > 1 and _sent_since_job_began(current, job):
            return _record_send(job, order, current, adopted=True)
        keep_in_result(job, deliveredBefore=seen)  # before the send: a retry compares with it
    elif seen != before:  # an earlier try of this job mailed it; its answer was lost
        return _record_send(job, order, current, adopted=True)
    doc = calls.send_document(entity, order.qbo_doc_id, to=job.params["to"], request_id=job.request_id)
    return _record_send(job, order, doc, adopted=False)


def _record_send(job: QboSyncJob, order: Order, doc: dict, *, adopted: bool) -> dict:
    entity = entity_of(order)
    apply_read(order.pk, entity, doc)
    to = bill_email(doc) or job.params["to"]
    order.refresh_from_db()
    if not _logged(order, OrderActivity.Type.INVOICE_EMAILED, job):
        found = " (found sent already after a lost answer: not mailed twice)" if adopted else ""
        job_log(
            job,
            OrderActivity.Type.INVOICE_EMAILED,
            f"{doc_name(order, first=True)} emailed to {to} by QuickBooks for {job_user_name(job)}{found}.",
            job_details(job, docId=order.qbo_doc_id, to=to, deliveredAt=delivered_at(doc), adopted=adopted),
            order,
        )
    return {"docId": order.qbo_doc_id, "to": to, "deliveredAt": delivered_at(doc), "adopted": adopted}


# --- the PDF --------------------------------------------------------------------------------------------------------


@job_runner(Action.FETCH_PDF)
def run_fetch_pdf(job: QboSyncJob) -> dict:
    """QuickBooks' PDF of the document the request saw, kept with the order's SyncToken of the moment (a newer
    version makes it out of date: it is fetched again)."""
    order = Order.objects.filter(pk=job.params["orderId"]).first()
    if order is None:
        raise SyncRefused("The order no longer exists in Kadouri; its PDF is not fetched.", status=409)
    if (order.qbo_doc_type, order.qbo_doc_id) != (job.params["docType"], job.params["docId"]):
        raise SyncRefused(f"Order {order.number} follows another QuickBooks document now; ask again.", status=409)
    _refuse(document_refusal(order))
    sync_token = order.qbo_sync_token
    data = calls.pdf(ENTITY_OF_TYPE[order.qbo_doc_type], order.qbo_doc_id)
    if not data.startswith(b"%PDF-") or len(data) > PDF_MAX_BYTES:
        raise QboValidationError(f"QuickBooks did not answer with a PDF of {doc_name(order)} ({len(data)} bytes).")
    QboDocumentPdf.objects.update_or_create(
        order=order,
        defaults={
            "doc_type": order.qbo_doc_type,
            "doc_id": order.qbo_doc_id,
            "sync_token": sync_token,
            "content": data,
            "size": len(data),
            "fetched_at": timezone.now(),
            "fetched_by_name": job_user_name(job),
        },
    )
    return {"orderId": order.pk, "size": len(data), "syncToken": sync_token}


# --- online payment ----------------------------------------------------------------------------------------------


def _online_fields(order: Order, current: dict, card: bool, ach: bool) -> dict:
    """What the sparse update sets: the two flags, and the buyer's email as BillEmail when the invoice has none
    (QuickBooks makes no payment link without it); {} when QuickBooks has them already."""
    fields = {}
    if current.get("AllowOnlineCreditCardPayment", False) is not card:
        fields["AllowOnlineCreditCardPayment"] = card
    if current.get("AllowOnlineACHPayment", False) is not ach:
        fields["AllowOnlineACHPayment"] = ach
    email = (order.buyer.email or "").strip()
    if (card or ach) and not bill_email(current) and email and not email_problem(email):
        fields["BillEmail"] = {"Address": email}
    return fields


def payment_ways(card: bool, ach: bool) -> str:
    """In words: the buyer may pay by card and bank transfer (ACH); or turned off."""
    ways = [way for way, on in (("card", card), ("bank transfer (ACH)", ach)) if on]
    return f"the buyer may pay by {' and '.join(ways)}" if ways else "turned off"


@job_runner(Action.SET_ONLINE_PAYMENT)
def run_online_payment(job: QboSyncJob) -> dict:
    order = load_order(job)
    _refuse(online_payment_refusal(order, profile_for(job.realm_id)), status=422)
    card, ach = bool(job.params["card"]), bool(job.params["ach"])
    for attempt in (1, 2):
        current = calls.read("Invoice", order.qbo_doc_id)
        target = checked_target(job, order, current)
        if is_voided(current):
            raise SyncRefused(f"QuickBooks shows {doc_name(order)} as voided.", status=409)
        fields = _online_fields(order, current, card, ach)
        if not fields:
            break
        body = {"Id": target.doc_id, "SyncToken": target.sync_token, "sparse": True, **fields}
        try:
            calls.update("Invoice", body, request_id=job.request_id if attempt == 1 else reapply_id(job))
            break
        except QboStaleError:
            if attempt == 2:
                raise
    doc = calls.read_with_invoice_link("Invoice", order.qbo_doc_id)
    apply_read(order.pk, "Invoice", doc)
    order.refresh_from_db()
    if not _logged(order, OrderActivity.Type.ONLINE_PAYMENT_CHANGED, job):
        job_log(
            job,
            OrderActivity.Type.ONLINE_PAYMENT_CHANGED,
            f"Online payment of {doc_name(order)}: {payment_ways(card, ach)} (set in QuickBooks by "
            f"{job_user_name(job)}).",
            job_details(job, docId=order.qbo_doc_id, card=card, ach=ach, invoiceLink=order.qbo_invoice_link),
            order,
        )
    return {"card": card, "ach": ach, "invoiceLink": order.qbo_invoice_link}
