"""The UI's forms: each POST runs one bookkeeper action through ``EmulatorCore`` (so it emits webhooks and is
saved as an API change is) and redirects back (303) with a flash message, or the QBO fault it met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import EmulatorCore
from ..engine.errors import QboFault
from ..web.responses import Response
from .html import KINDS, ROOT, page, redirect


def post(emu: EmulatorCore, parts: list[str], form: dict[str, str]) -> Response:
    if parts == ["clock", "advance"]:
        emu.advance(float(form.get("seconds") or 0))
        return redirect(f"{ROOT}/", msg="Clock advanced")
    if parts == ["webhooks", "flush"]:
        attempts = emu.flush_webhooks()
        return redirect(f"{ROOT}/", msg=f"Webhooks flushed ({len(attempts)} attempts)")
    if len(parts) < 4 or parts[0] != "company" or parts[1] not in emu.api.companies or parts[2] not in KINDS:
        return page(404, "Not found", "<p>No such action.</p>")
    realm, kind, rest = parts[1], parts[2], parts[3:]
    back = f"{ROOT}/company/{realm}/{kind}"
    try:
        message = _run_action(emu, realm, kind, rest, form)
    except QboFault as fault:
        error = fault.body(emu.now())["Fault"]["Error"][0]
        return redirect(back, error=f"{error.get('Message')} ({error.get('code')}): {error.get('Detail', '')}")
    except (ValueError, KeyError) as exc:
        return redirect(back, error=str(exc))
    if message is None:
        return page(404, "Not found", "<p>No such action.</p>")
    return redirect(back, msg=message)


def _run_action(emu: EmulatorCore, realm: str, kind: str, rest: list[str], form: dict[str, str]) -> str | None:
    if kind == "customers" and rest == ["merge"]:
        if form["from_id"] == form["into_id"]:
            raise ValueError("Choose two different customers to merge")
        emu.merge_customers(realm, form["from_id"], form["into_id"])
        return f"Customer {form['from_id']} merged into {form['into_id']}"
    if len(rest) != 2:
        return None
    entity_id, verb = rest
    actions: dict[tuple[str, str], Callable[[], Any]] = {
        ("invoices", "pay"): lambda: emu.record_payment(realm, entity_id, _amount(form.get("amount", ""))),
        ("invoices", "void"): lambda: emu.void_invoice(realm, entity_id),
        ("invoices", "delete"): lambda: emu.delete_invoice(realm, entity_id),
        ("payments", "delete"): lambda: emu.delete_payment(realm, entity_id),
        ("payments", "void"): lambda: emu.void_payment(realm, entity_id),
        ("customers", "rename"): lambda: emu.rename_customer(realm, entity_id, form["display_name"].strip()),
        ("items", "active"): lambda: emu.set_item_active(realm, entity_id, _checked(form.get("active", "false"))),
        ("items", "quantity"): lambda: emu.adjust_quantity(realm, entity_id, form.get("quantity", "").strip()),
        ("sales-receipts", "void"): lambda: emu.void_sales_receipt(realm, entity_id),
        ("credit-memos", "apply"): lambda: emu.apply_credit_memo(realm, entity_id, form["invoice_id"].strip()),
        ("credit-memos", "refund"): lambda: emu.refund_credit_memo(realm, entity_id),
        ("credit-memos", "delete"): lambda: emu.delete_credit_memo(realm, entity_id),
        ("refund-receipts", "delete"): lambda: emu.delete_refund_receipt(realm, entity_id),
        ("bills", "pay"): lambda: emu.pay_bill(realm, entity_id, _amount(form.get("amount", ""))),
        ("bills", "delete"): lambda: emu.delete_bill(realm, entity_id),
        ("bill-payments", "void"): lambda: emu.void_bill_payment(realm, entity_id),
        ("bill-payments", "delete"): lambda: emu.delete_bill_payment(realm, entity_id),
    }
    run = actions.get((kind, verb))
    if run is None:
        return None
    run()
    messages = {
        "pay": f"Bill {entity_id} paid" if kind == "bills" else f"Payment recorded against invoice {entity_id}",
        "void": f"{KINDS[kind]} {entity_id} voided",
        "delete": f"{KINDS[kind]} {entity_id} deleted",
        "rename": f"Customer {entity_id} renamed",
        "active": f"Item {entity_id} updated",
        "quantity": f"Item {entity_id}: quantity on hand adjusted",
        "apply": f"Credit memo {entity_id} applied to invoice {form.get('invoice_id', '').strip()}",
        "refund": f"Credit memo {entity_id} refunded",
    }
    return messages[verb]


def _checked(value: str) -> bool:
    return value.lower() == "true"


def _amount(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    amount = float(value)
    if amount <= 0:
        raise ValueError("The payment amount must be positive")
    return amount
