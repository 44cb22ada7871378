"""The "Push all pending" page: what will be pushed before the click, and how each order went after it."""

import re

import pytest
from django.core.management import call_command

from orders.services import order_update
from qbo_integration.models import BulkPush
from qbo_integration.testing import REALM_ID

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = "/settings/quickbooks/push/"


@pytest.fixture
def mix(qbo_connected, order_factory, staff_user):
    """Two posted orders edited since their push (one of them paid in QuickBooks meanwhile) and one ready draft."""
    posted = [order_factory(ready_to_push=True) for _ in range(2)]
    call_command("push_pending")
    for order in posted:
        order.refresh_from_db()
        order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)
    paid, fine = posted
    qbo_connected.record_payment(REALM_ID, paid.qbo_doc_id)
    draft = order_factory(ready_to_push=True)
    order_factory()  # not marked ready: not pushed, not listed
    qbo_connected.clear_requests()
    return {"paid": paid, "fine": fine, "draft": draft}


def rows(html: str, testid: str) -> list[str]:
    table = re.search(rf'data-testid="{testid}".*?</table>', html, re.S)
    return re.findall(r"<tr[^>]*>.*?</tr>", table.group(0), re.S)[1:] if table else []


def test_the_page_lists_what_will_be_pushed_before_the_click(staff_client, mix, buyer):
    html = staff_client.get(URL).content.decode()

    assert "<strong>3</strong> orders pending." in html
    listed = rows(html, "bulk-preview")
    assert len(listed) == 3
    for key, action in (
        ("draft", "Create invoice"),
        ("fine", f"Update invoice #{mix['fine'].qbo_doc_number}"),
        ("paid", f"Update invoice #{mix['paid'].qbo_doc_number}"),
    ):
        order = mix[key]
        row = next(r for r in listed if f'href="/orders/{order.pk}/"' in r)
        assert order.number in row and buyer.name in row and "$472.00" in row and action in row


def test_after_the_push_each_order_shows_how_it_went_and_nothing_stale_remains(staff_client, mix, qbo_connected):
    qbo_connected.add_fault("503", method="POST", path="/batch$", body=r'"Invoice": \{', count=6)  # the draft's batch

    html = staff_client.post(URL, **HTMX).content.decode()

    bulk = BulkPush.objects.get(total=3)
    assert (bulk.state, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 1, 1, 1)
    assert "orders pending" not in html and "Starting…" not in html and "hx-trigger" not in html
    assert 'data-state="done"' in html and "1 of 3 pushed in batch requests" in html
    failed, retrying = rows(html, "bulk-problems")
    assert 'class="outcome-failed"' in failed and f'href="/orders/{mix["paid"].pk}/"' in failed
    assert "QuickBooks shows this invoice as paid, so Kadouri will not change it" in failed
    assert 'class="outcome-retrying"' in retrying and f'href="/orders/{mix["draft"].pk}/"' in retrying
    assert "on its own at" in retrying and "QuickBooks is busy or unreachable" in retrying
    pushed = re.search(r'data-testid="bulk-pushed".*?</details>', html, re.S).group(0)
    assert f'href="/orders/{mix["fine"].pk}/"' in pushed and 'class="outcome-done"' in pushed
    assert re.search(r'class="notice error" data-testid="bulk-message"', html)  # a failure is never a green box
    # The progress fragment the page polls says the same, and polls no more.
    assert staff_client.get(f"{URL}{bulk.pk}/progress/").content.decode().count("outcome-failed") >= 1


def test_a_push_in_progress_polls_and_hides_the_button(staff_client, mix):
    bulk = BulkPush.objects.create(state="running", total=3)

    html = staff_client.get(URL).content.decode()

    assert f'hx-get="{URL}{bulk.pk}/progress/"' in html and 'hx-trigger="every 1s"' in html
    assert 'data-testid="bulk-push"' not in html and "orders pending" not in html


def test_a_clean_push_is_a_green_box_with_every_order_listed(staff_client, qbo_connected, order_factory):
    orders = [order_factory(ready_to_push=True) for _ in range(3)]

    html = staff_client.post(URL, **HTMX).content.decode()

    assert 'class="notice success"' in html and "3 of 3 orders pushed in batch requests" in html
    assert 'data-testid="bulk-problems"' not in html
    pushed = re.search(r'data-testid="bulk-pushed".*?</details>', html, re.S).group(0)
    assert all(f'href="/orders/{o.pk}/"' in pushed for o in orders)
