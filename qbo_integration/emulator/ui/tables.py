"""One table per list page (customers, items, invoices, estimates, payments, vendors, employees, classes; the money
documents' tables are in ``money_tables.py``), with each row's action forms.

Element ids and button labels are stable for browser tests. A new list: a renderer here, registered in
``TABLES``, and its URL segment in ``html.KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .bill_tables import bill_payments_table, bills_table
from .html import ROOT, active_label, esc, linked, money, ref_name, table
from .money_tables import credit_memos_table, payment_methods_table, refund_receipts_table, sales_receipts_table


def customers_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/customers"
    options = "".join(
        f'<option value="{esc(c["Id"])}">{esc(c.get("DisplayName"))} (#{esc(c["Id"])})</option>'
        for c in records
        if c.get("Active", True)
    )
    merge = f"""<form method="post" action="{base}/merge" id="merge-form" class="card">
<label for="merge-from">Merge customer</label> <select id="merge-from" name="from_id">{options}</select>
<label for="merge-into">into</label> <select id="merge-into" name="into_id">{options}</select>
<button type="submit" id="merge-customers">Merge customers</button></form>"""
    rows = "".join(
        f"""<tr id="customer-{esc(c["Id"])}"><td>{esc(c["Id"])}</td><td class="name">{esc(c.get("DisplayName"))}</td>
<td>{esc(active_label(c))}</td><td class="num">{money(c.get("Balance"))}</td><td>{esc(c.get("SyncToken"))}</td>
<td><form method="post" action="{base}/{esc(c["Id"])}/rename" class="inline" id="rename-form-{esc(c["Id"])}">
<label for="rename-{esc(c["Id"])}" class="muted">New name</label>
<input type="text" id="rename-{esc(c["Id"])}" name="display_name" value="{esc(c.get("DisplayName"))}">
<button type="submit" id="rename-button-{esc(c["Id"])}">Rename</button></form></td></tr>"""
        for c in records
    )
    return merge + table("customers", ["Id", "Display name", "Status", "Balance", "SyncToken", "Actions"], rows)


def items_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/items"

    def action(item: dict) -> str:
        active = item.get("Active", True)
        if active:
            label, value, button_id = "Make inactive", "false", "deactivate"
        else:
            label, value, button_id = "Make active", "true", "activate"
        return (
            f'<form method="post" action="{base}/{esc(item["Id"])}/active" class="inline">'
            f'<input type="hidden" name="active" value="{value}">'
            f'<button type="submit" id="{button_id}-{esc(item["Id"])}">{label}</button></form>'
        )

    rows = "".join(
        f"""<tr id="item-{esc(i["Id"])}"><td>{esc(i["Id"])}</td><td class="name">{esc(i.get("Name"))}</td>\
<td>{esc(i.get("Type"))}</td>
<td class="num">{money(i.get("UnitPrice"))}</td><td class="num" id="qty-on-hand-{esc(i["Id"])}">\
{esc(i.get("QtyOnHand", "")) if i.get("TrackQtyOnHand") else "—"}</td>
<td>{esc(active_label(i))}</td><td>{action(i)}{adjust_quantity_form(base, i)}</td></tr>"""
        for i in records
    )
    return table("items", ["Id", "Name", "Type", "Unit price", "Qty on hand", "Status", "Actions"], rows)


def adjust_quantity_form(base: str, item: dict) -> str:
    """A bookkeeper's quantity adjustment, for an Inventory item (docs/quickbooks/beyond.md#stock)."""
    if not item.get("TrackQtyOnHand"):
        return ""
    item_id = esc(item["Id"])
    return (
        f'<form method="post" action="{base}/{item_id}/quantity" class="inline" id="adjust-form-{item_id}">'
        f'<label for="qty-{item_id}" class="muted">Quantity on hand</label>'
        f'<input type="number" step="any" id="qty-{item_id}" name="quantity" value="{esc(item.get("QtyOnHand"))}">'
        f'<button type="submit" id="adjust-qty-{item_id}">Adjust quantity</button></form>'
    )


def invoices_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/invoices"

    def actions(inv: dict) -> str:
        iid = esc(inv["Id"])
        status = invoice_status(inv)
        pay = ""
        if status in ("Open", "Partially paid"):
            pay = (
                f'<form method="post" action="{base}/{iid}/pay" class="inline" id="pay-form-{iid}">'
                f'<label for="payment-amount-{iid}" class="muted">Amount</label>'
                f'<input type="number" step="0.01" min="0" id="payment-amount-{iid}" name="amount" '
                f'placeholder="{money(inv.get("Balance"))}">'
                f'<button type="submit" class="primary" id="record-payment-{iid}">Record payment</button></form>'
            )
        void = (
            ""
            if status == "Voided"
            else (
                f'<form method="post" action="{base}/{iid}/void" class="inline">'
                f'<button type="submit" class="danger" id="void-invoice-{iid}">Void</button></form>'
            )
        )
        delete = (
            f'<form method="post" action="{base}/{iid}/delete" class="inline">'
            f'<button type="submit" class="danger" id="delete-invoice-{iid}">Delete invoice</button></form>'
        )
        return pay + void + delete

    rows = "".join(
        f"""<tr id="invoice-{esc(inv["Id"])}"><td>{esc(inv["Id"])}</td>\
<td class="docnumber">{esc(inv.get("DocNumber"))}</td>
<td>{esc(ref_name(inv.get("CustomerRef")))}</td><td>{esc(inv.get("TxnDate"))}</td><td>{esc(inv.get("DueDate"))}</td>
<td class="num total">{money(inv.get("TotalAmt"))}</td><td class="num balance">{money(inv.get("Balance"))}</td>
<td class="status">{esc(invoice_status(inv))}</td><td>{actions(inv)}</td></tr>"""
        for inv in records
    )
    headings = ["Id", "Number", "Customer", "Date", "Due", "Total", "Balance", "Status", "Actions"]
    return table("invoices", headings, rows)


