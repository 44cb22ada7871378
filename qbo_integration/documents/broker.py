"""The broker's own document for an order (docs/quickbooks/beyond.md#the-brokers-own-books): which one an order has
(a bill to the seller for its proceeds, or an invoice to the seller for the commission), for how much, what it
sends to QuickBooks, and the marker that finds it again. Pure functions over the rows; no HTTP.

- Which kind: the one the order's document already is; otherwise the company's choice in Settings, so a changed
  choice applies to orders invoiced from then on (and an order keeps its kind when it is updated or voided).
- When: once the order's invoice (or cash sale) is in QuickBooks, until the order is cancelled; in the company's
  home currency only (a seller is one vendor in one currency, while its buyers pay in several).
- The marker: `[kadouri-broker:<order id>]` in the private note, looked up before a retry creates.
"""

from __future__ import annotations

import re
from decimal import Decimal

from accounts.models import Account
from kadouri.display import money as display_money
from orders.models import Order

from ..adapt.currency import buyer_currency, company_profile
from ..mapping import COMPANY_NAME_MAX, DISPLAY_NAME_MAX, PHONE_MAX, clean_name, fingerprint, number
from ..models import BrokerBooks, BrokerDocument, QboConnection

Kind = BrokerDocument.Kind
KIND_OF_MODE = {BrokerBooks.SELLER_BILL: Kind.SELLER_BILL, BrokerBooks.COMMISSION_INVOICE: Kind.COMMISSION_INVOICE}
ENTITY_OF_KIND = {Kind.SELLER_BILL: "Bill", Kind.COMMISSION_INVOICE: "Invoice"}
INVOICED = (Order.DocType.INVOICE, Order.DocType.SALES_RECEIPT)  # a cash sale is invoiced and paid at once
DESCRIPTION_MAX = 4000
DOC_NUMBER_MAX = 21
COMMISSION_SUFFIX = "-C"  # a commission invoice's number: the order's, apart from the buyer's invoice
_MARKER = re.compile(r"\[kadouri-broker:(\d+)\]")
# Intuit's advice on 6240: add the role (docs/quickbooks/next.md#shared-names-and-sub-customers)
VENDOR_ROLE_SUFFIX = " (vendor)"
VENDOR_CODE_SUFFIX_MAX = 30


# --- which document, for how much --------------------------------------------------------------------------------


def live_document(order: Order) -> BrokerDocument | None:
    """The order's broker document: its active one, else the latest (deleted or voided) — None before any."""
    rows = list(order.broker_documents.order_by("-pk"))
    return next((row for row in rows if row.state == BrokerDocument.State.ACTIVE), rows[0] if rows else None)


def order_kind(doc: BrokerDocument | None, conn: QboConnection | None) -> str:
    """The kind the order's broker document is, or would be now ("": commission stays in Kadouri)."""
    if doc is not None and doc.state == BrokerDocument.State.ACTIVE:
        return doc.kind
    return KIND_OF_MODE.get(conn.broker_books, "") if conn is not None else ""


def invoiced(order: Order) -> bool:
    return bool(order.qbo_doc_id) and order.qbo_doc_type in INVOICED


def wanted(order: Order) -> bool:
    """Whether the order's broker document should exist in QuickBooks: its invoice is there and not voided."""
    return invoiced(order) and order.status != Order.Status.CANCELLED


def sync_wanted(order: Order, conn: QboConnection | None) -> bool:
    """Whether a change of the order's QuickBooks document (created, updated, converted, voided) is for its broker
    document to follow: one to create (the company keeps the broker's books and the order is invoiced, in the home
    currency, with something owed), or one that exists (an update or a void follows it)."""
    doc = live_document(order)
    if doc is not None and doc.state == BrokerDocument.State.ACTIVE:
        return True
    kind = order_kind(None, conn)
    return bool(kind) and doc is None and wanted(order) and not currency_problem(order) and owed(order, kind)


def out_of_step(order: Order, conn: QboConnection | None) -> bool:
    """A change QuickBooks made (a webhook, a catch-up) leaves the broker document behind: the order was cancelled
    there while its document is active, or its estimate was converted there and it has none yet."""
    doc = live_document(order)
    if doc is not None and doc.state == BrokerDocument.State.ACTIVE:
        return not wanted(order)
    return doc is None and sync_wanted(order, conn)


def owed(order: Order, kind: str) -> bool:
    return broker_amount(order, kind) > 0


def broker_amount(order: Order, kind: str) -> Decimal:
    """The seller's proceeds (the order's total less the commission), or the commission itself."""
    if kind == Kind.COMMISSION_INVOICE:
        return order.commission_amount
    return order.total - order.commission_amount


def currency_problem(order: Order) -> str:
    """Why the order can have no broker document in QuickBooks: it is in a foreign currency ("" when it can)."""
    profile = company_profile()
    code = order.qbo_currency or buyer_currency(order.buyer, profile)
    if code == profile.home_currency:
        return ""
    return (
        f"Order {order.number} is in {code}: the broker's books in QuickBooks are kept in {profile.home_currency} "
        "only, so no bill or commission invoice is made for it. Record the seller's side in QuickBooks by hand."
    )


def label(kind: str) -> str:
    return "bill" if kind == Kind.SELLER_BILL else "commission invoice"


def described(row: BrokerDocument) -> str:
    """How people name the document: "bill #KD-2026-00042 to Green Valley Farms"."""
    number = f" #{row.doc_number or row.qbo_id}" if row.qbo_id else ""
    return f"{label(row.kind)}{number} to {row.order.seller.name}"


