"""Money moving, driven only through python-quickbooks 0.9.12 (docs/quickbooks/libraries.md): payment methods, a
payment applying a credit memo, sales receipts with void, credit memos and refund receipts
(docs/quickbooks/entities.md#paymentmethod, docs/quickbooks/entities.md#creditmemo,
docs/quickbooks/entities.md#salesreceipt, docs/quickbooks/entities.md#refundreceipt)."""

from __future__ import annotations

import pytest
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.refundreceipt import RefundReceipt
from quickbooks.objects.salesreceipt import SalesReceipt

from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

from .test_python_quickbooks import new_customer, new_invoice, new_item, sales_line

REALM = "9130350000000001"


@pytest.fixture
def qb(qbo_emulator):
    return make_quickbooks(qbo_emulator, REALM)


def payment_line(document, txn_type: str, amount: float) -> PaymentLine:
    link = LinkedTxn()
    link.TxnId, link.TxnType = document.Id, txn_type
    line = PaymentLine()
    line.Amount = amount
    line.LinkedTxn = [link]
    return line


def new_credit_memo(qb, customer, item, qty: float, price: float) -> CreditMemo:
    memo = CreditMemo()
    memo.CustomerRef = customer.to_ref()
    memo.Line = [sales_line(item, qty, price)]
    return memo.save(qb=qb)


def test_payment_methods_are_listed_and_created(qb):
    methods = PaymentMethod.all(qb=qb)

    method = PaymentMethod()
    method.Name = "Bank transfer"
    saved = method.save(qb=qb)

    assert [(m.Id, m.Name, m.Type) for m in methods][:3] == [
        ("1", "Cash", "NON_CREDIT_CARD"),
        ("2", "Check", "NON_CREDIT_CARD"),
        ("3", "Visa", "CREDIT_CARD"),
    ]
    assert len(methods) == 7
    assert (saved.Name, saved.Type, saved.Active) == ("Bank transfer", "NON_CREDIT_CARD", True)


def test_a_payment_applies_a_credit_memo_built_with_python_quickbooks_objects(qb):
    customer = new_customer(qb, "Credit Applied Grocers")
    apples = new_item(qb, "Credit Apples", 10.0)
    invoice = new_invoice(qb, customer, [sales_line(apples, 10, 10.0)])
    memo = new_credit_memo(qb, customer, apples, 3, 10.0)
    check = PaymentMethod.filter(Name="Check", qb=qb)[0]

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 70
    payment.PaymentMethodRef = check.to_ref()
    payment.PaymentRefNum = "1007"
    payment.Line = [payment_line(invoice, "Invoice", 100), payment_line(memo, "CreditMemo", 30)]
    saved = payment.save(qb=qb)

    assert (saved.TotalAmt, saved.UnappliedAmt, saved.PaymentMethodRef.name) == (70, 0, "Check")
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0
    read_memo = CreditMemo.get(memo.Id, qb=qb)
    assert (read_memo.RemainingCredit, read_memo.Balance) == (0, 0)
    # python-quickbooks keeps a CreditMemo's LinkedTxn as plain dicts
    assert [(link["TxnType"], link["TxnId"]) for link in read_memo.LinkedTxn] == [("Payment", saved.Id)]

    saved.delete(qb=qb)
    assert CreditMemo.get(memo.Id, qb=qb).RemainingCredit == 30


def test_a_credit_memo_over_applied_is_refused(qb):
    customer = new_customer(qb, "Greedy Grocers")
    apples = new_item(qb, "Greedy Apples", 10.0)
    invoice = new_invoice(qb, customer, [sales_line(apples, 10, 10.0)])
    memo = new_credit_memo(qb, customer, apples, 1, 10.0)

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 0
    payment.Line = [payment_line(invoice, "Invoice", 20), payment_line(memo, "CreditMemo", 20)]
    with pytest.raises(QuickbooksException) as refused:
        payment.save(qb=qb)

    assert refused.value.error_code == 6000
    assert CreditMemo.get(memo.Id, qb=qb).RemainingCredit == 10


def test_a_credit_memo_round_trips_and_its_remaining_credit_falls_when_applied(qb):
    customer = new_customer(qb, "Round Trip Credit")
    pears = new_item(qb, "Credit Pears", 4.0)
    invoice = new_invoice(qb, customer, [sales_line(pears, 10, 4.0)])

    memo = new_credit_memo(qb, customer, pears, 5, 4.0)
    memo.PrivateNote = "bruised pears"
    memo = memo.save(qb=qb)  # a full update with everything python-quickbooks sends
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 0
    payment.Line = [payment_line(invoice, "Invoice", 15), payment_line(memo, "CreditMemo", 15)]
    payment.save(qb=qb)

    read = CreditMemo.get(memo.Id, qb=qb)
    assert (read.TotalAmt, read.RemainingCredit, read.PrivateNote, read.SyncToken) == (20, 5, "bruised pears", "2")
    assert read.DocNumber
    assert Invoice.get(invoice.Id, qb=qb).Balance == 25


def test_a_sales_receipt_is_created_and_voided(qb):
    plums = new_item(qb, "Receipt Plums", 2.5)
    undeposited = Account.filter(Name="Undeposited Funds", qb=qb)[0]

    receipt = SalesReceipt()
    receipt.Line = [sales_line(plums, 4, 2.5)]
    receipt.PaymentMethodRef = PaymentMethod.filter(Name="Cash", qb=qb)[0].to_ref()
    saved = receipt.save(qb=qb)
    answer = saved.void(qb=qb)
    read = SalesReceipt.get(saved.Id, qb=qb)

    assert (saved.TotalAmt, saved.Balance, saved.DepositToAccountRef.value) == (10, 0, undeposited.Id)
    assert answer["SalesReceipt"]["PrivateNote"] == "Voided"
    assert (read.TotalAmt, read.PrivateNote, read.SyncToken) == (0, "Voided", "1")


def test_a_refund_receipt_needs_the_account_it_is_paid_from(qb):
    customer = new_customer(qb, "Refunded Retail")
    figs = new_item(qb, "Refund Figs", 6.0)
    checking = Account.filter(Name="Checking", qb=qb)[0]
    memo = new_credit_memo(qb, customer, figs, 2, 6.0)

    refund = RefundReceipt()
    refund.CustomerRef = customer.to_ref()
    refund.Line = [sales_line(figs, 2, 6.0)]
    with pytest.raises(QuickbooksException) as refused:
        refund.save(qb=qb)
    refund.DepositToAccountRef = checking.to_ref()
    link = LinkedTxn()
    link.TxnId, link.TxnType = memo.Id, "CreditMemo"
    refund.LinkedTxn = [link]
    saved = refund.save(qb=qb)

    assert refused.value.error_code == 2020 and "DepositToAccountRef" in refused.value.detail
    assert (saved.TotalAmt, saved.Balance, saved.DepositToAccountRef.name) == (12, 0, "Checking")
    assert CreditMemo.get(memo.Id, qb=qb).RemainingCredit == 0
    saved.delete(qb=qb)
    assert CreditMemo.get(memo.Id, qb=qb).RemainingCredit == 12


def test_a_ref_to_an_inactive_payment_method_is_refused(qb):
    customer = new_customer(qb, "Inactive Method Buyer")
    discover = PaymentMethod.get("5", qb=qb)
    discover.Active = False
    discover.save(qb=qb)
    ref = Ref()
    ref.value = "5"

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 5
    payment.PaymentMethodRef = ref
    with pytest.raises(QuickbooksException) as refused:
        payment.save(qb=qb)

    assert refused.value.error_code == 2500
