"""The money checks (issue 12), run inside the soak's environment after it settled (phases.check): what Kadouri's
rows say against the emulator's books, read from its dump.

(a) Every money job of Kadouri that ended done exists exactly once in QuickBooks — found by the marker its
    transaction carries (`[kadouri-money:<marker>]`, docs/quickbooks/money.md#exactly-once; a cash sale also by its
    order like an invoice) — is not deleted or voided unless Kadouri deleted it, and holds the amount that was asked;
    no two transactions carry the same marker.
(b) Every order's paid, credited, credit applied and open amounts (qbo_integration/selectors/money.order_money) equal
    the ones QuickBooks' transactions add up to (docs/quickbooks/money.md#what-the-order-shows)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal

from loadtest.soak.common import money, order_key
from orders.models import Order, OrderLine
from qbo_integration.documents.reading import is_voided
from qbo_integration.models import QboMoney, QboSyncJob
from qbo_integration.selectors.money import order_money

ZERO = Decimal("0.00")
MONEY_MARKER = re.compile(r"\[kadouri-money:([0-9a-f-]{36})\]")
# What each money action writes in QuickBooks (a credit is applied through a Payment linking the credit memo).
WRITES = {
    "record_payment": "Payment",
    "issue_credit": "CreditMemo",
    "apply_credit": "Payment",
    "refund_credit": "RefundReceipt",
    "create_sales_receipt": "SalesReceipt",
}
MONEY_ACTIONS = (*WRITES, "delete_payment")
RACE_REFUSALS = ("refused", "validation")  # a money job refused when it ran: Kadouri's check, or QuickBooks'
MONEY_ENTITIES = ("Payment", "CreditMemo", "RefundReceipt", "SalesReceipt")


def linked_amounts(payment: dict, txn_type: str) -> dict[str, Decimal]:
    """A payment's line amounts by the id of the `txn_type` each line links."""
    found: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == txn_type:
                found[str(link.get("TxnId"))] += money(line.get("Amount") or 0)
    return found


def payment_parts(payment: dict) -> dict[str, tuple[Decimal, Decimal]]:
    """What a payment puts on each invoice it links: (money, credit). Its credit-memo lines are one pool spent on all
    its invoices, shared in proportion to what it puts on each, in cents, the last invoice taking the remainder
    (QuickBooks does not say which memo went where; a Kadouri or bookkeeper payment links one invoice anyway)."""
    invoices = linked_amounts(payment, "Invoice")
    whole = sum(invoices.values(), ZERO)
    pool = min(sum(linked_amounts(payment, "CreditMemo").values(), ZERO), whole)
    parts, given = {}, ZERO
    for n, (invoice_id, amount) in enumerate(invoices.items()):
        share = pool - given if n == len(invoices) - 1 else money(pool * amount / whole) if whole else ZERO
        given += share
        parts[invoice_id] = (amount - share, share)
    return parts


class MoneyBooks:
    """The emulator's money transactions as the checks look them up."""

    def __init__(self, dump: dict, numbers: dict[str, int]) -> None:
        entities = dump["entities"]
        self.docs = {entity: entities.get(entity, []) for entity in MONEY_ENTITIES}
        self.deleted = {(d["entity"], d["Id"]) for d in dump.get("deleted", [])}
        self.by_marker: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for entity, docs in self.docs.items():
            for doc in docs:
                for marker in MONEY_MARKER.findall(str(doc.get("PrivateNote") or "")):
                    self.by_marker[marker].append((entity, doc))
        self.receipts: dict[str, list[dict]] = defaultdict(list)
        for receipt in self.docs["SalesReceipt"]:
            self.receipts[order_key(receipt, numbers)].append(receipt)
        self.on_invoice: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
        for payment in self.docs["Payment"]:
            for invoice_id, part in payment_parts(payment).items():
                self.on_invoice[invoice_id].append(part)

    def credited(self, number: str) -> Decimal:
        tag = re.compile(rf"Kadouri order {re.escape(number)}(?![\w-])")
        memos = [m for m in self.docs["CreditMemo"] if tag.search(str(m.get("PrivateNote") or "")) and not is_voided(m)]
        return sum((money(m.get("TotalAmt") or 0) for m in memos), ZERO)


