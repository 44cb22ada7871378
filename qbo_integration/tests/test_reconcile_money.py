"""Reconciling an order's money (docs/quickbooks/money.md#reconciling-money): payments, credits and refunds a lost
webhook left missing or stale while the invoice's balance is right are reported, and "Take QuickBooks' values" stores
them as QuickBooks has them. The report reads them with one query per kind, never one request per payment."""

from decimal import Decimal

import pytest
from django_q.models import OrmQ, Task

from orders.models import OrderActivity
from qbo_integration import reconcile
from qbo_integration.connection import calls
from qbo_integration.models import QboMoney, QboReconcileRun
from qbo_integration.testing import REALM_ID

from .inbound_support import invoiced, legacy_body, legacy_entity, post_webhook, webhooks  # noqa: F401
from .test_reconcile import drift_of, edit_invoice_total

pytestmark = pytest.mark.django_db


@pytest.fixture
def hear_only_the_invoice(client, django_capture_on_commit_callbacks):
    """The invoice's webhook reaches Kadouri, the payment's or credit's was lost: the order's balance is right, its
    money rows are not."""

    def deliver(order):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_webhook(client, legacy_body(legacy_entity("Invoice", order.qbo_doc_id)))
        assert response.status_code == 200
        order.refresh_from_db()
        return order

    return deliver


@pytest.fixture
def silent(webhooks, order_factory, staff_user):
    """An order with its invoice in QuickBooks, heard by Kadouri; from now on QuickBooks' webhooks are lost."""

    def make(*, paid: str | None = None):
        webhooks.emu.configure_webhooks(drop_rate=0.0)
        order = invoiced(order_factory(), by=staff_user)
        if paid:
            webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id, paid)
        webhooks.flush()
        webhooks.emu.configure_webhooks(drop_rate=1.0)
        order.refresh_from_db()
        return order

    yield make
    webhooks.emu.configure_webhooks(drop_rate=0.0)


def details_of(run, order) -> str:
    row = next(r for r in run.rows if r["order_id"] == order.pk)
    return " ".join(d["detail"] for d in row["drift"] if d.get("detail"))


def asked(emu) -> list[str]:
    """What Kadouri asked QuickBooks, in order: "query" for a query, the path for a read."""
    return [r["subpath"] for r in emu.requests()]


def money_of(client, order) -> dict:
    response = client.get(f"/api/quickbooks/sync/order/{order.pk}/payments")
    assert response.status_code == 200
    return response.json()


def take_quickbooks(admin_client, order) -> str:
    response = admin_client.post(
        f"/settings/quickbooks/reconcile/{order.pk}/fix/", {"action": "take_quickbooks"}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_a_payment_whose_webhook_was_lost_is_reported_and_taking_quickbooks_values_stores_it(
    admin_client, staff_client, silent, webhooks, hear_only_the_invoice
):
    order = silent()
    payment = webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id, 300)
    webhooks.flush()  # lost
    hear_only_the_invoice(order)
    assert (order.qbo_balance, order.payment_status) == (Decimal("172.00"), "partial")
    assert not QboMoney.objects.filter(order=order).exists()

    admin_client.post("/settings/quickbooks/reconcile/run/")

    run = QboReconcileRun.objects.latest("started_at")
    assert drift_of(run, order) == {"payments": ("no payments", "1 payment, $300.00")}
    assert details_of(run, order) == f"Payment {payment['Id']} has no row in Kadouri"
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "1 payment, $300.00" in page and f"take-quickbooks-{order.pk}" in page
    assert f"push-kadouri-{order.pk}" not in page

    page = take_quickbooks(admin_client, order)

    row = QboMoney.objects.get(order=order, entity="Payment")
    assert (row.qbo_id, row.amount, row.credit_applied, row.state) == (payment["Id"], Decimal("300.00"), 0, "active")
    money = money_of(staff_client, order)
    assert (money["money"]["paid"], money["money"]["open"]) == ("300.00", "172.00")
    assert [(p["id"], p["amount"], p["recordedBy"]) for p in money["payments"]] == [
        (payment["Id"], "300.00", "in QuickBooks")
    ]
    entry = order.activities.get(activity_type=OrderActivity.Type.SYNCED_FROM_QB, user_name="QuickBooks Reconciliation")
    assert "Kadouri had no payments, QuickBooks has 1 payment, $300.00" in entry.description
    assert payment["Id"] in entry.description
    assert "payments taken: Kadouri had no payments" in page
    assert reconcile.reconcile_run().rows == []


