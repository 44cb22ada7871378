"""Shared names and inactive customers and items, against the strict-books company (its vendor "Metro Grocers",
employee "Sunrise Orchards", inactive items "Russet Potatoes" and "Curly Kale"), through the real job path: the
order page's click, the JSON API and the bulk push, with the rules an admin chose in Settings."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import make_account, make_order, make_product
from qbo_integration import mapping, tasks
from qbo_integration.connection import calls
from qbo_integration.models import BulkPush, IntegrationLog, QboConnection, QboSyncJob
from qbo_integration.testing import COMPANIES, connect_company
from qbo_integration.tests.inbound_support import WEBHOOK, DjangoDeliverer

from .conftest import entities

pytestmark = pytest.mark.django_db

STRICT = COMPANIES["strict_books"]
REFUSE_SHARED = (
    "QuickBooks already has a vendor named “Metro Grocers”; a customer cannot share its name. Choose a rule in "
    "Settings → QuickBooks → Company rules, or rename the account."
)
REFUSE_POTATOES = (
    "“Russet Potatoes” is an inactive product or service in QuickBooks. Make it active there, or choose “Make it "
    "active again” in Settings → QuickBooks → Company rules."
)


@pytest.fixture
def strict(qbo, db):
    connect_company(qbo, STRICT)
    return qbo


def rules(**values) -> None:
    QboConnection.objects.filter(realm_id=STRICT).update(**values)


def push(client, order):
    return client.post(
        f"/api/quickbooks/sync/order/{order.pk}",
        data=json.dumps({"docType": "invoice"}),
        content_type="application/json",
    )


def rows(emu, entity: str, name: str = "") -> list[dict]:
    found = entities(emu, entity, STRICT)
    return [r for r in found if name in (r.get("DisplayName") or r.get("Name") or "")] if name else found


def order_for(buyer, staff_user, seller, *products):
    return make_order(seller=seller, buyer=buyer, by=staff_user, lines=[(p, "3") for p in products], ready_to_push=True)


@pytest.fixture
def metro(db):
    return make_account("Metro Grocers", "MET")


# --- a vendor or an employee has the buyer's name -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "display_name"), [("role", "Metro Grocers (customer)"), ("code", "Metro Grocers (MET)")]
)
def test_a_buyer_named_like_a_vendor_gets_the_rules_name_and_keeps_it(
    strict, staff_client, staff_user, seller, metro, apples, rule, display_name
):
    rules(shared_name_rule=rule)
    order = order_for(metro, staff_user, seller, apples)

    response = push(staff_client, order)

    assert response.status_code == 200, response.json()
    customers = rows(strict, "Customer", "Metro Grocers")
    assert [c["DisplayName"] for c in customers] == [display_name]
    assert [v["DisplayName"] for v in rows(strict, "Vendor", "Metro Grocers")] == ["Metro Grocers"]
    metro.refresh_from_db()
    assert metro.name == "Metro Grocers" and metro.qbo_customer_id == customers[0]["Id"]
    assert metro.qbo_name_holder == "vendor"
    invoice = rows(strict, "Invoice")[0]
    assert invoice["CustomerRef"]["value"] == customers[0]["Id"]
    # The fingerprint is of the suffixed name: a later push sends nothing for the customer.
    assert metro.qbo_fingerprint == mapping.customer_fingerprint(metro)
    page = staff_client.get(f"/accounts/{metro.pk}/").content.decode()
    assert f"In QuickBooks as “{display_name}” (a vendor has the name)." in page
    assert IntegrationLog.objects.filter(event="name_rule", message__contains=f"created as “{display_name}”").exists()

    second = push(staff_client, order_for(metro, staff_user, seller, apples))
    assert second.status_code == 200
    # Same name, same customer, never updated (its SyncToken is still the create's).
    assert [(c["DisplayName"], c["SyncToken"]) for c in rows(strict, "Customer", "Metro Grocers")] == [
        (display_name, customers[0]["SyncToken"])
    ]
    assert len(rows(strict, "Invoice")) == 2


def test_the_refuse_rule_refuses_in_plain_words_and_sends_no_document(
    strict, staff_client, staff_user, seller, metro, apples
):
    rules(shared_name_rule="refuse")
    order = order_for(metro, staff_user, seller, apples)

    response = push(staff_client, order)

    assert response.status_code == 422
    assert response.json()["error"] == REFUSE_SHARED
    assert rows(strict, "Customer", "Metro Grocers") == [] and rows(strict, "Invoice") == []
    metro.refresh_from_db()
    assert (metro.qbo_customer_id, metro.qbo_name_suffix) == (None, "")
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "Last QuickBooks attempt failed" in html and "a customer cannot share its name" in html

    clicked = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", follow=True)
    assert "a customer cannot share its name" in clicked.content.decode()
    assert rows(strict, "Invoice") == []


def test_a_buyer_named_like_an_employee(strict, staff_client, staff_user, seller, apples):
    sunrise = make_account("Sunrise Orchards", "SUN")
    rules(shared_name_rule="refuse")
    refused = push(staff_client, order_for(sunrise, staff_user, seller, apples))
    assert refused.status_code == 422
    assert "QuickBooks already has an employee named “Sunrise Orchards”" in refused.json()["error"]

    rules(shared_name_rule="role")
    pushed = push(staff_client, order_for(sunrise, staff_user, seller, apples))

    assert pushed.status_code == 200
    assert [c["DisplayName"] for c in rows(strict, "Customer", "Sunrise")] == ["Sunrise Orchards (customer)"]
    page = staff_client.get(f"/accounts/{sunrise.pk}/").content.decode()
    assert "In QuickBooks as “Sunrise Orchards (customer)” (an employee has the name)." in page


def test_a_lost_answer_on_the_suffixed_create_never_makes_two_customers(
    strict, staff_client, staff_user, seller, metro, apples
):
    rules(shared_name_rule="role")
    # QuickBooks creates "Metro Grocers (customer)", and the answer never arrives.
    strict.add_fault("drop", method="POST", path="/batch", body=r"Metro Grocers \(customer\)", count=1)
    order = order_for(metro, staff_user, seller, apples)

    first = push(staff_client, order)

    assert first.status_code == 202
    assert [c["DisplayName"] for c in rows(strict, "Customer", "Metro Grocers")] == ["Metro Grocers (customer)"]
    metro.refresh_from_db()
    assert metro.qbo_customer_id is None and metro.qbo_name_suffix == " (customer)" and metro.qbo_create_request
    job = QboSyncJob.objects.get(order=order)
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))

    assert tasks.qbo_drain_due_jobs() == 1

    job.refresh_from_db()
    assert job.state == "done", job.last_error
    customers = rows(strict, "Customer", "Metro Grocers")
    assert [c["DisplayName"] for c in customers] == ["Metro Grocers (customer)"]
    metro.refresh_from_db()
    assert metro.qbo_customer_id == customers[0]["Id"]
    assert len(rows(strict, "Invoice")) == 1


def test_a_retry_after_the_marker_was_lost_links_the_suffixed_customer(
    strict, staff_client, staff_user, seller, metro, apples
):
    rules(shared_name_rule="role")
    strict.add_fault("drop", method="POST", path="/batch", body=r"Metro Grocers \(customer\)", count=1)
    order = order_for(metro, staff_user, seller, apples)
    assert push(staff_client, order).status_code == 202
    type(metro).objects.filter(pk=metro.pk).update(qbo_create_request="")  # e.g. a restored database

    job = QboSyncJob.objects.get(order=order)
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()

    customers = rows(strict, "Customer", "Metro Grocers")
    assert [c["DisplayName"] for c in customers] == ["Metro Grocers (customer)"]
    metro.refresh_from_db()
    assert metro.qbo_customer_id == customers[0]["Id"]


@pytest.fixture
def hooks(strict, client, django_capture_on_commit_callbacks):
    strict.configure_webhooks(
        url="http://testserver" + WEBHOOK, verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN, format="legacy"
    )
    strict.webhooks.deliver = DjangoDeliverer(client, django_capture_on_commit_callbacks)
    return lambda: strict.flush_webhooks(force=True)


def test_quickbooks_changes_to_the_suffixed_customer_keep_the_account_name_until_a_real_rename(
    strict, hooks, staff_client, staff_user, seller, metro, apples
):
    rules(shared_name_rule="role")
    assert push(staff_client, order_for(metro, staff_user, seller, apples)).status_code == 200
    metro.refresh_from_db()
    customer = calls.read("Customer", metro.qbo_customer_id)
    # The bookkeeper adds a phone number in QuickBooks: the account keeps its name.
    body = {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True}
    calls.update("Customer", body | {"PrimaryPhone": {"FreeFormNumber": "555-0100"}}, request_id="phone-1")
    hooks()
    metro.refresh_from_db()
    assert (metro.name, metro.qbo_name_suffix) == ("Metro Grocers", " (customer)")
    assert metro.qbo_sync_token == "1"  # the change was processed, not skipped

    strict.rename_customer(STRICT, metro.qbo_customer_id, "Metro Grocers Wholesale")
    hooks()

    metro.refresh_from_db()
    assert (metro.name, metro.qbo_name_suffix, metro.qbo_name_holder) == ("Metro Grocers Wholesale", "", "")
    assert metro.qbo_fingerprint == mapping.customer_fingerprint(metro)  # nothing to push back
    assert "In QuickBooks as" not in staff_client.get(f"/accounts/{metro.pk}/").content.decode()


# --- inactive customers and items -----------------------------------------------------------------------------


def test_an_inactive_item_is_made_active_again_by_the_rule(strict, staff_client, staff_user, seller, buyer):
    rules(inactive_rule="reactivate")
    potatoes = make_product("Russet Potatoes", "18.00")
    (item,) = [i for i in rows(strict, "Item", "Russet Potatoes")]
    assert item["Active"] is False

    response = push(staff_client, order_for(buyer, staff_user, seller, potatoes))

    assert response.status_code == 200, response.json()
    (item,) = rows(strict, "Item", "Russet Potatoes")
    assert item["Active"] is True
    potatoes.refresh_from_db()
    assert potatoes.qbo_item_id == item["Id"]
    (invoice,) = rows(strict, "Invoice")
    assert invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]
    entry = IntegrationLog.objects.get(event="name_rule")
    assert "Item “Russet Potatoes” was inactive in QuickBooks; Kadouri made it active again" in entry.message


def test_an_inactive_item_is_refused_by_the_rule_and_nothing_is_sent(strict, staff_client, staff_user, seller, buyer):
    rules(inactive_rule="refuse")
    potatoes = make_product("Russet Potatoes", "18.00")
    order = order_for(buyer, staff_user, seller, potatoes)

    response = push(staff_client, order)

    assert response.status_code == 422 and response.json()["error"] == REFUSE_POTATOES
    assert [i["Active"] for i in rows(strict, "Item", "Russet Potatoes")] == [False]
    assert rows(strict, "Invoice") == []
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "is an inactive product or service in QuickBooks" in html


def test_an_inactive_customer_with_the_buyers_name(strict, staff_client, staff_user, seller, buyer, apples):
    created = calls.create("Customer", {"DisplayName": "Harbor Fresh Market"}, request_id="old-harbor")
    body = {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True, "Active": False}
    calls.update("Customer", body, request_id="old-harbor-off")
    rules(inactive_rule="refuse")

    refused = push(staff_client, order_for(buyer, staff_user, seller, apples))

    assert refused.status_code == 422
    assert refused.json()["error"] == (
        "“Harbor Fresh Market” is an inactive customer in QuickBooks. Make it active there, or choose “Make it "
        "active again” in Settings → QuickBooks → Company rules."
    )
    assert rows(strict, "Invoice") == []

    rules(inactive_rule="reactivate")
    pushed = push(staff_client, order_for(buyer, staff_user, seller, apples))

    assert pushed.status_code == 200
    (customer,) = rows(strict, "Customer", "Harbor Fresh Market")
    assert customer["Id"] == created["Id"] and customer["Active"] is True
    buyer.refresh_from_db()
    assert buyer.qbo_customer_id == created["Id"]


@pytest.mark.parametrize("rule", ["refuse", "reactivate"])
def test_a_linked_customer_made_inactive_in_quickbooks(strict, staff_client, staff_user, seller, buyer, apples, rule):
    assert push(staff_client, order_for(buyer, staff_user, seller, apples)).status_code == 200
    buyer.refresh_from_db()
    customer = calls.read("Customer", buyer.qbo_customer_id)
    body = {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True, "Active": False}
    calls.update("Customer", body, request_id="harbor-off")
    rules(inactive_rule=rule)

    response = push(staff_client, order_for(buyer, staff_user, seller, apples))

    if rule == "refuse":
        assert response.status_code == 422
        assert response.json()["error"].startswith("“Harbor Fresh Market” is an inactive customer in QuickBooks.")
        assert len(rows(strict, "Invoice")) == 1
    else:
        assert response.status_code == 200, response.json()
        assert calls.read("Customer", buyer.qbo_customer_id)["Active"] is True
        assert len(rows(strict, "Invoice")) == 2


def test_a_bulk_push_fails_the_refused_order_and_pushes_the_others(
    strict, staff_client, staff_user, seller, buyer, metro, apples
):
    rules(shared_name_rule="refuse", inactive_rule="refuse")
    refused = order_for(metro, staff_user, seller, apples)
    potatoes = order_for(buyer, staff_user, seller, make_product("Russet Potatoes", "18.00"))
    fine = order_for(buyer, staff_user, seller, apples)

    response = staff_client.post("/settings/quickbooks/push/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    bulk = BulkPush.objects.get()
    assert (bulk.total, bulk.succeeded, bulk.failed) == (3, 1, 2)
    fine.refresh_from_db()
    assert fine.qbo_doc_id and len(rows(strict, "Invoice")) == 1
    assert QboSyncJob.objects.get(order=refused).last_error == REFUSE_SHARED
    assert QboSyncJob.objects.get(order=potatoes).last_error == REFUSE_POTATOES


@pytest.mark.parametrize("rule", ["refuse", "reactivate"])
def test_a_linked_item_made_inactive_in_quickbooks(strict, staff_client, staff_user, seller, buyer, apples, rule):
    assert push(staff_client, order_for(buyer, staff_user, seller, apples)).status_code == 200
    apples.refresh_from_db()
    strict.set_item_active(STRICT, apples.qbo_item_id, False)  # its webhook not processed yet
    rules(inactive_rule=rule)

    response = push(staff_client, order_for(buyer, staff_user, seller, apples))

    if rule == "refuse":
        assert response.status_code == 422
        assert response.json()["error"].startswith("“Gala Apples” is an inactive product or service in QuickBooks.")
        assert len(rows(strict, "Invoice")) == 1
    else:
        assert response.status_code == 200, response.json()
        assert calls.read("Item", apples.qbo_item_id)["Active"] is True
        assert len(rows(strict, "Invoice")) == 2


def test_a_product_the_item_handler_made_inactive_is_used_again_by_the_reactivate_rule(
    strict, hooks, staff_client, staff_user, seller, buyer, apples
):
    assert push(staff_client, order_for(buyer, staff_user, seller, apples)).status_code == 200
    apples.refresh_from_db()
    item_id = apples.qbo_item_id
    waiting = order_for(buyer, staff_user, seller, apples)
    strict.set_item_active(STRICT, item_id, False)
    hooks()
    apples.refresh_from_db()
    assert (apples.qbo_item_id, apples.active) == (None, False)  # the item handler, as before
    rules(inactive_rule="reactivate")

    response = push(staff_client, waiting)

    assert response.status_code == 200, response.json()
    apples.refresh_from_db()
    assert (apples.qbo_item_id, apples.active) == (item_id, True)
    assert [i["Active"] for i in rows(strict, "Item", "Gala Apples")] == [True]
    assert "product “Gala Apples” is active in Kadouri again" in IntegrationLog.objects.get(event="name_rule").message
