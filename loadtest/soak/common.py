"""What the soak's parts share: the company, the compressed timing, the run's record, small helpers."""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

# The emulator's seeded companies the soak can run against (`--company`, qbo_integration/emulator/engine/profiles.py).
COMPANIES = {
    "idealised": "9130350000000001",
    "automated_tax": "9130350000000003",
    "multi_currency": "9130350000000006",
    "auto_numbers": "9130350000000007",
}


def realm_of(opts: dict) -> str:
    return COMPANIES[opts.get("company") or "idealised"]


# The marker Kadouri leaves in a document's private note where QuickBooks numbers documents
# (qbo_integration/adapt/numbering.py, docs/quickbooks.md#quickbooks-numbers-the-documents).
MARKER = re.compile(r"\[kadouri:(\d+)\]")


def order_key(doc: dict, numbers: dict[str, int]) -> str:
    """The number of the Kadouri order a QuickBooks document belongs to: by its marker, else by its DocNumber (the
    order number where Kadouri numbers documents). A document of no order keys as its own DocNumber."""
    found = MARKER.findall(str(doc.get("PrivateNote") or ""))
    if found:
        by_pk = {pk: number for number, pk in numbers.items()}
        if int(found[-1]) in by_pk:
            return by_pk[int(found[-1])]
    return str(doc.get("DocNumber"))


def cashiers_order(order_id: int) -> bool:
    """A quarter of the orders are paid from Kadouri and the bookkeeper leaves their invoices alone, so most payments
    Kadouri is asked for are taken; the races stay where the two meet (credits applied, payments deleted)."""
    return order_id % 4 == 1


BASE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
HTTP_TIMEOUT = 4.0  # the app's QuickBooks read timeout in the soak (QBO_HTTP_TIMEOUT)
# How long the estimator waits for Kadouri to accept a step (its job busy with a retry) before it moves on to the
# next order; the rest are finished after settling, so the estimates never hold the run phase up.
ESTIMATE_PATIENCE = 10.0
COMPRESSED_TIMING = {
    "QBO_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
    "QBO_RETRY_BASE_SECONDS": "2",
    "QBO_JOB_STUCK_AFTER_SECONDS": "20",
    "QBO_THROTTLE_PAUSE_SECONDS": "2",
    "QBO_INBOX_BACKOFF_SECONDS": "2,4,8,16,32",
    "QBO_INBOX_LEASE_SECONDS": "20",
}

# The progress fragment's figures, as the page polls them (templates/qbo_integration/_bulk_progress.html).
PROGRESS = re.compile(
    r'data-state="(?P<state>\w+)" data-total="(?P<total>\d+)" data-pushed="(?P<pushed>\d+)" '
    r'data-failed="(?P<failed>\d+)" data-retrying="(?P<retrying>\d+)"'
)
# Each "Push all pending" clicked during the faults must end Done with at least this share of its orders sent in
# batch requests: a hiccup is resent as the same batch, not handed to one-by-one retries.
MIN_BATCHED_SHARE = 0.9


class HarnessError(Exception):
    """The soak cannot go on (a process did not start, a step was refused) or found violations."""


def say(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Seeded:
    """What the seed phase made, as the run phase needs it."""

    order_ids: list[int]
    estimate_ids: list[int]
    cash_ids: list[int]  # drafts kept for cash sales (neither ready nor estimates)
    numbers: dict[str, int]
    buyer_names: list[str]


@dataclass
class Run:
    """What the threads of the run phase record (all under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    api_statuses: Counter = field(default_factory=Counter)
    api_errors: list[str] = field(default_factory=list)
    double_submits: int = 0
    api_requests: int = 0
    ui_pushes: list[dict] = field(default_factory=list)
    ui_errors: list[str] = field(default_factory=list)
    estimate_statuses: Counter = field(default_factory=Counter)
    estimate_errors: list[str] = field(default_factory=list)
    # Orders whose estimate job was still being retried after ESTIMATE_PATIENCE: finished after settling
    # (order id, whether its estimate was accepted).
    unconverted: list[tuple[int, bool]] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    action_errors: list[str] = field(default_factory=list)
    kill: dict = field(default_factory=dict)
    restarted: threading.Event = field(default_factory=threading.Event)
    stop_bookkeeper: threading.Event = field(default_factory=threading.Event)
    auth_code: str = ""
    # Money from Kadouri (loadtest/soak/money.py): answers by "<kind>|<status>", the unexpected ones, and each cash
    # sale's answers by order id.
    money_answers: Counter = field(default_factory=Counter)
    money_errors: list[str] = field(default_factory=list)
    money_refusals: Counter = field(default_factory=Counter)  # "<kind> <status>: <reason>" of 409/422/502/503
    cash_answers: dict[int, list[int]] = field(default_factory=dict)
