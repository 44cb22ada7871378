"""One attempt of a credit job (docs/quickbooks/money.md#credits): issue the credit memo and, while the order's
invoice is open, apply it there; apply a credit to another order's invoice; refund a credit.

Issuing is two writes. The memo's id is kept in the job's result as soon as it is known, and each write carries
its own marker, so a retry after either step finds what was done and never writes it twice: the memo under the
job's marker, the payment that applies it under a marker derived from it (`apply_step`)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from kadouri.display import money as display_money
from kadouri.display import plain
from orders.models import Order, OrderActivity
from products.models import Product

from .. import mapping
from ..adapt import currency
from ..connection import calls
from ..documents.apply import Cause, invoice_apply
from ..documents.credits import credit_store, money_row, refund_store
from ..documents.payments import payment_store
from ..documents.reading import ZERO, money
from ..models import QboMoney, QboSyncJob
from ..outbox.jobs import SyncRefused, request_id
from ..outbox.log import job_details, job_user_name
from ..refs.ensure import refs_for_order
from .money_jobs import apply_marker_of, create_money, find_money, keep_in_result, log_once, money_note, money_runner
from .record import load_order
from .rules import check_credit_allowed

Action = QboSyncJob.Action
Entity = QboMoney.Entity
SYNC = Cause(source="sync")


def _label(doc: dict) -> str:
    return f"#{doc.get('DocNumber') or doc.get('Id')}"


def apply_step(job: QboSyncJob) -> QboSyncJob:
    """The job as the author of its second write: the same job, its own marker and requestid (never saved)."""
    step = copy.copy(job)
    step.params = job.params | {"marker": apply_marker_of(job.params["marker"])}
    step.request_id = request_id(f"{job.request_id}:apply")
    return step


def _what(row: QboMoney) -> str:
    reason = QboMoney.Reason(row.reason).label if row.reason else "Credit"
    parts = [f"{plain(line['quantity'])} × {line['description']}" for line in row.lines if line.get("quantity")]
    return f"{reason}: {', '.join(parts)}" if parts else reason


def _reread_invoice(order: Order) -> None:
    invoice = calls.read("Invoice", order.qbo_doc_id)
    invoice_apply(order_id=order.pk, doc_id=order.qbo_doc_id, invoice=invoice, cause=SYNC)


def _credit_in(payment: dict) -> Decimal:
    """What a payment applies of credit memos."""
    return sum(
        (
            money(line.get("Amount")) or ZERO
            for line in payment.get("Line", [])
            if any(link.get("TxnType") == "CreditMemo" for link in line.get("LinkedTxn", []))
        ),
        ZERO,
    )


def _apply(job: QboSyncJob, *, step: QboSyncJob, order: Order, memo: dict, customer_id: str, asked=None) -> Decimal:
    """Applies the memo to the order's open invoice (at most `asked`), through a Payment of no money; answers
    what was applied. An earlier attempt's payment, found by the step's marker, is adopted before the memo's credit
    left is even looked at (that attempt used it up). The rows, the memo's remaining credit and the order's balance
    are then QuickBooks'."""
    payment = find_money(step, "Payment", customer_id)
    if payment is None:
        invoice = calls.read("Invoice", order.qbo_doc_id)
        balance, remaining = money(invoice.get("Balance")) or ZERO, money(memo.get("RemainingCredit")) or ZERO
        amount = min(balance, remaining) if asked is None else Decimal(asked)
        if amount <= 0:
            return ZERO
        if asked is not None and amount > min(balance, remaining):
            raise SyncRefused(
                f"QuickBooks now shows {display_money(remaining, order)} left on credit memo {_label(memo)} and "
                f"{display_money(balance, order)} open on order {order.number}; nothing was applied.",
                status=409,
            )
        note = money_note(step, order, f"Credit memo {_label(memo)} applied to invoice {_label(invoice)}")
        payload = mapping.credit_apply_payload(
            customer_id=customer_id, invoice=invoice, memo_id=memo["Id"], amount=amount, note=note
        )
        payment = calls.create("Payment", payload, request_id=step.request_id)
    payment_store(payment, realm_id=job.realm_id, job=job)
    credit_store(calls.read("CreditMemo", memo["Id"]), realm_id=job.realm_id)
    _reread_invoice(order)
    amount = _credit_in(payment)
    _log_applied(job, order, memo, amount, payment["Id"])
    return amount


def _log_applied(job: QboSyncJob, order: Order, memo: dict, amount: Decimal, payment_id: str) -> None:
    order.refresh_from_db()
    text = (
        f"Credit memo {_label(memo)} applied: {display_money(amount, order)} off invoice "
        f"#{order.qbo_doc_number or order.qbo_doc_id} by {job_user_name(job)} (open now "
        f"{display_money(order.qbo_balance, order)})."
    )
    details = job_details(job, creditId=str(memo["Id"]), paymentId=str(payment_id), amount=str(amount))
    log_once(job, OrderActivity.Type.CREDIT_APPLIED, text, details, order, txn="paymentId")
    credit = money_row(job.realm_id, Entity.CREDIT_MEMO, memo["Id"])
    if credit is not None and credit.order_id and credit.order_id != order.pk:  # the credit's own order says it too
        own = f"{text} (order {order.number})"
        log_once(job, OrderActivity.Type.CREDIT_APPLIED, own, details, credit.order, txn="paymentId")


