"""The cashier: money from Kadouri through the JSON API while the faults are on (issue 12,
docs/quickbooks/money.md) — payments on posted invoices (part, then the rest), some submitted twice with the same
Idempotency-Key (one after the other or at the same moment), payments deleted by an admin, cash sales of the orders
kept for them, credits (a whole line, part of a quantity, an amount) on posted or paid orders, a buyer's credit
applied to another of their open orders, and credits refunded to the Checking account.

Every answer is recorded by kind: 200, 202, 409 and 422 are outcomes Kadouri may rightly give (and 502/503, QuickBooks
refusing or unreachable for the moment); anything else — a 500 above all — is a violation."""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from loadtest.soak.common import Run, Seeded, cashiers_order, money, realm_of
from loadtest.soak.processes import Cluster

LEGITIMATE = {200, 202, 409, 422, 502, 503}
REASONS = ("rejected", "damaged", "short_shipped", "price_adjustment", "other")
CASH_METHOD = "1"  # the emulator's seeded PaymentMethod "Cash"
API = "/api/quickbooks/sync"
# As a person waits for an order's "QuickBooks is working on it" to go before the next click: the cashier picks orders
# with no job queued or running (a 409 still comes when one starts between the look and the click).
IDLE = "NOT EXISTS (SELECT 1 FROM quickbooks_sync_jobs j WHERE j.order_id = {} AND j.state IN ('pending', 'running'))"


def money_plan(orders: int, cash: int) -> dict[str, int]:
    return {
        "pay_partial": max(2, round(orders * 0.08)),
        "pay_rest": max(1, round(orders * 0.05)),
        "delete_payment": max(1, round(orders * 0.02)),
        "cash_sale": cash,
        "credit": max(3, round(orders * 0.06)),
        "apply_credit": max(1, round(orders * 0.02)),
        "refund_credit": max(1, round(orders * 0.02)),
    }


