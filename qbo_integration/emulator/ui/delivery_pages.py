"""The UI of delivery (engine/delivery.py): a company's sent mail, and the page an invoice's ``InvoiceLink`` opens,
where the buyer pays the open balance online (by card or bank transfer, as the invoice allows)."""

from __future__ import annotations

from ..core import EmulatorCore
from ..engine.errors import QboFault
from ..web.responses import Response
from .html import ROOT, esc, flash, money, page, redirect, ref_name, table, tabs

MAIL_TAB = "mail"
METHODS = {"card": ("AllowOnlineCreditCardPayment", "Pay by card"), "ach": ("AllowOnlineACHPayment", "Pay by bank")}


def mail_page(emu: EmulatorCore, realm: str, params: dict[str, str]) -> Response:
    rows = "".join(
        f"""<tr id="mail-{number}"><td>{esc(mail["time"])}</td><td>{esc(mail["entity"])} {esc(mail["DocNumber"])}\
</td><td>{esc(mail["Id"])}</td><td>{esc(mail["customer"])}</td><td class="to">{esc(mail["to"])}</td></tr>"""
        for number, mail in enumerate(emu.sent_mail(realm), start=1)
    )
    name = emu.api.companies[realm].name
    body = f"""{tabs(realm, MAIL_TAB)}{flash(params)}
<h1>Sent mail <span class="muted">— {esc(name)}</span></h1>
<p class="muted">What <code>/invoice/&lt;id&gt;/send</code> and <code>/estimate/&lt;id&gt;/send</code> mailed, \
oldest first.</p>{table("mail", ["Sent", "Document", "Id", "Customer", "To"], rows)}"""
    return page(200, f"Sent mail — {name}", body)


def _invoice(emu: EmulatorCore, realm: str, invoice_id: str) -> dict | None:
    invoices = emu.dump(realm)["entities"]["Invoice"]
    return next((inv for inv in invoices if str(inv["Id"]) == invoice_id), None)


def pay_page(emu: EmulatorCore, realm: str, invoice_id: str, params: dict[str, str]) -> Response:
    invoice = _invoice(emu, realm, invoice_id) if realm in emu.api.companies else None
    if invoice is None:
        return page(404, "Not found", "<p>This payment link is not valid.</p>")
    balance = float(invoice.get("Balance") or 0)
    buttons = "".join(
        f'<button type="submit" name="method" value="{key}" class="primary" id="pay-{key}">{label}</button> '
        for key, (flag, label) in METHODS.items()
        if invoice.get(flag) is True
    )
    action = (
        f'<form method="post" action="{ROOT}/pay/{esc(realm)}/{esc(invoice_id)}" class="inline">{buttons}</form>'
        if balance > 0 and buttons
        else '<p class="muted" id="nothing-to-pay">Nothing to pay online.</p>'
    )
    body = f"""{flash(params)}<div class="card" id="pay-invoice">
<h1>{esc(emu.api.companies[realm].name)}</h1>
<p>Invoice <strong id="pay-number">{esc(invoice.get("DocNumber"))}</strong> for \
{esc(ref_name(invoice.get("CustomerRef")))}, due {esc(invoice.get("DueDate"))}</p>
<p>Total {money(invoice.get("TotalAmt"))} · Balance due <strong id="pay-balance">{money(balance)}</strong></p>
{action}</div>"""
    return page(200, f"Pay invoice {invoice.get('DocNumber')}", body)


def pay(emu: EmulatorCore, realm: str, invoice_id: str, form: dict[str, str]) -> Response:
    """The buyer pays the whole open balance through the link: a Payment, as QuickBooks records an online one."""
    back = f"{ROOT}/pay/{realm}/{invoice_id}"
    invoice = _invoice(emu, realm, invoice_id) if realm in emu.api.companies else None
    method = METHODS.get(form.get("method", ""))
    if invoice is None or method is None or invoice.get(method[0]) is not True:
        return redirect(back, error="This invoice cannot be paid that way.")
    try:
        emu.record_payment(realm, invoice_id)
    except QboFault as fault:
        return redirect(back, error=fault.errors[0][2])
    return redirect(back, msg="Thank you: the invoice is paid.")
