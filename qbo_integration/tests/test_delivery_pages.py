"""The order page's Delivery card and its pages (views/delivery_pages.py): Email invoice (prefilled, an error keeps
what was typed), Send again in one click, the PDF download (served while current, else prepared by the worker and
shown live), online payment on and off with QuickBooks' link and its copy button, and why an option is unavailable;
the card follows news without a reload through the QuickBooks panel's polls."""

import pytest

from orders.models import OrderActivity
from qbo_integration.models import QboSyncJob
from qbo_integration.testing import REALM_ID, connect_company

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401
from .test_delivery import drain_now
from .test_live_parts import HTMX, poll_url

pytestmark = pytest.mark.django_db

SIMPLE_START = "9130350000000010"


def page_of(client, order) -> str:
    return client.get(f"/orders/{order.pk}/").content.decode()


def email_url(order) -> str:
    return f"/settings/quickbooks/orders/{order.pk}/email/"


def pdf_url(order) -> str:
    return f"/settings/quickbooks/orders/{order.pk}/pdf/"


def test_a_posted_invoice_s_card_offers_email_and_pdf(staff_client, posted):
    html = page_of(staff_client, posted)

    assert 'id="order-delivery"' in html and 'data-testid="not-emailed">Not emailed yet.' in html
    assert f'href="{email_url(posted)}"' in html and ">Email invoice</a>" in html
    assert f'href="{pdf_url(posted)}" data-testid="get-pdf"' in html


def test_a_draft_shows_no_card_yet(staff_client, order_factory):
    html = page_of(staff_client, order_factory())

    assert '<section id="order-delivery" hidden></section>' in html


def test_the_email_form_is_prefilled_with_the_buyer_s_email(staff_client, posted):
    html = staff_client.get(email_url(posted)).content.decode()

    assert 'value="hfm@example.com"' in html and 'name="token"' in html
    assert f"Email Invoice #{posted.qbo_doc_number}" in html


