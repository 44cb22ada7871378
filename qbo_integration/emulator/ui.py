"""The human UI at ``/_emulator/``: server-rendered HTML, forms POST then redirect (PRG).

Bookkeeper actions call the AccountingApi action methods through ``Emulator.action`` so they emit
webhooks exactly as API changes do. Element ids and button labels are stable for browser tests.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, urlencode

from .engine.errors import QboFault
from .faults import Response

if TYPE_CHECKING:
    from .server import Emulator

KINDS = {
    "customers": "Customer",
    "items": "Item",
    "invoices": "Invoice",
    "estimates": "Estimate",
    "payments": "Payment",
}
ROOT = "/_emulator"

STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1f2933}
header{background:#2ca01c;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:20px 24px;max-width:1200px}
nav.tabs a{margin-right:14px;font-weight:600;color:#1d4ed8;text-decoration:none}nav.tabs a.active{color:#111;border-bottom:2px solid #2ca01c}
table{border-collapse:collapse;width:100%;background:#fff;margin:12px 0;font-size:.92rem}
th,td{border-bottom:1px solid #e4e7eb;padding:7px 9px;text-align:left;vertical-align:middle}th{background:#eef0f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}form.inline{display:inline-flex;gap:4px;margin:0 4px 0 0}
input[type=text],input[type=number],select{padding:4px 6px;border:1px solid #cbd2d9;border-radius:4px}
button{padding:4px 10px;border-radius:4px;border:1px solid #9aa5b1;background:#fff;cursor:pointer}
button.danger{border-color:#d64545;color:#b42318}button.primary{border-color:#2ca01c;background:#2ca01c;color:#fff}
.flash{padding:8px 12px;border-radius:6px;margin:8px 0}.ok{background:#e3f9e5;color:#05400a}.err{background:#ffe3e3;color:#8a041a}
.muted{color:#616e7c}.status{font-weight:600}.card{background:#fff;padding:12px 16px;border-radius:8px;margin:12px 0}
"""


def render(emu: "Emulator", method: str, path: str, params: dict[str, str], body: bytes) -> Response:
    parts = [part for part in path[len(ROOT):].split("/") if part]
    if method == "POST":
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return _post(emu, parts, form)
    if method not in ("GET", "HEAD"):
        return _page(405, "Method not allowed", "<p>Use GET or POST.</p>")
    if not parts:
        return _index(emu, params)
    if parts[0] == "company" and len(parts) >= 2 and parts[1] in emu.api.companies:
        realm = parts[1]
        if len(parts) == 2:
            return _company(emu, realm, params)
        if len(parts) == 3 and parts[2] in KINDS:
            return _list(emu, realm, parts[2], params)
    return _page(404, "Not found", f"<p>No page at {html.escape(path)}.</p>")


# ---- GET pages -----------------------------------------------------------------------------

def _index(emu: "Emulator", params: dict[str, str]) -> Response:
    rows = "".join(
        f'<tr id="company-{_e(c["realm_id"])}"><td>{_e(c["realm_id"])}</td>'
        f'<td><a href="{ROOT}/company/{_e(c["realm_id"])}/">{_e(c["name"])}</a></td>'
        + "".join(f'<td><a href="{ROOT}/company/{_e(c["realm_id"])}/{kind}">{kind.title()}</a></td>' for kind in KINDS)
        + "</tr>"
        for c in emu.companies()
    )
    hook = emu.webhooks.config
    pending = len(emu.webhooks.pending_events())
    body = f"""{_flash(params)}
<h1>Companies</h1>
<table id="companies"><thead><tr><th>Realm ID</th><th>Company</th><th colspan="5">Browse</th></tr></thead><tbody>{rows}</tbody></table>
<div class="card"><h2>Clock</h2><p>Emulator time: <strong id="clock-now">{_e(emu.now().isoformat(timespec="seconds"))}</strong>
(offset {emu.clock.offset_seconds:.0f} s)</p>
<form method="post" action="{ROOT}/clock/advance" class="inline"><label for="advance-seconds">Advance seconds</label>
<input type="number" id="advance-seconds" name="seconds" value="3600" step="1"><button type="submit" id="advance-clock">Advance clock</button></form></div>
<div class="card"><h2>Webhooks</h2><p>Target: <code id="webhook-url">{_e(hook.url or "(none)")}</code>, format <code>{_e(hook.format)}</code>,
pending events: <strong id="webhook-pending">{pending}</strong>, attempts so far: {len(emu.webhooks.history)}</p>
<form method="post" action="{ROOT}/webhooks/flush" class="inline"><button type="submit" id="flush-webhooks">Flush webhooks</button></form></div>
<p class="muted">JSON control API under <code>{ROOT}/api/</code>; discovery document at
<a href="/.well-known/openid_configuration">/.well-known/openid_configuration</a>.</p>"""
    return _page(200, "QuickBooks Online emulator", body)


