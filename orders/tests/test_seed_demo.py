"""The demo data shows only states the product can really reach (issue 16, item 1)."""

from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import Order
from orders.services import order_set_status
from qbo_integration.invariants import order_invariant_violations

pytestmark = pytest.mark.django_db


def test_every_demo_order_is_consistent_and_a_draft():
    call_command("seed_demo", stdout=StringIO())
    orders = list(Order.objects.all())
    assert len(orders) == 5
    assert [v for order in orders for v in order_invariant_violations(order)] == []
    assert {order.status for order in orders} == {"draft"}


def test_seeding_again_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    before = list(Order.objects.values_list("number", "status", "version"))
    call_command("seed_demo", stdout=StringIO())
    assert list(Order.objects.values_list("number", "status", "version")) == before


def test_seeding_again_repairs_an_older_demo_order_set_to_paid_without_a_document():
    call_command("seed_demo", stdout=StringIO())
    old = Order.objects.get(number="DEMO-0004")
    order_set_status(order=old, status=Order.Status.PAID, user_name="Demo data", reason="demo data")
    Order.objects.filter(pk=old.pk).update(
        notes="Demo order: its status was set by the demo data, not by QuickBooks (no invoice exists)."
    )
    old.refresh_from_db()
    assert order_invariant_violations(old) == [
        "Order DEMO-0004: is paid but has no QuickBooks document",
        "Order DEMO-0004: is paid but its QuickBooks document is neither an invoice nor a sales receipt",
        "Order DEMO-0004: is paid but its payment status is unpaid",
    ]
    call_command("seed_demo", stdout=StringIO())
    old.refresh_from_db()
    assert (old.status, old.notes, order_invariant_violations(old)) == ("draft", "Demo order", [])


def test_the_invariants_name_each_contradiction(order_factory):
    order = order_factory(status=Order.Status.POSTED_TO_QB)
    assert order_invariant_violations(order) == [
        f"Order {order.number}: is posted to quickbooks but has no QuickBooks document"
    ]
    Order.objects.filter(pk=order.pk).update(
        qbo_doc_id="7", qbo_doc_number=order.number, qbo_doc_type="invoice", qbo_total="472.00", qbo_balance="0.00"
    )
    order.refresh_from_db()
    assert order_invariant_violations(order) == [
        f"Order {order.number}: payment status unpaid does not match QuickBooks' total $472.00 and balance $0.00 (paid)"
    ]


def test_a_paid_cash_sale_is_consistent_and_a_posted_one_is_not(order_factory):
    order = order_factory()
    receipt = {"qbo_doc_id": "9", "qbo_doc_number": order.number, "qbo_doc_type": "sales_receipt"}
    Order.objects.filter(pk=order.pk).update(status="paid", payment_status="paid", **receipt)
    order.refresh_from_db()
    assert order_invariant_violations(order) == []
    Order.objects.filter(pk=order.pk).update(status="posted_to_qb")
    order.refresh_from_db()
    assert order_invariant_violations(order) == [
        f"Order {order.number}: is a cash sale but is posted to quickbooks",
        f"Order {order.number}: has payment status paid but is posted to quickbooks",
    ]