class Cashier:
    def __init__(self, cluster: Cluster, seed: int, run_state: Run, seeded: Seeded) -> None:
        self.cluster, self.seed, self.run_state, self.seeded = cluster, seed, run_state, seeded
        self.plan = money_plan(len(seeded.order_ids), len(seeded.cash_ids))
        self.done: Counter = Counter()  # actions per kind Kadouri took on (200 or 202)
        self.touched: set[int] = set()  # orders a payment or credit was already asked for
        self.credited: set[str] = set()  # credits already applied or refunded
        self.next_credit_for_apply = 0.0
        self.doubled = False  # the first request of the run is always sent twice: every run proves it once
        self.rng = random.Random(seed + 12)

    def plan_done(self) -> bool:
        return all(self.done[k] >= v for k, v in self.plan.items())

    # ---- the loop ---------------------------------------------------------------------------------

    def run(self, deadline: float) -> None:
        try:
            self.staff = self.cluster.session("soak-staff-1")
            self.twin = self.cluster.session("soak-staff-1")
            self.admin = self.cluster.session("soak-admin")
            books = self.cluster.emu("GET", f"companies/{realm_of(self.cluster.opts)}")["entities"]
            self.checking = next(a["Id"] for a in books["Account"] if a.get("Name") == "Checking")
        except Exception as e:  # noqa: BLE001  (recorded, and a violation)
            self._record("start", 0, 0, f"{e.__class__.__name__}: {e}")
            return
        cash = [(order_id, 0) for order_id in self.seeded.cash_ids]  # (order id, tries)
        rests: list[tuple[float, int, int]] = []  # (due, order id, tries): the rest of a part payment, a little later
        while not self.run_state.stop_bookkeeper.is_set() and time.monotonic() < deadline and not self.plan_done():
            if cash:
                order_id, tries = cash.pop(0)
                if self._cash_sale(order_id) in (0, 409, 503) and tries < 5:
                    cash.append((order_id, tries + 1))  # busy or unreachable for now: again in a moment
            now = time.monotonic()
            for due, order_id, tries in [r for r in rests if r[0] <= now]:
                rests.remove((due, order_id, tries))
                if self.done["pay_rest"] >= self.plan["pay_rest"]:
                    continue
                if not self._idle(order_id):
                    rests.append((now + 2, order_id, tries))  # the part payment's job is still queued
                elif not self._pay_rest(order_id) and tries < 5:
                    rests.append((now + 5, order_id, tries + 1))
            posted = self._orders("status = 'posted_to_qb' AND qbo_balance > 0")
            self.rng.shuffle(posted)
            fresh = [row for row in posted if row[0] not in self.touched and cashiers_order(row[0])]
            if fresh and self.done["pay_partial"] < self.plan["pay_partial"]:
                order_id = fresh[0][0]
                if self._pay_part(order_id):
                    rests.append((now + self.rng.uniform(1, 4), order_id, 0))
            if self.done["delete_payment"] < self.plan["delete_payment"]:
                self._delete_a_payment()
            applied = self.done["apply_credit"] >= self.plan["apply_credit"] or self._apply_a_credit()
            if self.done["credit"] < self.plan["credit"]:
                # A credit on an open invoice is applied to it: only on the cashier's own orders, so the bookkeeper's
                # stay as it left them; on a paid order it stays the buyer's (then applied elsewhere or refunded)
                ours = [row for row in posted if cashiers_order(row[0])]
                paid_or_posted = ours + self._orders("status = 'paid'") * 2
                if paid_or_posted:
                    self._credit(self.rng.choice(paid_or_posted)[0])
            elif not applied and now > self.next_credit_for_apply:
                # No credit left has an open order to go to: a credit for a buyer who has one (every 5 s at most)
                self.next_credit_for_apply = now + 5
                buyers = {row[1] for row in posted if cashiers_order(row[0])}
                paid = [row for row in self._orders("status = 'paid'") if row[1] in buyers]
                if paid:
                    self._credit(self.rng.choice(paid)[0], force=True)
            if self.done["refund_credit"] < self.plan["refund_credit"] and (applied or self.rng.random() < 0.3):
                self._refund_a_credit()  # mostly once the applications are done: both draw on the credits left
            time.sleep(self.rng.uniform(0.2, 0.6))

    # ---- the actions -------------------------------------------------------------------------------

    def _cash_sale(self, order_id: int) -> int:
        body = {"docType": "salesReceipt", "method": CASH_METHOD, "reference": f"TILL {order_id}"}
        double = self.rng.random() < 0.3
        return self._submit("cash_sale", order_id, "POST", f"{API}/order/{order_id}", body, double=double)

    def _pay_part(self, order_id: int) -> bool:
        balance = self._balance(order_id)
        if balance is None or balance < Decimal("0.02"):
            return False
        self.touched.add(order_id)
        amount = max(money(balance * Decimal(str(self.rng.uniform(0.2, 0.6)))), Decimal("0.01"))
        body = {"amount": str(amount), "method": self.rng.choice(["1", "2", "3"]), "reference": f"CHK {order_id}"}
        status = self._submit(
            "pay_partial", order_id, "POST", f"{API}/order/{order_id}/payments", body, double=self.rng.random() < 0.3
        )
        return status in (200, 202)

    def _pay_rest(self, order_id: int) -> bool:
        balance = self._balance(order_id)
        if balance is None:
            return True
        if balance <= 0:
            return True  # paid meanwhile (a credit applied to it)
        body = {"amount": str(balance), "method": "2", "reference": f"CHK {order_id}-2"}
        status = self._submit(
            "pay_rest", order_id, "POST", f"{API}/order/{order_id}/payments", body, double=self.rng.random() < 0.3
        )
        return status != 409

    def _delete_a_payment(self) -> None:
        rows = self.cluster.db.rows(
            "SELECT m.order_id, m.qbo_id FROM quickbooks_money m WHERE m.entity = 'Payment' AND m.state = 'active' "
            "AND m.recorded_in_kadouri AND m.credit_applied = 0 AND m.order_id IS NOT NULL AND "
            + IDLE.format("m.order_id")
        )
        if not rows:
            return
        order_id, payment_id = self.rng.choice(rows)
        body = {"reason": "Recorded on the wrong order (soak)"}
        self._submit(
            "delete_payment",
            order_id,
            "DELETE",
            f"{API}/order/{order_id}/payments/{payment_id}",
            body,
            session=self.admin,
        )

    def _credit(self, order_id: int, *, force: bool = False) -> None:
        lines = self.cluster.db.rows("SELECT id, quantity FROM order_lines WHERE order_id = %s ORDER BY id", order_id)
        if not lines or (order_id in self.touched and self.rng.random() < 0.7 and not force):
            return
        self.touched.add(order_id)
        body: dict = {"reason": self.rng.choice(REASONS), "note": "Soak credit"}
        shape = self.rng.choice(("line", "part", "amount"))
        line_id, quantity = self.rng.choice(lines)
        if shape == "line":
            body["lines"] = [{"lineId": line_id, "quantity": str(quantity.normalize())}]
        elif shape == "part" and quantity > 1:
            body["lines"] = [{"lineId": line_id, "quantity": str(max(1, int(quantity * Decimal("0.3"))))}]
        else:
            shape = "amount"
            body["amount"] = str(money(Decimal(self.rng.randrange(100, 5000)) / 100))
        self._submit(
            f"credit_{shape}",
            order_id,
            "POST",
            f"{API}/order/{order_id}/credits",
            body,
            double=self.rng.random() < 0.2,
            counted="credit",
        )

    def _credits_left(self) -> list[tuple]:
        return [
            row
            for row in self.cluster.db.rows(
                "SELECT qbo_id, order_id, account_id, unapplied FROM quickbooks_money "
                "WHERE entity = 'CreditMemo' AND state = 'active' AND unapplied > 0 AND recorded_in_kadouri"
            )
            if row[0] not in self.credited
        ]

    def _apply_a_credit(self) -> bool:
        for credit_id, order_id, buyer_id, remaining in self._credits_left():
            targets = self.cluster.db.rows(
                "SELECT id, qbo_balance FROM orders WHERE buyer_id = %s AND id <> %s AND qbo_doc_type = 'invoice' "
                "AND status = 'posted_to_qb' AND qbo_balance > 0 AND " + IDLE.format("orders.id"),
                buyer_id,
                order_id or 0,
            )
            targets = [row for row in targets if cashiers_order(row[0])]
            if targets:
                target, balance = self.rng.choice(targets)
                self.credited.add(credit_id)
                body = {"orderId": target}
                if self.rng.random() < 0.5:
                    body["amount"] = str(min(money(remaining / 2), money(balance)).max(Decimal("0.01")))
                self._submit(
                    "apply_credit",
                    order_id,
                    "POST",
                    f"{API}/credit/{credit_id}/apply",
                    body,
                    double=self.rng.random() < 0.2,
                )
                return True
        return False

    def _refund_a_credit(self) -> None:
        left = self._credits_left()
        if not left:
            return
        credit_id, order_id, _, remaining = self.rng.choice(left)
        self.credited.add(credit_id)
        body = {"account": self.checking, "method": "2", "reference": f"REFUND {credit_id}"}
        if self.rng.random() < 0.5:
            body["amount"] = str(max(money(remaining / 2), Decimal("0.01")))
        self._submit(
            "refund_credit", order_id, "POST", f"{API}/credit/{credit_id}/refund", body, double=self.rng.random() < 0.2
        )

    # ---- HTTP and the record -----------------------------------------------------------------------------

    def _orders(self, where: str) -> list[tuple]:
        return self.cluster.db.rows(
            f"SELECT id, buyer_id, qbo_balance FROM orders WHERE qbo_doc_type = 'invoice' AND {where} "  # noqa: S608
            "AND qbo_link_problem = '' AND " + IDLE.format("orders.id")
        )

    def _idle(self, order_id: int) -> bool:
        found = self.cluster.db.rows("SELECT 1 FROM orders WHERE id = %s AND " + IDLE.format("orders.id"), order_id)
        return bool(found)

    def _balance(self, order_id: int) -> Decimal | None:
        answer = self._send(self.staff, "GET", f"{API}/order/{order_id}/payments", None, "")
        if not isinstance(answer, requests.Response) or answer.status_code != 200:
            return None
        return Decimal(answer.json()["money"]["open"])

    def _submit(
        self,
        kind: str,
        order_id: int | None,
        method: str,
        path: str,
        body: dict,
        *,
        double: bool = False,
        session: requests.Session | None = None,
        counted: str = "",
    ) -> int:
        """One request — or the same one twice with the same Idempotency-Key, half the time at the same moment."""
        key = uuid.uuid4().hex
        first = session or self.staff
        double, self.doubled = double or not self.doubled, True
        if not double:
            statuses = [self._answer(kind, order_id, first, method, path, body, key)]
        elif self.rng.random() < 0.5:
            with ThreadPoolExecutor(2) as pool:
                statuses = list(
                    pool.map(lambda s: self._answer(kind, order_id, s, method, path, body, key), (first, self.twin))
                )
            self._record(f"{kind} double", order_id, "at once", "")
        else:
            statuses = [self._answer(kind, order_id, first, method, path, body, key) for _ in range(2)]
            self._record(f"{kind} double", order_id, "one after the other", "")
        if any(s in (200, 202) for s in statuses):  # a refusal (409 busy, 422) leaves it to another order
            self.done[counted or kind] += 1
        return statuses[0]

    def _answer(self, kind, order_id, session, method, path, body, key) -> int:
        answer = self._send(session, method, path, body, key)
        if not isinstance(answer, requests.Response):
            self._record(kind, order_id, 0, "")  # the connection broke: the client never knows; legitimate
            return 0
        status, detail = answer.status_code, ""
        if status not in LEGITIMATE:
            detail = f"{kind} {method} {path} {body}: HTTP {status} {answer.text[:200]}"
        elif status >= 400:
            try:
                reason = str(answer.json().get("error") or "")
            except ValueError:
                reason = answer.text
            with self.run_state.lock:  # numbers and amounts out, so the same refusal counts as one
                self.run_state.money_refusals[f"{kind} {status}: {re.sub(r'[0-9][0-9,.-]*', '#', reason)[:90]}"] += 1
        self._record(kind, order_id, status, detail)
        return status

    def _send(self, session, method, path, body, key) -> requests.Response | None:
        headers = {"X-CSRFToken": session.cookies.get("csrftoken", "")}
        if key:
            headers["Idempotency-Key"] = key
        try:
            return session.request(method, f"{self.cluster.app_url}{path}", json=body, headers=headers, timeout=90)
        except requests.RequestException:
            return None

    def _record(self, kind: str, order_id: int | None, status: int | str, detail: str) -> None:
        with self.run_state.lock:
            self.run_state.money_answers[f"{kind}|{status}"] += 1
            if detail:
                self.run_state.money_errors.append(detail)
            if kind == "cash_sale":
                self.run_state.cash_answers.setdefault(order_id, []).append(status)
