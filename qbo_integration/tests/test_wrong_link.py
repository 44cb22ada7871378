"""An order never follows, shows, applies or writes to another order's QuickBooks document.

The defect this guards: an estimate's late webhook, processed while Kadouri converted the estimate, moved the
order onto QuickBooks invoice 1 — the estimate's own id, but another order's (paid) invoice — and Void Invoice
then sent a void for that other invoice. Invoices and estimates are numbered apart in QuickBooks, so an id means
nothing without its type, and a document carrying another order's number is never this order's.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from orders.models import Order, OrderActivity
from qbo_integration import reconcile
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.connection import calls
from qbo_integration.models import QboWebhookEvent
from qbo_integration.outbound.requests import order_convert_request, order_void_request
from qbo_integration.selectors.inbound import reconcile_latest
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_paid(webhooks, order_factory, staff_user):
    """Another order whose invoice, QuickBooks invoice 1, is paid."""
    order = invoiced(order_factory(), by=staff_user)
    webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id)
    webhooks.flush()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def hold_estimate_read(emu, estimate_id: str, meanwhile) -> dict:
    """The emulator answers the first read of the estimate only after `meanwhile()` ran: the estimate's
    webhook is held between the moment its handler picked the order and the moment it read the estimate. (The
    inbox's batch query leaves the estimate out, so its handler reads it itself, after picking the order.)"""
    original, state = emu.handle, {"held": False}

    def handle(method, path, headers=None, body=b""):
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        if "/query" in path and "from Estimate " in text:
            return 200, {"Content-Type": "application/json"}, b'{"QueryResponse": {}}'
        if not state["held"] and method == "GET" and f"/estimate/{estimate_id}" in path:
            state["held"] = True
            meanwhile()
        return original(method, path, headers, body)

    emu.handle = handle
    return state


def test_a_late_estimate_event_never_moves_the_converted_order_onto_another_invoice(
    webhooks, other_paid, order_factory, staff_user, staff_client
):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    estimate_id = order.qbo_doc_id
    assert estimate_id == other_paid.qbo_doc_id  # invoices and estimates are numbered apart: the same id
    held = hold_estimate_read(
        webhooks.emu, estimate_id, lambda: order_convert_request(order=Order.objects.get(pk=order.pk), by=staff_user)
    )

    webhooks.flush()  # the estimate's Create event, released after the conversion

    assert held["held"]
    order.refresh_from_db()
    own_invoice = next(i for i in entities(webhooks.emu, "Invoice") if i["DocNumber"] == order.number)
    assert (order.qbo_doc_type, order.qbo_doc_id, order.qbo_doc_number) == ("invoice", own_invoice["Id"], order.number)
    assert order.qbo_doc_id != other_paid.qbo_doc_id and order.qbo_link_problem == ""
    status = staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()
    assert (status["docId"], status["docNumber"], status["wrongLink"]) == (own_invoice["Id"], order.number, False)

    webhooks.emu.clear_requests()
    job = order_void_request(order=order, by=staff_user)

    assert job.state == "done", job.last_error
    voids = webhooks.emu.requests(method="POST", subpath="invoice")
    assert [v["params"].get("operation") for v in voids] == ["void"]
    invoices = {i["Id"]: i for i in entities(webhooks.emu, "Invoice")}
    assert Decimal(str(invoices[own_invoice["Id"]]["TotalAmt"])) == 0  # its own invoice was voided
    assert Decimal(str(invoices[other_paid.qbo_doc_id]["TotalAmt"])) > 0  # the other order's is untouched
    other_paid.refresh_from_db()
    assert (other_paid.status, other_paid.qbo_doc_id) == (Order.Status.PAID, "1")


def test_the_late_estimate_event_says_it_applied_nothing(webhooks, other_paid, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    hold_estimate_read(
        webhooks.emu,
        order.qbo_doc_id,
        lambda: order_convert_request(order=Order.objects.get(pk=order.pk), by=staff_user),
    )

    webhooks.flush()

    event = QboWebhookEvent.objects.get(entity="Estimate", entity_id=order.qbo_doc_id, operation="Create")
    assert event.status == "done" and "nothing applied" in event.result and not event.changed


@pytest.fixture
def wrongly_linked(webhooks, other_paid, order_factory, staff_user):
    """An order whose invoice was renumbered in QuickBooks: a number Kadouri never gave it, so it is not this
    order's document any more (the bookkeeper reused the invoice for another sale)."""
    order = invoiced(order_factory(), by=staff_user)
    webhooks.flush()
    invoice = calls.read("Invoice", order.qbo_doc_id)
    calls.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "DocNumber": "QB-9"},
        request_id=f"renumber-{order.pk}",
    )
    webhooks.flush()
    order.refresh_from_db()
    return order


