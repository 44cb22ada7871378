"""5. The checks seen from outside: the emulator's dump and webhook history, the run's record, each UI push as it
ended; the checks on Kadouri's rows run inside the soak's environment (phases.check)."""

from __future__ import annotations

import json
from collections import Counter

from loadtest.soak.common import MIN_BATCHED_SHARE, Run, realm_of
from loadtest.soak.processes import Cluster


class Checker:
    def __init__(
        self,
        cluster: Cluster,
        opts: dict,
        run_state: Run,
        plan: dict[str, int],
        estimate_ids: list[int],
        money_plan: dict[str, int],
        cash_ids: list[int],
    ) -> None:
        self.cluster, self.opts, self.run_state = cluster, opts, run_state
        self.plan, self.estimate_ids = plan, estimate_ids
        self.money_plan, self.cash_ids = money_plan, cash_ids
        self.work, self.db = cluster.work, cluster.db

    def check(self, before_settle: dict) -> dict:
        dump = self.cluster.emu("GET", f"companies/{realm_of(self.opts)}")
        hooks = self.cluster.emu("GET", "webhooks")
        requests_total = self.cluster.emu("GET", "stats")["requests"]
        (self.work / "dump.json").write_text(json.dumps(dump))
        with self.run_state.lock:
            (self.work / "actions.json").write_text(json.dumps(self.run_state.actions))
        (self.work / "money.json").write_text(json.dumps({"cash_ids": self.cash_ids}))
        secret_file = self.work / "secrets.json"
        secret_file.write_text(json.dumps({"authorization code": self.run_state.auth_code}))
        secret_file.chmod(0o600)
        self.cluster.stop_all()  # logs complete before they are searched
        result = self.cluster.phase("check")
        st = self.run_state
        outcomes = Counter(h["outcome"] for h in hooks["history"])
        fired = Counter()
        seen = 0
        for rule in before_settle["faults"]:
            fired[rule["kind"] + (f" {rule['delay']:g}s" if rule["kind"] == "slow" else "")] += rule["fired"]
            seen = max(seen, rule["seen"])
        limits = before_settle["stats"]["limits"].get(realm_of(self.opts), {})
        result["run"] = {
            "api_requests": st.api_requests,
            "api_statuses": dict(sorted(st.api_statuses.items())),
            "double_submits": st.double_submits,
            "api_errors": st.api_errors[:20],
            "ui_pushes": st.ui_pushes,
            "ui_errors": st.ui_errors,
            "worker_kill": st.kill,
            "bookkeeper_plan": self.plan,
            "estimates": dict(st.estimate_statuses),
            "estimate_errors": st.estimate_errors[:10],
            "bookkeeper_actions": dict(Counter(a["action"] for a in st.actions)),
            "bookkeeper_refused": st.action_errors[:10],
            "settle": self.cluster.settle_figures,
            "money_plan": self.money_plan,
            "money_answers": _money_answers(st.money_answers),
            "money_errors": st.money_errors[:20],
            "money_refusals": dict(st.money_refusals.most_common(12)),
        }
        result["emulator"] = {
            "api_requests_during_faults": before_settle["stats"]["requests"],
            "fault_rules_saw": seen,
            "faults_fired": dict(fired),
            "faults_total": sum(fired.values()),
            "fault_share": round(sum(fired.values()) / seen, 3) if seen else 0,
            "limiter_throttled": limits.get("throttled", 0),
            "max_concurrent": limits.get("max_concurrent", 0),
            "webhook_events": len({e for h in hooks["history"] for e in h["event_ids"]}),
            "webhook_attempts": dict(outcomes),
            "requests_total": requests_total,
        }
        violations = result.setdefault("violations", [])
        if st.api_errors:
            violations.append(
                f"{len(st.api_errors)} API answers were errors other than 409/422/503/202 (first: {st.api_errors[0]})"
            )
        if st.money_errors:
            violations.append(
                f"{len(st.money_errors)} money answers other than 200/202/409/422/502/503 (first: {st.money_errors[0]})"
            )
        if not sum(st.money_answers.values()):
            violations.append("no money action was sent from Kadouri")
        if st.ui_errors:
            violations.append(f"the UI push failed: {st.ui_errors[0]}")
        violations += self._ui_push_verdicts(st.ui_pushes)
        if st.estimate_errors:
            violations.append(
                f"{len(st.estimate_errors)} estimates were not converted (first: {st.estimate_errors[0]})"
            )
        if self.estimate_ids and not st.estimate_statuses:
            violations.append("no estimate was created and converted")
        if not st.kill:
            violations.append("the worker was never killed")
        if not self.cluster.settle_figures.get("quiet"):
            violations.append("the system did not settle before --settle-timeout")
        if self.opts["fault_rate"] and not fired:
            violations.append("no fault fired")
        return result

    def _ui_push_verdicts(self, pushes: list[dict]) -> list[str]:
        """Each UI push as it ended (read after settling): Done, with its orders sent in batch requests."""
        verdicts = []
        for push in pushes:
            row = self.db.rows(
                "SELECT state, total, succeeded, failed, retrying, resumes FROM quickbooks_bulk_pushes WHERE id = %s",
                push.get("bulk_id") or 0,
            )
            if not row:
                verdicts.append(f"UI push {push['when']}: no push was started")
                continue
            state, total, succeeded, failed, retrying, resumes = row[0]
            share = succeeded / total if total else 1.0
            push |= {
                "final": state,
                "of": total,
                "pushed": succeeded,
                "failed": failed,
                "retrying": retrying,
                "resumes": resumes,
                "batched_share": round(share, 3),
            }
            if state != "done" or share < MIN_BATCHED_SHARE:
                verdicts.append(
                    f"UI push {push['when']} (#{push['bulk_id']}) ended {state} with {succeeded} of {total} "
                    f"orders pushed in batch requests ({failed} failed, {retrying} handed to their own "
                    f"retry); expected done and at least {MIN_BATCHED_SHARE:.0%}"
                )
        return verdicts


def _money_answers(answers: Counter) -> dict[str, dict[str, int]]:
    """The cashier's answers by kind and HTTP status ("0": the connection broke), and its double submits."""
    by_kind: dict[str, dict[str, int]] = {}
    for key, n in sorted(answers.items()):
        kind, status = key.split("|", 1)
        by_kind.setdefault(kind, {})[status] = n
    return by_kind
