"""Cash sales (docs/quickbooks/money.md#cash-sales): a draft recorded as a QuickBooks SalesReceipt through the JSON API,
paid at once, read-only, voided; refused on bad input with nothing sent; exactly once; followed from QuickBooks and
by reconciliation."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, OrderActivity
from qbo_integration import tasks
from qbo_integration.connection import calls
from qbo_integration.inbound import catchup
from qbo_integration.models import QboSyncJob
from qbo_integration.outbound.cash_sales import cash_sale_request
from qbo_integration.reconcile import reconcile_run, reconcile_take_quickbooks
from qbo_integration.testing import COMPANIES, REALM_ID, connect_company

from .conftest import entities
from .inbound_support import posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db

UNDEPOSITED_FUNDS = "4"  # the emulator seeds it as Intuit's Payment sample has it
CHECK = "2"


def api(client, method: str, path: str, body: dict | None = None):
    return getattr(client, method.lower())(
        f"/api/quickbooks/{path}", data=json.dumps(body or {}), content_type="application/json"
    )


def cash_sale(client, order, **body):
    return api(client, "POST", f"sync/order/{order.pk}", {"docType": "salesReceipt", **body})


def account_id(emu, name: str, realm: str = REALM_ID) -> str:
    return next(a["Id"] for a in entities(emu, "Account", realm) if a["Name"] == name)


def test_it_records_the_cash_sale_as_one_paid_sales_receipt(staff_client, qbo_connected, order_factory):
    order = order_factory()
    checking = account_id(qbo_connected, "Checking")

    response = cash_sale(staff_client, order, method=CHECK, reference="CHK 1042", depositTo=checking)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["order"]["status"], body["order"]["qboDocType"], body["order"]["paymentStatus"]) == (
        "paid",
        "sales_receipt",
        "paid",
    )
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    assert receipt["DocNumber"] == order.number and Decimal(str(receipt["TotalAmt"])) == Decimal("472.00")
    assert receipt["PaymentMethodRef"]["value"] == CHECK and receipt["PaymentRefNum"] == "CHK 1042"
    assert receipt["DepositToAccountRef"]["value"] == checking
    assert "DueDate" not in receipt and "SalesTermRef" not in receipt
    assert entities(qbo_connected, "Invoice") == []
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.qbo_doc_id, order.qbo_balance) == (
        "paid",
        "paid",
        receipt["Id"],
        Decimal("0.00"),
    )
    (logged,) = order.activities.filter(activity_type=OrderActivity.Type.CASH_SALE)
    assert logged.description == (
        f"Cash sale recorded in QuickBooks as sales receipt #{order.number} (Check, ref CHK 1042) by Sam Staff."
    )

    status = staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()
    assert (status["docType"], status["paymentStatus"]) == ("sales_receipt", "paid")
    assert (Decimal(status["balance"]), Decimal(status["total"])) == (0, Decimal("472.00"))
    assert (status["method"], status["reference"], status["depositTo"]) == (CHECK, "CHK 1042", checking)


def test_it_deposits_to_undeposited_funds_unless_told_and_accepts_the_snake_case_type(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()

    response = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "sales_receipt"})

    assert response.status_code == 200, response.content
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    assert receipt["DepositToAccountRef"]["value"] == UNDEPOSITED_FUNDS and "PaymentMethodRef" not in receipt


def test_a_cash_sale_is_read_only_and_nothing_is_sent(staff_client, qbo_connected, order_factory):
    order = order_factory()
    assert cash_sale(staff_client, order, method="1").status_code == 200
    sent = qbo_connected.count_requests(method="POST")

    update = api(staff_client, "PUT", f"sync/order/{order.pk}")
    again = cash_sale(staff_client, order, method="1")
    invoice = api(staff_client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})
    convert = api(staff_client, "POST", f"sync/order/{order.pk}/convert")

    assert [r.status_code for r in (update, again, invoice, convert)] == [409, 409, 409, 409]
    assert "read-only" in update.json()["error"] and "sales receipt" in update.json()["error"]
    assert "already a cash sale" in again.json()["error"]
    assert qbo_connected.count_requests(method="POST") == sent
    assert len(entities(qbo_connected, "SalesReceipt")) == 1


def test_void_cancels_the_order_and_voids_the_receipt(staff_client, qbo_connected, order_factory):
    order = order_factory()
    assert cash_sale(staff_client, order, method="1").status_code == 200

    response = api(staff_client, "DELETE", f"sync/order/{order.pk}")

    assert response.status_code == 200, response.content
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    assert Decimal(str(receipt["TotalAmt"])) == 0 and receipt["PrivateNote"].startswith("Voided")
    order.refresh_from_db()
    assert (order.status, order.qbo_doc_state) == ("cancelled", "Voided")
    voided = order.activities.get(activity_type=OrderActivity.Type.INVOICE_VOIDED)
    assert voided.description == f"Sales receipt #{order.number} voided in QuickBooks by Sam Staff."
    assert api(staff_client, "DELETE", f"sync/order/{order.pk}").status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "999"}, "method"),
        ({"depositTo": "999"}, "depositTo"),
        ({"reference": "R" * 22}, "reference"),
    ],
)
def test_bad_input_is_refused_with_nothing_sent(staff_client, qbo_connected, order_factory, body, field):
    order = order_factory()

    response = cash_sale(staff_client, order, **body)

    assert response.status_code == 422
    assert response.json()["field"] == field and response.json()["error"]
    assert qbo_connected.count_requests(method="POST") == 0  # not even the customer
    assert entities(qbo_connected, "SalesReceipt") == [] and entities(qbo_connected, "Customer") == []
    order.refresh_from_db()
    assert (order.status, order.qbo_doc_id, QboSyncJob.objects.count()) == ("draft", None, 0)


def test_an_income_account_is_not_a_deposit_account(staff_client, qbo_connected, order_factory):
    income = next(a["Id"] for a in entities(qbo_connected, "Account") if a["AccountType"] == "Income")

    response = cash_sale(staff_client, order_factory(), depositTo=income)

    assert (response.status_code, response.json()["field"]) == (422, "depositTo")


def test_a_double_click_records_one_receipt(qbo_connected, order_factory, staff_user):
    order = order_factory()
    first = cash_sale_request(order=order, method="1", reference="", deposit_to="", by=staff_user, ip=None)
    assert first.state == "done"

    with pytest.raises(Exception) as refused:
        cash_sale_request(order=order, method="1", reference="", deposit_to="", by=staff_user, ip=None)

    assert getattr(refused.value, "status", None) == 409
    assert len(entities(qbo_connected, "SalesReceipt")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="salesreceipt") == 1


def _drain_now():
    QboSyncJob.objects.filter(state="pending").update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()


def test_a_dropped_answer_after_quickbooks_committed_is_adopted_by_its_number(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()
    qbo_connected.add_fault("drop", method="POST", path="/salesreceipt$")

    assert cash_sale(staff_client, order, method="1", reference="Z-9").status_code == 202
    assert QboSyncJob.objects.get().in_doubt
    _drain_now()

    job = QboSyncJob.objects.get()
    assert job.state == "done"
    (receipt,) = entities(qbo_connected, "SalesReceipt")
    order.refresh_from_db()
    assert (order.qbo_doc_id, order.status) == (receipt["Id"], "paid")
    assert qbo_connected.count_requests(method="POST", subpath="salesreceipt") == 1  # looked up, not sent again
    assert order.activities.filter(activity_type=OrderActivity.Type.CASH_SALE).count() == 1


def test_on_a_company_that_numbers_documents_the_marker_finds_a_lost_receipt(staff_client, qbo, order_factory):
    auto = COMPANIES["auto_numbers"]
    connect_company(qbo, auto)
    order = order_factory()
    qbo.add_fault("drop", method="POST", path="/salesreceipt$")

    assert cash_sale(staff_client, order, method="1").status_code == 202
    _drain_now()

    (receipt,) = entities(qbo, "SalesReceipt", auto)
    order.refresh_from_db()
    assert order.status == "paid" and order.qbo_doc_id == receipt["Id"]
    assert order.qbo_doc_number == receipt["DocNumber"] != order.number  # QuickBooks' own number
    assert qbo.count_requests(method="POST", subpath="salesreceipt") == 1


@pytest.fixture
def cash_order(webhooks, order_factory, staff_user):  # noqa: F811
    order = order_factory()
    job = cash_sale_request(order=order, method="1", reference="", deposit_to="", by=staff_user, ip=None)
    assert job.state == "done", job.last_error
    webhooks.flush()  # the creation's own webhook: an echo
    order.refresh_from_db()
    return order


def test_its_own_creation_coming_back_changes_nothing(cash_order):
    assert cash_order.status == "paid"
    assert list(cash_order.activities.values_list("activity_type", flat=True)).count("synced_from_qb") == 0
    assert not cash_order.activities.filter(activity_type=OrderActivity.Type.PAYMENT_RECEIVED).exists()


def test_a_receipt_voided_in_quickbooks_cancels_the_order(webhooks, cash_order):  # noqa: F811
    webhooks.emu.void_sales_receipt(REALM_ID, cash_order.qbo_doc_id)
    webhooks.flush()

    cash_order.refresh_from_db()
    assert (cash_order.status, cash_order.qbo_doc_state) == ("cancelled", "Voided")
    (voided,) = cash_order.activities.filter(activity_type=OrderActivity.Type.INVOICE_VOIDED)
    assert voided.description.startswith(f"Sales receipt #{cash_order.number} voided in QuickBooks")
    webhooks.emu.configure_webhooks(duplicate_rate=1.0)
    webhooks.flush()
    assert cash_order.activities.filter(activity_type=OrderActivity.Type.INVOICE_VOIDED).count() == 1


def test_a_void_whose_webhook_was_lost_is_found_by_the_catch_up(webhooks, cash_order):  # noqa: F811
    catchup.catchup_run(realm_id=REALM_ID)  # the creation: Kadouri's own, nothing to change
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.void_sales_receipt(REALM_ID, cash_order.qbo_doc_id)
    webhooks.flush()
    cash_order.refresh_from_db()
    assert cash_order.status == "paid"  # the delivery was lost

    catchup.catchup_run(realm_id=REALM_ID)

    cash_order.refresh_from_db()
    assert (cash_order.status, cash_order.qbo_doc_state) == ("cancelled", "Voided")
    assert cash_order.activities.filter(activity_type=OrderActivity.Type.INVOICE_VOIDED).count() == 1


def _edit_receipt_total(order: Order, quantity: int) -> None:
    """A bookkeeper changes the first line's quantity in QuickBooks."""
    receipt = calls.read("SalesReceipt", order.qbo_doc_id)
    lines = [line for line in receipt["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    detail = lines[0]["SalesItemLineDetail"]
    detail["Qty"] = quantity
    lines[0]["Amount"] = float(Decimal(str(detail["UnitPrice"])) * quantity)
    calls.update(
        "SalesReceipt",
        {"Id": receipt["Id"], "SyncToken": receipt["SyncToken"], "sparse": True, "Line": lines},
        request_id="bookkeeper-edit",
    )


def test_an_amount_changed_in_quickbooks_is_followed(webhooks, cash_order):  # noqa: F811
    _edit_receipt_total(cash_order, 12)  # 10 → 12 apples at 32.50: +65.00
    webhooks.flush()

    cash_order.refresh_from_db()
    assert (cash_order.qbo_total, cash_order.status, cash_order.payment_status) == (Decimal("537.00"), "paid", "paid")
    (logged,) = cash_order.activities.filter(activity_type=OrderActivity.Type.SYNCED_FROM_QB)
    assert logged.description.startswith(f"Sales receipt #{cash_order.number} updated in QuickBooks: total")


def test_reconciliation_sees_a_cash_sale_drift_and_takes_quickbooks_values(qbo_connected, order_factory, staff_user):
    order = order_factory()
    job = cash_sale_request(order=order, method="1", reference="", deposit_to="", by=staff_user, ip=None)
    assert job.state == "done"
    order.refresh_from_db()
    _edit_receipt_total(order, 12)

    run = reconcile_run()

    assert run.error == "" and run.checked == 1
    (row,) = run.rows
    assert (row["doc_type"], row["pushable"]) == ("sales_receipt", False)  # a cash sale is never pushed
    assert {d["field"] for d in row["drift"]} == {"total"}
    reconcile_take_quickbooks(order_id=order.pk, run_id=run.pk)
    order.refresh_from_db()
    assert (order.qbo_total, order.status) == (Decimal("537.00"), "paid")

    receipt = calls.read("SalesReceipt", order.qbo_doc_id)
    calls.void("SalesReceipt", receipt["Id"], receipt["SyncToken"], request_id="bookkeeper-void")
    (row,) = reconcile_run().rows
    assert any(d["field"] == "status" and "Cancelled" in d["quickbooks"] for d in row["drift"])
