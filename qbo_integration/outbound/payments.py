"""Payments from Kadouri (docs/quickbooks/money.md#payments): record a payment on an order's posted invoice, and
delete one recorded by mistake. Each is a money job (money_jobs.py: one-time key, one at a time per order, the
marker look-up before the create), so a double submit, a retry or a dropped connection never records it twice.

The request checks what it can without QuickBooks' answer (the status table, the input, the balance Kadouri
knows); the runner reads the invoice again and checks QuickBooks' balance now, because a bookkeeper may have
recorded a payment meanwhile. Every amount shown afterwards comes back from QuickBooks: the payment's rows
(documents/payments.py) and the invoice read after it, applied like a payment recorded in QuickBooks.
"""

from __future__ import annotations

from decimal import Decimal

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity

from .. import mapping
from ..adapt import money_input
from ..client.errors import QboNotFoundError, QboValidationError
from ..connection import calls
from ..connection.profile import company_settings
from ..connection.vault import usable_connection
from ..documents.apply import Cause, invoice_apply
from ..documents.credits import credit_store
from ..documents.payments import payment_store
from ..documents.reading import ZERO, is_voided, money
from ..models import QboMoney, QboSyncJob
from ..outbox.jobs import SyncRefused
from ..outbox.log import job_details, job_user_name
from ..reads import read_many
from .money_jobs import (
    attempt_once,
    earlier_submit,
    enqueue_money_job,
    find_money,
    keep_in_result,
    log_once,
    money_note,
    money_runner,
    submit_stamp,
)
from .record import checked_target, load_order

Action = QboSyncJob.Action
DEPOSITED_CODE = "6540"  # docs/quickbooks/errors.md: the transaction was deposited and cannot change


# --- the status table ----------------------------------------------------------------------------------------


def payment_refusal(order: Order) -> str:
    """Why no payment may be recorded on the order now ("" when one may): only on a posted invoice, partly paid
    included, whose QuickBooks link is sound."""
    if order.qbo_link_problem:
        return f"Order {order.number}'s QuickBooks link looks wrong, so nothing is sent: {order.qbo_link_problem}"
    if order.status == Order.Status.PAID:
        return f"Order {order.number} is paid in full in QuickBooks; there is nothing left to pay."
    if order.status == Order.Status.CANCELLED:
        return f"Order {order.number} is cancelled; a payment cannot be recorded on it."
    if order.status == Order.Status.DRAFT or not order.qbo_doc_id:
        return f"Order {order.number} is a draft and not in QuickBooks yet. Create the invoice first."
    if order.qbo_doc_type != Order.DocType.INVOICE:
        kind = "an estimate" if order.qbo_doc_type == Order.DocType.ESTIMATE else "a cash sale, paid already"
        return f"Order {order.number} is {kind}; a payment is recorded on an invoice only."
    return ""


def may_record_payment(order: Order) -> bool:
    return not payment_refusal(order)


def _check_allowed(order: Order) -> None:
    problem = payment_refusal(order)
    if problem:
        raise SyncRefused(problem, status=409)


def unapplied_allowed() -> bool:
    settings = company_settings()
    return bool(settings is not None and settings.allow_unapplied_credit)


def _above_balance(order: Order, amount: Decimal, balance: Decimal | None) -> str:
    if balance is None or amount <= balance or unapplied_allowed():
        return ""
    return (
        f"{display_money(amount, order)} is more than the open balance of {display_money(balance, order)} in "
        f"QuickBooks. Enter at most {display_money(balance, order)}, or ask an admin to allow payments above the "
        "open balance (Settings → QuickBooks → Company rules)."
    )


# --- recording a payment ------------------------------------------------------------------------------------------


