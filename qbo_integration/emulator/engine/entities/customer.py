"""Customer (docs/quickbooks/entities.md#customer): names, sub-customers, terms, the opening balance, the derived
Balance, and merges."""

from __future__ import annotations

import copy
from decimal import Decimal

from ..errors import business, invalid_ref
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, fields_of, names, ref_value, to_bool, to_decimal
from .currency import TRANSACTIONS, customer_currency
from .people import NAME_LIMITS, Person
from .sales_tax import customer_tax_fields

LIMITS = {**NAME_LIMITS, "CompanyName": 100, "Notes": 2000}  # docs/quickbooks/entities.md#customer


class Customer(Person):
    name = "Customer"
    limits = LIMITS
    hierarchical = True
    ref_keys = ("CustomerRef",)
    writable = names(
        "Title GivenName MiddleName FamilyName Suffix DisplayName CompanyName "
        "PrintOnCheckName Active PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr "
        "WebAddr BillAddr ShipAddr OtherAddr Notes Taxable Job BillWithParent ParentRef "
        "SalesTermRef PaymentMethodRef CurrencyRef DefaultTaxCodeRef "
        "PreferredDeliveryMethod ResaleNum PrimaryTaxIdentifier SecondaryTaxIdentifier "
        "ARAccountRef TaxExemptionReasonId OpenBalanceDate CustomerTypeRef "
        "BusinessNumber GSTIN GSTRegistrationType"
    )
    read_only = names("FullyQualifiedName Balance BalanceWithJobs Level IsProject")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        self.build_name(books, obj, old)
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        customer_tax_fields(obj, body)
        obj["Job"] = self.check_parent(books, obj, old)
        currency = customer_currency(books, obj, old)  # docs/quickbooks/next.md#multicurrency
        if currency is not None:
            obj["CurrencyRef"] = currency
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = books.resolve_ref(
                "Term", obj["SalesTermRef"], "SalesTermRef", [ref_value(old, "SalesTermRef")]
            )
        if old is None:  # docs/quickbooks/entities.md#customer: Balance is an opening balance, write-on-create
            opening = to_decimal(body.get("Balance"), "Balance") or ZERO
            obj["_opening_balance"] = cents(opening)
        return obj

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        super().render(books, obj, out, balances)
        balance = (balances or customer_balances(books)).get(obj["Id"], ZERO)
        out["Balance"] = out["BalanceWithJobs"] = cents(balance)


def customer_balances(books: Ledger) -> dict[str, Decimal]:
    """Derived on read: opening balance + open invoice balances - unapplied payments - credit memos' remaining
    credit."""
    balances = {c["Id"]: c.get("_opening_balance", ZERO) for c in books.table("Customer").values()}
    for invoice in books.table("Invoice").values():
        customer_id = ref_value(invoice, "CustomerRef") or ""
        balances[customer_id] = balances.get(customer_id, ZERO) + invoice["Balance"]
    for payment in books.table("Payment").values():
        customer_id = ref_value(payment, "CustomerRef") or ""
        balances[customer_id] = balances.get(customer_id, ZERO) - payment["UnappliedAmt"]
    for memo in books.table("CreditMemo").values():  # credit still owed to the customer
        customer_id = ref_value(memo, "CustomerRef") or ""
        balances[customer_id] = balances.get(customer_id, ZERO) - memo["RemainingCredit"]
    return balances


def merge_customers(books: Ledger, from_id: str, into_id: str) -> Obj:
    """Merge ``from_id`` into ``into_id`` (a bookkeeper action): the stored survivor."""
    source, target = books.find("Customer", from_id), books.find("Customer", into_id)
    if source["Id"] == target["Id"]:
        raise business("A customer can't be merged into itself.")
    if source.get("_merged_into"):
        raise business(f"Customer {from_id} has already been merged.")
    if not target["Active"]:
        raise invalid_ref("CustomerRef", into_id)
    target_fields = copy.deepcopy(fields_of(target))
    target_fields["_opening_balance"] = target.get("_opening_balance", ZERO) + source.get("_opening_balance", ZERO)
    books.replace("Customer", target, target_fields, "Merge", deletedId=source["Id"])
    source_fields = copy.deepcopy(fields_of(source))
    source_fields.update(Active=False, _merged_into=target["Id"], _opening_balance=ZERO)
    books.replace("Customer", source, source_fields, operation=None)
    for entity in TRANSACTIONS:
        for obj in books.rows(entity):
            if ref_value(obj, "CustomerRef") == source["Id"]:
                fields = copy.deepcopy(fields_of(obj))
                fields["CustomerRef"] = {"value": target["Id"]}
                books.replace(entity, obj, fields)
    return books.table("Customer")[target["Id"]]
