"""Every entity the engine models, one module each, and the registry the generic operations consult.

A new entity: a module here with its ``EntityKind`` (properties, ``build`` and the hooks it needs), one line in
``KINDS`` below, and its name moved from ``catalogue.UNMODELLED`` to ``catalogue.MODELLED``.
"""

from __future__ import annotations

from ..catalogue import MODELLED
from .account import Account
from .base import EntityKind
from .bill import Bill
from .bill_payment import BillPayment
from .company_info import CompanyInfo
from .credit_memo import CreditMemo
from .currency import CompanyCurrency
from .customer import Customer
from .employee import Employee
from .estimate import Estimate
from .invoice import Invoice
from .item import Item
from .klass import Klass
from .payment import Payment
from .payment_method import PaymentMethod
from .preferences import Preferences
from .refund_receipt import RefundReceipt
from .sales_receipt import SalesReceipt
from .tax import TaxCode, TaxRate
from .term import Term
from .vendor import Vendor

KINDS: dict[str, EntityKind] = {
    kind.name: kind
    for kind in (
        Customer(),
        Item(),
        Invoice(),
        Estimate(),
        Payment(),
        Account(),
        Term(),
        CompanyInfo(),
        Vendor(),
        Employee(),
        Klass(),
        Preferences(),
        TaxCode(),
        TaxRate(),
        CompanyCurrency(),
        PaymentMethod(),
        CreditMemo(),
        SalesReceipt(),
        RefundReceipt(),
        Bill(),
        BillPayment(),
    )
}
if tuple(KINDS) != MODELLED:
    raise RuntimeError(f"entities registered {tuple(KINDS)} differ from catalogue.MODELLED {MODELLED}")

# A ref property (CustomerRef, IncomeAccountRef, ...) -> the entity it points at.
REF_TARGETS = {key: kind.name for kind in KINDS.values() for key in kind.ref_keys}

__all__ = ["KINDS", "REF_TARGETS", "EntityKind"]
