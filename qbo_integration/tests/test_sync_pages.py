"""The order page's QuickBooks panel: buttons only where the status table allows, outcomes in place (htmx)."""

import pytest

from orders.services import order_set_status

from .conftest import entities

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BUTTONS = {
    "invoice": "Create Invoice in QB",
    "estimate": "Create Estimate in QB",
    "update": "Update QB Invoice",
    "void": "Void Invoice",
    "convert": "Convert to Invoice",
}


def press(client, order, action):
    return client.post(f"/settings/quickbooks/orders/{order.pk}/{action}/", **HTMX)


def page(client, order) -> str:
    return client.get(f"/orders/{order.pk}/").content.decode()


def in_status(client, order_factory, status):
    order = order_factory()
    if status != "draft":
        assert "Invoice #" in press(client, order, "invoice").content.decode()
        if status != "posted_to_qb":
            order.refresh_from_db()
            order_set_status(order=order, status=status, user_name="QuickBooks Webhook")
    order.refresh_from_db()
    return order


SHOWN = {
    "draft": {"invoice", "estimate"},
    "posted_to_qb": {"update", "void"},
    "paid": set(),
    "cancelled": set(),
}


@pytest.mark.parametrize("status", SHOWN)
def test_it_shows_only_the_buttons_the_status_table_allows(staff_client, qbo_connected, order_factory, status):
    html = page(staff_client, in_status(staff_client, order_factory, status))

    assert {action for action, label in BUTTONS.items() if label in html} == SHOWN[status]


CELLS = [
    ("draft", "invoice", "success"),
    ("draft", "update", "error"),
    ("draft", "void", "error"),
    ("posted_to_qb", "invoice", "error"),
    ("posted_to_qb", "update", "success"),
    ("posted_to_qb", "void", "success"),
    ("paid", "invoice", "error"),
    ("paid", "update", "error"),
    ("paid", "void", "error"),
    ("cancelled", "invoice", "error"),
    ("cancelled", "update", "error"),
    ("cancelled", "void", "error"),
]


@pytest.mark.parametrize(("status", "action", "level"), CELLS)
def test_it_applies_the_status_table_on_the_page(staff_client, qbo_connected, order_factory, status, action, level):
    order = in_status(staff_client, order_factory, status)

    response = press(staff_client, order, action)

    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<section") and 'id="qbo-panel"' in html
    assert f'class="notice {level}"' in html


def test_it_renders_the_outcome_in_place_and_disables_buttons_while_working(staff_client, qbo_connected, order_factory):
    order = order_factory()
    html = page(staff_client, order)
    assert 'hx-disabled-elt="#qbo-panel button"' in html and 'class="htmx-indicator' in html
    assert 'hx-target="#qbo-panel"' in html

    html = press(staff_client, order, "invoice").content.decode()

    assert f"Invoice #{order.number} created in QuickBooks." in html
    assert f"Invoice #{order.number}" in html and "Void Invoice" in html
    assert 'hx-confirm="Void invoice' in html and "cannot be undone" in html


def test_it_says_what_quickbooks_allows_for_estimates(staff_client, qbo_connected, order_factory):
    order = order_factory()
    press(staff_client, order, "estimate")

    html = page(staff_client, order)

    assert "Update QB Estimate" in html and "Convert to Invoice" in html
    assert "Cancel Estimate (mark Rejected in QB)" in html and "cannot void estimates" in html
    assert "Converted: Invoice #" in press(staff_client, order, "convert").content.decode()


def test_it_shows_the_out_of_date_notice_after_an_edit(staff_client, qbo_connected, order_factory):
    from orders.services import order_update

    order = order_factory()
    press(staff_client, order, "invoice")
    order_update(order_id=order.pk, fields={"notes": "changed"}, lines=None, by=None)

    assert "QuickBooks is out of date" in page(staff_client, order)
    assert "QuickBooks is out of date" not in press(staff_client, order, "update").content.decode()