def test_an_invoice_carrying_another_number_is_shown_as_a_wrong_link_and_not_applied(wrongly_linked, staff_client):
    order = wrongly_linked

    assert "carries number" in order.qbo_link_problem and order.qbo_doc_number == order.number
    assert (
        order.activities.filter(
            activity_type=OrderActivity.Type.CONFLICT, description__startswith="Wrong QuickBooks link"
        ).count()
        == 1
    )
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="qbo-wrong-link"' in page and "Wrong QuickBooks link." in page
    assert 'data-testid="qbo-void"' not in page and 'data-testid="qbo-update"' not in page
    status = staff_client.get(f"/api/quickbooks/status/order/{order.pk}").json()
    assert status["wrongLink"] is True and "carries number" in status["linkProblem"]


def test_a_payment_on_a_wrongly_linked_invoice_is_not_applied(wrongly_linked, webhooks):
    webhooks.emu.record_payment(REALM_ID, wrongly_linked.qbo_doc_id)
    webhooks.flush()

    wrongly_linked.refresh_from_db()
    assert (wrongly_linked.status, wrongly_linked.payment_status) == (Order.Status.POSTED_TO_QB, "unpaid")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])  # update, void
def test_no_write_is_sent_for_a_wrong_link_from_the_api(wrongly_linked, webhooks, staff_client, method):
    webhooks.emu.clear_requests()

    response = staff_client.generic(
        method,
        f"/api/quickbooks/sync/order/{wrongly_linked.pk}",
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == 409 and "link looks wrong" in response.json()["error"]
    assert webhooks.emu.count_requests(method="POST") == 0


def test_the_write_guard_holds_where_requests_are_built(webhooks, wrongly_linked, staff_user):
    """Even a job that got past the status table (e.g. queued before the renumbering was heard) sends nothing."""
    Order.objects.filter(pk=wrongly_linked.pk).update(qbo_link_problem="")
    webhooks.emu.clear_requests()

    job = order_void_request(order=Order.objects.get(pk=wrongly_linked.pk), by=staff_user)

    assert (job.state, job.error_kind) == ("failed", "wrong_link")
    assert webhooks.emu.count_requests(method="POST") == 0
    assert "carries number" in Order.objects.get(pk=wrongly_linked.pk).qbo_link_problem


def test_bulk_push_sends_no_update_for_a_wrong_link(webhooks, wrongly_linked, staff_user):
    Order.objects.filter(pk=wrongly_linked.pk).update(
        qbo_link_problem="", notes="changed in Kadouri", content_fingerprint="edited"
    )
    webhooks.emu.clear_requests()

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert bulk.failed == 1 and bulk.succeeded == 0
    assert [r["subpath"] for r in webhooks.emu.requests(method="POST")] == ["query"]  # the read, no write
    assert wrongly_linked.qbo_jobs.get(action="update_document").error_kind == "wrong_link"


def test_reconciliation_shows_a_wrong_link_and_never_takes_its_values(wrongly_linked, webhooks, admin_client):
    webhooks.emu.record_payment(REALM_ID, wrongly_linked.qbo_doc_id)
    webhooks.flush()
    admin_client.post("/settings/quickbooks/reconcile/run/")

    run = reconcile_latest()
    row = next(r for r in run.rows if r["order_id"] == wrongly_linked.pk)
    assert row["wrong_link"] and not row["pushable"]
    assert row["drift"] == [
        {"field": "link", "kadouri": f"#{wrongly_linked.number}", "quickbooks": "#QB-9 (another document)"}
    ]
    page = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert f'data-testid="wrong-link-{wrongly_linked.pk}"' in page
    assert f"take-quickbooks-{wrongly_linked.pk}" not in page and f"push-kadouri-{wrongly_linked.pk}" not in page

    admin_client.post(f"/settings/quickbooks/reconcile/{wrongly_linked.pk}/fix/", {"action": "take_quickbooks"})

    wrongly_linked.refresh_from_db()
    assert (wrongly_linked.status, wrongly_linked.payment_status) == (Order.Status.POSTED_TO_QB, "unpaid")


def test_a_wrong_link_heals_when_the_document_carries_the_orders_number_again(wrongly_linked, webhooks):
    invoice = calls.read("Invoice", wrongly_linked.qbo_doc_id)
    calls.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "DocNumber": wrongly_linked.number},
        request_id=f"renumber-back-{wrongly_linked.pk}",
    )
    webhooks.flush()

    wrongly_linked.refresh_from_db()
    assert wrongly_linked.qbo_link_problem == ""
    assert "carries this order's number again" in wrongly_linked.activities.first().description


