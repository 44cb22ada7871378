"""Each failure class, injected at the emulator: throttling, 5xx, stale SyncToken, duplicates, reconnect."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from orders.models import OrderActivity
from qbo_integration import tasks
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.testing import REALM_ID

from .conftest import entities

pytestmark = pytest.mark.django_db


def push(client, order, method="POST"):
    return getattr(client, method.lower())(f"/api/quickbooks/sync/order/{order.pk}", data=json.dumps({"docType": "invoice"}),
                                           content_type="application/json")


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
def test_it_retries_5xx_inside_the_request_so_the_usual_case_answers_at_once(staff_client, qbo_connected, order_factory, kind):
    order = order_factory()
    qbo_connected.add_fault(kind, method="POST", path="/invoice$", count=2)

    response = push(staff_client, order)

    assert response.status_code == 200
    assert len(entities(qbo_connected, "Invoice")) == 1
    requests = qbo_connected.requests(method="POST", subpath="invoice")
    assert [r["status"] for r in requests] == [int(kind), int(kind), 200]
    assert len({r["params"]["requestid"] for r in requests}) == 1  # the same requestid on every retry


@pytest.mark.parametrize("kind", ["500", "503"])
def test_it_queues_with_backoff_when_5xx_lasts_and_shows_the_retry_time(staff_client, qbo_connected, order_factory, kind):
    order = order_factory()
    qbo_connected.add_fault(kind, method="POST", path="/invoice$", count=3)

    response = push(staff_client, order)

    assert response.status_code == 202 and "retrying at" in response.json()["message"]
    job = QboSyncJob.objects.get()
    assert job.state == "pending" and job.in_doubt
    assert timedelta(seconds=25) < job.not_before - timezone.now() <= timedelta(seconds=31)
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert f"queued — retrying at {timezone.localtime(job.not_before):%H:%M:%S}" in html

    make_due(job)
    tasks.qbo_run_job(job.pk)

    job.refresh_from_db()
    assert job.state == "done" and len(entities(qbo_connected, "Invoice")) == 1
    # The retry looked for the DocNumber before creating (the 5xx could have hidden a committed write).
    assert any("DocNumber" in json.dumps(r["params"]) or r["subpath"] == "query" for r in qbo_connected.requests(method="POST"))


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


def test_it_rereads_and_reapplies_once_after_a_stale_sync_token(staff_client, qbo_connected, order_factory, monkeypatch):
    order = order_factory(notes="first")
    push(staff_client, order)
    monkeypatch.setattr(qbo_connected, "handle", ChangedBehindOurBack(qbo_connected, times=1))

    response = push(staff_client, order, "PUT")

    assert response.status_code == 200
    writes = [r for r in qbo_connected.requests(method="POST", subpath="invoice")][1:]
    assert [r["status"] for r in writes] == [400, 200]  # 5010, then the re-applied update
    assert qbo_connected.count_requests(method="GET", path="/invoice/") == 2


def test_it_reports_a_second_stale_sync_token(staff_client, qbo_connected, order_factory, monkeypatch):
    order = order_factory()
    push(staff_client, order)
    monkeypatch.setattr(qbo_connected, "handle", ChangedBehindOurBack(qbo_connected, times=2))

    response = push(staff_client, order, "PUT")

    assert response.status_code == 502 and response.json()["code"] == "5010"
    assert "changed in QuickBooks" in response.json()["error"]
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert failed.details["code"] == "5010" and failed.details["kind"] == "stale"


def test_it_reports_a_duplicate_name_with_the_fix(staff_client, qbo_connected, order_factory, apples):
    from qbo_integration.emulator.testing import make_quickbooks
    from quickbooks.objects.item import Item

    item = Item()
    item.Name, item.Type, item.IncomeAccountRef = "Gala Apples", "Service", {"value": "1"}
    item = item.save(qb=make_quickbooks(qbo_connected, REALM_ID))
    qbo_connected.set_item_active(REALM_ID, item.Id, False)  # inactive: invisible to look-ups, still taken
    order = order_factory()

    response = push(staff_client, order)

    assert response.status_code == 502 and response.json()["code"] == "6240"
    error = response.json()["error"]
    assert "Gala Apples" in error and "Make it active in QuickBooks" in error and "rename the product" in error
    assert entities(qbo_connected, "Invoice") == []
    failed = order.activities.get(activity_type=OrderActivity.Type.SYNC_FAILED)
    assert failed.details["code"] == "6240" and "6240" in failed.description
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "Last QuickBooks attempt failed (error 6240)" in html


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
