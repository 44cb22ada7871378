"""Money from Kadouri, exactly once (docs/quickbooks/money.md#exactly-once): what every money action shares — a
payment, its deletion, a cash sale, a credit, its application and its refund.

- The key. A money job's key names the order, the action, what was asked (`params`, validated) and the form's
  one-time token (the JSON API's `Idempotency-Key` header): a double click or a browser retry of the same form finds
  the same job. Without a token the key counts the order's finished jobs of that action, so a second identical
  request while the first is queued joins it, and one made after it finished is a second payment, as asked.
- One at a time. While another job of the order is queued or running, a money action is refused (409): its amounts
  are checked against the balance the running job is about to change.
- The marker. A money transaction carries `[kadouri-money:<marker>]` in its private note; the marker is the key's
  own (no generation), so before every create the job reads the customer's transactions of that kind created since
  the job began and adopts the one that carries it: a create whose answer was lost — even by an earlier, failed
  generation of the same request — is never made twice, whatever `requestid` does.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable

from django.db import transaction

from accounts.models import Account
from orders.models import Order

from ..adapt.closing import is_period_closed
from ..client.errors import QboValidationError
from ..connection import budget, calls
from ..connection.vault import usable_connection
from ..documents.reading import money_marker
from ..models import QboSyncJob
from ..outbox import jobs
from ..outbox.jobs import ACTIVE, SyncRefused, is_due, job_for
from ..outbox.log import job_log, person_or_none
from ..reads import QUERY_MAX_RESULTS
from ..refs.markers import CLOCK_MARGIN, MAX_PAGES, marker_query
from .stock import quantities_after_job

MARKER_NAMESPACE = uuid.UUID("0b7d8a52-3c1e-4f6a-9d0e-5a2b7c9e1f43")

MoneyRunner = Callable[[QboSyncJob], dict]
MONEY_RUNNERS: dict[str, MoneyRunner] = {}


def money_runner(action: str) -> Callable[[MoneyRunner], MoneyRunner]:
    """Registers the function that runs one attempt of a money action's job (outbound/runners.py dispatches)."""

    def register(run: MoneyRunner) -> MoneyRunner:
        MONEY_RUNNERS[action] = run
        return run

    return register


def run_money_job(job: QboSyncJob) -> dict:
    try:
        result = MONEY_RUNNERS[job.action](job)
    except QboValidationError as e:
        if is_period_closed(e):  # the closing date moved since it was checked: say so in plain words
            raise QboValidationError(
                "QuickBooks' books are closed for this transaction's date, so QuickBooks refused it. Choose a later "
                "date or ask your accountant to reopen the period.",
                code=e.code,
                detail=e.detail,
                status=e.status,
            ) from None
        raise
    quantities_after_job(job, result)  # a credit of returned goods moved stock (outbound/stock.py)
    return result


# --- the job ---------------------------------------------------------------------------------------------------


