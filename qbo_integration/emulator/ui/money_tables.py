"""The tables of the documents that move money — payment methods, sales receipts, credit memos, refund receipts —
with each row's action forms (the bookkeeper actions of ``engine/money_actions.py``).

Element ids and button labels are stable for browser tests.
"""

from __future__ import annotations

from .html import ROOT, active_label, esc, linked, money, ref_name, table


def payment_methods_table(realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="payment-method-{esc(m["Id"])}"><td>{esc(m["Id"])}</td><td class="name">{esc(m.get("Name"))}</td>
<td>{esc(m.get("Type"))}</td><td>{esc(active_label(m))}</td><td>{esc(m.get("SyncToken"))}</td></tr>"""
        for m in records
    )
    return table("payment-methods", ["Id", "Name", "Type", "Status", "SyncToken"], rows)


def sales_receipts_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/sales-receipts"

    def actions(receipt: dict) -> str:
        if voided(receipt):
            return ""
        rid = esc(receipt["Id"])
        return (
            f'<form method="post" action="{base}/{rid}/void" class="inline">'
            f'<button type="submit" class="danger" id="void-sales-receipt-{rid}">Void</button></form>'
        )

    rows = "".join(
        f"""<tr id="sales-receipt-{esc(r["Id"])}"><td>{esc(r["Id"])}</td>\
<td class="docnumber">{esc(r.get("DocNumber"))}</td>
<td>{esc(ref_name(r.get("CustomerRef")))}</td><td>{esc(r.get("TxnDate"))}</td>\
<td class="num total">{money(r.get("TotalAmt"))}</td>
<td>{esc(ref_name(r.get("PaymentMethodRef")))}</td><td>{esc(ref_name(r.get("DepositToAccountRef")))}</td>
<td class="status">{"Voided" if voided(r) else "Paid"}</td><td>{esc(r.get("PrivateNote"))}</td>\
<td>{actions(r)}</td></tr>"""
        for r in records
    )
    headings = ["Id", "Number", "Customer", "Date", "Total", "Method", "Deposited to", "Status", "Note", "Actions"]
    return table("sales-receipts", headings, rows)


def credit_memos_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/credit-memos"

    def actions(memo: dict) -> str:
        mid = esc(memo["Id"])
        use = ""
        if float(memo.get("RemainingCredit") or 0) > 0:
            use = (
                f'<form method="post" action="{base}/{mid}/apply" class="inline" id="apply-form-{mid}">'
                f'<label for="apply-invoice-{mid}" class="muted">Invoice Id</label>'
                f'<input type="text" id="apply-invoice-{mid}" name="invoice_id" size="6">'
                f'<button type="submit" class="primary" id="apply-credit-{mid}">Apply to invoice</button></form>'
                f'<form method="post" action="{base}/{mid}/refund" class="inline">'
                f'<button type="submit" id="refund-credit-{mid}">Refund remaining credit</button></form>'
            )
        return use + (
            f'<form method="post" action="{base}/{mid}/delete" class="inline">'
            f'<button type="submit" class="danger" id="delete-credit-memo-{mid}">Delete credit memo</button></form>'
        )

    rows = "".join(
        f"""<tr id="credit-memo-{esc(m["Id"])}"><td>{esc(m["Id"])}</td>\
<td class="docnumber">{esc(m.get("DocNumber"))}</td>
<td>{esc(ref_name(m.get("CustomerRef")))}</td><td>{esc(m.get("TxnDate"))}</td>\
<td class="num total">{money(m.get("TotalAmt"))}</td>
<td class="num remaining">{money(m.get("RemainingCredit"))}</td><td>{esc(linked(m))}</td><td>{actions(m)}</td></tr>"""
        for m in records
    )
    headings = ["Id", "Number", "Customer", "Date", "Total", "Remaining credit", "Used by", "Actions"]
    return table("credit-memos", headings, rows)


def refund_receipts_table(realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{esc(realm)}/refund-receipts"
    rows = "".join(
        f"""<tr id="refund-receipt-{esc(r["Id"])}"><td>{esc(r["Id"])}</td>\
<td class="docnumber">{esc(r.get("DocNumber"))}</td>
<td>{esc(ref_name(r.get("CustomerRef")))}</td><td>{esc(r.get("TxnDate"))}</td>\
<td class="num total">{money(r.get("TotalAmt"))}</td>
<td>{esc(ref_name(r.get("DepositToAccountRef")))}</td><td>{esc(linked(r))}</td>
<td><form method="post" action="{base}/{esc(r["Id"])}/delete" class="inline"><button type="submit" class="danger" \
id="delete-refund-receipt-{esc(r["Id"])}">Delete refund</button></form></td></tr>"""
        for r in records
    )
    headings = ["Id", "Number", "Customer", "Date", "Total", "Paid from", "Credit memo", "Actions"]
    return table("refund-receipts", headings, rows)


def voided(document: dict) -> bool:
    return str(document.get("PrivateNote") or "").startswith("Voided") and float(document.get("TotalAmt") or 0) == 0
