"""Push all pending: batch requests, stored mappings, pacing, and each order's own guarantee and entry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from conftest import make_account, make_order, make_product
from orders.models import Order
from orders.services import order_update
from qbo_integration import mapping
from qbo_integration.bulk.lease import progress
from qbo_integration.bulk.outcomes import pending_orders
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.client import http
from qbo_integration.connection import calls
from qbo_integration.models import BulkPush, QboConnection, QboSyncJob
from qbo_integration.outbound.record import mark_created
from qbo_integration.outbound.requests import enqueue_order_job
from qbo_integration.outbound.runners import qbo_jobs_process_due
from qbo_integration.outbox.jobs import STUCK_AFTER, claim
from qbo_integration.refs.accounts import term_id_for
from qbo_integration.refs.ensure import refs_for_order
from qbo_integration.refs.pacing import Pacer

from .conftest import entities

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(staff_user, seller):
    buyers = [make_account(f"Buyer {n}", f"B{n}") for n in range(5)]
    products = [make_product(f"Product {n}", f"{n + 1}.25") for n in range(12)]
    return [
        make_order(
            seller=seller,
            buyer=buyers[n % 5],
            by=staff_user,
            ready_to_push=True,
            lines=[(products[(n + k) % 12], str(k + 1)) for k in range(3)],
        )
        for n in range(61)
    ]


def test_it_pushes_61_orders_with_a_handful_of_requests(staff_client, qbo_connected, pending, order_factory):
    not_ready = order_factory()

    response = staff_client.post("/settings/quickbooks/push/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and 'data-testid="bulk-progress"' in response.content.decode()
    bulk = BulkPush.objects.get()
    assert (bulk.state, bulk.total, bulk.succeeded, bulk.failed) == ("done", 61, 61, 0)
    api = qbo_connected.requests(path="/v3/company/")
    # income account + terms (2 queries), name look-ups (1 batch), customers and items (1 batch),
    # DocNumber look-up (1 batch), 61 invoices (3 batches of ≤ 30)
    assert len(api) == bulk.requests_used == 8
    assert sum(1 for r in api if r["subpath"] == "batch") == 6
    assert len(entities(qbo_connected, "Invoice")) == 61 and len(entities(qbo_connected, "Customer")) == 5
    assert all(
        o.status == "posted_to_qb" and o.activities.filter(activity_type="invoice_created").count() == 1
        for o in Order.objects.filter(pk__in=[o.pk for o in pending])
    )
    assert Order.objects.get(pk=not_ready.pk).status == "draft"
    assert QboSyncJob.objects.filter(bulk_push=bulk, state="done").count() == 61
    assert len(set(QboSyncJob.objects.values_list("request_id", flat=True))) == 61
    page = staff_client.get(f"/settings/quickbooks/push/{bulk.pk}/progress/").content.decode()
    assert 'value="100"' in page and "61 of 61 orders pushed" in page and "hx-trigger" not in page


def test_it_updates_changed_posted_orders_in_batches_with_stored_mappings(qbo_connected, pending, staff_user):
    call_command("push_pending")
    for order in pending[:35]:
        order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)
    qbo_connected.clear_requests()

    call_command("push_pending")

    bulk = BulkPush.objects.order_by("-pk").first()
    assert (bulk.total, bulk.succeeded) == (35, 35)
    api = qbo_connected.requests(path="/v3/company/")
    # No name look-ups (the mappings are stored): one read of the 35 invoices (paid or voided ones are not
    # overwritten), then two batches of updates.
    assert [r["subpath"] for r in api] == ["query", "batch", "batch"]
    assert sum(1 for i in entities(qbo_connected, "Invoice") if i.get("PrivateNote") == "re-weighed") == 35
    assert all(not o.changed_since_push for o in Order.objects.filter(pk__in=[o.pk for o in pending]))
    assert Order.objects.get(pk=pending[0].pk).activities.filter(activity_type="invoice_updated").count() == 1


def test_it_reapplies_stale_updates_once_in_bulk(qbo_connected, pending, staff_user):
    from qbo_integration.testing import REALM_ID

    call_command("push_pending")
    first = Order.objects.get(pk=pending[0].pk)
    qbo_connected.record_payment(REALM_ID, first.qbo_doc_id, 1)  # the SyncToken moves on in QuickBooks
    order_update(order_id=first.pk, fields={"notes": "late edit"}, lines=None, by=staff_user)

    call_command("push_pending")

    first.refresh_from_db()
    assert not first.changed_since_push and first.qbo_balance == first.total - Decimal("1")


class LoseTheAnswer:
    """QuickBooks runs the first batch that creates invoices, then the connection drops (live: socket closed)."""

    def __init__(self, emu):
        self.emu, self.handle, self.fired = emu, emu.handle, False

    def __call__(self, method, path, headers=None, body=b""):
        from qbo_integration.emulator import ConnectionDropped

        answer = self.handle(method, path, headers, body)
        text = body.decode() if isinstance(body, bytes) else (body or "")
        if not self.fired and path.split("?")[0].endswith("/batch") and '"Invoice": {' in text:
            self.fired = True
            raise ConnectionDropped(answer)
        return answer


def test_it_never_creates_twice_when_a_batch_answer_is_lost(qbo_connected, pending, monkeypatch):
    qbo_connected.add_fault("drop", method="POST", path="/batch$", count=1)  # the name look-ups, too
    lose = LoseTheAnswer(qbo_connected)
    monkeypatch.setattr(qbo_connected, "handle", lose)

    call_command("push_pending")

    assert lose.fired
    assert len(entities(qbo_connected, "Invoice")) == 61
    bulk = BulkPush.objects.get()
    assert (bulk.succeeded, bulk.failed) == (61, 0)
    creates = [r for r in qbo_connected.requests(subpath="batch") if r["params"].get("requestid")]
    assert len(creates) == len({r["params"]["requestid"] for r in creates}) + 1  # one resent, same id, replayed


def test_it_refuses_to_start_without_a_connection(staff_client, qbo, pending):
    response = staff_client.post("/settings/quickbooks/push/", follow=True)

    assert "not connected" in response.content.decode()
    assert not BulkPush.objects.exists()


def _die_mid_run(bulk: BulkPush, orders, *, created: int) -> None:
    """What a SIGKILLed worker leaves behind (found by the soak): the run `running`, its jobs `running`, and
    maybe the first invoices created and recorded on their orders but their jobs never closed."""
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - STUCK_AFTER - timedelta(seconds=5)
    BulkPush.objects.filter(pk=bulk.pk).update(
        state="running", started_at=long_ago, heartbeat_at=long_ago, total=len(orders)
    )
    for order in orders:
        job, _ = enqueue_order_job(order=order, action="create_invoice", by=None, ip=None, bulk=bulk)
        assert claim(job.pk)
    QboSyncJob.objects.filter(bulk_push=bulk).update(claimed_at=long_ago)
    for order in orders[:created]:
        job = QboSyncJob.objects.get(order=order)
        customer_id, item_ids = refs_for_order(order)
        payload = mapping.sales_document_payload(
            order, customer_id=customer_id, item_ids=item_ids, term_id=term_id_for(order)
        )
        doc = calls.create("Invoice", payload, request_id=job.request_id)
        mark_created(job, doc, "invoice", order.compute_fingerprint())


def test_a_bulk_push_whose_worker_died_is_resumed_when_django_q_redelivers_it(qbo_connected, pending):
    orders = pending[:10]
    bulk = BulkPush.objects.create(total=0)
    _die_mid_run(bulk, orders, created=3)

    resumed = bulk_push_run(bulk_id=bulk.pk)

    assert (resumed.state, resumed.total, resumed.succeeded, resumed.failed) == ("done", 61, 61, 0)
    assert len(entities(qbo_connected, "Invoice")) == 61
    assert all(o.activities.filter(activity_type="invoice_created").count() == 1 for o in Order.objects.all())
    assert not QboSyncJob.objects.exclude(state="done").exists()
    # A second redelivery of the same task changes nothing.
    assert bulk_push_run(bulk_id=bulk.pk).succeeded == 61


def test_a_killed_push_whose_heartbeat_went_stale_is_resumed_by_the_drain(qbo_connected, pending, staff_user):
    orders = pending[:10]
    bulk = BulkPush.objects.create(total=0)
    _die_mid_run(bulk, orders, created=3)
    assert bulk_push_start(by=staff_user).pk == bulk.pk  # blocked while it looks alive
    qbo_connected.clear_requests()

    qbo_jobs_process_due()

    # The same push carried on (Q_SYNC runs the resumed task at once in tests): no new push, no order scattered
    # into one-by-one retries, every order pushed in a batch and created exactly once.
    bulk.refresh_from_db()
    assert (bulk.state, bulk.total, bulk.succeeded, bulk.failed, bulk.retrying, bulk.resumes) == (
        "done",
        61,
        61,
        0,
        0,
        1,
    )
    assert BulkPush.objects.count() == 1
    assert QboSyncJob.objects.filter(bulk_push=bulk, state="done").count() == 61
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0
    assert all(o.activities.filter(activity_type="invoice_created").count() == 1 for o in Order.objects.all())
    assert _invoices_per_number(qbo_connected) == {o.number: 1 for o in Order.objects.all()}
    assert bulk_push_run(bulk_id=bulk.pk).resumes == 1  # django-q2's late redelivery: nothing to do


def test_a_live_push_is_left_alone_by_the_drain_and_by_a_second_delivery(qbo_connected, pending):
    bulk = BulkPush.objects.create(total=0)
    _die_mid_run(bulk, pending[:10], created=0)
    BulkPush.objects.filter(pk=bulk.pk).update(heartbeat_at=timezone.now())  # its worker is alive, just slow

    qbo_jobs_process_due()
    second = bulk_push_run(bulk_id=bulk.pk)

    assert (second.state, second.succeeded, second.resumes) == ("running", 0, 0)
    assert QboSyncJob.objects.filter(bulk_push=bulk, state="running").count() == 10  # not scattered, not run twice
    assert qbo_connected.count_requests(path="/v3/company/") == 0


def test_it_does_not_overwrite_invoices_paid_or_voided_in_quickbooks(qbo_connected, pending, staff_user):
    from qbo_integration.testing import REALM_ID

    call_command("push_pending")
    paid, voided, open_ = (Order.objects.get(pk=o.pk) for o in pending[:3])
    qbo_connected.record_payment(REALM_ID, paid.qbo_doc_id)
    qbo_connected.void_invoice(REALM_ID, voided.qbo_doc_id)
    for order in (paid, voided, open_):  # edited in Kadouri before the webhooks arrived
        order_update(order_id=order.pk, fields={"notes": "late edit"}, lines=None, by=staff_user)
    qbo_connected.clear_requests()

    call_command("push_pending")

    bulk = BulkPush.objects.order_by("-pk").first()
    assert (bulk.total, bulk.succeeded, bulk.failed) == (3, 1, 2)
    assert [r["subpath"] for r in qbo_connected.requests(path="/v3/company/")] == ["query", "batch"]
    notes = {i["Id"]: i.get("PrivateNote") for i in entities(qbo_connected, "Invoice")}
    assert notes[open_.qbo_doc_id] == "late edit"
    assert notes[paid.qbo_doc_id] != "late edit" and notes[voided.qbo_doc_id].startswith("Voided")
    failed = paid.activities.get(activity_type="sync_failed").description
    assert "QuickBooks shows this invoice as paid, so Kadouri will not change it" in failed
    assert "voided; it cannot be changed" in voided.activities.get(activity_type="sync_failed").description


def test_a_live_bulk_push_renews_its_claims_so_no_job_looks_dead(qbo_connected, order_factory):
    from datetime import timedelta

    from django.utils import timezone

    bulk = BulkPush.objects.create(state="running", total=1)
    job, _ = enqueue_order_job(
        order=order_factory(ready_to_push=True), action="create_invoice", by=None, ip=None, bulk=bulk
    )
    assert claim(job.pk)
    long_ago = timezone.now() - STUCK_AFTER - timedelta(seconds=5)
    QboSyncJob.objects.filter(pk=job.pk).update(claimed_at=long_ago)

    progress(bulk, Pacer())  # what a pacing push does between batches

    job.refresh_from_db()
    assert job.state == "running" and job.claimed_at > timezone.now() - timedelta(seconds=5)


def test_orders_handed_back_to_their_retry_queue_are_not_reported_as_failures(qbo_connected, pending, staff_client):
    qbo_connected.add_fault("503", method="POST", path="/batch$", count=50, body=r'"Invoice"')  # every invoice batch

    call_command("push_pending")

    bulk = BulkPush.objects.get()
    assert (bulk.state, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 0, 0, 61)
    assert QboSyncJob.objects.filter(bulk_push=bulk, state="pending").count() == 61
    page = staff_client.get(f"/settings/quickbooks/push/{bulk.pk}/progress/").content.decode()
    assert "61 queued to retry on their own" in page and "0 need attention" in page


# --- a hiccup is not the end of the push: the same batch is sent again --------------------------------------

INVOICE_BATCH = r'"Invoice": \{'  # a batch that creates invoices (look-ups say "from Invoice")


def _invoices_per_number(emu) -> dict[str, int]:
    counts: dict[str, int] = {}
    for invoice in entities(emu, "Invoice"):
        counts[invoice["DocNumber"]] = counts.get(invoice["DocNumber"], 0) + 1
    return counts


def _sends_by_request_id(emu) -> dict[str, list[int]]:
    """Statuses of the batch requests that carried a requestid, per id, in the order they were sent."""
    sends: dict[str, list[int]] = {}
    for r in emu.requests(subpath="batch"):
        if r["params"].get("requestid"):
            sends.setdefault(r["params"]["requestid"], []).append(r["status"])
    return sends


class PassingTime:
    """The push's sleep, without the waiting: records each wait and lets that much of a QuickBooks pause elapse."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        paused = QboConnection.objects.exclude(paused_until=None)
        paused.update(paused_until=F("paused_until") - timedelta(seconds=seconds))


