"""The tables of what the company owes — bills and bill payments — with each row's action forms (the bookkeeper
actions of ``engine/bill_actions.py``).

Element ids and button labels are stable for browser tests.
"""

from __future__ import annotations

from .html import ROOT, esc, linked, money, ref_name, table


def bill_status(bill: dict) -> str:
    total, balance = float(bill.get("TotalAmt") or 0), float(bill.get("Balance") or 0)
    if balance <= 0 and total > 0:
        return "Paid"
    if 0 < balance < total:
        return "Partially paid"
    return "Open"


def bills_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/bills"

    def actions(bill: dict) -> str:
        bid = esc(bill["Id"])
        pay = ""
        if bill_status(bill) != "Paid":
            pay = (
                f'<form method="post" action="{base}/{bid}/pay" class="inline" id="pay-bill-form-{bid}">'
                f'<label for="bill-amount-{bid}" class="muted">Amount</label>'
                f'<input type="number" step="0.01" min="0" id="bill-amount-{bid}" name="amount" '
                f'placeholder="{money(bill.get("Balance"))}">'
                f'<button type="submit" class="primary" id="pay-bill-{bid}">Pay bill</button></form>'
            )
        return pay + (
            f'<form method="post" action="{base}/{bid}/delete" class="inline">'
            f'<button type="submit" class="danger" id="delete-bill-{bid}">Delete bill</button></form>'
        )

    rows = "".join(
        f"""<tr id="bill-{esc(b["Id"])}"><td>{esc(b["Id"])}</td><td class="docnumber">{esc(b.get("DocNumber"))}</td>
<td>{esc(ref_name(b.get("VendorRef")))}</td><td>{esc(b.get("TxnDate"))}</td><td>{esc(b.get("DueDate"))}</td>
<td class="num total">{money(b.get("TotalAmt"))}</td><td class="num balance">{money(b.get("Balance"))}</td>
<td class="status">{esc(bill_status(b))}</td><td>{esc(linked(b))}</td><td>{esc(b.get("PrivateNote"))}</td>
<td>{actions(b)}</td></tr>"""
        for b in records
    )
    headings = ["Id", "Number", "Vendor", "Date", "Due", "Total", "Balance", "Status", "Paid by", "Memo", "Actions"]
    return table("bills", headings, rows)


def bill_payments_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/bill-payments"

    def actions(payment: dict) -> str:
        pid = esc(payment["Id"])
        void = (
            ""
            if str(payment.get("PrivateNote") or "").startswith("Voided")
            else (
                f'<form method="post" action="{base}/{pid}/void" class="inline">'
                f'<button type="submit" class="danger" id="void-bill-payment-{pid}">Void</button></form>'
            )
        )
        return void + (
            f'<form method="post" action="{base}/{pid}/delete" class="inline">'
            f'<button type="submit" class="danger" id="delete-bill-payment-{pid}">Delete</button></form>'
        )

    rows = "".join(
        f"""<tr id="bill-payment-{esc(p["Id"])}"><td>{esc(p["Id"])}</td><td>{esc(ref_name(p.get("VendorRef")))}</td>
<td>{esc(p.get("PayType"))}</td><td>{esc(p.get("TxnDate"))}</td><td class="num total">{money(p.get("TotalAmt"))}</td>
<td>{esc(_bills_paid(p))}</td><td>{esc(p.get("PrivateNote"))}</td><td>{actions(p)}</td></tr>"""
        for p in records
    )
    headings = ["Id", "Vendor", "Paid by", "Date", "Amount", "Bills", "Note", "Actions"]
    return table("bill-payments", headings, rows)


def _bills_paid(payment: dict) -> str:
    return ", ".join(
        f"Bill {link.get('TxnId')}: {money(line.get('Amount'))}"
        for line in payment.get("Line") or []
        for link in line.get("LinkedTxn") or []
    )
