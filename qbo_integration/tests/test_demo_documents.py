"""`manage.py qbo_demo_documents`: once QuickBooks is connected, demo orders reach every status through the
real services, each with its document (issue 16, item 1)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from qbo_integration.invariants import order_invariant_violations

from .inbound_support import entities, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


def _demo_orders() -> dict[str, Order]:
    return {order.number: order for order in Order.objects.all()}


def test_it_refuses_before_quickbooks_is_connected(qbo):
    call_command("seed_demo", stdout=StringIO())
    with pytest.raises(CommandError, match="Connect to QuickBooks"):
        call_command("qbo_demo_documents", stdout=StringIO())
    assert {o.status for o in _demo_orders().values()} == {"draft"}


def test_it_gives_demo_orders_every_status_with_their_documents(webhooks):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("qbo_demo_documents", stdout=out)
    webhooks.flush()  # the bookkeeper's payment reaches Kadouri as a webhook

    orders = _demo_orders()
    assert {number: (o.status, o.qbo_doc_type, o.payment_status) for number, o in orders.items()} == {
        "DEMO-0001": ("draft", "", "unpaid"),
        "DEMO-0002": ("posted_to_qb", "estimate", "unpaid"),
        "DEMO-0003": ("posted_to_qb", "invoice", "unpaid"),
        "DEMO-0004": ("paid", "invoice", "paid"),
        "DEMO-0005": ("cancelled", "invoice", "unpaid"),
    }
    assert [v for order in orders.values() for v in order_invariant_violations(order)] == []
    in_quickbooks = {doc["DocNumber"]: doc for kind in ("Invoice", "Estimate") for doc in entities(webhooks.emu, kind)}
    for number in ("DEMO-0002", "DEMO-0003", "DEMO-0004", "DEMO-0005"):
        assert in_quickbooks[number]["Id"] == orders[number].qbo_doc_id
    assert in_quickbooks["DEMO-0004"]["Balance"] == 0
    assert "DEMO-0004: invoice #DEMO-0004 created in QuickBooks; the emulator's bookkeeper paid it" in out.getvalue()
    assert orders["DEMO-0004"].activities.filter(activity_type="payment_received").exists()

    again = StringIO()
    call_command("qbo_demo_documents", stdout=again)  # safe to run again: nothing new in QuickBooks
    assert len(entities(webhooks.emu, "Invoice")) == 3
    assert "DEMO-0003: left as it is (posted to quickbooks)." in again.getvalue()


def test_the_settings_button_loads_them_for_admins_only(webhooks, admin_client, staff_client):
    call_command("seed_demo", stdout=StringIO())
    assert 'data-testid="load-demo-documents"' in admin_client.get("/settings/quickbooks/").content.decode()
    assert 'data-testid="load-demo-documents"' not in staff_client.get("/settings/quickbooks/").content.decode()
    staff_client.post("/settings/quickbooks/demo-documents/")
    assert {o.status for o in _demo_orders().values()} == {"draft"}

    page = admin_client.post("/settings/quickbooks/demo-documents/", follow=True).content.decode()
    assert "DEMO-0003: invoice #DEMO-0003 created in QuickBooks." in page
    assert 'data-testid="load-demo-documents"' not in page  # nothing left to load
    webhooks.flush()
    assert Order.objects.get(number="DEMO-0004").status == "paid"
    assert [v for order in _demo_orders().values() for v in order_invariant_violations(order)] == []
