"""Phases that run inside the soak's environment (its database): `python -m loadtest.soak --phase seed|tick|check`.
Each prints one line, `SOAK-JSON {…}`, that the orchestrator reads. Imported once Django is set up."""

from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings as dj
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from loadtest.soak.broker_checks import check_broker
from loadtest.soak.common import money, order_key
from loadtest.soak.companies import buyer_extras, order_extras, product_extras
from loadtest.soak.money_checks import MONEY_ACTIONS, RACE_REFUSALS, check_money
from orders.models import Order, OrderActivity
from orders.services import LineInput, order_create
from products.models import Product
from qbo_integration.documents.reading import is_voided as invoice_is_voided
from qbo_integration.inbound import inbox
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.models import BulkPush, QboConnection, QboSyncJob, QboWebhookEvent
from qbo_integration.outbound.runners import qbo_jobs_process_due


def run_phase(opts: dict) -> None:
    data = PHASES[opts["phase"]](opts)
    print("SOAK-JSON " + json.dumps(data, default=str))


def seed(opts: dict) -> dict:
    rng = random.Random(opts["seed"])
    password = os.environ["SOAK_PASSWORD"]
    User = get_user_model()
    with transaction.atomic():
        User.objects.create_superuser("soak-admin", password=password, first_name="Soak", last_name="Admin")
        staff = [
            User.objects.create_user(
                f"soak-staff-{n}", password=password, first_name="Staff", last_name=str(n), is_staff=True
            )
            for n in range(3)
        ]
        sellers = [
            Account.objects.create(name=f"Soak Seller {n:02d} Growers", code=f"SS{n:02d}")
            for n in range(opts["sellers"])
        ]
        fruit = ["Avocado", "Mango", "Lime", "Tomato", "Pepper", "Onion", "Grape", "Melon", "Kale", "Berry"]
        buyers = [
            Account.objects.create(
                **{
                    "name": f"Soak Buyer {n:03d} {rng.choice(['Market', 'Foods', 'Grocers', 'Café', 'Produce'])}",
                    "code": f"SB{n:03d}",
                    "email": f"buyer{n}@example.com",
                    "phone": "555-0100",
                    "address_line1": f"{n} Market Street",
                    "city": "Los Angeles",
                    "region": "CA",
                    "postal_code": "90021",
                }
                | buyer_extras(opts["company"], n)
            )
            for n in range(opts["buyers"])
        ]
        products = [
            Product.objects.create(
                name=f"Soak {fruit[n % len(fruit)]} {n:03d}",
                sku=f"SK{n:03d}",
                unit_price=Decimal(rng.randrange(150, 9000)) / 100,
                **product_extras(opts["company"], n),
            )
            for n in range(opts["products"])
        ]
        orders, lines, estimates, cash = [], 0, [], []
        cash_every = max(1, round(1 / opts["cash_share"])) if opts["cash_share"] > 0 else 0
        for n in range(opts["orders"]):
            chosen = rng.sample(products, rng.randint(1, 4))
            as_estimate = rng.random() < opts["estimate_share"]
            as_cash = not as_estimate and cash_every and n % cash_every == 3
            buyer = buyers[n % len(buyers)] if n < len(buyers) else rng.choice(buyers)
            order = order_create(
                fields={
                    **order_extras(opts["company"], buyer, rng),
                    "seller": rng.choice(sellers),
                    "buyer": buyer,
                    "order_date": timezone.localdate() - timedelta(days=rng.randrange(0, 20)),
                    "terms": rng.choice(Order.Terms.values),
                    "notes": f"Soak order {n}",
                    "commission_rate": Decimal(rng.randrange(0, 1000)) / 100,
                    "ready_to_push": not as_estimate and not as_cash,
                },
                lines=[
                    LineInput(
                        product=p,
                        quantity=Decimal(rng.randrange(1, 400)),
                        unit_price=p.unit_price,  # typed in: a foreign-currency order has no list price to fall on
                        size=rng.choice(["", "48ct", "10 lb"]),
                        grade=rng.choice(["", "No. 1", "Fancy"]),
                    )
                    for p in chosen
                ],
                by=rng.choice(staff),
            )
            orders.append(order)
            estimates += [order.pk] if as_estimate else []
            cash += [order.pk] if as_cash else []
            lines += len(chosen)
    return {
        "orders": [o.pk for o in orders],
        "estimates": estimates,
        "cash": cash,
        "numbers": {o.number: o.pk for o in orders},
        "buyers": [b.name for b in buyers],
        "products": len(products),
        "lines": lines,
    }


