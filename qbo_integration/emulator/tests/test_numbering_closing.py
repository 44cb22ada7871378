"""Numbering by the company's preference and the closing date, played by the engine and proven through
python-quickbooks 0.9.12 (docs/quickbooks/next.md#docnumber-and-custom-transaction-numbers,
docs/quickbooks/next.md#closing-date)."""

from __future__ import annotations

import json

import pytest
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.trackingclass import Class

from qbo_integration.emulator import Emulator
from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

from .test_python_quickbooks import new_customer, new_invoice, new_item, sales_line

AUTO = "9130350000000007"
STRICT = "9130350000000008"
CUSTOM = "9130350000000002"  # custom numbers on, no sales tax


def post(emu: Emulator, realm: str, entity: str, body: dict, **params) -> tuple[int, dict]:
    return emu.api.handle(realm, "POST", entity.lower(), params, json.dumps(body).encode())


def sale(emu: Emulator, realm: str) -> dict:
    _, customer = post(emu, realm, "Customer", {"DisplayName": "Harbor Fresh Market"})
    _, accounts = emu.api.handle(
        realm, "GET", "query", {"query": "select * from Account where AccountType = 'Income'"}, b""
    )
    income = accounts["QueryResponse"]["Account"][0]["Id"]
    _, item = post(
        emu, realm, "Item", {"Name": "Gala Apples", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Item"]["Id"]}},
    }
    return {"CustomerRef": {"value": customer["Customer"]["Id"]}, "Line": [line]}


def test_quickbooks_numbers_documents_when_custom_numbers_are_off():
    emu = Emulator()
    body = sale(emu, AUTO)

    first = post(emu, AUTO, "Invoice", body)[1]["Invoice"]
    sent = post(emu, AUTO, "Invoice", {**body, "DocNumber": "KD-2026-000123"})[1]["Invoice"]
    numeric = post(emu, AUTO, "Invoice", {**body, "DocNumber": "5000"})[1]["Invoice"]
    duplicate = post(emu, AUTO, "Invoice", {**body, "DocNumber": "5000"})
    after = post(emu, AUTO, "Invoice", body)[1]["Invoice"]
    estimate = post(emu, AUTO, "Estimate", body)[1]["Estimate"]

    assert first["DocNumber"] == "1001"
    assert (sent["DocNumber"], numeric["DocNumber"]) == ("KD-2026-000123", "5000")  # stored as sent
    assert duplicate[0] == 200  # no duplicate-number check without custom numbers
    assert after["DocNumber"] == "1002"  # a number sent does not move QuickBooks' sequence
    assert estimate["DocNumber"] == "1001"
    updated = post(emu, AUTO, "Invoice", {**body, "Id": first["Id"], "SyncToken": first["SyncToken"]})[1]["Invoice"]
    assert updated["DocNumber"] == "1001"  # an update without DocNumber keeps it


def test_custom_numbers_on_still_number_a_document_sent_without_one():
    emu = Emulator()
    body = sale(emu, CUSTOM)

    first = post(emu, CUSTOM, "Invoice", body)[1]["Invoice"]
    jumped = post(emu, CUSTOM, "Invoice", {**body, "DocNumber": "2000"})[1]["Invoice"]
    after = post(emu, CUSTOM, "Invoice", body)[1]["Invoice"]

    assert (first["DocNumber"], jumped["DocNumber"], after["DocNumber"]) == ("1001", "2000", "2001")
    assert post(emu, CUSTOM, "Invoice", {**body, "DocNumber": "2000"})[1]["Fault"]["Error"][0]["code"] == "6140"


def test_the_closing_date_refuses_writes_in_the_closed_period():
    emu = Emulator()
    body = sale(emu, STRICT)
    closed, open_ = {**body, "TxnDate": "2026-06-30"}, {**body, "TxnDate": "2026-07-01"}

    assert post(emu, STRICT, "Invoice", closed)[1]["Fault"]["Error"][0]["code"] == "6210"
    assert post(emu, STRICT, "Estimate", {**body, "TxnDate": "2026-06-12"})[1]["Fault"]["Error"][0]["code"] == "6210"
    invoice = post(emu, STRICT, "Invoice", open_)[1]["Invoice"]
    moved = post(emu, STRICT, "Invoice", {**closed, "Id": invoice["Id"], "SyncToken": invoice["SyncToken"]})
    assert moved[0] == 400 and moved[1]["Fault"]["Error"][0]["Message"] == "Account Period Closed"

    emu.update_preferences(STRICT, {"AccountingInfoPrefs": {"BookCloseDate": "2026-07-31"}})  # the owner closes July

    ref = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    assert post(emu, STRICT, "Invoice", ref, operation="void")[1]["Fault"]["Error"][0]["code"] == "6210"
    assert post(emu, STRICT, "Invoice", ref, operation="delete")[1]["Fault"]["Error"][0]["code"] == "6210"
    payment = {"CustomerRef": body["CustomerRef"], "TotalAmt": 10, "TxnDate": "2026-07-15"}
    assert post(emu, STRICT, "Payment", payment)[1]["Fault"]["Error"][0]["code"] == "6210"
    assert post(emu, STRICT, "Payment", {**payment, "TxnDate": "2026-08-01"})[0] == 200
    assert post(emu, STRICT, "Invoice", open_)[0] == 400  # July is closed now
    assert post(emu, STRICT, "Invoice", {**body, "TxnDate": "2026-08-01"})[0] == 200


def test_python_quickbooks_gets_a_number_in_the_auto_numbered_company(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, AUTO)
    customer = new_customer(qb, "Harbor Fresh Market")
    apples = new_item(qb, "Gala Apples", 32.5)

    invoice = new_invoice(qb, customer, [sales_line(apples, 10, 32.5)])

    assert invoice.DocNumber == "1001"
    assert Invoice.get(invoice.Id, qb=qb).DocNumber == "1001"


def test_python_quickbooks_sees_6210_for_the_closed_period(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, STRICT)
    customer = new_customer(qb, "Harbor Fresh Market")
    apples = new_item(qb, "Gala Apples", 32.5)

    with pytest.raises(QuickbooksException) as refused:
        new_invoice(qb, customer, [sales_line(apples, 10, 32.5)], TxnDate="2026-06-12", DocNumber="KD-1")
    invoice = new_invoice(qb, customer, [sales_line(apples, 10, 32.5)], TxnDate="2026-07-02", DocNumber="KD-2")
    payment = Payment()
    payment.CustomerRef, payment.TotalAmt, payment.TxnDate = customer.to_ref(), 325.0, "2026-06-01"
    line = PaymentLine()
    line.Amount = 325.0
    line.LinkedTxn = [invoice.to_linked_txn()]
    payment.Line = [line]
    with pytest.raises(QuickbooksException) as payment_refused:
        payment.save(qb=qb)

    assert refused.value.error_code == 6210 and refused.value.message == "Account Period Closed"
    assert payment_refused.value.error_code == 6210


def test_python_quickbooks_reads_the_class_by_name(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, STRICT)
    customer = new_customer(qb, "Harbor Fresh Market")
    apples = new_item(qb, "Gala Apples", 32.5)
    produce = Class.filter(Name="Produce", qb=qb)[0]

    invoice = new_invoice(qb, customer, [sales_line(apples, 1, 32.5)], TxnDate="2026-08-01", ClassRef=produce.to_ref())
    with pytest.raises(QuickbooksException) as unknown:
        new_invoice(qb, customer, [sales_line(apples, 1, 32.5)], TxnDate="2026-08-01", ClassRef={"value": "999"})

    assert Invoice.get(invoice.Id, qb=qb).ClassRef.name == "Produce"
    assert unknown.value.error_code == 2500