def payment_params(
    *, order: Order, amount, date=None, method=None, reference=None, deposit_to=None, currency=None
) -> dict:
    """The request's input, checked (422 with the field) and written as the job's params."""
    realm_id = usable_connection().realm_id
    parsed = money_input.parse_amount(amount, field="amount")
    money_input.check_currency(order, currency)
    day = money_input.parse_txn_date(date, realm_id=realm_id, field="date")
    reference_text = money_input.check_reference(reference)
    method_id = str(method or "").strip()
    method_name = money_input.method_name(method_id)
    deposit_id = str(deposit_to or "").strip() or money_input.undeposited_funds_id()
    deposit_name = money_input.deposit_account_name(deposit_id, field="depositTo")
    return {
        "amount": str(parsed),
        "date": day.isoformat(),
        "method": method_id,
        "methodName": method_name,
        "reference": reference_text,
        "depositTo": deposit_id,
        "depositToName": deposit_name,
    }


def payment_record_request(
    *,
    order: Order,
    amount,
    date=None,
    method=None,
    reference=None,
    deposit_to=None,
    currency=None,
    token: str = "",
    by,
    ip: str | None,
) -> QboSyncJob:
    """Record payment: checks the status table and the input (nothing is sent when either refuses), records the
    job (a second submit of the same form, or of the same Idempotency-Key and body, joins it) and makes its one
    attempt."""
    asked = {
        "amount": amount,
        "date": date,
        "method": method,
        "reference": reference,
        "depositTo": deposit_to,
        "currency": currency,
    }
    earlier = earlier_submit(token, asked, Action.RECORD_PAYMENT, order=order)
    if earlier is not None:  # the same form submitted again: its job, whatever the order's status is now
        return earlier
    _check_allowed(order)
    params = payment_params(
        order=order,
        amount=amount,
        date=date,
        method=method,
        reference=reference,
        deposit_to=deposit_to,
        currency=currency,
    ) | submit_stamp(token, asked)
    wanted = Decimal(params["amount"])

    def check(locked: Order) -> None:
        _check_allowed(locked)
        problem = _above_balance(locked, wanted, locked.qbo_balance)
        if problem:
            raise SyncRefused(problem, status=422, field="amount")

    job, _ = enqueue_money_job(
        order=order, action=Action.RECORD_PAYMENT, params=params, token=token, by=by, ip=ip, check=check
    )
    return attempt_once(job)


def payment_payload(job: QboSyncJob, order: Order, invoice: dict, balance: Decimal) -> dict:
    """The QuickBooks Payment: the whole amount as TotalAmt, at most the invoice's balance applied to it (the rest
    stays on the payment as UnappliedAmt, the buyer's credit: only when an admin allowed it)."""
    params = job.params
    amount = Decimal(params["amount"])
    payload = {
        "CustomerRef": {"value": str(invoice["CustomerRef"]["value"])},
        "TotalAmt": mapping.number(amount),
        "TxnDate": params["date"],
        "Line": [
            {
                "Amount": mapping.number(min(amount, balance)),
                "LinkedTxn": [{"TxnId": str(invoice["Id"]), "TxnType": "Invoice"}],
            }
        ],
        "PrivateNote": money_note(job, order),
    }
    if params.get("method"):
        payload["PaymentMethodRef"] = {"value": params["method"]}
    if params.get("reference"):
        payload["PaymentRefNum"] = params["reference"]
    if params.get("depositTo"):
        payload["DepositToAccountRef"] = {"value": params["depositTo"]}
    # Received in the invoice's currency, at the invoice's rate (adapt/currency.py: a foreign rate left out is 1).
    for key in ("CurrencyRef", "ExchangeRate"):
        if invoice.get(key):
            payload[key] = invoice[key]
    return payload


def _open_invoice(job: QboSyncJob, order: Order) -> tuple[dict, Decimal]:
    invoice = calls.read("Invoice", order.qbo_doc_id)
    checked_target(job, order, invoice)  # the order's own invoice, or a wrong link recorded and refused
    if is_voided(invoice):
        raise SyncRefused(f"QuickBooks shows invoice #{order.qbo_doc_number} as voided; nothing was recorded.")
    return invoice, money(invoice.get("Balance")) or ZERO


