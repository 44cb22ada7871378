"""3. The run phase: API clients (some double-submitting), "Push all pending" clicked on the page, the estimator
and the bookkeeper at work, and the worker SIGKILLed in the middle of the bulk push and restarted."""

from __future__ import annotations

import random
import re
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from loadtest.soak.bookkeeper import Bookkeeper
from loadtest.soak.common import PROGRESS, Run, Seeded, say
from loadtest.soak.estimator import Estimator
from loadtest.soak.money import Cashier
from loadtest.soak.processes import Cluster


class Workload:
    def __init__(
        self, cluster: Cluster, opts: dict, seed: int, rng: random.Random, run_state: Run, seeded: Seeded
    ) -> None:
        self.cluster, self.opts, self.seed, self.rng, self.run_state = cluster, opts, seed, rng, run_state
        self.order_ids, self.estimate_ids = seeded.order_ids, seeded.estimate_ids
        self.app_url, self.db = cluster.app_url, cluster.db
        self.bookkeeper = Bookkeeper(cluster, seed, run_state, seeded)
        self.estimator = Estimator(cluster, seed, run_state, seeded.estimate_ids)
        self.cashier = Cashier(cluster, seed, run_state, seeded)
        self.cash_ids = seeded.cash_ids

    def run(self) -> None:
        deadline = time.monotonic() + self.opts["run_timeout"]
        invoice_orders = [o for o in self.order_ids if o not in set(self.estimate_ids) | set(self.cash_ids)]
        api_orders = self.rng.sample(invoice_orders, round(len(invoice_orders) * self.opts["api_share"]))
        doubles = set(self.rng.sample(api_orders, round(len(api_orders) * self.opts["double_submit"])))
        threads = [
            threading.Thread(target=self._ui_pusher, args=(deadline,), name="ui", daemon=True),
            threading.Thread(target=self._chaos, args=(deadline,), name="chaos", daemon=True),
            threading.Thread(target=self.bookkeeper.run, args=(deadline,), name="bookkeeper", daemon=True),
            threading.Thread(target=self.estimator.run, args=(deadline,), name="estimator", daemon=True),
            threading.Thread(target=self.cashier.run, args=(deadline,), name="cashier", daemon=True),
        ]
        shares = [api_orders[i :: self.opts["clients"]] for i in range(self.opts["clients"])]
        threads += [
            threading.Thread(target=self._api_client, args=(n, share, doubles, deadline), name=f"api-{n}", daemon=True)
            for n, share in enumerate(shares)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            if thread.name not in ("bookkeeper", "cashier"):
                thread.join(max(deadline - time.monotonic(), 1))
        # The bookkeeper and the cashier keep acting while faults are on until their plans are done (invoices appear
        # as they are pushed).
        while time.monotonic() < deadline and not (self.bookkeeper.plan_done() and self.cashier.plan_done()):
            time.sleep(0.5)
        self.run_state.stop_bookkeeper.set()
        threads[2].join(30)
        threads[4].join(30)
        st = self.run_state
        say(
            f"soak: run phase over — API {dict(st.api_statuses)}, UI pushes {len(st.ui_pushes)}, "
            f"estimates {dict(st.estimate_statuses)}, bookkeeper actions {len(st.actions)}, "
            f"money answers {sum(st.money_answers.values())}"
        )

    def _api_client(self, n: int, orders: list[int], doubles: set[int], deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + n)
        try:
            session, twin = self.cluster.session(f"soak-staff-{n % 3}"), self.cluster.session(f"soak-staff-{n % 3}")
        except Exception as e:  # noqa: BLE001  (recorded, and a violation)
            with self.run_state.lock:
                self.run_state.api_errors.append(f"client {n}: log-in failed: {e}")
            return

        def post(s: requests.Session, order_id: int) -> None:
            try:
                answer = s.post(
                    f"{self.app_url}/api/quickbooks/sync/order/{order_id}",
                    json={"docType": "invoice"},
                    headers={"X-CSRFToken": s.cookies["csrftoken"]},
                    timeout=90,
                )
                status = answer.status_code
                if status >= 500 and status not in (502, 503):
                    detail = f"order {order_id}: HTTP {status} {answer.text[:200]}"
                elif status in (502,):
                    detail = f"order {order_id}: HTTP 502 {answer.json().get('error', '')[:200]}"
                else:
                    detail = ""
            except requests.RequestException as e:
                status, detail = 0, f"order {order_id}: {e.__class__.__name__}"
            with self.run_state.lock:
                self.run_state.api_statuses[status] += 1
                self.run_state.api_requests += 1
                if detail:
                    self.run_state.api_errors.append(detail)

        with ThreadPoolExecutor(2) as pool:
            for order_id in orders:
                if time.monotonic() > deadline:
                    return
                if order_id in doubles:  # a double click: the same order twice at the same moment
                    list(pool.map(lambda s, oid=order_id: post(s, oid), (session, twin)))
                    with self.run_state.lock:
                        self.run_state.double_submits += 1
                else:
                    post(session, order_id)
                time.sleep(rng.uniform(0, 0.05))

    def _ui_pusher(self, deadline: float) -> None:
        """ "Push all pending" on the page, as a person does: at the start, and again after the worker restarts."""
        try:
            session = self.cluster.session("soak-staff-0")
            self._ui_push(session, deadline, "at start")
            self.run_state.restarted.wait(max(deadline - time.monotonic(), 1))
            self._ui_push(session, deadline, "after the worker restart")
        except Exception as e:  # noqa: BLE001
            with self.run_state.lock:
                self.run_state.ui_errors.append(f"{e.__class__.__name__}: {e}")

    def _ui_push(self, session: requests.Session, deadline: float, when: str) -> None:
        page = session.get(f"{self.app_url}/settings/quickbooks/push/", timeout=30)
        pending = re.search(r'data-testid="pending-count"><strong>(\d+)</strong>', page.text)
        answer = session.post(
            f"{self.app_url}/settings/quickbooks/push/",
            timeout=30,
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{self.app_url}/settings/quickbooks/push/"},
        )
        found = re.search(r"/settings/quickbooks/push/(\d+)/progress/", answer.text)
        record = {
            "when": when,
            "pending_on_page": int(pending.group(1)) if pending else None,
            "http": answer.status_code,
            "bulk_id": None,
            "state": None,
        }
        if found is None:  # already finished before the page was drawn: the latest run is on the page
            bulk = self.db.rows(
                "SELECT id, state, total, succeeded, failed FROM quickbooks_bulk_pushes ORDER BY id DESC LIMIT 1"
            )
            record |= {"bulk_id": bulk[0][0] if bulk else None}
        else:
            record["bulk_id"] = int(found.group(1))
        with self.run_state.lock:
            self.run_state.ui_pushes.append(record)
        if record["bulk_id"] is None:
            return
        # Poll the progress fragment the page polls (htmx, every second) until the run ends (or 2 minutes).
        polls, until = 0, min(deadline, time.monotonic() + 120)
        while time.monotonic() < until:
            fragment = session.get(f"{self.app_url}/settings/quickbooks/push/{record['bulk_id']}/progress/", timeout=30)
            polls += 1
            state = PROGRESS.search(fragment.text)
            if state:
                record |= {
                    "state": state["state"],
                    "pushed": int(state["pushed"]),
                    "attention": int(state["failed"]),
                    "of": int(state["total"]),
                    "polls": polls,
                }
                if state["state"] not in ("queued", "running"):
                    return
            if self.run_state.restarted.is_set() and when == "at start":
                return  # the worker died under this run; the second click tells what happens next
            time.sleep(1)

    def _chaos(self, deadline: float) -> None:
        """SIGKILL the worker's process group in the middle of the bulk push, then start it again."""
        started = time.monotonic()
        worker = self.cluster.children["worker"]
        while time.monotonic() < deadline:
            # Mid-bulk push when it can be caught there (it claims its jobs first); else mid-run all the same.
            states = [row[0] for row in self.db.rows("SELECT state FROM quickbooks_bulk_pushes")]
            jobs = self.db.scalar(
                "SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running' AND bulk_push_id IS NOT NULL"
            )
            if (
                ("running" in states and jobs)
                or any(s in ("done", "failed") for s in states)
                or time.monotonic() - started > 30
            ):
                break
            time.sleep(0.05)
        time.sleep(self.rng.uniform(0.05, 0.4))  # somewhere inside the run, not at its first instant
        snapshot = {
            "at_s": round(time.monotonic() - started, 1),
            "bulk": self.db.rows("SELECT id, state, total, succeeded, failed FROM quickbooks_bulk_pushes ORDER BY id"),
            "jobs_running": self.db.scalar("SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running'"),
            "inbox_lease_held": bool(self.db.scalar("SELECT COUNT(*) FROM quickbooks_inbox_leases WHERE holder <> ''")),
        }
        self.cluster.signal(worker, signal.SIGKILL)
        worker.stopped = True
        worker.proc.wait(timeout=10)
        time.sleep(2)
        self.cluster.spawn("worker", [sys.executable, "manage.py", "qcluster"])
        snapshot["restarted_after_s"] = 2
        with self.run_state.lock:
            self.run_state.kill = snapshot
        self.run_state.restarted.set()
        say(
            f"soak: worker SIGKILLed at {snapshot['at_s']} s (bulk {snapshot['bulk']}, {snapshot['jobs_running']} "
            f"jobs running, inbox lease held: {snapshot['inbox_lease_held']}) and restarted"
        )
