"""The JSON API: activities feed, 401/404/409/400 answers, PATCH and DELETE rules."""

import json
from datetime import datetime

import pytest
from django.test import Client

from orders.models import Order, OrderActivity
from orders.services import order_update

pytestmark = pytest.mark.django_db

S = Order.Status


def _patch(client, order_id, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.patch(f"/api/orders/{order_id}", data, content_type="application/json", **extra)


def _row(order_id):
    order = Order.objects.get(pk=order_id)
    return (order.notes, order.terms, order.commission_rate, order.version, order.activities.count())


# --- activities ---------------------------------------------------------------------------


def test_it_lists_activities_with_the_spec_fields(staff_client, staff_user, order_factory):
    order = order_factory()
    order_update(order_id=order.pk, fields={"notes": "n"}, lines=None, by=staff_user, ip="203.0.113.5")
    response = staff_client.get(f"/api/orders/{order.pk}/activities")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["X-Total-Count"] == "2"
    edited, created = response.json()  # a plain list, newest first
    assert {"orderId", "userName", "activityType", "description", "ipAddress", "createdAt"} <= set(edited)
    assert edited["orderId"] == order.pk
    assert edited["userName"] == "Sam Staff"
    assert edited["userId"] == staff_user.pk
    assert edited["activityType"] == "order_edited"
    assert edited["ipAddress"] == "203.0.113.5"
    assert edited["details"]["changes"]["notes"] == ["—", "n"]
    assert edited["description"].startswith(f"Order {order.number} edited by Sam Staff")
    assert datetime.fromisoformat(edited["createdAt"]).tzinfo is not None
    assert created["activityType"] == "order_created" and created["ipAddress"] is None


def test_it_lists_no_activities_of_other_orders(staff_client, order_factory):
    first, second = order_factory(), order_factory()
    body = staff_client.get(f"/api/orders/{first.pk}/activities").json()
    assert {a["orderId"] for a in body} == {first.pk}
    assert len(body) == 1 and second.pk != first.pk


def test_it_limits_the_activity_list(staff_client, staff_user, order_factory):
    order = order_factory()
    order_update(order_id=order.pk, fields={"notes": "n"}, lines=None, by=staff_user)

    newest = staff_client.get(f"/api/orders/{order.pk}/activities", {"limit": "1"})
    refused = staff_client.get(f"/api/orders/{order.pk}/activities", {"limit": "0"})
    superscript = staff_client.get(f"/api/orders/{order.pk}/activities", {"limit": "²"})

    assert [a["activityType"] for a in newest.json()] == ["order_edited"]
    assert newest["X-Total-Count"] == "2"
    assert refused.status_code == 400 and "limit" in refused.json()["error"]
    assert superscript.status_code == 400  # "²".isdigit() is true, int("²") is not


def test_it_answers_404_json_for_unknown_orders(staff_client):
    for url in ["/api/orders/999999/activities", "/api/orders/999999", "/api/orders/99999999999999999999999"]:
        response = staff_client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert "error" in response.json()
    assert _patch(staff_client, 999999, {"notes": "x"}).status_code == 404
    assert staff_client.delete("/api/orders/999999").status_code == 404


def test_it_answers_404_json_for_unknown_api_urls(staff_client):
    response = staff_client.get("/api/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Not found."}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("suffix", ["", "/activities"])
def test_it_answers_401_json_when_not_logged_in(client, order_factory, method, suffix):
    order = order_factory()
    response = getattr(client, method)(f"/api/orders/{order.pk}{suffix}", content_type="application/json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Authentication required: log in first."}
    assert "Location" not in response
    assert Order.objects.filter(pk=order.pk).exists()


def test_it_answers_401_even_for_unknown_orders(client):
    assert client.get("/api/orders/999999/activities").status_code == 401


def test_it_refuses_other_methods(staff_client, order_factory):
    order = order_factory()
    assert staff_client.post(f"/api/orders/{order.pk}/activities").status_code == 405
    assert staff_client.put(f"/api/orders/{order.pk}").status_code == 405


# --- GET / PATCH / DELETE -----------------------------------------------------------------


def test_it_returns_the_order_with_derived_money(staff_client, order_factory):
    order = order_factory()
    body = staff_client.get(f"/api/orders/{order.pk}").json()
    assert (body["subtotal"], body["commissionAmount"], body["total"]) == ("472.00", "23.60", "472.00")
    assert body["status"] == "draft" and body["version"] == order.version
    assert [line["amount"] for line in body["lines"]] == ["325.00", "147.00"]


@pytest.mark.parametrize("status", [S.DRAFT, S.POSTED_TO_QB])
def test_it_patches_editable_orders(staff_client, staff_user, order_factory, status):
    order = order_factory(status=status)
    response = _patch(
        staff_client,
        order.pk,
        {"notes": "via API", "terms": "net_60", "commission_rate": "7.5", "version": order.version},
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["notes"], body["terms"], body["commissionRate"], body["commissionAmount"]) == (
        "via API",
        "net_60",
        "7.50",
        "35.40",
    )
    assert body["changedSinceLastSync"] is (status == S.POSTED_TO_QB)
    activity = Order.objects.get(pk=order.pk).activities.filter(activity_type="order_edited").get()
    assert (activity.user, activity.ip_address) == (staff_user, "192.0.2.44")


@pytest.mark.parametrize("status", [S.PAID, S.CANCELLED])
def test_it_refuses_patching_read_only_orders_with_409(staff_client, order_factory, status):
    order = order_factory(status=status)
    before = _row(order.pk)
    response = _patch(staff_client, order.pk, {"notes": "nope"})
    assert response.status_code == 409
    assert "read-only" in response.json()["error"]
    assert _row(order.pk) == before


@pytest.mark.parametrize("status", [S.POSTED_TO_QB, S.PAID])
def test_it_refuses_deleting_posted_and_paid_orders_with_409(staff_client, order_factory, status):
    order = order_factory(status=status)
    response = staff_client.delete(f"/api/orders/{order.pk}")
    assert response.status_code == 409
    assert set(response.json()) == {"error"} and "cannot be deleted" in response.json()["error"]
    assert Order.objects.filter(pk=order.pk).exists()


@pytest.mark.parametrize("status", [S.DRAFT, S.CANCELLED])
def test_it_deletes_draft_and_cancelled_orders(staff_client, order_factory, status):
    order = order_factory(status=status)
    response = staff_client.delete(f"/api/orders/{order.pk}")
    assert response.status_code == 200 and response.json() == {"deleted": order.number}
    assert not Order.objects.filter(pk=order.pk).exists()


def test_it_refuses_a_stale_version_with_409(staff_client, admin_user, order_factory):
    order = order_factory()
    order_update(order_id=order.pk, fields={"notes": "Ada"}, lines=None, by=admin_user)
    before = _row(order.pk)
    response = _patch(staff_client, order.pk, {"notes": "Sam", "version": order.version})
    assert response.status_code == 409
    assert "changed by Ada Admin at" in response.json()["error"]
    assert _row(order.pk) == before


@pytest.mark.parametrize(
    "body,message",
    [
        ("{not json", "must be JSON"),
        (b"\xff\xfe", "must be JSON"),
        ("[1, 2]", "JSON object"),
        ('"notes"', "JSON object"),
        ({"notes": 5}, "notes must be a string"),
        ({"notes": "x" * 10_001}, "notes must be a string"),
        ({"terms": "net_45"}, "terms must be one of"),
        ({"terms": None}, "terms must be one of"),
        ({"order_date": "2026-13-01"}, "order_date must be a date"),
        ({"order_date": 5}, "order_date must be a date"),
        ({"commission_rate": "abc"}, "commission_rate must be a number"),
        ({"commission_rate": [5]}, "commission_rate must be a number"),
        ({"commission_rate": "NaN"}, "between 0 and 100"),
        ({"commission_rate": 101}, "between 0 and 100"),
        ({"commission_rate": -1}, "between 0 and 100"),
        ({"ready_to_push": "yes"}, "ready_to_push must be true or false"),
        ({"version": "3"}, "version must be an integer"),
        ({"version": True}, "version must be an integer"),
        ({"status": "paid"}, "Unknown or read-only field(s): status"),
        ({"number": "X", "qbo_doc_id": "1"}, "Unknown or read-only field(s): number, qbo_doc_id"),
    ],
)
def test_it_answers_400_json_for_bad_bodies(staff_client, order_factory, body, message):
    order = order_factory()
    before = _row(order.pk)
    response = _patch(staff_client, order.pk, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert _row(order.pk) == before


def test_it_refuses_api_writes_without_a_csrf_token(staff_user, order_factory):
    order = order_factory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    before = _row(order.pk)
    response = _patch(client, order.pk, {"notes": "csrf"})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert client.delete(f"/api/orders/{order.pk}").status_code == 403
    assert _row(order.pk) == before and OrderActivity.objects.filter(order=order).count() == 1


def test_it_takes_patch_fields_in_the_names_get_answers_with(staff_client, order_factory):
    order = order_factory()

    response = _patch(staff_client, order.pk, {"commissionRate": "6", "readyToPush": True, "version": order.version})

    assert response.status_code == 200
    assert (response.json()["commissionRate"], Order.objects.get(pk=order.pk).ready_to_push) == ("6.00", True)


def test_it_requires_the_version_to_patch_an_editable_order(staff_client, order_factory):
    order = order_factory()
    before = _row(order.pk)

    response = _patch(staff_client, order.pk, {"notes": "no version"})

    assert response.status_code == 400 and "version is required" in response.json()["error"]
    assert _row(order.pk) == before
