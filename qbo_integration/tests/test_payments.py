"""Payments from Kadouri through the service layer, against the emulator: a partial payment then the rest, the
balance check, every bad input, the status table, exactly once (double submit, a dropped connection), deleting a
payment, and QuickBooks' side (a bookkeeper's payment, Kadouri's own payment coming back as a webhook)."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from orders.models import Order, OrderActivity
from qbo_integration import tasks
from qbo_integration.connection import calls
from qbo_integration.documents.payments import credit_shares
from qbo_integration.inbound import catchup
from qbo_integration.models import CompanyProfile, QboConnection, QboMoney, QboSyncJob, QboWebhookEvent
from qbo_integration.outbound.payments import payment_delete_request, payment_record_request
from qbo_integration.outbox.jobs import SyncRefused
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_lists():
    cache.clear()  # the payment methods and accounts are cached per company for 5 minutes
    yield
    cache.clear()


def pay(order, by, amount="125.00", **kw):
    return payment_record_request(order=order, amount=amount, by=by, ip="10.0.0.1", **kw)


def payment_posts(emu) -> int:
    return emu.count_requests(method="POST", subpath="payment")


def test_a_partial_payment_then_the_rest_makes_the_order_paid(posted, staff_user, qbo_connected):
    job = pay(posted, staff_user, "125.00", method="2", reference="CHK 1042", date=timezone.localdate().isoformat())

    assert job.state == "done", job.last_error
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("posted_to_qb", "partial", Decimal("347.00"))
    row = QboMoney.objects.get(order=posted)
    assert (row.amount, row.total, row.method_name, row.reference, row.deposit_account_name) == (
        Decimal("125.00"),
        Decimal("125.00"),
        "Check",
        "CHK 1042",
        "Undeposited Funds",
    )
    assert row.recorded_in_kadouri and row.recorded_by == staff_user and row.request_id == job.request_id
    assert [a.description for a in posted.activities.filter(activity_type=OrderActivity.Type.PAYMENT_RECORDED)] == [
        "Payment of $125.00 (Check CHK 1042) recorded in QuickBooks by Sam Staff."
    ]

    job = pay(posted, staff_user, "347.00")

    assert job.state == "done", job.last_error
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("paid", "paid", Decimal("0.00"))
    (invoice,) = entities(qbo_connected, "Invoice")
    assert Decimal(str(invoice["Balance"])) == 0
    assert len(entities(qbo_connected, "Payment")) == 2


def test_an_amount_above_the_balance_is_refused_and_nothing_is_sent(posted, staff_user, qbo_connected):
    with pytest.raises(SyncRefused) as refused:
        pay(posted, staff_user, "500.00")

    assert refused.value.status == 422 and refused.value.field == "amount"
    assert "more than the open balance of $472.00" in refused.value.message
    assert payment_posts(qbo_connected) == 0 and not QboSyncJob.objects.filter(action="record_payment").exists()


def test_an_amount_above_the_balance_is_kept_as_the_buyers_credit_when_an_admin_allowed_it(
    posted, staff_user, qbo_connected
):
    QboConnection.objects.update(allow_unapplied_credit=True)

    job = pay(posted, staff_user, "500.00", method="1")

    assert job.state == "done", job.last_error
    (payment,) = entities(qbo_connected, "Payment")
    assert Decimal(str(payment["TotalAmt"])) == Decimal("500.00")
    assert Decimal(str(payment["UnappliedAmt"])) == Decimal("28.00")
    row = QboMoney.objects.get(order=posted)
    assert (row.amount, row.total, row.unapplied) == (Decimal("472.00"), Decimal("500.00"), Decimal("28.00"))
    posted.refresh_from_db()
    assert posted.status == "paid"
    assert "$28.00 kept as the buyer's credit" in posted.activities.get(activity_type="payment_recorded").description


def _close_books(day):
    CompanyProfile.objects.update_or_create(realm_id=REALM_ID, defaults={"book_close_date": day})


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"amount": "0"}, "amount", "more than zero"),
        ({"amount": "-5"}, "amount", "more than zero"),
        ({"amount": "abc"}, "amount", "is not an amount"),
        ({"amount": "1.234"}, "amount", "at most two decimals"),
        ({"amount": "12,50"}, "amount", "use a point for cents"),
        ({"amount": "1,5"}, "amount", "use a point for cents"),
        ({"currency": "EUR"}, "currency", "is in USD"),
        ({"date": "2020-01-01"}, "date", "books are closed"),
        ({"date": (date.today() + timedelta(days=400)).isoformat()}, "date", "more than a year ahead"),
        ({"method": "99"}, "method", "no active payment method with id 99"),
        ({"deposit_to": "77"}, "depositTo", "no active bank or deposit account with id 77"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_sent(
    posted, staff_user, qbo_connected, change, field, words
):
    _close_books(date(2025, 12, 31))
    asked = {"amount": "125.00"} | change

    with pytest.raises(SyncRefused) as refused:
        pay(posted, staff_user, **asked)

    assert (refused.value.status, refused.value.field) == (422, field)
    assert words in refused.value.message
    assert payment_posts(qbo_connected) == 0 and not QboSyncJob.objects.filter(action="record_payment").exists()


@pytest.mark.parametrize("status, words", [("draft", "is a draft"), ("cancelled", "is cancelled"), ("paid", "paid")])
def test_a_payment_on_a_draft_cancelled_or_paid_order_is_409(qbo_connected, order_factory, staff_user, status, words):
    order = order_factory()
    if status != "draft":
        order = invoiced(order, by=staff_user)
        Order.objects.filter(pk=order.pk).update(status=status)
        order.refresh_from_db()

    with pytest.raises(SyncRefused) as refused:
        pay(order, staff_user)

    assert refused.value.status == 409 and words in refused.value.message
    assert payment_posts(qbo_connected) == 0


def test_a_wrongly_linked_order_is_409(posted, staff_user, qbo_connected):
    Order.objects.filter(pk=posted.pk).update(qbo_link_problem="QuickBooks invoice 1 carries number X.")
    posted.refresh_from_db()

    with pytest.raises(SyncRefused) as refused:
        pay(posted, staff_user)

    assert refused.value.status == 409 and "link looks wrong" in refused.value.message


def test_a_double_submit_with_the_same_token_records_one_payment(posted, staff_user, qbo_connected):
    first = pay(posted, staff_user, "100.00", token="form-123")
    second = pay(posted, staff_user, "100.00", token="form-123")

    assert first.pk == second.pk and second.state == "done"
    assert len(entities(qbo_connected, "Payment")) == 1 and payment_posts(qbo_connected) == 1
    posted.refresh_from_db()
    assert posted.qbo_balance == Decimal("372.00")
    assert posted.activities.filter(activity_type="payment_recorded").count() == 1


def test_a_dropped_connection_after_the_create_is_adopted_by_its_marker(posted, staff_user, qbo_connected):
    qbo_connected.add_fault("drop", method="POST", path="/payment$")

    job = pay(posted, staff_user, "100.00", token="form-9")

    assert (job.state, job.in_doubt) == ("pending", True)
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()
    job.refresh_from_db()
    assert job.state == "done" and job.result["adopted"] is True
    assert len(entities(qbo_connected, "Payment")) == 1 and payment_posts(qbo_connected) == 1
    posted.refresh_from_db()
    assert posted.qbo_balance == Decimal("372.00")
    assert QboMoney.objects.get(order=posted).recorded_in_kadouri


def test_a_payment_job_run_again_after_its_worker_died_logs_the_payment_once(posted, staff_user, qbo_connected):
    job = pay(posted, staff_user, "100.00")
    assert job.state == "done", job.last_error
    # the worker died after writing the log entry, before it marked the job done: the drain reclaims and reruns it
    QboSyncJob.objects.filter(pk=job.pk).update(state="running", claimed_at=timezone.now() - timedelta(hours=1))

    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done" and job.result["adopted"] is True
    assert len(entities(qbo_connected, "Payment")) == 1
    assert posted.activities.filter(activity_type=OrderActivity.Type.PAYMENT_RECORDED).count() == 1


def test_an_admin_deletes_a_payment_and_the_paid_order_reopens_with_who_and_why(
    posted, staff_user, admin_user, qbo_connected
):
    pay(posted, staff_user, "472.00", method="2", reference="CHK 7")
    posted.refresh_from_db()
    assert posted.status == "paid"
    payment_id = QboMoney.objects.get(order=posted).qbo_id

    job = payment_delete_request(order=posted, payment_id=payment_id, reason="Check bounced", by=admin_user, ip=None)

    assert job.state == "done", job.last_error
    assert entities(qbo_connected, "Payment") == []
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("posted_to_qb", "unpaid", Decimal("472.00"))
    row = QboMoney.objects.get(order=posted)
    assert (row.state, row.deleted_by_name, row.delete_reason) == ("deleted", "Ada Admin", "Check bounced")
    assert [a.description for a in posted.activities.filter(activity_type="payment_deleted")] == [
        "Payment of $472.00 (Check CHK 7) deleted in QuickBooks by Ada Admin. Reason: Check bounced"
    ]


def pay_both(first, second, first_part="100.00", second_part="472.00") -> dict:
    """A bookkeeper's payment in QuickBooks paying two invoices of the same buyer."""
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": order.qbo_doc_id, "TxnType": "Invoice"}]}
        for order, amount in ((first, first_part), (second, second_part))
    ]
    total = str(Decimal(first_part) + Decimal(second_part))
    body = {"CustomerRef": {"value": first.buyer.qbo_customer_id}, "TotalAmt": total, "Line": lines}
    return calls.create("Payment", body, request_id="bookkeeper-pays-both")