def test_a_payment_deleted_in_quickbooks_silently_is_reported_and_the_fix_marks_its_row_deleted(
    admin_client, staff_client, silent, webhooks, hear_only_the_invoice
):
    order = silent(paid="100")
    row = QboMoney.objects.get(order=order, entity="Payment", state="active")
    webhooks.emu.delete_payment(REALM_ID, row.qbo_id)
    webhooks.flush()  # lost
    hear_only_the_invoice(order)
    assert order.payment_status == "unpaid"

    run = reconcile.reconcile_run()
    assert drift_of(run, order) == {"payments": ("1 payment, $100.00", "no payments")}
    assert details_of(run, order) == f"Payment {row.qbo_id} deleted in QuickBooks"

    take_quickbooks(admin_client, order)

    row.refresh_from_db()
    assert row.state == "deleted"
    money = money_of(staff_client, order)
    assert (money["money"]["paid"], money["money"]["open"]) == ("0.00", "472.00")
    assert [p["state"] for p in money["payments"]] == ["deleted"]
    assert order.activities.filter(description__contains=f"Payment {row.qbo_id} deleted in QuickBooks").exists()
    assert reconcile.reconcile_run().rows == []


def test_a_payment_changed_in_quickbooks_silently_is_reported_with_both_amounts_and_fixed(
    silent, webhooks, hear_only_the_invoice
):
    order = silent(paid="100")
    row = QboMoney.objects.get(order=order, entity="Payment")
    payment = calls.read("Payment", row.qbo_id)
    line = payment["Line"][0] | {"Amount": 150}
    calls.update(
        "Payment",
        {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True, "TotalAmt": 150, "Line": [line]},
        request_id=f"raise-{payment['Id']}",
    )
    webhooks.flush()  # lost
    hear_only_the_invoice(order)
    assert order.qbo_balance == Decimal("322.00")

    run = reconcile.reconcile_run()

    assert drift_of(run, order) == {"payments": ("1 payment, $100.00", "1 payment, $150.00")}
    assert details_of(run, order) == f"Payment {row.qbo_id}: $100.00 → $150.00"
    reconcile.reconcile_take_quickbooks(order_id=order.pk, run_id=run.pk)
    row.refresh_from_db()
    assert (row.amount, row.total) == (Decimal("150.00"), Decimal("150.00"))
    assert reconcile.reconcile_run().rows == []


def issue_credit(client, order, amount: str, token: str) -> QboMoney:
    response = client.post(
        f"/settings/quickbooks/orders/{order.pk}/credits/new/", {"reason": "damaged", "amount": amount, "token": token}
    )
    assert response.status_code in (200, 302), response.content
    return QboMoney.objects.get(order=order, entity="CreditMemo", state="active")


def test_a_credit_memos_remaining_credit_changed_silently_is_reported_and_fixed(
    admin_client, staff_client, silent, webhooks, hear_only_the_invoice
):
    paid = silent(paid="472")
    credit = issue_credit(staff_client, paid, "40.00", "c1")  # a paid order's credit stays the buyer's
    other = silent()  # the same buyer's open order; webhooks are lost from here on
    assert credit.unapplied == Decimal("40.00")
    # The bookkeeper applies the credit to the other open invoice in QuickBooks; Kadouri hears only that invoice.
    applying = webhooks.emu.apply_credit_memo(REALM_ID, credit.qbo_id, other.qbo_doc_id, 40)
    webhooks.flush()
    hear_only_the_invoice(other)
    assert other.qbo_balance == Decimal("432.00")

    run = reconcile.reconcile_run()

    assert drift_of(run, paid) == {"credits": ("1 credit, $40.00, $40.00 left", "1 credit, $40.00, $0.00 left")}
    assert details_of(run, paid) == f"Credit {credit.qbo_id}: $40.00, $40.00 left → $40.00, $0.00 left"
    assert drift_of(run, other) == {"payments": ("no payments", "1 payment, $0.00 + $40.00 credit")}
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "$40.00 left" in page

    take_quickbooks(admin_client, paid)
    take_quickbooks(admin_client, other)

    credit.refresh_from_db()
    assert (credit.amount, credit.unapplied, credit.state) == (Decimal("40.00"), Decimal("0.00"), "active")
    listed = money_of(staff_client, paid)["credits"]
    assert [(c["id"], c["remaining"], c["applied"]) for c in listed] == [(credit.qbo_id, "0.00", "40.00")]
    applied = QboMoney.objects.get(order=other, entity="Payment", qbo_id=applying["Id"])
    assert (applied.amount, applied.credit_applied, applied.credit) == (Decimal("0.00"), Decimal("40.00"), credit)
    assert money_of(staff_client, other)["money"]["creditApplied"] == "40.00"
    assert paid.activities.filter(description__contains="QuickBooks' credits taken").exists()
    assert reconcile.reconcile_run().rows == []


