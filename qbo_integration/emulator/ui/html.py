"""The UI's page layout and HTML helpers: escaping, money, tables, tabs, the flash message, redirects."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from ..web.responses import Response

ROOT = "/_emulator"
# URL segment -> entity: one tab, one list page and one table each (a new list is added here and in tables.py).
KINDS = {
    "customers": "Customer",
    "items": "Item",
    "invoices": "Invoice",
    "estimates": "Estimate",
    "payments": "Payment",
    "vendors": "Vendor",
    "employees": "Employee",
    "classes": "Class",
    "payment-methods": "PaymentMethod",
    "sales-receipts": "SalesReceipt",
    "credit-memos": "CreditMemo",
    "refund-receipts": "RefundReceipt",
    "bills": "Bill",
    "bill-payments": "BillPayment",
}

STYLE = """
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1f2933}
header{background:#2ca01c;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:20px 24px;max-width:1200px}
nav.tabs a{margin-right:14px;font-weight:600;color:#1d4ed8;text-decoration:none}\
nav.tabs a.active{color:#111;border-bottom:2px solid #2ca01c}
table{border-collapse:collapse;width:100%;background:#fff;margin:12px 0;font-size:.92rem}
th,td{border-bottom:1px solid #e4e7eb;padding:7px 9px;text-align:left;vertical-align:middle}th{background:#eef0f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}form.inline{display:inline-flex;gap:4px;margin:0 4px 0 0}
input[type=text],input[type=number],select{padding:4px 6px;border:1px solid #cbd2d9;border-radius:4px}
button{padding:4px 10px;border-radius:4px;border:1px solid #9aa5b1;background:#fff;cursor:pointer}
button.danger{border-color:#d64545;color:#b42318}button.primary{border-color:#2ca01c;background:#2ca01c;color:#fff}
.flash{padding:8px 12px;border-radius:6px;margin:8px 0}.ok{background:#e3f9e5;color:#05400a}\
.err{background:#ffe3e3;color:#8a041a}
.muted{color:#616e7c}.status{font-weight:600}.card{background:#fff;padding:12px 16px;border-radius:8px;margin:12px 0}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def money(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def active_label(obj: dict) -> str:
    return "Active" if obj.get("Active", True) else "Inactive"


def ref_name(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("name") or ref.get("value") or "")
    return ""


def linked(obj: dict) -> str:
    return ", ".join(f"{link.get('TxnType')} {link.get('TxnId')}" for link in obj.get("LinkedTxn") or [])


def title(kind: str) -> str:
    """A list's heading from its URL segment: "credit-memos" -> "Credit Memos"."""
    return kind.replace("-", " ").title()


def table(name: str, headings: list[str], rows: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headings)
    empty = f'<tr><td colspan="{len(headings)}" class="muted">None yet.</td></tr>'
    return f'<table id="{name}-table"><thead><tr>{head}</tr></thead><tbody>{rows or empty}</tbody></table>'


def tabs(realm: str, current: str | None) -> str:
    links = "".join(
        f'<a href="{ROOT}/company/{esc(realm)}/{kind}" id="tab-{kind}"{" class=active" if kind == current else ""}>'
        f"{title(kind)}</a>"
        for kind in KINDS
    )
    overview = f'<a href="{ROOT}/company/{esc(realm)}/" id="tab-overview"{" class=active" if current is None else ""}>'
    mail = f'<a href="{ROOT}/company/{esc(realm)}/mail" id="tab-mail"{" class=active" if current == "mail" else ""}>'
    return f'<nav class="tabs">{overview}Overview</a>{links}{mail}Sent Mail</a></nav>'


def flash(params: dict[str, str]) -> str:
    if params.get("error"):
        return f'<div class="flash err" id="flash" role="alert">{esc(params["error"])}</div>'
    if params.get("msg"):
        return f'<div class="flash ok" id="flash" role="status">{esc(params["msg"])}</div>'
    return ""


def page(status: int, title: str, body: str) -> Response:
    text = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title><style>{STYLE}\
</style></head>
<body><header><a href="{ROOT}/" id="home">QBO emulator</a>\
<span class="muted" style="color:#e3f9e5">offline QuickBooks Online</span></header>
<main>{body}</main></body></html>"""
    return status, {"Content-Type": "text/html; charset=utf-8"}, text.encode()


def redirect(location: str, **query: str) -> Response:
    target = f"{location}?{urlencode(query)}" if query else location
    return 303, {"Location": target, "Content-Type": "text/plain"}, b""
