"""The reconciliation report and its one-click fixes; the inbox pages and replay."""

from decimal import Decimal

import pytest
from django_q.models import OrmQ, Task

from orders.models import OrderActivity
from qbo_integration import reconcile
from qbo_integration.connection import calls as client
from qbo_integration.models import QboReconcileRun, QboWebhookEvent
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(webhooks, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    webhooks.flush()
    webhooks.emu.configure_webhooks(drop_rate=1.0)  # from now on Kadouri hears nothing: drift builds up
    return order


def drift_of(run, order):
    row = next((r for r in run.rows if r["order_id"] == order.pk), None)
    return {d["field"]: (d["kadouri"], d["quickbooks"]) for d in row["drift"]} if row else {}


def edit_invoice_total(order, qty=12, amount=390.0):
    invoice = client.read("Invoice", order.qbo_doc_id)
    lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    lines[0]["SalesItemLineDetail"]["Qty"], lines[0]["Amount"] = qty, amount
    return client.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
        request_id=f"edit-{order.pk}-{qty}",
    )


def renumber_invoice(order, number="QB-9"):
    invoice = client.read("Invoice", order.qbo_doc_id)
    return client.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "DocNumber": number},
        request_id=f"renumber-{order.pk}-{number}",
    )


def test_an_order_in_step_with_quickbooks_has_no_drift(posted):
    run = reconcile.reconcile_run()
    assert (run.checked, run.rows, run.error) == (1, [], "")


def test_it_lists_a_payment_kadouri_missed(posted, webhooks):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    run = reconcile.reconcile_run()

    assert drift_of(run, posted) == {
        "status": ("Posted to QuickBooks", "Paid → Paid"),
        "balance": ("$472.00", "$0.00"),
        "payment status": ("Unpaid", "Paid"),
        "payments": ("no payments", "1 payment, $472.00"),  # its row is missing too (test_reconcile_money.py)
    }


