"""The emulator as a system: live server, faults, limits, auth, webhooks, UI actions, persistence."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from intuitlib.enums import Scopes
from quickbooks import QuickBooks

from qbo_integration.emulator import Emulator, LiveServer, StateFileError, make_wsgi_app
from qbo_integration.emulator import webhooks as webhooks_module
from qbo_integration.emulator.testing import (  # noqa: F401  (fixtures)
    WebhookRecorder,
    make_auth_client,
    qbo_emulator,
    qbo_emulator_server,
)

REALM = "9130350000000001"
OTHER_REALM = "9130350000000002"
VERIFIER = "emulator-verifier-token"


class Api:
    """Raw JSON calls to the Accounting API with a bearer token."""

    def __init__(self, emu: Emulator, realm: str = REALM, token: str | None = None) -> None:
        self.emu = emu
        self.realm = realm
        self.token = token or emu.issue_tokens(realm)["access_token"]

    def call(
        self, method: str, subpath: str, body: dict | None = None, params: dict | None = None, **kwargs
    ) -> requests.Response:
        return requests.request(
            method,
            f"{self.emu.base_url}/v3/company/{self.realm}/{subpath}",
            params={"minorversion": "75", **(params or {})},
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            **kwargs,
        )

    def create(self, entity: str, body: dict, **params: str) -> dict:
        answer = self.call("POST", entity.lower(), body, params)
        assert answer.status_code == 200, answer.text
        return answer.json()[entity]

    def read(self, entity: str, entity_id: str) -> dict:
        answer = self.call("GET", f"{entity.lower()}/{entity_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()[entity]

    def query(self, text: str) -> dict:
        answer = self.call("GET", "query", params={"query": text})
        assert answer.status_code == 200, answer.text
        return answer.json()["QueryResponse"]

    def customer(self, name: str) -> dict:
        return self.create("Customer", {"DisplayName": name})

    def invoice(self, customer_id: str, amount: float = 100.0) -> dict:
        income = self.query("select * from Account where AccountType = 'Income'")["Account"][0]["Id"]
        name = f"Produce {time.monotonic_ns()}"
        item = self.create("Item", {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income}})
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": amount,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": amount},
        }
        return self.create("Invoice", {"CustomerRef": {"value": customer_id}, "Line": [line]})


def first_error(answer: requests.Response) -> dict:
    return answer.json()["Fault"]["Error"][0]


def expected_signature(body: bytes, token: str = VERIFIER) -> str:
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


# ---- live server ----------------------------------------------------------------------------


def test_startup_is_fast_and_serves_everything():
    started = time.monotonic()
    emu = Emulator("http://127.0.0.1")
    server = LiveServer(emu, "127.0.0.1", 0).start()
    elapsed = time.monotonic() - started
    try:
        print(f"emulator startup: {elapsed * 1000:.0f} ms")
        assert elapsed < 2.0
        doc = requests.get(f"{server.url}/.well-known/openid_configuration", timeout=5).json()
        assert doc["token_endpoint"] == f"{server.url}/oauth2/v1/tokens/bearer"
        assert requests.get(f"{server.url}/_emulator/", timeout=5).status_code == 200
        missing = requests.get(f"{server.url}/no/such/path", timeout=5)
        assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/json")
    finally:
        server.stop()


def test_oauth_and_api_over_a_real_socket(qbo_emulator_server):
    emu = qbo_emulator_server
    client = make_auth_client(emu)
    page = requests.get(client.get_authorization_url([Scopes.ACCOUNTING]), timeout=5)
    assert page.status_code == 200
    tokens = emu.issue_tokens(REALM)
    api = Api(emu, token=tokens["access_token"])
    created = api.customer("Live Socket Grocer")
    assert api.read("Customer", created["Id"])["DisplayName"] == "Live Socket Grocer"
    assert emu.count_requests(method="POST", subpath="customer") == 1


# ---- authentication ---------------------------------------------------------------------------


def test_expired_revoked_and_missing_tokens_get_401_3200(qbo_emulator):
    api = Api(qbo_emulator)
    assert api.call("GET", f"companyinfo/{REALM}").status_code == 200

    qbo_emulator.advance(3600)
    expired = api.call("GET", f"companyinfo/{REALM}")
    assert expired.status_code == 401
    assert first_error(expired)["code"] == "3200"
    assert "AuthenticationFailed" in first_error(expired)["Message"]

    fresh = Api(qbo_emulator)
    qbo_emulator.disconnect(REALM)
    revoked = fresh.call("GET", f"companyinfo/{REALM}")
    assert revoked.status_code == 401 and first_error(revoked)["code"] == "3200"

    anonymous = requests.get(f"{qbo_emulator.base_url}/v3/company/{REALM}/companyinfo/{REALM}")
    assert anonymous.status_code == 401 and first_error(anonymous)["code"] == "3200"


def test_python_quickbooks_sees_401_as_authorization_error(qbo_emulator):
    from quickbooks.exceptions import AuthorizationException
    from quickbooks.objects.customer import Customer

    from qbo_integration.emulator.testing import make_quickbooks

    qb = make_quickbooks(qbo_emulator, REALM)
    qbo_emulator.advance(3601)
    with pytest.raises(AuthorizationException) as excinfo:
        Customer.all(qb=qb)
    assert excinfo.value.error_code == 401


# ---- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, status, code",
    [("429", 429, "003001"), ("500", 500, "10000"), ("401", 401, "3200")],
)
def test_json_fault_kinds(qbo_emulator_server, kind, status, code):
    api = Api(qbo_emulator_server)
    qbo_emulator_server.add_fault(kind, method="GET", path=r"/companyinfo/", count=1)
    answer = api.call("GET", f"companyinfo/{REALM}", timeout=5)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/json")
    assert first_error(answer)["code"] == code
    assert api.call("GET", f"companyinfo/{REALM}", timeout=5).status_code == 200  # count=1: next one succeeds


def test_throttle_fault_as_intuit_sends_it(qbo_emulator):
    qbo_emulator.add_fault("429", path="companyinfo")
    body = Api(qbo_emulator).call("GET", f"companyinfo/{REALM}").json()
    assert body["Fault"]["type"] == "SERVICE"
    assert body["Fault"]["Error"][0]["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"


def test_503_and_xml_faults(qbo_emulator_server):
    api = Api(qbo_emulator_server)
    qbo_emulator_server.add_fault("503", path="companyinfo")
    unavailable = api.call("GET", f"companyinfo/{REALM}", timeout=5)
    assert unavailable.status_code == 503
    assert unavailable.json()["fault"]["error"][0]["message"] == "Service Unavailable"

    qbo_emulator_server.add_fault("xml", path="companyinfo")
    xml = api.call("GET", f"companyinfo/{REALM}", timeout=5)
    assert xml.status_code == 429
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert xml.text.startswith("<?xml") and '<Error code="3001">' in xml.text


def test_fault_matching_by_method_path_and_count(qbo_emulator):
    api = Api(qbo_emulator)
    qbo_emulator.add_fault("500", method="POST", path=r"/customer$", count=2)
    assert api.call("GET", f"companyinfo/{REALM}").status_code == 200
    assert api.call("POST", "customer", {"DisplayName": "A"}).status_code == 500
    assert api.call("POST", "customer", {"DisplayName": "B"}).status_code == 500
    assert api.call("POST", "customer", {"DisplayName": "C"}).status_code == 200
    assert qbo_emulator.faults.list() == []
    assert [entry["fault"] for entry in qbo_emulator.requests(method="POST", subpath="customer")] == [
        "500",
        "500",
        None,
    ]


def test_slow_fault_delays_the_answer_after_committing(qbo_emulator_server):
    api = Api(qbo_emulator_server)
    qbo_emulator_server.add_fault("slow", method="POST", path="customer", delay=0.6)
    with pytest.raises(requests.Timeout):
        api.call("POST", "customer", {"DisplayName": "Slowpoke Farms"}, timeout=0.2)
    time.sleep(0.6)
    found = api.query("select * from Customer where DisplayName = 'Slowpoke Farms'")
    assert len(found["Customer"]) == 1

    qbo_emulator_server.add_fault("slow", method="GET", path="companyinfo", delay=0.3)
    started = time.monotonic()
    assert api.call("GET", f"companyinfo/{REALM}", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_fault_closes_the_socket_after_committing(qbo_emulator_server):
    api = Api(qbo_emulator_server)
    qbo_emulator_server.add_fault("drop", method="POST", path="customer")
    with pytest.raises(requests.ConnectionError):
        api.call("POST", "customer", {"DisplayName": "Dropped Line Dairy"}, params={"requestid": "drop-1"}, timeout=5)
    found = api.query("select * from Customer where DisplayName = 'Dropped Line Dairy'")
    assert len(found["Customer"]) == 1
    # The safe retry: same requestid, original answer, no duplicate.
    retry = api.call(
        "POST", "customer", {"DisplayName": "Dropped Line Dairy"}, params={"requestid": "drop-1"}, timeout=5
    )
    assert retry.status_code == 200 and retry.json()["Customer"]["Id"] == found["Customer"][0]["Id"]


def test_drop_fault_in_process_raises_connection_error(qbo_emulator):
    api = Api(qbo_emulator)
    qbo_emulator.add_fault("drop", method="POST", path="customer")
    with pytest.raises(requests.ConnectionError):
        api.call("POST", "customer", {"DisplayName": "In Process Drop"})
    assert len(api.query("select * from Customer where DisplayName = 'In Process Drop'")["Customer"]) == 1


def test_fault_control_api_over_http(qbo_emulator_server):
    base = f"{qbo_emulator_server.base_url}/_emulator/api"
    added = requests.post(
        f"{base}/faults", json={"method": "GET", "path": "companyinfo", "count": 2, "kind": "503"}, timeout=5
    )
    assert added.status_code == 200 and added.json()["fault"]["count"] == 2
    assert len(requests.get(f"{base}/faults", timeout=5).json()["faults"]) == 1
    assert requests.post(f"{base}/faults", json={"kind": "teapot"}, timeout=5).status_code == 400
    assert requests.delete(f"{base}/faults", timeout=5).json() == {"ok": True}
    assert qbo_emulator_server.faults.list() == []


# ---- rate limits ------------------------------------------------------------------------------


def test_500_requests_a_minute_per_company(qbo_emulator):
    emu = qbo_emulator
    token = emu.issue_tokens(REALM)["access_token"]
    other = emu.issue_tokens(OTHER_REALM)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(500):
        assert emu.handle("GET", f"/v3/company/{REALM}/companyinfo/{REALM}", headers)[0] == 200
    status, _, body = emu.handle("GET", f"/v3/company/{REALM}/companyinfo/{REALM}", headers)
    assert status == 429
    assert json.loads(body)["Fault"]["Error"][0]["code"] == "003001"
    # Counted per company: the other one is unaffected.
    assert (
        emu.handle("GET", f"/v3/company/{OTHER_REALM}/companyinfo/{OTHER_REALM}", {"Authorization": f"Bearer {other}"})[
            0
        ]
        == 200
    )
    counters = emu.rate_counters(REALM)
    assert counters["requests"] == 500 and counters["throttled_per_minute"] == 1 and counters["max_per_minute"] == 500
    emu.advance(60)
    assert emu.handle("GET", f"/v3/company/{REALM}/companyinfo/{REALM}", headers)[0] == 200
    assert emu.stats()["limits"][REALM]["throttled"] == 1


def test_120_batch_requests_a_minute(qbo_emulator):
    emu = qbo_emulator
    headers = {"Authorization": f"Bearer {emu.issue_tokens(REALM)['access_token']}", "Content-Type": "application/json"}
    body = json.dumps({"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}).encode()
    for _ in range(120):
        assert emu.handle("POST", f"/v3/company/{REALM}/batch", headers, body)[0] == 200
    assert emu.handle("POST", f"/v3/company/{REALM}/batch", headers, body)[0] == 429
    assert emu.handle("GET", f"/v3/company/{REALM}/companyinfo/{REALM}", headers)[0] == 200  # plain calls still fine
    assert emu.rate_counters(REALM)["throttled_batch"] == 1


def test_ten_concurrent_requests(qbo_emulator_server):
    emu = qbo_emulator_server
    api = Api(emu)
    # Long enough for ten threads to connect on a loaded machine: all ten must be in flight together.
    emu.add_fault("slow", method="GET", path="companyinfo", count=10, delay=3.0)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(api.call("GET", f"companyinfo/{REALM}", timeout=10).status_code))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while emu.rate_counters(REALM)["in_flight"] < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    eleventh = api.call("GET", f"companyinfo/{REALM}", timeout=10)
    for thread in threads:
        thread.join()
    assert eleventh.status_code == 429 and first_error(eleventh)["code"] == "003001"
    assert results == [200] * 10
    counters = emu.rate_counters(REALM)
    assert counters["max_concurrent"] == 10 and counters["throttled_concurrent"] == 1 and counters["in_flight"] == 0


QUERY_BODY = b"select * from Customer"


def _headers_only(base_url: str, token: str) -> socket.socket:
    """A query POST whose headers are sent and whose body is held back (a slow client)."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        (
            f"POST /v3/company/{REALM}/query?minorversion=75 HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/text\r\nAccept: application/json\r\n"
            f"Content-Length: {len(QUERY_BODY)}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def _wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_request_is_in_flight_from_its_headers_until_its_answer(qbo_emulator_server):
    emu = qbo_emulator_server
    token = emu.issue_tokens(REALM)["access_token"]
    held = [_headers_only(emu.base_url, token) for _ in range(12)]
    _wait_until(lambda: emu.rate_counters(REALM)["in_flight"] + emu.rate_counters(REALM)["throttled_concurrent"] == 12)

    for sock in held:
        sock.sendall(QUERY_BODY)
    answers = [_answer(sock) for sock in held]

    assert sorted(status for status, _ in answers) == [200] * 10 + [429] * 2
    refused = [payload["Fault"]["Error"][0] for status, payload in answers if status == 429]
    assert [(e["code"], e["Message"]) for e in refused] == [
        ("003001", "message=ThrottleExceeded; errorCode=003001; statusCode=429")
    ] * 2
    counters = emu.rate_counters(REALM)
    assert (counters["max_concurrent"], counters["throttled_concurrent"], counters["in_flight"]) == (10, 2, 0)
    assert Api(emu).query("select * from Customer") == {}  # once they are answered, new requests are served
    assert emu.count_requests(method="POST", subpath="query") == 12


