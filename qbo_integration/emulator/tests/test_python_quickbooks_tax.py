"""Sales tax driven only through python-quickbooks 0.9.12, the real client (docs/quickbooks/libraries.md): an
Automated Sales Tax invoice with tax, an exempt customer with none, a Canadian invoice refused without a tax code
and accepted with one, and the company's tax codes."""

from __future__ import annotations

import pytest
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import Address, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate

from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

AST, CANADA = "9130350000000003", "9130350000000004"


def customer(qb, name: str, state: str = "", **fields) -> Customer:
    new = Customer()
    new.DisplayName = name
    if state:
        new.BillAddr = Address()
        new.BillAddr.Line1, new.BillAddr.City, new.BillAddr.CountrySubDivisionCode = "1 Main St", "Albany", state
    for key, value in fields.items():
        setattr(new, key, value)
    return new.save(qb=qb)


def item(qb, name: str) -> Item:
    new = Item()
    new.Name, new.Type, new.UnitPrice = name, "Service", 10
    new.IncomeAccountRef = Account.filter(AccountType="Income", qb=qb)[0].to_ref()
    return new.save(qb=qb)


def line(product: Item, amount: float, code: str | None = None) -> SalesItemLine:
    new = SalesItemLine()
    new.Amount = amount
    new.SalesItemLineDetail = SalesItemLineDetail()
    new.SalesItemLineDetail.ItemRef = product.to_ref()
    if code:
        new.SalesItemLineDetail.TaxCodeRef = Ref()
        new.SalesItemLineDetail.TaxCodeRef.value = code
    return new


def invoice(qb, buyer: Customer, lines: list[SalesItemLine]) -> Invoice:
    new = Invoice()
    new.CustomerRef = buyer.to_ref()
    new.Line = lines
    return new.save(qb=qb)


def test_automated_sales_tax_through_python_quickbooks(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, AST)
    apples = item(qb, "Gala Apples")
    taxed = invoice(qb, customer(qb, "Harbor Fresh Market", "NY"), [line(apples, 100.0, "TAX"), line(apples, 20.0)])
    assert taxed.TxnTaxDetail.TotalTax == 8.53  # New York's 8.53% on the TAX line; python-quickbooks' item is NON
    assert taxed.TotalAmt == taxed.Balance == 128.53
    assert taxed.TxnTaxDetail.TaxLine[0].TaxLineDetail.TaxPercent == 8.53
    school = customer(qb, "Albany School District", "NY", TaxExemptionReasonId=7)
    assert school.Taxable is False
    exempt = invoice(qb, school, [line(apples, 100.0, "TAX")])
    assert exempt.TxnTaxDetail.TotalTax == 0 and exempt.TotalAmt == 100
    assert {"TAX", "NON"} <= {code.Id for code in TaxCode.all(qb=qb, max_results=1000)}


def test_canadian_invoice_needs_a_tax_code_through_python_quickbooks(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, CANADA)
    codes = {code.Name: code for code in TaxCode.all(qb=qb)}
    assert list(codes) == ["GST", "HST ON", "Zero-rated", "Exempt"]
    rate = TaxRate.get(codes["HST ON"].SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value, qb=qb)
    assert rate.RateValue == 13
    buyer, apples = customer(qb, "Maple Market"), item(qb, "McIntosh Apples")
    with pytest.raises(QuickbooksException) as refused:
        invoice(qb, buyer, [line(apples, 100.0)])
    assert refused.value.error_code == 6000 and "GST/HST rate" in refused.value.detail
    accepted = invoice(qb, buyer, [line(apples, 100.0, codes["HST ON"].Id)])
    assert accepted.TxnTaxDetail.TotalTax == 13 and accepted.TotalAmt == 113