def test_emailing_from_the_page_shows_emailed_to_on_the_order(staff_client, posted, qbo_connected):
    form = {"to": "ap@harbor.example", "token": "tok-1"}

    response = staff_client.post(email_url(posted), form, follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == posted.get_absolute_url()
    assert f"Invoice #{posted.qbo_doc_number} emailed to ap@harbor.example by QuickBooks." in html
    assert 'data-testid="emailed">Emailed to <strong>ap@harbor.example</strong> on ' in html
    assert staff_client.post(email_url(posted), form).status_code == 302  # the same form twice: joined
    assert len(qbo_connected.sent_mail(REALM_ID)) == 1
    activity = staff_client.get(f"/orders/{posted.pk}/?tab=activity").content.decode()
    assert "Invoice emailed" in activity and "emailed to ap@harbor.example by QuickBooks for Sam Staff" in activity


def test_a_bad_address_keeps_what_was_typed_and_sends_nothing(staff_client, posted, qbo_connected):
    response = staff_client.post(email_url(posted), {"to": "ap at harbor", "token": "tok-1"})

    html = response.content.decode()
    assert response.status_code == 422
    assert "is not an email address" in html and 'value="ap at harbor"' in html
    assert qbo_connected.sent_mail(REALM_ID) == []


def test_send_again_is_one_click_and_a_double_click_mails_once(staff_client, posted, qbo_connected):
    staff_client.post(email_url(posted), {"to": "ap@harbor.example", "token": "tok-1"})
    html = page_of(staff_client, posted)
    again = {
        "to": "ap@harbor.example",
        "token": html.split('name="token" value="')[1].split('"')[0],
    }

    first = staff_client.post(f"{email_url(posted)}again/", again, follow=True)
    staff_client.post(f"{email_url(posted)}again/", again)  # the same button, clicked twice

    assert "emailed to ap@harbor.example by QuickBooks" in first.content.decode()
    assert len(qbo_connected.sent_mail(REALM_ID)) == 2


def test_a_draft_s_email_page_sends_back_with_the_reason(staff_client, order_factory):
    draft = order_factory()

    response = staff_client.get(email_url(draft), follow=True)

    assert "is a draft and not in QuickBooks yet" in response.content.decode()


def test_the_pdf_downloads_as_an_attachment_and_then_from_kadouri_s_copy(staff_client, posted, qbo_connected):
    first = staff_client.get(pdf_url(posted))
    again = staff_client.get(pdf_url(posted))

    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"] == f'attachment; filename="Invoice-{posted.qbo_doc_number}.pdf"'
    assert first.content.startswith(b"%PDF-") and again.content == first.content
    assert qbo_connected.count_requests(method="GET", path="/pdf$") == 1
    html = page_of(staff_client, posted)
    assert f'download="Invoice-{posted.qbo_doc_number}.pdf" data-testid="download-pdf"' in html


def test_while_quickbooks_is_down_the_page_says_preparing_then_shows_the_download_live(
    staff_client, posted, qbo_connected
):
    qbo_connected.add_fault("503", method="GET", path="/pdf$")
    response = staff_client.get(pdf_url(posted), follow=True)
    html = response.content.decode()
    assert "Preparing the PDF…" in html and 'data-testid="pdf-preparing"' in html
    url = poll_url(html, "qbo-panel")
    assert staff_client.get(url, **HTMX).status_code == 204

    drain_now()  # the worker's retry

    live = staff_client.get(url, **HTMX)
    assert live.status_code == 200
    part = live.content.decode()
    assert 'id="order-delivery" data-testid="order-delivery" hx-swap-oob="true"' in part
    assert 'data-testid="download-pdf"' in part and "pdf-preparing" not in part
    assert staff_client.get(poll_url(part, "qbo-panel"), **HTMX).status_code == 204


def test_an_email_sent_in_quickbooks_reaches_the_open_page(staff_client, posted, webhooks, qbo_connected):
    url = poll_url(page_of(staff_client, posted), "qbo-panel")
    token = qbo_connected.issue_tokens(REALM_ID)["access_token"]
    qbo_connected.handle(
        "POST",
        f"/v3/company/{REALM_ID}/invoice/{posted.qbo_doc_id}/send?sendTo=books%40harbor.example",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        b"",
    )
    webhooks.flush()

    live = staff_client.get(url, **HTMX)

    assert live.status_code == 200
    assert "Emailed to <strong>books@harbor.example</strong>" in live.content.decode()


# --- online payment -------------------------------------------------------------------------------------------------


@pytest.fixture
def online(qbo, db, order_factory, staff_user):
    connect_company(qbo, REALM_ID)
    return invoiced(order_factory(), by=staff_user)


def test_allowing_card_shows_the_payment_link_with_its_copy_button(staff_client, online, qbo):
    html = page_of(staff_client, online)
    assert 'data-testid="online-card">Off' in html and ">Allow card</button>" in html

    response = staff_client.post(
        f"/settings/quickbooks/orders/{online.pk}/online-payment/", {"card": "true", "ach": "false"}, follow=True
    )

    html = response.content.decode()
    online.refresh_from_db()
    assert "the buyer may pay by card." in html
    assert 'data-testid="online-card">Allowed' in html and 'data-testid="online-ach">Off' in html
    field = f'value="{online.qbo_invoice_link}" aria-label="Payment link for the buyer" data-testid="invoice-link"'
    assert field in html
    assert '<button type="button" data-copy data-testid="copy-link">Copy link</button>' in html
    assert online.activities.filter(activity_type=OrderActivity.Type.ONLINE_PAYMENT_CHANGED).count() == 1


def test_without_the_buyer_s_email_the_card_says_why_there_is_no_link(staff_client, online, staff_user):
    online.buyer.email = ""
    online.buyer.save()

    staff_client.post(f"/settings/quickbooks/orders/{online.pk}/online-payment/", {"card": "true", "ach": "false"})

    html = page_of(staff_client, online)
    assert 'data-testid="no-link"' in html and "only for an invoice with the buyer's email" in html


def test_a_company_without_online_payments_says_why_the_option_is_unavailable(
    staff_client, qbo, db, order_factory, staff_user
):
    connect_company(qbo, SIMPLE_START)
    order = invoiced(order_factory(), by=staff_user)

    html = page_of(staff_client, order)
    response = staff_client.post(
        f"/settings/quickbooks/orders/{order.pk}/online-payment/", {"card": "true", "ach": "false"}, follow=True
    )

    assert (
        'data-testid="online-unavailable">Unavailable: Simple Start Produce LLC does not accept online payments' in html
    )
    assert "toggle-card" not in html
    assert "does not accept online payments" in response.content.decode()
    assert not QboSyncJob.objects.filter(action="set_online_payment").exists()