def _push(pacer=None) -> BulkPush:
    bulk = BulkPush.objects.create(total=len(pending_orders()))
    return bulk_push_run(bulk_id=bulk.pk, pacer=pacer)


def _assert_all_pushed_in_batches(emu, bulk, orders) -> None:
    assert (bulk.state, bulk.total, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 61, 61, 0, 0)
    assert _invoices_per_number(emu) == {o.number: 1 for o in orders}  # exactly one invoice per order
    assert emu.count_requests(method="POST", subpath="invoice") == 0  # nothing went one by one
    jobs = QboSyncJob.objects.filter(bulk_push=bulk)
    assert jobs.filter(state="done", attempts=1).count() == 61 and not jobs.filter(in_doubt=True).exists()


def test_batches_that_fail_transiently_are_sent_again_with_the_same_requestid(qbo_connected, pending):
    qbo_connected.add_fault("503", method="POST", path="/batch$", count=1)  # the first request: the name look-ups
    qbo_connected.add_fault("500", method="POST", path="/batch$", body=r'"Customer": \{', count=1)  # creating customers
    qbo_connected.add_fault("503", method="POST", path="/batch$", body=INVOICE_BATCH, count=2)  # the first invoices

    bulk = _push()

    _assert_all_pushed_in_batches(qbo_connected, bulk, pending)
    sends = _sends_by_request_id(qbo_connected)
    assert sorted(sends.values()) == sorted([[500, 200], [503, 503, 200], [200], [200]])  # refs, then 3 invoice batches
    assert "61 of 61 orders pushed in batch requests" in bulk.message


