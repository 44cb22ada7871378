"""NUL (U+0000) and lone surrogates (JSON's "\\ud800") from outside never reach the database: PostgreSQL stores
neither in jsonb (nor NUL in text), so one of them used to turn a signed webhook into a 500 (and stall
QuickBooks' in-order delivery). Ids carrying them (or any control character) are refused; elsewhere in the JSON
Kadouri keeps — webhook payloads, QuickBooks documents — they are removed; API bodies with them are refused.
Run this file on PostgreSQL too (DATABASE_URL=postgres://…).
"""

from __future__ import annotations

import json

import pytest

from kadouri.text import has_unstorable
from qbo_integration.models import QboWebhookCounter, QboWebhookEvent
from qbo_integration.testing import REALM_ID
from qbo_integration.tests.inbound_support import (  # fixtures: posted, webhooks
    cloudevent,
    legacy_body,
    legacy_entity,
    post_webhook,
    posted,
    webhooks,
)

pytestmark = pytest.mark.django_db

NUL = "\x00"


def stored_json_columns() -> list:
    """Every JSON value Kadouri stored, read back from the database."""
    values = []
    for event in QboWebhookEvent.objects.all():
        values += [event.raw, event.invoice_ids, event.result, event.dedupe_key, event.entity_id]
    return values


def deliver(client, capture, body: bytes | str):
    with capture(execute=True):
        return post_webhook(client, body)


@pytest.mark.parametrize("where", ["entity id", "realmId", "entity name", "operation"])
def test_a_signed_legacy_delivery_with_nul_in_an_id_is_refused_with_400(
    client, qbo_connected, where, django_capture_on_commit_callbacks
):
    entity = legacy_entity("Invoice", "12")
    notification = {"realmId": REALM_ID, "dataChangeEvent": {"entities": [entity]}}
    if where == "realmId":
        notification["realmId"] = REALM_ID + NUL
    else:
        entity[{"entity id": "id", "entity name": "name", "operation": "operation"}[where]] += NUL
    body = json.dumps({"eventNotifications": [notification]})

    response = deliver(client, django_capture_on_commit_callbacks, body)

    assert response.status_code == 400
    assert not QboWebhookEvent.objects.exists()
    assert QboWebhookCounter.objects.get(name="malformed").count == 1


def test_a_signed_cloudevent_with_nul_in_its_entity_id_is_refused_with_400(
    client, qbo_connected, django_capture_on_commit_callbacks
):
    body = json.dumps([cloudevent("Invoice", "12" + NUL, event_id="ce-nul-id")])
    assert deliver(client, django_capture_on_commit_callbacks, body).status_code == 400
    assert not QboWebhookEvent.objects.exists()


def test_nul_in_an_extra_field_or_the_cloudevent_data_is_removed_and_the_event_processed(
    client, posted, webhooks, django_capture_on_commit_callbacks
):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    earlier = set(QboWebhookEvent.objects.values_list("pk", flat=True))
    legacy = legacy_body(
        legacy_entity(
            "Invoice",
            posted.qbo_doc_id,
            "Update",
            "2026-11-02T10:00:00.000Z" + NUL,
            note="a\x00b",
            **{"x\x00y": ["\x00"]},
        )
    )
    cloud = json.dumps(
        [
            cloudevent(
                "Invoice",
                posted.qbo_doc_id,
                event_id="ce-nul-data",
                data={"deletedId": NUL, "nested": {"k": "v" + NUL}},
            )
        ]
    )

    first = deliver(client, django_capture_on_commit_callbacks, legacy)
    second = deliver(client, django_capture_on_commit_callbacks, cloud)

    assert (first.status_code, second.status_code) == (200, 200), (first.content, second.content)
    assert first.json()["stored"] == 1 and second.json()["stored"] == 1
    events = list(QboWebhookEvent.objects.exclude(pk__in=earlier))
    assert len(events) == 2 and {e.status for e in events} == {"done"}  # the inbox went on
    assert not any(has_unstorable(value) for value in stored_json_columns())
    legacy_event = next(e for e in events if e.source == "legacy")
    assert legacy_event.raw["note"] == "ab" and legacy_event.raw["xy"] == [""]
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_a_lone_surrogate_is_refused_in_an_id_and_removed_elsewhere(
    client, posted, webhooks, django_capture_on_commit_callbacks
):
    in_id = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id)).replace(
        f'"id": "{posted.qbo_doc_id}"'.encode(), f'"id": "{posted.qbo_doc_id}\\ud800"'.encode()
    )
    elsewhere = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id, note="LONE")).replace(b"LONE", b"a\\udfffb")
    earlier = set(QboWebhookEvent.objects.values_list("pk", flat=True))

    refused = deliver(client, django_capture_on_commit_callbacks, in_id)
    stored = deliver(client, django_capture_on_commit_callbacks, elsewhere)

    assert (refused.status_code, stored.status_code) == (400, 200), (refused.content, stored.content)
    event = QboWebhookEvent.objects.exclude(pk__in=earlier).get()
    assert event.raw["note"] == "ab" and event.status == "done"


def test_the_inbox_goes_on_after_a_refused_nul_delivery(client, posted, webhooks, django_capture_on_commit_callbacks):
    bad = legacy_body(legacy_entity("Invoice", posted.qbo_doc_id + NUL))
    assert deliver(client, django_capture_on_commit_callbacks, bad).status_code == 400

    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert posted.status == "paid"


def test_a_quickbooks_name_with_nul_is_stored_without_it(posted, webhooks):
    buyer = posted.buyer
    webhooks.emu.rename_customer(REALM_ID, buyer.qbo_customer_id, "Harbor\x00 Fresh West")

    webhooks.flush()

    buyer.refresh_from_db()
    assert buyer.name == "Harbor Fresh West"
    assert QboWebhookEvent.objects.filter(entity="Customer").exclude(status="done").count() == 0
    assert not any(has_unstorable(value) for value in stored_json_columns())


@pytest.mark.parametrize(
    "body",
    [
        {"notes": "a\x00b", "version": 1},
        {"notes\x00": "x", "version": 1},
        {"terms": "net_30", "version": 1, "extra": ["\x00"]},
    ],
    ids=["value", "key", "nested"],
)
def test_an_api_body_with_nul_anywhere_is_refused(staff_client, order_factory, body):
    order = order_factory()
    before = (order.version, order.notes)

    response = staff_client.patch(f"/api/orders/{order.pk}", json.dumps(body), content_type="application/json")

    assert response.status_code == 400 and "NUL" in response.json()["error"]
    order.refresh_from_db()
    assert (order.version, order.notes) == before


def test_the_sync_api_refuses_nul_in_its_body(staff_client, qbo_connected, order_factory):
    order = order_factory()
    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}",
        json.dumps({"docType": "invoice\x00"}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    order.refresh_from_db()
    assert not order.qbo_doc_id