def _company(emu: "Emulator", realm: str, params: dict[str, str]) -> Response:
    counts = "".join(
        f'<tr><td><a href="{ROOT}/company/{_e(realm)}/{kind}">{kind.title()}</a></td><td class="num" id="count-{kind}">{len(_records(emu, realm, entity))}</td></tr>'
        for kind, entity in KINDS.items()
    )
    body = f"""{_tabs(realm, None)}{_flash(params)}
<h1>{_e(emu.api.companies[realm].name)} <span class="muted">({_e(realm)})</span></h1>
<table id="summary"><thead><tr><th>List</th><th>Count</th></tr></thead><tbody>{counts}</tbody></table>"""
    return _page(200, emu.api.companies[realm].name, body)


def _list(emu: "Emulator", realm: str, kind: str, params: dict[str, str]) -> Response:
    records = _records(emu, realm, KINDS[kind])
    renderers: dict[str, Callable[["Emulator", str, list[dict]], str]] = {
        "customers": _customers_table,
        "items": _items_table,
        "invoices": _invoices_table,
        "estimates": _estimates_table,
        "payments": _payments_table,
    }
    body = f"""{_tabs(realm, kind)}{_flash(params)}
<h1>{kind.title()} <span class="muted">— {_e(emu.api.companies[realm].name)}</span></h1>
{renderers[kind](emu, realm, records)}"""
    return _page(200, f"{kind.title()} — {emu.api.companies[realm].name}", body)


