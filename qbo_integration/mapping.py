"""Pure functions from Kadouri rows to QuickBooks JSON (the spec's "Sync Mapping").

No HTTP and no database writes: every QuickBooks id a payload needs is passed in.
Facts: docs/quickbooks/entities.md (customer, item, invoice, estimate).
Commission stays in Kadouri: it is never sent (the spec says so three times; its one mention of
a commission line is overruled by the issue).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, timedelta
from decimal import Decimal

from accounts.models import Account
from kadouri.text import strip_hidden
from orders.models import Order, OrderLine
from products.models import Product

from .adapt import classes, custom_fields, numbering, stock, tax
from .adapt.currency import customer_currency_code

DISPLAY_NAME_MAX = 500  # docs/quickbooks/entities.md#customer
COMPANY_NAME_MAX = 100  # docs/quickbooks/entities.md#customer
PHONE_MAX = 30  # docs/quickbooks/entities.md#customer
ITEM_NAME_MAX = 100  # docs/quickbooks/entities.md#item
ITEM_DESCRIPTION_MAX = 4000  # docs/quickbooks/entities.md#item
SKU_MAX = 100  # docs/quickbooks/entities.md#item
CUSTOMER_MEMO_MAX = 1000
PRIVATE_NOTE_MAX = 4000
ADDRESS_LINE_MAX = 500
PAYMENT_REF_MAX = 21  # docs/quickbooks/money.md#cash-sales: PaymentRefNum

# Order.Terms → QuickBooks Term name (the names every QuickBooks company starts with, docs/quickbooks/entities.md#term)
# and days.
TERM_NAMES = {
    Order.Terms.DUE_ON_RECEIPT: "Due on receipt",
    Order.Terms.NET_15: "Net 15",
    Order.Terms.NET_30: "Net 30",
    Order.Terms.NET_60: "Net 60",
}
TERM_DAYS = {Order.Terms.DUE_ON_RECEIPT: 0, Order.Terms.NET_15: 15, Order.Terms.NET_30: 30, Order.Terms.NET_60: 60}

# Colon is QuickBooks' hierarchy separator (Parent:Child); tab and newline are refused
# (docs/quickbooks/entities.md#customer, docs/quickbooks/entities.md#item).
_FORBIDDEN = re.compile(r"[:\t\r\n]+")
_SPACES = re.compile(r"\s{2,}")


def number(value: Decimal | int | float) -> int | float:
    """Decimal → JSON number. 2- and 3-decimal values round-trip exactly through float's shortest repr."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def clean_name(text: str, max_length: int) -> str:
    """A name QuickBooks accepts: no colon, tab or newline, single spaces, within the length limit."""
    # strip_hidden: a name stored before the text rule may still hold invisible characters; they never go out.
    text = _SPACES.sub(" ", _FORBIDDEN.sub(" - ", strip_hidden(text or "", keep="\t\r\n"))).strip(" -")
    return text[:max_length].rstrip()


def customer_display_name(account: Account, *, disambiguate: bool = False) -> str:
    """DisplayName is unique across customers, vendors and employees (docs/quickbooks/entities.md#customer). When
    another Kadouri account has the same name, the account code (unique in Kadouri) keeps the two apart."""
    base = clean_name(account.name, DISPLAY_NAME_MAX) or clean_name(account.code, DISPLAY_NAME_MAX)
    # The code for a Kadouri duplicate; the suffix a company rule gave a name a vendor or an employee has in
    # QuickBooks (qbo_integration/adapt/names.py), kept on the account so every push sends the same name.
    suffix = (f" ({clean_name(account.code, 30)})" if disambiguate else "") + account.qbo_name_suffix
    return base[: DISPLAY_NAME_MAX - len(suffix)].rstrip() + suffix if suffix else base


def item_name(product: Product) -> str:
    return clean_name(product.name, ITEM_NAME_MAX)


def _address(account: Account) -> dict:
    fields = {
        "Line1": account.address_line1[:ADDRESS_LINE_MAX],
        "Line2": account.address_line2[:ADDRESS_LINE_MAX],
        "City": account.city,
        "CountrySubDivisionCode": account.region,
        "PostalCode": account.postal_code,
        "Country": account.country,
    }
    return {k: v for k, v in fields.items() if v}


