"""The payment pages: Record payment (a full page, errors re-rendered with what was typed), the order page's
payments table, and Delete payment for admins."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from qbo_integration.models import QboConnection, QboMoney
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_lists():
    cache.clear()
    yield
    cache.clear()


def new_url(order):
    return f"/settings/quickbooks/orders/{order.pk}/payments/new/"


def test_the_form_offers_the_open_balance_the_methods_and_undeposited_funds(staff_client, posted):
    page = staff_client.get(new_url(posted))

    text = page.content.decode()
    assert page.status_code == 200
    assert 'value="472.00"' in text and ">Check</option>" in text and ">Visa</option>" in text
    assert '<option value="4" selected>Undeposited Funds</option>' in text and ">Checking</option>" in text
    assert 'name="token"' in text


def test_a_payment_recorded_on_the_page_shows_on_the_order(staff_client, posted, qbo_connected):
    token = "tok-page-1"
    form = {"amount": "125.00", "date": "", "method": "2", "reference": "CHK 1042", "deposit_to": "4", "token": token}

    response = staff_client.post(new_url(posted), form, follow=True)

    text = response.content.decode()
    assert response.redirect_chain[-1][0] == posted.get_absolute_url()
    assert "Payment of $125.00 recorded in QuickBooks." in text
    assert 'data-testid="payment-row"' in text and "CHK 1042" in text and "Sam Staff" in text
    assert 'data-testid="money-paid">$125.00' in text and 'data-testid="money-open">$347.00' in text

    again = staff_client.post(new_url(posted), form)  # the same form submitted twice

    assert again.status_code == 302
    assert len(entities(qbo_connected, "Payment")) == 1


@pytest.mark.parametrize(
    "amount, words",
    [("abc", "is not an amount"), ("1.234", "at most two decimals"), ("0", "more than zero"), ("900", "open balance")],
)
def test_a_bad_amount_re_renders_the_form_with_the_input(staff_client, posted, qbo_connected, amount, words):
    form = {"amount": amount, "date": "", "method": "2", "reference": "CHK 5", "deposit_to": "4", "token": "t"}

    page = staff_client.post(new_url(posted), form)

    text = page.content.decode()
    assert page.status_code == 422 and words in text
    assert f'value="{amount}"' in text and 'value="CHK 5"' in text
    assert entities(qbo_connected, "Payment") == []


def test_unapplied_credit_is_shown_on_the_order_page(staff_client, posted):
    QboConnection.objects.update(allow_unapplied_credit=True)
    form = {"amount": "500.00", "date": "", "method": "", "reference": "", "deposit_to": "4", "token": "t2"}

    response = staff_client.post(new_url(posted), form, follow=True)

    assert "$28.00 unapplied (the buyer's credit)" in response.content.decode()


def test_a_draft_order_has_no_record_payment(staff_client, order_factory, qbo_connected):
    order = order_factory()

    response = staff_client.get(new_url(order), follow=True)

    assert "is a draft and not in QuickBooks yet" in response.content.decode()


def test_a_bookkeepers_payment_shows_in_quickbooks_on_the_order_page(staff_client, webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.flush()

    text = staff_client.get(posted.get_absolute_url()).content.decode()

    assert 'data-label="Recorded by">in QuickBooks' in text
    assert "Record payment" in text and 'data-testid="delete-payment"' not in text  # staff: no Delete


def test_an_admin_deletes_a_payment_from_the_page(admin_client, staff_client, posted, qbo_connected):
    staff_client.post(
        new_url(posted),
        {"amount": "472.00", "date": "", "method": "2", "reference": "", "deposit_to": "4", "token": "t3"},
    )
    row = QboMoney.objects.get(order=posted)
    url = f"/settings/quickbooks/orders/{posted.pk}/payments/{row.qbo_id}/delete/"
    assert 'data-testid="delete-payment"' in admin_client.get(posted.get_absolute_url()).content.decode()

    refused = staff_client.post(url, {"reason": "oops", "token": "d1"}, follow=True)
    assert "Only admins can delete a payment." in refused.content.decode()
    assert len(entities(qbo_connected, "Payment")) == 1

    missing = admin_client.post(url, {"reason": "", "token": "d2"})
    assert missing.status_code == 422 and len(entities(qbo_connected, "Payment")) == 1

    done = admin_client.post(url, {"reason": "Entered twice", "token": "d3"}, follow=True)

    assert "deleted in QuickBooks; the order is open again." in done.content.decode()
    assert entities(qbo_connected, "Payment") == []
    posted.refresh_from_db()
    assert (posted.status, posted.qbo_balance) == ("posted_to_qb", Decimal("472.00"))
    assert "Reason: Entered twice" in posted.activities.get(activity_type="payment_deleted").description


def test_the_company_rules_form_saves_the_unapplied_credit_setting(admin_client, qbo_connected):
    page = admin_client.get("/settings/quickbooks/")
    assert "Allow payments above the open balance (kept as the buyer&#x27;s credit)" in page.content.decode()

    admin_client.post(
        "/settings/quickbooks/rules/",
        {"shared_name_rule": "role", "inactive_rule": "refuse", "allow_unapplied_credit": "on"},
    )

    assert QboConnection.objects.get().allow_unapplied_credit is True