def _digest(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def asked_digest(asked: dict) -> str:
    """What a request asked, as it was typed (before it is checked): a second submit of the same form with the same
    input has the same digest, one whose input was changed (back, edit, submit) another."""
    return _digest(asked)


def submit_stamp(token: str, asked: dict) -> dict:
    """What a job's params keep of the request that made it: the one-time token and what was typed."""
    return {"token": token[:64], "asked": asked_digest(asked)}


def earlier_submit(token: str, asked: dict, action: str, **lookup) -> QboSyncJob | None:
    """The job the same form (or Idempotency-Key) already made with the same input, after its one attempt: a second
    submit joins it even when what it checked has changed since (the first payment paid the order in full, the
    first refund used the credit up), so the input is matched as it was typed, before it is checked. A user who went
    back and changed the input makes a new request with the same token: a new job, checked like any other."""
    if not token:
        return None
    found = (
        QboSyncJob.objects.filter(action=action, params__token=token[:64], params__asked=asked_digest(asked), **lookup)
        .exclude(state=QboSyncJob.State.FAILED)
        .order_by("-pk")
        .first()
    )
    return attempt_once(found) if found is not None else None


def _money_key(owner: Order | Account, kind: str, action: str, params: dict, token: str, realm_id: str) -> str:
    if token:
        turn = f"t:{token[:64]}"
    else:
        turn = f"n:{owner.qbo_jobs.filter(action=action, state=QboSyncJob.State.DONE).count()}"
    return f"{realm_id}:{kind}:{owner.pk}:{action}:{turn}:{_digest(params)}"


def _locked_owner(order: Order | None, account: Account | None) -> tuple[Order | Account, str, str]:
    """The row a money job belongs to, locked: its order, or — for a transaction of no Kadouri order (a credit
    issued in QuickBooks, refunded from the buyer's page) — the buyer's account. Answers (row, kind, its name)."""
    if order is not None:
        locked = Order.objects.select_for_update().select_related("buyer", "seller").get(pk=order.pk)
        return locked, "order", f"order {locked.number}"
    locked = Account.objects.select_for_update().get(pk=account.pk)
    return locked, "account", locked.name


def enqueue_money_job(
    *,
    order: Order | None,
    action: str,
    params: dict,
    token: str = "",
    by,
    ip: str | None,
    check: Callable | None = None,
    account: Account | None = None,
) -> tuple[QboSyncJob, bool]:
    """The order's job for this money action (joined on a double submit), and whether it is new. `check(locked)`
    repeats the caller's checks under the order's lock (the status table, the open balance) and raises
    SyncRefused; nothing QuickBooks-bound is asked while the lock is held. A transaction of no Kadouri order is the
    buyer's job instead (`order=None` and `account`), with the same key, one-at-a-time and marker rules."""
    realm_id = usable_connection().realm_id
    with transaction.atomic():
        owner, kind, name = _locked_owner(order, account)
        key = _money_key(owner, kind, action, params, token, realm_id)
        same = {j.request_id for j in owner.qbo_jobs.filter(action=action, params__marker=marker_of(key))}
        active = owner.qbo_jobs.filter(state__in=ACTIVE).exclude(request_id__in=same).first()
        if active is not None:
            raise SyncRefused(
                f"QuickBooks is already working on {name} ({active.get_action_display().lower()}); "
                "wait for it to finish.",
                status=409,
            )
        if check is not None:
            check(owner)
        return job_for(
            key=key,
            lookup={kind: owner, "action": action},
            defaults={
                "realm_id": realm_id,
                "created_by": person_or_none(by),
                "ip_address": ip,
                "params": params | _markers(action, key),
            },
        )


def keep_in_result(job: QboSyncJob, **values) -> None:
    """Saves what an attempt learned in the job's result at once, for a retry to find (the job's answer replaces it
    when the job is done)."""
    job.result = (job.result or {}) | values
    QboSyncJob.objects.filter(pk=job.pk).update(result=job.result)


def attempt_once(job: QboSyncJob) -> QboSyncJob:
    """The request's one attempt, if the job is due; a retry belongs to the worker (also when the company's
    request budget stays spent past a click's short wait)."""
    if not is_due(job):
        return job
    with budget.patience(budget.CLICK_WAIT_SECONDS):
        return jobs.job_run(job_id=job.pk, run=run_money_job)


# --- the marker and the look-up ----------------------------------------------------------------------------------


def marker_of(key: str) -> str:
    return str(uuid.uuid5(MARKER_NAMESPACE, key))


def apply_marker_of(marker: str) -> str:
    """The marker of an issued credit's second write, the payment that applies it (credit_runners.apply_step)."""
    return marker_of(f"{marker}:apply")


def _markers(action: str, key: str) -> dict:
    """The job's marker and, for an issued credit, its apply step's too: kept in the params so that whoever stores
    the applying payment first (a webhook, the catch-up) finds the job by the marker the payment carries."""
    marker = marker_of(key)
    if action == QboSyncJob.Action.ISSUE_CREDIT:
        return {"marker": marker, "applyMarker": apply_marker_of(marker)}
    return {"marker": marker}


def money_note(job: QboSyncJob, order: Order | None, text: str = "", *, account: Account | None = None) -> str:
    """The private note a money transaction carries: what it is for people, the marker for Kadouri (the buyer's
    code for a transaction of no order)."""
    whose = f"Kadouri order {order.number}" if order is not None else f"Kadouri account {account.code}"
    tail = f"{whose} [kadouri-money:{job.params['marker']}]"
    return f"{text.strip()[:300]}\n{tail}" if text.strip() else tail


def find_money(job: QboSyncJob, entity: str, customer_id: str) -> dict | None:
    """The customer's `entity` carrying this job's marker, created since the job began (or None)."""
    since = (job.created_at - CLOCK_MARGIN).isoformat(timespec="seconds")
    marker = job.params["marker"]
    for page in range(MAX_PAGES):
        rows = calls.query(marker_query(entity, customer_id, since, page)).get(entity, [])
        found = next((row for row in rows if money_marker(row) == marker), None)
        if found is not None or len(rows) < QUERY_MAX_RESULTS:
            return found
    return None


def log_once(job: QboSyncJob, activity_type: str, text: str, details: dict, order: Order | None, *, txn: str) -> None:
    """The order's activity entry for one transaction (`txn` names the details key holding its QuickBooks id), written
    once: a retry after the entry, a job run again after its worker died, or a webhook that stored the transaction
    before the job did, never writes it twice nor leaves it out."""
    if order is None:
        return
    if order.activities.filter(activity_type=activity_type, **{f"details__{txn}": details[txn]}).exists():
        return
    job_log(job, activity_type, text, details, order)


def create_money(job: QboSyncJob, entity: str, payload: dict, customer_id: str) -> tuple[dict, bool]:
    """The transaction this job asked for: an earlier try's, found by its marker, or created now with the job's
    requestid. Answers (transaction, adopted)."""
    found = find_money(job, entity, customer_id)
    if found is not None:
        return found, True
    return calls.create(entity, payload, request_id=job.request_id), False
