"""What QuickBooks says about an order's document reaching the buyer (docs/quickbooks/beyond.md
#invoices-that-reach-the-buyer): its EmailStatus, when and to whom it was last emailed (DeliveryInfo, and BillEmail
at that moment), whether the buyer may pay it online by card or bank transfer, and its online payment link.

Stored whenever Kadouri stores a read of the document (`store.document_store`: its own writes, webhooks, catch-up,
reconciliation), so the order shows what QuickBooks has, whoever sent the invoice.
"""

from __future__ import annotations

from kadouri.text import clean_inbound_line
from orders.models import Order

from .reading import parse_time

LINK_MAX = 1000  # Order.qbo_invoice_link


def bill_email(doc: dict | None) -> str:
    """The document's BillEmail address ("" when it has none)."""
    return clean_inbound_line((((doc or {}).get("BillEmail") or {}).get("Address")) or "")[:254]


def delivered_at(doc: dict | None) -> str:
    """QuickBooks' DeliveryInfo.DeliveryTime as it wrote it ("" when the document was never emailed): the job
    compares it before and after a send (outbound/delivery.py)."""
    info = (doc or {}).get("DeliveryInfo") or {}
    return str(info.get("DeliveryTime") or "") if info.get("DeliveryType", "Email") == "Email" else ""


def _link(value) -> str:
    text = str(value or "").strip()
    return text if text.startswith(("https://", "http://")) and len(text) <= LINK_MAX else ""


def store_delivery(order: Order, doc: dict, *, entity: str) -> list[str]:
    """QuickBooks' delivery values on the (locked, unsaved) order; the fields changed. The address is taken with
    each new delivery: BillEmail may be changed later without mailing anyone."""
    fields = []
    if doc.get("EmailStatus"):
        order.qbo_email_status = clean_inbound_line(doc["EmailStatus"])[:16]
        fields.append("qbo_email_status")
    sent = parse_time(delivered_at(doc))
    if sent is not None and sent != order.qbo_emailed_at:
        order.qbo_emailed_at, order.qbo_emailed_to = sent, bill_email(doc)
        fields += ["qbo_emailed_at", "qbo_emailed_to"]
    if entity != "Invoice":
        return fields
    for key, field in (
        ("AllowOnlineCreditCardPayment", "online_card_payment"),
        ("AllowOnlineACHPayment", "online_ach_payment"),
    ):
        if key in doc:
            setattr(order, field, doc[key] is True)
            fields.append(field)
    if "InvoiceLink" in doc:
        order.qbo_invoice_link = _link(doc["InvoiceLink"])
    elif not (order.online_card_payment or order.online_ach_payment) or not bill_email(doc):
        order.qbo_invoice_link = ""  # QuickBooks makes a link only for an invoice payable online with an email
    return [*fields, "qbo_invoice_link"]
