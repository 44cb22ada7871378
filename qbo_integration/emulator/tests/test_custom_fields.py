"""Sales-form custom fields (docs/quickbooks/beyond.md#the-account-code-in-quickbooks): the five sales forms store
them, answer them with the definitions' Name and Type, list every field turned on even without a value, drop an
unknown or turned-off definition without a fault, and accept `include=enhancedAllCustomFields`; python-quickbooks
writes and reads them."""

from __future__ import annotations

import pytest
from quickbooks.objects.base import CustomField
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.salesreceipt import SalesReceipt

from qbo_integration.emulator.engine.entities.preferences import custom_field_definitions
from qbo_integration.emulator.engine.profiles import CompanyProfile
from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)
from qbo_integration.emulator.tests.test_accounting import REALM, Qbo
from qbo_integration.emulator.tests.test_python_quickbooks import new_customer, new_item, sales_line

SEEDED_WITH_FIELDS = "9130350000000009"  # "Custom Fields Produce LLC": Account code, Seller
IDEALISED = "9130350000000001"
SALES_FORMS = ("Invoice", "Estimate", "SalesReceipt", "CreditMemo", "RefundReceipt")


class FieldsQbo(Qbo):
    """A company with two custom fields turned on (1 "Account code", 2 "Seller"); the third is off."""

    def __init__(self) -> None:
        super().__init__()
        self.api.companies.pop(REALM)
        self.api.add_company(REALM, "Kadouri Test Co", CompanyProfile(custom_fields=("Account code", "Seller")))


@pytest.fixture
def qbo():
    return FieldsQbo()


@pytest.fixture
def sale(qbo):
    return qbo.customer("Harbor Fresh Market"), qbo.item("Gala Apples")


def fields(doc: dict) -> list[dict]:
    return doc.get("CustomField", [])


def values(doc: dict) -> dict[str, str | None]:
    return {f["DefinitionId"]: f.get("StringValue") for f in fields(doc)}


def form(qbo, entity, customer, item, **extra):
    if entity == "RefundReceipt":
        extra["DepositToAccountRef"] = {"value": "5"}  # Checking
    return qbo.invoice(customer, item, entity=entity, **extra)


@pytest.mark.parametrize("entity", SALES_FORMS)
def test_every_sales_form_stores_the_fields_and_answers_their_names(qbo, sale, entity):
    sent = [{"DefinitionId": "1", "StringValue": "HFM"}, {"DefinitionId": "2", "StringValue": "Green Valley"}]

    created = form(qbo, entity, *sale, CustomField=sent)

    expected = [
        {"DefinitionId": "1", "Name": "Account code", "Type": "StringType", "StringValue": "HFM"},
        {"DefinitionId": "2", "Name": "Seller", "Type": "StringType", "StringValue": "Green Valley"},
    ]
    assert fields(created) == expected
    assert fields(qbo.get(entity, created["Id"])) == expected
    (row,) = qbo.query(f"SELECT * FROM {entity}")[entity]
    assert fields(row) == expected


def test_a_read_lists_every_field_turned_on_even_without_a_value(qbo, sale):
    invoice = form(qbo, "Invoice", *sale, CustomField=[{"DefinitionId": "2", "StringValue": "Green Valley"}])
    plain = form(qbo, "Invoice", *sale)

    assert fields(qbo.get("Invoice", invoice["Id"]))[0] == {
        "DefinitionId": "1",
        "Name": "Account code",
        "Type": "StringType",
    }
    assert values(qbo.get("Invoice", plain["Id"])) == {"1": None, "2": None}


def test_an_unknown_or_turned_off_definition_is_dropped_with_a_200(qbo, sale):
    status, body = qbo.call(
        "POST",
        "invoice",
        {
            "CustomerRef": {"value": sale[0]["Id"]},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 5,
                    "SalesItemLineDetail": {"ItemRef": {"value": sale[1]["Id"]}},
                }
            ],
            "CustomField": [
                {"DefinitionId": "3", "StringValue": "third is off"},
                {"DefinitionId": "7", "StringValue": "no such field"},
                {"DefinitionId": "1", "StringValue": "HFM", "Name": "Renamed by the client", "Type": "NumberType"},
            ],
        },
    )

    assert status == 200
    assert fields(body["Invoice"]) == [
        {"DefinitionId": "1", "Name": "Account code", "Type": "StringType", "StringValue": "HFM"},
        {"DefinitionId": "2", "Name": "Seller", "Type": "StringType"},
    ]


