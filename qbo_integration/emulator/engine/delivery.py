"""Delivering a sales form to its customer (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer):
``POST /<invoice|estimate>/<id>/send[?sendTo=addr]``, ``GET /<invoice|estimate>/<id>/pdf`` and the invoice's
``InvoiceLink`` (``?include=invoiceLink`` on a read).

A send mails ``sendTo`` (which replaces ``BillEmail``) or else ``BillEmail``; the form then says ``EmailStatus
EmailSent`` and ``DeliveryInfo {DeliveryType Email, DeliveryTime}``, its SyncToken moves on and an ``Update`` event
goes out. The mail itself is kept in the company's sent-mail list (the control API and the UI show it).
"""

from __future__ import annotations

import copy
import re

from .books import Books
from .entities.preferences import online_payments
from .errors import business, invalid_value, unsupported
from .pdf import document_pdf
from .times import public_time
from .values import Obj, fields_of, hidden_of

SENDABLE = ("Invoice", "Estimate")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
PDF_TYPE = "application/pdf"


def _sendable(entity: str) -> None:
    if entity not in SENDABLE:
        raise unsupported(f"The emulator sends and prints only {' and '.join(SENDABLE)} (not {entity})")


def send(books: Books, entity: str, doc_id: str, send_to: str | None) -> Obj:
    """Mail the form; its new version, as the API answers it."""
    _sendable(entity)
    old = books.find(entity, doc_id)
    if old.get("_voided"):
        raise business("This transaction has been voided and can't be sent.")
    address = (send_to or "").strip()
    if address and not EMAIL.match(address):
        raise invalid_value("sendTo")
    address = address or str((old.get("BillEmail") or {}).get("Address") or "")
    if not address:  # README, Decisions: Intuit's fault for "no address at all" is not documented
        raise business(
            "Email address is missing. Add BillEmail to the transaction, or send it with sendTo.", "BillEmail"
        )
    fields = copy.deepcopy(fields_of(old))
    fields["BillEmail"] = {"Address": address}
    fields["EmailStatus"] = "EmailSent"
    fields["_delivered"] = books.stamp_time
    stored = books.replace(entity, old, {**hidden_of(old), **fields})
    books.company.sent_mail.append(
        {
            "time": public_time(books.stamp_time),
            "entity": entity,
            "Id": stored["Id"],
            "DocNumber": stored.get("DocNumber", ""),
            "customer": books.name_of("Customer", str((stored.get("CustomerRef") or {}).get("value", ""))) or "",
            "to": address,
        }
    )
    return books.render(entity, stored)


def with_invoice_link(books: Books, entity: str, rendered: Obj, base_url: str) -> Obj:
    """``InvoiceLink`` only where Intuit generates one: the company takes online payments, the invoice allows card
    or bank transfer, it has a customer email and is not voided. The link is the emulator's own pay page."""
    allowed = rendered.get("AllowOnlineCreditCardPayment") is True or rendered.get("AllowOnlineACHPayment") is True
    voided = str(rendered.get("PrivateNote") or "").startswith("Voided") and not rendered.get("TotalAmt")
    email = (rendered.get("BillEmail") or {}).get("Address")
    if entity == "Invoice" and online_payments(books) and allowed and email and not voided:
        rendered["InvoiceLink"] = f"{base_url}/_emulator/pay/{books.company.realm_id}/{rendered['Id']}"
    return rendered


def pdf(books: Books, entity: str, doc_id: str) -> Obj:
    """The form's PDF, as the router serves a binary answer: its media type and its bytes as latin-1 text."""
    _sendable(entity)
    rendered = books.read(entity, doc_id)
    data = document_pdf(books.company.name, entity, rendered)
    return {"_content_type": PDF_TYPE, "_body": data.decode("latin-1")}
