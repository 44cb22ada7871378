"""What the company owes, driven through python-quickbooks 0.9.12 and over HTTP (docs/quickbooks/libraries.md,
docs/quickbooks/beyond.md#the-brokers-own-books): Vendor, Bill and BillPayment objects as the library sends them
(its Bill's ExchangeRate 0 included), void and delete, webhooks, the control API and the UI's bills pages."""

from __future__ import annotations

import pytest
import requests
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn
from quickbooks.objects.bill import Bill
from quickbooks.objects.billpayment import BillPayment, BillPaymentLine, CheckPayment
from quickbooks.objects.detailline import AccountBasedExpenseLine, AccountBasedExpenseLineDetail
from quickbooks.objects.vendor import Vendor

from qbo_integration.emulator.testing import WebhookRecorder, make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

from .test_server import REALM, Api


@pytest.fixture
def qb(qbo_emulator):
    return make_quickbooks(qbo_emulator, REALM)


def new_vendor(qb, name: str) -> Vendor:
    vendor = Vendor()
    vendor.DisplayName = name
    return vendor.save(qb=qb)


def new_bill(qb, vendor: Vendor, amount: float, **fields) -> Bill:
    purchases = Account.filter(Name="Purchases", qb=qb)[0]
    line = AccountBasedExpenseLine()
    line.Amount = amount
    line.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
    line.AccountBasedExpenseLineDetail.AccountRef = purchases.to_ref()
    bill = Bill()
    bill.VendorRef = vendor.to_ref()
    bill.Line = [line]
    for key, value in fields.items():
        setattr(bill, key, value)
    return bill.save(qb=qb)


def check_for(qb, bill: Bill, amount: float) -> BillPayment:
    checking = Account.filter(Name="Checking", qb=qb)[0]
    link = LinkedTxn()
    link.TxnId, link.TxnType = bill.Id, "Bill"
    line = BillPaymentLine()
    line.Amount = amount
    line.LinkedTxn = [link]
    payment = BillPayment()
    payment.VendorRef = bill.VendorRef
    payment.PayType = "Check"
    payment.CheckPayment = CheckPayment()
    payment.CheckPayment.BankAccountRef = checking.to_ref()
    payment.TotalAmt = amount
    payment.Line = [line]
    return payment.save(qb=qb)


def test_vendor_and_bill_as_python_quickbooks_sends_them(qb):
    vendor = new_vendor(qb, "Green Valley Farms")

    bill = new_bill(qb, vendor, 475.25, DocNumber="KD-2026-00042", PrivateNote="[kadouri-broker:42]")
    read = Bill.get(bill.Id, qb=qb)

    assert (vendor.Id, vendor.Balance) == ("1", 0)
    assert (read.TotalAmt, read.Balance, read.DocNumber, read.PrivateNote) == (
        475.25,
        475.25,
        "KD-2026-00042",
        "[kadouri-broker:42]",
    )
    assert read.APAccountRef.name == "Accounts Payable (A/P)"
    assert Vendor.get(vendor.Id, qb=qb).Balance == 475.25
    assert [b.Id for b in Bill.filter(VendorRef=vendor.Id, qb=qb)] == [bill.Id]


def test_a_vendor_cannot_take_a_customers_name(qb, qbo_emulator):
    Api(qbo_emulator).customer("Metro Grocers")

    with pytest.raises(QuickbooksException) as refused:
        new_vendor(qb, "Metro Grocers")

    assert refused.value.error_code == 6240


def test_a_bill_payment_pays_the_bill_then_its_void_and_delete_open_it_again(qb):
    vendor = new_vendor(qb, "Sunrise Orchards")
    bill = new_bill(qb, vendor, 300)

    first = check_for(qb, bill, 100)
    second = check_for(qb, bill, 200)
    paid = Bill.get(bill.Id, qb=qb)
    first.void(qb=qb)
    second.delete(qb=qb)
    reopened = Bill.get(bill.Id, qb=qb)

    assert paid.Balance == 0 and [link.TxnType for link in paid.LinkedTxn] == ["BillPaymentCheck"] * 2
    assert (BillPayment.get(first.Id, qb=qb).TotalAmt, reopened.Balance) == (0, 300)
    reopened.delete(qb=qb)
    with pytest.raises(QuickbooksException) as gone:
        Bill.get(bill.Id, qb=qb)
    assert gone.value.error_code == 610


def test_a_paid_bill_cannot_be_deleted(qb):
    bill = new_bill(qb, new_vendor(qb, "Paid Grower"), 80)
    check_for(qb, bill, 80)

    with pytest.raises(QuickbooksException) as refused:
        Bill.get(bill.Id, qb=qb).delete(qb=qb)

    assert refused.value.error_code == 6000


def test_bills_send_webhooks_and_the_bookkeeper_pays_them_through_the_control_api(qbo_emulator, qb):
    recorder = WebhookRecorder()
    qbo_emulator.webhooks.deliver = recorder
    qbo_emulator.configure_webhooks(url="https://app.example.test/qbo/webhooks")
    bill = new_bill(qb, new_vendor(qb, "Webhook Grower"), 60)
    base = f"{qbo_emulator.base_url}/_emulator/api/companies/{REALM}/actions"

    paid = requests.post(f"{base}/pay_bill", json={"bill_id": bill.Id, "amount": 25}).json()["result"]
    refused = requests.post(f"{base}/delete_bill", json={"bill_id": bill.Id})
    qbo_emulator.webhooks.flush()

    events = [
        (e["name"], e["operation"])
        for p in recorder.payloads
        for n in p["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    ]
    assert paid["TotalAmt"] == 25 and Bill.get(bill.Id, qb=qb).Balance == 35
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "6000"
    assert ("Vendor", "Create") in events and ("Bill", "Create") in events
    assert ("BillPayment", "Create") in events and ("Bill", "Update") in events


def test_ui_lists_bills_and_pays_and_deletes_them(qbo_emulator, qb):
    bill = new_bill(qb, new_vendor(qb, "UI Grower"), 90, DocNumber="KD-7")
    ui = f"{qbo_emulator.base_url}/_emulator/company/{REALM}"

    page = requests.get(f"{ui}/bills").text
    paid = requests.post(f"{ui}/bills/{bill.Id}/pay", data={"amount": ""}, allow_redirects=False)
    refused = requests.post(f"{ui}/bills/{bill.Id}/delete", allow_redirects=False)
    payments_page = requests.get(f"{ui}/bill-payments").text
    payment_id = BillPayment.all(qb=qb)[0].Id
    requests.post(f"{ui}/bill-payments/{payment_id}/void")
    deleted = requests.post(f"{ui}/bills/{bill.Id}/delete", allow_redirects=False)

    assert f'id="pay-bill-{bill.Id}"' in page and f'id="delete-bill-{bill.Id}"' in page and "KD-7" in page
    assert paid.status_code == 303 and "msg=" in paid.headers["Location"]
    assert "error=" in refused.headers["Location"]
    assert f'id="void-bill-payment-{payment_id}"' in payments_page and "Bill " in payments_page
    assert "msg=" in deleted.headers["Location"]
    assert 'id="tab-bills"' in requests.get(f"{ui}/").text
