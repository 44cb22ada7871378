"""Sales tax on sales forms, by the company's tax model (``preferences.tax_model``):

- ``none``: no tax; a ``TxnTaxDetail`` sent is ignored (docs/quickbooks/next.md#tax-and-currency-preferences).
- ``automated`` (US AST, docs/quickbooks/next.md#sales-tax-in-the-us): lines are ``TAX`` or ``NON`` (absent: the
  item's taxability); an exempt customer pays none; the rate is the ship-to state's (the document's ShipAddr,
  else the customer's ShipAddr or BillAddr, else the company's address); tax is rounded once on the total; a sent
  ``TxnTaxCodeRef`` is replaced, a sent non-zero ``TotalTax`` is honoured.
- ``global`` (docs/quickbooks/next.md#tax-outside-the-us): every sales line needs a ``TaxCodeRef`` (6000
  otherwise); tax per rate of each code, excluded from the line amounts unless ``TaxInclusive``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import business, invalid_ref, invalid_value, too_long
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, ref_value, to_bool, to_decimal
from .preferences import country, tax_model
from .tax import sales_rates

LINE = "SalesItemLineDetail"
CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
# docs/quickbooks/next.md#tax-outside-the-us: Canada's wording; the others are the emulator's (README Decisions)
MISSING_CODE_WORDS = {"CA": "GST/HST", "GB": "VAT", "AU": "GST"}
EXEMPTION_REASONS = range(1, 16)  # docs/quickbooks/next.md#sales-tax-in-the-us
RESALE_NUM_MAX = 16


def apply_sales_tax(books: Ledger, obj: Obj, customer: Obj, body: Obj, old_lines: list[Obj]) -> None:
    """Sets ``TxnTaxDetail`` and adds the tax to ``TotalAmt`` (tax-excluded amounts)."""
    model = tax_model(books)
    if model == "automated":
        detail = _automated(books, obj, customer, body)
    elif model == "global":
        detail = _global(books, obj, old_lines)
    else:
        obj["TxnTaxDetail"] = {"TotalTax": ZERO}
        return
    obj["TxnTaxDetail"] = detail
    if obj.get("GlobalTaxCalculation") != "TaxInclusive":
        obj["TotalAmt"] = cents(obj["TotalAmt"] + detail["TotalTax"])


def _sales_lines(obj: Obj) -> list[Obj]:
    return [line for line in obj["Line"] if line.get("DetailType") == LINE]


def _tax_line(amount: Decimal, rate: Obj, base: Decimal) -> Obj:
    return {
        "Amount": amount,
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"]},
            "PercentBased": True,
            "TaxPercent": Decimal(str(rate["RateValue"])),
            "NetAmountTaxable": base,
        },
    }


# --- US Automated Sales Tax ---------------------------------------------------------------------------------


def customer_exempt(customer: Obj) -> bool:
    return customer.get("Taxable") is False or bool(customer.get("TaxExemptionReasonId"))


def _automated(books: Ledger, obj: Obj, customer: Obj, body: Obj) -> Obj:
    items = books.table("Item")
    base = ZERO
    for line in _sales_lines(obj):
        detail = line[LINE]
        sent = ref_value(detail, "TaxCodeRef")
        if sent is None:  # since August 2018 the item's taxability decides
            item = items.get(ref_value(detail, "ItemRef") or "", {})
            sent = "NON" if item.get("Taxable") is False else "TAX"
        if sent not in ("TAX", "NON"):
            raise invalid_ref("TaxCodeRef", sent)
        detail["TaxCodeRef"] = {"value": sent}
        if sent == "TAX":
            base += Decimal(str(line["Amount"]))
    if customer_exempt(customer):
        base = ZERO
    code, rate = _state_code(books, obj, customer)
    override = _override(body)
    tax = override if override is not None else cents(base * Decimal(str(rate["RateValue"])) / 100)
    return {
        "TxnTaxCodeRef": {"value": code["Id"]},
        "TotalTax": tax,
        "TaxLine": [_tax_line(tax, rate, cents(base))],
    }


def _override(body: Obj) -> Decimal | None:
    """docs/quickbooks/next.md#sales-tax-in-the-us: an explicit TotalTax is honoured; python-quickbooks' default
    zero is not taken for one (README Decisions)."""
    sent = body.get("TxnTaxDetail")
    if not isinstance(sent, dict):
        return None
    total = to_decimal(sent.get("TotalTax"), "TxnTaxDetail.TotalTax")
    if total is None or total == 0:
        return None
    if total < 0:
        raise invalid_value("TxnTaxDetail.TotalTax")
    return cents(total)


def _state_of(address: Any) -> str:
    if not isinstance(address, dict):
        return ""
    return str(address.get("CountrySubDivisionCode") or "").strip().casefold()


def _state_code(books: Ledger, obj: Obj, customer: Obj) -> tuple[Obj, Obj]:
    company = (books.table("CompanyInfo").get("1") or {}).get("CompanyAddr")
    codes = {}
    for code in books.table("TaxCode").values():
        if code.get("_state"):
            codes[code["_state"].casefold()] = codes[code["Name"].casefold()] = code
    for address in (obj.get("ShipAddr"), customer.get("ShipAddr"), customer.get("BillAddr"), company):
        code = codes.get(_state_of(address))
        if code is not None:
            return code, sales_rates(books, code)[0]
    code = codes["ca"]  # a company without a known state: the emulator's own (Mountain View, CA)
    return code, sales_rates(books, code)[0]


# --- the global model (Canada, United Kingdom, ...) ---------------------------------------------------------


def _global(books: Ledger, obj: Obj, old_lines: list[Obj]) -> Obj:
    calculation = obj.get("GlobalTaxCalculation") or "TaxExcluded"
    if calculation not in CALCULATIONS or calculation == "NotApplicable":
        # NotApplicable is for companies without sales tax (README Decisions)
        raise invalid_value("GlobalTaxCalculation")
    obj["GlobalTaxCalculation"] = calculation
    inclusive = calculation == "TaxInclusive"
    keep = {ref_value(line.get(LINE), "TaxCodeRef") for line in old_lines}
    bases: dict[str, Decimal] = {}
    rates: dict[str, Obj] = {}
    for line in _sales_lines(obj):
        detail = line[LINE]
        if ref_value(detail, "TaxCodeRef") is None:
            words = MISSING_CODE_WORDS.get(country(books), "tax")
            raise business(f"Make sure all your transactions have a {words} rate before you save.", "TaxCodeRef")
        detail["TaxCodeRef"] = books.resolve_ref("TaxCode", detail["TaxCodeRef"], "TaxCodeRef", keep)
        code = books.table("TaxCode")[detail["TaxCodeRef"]["value"]]
        for rate in sales_rates(books, code):
            rates[rate["Id"]] = rate
            bases[rate["Id"]] = bases.get(rate["Id"], ZERO) + Decimal(str(line["Amount"]))
    lines = []
    for rate_id, gross in bases.items():
        percent = Decimal(str(rates[rate_id]["RateValue"]))
        if inclusive:  # the line amounts hold the tax: take it out (README Decisions)
            base = cents(gross * 100 / (100 + percent))
            tax = cents(gross - base)
        else:
            base, tax = cents(gross), cents(gross * percent / 100)
        lines.append(_tax_line(tax, rates[rate_id], base))
    return {"TotalTax": cents(sum((line["Amount"] for line in lines), ZERO)), "TaxLine": lines}


# --- customers ------------------------------------------------------------------------------------------------


def customer_tax_fields(obj: Obj, body: Obj) -> None:
    """Taxable, TaxExemptionReasonId (1 to 15) and ResaleNum (at most 16) on a customer
    (docs/quickbooks/next.md#sales-tax-in-the-us). A reason makes the customer not taxable; sending Taxable true
    without a reason clears the one stored."""
    if "Taxable" in obj:
        obj["Taxable"] = to_bool(obj["Taxable"], "Taxable", True)
    reason = obj.get("TaxExemptionReasonId")
    if reason is not None:
        if not str(reason).isdigit() or int(str(reason)) not in EXEMPTION_REASONS:
            raise invalid_value("TaxExemptionReasonId")
        obj["TaxExemptionReasonId"] = int(str(reason))
    if obj.get("Taxable") is True and "TaxExemptionReasonId" not in body:
        obj.pop("TaxExemptionReasonId", None)
    elif obj.get("TaxExemptionReasonId") is not None:
        obj["Taxable"] = False
    resale = obj.get("ResaleNum")
    if resale is not None and len(str(resale)) > RESALE_NUM_MAX:
        raise too_long("ResaleNum", RESALE_NUM_MAX, len(str(resale)))
