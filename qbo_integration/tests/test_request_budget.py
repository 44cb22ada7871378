"""The company's request budget, shared by every process that talks to QuickBooks (connection/budget).

The emulator is the judge: its limits refuse what goes over (a 429) and it counts the peaks it admitted. The
"machines" are store instances of their own (their own PostgreSQL connection or Redis client), threads, or
processes of their own (`budget_client`). Windows are shortened to a second so the tests take seconds, with the
emulator's limit one above the budget's, as QuickBooks' 500 a minute is above Kadouri's 480.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone

from qbo_integration.checks import quickbooks_request_budget, quickbooks_request_budget_deploy
from qbo_integration.client import http
from qbo_integration.client.errors import QboPausedError, QboThrottledError, QboTransientError
from qbo_integration.connection import budget, calls
from qbo_integration.connection.budget.in_postgres import PostgresStore
from qbo_integration.connection.budget.in_process import ProcessStore
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID

from .budget_support import ThrowawayDatabase, make_store, redis_url, run_client
from .conftest import entities

STORES = ["process", "postgres", "redis"]
SHARED = ["postgres", "redis"]
BATCH = json.dumps({"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]})
NO_LIMITS = {"per_minute": None, "batch_per_minute": None, "concurrent": None}


@pytest.fixture(scope="module")
def database():
    db = ThrowawayDatabase()
    yield db
    db.drop()


@pytest.fixture
def shared_budget(request, database):
    """(kind, address) of a fresh budget; each machine makes its own store of it."""
    kind = request.param
    address = database.url if kind == "postgres" else f"kadouri-test:{uuid.uuid4().hex}"
    yield kind, address
    if kind != "process":
        make_store(kind, address).clear()


def machines(kind: str, address: str, count: int = 2) -> list:
    if kind == "process":  # one process: its threads share its one store
        return [ProcessStore()] * count
    return [make_store(kind, address) for _ in range(count)]


def send_from(stores: list, emu, *, threads: int, each: int, limits: budget.Limits, batch_every: int = 0) -> Counter:
    """`threads` threads per machine, each sending `each` requests through the budget; their outcomes."""
    token = emu.issue_tokens(REALM_ID)["access_token"]

    def one(store, n: int) -> str:
        is_batch = bool(batch_every) and n % batch_every == 0
        with budget.admitted(REALM_ID, is_batch=is_batch, store=store, limits=limits):
            try:
                if is_batch:
                    http.send(realm_id=REALM_ID, access_token=token, method="POST", path="batch", body=BATCH)
                else:
                    http.send(realm_id=REALM_ID, access_token=token, method="GET", path=f"companyinfo/{REALM_ID}")
            except QboThrottledError:
                return "throttled"
        return "ok"

    with ThreadPoolExecutor(len(stores) * threads) as pool:
        futures = [pool.submit(one, store, n) for n in range(threads * each) for store in stores]
        return Counter(future.result() for future in futures)


def slow_answers(emu, delay: float) -> None:
    emu.add_fault("slow", method="GET", path="companyinfo", delay=delay, rate=1.0, count=None)


# --- several machines, one budget ------------------------------------------------------------------------------


@pytest.mark.parametrize("shared_budget", STORES, indirect=True)
def test_machines_sharing_the_budget_never_have_more_in_flight_than_it_allows(qbo, shared_budget):
    qbo.configure_limits(**NO_LIMITS | {"concurrent": 3})
    slow_answers(qbo, 0.03)
    limits = budget.Limits(**NO_LIMITS | {"concurrent": 3})

    outcomes = send_from(machines(*shared_budget), qbo, threads=4, each=5, limits=limits)

    counters = qbo.rate_counters(REALM_ID)
    assert outcomes == {"ok": 40}
    assert (counters["throttled"], counters["max_concurrent"]) == (0, 3)


def test_machines_counting_alone_go_over_the_limit(qbo):
    """What the budget prevents: two machines that each keep their own count together exceed QuickBooks' limit."""
    qbo.configure_limits(**NO_LIMITS | {"concurrent": 3})
    slow_answers(qbo, 0.03)
    limits = budget.Limits(**NO_LIMITS | {"concurrent": 3})

    outcomes = send_from([ProcessStore(), ProcessStore()], qbo, threads=4, each=5, limits=limits)

    assert outcomes["throttled"] > 0 and qbo.rate_counters(REALM_ID)["throttled_concurrent"] > 0