def customer_payload(account: Account, *, display_name: str, currency: str | None = None) -> dict:
    """Account → Customer (create body; add Id/SyncToken/sparse for an update). `currency`: its CurrencyRef in a
    multi-currency company (docs/quickbooks/next.md#multicurrency)."""
    payload: dict = {"DisplayName": display_name, "CompanyName": clean_name(account.name, COMPANY_NAME_MAX)}
    if currency:
        payload["CurrencyRef"] = {"value": currency}
    address = _address(account)
    if address:
        payload["BillAddr"] = address
    # docs/quickbooks/entities.md#customer
    if account.email and "@" in account.email and "." in account.email.split("@")[-1]:
        payload["PrimaryEmailAddr"] = {"Address": account.email}
    if account.phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": account.phone[:PHONE_MAX]}
    payload["Active"] = bool(account.active)
    return payload | tax.customer_tax_fields(account)


def item_payload(product: Product, *, income_account_id: str) -> dict:
    """Product → Service item (docs/quickbooks/entities.md#item: IncomeAccountRef is required for Service), or an
    Inventory item for a product that tracks stock (docs/quickbooks/beyond.md#stock)."""
    payload: dict = {
        "Name": item_name(product),
        "Type": "Service",
        "UnitPrice": number(product.unit_price),
        "IncomeAccountRef": {"value": str(income_account_id)},
        "Active": bool(product.active),
    }
    if product.description:
        payload["Description"] = product.description[:ITEM_DESCRIPTION_MAX]
    if product.sku:
        payload["Sku"] = product.sku[:SKU_MAX]
    inventory = stock.item_stock_fields(product)
    if "QtyOnHand" in inventory:
        inventory["QtyOnHand"] = number(inventory["QtyOnHand"])
    return payload | tax.item_tax_fields(product) | inventory


def fingerprint(payload: dict) -> str:
    """What was last sent: a later push only updates QuickBooks when this changes. An item's starting quantity is
    sent with its create only (docs/quickbooks/beyond.md#stock), so it is no part of what an update would change."""
    content = {k: v for k, v in payload.items() if k not in stock.START_KEYS}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def line_description(line: OrderLine) -> str:
    """Product name with size and grade, e.g. "Gala Apples (88 ct, Fancy)"."""
    return line.description


def line_payload(line: OrderLine, *, item_id: str) -> dict:
    # Amount must equal Qty × UnitPrice rounded to the cent (docs/quickbooks/entities.md#invoice, error 6070);
    # OrderLine.amount is exactly that.
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": number(line.amount),
        "Description": line_description(line),
        "SalesItemLineDetail": {
            "ItemRef": {"value": str(item_id), "name": item_name(line.product)},
            "Qty": number(line.quantity),
            "UnitPrice": number(line.unit_price),
        },
    }


def due_date(order: Order) -> date:
    return order.order_date + timedelta(days=TERM_DAYS.get(order.terms, 0))


def sales_document_payload(
    order: Order,
    *,
    customer_id: str,
    item_ids: dict[int, str],
    term_id: str | None,
    estimate_id: str | None = None,
    currency: dict | None = None,
) -> dict:
    """Order → Invoice or Estimate (same shape, docs/quickbooks/entities.md#estimate). `item_ids` maps product pk → Item
    Id. `estimate_id` links a converted estimate (docs/quickbooks/entities.md#estimate: LinkedTxn on the new
    invoice)."""
    ctx = tax.tax_context()  # what each line carries for the company's sales tax (adapt/tax.py)
    payload: dict = {
        "CustomerRef": {"value": str(customer_id)},
        # The order's number, unless the order follows a document QuickBooks numbered (converted there).
        "DocNumber": order.qbo_doc_number or order.number,
        "TxnDate": order.order_date.isoformat(),
        "DueDate": due_date(order).isoformat(),
        "Line": [
            tax.with_line_tax(line_payload(line, item_id=item_ids[line.product_id]), line.product, ctx)
            for line in order.lines.all()
        ],
        **tax.document_tax_fields(ctx),
    }
    if term_id:
        payload["SalesTermRef"] = {"value": str(term_id)}
    # Notes go both to the customer (memo on the document) and to the private note staff see in QuickBooks.
    payload["CustomerMemo"] = {"value": order.notes[:CUSTOMER_MEMO_MAX]} if order.notes else None
    payload["PrivateNote"] = order.notes[:PRIVATE_NOTE_MAX] if order.notes else None
    if estimate_id:
        payload["LinkedTxn"] = [{"TxnId": str(estimate_id), "TxnType": "Estimate"}]
    payload.update(currency or {})  # CurrencyRef and ExchangeRate (adapt.currency.document_currency)
    payload = numbering.number_fields(order, payload)
    payload = classes.class_fields(order, payload)
    payload = custom_fields.custom_fields(order, payload)  # the account code (and seller), where chosen
    return {k: v for k, v in payload.items() if v is not None}


