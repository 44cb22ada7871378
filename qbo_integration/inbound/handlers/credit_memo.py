"""A credit memo created, changed or deleted in QuickBooks (docs/quickbooks/money.md#credits): its row follows it —
its total and the credit left — on the order its marker names, else on the buyer's account. Kadouri's own memo
coming back changes nothing twice: its row is found by QuickBooks' id, and while its job still runs the job records
it."""

from __future__ import annotations

from django.db.models import Q

from kadouri.display import money as display_money
from orders.models import OrderActivity
from orders.services import order_activity_log

from ...documents.apply import Outcome
from ...documents.credits import buyer_of, credit_store, marked_order, money_row
from ...documents.reading import Version, money_marker
from ...models import QboMoney, QboSyncJob, QboWebhookEvent
from ...outbox.jobs import ACTIVE
from ..prefetch import Reads
from .common import Ignored, event_cause, fetch


def own_job_running(doc: dict) -> bool:
    """A transaction Kadouri's job created and is still recording (it stores the row itself)."""
    marker = money_marker(doc)
    return bool(marker) and QboSyncJob.objects.filter(params__marker=marker, state__in=ACTIVE).exists()


def kadouri_job_on(row: QboMoney, memo: dict) -> bool:
    """A Kadouri job that moves this memo's credit is still running: issuing it (and applying it to the invoice),
    applying it to another order, refunding it, or deleting a payment that applied it. The job stores the memo
    itself once its payment is written and says so in the order's log; a webhook that arrives first is its echo."""
    marker = money_marker(memo)
    on_memo = Q(params__creditId=row.qbo_id)
    if marker:
        on_memo |= Q(params__marker=marker)
    applying = QboMoney.objects.filter(realm_id=row.realm_id, entity=QboMoney.Entity.PAYMENT, credit=row)
    payment_ids = list(applying.values_list("qbo_id", flat=True))
    if payment_ids:
        on_memo |= Q(action=QboSyncJob.Action.DELETE_PAYMENT, params__paymentId__in=payment_ids)
    return QboSyncJob.objects.filter(on_memo, realm_id=row.realm_id, state__in=ACTIVE).exists()


def _log(event: QboWebhookEvent, row: QboMoney, text: str) -> None:
    if row.order_id:
        cause = event_cause(event)
        order_activity_log(
            order=row.order,
            activity_type=OrderActivity.Type.SYNCED_FROM_QB,
            description=text,
            user_name=cause.user_name,
            details=cause.details(creditId=row.qbo_id, total=str(row.total), remaining=str(row.unapplied)),
        )


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    memo = fetch(event, "CreditMemo", event.entity_id, reads)
    row = money_row(event.realm_id, QboMoney.Entity.CREDIT_MEMO, event.entity_id)
    if memo is None:
        if row is None or not row.is_active:
            raise Ignored(f"Credit memo {event.entity_id} is not a credit Kadouri follows; nothing was changed.")
        row = credit_store({"Id": event.entity_id}, realm_id=event.realm_id, deleted=True)
        text = f"Credit memo {row.number_label} ({display_money(row.total, row.currency)}) deleted in QuickBooks."
        _log(event, row, text)
        return Outcome(True, text)
    if row is None:
        if own_job_running(memo):
            raise Ignored(f"Credit memo {event.entity_id} is Kadouri's own; its job records it.")
        if marked_order(memo) is None and buyer_of(memo) is None:
            raise Ignored(f"Credit memo {event.entity_id} is for a customer Kadouri does not follow.")
    elif Version.of(memo).compare(row.sync_token, None) <= 0:
        return Outcome(False, f"Credit memo {event.entity_id} SyncToken {row.sync_token} already known.")
    before = None if row is None else (row.total, row.unapplied)
    row = credit_store(memo, realm_id=event.realm_id)
    number = memo.get("DocNumber") or memo["Id"]
    if before is None:
        text = f"Credit memo #{number} of {display_money(row.total, row.currency)} issued in QuickBooks."
    elif before == (row.total, row.unapplied):
        return Outcome(False, f"Credit memo #{number}: nothing that matters to Kadouri changed.")
    elif before[0] == row.total and kadouri_job_on(row, memo):  # only the credit left moved, by Kadouri's own job
        return Outcome(False, f"Credit memo #{number}: its credit left was moved by Kadouri's own job, which logs it.")
    else:
        text = (
            f"Credit memo #{number} changed in QuickBooks: total {display_money(row.total, row.currency)}, "
            f"{display_money(row.unapplied, row.currency)} left."
        )
    _log(event, row, text)
    return Outcome(True, text)