class _HeldBody(io.RawIOBase):
    """A WSGI request body that arrives only when the test releases it."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def read(self, size: int = -1) -> bytes:
        self.release.wait(10)
        return QUERY_BODY


def test_the_wsgi_app_counts_a_request_in_flight_while_its_body_is_read(qbo_emulator):
    app, token = make_wsgi_app(qbo_emulator), qbo_emulator.issue_tokens(REALM)["access_token"]
    bodies = threading.Event()
    statuses: list[str] = []

    def call() -> None:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/v3/company/{REALM}/query",
            "QUERY_STRING": "minorversion=75",
            "CONTENT_TYPE": "application/text",
            "CONTENT_LENGTH": str(len(QUERY_BODY)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": _HeldBody(bodies),
        }
        app(environ, lambda status, headers: statuses.append(status))

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    _wait_until(lambda: qbo_emulator.rate_counters(REALM)["throttled_concurrent"] == 2)
    bodies.set()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == ["200 OK"] * 10 + ["429 Too Many Requests"] * 2
    assert qbo_emulator.rate_counters(REALM)["in_flight"] == 0
    call()
    assert statuses[-1] == "200 OK"


# ---- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
def hooked(qbo_emulator):
    recorder = WebhookRecorder()
    qbo_emulator.webhooks.deliver = recorder
    qbo_emulator.configure_webhooks(url="https://app.example.test/qbo/webhooks")
    return qbo_emulator, recorder


def test_legacy_webhook_is_signed_and_batched(hooked):
    emu, recorder = hooked
    api = Api(emu)
    first = api.customer("Webhook Wholesale")
    second = api.customer("Second Street Market")
    assert [event["operation"] for event in emu.webhooks.pending_events()] == ["Create", "Create"]
    attempts = emu.webhooks.flush()
    assert [attempt["outcome"] for attempt in attempts] == ["delivered"]
    call = recorder.calls[0]
    assert call["headers"]["intuit-signature"] == expected_signature(call["body"])
    assert QuickBooks(minorversion=75).validate_webhook_signature(
        call["body"].decode(), call["headers"]["intuit-signature"], VERIFIER
    )
    notification = call["json"]["eventNotifications"]
    assert len(notification) == 1 and notification[0]["realmId"] == REALM
    entities = notification[0]["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Customer", first["Id"], "Create"),
        ("Customer", second["Id"], "Create"),
    ]
    assert entities[0]["lastUpdated"].endswith("Z")
    assert emu.webhooks.pending() == []


def test_cloudevents_format(hooked):
    emu, recorder = hooked
    emu.configure_webhooks(format="cloudevents", verifier_token="another-token")
    customer = Api(emu).customer("Cloud Nine Organics")
    emu.webhooks.flush()
    call = recorder.calls[0]
    assert call["headers"]["Content-Type"] == "application/cloudevents+json"
    assert call["headers"]["intuit-signature"] == expected_signature(call["body"], "another-token")
    (event,) = call["json"]
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitentityid"] == customer["Id"] and event["intuitaccountid"] == REALM
    assert event["source"].startswith("intuit.") and event["id"] and event["time"].endswith("Z")
    assert event["data"] == {}


def test_retry_schedule_and_later_events_wait(hooked):
    emu, recorder = hooked
    recorder.statuses = [500, None, 503, 404]  # then 200; None = timeout
    api = Api(emu)
    api.customer("Retry Ranch")
    assert emu.webhooks.flush()[0]["outcome"] == "failed"
    api.customer("Behind The Barn")  # must wait behind the unacknowledged delivery
    for wait, expected_calls in ((9, 1), (1, 2), (19, 2), (1, 3), (30, 4), (299, 4), (1, 6)):
        emu.advance(wait)
        emu.webhooks.flush()
        assert len(recorder.calls) == expected_calls, (wait, expected_calls)
    first, second = recorder.payloads[-2], recorder.payloads[-1]
    assert (
        first["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"]
        != second["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"]
    )
    assert emu.webhooks.pending() == []
    outcomes = [entry["outcome"] for entry in emu.webhooks.history]
    assert outcomes == ["failed"] * 4 + ["delivered", "delivered"]


def test_answer_slower_than_deadline_is_not_an_acknowledgement(hooked, monkeypatch):
    emu, recorder = hooked
    monkeypatch.setattr(webhooks_module, "ACK_DEADLINE_SECONDS", 0.05)

    def slow(url, body, headers):
        time.sleep(0.1)
        return recorder(url, body, headers)

    emu.webhooks.deliver = slow
    Api(emu).customer("Sluggish Stall")
    (attempt,) = emu.webhooks.flush()
    assert attempt["outcome"] == "failed" and attempt["status"] == 200 and "slow" in attempt["error"]
    assert len(emu.webhooks.pending()) == 1


def test_drop_duplicate_and_reorder_injection(hooked):
    emu, recorder = hooked
    api = Api(emu)
    emu.configure_webhooks(drop_rate=1.0)
    api.customer("Vanishing Veg")
    assert emu.webhooks.flush()[0]["outcome"] == "dropped"
    assert recorder.calls == [] and emu.webhooks.pending() == []

    emu.configure_webhooks(drop_rate=0.0, duplicate_rate=1.0)
    api.customer("Echo Eggs")
    assert [a["outcome"] for a in emu.webhooks.flush()] == ["delivered", "duplicate"]
    assert recorder.calls[0]["body"] == recorder.calls[1]["body"]

    emu.configure_webhooks(duplicate_rate=0.0, reorder=True)
    one, two = api.customer("First Figs"), api.customer("Second Squash")
    emu.webhooks.flush()
    entities = recorder.payloads[-1]["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [e["id"] for e in entities] == [two["Id"], one["Id"]]


def test_batch_window_in_background_ticks(hooked):
    emu, recorder = hooked
    emu.configure_webhooks(batch_window=5)
    Api(emu).customer("Windowed Wares")
    assert emu.webhooks.tick() == [] and recorder.calls == []
    emu.advance(5)
    assert [a["outcome"] for a in emu.webhooks.tick()] == ["delivered"]


def test_webhook_control_api(qbo_emulator):
    base = f"{qbo_emulator.base_url}/_emulator/api"
    recorder = WebhookRecorder()
    qbo_emulator.webhooks.deliver = recorder
    config = requests.post(
        f"{base}/webhooks/config", json={"url": "https://app.example.test/hooks", "format": "cloudevents"}
    ).json()
    assert config["config"]["format"] == "cloudevents"
    Api(qbo_emulator).customer("Control Panel Provisions")
    assert len(requests.get(f"{base}/webhooks").json()["pending"]) == 1
    flushed = requests.post(f"{base}/webhooks/flush", json={}).json()
    assert [a["outcome"] for a in flushed["attempts"]] == ["delivered"] and flushed["pending"] == []
    assert requests.post(f"{base}/webhooks/config", json={"format": "soap"}).status_code == 400


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_live_background_delivery_to_a_real_endpoint(qbo_emulator_server):
    _Receiver.received = []
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        emu = qbo_emulator_server
        emu.configure_webhooks(url=f"http://127.0.0.1:{receiver.server_address[1]}/hooks", batch_window=0.2)
        Api(emu).customer("Background Bakery")
        deadline = time.monotonic() + 5
        while not _Receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        headers, body = _Receiver.received[0]
        assert headers["intuit-signature"] == expected_signature(body)
        assert json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["operation"] == "Create"
    finally:
        receiver.shutdown()
        receiver.server_close()


# ---- UI ---------------------------------------------------------------------------------------


def test_ui_pages_render(qbo_emulator_server):
    emu = qbo_emulator_server
    api = Api(emu)
    customer = api.customer("Page Render Produce")
    api.invoice(customer["Id"], 80.0)
    home = requests.get(f"{emu.base_url}/_emulator/", timeout=5)
    assert "Kadouri Demo Produce LLC" in home.text and home.headers["Content-Type"].startswith("text/html")
    for kind in ("customers", "items", "invoices", "estimates", "payments"):
        page = requests.get(f"{emu.base_url}/_emulator/company/{REALM}/{kind}", timeout=5)
        assert page.status_code == 200, kind
    invoices = requests.get(f"{emu.base_url}/_emulator/company/{REALM}/invoices", timeout=5).text
    assert "Record payment" in invoices and ">Void<" in invoices and "Delete invoice" in invoices
    assert "Page Render Produce" in requests.get(f"{emu.base_url}/_emulator/company/{REALM}/customers", timeout=5).text


def test_ui_actions_emit_webhooks(qbo_emulator_server):
    emu = qbo_emulator_server
    emu.webhooks.stop()  # deliver by hand for determinism
    recorder = WebhookRecorder()
    emu.webhooks.deliver = recorder
    emu.configure_webhooks(url="https://app.example.test/hooks")
    api = Api(emu)
    customer = api.customer("Partial Payer Foods")
    other = api.customer("Merge Me Market")
    invoice = api.invoice(customer["Id"], 100.0)
    emu.webhooks.flush()
    recorder.calls.clear()
    ui = f"{emu.base_url}/_emulator/company/{REALM}"

    paid = requests.post(f"{ui}/invoices/{invoice['Id']}/pay", data={"amount": "40"}, allow_redirects=False, timeout=5)
    assert paid.status_code == 303 and paid.headers["Location"].startswith(f"/_emulator/company/{REALM}/invoices")
    assert api.read("Invoice", invoice["Id"])["Balance"] == 60.0
    page = requests.get(f"{emu.base_url}{paid.headers['Location']}", timeout=5).text
    assert "Partially paid" in page and 'id="flash"' in page and "Payment recorded" in page

    requests.post(f"{ui}/customers/{customer['Id']}/rename", data={"display_name": "Renamed Foods"}, timeout=5)
    requests.post(f"{ui}/customers/merge", data={"from_id": other["Id"], "into_id": customer["Id"]}, timeout=5)
    emu.webhooks.flush()
    events = {
        (e["name"], e["operation"])
        for p in recorder.payloads
        for n in p["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    }
    assert ("Payment", "Create") in events
    assert ("Invoice", "Update") in events
    assert ("Customer", "Update") in events
    assert ("Customer", "Merge") in events
    assert api.read("Customer", customer["Id"])["DisplayName"] == "Renamed Foods"


def test_ui_void_delete_and_item_inactive(qbo_emulator):
    emu = qbo_emulator
    api = Api(emu)
    customer = api.customer("Voidable Vendors")
    voided = api.invoice(customer["Id"], 50.0)
    deleted = api.invoice(customer["Id"], 25.0)
    ui = f"{emu.base_url}/_emulator/company/{REALM}"
    assert requests.post(f"{ui}/invoices/{voided['Id']}/void", allow_redirects=False).status_code == 303
    assert api.read("Invoice", voided["Id"])["TotalAmt"] == 0
    requests.post(f"{ui}/invoices/{deleted['Id']}/delete")
    assert api.call("GET", f"invoice/{deleted['Id']}").status_code == 400

    paid = api.invoice(customer["Id"], 30.0)
    requests.post(f"{ui}/invoices/{paid['Id']}/pay", data={"amount": ""})
    assert api.read("Invoice", paid["Id"])["Balance"] == 0
    payment_id = api.query("select * from Payment")["Payment"][0]["Id"]
    requests.post(f"{ui}/payments/{payment_id}/delete")
    assert api.read("Invoice", paid["Id"])["Balance"] == 30.0

    item_id = voided["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]
    requests.post(f"{ui}/items/{item_id}/active", data={"active": "false"})
    assert api.read("Item", item_id)["Active"] is False
    assert "Make active" in requests.get(f"{ui}/items").text

    error = requests.post(f"{ui}/invoices/99999/void", allow_redirects=False)
    assert error.status_code == 303 and "error=" in error.headers["Location"]


# ---- control API and request log --------------------------------------------------------------


def test_control_api_round_trip(qbo_emulator):
    base = f"{qbo_emulator.base_url}/_emulator/api"
    Api(qbo_emulator).customer("Dumped Deli")
    companies = requests.get(f"{base}/companies").json()["companies"]
    assert {c["realm_id"] for c in companies} == {REALM, OTHER_REALM} | {f"91303500000000{n:02d}" for n in range(3, 11)}
    assert requests.get(f"{base}/companies/{REALM}").status_code == 200
    assert requests.get(f"{base}/companies/nope").status_code == 404
    before = requests.get(f"{base}/clock").json()["offset_seconds"]
    after = requests.post(f"{base}/clock/advance", json={"seconds": 90}).json()["offset_seconds"]
    assert after - before == 90
    log = requests.get(f"{base}/requests", params={"method": "POST", "subpath": "customer"}).json()["requests"]
    assert len(log) == 1 and log[0]["status"] == 200 and log[0]["realm"] == REALM
    stats = requests.get(f"{base}/stats").json()
    assert stats["limits"][REALM]["requests"] == 1 and "refresh_token" in stats["tokens"]
    tokens = requests.post(f"{base}/tokens", json={"realm_id": OTHER_REALM}).json()
    assert (
        Api(qbo_emulator, OTHER_REALM, tokens["access_token"]).call("GET", f"companyinfo/{OTHER_REALM}").status_code
        == 200
    )
    assert requests.post(f"{base}/reset", json={}).json() == {"ok": True}
    assert qbo_emulator.requests() == []
    assert requests.get(f"{base}/nothing-here").status_code == 404


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_control_api_refuses_bodies_a_web_page_can_send_without_a_preflight(qbo_emulator_server, content_type):
    base = f"{qbo_emulator_server.base_url}/_emulator/api"
    headers = {"Content-Type": content_type} if content_type else {}

    for route, body in [
        ("faults", '{"kind": "500", "path": ".*", "count": 100}'),
        ("reset", "{}"),
        (f"companies/{REALM}/actions/rename_customer", '{"customer_id": "1", "display_name": "Pwned"}'),
    ]:
        answer = requests.post(f"{base}/{route}", data=body, headers=headers, timeout=5)
        assert answer.status_code == 415, (route, answer.text)
        assert "application/json" in answer.json()["error"]

    assert qbo_emulator_server.faults.list() == []
    assert requests.post(f"{base}/faults", json={"kind": "500"}, timeout=5).status_code == 200  # JSON still works
    assert (
        requests.post(
            f"{base}/clock/advance",
            data='{"seconds": 1}',
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=5,
        ).status_code
        == 200
    )


def test_control_api_and_ui_refuse_requests_from_another_site(qbo_emulator_server):
    emu = qbo_emulator_server
    base = emu.base_url
    ui_action = f"{base}/_emulator/clock/advance"
    foreign = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

    api = requests.post(f"{base}/_emulator/api/faults", json={"kind": "500"}, headers=foreign, timeout=5)
    ui = requests.post(
        ui_action,
        data={"seconds": "3600"},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
        timeout=5,
    )
    same_origin = requests.post(
        ui_action,
        data={"seconds": "60"},
        allow_redirects=False,
        timeout=5,
        headers={"Origin": base, "Sec-Fetch-Site": "same-origin"},
    )

    assert api.status_code == 403 and ui.status_code == 403
    assert emu.faults.list() == []
    assert same_origin.status_code == 303 and emu.clock.offset_seconds == 60


def test_grants_are_listed_with_their_revocation(qbo_emulator):
    kept, dropped = qbo_emulator.issue_tokens(REALM), qbo_emulator.issue_tokens(OTHER_REALM)
    make_auth_client(qbo_emulator).revoke(token=dropped["refresh_token"])

    grants = {
        grant["id"]: grant for grant in requests.get(f"{qbo_emulator.base_url}/_emulator/api/grants").json()["grants"]
    }

    assert grants[qbo_emulator.oauth.grant_of(kept["access_token"])]["revoked"] is False
    assert grants[qbo_emulator.oauth.grant_of(dropped["access_token"])] | {"created_at": None} == {
        "id": qbo_emulator.oauth.grant_of(dropped["refresh_token"]),
        "realm": OTHER_REALM,
        "revoked": True,
        "created_at": None,
    }
    assert qbo_emulator.stats()["grants"] == {"issued": 2, "revoked": 1}
    assert [g["realm"] for g in qbo_emulator.grants(REALM)] == [REALM]


# ---- persistence ------------------------------------------------------------------------------


def test_state_file_survives_restart(tmp_path: Path):
    state_file = tmp_path / "qbo-state.json"
    emu = Emulator(state_file=state_file)
    tokens = emu.issue_tokens(REALM)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "application/json"}
    status, _, body = emu.handle(
        "POST",
        f"/v3/company/{REALM}/customer?minorversion=75",
        headers,
        json.dumps({"DisplayName": "Persistent Pantry"}),
    )
    assert status == 200
    customer_id = json.loads(body)["Customer"]["Id"]
    emu.advance(120)
    assert state_file.exists() and not list(tmp_path.glob(".*tmp"))

    reborn = Emulator(state_file=state_file)
    assert reborn.clock.offset_seconds == pytest.approx(120, abs=1)
    status, _, body = reborn.handle("GET", f"/v3/company/{REALM}/customer/{customer_id}", headers)
    assert status == 200 and json.loads(body)["Customer"]["DisplayName"] == "Persistent Pantry"
    refreshed = reborn.handle(
        "POST",
        "/oauth2/v1/tokens/bearer",
        {"Authorization": "Basic " + base64.b64encode(b"emulator-client-id:emulator-client-secret").decode()},
        f"grant_type=refresh_token&refresh_token={tokens['refresh_token']}",
    )
    assert refreshed[0] == 200


@pytest.mark.parametrize("content", ["{not json", "", '{"format": "qbo-emulator-state", "version": 1}', "[1, 2]"])
def test_corrupt_state_file_is_refused(tmp_path: Path, content: str):
    state_file = tmp_path / "qbo-state.json"
    state_file.write_text(content)
    with pytest.raises(StateFileError) as excinfo:
        Emulator(state_file=state_file)
    assert str(state_file) in str(excinfo.value) and "refusing to start" in str(excinfo.value)
    assert state_file.read_text() == content  # not silently reset


def test_state_with_broken_accounting_section_is_refused(tmp_path: Path):
    state_file = tmp_path / "qbo-state.json"
    Emulator(state_file=state_file)
    data = json.loads(state_file.read_text())
    data["accounting"] = {"companies": "garbage"}
    state_file.write_text(json.dumps(data))
    with pytest.raises(StateFileError):
        Emulator(state_file=state_file)