def test_a_batch_whose_answer_was_lost_is_replayed_not_run_again(qbo_connected, pending):
    # QuickBooks creates the first 30 invoices, then the connection drops before the answer arrives.
    qbo_connected.add_fault("drop", method="POST", path="/batch$", body=INVOICE_BATCH, count=1)

    bulk = _push()

    _assert_all_pushed_in_batches(qbo_connected, bulk, pending)
    resent = [statuses for statuses in _sends_by_request_id(qbo_connected).values() if len(statuses) > 1]
    assert resent == [[200, 200]]  # the second answer is QuickBooks' replay of the first


def test_a_throttled_batch_waits_the_pause_quickbooks_asked_for_then_goes_again(qbo_connected, pending):
    qbo_connected.add_fault("429", method="POST", path="/batch$", body=INVOICE_BATCH, count=1)
    passing = PassingTime()

    bulk = _push(Pacer(sleep=passing))

    _assert_all_pushed_in_batches(qbo_connected, bulk, pending)
    assert [statuses for statuses in _sends_by_request_id(qbo_connected).values() if len(statuses) > 1] == [[429, 200]]
    assert sum(passing.waits) >= http.DEFAULT_THROTTLE_PAUSE.total_seconds()  # QuickBooks' pause, not a quick retry


def test_a_batch_that_keeps_failing_is_sent_a_bounded_number_of_times_then_its_orders_retry_on_their_own(
    qbo_connected, pending, settings
):
    settings.QBO_BULK_RETRY_DELAYS = (0, 0, 0)
    # The first invoice batch fails on every one of its 4 tries.
    qbo_connected.add_fault("503", method="POST", path="/batch$", body=INVOICE_BATCH, count=4)

    bulk = _push()

    assert (bulk.state, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 31, 0, 30)
    assert sorted(len(s) for s in _sends_by_request_id(qbo_connected).values()) == [1, 1, 1, 4]
    handed_back = QboSyncJob.objects.filter(bulk_push=bulk, state="pending")
    assert handed_back.count() == 30 and all(job.in_doubt for job in handed_back)


