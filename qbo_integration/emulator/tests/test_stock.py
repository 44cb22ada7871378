"""Inventory items and quantity on hand (docs/quickbooks/beyond.md#stock): the faults QuickBooks answers, sales that
lower the quantity, credits that raise it, the bookkeeper's adjustment and its webhook."""

from __future__ import annotations

import pytest
import requests
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.item import Item

from qbo_integration.emulator.testing import make_quickbooks, qbo_emulator  # noqa: F401  (fixture)

from .test_server import Api

REALM = "9130350000000001"
SIMPLE_START = "9130350000000010"


def accounts(api: Api) -> dict[str, str]:
    rows = api.query("select * from Account MAXRESULTS 1000")["Account"]
    return {row["Name"]: row["Id"] for row in rows}


def inventory_body(api: Api, name: str = "Gala Apples", **fields) -> dict:
    ids = accounts(api)
    return {
        "Name": name,
        "Type": "Inventory",
        "TrackQtyOnHand": True,
        "QtyOnHand": 100,
        "InvStartDate": "2026-01-01",
        "UnitPrice": 20,
        "IncomeAccountRef": {"value": ids["Sales of Product Income"]},
        "ExpenseAccountRef": {"value": ids["Cost of Goods Sold"]},
        "AssetAccountRef": {"value": ids["Inventory Asset"]},
        **fields,
    }


def first_error(answer: requests.Response) -> tuple[int, str, str, str]:
    error = answer.json()["Fault"]["Error"][0]
    return answer.status_code, error["code"], error["Message"], error["Detail"]


def sale_line(item_id: str, qty: float | None, price: float = 20.0) -> dict:
    detail: dict = {"ItemRef": {"value": item_id}}
    if qty is not None:
        detail |= {"Qty": qty, "UnitPrice": price}
    return {"DetailType": "SalesItemLineDetail", "Amount": (qty or 1) * price, "SalesItemLineDetail": detail}


@pytest.fixture
def api(qbo_emulator):
    return Api(qbo_emulator)


@pytest.fixture
def stocked(api):
    """An Inventory item with 100 on hand, and a customer to sell it to."""
    return api.create("Item", inventory_body(api)), api.customer("Fresh Mart")


def qty(api: Api, item: dict) -> float:
    return api.read("Item", item["Id"])["QtyOnHand"]


def test_an_inventory_company_has_the_accounts_inventory_items_need(api):
    rows = {row["Name"]: row for row in api.query("select * from Account MAXRESULTS 1000")["Account"]}

    assert (rows["Inventory Asset"]["AccountType"], rows["Inventory Asset"]["AccountSubType"]) == (
        "Other Current Asset",
        "Inventory",
    )
    assert rows["Cost of Goods Sold"]["AccountType"] == "Cost of Goods Sold"
    assert rows["Sales of Product Income"]["AccountType"] == "Income"


def test_it_creates_an_inventory_item_with_its_quantity_and_accounts(api):
    item = api.create("Item", inventory_body(api))

    assert (item["Type"], item["TrackQtyOnHand"], item["QtyOnHand"], item["InvStartDate"]) == (
        "Inventory",
        True,
        100,
        "2026-01-01",
    )
    assert item["AssetAccountRef"]["name"] == "Inventory Asset"
    assert item["ExpenseAccountRef"]["name"] == "Cost of Goods Sold"


def test_it_refuses_an_inventory_item_as_quickbooks_does(api, qbo_emulator):
    no_asset = {k: v for k, v in inventory_body(api).items() if k != "AssetAccountRef"}
    no_date = {k: v for k, v in inventory_body(api, "Pears").items() if k != "InvStartDate"}

    assert first_error(api.call("POST", "item", no_asset)) == (
        400,
        "2020",
        "Required Param Missing",
        "Required parameter is missing in the request. An inventory assetaccount is required if you are tracking "
        "inventory quantities for this product.",
    )
    status, code, _, detail = first_error(api.call("POST", "item", no_date))
    assert (status, code, detail) == (
        400,
        "6000",
        "Business Validation Error: As of date for initial quantity on hand is required",
    )

    simple = Api(qbo_emulator, SIMPLE_START)
    status, code, _, detail = first_error(simple.call("POST", "item", inventory_body(api)))
    assert (status, code) == (400, "6000")
    assert detail == (
        "Business Validation Error: When you create an item, if Track quantity on hand is turned off, the item "
        "cannot be of type Inventory."
    )


def test_an_item_keeps_its_type(api, stocked):
    item, _ = stocked
    service = api.create("Item", {"Name": "Haulage", "Type": "Service", "IncomeAccountRef": {"value": "1"}})

    to_service = api.call(
        "POST", "item", {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Type": "Service"}
    )
    to_inventory = api.call("POST", "item", {**inventory_body(api, "Haulage"), "Id": service["Id"], "SyncToken": "0"})

    assert first_error(to_service)[:2] == (400, "6000") and first_error(to_inventory)[:2] == (400, "6000")
    assert "change the type" in first_error(to_inventory)[3]


def test_an_invoice_line_of_an_inventory_item_needs_a_quantity(api, stocked):
    item, customer = stocked
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], None)]}

    assert first_error(api.call("POST", "invoice", body)) == (
        400,
        "6520",
        "Missing Inventory Item Quantity",
        "Quantity required for inventory item",
    )
    assert qty(api, item) == 100


