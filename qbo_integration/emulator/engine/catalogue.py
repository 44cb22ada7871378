"""The names of QBO entities: those the engine models and those it knows of but leaves empty.

``MODELLED`` lists the tables every company keeps, in this order (the state file and the dump follow it); each
has its rules in ``entities/`` and its place in the registry there, which checks that the two lists agree.
"""

from __future__ import annotations

from .values import names

MODELLED = (
    "Customer",
    "Item",
    "Invoice",
    "Estimate",
    "Payment",
    "Account",
    "Term",
    "CompanyInfo",
    "Vendor",
    "Employee",
    "Class",
    "Preferences",
    "TaxCode",
    "TaxRate",
    "CompanyCurrency",
    "PaymentMethod",
    "CreditMemo",
    "SalesReceipt",
    "RefundReceipt",
    "Bill",
    "BillPayment",
)
DOC_NUMBERED = (
    "Invoice",
    "Estimate",
    "CreditMemo",
    "SalesReceipt",
    "RefundReceipt",
)  # entities with an automatic DocNumber sequence
# Modelled but never in CDC (docs/quickbooks/next.md#tax-outside-the-us: TaxCode and TaxRate are not in CDC).
NOT_IN_CDC = ("TaxCode", "TaxRate")

# Real QBO entities this emulator does not model: queries and CDC answer empty.
UNMODELLED = names(
    "Deposit "
    "Purchase PurchaseOrder JournalEntry TimeActivity Department "
    "TaxAgency Transfer VendorCredit Budget Currency "
    "JournalCode Attachable"
)

_KNOWN_BY_FOLDED_NAME = {name.lower(): name for name in (*MODELLED, *UNMODELLED)}


def entity_named(name: str) -> str | None:
    """The entity a client means by ``name`` in any letter case (``customer``, ``CUSTOMER``), modelled or not;
    None when QBO has no such entity. QBO reads entity names case-insensitively wherever a client writes one:
    a query's FROM (node-quickbooks sends ``select * from customer``), CDC's ``entities`` and the resource path.
    Answers always use the proper name (``QueryResponse.Customer``)."""
    return _KNOWN_BY_FOLDED_NAME.get(name.lower()) if name.isascii() else None