def cash_sale_payload(payload: dict, *, method_id: str, reference: str, deposit_to: str) -> dict:
    """An order's document payload as a SalesReceipt: paid at once, so no due date and no terms (Invoice-only
    fields QuickBooks refuses on a receipt), and how it was paid (docs/quickbooks/money.md#cash-sales)."""
    receipt = {k: v for k, v in payload.items() if k not in ("DueDate", "SalesTermRef")}
    if deposit_to:
        receipt["DepositToAccountRef"] = {"value": str(deposit_to)}
    return receipt | paid_by_fields(method_id, reference)


def paid_by_fields(method_id: str, reference: str) -> dict:
    """How money changed hands on a sales or refund receipt: its payment method and reference, when given."""
    fields: dict = {}
    if method_id:
        fields["PaymentMethodRef"] = {"value": str(method_id)}
    if reference:
        fields["PaymentRefNum"] = reference[:PAYMENT_REF_MAX]
    return fields


def sales_document_update(payload: dict, target) -> dict:
    """A sparse update that replaces every line (a sent Line array replaces all lines,
    docs/quickbooks/api.md#full-and-sparse-updates) and the header fields, keeping the document's Id and DocNumber.
    Empty notes are cleared explicitly. `target` is a documents.WriteTarget: the order's own document, checked just
    before (never an id on its own)."""
    body = {"Id": target.doc_id, "SyncToken": target.sync_token, "sparse": True, **payload}
    body.setdefault("CustomerMemo", {"value": ""})
    body.setdefault("PrivateNote", "")
    return body


def estimate_reject(target) -> dict:
    """QuickBooks cannot void an estimate: Rejected keeps it on the books, closed."""
    return {"Id": target.doc_id, "SyncToken": target.sync_token, "sparse": True, "TxnStatus": "Rejected"}


def product_fingerprint(product: Product, *, income_account_id: str) -> str:
    """The one definition, shared with the outbound sync (refs.ensure.ensure_refs): the fingerprint of the item
    payload Kadouri would push. "Edited in Kadouri since its last push" = it differs from qbo_fingerprint."""
    return fingerprint(item_payload(product, income_account_id=income_account_id))


def product_edited_since_push(product: Product, *, income_account_id: str) -> bool:
    # No fingerprint stored: the product was linked before fingerprints existed; QuickBooks wins.
    return bool(product.qbo_fingerprint) and product.qbo_fingerprint != product_fingerprint(
        product, income_account_id=income_account_id
    )


def customer_fingerprint(account: Account) -> str:
    """The fingerprint of the customer payload Kadouri would push now; ensure_refs pushes when it differs from
    the stored qbo_fingerprint (the inbound handler stores it after following a rename in QuickBooks)."""
    names = customer_display_names([account])
    return fingerprint(
        customer_payload(account, display_name=names[account.pk], currency=customer_currency_code(account))
    )


def customer_display_names(accounts: list[Account]) -> dict[int, str]:
    names = {}
    for account in accounts:
        clash = Account.objects.filter(name__iexact=account.name).exclude(pk=account.pk).exists()
        names[account.pk] = customer_display_name(account, disambiguate=clash)
    return names


# --- money after the invoice (docs/quickbooks/money.md#credits) -------------------------------------------------