def test_deleting_a_payment_of_two_invoices_reopens_both_orders(webhooks, posted, order_factory, admin_user):
    other = invoiced(order_factory(), by=admin_user)
    payment = pay_both(posted, other)
    webhooks.flush()
    other.refresh_from_db()
    assert other.status == "paid"
    webhooks.emu.clear_requests()

    job = payment_delete_request(order=posted, payment_id=payment["Id"], reason="Wrong buyer", by=admin_user, ip=None)

    assert job.state == "done", job.last_error
    # both invoices read again in one query, none one by one
    assert webhooks.emu.count_requests(method="GET", path=r"/invoice/") == 0
    for order in (posted, other):
        order.refresh_from_db()
        assert (order.status, order.payment_status, order.qbo_balance) == ("posted_to_qb", "unpaid", Decimal("472.00"))
        row = QboMoney.objects.get(order=order)
        assert (row.state, row.deleted_by_name, row.delete_reason) == ("deleted", "Ada Admin", "Wrong buyer")
        (entry,) = order.activities.filter(activity_type=OrderActivity.Type.PAYMENT_DELETED)
        assert entry.description == "Payment of $572.00 deleted in QuickBooks by Ada Admin. Reason: Wrong buyer"


def test_a_delete_needs_a_reason(posted, staff_user, admin_user, qbo_connected):
    pay(posted, staff_user, "100.00")
    payment_id = QboMoney.objects.get(order=posted).qbo_id

    with pytest.raises(SyncRefused) as refused:
        payment_delete_request(order=posted, payment_id=payment_id, reason="  ", by=admin_user, ip=None)

    assert (refused.value.status, refused.value.field) == (422, "reason")
    assert len(entities(qbo_connected, "Payment")) == 1


