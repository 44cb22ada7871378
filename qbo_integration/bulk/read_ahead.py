"""What a push's orders need to know of the company before their payloads are built — its currencies and
QuickBooks' exchange rates — read first, through the push's pacing and its resends of a transient failure. Read
later, one at a time and without resends, a single blip would hand the whole batch to single-order retries
(found by the soak on the multi-currency company). Once read, the answers are cached (adapt/currency.py)."""

from __future__ import annotations

from ..adapt import currency
from ..client.errors import QboValidationError
from ..refs.pacing import Pacer, retrying
from .lease import Work


def read_ahead(work: list[Work], pacer: Pacer) -> None:
    profile = currency.company_profile()
    if not profile.multi_currency:
        return
    realm = profile.realm_id
    _paced(pacer, lambda: currency.company_currencies(realm))
    wanted = set()
    for w in work:
        code = currency.buyer_currency(w.order.buyer, profile) if w.order.buyer_id else profile.home_currency
        if code != profile.home_currency and w.order.exchange_rate is None:
            wanted.add((code, w.order.order_date))
    for code, day in sorted(wanted):
        _paced(pacer, lambda code=code, day=day: currency.quickbooks_rate(realm, code, day))


def _paced(pacer: Pacer, read) -> None:
    def call():
        pacer.before()
        return read()

    try:
        retrying(call, pacer)
    except QboValidationError:  # QuickBooks has no rate for that date: the orders needing it fail on their own
        pass
