"""CDC catch-up: dropped deliveries recovered, the watermark with overlap, the 30-day fallback, the
command, the schedule and the Settings button."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from orders.models import OrderActivity
from qbo_integration.inbound import catchup
from qbo_integration.models import QboCatchUp, QboWebhookEvent
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def dropping(webhooks):
    webhooks.emu.configure_webhooks(drop_rate=1.0)  # Intuit loses the delivery (docs/quickbooks/webhooks.md#delivery)
    return webhooks


def test_it_recovers_a_dropped_payment_delivery(posted, dropping):
    dropping.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    dropping.flush()
    posted.refresh_from_db()
    assert posted.status == "posted_to_qb"

    run = catchup.catchup_run(realm_id=REALM_ID)

    posted.refresh_from_db()
    assert (run.mode, run.error) == ("cdc", "")
    assert (posted.status, posted.payment_status) == ("paid", "paid")
    assert (
        posted.activities.filter(
            activity_type=OrderActivity.Type.PAYMENT_RECEIVED, user_name="QuickBooks Catch-up"
        ).count()
        == 1
    )
    assert run.found["Invoice"] == 1 and run.found["Payment"] == 1 and run.found["new_events"] >= 2
    assert any("Invoice marked as PAID" in change for change in run.found["changes"])
    # The payment needed no read: its invoice came in the same answer.
    payment_event = QboWebhookEvent.objects.get(source="cdc", entity="Payment")
    assert payment_event.status == "ignored" and "Covered" in payment_event.result
    assert dropping.emu.count_requests(method="GET", path=r"/payment/") == 0


def test_it_recovers_a_dropped_payment_deletion(posted, webhooks):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    catchup.catchup_run(realm_id=REALM_ID)
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    (payment,) = entities(webhooks.emu, "Payment")
    webhooks.emu.delete_payment(REALM_ID, payment["Id"])
    webhooks.flush()

    run = catchup.catchup_run(realm_id=REALM_ID)

    posted.refresh_from_db()
    assert run.error == "" and (posted.status, posted.payment_status) == ("posted_to_qb", "unpaid")


def test_the_next_run_starts_at_the_watermark_minus_the_overlap_and_finds_nothing_twice(posted):
    first = catchup.catchup_run(realm_id=REALM_ID)
    second = catchup.catchup_run(realm_id=REALM_ID)

    assert first.watermark and second.changed_since == first.watermark - catchup.OVERLAP
    assert second.found["new_events"] == 0
    assert second.watermark >= first.watermark


def test_a_change_already_seen_by_webhook_is_not_applied_twice(posted, webhooks):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    catchup.catchup_run(realm_id=REALM_ID)

    posted.refresh_from_db()
    assert posted.activities.filter(activity_type=OrderActivity.Type.PAYMENT_RECEIVED).count() == 1


def test_a_failed_cdc_call_keeps_the_watermark(posted, webhooks):
    first = catchup.catchup_run(realm_id=REALM_ID)
    webhooks.emu.add_fault("503", method="GET", path=r"/cdc", count=1)

    failed = catchup.catchup_run(realm_id=REALM_ID)
    after = catchup.catchup_run(realm_id=REALM_ID)

    assert failed.error and failed.watermark is None
    assert after.changed_since == first.watermark - catchup.OVERLAP


def test_a_watermark_older_than_30_days_re_reads_every_linked_document(posted, dropping):
    QboCatchUp.objects.create(
        realm_id=REALM_ID,
        watermark=timezone.now() - timedelta(days=31),
        finished_at=timezone.now() - timedelta(days=31),
    )
    dropping.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    dropping.emu.rename_customer(REALM_ID, posted.buyer.qbo_customer_id, "Harbor Fresh Market Inc")
    dropping.flush()
    dropping.emu.clear_requests()

    run = catchup.catchup_run(realm_id=REALM_ID)

    assert (run.mode, run.error) == ("full", "")
    assert dropping.emu.count_requests(subpath="cdc") == 0
    assert run.found["Invoice"] == 1 and run.found["Customer"] == 1 and run.found["Item"] == 2
    posted.refresh_from_db()
    posted.buyer.refresh_from_db()
    assert posted.status == "paid" and posted.buyer.name == "Harbor Fresh Market Inc"
    # And from now on the normal CDC window applies again.
    assert catchup.catchup_run(realm_id=REALM_ID).mode == "cdc"


def test_a_full_re_read_sees_a_deleted_invoice(posted, dropping):
    dropping.emu.delete_invoice(REALM_ID, posted.qbo_doc_id)
    dropping.flush()
    run = catchup.catchup_run(realm_id=REALM_ID, full=True)
    posted.refresh_from_db()
    assert run.mode == "full" and posted.status == "cancelled" and posted.qbo_doc_state == "Deleted"


def test_the_command_runs_a_catch_up_and_prints_what_it_found(posted, dropping, capsys):
    dropping.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    dropping.flush()
    call_command("qbo_catchup")
    out = capsys.readouterr().out
    assert f"{REALM_ID}: cdc catch-up" in out and "1 Invoice" in out and "Invoice marked as PAID" in out
    with pytest.raises(CommandError):
        call_command("qbo_catchup", "--realm", "404")


def test_it_is_scheduled():
    schedule = Schedule.objects.get(func="qbo_integration.tasks.qbo_catchup_all")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes <= 15 and schedule.repeats == -1
    assert Schedule.objects.filter(func="qbo_integration.tasks.qbo_inbox_process_due").exists()


def test_the_settings_button_runs_it_and_shows_what_it_found(admin_client, posted, dropping):
    dropping.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    dropping.flush()

    response = admin_client.post("/settings/quickbooks/catchup/", follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Catch-up started" in page and 'data-testid="last-catchup"' in page
    assert "1 invoice" in page and "Invoice marked as PAID" in page
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_only_admins_start_a_catch_up(staff_client, posted):
    response = staff_client.post("/settings/quickbooks/catchup/", follow=True)
    assert "Only admins" in response.content.decode()
    assert not QboCatchUp.objects.exists()