@pytest.mark.parametrize("shared_budget", STORES, indirect=True)
def test_machines_sharing_the_budget_stay_under_its_minute_and_batch_limits(qbo, shared_budget):
    qbo.configure_limits(**NO_LIMITS | {"per_minute": 7, "batch_per_minute": 3, "window_seconds": 1})
    limits = budget.Limits(**NO_LIMITS | {"per_minute": 6, "batch_per_minute": 2, "window": 1.0})

    started = time.monotonic()
    outcomes = send_from(machines(*shared_budget), qbo, threads=3, each=3, limits=limits, batch_every=3)
    elapsed = time.monotonic() - started

    counters = qbo.rate_counters(REALM_ID)
    assert outcomes == {"ok": 18}  # 6 of them batch requests
    assert counters["throttled"] == 0 and counters["max_per_minute"] <= 7 and counters["max_batch_per_minute"] <= 3
    assert elapsed >= 2.0  # 18 at 6 a "minute", 6 batches at 2: they waited their turn


@pytest.mark.parametrize("shared_budget", SHARED, indirect=True)
def test_two_processes_sharing_the_budget_never_exceed_it(qbo_emulator_server, shared_budget):
    emu = qbo_emulator_server
    emu.configure_limits(**NO_LIMITS | {"concurrent": 3})
    slow_answers(emu, 0.1)
    kind, address = shared_budget
    spec = {
        "store": kind,
        "address": address,
        "limits": NO_LIMITS | {"concurrent": 3},
        "emulator": emu.base_url,
        "realm": REALM_ID,
        "token": emu.issue_tokens(REALM_ID)["access_token"],
        "threads": 4,
        "requests": 6,
    }

    clients = [run_client(spec, wait=False) for _ in range(2)]
    answers = [json.loads(client.communicate(timeout=120)[0].strip().splitlines()[-1]) for client in clients]

    counters = emu.rate_counters(REALM_ID)
    assert answers == [{"ok": 24, "throttled": 0}] * 2
    assert (counters["requests"], counters["throttled"], counters["max_concurrent"]) == (48, 0, 3)


@pytest.mark.parametrize("shared_budget", SHARED, indirect=True)
def test_a_crashed_holders_slot_expires(shared_budget):
    kind, address = shared_budget
    limits = NO_LIMITS | {"concurrent": 1, "hold": 3.0}
    spec = {"store": kind, "address": address, "limits": limits, "emulator": "", "realm": REALM_ID, "crash": True}

    crashed = run_client(spec, wait=False)
    out, _ = crashed.communicate(timeout=60)

    assert crashed.returncode == -signal.SIGKILL and json.loads(out) == {"took": 1}
    store, limits = make_store(kind, address), budget.Limits(**limits)
    assert isinstance(store.take(REALM_ID, is_batch=False, limits=limits), budget.Wait)  # the dead still hold it
    deadline = time.monotonic() + 5
    while not isinstance(answer := store.take(REALM_ID, is_batch=False, limits=limits), budget.Grant):
        assert time.monotonic() < deadline, "the crashed holder's slot never expired"
        time.sleep(answer.seconds)


# --- every request of the app passes the budget ----------------------------------------------------------------


def test_a_request_waits_for_the_budget_instead_of_failing(qbo_connected, settings):
    settings.QBO_BUDGET_PER_MINUTE, settings.QBO_BUDGET_WINDOW_SECONDS = 3, 1.0

    started = time.monotonic()
    names = [calls.company_info(REALM_ID)["CompanyName"] for _ in range(7)]

    assert len(names) == 7 and time.monotonic() - started >= 2.0
    counters = qbo_connected.rate_counters(REALM_ID)
    assert (counters["requests"], counters["throttled"]) == (7, 0)


