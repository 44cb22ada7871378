"""Vendors, employees and classes: one DisplayName space across customers, vendors and employees, classes on
sales forms, refusals of inactive names on new transactions, and ``seed_names``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.trackingclass import Class
from quickbooks.objects.vendor import Vendor

from qbo_integration.emulator.engine import QboFault
from qbo_integration.emulator.engine.books import Books
from qbo_integration.emulator.engine.seed_names import seed_names
from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)
from qbo_integration.emulator.tests.test_accounting import REALM, Qbo

QB_REALM = "9130350000000001"


@pytest.fixture
def qbo():
    return Qbo()


def detail(qbo, method, path, body):
    status, payload = qbo.call(method, path, body)
    error = payload["Fault"]["Error"][0]
    return status, error["code"], error["Detail"]


def all_names(qbo, entity, field="DisplayName"):
    rows = qbo.query(f"SELECT * FROM {entity} WHERE Active IN (true, false)").get(entity, [])
    return [row[field] for row in rows]


# --- vendors and employees ----------------------------------------------------------


def test_vendor_create_read_update_query_and_deactivate(qbo):
    vendor = qbo.post(
        "Vendor",
        {
            "DisplayName": "Metro Grocers",
            "CompanyName": "Metro Grocers LLC",
            "PrimaryEmailAddr": {"Address": "ap@metro.example"},
            "BillAddr": {"Line1": "9 Market St", "City": "Fresno"},
        },
    )
    renamed = qbo.post("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Metro Foods"})
    inactive = qbo.post("Vendor", {"Id": vendor["Id"], "SyncToken": "1", "sparse": True, "Active": False})

    assert vendor["Active"] is True and vendor["Balance"] == 0 and vendor["SyncToken"] == "0"
    assert qbo.get("Vendor", vendor["Id"])["BillAddr"]["City"] == "Fresno"
    assert renamed["DisplayName"] == "Metro Foods" and renamed["CompanyName"] == "Metro Grocers LLC"
    assert inactive["Active"] is False and inactive["SyncToken"] == "2"
    assert qbo.query("SELECT * FROM Vendor") == {}  # inactive names are hidden by default
    assert all_names(qbo, "Vendor") == ["Metro Foods"]
    assert qbo.fault("POST", "vendor", {"CompanyName": "No Name Co"}) == (400, "6080")
    assert qbo.fault("POST", "vendor", {"DisplayName": "Bad: Name"}) == (400, "6000")
    assert qbo.fault("POST", "vendor", inactive, operation="delete") == (400, "500")


def test_employee_create_builds_display_name_and_needs_a_person_name(qbo):
    ada = qbo.post("Employee", {"GivenName": "Ada", "FamilyName": "Lovelace"})
    gone = qbo.post("Employee", {"Id": ada["Id"], "SyncToken": "0", "sparse": True, "Active": False})

    assert ada["DisplayName"] == "Ada Lovelace" and ada["Active"] is True
    assert gone["Active"] is False
    assert qbo.query("SELECT * FROM Employee WHERE Active = false")["Employee"][0]["Id"] == ada["Id"]
    assert qbo.fault("POST", "employee", {"DisplayName": "Only A Display"}) == (400, "2020")


def test_vendors_employees_and_classes_are_webhook_and_cdc_entities(qbo):
    since = (qbo.clock.now() - timedelta(minutes=1)).isoformat(timespec="seconds")
    vendor = qbo.post("Vendor", {"DisplayName": "Hook Supplies"})
    employee = qbo.post("Employee", {"GivenName": "Bea", "FamilyName": "Baker"})
    klass = qbo.post("Class", {"Name": "Produce"})

    payload = qbo.ok("GET", "cdc", entities="vendor,Employee,class", changedSince=since)
    groups = payload["CDCResponse"][0]["QueryResponse"]

    assert ("Vendor", vendor["Id"], "Create") in qbo.operations()
    assert ("Employee", employee["Id"], "Create") in qbo.operations()
    assert ("Class", klass["Id"], "Create") in qbo.operations()
    assert [next(k for k in g if k not in ("startPosition", "maxResults")) for g in groups] == [
        "Vendor",
        "Employee",
        "Class",
    ]


# --- one name space -----------------------------------------------------------------


def test_a_customer_cannot_take_a_vendor_name_and_vice_versa(qbo):
    vendor = qbo.post("Vendor", {"DisplayName": "Metro Grocers"})
    customer = qbo.customer("Harbor Market")

    status, code, text = detail(qbo, "POST", "customer", {"DisplayName": "metro grocers"})
    back = detail(qbo, "POST", "vendor", {"DisplayName": "HARBOR MARKET"})

    assert (status, code) == (400, "6240")
    assert text == (
        "The name supplied already exists. : Another vendor is already using this name. "
        f"Please use a different name. Id={vendor['Id']}"
    )
    assert back[:2] == (400, "6240") and back[2].endswith(
        f"Another customer is already using this name. Please use a different name. Id={customer['Id']}"
    )
    assert all_names(qbo, "Customer") == ["Harbor Market"] and all_names(qbo, "Vendor") == ["Metro Grocers"]


def test_vendor_and_employee_names_clash_both_ways(qbo):
    employee = qbo.post("Employee", {"GivenName": "Sunrise", "FamilyName": "Farms"})
    vendor = qbo.post("Vendor", {"DisplayName": "Valley Dairy"})

    assert detail(qbo, "POST", "vendor", {"DisplayName": "Sunrise Farms"})[1:] == (
        "6240",
        "The name supplied already exists. : Another employee is already using this name. "
        f"Please use a different name. Id={employee['Id']}",
    )
    assert detail(qbo, "POST", "employee", {"GivenName": "Valley", "FamilyName": "Dairy"})[2].endswith(
        f"Another vendor is already using this name. Please use a different name. Id={vendor['Id']}"
    )
    assert all_names(qbo, "Employee") == ["Sunrise Farms"]


def test_renaming_into_another_kinds_name_is_refused_and_changes_nothing(qbo):
    vendor = qbo.post("Vendor", {"DisplayName": "Metro Grocers"})
    customer = qbo.customer("Harbor Market")
    rename = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Metro Grocers"}
    vendor_rename = {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Harbor Market"}

    assert detail(qbo, "POST", "customer", rename)[:2] == (400, "6240")
    assert detail(qbo, "POST", "vendor", vendor_rename)[:2] == (400, "6240")
    assert qbo.get("Customer", customer["Id"])["DisplayName"] == "Harbor Market"
    assert qbo.get("Customer", customer["Id"])["SyncToken"] == "0"
    assert qbo.get("Vendor", vendor["Id"])["DisplayName"] == "Metro Grocers"
    # an update that keeps its own name is no clash
    assert qbo.post("Vendor", {**vendor_rename, "DisplayName": "metro grocers"})["DisplayName"] == "metro grocers"


def test_inactive_names_still_clash(qbo):
    vendor = qbo.post("Vendor", {"DisplayName": "Old Supplier"})
    qbo.post("Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    employee = qbo.post("Employee", {"GivenName": "Former", "FamilyName": "Hand"})
    qbo.post("Employee", {"Id": employee["Id"], "SyncToken": "0", "sparse": True, "Active": False})

    assert qbo.fault("POST", "customer", {"DisplayName": "Old Supplier"}) == (400, "6240")
    assert qbo.fault("POST", "customer", {"GivenName": "Former", "FamilyName": "Hand"}) == (400, "6240")
    assert all_names(qbo, "Customer") == []


# --- classes ----------------------------------------------------------------------------


def test_class_create_query_and_sub_classes(qbo):
    produce = qbo.post("Class", {"Name": "Produce"})
    organic = qbo.post("Class", {"Name": "Organic", "SubClass": True, "ParentRef": {"value": produce["Id"]}})
    qbo.post("Class", {"Name": "Dairy"})

    rows = qbo.query("select * from Class")["Class"]

    assert [c["Name"] for c in rows] == ["Produce", "Organic", "Dairy"]
    assert organic["FullyQualifiedName"] == "Produce:Organic" and organic["SubClass"] is True
    assert organic["ParentRef"] == {"value": produce["Id"], "name": "Produce"}
    assert qbo.query("SELECT COUNT(*) FROM Class WHERE Name = 'dairy'") == {"totalCount": 1}
    assert qbo.fault("POST", "class", {"Name": "PRODUCE"}) == (400, "6240")
    assert qbo.fault("POST", "class", {"Name": "A:B"}) == (400, "6000")
    assert qbo.fault("POST", "class", {"SubClass": False}) == (400, "2020")


def test_an_invoice_shows_its_class_by_name_and_refuses_an_unknown_one(qbo):
    customer, item = qbo.customer(), qbo.item()
    produce = qbo.post("Class", {"Name": "Produce"})
    dairy = qbo.post("Class", {"Name": "Dairy"})
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "ClassRef": {"value": dairy["Id"]}},
    }
    body = {"CustomerRef": {"value": customer["Id"]}, "ClassRef": {"value": produce["Id"]}, "Line": [line]}

    invoice = qbo.post("Invoice", body)
    read = qbo.get("Invoice", invoice["Id"])

    assert read["ClassRef"] == {"value": produce["Id"], "name": "Produce"}
    assert read["Line"][0]["SalesItemLineDetail"]["ClassRef"] == {"value": dairy["Id"], "name": "Dairy"}
    assert qbo.fault("POST", "invoice", {**body, "ClassRef": {"value": "99"}}) == (400, "2500")


# --- inactive names on new transactions ---------------------------------------------


@pytest.mark.parametrize("entity", ["Invoice", "Estimate"])
def test_a_new_sales_form_refuses_an_inactive_item_or_customer(qbo, entity):
    customer, item = qbo.customer(), qbo.item("Old Kale")
    dormant = qbo.customer("Dormant Deli")
    qbo.post("Item", {**item, "Active": False})
    qbo.post("Customer", {**dormant, "Active": False})
    fresh = qbo.item("Fresh Kale")

    def body(customer_id, item_id):
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": 5,
            "SalesItemLineDetail": {"ItemRef": {"value": item_id}},
        }
        return {"CustomerRef": {"value": customer_id}, "Line": [line]}

    item_refused = detail(qbo, "POST", entity.lower(), body(customer["Id"], item["Id"]))
    customer_refused = detail(qbo, "POST", entity.lower(), body(dormant["Id"], fresh["Id"]))

    assert item_refused[:2] == (400, "2500") and f"ItemRef {item['Id']}" in item_refused[2]
    assert customer_refused[:2] == (400, "2500") and f"CustomerRef {dormant['Id']}" in customer_refused[2]
    assert qbo.query(f"SELECT COUNT(*) FROM {entity}") == {"totalCount": 0}


# --- seed_names -------------------------------------------------------------------------


def test_seed_names_creates_vendors_employees_classes_and_inactive_items(qbo):
    books = Books(qbo.api.companies[REALM], qbo.clock.now(), [])
    spec = {
        "vendors": ["Metro Grocers"],
        "employees": ["Sunrise Farms"],
        "classes": ["Produce", "Dairy"],
        "inactive_items": ["Old Kale"],
    }

    seed_names(books, spec)

    assert all_names(qbo, "Vendor") == ["Metro Grocers"]
    assert all_names(qbo, "Employee") == ["Sunrise Farms"]
    assert all_names(qbo, "Class", "Name") == ["Produce", "Dairy"]
    items = qbo.query("SELECT * FROM Item WHERE Active = false")["Item"]
    assert [(i["Name"], i["Type"], i["Active"]) for i in items] == [("Old Kale", "Service", False)]
    assert qbo.query("SELECT * FROM Item") == {}
    assert qbo.fault("POST", "customer", {"DisplayName": "Sunrise Farms"}) == (400, "6240")


def test_seed_names_refuses_a_clash_and_an_unknown_key(qbo):
    books = Books(qbo.api.companies[REALM], qbo.clock.now(), [])

    with pytest.raises(QboFault) as clash:
        seed_names(books, {"vendors": ["Same Name"], "employees": ["Same Name"]})
    with pytest.raises(ValueError, match="customers"):
        seed_names(books, {"customers": ["Nope"]})

    assert clash.value.code == "6240"


def test_the_default_companies_start_without_vendors_employees_or_classes(qbo):
    for entity in ("Vendor", "Employee", "Class"):
        assert qbo.query(f"SELECT COUNT(*) FROM {entity} WHERE Active IN (true, false)") == {"totalCount": 0}


# --- UI ---------------------------------------------------------------------------------


def test_the_ui_lists_vendors_employees_and_classes(qbo_emulator):
    books_realm = QB_REALM
    company = qbo_emulator.api.companies[books_realm]
    with company.lock:
        seed_names(Books(company, qbo_emulator.now(), []), {"vendors": ["Metro Grocers"], "classes": ["Dairy"]})
        seed_names(Books(company, qbo_emulator.now(), []), {"employees": ["Sunrise Farms"]})

    pages = {
        kind: qbo_emulator.handle("GET", f"/_emulator/company/{books_realm}/{kind}", {}, b"")
        for kind in ("vendors", "employees", "classes")
    }
    overview = qbo_emulator.handle("GET", f"/_emulator/company/{books_realm}/", {}, b"")[2].decode()

    assert all(status == 200 for status, _, _ in pages.values())
    assert 'id="vendor-1"' in pages["vendors"][2].decode() and "Metro Grocers" in pages["vendors"][2].decode()
    assert "Sunrise Farms" in pages["employees"][2].decode()
    assert 'id="class-1"' in pages["classes"][2].decode() and "Dairy" in pages["classes"][2].decode()
    assert 'id="tab-vendors"' in overview and 'id="count-classes">1<' in overview


# --- python-quickbooks --------------------------------------------------------------


def test_python_quickbooks_creates_a_vendor_and_a_class_and_meets_6240(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, QB_REALM)
    vendor = Vendor()
    vendor.DisplayName = "Metro Grocers"
    vendor.CompanyName = "Metro Grocers LLC"
    vendor = vendor.save(qb=qb)
    klass = Class()
    klass.Name = "Produce"
    klass = klass.save(qb=qb)

    customer = Customer()
    customer.DisplayName = "METRO GROCERS"
    with pytest.raises(QuickbooksException) as excinfo:
        customer.save(qb=qb)

    assert vendor.Id and Vendor.get(vendor.Id, qb=qb).CompanyName == "Metro Grocers LLC"
    assert [c.Name for c in Class.all(qb=qb)] == ["Produce"] and klass.Id
    assert excinfo.value.error_code == 6240
    assert f"Another vendor is already using this name. Please use a different name. Id={vendor.Id}" in str(
        excinfo.value.detail
    )