def estimates_table(realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="estimate-{esc(est["Id"])}"><td>{esc(est["Id"])}</td>\
<td class="docnumber">{esc(est.get("DocNumber"))}</td>
<td>{esc(ref_name(est.get("CustomerRef")))}</td><td>{esc(est.get("TxnDate"))}</td>\
<td class="num total">{money(est.get("TotalAmt"))}</td>
<td class="status">{esc(est.get("TxnStatus", "Pending"))}</td><td>{esc(linked(est))}</td></tr>"""
        for est in records
    )
    return table("estimates", ["Id", "Number", "Customer", "Date", "Total", "Status", "Linked"], rows)


def payments_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/payments"

    def actions(pay: dict) -> str:
        pid = esc(pay["Id"])
        void = (
            ""
            if str(pay.get("PrivateNote") or "").startswith("Voided")
            else (
                f'<form method="post" action="{base}/{pid}/void" class="inline">'
                f'<button type="submit" class="danger" id="void-payment-{pid}">Void payment</button></form>'
            )
        )
        return void + (
            f'<form method="post" action="{base}/{pid}/delete" class="inline">'
            f'<button type="submit" class="danger" id="delete-payment-{pid}">Delete payment</button></form>'
        )

    rows = "".join(
        f"""<tr id="payment-{esc(pay["Id"])}"><td>{esc(pay["Id"])}</td><td>{esc(ref_name(pay.get("CustomerRef")))}</td>
<td>{esc(pay.get("TxnDate"))}</td><td class="num total">{money(pay.get("TotalAmt"))}</td>\
<td class="num">{money(pay.get("UnappliedAmt"))}</td>
<td>{esc(_applied_to(pay))}</td><td>{esc(pay.get("PrivateNote"))}</td><td>{actions(pay)}</td></tr>"""
        for pay in records
    )
    headings = ["Id", "Customer", "Date", "Amount", "Unapplied", "Invoices", "Note", "Actions"]
    return table("payments", headings, rows)


def vendors_table(realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="vendor-{esc(v["Id"])}"><td>{esc(v["Id"])}</td><td class="name">{esc(v.get("DisplayName"))}</td>
<td>{esc(v.get("CompanyName"))}</td><td>{esc((v.get("PrimaryEmailAddr") or {}).get("Address"))}</td>
<td>{esc(active_label(v))}</td><td>{esc(v.get("SyncToken"))}</td></tr>"""
        for v in records
    )
    return table("vendors", ["Id", "Display name", "Company", "E-mail", "Status", "SyncToken"], rows)


def employees_table(realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="employee-{esc(e["Id"])}"><td>{esc(e["Id"])}</td><td class="name">{esc(e.get("DisplayName"))}</td>
<td>{esc(e.get("GivenName"))}</td><td>{esc(e.get("FamilyName"))}</td>
<td>{esc(active_label(e))}</td><td>{esc(e.get("SyncToken"))}</td></tr>"""
        for e in records
    )
    return table("employees", ["Id", "Display name", "Given name", "Family name", "Status", "SyncToken"], rows)


def classes_table(realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="class-{esc(c["Id"])}"><td>{esc(c["Id"])}</td><td class="name">{esc(c.get("Name"))}</td>
<td>{esc(c.get("FullyQualifiedName"))}</td><td>{esc(active_label(c))}</td><td>{esc(c.get("SyncToken"))}</td></tr>"""
        for c in records
    )
    return table("classes", ["Id", "Name", "Full name", "Status", "SyncToken"], rows)


TABLES: dict[str, Callable[[str, list[dict]], str]] = {
    "customers": customers_table,
    "items": items_table,
    "invoices": invoices_table,
    "estimates": estimates_table,
    "payments": payments_table,
    "vendors": vendors_table,
    "employees": employees_table,
    "classes": classes_table,
    "payment-methods": payment_methods_table,
    "sales-receipts": sales_receipts_table,
    "credit-memos": credit_memos_table,
    "refund-receipts": refund_receipts_table,
    "bills": bills_table,
    "bill-payments": bill_payments_table,
}


def invoice_status(inv: dict) -> str:
    total, balance = float(inv.get("TotalAmt") or 0), float(inv.get("Balance") or 0)
    if str(inv.get("PrivateNote") or "").startswith("Voided") and total == 0:
        return "Voided"
    if balance <= 0 and total > 0:
        return "Paid"
    if 0 < balance < total:
        return "Partially paid"
    return "Open"


def _applied_to(pay: dict[str, Any]) -> str:
    links = [
        f"{link.get('TxnType')} {link.get('TxnId')}: {money(line.get('Amount'))}"
        for line in pay.get("Line") or []
        for link in line.get("LinkedTxn") or []
    ]
    return ", ".join(links)
