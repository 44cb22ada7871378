"""The Accounting API engine, called directly (no HTTP, no Django)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from qbo_integration.emulator.clock import Clock
from qbo_integration.emulator.engine import AccountingApi, Company, QboFault

REALM = "9130354"


class Qbo:
    """A tiny client over ``AccountingApi.handle`` plus the listener's events."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.events: list[tuple] = []
        self.api = AccountingApi(self.clock, lambda *event: self.events.append(event))
        self.api.add_company(REALM, "Kadouri Test Co")

    def call(self, method, path, body=None, raw=None, realm=REALM, **params):
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
        params = {"minorversion": "75", **params}
        return self.api.handle(realm, method, path, params, data)

    def ok(self, method, path, body=None, **params):
        status, payload = self.call(method, path, body, **params)
        assert status == 200, payload
        assert "time" in payload
        return payload

    def fault(self, method, path, body=None, **params):
        status, payload = self.call(method, path, body, **params)
        error = payload["Fault"]["Error"][0]
        return status, error["code"]

    def get(self, entity, entity_id):
        return self.ok("GET", f"{entity.lower()}/{entity_id}")[entity]

    def post(self, entity, body, **params):
        return self.ok("POST", entity.lower(), body, **params)[entity]

    def customer(self, name="Acme Ltd", **fields):
        return self.post("Customer", {"DisplayName": name, **fields})

    def item(self, name="Consulting", **fields):
        body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        return self.post("Item", {**body, **fields})

    def invoice(self, customer, item, amount=100, entity="Invoice", **fields):
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": amount,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
        }
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line], **fields}
        return self.post(entity, body)

    def payment(self, customer, amount, *invoices):
        lines = [{"Amount": a, "LinkedTxn": [{"TxnId": i["Id"], "TxnType": "Invoice"}]} for i, a in invoices]
        body = {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": amount,
            "Line": lines,
        }
        return self.post("Payment", body)

    def query(self, text):
        return self.ok("GET", "query", query=text)["QueryResponse"]

    def operations(self):
        return [(e[1], e[2], e[3]) for e in self.events]


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


# --- seed and envelope -------------------------------------------------------------


def test_it_seeds_company_info_accounts_and_terms(qbo):
    info = qbo.get("CompanyInfo", REALM)
    accounts = {a["Name"]: a for a in qbo.query("SELECT * FROM Account")["Account"]}
    terms = {t["Name"]: t for t in qbo.query("SELECT * FROM Term")["Term"]}

    assert info["CompanyName"] == "Kadouri Test Co"
    assert accounts["Services"]["AccountType"] == "Income"
    assert accounts["Sales of Product Income"]["Classification"] == "Revenue"
    assert accounts["Accounts Receivable (A/R)"]["AccountType"] == "Accounts Receivable"
    assert accounts["Undeposited Funds"]["AccountType"] == "Other Current Asset"
    assert {n: t["DueDays"] for n, t in terms.items()} == {
        "Due on receipt": 0,
        "Net 15": 15,
        "Net 30": 30,
        "Net 60": 60,
    }
    assert qbo.events == []


def test_it_answers_a_create_in_the_qbo_envelope(qbo):
    payload = qbo.ok("POST", "customer", {"DisplayName": "Acme Ltd"})
    customer = payload["Customer"]

    assert customer["Id"] == "1" and isinstance(customer["Id"], str)
    assert customer["SyncToken"] == "0"
    assert customer["domain"] == "QBO" and customer["sparse"] is False
    assert customer["Active"] is True
    assert customer["MetaData"]["CreateTime"] == customer["MetaData"]["LastUpdatedTime"]
    assert payload["time"].startswith(qbo.clock.now().date().isoformat())
    assert qbo.operations() == [("Customer", "1", "Create")]


def test_it_bumps_sync_token_and_last_updated_time_on_every_update(qbo):
    customer = qbo.customer()
    qbo.clock.advance(60)
    first = qbo.post("Customer", {**customer, "Notes": "one"})
    qbo.clock.advance(60)
    second = qbo.post("Customer", {**first, "Notes": "two"})

    assert (first["SyncToken"], second["SyncToken"]) == ("1", "2")
    assert second["MetaData"]["CreateTime"] == customer["MetaData"]["CreateTime"]
    assert second["MetaData"]["LastUpdatedTime"] > first["MetaData"]["LastUpdatedTime"]


def test_it_refuses_a_stale_sync_token_with_5010(qbo):
    customer = qbo.customer()
    qbo.post("Customer", {**customer, "Notes": "changed"})

    status, code = qbo.fault("POST", "customer", {**customer, "Notes": "lost"})

    assert (status, code) == (400, "5010")
    assert qbo.get("Customer", customer["Id"])["Notes"] == "changed"


def test_it_clears_omitted_fields_on_full_update_and_keeps_them_on_sparse(qbo):
    customer = qbo.customer(Notes="keep?", CompanyName="Acme")

    sparse = qbo.post("Customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Notes": "new"})
    full = qbo.post("Customer", {"Id": "1", "SyncToken": "1", "DisplayName": "Acme Ltd"})

    assert sparse["Notes"] == "new" and sparse["CompanyName"] == "Acme"
    assert "Notes" not in full and "CompanyName" not in full
    assert customer["SyncToken"] == "0" and full["SyncToken"] == "2"


