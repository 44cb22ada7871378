"""POST /api/quickbooks/webhook: both formats, signatures, and the issue's list of bad input."""

import base64
import json

import django_q.conf
import pytest
from django.test import Client
from django_q.models import OrmQ

from qbo_integration.documents import reading
from qbo_integration.inbound import inbox, intake
from qbo_integration.models import QboWebhookCounter, QboWebhookEvent
from qbo_integration.testing import REALM_ID

from .inbound_support import (  # fixtures: invoiced, posted, webhooks
    WEBHOOK,
    cloudevent,
    invoiced,
    legacy_body,
    legacy_entity,
    post_webhook,
    posted,
    webhooks,
)

pytestmark = pytest.mark.django_db


def snapshot(order):
    order.refresh_from_db()
    return (order.status, order.payment_status, order.qbo_balance, order.qbo_sync_token, order.activities.count())


def counter(name):
    row = QboWebhookCounter.objects.filter(name=name).first()
    return row.count if row else 0


def test_it_accepts_a_signed_legacy_delivery_and_processes_it(
    client, posted, webhooks, django_capture_on_commit_callbacks
):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    body = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id, "Update", "2026-11-02T10:00:00-0700"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, body)

    assert response.status_code == 200 and response.json()["stored"] == 1
    event = QboWebhookEvent.objects.get(
        source="legacy",
        entity_id=posted.qbo_doc_id,
        entity="Invoice",
        dedupe_key__contains="2026-11-02T17:00:00.000+00:00",
    )
    assert event.status == "done"
    posted.refresh_from_db()
    assert posted.status == "paid"


@pytest.mark.parametrize(
    "content_type",
    ["application/cloudevents+json", "application/cloudevents-batch+json", "application/json", "text/plain"],
)
def test_it_accepts_a_cloudevents_batch_whatever_the_content_type(
    client, posted, webhooks, content_type, django_capture_on_commit_callbacks
):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    body = json.dumps(
        [
            cloudevent("Invoice", posted.qbo_doc_id, event_id="ce-1"),
            cloudevent("Employee", "9", "created", event_id="ce-2"),  # Kadouri follows no employee
        ]
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, body, content_type=content_type)

    assert response.status_code == 200 and response.json() == {"stored": 2, "duplicates": 0, "ignored": 1}
    assert QboWebhookEvent.objects.get(dedupe_key="ce:ce-1").status == "done"
    employee = QboWebhookEvent.objects.get(dedupe_key="ce:ce-2")
    assert (employee.status, employee.entity, employee.operation) == ("ignored", "Employee", "Create")
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_the_emulators_cloudevents_deliveries_work_end_to_end(webhooks, posted):
    webhooks.emu.configure_webhooks(format="cloudevents")
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    posted.refresh_from_db()
    assert posted.status == "paid"
    assert QboWebhookEvent.objects.filter(source="cloudevents", entity="Payment", operation="Create").exists()


def test_it_answers_fast_without_calling_quickbooks(
    client, posted, webhooks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(django_q.conf.Conf, "SYNC", False)  # a real worker would pick the task up
    webhooks.emu.clear_requests()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, legacy_body(legacy_entity("Invoice", posted.qbo_doc_id)))
    assert response.status_code == 200
    assert webhooks.emu.count_requests() == 0
    assert QboWebhookEvent.objects.get(dedupe_key__contains="2026-11-02T10:00:00").status == "pending"
    assert OrmQ.objects.count() == 1


def deliver(client, capture, invoice_id: str, second: int):
    body = legacy_body(legacy_entity("Invoice", invoice_id, last_updated=f"2026-11-02T10:00:{second:02d}.000Z"))
    with capture(execute=True):
        return post_webhook(client, body)


