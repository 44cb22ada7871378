"""The spec's sync endpoints and the status table, cell by cell, against the emulator."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_order
from orders.models import Order, OrderActivity
from orders.services import order_set_status
from qbo_integration import tasks
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.testing import REALM_ID

from .conftest import entities
from .test_reconcile import edit_invoice_total

pytestmark = pytest.mark.django_db


def api(client, method: str, path: str, body: dict | None = None):
    return getattr(client, method.lower())(
        f"/api/quickbooks/{path}", data=json.dumps(body or {}), content_type="application/json"
    )


def posted(staff_client, order, doc_type="invoice") -> Order:
    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": doc_type})
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


def in_status(staff_client, order_factory, status: str) -> Order:
    order = order_factory()
    if status == "draft":
        return order
    posted(staff_client, order)
    if status != "posted_to_qb":
        order_set_status(order=order, status=status, user_name="QuickBooks Webhook")
        order.refresh_from_db()
    return order


def test_it_creates_the_invoice_with_every_line_and_records_it(staff_client, qbo_connected, order_factory):
    order = order_factory(notes="Deliver to dock 4")

    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})

    assert response.status_code == 200
    body = response.json()
    assert body["order"]["status"] == "posted_to_qb" and body["order"]["qboDocNumber"] == order.number
    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["DocNumber"] == order.number and Decimal(str(invoice["TotalAmt"])) == Decimal("472.00")
    assert [line["Description"] for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"] == [
        "Gala Apples",
        "Bartlett Pears",
    ]
    assert invoice["CustomerMemo"]["value"] == "Deliver to dock 4" and invoice["SalesTermRef"]["value"] == "3"
    (customer,) = entities(qbo_connected, "Customer")
    assert customer["DisplayName"] == "Harbor Fresh Market"
    assert {i["Name"] for i in entities(qbo_connected, "Item")} == {"Gala Apples", "Bartlett Pears"}
    order.refresh_from_db()
    assert (order.status, order.qbo_doc_id, order.qbo_doc_type, order.qbo_sync_token) == (
        "posted_to_qb",
        invoice["Id"],
        "invoice",
        "0",
    )
    assert not order.changed_since_push
    created = order.activities.get(activity_type=OrderActivity.Type.INVOICE_CREATED)
    assert created.description == f"Invoice #{order.number} created in QuickBooks by Sam Staff."
    assert created.user.username == "sam" and created.ip_address == "127.0.0.1"


def test_it_creates_an_estimate_and_converts_it_to_a_linked_invoice(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory(), "estimate")
    assert order.qbo_doc_type == "estimate"
    estimate_id = order.qbo_doc_id

    response = api(staff_client, "POST", f"sync/order/{order.pk}/convert")

    assert response.status_code == 200, response.content
    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["LinkedTxn"] == [{"TxnId": estimate_id, "TxnType": "Estimate"}]
    (estimate,) = entities(qbo_connected, "Estimate")
    assert estimate["TxnStatus"] == "Closed"
    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id, order.status) == ("invoice", invoice["Id"], "posted_to_qb")
    assert order.activities.filter(activity_type="estimate_converted").exists()
    assert api(staff_client, "POST", f"sync/order/{order.pk}/convert").status_code == 409


def test_it_updates_the_invoice_keeping_its_id_and_number(staff_client, qbo_connected, order_factory, apples):
    from orders.services import LineInput, order_update

    order = posted(staff_client, order_factory())
    order_update(
        order_id=order.pk,
        fields={"notes": "Half pallet"},
        by=None,
        lines=[LineInput(product=apples, quantity=Decimal("3"))],
    )
    order.refresh_from_db()
    assert order.changed_since_push

    response = api(staff_client, "PUT", f"sync/order/{order.pk}")

    assert response.status_code == 200
    (invoice,) = entities(qbo_connected, "Invoice")
    assert (invoice["Id"], invoice["DocNumber"], invoice["SyncToken"]) == (order.qbo_doc_id, order.number, "1")
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("97.50") and invoice["PrivateNote"] == "Half pallet"
    order.refresh_from_db()
    assert not order.changed_since_push and order.qbo_total == Decimal("97.50")
    assert order.activities.filter(activity_type="invoice_updated").count() == 1


def test_an_update_with_nothing_changed_sends_nothing_and_says_so(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())

    response = api(staff_client, "PUT", f"sync/order/{order.pk}")

    assert response.status_code == 200 and response.json()["job"]["result"]["nothingToUpdate"] is True
    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["SyncToken"] == "0"  # QuickBooks received no update
    assert not order.activities.filter(activity_type="invoice_updated").exists()
    entry = order.activities.get(activity_type="nothing_to_update")
    assert entry.get_activity_type_display() == "Nothing to update"
    assert entry.description.startswith(f"Nothing to update: invoice #{order.number} in QuickBooks already matches")

    # The order page's button says the same.
    page = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/update/", HTTP_HX_REQUEST="true").content.decode()
    assert f"Nothing to update: QuickBooks invoice #{order.number} already matches this order." in page


def test_an_update_after_an_edit_in_quickbooks_puts_kadouris_values_back(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    edit_invoice_total(order)  # a bookkeeper changed a quantity in QuickBooks; Kadouri did not change

    assert api(staff_client, "PUT", f"sync/order/{order.pk}").status_code == 200

    (invoice,) = entities(qbo_connected, "Invoice")
    assert Decimal(str(invoice["TotalAmt"])) == order.total and invoice["SyncToken"] == "2"
    assert order.activities.filter(activity_type="invoice_updated").count() == 1


def test_it_voids_the_invoice_and_cancels_the_order(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())

    response = api(staff_client, "DELETE", f"sync/order/{order.pk}")

    assert response.status_code == 200
    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["TotalAmt"] == 0 and invoice["PrivateNote"].startswith("Voided")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert (
        order.activities.get(activity_type="invoice_voided").description
        == f"Invoice #{order.number} voided in QuickBooks by Sam Staff."
    )


def test_it_marks_an_estimate_rejected_instead_of_voiding(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory(), "estimate")

    assert api(staff_client, "DELETE", f"sync/order/{order.pk}").status_code == 200

    (estimate,) = entities(qbo_connected, "Estimate")
    assert estimate["TxnStatus"] == "Rejected"
    order.refresh_from_db()
    assert (order.status, order.qbo_doc_state) == ("cancelled", "Rejected")


# The spec's status table (Business Rules), every cell, through the API.
TABLE = [
    ("draft", "POST", 200),
    ("draft", "PUT", 409),
    ("draft", "DELETE", 409),
    ("posted_to_qb", "POST", 409),
    ("posted_to_qb", "PUT", 200),
    ("posted_to_qb", "DELETE", 200),
    ("paid", "POST", 409),
    ("paid", "PUT", 409),
    ("paid", "DELETE", 409),
    ("cancelled", "POST", 409),
    ("cancelled", "PUT", 409),
    ("cancelled", "DELETE", 409),
]


@pytest.mark.parametrize(("status", "method", "expected"), TABLE)
def test_it_applies_the_status_table_in_the_api(staff_client, qbo_connected, order_factory, status, method, expected):
    order = in_status(staff_client, order_factory, status)
    before = qbo_connected.count_requests(path="/v3/company/")

    response = api(staff_client, method, f"sync/order/{order.pk}", {"docType": "invoice"})

    assert response.status_code == expected, response.content
    if expected == 409:
        assert response.json()["error"]
        assert qbo_connected.count_requests(path="/v3/company/") == before  # refused before reaching QuickBooks


def test_it_tells_why_a_second_create_is_refused(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())

    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})

    assert response.status_code == 409
    assert "already has invoice" in response.json()["error"] and "Update QB Invoice" in response.json()["error"]
    assert len(entities(qbo_connected, "Invoice")) == 1


def test_it_answers_401_404_and_422(client, staff_client, qbo_connected, seller, buyer):
    incomplete = make_order(seller=seller, buyer=buyer, lines=[])
    assert api(client, "POST", f"sync/order/{incomplete.pk}").status_code == 401
    assert api(staff_client, "POST", "sync/order/999999").status_code == 404
    assert api(staff_client, "POST", "sync/account/999999").status_code == 404
    assert api(staff_client, "POST", "sync/product/999999").status_code == 404
    assert staff_client.get("/api/quickbooks/status/order/999999").status_code == 404
    response = api(staff_client, "POST", f"sync/order/{incomplete.pk}", {"docType": "invoice"})
    assert response.status_code == 422 and "at least one line" in response.json()["error"]
    assert api(staff_client, "POST", f"sync/order/{incomplete.pk}", {"docType": "receipt"}).status_code == 400


def test_it_answers_503_when_quickbooks_is_not_connected(staff_client, qbo, order_factory):
    response = api(staff_client, "POST", f"sync/order/{order_factory().pk}", {"docType": "invoice"})

    assert response.status_code == 503 and "not connected" in response.json()["error"]


@pytest.mark.parametrize("status", ["paid", "cancelled"])
def test_it_applies_the_status_table_before_asking_for_a_connection(staff_client, qbo_connected, order_factory, status):
    order = in_status(staff_client, order_factory, status)
    QboConnection.objects.update(state=QboConnection.State.DISCONNECTED)

    for method in ("PUT", "DELETE"):
        response = api(staff_client, method, f"sync/order/{order.pk}")
        assert response.status_code == 409, (method, response.content)
        assert "not connected" not in response.json()["error"]


def test_it_reads_the_payment_status_from_quickbooks(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    qbo_connected.record_payment(REALM_ID, order.qbo_doc_id, 100)

    body = staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()

    assert body | {"lastUpdated": None, "syncToken": None} == {
        "orderId": order.pk,
        "docId": order.qbo_doc_id,
        "docNumber": order.number,
        "docType": "invoice",
        "total": "472.0",
        "balance": "372.0",
        "paymentStatus": "partial",
        "syncToken": None,
        "lastUpdated": None,
        "status": None,
        "wrongLink": False,
        "linkProblem": "",
    }
    qbo_connected.record_payment(REALM_ID, order.qbo_doc_id)
    assert staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()["paymentStatus"] == "paid"


def test_it_syncs_accounts_and_products_and_links_same_names(staff_client, qbo_connected, buyer, apples):
    from quickbooks.objects.customer import Customer

    from qbo_integration.emulator.testing import make_quickbooks

    existing = Customer()
    existing.DisplayName = "Harbor Fresh Market"
    existing = existing.save(qb=make_quickbooks(qbo_connected, REALM_ID))

    response = api(staff_client, "POST", f"sync/account/{buyer.pk}")

    assert response.status_code == 200 and response.json()["account"]["qboId"] == str(existing.Id)
    assert len(entities(qbo_connected, "Customer")) == 1  # linked, not duplicated
    response = api(staff_client, "POST", f"sync/product/{apples.pk}")
    assert response.status_code == 200
    (item,) = entities(qbo_connected, "Item")
    assert (item["Name"], item["Type"], item["UnitPrice"], item["IncomeAccountRef"]["value"]) == (
        "Gala Apples",
        "Service",
        32.5,
        "1",
    )
    apples.refresh_from_db()
    assert apples.qbo_item_id == item["Id"]
    assert QboConnection.objects.get().income_account_id == "1"


def test_it_updates_a_linked_account_that_changed(staff_client, qbo_connected, buyer):
    api(staff_client, "POST", f"sync/account/{buyer.pk}")
    buyer.refresh_from_db()
    buyer.phone = "559-555-0100"
    buyer.save()

    assert api(staff_client, "POST", f"sync/account/{buyer.pk}").status_code == 200

    (customer,) = entities(qbo_connected, "Customer")
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "559-555-0100" and customer["SyncToken"] == "1"


def test_it_sends_customer_updates_with_a_stable_request_id(staff_client, qbo_connected, buyer):
    api(staff_client, "POST", f"sync/account/{buyer.pk}")
    buyer.refresh_from_db()
    buyer.phone = "559-555-0100"
    buyer.save()
    qbo_connected.clear_requests()
    qbo_connected.add_fault("503", method="POST", path="/batch$", count=1)  # the click's try of the update fails

    queued = api(staff_client, "POST", f"sync/account/{buyer.pk}")
    assert queued.status_code == 202 and queued.json()["job"]["state"] == "pending"
    QboSyncJob.objects.filter(pk=queued.json()["job"]["id"]).update(not_before=timezone.now())
    assert tasks.qbo_drain_due_jobs() == 1  # the worker's retry

    assert QboSyncJob.objects.get(pk=queued.json()["job"]["id"]).state == "done"
    updates = qbo_connected.requests(method="POST", subpath="batch")
    assert [r["status"] for r in updates] == [503, 200]
    ids = {r["params"].get("requestid") for r in updates}
    assert len(ids) == 1 and None not in ids  # the retry carried the same id, so QuickBooks can replay it
    (customer,) = entities(qbo_connected, "Customer")
    assert customer["SyncToken"] == "1"


def test_a_corrected_account_syncs_after_a_refused_rename(staff_client, qbo_connected, buyer):
    from qbo_integration.connection import calls

    assert api(staff_client, "POST", f"sync/account/{buyer.pk}").status_code == 200
    calls.create("Customer", {"DisplayName": "Taken Name"}, request_id="taken-1")
    buyer.refresh_from_db()
    buyer.name = "Taken Name"
    buyer.save()
    refused = api(staff_client, "POST", f"sync/account/{buyer.pk}")
    buyer.name = "Free Name"
    buyer.save()

    corrected = api(staff_client, "POST", f"sync/account/{buyer.pk}")

    assert refused.status_code == 502 and "Taken Name" in refused.json()["error"]
    assert corrected.status_code == 200
    assert {c["DisplayName"] for c in entities(qbo_connected, "Customer")} == {"Taken Name", "Free Name"}


def test_converting_while_the_estimate_is_still_queued_says_quickbooks_is_busy(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()
    qbo_connected.add_fault("503", method="POST", path="/batch$", count=1)  # the estimate's first try: retried later
    queued = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "estimate"})
    assert queued.status_code == 202

    convert = api(staff_client, "POST", f"sync/order/{order.pk}/convert")

    assert convert.status_code == 409
    assert "QuickBooks is already working on order" in convert.json()["error"]  # not "a draft": it is on its way
    assert not QboSyncJob.objects.filter(order=order, action="convert_estimate").exists()