def test_it_answers_610_for_an_unknown_id(qbo):
    assert qbo.fault("GET", "invoice/999") == (400, "610")
    assert qbo.fault("GET", "customer/999") == (400, "610")


def test_it_refuses_an_unknown_property_with_2010(qbo):
    status, code = qbo.fault("POST", "customer", {"DisplayName": "A", "Colour": "red"})

    assert (status, code) == (400, "2010")


def test_it_refuses_malformed_json_with_2010(qbo):
    status, payload = qbo.call("POST", "customer", raw=b"{not json")

    assert status == 400 and payload["Fault"]["Error"][0]["code"] == "2010"


def test_it_accepts_what_python_quickbooks_really_sends(qbo):
    # docs/quickbooks/libraries.md#what-python-quickbooks-sends: defaults as "", 0, SyncToken int, read-only fields,
    # empty refs.
    customer = qbo.post(
        "Customer",
        {
            "Active": True,
            "Balance": 0,
            "BalanceWithJobs": 0,
            "BillWithParent": False,
            "CompanyName": "",
            "DisplayName": "Acme Ltd",
            "FamilyName": "",
            "FullyQualifiedName": "",
            "GivenName": "",
            "IsProject": False,
            "Job": False,
            "Level": 0,
            "Notes": "",
            "OpenBalanceDate": "",
            "PrimaryTaxIdentifier": "",
            "PrintOnCheckName": "",
            "ResaleNum": "",
            "Suffix": "",
            "SyncToken": 0,
            "Taxable": True,
            "Title": "",
            "domain": "QBO",
            "sparse": False,
            "ParentRef": {"name": "", "type": "", "value": ""},
        },
    )
    item = qbo.item()
    invoice = qbo.post(
        "Invoice",
        {
            "AllowIPNPayment": True,
            "ApplyTaxAfterDiscount": False,
            "Balance": 0,
            "CustomField": [],
            "CustomerRef": {"name": "", "type": "", "value": "1"},
            "Deposit": 0,
            "DueDate": "",
            "EmailStatus": "NotSet",
            "ExchangeRate": 1,
            "GlobalTaxCalculation": "TaxExcluded",
            "HomeBalance": 0,
            "HomeTotalAmt": 0,
            "InvoiceLink": "",
            "LinkedTxn": [],
            "PrintStatus": "NotSet",
            "PrivateNote": "",
            "ShipDate": "",
            "SyncToken": 0,
            "TotalAmt": "",
            "TrackingNum": "",
            "TxnDate": "",
            "domain": "QBO",
            "sparse": False,
            "Line": [
                {
                    "Amount": 80,
                    "CustomField": [],
                    "DetailType": "SalesItemLineDetail",
                    "LineNum": 0,
                    "LinkedTxn": [],
                    "SalesItemLineDetail": {
                        "ItemRef": {"name": "", "type": "", "value": item["Id"]},
                        "Qty": 0,
                        "ServiceDate": "",
                        "TaxInclusiveAmt": 0,
                        "UnitPrice": 0,
                    },
                }
            ],
        },
    )
    updated = qbo.post("Invoice", {**invoice, "SyncToken": 0, "PrivateNote": "read back"})

    assert customer["DisplayName"] == "Acme Ltd" and "ParentRef" not in customer
    assert invoice["TotalAmt"] == 80.0 and invoice["Balance"] == 80.0
    assert invoice["CustomerRef"] == {"value": "1", "name": "Acme Ltd"}
    assert updated["SyncToken"] == "1" and updated["TotalAmt"] == 80.0
    assert len(updated["Line"]) == 2  # the echoed subtotal line was not doubled


def test_it_round_trips_python_quickbooks_objects(qbo):
    pytest.importorskip("quickbooks")
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.invoice import Invoice

    customer = Customer.from_json(qbo.customer())
    customer.Notes = "via python-quickbooks"
    saved = qbo.ok("POST", "customer", raw=customer.to_json().encode())["Customer"]
    invoice = Invoice.from_json(qbo.invoice(saved, qbo.item(), amount=25))
    invoice.PrivateNote = "edited"
    updated = qbo.ok("POST", "invoice", raw=invoice.to_json().encode())["Invoice"]

    assert saved["SyncToken"] == "1" and saved["Notes"] == "via python-quickbooks"
    assert updated["SyncToken"] == "1" and updated["TotalAmt"] == 25.0


# --- names ----------------------------------------------------------------------------


def test_it_refuses_a_duplicate_display_name_case_insensitively_even_if_inactive(qbo):
    customer = qbo.customer("Acme Ltd")
    qbo.post("Customer", {**customer, "Active": False})

    assert qbo.fault("POST", "customer", {"DisplayName": "ACME ltd"}) == (400, "6240")
    assert qbo.query("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)") == {"totalCount": 1}


@pytest.mark.parametrize("name", ["Acme: West", "Acme\tWest", "Acme\nWest"])
def test_it_refuses_separators_in_display_names(qbo, name):
    status, payload = qbo.call("POST", "customer", {"DisplayName": name})

    error = payload["Fault"]["Error"][0]
    assert (status, error["code"], error["element"]) == (400, "6000", "DisplayName")


