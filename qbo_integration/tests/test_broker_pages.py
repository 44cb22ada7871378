"""The broker's own books on the pages and the JSON API (docs/quickbooks/beyond.md#the-brokers-own-books): the
Settings card (admins only, its errors), the order page's card (live through the QuickBooks panel's polls, "Send to
QuickBooks again"), `GET`/`POST /api/quickbooks/sync/order/<id>/broker-document` with its refusals, and the
reconciliation report finding and fixing drift."""

import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache

from qbo_integration import reconcile
from qbo_integration.connection import calls
from qbo_integration.models import BrokerBooks, IntegrationLog, QboConnection, QboReconcileRun
from qbo_integration.testing import COMPANIES, REALM_ID, connect_company

from .broker_support import PROCEEDS, account_id, books, broker_of, entities, keep_books, run_broker_jobs  # noqa: F401
from .inbound_support import invoiced, webhooks  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
SETTINGS = "/settings/quickbooks/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fresh_lists():
    cache.clear()  # QuickBooks' expense accounts and service items are kept five minutes
    yield
    cache.clear()


def api(order) -> str:
    return f"/api/quickbooks/sync/order/{order.pk}/broker-document"


# --- the Settings card -------------------------------------------------------------------------------------------


def test_admins_choose_the_broker_books_from_quickbooks_accounts(admin_client, qbo_connected):
    page = admin_client.get(SETTINGS).content.decode()
    purchases = account_id(qbo_connected, "Purchases")

    response = admin_client.post(
        "/settings/quickbooks/broker-books/",
        {"broker_books": "seller_bill", "seller_bill_account_id": purchases, "commission_item_id": ""},
        follow=True,
    )

    card = page[page.index('id="broker-books"') :]
    assert "The broker's own books" in card and "A change applies to orders invoiced from then on" in card
    assert f'<option value="{purchases}">Purchases (Cost of Goods Sold)</option>' in card
    assert "Commissions &amp; fees (Expense)" in card and "Checking" not in card[: card.index("</section>")]
    conn = QboConnection.objects.get()
    assert (conn.broker_books, conn.seller_bill_account_id) == ("seller_bill", purchases)
    assert "applies to orders invoiced from now on" in response.content.decode()
    assert IntegrationLog.objects.filter(message__contains="The broker's books").exists()


def test_a_bill_without_an_expense_account_is_a_form_error(admin_client, qbo_connected):
    response = admin_client.post(
        "/settings/quickbooks/broker-books/", {"broker_books": "seller_bill", "seller_bill_account_id": ""}
    )

    assert response.status_code == 400
    assert "Choose the expense account the seller bills are booked to." in response.content.decode()
    assert QboConnection.objects.get().broker_books == "kadouri_only"


def test_an_account_quickbooks_does_not_list_is_refused(admin_client, qbo_connected):
    response = admin_client.post(
        "/settings/quickbooks/broker-books/", {"broker_books": "seller_bill", "seller_bill_account_id": "5"}
    )  # Checking: not an expense account

    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert QboConnection.objects.get().seller_bill_account_id == ""


def test_only_admins_change_the_broker_books(staff_client, qbo_connected):
    page = staff_client.get(SETTINGS).content.decode()

    response = staff_client.post(
        "/settings/quickbooks/broker-books/", {"broker_books": "commission_invoice"}, follow=True
    )

    assert 'data-testid="broker-books-choice">Commission stays in Kadouri' in page
    assert "save-broker-books" not in page
    assert "Only admins can choose how the broker" in response.content.decode()
    assert QboConnection.objects.get().broker_books == "kadouri_only"


# --- the order page ------------------------------------------------------------------------------------------------


def test_the_order_page_shows_no_card_while_commission_stays_in_kadouri(staff_client, qbo_connected, order_factory):
    order = invoiced(order_factory())

    page = staff_client.get(order.get_absolute_url()).content.decode()

    assert '<section id="order-broker-document" hidden' in page


def test_the_order_page_shows_the_bill_beside_the_invoice(staff_client, books, order_factory, staff_user):
    draft = order_factory()
    before = staff_client.get(draft.get_absolute_url()).content.decode()
    order = invoiced(draft, by=staff_user)
    run_broker_jobs()

    page = staff_client.get(order.get_absolute_url()).content.decode()

    assert "The bill is made when the order&#x27;s invoice is created in QuickBooks." in before
    card = page[page.index('id="order-broker-document"') :]
    assert f'data-testid="broker-doc">Bill to the seller <span class="nowrap">#{order.number}</span>' in card
    assert 'data-testid="broker-total">$448.40<' in card and 'data-testid="broker-paid">$0.00<' in card
    assert "<strong>Open: owed to the seller</strong>" in card and "broker-send" not in card