def check_money(dump: dict, orders: dict[int, Order], numbers: dict[str, int]) -> tuple[dict[str, str], list[str]]:
    books = MoneyBooks(dump, numbers)
    figures: dict[str, str] = {}
    violations: list[str] = []
    problems, outcome = _each_job_once(books, orders)
    duplicates = {m: [f"{e} {d['Id']}" for e, d in docs] for m, docs in books.by_marker.items() if len(docs) > 1}
    figures["Money once in QuickBooks"] = (
        f"{outcome['once']}/{outcome['jobs']} done money jobs found exactly once with the amount asked "
        f"({', '.join(f'{k} {v}' for k, v in sorted(outcome['by_action'].items()))}); deleted by Kadouri "
        f"{outcome['deleted by Kadouri']}; amounts Kadouri chose {outcome['amount chosen']}; markers on two or more "
        f"transactions {len(duplicates)}; money jobs refused when they ran {outcome['failed']} (none wrote anything: "
        f"{'yes' if not any('yet wrote' in p for p in problems) else 'NO'})"
    )
    if problems:
        violations.append(f"{len(problems)} Kadouri money actions not exactly once as asked: {problems[:8]}")
    if duplicates:
        violations.append(f"{len(duplicates)} markers on more than one transaction: {list(duplicates.items())[:5]}")
    mismatches, compared = _orders_equal(books, dump, orders)
    figures["Money equals QuickBooks"] = (
        f"{compared - len(mismatches)}/{compared} orders' paid, credited, credit applied and open equal QuickBooks'; "
        f"QuickBooks holds {', '.join(f'{len(v)} {k}' for k, v in books.docs.items())}"
    )
    if mismatches:
        violations.append(f"{len(mismatches)} orders' money differs from QuickBooks: {mismatches[:8]}")
    return figures, violations


def _each_job_once(books: MoneyBooks, orders: dict[int, Order]) -> tuple[list[str], Counter]:  # noqa: C901
    outcome: Counter = Counter()
    by_action: Counter = Counter()
    problems = []
    jobs = QboSyncJob.objects.filter(action__in=MONEY_ACTIONS)
    for job in jobs.filter(state=QboSyncJob.State.FAILED):
        outcome["failed"] += 1
        written = books.by_marker.get(str(job.params.get("marker") or ""), [])
        if written:
            problems.append(f"{job.action} #{job.pk} failed ({job.last_error[:80]}) yet wrote {len(written)}")
    deleted_by_kadouri = {
        (row.entity, row.qbo_id)
        for row in QboMoney.objects.filter(state__in=[QboMoney.State.DELETED, QboMoney.State.VOIDED])
        if row.order_id
        and QboSyncJob.objects.filter(
            order_id=row.order_id, action__in=["delete_payment", "void_document"], state=QboSyncJob.State.DONE
        ).exists()
    }
    for job in jobs.filter(state=QboSyncJob.State.DONE).exclude(action="delete_payment"):
        outcome["jobs"] += 1
        entity, marker = WRITES[job.action], str(job.params.get("marker") or "")
        order = orders.get(job.order_id)
        found = [doc for e, doc in books.by_marker.get(marker, []) if e == entity]
        if not found and entity == "SalesReceipt" and order is not None:
            found = books.receipts.get(order.number, [])
        label = f"{job.action} #{job.pk} (order {order.number if order else '?'}, marker {marker[:8]})"
        if not found:
            gone = {r.qbo_id for r in QboMoney.objects.filter(request_id=job.request_id, entity=entity)}
            if gone and all((entity, i) in books.deleted and (entity, i) in deleted_by_kadouri for i in gone):
                outcome["deleted by Kadouri"] += 1
                by_action[job.action] += 1
                outcome["once"] += 1
                continue
            problems.append(f"{label}: not in QuickBooks (deleted: {sorted(gone & {i for _, i in books.deleted})})")
            continue
        if len(found) > 1:
            problems.append(f"{label}: {len(found)} transactions {[d['Id'] for d in found]}")
            continue
        doc = found[0]
        if is_voided(doc) and (entity, doc["Id"]) not in deleted_by_kadouri:
            problems.append(f"{label}: {entity} {doc['Id']} is voided and Kadouri did not void it")
            continue
        asked, got = _asked_and_got(job, entity, doc, order)
        if asked is None:
            outcome["amount chosen"] += 1
        elif asked != got:
            problems.append(f"{label}: asked {asked}, QuickBooks has {got} ({entity} {doc['Id']})")
            continue
        by_action[job.action] += 1
        outcome["once"] += 1
    outcome["by_action"] = by_action
    return problems, outcome


