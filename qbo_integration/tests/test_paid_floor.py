"""A partly paid order cannot be edited below what was paid (issue 16, item 2), and the QuickBooks panel drops
an old failure once something later succeeded."""

from decimal import Decimal

import pytest

from orders.models import Order, OrderLine
from orders.services import LineInput, OrderError, order_update
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.models import QboSyncJob
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def partly_paid(webhooks, posted):
    """Posted at $472.00 (10 × $32.50 + 4 × $36.75); $300.00 paid in QuickBooks."""
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 300)
    webhooks.flush()
    posted.refresh_from_db()
    assert (posted.payment_status, posted.qbo_total, posted.qbo_balance) == (
        "partial",
        Decimal("472.00"),
        Decimal("172.00"),
    )
    return posted


def _edit_form(order, quantity: str) -> dict:
    line = order.lines.first()
    return {
        "number": order.number,
        "seller": order.seller_id,
        "buyer": order.buyer_id,
        "order_date": order.order_date.isoformat(),
        "terms": order.terms,
        "commission_rate": "5.00",
        "notes": "",
        "version": str(order.version),
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "2",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": line.product_id,
        "lines-0-quantity": quantity,
        "lines-0-unit_price": "",
        "lines-0-size": "",
        "lines-0-grade": "",
    }


def _state(order):
    return (
        list(OrderLine.objects.filter(order=order).values_list("product_id", "quantity", "unit_price")),
        Order.objects.get(pk=order.pk).version,
        order.activities.count(),
    )


def test_the_form_refuses_a_total_below_what_was_paid_and_keeps_what_was_typed(staff_client, partly_paid):
    before = _state(partly_paid)
    response = staff_client.post(f"/orders/{partly_paid.pk}/edit/", _edit_form(partly_paid, "1.5"))
    assert response.status_code == 409
    html = response.content.decode()
    assert ("$300.00 has already been paid on invoice #" + partly_paid.number) in html
    assert "these lines total $48.75" in html
    assert 'name="lines-0-quantity" value="1.5"' in html  # what was typed is still in the form
    assert _state(partly_paid) == before


def test_the_form_accepts_a_total_at_or_above_what_was_paid(staff_client, partly_paid):
    # 10 × $32.50 = $325.00 ≥ $300.00
    response = staff_client.post(f"/orders/{partly_paid.pk}/edit/", _edit_form(partly_paid, "10"))
    assert response.status_code == 302
    partly_paid.refresh_from_db()
    assert partly_paid.total == Decimal("325.00") and partly_paid.changed_since_push
    assert order_invariant_violations(partly_paid) == []


def test_the_service_refuses_it_for_every_caller(partly_paid, staff_user, apples):
    with pytest.raises(OrderError, match=r"\$300\.00 has already been paid"):
        order_update(
            order_id=partly_paid.pk,
            fields={},
            lines=[LineInput(product=apples, quantity=Decimal("1"))],
            by=staff_user,
            expected_version=partly_paid.version,
        )


def test_an_unpaid_invoice_can_go_as_low_as_wanted(posted, staff_user, apples):
    order = order_update(
        order_id=posted.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal("1"))],
        by=staff_user,
        expected_version=posted.version,
    )
    assert order.total == Decimal("32.50")


def test_update_refuses_before_sending_when_a_payment_came_after_the_edit(
    webhooks, posted, staff_client, staff_user, apples
):
    """Edited down while unpaid, then paid in QuickBooks before the update: Kadouri says what to fix in Kadouri
    and sends no update (QuickBooks would answer 'resolve it in QuickBooks')."""
    order_update(
        order_id=posted.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal("1"))],
        by=staff_user,
        expected_version=posted.version,
    )
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 300)
    webhooks.flush()
    invoice_before = next(i for i in entities(webhooks.emu, "Invoice") if i["Id"] == posted.qbo_doc_id)
    html = staff_client.post(f"/settings/quickbooks/orders/{posted.pk}/update/", **HTMX).content.decode()
    assert "$300.00 has already been paid on invoice #" in html
    assert "Edit the order in Kadouri to a total of at least $300.00" in html
    assert "Resolve it in QuickBooks" not in html
    assert next(i for i in entities(webhooks.emu, "Invoice") if i["Id"] == posted.qbo_doc_id) == invoice_before


