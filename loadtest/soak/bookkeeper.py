"""The bookkeeper: records full and partial payments, voids invoices, deletes payments, renames customers and pays
some of the sellers' bills (the broker's own books) in the emulator while the faults are on, at human speed, and
keeps a record of what it did."""

from __future__ import annotations

import random
import time
from collections import Counter
from decimal import Decimal

from loadtest.soak.bookkeeper_money import MONEY_PLANS, BookkeeperMoney, money_plan
from loadtest.soak.common import Run, Seeded, cashiers_order, money, order_key, realm_of
from loadtest.soak.processes import Cluster


class Bookkeeper:
    def __init__(self, cluster: Cluster, seed: int, run_state: Run, seeded: Seeded) -> None:
        self.cluster, self.seed, self.run_state, self.seeded = cluster, seed, run_state, seeded
        self.plan = self._plan() | money_plan(len(seeded.order_ids))
        self.done: Counter = Counter()
        self.money = BookkeeperMoney(seed, seeded, self.plan, self._act)

    def _plan(self) -> dict[str, int]:
        n = len(self.seeded.order_ids)
        return {
            "pay_full": round(n * 0.22),
            "pay_partial": round(n * 0.10),
            "pay_partial_then_full": round(n * 0.05),
            "void": max(1, round(n * 0.06)),
            "pay_then_delete": max(1, round(n * 0.03)),
            "rename": max(1, round(len(self.seeded.buyer_names) * 0.25)),
            "pay_bill": max(1, round(n * 0.08)),  # docs/quickbooks/beyond.md#the-brokers-own-books
        }

    def plan_done(self) -> bool:
        with self.run_state.lock:
            done = Counter(a["plan"] for a in self.run_state.actions if a.get("final"))
        # Money steps count once tried: one the emulator refused is not tried again.
        done |= Counter({k: self.done[k] for k in MONEY_PLANS})
        return all(done[k] >= v for k, v in self.plan.items())

    def run(self, deadline: float) -> None:
        rng = random.Random(self.seed + 7)
        touched: set[str] = set()
        renamed: set[str] = set()
        paid_bills: set[str] = set()
        follow_ups: list[tuple[float, str, dict]] = []  # (due, plan, args): second steps come a little later
        done = self.done
        while not self.run_state.stop_bookkeeper.is_set() and time.monotonic() < deadline:
            try:
                books = self.cluster.emu("GET", f"companies/{realm_of(self.cluster.opts)}")["entities"]
            except Exception:  # noqa: BLE001  (the emulator is busy; look again)
                time.sleep(0.5)
                continue
            now = time.monotonic()
            for due, plan, args in [f for f in follow_ups if f[0] <= now]:
                follow_ups.remove((due, plan, args))
                self._act(plan, args, final=True)
                done[plan] += 1
            invoices = [
                i
                for i in books["Invoice"]
                if order_key(i, self.seeded.numbers) in self.seeded.numbers
                and not cashiers_order(self.seeded.numbers[order_key(i, self.seeded.numbers)])
                and i["Id"] not in touched
                and Decimal(str(i.get("Balance", 0))) > 0
            ]
            rng.shuffle(invoices)
            wanted = [
                p
                for p in ("pay_full", "pay_partial", "pay_partial_then_full", "void", "pay_then_delete")
                for _ in range(self.plan[p] - done[p] - sum(1 for f in follow_ups if f[1] == p))
            ]
            rng.shuffle(wanted)
            for invoice, plan in zip(
                invoices[:3], wanted, strict=False
            ):  # a few per look: bookkeepers work at human speed
                touched.add(invoice["Id"])
                balance = money(invoice["Balance"])
                if plan == "pay_full":
                    self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"]}, final=True)
                    done[plan] += 1
                elif plan == "pay_partial":
                    amount = max(money(balance * Decimal(str(rng.uniform(0.2, 0.8)))), Decimal("0.01"))
                    self._act(
                        plan,
                        {"action": "record_payment", "invoice_id": invoice["Id"], "amount": str(amount)},
                        final=True,
                    )
                    done[plan] += 1
                elif plan == "pay_partial_then_full":
                    amount = max(money(balance * Decimal("0.4")), Decimal("0.01"))
                    self._act(
                        plan,
                        {"action": "record_payment", "invoice_id": invoice["Id"], "amount": str(amount)},
                        final=False,
                    )
                    follow_ups.append(
                        (now + rng.uniform(1, 4), plan, {"action": "record_payment", "invoice_id": invoice["Id"]})
                    )
                elif plan == "void":
                    self._act(plan, {"action": "void_invoice", "invoice_id": invoice["Id"]}, final=True)
                    done[plan] += 1
                elif plan == "pay_then_delete":
                    payment = self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"]}, final=False)
                    if payment:
                        follow_ups.append(
                            (
                                now + rng.uniform(1, 4),
                                plan,
                                {"action": "delete_payment", "payment_id": payment["Id"], "invoice_id": invoice["Id"]},
                            )
                        )
            if done["rename"] < self.plan["rename"]:
                ours = [
                    c
                    for c in books["Customer"]
                    if c.get("DisplayName") in self.seeded.buyer_names and c["Id"] not in renamed
                ]
                if ours:
                    customer = rng.choice(ours)
                    renamed.add(customer["Id"])
                    self._act(
                        "rename",
                        {
                            "action": "rename_customer",
                            "customer_id": customer["Id"],
                            "display_name": f"{customer['DisplayName']} (renamed {len(renamed)})",
                        },
                        final=True,
                    )
                    done["rename"] += 1
            self._pay_a_bill(books, done, paid_bills, rng)
            self.money.step(books, done, touched)
            if all(done[k] >= v for k, v in self.plan.items()):
                return
            time.sleep(rng.uniform(0.3, 0.8))

    def _pay_a_bill(self, books: dict, done: Counter, paid: set[str], rng: random.Random) -> None:
        """A seller's bill Kadouri made (its marker says so) paid by check, in full or in part."""
        if done["pay_bill"] >= self.plan["pay_bill"]:
            return
        bills = [
            b
            for b in books.get("Bill", [])
            if "[kadouri-broker:" in str(b.get("PrivateNote")) and b["Id"] not in paid and money(b["Balance"]) > 0
        ]
        if not bills:
            return
        bill = rng.choice(bills)
        paid.add(bill["Id"])
        args = {"action": "pay_bill", "bill_id": bill["Id"]}
        if rng.random() < 0.5:
            args["amount"] = str(max(money(money(bill["Balance"]) * Decimal("0.5")), Decimal("0.01")))
        self._act("pay_bill", args, final=True)
        done["pay_bill"] += 1

    def _act(self, plan: str, args: dict, *, final: bool) -> dict | None:
        action = args["action"]
        body = {
            k: v
            for k, v in args.items()
            if k not in ("action",) and not (action == "delete_payment" and k == "invoice_id")
        }
        try:
            result = self.cluster.emu("POST", f"companies/{realm_of(self.cluster.opts)}/actions/{action}", json=body)[
                "result"
            ]
        except Exception as e:  # noqa: BLE001  (e.g. a refused void; recorded, not a violation by itself)
            with self.run_state.lock:
                self.run_state.action_errors.append(f"{plan} {args}: {e}")
            return None
        with self.run_state.lock:
            self.run_state.actions.append({"plan": plan, "final": final, "at": time.time(), **args})
        return result
