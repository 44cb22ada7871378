"""Every page is usable on a phone (390 × 844) and on a desktop (1280 × 800): nothing is wider than the screen,
and the controls people need — the header's links and Log out, the money columns, the order form's product
picker — are on screen, not clipped or pushed off to the right.

Set UI_SHOTS_DIR to also save a full-page screenshot of every page at both widths.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import make_account, make_order, make_product
from orders.models import Order
from qbo_integration import reconcile
from qbo_integration.connection import calls
from qbo_integration.inbound import catchup
from qbo_integration.models import BulkPush, IntegrationLog, QboConnection, QboWebhookEvent
from qbo_integration.outbound.requests import order_push_request, order_void_request
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NAV_LINKS = ["Orders", "Accounts", "Products", "Settings", "Admin"]

# Every control whose box must lie inside the viewport, given as JS: the elements to check.
ON_SCREEN = """(selector) => {
  const problems = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const hidden = !el.checkVisibility() || box.width === 0 || box.height === 0;
    if (hidden || box.left < -0.5 || box.right > window.innerWidth + 0.5) {
      problems.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim().slice(0, 40)}" `
                    + `${hidden ? 'is hidden' : `spans x ${Math.round(box.left)}–${Math.round(box.right)}`}`);
    }
  }
  return problems;
}"""


@pytest.fixture
def shop(qbo_emulator_server, settings, admin_user):
    """Orders in every status, with long names and amounts over $1,000, and something on every QuickBooks page."""
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    store_connection(emu, user=admin_user)
    seller = make_account("Green Valley Farms Cooperative of the Central San Joaquin Valley", "GVFCOOP")
    buyer = make_account("Harbor Fresh Market & Wholesale Produce Distributors", "HARBORFRESH")
    apples = make_product("Gala Apples, Washington Extra Fancy 88 count", "32.50", sku="GALA-88-WA-XF")
    pears = make_product("Bartlett Pears", "36.75", unit="box")
    lines = [(apples, "120"), (pears, "12.5")]

    def order(number, **kw):
        return make_order(
            seller=seller,
            buyer=buyer,
            lines=lines,
            by=admin_user,
            number=number,
            notes="Deliver to dock 4 before 6 AM; call the receiving manager on arrival.",
            **kw,
        )

    draft = order("KD-2026-00001-DRAFT")
    posted = order("KD-2026-00002")
    assert order_push_request(order=posted, doc_type="invoice", by=admin_user).state == "done"
    estimate = order("KD-2026-00003")
    assert order_push_request(order=estimate, doc_type="estimate", by=admin_user).state == "done"
    paid = order("KD-2026-00004")
    assert order_push_request(order=paid, doc_type="invoice", by=admin_user).state == "done"
    paid.refresh_from_db()
    emu.record_payment(REALM_ID, paid.qbo_doc_id)
    reconcile.reconcile_take_quickbooks(order_id=paid.pk)
    cancelled = order("KD-2026-00005")
    assert order_push_request(order=cancelled, doc_type="invoice", by=admin_user).state == "done"
    assert order_void_request(order=Order.objects.get(pk=cancelled.pk), by=admin_user).state == "done"

    posted.refresh_from_db()
    invoice = calls.read("Invoice", posted.qbo_doc_id)
    lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    lines[0]["SalesItemLineDetail"]["Qty"], lines[0]["Amount"] = 99, 99 * lines[0]["SalesItemLineDetail"]["UnitPrice"]
    calls.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
        request_id=f"layout-{posted.pk}",
    )  # drift: the total, edited there
    reconcile.reconcile_run(by=admin_user)
    catchup.catchup_run(realm_id=REALM_ID)
    QboWebhookEvent.objects.create(
        dedupe_key="layout-1",
        source=QboWebhookEvent.Source.LEGACY,
        realm_id=REALM_ID,
        entity="Invoice",
        entity_id=posted.qbo_doc_id,
        operation="Update",
        status=QboWebhookEvent.Status.FAILED,
        attempts=5,
        last_error="QuickBooks answered 503 Service Unavailable five times in a row.",
        raw={
            "realmId": REALM_ID,
            "name": "Invoice",
            "id": posted.qbo_doc_id,
            "operation": "Update",
            "lastUpdated": "2026-12-06T17:45:35.000-08:00",
        },
    )
    IntegrationLog.objects.create(
        realm_id=REALM_ID,
        event=IntegrationLog.Event.CONNECTED,
        user=admin_user,
        message=f"Connected to QuickBooks company {REALM_ID} (a long message that must wrap "
        "on a phone instead of widening the page).",
    )
    BulkPush.objects.create(
        state=BulkPush.State.DONE,
        total=3,
        succeeded=2,
        failed=1,
        requests_used=4,
        message="1 need attention: see each order's Activity Log.",
        created_by=admin_user,
    )
    for o in (draft, posted, estimate, paid, cancelled):
        o.refresh_from_db()
    assert [o.status for o in (draft, posted, estimate, paid, cancelled)] == [
        "draft",
        "posted_to_qb",
        "posted_to_qb",
        "paid",
        "cancelled",
    ]
    return {
        "draft": draft,
        "posted": posted,
        "estimate": estimate,
        "paid": paid,
        "cancelled": cancelled,
        "account": seller,
        "product": apples,
        "event": QboWebhookEvent.objects.get(dedupe_key="layout-1"),
    }


def _pages(shop) -> list[tuple[str, str]]:
    """(name, path) of every page a person reaches from the header."""
    pages = [("orders", "/"), ("orders-empty", "/?q=nothing-like-this"), ("order-new", "/orders/new/")]
    for status in ("draft", "posted", "estimate", "paid", "cancelled"):
        pages.append((f"order-{status}", f"/orders/{shop[status].pk}/"))
    pages += [
        ("order-activity", f"/orders/{shop['posted'].pk}/?tab=activity"),
        ("order-edit-draft", f"/orders/{shop['draft'].pk}/edit/"),
        ("order-edit-posted", f"/orders/{shop['posted'].pk}/edit/"),
        ("order-delete", f"/orders/{shop['draft'].pk}/delete/"),
        ("order-delete-paid", f"/orders/{shop['paid'].pk}/delete/"),
        ("accounts", "/accounts/"),
        ("account", f"/accounts/{shop['account'].pk}/"),
        ("account-new", "/accounts/new/"),
        ("account-edit", f"/accounts/{shop['account'].pk}/edit/"),
        ("products", "/products/"),
        ("product", f"/products/{shop['product'].pk}/"),
        ("product-new", "/products/new/"),
        ("product-edit", f"/products/{shop['product'].pk}/edit/"),
        ("settings", "/settings/quickbooks/"),
        ("inbox", "/settings/quickbooks/inbox/"),
        ("inbox-event", f"/settings/quickbooks/inbox/{shop['event'].pk}/"),
        ("reconciliation", "/settings/quickbooks/reconcile/"),
        ("bulk-push", "/settings/quickbooks/push/"),
    ]
    return pages


# What must be on screen on particular pages, beyond the header.
KEY_CONTROLS = {
    "orders": ["table.table tbody td:nth-child(5)", "a.button"],  # the Total column, New order
    "order-draft": ["[data-testid=lines] tbody td:nth-child(7)", "[data-testid=total]", ".qbo-panel button"],
    "order-posted": ["[data-testid=lines] tbody td:nth-child(7)", "[data-testid=total]", ".qbo-panel button"],
    "order-estimate": ["[data-testid=lines] tbody td:nth-child(7)", ".qbo-panel button"],
    "order-paid": ["[data-testid=lines] tbody td:nth-child(7)", "[data-testid=total]"],
    "order-cancelled": ["[data-testid=lines] tbody td:nth-child(7)"],
    "order-new": [
        "#id_lines-0-product",
        "#id_lines-0-quantity",
        "#id_lines-0-unit_price",
        "#add-line",
        "button.primary",
    ],
    "order-edit-draft": ["#id_lines-0-product", "#id_lines-1-product", "#id_lines-1-DELETE", "button.primary"],
    "order-edit-posted": ["#id_lines-0-product", "button.primary"],
    "accounts": ["table.table tbody td:nth-child(5)"],
    "products": ["table.table tbody td:nth-child(4)"],
    "inbox": ["[data-testid=replay-selected]", "table.table tbody td:nth-child(10)"],
    "reconciliation": ["[data-testid^=take-quickbooks]", "[data-testid=run-reconcile]"],
    "settings": ["[data-testid=catchup]", "[data-testid=integration-log] tbody td:nth-child(3)"],
    "bulk-push": ["[data-testid=bulk-push]"],
}


def _shot(page, name: str, viewport: dict) -> None:
    folder = os.environ.get("UI_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"ui-{name}-{viewport['width']}.png"), full_page=True)


def _layout_problems(page, name: str, viewport: dict) -> list[str]:
    problems = []
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        problems.append(f"the page is {width[0]} px wide in a {width[1]} px window")
    for selector in KEY_CONTROLS.get(name, []):
        if page.locator(selector).count() == 0:
            problems.append(f"{selector} is missing")
        problems += [f"{selector}: {p}" for p in page.evaluate(ON_SCREEN, selector)]
    for box in page.locator("#line-rows select[name$='-product']").all():  # the order form's product pickers
        if box.bounding_box()["width"] <= 120:
            problems.append(f"the product select is only {box.bounding_box()['width']:.0f} px wide")
    return problems


def _header_problems(page) -> list[str]:
    problems = []
    nav = page.get_by_role("navigation").first
    for name in NAV_LINKS:
        link = nav.get_by_role("link", name=name, exact=True)
        if link.count() != 1:
            problems.append(f"header link {name} is missing")
    problems += [f"header: {p}" for p in page.evaluate(ON_SCREEN, ".topbar nav a, .topbar .logout button, .brand")]
    return problems


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_fits_the_screen_with_its_controls_on_it(chromium, live_server, shop, viewport):
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server.url}/login/")
        problems = {"login": _layout_problems(page, "login", viewport)}
        _shot(page, "login", viewport)
        page.fill("#id_username", "ada")
        page.fill("#id_password", "pw-ada-123")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server.url}/")
        for name, path in _pages(shop):
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, path
            page.wait_for_load_state("load")
            found = _layout_problems(page, name, viewport) + _header_problems(page)
            if found:
                problems[name] = found
            _shot(page, name, viewport)
        problems = {name: found for name, found in problems.items() if found}
        assert problems == {}, "\n".join(f"{name}: {p}" for name, found in problems.items() for p in found)
        assert errors == []
    finally:
        context.close()


def test_on_a_phone_each_table_row_is_a_card_that_names_its_columns(chromium, live_server, shop):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server, "ada", "pw-ada-123")
        page.goto(f"{live_server.url}/orders/{shop['posted'].pk}/")
        amount = page.get_by_test_id("lines").locator("tbody tr").first.locator("td").nth(6)
        expect(amount).to_have_attribute("data-label", "Amount")
        expect(amount).to_contain_text("$3,900.00")
        page.goto(f"{live_server.url}/")
        total = page.locator("table.table tbody tr").first.locator("td").nth(4)
        expect(total).to_have_attribute("data-label", "Total")
        assert re.fullmatch(r"\$[\d,]+\.\d\d", total.inner_text().strip())
        page.goto(f"{live_server.url}/orders/new/")
        assert page.locator("#id_lines-0-product").bounding_box()["width"] > 120
    finally:
        context.close()


def test_the_header_wraps_instead_of_clipping_on_a_phone(chromium, live_server, shop):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server, "ada", "pw-ada-123")
        expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
        expect(page.locator(".topbar .logout")).to_contain_text("Ada Admin")
        for name in NAV_LINKS:
            expect(page.get_by_role("navigation").first.get_by_role("link", name=name, exact=True)).to_be_in_viewport(
                ratio=1
            )
        page.get_by_role("link", name="Settings", exact=True).click()
        expect(page).to_have_url(f"{live_server.url}/settings/quickbooks/")
    finally:
        context.close()


def test_the_connection_card_names_who_connected_like_the_header(chromium, live_server, shop):
    assert QboConnection.objects.get().connected_by.get_full_name() == "Ada Admin"
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        log_in(page, live_server, "ada", "pw-ada-123")
        page.goto(f"{live_server.url}/settings/quickbooks/")
        expect(page.locator("#qbo-connection")).to_contain_text(re.compile(r"[AP]M by Ada Admin"))
    finally:
        context.close()
