"""Multicurrency in the emulator (docs/quickbooks/next.md#multicurrency), through python-quickbooks 0.9.12 where it
can, and through plain requests for the exchange rate (python-quickbooks has no get for rates)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import requests
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import Ref
from quickbooks.objects.companycurrency import CompanyCurrency
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from qbo_integration.emulator.engine.exchange import table_rate
from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

MULTI = "9130350000000006"
IDEALISED = "9130350000000001"


def currency(code: str) -> Ref:
    ref = Ref()
    ref.value = code
    return ref


def new_customer(qb, name: str, code: str | None = None) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    if code:
        customer.CurrencyRef = currency(code)
    return customer.save(qb=qb)


def new_invoice(qb, customer: Customer, amount: float, **fields) -> Invoice:
    income = Account.filter(AccountType="Income", qb=qb)[0]
    item = Item()
    item.Name, item.Type, item.IncomeAccountRef = f"Produce {customer.Id}-{amount}", "Service", income.to_ref()
    item = item.save(qb=qb)
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    invoice = Invoice()
    invoice.CustomerRef, invoice.Line = customer.to_ref(), [line]
    for key, value in fields.items():
        setattr(invoice, key, value)
    return invoice.save(qb=qb)


def rate_of(emu, realm: str, code: str, day: str) -> requests.Response:
    token = emu.issue_tokens(realm)["access_token"]
    return requests.get(
        f"{emu.base_url}/v3/company/{realm}/exchangerate",
        params={"sourcecurrencycode": code, "asofdate": day, "minorversion": "75"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=5,
    )


def test_cad_customer_and_invoice_with_its_rate_through_python_quickbooks(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, MULTI)
    assert sorted(c.Code for c in CompanyCurrency.all(qb=qb)) == ["CAD", "EUR", "MXN"]
    metro = new_customer(qb, "Metro Grocers", "CAD")
    assert metro.CurrencyRef.value == "CAD"
    invoice = new_invoice(qb, metro, 1250.0, CurrencyRef=currency("CAD"), ExchangeRate=0.73)
    read = Invoice.get(invoice.Id, qb=qb)
    assert (read.CurrencyRef.value, read.ExchangeRate, read.TotalAmt) == ("CAD", 0.73, 1250.0)
    assert read.HomeTotalAmt == 912.5 and read.HomeBalance == 912.5

    with pytest.raises(QuickbooksException) as refused:  # the document's currency must be its customer's
        new_invoice(qb, metro, 10.0, CurrencyRef=currency("EUR"), ExchangeRate=1.08)
    assert refused.value.error_code == 6000 and "currency of its customer (CAD)" in refused.value.detail

    metro.CurrencyRef = currency("EUR")  # a customer with transactions keeps its currency
    with pytest.raises(QuickbooksException) as changed:
        metro.save(qb=qb)
    assert changed.value.error_code == 6000 and "can't change the currency" in changed.value.detail

    answer = rate_of(qbo_emulator, MULTI, "CAD", "2026-12-01")
    assert answer.status_code == 200
    rate = answer.json()["ExchangeRate"]
    assert rate["SourceCurrencyCode"] == "CAD" and rate["TargetCurrencyCode"] == "USD"
    assert rate["AsOfDate"] == "2026-12-01"
    assert Decimal(str(rate["Rate"])) == table_rate("CAD", "USD", date(2026, 12, 1)) == Decimal("0.730438")


def test_a_rate_not_sent_is_one_and_a_set_rate_is_answered(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, MULTI)
    euro = new_customer(qb, "Euro Foods", "EUR")
    invoice = new_invoice(qb, euro, 100.0, CurrencyRef=currency("EUR"), ExchangeRate=None)
    assert invoice.ExchangeRate == 1 and invoice.HomeTotalAmt == 100.0  # the documented trap
    home = new_customer(qb, "Home Foods")
    assert home.CurrencyRef.value == "USD"  # the home currency by default

    token = qbo_emulator.issue_tokens(MULTI)["access_token"]
    posted = requests.post(
        f"{qbo_emulator.base_url}/v3/company/{MULTI}/exchangerate",
        data=json.dumps({"SourceCurrencyCode": "EUR", "Rate": 1.1, "AsOfDate": "2026-11-02"}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=5,
    )
    assert posted.status_code == 200 and posted.json()["ExchangeRate"]["Rate"] == 1.1
    assert rate_of(qbo_emulator, MULTI, "EUR", "2026-11-02").json()["ExchangeRate"]["Rate"] == 1.1
    unknown = rate_of(qbo_emulator, MULTI, "GBP", "2026-11-02")
    assert unknown.status_code == 400 and unknown.json()["Fault"]["Error"][0]["code"] == "610"


def test_company_currencies_and_customers_outside_them(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, MULTI)
    with pytest.raises(QuickbooksException) as unknown:
        new_customer(qb, "London Larder", "GBP")
    assert unknown.value.error_code == 2500
    pound = CompanyCurrency()
    pound.Code = "GBP"
    assert pound.save(qb=qb).Name == "British Pound Sterling"
    assert new_customer(qb, "London Larder", "GBP").CurrencyRef.value == "GBP"
    unused = new_customer(qb, "Peso Produce", "MXN")
    unused.CurrencyRef = currency("CAD")  # no transactions yet: the change is allowed
    assert unused.save(qb=qb).CurrencyRef.value == "CAD"


def test_the_idealised_company_refuses_a_foreign_currency_and_answers_as_before(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, IDEALISED)
    with pytest.raises(QuickbooksException) as refused:
        new_customer(qb, "Metro Grocers", "CAD")
    assert refused.value.error_code == 6000 and "Multicurrency is not turned on" in refused.value.detail
    with pytest.raises(QuickbooksException):
        _save_currency(qb, "CAD")
    plain = new_customer(qb, "Harbor Fresh Market")
    assert plain.CurrencyRef is None
    invoice = new_invoice(qb, plain, 50.0)
    body = qbo_emulator.dump(IDEALISED)["entities"]["Invoice"][0]
    assert invoice.TotalAmt == 50.0 and "HomeTotalAmt" not in body and "CurrencyRef" not in body


def _save_currency(qb, code: str) -> CompanyCurrency:
    row = CompanyCurrency()
    row.Code = code
    return row.save(qb=qb)


def test_the_bookkeepers_payment_takes_the_invoices_currency_and_rate(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, MULTI)
    metro = new_customer(qb, "Metro Grocers", "CAD")
    invoice = new_invoice(qb, metro, 1250.0, CurrencyRef=currency("CAD"), ExchangeRate=0.73)
    payment = qbo_emulator.record_payment(MULTI, invoice.Id)
    assert payment["CurrencyRef"]["value"] == "CAD" and payment["ExchangeRate"] == 0.73
    paid = Invoice.get(invoice.Id, qb=qb)
    assert paid.Balance == 0 and paid.HomeBalance == 0
