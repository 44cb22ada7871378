"""Sales tax, by the connected company's model (its profile's `sales_tax`). Kadouri never computes tax: it says
what QuickBooks needs to compute it, and reads QuickBooks' answer back.

- automated (US Automated Sales Tax, docs/quickbooks/next.md#sales-tax-in-the-us): each line is `TAX` or `NON`
  by the product's `taxable` flag; an exempt buyer is sent `Taxable: false` with its exemption reason.
- global (Canada, United Kingdom, ..., docs/quickbooks/next.md#tax-outside-the-us): each line carries the
  product's tax code, else the Settings default; an order with a line that has neither is refused before
  anything is sent.
- none: nothing is added; payloads are exactly those of the idealised company.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache

from accounts.models import Account
from orders.models import Order, read_cents
from products.models import Product

from ..client.errors import QboError
from ..connection import calls
from ..connection.profile import PROFILE_FIELDS, company_settings, profile_for
from ..models import CompanyProfile
from . import RULES_PLACE

AUTOMATED, GLOBAL = CompanyProfile.SalesTax.AUTOMATED, CompanyProfile.SalesTax.GLOBAL
TAX_CODES_SECONDS = 3600  # the list is read again after an hour, or when the company's profile changes
TAX_CODES_QUERY = "select * from TaxCode where Active = true maxresults 1000"
TAX_RATES_QUERY = "select * from TaxRate maxresults 1000"
UNREAD_SECONDS = 300  # a list QuickBooks could not give is asked for again after 5 minutes, not on every poll
_HAS_PERCENT = re.compile(r"\d\s*%")


@dataclass(frozen=True)
class TaxContext:
    mode: str = CompanyProfile.SalesTax.NONE
    default_code: str = ""
    realm_id: str = ""


def tax_context() -> TaxContext:
    """The connected company's tax model and the Settings default tax code."""
    conn = company_settings()
    if conn is None:
        return TaxContext()
    return TaxContext(profile_for(conn.realm_id).sales_tax, conn.default_tax_code_id, conn.realm_id)


# --- what the payloads carry ------------------------------------------------------------------------------


def line_tax_code(product: Product, ctx: TaxContext) -> str:
    if ctx.mode == AUTOMATED:
        return "TAX" if product.taxable else "NON"
    if ctx.mode == GLOBAL:
        return product.qbo_tax_code_id or ctx.default_code
    return ""


