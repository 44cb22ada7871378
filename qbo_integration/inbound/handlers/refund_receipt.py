"""A refund receipt created, changed or deleted in QuickBooks (docs/quickbooks/money.md#refunds): the refund of a
credit Kadouri follows gets its row (the memo's own event brings the credit left). Kadouri's own refund coming back
changes nothing twice."""

from __future__ import annotations

from kadouri.display import money as display_money

from ...documents.apply import Outcome
from ...documents.credits import money_row, refund_store
from ...documents.reading import Version
from ...models import QboMoney, QboWebhookEvent
from ..prefetch import Reads
from .common import Ignored, fetch
from .credit_memo import own_job_running


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    refund = fetch(event, "RefundReceipt", event.entity_id, reads)
    row = money_row(event.realm_id, QboMoney.Entity.REFUND_RECEIPT, event.entity_id)
    if refund is None:
        if row is None or not row.is_active:
            raise Ignored(f"Refund receipt {event.entity_id} is not a refund Kadouri follows; nothing was changed.")
        refund_store({}, realm_id=event.realm_id, deleted=True, refund_id=event.entity_id)
        return Outcome(True, f"Refund receipt {event.entity_id} deleted in QuickBooks.")
    if row is None and own_job_running(refund):
        raise Ignored(f"Refund receipt {event.entity_id} is Kadouri's own; its job records it.")
    if row is not None and Version.of(refund).compare(row.sync_token, None) <= 0:
        return Outcome(False, f"Refund receipt {event.entity_id} SyncToken {row.sync_token} already known.")
    stored = refund_store(refund, realm_id=event.realm_id)
    if stored is None:
        raise Ignored(f"Refund receipt {event.entity_id} refunds no credit Kadouri follows; nothing was changed.")
    return Outcome(
        True, f"Refund receipt {event.entity_id} of {display_money(stored.amount, stored.currency)} recorded."
    )
