"""Helpers for the inbound tests: an order with a real invoice in the emulator, and the emulator's webhooks
delivered to Kadouri's endpoint through Django's test client (signed by the emulator itself)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from orders.models import Order
from qbo_integration.inbound import intake
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID

WEBHOOK = "/api/quickbooks/webhook"


def invoiced(order: Order, *, by=None, doc_type: str = "invoice") -> Order:
    """Pushes the order to the emulator with the outbound sync service; returns it refreshed."""
    job = order_push_request(order=order, doc_type=doc_type, by=by)
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    assert order.qbo_doc_id
    return order


def post_webhook(
    client,
    body: bytes | str,
    *,
    signature: str | None = "sign",
    content_type="application/json",
    token: str | None = None,
):
    """One delivery; `signature="sign"` signs the body with the configured verifier token."""
    raw = body.encode() if isinstance(body, str) else body
    headers = {}
    if signature == "sign":
        headers["intuit-signature"] = intake.sign(raw, token or settings.QBO_WEBHOOK_VERIFIER_TOKEN)
    elif signature is not None:
        headers["intuit-signature"] = signature
    return client.generic("POST", WEBHOOK, raw, content_type=content_type, headers=headers)


def legacy_body(*entities: dict, realm: str = REALM_ID) -> bytes:
    return json.dumps(
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": list(entities)}}]}
    ).encode()


def legacy_entity(
    name: str, entity_id: str, operation: str = "Update", last_updated="2026-11-02T10:00:00.000Z", **extra
):
    return {"name": name, "id": str(entity_id), "operation": operation, "lastUpdated": last_updated, **extra}


def cloudevent(
    entity: str,
    entity_id: str,
    verb: str = "updated",
    *,
    event_id: str,
    realm: str = REALM_ID,
    time: str = "2026-11-02T10:00:00.000Z",
    data: dict | None = None,
) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "intuit.test",
        "type": f"qbo.{entity.lower()}.{verb}.v1",
        "datacontenttype": "application/json",
        "time": time,
        "intuitentityid": str(entity_id),
        "intuitaccountid": realm,
        "data": data or {},
    }


class DjangoDeliverer:
    """The emulator's webhook sender, pointed at Django's test client; on_commit callbacks run, as they
    would after the request's commit in production (the inbox task then runs inline: Q_SYNC)."""

    def __init__(self, client, capture) -> None:
        self.client, self.capture, self.statuses = client, capture, []

    def __call__(self, url: str, body: bytes, headers: dict) -> int:
        with self.capture(execute=True):
            response = self.client.generic(
                "POST",
                WEBHOOK,
                body,
                content_type=headers.get("Content-Type", ""),
                headers={"intuit-signature": headers.get("intuit-signature", "")},
            )
        self.statuses.append(response.status_code)
        return response.status_code


@pytest.fixture
def webhooks(qbo_connected, client, django_capture_on_commit_callbacks):
    """The emulator delivers its webhooks (legacy format unless reconfigured) to Kadouri; call
    `webhooks.flush()` after bookkeeper actions."""
    emu = qbo_connected
    deliverer = DjangoDeliverer(client, django_capture_on_commit_callbacks)
    emu.configure_webhooks(
        url="http://testserver" + WEBHOOK, verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN, format="legacy"
    )
    emu.webhooks.deliver = deliverer

    class Hooks:
        def flush(self):
            return emu.flush_webhooks(force=True)

        statuses = deliverer.statuses

    Hooks.emu = emu
    return Hooks()


def entities(emu, entity: str, realm: str = REALM_ID) -> list[dict]:
    return emu.dump(realm)["entities"][entity]


@pytest.fixture
def posted(webhooks, order_factory, staff_user):
    """An order with its invoice in QuickBooks, the creation's own webhooks (echoes) already delivered."""
    order = invoiced(order_factory(), by=staff_user)
    webhooks.flush()
    return order
