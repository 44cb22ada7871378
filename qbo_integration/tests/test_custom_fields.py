"""The account code in QuickBooks (docs/quickbooks/beyond.md#the-account-code-in-quickbooks). The company "Custom
Fields Produce LLC" has two sales-form custom fields (1 "Account code", 2 "Seller"); an admin chooses on Settings
what each carries, and every invoice, estimate, cash sale and credit memo carries it; the idealised company, which
has none, is told why the option is unavailable and keeps its fingerprints."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.services import order_update
from qbo_integration.adapt.custom_fields import custom_field_lines
from qbo_integration.bulk.outcomes import pending_orders
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.connection.profile import refresh_profile
from qbo_integration.emulator.engine.entities.preferences import custom_field_definitions
from qbo_integration.models import QboConnection
from qbo_integration.outbound.cash_sales import cash_sale_request
from qbo_integration.outbound.credits import credit_issue_request
from qbo_integration.outbound.requests import order_push_request, order_update_request
from qbo_integration.testing import REALM_ID, connect_company

from .conftest import entities

FIELDS_REALM = "9130350000000009"  # "Custom Fields Produce LLC" (qbo_integration/emulator/engine/profiles.py)
SETTINGS = "/settings/quickbooks/"
SAVE = "/settings/quickbooks/custom-fields/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields_company(qbo, db):
    connect_company(qbo, FIELDS_REALM)
    return qbo


def choose(realm: str = FIELDS_REALM, account_code: str = "1", seller: str = "2") -> None:
    QboConnection.objects.filter(realm_id=realm).update(
        custom_field_account_code=account_code, custom_field_seller=seller
    )


def carried(emu, entity: str, doc_id: str, realm: str = FIELDS_REALM) -> dict[str, str | None]:
    """The custom fields of the document QuickBooks stores: name -> value (None: empty)."""
    doc = next(row for row in entities(emu, entity, realm) if str(row["Id"]) == str(doc_id))
    return {field["Name"]: field.get("StringValue") for field in doc.get("CustomField", [])}


# --- the Settings card ---------------------------------------------------------------------------------------


def test_an_admin_sees_the_company_fields_in_two_selects(admin_client, fields_company):
    page = admin_client.get(SETTINGS).content.decode()

    assert "The account code in QuickBooks" in page
    assert page.count('<option value="1">Account code (custom field 1)</option>') == 2
    assert page.count('<option value="2">Seller (custom field 2)</option>') == 2
    assert page.count('<option value="" selected>Not sent</option>') == 2


def test_an_admin_chooses_the_fields_and_the_invoice_carries_them(admin_client, fields_company, order_factory):
    response = admin_client.post(SAVE, {"account_code": "1", "seller": "2"})
    order = order_factory()
    job = order_push_request(order=order, doc_type="invoice", by=None)

    assert response.status_code == 302 and response["Location"].endswith("#custom-fields")
    conn = QboConnection.objects.get(realm_id=FIELDS_REALM)
    assert (conn.custom_field_account_code, conn.custom_field_seller) == ("1", "2")
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    assert carried(fields_company, "Invoice", order.qbo_doc_id) == {
        "Account code": "HFM",
        "Seller": "Green Valley Farms",
    }
    page = admin_client.get(SETTINGS).content.decode()
    assert '<option value="1" selected>Account code (custom field 1)</option>' in page


def test_staff_see_the_choice_but_cannot_change_it(staff_client, fields_company):
    choose(seller="")

    page = staff_client.get(SETTINGS).content.decode()
    response = staff_client.post(SAVE, {"account_code": "2", "seller": "1"}, follow=True)

    assert "<dt>The buyer&#x27;s account code</dt><dd>Account code (custom field 1)</dd>" in page
    assert "<dt>The seller</dt><dd>Not sent</dd>" in page and "<select" not in page.split('id="custom-fields"')[1]
    assert "Only admins can choose the custom fields." in response.content.decode()
    conn = QboConnection.objects.get(realm_id=FIELDS_REALM)
    assert (conn.custom_field_account_code, conn.custom_field_seller) == ("1", "")


def test_anonymous_posts_go_to_the_login_page(client, fields_company):
    response = client.post(SAVE, {"account_code": "1"})

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert QboConnection.objects.get(realm_id=FIELDS_REALM).custom_field_account_code == ""


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"account_code": "1", "seller": "1"}, "One custom field can carry only one thing"),
        ({"account_code": "3", "seller": ""}, "QuickBooks has no sales-form custom field 3 turned on"),
        ({"account_code": "<b>1</b>", "seller": ""}, "QuickBooks has no sales-form custom field &lt;b&gt;1&lt;/b&gt;"),
    ],
)
def test_a_field_for_two_things_or_one_the_company_lacks_is_refused(admin_client, fields_company, posted, error):
    choose(seller="")

    response = admin_client.post(SAVE, posted)

    assert response.status_code == 400 and error in response.content.decode()
    conn = QboConnection.objects.get(realm_id=FIELDS_REALM)
    assert (conn.custom_field_account_code, conn.custom_field_seller) == ("1", "")


def test_a_company_without_custom_fields_says_why_and_how_to_turn_one_on(admin_client, qbo, order_factory):
    connect_company(qbo, REALM_ID)

    page = admin_client.get(SETTINGS).content.decode()
    response = admin_client.post(SAVE, {"account_code": "1"})

    assert 'data-testid="custom-fields-unavailable"' in page
    assert "has no sales-form custom fields turned on in QuickBooks" in page
    assert "Gear → Account and settings → Sales → Custom fields" in page and "catch-up" in page
    assert response.status_code == 400 and QboConnection.objects.get().custom_field_account_code == ""


def test_a_field_turned_on_in_quickbooks_reaches_the_card_with_the_next_profile_read(admin_client, qbo):
    connect_company(qbo, REALM_ID)
    qbo.update_preferences(REALM_ID, {"SalesFormsPrefs": {"CustomField": custom_field_definitions(["Acct"])}})

    refresh_profile(REALM_ID)  # what the Preferences webhook and every catch-up do

    page = admin_client.get(SETTINGS).content.decode()
    assert "custom-fields-unavailable" not in page and '<option value="1">Acct (custom field 1)</option>' in page


# --- what documents carry ------------------------------------------------------------------------------------


def test_estimates_cash_sales_and_credit_memos_carry_them_too(fields_company, order_factory, staff_user):
    choose()
    estimate, cash, credited = order_factory(), order_factory(), order_factory()

    order_push_request(order=estimate, doc_type="estimate", by=staff_user)
    cash_sale_request(order=cash, method="", reference="", deposit_to="", by=staff_user, ip=None)
    order_push_request(order=credited, doc_type="invoice", by=staff_user)
    credited.refresh_from_db()
    credit_issue_request(order=credited, reason="damaged", amount="10.00", by=staff_user, ip=None)

    expected = {"Account code": "HFM", "Seller": "Green Valley Farms"}
    for order, entity in ((estimate, "Estimate"), (cash, "SalesReceipt")):
        order.refresh_from_db()
        assert carried(fields_company, entity, order.qbo_doc_id) == expected, entity
    (memo,) = entities(fields_company, "CreditMemo", FIELDS_REALM)
    assert carried(fields_company, "CreditMemo", memo["Id"]) == expected


def test_values_go_out_on_one_line_cut_to_31_characters(fields_company, order_factory, seller, staff_user):
    choose()
    seller.name = "Green  Valley\nFarms Cooperatives of the Central Coast"  # stored before the one-line rule
    seller.save()
    order = order_factory()

    order_push_request(order=order, doc_type="invoice", by=staff_user)

    order.refresh_from_db()
    assert carried(fields_company, "Invoice", order.qbo_doc_id)["Seller"] == "Green Valley Farms Cooperatives"
    assert custom_field_lines(order)[1] == {
        "DefinitionId": "2",
        "StringValue": "Green Valley Farms Cooperatives",
        "Type": "StringType",
    }


def test_only_the_account_code_when_the_seller_is_not_sent(fields_company, order_factory, staff_user):
    choose(account_code="2", seller="")
    order = order_factory()

    order_push_request(order=order, doc_type="invoice", by=staff_user)

    order.refresh_from_db()
    assert carried(fields_company, "Invoice", order.qbo_doc_id) == {"Account code": None, "Seller": "HFM"}


def test_an_edited_account_code_goes_out_with_the_next_update(fields_company, order_factory, buyer, staff_user):
    choose()
    order = order_factory()
    order_push_request(order=order, doc_type="invoice", by=staff_user)
    buyer.code = "HARBOR"
    buyer.save()
    order.refresh_from_db()

    job = order_update_request(order=order, by=staff_user)  # nothing else changed: not "Nothing to update"

    assert job.state == "done" and "nothingToUpdate" not in job.result, job.last_error
    assert carried(fields_company, "Invoice", order.qbo_doc_id)["Account code"] == "HARBOR"


def test_a_field_turned_off_in_quickbooks_is_no_longer_sent_and_settings_warn(
    admin_client, fields_company, order_factory, staff_user
):
    choose()
    only_first = custom_field_definitions(["Account code"])
    fields_company.update_preferences(FIELDS_REALM, {"SalesFormsPrefs": {"CustomField": only_first}})
    refresh_profile(FIELDS_REALM)  # Kadouri learns it (the Preferences webhook, a catch-up)
    both = custom_field_definitions(["Account code", "Seller"])
    fields_company.update_preferences(FIELDS_REALM, {"SalesFormsPrefs": {"CustomField": both}})  # not read yet
    order = order_factory()

    order_push_request(order=order, doc_type="invoice", by=staff_user)

    order.refresh_from_db()
    assert carried(fields_company, "Invoice", order.qbo_doc_id) == {"Account code": "HFM", "Seller": None}
    page = admin_client.get(SETTINGS).content.decode()
    assert 'data-testid="custom-field-missing"' in page
    assert "Custom field 2, chosen for the seller, is no longer turned on in QuickBooks" in page
    assert "Kadouri has stopped sending it" in page


# --- posted orders, fingerprints and Push all pending ------------------------------------------------------------


def test_choosing_fields_makes_posted_orders_out_of_date_and_the_bulk_push_sends_them(
    admin_client, staff_client, fields_company, order_factory, staff_user
):
    posted = order_factory()
    order_push_request(order=posted, doc_type="invoice", by=staff_user)
    ready = order_factory(ready_to_push=True)
    posted.refresh_from_db()
    assert not posted.changed_since_push and pending_orders() == [ready.pk]

    response = admin_client.post(SAVE, {"account_code": "1", "seller": "2"}, follow=True)

    assert "1 posted order is now out of date in QuickBooks" in response.content.decode()
    posted.refresh_from_db()
    assert posted.changed_since_push and sorted(pending_orders()) == sorted([posted.pk, ready.pk])
    assert "Out of date in QB" in staff_client.get(f"/orders/{posted.pk}/").content.decode()

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.state, bulk.succeeded, bulk.failed) == ("done", 2, 0), bulk.message
    expected = {"Account code": "HFM", "Seller": "Green Valley Farms"}
    for order in (posted, ready):
        order.refresh_from_db()
        assert order.status == Order.Status.POSTED_TO_QB and not order.changed_since_push
        assert carried(fields_company, "Invoice", order.qbo_doc_id) == expected
    assert pending_orders() == []


def test_saving_the_same_choice_again_or_sending_nothing_changes_no_fingerprint(
    admin_client, fields_company, order_factory, staff_user
):
    choose(seller="")
    order = order_factory()
    order_push_request(order=order, doc_type="invoice", by=staff_user)

    admin_client.post(SAVE, {"account_code": "1", "seller": ""})
    admin_client.post(SAVE, {"account_code": "", "seller": ""})

    order.refresh_from_db()
    assert not order.changed_since_push and pending_orders() == []


def test_a_company_without_custom_fields_sends_none_and_keeps_its_fingerprints(qbo, order_factory, staff_user):
    connect_company(qbo, REALM_ID)
    choose(realm=REALM_ID)  # left from another company: QuickBooks has no such field here
    order = order_factory()
    before = order.compute_fingerprint()
    order_push_request(order=order, doc_type="invoice", by=staff_user)

    order_update(order_id=order.pk, fields={"notes": "Deliver before noon"}, lines=None, by=staff_user)
    job = order_update_request(order=Order.objects.get(pk=order.pk), by=staff_user)

    order.refresh_from_db()
    assert job.state == "done" and custom_field_lines(order) == []
    assert before != order.pushed_fingerprint == order.content_fingerprint == order.compute_fingerprint()
    assert "CustomField" not in entities(qbo, "Invoice")[0]
