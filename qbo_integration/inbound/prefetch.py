"""What a batch of inbox events needs from QuickBooks, read at once: one query per entity per page of up to 1,000
ids instead of one read per event (docs/quickbooks/limits.md#a-burst-of-webhooks).

The doorbell rule still holds: the batch is chosen first and read afterwards, so the answer sees every change its
events announce; an event stored meanwhile waits for the next batch and its own read. An id the answer leaves out
(a deleted transaction) is read by its handler on its own, as before, and QuickBooks answers it with 610.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..client.errors import QboError, QboNotFoundError
from ..connection import calls
from ..documents.reading import payment_invoice_ids
from ..models import QboWebhookEvent
from ..reads import read_many, read_pages

log = logging.getLogger(__name__)

# The entities whose handler reads the event's own object by its id. Payments come before invoices: the invoices a
# payment is applied to are read in the same query as the invoices' own events, after the payments, so an invoice
# is never older than the payment that points at it.
READ_IN_ORDER = (
    "Payment",
    "BillPayment",
    "CreditMemo",
    "RefundReceipt",
    "SalesReceipt",
    "Estimate",
    "Customer",
    "Vendor",
    "Item",
    "Bill",
    "Invoice",
)
# Name lists leave inactive names out of a query unless asked (docs/quickbooks/api.md#query-language); a handler
# must see an item or a customer made inactive.
NAME_LISTS = frozenset({"Customer", "Item", "Vendor"})

Key = tuple[str, str]


@dataclass(frozen=True)
class Reads:
    """What a handler reads from QuickBooks: the object from its batch's answer when the answer holds it, else one
    read of its own. `fresh`: an operator's replay, which trusts no snapshot a CDC catch-up stored on the event."""

    realm_id: str
    fresh: bool = False
    known: Mapping[Key, dict] = field(default_factory=dict)
    asked: frozenset[Key] = frozenset()
    failed: Mapping[str, QboError] = field(default_factory=dict)

    def for_event(self, *, fresh: bool) -> Reads:
        return replace(self, fresh=fresh)

    def one(self, entity: str, entity_id: str) -> dict | None:
        """The object as QuickBooks has it now; None when it no longer exists (610)."""
        key = (entity, str(entity_id))
        if key in self.known:
            return self.known[key]
        if key in self.asked and entity in self.failed:
            raise self.failed[entity]  # the batch's query failed: this event retries like any failed read
        try:
            return calls.read(entity, str(entity_id), realm_id=self.realm_id)
        except QboNotFoundError:
            return None

    def many(self, entity: str, ids: Iterable[str]) -> dict[str, dict | None]:
        """Objects by id: the batch's answer, then one query for what it was not asked (`read_many`), and one read
        each for what it was asked and left out."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found = {i: self.known[(entity, i)] for i in wanted if (entity, i) in self.known}
        never_asked = [i for i in wanted if i not in found and (entity, i) not in self.asked]
        if never_asked:
            found |= read_many(entity, never_asked, realm_id=self.realm_id)
        for left_out in (i for i in wanted if i not in found):
            found[left_out] = self.one(entity, left_out)
        return {i: found[i] for i in wanted}


def _wanted(events: Iterable[QboWebhookEvent], replayed: Callable[[QboWebhookEvent], bool]) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for event in events:
        carries_itself = event.source == QboWebhookEvent.Source.CDC and bool(event.raw.get("Id"))
        if event.entity in READ_IN_ORDER and (not carries_itself or replayed(event)):
            wanted.setdefault(event.entity, []).append(event.entity_id)
    return wanted


def batch_reads(realm_id: str, events: list[QboWebhookEvent], *, replayed: Callable[[QboWebhookEvent], bool]) -> Reads:
    """Reads what `events` need with one query per entity and page; the payments' invoices go with the invoices.
    A failed query is kept: each of its events then fails as its own read would have (and retries), without one
    request per event to a QuickBooks that is refusing."""
    wanted = _wanted(events, replayed)
    known: dict[Key, dict] = {}
    asked: set[Key] = set()
    failed: dict[str, QboError] = {}
    for entity in READ_IN_ORDER:
        ids = list(wanted.get(entity, []))
        if entity == "Invoice":
            for key, payment in known.items():
                ids += payment_invoice_ids(payment) if key[0] == "Payment" else []
        ids = list(dict.fromkeys(ids))
        if not ids:
            continue
        asked.update((entity, i) for i in ids)
        try:
            rows = read_pages(entity, ids, realm_id=realm_id, inactive_too=entity in NAME_LISTS)
        except QboError as e:
            log.warning("quickbooks inbox batch read of %s %s ids failed: %s", len(ids), entity, e.kind)
            failed[entity] = e
            continue
        known |= {(entity, i): row for i, row in rows.items()}
    return Reads(realm_id=realm_id, known=known, asked=frozenset(asked), failed=failed)