def test_a_burst_of_deliveries_queues_one_inbox_task(
    client, posted, webhooks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(django_q.conf.Conf, "SYNC", False)  # tasks wait in the queue, as for a busy worker
    statuses = [deliver(client, django_capture_on_commit_callbacks, posted.qbo_doc_id, n).status_code for n in range(3)]

    assert statuses == [200, 200, 200]
    assert OrmQ.objects.count() == 1  # the later deliveries found the first one's task on its way
    assert inbox.inbox_process_realm(realm_id=REALM_ID) == 3  # what that one task does
    burst = QboWebhookEvent.objects.filter(dedupe_key__contains="2026-11-02T10:00:")
    assert [e.status for e in burst] == ["done", "done", "done"]

    deliver(client, django_capture_on_commit_callbacks, posted.qbo_doc_id, 9)
    assert OrmQ.objects.count() == 2  # nothing was waiting any more: a task of its own


def test_a_delivery_during_the_workers_batch_is_taken_by_that_worker(
    client, posted, webhooks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(django_q.conf.Conf, "SYNC", False)
    deliver(client, django_capture_on_commit_callbacks, posted.qbo_doc_id, 0)
    handle, late = webhooks.emu.handle, []

    def answer_then_deliver(method, path_with_query, headers=None, body=b"", slot=None):
        answer = handle(method, path_with_query, headers, body, slot)
        if "/query" in path_with_query and not late:  # the worker has read its batch; another change arrives
            late.append(deliver(client, django_capture_on_commit_callbacks, posted.qbo_doc_id, 30).status_code)
        return answer

    monkeypatch.setattr(webhooks.emu, "handle", answer_then_deliver)

    assert inbox.inbox_process_realm(realm_id=REALM_ID) == 2

    assert late == [200] and OrmQ.objects.count() == 1  # no second task: the running one took it
    events = QboWebhookEvent.objects.filter(dedupe_key__contains="2026-11-02T10:00:").order_by("id")
    assert [e.status for e in events] == ["done", "done"] and not events[1].result.startswith("Covered by")


def test_it_needs_no_login_and_no_csrf_token(posted):
    response = post_webhook(Client(enforce_csrf_checks=True), legacy_body(legacy_entity("Invoice", posted.qbo_doc_id)))
    assert response.status_code == 200


def test_it_refuses_get(client):
    assert client.get(WEBHOOK).status_code == 405


def test_it_answers_503_when_the_verifier_token_is_not_configured(client, settings, posted):
    before, stored = snapshot(posted), QboWebhookEvent.objects.count()
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = ""
    response = post_webhook(client, legacy_body(legacy_entity("Invoice", posted.qbo_doc_id)), token="anything")
    assert response.status_code == 503
    assert QboWebhookEvent.objects.count() == stored and snapshot(posted) == before


FORGED = base64.b64encode(b"x" * 32).decode()


@pytest.mark.parametrize(
    "case, signature, counter_name",
    [
        ("missing", None, "missing_signature"),
        ("forged", FORGED, "bad_signature"),
        ("other body", intake.sign(b'{"eventNotifications": []}', "test-verifier-token-do-not-leak"), "bad_signature"),
        ("wrong token", "sign-with-wrong-token", "bad_signature"),
        ("not base64", "%%%", "bad_signature"),
    ],
)
def test_it_refuses_a_missing_or_wrong_signature_storing_only_a_counter(client, posted, case, signature, counter_name):
    before, stored = snapshot(posted), QboWebhookEvent.objects.count()
    body = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id, "Void"))
    if signature == "sign-with-wrong-token":
        signature = intake.sign(body, "not-the-token")
    response = post_webhook(client, body, signature=signature)
    assert response.status_code == 401
    assert QboWebhookEvent.objects.count() == stored and snapshot(posted) == before
    assert counter(counter_name) == 1


def test_an_empty_body_is_refused(client, posted):
    assert post_webhook(client, b"", signature=None).status_code == 401
    assert post_webhook(client, b"").status_code == 400  # signed, but not a delivery
    assert counter("malformed") == 1


def test_a_5mb_body_is_refused_before_it_is_read(client, posted):
    before, stored = snapshot(posted), QboWebhookEvent.objects.count()
    body = b'{"eventNotifications": [' + b" " * (5 * 1024 * 1024) + b"]}"
    response = post_webhook(client, body)
    assert response.status_code == 413
    assert QboWebhookEvent.objects.count() == stored and snapshot(posted) == before
    assert counter("too_large") == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b'{"foo": 1}',
        b"[1, 2]",
        b'"just a string"',
        b'{"eventNotifications": {"realmId": "1"}}',
        b'{"eventNotifications": [{"realmId": "9130350000000001", '
        b'"dataChangeEvent": {"entities": [{"name": "Invoice"}]}}]}',
        b'[{"specversion": "1.0", "id": "x", "type": "com.example.thing", '
        b'"intuitaccountid": "1", "intuitentityid": "2"}]',
        b'[{"specversion": "1.0", "id": "x", "type": "qbo.invoice.updated.v1", "intuitentityid": "2"}]',
    ],
)
def test_malformed_or_wrongly_shaped_json_is_refused_with_400(client, posted, body):
    before, stored = snapshot(posted), QboWebhookEvent.objects.count()
    assert post_webhook(client, body).status_code == 400
    assert QboWebhookEvent.objects.count() == stored and snapshot(posted) == before