def test_the_seller_paid_in_quickbooks_shows_through_the_panels_poll(staff_client, webhooks, order_factory, staff_user):
    keep_books(webhooks.emu)
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    webhooks.flush()
    page = staff_client.get(order.get_absolute_url()).content.decode()
    since = re.search(r'"since": "([0-9a-f]+)", "tab"', page).group(1)
    poll = f"/settings/quickbooks/orders/{order.pk}/live/"
    assert staff_client.get(poll, {"since": since, "tab": "lines"}, **HTMX).status_code == 204

    webhooks.emu.pay_bill(REALM_ID, broker_of(order).qbo_id)
    webhooks.flush()
    answer = staff_client.get(poll, {"since": since, "tab": "lines"}, **HTMX).content.decode()

    card = re.search(
        r'<section [^>]*id="order-broker-document"[^>]*hx-swap-oob="true"[^>]*>(.*?)</section>', answer, re.S
    )
    assert card is not None and "<strong>Paid to the seller</strong>" in card.group(1)
    assert 'data-testid="broker-paid">$448.40<' in card.group(1)


def test_send_again_after_a_refusal_makes_the_bill(staff_client, qbo_connected, order_factory, staff_user):
    keep_books(qbo_connected, seller_bill_account_id="")
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    page = staff_client.get(order.get_absolute_url()).content.decode()
    keep_books(qbo_connected)

    response = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/broker-document/", follow=True)

    assert 'data-testid="broker-error">Last attempt failed: Choose the expense account' in page
    assert 'data-testid="broker-send">Send to QuickBooks again' in page
    assert "The broker document is sent to QuickBooks." in response.content.decode()
    assert [b["TotalAmt"] for b in entities(qbo_connected, "Bill")] == [448.4]


# --- the JSON API ---------------------------------------------------------------------------------------------------