def test_past_its_patience_a_request_is_not_sent_and_tells_when_the_budget_frees(qbo_connected, settings):
    settings.QBO_BUDGET_PER_MINUTE, settings.QBO_BUDGET_WINDOW_SECONDS = 2, 30.0
    calls.company_info(REALM_ID)
    calls.company_info(REALM_ID)

    with budget.patience(0.2), pytest.raises(QboPausedError) as refused:
        calls.company_info(REALM_ID)

    assert 25 < (refused.value.retry_at - timezone.now()).total_seconds() <= 30.5
    assert "request limits" in refused.value.message
    assert qbo_connected.rate_counters(REALM_ID)["requests"] == 2


def test_a_click_leaves_its_job_to_the_worker_when_the_budget_is_spent(qbo_connected, settings, order_factory):
    settings.QBO_BUDGET_PER_MINUTE = 1
    calls.company_info(REALM_ID)  # the budget of this minute is spent
    order = order_factory()

    started = time.monotonic()
    job = order_push_request(order=order, doc_type="invoice", by=None)

    assert time.monotonic() - started < budget.CLICK_WAIT_SECONDS + 3
    assert (job.state, job.attempts) == ("pending", 0)  # waiting for the budget is not a failed attempt
    assert (job.not_before - timezone.now()).total_seconds() > 40
    assert qbo_connected.rate_counters(REALM_ID)["requests"] == 1 and entities(qbo_connected, "Invoice") == []


def test_a_failed_request_gives_its_slot_back(qbo_connected, settings):
    settings.QBO_BUDGET_CONCURRENT = 1
    qbo_connected.add_fault("500", method="GET", path="companyinfo", count=1)

    with pytest.raises(QboTransientError):
        calls.company_info(REALM_ID)

    with budget.patience(0):  # no wait at all: the one slot must be free
        assert calls.company_info(REALM_ID)["CompanyName"]


def test_with_redis_configured_the_app_counts_in_redis(qbo_connected, settings):
    settings.QBO_REQUEST_BUDGET, settings.REDIS_URL, settings.QBO_BUDGET_CONCURRENT = "redis", redis_url(), 1
    store = budget.current_store()
    other_machine = make_store("redis", store.prefix)
    held = other_machine.take(REALM_ID, is_batch=False, limits=budget.current_limits())
    try:
        with budget.patience(0.2), pytest.raises(QboPausedError):
            calls.company_info(REALM_ID)
    finally:
        other_machine.release(held)

    assert calls.company_info(REALM_ID)["CompanyName"]
    assert qbo_connected.rate_counters(REALM_ID)["requests"] == 1
    store.clear()


def test_the_database_budget_lives_in_postgresql_and_per_process_on_sqlite(qbo_connected, settings):
    settings.QBO_REQUEST_BUDGET = "database"

    store = budget.current_store()

    assert type(store) is (PostgresStore if connection.vendor == "postgresql" else ProcessStore)
    assert calls.company_info(REALM_ID)["CompanyName"]
    store.clear()
    if isinstance(store, PostgresStore):
        store.close()  # the test database is dropped at the end


def test_an_unreachable_budget_store_does_not_stop_quickbooks_work(qbo_connected, settings, caplog):
    settings.QBO_REQUEST_BUDGET, settings.REDIS_URL = "redis", "redis://127.0.0.1:9/0"

    assert calls.company_info(REALM_ID)["CompanyName"]

    assert "request budget unavailable (ConnectionError)" in caplog.text


def test_a_budget_store_that_cannot_work_is_refused_at_start(settings):
    settings.QBO_REQUEST_BUDGET, settings.REDIS_URL = "redis", ""
    assert [p.id for p in quickbooks_request_budget(None)] == ["qbo.E021"]
    settings.QBO_REQUEST_BUDGET = "memcached"
    assert [p.id for p in quickbooks_request_budget(None)] == ["qbo.E020"]
    settings.QBO_REQUEST_BUDGET = "process"
    assert [p.id for p in quickbooks_request_budget_deploy(None)] == ["qbo.W020"]
