"""Stock through the services and the emulator (docs/quickbooks/beyond.md#stock): a product that tracks stock becomes
an Inventory item, invoices lower its quantity and credits of returned goods raise it, and every change of quantity
— Kadouri's own, a bookkeeper's adjustment, a sale made in QuickBooks — reaches the product."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from conftest import make_account, make_order, make_product
from orders.services import LineInput, order_update
from products.models import Product
from qbo_integration.adapt.stock import StockRefused
from qbo_integration.connection.profile import refresh_profile
from qbo_integration.documents.stock import quantities_refresh
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.outbound.credits import credit_issue_request
from qbo_integration.outbound.requests import order_update_request, order_void_request, ref_sync_request
from qbo_integration.reconcile import reconcile_run
from qbo_integration.refs.ensure import ensure_refs
from qbo_integration.testing import REALM_ID, connect_company

from .conftest import entities
from .inbound_support import invoiced, webhooks  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
SIMPLE_START = "9130350000000010"


def account_ids(emu, realm: str = REALM_ID) -> dict[str, str]:
    return {row["Name"]: row["Id"] for row in entities(emu, "Account", realm)}


def choose_stock_accounts(emu, realm: str = REALM_ID) -> None:
    ids = account_ids(emu, realm)
    QboConnection.objects.filter(realm_id=realm).update(
        inventory_asset_account_id=ids["Inventory Asset"],
        inventory_income_account_id=ids["Sales of Product Income"],
        inventory_cogs_account_id=ids["Cost of Goods Sold"],
    )


def stocked_product(name: str = "Honeycrisp Apples", quantity: str = "100") -> Product:
    return make_product(
        name,
        "40.00",
        tracks_inventory=True,
        starting_quantity=Decimal(quantity),
        inventory_start_date=date(2026, 10, 1),
    )


def item_of(emu, product: Product) -> dict:
    product.refresh_from_db()
    return next(i for i in entities(emu, "Item") if i["Id"] == product.qbo_item_id)


@pytest.fixture
def stock_company(webhooks):  # noqa: F811
    """The demo company (it tracks quantities), its profile read and its stock accounts chosen."""
    refresh_profile(REALM_ID)
    choose_stock_accounts(webhooks.emu)
    return webhooks


@pytest.fixture
def honeycrisp(db):
    return stocked_product()


def test_a_product_that_tracks_stock_becomes_an_inventory_item_with_its_starting_quantity(
    stock_company, honeycrisp, staff_user
):
    job = ref_sync_request(obj=honeycrisp, by=staff_user)

    assert job.state == QboSyncJob.State.DONE, job.last_error
    item, ids = item_of(stock_company.emu, honeycrisp), account_ids(stock_company.emu)
    assert (item["Type"], item["TrackQtyOnHand"], item["QtyOnHand"], item["InvStartDate"]) == (
        "Inventory",
        True,
        Decimal("100"),
        "2026-10-01",
    )
    refs = [item[key]["value"] for key in ("AssetAccountRef", "IncomeAccountRef", "ExpenseAccountRef")]
    assert refs == [ids["Inventory Asset"], ids["Sales of Product Income"], ids["Cost of Goods Sold"]]
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("100.000") and honeycrisp.qbo_qty_read_at is not None


def test_a_later_push_never_sends_the_starting_quantity_again(stock_company, honeycrisp, staff_user):
    ref_sync_request(obj=honeycrisp, by=staff_user)
    honeycrisp.refresh_from_db()
    stock_company.emu.adjust_quantity(REALM_ID, honeycrisp.qbo_item_id, 64)
    honeycrisp.unit_price = Decimal("42.00")
    honeycrisp.save()

    result = ensure_refs(accounts=[], products=[honeycrisp])

    assert not result.errors
    item = item_of(stock_company.emu, honeycrisp)
    assert (item["UnitPrice"], item["QtyOnHand"]) == (Decimal("42"), Decimal("64"))  # the adjustment stands


def test_an_invoice_lowers_the_quantity_and_kadouri_reads_it_back_without_reading_each_item(
    stock_company, honeycrisp, seller, buyer, pears, staff_user
):
    order = make_order(seller=seller, buyer=buyer, lines=[(honeycrisp, "30"), (pears, "4"), (honeycrisp, "12")])
    stock_company.emu.clear_requests()

    invoiced(order, by=staff_user)

    honeycrisp.refresh_from_db()
    assert item_of(stock_company.emu, honeycrisp)["QtyOnHand"] == Decimal("58")
    assert honeycrisp.qbo_qty_on_hand == Decimal("58.000")
    assert stock_company.emu.count_requests(method="GET", path=r"/item/") == 0  # one query, no read per item
    line = next(i for i in entities(stock_company.emu, "Invoice")[0]["Line"] if i.get("SalesItemLineDetail"))
    assert line["SalesItemLineDetail"]["Qty"] == Decimal("30")  # inventory lines always carry their quantity


def test_an_update_that_takes_a_product_off_the_invoice_gives_its_stock_back_and_a_void_all_of_it(
    stock_company, honeycrisp, seller, buyer, pears, staff_user
):
    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(honeycrisp, "30"), (pears, "4")]), by=staff_user)
    order_update(
        order_id=order.pk,
        fields={},
        lines=[LineInput(product=pears, quantity=Decimal("6"), unit_price=pears.unit_price)],
        by=staff_user,
        expected_version=order.version,
    )

    assert order_update_request(order=order, by=staff_user).state == QboSyncJob.State.DONE
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("100.000")

    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(honeycrisp, "25")]), by=staff_user)
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("75.000")
    assert order_void_request(order=order, by=staff_user).state == QboSyncJob.State.DONE
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("100.000")


def test_a_credit_of_returned_goods_raises_the_quantity_and_an_amount_credit_does_not(
    stock_company, honeycrisp, seller, buyer, staff_user
):
    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(honeycrisp, "30")]), by=staff_user)
    line = order.lines.get()

    job = credit_issue_request(
        order=order, reason="damaged", lines=[{"lineId": line.pk, "quantity": "5"}], by=staff_user, ip=None
    )

    assert job.state == QboSyncJob.State.DONE, job.last_error
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("75.000")
    job = credit_issue_request(order=order, reason="damaged", amount="10.00", by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.DONE, job.last_error
    assert item_of(stock_company.emu, honeycrisp)["QtyOnHand"] == Decimal("75")


def test_a_bookkeepers_adjustment_reaches_the_product_by_webhook(stock_company, honeycrisp, staff_user):
    ref_sync_request(obj=honeycrisp, by=staff_user)
    honeycrisp.refresh_from_db()

    stock_company.emu.adjust_quantity(REALM_ID, honeycrisp.qbo_item_id, "61.5")
    stock_company.flush()

    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("61.500")


def test_a_sale_made_in_quickbooks_reaches_the_product_at_the_catch_up(stock_company, honeycrisp, buyer):
    refs = ensure_refs(accounts=[buyer], products=[honeycrisp])
    stock_company.flush()
    stock_company.emu.advance(300)
    catchup_run(realm_id=REALM_ID)  # from now on the item itself is older than what a catch-up asks for
    stock_company.emu.create_sales_receipt(REALM_ID, refs.customers[buyer.pk], 40, item_id=refs.items[honeycrisp.pk])
    stock_company.flush()  # no Item webhook comes for a sale
    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("100.000")

    run = catchup_run(realm_id=REALM_ID)

    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("99.000")
    assert "Quantities on hand changed in QuickBooks for 1 product(s)." in run.found["changes"]


def test_quantities_are_read_many_at_a_time(stock_company, staff_user):
    products = [stocked_product(f"Pear {n}", str(n)) for n in range(1, 4)]
    ensure_refs(accounts=[], products=products)
    for product in products:
        stock_company.emu.adjust_quantity(REALM_ID, Product.objects.get(pk=product.pk).qbo_item_id, 7)
    stock_company.emu.clear_requests()

    changed = quantities_refresh(Product.objects.values_list("qbo_item_id", flat=True), realm_id=REALM_ID)

    assert changed == 3 and stock_company.emu.count_requests(subpath="query") == 1
    assert set(Product.objects.values_list("qbo_qty_on_hand", flat=True)) == {Decimal("7.000")}


def test_a_company_without_quantities_gets_no_inventory_item_and_says_why(qbo, staff_user):
    connect_company(qbo, SIMPLE_START)
    product = stocked_product()

    result = ensure_refs(accounts=[], products=[product])

    error = result.errors[("product", product.pk)]
    assert isinstance(error, StockRefused) and "does not track quantity on hand" in error.message
    assert not [i for i in entities(qbo, "Item", SIMPLE_START) if i["Name"] == product.name]


def test_accounts_not_chosen_refuse_the_item_before_anything_is_sent(qbo, staff_user):
    connect_company(qbo, REALM_ID)
    product = stocked_product()
    qbo.clear_requests()

    result = ensure_refs(accounts=[], products=[product])

    assert (
        "Choose the inventory asset, income and cost of goods sold accounts"
        in result.errors[("product", product.pk)].message
    )
    assert qbo.count_requests(method="POST") == 0


def test_a_same_name_service_item_in_quickbooks_is_not_taken_for_the_inventory_item(stock_company, staff_user):
    service = make_product("Bosc Pears", "30.00")
    ensure_refs(accounts=[], products=[service])
    Product.objects.filter(pk=service.pk).update(name="Bosc Pears (old)", qbo_item_id=None)
    product = stocked_product("Bosc Pears")

    result = ensure_refs(accounts=[], products=[product])

    message = result.errors[("product", product.pk)].message
    assert "as a Service item" in message and "does not change an item's type" in message
    product.refresh_from_db()
    assert product.qbo_item_id is None


def test_a_buyer_can_be_sold_more_than_is_on_hand(stock_company, seller, staff_user):
    product = stocked_product(quantity="5")
    other = make_account("Corner Grocer", "CG")
    order = invoiced(make_order(seller=seller, buyer=other, lines=[(product, "8")]), by=staff_user)

    product.refresh_from_db()
    assert order.qbo_doc_id and product.qbo_qty_on_hand == Decimal("-3.000")


def test_an_invoice_voided_in_quickbooks_gives_the_stock_back_by_its_webhook(
    stock_company, honeycrisp, seller, buyer, staff_user
):
    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(honeycrisp, "30")]), by=staff_user)
    stock_company.flush()

    stock_company.emu.void_invoice(REALM_ID, order.qbo_doc_id)  # the bookkeeper, in QuickBooks
    stock_company.flush()

    honeycrisp.refresh_from_db()
    assert honeycrisp.qbo_qty_on_hand == Decimal("100.000")


def test_reconciliation_reads_every_quantity_again(stock_company, honeycrisp, buyer):
    refs = ensure_refs(accounts=[buyer], products=[honeycrisp])
    stock_company.flush()
    stock_company.emu.create_sales_receipt(REALM_ID, refs.customers[buyer.pk], 80, item_id=refs.items[honeycrisp.pk])

    run = reconcile_run()

    honeycrisp.refresh_from_db()
    assert run.error == "" and honeycrisp.qbo_qty_on_hand == Decimal("99.000")