# --- the marker ---------------------------------------------------------------------------------------------------


def broker_marker(order: Order) -> str:
    return f"Kadouri order {order.number} [kadouri-broker:{order.pk}]"


def marked_order_id(doc: dict | None) -> int | None:
    found = _MARKER.findall(str((doc or {}).get("PrivateNote") or ""))
    return int(found[-1]) if found else None


# --- what is sent -------------------------------------------------------------------------------------------------


def vendor_name(account: Account) -> str:
    """The seller's Vendor DisplayName: its name, with the suffix a company rule gave it when a customer or an
    employee has that name in QuickBooks (`Account.qbo_vendor_name_suffix`, kept so every push sends the same)."""
    base = clean_name(account.name, DISPLAY_NAME_MAX) or clean_name(account.code, DISPLAY_NAME_MAX)
    suffix = account.qbo_vendor_name_suffix
    return base[: DISPLAY_NAME_MAX - len(suffix)].rstrip() + suffix if suffix else base


def vendor_suffix(rule_is_code: bool, account: Account) -> str:
    return f" ({clean_name(account.code, VENDOR_CODE_SUFFIX_MAX)})" if rule_is_code else VENDOR_ROLE_SUFFIX


def vendor_payload(account: Account, *, name: str, currency: str | None) -> dict:
    """Account → Vendor (docs/quickbooks/beyond.md#the-brokers-own-books: a DisplayName at least)."""
    payload: dict = {"DisplayName": name, "CompanyName": clean_name(account.name, COMPANY_NAME_MAX)}
    if currency:
        payload["CurrencyRef"] = {"value": currency}
    address = {
        "Line1": account.address_line1,
        "Line2": account.address_line2,
        "City": account.city,
        "CountrySubDivisionCode": account.region,
        "PostalCode": account.postal_code,
        "Country": account.country,
    }
    if any(address.values()):
        payload["BillAddr"] = {k: v for k, v in address.items() if v}
    if account.email and "@" in account.email:
        payload["PrimaryEmailAddr"] = {"Address": account.email}
    if account.phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": account.phone[:PHONE_MAX]}
    return payload


def _what(order: Order, kind: str, amount: Decimal) -> str:
    rate = f"{order.commission_rate.normalize():f}%"
    total, commission = display_money(order.total, order), display_money(order.commission_amount, order)
    if kind == Kind.COMMISSION_INVOICE:
        return f"Commission {rate} on order {order.number} ({order.buyer.name}, {total})"
    return (
        f"Order {order.number} to {order.buyer.name}: {total} less commission {rate} ({commission}) = "
        f"{display_money(amount, order)}"
    )


def bill_payload(order: Order, *, vendor_id: str, account_id: str, term_id: str | None, currency: str | None) -> dict:
    """The seller's bill: its proceeds on one line booked to the chosen expense account, numbered with the order's
    number (a bill's number is the vendor's reference), due by the order's terms, and the marker."""
    amount = broker_amount(order, Kind.SELLER_BILL)
    payload: dict = {
        "VendorRef": {"value": str(vendor_id)},
        "DocNumber": order.number,
        "TxnDate": order.order_date.isoformat(),
        "PrivateNote": broker_marker(order),
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": number(amount),
                "Description": _what(order, Kind.SELLER_BILL, amount)[:DESCRIPTION_MAX],
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": str(account_id)}},
            }
        ],
    }
    if term_id:
        payload["SalesTermRef"] = {"value": str(term_id)}
    if currency:
        payload |= {"CurrencyRef": {"value": currency}, "ExchangeRate": 1}
    return payload


def commission_number(order: Order, *, quickbooks_numbers: bool) -> str | None:
    """The commission invoice's DocNumber: the order's with "-C" (the buyer's invoice has the order's own), none where
    QuickBooks numbers its invoices or the number would be too long (the marker finds it then)."""
    candidate = f"{order.number}{COMMISSION_SUFFIX}"
    return None if quickbooks_numbers or len(candidate) > DOC_NUMBER_MAX else candidate


def commission_payload(
    order: Order,
    *,
    customer_id: str,
    item_id: str,
    term_id: str | None,
    doc_number: str | None,
    tax: tuple[str, dict],
    currency: str | None,
) -> dict:
    """The seller's commission invoice: one line of the commission item; `tax` is the line's tax code ("" for none)
    and the document's tax fields, as the company's sales tax needs them (adapt/tax.py)."""
    amount = broker_amount(order, Kind.COMMISSION_INVOICE)
    detail: dict = {"ItemRef": {"value": str(item_id)}, "Qty": 1, "UnitPrice": number(amount)}
    tax_code, tax_fields = tax
    if tax_code:
        detail["TaxCodeRef"] = {"value": tax_code}
    payload: dict = {
        "CustomerRef": {"value": str(customer_id)},
        "TxnDate": order.order_date.isoformat(),
        "PrivateNote": broker_marker(order),
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": number(amount),
                "Description": _what(order, Kind.COMMISSION_INVOICE, amount)[:DESCRIPTION_MAX],
                "SalesItemLineDetail": detail,
            }
        ],
        **tax_fields,
    }
    if doc_number:
        payload["DocNumber"] = doc_number
    if term_id:
        payload["SalesTermRef"] = {"value": str(term_id)}
    if currency:
        payload |= {"CurrencyRef": {"value": currency}, "ExchangeRate": 1}
    return payload


def payload_fingerprint(payload: dict) -> str:
    return fingerprint(payload)
