"""The company's Preferences or CompanyInfo changed in QuickBooks: read the company's profile again (the closing
date, numbering, tax, currency and classes Kadouri adapts to, docs/quickbooks/next.md#company-preferences)."""

from __future__ import annotations

from ...connection.profile import refresh_profile
from ...documents.apply import Outcome
from ...models import QboWebhookEvent
from ..prefetch import Reads


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    # Not an object read by its id: the profile is CompanyInfo and Preferences, read again whatever the batch holds.
    _, changes = refresh_profile(event.realm_id)
    if not changes:
        return Outcome(False, "Company settings read again; nothing Kadouri uses changed.")
    return Outcome(True, "Company settings changed: " + "; ".join(changes) + ".")
