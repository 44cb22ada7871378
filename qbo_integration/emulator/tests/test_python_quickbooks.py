"""The emulator driven only through python-quickbooks 0.9.12, the real client (docs/quickbooks/libraries.md)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

REALM = "9130350000000001"


@pytest.fixture
def qb(qbo_emulator):
    return make_quickbooks(qbo_emulator, REALM)


def new_customer(qb, name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    return customer.save(qb=qb)


def new_item(qb, name: str, price: float) -> Item:
    income = Account.filter(AccountType="Income", qb=qb)[0]
    item = Item()
    item.Name = name
    item.Type = "Service"
    item.UnitPrice = price
    item.IncomeAccountRef = income.to_ref()
    return item.save(qb=qb)


def sales_line(item: Item, qty: float, price: float) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = round(qty * price, 2)
    line.Description = item.Name
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = qty
    line.SalesItemLineDetail.UnitPrice = price
    return line


def new_invoice(qb, customer: Customer, lines: list[SalesItemLine], **fields) -> Invoice:
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = lines
    for key, value in fields.items():
        setattr(invoice, key, value)
    return invoice.save(qb=qb)


def test_create_and_read_customer_item_invoice_and_estimate(qb):
    customer = new_customer(qb, "Harbor Fresh Market")
    assert customer.Id and customer.SyncToken == "0"
    apples = new_item(qb, "Gala Apples", 32.5)
    pears = new_item(qb, "Bartlett Pears", 36.75)

    estimate = Estimate()
    estimate.CustomerRef = customer.to_ref()
    estimate.Line = [sales_line(apples, 10, 32.5)]
    estimate = estimate.save(qb=qb)
    assert estimate.TotalAmt == 325.0

    link = LinkedTxn()
    link.TxnId, link.TxnType = estimate.Id, "Estimate"
    invoice = new_invoice(qb, customer, [sales_line(apples, 10, 32.5), sales_line(pears, 4, 36.75)], LinkedTxn=[link])
    assert invoice.TotalAmt == 472.0 and invoice.Balance == 472.0
    assert invoice.DocNumber  # auto-assigned
    assert invoice.Line[-1].DetailType == "SubTotalLineDetail" and invoice.Line[-1].Amount == 472.0

    read = Invoice.get(invoice.Id, qb=qb)
    assert read.CustomerRef.value == customer.Id
    assert [line.Amount for line in read.Line if line.DetailType == "SalesItemLineDetail"] == [325.0, 147.0]
    assert Customer.get(customer.Id, qb=qb).DisplayName == "Harbor Fresh Market"
    assert Item.get(apples.Id, qb=qb).Name == "Gala Apples"
    assert Estimate.get(estimate.Id, qb=qb).TxnStatus == "Closed"
    with pytest.raises(ObjectNotFoundException):
        Invoice.get("999999", qb=qb)


def test_sparse_update_then_stale_update_gives_5010(qb):
    customer = new_customer(qb, "Sparse Street Grocers")
    body = {"Id": customer.Id, "SyncToken": customer.SyncToken, "sparse": True, "CompanyName": "Sparse Street LLC"}
    updated = qb.update_object("Customer", json.dumps(body), request_id="sparse-1")["Customer"]
    assert updated["SyncToken"] == "1"
    assert updated["DisplayName"] == "Sparse Street Grocers" and updated["CompanyName"] == "Sparse Street LLC"

    with pytest.raises(QuickbooksException) as excinfo:
        qb.update_object("Customer", json.dumps({**body, "CompanyName": "Too Late Inc"}))
    assert excinfo.value.error_code == 5010

    fresh = Customer.get(customer.Id, qb=qb)
    fresh.CompanyName = "Full Update Co"
    saved = fresh.save(qb=qb)  # a full update with everything python-quickbooks sends
    assert saved.SyncToken == "2" and saved.CompanyName == "Full Update Co"


def test_duplicate_display_name_gives_6240(qb):
    new_customer(qb, "Green Valley Farms")
    with pytest.raises(QuickbooksException) as excinfo:
        new_customer(qb, "green valley farms")
    assert excinfo.value.error_code == 6240


def test_void_invoice(qb):
    customer = new_customer(qb, "Void Vegetables")
    item = new_item(qb, "Kale", 4.0)
    invoice = new_invoice(qb, customer, [sales_line(item, 5, 4.0)], PrivateNote="order 17")
    invoice.void(qb=qb)
    voided = Invoice.get(invoice.Id, qb=qb)
    assert voided.TotalAmt == 0 and voided.Balance == 0
    assert voided.PrivateNote.startswith("Voided")
    assert int(voided.SyncToken) == int(invoice.SyncToken) + 1


def test_query_paging_escaping_and_count(qb):
    for number in range(1, 6):
        new_customer(qb, f"Paging Produce {number}")
    new_customer(qb, "O'Brien Orchards")

    assert Customer.count("DisplayName LIKE 'Paging%'", qb=qb) == 5
    pages = [
        Customer.where("DisplayName LIKE 'Paging%'", order_by="DisplayName", start_position=start, max_results=2, qb=qb)
        for start in (1, 3, 5)
    ]
    assert [[c.DisplayName[-1] for c in page] for page in pages] == [["1", "2"], ["3", "4"], ["5"]]
    newest_first = Customer.all(order_by="DisplayName DESC", max_results=2, qb=qb)
    assert [c.DisplayName for c in newest_first] == ["Paging Produce 5", "Paging Produce 4"]
    assert [c.DisplayName for c in Customer.filter(DisplayName="O'Brien Orchards", qb=qb)] == ["O'Brien Orchards"]


def test_batch_create_with_a_failing_item(qb):
    new_customer(qb, "Already Here Market")
    customers = []
    for name in ("Batch Bakery", "Batch Butchery", "Already Here Market"):
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)
    result = batch_create(customers, qb=qb)
    assert sorted(c.DisplayName for c in result.successes) == ["Batch Bakery", "Batch Butchery"]
    assert len(result.faults) == 1 and result.faults[0].Error[0].code == "6240"


def test_change_data_capture(qbo_emulator, qb):
    since = (qbo_emulator.now() - timedelta(minutes=1)).isoformat(timespec="seconds")
    customer = new_customer(qb, "Changed Cheese Co")
    item = new_item(qb, "Brie", 9.0)
    kept = new_invoice(qb, customer, [sales_line(item, 2, 9.0)])
    gone = new_invoice(qb, customer, [sales_line(item, 1, 9.0)])
    gone.delete(qb=qb)

    cdc = change_data_capture([Customer, Invoice], since, qb=qb)
    assert [c.Id for c in cdc.Customer] == [customer.Id]
    invoices = {inv.Id: inv for inv in cdc.Invoice}
    assert invoices[kept.Id].TotalAmt == 18.0
    assert getattr(invoices[gone.Id], "status", None) == "Deleted"


def test_requestid_replay_returns_the_original_response(qbo_emulator, qb):
    customer = Customer()
    customer.DisplayName = "Idempotent Imports"
    first = customer.save(qb=qb, request_id="create-idempotent-1")
    again = Customer()
    again.DisplayName = "Idempotent Imports"
    second = again.save(qb=qb, request_id="create-idempotent-1")  # would be 6240 if it ran again
    assert second.Id == first.Id
    assert Customer.count("DisplayName = 'Idempotent Imports'", qb=qb) == 1
    assert qbo_emulator.count_requests(method="POST", subpath="customer") == 2
