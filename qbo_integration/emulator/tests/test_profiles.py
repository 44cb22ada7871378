"""Company profiles: the seeded realms play real companies, Preferences is readable and keeps its read-only blocks,
and the control API creates a company from a description of its preferences."""

from __future__ import annotations

import json

import requests
from intuitlib.enums import Scopes
from quickbooks.objects.preferences import Preferences

from qbo_integration.emulator import Emulator
from qbo_integration.emulator.engine.profiles import SEEDED
from qbo_integration.emulator.testing import make_auth_client, make_quickbooks, qbo_emulator  # noqa: F401  (fixture)
from qbo_integration.emulator.tests.test_oauth import authorize


def prefs(emu: Emulator, realm: str) -> dict:
    status, body = emu.api.handle(realm, "GET", "preferences", {"minorversion": "75"}, b"")
    assert status == 200, body
    return body["Preferences"]


def company_info(emu: Emulator, realm: str) -> dict:
    status, body = emu.api.handle(realm, "GET", f"companyinfo/{realm}", {}, b"")
    assert status == 200, body
    return body["CompanyInfo"]


def test_every_seeded_realm_plays_its_profile():
    emu = Emulator()
    assert [c["realm_id"] for c in emu.companies()] == [realm for realm, _, _ in SEEDED]
    idealised = prefs(emu, "9130350000000001")
    assert idealised["TaxPrefs"] == {"UsingSalesTax": False}
    assert idealised["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert idealised["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    assert prefs(emu, "9130350000000003")["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": True}
    canada = prefs(emu, "9130350000000004")
    assert canada["TaxPrefs"] == {"UsingSalesTax": True} and canada["CurrencyPrefs"]["HomeCurrency"]["value"] == "CAD"
    assert company_info(emu, "9130350000000004")["Country"] == "CA"
    uk = company_info(emu, "9130350000000005")
    assert uk["Country"] == "GB" and prefs(emu, "9130350000000005")["CurrencyPrefs"]["HomeCurrency"]["value"] == "GBP"
    assert prefs(emu, "9130350000000006")["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    assert prefs(emu, "9130350000000007")["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    strict = prefs(emu, "9130350000000008")["AccountingInfoPrefs"]
    assert strict["BookCloseDate"] == "2026-06-30" and strict["ClassTrackingPerTxn"] is True


def test_an_update_keeps_the_read_only_blocks():
    emu = Emulator()
    realm = "9130350000000008"
    old = prefs(emu, realm)
    body = {
        "Id": "1",
        "SyncToken": old["SyncToken"],
        "TaxPrefs": {"UsingSalesTax": True},
        "CurrencyPrefs": {"MultiCurrencyEnabled": True},
        "AccountingInfoPrefs": {"BookCloseDate": "2020-01-01", "ClassTrackingPerTxn": False},
        "SalesFormsPrefs": {"CustomTxnNumbers": False},
    }
    status, answer = emu.api.handle(realm, "POST", "preferences", {}, json.dumps(body).encode())
    assert status == 200, answer
    new = answer["Preferences"]
    assert new["TaxPrefs"] == old["TaxPrefs"] and new["CurrencyPrefs"] == old["CurrencyPrefs"]
    assert new["AccountingInfoPrefs"]["BookCloseDate"] == "2026-06-30"
    assert new["AccountingInfoPrefs"]["ClassTrackingPerTxn"] is False
    assert new["SalesFormsPrefs"]["CustomTxnNumbers"] is False and new["SyncToken"] == "1"


def test_a_bookkeeper_changes_what_the_api_cannot_and_a_webhook_says_so():
    emu = Emulator(webhook_url="http://kadouri.test/hook")
    realm = "9130350000000008"
    emu.update_preferences(realm, {"AccountingInfoPrefs": {"BookCloseDate": "2026-11-30"}})
    assert prefs(emu, realm)["AccountingInfoPrefs"]["BookCloseDate"] == "2026-11-30"
    events = emu.webhooks.pending_events()
    assert [(e["realm_id"], e["entity"], e["operation"]) for e in events][-1:] == [(realm, "Preferences", "Update")]


def test_control_api_creates_a_company_from_its_preferences(qbo_emulator):
    base = f"{qbo_emulator.base_url}/_emulator/api"
    description = {"country": "GB", "salesTax": "global", "customTxnNumbers": False}
    created = requests.post(
        f"{base}/companies", json={"realm_id": "777", "name": "Soho Veg", "preferences": description}
    )
    assert created.status_code == 200
    assert created.json()["preferences"]["homeCurrency"] == "GBP"
    assert prefs(qbo_emulator, "777")["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert company_info(qbo_emulator, "777")["Country"] == "GB"
    for bad, reason in [
        ({"country": "FR"}, "country must be one of"),
        ({"salesTax": "automated", "country": "CA"}, "only for US"),
        ({"currencies": ["EUR"]}, "need multiCurrency"),
        ({"bookCloseDate": "last June"}, "not a date"),
        ({"vatNumber": "1"}, "unknown preference"),
    ]:
        refused = requests.post(f"{base}/companies", json={"realm_id": "778", "name": "Bad", "preferences": bad})
        assert refused.status_code == 400 and reason in refused.json()["error"]
    assert "778" not in {c["realm_id"] for c in requests.get(f"{base}/companies").json()["companies"]}


def test_python_quickbooks_reads_the_preferences(qbo_emulator):
    qb = make_quickbooks(qbo_emulator, "9130350000000006")
    read = Preferences.get(qb=qb)
    assert read.CurrencyPrefs.MultiCurrencyEnabled is True
    assert read.CurrencyPrefs.HomeCurrency.value == "USD"


def test_the_consent_page_offers_every_company_with_what_kind_it_is(qbo_emulator):
    client = make_auth_client(qbo_emulator)
    page = requests.get(client.get_authorization_url([Scopes.ACCOUNTING])).text
    for realm, name, _ in SEEDED:
        assert f'value="{realm}"' in page and name in page
    assert "CA · CAD · tax codes on every line" in page
    assert "US · USD · Automated Sales Tax" in page
    assert "US · USD · no sales tax · multi-currency" in page
    assert "QuickBooks numbers documents" in page
    assert "books closed to 2026-06-30 · classes tracked" in page
    query = authorize(qbo_emulator, client, "9130350000000005")
    assert query["realmId"] == "9130350000000005" and query["code"]


def test_the_strict_company_starts_with_shared_names_classes_and_inactive_items():
    entities = Emulator().dump("9130350000000008")["entities"]
    assert [v["DisplayName"] for v in entities["Vendor"]] == ["Metro Grocers"]
    assert [e["DisplayName"] for e in entities["Employee"]] == ["Sunrise Orchards"]
    assert [c["Name"] for c in entities["Class"]] == ["Produce", "Dairy", "Dry Goods"]
    assert {i["Name"]: i["Active"] for i in entities["Item"]} == {"Russet Potatoes": False, "Curly Kale": False}