def test_a_quickbooks_id_is_never_stored_without_its_type(order_factory):
    order = order_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(qbo_doc_id="1")
    with pytest.raises(ValueError):
        Order.objects.linked_to("", ["1"])


def test_no_code_looks_an_order_up_by_a_quickbooks_id_without_its_type():
    """The class, closed: every look-up goes through Order.objects.linked_to(doc_type, ids)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    lookup = re.compile(
        r"\.(filter|exclude|get|get_or_create)\((?:[^()]|\([^()]*\))*\bqbo_doc_id(__in|__exact)?\s*=", re.S
    )
    offenders = []
    for path in root.glob("*/**/*.py"):
        rel = path.relative_to(root).as_posix()
        if (
            rel == "orders/models.py"
            or rel.startswith((".venv/", "var/"))
            or "/tests/" in rel
            or "/migrations/" in rel
            or rel.startswith("tests/")
        ):
            continue
        text = path.read_text()
        offenders += [f"{rel}: {m.group(0)[:80]}" for m in lookup.finditer(text)]
    assert offenders == []


def test_a_payment_first_seen_in_an_updates_answer_is_logged_as_received(webhooks, order_factory, staff_user):
    """The bookkeeper's partial payment reached Kadouri only through its own Update's answer (the webhook was
    lost): the order's log still says a payment was received, as a webhook would have."""
    from qbo_integration.outbound.requests import order_update_request

    order = invoiced(order_factory(), by=staff_user)
    webhooks.flush()
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id, 100)
    Order.objects.filter(pk=order.pk).update(notes="Deliver to dock 4", content_fingerprint="edited")

    job = order_update_request(order=Order.objects.get(pk=order.pk), by=staff_user)

    assert job.state == "done", job.last_error
    order.refresh_from_db()
    assert (order.payment_status, order.qbo_balance) == ("partial", Decimal("372.00"))
    assert list(
        order.activities.filter(activity_type=OrderActivity.Type.PAYMENT_RECEIVED).values_list("description", flat=True)
    ) == [f"Payment received in QuickBooks - invoice #{order.number} is partially paid, balance $372.00 of $472.00"]


def test_a_retried_convert_after_the_estimates_webhook_moved_the_order_ends_done(
    webhooks, order_factory, staff_user, settings
):
    """Found by the soak: the convert's first try created the invoice but its answer was lost; the estimate's
    webhook then moved the order onto that invoice; the retry must finish, not fail "nothing to convert"."""
    from datetime import timedelta

    from django.utils import timezone

    from qbo_integration import tasks
    from qbo_integration.models import QboSyncJob

    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    webhooks.flush()
    webhooks.emu.add_fault("drop", method="POST", path="/invoice$")

    job = order_convert_request(order=Order.objects.get(pk=order.pk), by=staff_user)
    assert job.state == "pending"
    webhooks.flush()  # the estimate, closed by the invoice: the order follows it
    order.refresh_from_db()
    assert order.qbo_doc_type == "invoice"
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert (job.state, job.result.get("adopted")) == ("done", True)
    assert len(entities(webhooks.emu, "Invoice")) == 1
    assert not order.activities.filter(activity_type=OrderActivity.Type.SYNC_FAILED).exists()


def test_a_payment_already_on_the_invoice_an_order_starts_following_is_logged(webhooks, order_factory, staff_user):
    """Found by the soak: the bookkeeper converted the estimate in QuickBooks and took a deposit on the invoice;
    the order follows the invoice, partly paid, and its log says a payment was received."""
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    webhooks.flush()
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    estimate = calls.read("Estimate", order.qbo_doc_id)
    invoice = calls.create(
        "Invoice",
        {
            "CustomerRef": estimate["CustomerRef"],
            "Line": estimate["Line"],
            "DocNumber": "QB-77",
            "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
        },
        request_id=f"bookkeeper-{order.pk}",
    )
    webhooks.emu.record_payment(REALM_ID, invoice["Id"], 100)

    reconcile.reconcile_take_quickbooks(order_id=order.pk)

    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id, order.payment_status) == ("invoice", invoice["Id"], "partial")
    assert (
        order.activities.filter(
            activity_type=OrderActivity.Type.PAYMENT_RECEIVED, description__contains="is partially paid"
        ).count()
        == 1
    )
    story = list(order.activities.order_by("created_at", "id").values_list("activity_type", flat=True))
    assert story.index("estimate_converted") < story.index("payment_received")  # the log reads in order