def _customers_table(emu: "Emulator", realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{_e(realm)}/customers"
    options = "".join(f'<option value="{_e(c["Id"])}">{_e(c.get("DisplayName"))} (#{_e(c["Id"])})</option>' for c in records if c.get("Active", True))
    merge = f"""<form method="post" action="{base}/merge" id="merge-form" class="card">
<label for="merge-from">Merge customer</label> <select id="merge-from" name="from_id">{options}</select>
<label for="merge-into">into</label> <select id="merge-into" name="into_id">{options}</select>
<button type="submit" id="merge-customers">Merge customers</button></form>"""
    rows = "".join(
        f"""<tr id="customer-{_e(c["Id"])}"><td>{_e(c["Id"])}</td><td class="name">{_e(c.get("DisplayName"))}</td>
<td>{_e(_active_label(c))}</td><td class="num">{_money(c.get("Balance"))}</td><td>{_e(c.get("SyncToken"))}</td>
<td><form method="post" action="{base}/{_e(c["Id"])}/rename" class="inline" id="rename-form-{_e(c["Id"])}">
<label for="rename-{_e(c["Id"])}" class="muted">New name</label>
<input type="text" id="rename-{_e(c["Id"])}" name="display_name" value="{_e(c.get("DisplayName"))}">
<button type="submit" id="rename-button-{_e(c["Id"])}">Rename</button></form></td></tr>"""
        for c in records
    )
    return merge + _table("customers", ["Id", "Display name", "Status", "Balance", "SyncToken", "Actions"], rows)


def _items_table(emu: "Emulator", realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{_e(realm)}/items"

    def action(item: dict) -> str:
        active = item.get("Active", True)
        label, value, button_id = ("Make inactive", "false", "deactivate") if active else ("Make active", "true", "activate")
        return (f'<form method="post" action="{base}/{_e(item["Id"])}/active" class="inline">'
                f'<input type="hidden" name="active" value="{value}">'
                f'<button type="submit" id="{button_id}-{_e(item["Id"])}">{label}</button></form>')

    rows = "".join(
        f"""<tr id="item-{_e(i["Id"])}"><td>{_e(i["Id"])}</td><td class="name">{_e(i.get("Name"))}</td><td>{_e(i.get("Type"))}</td>
<td class="num">{_money(i.get("UnitPrice"))}</td><td>{_e(_active_label(i))}</td><td>{action(i)}</td></tr>"""
        for i in records
    )
    return _table("items", ["Id", "Name", "Type", "Unit price", "Status", "Actions"], rows)


def _invoices_table(emu: "Emulator", realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{_e(realm)}/invoices"

    def actions(inv: dict) -> str:
        iid = _e(inv["Id"])
        status = invoice_status(inv)
        pay = ""
        if status in ("Open", "Partially paid"):
            pay = (f'<form method="post" action="{base}/{iid}/pay" class="inline" id="pay-form-{iid}">'
                   f'<label for="payment-amount-{iid}" class="muted">Amount</label>'
                   f'<input type="number" step="0.01" min="0" id="payment-amount-{iid}" name="amount" placeholder="{_money(inv.get("Balance"))}">'
                   f'<button type="submit" class="primary" id="record-payment-{iid}">Record payment</button></form>')
        void = "" if status == "Voided" else (
            f'<form method="post" action="{base}/{iid}/void" class="inline"><button type="submit" class="danger" id="void-invoice-{iid}">Void</button></form>')
        delete = (f'<form method="post" action="{base}/{iid}/delete" class="inline">'
                  f'<button type="submit" class="danger" id="delete-invoice-{iid}">Delete invoice</button></form>')
        return pay + void + delete

    rows = "".join(
        f"""<tr id="invoice-{_e(inv["Id"])}"><td>{_e(inv["Id"])}</td><td class="docnumber">{_e(inv.get("DocNumber"))}</td>
<td>{_e(_ref_name(inv.get("CustomerRef")))}</td><td>{_e(inv.get("TxnDate"))}</td><td>{_e(inv.get("DueDate"))}</td>
<td class="num total">{_money(inv.get("TotalAmt"))}</td><td class="num balance">{_money(inv.get("Balance"))}</td>
<td class="status">{_e(invoice_status(inv))}</td><td>{actions(inv)}</td></tr>"""
        for inv in records
    )
    return _table("invoices", ["Id", "Number", "Customer", "Date", "Due", "Total", "Balance", "Status", "Actions"], rows)


def _estimates_table(emu: "Emulator", realm: str, records: list[dict]) -> str:
    rows = "".join(
        f"""<tr id="estimate-{_e(est["Id"])}"><td>{_e(est["Id"])}</td><td class="docnumber">{_e(est.get("DocNumber"))}</td>
<td>{_e(_ref_name(est.get("CustomerRef")))}</td><td>{_e(est.get("TxnDate"))}</td><td class="num total">{_money(est.get("TotalAmt"))}</td>
<td class="status">{_e(est.get("TxnStatus", "Pending"))}</td><td>{_e(_linked(est))}</td></tr>"""
        for est in records
    )
    return _table("estimates", ["Id", "Number", "Customer", "Date", "Total", "Status", "Linked"], rows)


def _payments_table(emu: "Emulator", realm: str, records: list[dict]) -> str:
    base = f"{ROOT}/company/{_e(realm)}/payments"

    def actions(pay: dict) -> str:
        pid = _e(pay["Id"])
        void = "" if str(pay.get("PrivateNote") or "").startswith("Voided") else (
            f'<form method="post" action="{base}/{pid}/void" class="inline"><button type="submit" class="danger" id="void-payment-{pid}">Void payment</button></form>')
        return void + (f'<form method="post" action="{base}/{pid}/delete" class="inline">'
                       f'<button type="submit" class="danger" id="delete-payment-{pid}">Delete payment</button></form>')

    rows = "".join(
        f"""<tr id="payment-{_e(pay["Id"])}"><td>{_e(pay["Id"])}</td><td>{_e(_ref_name(pay.get("CustomerRef")))}</td>
<td>{_e(pay.get("TxnDate"))}</td><td class="num total">{_money(pay.get("TotalAmt"))}</td><td class="num">{_money(pay.get("UnappliedAmt"))}</td>
<td>{_e(_payment_links(pay))}</td><td>{_e(pay.get("PrivateNote"))}</td><td>{actions(pay)}</td></tr>"""
        for pay in records
    )
    return _table("payments", ["Id", "Customer", "Date", "Amount", "Unapplied", "Invoices", "Note", "Actions"], rows)


# ---- POST actions --------------------------------------------------------------------------

def _post(emu: "Emulator", parts: list[str], form: dict[str, str]) -> Response:
    if parts == ["clock", "advance"]:
        emu.advance(float(form.get("seconds") or 0))
        return _redirect(f"{ROOT}/", msg="Clock advanced")
    if parts == ["webhooks", "flush"]:
        attempts = emu.flush_webhooks()
        return _redirect(f"{ROOT}/", msg=f"Webhooks flushed ({len(attempts)} attempts)")
    if len(parts) < 4 or parts[0] != "company" or parts[1] not in emu.api.companies or parts[2] not in KINDS:
        return _page(404, "Not found", "<p>No such action.</p>")
    realm, kind, rest = parts[1], parts[2], parts[3:]
    back = f"{ROOT}/company/{realm}/{kind}"
    try:
        message = _run_action(emu, realm, kind, rest, form)
    except QboFault as fault:
        error = fault.body(emu.now())["Fault"]["Error"][0]
        return _redirect(back, error=f"{error.get('Message')} ({error.get('code')}): {error.get('Detail', '')}")
    except (ValueError, KeyError) as exc:
        return _redirect(back, error=str(exc))
    if message is None:
        return _page(404, "Not found", "<p>No such action.</p>")
    return _redirect(back, msg=message)


def _run_action(emu: "Emulator", realm: str, kind: str, rest: list[str], form: dict[str, str]) -> str | None:
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
        ("items", "active"): lambda: emu.set_item_active(realm, entity_id, form.get("active", "false").lower() == "true"),
    }
    run = actions.get((kind, verb))
    if run is None:
        return None
    run()
    messages = {
        "pay": f"Payment recorded against invoice {entity_id}",
        "void": f"{KINDS[kind]} {entity_id} voided",
        "delete": f"{KINDS[kind]} {entity_id} deleted",
        "rename": f"Customer {entity_id} renamed",
        "active": f"Item {entity_id} updated",
    }
    return messages[verb]


def _amount(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    amount = float(value)
    if amount <= 0:
        raise ValueError("The payment amount must be positive")
    return amount


# ---- data helpers --------------------------------------------------------------------------

def _records(emu: "Emulator", realm: str, entity: str) -> list[dict]:
    """Live (not deleted) objects of one entity, by numeric Id."""
    dump = emu.dump(realm)
    raw: Any = dump.get(entity)
    if raw is None and isinstance(dump.get("entities"), dict):
        raw = dump["entities"].get(entity)
    if isinstance(raw, dict):
        raw = list(raw.values())
    objects = [obj for obj in (raw or []) if isinstance(obj, dict) and obj.get("status") != "Deleted" and "Id" in obj]
    return sorted(objects, key=lambda obj: (len(str(obj["Id"])), str(obj["Id"])))


def invoice_status(inv: dict) -> str:
    total, balance = float(inv.get("TotalAmt") or 0), float(inv.get("Balance") or 0)
    if str(inv.get("PrivateNote") or "").startswith("Voided") and total == 0:
        return "Voided"
    if balance <= 0 and total > 0:
        return "Paid"
    if 0 < balance < total:
        return "Partially paid"
    return "Open"


def _active_label(obj: dict) -> str:
    return "Active" if obj.get("Active", True) else "Inactive"


def _ref_name(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("name") or ref.get("value") or "")
    return ""


def _linked(obj: dict) -> str:
    return ", ".join(f'{link.get("TxnType")} {link.get("TxnId")}' for link in obj.get("LinkedTxn") or [])


def _payment_links(pay: dict) -> str:
    links = [f'{link.get("TxnType")} {link.get("TxnId")}: {_money(line.get("Amount"))}'
             for line in pay.get("Line") or [] for link in line.get("LinkedTxn") or []]
    return ", ".join(links)


def _money(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# ---- layout --------------------------------------------------------------------------------

def _table(name: str, headings: list[str], rows: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    empty = f'<tr><td colspan="{len(headings)}" class="muted">None yet.</td></tr>'
    return f'<table id="{name}-table"><thead><tr>{head}</tr></thead><tbody>{rows or empty}</tbody></table>'


def _tabs(realm: str, current: str | None) -> str:
    links = "".join(
        f'<a href="{ROOT}/company/{_e(realm)}/{kind}" id="tab-{kind}"{" class=active" if kind == current else ""}>{kind.title()}</a>'
        for kind in KINDS
    )
    return f'<nav class="tabs"><a href="{ROOT}/company/{_e(realm)}/" id="tab-overview"{" class=active" if current is None else ""}>Overview</a>{links}</nav>'


def _flash(params: dict[str, str]) -> str:
    if params.get("error"):
        return f'<div class="flash err" id="flash" role="alert">{_e(params["error"])}</div>'
    if params.get("msg"):
        return f'<div class="flash ok" id="flash" role="status">{_e(params["msg"])}</div>'
    return ""


def _page(status: int, title: str, body: str) -> Response:
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title><style>{STYLE}</style></head>
<body><header><a href="{ROOT}/" id="home">QBO emulator</a><span class="muted" style="color:#e3f9e5">offline QuickBooks Online</span></header>
<main>{body}</main></body></html>"""
    return status, {"Content-Type": "text/html; charset=utf-8"}, text.encode()


def _redirect(location: str, **query: str) -> Response:
    target = f"{location}?{urlencode(query)}" if query else location
    return 303, {"Location": target, "Content-Type": "text/plain"}, b""
