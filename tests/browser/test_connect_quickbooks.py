"""An admin connects QuickBooks through the emulator's real consent page, in Chromium."""

import pytest

from qbo_integration.models import QboConnection
from qbo_integration.testing import point_settings_at
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_qbo(qbo_emulator_server, live_server, settings):
    point_settings_at(qbo_emulator_server, settings)
    settings.QBO_REDIRECT_URI = f"{live_server.url}/api/quickbooks/callback"
    qbo_emulator_server.oauth.config.redirect_uris.append(settings.QBO_REDIRECT_URI)
    return qbo_emulator_server


def test_it_connects_through_the_consent_page_and_shows_the_company(
    page, live_server, live_qbo, admin_user, csp_violations
):
    log_in(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/settings/quickbooks/")
    page.click("[data-testid=connect]")

    page.wait_for_url(f"{live_qbo.base_url}/connect/oauth2**")
    page.check("#realm-9130350000000001")
    page.click("#connect")

    page.wait_for_url(f"{live_server.url}/settings/quickbooks/")
    assert "Connected to QuickBooks company “Kadouri Demo Produce LLC”" in page.inner_text(".messages")
    assert page.inner_text("[data-testid=company-name]") == "Kadouri Demo Produce LLC"
    assert page.inner_text("[data-testid=connection-state]") == "Connected"
    assert QboConnection.objects.get().realm_id == "9130350000000001"
    assert csp_violations == []


def test_it_explains_a_cancel_on_the_consent_page(page, live_server, live_qbo, admin_user, csp_violations):
    log_in(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/settings/quickbooks/")
    page.click("[data-testid=connect]")

    page.wait_for_url(f"{live_qbo.base_url}/connect/oauth2**")
    page.click("#cancel")

    page.wait_for_url(f"{live_server.url}/settings/quickbooks/")
    assert "QuickBooks connection cancelled: access was not granted" in page.inner_text(".messages")
    assert not QboConnection.objects.exists()
    assert csp_violations == []