def test_it_builds_display_name_from_name_parts_and_needs_some_name(qbo):
    customer = qbo.post("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace"})

    assert customer["DisplayName"] == "Ada Lovelace"
    assert qbo.fault("POST", "customer", {"Notes": "nameless"}) == (400, "6080")
    assert qbo.fault("POST", "customer", {"DisplayName": "x" * 501}) == (400, "2050")


def test_it_validates_items(qbo):
    service = {"Name": "Design", "Type": "Service"}

    assert qbo.fault("POST", "item", service) == (400, "2020")  # no IncomeAccountRef
    assert qbo.post("Item", {"Name": "Box", "Type": "NonInventory"})["Type"] == "NonInventory"
    assert qbo.fault("POST", "item", {"Name": "x" * 101, "Type": "NonInventory"}) == (
        400,
        "2050",
    )
    assert qbo.fault("POST", "item", {"Name": "BOX", "Type": "NonInventory"}) == (
        400,
        "6240",
    )
    assert qbo.fault("POST", "item", {**service, "IncomeAccountRef": {"value": "99"}}) == (
        400,
        "2500",
    )
    assert qbo.fault("POST", "item", {"Name": "Kit", "Type": "Gadget"}) == (400, "2170")


def test_it_hides_inactive_names_from_default_queries_only(qbo):
    qbo.customer("Active One")
    gone = qbo.customer("Gone")
    qbo.post(
        "Customer",
        {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False},
    )

    default = qbo.query("SELECT * FROM Customer")["Customer"]
    inactive = qbo.query("SELECT * FROM Customer WHERE Active = false")["Customer"]
    both = qbo.query("SELECT * FROM Customer WHERE Active IN (true, false)")["Customer"]

    assert [c["DisplayName"] for c in default] == ["Active One"]
    assert [c["DisplayName"] for c in inactive] == ["Gone"]
    assert len(both) == 2
    assert qbo.get("Customer", gone["Id"])["Active"] is False


def test_it_refuses_deleting_names(qbo):
    customer = qbo.customer()

    status, code = qbo.fault("POST", "customer", customer, operation="delete")

    assert (status, code) == (400, "500")
    assert qbo.get("Customer", customer["Id"])["Active"] is True


# --- references -------------------------------------------------------------------------


def test_it_refuses_unknown_or_inactive_references_with_2500(qbo, sale):
    customer, item, _ = sale
    other = qbo.customer("Dormant")
    qbo.post("Customer", {**other, "Active": False})
    qbo.post("Item", {**item, "Active": False})

    assert qbo.fault("POST", "invoice", _invoice_body("99", "1")) == (400, "2500")
    assert qbo.fault("POST", "invoice", _invoice_body(other["Id"], "1")) == (
        400,
        "2500",
    )
    assert qbo.fault("POST", "invoice", _invoice_body(customer["Id"], item["Id"])) == (
        400,
        "2500",
    )
    bad_term = {**_invoice_body(customer["Id"], "1"), "SalesTermRef": {"value": "42"}}
    assert qbo.fault("POST", "invoice", bad_term) == (400, "2500")


def test_it_keeps_an_inactive_reference_an_invoice_already_has(qbo, sale):
    _customer, item, invoice = sale
    qbo.post("Item", {**item, "Active": False})

    updated = qbo.post("Invoice", {**invoice, "PrivateNote": "still fine"})

    assert updated["SyncToken"] == "1"


def _invoice_body(customer_id, item_id, amount=10, **detail):
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {"ItemRef": {"value": item_id}, **detail},
            }
        ],
    }


# --- derived values ------------------------------------------------------------------------


def test_it_checks_amount_against_qty_times_unit_price_to_the_cent(qbo, sale):
    customer, item, _ = sale

    wrong = _invoice_body(customer["Id"], item["Id"], 99.98, Qty=3, UnitPrice=33.333)
    right = _invoice_body(customer["Id"], item["Id"], 100.00, Qty=3, UnitPrice=33.333)

    assert qbo.fault("POST", "invoice", wrong) == (400, "6070")
    assert qbo.post("Invoice", right)["TotalAmt"] == 100.0


