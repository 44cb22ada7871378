"""Reads of an order's delivery that pages, the JSON API and the requests share: the PDF Kadouri keeps of its
document and whether it is still current, and the fetch of a new one (docs/quickbooks/beyond.md
#invoices-that-reach-the-buyer)."""

from __future__ import annotations

import re

from orders.models import Order

from ..documents.store import entity_of
from ..models import QboSyncJob
from ..models_beyond import QboDocumentPdf

ACTIVE = (QboSyncJob.State.PENDING, QboSyncJob.State.RUNNING)


def current_pdf(order: Order) -> QboDocumentPdf | None:
    """The stored PDF of the order's document as Kadouri knows it now (same document, same SyncToken), or None:
    none was fetched, or the document changed since (an update, a payment, an email) and it must be fetched again."""
    row = QboDocumentPdf.objects.filter(order=order).defer("content").first() if order.pk else None
    if row is None or not order.qbo_doc_id:
        return None
    same = (row.doc_type, row.doc_id, row.sync_token) == (order.qbo_doc_type, order.qbo_doc_id, order.qbo_sync_token)
    return row if same else None


def pdf_job(order: Order) -> QboSyncJob | None:
    """The latest PDF fetch asked for the order's document. Such a job carries the order in its params, not as its
    order: a read never takes the order's one-job-at-a-time slot (outbound/delivery_requests.py)."""
    if not order.pk or not order.qbo_doc_id:
        return None
    return (
        QboSyncJob.objects.filter(
            action=QboSyncJob.Action.FETCH_PDF,
            params__orderId=order.pk,
            params__docType=order.qbo_doc_type,
            params__docId=order.qbo_doc_id,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def preparing_pdf(order: Order) -> bool:
    job = pdf_job(order)
    return job is not None and job.state in ACTIVE and current_pdf(order) is None


def pdf_filename(order: Order) -> str:
    """The file's name, e.g. Invoice-1001.pdf: the document's kind and QuickBooks number, in characters every system
    accepts."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", order.qbo_doc_number or order.qbo_doc_id or order.number).strip("-.")
    return f"{entity_of(order)}-{number or order.pk}.pdf"


def delivery_json(order: Order) -> dict:
    """The order's delivery as QuickBooks last reported it, for the JSON API."""
    pdf = current_pdf(order)
    return {
        "emailStatus": order.qbo_email_status or None,
        "emailedTo": order.qbo_emailed_to or None,
        "emailedAt": order.qbo_emailed_at.isoformat() if order.qbo_emailed_at else None,
        "onlineCardPayment": order.online_card_payment,
        "onlineAchPayment": order.online_ach_payment,
        "invoiceLink": order.qbo_invoice_link or None,
        "pdf": None
        if pdf is None
        else {"filename": pdf_filename(order), "size": pdf.size, "fetchedAt": pdf.fetched_at.isoformat()},
    }