def test_nothing_is_half_applied_when_one_event_of_a_batch_is_malformed(client, posted):
    stored = QboWebhookEvent.objects.count()
    body = json.dumps([cloudevent("Invoice", posted.qbo_doc_id, event_id="good"), {"id": "bad"}])
    assert post_webhook(client, body).status_code == 400
    assert QboWebhookEvent.objects.count() == stored


def test_unknown_entities_and_operations_are_stored_and_ignored(client, posted, django_capture_on_commit_callbacks):
    before = snapshot(posted)
    body = legacy_body(
        legacy_entity("Employee", "5", "Create"), legacy_entity("Invoice", posted.qbo_doc_id, "Teleport")
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, body)
    assert response.status_code == 200 and response.json()["ignored"] == 2
    assert set(
        QboWebhookEvent.objects.filter(dedupe_key__contains="2026-11-02T10:00:00").values_list("status", flat=True)
    ) == {"ignored"}
    assert snapshot(posted) == before


def test_ids_that_do_not_exist_in_quickbooks_change_nothing(client, posted, django_capture_on_commit_callbacks):
    before = snapshot(posted)
    body = legacy_body(
        legacy_entity("Invoice", "99999"),
        legacy_entity("Payment", "88888", "Create"),
        legacy_entity("Customer", "77777"),
        legacy_entity("Item", "66666"),
        legacy_entity("Estimate", "55555"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body).status_code == 200
    events = QboWebhookEvent.objects.filter(dedupe_key__contains="2026-11-02T10:00:00")
    assert events.count() == 5 and set(events.values_list("status", flat=True)) == {"ignored"}
    assert snapshot(posted) == before


def test_an_unknown_company_is_stored_ignored_and_logged(client, posted, caplog, django_capture_on_commit_callbacks):
    before = snapshot(posted)
    body = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id, "Void"), realm="4620816365000000000")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(client, body).status_code == 200
    event = QboWebhookEvent.objects.get(realm_id="4620816365000000000")
    assert event.status == "ignored" and "not connected" in event.result
    assert "not connected" in caplog.text
    assert snapshot(posted) == before


def test_a_replayed_old_delivery_changes_nothing(client, posted, webhooks):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    old = webhooks.emu.webhooks.delivered()[-1]
    before = snapshot(posted)

    response = client.generic(
        "POST",
        WEBHOOK,
        old["body"].encode(),
        content_type="application/json",
        headers={"intuit-signature": old["headers"]["intuit-signature"]},
    )

    assert response.status_code == 200 and response.json()["stored"] == 0 and response.json()["duplicates"] >= 1
    assert snapshot(posted) == before


def test_the_order_of_checks_never_reveals_more_than_it_should(client):
    # No connection, no order: a signed delivery for an unknown company is still a 200 and an ignored row.
    assert post_webhook(client, legacy_body(legacy_entity("Invoice", "1"))).status_code == 200
    assert QboWebhookEvent.objects.get().status == "ignored"


def test_parse_time_reads_intuits_timestamp_shapes():
    assert reading.parse_time("2015-10-05T14:42:19-0700").isoformat() == "2015-10-05T14:42:19-07:00"
    assert reading.parse_time("2025-09-10T21:31:25.179851517Z").isoformat() == "2025-09-10T21:31:25.179851+00:00"
    assert reading.parse_time("2026-11-02T10:00:00").isoformat() == "2026-11-02T10:00:00+00:00"
    assert reading.parse_time("yesterday") is None


def test_absurdly_deep_nesting_is_a_400_not_a_crash(client, posted):
    assert post_webhook(client, b"[" * 200_000 + b"]" * 200_000).status_code == 400
