"""Money moving from the app, played by the engine: payment methods, bank accounts, credit memos applied through
payments, sales receipts and refund receipts (docs/quickbooks/entities.md#paymentmethod,
docs/quickbooks/entities.md#creditmemo, docs/quickbooks/entities.md#salesreceipt,
docs/quickbooks/entities.md#refundreceipt)."""

from __future__ import annotations

import pytest

from qbo_integration.emulator.clock import Clock
from qbo_integration.emulator.engine import AccountingApi

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
    assert names_by_id(qbo.query("select * from PaymentMethod where Active = false")["PaymentMethod"]) == {
        "3": "Visa"
    }
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