def test_it_computes_subtotal_line_total_and_balance(qbo, sale):
    customer, item, _ = sale
    body = _invoice_body(customer["Id"], item["Id"], 150, Qty=3, UnitPrice=50)
    body["Line"] += [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 50.25,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
        },
        {
            "DetailType": "DiscountLineDetail",
            "Amount": 0,
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        },
    ]

    invoice = qbo.post("Invoice", body)

    subtotal = invoice["Line"][-1]
    assert subtotal == {
        "Amount": 200.25,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["Line"][2]["Amount"] == 20.03  # 10 % of 200.25, half-up
    assert (invoice["TotalAmt"], invoice["Balance"]) == (180.22, 180.22)
    assert [line.get("LineNum") for line in invoice["Line"]] == [1, 2, 3, None]


def test_it_needs_at_least_one_line(qbo, sale):
    customer, _, _ = sale

    status, code = qbo.fault("POST", "invoice", {"CustomerRef": {"value": customer["Id"]}})

    assert (status, code) == (400, "2020")


def test_it_numbers_documents_and_refuses_duplicates(qbo, sale):
    customer, item, first = sale
    body = _invoice_body(customer["Id"], item["Id"])

    second = qbo.post("Invoice", body)
    jumped = qbo.post("Invoice", {**body, "DocNumber": "2000"})
    after = qbo.post("Invoice", body)
    estimate = qbo.post("Estimate", body)

    assert [first["DocNumber"], second["DocNumber"]] == ["1001", "1002"]
    assert (jumped["DocNumber"], after["DocNumber"]) == ("2000", "2001")
    assert estimate["DocNumber"] == "1001"  # each form has its own sequence
    assert qbo.fault("POST", "invoice", {**body, "DocNumber": "1001"}) == (400, "6140")
    assert qbo.fault("POST", "invoice", {**body, "DocNumber": "X" * 22}) == (
        400,
        "2050",
    )
    duplicate = qbo.post("Invoice", {**body, "DocNumber": "1001"}, include="allowduplicatedocnum")
    assert duplicate["DocNumber"] == "1001"


def test_it_derives_due_date_from_the_sales_term(qbo, sale):
    customer, item, invoice = sale
    body = {**_invoice_body(customer["Id"], item["Id"]), "TxnDate": "2026-01-10"}
    net60 = qbo.post("Customer", {**customer, "SalesTermRef": {"value": "4"}})

    with_term = qbo.post("Invoice", {**body, "SalesTermRef": {"value": "3"}})
    customer_term = qbo.post("Invoice", body)
    explicit = qbo.post("Invoice", {**body, "DueDate": "2026-03-01"})

    assert invoice["DueDate"] == invoice["TxnDate"] == qbo.clock.now().date().isoformat()
    assert with_term["DueDate"] == "2026-02-09"  # Net 30
    assert with_term["SalesTermRef"] == {"value": "3", "name": "Net 30"}
    assert net60["SalesTermRef"]["name"] == "Net 60"
    assert customer_term["DueDate"] == "2026-03-11"
    assert explicit["DueDate"] == "2026-03-01"


def test_it_applies_a_payment_to_invoices(qbo, sale):
    customer, item, invoice = sale
    other = qbo.invoice(customer, item, amount=50)
    qbo.events.clear()

    payment = qbo.payment(customer, 130, (invoice, 100), (other, 20))

    paid, partly = qbo.get("Invoice", invoice["Id"]), qbo.get("Invoice", other["Id"])
    assert payment["UnappliedAmt"] == 10.0
    assert payment["DepositToAccountRef"] == {"value": "4", "name": "Undeposited Funds"}
    assert (paid["Balance"], partly["Balance"]) == (0.0, 30.0)
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert paid["SyncToken"] == "1" and partly["SyncToken"] == "1"
    assert qbo.get("Customer", customer["Id"])["Balance"] == 20.0  # 30 open - 10 credit
    assert qbo.operations() == [
        ("Payment", payment["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
        ("Invoice", other["Id"], "Update"),
    ]


def test_it_refuses_overpaying_an_invoice_and_changes_nothing(qbo, sale):
    customer, _, invoice = sale
    qbo.payment(customer, 60, (invoice, 60))
    qbo.events.clear()

    body = {
        "CustomerRef": {"value": customer["Id"]},
        "TotalAmt": 50,
        "Line": [
            {
                "Amount": 50,
                "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
            }
        ],
    }

    assert qbo.fault("POST", "payment", body) == (400, "6000")
    assert qbo.fault("POST", "payment", {**body, "TotalAmt": 10}) == (400, "6000")
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 40.0
    assert qbo.query("SELECT COUNT(*) FROM Payment") == {"totalCount": 1}
    assert qbo.events == []


def test_it_refuses_paying_another_customers_invoice(qbo, sale):
    _, _, invoice = sale
    stranger = qbo.customer("Stranger")

    assert qbo.fault(
        "POST",
        "payment",
        {
            "CustomerRef": {"value": stranger["Id"]},
            "TotalAmt": 10,
            "Line": [
                {
                    "Amount": 10,
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    ) == (400, "6000")


def test_it_reapplies_a_payment_when_its_lines_change(qbo, sale):
    customer, _, invoice = sale
    payment = qbo.payment(customer, 40, (invoice, 40))

    updated = qbo.post(
        "Payment",
        {
            "Id": payment["Id"],
            "SyncToken": payment["SyncToken"],
            "sparse": True,
            "TotalAmt": 40,
            "Line": [],
        },
    )

    assert updated["UnappliedAmt"] == 40.0
    refreshed = qbo.get("Invoice", invoice["Id"])
    assert refreshed["Balance"] == 100.0 and refreshed["LinkedTxn"] == []


def test_it_closes_an_estimate_converted_to_an_invoice(qbo, sale):
    customer, item, _ = sale
    estimate = qbo.invoice(customer, item, amount=300, entity="Estimate")
    qbo.events.clear()

    invoice = qbo.invoice(
        customer,
        item,
        amount=300,
        LinkedTxn=[{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
    )

    closed = qbo.get("Estimate", estimate["Id"])
    assert estimate["TxnStatus"] == "Pending"
    assert closed["TxnStatus"] == "Closed" and closed["SyncToken"] == "1"
    assert closed["LinkedTxn"] == [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    assert invoice["LinkedTxn"] == [{"TxnId": estimate["Id"], "TxnType": "Estimate"}]
    assert qbo.operations() == [
        ("Invoice", invoice["Id"], "Create"),
        ("Estimate", estimate["Id"], "Update"),
    ]
    assert qbo.fault("POST", "estimate", closed, operation="delete") == (400, "6000")

    qbo.ok("POST", "invoice", invoice, operation="delete")
    assert qbo.get("Estimate", estimate["Id"])["TxnStatus"] == "Pending"


def test_it_voids_an_invoice(qbo, sale):
    _, _, invoice = sale
    qbo.post("Invoice", {**invoice, "PrivateNote": "rush"})

    voided = qbo.post("Invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="void")

    assert voided["TotalAmt"] == 0.0 and voided["Balance"] == 0.0
    assert voided["Line"][0]["Amount"] == 0.0 and voided["Line"][-1]["Amount"] == 0.0
    assert voided["PrivateNote"] == "Voided - rush"
    assert voided["SyncToken"] == "2"
    assert qbo.operations()[-1] == ("Invoice", invoice["Id"], "Void")
    assert qbo.fault("POST", "invoice", {**voided, "PrivateNote": "x"}) == (400, "6000")


def test_it_refuses_voiding_or_deleting_an_invoice_with_payments(qbo, sale):
    customer, _, invoice = sale
    qbo.payment(customer, 10, (invoice, 10))
    current = qbo.get("Invoice", invoice["Id"])

    assert qbo.fault("POST", "invoice", current, operation="void") == (400, "6000")
    assert qbo.fault("POST", "invoice", current, operation="delete") == (400, "6000")


def test_it_deletes_a_transaction(qbo, sale):
    _, _, invoice = sale

    payload = qbo.ok("POST", "invoice", {"Id": invoice["Id"], "SyncToken": 0}, operation="delete")

    assert payload["Invoice"] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": invoice["Id"],
    }
    assert qbo.fault("GET", f"invoice/{invoice['Id']}") == (400, "610")
    assert qbo.operations() == [("Invoice", invoice["Id"], "Delete")]


def test_it_restores_invoice_balances_when_a_payment_is_deleted_or_voided(qbo, sale):
    customer, item, invoice = sale
    other = qbo.invoice(customer, item, amount=80)
    first = qbo.payment(customer, 100, (invoice, 100))
    second = qbo.payment(customer, 80, (other, 80))
    qbo.events.clear()

    qbo.ok("POST", "payment", {"Id": first["Id"], "SyncToken": "0"}, operation="delete")
    voided = qbo.post(
        "Payment",
        {"Id": second["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )

    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 100.0
    assert qbo.get("Invoice", other["Id"])["Balance"] == 80.0
    assert qbo.get("Invoice", other["Id"])["LinkedTxn"] == []
    assert (voided["TotalAmt"], voided["UnappliedAmt"]) == (0.0, 0.0)
    assert voided["Line"][0]["Amount"] == 0.0 and voided["PrivateNote"] == "Voided"
    assert qbo.operations() == [
        ("Payment", first["Id"], "Delete"),
        ("Invoice", invoice["Id"], "Update"),
        ("Payment", second["Id"], "Void"),
        ("Invoice", other["Id"], "Update"),
    ]


# --- queries ----------------------------------------------------------------------------------


def test_it_answers_queries_by_get_and_by_post_text(qbo):
    for name in ["Cherry", "apple", "Banana"]:
        qbo.customer(name)

    by_get = qbo.query("SELECT * FROM Customer ORDERBY DisplayName STARTPOSITION 2 MAXRESULTS 1")
    status, by_post = qbo.api.handle(REALM, "POST", "query", {}, b"select count(*) from Customer", "application/text")

    assert [c["DisplayName"] for c in by_get["Customer"]] == ["Banana"]
    assert (by_get["startPosition"], by_get["maxResults"]) == (2, 1)
    assert status == 200 and by_post["QueryResponse"] == {"totalCount": 3}
    assert qbo.query("SELECT * FROM Customer WHERE DisplayName = 'nobody'") == {}


def test_it_filters_on_references_dates_and_escaped_quotes(qbo, sale):
    _customer, item, _ = sale
    bakery = qbo.customer("Acme's Bakery")
    qbo.post("Invoice", {**_invoice_body(bakery["Id"], item["Id"]), "TxnDate": "2026-01-15"})
    qbo.post("Invoice", {**_invoice_body(bakery["Id"], item["Id"]), "TxnDate": "2025-12-15"})

    by_ref = qbo.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{bakery['Id']}'")
    by_date = qbo.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{bakery['Id']}' AND TxnDate >= '2026-01-01'")
    by_name = qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Acme\\'s Bakery'")

    assert len(by_ref["Invoice"]) == 2
    assert [i["TxnDate"] for i in by_date["Invoice"]] == ["2026-01-15"]
    assert by_name["Customer"][0]["Id"] == bakery["Id"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT * FROM", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName = 'a' OR Id = '1'", "4000"),
        ("SELECT * FROM Widget", "4000"),
        ("SELECT * FROM Customers", "4000"),
        ("SELECT * FROM Customer WHERE Colour = 'red'", "4001"),
        ("SELECT * FROM Customer ORDERBY MetaData.Foo", "4001"),
    ],
)
def test_it_answers_a_bad_query_with_a_400_fault(qbo, text, code):
    status, payload = qbo.call("GET", "query", query=text)

    assert status == 400
    assert payload["Fault"]["Error"][0]["code"] == code


def test_it_answers_unmodelled_qbo_entities_as_empty(qbo):
    assert qbo.query("SELECT * FROM Bill") == {}
    assert qbo.query("SELECT COUNT(*) FROM Bill") == {"totalCount": 0}


@pytest.mark.parametrize("name", ["Customer", "customer", "CUSTOMER", "cUsToMeR"])
def test_it_reads_the_entity_name_of_a_query_in_any_case(qbo, name):
    """node-quickbooks sends `select * from customer`; QBO answers under the proper name."""
    acme, _ = qbo.customer(), qbo.customer("Bolt Co")

    page = qbo.query(f"select * from {name} where DisplayName = 'Acme Ltd'")
    count = qbo.query(f"SELECT COUNT(*) FROM {name}")

    assert [c["Id"] for c in page["Customer"]] == [acme["Id"]] and set(page) == {
        "Customer",
        "startPosition",
        "maxResults",
    }
    assert count == {"totalCount": 2}


def test_it_reads_entity_names_in_any_case_in_every_place_a_client_writes_one(qbo, sale):
    customer, _item, invoice = sale
    info = qbo.query("select * from companyinfo")["CompanyInfo"]
    batch = qbo.ok(
        "POST",
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "q1", "Query": "select * from invoice"},
                {"bId": "q2", "Query": "SELECT COUNT(*) FROM ITEM"},
                {"bId": "q3", "Query": "select * from vendor"},
            ]
        },
    )["BatchItemResponse"]
    by_path = qbo.ok("GET", f"Customer/{customer['Id']}")

    assert [i["CompanyName"] for i in info] == ["Kadouri Test Co"]
    assert batch[0]["QueryResponse"]["Invoice"][0]["Id"] == invoice["Id"]
    assert batch[1]["QueryResponse"] == {"totalCount": 1}
    assert batch[2]["QueryResponse"] == {}
    assert qbo.query("SELECT COUNT(*) FROM vendor") == {"totalCount": 0}
    assert by_path["Customer"]["Id"] == customer["Id"]


def test_it_reads_cdc_entity_names_in_any_case(qbo, sale):
    since = (qbo.clock.now() - timedelta(minutes=1)).isoformat()

    payload = qbo.ok("GET", "cdc", entities="invoice,CUSTOMER,Vendor,customer", changedSince=since)

    groups = payload["CDCResponse"][0]["QueryResponse"]
    assert [next(iter(g)) for g in groups] == ["Invoice", "Customer"]
    assert qbo.fault("GET", "cdc", entities="invoice,Widget", changedSince=since) == (400, "2170")


# --- batch -------------------------------------------------------------------------------------


def test_it_runs_a_batch_with_per_item_results_and_faults(qbo, sale):
    customer, _item, invoice = sale
    payload = qbo.ok(
        "POST",
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "c1",
                    "operation": "create",
                    "Customer": {"DisplayName": "New Co"},
                },
                {
                    "bId": "c2",
                    "operation": "create",
                    "Customer": {"DisplayName": "acme ltd"},
                },
                {
                    "bId": "u1",
                    "operation": "update",
                    "Customer": {
                        "Id": customer["Id"],
                        "SyncToken": "0",
                        "sparse": True,
                        "Notes": "b",
                    },
                },
                {
                    "bId": "d1",
                    "operation": "delete",
                    "Invoice": {"Id": invoice["Id"], "SyncToken": "0"},
                },
                {"bId": "q1", "Query": "SELECT COUNT(*) FROM Customer"},
            ]
        },
    )

    answers = {a["bId"]: a for a in payload["BatchItemResponse"]}
    assert answers["c1"]["Customer"]["DisplayName"] == "New Co"
    assert answers["c2"]["Fault"]["Error"][0]["code"] == "6240"
    assert answers["c2"]["Fault"]["type"] == "ValidationFault"
    assert answers["u1"]["Customer"]["SyncToken"] == "1"
    assert answers["d1"]["Invoice"]["status"] == "Deleted"
    assert answers["q1"]["QueryResponse"] == {"totalCount": 2}
    assert qbo.operations() == [
        ("Customer", "2", "Create"),
        ("Customer", customer["Id"], "Update"),
        ("Invoice", invoice["Id"], "Delete"),
    ]


def test_it_voids_a_payment_in_a_batch(qbo, sale):
    customer, _, invoice = sale
    payment = qbo.payment(customer, 100, (invoice, 100))

    payload = qbo.ok(
        "POST",
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "v",
                    "operation": "update",
                    "optionsData": "void",
                    "Payment": {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
                }
            ]
        },
    )

    assert payload["BatchItemResponse"][0]["Payment"]["TotalAmt"] == 0.0
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 100.0


def test_it_refuses_a_batch_of_more_than_30_items(qbo):
    items = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]

    assert qbo.fault("POST", "batch", {"BatchItemRequest": items}) == (400, "1040")
    assert qbo.query("SELECT * FROM Customer") == {}
    assert qbo.fault("POST", "batch", {"BatchItemRequest": [{"Query": "x"}]}) == (
        400,
        "2020",
    )


# --- CDC ----------------------------------------------------------------------------------------


def test_it_reports_changes_and_deletions_since_a_moment(qbo, sale):
    customer, item, old_invoice = sale
    qbo.clock.advance(3600)
    since = qbo.clock.now().isoformat()
    qbo.clock.advance(1)
    renamed = qbo.post("Customer", {**customer, "DisplayName": "Acme Renamed"})
    qbo.ok(
        "POST",
        "invoice",
        {"Id": old_invoice["Id"], "SyncToken": "0"},
        operation="delete",
    )
    new_invoice = qbo.invoice(renamed, item)

    payload = qbo.ok("GET", "cdc", entities="Invoice,Customer,Item,Payment", changedSince=since)

    groups = payload["CDCResponse"][0]["QueryResponse"]
    assert [next(iter(g)) for g in groups] == ["Invoice", "Customer"]
    invoices = groups[0]["Invoice"]
    assert invoices[0]["Id"] == old_invoice["Id"] and invoices[0]["status"] == "Deleted"
    assert invoices[1]["Id"] == new_invoice["Id"]
    assert groups[1]["Customer"][0]["DisplayName"] == "Acme Renamed"
    assert groups[1]["maxResults"] == 1


def test_it_answers_an_empty_cdc_and_refuses_a_window_over_30_days(qbo):
    qbo.clock.advance(60)
    now = qbo.clock.now()

    empty = qbo.ok("GET", "cdc", entities="Customer", changedSince=now.isoformat())
    too_old = (now - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S")

    assert empty["CDCResponse"] == [{"QueryResponse": [{}]}]
    assert qbo.fault("GET", "cdc", entities="Customer", changedSince=too_old) == (
        400,
        "500",
    )
    assert qbo.fault("GET", "cdc", entities="Customer") == (400, "2020")
    assert qbo.fault("GET", "cdc", entities="Customer", changedSince="yesterday") == (
        400,
        "2010",
    )


def test_it_caps_cdc_at_the_1000_oldest_changes(qbo):
    since = qbo.clock.now().isoformat()
    for number in range(1003):
        qbo.clock.advance(1)
        qbo.post("Term", {"Name": f"Term {number}", "DueDays": 1})

    payload = qbo.ok("GET", "cdc", entities="Term", changedSince=since)

    terms = payload["CDCResponse"][0]["QueryResponse"][0]["Term"]
    assert len(terms) == 1000
    assert terms[0]["Name"] == "Term 0" and terms[-1]["Name"] == "Term 999"


# --- requestid ----------------------------------------------------------------------------------


def test_it_replays_a_repeated_requestid_without_running_it_again(qbo):
    first = qbo.call("POST", "customer", {"DisplayName": "Once"}, requestid="rid-1")
    qbo.clock.advance(5)
    again = qbo.call("POST", "customer", {"DisplayName": "Other"}, requestid="rid-1")

    assert first == again
    assert qbo.query("SELECT COUNT(*) FROM Customer") == {"totalCount": 1}
    assert qbo.operations() == [("Customer", "1", "Create")]


def test_it_replays_a_fault_and_keeps_requestids_per_company(qbo):
    qbo.api.add_company("other", "Other Co")
    bad = qbo.call("POST", "customer", {"Notes": "no name"}, requestid="rid-2")
    replay = qbo.call("POST", "customer", {"DisplayName": "Fixed"}, requestid="rid-2")
    elsewhere = qbo.call("POST", "customer", {"DisplayName": "Fixed"}, realm="other", requestid="rid-2")

    assert bad == replay and bad[0] == 400
    assert elsewhere[0] == 200
    assert qbo.fault("POST", "customer", {"DisplayName": "A"}, requestid="r" * 51) == (
        400,
        "2050",
    )


# --- routing ----------------------------------------------------------------------------------------


def test_it_answers_routing_errors_as_json_faults(qbo):
    status, payload = qbo.call("GET", "customer/1", realm="nope")

    assert status == 403 and payload["Fault"]["Error"][0]["code"] == "3100"
    assert qbo.call("GET", "widgets/1")[0] == 404
    assert qbo.call("GET", "batch")[0] == 405
    assert qbo.call("GET", "invoice/1/send")[0] == 405
    assert qbo.call("POST", "customer", {"DisplayName": "A"}, minorversion="12")[0] == 200


def test_it_reads_query_params_embedded_in_the_subpath(qbo, sale):
    _, _, invoice = sale

    status, payload = qbo.api.handle(
        REALM,
        "POST",
        "invoice?operation=delete&minorversion=75",
        {},
        json.dumps({"Id": invoice["Id"], "SyncToken": "0"}).encode(),
    )

    assert status == 200 and payload["Invoice"]["status"] == "Deleted"


def test_it_survives_a_failing_change_listener(qbo):
    def explode(*event):
        raise RuntimeError("listener down")

    qbo.api.on_change = explode

    assert qbo.call("POST", "customer", {"DisplayName": "Still saved"})[0] == 200


# --- bookkeeper actions ------------------------------------------------------------------------------


def test_it_records_full_and_partial_payments_as_a_bookkeeper(qbo, sale):
    _customer, _, invoice = sale

    partial = qbo.api.record_payment(REALM, invoice["Id"], Decimal(30))
    rest = qbo.api.record_payment(REALM, invoice["Id"])

    assert (partial["TotalAmt"], rest["TotalAmt"]) == (30.0, 70.0)
    assert qbo.get("Invoice", invoice["Id"])["Balance"] == 0.0
    assert qbo.operations() == [
        ("Payment", partial["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
        ("Payment", rest["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
    ]
    with pytest.raises(QboFault) as caught:
        qbo.api.record_payment(REALM, invoice["Id"])
    assert caught.value.code == "6000"


def test_it_voids_and_deletes_as_a_bookkeeper(qbo, sale):
    customer, item, invoice = sale
    payment = qbo.api.record_payment(REALM, invoice["Id"], Decimal(40))

    voided_payment = qbo.api.void_payment(REALM, payment["Id"])
    voided_invoice = qbo.api.void_invoice(REALM, invoice["Id"])
    other = qbo.invoice(customer, item)
    second = qbo.api.record_payment(REALM, other["Id"])
    qbo.api.delete_payment(REALM, second["Id"])
    qbo.api.delete_invoice(REALM, other["Id"])

    assert voided_payment["TotalAmt"] == 0.0
    # Payment applied (+1), payment voided (+1), invoice voided (+1).
    assert voided_invoice["PrivateNote"] == "Voided" and voided_invoice["SyncToken"] == "3"
    assert qbo.query("SELECT COUNT(*) FROM Invoice") == {"totalCount": 1}
    assert ("Invoice", other["Id"], "Delete") in qbo.operations()
    with pytest.raises(QboFault) as caught:
        qbo.api.delete_invoice(REALM, other["Id"])
    assert caught.value.code == "610"


def test_it_renames_a_customer_as_a_bookkeeper(qbo, sale):
    customer, _, invoice = sale

    renamed = qbo.api.rename_customer(REALM, customer["Id"], "Acme International")

    assert renamed["DisplayName"] == "Acme International" and renamed["SyncToken"] == "1"
    assert qbo.get("Invoice", invoice["Id"])["CustomerRef"]["name"] == "Acme International"
    assert qbo.operations() == [("Customer", customer["Id"], "Update")]
    with pytest.raises(QboFault):
        qbo.api.rename_customer(REALM, customer["Id"], "Bad: name")


def test_it_merges_customers_as_a_bookkeeper(qbo, sale):
    source, _item, invoice = sale
    target = qbo.customer("Acme Holdings")
    qbo.events.clear()

    merged = qbo.api.merge_customers(REALM, source["Id"], target["Id"])

    assert merged["Id"] == target["Id"] and merged["Balance"] == 100.0
    assert qbo.get("Customer", source["Id"])["Active"] is False
    moved = qbo.get("Invoice", invoice["Id"])
    assert moved["CustomerRef"] == {"value": target["Id"], "name": "Acme Holdings"}
    assert moved["SyncToken"] == "1"
    assert [e[1:4] + (e[5],) for e in qbo.events] == [
        ("Customer", target["Id"], "Merge", {"deletedId": source["Id"]}),
        ("Invoice", invoice["Id"], "Update", {}),
    ]
    assert qbo.customer("Acme Ltd")["DisplayName"] == "Acme Ltd"  # the name is free again


def test_it_deactivates_an_item_as_a_bookkeeper(qbo, sale):
    customer, item, _ = sale

    inactive = qbo.api.set_item_active(REALM, item["Id"], False)

    assert inactive["Active"] is False and inactive["SyncToken"] == "1"
    assert qbo.query("SELECT * FROM Item") == {}
    assert qbo.fault("POST", "invoice", _invoice_body(customer["Id"], item["Id"])) == (
        400,
        "2500",
    )
    assert qbo.api.set_item_active(REALM, item["Id"], True)["Active"] is True


# --- state -----------------------------------------------------------------------------------------------


def test_it_round_trips_state_through_json(qbo, sale):
    customer, item, invoice = sale
    qbo.payment(customer, 33.33, (invoice, 33.33))
    qbo.call("POST", "customer", {"DisplayName": "Replayed"}, requestid="keep-me")
    qbo.ok("POST", "invoice", qbo.invoice(customer, item), operation="delete")
    restored = AccountingApi(qbo.clock)

    restored.load_state(json.loads(json.dumps(qbo.api.to_state())))

    assert restored.dump(REALM) == qbo.api.dump(REALM)
    again = restored.handle(REALM, "POST", "customer", {"requestid": "keep-me"}, b"{}")
    assert again[1]["Customer"]["DisplayName"] == "Replayed"
    _, payload = restored.handle(REALM, "POST", "customer", {}, b'{"DisplayName": "Next"}')
    assert payload["Customer"]["Id"] == "3"
    company = restored.companies[REALM]
    assert company.entities["Invoice"][invoice["Id"]]["Balance"] == Decimal("66.67")


def test_it_refuses_a_corrupt_state(qbo):
    with pytest.raises(ValueError):
        qbo.api.load_state({"companies": {REALM: {"realmId": REALM}}})
    with pytest.raises(ValueError):
        Company.from_state({"nonsense": True}, qbo.clock)
    assert REALM in qbo.api.companies  # untouched after a refused load


def test_it_dumps_every_entity_including_inactive_and_deleted(qbo, sale):
    customer, _, invoice = sale
    qbo.post("Customer", {**customer, "Active": False})
    qbo.ok("POST", "invoice", invoice, operation="delete")

    dump = qbo.api.dump(REALM)

    assert dump["name"] == "Kadouri Test Co"
    assert dump["entities"]["Customer"][0]["Active"] is False
    assert dump["entities"]["Invoice"] == []
    assert dump["deleted"][0]["entity"] == "Invoice"
    assert len(dump["entities"]["Account"]) >= 4 and len(dump["entities"]["Term"]) == 4
