"""The run: people on both app servers at once — "Push all pending" clicked on each, orders pushed one by one
through the JSON API of either — a bookkeeper paying invoices in QuickBooks (webhooks to both app servers), and the
worker cluster that took the bulk push SIGKILLed in the middle of it, never restarted."""

from __future__ import annotations

import random
import re
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from loadtest.multi_machine.machines import Machines
from loadtest.soak.common import PROGRESS, Run, order_key, realm_of, say

BULK_TASK = "qbo_bulk_push_run"  # as django-q2 logs the task it starts


@dataclass
class Record:
    """What the people of the run saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    api_statuses: Counter = field(default_factory=Counter)
    api_errors: list[str] = field(default_factory=list)
    api_by_server: Counter = field(default_factory=Counter)
    ui_pushes: list[dict] = field(default_factory=list)
    kill: dict = field(default_factory=dict)


class Workload:
    def __init__(self, machines: Machines, opts: dict, run_state: Run, seeded: dict) -> None:
        self.machines, self.opts, self.run_state = machines, opts, run_state
        self.order_ids: list[int] = seeded["orders"]
        self.numbers: dict[str, int] = seeded["numbers"]
        self.rng = random.Random(opts["seed"])
        self.record = Record()

    def run(self, deadline: float) -> Record:
        api_orders = self.rng.sample(self.order_ids, round(len(self.order_ids) * self.opts["api_share"]))
        start = threading.Barrier(2 + self.opts["clients"])  # both clicks and every API client at the same moment
        threads = [threading.Thread(target=self._click_push, args=(n, start, deadline), name=f"ui-{n}") for n in (0, 1)]
        threads += [
            threading.Thread(target=self._api_client, args=(n, api_orders[n :: self.opts["clients"]], start))
            for n in range(self.opts["clients"])
        ]
        threads += [
            threading.Thread(target=self._bookkeeper, args=(deadline,), name="bookkeeper"),
            threading.Thread(target=self._kill_the_bulk_pushers_cluster, args=(deadline,), name="kill"),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 1))
        return self.record

    # ---- people on both app servers ---------------------------------------------------------------------------

    def _login(self, n: int) -> tuple[str, requests.Session]:
        url = self.machines.app_urls[n % 2]
        return url, self.machines.session(f"soak-staff-{n % 3}", url)

    def _click_push(self, n: int, start: threading.Barrier, deadline: float) -> None:
        url, session = self._login(n)
        page = session.get(f"{url}/settings/quickbooks/push/", timeout=30)
        pending = re.search(r'data-testid="pending-count"><strong>(\d+)</strong>', page.text)
        start.wait(60)
        answer = session.post(
            f"{url}/settings/quickbooks/push/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{url}/settings/quickbooks/push/"},
            timeout=60,
        )
        found = re.search(r"/settings/quickbooks/push/(\d+)/progress/", answer.text)
        push = {
            "server": n + 1,
            "http": answer.status_code,
            "pending_on_page": int(pending.group(1)) if pending else None,
            "bulk_id": int(found.group(1)) if found else None,
        }
        with self.record.lock:
            self.record.ui_pushes.append(push)
        while found and time.monotonic() < deadline:  # follow the progress the page polls, until it ends
            fragment = session.get(f"{url}/settings/quickbooks/push/{push['bulk_id']}/progress/", timeout=30)
            state = PROGRESS.search(fragment.text)
            if state and state["state"] not in ("queued", "running"):
                push |= {"state": state["state"], "pushed": int(state["pushed"]), "of": int(state["total"])}
                return
            time.sleep(1)

    def _api_client(self, n: int, orders: list[int], start: threading.Barrier) -> None:
        url, session = self._login(n)
        start.wait(60)
        for order_id in orders:
            try:
                answer = session.post(
                    f"{url}/api/quickbooks/sync/order/{order_id}",
                    json={"docType": "invoice"},
                    headers={"X-CSRFToken": session.cookies["csrftoken"]},
                    timeout=90,
                )
                status, error = answer.status_code, answer.status_code >= 500
                detail = f"order {order_id} on {url}: HTTP {status} {answer.text[:200]}"
            except requests.RequestException as e:
                status, error, detail = 0, True, f"order {order_id} on {url}: {e.__class__.__name__}"
            with self.record.lock:
                self.record.api_statuses[status] += 1
                self.record.api_by_server[url] += 1
                if error:
                    self.record.api_errors.append(detail)

    # ---- QuickBooks' side -------------------------------------------------------------------------------------

    def _bookkeeper(self, deadline: float) -> None:
        """Pays `--pay-share` of the invoices in full as they appear: each payment is a webhook to an app server."""
        wanted, paid = round(len(self.order_ids) * self.opts["pay_share"]), set()
        realm = realm_of(self.opts)
        while len(paid) < wanted and time.monotonic() < deadline:
            try:
                invoices = self.machines.emu("GET", f"companies/{realm}")["entities"]["Invoice"]
            except RuntimeError:
                time.sleep(0.5)
                continue
            ours = [
                i
                for i in invoices
                if i["Id"] not in paid
                and order_key(i, self.numbers) in self.numbers
                and Decimal(str(i.get("Balance", 0))) > 0
            ]
            for invoice in self.rng.sample(ours, min(len(ours), 3, wanted - len(paid))):
                body = {"invoice_id": invoice["Id"]}
                self.machines.emu("POST", f"companies/{realm}/actions/record_payment", json=body)
                paid.add(invoice["Id"])
                with self.run_state.lock:
                    self.run_state.actions.append(
                        {"plan": "pay_full", "final": True, "at": time.time(), "action": "record_payment", **body}
                    )
            time.sleep(0.5)

    def _kill_the_bulk_pushers_cluster(self, deadline: float) -> None:
        """SIGKILLs the worker cluster running the bulk push, once it has claimed its orders (else, after 30 s,
        cluster 2), and leaves it dead: the other cluster must finish everything."""
        started, db = time.monotonic(), self.machines.db
        victim = None
        while time.monotonic() < deadline and victim is None:
            claimed = db.scalar(
                "SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running' AND bulk_push_id IS NOT NULL"
            )
            holders = [name for name in ("worker-1", "worker-2") if BULK_TASK in self.machines.log_of(name)]
            if claimed and holders:
                victim = holders[0]
            elif time.monotonic() - started > 30:
                victim = "worker-2"
            else:
                time.sleep(0.1)
        if victim is None:
            return
        time.sleep(self.rng.uniform(0.2, 1.0))  # inside the push, not at its first instant
        snapshot = {
            "cluster": victim,
            "ran_the_bulk_push": BULK_TASK in self.machines.log_of(victim),
            "at_s": round(time.monotonic() - started, 1),
            "jobs_running": db.scalar("SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running'"),
            "bulk": db.rows("SELECT id, state, total, succeeded FROM quickbooks_bulk_pushes ORDER BY id"),
        }
        child = self.machines.children[victim]
        self.machines.signal(child, signal.SIGKILL)
        child.stopped = True
        child.proc.wait(timeout=10)
        with self.record.lock:
            self.record.kill = snapshot
        say(
            f"multi-machine: {victim} SIGKILLed at {snapshot['at_s']} s (ran the bulk push: "
            f"{snapshot['ran_the_bulk_push']}; {snapshot['jobs_running']} jobs running); it stays dead"
        )