def test_a_refund_made_silently_is_reported_and_stored_against_its_credit(staff_client, silent, webhooks):
    paid = silent(paid="472")
    webhooks.emu.configure_webhooks(drop_rate=0.0)
    credit = issue_credit(staff_client, paid, "40.00", "r1")
    webhooks.flush()
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    refund = webhooks.emu.refund_credit_memo(REALM_ID, credit.qbo_id, 15)
    webhooks.flush()  # lost

    run = reconcile.reconcile_run()

    assert drift_of(run, paid) == {
        "credits": ("1 credit, $40.00, $40.00 left", "1 credit, $40.00, $25.00 left"),
        "refunds": ("no refunds", "1 refund, $15.00"),
    }
    text = reconcile.reconcile_take_quickbooks(order_id=paid.pk, run_id=run.pk)

    stored = QboMoney.objects.get(entity="RefundReceipt", qbo_id=refund["Id"])
    credit.refresh_from_db()
    assert (stored.credit, stored.order, stored.amount) == (credit, paid, Decimal("15.00"))
    assert credit.unapplied == Decimal("25.00")
    assert "QuickBooks' refunds taken" in text
    assert reconcile.reconcile_run().rows == []


def test_an_order_in_step_has_no_money_drift(staff_client, silent, webhooks):
    partly = silent(paid="100")
    paid = silent(paid="472")
    webhooks.emu.configure_webhooks(drop_rate=0.0)
    credit = issue_credit(staff_client, paid, "40.00", "s1")
    webhooks.emu.apply_credit_memo(REALM_ID, credit.qbo_id, partly.qbo_doc_id, 25)
    refund = webhooks.emu.refund_credit_memo(REALM_ID, credit.qbo_id, 10)
    webhooks.flush()  # heard: every row is QuickBooks' own
    assert QboMoney.objects.filter(entity="Payment", order=partly).count() == 2
    webhooks.emu.clear_requests()

    run = reconcile.reconcile_run()

    assert (run.checked, run.rows, run.error) == (2, [], "")
    # the invoices, the payments (one query each), the one credit memo and its one refund (a read each)
    assert asked(webhooks.emu) == ["query", "query", f"creditmemo/{credit.qbo_id}", f"refundreceipt/{refund['Id']}"]


def test_the_report_reads_twenty_orders_payments_in_two_requests(webhooks, order_factory, staff_user):
    orders = [invoiced(order_factory(), by=staff_user) for _ in range(20)]
    for order in orders:
        webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id, 100)
    webhooks.flush()
    assert QboMoney.objects.filter(entity="Payment", state="active").count() == 20
    webhooks.emu.clear_requests()

    run = reconcile.reconcile_run()

    assert (run.checked, run.rows) == (20, [])
    # one query for the 20 invoices, one for their 20 payments: not one request per payment
    assert asked(webhooks.emu) == ["query", "query"]


def test_push_kadouris_is_never_offered_or_taken_for_money_drift(admin_client, silent, webhooks):
    order = silent()
    edit_invoice_total(order)  # a total Kadouri could push back ...
    webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id, 100)  # ... beside a payment Kadouri never heard of
    webhooks.flush()
    admin_client.post("/settings/quickbooks/reconcile/run/")
    invoice_before = webhooks.emu.count_requests(method="POST", subpath="invoice")
    tasks_before = Task.objects.count()

    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    response = admin_client.post(
        f"/settings/quickbooks/reconcile/{order.pk}/fix/", {"action": "push_kadouri"}, follow=True
    )

    assert f"take-quickbooks-{order.pk}" in page and f"push-kadouri-{order.pk}" not in page
    assert "QuickBooks is the book of record for money" in response.content.decode()
    assert (Task.objects.count(), OrmQ.objects.count()) == (tasks_before, 0)
    assert webhooks.emu.count_requests(method="POST", subpath="invoice") == invoice_before