def test_it_falls_back_to_a_redirect_without_htmx(staff_client, qbo_connected, order_factory):
    order = order_factory()

    response = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", follow=True)

    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert "created in QuickBooks" in response.content.decode()


def test_it_syncs_an_account_from_its_page(staff_client, qbo_connected, buyer, apples):
    assert "Sync to QuickBooks" in staff_client.get(f"/accounts/{buyer.pk}/").content.decode()

    html = staff_client.post(f"/settings/quickbooks/sync/account/{buyer.pk}/", **HTMX).content.decode()

    (customer,) = entities(qbo_connected, "Customer")
    assert f"Synced to QuickBooks customer {customer['Id']}." in html
    # the id beside the button follows in place (out-of-band swap), no reload needed
    assert f'id="qbo-id-account-{buyer.pk}" hx-swap-oob="true">{customer["Id"]}</dd>' in html
    html = staff_client.post(f"/settings/quickbooks/sync/product/{apples.pk}/", **HTMX).content.decode()
    assert "Synced to QuickBooks item" in html
    assert entities(qbo_connected, "Item")[0]["Id"] in staff_client.get(f"/products/{apples.pk}/").content.decode()


def test_it_requires_login_for_the_buttons(client, qbo_connected, order_factory):
    order = order_factory()

    response = client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/")

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert entities(qbo_connected, "Invoice") == []


@pytest.mark.parametrize("doc_type", ["invoice", "estimate"])
def test_it_asks_for_confirmation_before_voiding_without_htmx_too(staff_client, qbo_connected, order_factory, doc_type):
    import re

    order = order_factory()
    press(staff_client, order, doc_type)

    html = page(staff_client, order)

    button = html.index('data-testid="qbo-void"')
    form = html[html.rindex("<form", 0, button) : button]
    asked = dict(re.findall(r'(hx-confirm|data-confirm)="([^"]*)"', form))
    assert asked.get("data-confirm") and asked["data-confirm"] == asked["hx-confirm"]  # app.js asks it without htmx
    assert "cannot be undone" in asked["data-confirm"]


def _poll(client, html: str):
    """The panel's own poll, as htmx sends it: its URL with the stamp it carries; and its polling interval."""
    import json
    import re
    from html import unescape

    tag = re.search(r'<section [^>]*id="qbo-panel"[^>]*>', html).group(0)
    since = json.loads(unescape(re.search(r"hx-vals='([^']+)'", tag).group(1)))["since"]
    url = re.search(r'hx-get="([^"]+)"', tag).group(1)
    return client.get(f"{url}?since={since}", **HTMX), re.search(r'hx-trigger="every (\d+s)"', tag).group(1)


def test_a_click_tries_once_and_the_panel_follows_the_job_to_the_workers_outcome(
    staff_client, qbo_connected, order_factory
):
    from datetime import timedelta

    from django.utils import timezone

    from qbo_integration import tasks
    from qbo_integration.models import QboSyncJob

    order = order_factory()
    qbo_connected.add_fault("503", method="POST", path="/invoice$", count=1)

    html = press(staff_client, order, "invoice").content.decode()

    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.attempts) == ("pending", 1)
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1  # one try, no sleep, no retry
    assert "Queued — retrying at" in html and 'class="notice warning"' in html
    poll, every = _poll(staff_client, html)
    assert (poll.status_code, every) == (204, "1s")  # nothing new yet; polled faster while the job is queued

    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()  # the worker's retry

    poll, _ = _poll(staff_client, html)
    assert poll.status_code == 200
    panel = poll.content.decode()
    assert f'data-testid="qbo-doc">Invoice <span class="nowrap">#{order.number}</span><' in panel
    assert "Void Invoice" in panel
    assert 'data-testid="status-badge">Posted to QuickBooks<' in panel  # the header's badge follows too
    again, every = _poll(staff_client, panel)
    assert (again.status_code, every) == (204, "2s")  # done: unchanged since, and back to the usual pace
