"""Money moving from the app, played by the engine: payment methods, bank accounts and credit memos applied through
payments (docs/quickbooks/entities.md#paymentmethod, docs/quickbooks/entities.md#creditmemo). Sales receipts, refund
receipts, the new documents' queries and CDC, and the bookkeeper's money actions are in test_money_receipts.py."""

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
