"""Record cash sale from the order page: the panel's link, the form page (QuickBooks' methods and accounts, errors
kept with the input), the receipt shown on the panel, and its void."""

import re

import pytest

from orders.models import OrderActivity

from .conftest import entities

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def form_url(order) -> str:
    return f"/settings/quickbooks/orders/{order.pk}/cash-sale/"


def page(client, order) -> str:
    return client.get(f"/orders/{order.pk}/").content.decode()


def account_id(emu, name: str) -> str:
    return next(a["Id"] for a in entities(emu, "Account") if a["Name"] == name)


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


def test_a_draft_offers_record_cash_sale_and_the_form_lists_quickbooks_choices(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()

    assert "Record cash sale" in page(staff_client, order)
    response = staff_client.get(form_url(order))

    assert response.status_code == 200
    html = response.content.decode()
    assert ">Cash<" in html and ">Check<" in html and ">Checking<" in html
    assert selected(html, "deposit_to") == account_id(qbo_connected, "Undeposited Funds")
    assert entities(qbo_connected, "SalesReceipt") == []  # showing the form sends nothing


def test_the_form_records_the_sale_and_the_panel_shows_the_receipt(staff_client, qbo_connected, order_factory):
    order = order_factory()
    savings = account_id(qbo_connected, "Savings")

    response = staff_client.post(form_url(order), {"method": "3", "reference": "VISA 7781", "deposit_to": savings})

    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    assert (receipt["PaymentMethodRef"]["value"], receipt["PaymentRefNum"]) == ("3", "VISA 7781")
    assert receipt["DepositToAccountRef"]["value"] == savings
    html = page(staff_client, order)
    assert f"Cash sale recorded in QuickBooks as sales receipt #{order.number}." in html
    assert f'Sales receipt <span class="nowrap">#{order.number}</span>' in html
    assert "Visa" in html and "(ref VISA 7781)" in html and "Savings" in html
    assert "Void sales receipt" in html
    assert "Update QB" not in html and "Record cash sale</a>" not in html and "Create Invoice in QB" not in html
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")


def test_a_form_error_keeps_what_was_typed_and_sends_nothing(staff_client, qbo_connected, order_factory):
    order = order_factory()

    response = staff_client.post(form_url(order), {"method": "2", "reference": "X" * 22, "deposit_to": "4"})

    assert response.status_code == 422
    html = response.content.decode()
    assert "at most 21 characters" in html and 'value="' + "X" * 22 + '"' in html
    assert selected(html, "method") == "2"
    assert qbo_connected.count_requests(method="POST") == 0
    order.refresh_from_db()
    assert order.status == "draft"


def test_a_method_not_in_quickbooks_is_refused_on_the_form(staff_client, qbo_connected, order_factory):
    order = order_factory()

    response = staff_client.post(form_url(order), {"method": "999", "reference": "", "deposit_to": "4"})

    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert entities(qbo_connected, "SalesReceipt") == [] and entities(qbo_connected, "Customer") == []


def test_a_second_submit_of_the_form_records_no_second_receipt(staff_client, qbo_connected, order_factory):
    order = order_factory()
    data = {"method": "1", "reference": "", "deposit_to": "4"}

    first = staff_client.post(form_url(order), data)
    second = staff_client.post(form_url(order), data)

    assert first.status_code == 302
    assert second.status_code == 422 and "already a cash sale" in second.content.decode()
    assert len(entities(qbo_connected, "SalesReceipt")) == 1


def test_void_from_the_panel_cancels_the_order(staff_client, qbo_connected, order_factory):
    order = order_factory()
    staff_client.post(form_url(order), {"method": "1", "reference": "", "deposit_to": "4"})

    response = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/void/", **HTMX)

    html = response.content.decode()
    assert f"Sales receipt #{order.number} voided in QuickBooks; the order is cancelled." in html
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    assert receipt["PrivateNote"].startswith("Voided")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.activities.filter(activity_type=OrderActivity.Type.INVOICE_VOIDED).count() == 1
    assert "Void sales receipt" not in page(staff_client, order)


def test_a_posted_invoice_offers_no_cash_sale(staff_client, qbo_connected, order_factory):
    order = order_factory()
    staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", **HTMX)

    response = staff_client.get(form_url(order))

    assert response.status_code == 302
    assert "Record cash sale" not in page(staff_client, order)
