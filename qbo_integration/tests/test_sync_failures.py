"""Each failure class, injected at the emulator: throttling, 5xx, stale SyncToken, duplicates, reconnect."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from kadouri.display import when
from orders.models import OrderActivity
from orders.services import order_update
from qbo_integration import tasks
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.client import errors
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.outbound.requests import enqueue_order_job
from qbo_integration.outbox.jobs import claim
from qbo_integration.testing import REALM_ID

from .conftest import entities

pytestmark = pytest.mark.django_db


def push(client, order, method="POST"):
    return getattr(client, method.lower())(
        f"/api/quickbooks/sync/order/{order.pk}",
        data=json.dumps({"docType": "invoice"}),
        content_type="application/json",
    )


def make_due(job: QboSyncJob) -> None:
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    QboConnection.objects.update(paused_until=None)


def test_it_pauses_the_company_on_429_and_queues_the_job_until_then(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("429", method="POST", path="/invoice$")

    response = push(staff_client, order)

    assert response.status_code == 202
    body = response.json()
    job = QboSyncJob.objects.get(pk=body["job"]["id"])
    conn = QboConnection.objects.get()
    assert conn.paused_until and job.not_before >= conn.paused_until - timedelta(seconds=1)
    assert (job.state, job.error_code, job.attempts) == ("pending", "3001", 1)
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1  # no hammering inside the request
    queued = order.activities.get(activity_type=OrderActivity.Type.SYNC_QUEUED)
    assert "retrying at" in queued.description and queued.details["code"] == "3001"
    assert "queued — retrying at" in staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert Schedule.objects.filter(func="qbo_integration.tasks.qbo_run_job", args=str(job.pk)).exists()

    # While paused, nothing is sent at all.
    assert tasks.qbo_drain_due_jobs() == 0
    make_due(job)
    assert tasks.qbo_drain_due_jobs() == 1

    job.refresh_from_db()
    order.refresh_from_db()
    assert (job.state, order.status) == ("done", "posted_to_qb")
    assert len(entities(qbo_connected, "Invoice")) == 1


@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_click_tries_once_and_the_worker_retries_5xx_with_the_same_request_id(
    staff_client, qbo_connected, order_factory, kind
):
    order = order_factory()
    qbo_connected.add_fault(kind, method="POST", path="/invoice$", count=2)

    response = push(staff_client, order)

    assert response.status_code == 202 and "retrying at" in response.json()["message"]
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1  # one try, no retry in the request
    job = QboSyncJob.objects.get()
    states = []
    for _ in range(2):  # the worker's tries, each when the job is due
        make_due(job)
        tasks.qbo_run_job(job.pk)
        job.refresh_from_db()
        states.append(job.state)
    assert states == ["pending", "done"]
    assert len(entities(qbo_connected, "Invoice")) == 1
    requests = qbo_connected.requests(method="POST", subpath="invoice")
    assert [r["status"] for r in requests] == [int(kind), int(kind), 200]
    assert len({r["params"]["requestid"] for r in requests}) == 1  # the same requestid on every retry


@pytest.mark.parametrize("kind", ["500", "503"])
def test_it_queues_with_backoff_when_5xx_lasts_and_shows_the_retry_time(
    staff_client, qbo_connected, order_factory, kind
):
    order = order_factory()
    qbo_connected.add_fault(kind, method="POST", path="/invoice$", count=3)

    response = push(staff_client, order)

    assert response.status_code == 202 and "retrying at" in response.json()["message"]
    job = QboSyncJob.objects.get()
    assert job.state == "pending" and job.in_doubt
    assert timedelta(seconds=25) < job.not_before - timezone.now() <= timedelta(seconds=31)
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert f"queued — retrying at {when(job.not_before)}" in html  # the app's one time style

    states = []
    for _ in range(3):  # the worker's tries: the 5xx lasts two more, then QuickBooks answers
        make_due(job)
        tasks.qbo_run_job(job.pk)
        job.refresh_from_db()
        states.append(job.state)

    assert states == ["pending", "pending", "done"] and len(entities(qbo_connected, "Invoice")) == 1
    # The retry looked for the DocNumber before creating (the 5xx could have hidden a committed write).
    assert any(
        "DocNumber" in json.dumps(r["params"]) or r["subpath"] == "query" for r in qbo_connected.requests(method="POST")
    )


def test_it_gives_up_after_the_bounded_number_of_attempts(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("503", method="POST", path="/invoice$", count=100)
    push(staff_client, order)
    job = QboSyncJob.objects.get()
    QboSyncJob.objects.filter(pk=job.pk).update(max_attempts=3)
    delays = []
    for _ in range(5):
        job.refresh_from_db()
        if job.state != "pending":
            break
        delays.append(job.not_before - timezone.now())
        make_due(job)
        tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 3)
    assert delays[1] > delays[0]  # exponential backoff
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert "Gave up after 3 attempts" in failed.description
    assert push(staff_client, order).status_code == 202  # a new try is a new job with a new requestid
    assert QboSyncJob.objects.count() == 2


class ChangedBehindOurBack:
    """A bookkeeper edits the invoice in QuickBooks right after Kadouri reads it (`times` times)."""

    def __init__(self, emu, times):
        self.emu, self.times, self.handle = emu, times, emu.handle

    def __call__(self, method, path, headers=None, body=b""):
        answer = self.handle(method, path, headers, body)
        if method == "GET" and "/invoice/" in path and self.times:
            self.times -= 1
            invoice_id = path.split("/invoice/")[1].split("?")[0]
            self.emu.record_payment(REALM_ID, invoice_id, 1)  # bumps the SyncToken
        return answer


def test_it_rereads_and_reapplies_once_after_a_stale_sync_token(
    staff_client, qbo_connected, order_factory, monkeypatch
):
    order = order_factory(notes="first")
    push(staff_client, order)
    order_update(order_id=order.pk, fields={"notes": "second"}, lines=None, by=None)  # something to update
    monkeypatch.setattr(qbo_connected, "handle", ChangedBehindOurBack(qbo_connected, times=1))

    response = push(staff_client, order, "PUT")

    assert response.status_code == 200
    writes = [r for r in qbo_connected.requests(method="POST", subpath="invoice")][1:]
    assert [r["status"] for r in writes] == [400, 200]  # 5010, then the re-applied update
    assert qbo_connected.count_requests(method="GET", path="/invoice/") == 2


def test_it_reports_a_second_stale_sync_token(staff_client, qbo_connected, order_factory, monkeypatch):
    order = order_factory()
    push(staff_client, order)
    order_update(order_id=order.pk, fields={"notes": "second"}, lines=None, by=None)  # something to update
    monkeypatch.setattr(qbo_connected, "handle", ChangedBehindOurBack(qbo_connected, times=2))

    response = push(staff_client, order, "PUT")

    assert response.status_code == 502 and response.json()["code"] == "5010"
    assert "changed in QuickBooks" in response.json()["error"]
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert failed.details["code"] == "5010" and failed.details["kind"] == "stale"


def test_it_reports_a_duplicate_name_with_the_fix(staff_client, qbo_connected, order_factory, apples):
    from quickbooks.objects.item import Item

    from qbo_integration.emulator.testing import make_quickbooks

    item = Item()
    item.Name, item.Type, item.IncomeAccountRef = "Gala Apples", "Service", {"value": "1"}
    item = item.save(qb=make_quickbooks(qbo_connected, REALM_ID))
    qbo_connected.set_item_active(REALM_ID, item.Id, False)  # inactive: invisible to look-ups, still taken
    order = order_factory()

    response = push(staff_client, order)

    # The company rule (Settings → QuickBooks → Company rules) refuses inactive items by default: 422, in plain
    # words (qbo_integration/tests/test_shared_names.py has the rest).
    assert response.status_code == 422
    error = response.json()["error"]
    assert "“Gala Apples” is an inactive product or service in QuickBooks. Make it active there" in error
    assert entities(qbo_connected, "Invoice") == []
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert failed.details["kind"] == "company_rule" and "Make it active there" in failed.description
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "Last QuickBooks attempt failed: “Gala Apples” is an inactive product" in html


def test_it_reports_a_refusal_in_plain_words(staff_client, qbo_connected, order_factory, buyer):
    order = order_factory()
    # The stored customer id points nowhere in QuickBooks (e.g. a restored database).
    type(buyer).objects.filter(pk=buyer.pk).update(qbo_customer_id="999", qbo_fingerprint="old", qbo_sync_token="0")

    response = push(staff_client, order)

    assert response.status_code == 502
    assert response.json()["code"] == "610" and "cannot find this record" in response.json()["error"]
    assert order.activities.get(activity_type="sync_failed").details["code"] == "610"
    assert entities(qbo_connected, "Invoice") == []


def test_it_stops_everything_when_quickbooks_needs_reconnecting(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("401", path="/v3/company/", count=10)

    response = push(staff_client, order)

    assert response.status_code == 503 and "reconnect" in response.json()["error"].lower()
    assert QboConnection.objects.get().state == "needs_reconnect"
    assert QboSyncJob.objects.get().error_kind == "auth"
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "QuickBooks needs to be reconnected" in html
    before = qbo_connected.count_requests()
    assert push(staff_client, order_factory()).status_code == 503
    assert qbo_connected.count_requests() == before  # nothing more is sent


def test_waiting_for_a_pause_does_not_use_up_the_jobs_attempts(staff_client, qbo_connected, order_factory):
    """Found by the soak: after one 429 every queued job hit the company's pause and lost an attempt each time,
    so a busy company made jobs fail for good although nothing was ever sent for them."""
    order = order_factory()
    QboConnection.objects.update(paused_until=timezone.now() + timedelta(minutes=5))

    for _ in range(12):  # more than max_attempts (8)
        assert push(staff_client, order).status_code == 202
        job = QboSyncJob.objects.get(order=order)
        QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
        tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert (job.state, job.attempts) == ("pending", 0)
    assert qbo_connected.count_requests(method="POST") == 0
    assert "QuickBooks paused this company" in order.activities.filter(activity_type="sync_queued").first().description
    make_due(job)
    tasks.qbo_drain_due_jobs()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 1)


class OddAnswer:
    """QuickBooks runs the write, then answers it with a shape nobody expects (once)."""

    def __init__(self, emu, subpath: str, answer: bytes = b'{"time": "2026-11-02T10:00:00.000-08:00"}'):
        self.emu, self.handle, self.subpath, self.answer, self.fired = emu, emu.handle, subpath, answer, False

    def __call__(self, method, path, headers=None, body=b""):
        status, response_headers, payload = self.handle(method, path, headers, body)
        if not self.fired and method == "POST" and path.split("?")[0].endswith(self.subpath):
            self.fired = True
            return 200, response_headers, self.answer
        return status, response_headers, payload


def test_it_queues_a_job_in_doubt_when_something_unexpected_breaks_instead_of_answering_500(
    staff_client, qbo_connected, order_factory, monkeypatch, caplog
):
    order = order_factory()
    monkeypatch.setattr(qbo_connected, "handle", OddAnswer(qbo_connected, "/invoice"))

    response = push(staff_client, order)

    assert response.status_code == 202
    job = QboSyncJob.objects.get()
    assert (job.state, job.in_doubt, job.error_kind) == ("pending", True, "transient")
    assert "unexpected error (KeyError)" in job.last_error
    assert "crashed" in caplog.text
    assert "unexpected error" in order.activities.get(activity_type=OrderActivity.Type.SYNC_QUEUED).description
    make_due(job)
    tasks.qbo_drain_due_jobs()
    job.refresh_from_db()
    assert job.state == "done"
    assert len(entities(qbo_connected, "Invoice")) == 1  # the retry adopted what the odd answer hid


class AuthFaultInBatch:
    """Every item of a batch that creates invoices answers an auth fault (code 3200), the way a batch reports
    a per-item authorization failure; nothing is created."""

    def __init__(self, emu):
        self.emu, self.handle = emu, emu.handle

    def __call__(self, method, path, headers=None, body=b""):
        text = body.decode() if isinstance(body, bytes) else (body or "")
        if path.split("?")[0].endswith("/batch") and '"operation": "create", "Invoice"' in text:
            items = json.loads(text)["BatchItemRequest"]
            fault = {
                "type": "AUTHENTICATION",
                "Error": [{"code": "3200", "Message": "message=ApplicationAuthenticationFailed"}],
            }
            answer = {"BatchItemResponse": [{"bId": item["bId"], "Fault": fault} for item in items]}
            return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
        return self.handle(method, path, headers, body)


def test_an_auth_fault_inside_a_batch_fails_the_jobs_instead_of_crashing_the_push(
    qbo_connected, order_factory, monkeypatch
):
    from qbo_integration.models import BulkPush

    orders = [order_factory(ready_to_push=True) for _ in range(2)]
    monkeypatch.setattr(qbo_connected, "handle", AuthFaultInBatch(qbo_connected))

    bulk = bulk_push_run(bulk_id=BulkPush.objects.create().pk)

    assert (bulk.state, bulk.succeeded, bulk.failed) == ("done", 0, 2)
    jobs = QboSyncJob.objects.filter(order__in=orders)
    assert {(j.state, j.error_kind, j.error_code) for j in jobs} == {("failed", "auth", "3200")}
    assert entities(qbo_connected, "Invoice") == []


def test_a_rejected_token_is_classified_as_an_auth_error_where_it_cannot_be_replayed():

    with pytest.raises(errors.TokenRejected):  # api_call refreshes the token and replays the request
        errors.classify(code="3200", status=401)
    error = errors.classify(code="3200", status=400, detail="Invoice #1: expired", token_rejected_as_auth=True)
    assert isinstance(error, errors.QboAuthError)
    assert (error.kind, error.code, error.status, error.message) == ("auth", "3200", 401, errors.RECONNECT_MESSAGE)


def test_a_bulk_push_that_crashes_ends_failed_and_queues_its_orders_again(qbo_connected, order_factory, monkeypatch):
    from qbo_integration.models import BulkPush

    orders = [order_factory(ready_to_push=True) for _ in range(2)]
    monkeypatch.setattr(qbo_connected, "handle", OddAnswer(qbo_connected, "/batch", b'{"BatchItemResponse": [null]}'))

    bulk = bulk_push_run(bulk_id=BulkPush.objects.create().pk)

    assert bulk.state == "failed" and "unexpected error (AttributeError)" in bulk.message
    jobs = QboSyncJob.objects.filter(order__in=orders)
    assert {(j.state, j.in_doubt) for j in jobs} == {("pending", True)}


def test_an_order_cannot_be_deleted_while_its_sync_is_queued(staff_client, qbo_connected, order_factory, staff_user):
    from orders.models import Order
    from orders.services import OrderError, order_delete

    order = order_factory()
    qbo_connected.add_fault("429", method="POST", path="/invoice$")
    assert push(staff_client, order).status_code == 202  # queued: the invoice may be created any moment

    with pytest.raises(OrderError, match="while QuickBooks is working on it"):
        order_delete(order_id=order.pk, by=staff_user)

    assert Order.objects.filter(pk=order.pk).exists()
    make_due(QboSyncJob.objects.get())
    tasks.qbo_drain_due_jobs()
    assert QboSyncJob.objects.get().state == "done"


def test_the_drain_is_scheduled_from_the_start_so_a_dead_workers_job_is_reclaimed(
    qbo_connected, order_factory, staff_user
):

    drain = Schedule.objects.get(func="qbo_integration.tasks.qbo_drain_due_jobs")  # no retry has ever happened
    assert (drain.schedule_type, drain.minutes, drain.repeats) == (Schedule.MINUTES, 1, -1)
    order = order_factory()
    job, _ = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    assert claim(job.pk)  # a worker took it and died before sending anything
    QboSyncJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - timedelta(hours=1))

    tasks.qbo_drain_due_jobs()  # what the schedule runs every minute

    job.refresh_from_db()
    assert job.state == "done" and len(entities(qbo_connected, "Invoice")) == 1


def test_a_queued_job_fails_plainly_when_quickbooks_was_disconnected_meanwhile(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()
    qbo_connected.add_fault("429", method="POST", path="/invoice$")
    assert push(staff_client, order).status_code == 202
    job = QboSyncJob.objects.get()
    make_due(job)
    QboConnection.objects.update(state=QboConnection.State.DISCONNECTED)

    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert (job.state, job.error_kind) == ("failed", "not_connected")
    assert (
        "QuickBooks is not connected" in order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED).description
    )


def test_an_error_before_anything_was_sent_fails_the_job_at_once_and_nothing_is_in_doubt(
    staff_client, qbo_connected, order_factory
):
    """An order dated 9999-12-31 from before the date rule: its due date cannot be computed. Nothing left for
    QuickBooks, so there is nothing to be in doubt about and no retry would help: the job fails at once, says
    why, and the draft can be deleted."""
    from datetime import date

    from orders.models import Order

    order = order_factory()
    Order.objects.filter(pk=order.pk).update(order_date=date(9999, 12, 31))  # stored before dates were checked

    response = push(staff_client, order)

    assert response.status_code == 409
    assert "nothing was sent" in response.json()["error"]
    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.in_doubt, job.attempts) == ("failed", False, 1)
    assert "OverflowError" in job.last_error
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert "nothing was sent" in failed.description
    assert not order.activities.filter(activity_type=OrderActivity.Type.SYNC_QUEUED).exists()
    deleted = staff_client.post(f"/orders/{order.pk}/delete/")
    assert deleted.status_code == 302 and not Order.objects.filter(pk=order.pk).exists()


def test_a_transient_error_before_the_document_was_sent_is_not_in_doubt(staff_client, qbo_connected, order_factory):
    """The DocNumber look-up (a read) keeps failing: the job waits for a retry, but no write left, so it is
    not in doubt."""
    order = order_factory()
    qbo_connected.add_fault("503", method="POST", path="/query$", count=10)

    response = push(staff_client, order)

    assert response.status_code == 202
    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.in_doubt) == ("pending", False)
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0


def test_a_throttled_create_is_not_in_doubt(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("429", method="POST", path="/invoice$")

    assert push(staff_client, order).status_code == 202

    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.in_doubt) == ("pending", False)  # QuickBooks refused it before doing anything
