"""Estimates pushed and converted to invoices during the run, and those left over finished after settling."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from loadtest.soak.common import ESTIMATE_PATIENCE, Run
from loadtest.soak.processes import Cluster


class Estimator:
    def __init__(self, cluster: Cluster, seed: int, run_state: Run, estimate_ids: list[int]) -> None:
        self.cluster, self.seed, self.run_state, self.estimate_ids = cluster, seed, run_state, estimate_ids
        self.app_url = cluster.app_url

    def run(self, deadline: float) -> None:
        """Create Estimate, then Convert to Invoice a moment later: the conversion runs while the estimate's own
        webhooks (delayed, duplicated, reordered) are processed — the race that once moved an order onto the
        estimate's id taken as an invoice id, another order's invoice."""
        rng = random.Random(self.seed + 11)
        try:
            session = self.cluster.session("soak-staff-1")
        except Exception as e:  # noqa: BLE001  (recorded, and a violation)
            with self.run_state.lock:
                self.run_state.estimate_errors.append(f"log-in failed: {e}")
            return
        delays = {order_id: rng.uniform(0.0, 1.5) for order_id in self.estimate_ids}

        def estimate_then_convert(order_id: int) -> None:
            url = f"{self.app_url}/api/quickbooks/sync/order/{order_id}"
            created = self._until_accepted(
                session, url, {"docType": "estimate"}, min(deadline, time.monotonic() + ESTIMATE_PATIENCE)
            )
            converted = (0, "not tried")
            if not self._busy(*created):
                time.sleep(delays[order_id])
                converted = self._until_accepted(
                    session, f"{url}/convert", {}, min(deadline, time.monotonic() + ESTIMATE_PATIENCE)
                )
            with self.run_state.lock:
                self.run_state.estimate_statuses[f"estimate {created[0]}, convert {converted[0]}"] += 1
                if self._busy(*created) or self._busy(*converted):  # a job still waits for its retry: later
                    self.run_state.unconverted.append((order_id, not self._busy(*created)))
                elif converted[0] not in (200, 202) and not self._converted_meanwhile(*converted):
                    self.run_state.estimate_errors.append(f"order {order_id}: estimate {created}, convert {converted}")

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(estimate_then_convert, self.estimate_ids))

    def _until_accepted(self, session: requests.Session, url: str, body: dict, deadline: float) -> tuple[int, str]:
        """POSTs until Kadouri accepts (200 done, 202 queued) or refuses for good; waits while QuickBooks is
        busy (502/503, a dropped connection) or the order's previous job still runs (409 "already working")."""
        while True:
            try:
                answer = session.post(url, json=body, headers={"X-CSRFToken": session.cookies["csrftoken"]}, timeout=90)
                status, error = answer.status_code, str(answer.json().get("error", ""))[:200]
            except (requests.RequestException, ValueError) as e:
                status, error = 0, e.__class__.__name__
            if not self._busy(status, error) or time.monotonic() > deadline:
                return status, error
            time.sleep(0.5)

    @staticmethod
    def _converted_meanwhile(status: int, error: str) -> bool:
        """A retried Convert whose first try converted the estimate (answer lost): the check phase verifies it."""
        return status == 409 and "posted as an invoice" in error

    @staticmethod
    def _busy(status: int, error: str) -> bool:
        return status in (0, 502, 503) or (status == 409 and "already working" in error)

    def convert_the_rest(self) -> None:
        """Estimates whose jobs were still being retried after ESTIMATE_PATIENCE are finished now, settled."""
        st = self.run_state
        if not st.unconverted:
            return
        session, deadline = self.cluster.session("soak-staff-1"), time.monotonic() + 60
        for order_id, created in st.unconverted:
            url = f"{self.app_url}/api/quickbooks/sync/order/{order_id}"
            if not created:
                self._until_accepted(session, url, {"docType": "estimate"}, deadline)
                self.cluster.settle()
            status, error = self._until_accepted(session, f"{url}/convert", {}, deadline)
            with st.lock:
                st.estimate_statuses[f"convert after settling {status}"] += 1
                if status not in (200, 202) and not self._converted_meanwhile(status, error):
                    st.estimate_errors.append(f"order {order_id}: convert after settling {status} {error}")
        self.cluster.settle()