class FailNth:
    """Makes the n-th Accounting API request of a push fail with `kind` (any request: query or batch, any phase)."""

    def __init__(self, emu, n: int, kind: str):
        self.emu, self.handle, self.n, self.kind, self.seen = emu, emu.handle, n, kind, 0

    def __call__(self, method, path, headers=None, body=b""):
        if path.startswith("/v3/company/"):
            self.seen += 1
            if self.seen == self.n:
                self.emu.add_fault(self.kind, count=1)
        return self.handle(method, path, headers, body)


@pytest.mark.parametrize("kind", ["503", "429", "drop"])
@pytest.mark.parametrize("n", range(1, 9))  # a clean push of these 61 drafts sends 8 requests
def test_a_hiccup_on_any_request_of_a_push_is_ridden_out(qbo_connected, pending, monkeypatch, n, kind):
    monkeypatch.setattr(qbo_connected, "handle", FailNth(qbo_connected, n, kind))

    bulk = _push(Pacer(sleep=PassingTime()))

    assert (bulk.state, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 61, 0, 0), bulk.message
    assert _invoices_per_number(qbo_connected) == {o.number: 1 for o in pending}
    assert qbo_connected.count_requests(path="/v3/company/") == 9  # the 8, one of them twice


@pytest.mark.parametrize("kind", ["503", "429", "drop"])
@pytest.mark.parametrize("n", range(1, 4))  # an update push of 35 changed orders: one read, two batches
def test_a_hiccup_on_any_request_of_an_update_push_is_ridden_out(
    qbo_connected, pending, staff_user, monkeypatch, n, kind
):
    call_command("push_pending")
    for order in pending[:35]:
        order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)
    qbo_connected.clear_requests()
    monkeypatch.setattr(qbo_connected, "handle", FailNth(qbo_connected, n, kind))

    bulk = _push(Pacer(sleep=PassingTime()))

    assert (bulk.state, bulk.succeeded, bulk.failed, bulk.retrying) == ("done", 35, 0, 0), bulk.message
    assert sum(1 for i in entities(qbo_connected, "Invoice") if i.get("PrivateNote") == "re-weighed") == 35
    assert qbo_connected.count_requests(path="/v3/company/") == 4


def test_a_stalled_push_taken_over_by_another_worker_stops_before_its_next_batch(qbo_connected, pending, monkeypatch):
    bulk = BulkPush.objects.create(total=61)
    handle = qbo_connected.handle

    def taken_over_during_the_look_up(method, path, headers=None, body=b""):
        answer = handle(method, path, headers, body)
        if "DocNumber" in (body.decode() if isinstance(body, bytes) else body or ""):
            BulkPush.objects.filter(pk=bulk.pk).update(lease="another-worker")  # it looked dead and was resumed
        return answer

    monkeypatch.setattr(qbo_connected, "handle", taken_over_during_the_look_up)

    stopped = bulk_push_run(bulk_id=bulk.pk)

    assert (stopped.state, stopped.lease, stopped.succeeded) == ("running", "another-worker", 0)
    assert not entities(qbo_connected, "Invoice")  # no invoice batch was sent by the worker that lost the push
    assert QboSyncJob.objects.filter(bulk_push=bulk, state="running").count() == 61  # left to the new owner
