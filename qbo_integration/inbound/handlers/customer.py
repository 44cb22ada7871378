"""A customer changed in QuickBooks: a rename reaches the linked account; a merge moves the accounts that
pointed at the customer merged away."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import Account
from kadouri.text import clean_inbound_line

from ... import mapping
from ...adapt import names
from ...documents.apply import Outcome
from ...documents.reading import Version
from ...mapping import customer_fingerprint
from ...models import QboWebhookEvent
from ..prefetch import Reads
from .common import Ignored, fetch

log = logging.getLogger(__name__)


def _merged_away_id(event: QboWebhookEvent) -> str:
    raw = event.raw or {}
    value = (
        raw.get("deletedId")
        or raw.get("deletedid")
        or (raw.get("data") or {}).get("deletedid")
        or (raw.get("data") or {}).get("deletedId")
    )
    return str(value or "")


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    merged_from = _merged_away_id(event) if event.operation == "Merge" else ""
    linked = Account.objects.filter(qbo_customer_id=event.entity_id)
    moved_ids = (
        list(Account.objects.filter(qbo_customer_id=merged_from).values_list("pk", flat=True)) if merged_from else []
    )
    if not linked.exists() and not moved_ids:
        raise Ignored(f"Customer {event.entity_id} is not linked to any Kadouri account; nothing was changed.")
    customer = fetch(event, "Customer", event.entity_id, reads)
    if customer is None:
        raise Ignored(f"Customer {event.entity_id} does not exist in QuickBooks; nothing was changed.")
    version = Version.of(customer)
    texts: list[Outcome] = []
    with transaction.atomic():
        for account in Account.objects.select_for_update().filter(pk__in=moved_ids):
            account.qbo_customer_id, account.qbo_sync_token = event.entity_id, str(version.sync_token or "")
            account.save(update_fields=["qbo_customer_id", "qbo_sync_token", "updated_at"])
            texts.append(
                Outcome(
                    True,
                    f"Account {account.code} now points at customer {event.entity_id} "
                    f"(customer {merged_from} was merged into it in QuickBooks).",
                )
            )
        still_linked = Account.objects.select_for_update().filter(qbo_customer_id=event.entity_id)
        for account in still_linked.exclude(pk__in=moved_ids):
            if version.compare(account.qbo_sync_token, None) <= 0 and not merged_from:
                texts.append(
                    Outcome(False, f"Account {account.code}: customer SyncToken {version.sync_token} already known.")
                )
                continue
            account.qbo_sync_token = str(
                version.sync_token if version.sync_token is not None else account.qbo_sync_token
            )
            fields = ["qbo_sync_token", "updated_at"]
            # Invisible and control characters typed in QuickBooks never reach Kadouri's names.
            name = clean_inbound_line(customer.get("DisplayName"))[:200]
            # The DisplayName Kadouri pushed is its mapped version of the name (":" → " - ", " (CODE)" for a
            # duplicate, the company rule's suffix for a vendor's name): an edit of the phone or address in
            # QuickBooks must not rename "Acme" to "Acme (ACM2)", nor "Metro Grocers" to "Metro Grocers (customer)".
            ours = {mapping.customer_display_name(account, disambiguate=d) for d in (False, True)}
            if name and name not in ours:
                text = f"Account {account.code} renamed from “{account.name}” to “{name}” (QuickBooks DisplayName)."
                log.info("quickbooks customer %s: %s", event.entity_id, text)
                texts.append(Outcome(True, text))
                account.name = name
                # A real rename: QuickBooks' name is the account's name as it is, without the suffix.
                fields += names.forget_suffix(account)
                # Kadouri now matches QuickBooks: the outbound sync must not push the old name back.
                account.qbo_fingerprint = customer_fingerprint(account)
                fields += ["name", "qbo_fingerprint"]
            account.save(update_fields=fields)
    return Outcome.of(texts, f"Customer {event.entity_id}: nothing to change.")
