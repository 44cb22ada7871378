"""Kadouri knows the company it is connected to: its profile is read on connect, when QuickBooks says Preferences
or CompanyInfo changed, and by every catch-up; the Settings page shows it in plain words."""

from __future__ import annotations

from datetime import date

import pytest

from qbo_integration.connection.profile import profile_for
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.inbound.inbox import inbox_process_realm
from qbo_integration.models import CompanyProfile, IntegrationLog, QboWebhookEvent
from qbo_integration.testing import COMPANIES, connect_company
from qbo_integration.tests.test_connect_flow import consent, start

EXPECTED = {
    "idealised": ("US", "USD", False, "none", True, None, False),
    "automated_tax": ("US", "USD", False, "automated", True, None, False),
    "canada": ("CA", "CAD", False, "global", True, None, False),
    "uk": ("GB", "GBP", False, "global", True, None, False),
    "multi_currency": ("US", "USD", True, "none", True, None, False),
    "auto_numbers": ("US", "USD", False, "none", False, None, False),
    "strict_books": ("US", "USD", False, "none", True, date(2026, 6, 30), True),
}


def profile_tuple(profile: CompanyProfile) -> tuple:
    return (
        profile.country,
        profile.home_currency,
        profile.multi_currency,
        profile.sales_tax,
        profile.custom_txn_numbers,
        profile.book_close_date,
        profile.class_tracking,
    )


@pytest.mark.parametrize("company", list(COMPANIES))
def test_connecting_reads_the_company_profile(qbo, db, company):
    realm = COMPANIES[company]
    connect_company(qbo, realm)
    assert profile_tuple(profile_for(realm)) == EXPECTED[company]
    logged = IntegrationLog.objects.get(event=IntegrationLog.Event.PROFILE_READ)
    assert logged.message.startswith("Read the company's settings:")
    assert qbo.requests(path="preferences")


@pytest.mark.parametrize(
    ("company", "words"),
    [
        ("canada", "Canada, home currency CAD, multi-currency off, sales tax: tax codes on every line, Kadouri"),
        (
            "strict_books",
            "United States, home currency USD, multi-currency off, sales tax: no sales tax, Kadouri "
            "numbers documents, closing date Jun 30, 2026, classes tracked.",
        ),
        ("auto_numbers", "QuickBooks numbers documents, no closing date, classes not tracked."),
    ],
)
def test_the_settings_read_are_logged_in_the_words_of_the_settings_card(qbo, db, company, words):
    connect_company(qbo, COMPANIES[company])
    message = IntegrationLog.objects.get(event=IntegrationLog.Event.PROFILE_READ).message
    assert words in message and "CA, CAD" not in message and "2026-06-30" not in message


def test_before_any_read_the_profile_is_the_idealised_company(db):
    profile = profile_for("123")
    assert profile.pk is None and profile_tuple(profile) == EXPECTED["idealised"]


def test_a_preferences_webhook_reads_the_profile_again(qbo, db, client):
    realm = COMPANIES["strict_books"]
    connect_company(qbo, realm)
    qbo.update_preferences(
        realm, {"AccountingInfoPrefs": {"BookCloseDate": "2026-11-30", "ClassTrackingPerTxn": False}}
    )
    QboWebhookEvent.objects.create(
        dedupe_key="prefs-1", source="webhook", realm_id=realm, entity="Preferences", entity_id="1", operation="Update"
    )
    inbox_process_realm(realm_id=realm)
    event = QboWebhookEvent.objects.get(dedupe_key="prefs-1")
    assert event.status == QboWebhookEvent.Status.DONE and event.changed
    assert "closing date: Jun 30, 2026 → Nov 30, 2026" in event.result
    assert "classes tracked: yes → no" in event.result
    profile = profile_for(realm)
    assert profile.book_close_date == date(2026, 11, 30) and profile.class_tracking is False
    assert IntegrationLog.objects.filter(message__startswith="QuickBooks company settings changed").count() == 1


def test_every_catch_up_reads_the_profile(qbo, db):
    realm = COMPANIES["auto_numbers"]
    connect_company(qbo, realm)
    qbo.update_preferences(realm, {"SalesFormsPrefs": {"CustomTxnNumbers": True}})
    run = catchup_run(realm_id=realm)
    assert not run.error
    assert profile_for(realm).custom_txn_numbers is True
    assert any("QuickBooks numbers documents: yes → no" in change for change in run.found["changes"])


@pytest.mark.django_db
def test_connecting_the_canadian_company_shows_it_in_plain_words(admin_client, qbo):
    authorize_url = start(admin_client)
    page = admin_client.get(consent(authorize_url, COMPANIES["canada"]), follow=True)
    text = page.content.decode()
    assert "Connected to QuickBooks company “Maple Leaf Produce Ltd”" in text
    profile = page.context["profile"]
    assert (profile.country, profile.home_currency, profile.sales_tax) == ("CA", "CAD", "global")
    for words in ("Canada", "CAD", "Tax codes on every line", "Every line needs a tax code", "The books are open"):
        assert words in text


def test_settings_say_what_the_closing_date_and_classes_mean(admin_client, qbo):
    connect_company(qbo, COMPANIES["strict_books"])
    text = admin_client.get("/settings/quickbooks/").content.decode()
    assert "Orders dated on or before Jun 30, 2026 cannot be pushed, changed or voided" in text
    assert "Each order carries a class" in text


def test_an_admin_chooses_the_company_rules_and_bad_input_changes_nothing(admin_client, staff_client, qbo):
    conn = connect_company(qbo, COMPANIES["strict_books"])
    saved = admin_client.post(
        "/settings/quickbooks/rules/", {"shared_name_rule": "code", "inactive_rule": "reactivate"}
    )
    assert saved.status_code == 302
    conn.refresh_from_db()
    assert (conn.shared_name_rule, conn.inactive_rule) == ("code", "reactivate")
    bad = admin_client.post("/settings/quickbooks/rules/", {"shared_name_rule": "guess", "inactive_rule": "refuse"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    conn.refresh_from_db()
    assert (conn.shared_name_rule, conn.inactive_rule) == ("code", "reactivate")
    refused = staff_client.post("/settings/quickbooks/rules/", {"shared_name_rule": "refuse"}, follow=True)
    assert "Only admins can change the company rules." in refused.content.decode()
    conn.refresh_from_db()
    assert conn.shared_name_rule == "code"


def test_a_catch_up_goes_on_when_the_settings_cannot_be_read(qbo, db, order_factory):
    realm = COMPANIES["idealised"]
    connect_company(qbo, realm)
    qbo.add_fault("503", method="GET", path="preferences", count=1)
    run = catchup_run(realm_id=realm)
    assert not run.error and run.watermark is not None  # the documents were caught up all the same
    assert any("could not be read" in change for change in run.found["changes"])