def test_the_json_api_answers_the_bill_as_quickbooks_has_it(staff_client, books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    books.pay_bill(REALM_ID, broker_of(order).qbo_id, 48.40)

    body = staff_client.get(api(order)).json()["brokerDocument"]

    assert {k: body[k] for k in ("mode", "kind", "entity", "docNumber", "state", "total", "balance", "expected")} == {
        "mode": "seller_bill",
        "kind": "seller_bill",
        "entity": "Bill",
        "docNumber": order.number,
        "state": "active",
        "total": "448.40",
        "balance": "448.40",  # Kadouri has not heard of the payment yet (no webhook in this test)
        "expected": "448.40",
    }
    assert body["job"]["state"] == "done" and body["paidToSeller"] is False and body["note"] is None


def test_the_json_api_says_why_there_is_none(staff_client, qbo_connected, order_factory):
    order = order_factory()

    body = staff_client.get(api(order)).json()["brokerDocument"]

    assert (body["kind"], body["qboId"], body["job"]) == (None, None, None)
    assert body["note"] == "Commission stays in Kadouri: the company keeps no broker's books in QuickBooks."


@pytest.mark.parametrize(
    ("setup", "status", "says"),
    [
        ("kadouri_only", 409, "The company keeps the commission in Kadouri only"),
        ("draft", 409, "has no open invoice in QuickBooks"),
        ("no_account", 422, "Choose the expense account the seller bills are booked to"),
    ],
)
def test_the_json_api_refuses_what_cannot_be_sent(
    staff_client, qbo_connected, order_factory, staff_user, setup, status, says
):
    if setup != "kadouri_only":
        keep_books(qbo_connected, **({"seller_bill_account_id": ""} if setup == "no_account" else {}))
    order = order_factory() if setup == "draft" else invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    requests_before = qbo_connected.count_requests(method="POST", subpath="bill")

    response = staff_client.post(api(order), content_type="application/json")

    assert response.status_code == status and says in response.json()["error"]
    assert qbo_connected.count_requests(method="POST", subpath="bill") == requests_before
    if setup == "no_account":
        assert response.json()["field"] == "sellerBillAccount"


def test_the_json_api_sends_it_and_refuses_strangers(client, staff_client, books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)

    sent = staff_client.post(api(order), content_type="application/json")

    assert sent.status_code == 200 and sent.json()["brokerDocument"]["total"] == "448.40"
    assert len(entities(books, "Bill")) == 1
    assert client.get(api(order)).status_code == 401
    assert staff_client.get("/api/quickbooks/sync/order/999999/broker-document").status_code == 404
    assert staff_client.put(api(order)).status_code == 405


def test_a_foreign_currency_order_is_refused_with_422(staff_client, qbo, db, order_factory, staff_user, buyer):
    connect_company(qbo, COMPANIES["multi_currency"])
    keep_books(qbo, seller_bill_account_id="8")
    buyer.currency = "CAD"
    buyer.save()
    order = invoiced(order_factory(), by=staff_user)

    response = staff_client.post(api(order), content_type="application/json")
    body = staff_client.get(api(order)).json()["brokerDocument"]

    assert response.status_code == 422 and "is in CAD" in response.json()["error"]
    assert "kept in USD only" in body["note"]


# --- reconciliation -------------------------------------------------------------------------------------------------


@pytest.fixture
def billed_quietly(books, order_factory, staff_user, webhooks):
    """An invoiced order with its bill; from then on Kadouri hears nothing from QuickBooks."""
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    webhooks.flush()
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    return order


def drift(run, order) -> dict:
    row = next((r for r in run.rows if r["order_id"] == order.pk), None)
    return {d["field"]: (d["kadouri"], d["quickbooks"]) for d in row["drift"]} if row else {}


def test_reconciliation_finds_a_bill_amount_changed_in_quickbooks_and_pushes_kadouris(admin_client, billed_quietly):
    bill = calls.read("Bill", broker_of(billed_quietly).qbo_id)
    bill["Line"][0]["Amount"] = 400
    calls.update("Bill", {**bill, "sparse": True}, request_id="edit-bill")
    admin_client.post("/settings/quickbooks/reconcile/run/")
    run = QboReconcileRun.objects.latest("started_at")

    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    admin_client.post(f"/settings/quickbooks/reconcile/{billed_quietly.pk}/fix/", {"action": "push_broker"})
    run_broker_jobs()

    assert drift(run, billed_quietly) == {
        "broker document amount": ("$448.40", "$400.00"),
        "broker document balance": ("$448.40", "$400.00"),
    }
    assert f"push-broker-{billed_quietly.pk}" in page and f"push-kadouri-{billed_quietly.pk}" not in page
    assert calls.read("Bill", broker_of(billed_quietly).qbo_id)["TotalAmt"] == 448.4
    assert reconcile.reconcile_run().rows == []


def test_reconciliation_finds_a_bill_deleted_in_quickbooks_and_makes_it_again(admin_client, billed_quietly, books):
    row = broker_of(billed_quietly)
    calls.delete("Bill", row.qbo_id, row.sync_token, request_id="bookkeeper-delete")
    run = reconcile.reconcile_run()

    admin_client.post(f"/settings/quickbooks/reconcile/{billed_quietly.pk}/fix/", {"action": "push_broker"})
    run_broker_jobs()

    assert drift(run, billed_quietly) == {
        "broker document": (f"bill to the seller #{billed_quietly.number}", "Deleted")
    }
    [bill] = entities(books, "Bill")
    assert bill["Id"] != row.qbo_id and bill["TotalAmt"] == 448.4
    assert broker_of(billed_quietly).qbo_id == bill["Id"]
    assert reconcile.reconcile_run().rows == []


def test_taking_quickbooks_values_stores_a_payment_kadouri_missed(admin_client, billed_quietly, books):
    books.pay_bill(REALM_ID, broker_of(billed_quietly).qbo_id, 48.40)
    run = reconcile.reconcile_run()
    assert drift(run, billed_quietly) == {"broker document balance": ("$448.40", "$400.00")}

    admin_client.post(f"/settings/quickbooks/reconcile/{billed_quietly.pk}/fix/", {"action": "take_quickbooks"})

    assert broker_of(billed_quietly).total == PROCEEDS and broker_of(billed_quietly).balance == Decimal("400.00")
    assert reconcile.reconcile_run().rows == []


def test_the_mode_is_shown_in_the_json_when_commission_invoices_are_kept(staff_client, qbo_connected, order_factory):
    keep_books(qbo_connected, BrokerBooks.COMMISSION_INVOICE)
    order = order_factory()

    body = json.loads(staff_client.get(api(order)).content)["brokerDocument"]

    assert (body["mode"], body["kind"]) == ("commission_invoice", "commission_invoice")
    assert body["note"] == "The commission invoice is made when the order's invoice is created in QuickBooks."