def test_updates_change_the_fields_sent_and_keep_the_others(qbo, sale):
    invoice = form(
        qbo,
        "Invoice",
        *sale,
        CustomField=[{"DefinitionId": "1", "StringValue": "HFM"}, {"DefinitionId": "2", "StringValue": "Green Valley"}],
    )
    head = {"Id": invoice["Id"], "sparse": True}

    renamed = qbo.post(
        "Invoice", {**head, "SyncToken": "0", "CustomField": [{"DefinitionId": "2", "StringValue": "Sun"}]}
    )
    untouched = qbo.post("Invoice", {**head, "SyncToken": "1", "PrivateNote": "no fields sent"})
    cleared = qbo.post("Invoice", {**head, "SyncToken": "2", "CustomField": [{"DefinitionId": "1", "StringValue": ""}]})
    full = {k: v for k, v in qbo.get("Invoice", invoice["Id"]).items() if k != "CustomField"}
    replaced = qbo.post("Invoice", {**full, "sparse": False})

    assert values(renamed) == {"1": "HFM", "2": "Sun"}
    assert values(untouched) == {"1": "HFM", "2": "Sun"}
    assert values(cleared) == {"1": None, "2": "Sun"}
    assert values(replaced) == {"1": None, "2": None}  # a full update without the list clears them


def test_a_company_without_custom_fields_answers_none_and_drops_what_is_sent():
    qbo = Qbo()  # the idealised company
    customer, item = qbo.customer(), qbo.item()

    invoice = qbo.invoice(customer, item, CustomField=[{"DefinitionId": "1", "StringValue": "HFM"}])

    assert "CustomField" not in invoice and "CustomField" not in qbo.get("Invoice", invoice["Id"])


def test_turning_fields_on_and_off_in_quickbooks_shows_on_the_next_read(qbo, sale):
    invoice = form(qbo, "Invoice", *sale, CustomField=[{"DefinitionId": "2", "StringValue": "Green Valley"}])

    qbo.api.update_preferences(REALM, {"SalesFormsPrefs": {"CustomField": custom_field_definitions(["Account code"])}})
    only_first = qbo.get("Invoice", invoice["Id"])
    qbo.api.update_preferences(
        REALM, {"SalesFormsPrefs": {"CustomField": custom_field_definitions(["Code", "Grower", "Lot"])}}
    )
    all_three = qbo.get("Invoice", invoice["Id"])

    assert fields(only_first) == [{"DefinitionId": "1", "Name": "Account code", "Type": "StringType"}]
    assert [(f["Name"], f.get("StringValue")) for f in fields(all_three)] == [
        ("Code", None),
        ("Grower", "Green Valley"),  # the value written while the field was on is still there
        ("Lot", None),
    ]


def test_include_enhanced_all_custom_fields_is_accepted_on_writes_and_reads(qbo, sale):
    body = {
        "CustomerRef": {"value": sale[0]["Id"]},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 5,
                "SalesItemLineDetail": {"ItemRef": {"value": sale[1]["Id"]}},
            }
        ],
        "CustomField": [{"DefinitionId": "1", "StringValue": "HFM"}],
    }

    created = qbo.post("Invoice", body, include="enhancedAllCustomFields")
    status, read = qbo.call("GET", f"invoice/{created['Id']}", include="enhancedAllCustomFields")

    assert status == 200 and values(read["Invoice"]) == {"1": "HFM", "2": None}


def _custom(definition: str, value: str) -> CustomField:
    field = CustomField()
    field.DefinitionId, field.StringValue = definition, value
    return field


def test_python_quickbooks_writes_and_reads_custom_fields(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, SEEDED_WITH_FIELDS)
    customer, item = new_customer(qb, "Harbor Fresh Market"), new_item(qb, "Gala Apples", 32.5)
    invoice = Invoice()
    invoice.CustomerRef, invoice.Line = customer.to_ref(), [sales_line(item, 2, 32.5)]
    invoice.CustomField = [_custom("1", "HFM"), _custom("2", "Green Valley Farms")]
    saved = invoice.save(qb=qb, params={"include": "enhancedAllCustomFields"})

    read = Invoice.get(saved.Id, qb=qb, params={"include": "enhancedAllCustomFields"})
    read.CustomField[1].StringValue = "Sunrise Orchards"  # read, change, save back: PQB sends the whole list
    read.save(qb=qb)
    receipt = SalesReceipt()
    receipt.CustomerRef, receipt.Line = customer.to_ref(), [sales_line(item, 1, 32.5)]
    receipt.CustomField = [_custom("1", "HFM")]
    receipt = receipt.save(qb=qb)

    again = Invoice.get(saved.Id, qb=qb)
    assert [(f.Name, f.Type, f.StringValue) for f in again.CustomField] == [
        ("Account code", "StringType", "HFM"),
        ("Seller", "StringType", "Sunrise Orchards"),
    ]
    assert [(f.DefinitionId, f.StringValue) for f in SalesReceipt.get(receipt.Id, qb=qb).CustomField] == [
        ("1", "HFM"),
        ("2", ""),
    ]


def test_python_quickbooks_against_a_company_without_fields(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, IDEALISED)
    customer, item = new_customer(qb, "Harbor Fresh Market"), new_item(qb, "Gala Apples", 32.5)
    invoice = Invoice()
    invoice.CustomerRef, invoice.Line = customer.to_ref(), [sales_line(item, 2, 32.5)]
    invoice.CustomField = [_custom("1", "HFM")]

    saved = invoice.save(qb=qb)

    assert Invoice.get(saved.Id, qb=qb).CustomField == []
