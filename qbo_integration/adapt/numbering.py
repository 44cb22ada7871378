"""Who numbers invoices and estimates (docs/quickbooks/next.md#docnumber-and-custom-transaction-numbers).

Custom transaction numbers on (the idealised company): Kadouri sends the order number as `DocNumber`, and finds a
document an earlier try created by that number. Off: QuickBooks numbers the document itself and Intuit advises
against sending one, so Kadouri sends none, stores QuickBooks' number (`Order.qbo_doc_number`) and shows it beside
the order number; a marker in the document's private note, which QuickBooks keeps (a void only puts "Voided - "
before it), names the order, and is how a document whose create answer was lost is found again
(docs/quickbooks.md#quickbooks-numbers-the-documents).
"""

from __future__ import annotations

import re

from orders.models import Order

from ..connection.profile import connected_profile, profile_for

PRIVATE_NOTE_MAX = 4000  # docs/quickbooks/entities.md#invoice (mapping.PRIVATE_NOTE_MAX)
_MARKER = re.compile(r"\[kadouri:(\d+)\]")


def quickbooks_numbers(realm_id: str | None = None) -> bool:
    """True when the connected company numbers its documents itself (custom transaction numbers off)."""
    profile = connected_profile() if realm_id is None else profile_for(realm_id)
    return profile is not None and not profile.custom_txn_numbers


def marker(order: Order) -> str:
    """What the document's private note carries: the order's number for people, its id for Kadouri."""
    return f"Kadouri order {order.number} [kadouri:{order.pk}]"


def with_marker(order: Order, note: str) -> str:
    """The private note Kadouri sends: the order's notes, then the marker on its own line."""
    tail = marker(order)
    room = PRIVATE_NOTE_MAX - len(tail) - 1
    return f"{note[:room].rstrip()}\n{tail}" if note.strip() else tail


def marked_order_id(doc: dict | None) -> int | None:
    """The Kadouri order a document's marker names, or None."""
    found = _MARKER.findall(str((doc or {}).get("PrivateNote") or ""))
    return int(found[-1]) if found else None


def carries_marker(doc: dict | None, order: Order) -> bool:
    return marked_order_id(doc) == order.pk


def number_fields(order: Order, payload: dict) -> dict:
    """The payload's number and private note for the connected company (mapping.sales_document_payload): in a
    company that numbers its documents, no `DocNumber` (an update keeps QuickBooks' number) and the marker."""
    if not quickbooks_numbers():
        return payload
    payload = {k: v for k, v in payload.items() if k != "DocNumber"}
    payload["PrivateNote"] = with_marker(order, order.notes or "")
    return payload
