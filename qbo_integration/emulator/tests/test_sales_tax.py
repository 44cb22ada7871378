"""Sales tax in the engine: TaxCode and TaxRate read-only and seeded per company, US Automated Sales Tax by the
ship-to state, the global model's tax codes (Canada, United Kingdom), and the idealised companies unchanged."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from qbo_integration.emulator import Emulator
from qbo_integration.emulator.engine.seed_tax import US_STATE_RATES

IDEALISED, AST, CANADA, UK = "9130350000000001", "9130350000000003", "9130350000000004", "9130350000000005"


def call(emu: Emulator, realm: str, method: str, path: str, body: dict | None = None, **params) -> tuple[int, dict]:
    return emu.api.handle(realm, method, path, params, json.dumps(body).encode() if body is not None else b"")


def ok(emu: Emulator, realm: str, method: str, path: str, body: dict | None = None, **params) -> dict:
    status, answer = call(emu, realm, method, path, body, **params)
    assert status == 200, answer
    return answer


def query(emu: Emulator, realm: str, text: str) -> list[dict]:
    answer = ok(emu, realm, "GET", "query", query=text)["QueryResponse"]
    return next((v for k, v in answer.items() if isinstance(v, list)), [])


def setup(emu: Emulator, realm: str, customer: dict | None = None, item: dict | None = None) -> tuple[str, str]:
    income = query(emu, realm, "select * from Account where AccountType = 'Income'")[0]["Id"]
    cust = ok(emu, realm, "POST", "customer", {"DisplayName": "Harbor Fresh Market", **(customer or {})})["Customer"]
    body = {"Name": "Gala Apples", "Type": "Service", "IncomeAccountRef": {"value": income}, **(item or {})}
    return cust["Id"], ok(emu, realm, "POST", "item", body)["Item"]["Id"]


def line(item_id: str, amount: str, code: str | None = None) -> dict:
    detail = {"ItemRef": {"value": item_id}}
    if code:
        detail["TaxCodeRef"] = {"value": code}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}


def invoice(emu: Emulator, realm: str, customer_id: str, lines: list[dict], **extra) -> tuple[int, dict]:
    return call(emu, realm, "POST", "invoice", {"CustomerRef": {"value": customer_id}, "Line": lines, **extra})


def test_tax_codes_are_seeded_per_company_read_only_and_not_in_cdc():
    emu = Emulator()
    assert query(emu, IDEALISED, "select * from TaxCode") == []
    assert [c["Name"] for c in query(emu, CANADA, "select * from TaxCode")] == ["GST", "HST ON", "Zero-rated", "Exempt"]
    assert [c["Name"] for c in query(emu, UK, "select * from TaxCode")] == ["20.0% S", "0.0% Z", "Exempt"]
    ast_codes = query(emu, AST, "select * from TaxCode maxresults 1000")
    assert {"TAX", "NON"} <= {c["Id"] for c in ast_codes} and len(ast_codes) == 2 + len(US_STATE_RATES)
    rates = query(emu, AST, "select * from TaxRate maxresults 1000")
    assert len(rates) == 51 and all(r["RateValue"] > 0 for r in rates)
    gst = ok(emu, CANADA, "GET", "taxcode/1")["TaxCode"]
    rate_ref = gst["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]
    assert rate_ref["name"] == "GST"
    assert ok(emu, CANADA, "GET", f"taxrate/{rate_ref['value']}")["TaxRate"]["RateValue"] == 5
    for body in ({"Name": "PST"}, {"Id": "1", "SyncToken": "0", "Name": "PST"}):
        status, answer = call(emu, CANADA, "POST", "taxcode", body)
        assert status == 400 and "not supported for TaxCode" in answer["Fault"]["Error"][0]["Detail"]
    since = (emu.clock.now() - timedelta(days=1)).isoformat()
    assert ok(emu, CANADA, "GET", "cdc", entities="TaxCode,TaxRate", changedSince=since)["CDCResponse"] == [
        {"QueryResponse": [{}]}
    ]


@pytest.mark.parametrize(
    ("state", "amount", "tax"),
    [("NY", "100.00", "8.53"), ("CA", "33.33", "2.42"), (None, "33.33", "2.42"), ("WA", "10.05", "0.94")],
)
def test_automated_tax_follows_the_ship_to_state_rounded_once(state, amount, tax):
    emu = Emulator()
    customer = {"BillAddr": {"Line1": "1 Main St", "CountrySubDivisionCode": state}} if state else {}
    customer_id, item_id = setup(emu, AST, customer)
    status, answer = invoice(emu, AST, customer_id, [line(item_id, amount)])
    assert status == 200, answer
    doc = answer["Invoice"]
    detail = doc["TxnTaxDetail"]
    assert detail["TotalTax"] == float(tax)
    tax_line = detail["TaxLine"][0]
    assert tax_line["DetailType"] == "TaxLineDetail" and tax_line["TaxLineDetail"]["PercentBased"] is True
    assert tax_line["TaxLineDetail"]["NetAmountTaxable"] == float(amount)
    assert doc["TotalAmt"] == doc["Balance"] == round(float(amount) + float(tax), 2)
    assert doc["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "TAX"


def test_automated_tax_lines_customers_overrides_and_the_document_ship_address():
    emu = Emulator()
    customer_id, item_id = setup(emu, AST, {"BillAddr": {"CountrySubDivisionCode": "NY"}})
    lines = [line(item_id, "100.00"), line(item_id, "50.00", "NON")]
    body = {"ShipAddr": {"CountrySubDivisionCode": "Texas"}, "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "NON"}}}
    doc = invoice(emu, AST, customer_id, lines, **body)[1]["Invoice"]
    assert doc["TxnTaxDetail"]["TotalTax"] == 8.2 and doc["TotalAmt"] == 158.2  # Texas, the NON line untaxed
    assert doc["TxnTaxDetail"]["TxnTaxCodeRef"]["name"] == "Texas"  # the code sent is replaced
    override = invoice(emu, AST, customer_id, lines, TxnTaxDetail={"TotalTax": 3.21})[1]["Invoice"]
    assert override["TxnTaxDetail"]["TotalTax"] == 3.21 and override["TotalAmt"] == 153.21
    status, answer = invoice(emu, AST, customer_id, [line(item_id, "1.00", "GST")])
    assert status == 400 and answer["Fault"]["Error"][0]["code"] == "2500"

    exempt = ok(emu, AST, "POST", "customer", {"DisplayName": "School", "TaxExemptionReasonId": 7})["Customer"]
    assert exempt["Taxable"] is False
    assert invoice(emu, AST, exempt["Id"], [line(item_id, "100.00")])[1]["Invoice"]["TotalAmt"] == 100
    not_taxable = ok(emu, AST, "POST", "customer", {"DisplayName": "Reseller", "Taxable": False})["Customer"]
    assert invoice(emu, AST, not_taxable["Id"], [line(item_id, "100.00")])[1]["Invoice"]["TotalAmt"] == 100
    untaxed_item = setup(emu, AST, {"DisplayName": "Other"}, {"Name": "Water", "Taxable": False})[1]
    assert invoice(emu, AST, customer_id, [line(untaxed_item, "100.00")])[1]["Invoice"]["TotalAmt"] == 100
    for bad in ({"TaxExemptionReasonId": 16}, {"ResaleNum": "x" * 17}):
        assert call(emu, AST, "POST", "customer", {"DisplayName": "Bad", **bad})[0] == 400
    again = {"Id": exempt["Id"], "SyncToken": exempt["SyncToken"], "sparse": True, "Taxable": True}
    assert "TaxExemptionReasonId" not in ok(emu, AST, "POST", "customer", again)["Customer"]


def test_payments_pay_the_taxed_total_and_a_void_zeroes_the_tax():
    emu = Emulator()
    customer_id, item_id = setup(emu, AST, {"BillAddr": {"CountrySubDivisionCode": "NY"}})
    doc = invoice(emu, AST, customer_id, [line(item_id, "100.00")])[1]["Invoice"]
    emu.api.record_payment(AST, doc["Id"], "100.00")
    assert ok(emu, AST, "GET", f"invoice/{doc['Id']}")["Invoice"]["Balance"] == 8.53
    emu.api.record_payment(AST, doc["Id"])
    assert ok(emu, AST, "GET", f"invoice/{doc['Id']}")["Invoice"]["Balance"] == 0
    other = invoice(emu, AST, customer_id, [line(item_id, "10.00")])[1]["Invoice"]
    voided = emu.api.void_invoice(AST, other["Id"])
    assert voided["TxnTaxDetail"] == {"TotalTax": 0} and voided["TotalAmt"] == 0


@pytest.mark.parametrize(("realm", "words"), [(CANADA, "GST/HST"), (UK, "VAT")])
def test_global_companies_need_a_tax_code_on_every_line(realm, words):
    emu = Emulator()
    customer_id, item_id = setup(emu, realm)
    status, answer = invoice(emu, realm, customer_id, [line(item_id, "10.00", "1"), line(item_id, "5.00")])
    assert status == 400
    error = answer["Fault"]["Error"][0]
    assert error["code"] == "6000" and f"Make sure all your transactions have a {words} rate" in error["Detail"]
    status, answer = invoice(emu, realm, customer_id, [line(item_id, "10.00", "99")])
    assert status == 400 and answer["Fault"]["Error"][0]["code"] == "2500"
    lines = [line(item_id, "10.00", "1")]
    status, answer = invoice(emu, realm, customer_id, lines, GlobalTaxCalculation="NotApplicable")
    assert status == 400 and answer["Fault"]["Error"][0]["element"] == "GlobalTaxCalculation"
    assert query(emu, realm, "select * from Invoice") == []


def test_canadian_tax_per_code_excluded_and_inclusive():
    emu = Emulator()
    customer_id, item_id = setup(emu, CANADA)
    lines = [line(item_id, "100.00", "1"), line(item_id, "200.00", "2"), line(item_id, "50.00", "3")]
    doc = invoice(emu, CANADA, customer_id, lines)[1]["Invoice"]
    assert doc["GlobalTaxCalculation"] == "TaxExcluded"
    taxes = [(t["TaxLineDetail"]["TaxRateRef"]["name"], t["Amount"]) for t in doc["TxnTaxDetail"]["TaxLine"]]
    assert taxes == [("GST", 5), ("HST ON", 26), ("Zero-rated", 0)]
    assert doc["TxnTaxDetail"]["TotalTax"] == 31 and doc["TotalAmt"] == doc["Balance"] == 381
    inclusive = invoice(emu, CANADA, customer_id, [line(item_id, "113.00", "2")], GlobalTaxCalculation="TaxInclusive")
    doc = inclusive[1]["Invoice"]
    assert doc["TxnTaxDetail"]["TotalTax"] == 13 and doc["TotalAmt"] == 113
    assert doc["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 100


def test_idealised_companies_ignore_tax():
    emu = Emulator()
    customer_id, item_id = setup(emu, IDEALISED)
    doc = invoice(emu, IDEALISED, customer_id, [line(item_id, "10.00")], TxnTaxDetail={"TotalTax": 5})[1]["Invoice"]
    assert doc["TxnTaxDetail"] == {"TotalTax": 0} and doc["TotalAmt"] == 10
