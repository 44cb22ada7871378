"""Every main page in real Chromium under the production Content-Security-Policy: zero violations."""

import pytest

from conftest import make_order
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright injects this through the DevTools protocol, so the page's CSP does not block it; every
# violation (inline script or style, eval, foreign origin) then reaches the console the fixture watches.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  const blocked = e.blockedURI || "inline";
  console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${blocked} at ${where}`);
});
"""


def test_it_renders_every_main_page_without_a_csp_violation(
    page, live_server, admin_user, seller, buyer, apples, pears, csp_violations
):
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "10"), (pears, "4")], by=admin_user)
    make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], number="PAID-1", status=Order.Status.PAID)
    page.add_init_script(REPORT_VIOLATIONS)
    seen = []
    page.on(
        "response",
        lambda r: r.request.resource_type == "document" and seen.append(r.headers.get("content-security-policy", "")),
    )

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", "pw-ada-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    paths = [
        "/",
        "/?status=draft&q=GVF",
        f"/orders/{order.pk}/",
        f"/orders/{order.pk}/?tab=activity",
        "/orders/new/",
        f"/orders/{order.pk}/edit/",
        f"/orders/{order.pk}/delete/",
        "/accounts/",
        f"/accounts/{seller.pk}/",
        "/accounts/new/",
        f"/accounts/{seller.pk}/edit/",
        "/products/",
        f"/products/{apples.pk}/",
        "/products/new/",
        f"/products/{apples.pk}/edit/",
        "/settings/quickbooks/",
        "/admin/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
    ]
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("load")

    page.goto(f"{live_server.url}/orders/{order.pk}/edit/")  # the scripted "+ Add line" runs under the CSP too
    page.get_by_role("button", name="+ Add line").click()
    page.locator("#line-rows tr").nth(1).wait_for()

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")

    assert len(seen) >= len(paths) + 3 and all("script-src 'self'" in csp for csp in seen)
    assert csp_violations == []
