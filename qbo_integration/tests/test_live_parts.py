"""Parts of pages that update by themselves (issue 16, item 4): the order's QuickBooks panel with the header's
badges and buttons, the reconciliation report and the "Changes from QuickBooks" card poll every 2 s and get
204 until what they show has changed. (tests/browser/test_live_updates.py watches them in Chromium.)"""

import json
import re
from html import unescape as html_unescape

import pytest

from qbo_integration import reconcile
from qbo_integration.inbound import catchup
from qbo_integration.outbound.credits import credit_issue_request
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def poll_url(html: str, element_id: str) -> str:
    tag = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html).group(0)
    assert 'hx-trigger="every 2s"' in tag and "data-live" in tag, tag
    since = json.loads(html_unescape(re.search(r"hx-vals='([^']+)'", tag).group(1)))["since"]
    return re.search(r'hx-get="([^"]+)"', tag).group(1) + f"?since={since}"


def test_the_order_panel_answers_204_until_a_payment_changes_it(staff_client, webhooks, posted):
    page = staff_client.get(f"/orders/{posted.pk}/").content.decode()
    url = poll_url(page, "qbo-panel")
    assert staff_client.get(url, **HTMX).status_code == 204
    assert staff_client.get(url, **HTMX).status_code == 204

    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    changed = staff_client.get(url, **HTMX)
    assert changed.status_code == 200
    html = changed.content.decode()
    assert 'data-testid="qbo-balance">$0.00<' in html
    assert re.search(r'id="order-badges" hx-swap-oob="true">\s*<span [^>]*data-testid="status-badge">Paid<', html)
    assert 'id="order-actions" hx-swap-oob="true"' in html and "/edit/" not in html  # paid: read-only
    assert staff_client.get(poll_url(html, "qbo-panel"), **HTMX).status_code == 204


def test_the_order_panel_answers_when_only_the_money_card_has_news(staff_client, staff_user, webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    assert credit_issue_request(order=posted, reason="damaged", amount="50.00", by=staff_user, ip=None).state == "done"
    webhooks.flush()
    page = staff_client.get(f"/orders/{posted.pk}/").content.decode()
    url = poll_url(page, "qbo-panel")
    assert staff_client.get(url, **HTMX).status_code == 204

    (memo,) = entities(webhooks.emu, "CreditMemo")
    webhooks.emu.refund_credit_memo(REALM_ID, memo["Id"], 30)  # the invoice stays paid: the panel's facts stay
    webhooks.flush()
    changed = staff_client.get(url, **HTMX)

    assert changed.status_code == 200
    html = changed.content.decode()
    assert 'id="order-money" data-testid="order-money" hx-swap-oob="true"' in html
    assert 'data-testid="credit-refunded">$30.00<' in html and 'data-testid="credit-remaining">$20.00<' in html
    assert staff_client.get(poll_url(html, "qbo-panel"), **HTMX).status_code == 204


def test_an_action_answer_keeps_its_outcome_through_the_next_polls(staff_client, webhooks, order_factory):
    order = order_factory()
    html = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", **HTMX).content.decode()
    assert "created in QuickBooks" in html
    webhooks.flush()  # the creation's own echo changes nothing the panel shows
    assert staff_client.get(poll_url(html, "qbo-panel"), **HTMX).status_code == 204


def test_the_reconciliation_report_updates_when_a_run_finishes(admin_client, webhooks, posted):
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "No report yet." in page and "Reload" not in page
    url = poll_url(page, "reconcile-report")
    assert admin_client.get(url).status_code == 204
    reconcile.reconcile_run()  # what the worker does after "Run report now"
    report = admin_client.get(url)
    assert report.status_code == 200 and "1 linked order checked, 0 with drift." in report.content.decode()


def test_the_catch_up_card_updates_when_a_catch_up_finishes(admin_client, webhooks, posted):
    page = admin_client.get("/settings/quickbooks/").content.decode()
    url = poll_url(page, "qbo-inbound")
    assert admin_client.get(url).status_code == 204
    catchup.catchup_run(realm_id=REALM_ID)  # what the worker does after "Catch up now"
    card = admin_client.get(url)
    assert card.status_code == 200 and 'data-testid="last-catchup"' in card.content.decode()
    assert "never" not in re.search(r'data-testid="last-catchup">(.*?)</dd>', card.content.decode(), re.S).group(1)


def test_starting_them_no_longer_asks_for_a_reload(admin_client, webhooks, posted):
    for url in ("/settings/quickbooks/catchup/", "/settings/quickbooks/reconcile/run/"):
        page = admin_client.post(url, follow=True).content.decode()
        assert "Reload this page" not in page and "as soon as it is done" in page


@pytest.mark.parametrize(
    "url",
    [
        "/settings/quickbooks/orders/1/live/",
        "/settings/quickbooks/reconcile/report/",
        "/settings/quickbooks/inbound-card/",
    ],
)
def test_the_live_parts_need_a_login(client, url):
    assert client.get(url).status_code == 302
