"""Mapping: pure functions, no HTTP (the spec's Sync Mapping)."""

import json
from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account
from conftest import make_order
from orders.models import Order
from products.models import Product
from qbo_integration import mapping
from qbo_integration.documents.store import WriteTarget

pytestmark = pytest.mark.django_db


def test_it_maps_an_account_to_a_customer():
    account = Account(
        name="Harbor Fresh: Market\tWest",
        code="HFM",
        email="ap@harbor.example",
        phone="559-555-0100",
        address_line1="12 Dock Rd",
        city="Fresno",
        region="CA",
        postal_code="93701",
        country="USA",
    )

    payload = mapping.customer_payload(account, display_name=mapping.customer_display_name(account))

    assert payload == {
        "DisplayName": "Harbor Fresh - Market - West",
        "CompanyName": "Harbor Fresh - Market - West",
        "BillAddr": {
            "Line1": "12 Dock Rd",
            "City": "Fresno",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "93701",
            "Country": "USA",
        },
        "PrimaryEmailAddr": {"Address": "ap@harbor.example"},
        "PrimaryPhone": {"FreeFormNumber": "559-555-0100"},
        "Active": True,
    }


def test_it_keeps_display_names_valid_and_unique():
    long = Account(name="x" * 600 + "\nsecond line", code="LONG")
    assert len(mapping.customer_display_name(long)) == 500 and "\n" not in mapping.customer_display_name(long)
    twin = Account(name="Harbor Fresh Market", code="HFM2")
    assert mapping.customer_display_name(twin, disambiguate=True) == "Harbor Fresh Market (HFM2)"
    assert len(mapping.customer_display_name(long, disambiguate=True)) == 500
    assert mapping.customer_display_name(Account(name=":::", code="ODD")) == "ODD"


def test_it_leaves_out_an_email_quickbooks_would_refuse():
    payload = mapping.customer_payload(Account(name="A", code="A", email="nobody@localhost"), display_name="A")
    assert "PrimaryEmailAddr" not in payload and payload["BillAddr"] == {"Country": "USA"}


def test_it_maps_a_product_to_a_service_item():
    product = Product(name="Gala Apples: 88 ct", unit_price=Decimal("32.50"), description="Washington", sku="GA-88")

    assert mapping.item_payload(product, income_account_id="79") == {
        "Name": "Gala Apples - 88 ct",
        "Type": "Service",
        "UnitPrice": 32.5,
        "IncomeAccountRef": {"value": "79"},
        "Active": True,
        "Description": "Washington",
        "Sku": "GA-88",
    }
    assert len(mapping.item_name(Product(name="y" * 100 + "z"))) == 100


def test_it_maps_an_order_to_an_invoice_without_commission(seller, buyer, apples, pears):
    order = make_order(
        seller=seller,
        buyer=buyer,
        lines=[(apples, "10"), (pears, "2.5")],
        terms=Order.Terms.NET_15,
        notes="Dock 4",
        commission_rate=Decimal("7.5"),
    )
    line = order.lines.get(product=pears)
    line.size, line.grade = "100 ct", "Fancy"
    line.save()

    payload = mapping.sales_document_payload(
        order, customer_id="58", item_ids={apples.pk: "5", pears.pk: "6"}, term_id="2"
    )

    assert payload == {
        "CustomerRef": {"value": "58"},
        "DocNumber": order.number,
        "TxnDate": "2026-11-02",
        "DueDate": "2026-11-17",
        "SalesTermRef": {"value": "2"},
        "CustomerMemo": {"value": "Dock 4"},
        "PrivateNote": "Dock 4",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 325,
                "Description": "Gala Apples",
                "SalesItemLineDetail": {"ItemRef": {"value": "5", "name": "Gala Apples"}, "Qty": 10, "UnitPrice": 32.5},
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 91.88,
                "Description": "Bartlett Pears (100 ct, Fancy)",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "6", "name": "Bartlett Pears"},
                    "Qty": 2.5,
                    "UnitPrice": 36.75,
                },
            },
        ],
    }
    assert "ommission" not in json.dumps(payload)
    assert sum(Decimal(str(line["Amount"])) for line in payload["Line"]) == order.total


def test_it_sends_money_as_json_numbers_that_round_trip_exactly():
    for text in ["0.01", "32.50", "1234567.89", "2.125", "10"]:
        value = mapping.number(Decimal(text))
        assert isinstance(value, (int, float)) and Decimal(json.dumps(value)) == Decimal(text)


def test_it_links_a_converted_estimate_and_builds_a_sparse_update(seller, buyer, apples):
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], terms=Order.Terms.DUE_ON_RECEIPT)
    payload = mapping.sales_document_payload(
        order, customer_id="1", item_ids={apples.pk: "2"}, term_id=None, estimate_id="41"
    )

    assert payload["LinkedTxn"] == [{"TxnId": "41", "TxnType": "Estimate"}]
    assert "SalesTermRef" not in payload and payload["DueDate"] == "2026-11-02" and "CustomerMemo" not in payload
    update = mapping.sales_document_update(payload, WriteTarget("Invoice", "7", "3"))
    assert (update["Id"], update["SyncToken"], update["sparse"], update["DocNumber"]) == ("7", "3", True, order.number)
    assert update["Line"] == payload["Line"]


def test_it_fingerprints_what_was_sent():
    assert mapping.fingerprint({"a": 1, "b": 2}) == mapping.fingerprint({"b": 2, "a": 1})
    assert mapping.fingerprint({"a": 1}) != mapping.fingerprint({"a": 2})
    assert mapping.due_date(Order(order_date=date(2026, 1, 31), terms=Order.Terms.NET_60)) == date(2026, 4, 1)


def test_it_keeps_the_number_quickbooks_gave_a_document_it_created(order_factory):
    order = order_factory()
    order.qbo_doc_number = "1007"  # an invoice the bookkeeper converted from the estimate in QuickBooks

    payload = mapping.sales_document_payload(
        order, customer_id="1", item_ids={ln.product_id: "2" for ln in order.lines.all()}, term_id=None
    )

    assert payload["DocNumber"] == "1007"
