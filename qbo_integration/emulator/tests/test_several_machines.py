"""What a run with several app servers needs of the emulator: webhooks delivered to each server in turn, the peaks
it admitted under each limit (to show a run stayed under them), and a "minute" tests can shorten."""

from __future__ import annotations

import json

from qbo_integration.emulator.testing import WebhookRecorder

REALM = "9130350000000001"


def _headers(emu) -> dict:
    return {"Authorization": f"Bearer {emu.issue_tokens(REALM)['access_token']}", "Content-Type": "application/json"}


def _new_customer(emu, headers: dict, name: str) -> None:
    body = json.dumps({"DisplayName": name}).encode()
    assert emu.handle("POST", f"/v3/company/{REALM}/customer", headers, body)[0] == 200


def test_webhooks_go_to_each_app_server_in_turn(qbo_emulator):
    recorder = WebhookRecorder()
    qbo_emulator.webhooks.deliver = recorder
    qbo_emulator.configure_webhooks(
        urls=["http://a.test/api/quickbooks/webhook", "http://b.test/api/quickbooks/webhook"]
    )
    headers = _headers(qbo_emulator)

    for n in range(3):
        _new_customer(qbo_emulator, headers, f"Turn Taker {n}")
        qbo_emulator.flush_webhooks()

    assert [call["url"] for call in recorder.calls] == [
        "http://a.test/api/quickbooks/webhook",
        "http://b.test/api/quickbooks/webhook",
        "http://a.test/api/quickbooks/webhook",
    ]
    assert [entry["url"] for entry in qbo_emulator.webhooks.history] == [call["url"] for call in recorder.calls]


def test_the_control_api_takes_several_webhook_urls(qbo_emulator):
    urls = ["http://a.test/hook", "http://b.test/hook"]
    headers = {"Content-Type": "application/json"}
    status, _, body = qbo_emulator.handle("POST", "/_emulator/api/webhooks/config", headers, json.dumps({"urls": urls}))

    assert status == 200 and json.loads(body)["config"]["urls"] == urls


def test_it_counts_the_most_it_admitted_in_any_window(qbo_emulator):
    headers = _headers(qbo_emulator)
    batch = json.dumps({"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}).encode()
    for _ in range(3):
        assert qbo_emulator.handle("POST", f"/v3/company/{REALM}/batch", headers, batch)[0] == 200
    qbo_emulator.advance(61)
    for _ in range(2):
        assert qbo_emulator.handle("GET", f"/v3/company/{REALM}/companyinfo/{REALM}", headers)[0] == 200

    counters = qbo_emulator.rate_counters(REALM)
    assert (counters["requests"], counters["max_per_minute"], counters["max_batch_per_minute"]) == (5, 3, 3)
    assert counters["batch_last_minute"] == 0 and counters["max_concurrent"] == 1


def test_a_test_may_shorten_the_minute(qbo_emulator):
    qbo_emulator.configure_limits(per_minute=2, window_seconds=5)
    headers = _headers(qbo_emulator)
    path = f"/v3/company/{REALM}/companyinfo/{REALM}"

    assert [qbo_emulator.handle("GET", path, headers)[0] for _ in range(3)] == [200, 200, 429]
    qbo_emulator.advance(5)
    assert qbo_emulator.handle("GET", path, headers)[0] == 200
    assert qbo_emulator.stats()["limit_config"]["window_seconds"] == 5.0