def _asked_and_got(job: QboSyncJob, entity: str, doc: dict, order: Order | None) -> tuple[Decimal | None, Decimal]:
    """The amount the job asked for (None when Kadouri chose it: a credit applied or refunded in full) and what
    QuickBooks holds for it. Credits by lines and cash sales compare before tax: QuickBooks adds its own."""
    params = job.params or {}
    items = [line for line in doc.get("Line") or [] if line.get("DetailType") == "SalesItemLineDetail"]
    lines_total = sum((money(line.get("Amount") or 0) for line in items), ZERO)
    if job.action == "create_sales_receipt":
        sold = sum((line.amount for line in OrderLine.objects.filter(order=order)), ZERO) if order else None
        return sold, lines_total
    if job.action == "issue_credit":
        # By lines: what the order's lines are worth at the quantities asked, worked out here again
        by_id = {line.pk: line for line in OrderLine.objects.filter(order=order)} if order else {}
        by_lines = [w for w in params.get("lines") or [] if (w.get("lineId") or w.get("line_id")) and w.get("quantity")]
        if by_lines:
            asked = sum(
                (
                    money(by_id[int(w.get("lineId") or w["line_id"])].unit_price * Decimal(str(w["quantity"])))
                    if int(w.get("lineId") or w["line_id"]) in by_id
                    else ZERO
                    for w in by_lines
                ),
                ZERO,
            )
            return asked, lines_total
        return (money(params["amount"]) if params.get("amount") else None), lines_total
    if job.action == "apply_credit":
        applied = sum(linked_amounts(doc, "CreditMemo").values(), ZERO)
        return (money(params["amount"]) if params.get("amount") else None), applied
    total = money(doc.get("TotalAmt") or 0)
    return (money(params["amount"]) if params.get("amount") else None), total


def _orders_equal(books: MoneyBooks, dump: dict, orders: dict[int, Order]) -> tuple[list[str], int]:
    invoices = {i["Id"]: i for i in dump["entities"]["Invoice"]}
    receipts = {r["Id"]: r for r in books.docs["SalesReceipt"]}
    mismatches, compared = [], 0
    for order in orders.values():
        if not order.qbo_doc_id or order.qbo_link_problem:
            continue
        if order.qbo_doc_type == Order.DocType.INVOICE and order.qbo_doc_id in invoices:
            invoice = invoices[order.qbo_doc_id]
            parts = books.on_invoice.get(invoice["Id"], [])
            paid = sum((p for p, _ in parts), ZERO)
            applied = sum((c for _, c in parts), ZERO)
            expect = (paid, books.credited(order.number), applied, money(invoice.get("Balance") or 0))
        elif order.qbo_doc_type == Order.DocType.SALES_RECEIPT and order.qbo_doc_id in receipts:
            receipt = receipts[order.qbo_doc_id]
            paid = ZERO if is_voided(receipt) else money(receipt.get("TotalAmt") or 0)
            expect = (paid, books.credited(order.number), ZERO, ZERO)
        else:
            continue  # an estimate, or a document the first checks already found missing
        compared += 1
        shown = order_money(order)
        got = (shown.paid, shown.credited, shown.credit_applied, shown.open)
        if got != expect:
            mismatches.append(
                f"{order.number}: Kadouri paid/credited/applied/open {'/'.join(map(str, got))} vs QuickBooks "
                f"{'/'.join(map(str, expect))}"
            )
    return mismatches, compared