def _memo_payload(job: QboSyncJob, order: Order, customer_id: str, item_ids: dict[int, str]) -> dict:
    products = {p.pk: p for p in Product.objects.filter(pk__in=[x["productId"] for x in job.params["lines"]])}
    lines = [(x, item_ids[x["productId"]], products[x["productId"]]) for x in job.params["lines"]]
    reason = QboMoney.Reason(job.params["reason"]).label
    text = f"Credit ({reason}) for order {order.number}" + (f": {job.params['note']}" if job.params["note"] else "")
    day = job.params.get("date")
    return mapping.credit_memo_payload(
        order,
        customer_id=customer_id,
        lines=lines,
        note=money_note(job, order, text),
        txn_date=date.fromisoformat(day) if day else None,
        currency=currency.document_currency(order),
    )


@money_runner(Action.ISSUE_CREDIT)
def run_issue_credit(job: QboSyncJob) -> dict:
    order = load_order(job)
    customer_id, item_ids = refs_for_order(order)
    memo_id = (job.result or {}).get("memoId")
    if memo_id:  # an earlier attempt created it; only the apply may be left
        memo = calls.read("CreditMemo", memo_id)
    else:
        check_credit_allowed(order)  # a retry runs later: the order may have been cancelled since the click
        memo, _ = create_money(job, "CreditMemo", _memo_payload(job, order, customer_id, item_ids), customer_id)
        keep_in_result(job, memoId=str(memo["Id"]), docNumber=memo.get("DocNumber") or "")
    row = credit_store(memo, realm_id=job.realm_id, order=order, job=job)
    text = (
        f"Credit of {display_money(row.total, order)} ({_what(row)}) issued in QuickBooks by "
        f"{job_user_name(job)} as credit memo {_label(memo)}."
    )
    details = job_details(job, creditId=str(memo["Id"]))
    log_once(job, OrderActivity.Type.CREDIT_ISSUED, text, details, order, txn="creditId")
    applied = ZERO
    if order.qbo_doc_type == Order.DocType.INVOICE and order.status == Order.Status.POSTED_TO_QB:
        applied = _apply(job, step=apply_step(job), order=order, memo=memo, customer_id=customer_id)
    return {"memoId": str(memo["Id"]), "docNumber": memo.get("DocNumber") or "", "applied": str(applied)}


@money_runner(Action.APPLY_CREDIT)
def run_apply_credit(job: QboSyncJob) -> dict:
    order = load_order(job)
    memo = calls.read("CreditMemo", job.params["creditId"])
    customer_id = str((memo.get("CustomerRef") or {}).get("value") or "")
    if order.buyer.qbo_customer_id != customer_id:
        raise SyncRefused(f"Credit memo {_label(memo)} is another customer's in QuickBooks.", status=409)
    applied = _apply(job, step=job, order=order, memo=memo, customer_id=customer_id, asked=job.params["amount"])
    return {"memoId": str(memo["Id"]), "applied": str(applied)}


@money_runner(Action.REFUND_CREDIT)
def run_refund_credit(job: QboSyncJob) -> dict:
    """The refund of a credit: the order's job, or the buyer's for a credit of no Kadouri order."""
    order = load_order(job) if job.order_id else None
    params = job.params
    memo = calls.read("CreditMemo", params["creditId"])
    currency_of = order if order is not None else str((memo.get("CurrencyRef") or {}).get("value") or "")
    remaining, amount = money(memo.get("RemainingCredit")) or ZERO, Decimal(params["amount"])
    customer_id = str((memo.get("CustomerRef") or {}).get("value") or "")
    # An earlier try's refund whose answer was lost is found before the credit left is looked at: it used it up.
    refund = find_money(job, "RefundReceipt", customer_id)
    if refund is None:
        if amount > remaining:
            raise SyncRefused(
                f"QuickBooks now shows {display_money(remaining, currency_of)} left on credit memo {_label(memo)}; "
                "nothing was refunded.",
                status=409,
            )
        payload = mapping.refund_receipt_payload(
            customer_id=customer_id,
            memo=memo,
            amount=amount,
            account_id=params["account"],
            method_id=params.get("method", ""),
            reference=params.get("reference", ""),
            txn_date=date.fromisoformat(params["date"]) if params.get("date") else None,
            note=money_note(job, order, f"Refund of credit memo {_label(memo)}", account=job.account),
        )
        refund = calls.create("RefundReceipt", payload, request_id=job.request_id)
    row = refund_store(refund, realm_id=job.realm_id, job=job)
    credit_store(calls.read("CreditMemo", memo["Id"]), realm_id=job.realm_id)
    if row is not None and order is not None:
        account = row.deposit_account_name or row.deposit_account_id
        text = (
            f"Credit memo {_label(memo)} refunded: {display_money(row.amount, order)} paid back from {account} by "
            f"{job_user_name(job)} (refund receipt {_label(refund)})."
        )
        details = job_details(job, creditId=str(memo["Id"]), refundId=str(refund["Id"]), amount=str(row.amount))
        log_once(job, OrderActivity.Type.CREDIT_REFUNDED, text, details, order, txn="refundId")
    return {"memoId": str(memo["Id"]), "refundId": str(refund["Id"]), "amount": str(row.amount if row else amount)}
