"""What the company owes, played by the engine (docs/quickbooks/beyond.md#the-brokers-own-books): vendors, bills and
bill payments — the required fields and their faults, balances, delete only while unpaid, void and delete giving the
balance back, the closing date, queries, CDC, events and the bookkeeper's actions."""

from __future__ import annotations

import pytest

from qbo_integration.emulator.engine import QboFault

from .test_accounting import REALM, Qbo


@pytest.fixture
def qbo():
    return Qbo()


def account_ids(qbo) -> dict[str, str]:
    return {a["Name"]: a["Id"] for a in qbo.query("select * from Account")["Account"]}


def bill_body(vendor, account_id, *amounts, **fields):
    lines = [
        {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": amount,
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account_id}},
        }
        for amount in amounts
    ]
    return {"VendorRef": {"value": vendor["Id"]}, "Line": lines, **fields}


@pytest.fixture
def owed(qbo):
    """A vendor and its 200.00 bill on the Purchases account; events cleared."""
    vendor = qbo.post("Vendor", {"DisplayName": "Green Valley Farms"})
    bill = qbo.post("Bill", bill_body(vendor, account_ids(qbo)["Purchases"], 150, 50))
    qbo.events.clear()
    return vendor, bill


def check(bill, amount, bank="5", **fields):
    return {
        "VendorRef": bill["VendorRef"],
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": bank}},
        "TotalAmt": amount,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        **fields,
    }


def test_every_company_has_accounts_payable_and_expense_accounts(qbo):
    accounts = {a["Name"]: a for a in qbo.query("select * from Account")["Account"]}

    assert accounts["Accounts Payable (A/P)"]["AccountType"] == "Accounts Payable"
    assert accounts["Accounts Payable (A/P)"]["Classification"] == "Liability"
    assert (accounts["Purchases"]["AccountType"], accounts["Commissions & fees"]["AccountType"]) == (
        "Cost of Goods Sold",
        "Expense",
    )


def test_a_bill_takes_intuits_defaults_and_computes_its_amounts(qbo, owed):
    vendor, bill = owed

    assert (bill["TotalAmt"], bill["Balance"], bill["LinkedTxn"]) == (200.0, 200.0, [])
    assert bill["APAccountRef"] == {"value": "7", "name": "Accounts Payable (A/P)"}
    assert bill["DueDate"] == bill["TxnDate"]
    detail = bill["Line"][0]["AccountBasedExpenseLineDetail"]
    assert (detail["BillableStatus"], detail["TaxCodeRef"], detail["AccountRef"]["name"]) == (
        "NotBillable",
        {"value": "NON"},
        "Purchases",
    )
    assert [line["LineNum"] for line in bill["Line"]] == [1, 2]
    assert qbo.get("Vendor", vendor["Id"])["Balance"] == 200.0


def test_a_bill_due_date_follows_its_term_and_its_number_is_the_vendors_own(qbo, owed):
    vendor, _ = owed
    other = qbo.post("Vendor", {"DisplayName": "Sunrise Orchards"})
    body = bill_body(vendor, account_ids(qbo)["Purchases"], 10, TxnDate="2026-11-02", DocNumber="KD-2026-00001")
    first = qbo.post("Bill", {**body, "SalesTermRef": {"value": "3"}})  # Net 30
    theirs = qbo.post("Bill", {**body, "VendorRef": {"value": other["Id"]}})  # another vendor's number space

    duplicate = qbo.fault("POST", "bill", body)
    allowed = qbo.post("Bill", body, include="allowduplicatedocnum")

    assert (first["DueDate"], first["DocNumber"], theirs["DocNumber"]) == (
        "2026-12-02",
        "KD-2026-00001",
        "KD-2026-00001",
    )
    assert duplicate == (400, "6140") and allowed["DocNumber"] == "KD-2026-00001"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda b: {k: v for k, v in b.items() if k != "VendorRef"}, "2020"),
        (lambda b: {**b, "Line": []}, "2020"),
        (lambda b: {**b, "VendorRef": {"value": "999"}}, "2500"),
        (lambda b: {**b, "Line": [{**b["Line"][0], "AccountBasedExpenseLineDetail": {}}]}, "2020"),
        (lambda b: {**b, "Line": [{**b["Line"][0], "DetailType": "SalesItemLineDetail"}]}, "2170"),
        (lambda b: {**b, "Line": [{**b["Line"][0], "Amount": -1}]}, "6000"),
        (lambda b: {**b, "APAccountRef": {"value": "5"}}, "6000"),  # Checking is not Accounts Payable
        (lambda b: {**b, "DocNumber": "X" * 22}, "2050"),
    ],
)
def test_a_bad_bill_is_refused_with_quickbooks_fault(qbo, owed, change, code):
    vendor, _ = owed
    body = bill_body(vendor, account_ids(qbo)["Purchases"], 10)

    assert qbo.fault("POST", "bill", change(body)) == (400, code)