@money_runner(Action.RECORD_PAYMENT)
def run_record_payment(job: QboSyncJob) -> dict:
    order = load_order(job)
    invoice, balance = _open_invoice(job, order)
    customer_id = str(invoice["CustomerRef"]["value"])
    payment = find_money(job, "Payment", customer_id)  # an earlier try's, whose answer was lost
    adopted = payment is not None
    if payment is None:
        _check_allowed(order)
        amount = Decimal(job.params["amount"])
        if balance <= 0:
            raise SyncRefused(f"Invoice #{order.qbo_doc_number} has no open balance in QuickBooks; nothing was sent.")
        problem = _above_balance(order, amount, balance)
        if problem:
            raise SyncRefused(problem, status=409)
        payment = calls.create("Payment", payment_payload(job, order, invoice, balance), request_id=job.request_id)
    rows = payment_store(payment, realm_id=job.realm_id, job=job)
    _log_recorded(job, order, payment, next((r for r in rows if r.order_id == order.pk), None))
    _apply_invoices(job, [order], payment, "Create")
    return {"paymentId": str(payment["Id"]), "adopted": adopted, "total": str(money(payment.get("TotalAmt")))}


def payment_text(row: QboMoney | None, payment: dict, order: Order) -> str:
    amount = money(payment.get("TotalAmt")) if payment.get("TotalAmt") is not None else (row.total if row else ZERO)
    how = " ".join(part for part in (row.method_name if row else "", row.reference if row else "") if part)
    return f"Payment of {display_money(amount, order)}" + (f" ({how})" if how else "")


def _log_recorded(job: QboSyncJob, order: Order, payment: dict, row: QboMoney | None) -> None:
    unapplied = money(payment.get("UnappliedAmt")) or ZERO
    extra = f"; {display_money(unapplied, order)} kept as the buyer's credit" if unapplied > 0 else ""
    log_once(
        job,
        OrderActivity.Type.PAYMENT_RECORDED,
        f"{payment_text(row, payment, order)} recorded in QuickBooks by {job_user_name(job)}{extra}.",
        job_details(
            job, paymentId=str(payment["Id"]), total=str(money(payment.get("TotalAmt"))), unapplied=str(unapplied)
        ),
        order,
        txn="paymentId",
    )


# --- deleting a payment ------------------------------------------------------------------------------------------


def payment_delete_request(
    *, order: Order, payment_id: str, reason: str, token: str = "", by, ip: str | None
) -> QboSyncJob:
    """Delete a payment recorded by mistake (admins: the caller checks). The reason is required and logged."""
    reason = str(reason or "").strip()
    if not reason:
        raise SyncRefused(
            "Say why the payment is deleted: the reason goes in the order's log.", status=422, field="reason"
        )
    if len(reason) > 300:
        raise SyncRefused("The reason can be at most 300 characters.", status=422, field="reason")
    asked = {"paymentId": str(payment_id), "reason": reason}
    earlier = earlier_submit(token, asked, Action.DELETE_PAYMENT, order=order)
    if earlier is not None:
        return earlier
    row = order.qbo_money.filter(entity=QboMoney.Entity.PAYMENT, qbo_id=str(payment_id)).first()
    if row is None:
        raise SyncRefused(f"Payment {str(payment_id)[:32]} is not on order {order.number}.", status=404)
    if row.state != QboMoney.State.ACTIVE:
        raise SyncRefused(f"Payment {row.qbo_id} is already {row.get_state_display().lower()}.", status=409)
    if order.qbo_link_problem:
        raise SyncRefused(payment_refusal(order), status=409)
    params = {"paymentId": row.qbo_id, "reason": reason} | submit_stamp(token, asked)
    job, _ = enqueue_money_job(order=order, action=Action.DELETE_PAYMENT, params=params, token=token, by=by, ip=ip)
    return attempt_once(job)


def _delete(job: QboSyncJob, payment: dict) -> None:
    try:
        calls.delete("Payment", str(payment["Id"]), str(payment.get("SyncToken", "0")), request_id=job.request_id)
    except QboValidationError as e:
        if e.code == DEPOSITED_CODE:
            raise QboValidationError(
                f"Payment {payment['Id']} is part of a bank deposit in QuickBooks, so QuickBooks will not delete it. "
                "Remove it from the deposit in QuickBooks first, then delete it again.",
                code=e.code,
                detail=e.detail,
                status=e.status,
            ) from None
        raise


