"""Probabilistic fault rules (`rate`): the soak's "20 % transient faults" on every API path."""

from __future__ import annotations

import pytest
import requests

from qbo_integration.emulator.faults import FaultInjector
from qbo_integration.emulator.testing import qbo_emulator, qbo_emulator_server  # noqa: F401  (fixtures)

REALM = "9130350000000001"


def _get(emu, token: str) -> requests.Response:
    return requests.get(
        f"{emu.base_url}/v3/company/{REALM}/companyinfo/{REALM}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=5,
    )


def test_a_rate_fails_about_that_share_of_matching_requests_and_lives_until_cleared():
    faults = FaultInjector(seed=7)
    rule = faults.add("503", path="companyinfo", rate=0.2, count=None)

    fired = sum(faults.take("GET", "/v3/company/1/companyinfo/1") is not None for _ in range(2000))

    assert 330 <= fired <= 470  # 20 % of 2,000 = 400; ±3.5 standard deviations
    assert faults.take("GET", "/v3/company/1/customer/1") is None  # the path must match
    live = faults.list()
    assert [(r["id"], r["fired"], r["seen"], r["count"]) for r in live] == [(rule.id, fired, 2000, None)]
    faults.clear()
    assert faults.take("GET", "/v3/company/1/companyinfo/1") is None


def test_the_same_seed_fails_the_same_requests():
    def pattern(seed):
        faults = FaultInjector(seed=seed)
        faults.add("500", rate=0.3, count=None)
        return [faults.take("GET", "/v3/x") is not None for _ in range(200)]

    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)


def test_count_caps_a_rate_and_several_rates_add_up():
    faults = FaultInjector(seed=3)
    faults.add("429", rate=0.5, count=5)
    hits = [faults.take("POST", "/v3/company/1/invoice") for _ in range(200)]
    assert sum(h is not None for h in hits) == 5 and faults.list() == []

    faults.add("429", rate=0.1, count=None)
    faults.add("500", rate=0.1, count=None)
    kinds = [getattr(faults.take("GET", "/v3/q"), "kind", None) for _ in range(3000)]
    assert 0.15 < sum(k is not None for k in kinds) / 3000 < 0.23  # 1 - 0.9 × 0.9 = 19 %
    assert {"429", "500", None} == set(kinds)


@pytest.mark.parametrize(
    "bad", [{"rate": 0}, {"rate": 1.5}, {"rate": -0.1}, {"count": None}, {"delay": -1, "rate": 0.5}]
)
def test_invalid_rules_are_refused(bad):
    with pytest.raises(ValueError):
        FaultInjector().add("500", **bad)


def test_rate_over_the_control_api_and_a_real_socket(qbo_emulator_server):
    emu = qbo_emulator_server
    emu.faults.random.seed(11)
    base = f"{emu.base_url}/_emulator/api"
    added = requests.post(f"{base}/faults", json={"kind": "500", "path": "^/v3/company/", "rate": 0.25}, timeout=5)
    assert added.status_code == 200, added.text
    assert added.json()["fault"]["rate"] == 0.25 and added.json()["fault"]["count"] is None
    assert requests.post(f"{base}/faults", json={"kind": "500", "rate": 2}, timeout=5).status_code == 400

    token = emu.issue_tokens(REALM)["access_token"]
    statuses = [_get(emu, token).status_code for _ in range(200)]

    assert set(statuses) == {200, 500}
    assert 25 <= statuses.count(500) <= 80
    rule = requests.get(f"{base}/faults", timeout=5).json()["faults"][0]
    assert rule["fired"] == statuses.count(500) and rule["seen"] == 200
    assert emu.count_requests(status=500) == statuses.count(500)  # the request log names each fault
    assert requests.delete(f"{base}/faults", timeout=5).json() == {"ok": True}
    assert all(_get(emu, token).status_code == 200 for _ in range(20))


def test_a_drop_with_a_rate_commits_then_closes_the_connection(qbo_emulator_server):
    emu = qbo_emulator_server
    emu.add_fault("drop", method="POST", path="customer$", rate=1.0, count=None)
    token = emu.issue_tokens(REALM)["access_token"]
    url = f"{emu.base_url}/v3/company/{REALM}/customer"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for name in ("Drop One", "Drop Two"):
        with pytest.raises(requests.ConnectionError):
            requests.post(url, json={"DisplayName": name}, headers=headers, timeout=5)
    emu.clear_faults()
    names = {c["DisplayName"] for c in emu.dump(REALM)["entities"]["Customer"]}
    assert {"Drop One", "Drop Two"} <= names  # both committed although neither got an answer


def test_a_body_pattern_narrows_a_rule_to_matching_requests():
    faults = FaultInjector()
    faults.add("drop", method="POST", path="/batch", count=1, body=r'"operation": "create"')

    lookup = faults.take("POST", "/v3/company/1/batch", '{"BatchItemRequest": [{"bId": "q0", "Query": "select"}]}')
    create = faults.take("POST", "/v3/company/1/batch", '{"BatchItemRequest": [{"bId": "r0", "operation": "create"}]}')

    assert lookup is None
    assert create is not None and create.kind == "drop"
    assert faults.list() == []  # its one use is spent
