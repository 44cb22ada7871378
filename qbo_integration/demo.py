"""Demo documents: after QuickBooks is connected, some demo orders go through the real services — an invoice,
an estimate, a voided invoice and, against the emulator, an invoice the bookkeeper pays — so the demo shows
every status with its document, each reached the way a user reaches it.

The demo data itself (orders/management/commands/seed_demo.py) seeds drafts only.
"""

from dataclasses import dataclass

import requests
from django.conf import settings

from orders.models import Order

from .client.errors import QboError
from .connection.vault import usable_connection
from .models import QboSyncJob
from .outbound.requests import order_push_request, order_void_request
from .outbox.jobs import SyncRefused

S, D = Order.Status, Order.DocType


@dataclass(frozen=True)
class DemoDocument:
    number: str
    doc_type: str
    then: str = ""  # "void", "pay" (the bookkeeper pays in the emulator) or nothing


DEMO_DOCUMENTS = [
    DemoDocument("DEMO-0002", D.ESTIMATE),
    DemoDocument("DEMO-0003", D.INVOICE),
    DemoDocument("DEMO-0004", D.INVOICE, then="pay"),
    DemoDocument("DEMO-0005", D.INVOICE, then="void"),
]


def demo_documents_waiting() -> bool:
    """Demo drafts still without their document (the Settings page offers the button then)."""
    return Order.objects.filter(
        number__in=[d.number for d in DEMO_DOCUMENTS], status=S.DRAFT, qbo_doc_id__isnull=True
    ).exists()


def demo_documents_load(*, by) -> list[str]:
    """One line per demo order saying what was done. Raises QboError when QuickBooks is not connected."""
    realm_id = usable_connection().realm_id
    return [_load(demo, realm_id=realm_id, by=by) for demo in DEMO_DOCUMENTS]


def _load(demo: DemoDocument, *, realm_id: str, by) -> str:
    order = Order.objects.filter(number=demo.number).first()
    if order is None:
        return f"{demo.number}: not found (run `manage.py seed_demo` first)."
    if order.status != S.DRAFT or order.qbo_doc_id:
        return f"{demo.number}: left as it is ({order.get_status_display().lower()})."
    try:
        job = order_push_request(order=order, doc_type=demo.doc_type, by=by)
        if job.state == QboSyncJob.State.DONE and demo.then == "void":
            job = order_void_request(order=Order.objects.get(pk=order.pk), by=by)
    except (SyncRefused, QboError) as e:
        return f"{demo.number}: {e.message}"
    order.refresh_from_db()
    if job.state != QboSyncJob.State.DONE:
        return f"{demo.number}: {job.last_error or 'queued; the worker finishes it'}"
    done = f"{demo.number}: {order.get_qbo_doc_type_display().lower()} #{order.qbo_doc_number} created in QuickBooks"
    if demo.then == "void":
        return f"{done}, then voided (the order is cancelled)."
    if demo.then == "pay":
        return f"{done}; {_bookkeeper_pays(realm_id, order)}"
    return f"{done}."


def _bookkeeper_pays(realm_id: str, order: Order) -> str:
    """Only the emulator can be asked to play the bookkeeper; against Intuit a person records the payment."""
    if settings.QBO_ENVIRONMENT != "emulator":
        return "record its payment in QuickBooks and the order turns Paid."
    url = f"{settings.QBO_EMULATOR_URL}/_emulator/api/companies/{realm_id}/actions/record_payment"
    try:
        response = requests.post(url, json={"invoice_id": order.qbo_doc_id}, timeout=10)
        response.raise_for_status()
    except requests.RequestException as e:
        return f"the emulator did not record its payment ({e.__class__.__name__}); record it in the emulator's UI."
    return "the emulator's bookkeeper paid it; its webhook turns the order Paid in a few seconds."
