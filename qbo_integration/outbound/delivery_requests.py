"""What a click or an API call asks for an order's delivery (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer):
email the document, get its PDF, open the invoice to online payment. Each checks first (nothing is recorded or sent
when it refuses), then records its job under the order's lock (outbound/delivery.py runs it).

- Email: the key holds the form's one-time token (the API's `Idempotency-Key`) and the address, so a double click or
  a browser retry joins the same job; without a token it counts the emails done, so a second identical request
  while the first is queued joins it and one made later mails again, as asked. One attempt in the request.
- PDF: no QuickBooks call inside the request. The stored PDF is served while it is current; otherwise a fetch is
  queued for the worker (one per document version). The fetch carries the order in its params, not as its order:
  it only reads, so it never holds the order's one-job-at-a-time slot nor shows as the order's QuickBooks job.
- Online payment: the key holds the flags asked and the document's version; one attempt in the request.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from orders.models import Order

from ..connection.profile import profile_for
from ..connection.vault import usable_connection
from ..models import QboSyncJob
from ..models_beyond import QboDocumentPdf
from ..outbox.jobs import ACTIVE, RUN_JOB_TASK, SyncRefused, is_due, job_for, request_id
from ..outbox.log import person_or_none
from ..selectors.delivery import current_pdf
from .delivery import attempt_once, document_refusal, email_problem, online_payment_refusal, online_payments_off

Action = QboSyncJob.Action
State = QboSyncJob.State


def _digest(*parts) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _enqueue(order: Order, action: str, key_tail: str, params: dict, by, ip: str | None, check) -> QboSyncJob:
    """The order's job for `action` under the order's lock: joined when the same key is queued or running,
    refused while another of the order's jobs is (it may change what this one sends)."""
    realm_id = usable_connection().realm_id
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("buyer").get(pk=order.pk)
        check(locked)
        key = f"{realm_id}:order:{locked.pk}:{action}:{key_tail}"
        active = locked.qbo_jobs.filter(state__in=ACTIVE).first()
        if active is not None and (active.action, (active.params or {}).get("key")) != (action, key):
            raise SyncRefused(
                f"QuickBooks is already working on order {locked.number} "
                f"({active.get_action_display().lower()}); wait for it to finish.",
                status=409,
            )
        job, _ = job_for(
            key=key,
            lookup={"order": locked, "action": action},
            defaults={
                "realm_id": realm_id,
                "created_by": person_or_none(by),
                "ip_address": ip,
                "params": params | {"key": key},
            },
        )
        return job


# --- email -------------------------------------------------------------------------------------------------------


def email_request(*, order: Order, to, token: str = "", by, ip: str | None = None) -> QboSyncJob:
    """Email invoice (or estimate): QuickBooks mails it to `to`, which becomes its billing email there."""
    address = str(to or "").strip()
    problem = email_problem(address)
    if problem:
        raise SyncRefused(problem, status=422, field="to")

    def check(locked: Order) -> None:
        refusal = document_refusal(locked)
        if refusal:
            raise SyncRefused(refusal, status=409)

    check(order)
    usable_connection()  # not connected: said before anything is recorded
    if token:
        turn = f"t:{token[:64]}"
    else:
        turn = f"n:{order.qbo_jobs.filter(action=Action.SEND_DOCUMENT, state=State.DONE).count()}"
    key_tail = f"{order.qbo_doc_type}:{order.qbo_doc_id}:{turn}:{_digest(address.lower())}"
    job = _enqueue(order, Action.SEND_DOCUMENT, key_tail, {"to": address}, by, ip, check)
    return attempt_once(job)


def resend_token(order: Order) -> str:
    """The one-click "Send again" form's token: the same until the document is emailed again or changes, so a
    double click joins the first send and a click after the next update mails once more."""
    stamp = order.qbo_emailed_at.isoformat() if order.qbo_emailed_at else "never"
    return "again-" + _digest(order.pk, order.qbo_doc_id, order.qbo_sync_token, stamp)


# --- the PDF -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfAnswer:
    """The stored PDF when it is current, else the fetch that prepares it."""

    pdf: QboDocumentPdf | None
    job: QboSyncJob | None


def _pdf_job(key: str, params: dict, realm_id: str, by, ip: str | None) -> QboSyncJob:
    """The fetch for this document version (a failed one is never re-armed: the next generation is a new job)."""
    for generation in itertools.count():
        rid = request_id(f"{key}:g{generation}")
        job = QboSyncJob.objects.filter(request_id=rid).first()
        if job is None:
            fields = {"realm_id": realm_id, "params": params, "created_by": person_or_none(by), "ip_address": ip}
            try:
                with transaction.atomic():
                    return QboSyncJob.objects.create(request_id=rid, action=Action.FETCH_PDF, **fields)
            except IntegrityError:  # a racing request inserted it first
                return QboSyncJob.objects.get(request_id=rid)
        if job.state != State.FAILED:
            return job
    raise AssertionError("unreachable")


def pdf_request(*, order: Order, by, ip: str | None = None) -> PdfAnswer:
    """The document's PDF: the stored one while it is current, else a fetch queued for the worker (never a
    QuickBooks call in this request; where tasks run inline, as in tests, it may be done on return)."""
    refusal = document_refusal(order)
    if refusal:
        raise SyncRefused(refusal, status=409)
    stored = current_pdf(order)
    if stored is not None:
        return PdfAnswer(stored, None)
    realm_id = usable_connection().realm_id
    params = {"orderId": order.pk, "docType": order.qbo_doc_type, "docId": order.qbo_doc_id}
    key = f"{realm_id}:pdf:{order.pk}:{order.qbo_doc_type}:{order.qbo_doc_id}:s{order.qbo_sync_token}"
    job = _pdf_job(key, params, realm_id, by, ip)
    if is_due(job):
        async_task(RUN_JOB_TASK, job.pk)  # the worker's (claimed by compare-and-set: a second task is harmless)
    job.refresh_from_db()
    order.refresh_from_db()
    return PdfAnswer(current_pdf(order), job)


# --- online payment --------------------------------------------------------------------------------------------------


def online_payment_request(*, order: Order, card, ach, by, ip: str | None = None) -> QboSyncJob:
    """Let the buyer pay the invoice online by card and/or bank transfer (ACH), or no longer."""
    if not isinstance(card, bool) or not isinstance(ach, bool):
        raise SyncRefused("card and ach must each be true or false.", status=422, field="card")
    realm_id = usable_connection().realm_id
    profile = profile_for(realm_id)

    def check(locked: Order) -> None:
        refusal = online_payment_refusal(locked, profile)
        if refusal:
            raise SyncRefused(refusal, status=422 if refusal == online_payments_off(profile) else 409)

    check(order)
    key_tail = f"{order.qbo_doc_id}:s{order.qbo_sync_token}:card={card}:ach={ach}"
    job = _enqueue(order, Action.SET_ONLINE_PAYMENT, key_tail, {"card": card, "ach": ach}, by, ip, check)
    return attempt_once(job)