def credit_line_payload(line: dict, *, item_id: str, product: Product, ctx: tax.TaxContext) -> dict:
    """One line of a credit memo: part of an order line (Qty × UnitPrice) or an amount on the line's item."""
    detail: dict = {"ItemRef": {"value": str(item_id), "name": item_name(product)}}
    if line.get("quantity"):
        detail |= {"Qty": number(Decimal(line["quantity"])), "UnitPrice": number(Decimal(line["unitPrice"]))}
    payload = {
        "DetailType": "SalesItemLineDetail",
        "Amount": number(Decimal(line["amount"])),
        "Description": str(line.get("description", ""))[:ITEM_DESCRIPTION_MAX],
        "SalesItemLineDetail": detail,
    }
    return tax.with_line_tax(payload, product, ctx)


def credit_memo_payload(
    order: Order,
    *,
    customer_id: str,
    lines: list[tuple[dict, str, Product]],
    note: str,
    txn_date: date | None,
    currency: dict | None = None,
) -> dict:
    """A credit to the order's buyer, with the invoice's tax code, class and currency rules. `lines` holds each
    credit line (as stored on the QboMoney row) with its item id and product."""
    ctx = tax.tax_context()
    payload: dict = {
        "CustomerRef": {"value": str(customer_id)},
        "Line": [
            credit_line_payload(line, item_id=item_id, product=product, ctx=ctx) for line, item_id, product in lines
        ],
        "PrivateNote": note[:PRIVATE_NOTE_MAX],
        **tax.document_tax_fields(ctx),
        **(currency or {}),
    }
    if txn_date:
        payload["TxnDate"] = txn_date.isoformat()
    return custom_fields.custom_fields(order, classes.class_fields(order, payload))


def credit_apply_payload(*, customer_id: str, invoice: dict, memo_id: str, amount: Decimal, note: str) -> dict:
    """A credit applied to an invoice: a Payment of no money whose two lines link the invoice and the credit memo
    for the same amount (docs/quickbooks/money.md#credits), in the invoice's currency at its rate like any payment
    on it."""
    invoice_id = invoice["Id"]
    currency = {key: invoice[key] for key in ("CurrencyRef", "ExchangeRate") if invoice.get(key)}
    return currency | {
        "CustomerRef": {"value": str(customer_id)},
        "TotalAmt": 0,
        "Line": [
            {"Amount": number(amount), "LinkedTxn": [{"TxnId": str(invoice_id), "TxnType": "Invoice"}]},
            {"Amount": number(amount), "LinkedTxn": [{"TxnId": str(memo_id), "TxnType": "CreditMemo"}]},
        ],
        "PrivateNote": note[:PRIVATE_NOTE_MAX],
    }


def refund_receipt_payload(
    *,
    customer_id: str,
    memo: dict,
    amount: Decimal,
    account_id: str,
    method_id: str,
    reference: str,
    txn_date: date | None,
    note: str,
) -> dict:
    """Money given back for a credit: one line on the credit's first item, from a bank account, linked to the
    credit memo whose RemainingCredit it consumes (docs/quickbooks/money.md#refunds: an assumption)."""
    first = next((ln for ln in memo.get("Line", []) if ln.get("DetailType") == "SalesItemLineDetail"), {})
    detail = first.get("SalesItemLineDetail") or {}
    line_detail = {"ItemRef": detail.get("ItemRef"), "Qty": 1, "UnitPrice": number(amount)}
    if detail.get("TaxCodeRef"):
        line_detail["TaxCodeRef"] = detail["TaxCodeRef"]
    payload: dict = {
        "CustomerRef": {"value": str(customer_id)},
        "DepositToAccountRef": {"value": str(account_id)},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": number(amount),
                "Description": f"Refund of credit memo #{memo.get('DocNumber') or memo.get('Id')}",
                "SalesItemLineDetail": {k: v for k, v in line_detail.items() if v is not None},
            }
        ],
        "LinkedTxn": [{"TxnType": "CreditMemo", "TxnId": str(memo["Id"])}],
        "PrivateNote": note[:PRIVATE_NOTE_MAX],
    }
    for key in ("CurrencyRef", "ExchangeRate", "GlobalTaxCalculation", "ClassRef"):
        if memo.get(key) is not None:
            payload[key] = memo[key]
    if txn_date:
        payload["TxnDate"] = txn_date.isoformat()
    return payload | paid_by_fields(method_id, reference)
