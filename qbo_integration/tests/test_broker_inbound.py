"""The broker's own documents followed from QuickBooks (docs/quickbooks/beyond.md#the-brokers-own-books): the
bookkeeper pays the seller's bill (webhook, and catch-up when the webhook is lost), removes a payment, deletes the
bill; the seller pays its commission invoice — which the buyer-invoice handlers never take for an order's; an
invoice voided in QuickBooks takes its bill with it; a seller's vendor changed there."""

import json
from decimal import Decimal

import pytest
from django.conf import settings

from orders.models import Order, OrderActivity
from qbo_integration.inbound import catchup
from qbo_integration.inbound.intake import sign
from qbo_integration.models import BrokerBooks, QboMoney, QboWebhookEvent
from qbo_integration.testing import REALM_ID

from .broker_support import PROCEEDS, broker_of, entities, keep_books, run_broker_jobs
from .inbound_support import invoiced, webhooks  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed(webhooks, order_factory, staff_user):
    """An invoiced order whose bill to the seller is in QuickBooks, every echo delivered."""
    keep_books(webhooks.emu)
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    webhooks.flush()
    return order


def news(order) -> list[str]:
    kinds = [OrderActivity.Type.BROKER_DOC_UPDATED, OrderActivity.Type.BROKER_DOC_VOIDED]
    return list(order.activities.filter(activity_type__in=kinds).order_by("pk").values_list("description", flat=True))


def test_the_bookkeeper_pays_the_bill_and_the_order_shows_it_paid_to_the_seller(billed, webhooks, staff_client):
    webhooks.emu.pay_bill(REALM_ID, broker_of(billed).qbo_id)

    webhooks.flush()

    row = broker_of(billed)
    assert (row.balance, row.total, row.state) == (Decimal("0.00"), PROCEEDS, "active")
    assert news(billed) == [f"Bill #{billed.number} to Green Valley Farms is paid to the seller in full in QuickBooks."]
    page = staff_client.get(billed.get_absolute_url()).content.decode()
    assert 'data-testid="broker-state"><strong>Paid to the seller</strong>' in page
    assert 'data-testid="broker-paid">$448.40<' in page
    billed.refresh_from_db()
    assert (billed.status, billed.payment_status) == ("posted_to_qb", "unpaid")  # the buyer's side is not the seller's


def test_a_payment_removed_in_quickbooks_opens_the_bill_again(billed, webhooks):
    payment = webhooks.emu.pay_bill(REALM_ID, broker_of(billed).qbo_id, 100)
    webhooks.flush()

    webhooks.emu.void_bill_payment(REALM_ID, payment["Id"])
    webhooks.flush()

    assert broker_of(billed).balance == PROCEEDS
    assert news(billed) == [
        f"Bill #{billed.number} to Green Valley Farms: $100.00 paid to the seller so far in QuickBooks.",
        f"Bill #{billed.number} to Green Valley Farms: a payment was removed in QuickBooks; $448.40 open again.",
    ]


def test_a_bill_deleted_in_quickbooks_is_recorded_and_not_made_again_by_itself(billed, webhooks, staff_user):
    webhooks.emu.delete_bill(REALM_ID, broker_of(billed).qbo_id)

    webhooks.flush()
    run_broker_jobs()

    assert broker_of(billed).state == "deleted" and entities(webhooks.emu, "Bill") == []
    assert news(billed) == [f"Bill #{billed.number} to Green Valley Farms was deleted in QuickBooks."]


def test_a_lost_webhook_is_caught_up(billed, webhooks):
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.pay_bill(REALM_ID, broker_of(billed).qbo_id, 48.40)
    webhooks.flush()
    assert broker_of(billed).balance == PROCEEDS  # not heard yet

    run = catchup.catchup_run(realm_id=REALM_ID)

    assert run.error == "", run.error
    assert broker_of(billed).balance == Decimal("400.00")
    assert QboWebhookEvent.objects.filter(source="cdc", entity="Bill", status="done").exists()


def test_an_invoice_voided_in_quickbooks_deletes_its_bill(billed, webhooks):
    webhooks.emu.void_invoice(REALM_ID, billed.qbo_doc_id)

    webhooks.flush()
    run_broker_jobs()

    billed.refresh_from_db()
    assert billed.status == "cancelled"
    assert entities(webhooks.emu, "Bill") == [] and broker_of(billed).state == "deleted"


def test_the_seller_pays_its_commission_invoice(webhooks, order_factory, staff_user, staff_client):
    keep_books(webhooks.emu, BrokerBooks.COMMISSION_INVOICE)
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    webhooks.flush()
    commission = broker_of(order)

    webhooks.emu.record_payment(REALM_ID, commission.qbo_id)
    webhooks.flush()

    row = broker_of(order)
    assert (row.balance, row.total) == (Decimal("0.00"), Decimal("23.60"))
    assert news(order) == [
        f"Commission invoice #{order.number}-C to Green Valley Farms is paid by the seller in full in QuickBooks."
    ]
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.qbo_balance) == ("posted_to_qb", "unpaid", Decimal("472.00"))
    assert not QboMoney.objects.filter(order=order).exists()  # the seller's payment is not the buyer's
    assert Order.objects.linked_to(Order.DocType.INVOICE, [commission.qbo_id]).count() == 0
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert "Paid by the seller</strong>" in page


def test_a_commission_payment_heard_only_as_a_payment_still_reaches_its_invoice(webhooks, order_factory, staff_user):
    keep_books(webhooks.emu, BrokerBooks.COMMISSION_INVOICE)
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    webhooks.flush()
    payment = webhooks.emu.record_payment(REALM_ID, broker_of(order).qbo_id, 10)
    webhooks.emu.webhooks.reset()  # the invoice's own webhook is lost: only the payment's is delivered
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": REALM_ID,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Payment",
                                "id": payment["Id"],
                                "operation": "Create",
                                "lastUpdated": "2026-12-01T10:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()

    webhooks.emu.webhooks.deliver("http://testserver/api/quickbooks/webhook", body, _signed(body))

    assert broker_of(order).balance == Decimal("13.60")
    event = QboWebhookEvent.objects.get(entity="Payment", entity_id=payment["Id"])
    assert event.status == "done" and "paid by the seller so far" in event.result


def _signed(body: bytes) -> dict:
    return {"Content-Type": "application/json", "intuit-signature": sign(body, settings.QBO_WEBHOOK_VERIFIER_TOKEN)}


def test_a_sellers_vendor_changed_in_quickbooks_keeps_its_version(billed, webhooks, seller):
    seller.refresh_from_db()
    token = webhooks.emu.issue_tokens(REALM_ID)["access_token"]
    body = {"Id": seller.qbo_vendor_id, "SyncToken": "0", "sparse": True, "CompanyName": "GVF Cooperative"}
    status, _, _ = webhooks.emu.handle(
        "POST",
        f"/v3/company/{REALM_ID}/vendor",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        json.dumps(body).encode(),
    )
    assert status == 200

    webhooks.flush()

    seller.refresh_from_db()
    assert seller.qbo_vendor_sync_token == "1"
    event = QboWebhookEvent.objects.filter(entity="Vendor", entity_id=seller.qbo_vendor_id).latest("pk")
    assert event.status == "done"
