"""The company's request budget, shared by every process that talks to QuickBooks (docs/multi-machine.md).

QuickBooks counts its limits per company — requests and batch requests a minute, requests in flight
(docs/quickbooks/limits.md#request-limits) — however many web and worker processes Kadouri runs, on however many
machines. Every Accounting API request takes a place in the budget before it leaves (`admitted`): a stamp in the
company's sliding minute and one of its concurrency slots, given back when the answer is in (after an exception
too; a crashed holder's slot expires). When the budget is spent, the request waits.

- `limits`: what is allowed and the one rule of every store; `admission`: the waiting, the store from settings;
- the stores: `in_postgres` (the default), `in_redis`, `in_process` (one process only).
"""

from .admission import CLICK_WAIT_SECONDS, admitted, current_limits, current_store, forget_counts, patience, sleeping
from .limits import Grant, Limits, Wait

__all__ = [
    "CLICK_WAIT_SECONDS",
    "Grant",
    "Limits",
    "Wait",
    "admitted",
    "current_limits",
    "current_store",
    "forget_counts",
    "patience",
    "sleeping",
]