def tick(opts: dict) -> dict:
    """What the worker's schedules run, triggered now."""
    ran = qbo_jobs_process_due(limit=500)
    processed = inbox.inbox_process_due()
    active = QboSyncJob.objects.filter(state__in=["pending", "running"])
    next_due = active.filter(state="pending").order_by("not_before").values_list("not_before", flat=True).first()
    pending_events = QboWebhookEvent.objects.filter(status__in=["pending", "processing"])
    next_event = pending_events.order_by("not_before").values_list("not_before", flat=True).first()
    dues = [d for d in (next_due, next_event) if d is not None]
    return {
        "ran": ran,
        "processed": processed,
        "jobs_active": active.count(),
        "inbox_pending": pending_events.count(),
        "bulk_active": BulkPush.objects.filter(state__in=["queued", "running"]).count(),
        "next_due_in": min(((d - timezone.now()).total_seconds() for d in dues), default=1.0),
    }


def check(opts: dict) -> dict:  # noqa: C901  (one list of checks, read top to bottom)
    work = Path(opts["work_dir"])
    whole_dump = json.loads((work / "dump.json").read_text())
    dump = whole_dump["entities"]
    actions = json.loads((work / "actions.json").read_text())
    extra_secrets = json.loads((work / "secrets.json").read_text())
    cash_ids = json.loads((work / "money.json").read_text())["cash_ids"]
    violations: list[str] = []
    figures: dict[str, str] = {}

    orders = {o.pk: o for o in Order.objects.all()}
    by_number = {o.number: o for o in orders.values()}
    invoices = dump["Invoice"]
    docs: dict[str, list[dict]] = defaultdict(list)
    numbers = {o.number: o.pk for o in orders.values()}
    for invoice in invoices:
        docs[order_key(invoice, numbers)].append(invoice | {"_type": "invoice"})
    for receipt in dump.get("SalesReceipt", []):  # a cash sale is its order's document (the bookkeeper's: no order's)
        if order_key(receipt, numbers) in by_number:
            docs[order_key(receipt, numbers)].append(receipt | {"_type": "sales_receipt"})
    # A cash sale Kadouri refused before any job was made (409, 422, 503) leaves its order a draft with no document.
    cash_jobs = set(QboSyncJob.objects.filter(action="create_sales_receipt").values_list("order_id", flat=True))
    refused_cash = {
        o.number for o in orders.values() if o.pk in set(cash_ids) and o.pk not in cash_jobs and not docs.get(o.number)
    }
    for estimate in dump["Estimate"]:  # keyed by their order's number, however QuickBooks numbered them
        estimate["_order"] = order_key(estimate, numbers)

    # 1. exactly one QuickBooks document per order
    per_order = Counter(min(len(docs.get(o.number, [])), 2) for o in orders.values() if o.number not in refused_cash)
    orphans = [n for n in docs if n not in by_number]
    unlinked = [
        o.number
        for o in orders.values()
        if len(docs.get(o.number, [])) == 1
        and (o.qbo_doc_type, o.qbo_doc_id) != (docs[o.number][0]["_type"], docs[o.number][0]["Id"])
    ]
    wrong_links = [o.number for o in orders.values() if o.qbo_link_problem]
    estimated = set(OrderActivity.objects.filter(activity_type="estimate_created").values_list("order_id", flat=True))
    converted = {
        e["_order"]
        for e in dump["Estimate"]
        if e.get("TxnStatus") == "Closed"
        and e["_order"] in by_number
        and any(
            link.get("TxnType") == "Invoice" and link.get("TxnId") == by_number[e["_order"]].qbo_doc_id
            for link in e.get("LinkedTxn") or []
        )
    }
    estimates = [
        e
        for e in dump["Estimate"]
        if e["_order"] in by_number and (by_number[e["_order"]].pk not in estimated or e["_order"] not in converted)
    ]
    figures["One document per order"] = (
        f"{per_order[1]}/{len(orders) - len(refused_cash)} orders have exactly one invoice or cash sale "
        f"(none: {per_order[0]}, two or more: {per_order[2]}; cash sales refused before any job: {len(refused_cash)}); "
        f"{len(invoices)} invoices in QuickBooks, {len(orphans)} not an order's, "
        f"{len(unlinked)} not linked to their order; {len(estimated)} orders went "
        f"as estimates, {len(converted)} converted into their own invoice, "
        f"{len(estimates)} estimates not accounted for; wrong links {len(wrong_links)}"
    )
    if per_order[1] != len(orders) - len(refused_cash):
        missing = [
            o.number for o in orders.values() if len(docs.get(o.number, [])) != 1 and o.number not in refused_cash
        ][:10]
        violations.append(
            f"{len(orders) - len(refused_cash) - per_order[1]} orders do not have exactly one QuickBooks invoice or "
            f"cash sale: {missing}"
        )
    inconsistent = [v for o in orders.values() for v in order_invariant_violations(o)]
    figures["Order invariants"] = (
        f"{len(orders) - len({v.split(':')[0] for v in inconsistent})}/{len(orders)} consistent"
    )
    if inconsistent:
        violations.append(f"{len(inconsistent)} order invariant(s) broken: {inconsistent[:5]}")
    if orphans or unlinked or estimates or wrong_links:
        violations.append(
            f"documents not matching an order: orphans {orphans[:5]}, unlinked {unlinked[:5]}, "
            f"estimates not converted into their order's invoice {[e.get('DocNumber') for e in estimates][:5]}, "
            f"wrong links {wrong_links[:5]}"
        )

    # 2. no duplicate customers or items
    customers = Counter(c["DisplayName"].casefold() for c in dump["Customer"])
    items = Counter(i["Name"].casefold() for i in dump["Item"])
    dup_customers = [name for name, n in customers.items() if n > 1]
    dup_items = [name for name, n in items.items() if n > 1]
    buyers = Account.objects.filter(orders_as_buyer__isnull=False).distinct()
    products_used = Product.objects.filter(order_lines__isnull=False).distinct()
    customer_ids = Counter(a.qbo_customer_id for a in Account.objects.exclude(qbo_customer_id__isnull=True))
    item_ids = Counter(p.qbo_item_id for p in Product.objects.exclude(qbo_item_id__isnull=True))
    shared = [i for i, n in list(customer_ids.items()) + list(item_ids.items()) if n > 1]
    soak_customers = [c for c in dump["Customer"] if c["Id"] in customer_ids]
    figures["Customers and items"] = (
        f"{len(dump['Customer'])} customers for {buyers.count()} buyers "
        f"({len(soak_customers)} linked), {len(dump['Item'])} items for "
        f"{products_used.count()} products used; duplicates: "
        f"{len(dup_customers)} customer names, {len(dup_items)} item names, {len(shared)} shared ids"
    )
    if dup_customers or dup_items or shared:
        violations.append(f"duplicates: customers {dup_customers[:5]}, items {dup_items[:5]}, shared ids {shared[:5]}")
    if len(dump["Customer"]) != buyers.count() or len(soak_customers) != buyers.count():
        violations.append(
            f"{len(dump['Customer'])} QuickBooks customers ({len(soak_customers)} linked) for {buyers.count()} buyers"
        )
    if len([i for i in dump["Item"] if i["Id"] in item_ids]) != products_used.count():
        violations.append(f"{len(dump['Item'])} QuickBooks items for {products_used.count()} products used")

    # 3. every order equals QuickBooks: status, balance, payment status
    mismatches = []
    state_counts = Counter()
    for number, order in by_number.items():
        found = docs.get(number, [])
        if len(found) != 1:
            continue
        invoice = found[0]
        total, balance = money(invoice.get("TotalAmt", 0)), money(invoice.get("Balance", 0))
        if invoice_is_voided(invoice):
            expect = ("cancelled", None, Decimal("0.00"))
        elif balance == 0 and total > 0:
            expect = ("paid", "paid", balance)
        elif balance < total:
            expect = ("posted_to_qb", "partial", balance)
        else:
            expect = ("posted_to_qb", "unpaid", balance)
        state_counts[expect[0] + ("" if expect[1] in (None, "paid") else f"/{expect[1]}")] += 1
        got = (order.status, order.payment_status if expect[1] else None, order.qbo_balance)
        # Amounts compare in the document's own currency: TotalAmt, never HomeTotalAmt
        # (docs/quickbooks/next.md#multicurrency).
        currency = str((invoice.get("CurrencyRef") or {}).get("value") or "")
        if expect[0] != "cancelled" and (order.qbo_total, order.qbo_currency) != (total, currency):
            mismatches.append(
                f"{number}: Kadouri total {order.qbo_currency} {order.qbo_total} vs QuickBooks {currency} {total}"
            )
        if got != expect:
            mismatches.append(
                f"{number}: Kadouri {got[0]}/{order.payment_status}/{order.qbo_balance} vs QuickBooks "
                f"{expect[0]}/{expect[1]}/{expect[2]} (total {total})"
            )
        # Including tax: Kadouri keeps QuickBooks' total and its tax as QuickBooks computed them (never its own)
        tax = money((invoice.get("TxnTaxDetail") or {}).get("TotalTax", 0))
        if got == expect and (order.qbo_total, order.qbo_tax_total or Decimal("0.00")) != (total, tax):
            mismatches.append(
                f"{number}: Kadouri total {order.qbo_total} tax {order.qbo_tax_total} vs QuickBooks {total} tax {tax}"
            )
    figures["Orders equal QuickBooks"] = (
        f"{sum(state_counts.values()) - len(mismatches)}/{sum(state_counts.values())} "
        f"match (status, balance, payment status, total and tax); QuickBooks states {dict(state_counts)}"
    )
    if mismatches:
        violations.append(f"{len(mismatches)} orders differ from QuickBooks: {mismatches[:8]}")

    # 4. every bookkeeper change reflected
    invoice_by_id = {i["Id"]: i for i in invoices}
    expected_by_plan = {
        "pay_full": "paid",
        "pay_partial_then_full": "paid",
        "pay_partial": "partial",
        "void": "cancelled",
        "pay_then_delete": "unpaid",
    }
    # An invoice Kadouri moved money on as well (a credit issued on the bookkeeper's paid order is applied to it when
    # the bookkeeper's payment is deleted meanwhile, as the issue asks) no longer ends where the bookkeeper left it;
    # "Orders equal QuickBooks" above still holds it to QuickBooks.
    kadouri_moved = set(
        QboSyncJob.objects.filter(action__in=MONEY_ACTIONS, state=QboSyncJob.State.DONE).values_list(
            "order_id", flat=True
        )
    )
    reflected, missed = Counter(), []
    for plan, expected in expected_by_plan.items():
        ids = {a["invoice_id"] for a in actions if a["plan"] == plan and a.get("final")}
        for invoice_id in ids:
            order = by_number.get(order_key(invoice_by_id.get(invoice_id, {}), numbers))
            state = None if order is None else ("cancelled" if order.status == "cancelled" else order.payment_status)
            if state == expected:
                reflected[plan] += 1
            elif order is not None and order.pk in kadouri_moved:
                reflected[f"{plan}, then money from Kadouri"] += 1
            else:
                missed.append(f"{plan} on invoice {invoice_id}: order {order.number if order else '?'} is {state}")
    renames = [a for a in actions if a["plan"] == "rename"]
    accounts = {a.qbo_customer_id: a for a in Account.objects.exclude(qbo_customer_id__isnull=True)}
    names = {c["Id"]: c["DisplayName"] for c in dump["Customer"]}
    for action in renames:
        account = accounts.get(action["customer_id"])
        if account is not None and account.name == action["display_name"]:
            reflected["rename"] += 1
        else:
            missed.append(
                f"rename of customer {action['customer_id']} to {action['display_name']!r}: account shows "
                f"{account.name if account else None!r}"
            )
    name_drift = [
        f"{a.code}: {a.name!r} vs {names.get(cid)!r}" for cid, a in accounts.items() if names.get(cid) != a.name
    ]
    total_changes = sum(1 for a in actions if a.get("final") and a["plan"] in {*expected_by_plan, "rename"})
    figures["QuickBooks changes reflected"] = (
        f"{sum(reflected.values())}/{total_changes} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(reflected.items()))}); "
        f"account names differing from QuickBooks: {len(name_drift)}"
    )
    if missed:
        violations.append(f"{len(missed)} QuickBooks changes not reflected: {missed[:8]}")
    if name_drift:
        violations.append(f"account names differ from QuickBooks DisplayNames: {name_drift[:5]}")

    # 5. nothing stuck
    jobs = Counter(QboSyncJob.objects.values_list("state", flat=True))
    events = Counter(QboWebhookEvent.objects.values_list("status", flat=True))
    sources = Counter(QboWebhookEvent.objects.values_list("source", flat=True))
    bulks = list(BulkPush.objects.order_by("id").values_list("id", "state", "total", "succeeded", "failed"))
    attempts = Counter(QboSyncJob.objects.values_list("attempts", flat=True))
    figures["Sync jobs"] = (
        f"{dict(jobs)}; attempts per job {dict(sorted(attempts.items()))}; "
        f"in doubt {QboSyncJob.objects.filter(in_doubt=True).count()}"
    )
    figures["Inbox events"] = f"{dict(events)} by source {dict(sources)}"
    figures["Bulk pushes"] = "; ".join(f"#{b[0]} {b[1]} {b[3]} ok {b[4]} failed of {b[2]}" for b in bulks)
    if jobs["pending"] or jobs["running"]:
        violations.append(f"jobs stuck: {jobs['pending']} pending, {jobs['running']} running")
    # A money job refused when it ran — QuickBooks' balance had moved under it (a bookkeeper paid the invoice
    # meanwhile) — is an outcome Kadouri may give; the money checks prove it wrote nothing.
    failed = QboSyncJob.objects.filter(state="failed").exclude(action__in=MONEY_ACTIONS, error_kind__in=RACE_REFUSALS)
    if failed.exists():
        reasons = Counter(failed.values_list("last_error", flat=True))
        violations.append(f"{failed.count()} sync jobs failed: {reasons.most_common(3)}")
    if events["pending"] or events["processing"] or events["failed"]:
        failed = list(
            QboWebhookEvent.objects.filter(status="failed").values_list("entity", "entity_id", "last_error")[:3]
        )
        violations.append(
            f"inbox not clean: {events['pending']} pending, {events['processing']} processing, "
            f"{events['failed']} failed {failed}"
        )
    if any(b[1] in ("queued", "running") for b in bulks):
        violations.append(f"bulk push stuck: {[b for b in bulks if b[1] in ('queued', 'running')]}")

    # 6. the activity log tells each order's story
    activity = defaultdict(list)
    for order_id, kind, at, text in OrderActivity.objects.order_by("created_at", "id").values_list(
        "order_id", "activity_type", "created_at", "description"
    ):
        activity[order_id].append((kind, at, text))
    story = Counter()
    gaps = []
    for order in orders.values():
        # An invoice is created once: directly, or by converting the order's estimate; a cash sale is its creation.
        kinds = ["invoice_created" if k in ("estimate_converted", "cash_sale") else k for k, _, _ in activity[order.pk]]
        # Money received: a payment from QuickBooks, one recorded in Kadouri, a credit applied; a cash sale is paid
        paid_kinds = {"payment_received", "payment_recorded", "credit_applied"}
        if order.qbo_doc_type == "sales_receipt":
            paid_kinds.add("invoice_created")
        created = kinds.count("invoice_created")
        if order.qbo_doc_id:
            story["pushed"] += 1
            if created == 1:
                story["one creation entry"] += 1
            else:
                gaps.append(f"{order.number}: {created} invoice_created entries")
        if order.status == "paid" or order.payment_status == "partial":
            story["paid or partial"] += 1
            first_paid = next((i for i, k in enumerate(kinds) if k in paid_kinds), None)
            if first_paid is not None and (created == 0 or kinds.index("invoice_created") <= first_paid):
                story["payment entry after creation"] += 1
            else:
                gaps.append(
                    f"{order.number}: {order.status}/{order.payment_status} without a payment entry after its creation "
                    f"({kinds})"
                )
        if order.status == "cancelled":
            story["voided"] += 1
            if "invoice_voided" in kinds:
                story["void entry"] += 1
            else:
                gaps.append(f"{order.number}: cancelled without a void entry ({kinds})")
    figures["Activity log"] = ", ".join(f"{k} {v}" for k, v in story.items())
    if gaps:
        violations.append(f"{len(gaps)} orders whose activity log misses part of the story: {gaps[:6]}")

    # 7. secrets in the logs
    conn = QboConnection.objects.first()
    wanted = {
        "access token": conn.access_token if conn else "",
        "refresh token": conn.refresh_token if conn else "",
        "client secret": dj.QBO_CLIENT_SECRET,
        "verifier token": dj.QBO_WEBHOOK_VERIFIER_TOKEN,
        "SECRET_KEY": dj.SECRET_KEY,
        **extra_secrets,
    }
    wanted = {k: v for k, v in wanted.items() if v and len(v) >= 8}
    hits = Counter()
    logs = sorted((work / "logs").glob("*.log"))
    size = 0
    for path in logs:
        text = path.read_text(errors="replace")
        size += len(text)
        for name, value in wanted.items():
            if value in text:
                hits[f"{name} in {path.name}"] += text.count(value)
    figures["Secrets in logs"] = (
        f"{sum(hits.values())} occurrences of {len(wanted)} secrets "
        f"({', '.join(sorted(wanted))}) in {len(logs)} logs, {size / 1e6:.1f} MB"
    )
    if hits:
        violations.append(f"secrets found in logs: {dict(hits)}")
    tracebacks = {p.name: p.read_text(errors="replace").count("Traceback (most recent call last)") for p in logs}
    figures["Tracebacks in logs"] = ", ".join(f"{k} {v}" for k, v in tracebacks.items() if v) or "none"
    money_figures, money_violations = check_money(whole_dump, orders, numbers)
    figures |= money_figures
    violations += money_violations
    broker_figures, broker_violations = check_broker(whole_dump, orders)
    figures |= broker_figures
    violations += broker_violations
    return {"figures": figures, "violations": violations}


PHASES = {"seed": seed, "tick": tick, "check": check}