def test_python_quickbooks_exchange_rate_zero_counts_as_not_sent(qbo, owed):
    vendor, _ = owed

    bill = qbo.post("Bill", bill_body(vendor, account_ids(qbo)["Purchases"], 10, ExchangeRate=0))

    assert "ExchangeRate" not in bill and bill["TotalAmt"] == 10.0


def test_a_check_pays_the_bill_and_a_void_opens_it_again(qbo, owed):
    vendor, bill = owed

    payment = qbo.post("BillPayment", check(bill, 200))
    paid = qbo.get("Bill", bill["Id"])
    voided = qbo.post("BillPayment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}, operation="void")
    reopened = qbo.get("Bill", bill["Id"])

    assert (paid["Balance"], paid["LinkedTxn"], paid["SyncToken"]) == (
        0.0,
        [{"TxnId": payment["Id"], "TxnType": "BillPaymentCheck"}],
        "1",
    )
    assert (voided["TotalAmt"], voided["Line"], voided["PrivateNote"]) == (0.0, [], "Voided")
    assert (reopened["Balance"], reopened["LinkedTxn"]) == (200.0, [])
    assert qbo.get("Vendor", vendor["Id"])["Balance"] == 200.0
    assert qbo.operations() == [
        ("BillPayment", payment["Id"], "Create"),
        ("Bill", bill["Id"], "Update"),
        ("BillPayment", payment["Id"], "Void"),
        ("Bill", bill["Id"], "Update"),
    ]


def test_a_paid_bill_is_deleted_only_once_its_payment_is_deleted(qbo, owed):
    _, bill = owed
    payment = qbo.post("BillPayment", check(bill, 120))
    current = qbo.get("Bill", bill["Id"])

    refused = qbo.fault("POST", "bill", {"Id": bill["Id"], "SyncToken": current["SyncToken"]}, operation="delete")
    qbo.ok("POST", "billpayment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}, operation="delete")
    current = qbo.get("Bill", bill["Id"])
    deleted = qbo.ok("POST", "bill", {"Id": bill["Id"], "SyncToken": current["SyncToken"]}, operation="delete")

    assert refused == (400, "6000") and current["Balance"] == 200.0
    assert deleted["Bill"]["status"] == "Deleted"
    assert qbo.fault("GET", f"bill/{bill['Id']}") == (400, "610")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda p: {**p, "TotalAmt": 300, "Line": [{**p["Line"][0], "Amount": 300}]}, "6000"),  # above the balance
        (lambda p: {**p, "TotalAmt": 10}, "6000"),  # lines above the total
        (lambda p: {**p, "PayType": "Cash"}, "2170"),
        (lambda p: {k: v for k, v in p.items() if k != "PayType"}, "2020"),
        (lambda p: {**p, "CheckPayment": {"BankAccountRef": {"value": "4"}}}, "6000"),  # not a Bank account
        (lambda p: {**p, "TotalAmt": -5, "Line": []}, "6000"),
        (lambda p: {**p, "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}]}, "500"),
    ],
)
def test_a_bad_bill_payment_is_refused(qbo, owed, change, code):
    _, bill = owed

    assert qbo.fault("POST", "billpayment", change(check(bill, 50))) == (400, code)


def test_a_bill_payment_may_pay_only_its_own_vendors_bills(qbo, owed):
    _, bill = owed
    other = qbo.post("Vendor", {"DisplayName": "Sunrise Orchards"})

    body = {**check(bill, 50), "VendorRef": {"value": other["Id"]}}

    assert qbo.fault("POST", "billpayment", body) == (400, "6000")


def test_a_bill_total_cannot_go_below_what_is_paid(qbo, owed):
    vendor, bill = owed
    qbo.post("BillPayment", check(bill, 150))
    current = qbo.get("Bill", bill["Id"])

    lowered = {**current, "Line": bill_body(vendor, account_ids(qbo)["Purchases"], 100)["Line"]}
    raised = {**current, "sparse": True, "Line": bill_body(vendor, account_ids(qbo)["Purchases"], 260)["Line"]}

    assert qbo.fault("POST", "bill", lowered) == (400, "6000")
    assert qbo.post("Bill", raised)["Balance"] == 110.0


def test_bills_are_queried_by_vendor_and_followed_by_cdc(qbo, owed):
    vendor, bill = owed
    since = qbo.clock.now().isoformat()
    payment = qbo.post("BillPayment", check(bill, 20))

    found = qbo.query(f"select * from Bill where VendorRef = '{vendor['Id']}' and MetaData.CreateTime >= '2000-01-01'")
    changes = qbo.ok("GET", "cdc", entities="bill,BillPayment,Vendor", changedSince=since)["CDCResponse"][0]

    assert [b["Id"] for b in found["Bill"]] == [bill["Id"]]
    groups = {name: rows for group in changes["QueryResponse"] for name, rows in group.items() if name[0].isupper()}
    assert [b["Balance"] for b in groups["Bill"]] == [180.0]
    assert [p["Id"] for p in groups["BillPayment"]] == [payment["Id"]]


def test_an_existing_state_file_without_accounts_payable_gets_one(qbo, owed):
    vendor, _ = owed
    company = qbo.api.companies[REALM]
    for account in company.entities["Account"].values():
        if account["AccountType"] == "Accounts Payable":
            account["AccountType"] = "Other Current Liability"

    bill = qbo.post("Bill", bill_body(vendor, account_ids(qbo)["Purchases"], 10))

    created = qbo.get("Account", bill["APAccountRef"]["value"])
    assert (created["Name"], created["AccountType"]) == ("Accounts Payable (A/P)", "Accounts Payable")


def test_the_closing_date_applies_to_bills(qbo, owed):
    vendor, _ = owed
    qbo.api.update_preferences(REALM, {"AccountingInfoPrefs": {"BookCloseDate": "2026-06-30"}})

    body = bill_body(vendor, account_ids(qbo)["Purchases"], 10, TxnDate="2026-06-01")

    assert qbo.fault("POST", "bill", body) == (400, "6210")


def test_the_bookkeeper_pays_voids_and_deletes(qbo, owed):
    _, bill = owed

    partial = qbo.api.pay_bill(REALM, bill["Id"], 50)
    rest = qbo.api.pay_bill(REALM, bill["Id"])
    with pytest.raises(QboFault):
        qbo.api.pay_bill(REALM, bill["Id"])  # nothing left to pay
    with pytest.raises(QboFault):
        qbo.api.delete_bill(REALM, bill["Id"])  # paid: unlink first
    qbo.api.void_bill_payment(REALM, partial["Id"])
    qbo.api.delete_bill_payment(REALM, rest["Id"])
    qbo.api.delete_bill(REALM, bill["Id"])

    assert (partial["TotalAmt"], rest["TotalAmt"], rest["CheckPayment"]["BankAccountRef"]["value"]) == (
        50.0,
        150.0,
        "5",
    )
    assert [(e, o) for e, _, o in qbo.operations()][-3:] == [
        ("BillPayment", "Delete"),
        ("Bill", "Update"),
        ("Bill", "Delete"),
    ]
