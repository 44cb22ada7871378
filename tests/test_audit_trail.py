"""The audit trail is append-only for everyone, everywhere (issue 16, item 5).

Every append-only model (found by sweeping the installed models, so a new audit model is covered the day it
exists) is tried through every way in: the admin's "Delete selected", its delete and change pages, the
instance's save and delete, and queryset delete / update / bulk_update / update_or_create.
"""

import pytest
from django.contrib.admin.sites import site
from django.db import DatabaseError, connection, transaction

from kadouri.append_only import AppendOnlyError, append_only_models
from orders.models import Order, OrderActivity
from orders.services import order_activity_log
from qbo_integration.models import IntegrationLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_rows(order_factory, admin_user):
    """One row of every append-only model."""
    order = order_factory(status=Order.Status.POSTED_TO_QB)
    rows = {
        OrderActivity: order_activity_log(
            order=order,
            activity_type=OrderActivity.Type.SYNC_FAILED,
            description="Invoice update failed.",
            user=admin_user,
        ),
        IntegrationLog: IntegrationLog.objects.create(
            realm_id="123", event=IntegrationLog.Event.CONNECTED, message="Connected.", user=admin_user
        ),
    }
    assert set(rows) == set(append_only_models()), "a new append-only model needs a row in this fixture"
    return rows


def _snapshot(model) -> list[tuple]:
    return list(model._base_manager.order_by("pk").values_list())


def _admin_url(model, suffix: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


def test_the_sweep_knows_both_audit_models():
    assert {OrderActivity, IntegrationLog} <= set(append_only_models())


def test_the_admin_offers_no_way_to_delete_or_change_audit_rows(admin_client, audit_rows):
    for model, row in audit_rows.items():
        before = _snapshot(model)
        changelist = admin_client.get(_admin_url(model))
        assert changelist.status_code == 200
        assert "delete_selected" not in changelist.content.decode(), model
        assert model in site._registry and not site._registry[model].get_actions(changelist.wsgi_request), model
        # A crafted "Delete selected" post, confirmed.
        admin_client.post(_admin_url(model), {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
        assert admin_client.get(_admin_url(model, f"{row.pk}/delete/")).status_code == 403, model
        assert admin_client.post(_admin_url(model, f"{row.pk}/delete/"), {"post": "yes"}).status_code == 403, model
        change = admin_client.post(_admin_url(model, f"{row.pk}/change/"), {"message": "edited", "description": "x"})
        assert change.status_code == 403, model
        assert admin_client.get(_admin_url(model, "add/")).status_code == 403, model
        assert _snapshot(model) == before, model


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(lambda model, row: row.delete(), id="instance-delete"),
        pytest.param(lambda model, row: row.save(), id="instance-save"),
        pytest.param(lambda model, row: model.objects.filter(pk=row.pk).delete(), id="queryset-delete"),
        pytest.param(lambda model, row: model.objects.all().delete(), id="delete-all"),
        pytest.param(lambda model, row: model.objects.filter(pk=row.pk).update(created_at=None), id="queryset-update"),
        pytest.param(lambda model, row: model.objects.bulk_update([row], ["created_at"]), id="bulk-update"),
        pytest.param(lambda model, row: model.objects.update_or_create(pk=row.pk, defaults={}), id="update-or-create"),
        pytest.param(lambda model, row: model.objects.all()._raw_delete(model.objects.db), id="raw-delete"),
    ],
)
def test_the_models_refuse_every_change_and_delete(audit_rows, attempt):
    for model, row in audit_rows.items():
        before = _snapshot(model)
        with pytest.raises(AppendOnlyError):
            attempt(model, row)
        assert _snapshot(model) == before, model


def test_new_rows_are_still_written(audit_rows):
    order = audit_rows[OrderActivity].order
    before = order.activities.count()
    order_activity_log(order=order, activity_type=OrderActivity.Type.ORDER_EDITED, description="Edited.")
    assert order.activities.count() == before + 1


@pytest.mark.parametrize("status", [Order.Status.DRAFT, Order.Status.CANCELLED])
def test_deleting_an_order_keeps_its_activity_log_and_says_who_deleted_it(staff_client, order_factory, status):
    order = order_factory(status=status)
    number, written = order.number, list(order.activities.values_list("pk", "description"))
    assert staff_client.post(f"/orders/{order.pk}/delete/").status_code == 302
    assert not Order.objects.filter(pk=order.pk).exists()
    kept = OrderActivity.objects.filter(order_number=number)
    assert set(written) <= set(kept.values_list("pk", "description"))
    deleted = kept.get(activity_type=OrderActivity.Type.ORDER_DELETED)
    assert deleted.description.startswith(f"Order {number} (") and deleted.description.endswith("deleted by Sam Staff.")
    assert set(kept.values_list("order_id", flat=True)) == {None}


def test_deleting_a_draft_in_the_admin_keeps_its_activity_log(admin_client, order_factory):
    order = order_factory()
    number = order.number
    response = admin_client.post(f"/admin/orders/order/{order.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Order.objects.filter(pk=order.pk).exists()
    assert list(OrderActivity.objects.filter(order_number=number).values_list("activity_type", flat=True)) == [
        "order_deleted",
        "order_created",
    ]
    assert "deleted by Ada Admin" in OrderActivity.objects.get(activity_type="order_deleted").description


def test_the_admin_bulk_delete_of_orders_keeps_their_logs(admin_client, order_factory):
    orders = [order_factory(), order_factory(status=Order.Status.CANCELLED)]
    response = admin_client.post(
        "/admin/orders/order/", {"action": "delete_selected", "_selected_action": [o.pk for o in orders], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Order.objects.exists()
    assert OrderActivity.objects.filter(activity_type="order_deleted").count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET created_at = created_at + interval '1 day'",
        "DELETE FROM {table}",
    ],
)
def test_postgresql_itself_refuses_raw_changes(audit_rows, sql):
    for model in audit_rows:
        before = _snapshot(model)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.format(table=model._meta.db_table))
        assert _snapshot(model) == before