def test_sales_lower_the_quantity_and_their_undoing_gives_it_back(api, stocked, qbo_emulator):
    item, customer = stocked
    invoice = api.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 30)]})
    assert qty(api, item) == 70

    more = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": [sale_line(item["Id"], 45)]}
    invoice = api.create("Invoice", more)  # an update: by the difference
    assert qty(api, item) == 55
    receipt = api.create(
        "SalesReceipt", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 80)]}
    )
    assert qty(api, item) == -25  # QuickBooks lets you sell more than you have

    api.call("POST", "invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, {"operation": "void"})
    assert qty(api, item) == 20
    api.call("POST", "salesreceipt", {"Id": receipt["Id"], "SyncToken": receipt["SyncToken"]}, {"operation": "delete"})
    assert qty(api, item) == 100
    assert api.read("Item", item["Id"])["SyncToken"] == item["SyncToken"]  # a sale is no new version of the item
    assert not [
        e for e in qbo_emulator.webhooks.pending_events() if e["entity"] == "Item" and e["operation"] == "Update"
    ]


def test_returned_goods_raise_the_quantity(api, stocked, qbo_emulator):
    item, customer = stocked
    memo = api.create("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], 12)]})
    assert qty(api, item) == 112
    # A credit of money only (no quantity) takes no goods back; paying a credit memo out moves nothing either.
    api.create("CreditMemo", {"CustomerRef": {"value": customer["Id"]}, "Line": [sale_line(item["Id"], None)]})
    qbo_emulator.refund_credit_memo(REALM, memo["Id"])
    assert qty(api, item) == 112
    refund = {"CustomerRef": {"value": customer["Id"]}, "DepositToAccountRef": {"value": "5"}}
    api.create("RefundReceipt", {**refund, "Line": [sale_line(item["Id"], 3)]})
    assert qty(api, item) == 115


def test_a_bookkeeper_adjusts_the_quantity_and_quickbooks_tells_by_webhook(api, stocked, qbo_emulator):
    item, _ = stocked
    control = f"{qbo_emulator.base_url}/_emulator/api/companies/{REALM}/actions/adjust_quantity"

    answer = requests.post(control, json={"item_id": item["Id"], "quantity": 64, "as_of": "2026-03-01"})

    assert answer.status_code == 200, answer.text
    after = api.read("Item", item["Id"])
    assert (after["QtyOnHand"], after["SyncToken"], after["InvStartDate"]) == (64, "1", "2026-01-01")
    events = [(e["entity"], e["entity_id"], e["operation"]) for e in qbo_emulator.webhooks.pending_events()]
    assert ("Item", item["Id"], "Update") in events
    service = api.create("Item", {"Name": "Haulage", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    refused = requests.post(control, json={"item_id": service["Id"], "quantity": 5})
    assert refused.status_code == 400 and "does not track" in refused.text


def test_the_ui_lists_quantities_and_adjusts_them(api, stocked, qbo_emulator):
    item, _ = stocked
    ui = f"{qbo_emulator.base_url}/_emulator/company/{REALM}/items"
    page = requests.get(ui).text
    assert f'id="qty-on-hand-{item["Id"]}">100' in page and f'id="adjust-qty-{item["Id"]}"' in page

    answer = requests.post(f"{ui}/{item['Id']}/quantity", data={"quantity": "88.5"}, allow_redirects=False)

    assert answer.status_code == 303 and "msg=" in answer.headers["Location"]
    assert qty(api, item) == 88.5
    bad = requests.post(f"{ui}/{item['Id']}/quantity", data={"quantity": "lots"}, allow_redirects=False)
    assert "error=" in bad.headers["Location"] and qty(api, item) == 88.5


def test_turning_quantities_on_gives_a_company_its_inventory_accounts(qbo_emulator):
    simple = Api(qbo_emulator, SIMPLE_START)
    assert "Inventory Asset" not in accounts(simple)

    qbo_emulator.update_preferences(SIMPLE_START, {"ProductAndServicesPrefs": {"QuantityOnHand": True}})

    assert {"Inventory Asset", "Cost of Goods Sold"} <= set(accounts(simple))
    assert simple.create("Item", inventory_body(simple))["QtyOnHand"] == 100


def test_python_quickbooks_creates_an_inventory_item(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, REALM)
    by_name = {a.Name: a for a in Account.all(qb=qb)}

    def pears(name: str) -> Item:
        item = Item()
        item.Name, item.Type, item.TrackQtyOnHand, item.QtyOnHand = name, "Inventory", True, 40
        item.InvStartDate = "2026-02-01"
        item.IncomeAccountRef = by_name["Sales of Product Income"].to_ref()
        item.ExpenseAccountRef = by_name["Cost of Goods Sold"].to_ref()
        return item

    item = pears("Bosc Pears")
    item.AssetAccountRef = by_name["Inventory Asset"].to_ref()
    saved = item.save(qb=qb)

    assert (saved.Type, saved.QtyOnHand, Item.get(saved.Id, qb=qb).QtyOnHand) == ("Inventory", 40, 40)
    with pytest.raises(QuickbooksException) as refused:
        pears("Anjou Pears").save(qb=qb)
    assert refused.value.error_code == 2020