def with_line_tax(line: dict, product: Product, ctx: TaxContext) -> dict:
    """A sales line with its `TaxCodeRef` (in `SalesItemLineDetail`), when the company's model wants one."""
    code = line_tax_code(product, ctx)
    if code:
        line["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code}
    return line


def document_tax_fields(ctx: TaxContext) -> dict:
    # Required outside the US (docs/quickbooks/next.md#tax-outside-the-us); Kadouri's prices exclude tax.
    return {"GlobalTaxCalculation": "TaxExcluded"} if ctx.mode == GLOBAL else {}


def customer_tax_fields(account: Account, ctx: TaxContext | None = None) -> dict:
    ctx = ctx or tax_context()
    if ctx.mode != AUTOMATED:
        return {}
    if account.tax_exempt and account.tax_exemption_reason:
        return {"Taxable": False, "TaxExemptionReasonId": int(account.tax_exemption_reason)}
    return {"Taxable": True}


def item_tax_fields(product: Product, ctx: TaxContext | None = None) -> dict:
    ctx = ctx or tax_context()
    if ctx.mode == AUTOMATED:
        return {"Taxable": bool(product.taxable)}
    if ctx.mode == GLOBAL and product.qbo_tax_code_id:
        return {"SalesTaxCodeRef": {"value": product.qbo_tax_code_id}}
    return {}


# --- the check before anything is sent ---------------------------------------------------------------------


def missing_tax_codes(order: Order, ctx: TaxContext | None = None) -> str:
    """Why the order cannot go to QuickBooks yet (a global company, a line with no tax code and no default);
    "" when it can."""
    ctx = ctx or tax_context()
    if ctx.mode != GLOBAL or ctx.default_code:
        return ""
    names = sorted({line.product.name for line in order.lines.all() if not line.product.qbo_tax_code_id})
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (
        f"Choose a tax code for {listed}, or a default tax code in {RULES_PLACE}: this QuickBooks company needs "
        f"a tax code on every line, so nothing was sent for order {order.number}."
    )


# --- the company's tax codes, for the forms ----------------------------------------------------------------


def company_tax_codes(ctx: TaxContext | None = None) -> tuple[list[tuple[str, str]], str]:
    """The company's active tax codes as (id, label: the name and, when it says more, the description, e.g.
    "HST ON — HST Ontario 13%"), and "" — or an empty list and why it is missing. Read from QuickBooks at most
    once an hour and again after the company's profile is read again, never per page view."""
    ctx = ctx or tax_context()
    if not ctx.realm_id:
        return [], "QuickBooks is not connected, so its tax codes cannot be listed."
    key = _list_key("codes", ctx.realm_id)
    codes = cache.get(key)
    if codes is not None:
        return codes, ""
    try:
        rows = calls.query(TAX_CODES_QUERY, realm_id=ctx.realm_id).get("TaxCode") or []
    except QboError as e:
        return [], f"Kadouri could not read the company's tax codes from QuickBooks just now ({e.message})."
    codes = [(str(r["Id"]), _code_label(r)) for r in rows if not r.get("Hidden")]
    cache.set(key, codes, TAX_CODES_SECONDS)
    return codes, ""


def _list_key(kind: str, realm_id: str) -> str:
    profile = profile_for(realm_id)  # the key changes with the profile's facts, not at every read of them
    facts = ":".join(str(getattr(profile, field)) for field in PROFILE_FIELDS)
    return f"qbo-tax-{kind}-v2:{realm_id}:{facts}"


def _code_label(row: dict) -> str:
    name = str(row.get("Name") or row["Id"])
    description = str(row.get("Description") or "").strip()
    return f"{name} — {description}" if description and description.casefold() != name.casefold() else name


def company_tax_rates(realm_id: str) -> dict[str, str]:
    """Each tax rate's words for people by id: its Description when it has one (e.g. "Standard 20%"), else its
    Name. QuickBooks' tax lines name a rate by id only. Cached like the codes; {} when it cannot be read."""
    key = _list_key("rates", realm_id)
    names = cache.get(key)
    if names is not None:
        return names
    try:
        rows = calls.query(TAX_RATES_QUERY, realm_id=realm_id).get("TaxRate") or []
    except QboError:
        cache.set(key, {}, UNREAD_SECONDS)
        return {}
    names = {str(r["Id"]): str(r.get("Description") or r.get("Name") or "").strip()[:100] for r in rows}
    cache.set(key, names, TAX_CODES_SECONDS)
    return names


def tax_rows(order: Order, ctx: TaxContext | None = None) -> list[dict]:
    """QuickBooks' tax lines on the order, each with the words the order page shows: the rate's name once (its
    percent added only when the name does not already say it), e.g. "Standard 20%", "California sales tax 7.25%"."""
    if not order.qbo_tax_lines:
        return []
    ctx = ctx or tax_context()
    names = company_tax_rates(ctx.realm_id) if ctx.realm_id else {}
    rows = []
    for line in order.qbo_tax_lines:
        rate_id = str(line.get("rate_id") or "")
        label = names.get(rate_id) or str(line.get("name") or "")
        if not label or label == rate_id:
            label = f"Tax rate {rate_id}" if rate_id else "Tax"
        percent = str(line.get("percent") or "")
        if percent and not _HAS_PERCENT.search(label):
            label = f"{label} {percent}%"
        rows.append({"label": label, "base": line.get("base"), "amount": line.get("amount")})
    return rows


# --- QuickBooks' tax, read back -----------------------------------------------------------------------------


def document_tax(doc: dict) -> tuple[Decimal, list[dict]]:
    """QuickBooks' tax on a document: `TxnTaxDetail.TotalTax` (0 when absent) and one entry per tax line — the
    rate's name as QuickBooks names it, its percent, the amount taxed and the tax."""
    detail = doc.get("TxnTaxDetail") or {}
    lines = []
    for tax_line in detail.get("TaxLine") or []:
        info = tax_line.get("TaxLineDetail") or {}
        rate = info.get("TaxRateRef") or {}
        lines.append(
            {
                "rate_id": str(rate.get("value") or ""),
                "name": str(rate.get("name") or rate.get("value") or "Tax")[:100],
                "percent": _percent(info.get("TaxPercent")),
                "base": str(_money(info.get("NetAmountTaxable"))),
                "amount": str(_money(tax_line.get("Amount"))),
            }
        )
    return _money(detail.get("TotalTax")), lines


def _money(value) -> Decimal:
    return read_cents(value) or Decimal("0.00")


def _percent(value) -> str:
    try:
        number = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except ArithmeticError:
        return "0"
    return format(number.normalize(), "f") if number.is_finite() else "0"


def subtotal_in_quickbooks(doc: dict) -> Decimal | None:
    """QuickBooks' total without its tax: what compares with Kadouri's subtotal (like with like)."""
    if doc.get("TotalAmt") in (None, ""):
        return None
    total, (tax, _) = _money(doc.get("TotalAmt")), document_tax(doc)
    if doc.get("GlobalTaxCalculation") == "TaxInclusive":
        return total
    return total - tax


def tax_code_choices(current: str, codes: list[tuple[str, str]], blank: str) -> list[tuple[str, str]]:
    """The choices of a tax-code select: blank, the company's codes, and the stored one if QuickBooks' list (or
    its absence) no longer has it — so a form still saves when the list could not be read."""
    choices = [("", blank), *codes]
    if current and current not in {value for value, _ in choices}:
        choices.append((current, f"Tax code {current} (chosen earlier; not in QuickBooks' list now)"))
    return choices


def tax_form_note(ctx: TaxContext, missing: str = "") -> str:
    """What the product form says about tax, in plain words, for the company's model."""
    if ctx.mode == AUTOMATED:
        return (
            "QuickBooks' Automated Sales Tax computes the tax from the buyer's address; Kadouri only tells it "
            "whether this product is taxable."
        )
    if ctx.mode == GLOBAL:
        return f"{missing} The tax-code list is missing; the product keeps its code." if missing else ""
    return "The connected QuickBooks company does not use sales tax: products carry no tax code."