@pytest.mark.parametrize("action, state", [("void_invoice", "Voided"), ("delete_invoice", "Deleted")])
def test_it_lists_voided_and_deleted_documents(posted, webhooks, action, state):
    getattr(webhooks.emu, action)(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    run = reconcile.reconcile_run()
    assert drift_of(run, posted) == {"status": ("Posted to QuickBooks", f"{state} → Cancelled")}
    assert run.rows[0]["qbo_state"] == state


def test_it_lists_total_drift(posted):
    edit_invoice_total(posted)
    run = reconcile.reconcile_run()
    drift = drift_of(run, posted)
    assert drift["total"] == ("$472.00", "$537.00") and drift["balance"] == ("$472.00", "$537.00")
    assert run.rows[0]["pushable"] and not run.rows[0]["wrong_link"]


def test_taking_quickbooks_values_fixes_the_order(admin_client, posted, webhooks):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    admin_client.post("/settings/quickbooks/reconcile/run/")

    response = admin_client.post(
        f"/settings/quickbooks/reconcile/{posted.pk}/fix/", {"action": "take_quickbooks"}, follow=True
    )

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("paid", "paid", Decimal("0.00"))
    assert posted.activities.filter(
        activity_type=OrderActivity.Type.PAYMENT_RECEIVED, user_name="QuickBooks Reconciliation"
    ).exists()
    assert "Took QuickBooks" in response.content.decode()
    assert reconcile.reconcile_run().rows == []


def test_pushing_kadouris_values_fixes_quickbooks(admin_client, posted):
    edit_invoice_total(posted)
    admin_client.post("/settings/quickbooks/reconcile/run/")

    assert f"push-kadouri-{posted.pk}" in admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    admin_client.post(f"/settings/quickbooks/reconcile/{posted.pk}/fix/", {"action": "push_kadouri"})

    invoice = client.read("Invoice", posted.qbo_doc_id)
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("472.00") and invoice["DocNumber"] == posted.number
    assert "Pushed Kadouri" in QboReconcileRun.objects.latest("started_at").rows[0]["fixed"]
    assert reconcile.reconcile_run().rows == []


def test_the_report_page_shows_drift_and_fix_buttons_to_admins_only(admin_client, staff_client, posted, webhooks):
    webhooks.emu.void_invoice(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    admin_client.post("/settings/quickbooks/reconcile/run/")

    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert f'id="drift-{posted.pk}"' in page and "Voided → Cancelled" in page and "take-quickbooks" in page
    assert "push-kadouri" not in page  # a void is QuickBooks' to decide: pushing could not undo it
    assert "<td>Posted to QuickBooks</td>" in page
    staff_page = staff_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "Voided → Cancelled" in staff_page and "take-quickbooks" not in staff_page
    staff_client.post(f"/settings/quickbooks/reconcile/{posted.pk}/fix/", {"action": "take_quickbooks"})
    posted.refresh_from_db()
    assert posted.status == "posted_to_qb"


def test_a_report_without_a_connection_says_so(db):
    run = reconcile.reconcile_run()
    assert "not connected" in run.error


# --- the inbox pages -----------------------------------------------------------------------------


def test_the_inbox_lists_events_with_filters_and_shows_the_raw_payload(admin_client, posted, webhooks):
    webhooks.emu.configure_webhooks(drop_rate=0.0)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    payment = QboWebhookEvent.objects.get(entity="Payment")

    page = admin_client.get("/settings/quickbooks/inbox/?entity=Payment&status=done").content.decode()
    assert f'id="event-{payment.pk}"' in page
    assert f'id="event-{QboWebhookEvent.objects.filter(entity="Invoice").first().pk}"' not in page
    assert admin_client.get(f"/settings/quickbooks/inbox/?realm={REALM_ID}&source=legacy").status_code == 200
    detail = admin_client.get(f"/settings/quickbooks/inbox/{payment.pk}/").content.decode()
    assert "&quot;operation&quot;: &quot;Create&quot;" in detail and payment.result[:20] in detail


def test_replaying_many_events_from_the_inbox_reads_them_again(
    admin_client, posted, webhooks, django_capture_on_commit_callbacks
):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()  # dropped: Kadouri never heard of it
    events = [
        QboWebhookEvent.objects.create(
            dedupe_key=f"manual-{i}",
            source="manual",
            realm_id=REALM_ID,
            entity="Invoice",
            entity_id=posted.qbo_doc_id,
            operation="Update",
            status="failed",
            attempts=6,
        )
        for i in range(2)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/settings/quickbooks/inbox/replay/", {"event": [e.pk for e in events]}, follow=True
        )

    assert "2 events queued for replay" in response.content.decode()
    assert set(QboWebhookEvent.objects.filter(pk__in=[e.pk for e in events]).values_list("status", flat=True)) == {
        "done"
    }
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_only_admins_replay(staff_client, posted):
    event = QboWebhookEvent.objects.first()
    response = staff_client.post("/settings/quickbooks/inbox/replay/", {"event": [event.pk]}, follow=True)
    assert "Only admins" in response.content.decode()


def test_the_admin_lists_and_replays_events(admin_client, posted):
    event = QboWebhookEvent.objects.first()
    assert admin_client.get("/admin/qbo_integration/qbowebhookevent/?status__exact=done").status_code == 200
    response = admin_client.post(
        "/admin/qbo_integration/qbowebhookevent/", {"action": "replay", "_selected_action": [event.pk]}, follow=True
    )
    assert "queued for replay" in response.content.decode()
    for page in ("qbocatchup", "syncconflict", "qbowebhookcounter", "qboreconcilerun"):
        assert admin_client.get(f"/admin/qbo_integration/{page}/").status_code == 200


def test_the_settings_page_links_the_inbox_and_the_report(admin_client, posted):
    page = admin_client.get("/settings/quickbooks/").content.decode()
    assert (
        'data-testid="inbox-link"' in page
        and 'data-testid="reconcile-link"' in page
        and 'data-testid="catchup"' in page
    )


@pytest.fixture
def estimated(webhooks, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    webhooks.flush()
    return order


def convert_in_quickbooks(order) -> dict:
    """The bookkeeper makes an invoice from the estimate in QuickBooks: QuickBooks numbers it itself."""
    estimate = client.read("Estimate", order.qbo_doc_id)
    lines = [line for line in estimate["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    return client.create(
        "Invoice",
        {
            "CustomerRef": estimate["CustomerRef"],
            "Line": lines,
            "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
        },
        request_id=f"convert-{order.pk}",
    )


def test_an_order_following_an_invoice_numbered_by_quickbooks_shows_no_number_drift(webhooks, estimated):
    invoice = convert_in_quickbooks(estimated)
    webhooks.flush()  # the order now follows the invoice
    estimated.refresh_from_db()
    assert (estimated.qbo_doc_type, estimated.qbo_doc_number) == ("invoice", invoice["DocNumber"])
    assert invoice["DocNumber"] != estimated.number

    run = reconcile.reconcile_run()

    assert (run.checked, run.rows) == (1, [])


def test_taking_quickbooks_values_on_an_estimate_converted_there_follows_the_invoice(webhooks, estimated):
    webhooks.emu.configure_webhooks(drop_rate=1.0)  # Kadouri does not hear of the conversion
    invoice = convert_in_quickbooks(estimated)
    webhooks.flush()
    run = reconcile.reconcile_run()
    assert drift_of(run, estimated) == {
        "document": (f"Estimate #{estimated.number}", f"Converted to invoice #{invoice['Id']}")
    }

    text = reconcile.reconcile_take_quickbooks(order_id=estimated.pk, run_id=run.pk)

    estimated.refresh_from_db()
    assert (estimated.qbo_doc_type, estimated.qbo_doc_id, estimated.qbo_doc_number) == (
        "invoice",
        invoice["Id"],
        invoice["DocNumber"],
    )
    assert "now follows the invoice" in text
    assert estimated.activities.filter(
        activity_type=OrderActivity.Type.ESTIMATE_CONVERTED, user_name="QuickBooks Reconciliation"
    ).exists()
    assert reconcile.reconcile_run().rows == []


def test_the_report_reads_order_totals_without_a_query_per_order(
    webhooks, order_factory, staff_user, django_assert_max_num_queries
):
    for _ in range(6):
        invoiced(order_factory(), by=staff_user)
    webhooks.flush()

    with django_assert_max_num_queries(
        10
    ):  # 10 today (one lists the products that track stock, one reads the broker documents); per order: 15
        run = reconcile.reconcile_run()

    assert run.checked == 6 and run.rows == []


@pytest.mark.parametrize("action", ["take_quickbooks", "push_kadouri"])
def test_a_fix_for_an_order_that_does_not_exist_is_a_404_and_queues_nothing(admin_client, posted, action):
    admin_client.post("/settings/quickbooks/reconcile/run/")
    tasks_before = Task.objects.count()

    response = admin_client.post("/settings/quickbooks/reconcile/999999/fix/", {"action": action})

    assert response.status_code == 404
    assert (Task.objects.count(), OrmQ.objects.count()) == (tasks_before, 0)  # nothing went to the worker
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "Fix queued" not in page