def test_a_bookkeepers_payment_is_stored_as_recorded_in_quickbooks(webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.flush()

    row = QboMoney.objects.get(order=posted)
    assert (row.amount, row.recorded_in_kadouri, row.state) == (Decimal("100.00"), False, "active")
    posted.refresh_from_db()
    assert posted.payment_status == "partial"


def test_kadouris_own_payment_coming_back_as_a_webhook_changes_nothing(webhooks, posted, staff_user):
    pay(posted, staff_user, "100.00", method="2", reference="CHK 1")
    row = QboMoney.objects.get(order=posted)
    entries = list(posted.activities.values_list("activity_type", "description"))

    webhooks.flush()

    assert QboWebhookEvent.objects.filter(entity="Payment", entity_id=row.qbo_id, status="done").exists()
    assert list(posted.activities.values_list("activity_type", "description")) == entries
    again = QboMoney.objects.get(order=posted)
    assert again.updated_at == row.updated_at and again.recorded_by_name == "Sam Staff"


def test_a_payment_deleted_in_quickbooks_marks_its_row_deleted(webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.flush()
    row = QboMoney.objects.get(order=posted)

    webhooks.emu.delete_payment(REALM_ID, row.qbo_id)
    webhooks.flush()

    row.refresh_from_db()
    assert row.state == "deleted"
    posted.refresh_from_db()
    assert posted.payment_status == "unpaid"


def test_a_bookkeepers_payment_whose_webhook_was_lost_is_stored_by_the_catch_up(webhooks, posted):
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 80)
    webhooks.flush()
    assert not QboMoney.objects.exists()

    catchup.catchup_run(realm_id=REALM_ID)

    row = QboMoney.objects.get(order=posted)
    assert (row.amount, row.state, row.recorded_in_kadouri) == (Decimal("80.00"), "active", False)


class DepositedPayments:
    """QuickBooks' answer for a payment grouped into a bank deposit: every delete is refused with 6540."""

    def __init__(self, emu):
        self.handle = emu.handle

    def __call__(self, method, path, headers=None, body=b""):
        if method == "POST" and path.split("?")[0].endswith("/payment") and "operation=delete" in path:
            fault = {"Error": [{"Message": "Deposited", "Detail": "The transaction was deposited", "code": "6540"}]}
            return 400, {"Content-Type": "application/json"}, json.dumps({"Fault": fault | {"type": "ValidationFault"}})
        return self.handle(method, path, headers, body)


def test_a_deposited_payment_is_not_deleted_and_the_reason_is_plain(
    posted, staff_user, admin_user, qbo_connected, monkeypatch
):
    pay(posted, staff_user, "100.00")
    row = QboMoney.objects.get(order=posted)
    monkeypatch.setattr(qbo_connected, "handle", DepositedPayments(qbo_connected))

    job = payment_delete_request(order=posted, payment_id=row.qbo_id, reason="Mistake", by=admin_user, ip=None)

    assert job.state == "failed" and job.error_code == "6540"
    assert "part of a bank deposit in QuickBooks" in job.last_error
    row.refresh_from_db()
    assert row.state == "active" and len(entities(qbo_connected, "Payment")) == 1


def test_a_credit_memo_applied_in_quickbooks_is_stored_as_credit_on_the_order(webhooks, posted):
    customer_id = posted.buyer.qbo_customer_id
    memo = webhooks.emu.issue_credit_memo(REALM_ID, customer_id, 50)
    credit = QboMoney.objects.create(
        realm_id=REALM_ID, entity="CreditMemo", qbo_id=memo["Id"], order=posted, total=50, amount=50
    )

    webhooks.emu.apply_credit_memo(REALM_ID, memo["Id"], posted.qbo_doc_id, 30)
    webhooks.flush()

    row = QboMoney.objects.get(order=posted, entity="Payment")
    assert (row.amount, row.credit_applied, row.credit_id) == (Decimal("0.00"), Decimal("30.00"), credit.pk)
    posted.refresh_from_db()
    assert posted.qbo_balance == Decimal("442.00")


def test_credit_spent_on_several_invoices_is_shared_pro_rata_to_the_cent():
    shares = credit_shares({"1": Decimal("100.00"), "2": Decimal("200.00"), "3": Decimal("33.33")}, Decimal("100.00"))

    assert shares == {"1": Decimal("30.00"), "2": Decimal("60.00"), "3": Decimal("10.00")}
    assert sum(shares.values()) == Decimal("100.00")
    assert credit_shares({"1": Decimal("10.00")}, Decimal("0")) == {"1": Decimal("0.00")}


def test_kadouris_own_delete_coming_back_as_a_webhook_changes_nothing(webhooks, posted, staff_user, admin_user):
    pay(posted, staff_user, "472.00")
    webhooks.flush()
    row = QboMoney.objects.get(order=posted)
    payment_delete_request(order=posted, payment_id=row.qbo_id, reason="Twice", by=admin_user, ip=None)
    entries = list(posted.activities.values_list("activity_type", "description"))
    row.refresh_from_db()

    webhooks.flush()

    assert QboWebhookEvent.objects.filter(entity="Payment", operation="Delete", status="done").exists()
    assert list(posted.activities.values_list("activity_type", "description")) == entries
    again = QboMoney.objects.get(pk=row.pk)
    assert (again.state, again.delete_reason, again.updated_at) == ("deleted", "Twice", row.updated_at)


def test_recording_a_payment_asks_quickbooks_four_times(posted, staff_user, qbo_connected):
    """Read the invoice, look once for an earlier try's payment by its marker, create it, read the invoice back:
    the look-up is not repeated before the create (the company's lists are read before, and kept)."""
    pay(posted, staff_user, "10.00", method="2")  # warms the cached payment methods and accounts
    before = len(qbo_connected.requests())
    job = pay(posted, staff_user, "15.00", method="2")
    sent = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in qbo_connected.requests()[before:]]
    assert job.state == QboSyncJob.State.DONE
    assert len(sent) == 4, sent
