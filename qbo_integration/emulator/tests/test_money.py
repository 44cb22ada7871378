"""Money moving from the app, played by the engine: payment methods, bank accounts, credit memos applied through
payments, sales receipts and refund receipts (docs/quickbooks/entities.md#paymentmethod,
docs/quickbooks/entities.md#creditmemo, docs/quickbooks/entities.md#salesreceipt,
docs/quickbooks/entities.md#refundreceipt)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qbo_integration.emulator.clock import Clock
from qbo_integration.emulator.engine import AccountingApi, QboFault

from .test_accounting import REALM, Qbo


@pytest.fixture
def qbo():
    return Qbo()


@pytest.fixture
def sale(qbo):
    """A customer, a service item and a 100.00 invoice; events cleared."""
    customer, item = qbo.customer(), qbo.item()
    invoice = qbo.invoice(customer, item)
    qbo.events.clear()
    return customer, item, invoice


def names_by_id(rows, field="Name"):
    return {row["Id"]: row[field] for row in rows}


# --- payment methods ---------------------------------------------------------------------------


def test_every_company_starts_with_intuits_payment_methods(qbo):
    api = AccountingApi(Clock())
    api.add_company("42", "Added Later Co", None)
    expected = {
        "1": ("Cash", "NON_CREDIT_CARD"),
        "2": ("Check", "NON_CREDIT_CARD"),
        "3": ("Visa", "CREDIT_CARD"),
        "4": ("MasterCard", "CREDIT_CARD"),
        "5": ("Discover", "CREDIT_CARD"),
        "6": ("American Express", "CREDIT_CARD"),
        "7": ("Diners Club", "CREDIT_CARD"),
    }

    methods = qbo.query("select * from PaymentMethod")["PaymentMethod"]
    later = api.dump("42")["entities"]["PaymentMethod"]

    assert {m["Id"]: (m["Name"], m["Type"]) for m in methods} == expected
    assert {m["Id"]: (m["Name"], m["Type"]) for m in later} == expected
    assert all(m["Active"] for m in methods)


def test_a_payment_method_needs_a_short_unique_name_and_defaults_to_non_credit_card(qbo):
    created = qbo.post("PaymentMethod", {"Name": "Zelle"})

    assert created["Type"] == "NON_CREDIT_CARD" and created["Active"] is True
    assert qbo.fault("POST", "paymentmethod", {"Type": "CREDIT_CARD"}) == (400, "2020")
    assert qbo.fault("POST", "paymentmethod", {"Name": "x" * 32}) == (400, "2050")
    assert qbo.fault("POST", "paymentmethod", {"Name": "visa"}) == (400, "6240")
    assert qbo.fault("POST", "paymentmethod", {"Name": "Wire", "Type": "BITCOIN"}) == (400, "2170")


def test_a_payment_method_is_made_inactive_never_deleted_and_its_name_is_then_free(qbo):
    visa = qbo.get("PaymentMethod", "3")

    assert qbo.fault("POST", "paymentmethod", {"Id": "3", "SyncToken": "0"}, operation="delete") == (400, "500")
    inactive = qbo.post("PaymentMethod", {"Id": "3", "SyncToken": visa["SyncToken"], "sparse": True, "Active": False})
    again = qbo.post("PaymentMethod", {"Name": "Visa", "Type": "CREDIT_CARD"})

    assert inactive["Active"] is False
    assert names_by_id(qbo.query("select * from PaymentMethod")["PaymentMethod"])[again["Id"]] == "Visa"
    assert "3" not in names_by_id(qbo.query("select * from PaymentMethod")["PaymentMethod"])
    assert names_by_id(qbo.query("select * from PaymentMethod where Active = false")["PaymentMethod"]) == {"3": "Visa"}
    assert qbo.fault(
        "POST", "paymentmethod", {"Id": "3", "SyncToken": inactive["SyncToken"], "sparse": True, "Active": True}
    ) == (400, "6240")


def test_a_payment_names_an_active_payment_method_and_shows_its_name(qbo, sale):
    customer, _, _ = sale
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 10}

    payment = qbo.post("Payment", {**body, "PaymentMethodRef": {"value": "2"}})
    qbo.post("PaymentMethod", {"Id": "4", "SyncToken": "0", "sparse": True, "Active": False})

    assert payment["PaymentMethodRef"] == {"value": "2", "name": "Check"}
    assert qbo.fault("POST", "payment", {**body, "PaymentMethodRef": {"value": "99"}}) == (400, "2500")
    assert qbo.fault("POST", "payment", {**body, "PaymentMethodRef": {"value": "4"}}) == (400, "2500")


def test_payment_methods_are_in_cdc_and_send_webhooks(qbo):
    since = qbo.clock.now().isoformat()
    created = qbo.post("PaymentMethod", {"Name": "Venmo"})
    cdc = qbo.ok("GET", "cdc", entities="PaymentMethod", changedSince=since)

    assert qbo.operations() == [("PaymentMethod", created["Id"], "Create")]
    assert [m["Name"] for m in cdc["CDCResponse"][0]["QueryResponse"][0]["PaymentMethod"]] == ["Venmo"]


# --- bank accounts -----------------------------------------------------------------------------


def test_every_company_has_undeposited_funds_checking_and_savings(qbo):
    accounts = {a["Name"]: a for a in qbo.query("select * from Account")["Account"]}

    assert (accounts["Undeposited Funds"]["Id"], accounts["Undeposited Funds"]["AccountType"]) == (
        "4",
        "Other Current Asset",
    )
    assert (accounts["Checking"]["AccountType"], accounts["Checking"]["AccountSubType"]) == ("Bank", "Checking")
    assert (accounts["Savings"]["AccountType"], accounts["Savings"]["AccountSubType"]) == ("Bank", "Savings")


def test_a_payment_deposits_to_a_bank_or_other_current_asset_account_only(qbo, sale):
    customer, _, _ = sale
    accounts = {a["Name"]: a["Id"] for a in qbo.query("select * from Account")["Account"]}
    body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 10}

    default = qbo.post("Payment", body)
    savings = qbo.post("Payment", {**body, "DepositToAccountRef": {"value": accounts["Savings"]}})
    status, payload = qbo.call("POST", "payment", {**body, "DepositToAccountRef": {"value": accounts["Services"]}})

    assert default["DepositToAccountRef"] == {"value": "4", "name": "Undeposited Funds"}
    assert savings["DepositToAccountRef"] == {"value": accounts["Savings"], "name": "Savings"}
    error = payload["Fault"]["Error"][0]
    assert (status, error["code"], error["element"]) == (400, "6000", "DepositToAccountRef")
    assert "DepositToAccountRef" in error["Detail"]


# --- credit memos and payments that apply them ---------------------------------------------------


def credit_memo(qbo, customer, item, amount=30, **fields):
    return qbo.invoice(customer, item, amount=amount, entity="CreditMemo", **fields)


def apply_credit(qbo, customer, total, *documents):
    lines = [{"Amount": a, "LinkedTxn": [{"TxnId": d["Id"], "TxnType": t}]} for t, d, a in documents]
    return qbo.post("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": total, "Line": lines})


def test_a_credit_memo_is_a_sales_form_whose_whole_total_is_remaining_credit(qbo, sale):
    customer, item, _ = sale
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 25,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 12.5},
    }

    memo = qbo.post("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "TotalAmt": 999})

    assert (memo["TotalAmt"], memo["RemainingCredit"], memo["Balance"]) == (25.0, 25.0, 25.0)
    assert memo["CustomerRef"] == {"value": customer["Id"], "name": "Acme Ltd"}
    assert memo["Line"][-1]["DetailType"] == "SubTotalLineDetail" and "DueDate" not in memo
    assert qbo.get("Customer", customer["Id"])["Balance"] == 75.0  # 100 owed on the invoice, 25 credit
    assert qbo.fault("POST", "creditmemo", {"Line": [line]}) == (400, "2020")
    bad_amount = {**line, "Amount": 26}
    assert qbo.fault("POST", "creditmemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [bad_amount]}) == (
        400,
        "6070",
    )


def test_a_payment_applies_a_credit_memo_against_an_invoice_with_a_zero_total(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    qbo.events.clear()

    payment = apply_credit(qbo, customer, 0, ("Invoice", invoice, 30), ("CreditMemo", memo, 30))
    memo_after = qbo.get("CreditMemo", memo["Id"])

    assert (payment["TotalAmt"], payment["UnappliedAmt"]) == (0.0, 0.0)
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 70.0
    assert (memo_after["RemainingCredit"], memo_after["Balance"]) == (0.0, 0.0)
    assert memo_after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert memo_after["SyncToken"] == "1"
    assert qbo.operations() == [
        ("Payment", payment["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
        ("CreditMemo", memo["Id"], "Update"),
    ]


def test_a_payment_pays_the_rest_after_a_credit_and_keeps_any_surplus_unapplied(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)

    payment = apply_credit(qbo, customer, 80, ("Invoice", invoice, 100), ("CreditMemo", memo, 30))

    assert (payment["TotalAmt"], payment["UnappliedAmt"]) == (80.0, 10.0)
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 0.0
    assert qbo.get("CreditMemo", memo["Id"])["RemainingCredit"] == 0.0


def test_a_partly_applied_credit_memo_keeps_the_rest(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)

    apply_credit(qbo, customer, 0, ("Invoice", invoice, 10), ("CreditMemo", memo, 10))

    assert qbo.get("CreditMemo", memo["Id"])["RemainingCredit"] == 20.0
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 90.0


def test_a_payment_with_no_lines_is_unapplied_credit(qbo, sale):
    customer, _, _ = sale

    payment = qbo.post("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 15})

    assert (payment["UnappliedAmt"], payment["Line"]) == (15.0, [])


def test_credit_memo_applications_that_do_not_add_up_are_refused_and_change_nothing(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    stranger = qbo.customer("Stranger Inc")
    strangers_memo = credit_memo(qbo, stranger, item, amount=30)
    body = {"CustomerRef": {"value": customer["Id"]}}

    def refused(total, *documents):
        lines = [{"Amount": a, "LinkedTxn": [{"TxnId": d["Id"], "TxnType": t}]} for t, d, a in documents]
        return qbo.fault("POST", "payment", {**body, "TotalAmt": total, "Line": lines})

    assert refused(0, ("Invoice", invoice, 40), ("CreditMemo", memo, 40)) == (400, "6000")  # over its credit
    assert refused(0, ("Invoice", invoice, 50), ("CreditMemo", memo, 30)) == (400, "6000")  # total too small
    assert refused(0, ("Invoice", invoice, 30), ("CreditMemo", strangers_memo, 30)) == (400, "6000")
    assert refused(0, ("Invoice", invoice, 10), ("CreditMemo", memo, 30)) == (400, "6000")  # credit over invoices
    assert refused(0, ("CreditMemo", {"Id": "999"}, 5)) == (400, "2500")
    assert qbo.get("CreditMemo", memo["Id"])["RemainingCredit"] == 30.0
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 100.0


@pytest.mark.parametrize("undo", ["void", "delete"])
def test_voiding_or_deleting_the_payment_gives_back_the_invoice_balance_and_the_credit(qbo, sale, undo):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    payment = apply_credit(qbo, customer, 70, ("Invoice", invoice, 100), ("CreditMemo", memo, 30))
    qbo.events.clear()

    if undo == "void":
        qbo.ok(
            "POST",
            "payment",
            {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
            operation="update",
            include="void",
        )
    else:
        qbo.ok("POST", "payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    memo_after = qbo.get("CreditMemo", memo["Id"])

    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 100.0
    assert qbo.get("Invoice", invoice["Id"])["LinkedTxn"] == []
    assert (memo_after["RemainingCredit"], memo_after["Balance"], memo_after["LinkedTxn"]) == (30.0, 30.0, [])
    assert qbo.operations() == [
        ("Payment", payment["Id"], "Void" if undo == "void" else "Delete"),
        ("Invoice", invoice["Id"], "Update"),
        ("CreditMemo", memo["Id"], "Update"),
    ]


def test_a_credit_memo_numbers_itself_when_custom_numbers_are_off_and_refuses_void():
    qbo = Qbo()
    qbo.api.update_preferences(REALM, {"SalesFormsPrefs": {"CustomTxnNumbers": False}})
    customer, item = qbo.customer(), qbo.item()

    first, second = credit_memo(qbo, customer, item), credit_memo(qbo, customer, item)

    assert (first["DocNumber"], second["DocNumber"]) == ("1001", "1002")
    assert qbo.fault("POST", "creditmemo", {"Id": first["Id"], "SyncToken": "0"}, operation="void") == (400, "500")


def test_a_credit_memo_cannot_be_deleted_while_a_payment_or_refund_uses_it(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    payment = apply_credit(qbo, customer, 0, ("Invoice", invoice, 30), ("CreditMemo", memo, 30))
    current = qbo.get("CreditMemo", memo["Id"])

    status, answer = qbo.call(
        "POST", "creditmemo", {"Id": memo["Id"], "SyncToken": current["SyncToken"]}, operation="delete"
    )
    qbo.ok("POST", "payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    current = qbo.get("CreditMemo", memo["Id"])
    deleted = qbo.ok("POST", "creditmemo", {"Id": memo["Id"], "SyncToken": current["SyncToken"]}, operation="delete")

    error = answer["Fault"]["Error"][0]
    assert (status, error["code"]) == (400, "6000")
    assert f"Payment {payment['Id']}" in error["Detail"]
    assert deleted["CreditMemo"]["status"] == "Deleted"


def test_a_credit_memo_total_cannot_fall_below_the_credit_already_used(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    apply_credit(qbo, customer, 0, ("Invoice", invoice, 20), ("CreditMemo", memo, 20))
    current = qbo.get("CreditMemo", memo["Id"])
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 15,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    body = {"Id": memo["Id"], "SyncToken": current["SyncToken"], "sparse": True}

    assert qbo.fault("POST", "creditmemo", {**body, "Line": [line]}) == (400, "6000")
    lowered = qbo.post("CreditMemo", {**body, "Line": [{**line, "Amount": 25}]})

    assert (lowered["TotalAmt"], lowered["RemainingCredit"]) == (25.0, 5.0)
    assert lowered["LinkedTxn"][0]["TxnType"] == "Payment"


def test_a_credit_memo_dated_in_the_closed_period_is_refused(qbo, sale):
    customer, item, _ = sale
    qbo.api.update_preferences(REALM, {"AccountingInfoPrefs": {"BookCloseDate": "2026-06-30"}})
    line = {"DetailType": "SalesItemLineDetail", "Amount": 5, "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}}}
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "TxnDate": "2026-06-30"}

    assert qbo.fault("POST", "creditmemo", body) == (400, "6210")
    assert qbo.fault("POST", "salesreceipt", body) == (400, "6210")


# --- sales receipts ----------------------------------------------------------------------------


def receipt_body(item, amount=40, **fields):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    return {"Line": [line], **fields}


def test_a_sales_receipt_needs_no_customer_is_paid_in_full_and_deposits_to_undeposited_funds(qbo, sale):
    customer, item, _ = sale

    anonymous = qbo.post("SalesReceipt", receipt_body(item, TotalAmt=1, Balance=5))
    named = qbo.post(
        "SalesReceipt",
        receipt_body(
            item,
            CustomerRef={"value": customer["Id"]},
            PaymentMethodRef={"value": "3"},
            PaymentRefNum="AUTH-0042",
            DepositToAccountRef={"value": "5"},
        ),
    )

    assert (anonymous["TotalAmt"], anonymous["Balance"], "CustomerRef" in anonymous) == (40.0, 0.0, False)
    assert anonymous["DepositToAccountRef"] == {"value": "4", "name": "Undeposited Funds"}
    assert named["PaymentMethodRef"] == {"value": "3", "name": "Visa"}
    assert (named["PaymentRefNum"], named["DepositToAccountRef"]["name"]) == ("AUTH-0042", "Checking")
    assert int(named["DocNumber"]) == int(anonymous["DocNumber"]) + 1
    assert qbo.get("Customer", customer["Id"])["Balance"] == 100.0  # a paid sale owes nothing


def test_a_sales_receipt_refuses_a_long_reference_a_bad_account_or_method(qbo, sale):
    _, item, _ = sale

    assert qbo.fault("POST", "salesreceipt", receipt_body(item, PaymentRefNum="x" * 22)) == (400, "2050")
    assert qbo.fault("POST", "salesreceipt", receipt_body(item, DepositToAccountRef={"value": "1"})) == (400, "6000")
    assert qbo.fault("POST", "salesreceipt", receipt_body(item, PaymentMethodRef={"value": "77"})) == (400, "2500")
    assert qbo.fault("POST", "salesreceipt", {"PaymentRefNum": "1"}) == (400, "2020")  # no line


@pytest.mark.parametrize("params", [{"operation": "update", "include": "void"}, {"operation": "void"}])
def test_a_sales_receipt_is_voided_like_an_invoice(qbo, sale, params):
    _, item, _ = sale
    receipt = qbo.post("SalesReceipt", receipt_body(item, PrivateNote="walk-in"))
    qbo.events.clear()

    voided = qbo.post("SalesReceipt", {"Id": receipt["Id"], "SyncToken": "0", "sparse": True}, **params)

    assert (voided["TotalAmt"], voided["Balance"], voided["Line"][0]["Amount"]) == (0.0, 0.0, 0.0)
    assert (voided["PrivateNote"], voided["SyncToken"]) == ("Voided - walk-in", "1")
    assert qbo.operations() == [("SalesReceipt", receipt["Id"], "Void")]
    assert qbo.fault("POST", "salesreceipt", {"Id": receipt["Id"], "SyncToken": "1"}, **params) == (400, "6000")


def test_a_sales_receipt_is_deleted(qbo, sale):
    _, item, _ = sale
    receipt = qbo.post("SalesReceipt", receipt_body(item))

    deleted = qbo.ok("POST", "salesreceipt", {"Id": receipt["Id"], "SyncToken": "0"}, operation="delete")

    assert deleted["SalesReceipt"]["status"] == "Deleted"
    assert qbo.fault("GET", f"salesreceipt/{receipt['Id']}") == (400, "610")


# --- refund receipts -----------------------------------------------------------------------------


def test_a_refund_receipt_needs_the_account_it_is_paid_from(qbo, sale):
    customer, item, _ = sale
    body = receipt_body(item, CustomerRef={"value": customer["Id"]}, PaymentMethodRef={"value": "2"})

    status, answer = qbo.call("POST", "refundreceipt", body)
    refund = qbo.post("RefundReceipt", {**body, "DepositToAccountRef": {"value": "5"}, "PaymentRefNum": "1042"})

    error = answer["Fault"]["Error"][0]
    assert (status, error["code"], error["element"]) == (400, "2020", "DepositToAccountRef")
    assert (refund["TotalAmt"], refund["Balance"]) == (40.0, 0.0)
    assert refund["DepositToAccountRef"] == {"value": "5", "name": "Checking"}
    assert refund["PaymentMethodRef"] == {"value": "2", "name": "Check"}
    assert qbo.fault("POST", "refundreceipt", {**body, "DepositToAccountRef": {"value": "3"}}) == (400, "6000")


def test_a_refund_receipt_is_deleted_not_voided(qbo, sale):
    _, item, _ = sale
    refund = qbo.post("RefundReceipt", receipt_body(item, DepositToAccountRef={"value": "5"}))
    ids = {"Id": refund["Id"], "SyncToken": "0"}

    assert qbo.fault("POST", "refundreceipt", ids, operation="void") == (400, "500")
    assert qbo.fault("POST", "refundreceipt", {**ids, "sparse": True}, operation="update", include="void") == (
        400,
        "500",
    )
    assert qbo.ok("POST", "refundreceipt", ids, operation="delete")["RefundReceipt"]["status"] == "Deleted"


def refund_of(qbo, memo, amount, item, **fields):
    body = receipt_body(
        item,
        amount=amount,
        CustomerRef=memo["CustomerRef"],
        DepositToAccountRef={"value": "5"},
        LinkedTxn=[{"TxnType": "CreditMemo", "TxnId": memo["Id"]}],
    )
    return {**body, **fields}


def test_a_refund_receipt_pays_out_a_credit_memo_and_deleting_it_gives_the_credit_back(qbo, sale):
    customer, item, _ = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    qbo.events.clear()

    refund = qbo.post("RefundReceipt", refund_of(qbo, memo, 20, item))
    after_refund = qbo.get("CreditMemo", memo["Id"])
    qbo.ok("POST", "refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete")
    after_delete = qbo.get("CreditMemo", memo["Id"])

    assert refund["LinkedTxn"] == [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]
    assert (after_refund["RemainingCredit"], after_refund["Balance"]) == (10.0, 10.0)
    assert after_refund["LinkedTxn"] == [{"TxnId": refund["Id"], "TxnType": "RefundReceipt"}]
    assert (after_delete["RemainingCredit"], after_delete["LinkedTxn"]) == (30.0, [])
    assert qbo.operations() == [
        ("RefundReceipt", refund["Id"], "Create"),
        ("CreditMemo", memo["Id"], "Update"),
        ("RefundReceipt", refund["Id"], "Delete"),
        ("CreditMemo", memo["Id"], "Update"),
    ]


def test_a_refund_of_a_credit_memo_is_refused_over_its_credit_or_for_another_customer(qbo, sale):
    customer, item, invoice = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    apply_credit(qbo, customer, 0, ("Invoice", invoice, 25), ("CreditMemo", memo, 25))
    stranger = qbo.customer("Stranger Inc")

    assert qbo.fault("POST", "refundreceipt", refund_of(qbo, memo, 6, item)) == (400, "6000")
    assert qbo.fault("POST", "refundreceipt", refund_of(qbo, memo, 5, item, CustomerRef={"value": stranger["Id"]})) == (
        400,
        "6000",
    )
    assert qbo.fault(
        "POST", "refundreceipt", refund_of(qbo, memo, 5, item, LinkedTxn=[{"TxnType": "Invoice", "TxnId": "1"}])
    ) == (400, "500")
    refund = qbo.post("RefundReceipt", refund_of(qbo, memo, 5, item))
    memo_after = qbo.get("CreditMemo", memo["Id"])

    assert memo_after["RemainingCredit"] == 0.0
    assert [link["TxnType"] for link in memo_after["LinkedTxn"]] == ["Payment", "RefundReceipt"]
    assert qbo.fault(
        "POST", "creditmemo", {"Id": memo["Id"], "SyncToken": memo_after["SyncToken"]}, operation="delete"
    ) == (400, "6000")
    assert refund["TotalAmt"] == 5.0


def test_a_refund_update_may_keep_the_credit_it_already_took(qbo, sale):
    customer, item, _ = sale
    memo = credit_memo(qbo, customer, item, amount=30)
    refund = qbo.post("RefundReceipt", refund_of(qbo, memo, 30, item))

    updated = qbo.post("RefundReceipt", {**refund_of(qbo, memo, 30, item), "Id": refund["Id"], "SyncToken": "0"})

    assert updated["SyncToken"] == "1"
    assert qbo.get("CreditMemo", memo["Id"])["RemainingCredit"] == 0.0


# --- queries, CDC and webhooks ---------------------------------------------------------------------


def test_the_new_documents_answer_queries_by_customer_date_and_id(qbo, sale):
    customer, item, _ = sale
    other = qbo.customer("Other Co")
    memo = credit_memo(qbo, customer, item, amount=30)
    credit_memo(qbo, other, item, amount=10)
    dated = {"TxnDate": "2026-12-01"}
    payment = qbo.post("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 5, **dated})
    qbo.post("Payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 6, "TxnDate": "2026-12-02"})
    receipts = [qbo.post("SalesReceipt", receipt_body(item, amount=a)) for a in (1, 2, 3)]

    memos = qbo.query(f"select * from CreditMemo where CustomerRef = '{customer['Id']}'")["CreditMemo"]
    payments = qbo.query(f"select * from Payment where CustomerRef = '{customer['Id']}' and TxnDate = '2026-12-01'")[
        "Payment"
    ]
    picked = qbo.query(f"select * from SalesReceipt where Id IN ('{receipts[0]['Id']}', '{receipts[2]['Id']}')")

    assert [m["Id"] for m in memos] == [memo["Id"]] and memos[0]["RemainingCredit"] == 30.0
    assert [p["Id"] for p in payments] == [payment["Id"]]
    assert [r["TotalAmt"] for r in picked["SalesReceipt"]] == [1.0, 3.0]
    assert qbo.query("select count(*) from RefundReceipt") == {"totalCount": 0}


def test_cdc_reports_every_new_entity_with_changes_and_deletions(qbo, sale):
    customer, item, _ = sale
    since = qbo.clock.now().isoformat()
    memo = credit_memo(qbo, customer, item, amount=30)
    receipt = qbo.post("SalesReceipt", receipt_body(item))
    refund = qbo.post("RefundReceipt", receipt_body(item, DepositToAccountRef={"value": "4"}))
    qbo.ok("POST", "refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete")
    method = qbo.post("PaymentMethod", {"Name": "Gift card"})

    answer = qbo.ok("GET", "cdc", entities="creditmemo,SalesReceipt,RefundReceipt,PaymentMethod", changedSince=since)
    groups = {
        next(k for k in g if k not in ("startPosition", "maxResults")): g
        for g in answer["CDCResponse"][0]["QueryResponse"]
    }

    assert [m["Id"] for m in groups["CreditMemo"]["CreditMemo"]] == [memo["Id"]]
    assert [r["Id"] for r in groups["SalesReceipt"]["SalesReceipt"]] == [receipt["Id"]]
    assert groups["RefundReceipt"]["RefundReceipt"] == [
        {
            "Id": refund["Id"],
            "status": "Deleted",
            "domain": "QBO",
            "MetaData": groups["RefundReceipt"]["RefundReceipt"][0]["MetaData"],
        }
    ]
    assert [m["Name"] for m in groups["PaymentMethod"]["PaymentMethod"]] == [method["Name"]]


# --- bookkeeper actions ----------------------------------------------------------------------------


def test_a_bookkeeper_issues_applies_and_refunds_a_credit_memo(qbo, sale):
    customer, item, invoice = sale

    memo = qbo.api.issue_credit_memo(REALM, customer["Id"], Decimal("50"))
    payment = qbo.api.apply_credit_memo(REALM, memo["Id"], invoice["Id"], 20)
    refund = qbo.api.refund_credit_memo(REALM, memo["Id"])
    memo_after = qbo.get("CreditMemo", memo["Id"])

    assert (memo["TotalAmt"], memo["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]) == (50.0, item["Id"])
    assert (payment["TotalAmt"], [line["Amount"] for line in payment["Line"]]) == (0.0, [20.0, 20.0])
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 80.0
    assert (refund["TotalAmt"], refund["DepositToAccountRef"]["name"]) == (30.0, "Checking")
    assert refund["LinkedTxn"] == [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]
    assert memo_after["RemainingCredit"] == 0.0
    with pytest.raises(QboFault) as nothing_left:
        qbo.api.refund_credit_memo(REALM, memo["Id"])
    with pytest.raises(QboFault) as still_used:
        qbo.api.delete_credit_memo(REALM, memo["Id"])
    assert (nothing_left.value.code, still_used.value.code) == ("6000", "6000")

    qbo.api.delete_refund_receipt(REALM, refund["Id"])
    qbo.api.delete_payment(REALM, payment["Id"])
    deleted = qbo.api.delete_credit_memo(REALM, memo["Id"])

    assert deleted["status"] == "Deleted"
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 100.0


def test_a_bookkeeper_applies_as_much_credit_as_both_documents_allow(qbo, sale):
    customer, _, invoice = sale
    small = qbo.api.issue_credit_memo(REALM, customer["Id"], 30)
    large = qbo.api.issue_credit_memo(REALM, customer["Id"], 500)

    first = qbo.api.apply_credit_memo(REALM, small["Id"], invoice["Id"])
    second = qbo.api.apply_credit_memo(REALM, large["Id"], invoice["Id"])

    assert (first["Line"][0]["Amount"], second["Line"][0]["Amount"]) == (30.0, 70.0)
    assert qbo.get("CreditMemo", large["Id"])["RemainingCredit"] == 430.0
    with pytest.raises(QboFault) as paid:
        qbo.api.apply_credit_memo(REALM, large["Id"], invoice["Id"])
    assert paid.value.code == "6000"


def test_a_bookkeeper_refunds_from_a_named_account_and_refuses_a_non_bank_one(qbo, sale):
    customer, _, _ = sale
    memo = qbo.api.issue_credit_memo(REALM, customer["Id"], 30)

    refund = qbo.api.refund_credit_memo(REALM, memo["Id"], 10, account_id="6")
    with pytest.raises(QboFault) as refused:
        qbo.api.refund_credit_memo(REALM, memo["Id"], 10, account_id="1")

    assert refund["DepositToAccountRef"]["name"] == "Savings"
    assert (refused.value.code, refused.value.errors[0][3]) == ("6000", "DepositToAccountRef")


def test_a_bookkeeper_takes_and_voids_a_sales_receipt(qbo, sale):
    customer, item, _ = sale
    qbo.events.clear()

    receipt = qbo.api.create_sales_receipt(REALM, customer["Id"], "12.50", item_id=item["Id"])
    voided = qbo.api.void_sales_receipt(REALM, receipt["Id"])

    assert (receipt["TotalAmt"], receipt["Balance"]) == (12.5, 0.0)
    assert (voided["TotalAmt"], voided["PrivateNote"]) == (0.0, "Voided")
    assert qbo.operations() == [("SalesReceipt", receipt["Id"], "Create"), ("SalesReceipt", receipt["Id"], "Void")]
    with pytest.raises(QboFault) as negative:
        qbo.api.create_sales_receipt(REALM, customer["Id"], -1)
    assert negative.value.code == "6000"


def test_bookkeeper_documents_are_untaxed_whatever_the_tax_model():
    api = AccountingApi(Clock())
    for realm in ("9130350000000003", "9130350000000004", "9130350000000005"):
        api.add_company(realm, "Taxed Co")
        buyer = api.handle(realm, "POST", "customer", {}, b'{"DisplayName": "Buyer"}')[1]["Customer"]
        income = next(a for a in api.dump(realm)["entities"]["Account"] if a["AccountType"] == "Income")
        body = f'{{"Name": "Apples", "Type": "Service", "IncomeAccountRef": {{"value": "{income["Id"]}"}}}}'
        api.handle(realm, "POST", "item", {}, body.encode())

        memo = api.issue_credit_memo(realm, buyer["Id"], 40)
        receipt = api.create_sales_receipt(realm, buyer["Id"], 40)

        assert (realm, memo["TotalAmt"], receipt["TotalAmt"]) == (realm, 40.0, 40.0)


def test_a_bookkeeper_action_without_an_item_in_the_company_says_so(qbo):
    customer = qbo.customer()

    with pytest.raises(QboFault) as caught:
        qbo.api.issue_credit_memo(REALM, customer["Id"], 10)

    assert caught.value.code == "6000" and "item" in caught.value.errors[0][2]


def test_python_quickbooks_default_exchange_rate_of_zero_on_a_credit_memo_counts_as_not_sent():
    api = AccountingApi(Clock())
    realm = "9130350000000006"  # multi-currency on
    api.add_company(realm, "Border Co")
    customer = api.handle(realm, "POST", "customer", {}, b'{"DisplayName": "Buyer"}')[1]["Customer"]
    income = next(a for a in api.dump(realm)["entities"]["Account"] if a["AccountType"] == "Income")
    body = f'{{"Name": "Apples", "Type": "Service", "IncomeAccountRef": {{"value": "{income["Id"]}"}}}}'
    item = api.handle(realm, "POST", "item", {}, body.encode())[1]["Item"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    memo = {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "ExchangeRate": 0}

    status, answer = api.handle(realm, "POST", "creditmemo", {}, json.dumps(memo).encode())
    refused, _ = api.handle(realm, "POST", "invoice", {}, json.dumps(memo).encode())

    assert status == 200 and answer["CreditMemo"]["ExchangeRate"] == 1
    assert refused == 400  # an invoice's explicit 0 stays refused