def _paid_orders(job: QboSyncJob, order: Order, payment_id: str) -> list[Order]:
    """The orders whose invoices the payment pays, as its active rows say before the delete: this order first,
    then every other order the payment pays (its rows are marked deleted too). Kept in the job's result, so a retry
    whose earlier attempt already marked the rows deleted re-reads the same invoices."""
    order_ids = (job.result or {}).get("orderIds")
    if order_ids is None:
        rows = QboMoney.objects.filter(
            realm_id=job.realm_id, entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id, state=QboMoney.State.ACTIVE
        ).exclude(order=None)
        order_ids = [order.pk, *(pk for pk in rows.values_list("order_id", flat=True) if pk != order.pk)]
        keep_in_result(job, orderIds=order_ids)
    found = {o.pk: o for o in Order.objects.filter(pk__in=order_ids, qbo_doc_type=Order.DocType.INVOICE)}
    return [found[pk] for pk in order_ids if pk in found and found[pk].qbo_doc_id]


def _apply_invoices(job: QboSyncJob, orders: list[Order], payment: dict, operation: str) -> None:
    """Every order's invoice as QuickBooks has it now (one query for all of them), applied like a payment change
    made in QuickBooks."""
    invoices = read_many("Invoice", [o.qbo_doc_id for o in orders], realm_id=job.realm_id)
    cause = Cause(source="sync", payment_id=str(payment.get("Id") or ""), payment_operation=operation)
    for paid_order in orders:
        invoice = invoices.get(paid_order.qbo_doc_id)
        invoice_apply(order_id=paid_order.pk, doc_id=paid_order.qbo_doc_id, invoice=invoice, cause=cause)


def _refresh_credits(job: QboSyncJob, payment: dict) -> None:
    """The credit memos the deleted payment applied have their credit back: each is read again (one query) and
    stored, so their Remaining is QuickBooks' now. The memos are the payment's lines' (read before the delete) and
    its rows' (a retry finds the payment gone)."""
    payment_id = str(payment["Id"])
    memo_ids = {
        str(link.get("TxnId"))
        for line in payment.get("Line") or []
        for link in (line or {}).get("LinkedTxn") or []
        if link.get("TxnType") == "CreditMemo"
    }
    memo_ids |= set(
        QboMoney.objects.filter(realm_id=job.realm_id, entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id)
        .exclude(credit=None)
        .values_list("credit__qbo_id", flat=True)
    )
    if not memo_ids:
        return
    for memo in read_many("CreditMemo", sorted(memo_ids), realm_id=job.realm_id).values():
        if memo is not None:
            credit_store(memo, realm_id=job.realm_id)


@money_runner(Action.DELETE_PAYMENT)
def run_delete_payment(job: QboSyncJob) -> dict:
    order = load_order(job)
    payment_id = job.params["paymentId"]
    try:
        payment = calls.read("Payment", payment_id)
    except QboNotFoundError:  # deleted already: by this job's earlier try whose answer was lost, or in QuickBooks
        payment = {"Id": payment_id}
    if str(payment.get("Id")) != str(payment_id):
        raise SyncRefused(f"QuickBooks answered another payment for {payment_id}; nothing was deleted.")
    orders = _paid_orders(job, order, payment_id)
    if "SyncToken" in payment:
        _delete(job, payment)
    payment_store(payment, realm_id=job.realm_id, deleted=True)
    who, reason = job_user_name(job), job.params["reason"]
    QboMoney.objects.filter(realm_id=job.realm_id, entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id).update(
        deleted_by_name=who[:150], delete_reason=reason[:300]
    )
    _apply_invoices(job, orders, payment, "Delete")
    _refresh_credits(job, payment)
    for paid_order in orders:  # each order it paid says who deleted it and why
        row = paid_order.qbo_money.filter(entity=QboMoney.Entity.PAYMENT, qbo_id=payment_id).first()
        log_once(
            job,
            OrderActivity.Type.PAYMENT_DELETED,
            f"{payment_text(row, payment, paid_order)} deleted in QuickBooks by {who}. Reason: {reason}",
            job_details(job, paymentId=payment_id, reason=reason),
            paid_order,
            txn="paymentId",
        )
    return {"paymentId": payment_id, "deleted": True, "orderIds": [o.pk for o in orders]}