def test_the_panel_drops_an_old_failure_once_something_later_succeeded(
    webhooks, posted, staff_client, staff_user, apples
):
    order_update(
        order_id=posted.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal("1"))],
        by=staff_user,
        expected_version=posted.version,
    )
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 300)
    webhooks.flush()
    staff_client.post(f"/settings/quickbooks/orders/{posted.pk}/update/", **HTMX)
    assert QboSyncJob.objects.filter(order=posted).latest("id").state == "failed"
    page = staff_client.get(f"/orders/{posted.pk}/").content.decode()
    assert 'data-testid="qbo-last-error"' in page  # still the latest word on the order

    posted.refresh_from_db()
    order_update(
        order_id=posted.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal("10"))],
        by=staff_user,
        expected_version=posted.version,
    )  # fixed in Kadouri: the failure is old news
    page = staff_client.get(f"/orders/{posted.pk}/").content.decode()
    assert 'data-testid="qbo-last-error"' not in page and "already been paid" not in page

    html = staff_client.post(f"/settings/quickbooks/orders/{posted.pk}/update/", **HTMX).content.decode()
    assert "updated." in html
    assert 'data-testid="qbo-last-error"' not in staff_client.get(f"/orders/{posted.pk}/").content.decode()


def test_the_panel_drops_an_old_failure_when_quickbooks_settles_the_invoice(
    webhooks, posted, staff_client, staff_user, apples
):
    order_update(
        order_id=posted.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal("1"))],
        by=staff_user,
        expected_version=posted.version,
    )
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 300)
    webhooks.flush()
    staff_client.post(f"/settings/quickbooks/orders/{posted.pk}/update/", **HTMX)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)  # the rest: paid in full
    webhooks.flush()
    page = staff_client.get(f"/orders/{posted.pk}/").content.decode()
    assert 'data-testid="status-badge">Paid<' in page
    assert 'data-testid="qbo-last-error"' not in page
    posted.refresh_from_db()
    assert order_invariant_violations(posted) == []


def test_the_admin_refuses_it_too(admin_client, partly_paid):
    page = admin_client.get(f"/admin/orders/order/{partly_paid.pk}/change/").content.decode()
    lines = list(partly_paid.lines.all())
    data = {
        "number": partly_paid.number,
        "seller": partly_paid.seller_id,
        "buyer": partly_paid.buyer_id,
        "order_date": partly_paid.order_date.isoformat(),
        "terms": partly_paid.terms,
        "notes": "",
        "commission_rate": "5.00",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": "0",
        "activities-MIN_NUM_FORMS": "0",
        "activities-MAX_NUM_FORMS": "1000",
    }
    assert 'name="activities-TOTAL_FORMS"' in page and 'name="lines-TOTAL_FORMS"' in page
    for index, line in enumerate(lines):
        data |= {
            f"lines-{index}-id": line.pk,
            f"lines-{index}-order": partly_paid.pk,
            f"lines-{index}-product": line.product_id,
            f"lines-{index}-quantity": "1",
            f"lines-{index}-unit_price": str(line.unit_price),
            f"lines-{index}-size": "",
            f"lines-{index}-grade": "",
            f"lines-{index}-position": str(index),
        }
    before = _state(partly_paid)
    response = admin_client.post(f"/admin/orders/order/{partly_paid.pk}/change/", data)
    assert response.status_code == 200, response.status_code
    assert "$300.00 has already been paid on invoice #" in response.content.decode()
    assert _state(partly_paid) == before
