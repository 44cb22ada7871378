"""A table of hostile and broken inputs: forms, the JSON API, the OAuth callback and the webhook.

Each case: a clear refusal (a 4xx with a message; on HTML pages that follow the house style C3 a redirect
back with an error message; on the webhook a documented 200-and-ignored for harmless repeats), no change to
any order, line, activity, account, product, token, webhook event or sync job, no 500, and no traceback or
secret in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.conf import settings
from django.test import Client

from accounts.models import Account
from products.models import Product
from qbo_integration import mapping
from qbo_integration.inbound import intake
from qbo_integration.testing import REALM_ID

from .conftest import World, assert_no_leak, business_snapshot, diff, secrets_now

pytestmark = pytest.mark.django_db

DROP = object()
MB = 1024 * 1024
REDIRECT = 302  # an HTML refusal: back to the page, the reason in a message


def _merge(base: dict, over: dict) -> dict:
    data = dict(base)
    for key, value in over.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def new_order(over: dict | None = None) -> Callable[[World], dict]:
    def build(w: World) -> dict:
        return _merge(
            {
                "number": "",
                "seller": w.seller.pk,
                "buyer": w.buyer.pk,
                "order_date": "2026-11-02",
                "terms": "net_30",
                "commission_rate": "5",
                "notes": "",
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "0",
                "lines-MIN_NUM_FORMS": "0",
                "lines-MAX_NUM_FORMS": "1000",
                "lines-0-product": w.apples.pk,
                "lines-0-quantity": "3",
            },
            over or {},
        )

    return build


def edit_order(over: dict | None = None) -> Callable[[World], dict]:
    def build(w: World) -> dict:
        w.draft.refresh_from_db()
        return new_order({"number": w.draft.number, "version": w.draft.version} | (over or {}))(w)

    return build


def account_form(over: dict | None = None) -> Callable[[World], dict]:
    return lambda w: _merge(
        {"name": "New Buyer Co", "code": "NBC", "email": "nbc@example.com", "country": "USA", "active": "on"},
        over or {},
    )


def product_form(over: dict | None = None) -> Callable[[World], dict]:
    return lambda w: _merge(
        {"name": "Bosc Pears", "sku": "BOSC", "unit": "case", "unit_price": "30.00", "active": "on"}, over or {}
    )


def login_form(over: dict | None = None) -> Callable[[World], dict]:
    return lambda w: _merge({"username": "sam", "password": "pw-sam-123"}, over or {})


def raw(body: bytes | str) -> Callable[[World], bytes]:
    return lambda w: body.encode() if isinstance(body, str) else body


def js(obj: Any) -> Callable[[World], bytes]:
    return lambda w: json.dumps(obj).encode()


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    url: str  # formatted with the world's ids: {draft} {posted} {paid} {seller} {buyer} {apples} and setup's extras
    body: Callable[[World], Any] | None = None
    kind: str = "form"  # form | json (raw bytes, application/json) | query (GET parameters)
    expect: tuple[int, ...] = (400,)
    says: str = ""  # a fragment of the clear message (in the body, the JSON error or the flashed message)
    who: str = "staff"  # staff | admin | anon
    setup: Callable[[Client, World], dict] | None = None
    headers: dict = field(default_factory=dict)


# --- OAuth callback helpers ---------------------------------------------------------------------------


def _start(client: Client) -> dict:
    """Starts a real flow; returns the callback parameters the emulator's consent page sends back."""
    authorize = client.get("/api/quickbooks/connect")["Location"]
    fields = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
    answer = requests.post(
        authorize.split("?")[0], data=fields | {"realm_id": REALM_ID, "action": "connect"}, allow_redirects=False
    )
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}


def started(client: Client, w: World) -> dict:
    return _start(client)


def replayed(client: Client, w: World) -> dict:
    params = _start(client)
    assert client.get("/api/quickbooks/callback", params).status_code == 302  # the first use succeeds (same realm)
    return params


def callback(over: dict) -> Callable[[World], dict]:
    # The setup's parameters are merged in by the test (they are only known after the consent page).
    return lambda w: over


# --- webhook helpers ------------------------------------------------------------------------------------


def _delivery(entity_id: str = "1", realm: str = REALM_ID) -> bytes:
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": entity_id,
                                "operation": "Update",
                                "lastUpdated": "2026-11-02T10:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()


def signed(body: bytes | None = None, *, token: str | None = None, sign_body: bytes | None = None) -> dict:
    body = _delivery() if body is None else body
    return {
        "body": body,
        "sig": intake.sign(sign_body if sign_body is not None else body, token or settings.QBO_WEBHOOK_VERIFIER_TOKEN),
    }


def delivered_once(client: Client, w: World) -> dict:
    """A genuine delivery, stored before the snapshot; the case replays it byte for byte."""
    body = _delivery("77")
    response = Client().post(
        "/api/quickbooks/webhook",
        body,
        content_type="application/json",
        HTTP_INTUIT_SIGNATURE=intake.sign(body, settings.QBO_WEBHOOK_VERIFIER_TOKEN),
    )
    assert response.status_code == 200, response.content
    return {}


def webhook(
    id: str,
    body: bytes | Callable[[], dict],
    expect=(400, 401, 413),
    says: str = "",
    setup=None,
    sig: str | None = None,
):
    """A webhook case: `body` is raw bytes (sent unsigned unless `sig`), or a callable returning signed() parts."""
    return Case(
        id,
        "POST",
        "/api/quickbooks/webhook",
        body=lambda w: body,
        kind="webhook",
        expect=expect,
        says=says,
        who="anon",
        setup=setup,
        headers={"sig": sig} if sig is not None else {},
    )


NESTED = b"[" * 200_000 + b"]" * 200_000
LONG_NAME = "A" * 600

CASES = [
    # --- order create form ----------------------------------------------------------------------------
    Case("order-qty-zero", "POST", "/orders/new/", new_order({"lines-0-quantity": "0"}), says="greater than zero"),
    Case("order-qty-negative", "POST", "/orders/new/", new_order({"lines-0-quantity": "-5"}), says="greater than zero"),
    Case("order-qty-text", "POST", "/orders/new/", new_order({"lines-0-quantity": "ten"}), says="Enter a number"),
    Case("order-qty-nan", "POST", "/orders/new/", new_order({"lines-0-quantity": "NaN"}), says="Enter a number"),
    Case(
        "order-qty-infinity", "POST", "/orders/new/", new_order({"lines-0-quantity": "Infinity"}), says="Enter a number"
    ),
    Case("order-qty-1e400", "POST", "/orders/new/", new_order({"lines-0-quantity": "1e400"}), says="digits"),
    Case(
        "order-qty-4-decimals", "POST", "/orders/new/", new_order({"lines-0-quantity": "1.0001"}), says="decimal places"
    ),
    Case(
        "order-price-negative",
        "POST",
        "/orders/new/",
        new_order({"lines-0-unit_price": "-1"}),
        says="cannot be negative",
    ),
    Case("order-price-text", "POST", "/orders/new/", new_order({"lines-0-unit_price": "abc"}), says="Enter a number"),
    Case(
        "order-price-huge",
        "POST",
        "/orders/new/",
        new_order({"lines-0-unit_price": "99999999999999999"}),
        says="digits",
    ),
    Case("order-line-no-product", "POST", "/orders/new/", new_order({"lines-0-product": ""}), says="Choose a product"),
    Case(
        "order-line-unknown-product",
        "POST",
        "/orders/new/",
        new_order({"lines-0-product": "999999"}),
        says="valid choice",
    ),
    Case(
        "order-line-sql-product",
        "POST",
        "/orders/new/",
        new_order({"lines-0-product": "1 OR 1=1"}),
        says="valid choice",
    ),
    Case("order-line-size-too-long", "POST", "/orders/new/", new_order({"lines-0-size": "L" * 51}), says="at most 50"),
    Case(
        "order-seller-is-buyer",
        "POST",
        "/orders/new/",
        lambda w: new_order({"buyer": w.seller.pk})(w),
        says="different account",
    ),
    Case("order-unknown-seller", "POST", "/orders/new/", new_order({"seller": "999999"}), says="valid choice"),
    Case("order-missing-seller", "POST", "/orders/new/", new_order({"seller": DROP}), says="required"),
    Case("order-unknown-terms", "POST", "/orders/new/", new_order({"terms": "net_999"}), says="valid choice"),
    Case("order-number-newline", "POST", "/orders/new/", new_order({"number": "KD-1\nKD-2"}), says="one line"),
    Case(
        "order-number-rtl-override",
        "POST",
        "/orders/new/",
        new_order({"number": "KD-\u202e1"}),
        says="control character",
    ),
    Case(
        "order-line-size-bidi", "POST", "/orders/new/", new_order({"lines-0-size": "\u2066L"}), says="control character"
    ),
    Case("order-number-too-long", "POST", "/orders/new/", new_order({"number": "N" * 22}), says="at most 21"),
    Case(
        "order-commission-150",
        "POST",
        "/orders/new/",
        new_order({"commission_rate": "150"}),
        says="less than or equal to 100",
    ),
    Case(
        "order-commission-negative",
        "POST",
        "/orders/new/",
        new_order({"commission_rate": "-1"}),
        says="greater than or equal to 0",
    ),
    Case("order-commission-nan", "POST", "/orders/new/", new_order({"commission_rate": "NaN"}), says="Enter a number"),
    Case("order-bad-date", "POST", "/orders/new/", new_order({"order_date": "2026-13-45"}), says="valid date"),
    Case("order-date-9999", "POST", "/orders/new/", new_order({"order_date": "9999-12-31"}), says="must be between"),
    Case("order-date-1999", "POST", "/orders/new/", new_order({"order_date": "1999-12-31"}), says="must be between"),
    Case("order-date-year-1", "POST", "/orders/new/", new_order({"order_date": "0001-01-01"}), says="must be between"),
    Case("order-missing-date", "POST", "/orders/new/", new_order({"order_date": DROP}), says="required"),
    Case("order-no-lines", "POST", "/orders/new/", new_order({"lines-TOTAL_FORMS": "0"}), says="at least one line"),
    Case(
        "order-tampered-management-form",
        "POST",
        "/orders/new/",
        new_order({"lines-TOTAL_FORMS": "abc"}),
        says="at least one line",
    ),
    Case("order-100000-lines", "POST", "/orders/new/", new_order({"lines-TOTAL_FORMS": "100000"}), says="at most 200"),
    Case("order-nul-in-notes", "POST", "/orders/new/", new_order({"notes": "a\x00b"}), says="Null characters"),
    Case("order-10mb-notes", "POST", "/orders/new/", new_order({"notes": "x" * (10 * MB)})),
    # --- order edit form ------------------------------------------------------------------------------
    Case(
        "edit-stale-version",
        "POST",
        "/orders/{draft}/edit/",
        edit_order({"version": "1", "notes": "mine"}),
        setup=lambda c, w: _bump(w),
        expect=(409,),
        says="was changed by",
    ),
    Case(
        "edit-version-text", "POST", "/orders/{draft}/edit/", edit_order({"version": "abc"}), says="version was altered"
    ),
    Case(
        "edit-missing-version",
        "POST",
        "/orders/{draft}/edit/",
        edit_order({"version": DROP, "notes": "mine"}),
        says="version is missing",
    ),
    Case(
        "edit-paid-order",
        "POST",
        "/orders/{paid}/edit/",
        edit_order({"notes": "hacked"}),
        expect=(REDIRECT,),
        says="cannot be edited",
    ),
    Case("edit-unknown-order", "POST", "/orders/999999/edit/", edit_order(), expect=(404,)),
    Case("edit-overflowing-id", "POST", "/orders/99999999999999999999999/edit/", edit_order(), expect=(404,)),
    Case(
        "edit-date-9999",
        "POST",
        "/orders/{draft}/edit/",
        edit_order({"order_date": "9999-12-31"}),
        says="must be between",
    ),
    Case(
        "edit-qty-zero",
        "POST",
        "/orders/{draft}/edit/",
        edit_order({"lines-0-quantity": "0"}),
        says="greater than zero",
    ),
    Case("delete-paid-order", "POST", "/orders/{paid}/delete/", expect=(REDIRECT,), says="cannot be deleted"),
    Case("delete-posted-order", "POST", "/orders/{posted}/delete/", expect=(REDIRECT,), says="Void the invoice first"),
    Case("delete-with-get-style-put", "PUT", "/orders/{draft}/delete/", expect=(405,)),
    # --- accounts and products ------------------------------------------------------------------------
    Case("account-name-600-chars", "POST", "/accounts/new/", account_form({"name": LONG_NAME}), says="at most 200"),
    Case("account-name-nul", "POST", "/accounts/new/", account_form({"name": "Acme\x00Inc"}), says="Null characters"),
    Case(
        "account-name-escape-sequence",
        "POST",
        "/accounts/new/",
        account_form({"name": "\x1b[31mAcme"}),
        says="control character",
    ),
    Case(
        "account-name-rtl-override",
        "POST",
        "/accounts/new/",
        account_form({"name": "Acme \u202egnp.exe"}),
        says="control character",
    ),
    Case(
        "account-notes-bell",
        "POST",
        "/accounts/new/",
        account_form({"notes": "ring\x07ring"}),
        says="control character",
    ),
    Case(
        "account-notes-escape", "POST", "/accounts/new/", account_form({"notes": "\x1b[2J"}), says="control character"
    ),
    Case(
        "account-code-zero-width",
        "POST",
        "/accounts/new/",
        account_form({"code": "N\u200bBC"}),
        says="control character",
    ),
    Case("account-name-blank", "POST", "/accounts/new/", account_form({"name": "   "}), says="required"),
    Case("account-code-duplicate", "POST", "/accounts/new/", account_form({"code": "hfm"}), says="already exists"),
    Case("account-code-too-long", "POST", "/accounts/new/", account_form({"code": "C" * 21}), says="at most 20"),
    Case("account-bad-email", "POST", "/accounts/new/", account_form({"email": "not-an-email"}), says="valid email"),
    Case("account-edit-unknown", "POST", "/accounts/999999/edit/", account_form(), expect=(404,)),
    Case(
        "account-edit-rename-control",
        "POST",
        "/accounts/{seller}/edit/",
        account_form({"name": "Green\x07Valley", "code": "GVF"}),
        says="control character",
    ),
    Case(
        "product-price-negative",
        "POST",
        "/products/new/",
        product_form({"unit_price": "-1"}),
        says="greater than or equal to 0",
    ),
    Case("product-price-nan", "POST", "/products/new/", product_form({"unit_price": "NaN"}), says="Enter a number"),
    Case("product-price-1e400", "POST", "/products/new/", product_form({"unit_price": "1e400"}), says="digits"),
    Case("product-unknown-unit", "POST", "/products/new/", product_form({"unit": "ton"}), says="valid choice"),
    Case(
        "product-duplicate-name",
        "POST",
        "/products/new/",
        product_form({"name": " gala APPLES "}),
        says="already has this name",
    ),
    Case("product-name-101-chars", "POST", "/products/new/", product_form({"name": "P" * 101}), says="at most 100"),
    Case(
        "product-name-control", "POST", "/products/new/", product_form({"name": "Pe\x7fars"}), says="control character"
    ),
    Case(
        "product-sku-zero-width",
        "POST",
        "/products/new/",
        product_form({"sku": "BO\u200bSC"}),
        says="control character",
    ),
    Case(
        "product-description-bom",
        "POST",
        "/products/new/",
        product_form({"description": "\ufeffcrisp"}),
        says="control character",
    ),
    Case("product-edit-unknown", "POST", "/products/999999/edit/", product_form(), expect=(404,)),
    # --- login ----------------------------------------------------------------------------------------
    Case(
        "login-wrong-password",
        "POST",
        "/login/",
        login_form({"password": "nope"}),
        who="anon",
        expect=(200,),
        says="Please enter a correct username and password",
    ),
    Case(
        "login-huge-username",
        "POST",
        "/login/",
        login_form({"username": "u" * 100_000}),
        who="anon",
        expect=(200,),
        says="Please enter a correct username and password",
    ),
    Case(
        "login-nul-username",
        "POST",
        "/login/",
        login_form({"username": "sam\x00"}),
        who="anon",
        expect=(200,),
        says="Null characters",
    ),
    # --- JSON API -------------------------------------------------------------------------------------
    Case("api-not-json", "PATCH", "/api/orders/{draft}", raw("notes=x"), "json", says="must be JSON"),
    Case("api-invalid-utf8", "PATCH", "/api/orders/{draft}", raw(b"\xff\xfe{"), "json", says="must be JSON"),
    Case("api-array-body", "PATCH", "/api/orders/{draft}", js([{"notes": "x"}]), "json", says="JSON object"),
    Case("api-string-body", "PATCH", "/api/orders/{draft}", js("notes"), "json", says="JSON object"),
    Case("api-deeply-nested", "PATCH", "/api/orders/{draft}", raw(NESTED), "json", says="must be JSON"),
    Case("api-notes-number", "PATCH", "/api/orders/{draft}", js({"notes": 123}), "json", says="notes must be a string"),
    Case("api-notes-10mb", "PATCH", "/api/orders/{draft}", js({"notes": "x" * (10 * MB)}), "json"),
    Case("api-notes-too-long", "PATCH", "/api/orders/{draft}", js({"notes": "x" * 10_001}), "json", says="10,000"),
    Case("api-notes-nul", "PATCH", "/api/orders/{draft}", js({"notes": "a\u0000b"}), "json", says="control character"),
    Case(
        "api-notes-rtl-override",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "a\u202eb", "version": 1}),
        "json",
        says="control character",
    ),
    Case(
        "api-notes-lone-surrogate",
        "PATCH",
        "/api/orders/{draft}",
        raw('{"notes": "a\\ud800b", "version": 1}'),
        "json",
        says="control character",
    ),
    Case(
        "api-commission-nan-string",
        "PATCH",
        "/api/orders/{draft}",
        js({"commission_rate": "NaN"}),
        "json",
        says="between 0 and 100",
    ),
    Case(
        "api-commission-nan-literal",
        "PATCH",
        "/api/orders/{draft}",
        raw('{"commission_rate": NaN}'),
        "json",
        says="between 0 and 100",
    ),
    Case(
        "api-commission-infinity",
        "PATCH",
        "/api/orders/{draft}",
        raw('{"commission_rate": Infinity}'),
        "json",
        says="between 0 and 100",
    ),
    Case(
        "api-commission-1e400",
        "PATCH",
        "/api/orders/{draft}",
        raw('{"commission_rate": 1e400}'),
        "json",
        says="between 0 and 100",
    ),
    Case(
        "api-commission-negative",
        "PATCH",
        "/api/orders/{draft}",
        js({"commission_rate": -5}),
        "json",
        says="between 0 and 100",
    ),
    Case(
        "api-commission-bool",
        "PATCH",
        "/api/orders/{draft}",
        js({"commission_rate": True}),
        "json",
        says="must be a number",
    ),
    Case(
        "api-commission-hex",
        "PATCH",
        "/api/orders/{draft}",
        js({"commission_rate": "0x10"}),
        "json",
        says="must be a number",
    ),
    Case(
        "api-terms-unknown",
        "PATCH",
        "/api/orders/{draft}",
        js({"terms": "net_999"}),
        "json",
        says="terms must be one of",
    ),
    Case("api-terms-null", "PATCH", "/api/orders/{draft}", js({"terms": None}), "json", says="terms must be one of"),
    Case(
        "api-terms-array",
        "PATCH",
        "/api/orders/{draft}",
        js({"terms": ["net_30"]}),
        "json",
        says="terms must be one of",
    ),
    Case(
        "api-date-impossible",
        "PATCH",
        "/api/orders/{draft}",
        js({"order_date": "2026-02-30"}),
        "json",
        says="date like",
    ),
    Case(
        "api-date-9999",
        "PATCH",
        "/api/orders/{draft}",
        js({"order_date": "9999-12-31", "version": 1}),
        "json",
        says="must be between",
    ),
    Case(
        "api-date-1999",
        "PATCH",
        "/api/orders/{draft}",
        js({"orderDate": "1999-01-01", "version": 1}),
        "json",
        says="must be between",
    ),
    Case("api-date-huge-number", "PATCH", "/api/orders/{draft}", js({"order_date": 10**30}), "json", says="date like"),
    Case("api-readonly-status", "PATCH", "/api/orders/{draft}", js({"status": "paid"}), "json", says="read-only"),
    Case("api-readonly-total", "PATCH", "/api/orders/{draft}", js({"total": "0.01"}), "json", says="read-only"),
    Case(
        "api-ready-not-bool", "PATCH", "/api/orders/{draft}", js({"ready_to_push": "yes"}), "json", says="true or false"
    ),
    Case(
        "api-version-stale",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "x", "version": 1}),
        "json",
        expect=(409,),
        setup=lambda c, w: _bump(w),
        says="was changed by",
    ),
    Case(
        "api-version-string",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "x", "version": "1"}),
        "json",
        says="version must be an integer",
    ),
    Case(
        "api-version-bool",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "x", "version": True}),
        "json",
        says="version must be an integer",
    ),
    Case(
        "api-edit-paid", "PATCH", "/api/orders/{paid}", js({"notes": "hacked"}), "json", expect=(409,), says="read-only"
    ),
    Case("api-delete-paid", "DELETE", "/api/orders/{paid}", expect=(409,), says="cannot be deleted"),
    Case("api-delete-posted", "DELETE", "/api/orders/{posted}", expect=(409,), says="Void the invoice first"),
    Case(
        "api-unknown-order",
        "PATCH",
        "/api/orders/999999",
        js({"notes": "x"}),
        "json",
        expect=(404,),
        says="does not exist",
    ),
    Case("api-overflowing-id", "GET", "/api/orders/99999999999999999999999", expect=(404,), says="does not exist"),
    Case("api-unknown-activities", "GET", "/api/orders/999999/activities", expect=(404,), says="does not exist"),
    Case("api-wrong-method-put", "PUT", "/api/orders/{draft}", js({"notes": "x"}), "json", expect=(405,)),
    Case("api-wrong-method-post", "POST", "/api/orders/{draft}", js({"notes": "x"}), "json", expect=(405,)),
    Case(
        "api-anonymous-patch",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "x"}),
        "json",
        who="anon",
        expect=(401,),
        says="log in",
    ),
    # --- missing CSRF token (a logged-in browser tricked by another site) ------------------------------
    Case(
        "csrf-order-edit",
        "POST",
        "/orders/{draft}/edit/",
        edit_order({"notes": "forged"}),
        who="staff-nocsrf",
        expect=(403,),
        says="came from another site",
    ),
    Case("csrf-order-delete", "POST", "/orders/{draft}/delete/", who="staff-nocsrf", expect=(403,)),
    Case(
        "csrf-api-patch",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes": "forged"}),
        "json",
        who="staff-nocsrf",
        expect=(403,),
        says="CSRF check failed",
    ),
    Case("csrf-api-delete", "DELETE", "/api/orders/{draft}", who="staff-nocsrf", expect=(403,), says="CSRF"),
    Case("csrf-disconnect", "POST", "/api/quickbooks/disconnect", who="admin-nocsrf", expect=(403,), says="CSRF"),
    Case(
        "csrf-account-edit",
        "POST",
        "/accounts/{seller}/edit/",
        account_form({"name": "Forged", "code": "GVF"}),
        who="admin-nocsrf",
        expect=(403,),
    ),
    # --- QuickBooks sync API (issue 5) ----------------------------------------------------------------
    Case("sync-deeply-nested", "POST", "/api/quickbooks/sync/order/{draft}", raw(NESTED), "json", says="JSON"),
    Case("sync-array-body", "POST", "/api/quickbooks/sync/order/{draft}", js(["invoice"]), "json", says="JSON object"),
    Case(
        "sync-unknown-order",
        "POST",
        "/api/quickbooks/sync/order/999999",
        js({}),
        "json",
        expect=(404,),
        says="does not exist",
    ),
    Case(
        "reconcile-fix-unknown-order",
        "POST",
        "/settings/quickbooks/reconcile/999999/fix/",
        lambda w: {"action": "take_quickbooks"},
        who="admin",
        expect=(404,),
    ),
    Case("sync-unknown-action", "POST", "/settings/quickbooks/orders/{draft}/drop-tables/", expect=(404,)),
    Case("sync-unknown-kind", "POST", "/settings/quickbooks/sync/user/1/", expect=(404,)),
    # --- OAuth callback (admins) ----------------------------------------------------------------------
    Case(
        "oauth-missing-state",
        "GET",
        "/api/quickbooks/callback",
        callback({"state": DROP}),
        "query",
        who="admin",
        setup=started,
        expect=(400,),
        says="already used or did not start here",
    ),
    Case(
        "oauth-tampered-state",
        "GET",
        "/api/quickbooks/callback",
        callback({"state": "forged-state"}),
        "query",
        who="admin",
        setup=started,
        expect=(400,),
        says="could not be verified",
    ),
    Case(
        "oauth-replayed-state",
        "GET",
        "/api/quickbooks/callback",
        callback({}),
        "query",
        who="admin",
        setup=replayed,
        expect=(400,),
        says="already used",
    ),
    Case(
        "oauth-access-denied",
        "GET",
        "/api/quickbooks/callback",
        callback({"error": "access_denied", "code": DROP}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="cancelled",
    ),
    Case(
        "oauth-error-markup",
        "GET",
        "/api/quickbooks/callback",
        callback({"error": "<script>alert(1)</script>", "code": DROP}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="did not connect",
    ),
    Case(
        "oauth-junk-realm",
        "GET",
        "/api/quickbooks/callback",
        callback({"realmId": "123; DROP TABLE"}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="invalid company id",
    ),
    Case(
        "oauth-huge-realm",
        "GET",
        "/api/quickbooks/callback",
        callback({"realmId": "9" * 10_000}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="invalid company id",
    ),
    Case(
        "oauth-huge-code",
        "GET",
        "/api/quickbooks/callback",
        callback({"code": "c" * 20_000}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="Connecting to QuickBooks failed",
    ),
    Case(
        "oauth-missing-code",
        "GET",
        "/api/quickbooks/callback",
        callback({"code": DROP}),
        "query",
        who="admin",
        setup=started,
        expect=(REDIRECT,),
        says="incomplete answer",
    ),
    Case(
        "oauth-staff-callback",
        "GET",
        "/api/quickbooks/callback",
        callback({"state": "x", "code": "y", "realmId": "1"}),
        "query",
        expect=(403,),
        says="Only admins",
    ),
    Case(
        "oauth-anonymous-callback",
        "GET",
        "/api/quickbooks/callback",
        callback({"state": "x", "code": "y", "realmId": "1"}),
        "query",
        who="anon",
        expect=(401,),
        says="log in",
    ),
    # --- webhook ---------------------------------------------------------------------------------------
    webhook("webhook-unsigned", _delivery(), expect=(401,)),
    webhook("webhook-forged-signature", _delivery(), expect=(401,), sig="bm90IGEgc2lnbmF0dXJl"),
    webhook(
        "webhook-signature-of-another-body", lambda: signed(_delivery("2"), sign_body=_delivery("3")), expect=(401,)
    ),
    webhook("webhook-signed-with-wrong-token", lambda: signed(token="not-the-verifier-token"), expect=(401,)),
    webhook(
        "webhook-replayed-delivery",
        lambda: signed(_delivery("77")),
        expect=(200,),
        says='"duplicates": 1',
        setup=delivered_once,
    ),
    webhook("webhook-empty-body", lambda: signed(b""), expect=(400,)),
    webhook("webhook-5mb-body", b"{" + b" " * (5 * MB) + b"}", expect=(413,)),
    webhook("webhook-non-json", lambda: signed(b"eventNotifications=1"), expect=(400,)),
    webhook("webhook-wrong-shape", lambda: signed(b'{"hello": "world"}'), expect=(400,)),
    webhook(
        "webhook-entities-not-a-list",
        lambda: signed(
            json.dumps(
                {"eventNotifications": [{"realmId": REALM_ID, "dataChangeEvent": {"entities": "Invoice"}}]}
            ).encode()
        ),
        expect=(400,),
    ),
    webhook("webhook-deeply-nested", lambda: signed(NESTED[:400_000] + NESTED[-400_000:]), expect=(400,)),
    webhook("webhook-nul-in-entity-id", lambda: signed(_delivery("1\x00")), expect=(400,)),
    webhook("webhook-nul-in-realm", lambda: signed(_delivery(realm=REALM_ID + "\x00")), expect=(400,)),
    webhook(
        "webhook-cloudevent-nul-in-entity-id",
        lambda: signed(
            json.dumps(
                [
                    {
                        "specversion": "1.0",
                        "id": "ce-1",
                        "type": "qbo.invoice.updated.v1",
                        "intuitaccountid": REALM_ID,
                        "intuitentityid": "1\x00",
                        "data": {},
                    }
                ]
            ).encode()
        ),
        expect=(400,),
    ),
    Case(
        "api-nul-in-a-key",
        "PATCH",
        "/api/orders/{draft}",
        js({"notes\x00": "x", "version": 1}),
        "json",
        says="NUL control character",
    ),
    Case(
        "sync-nul-in-body",
        "POST",
        "/api/quickbooks/sync/order/{draft}",
        js({"docType": "invoice\x00"}),
        "json",
        says="NUL control character",
    ),
]


def _bump(w: World) -> dict:
    """Someone else saves the draft after the form was loaded: version 1 becomes stale."""
    from orders.services import order_update

    order_update(order_id=w.draft.pk, fields={"notes": "their edit"}, lines=None, by=None)
    return {}


def _client(who: str, staff_user, admin_user) -> Client:
    client = Client(enforce_csrf_checks=who.endswith("-nocsrf"))
    if who != "anon":
        client.force_login(staff_user if who.startswith("staff") else admin_user)
    return client


def _send(client: Client, case: Case, url: str, body: Any):
    if case.kind == "webhook":
        parts = body() if callable(body) else {"body": body, "sig": case.headers.get("sig")}
        extra = {"HTTP_INTUIT_SIGNATURE": parts["sig"]} if parts.get("sig") else {}
        return client.post(url, parts["body"], content_type="application/json", **extra)
    if case.kind == "query":
        return client.get(url, body)
    if case.kind == "json":
        return client.generic(case.method, url, body, content_type="application/json")
    if case.method == "POST":
        return client.post(url, body or {})
    return client.generic(case.method, url)


def _message_text(client: Client, response) -> str:
    if response.status_code == REDIRECT:
        follow = client.get(response["Location"])
        return " ".join(str(m) for m in follow.context["messages"]) if follow.context else follow.content.decode()
    return response.content.decode("utf-8", "replace")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_it_refuses_bad_input_cleanly(case: Case, world: World, staff_user, admin_user):
    client = _client(case.who, staff_user, admin_user)
    extras = case.setup(client, world) if case.setup else {}
    ids = {name: getattr(world, name).pk for name in ("draft", "posted", "paid", "seller", "buyer", "apples")}
    url = case.url.format(**ids)
    body = case.body(world) if case.body else None
    if case.kind == "query":
        body = {k: v for k, v in ({**extras, **body}).items() if v is not DROP}
    secrets, before = secrets_now(), business_snapshot()

    response = _send(client, case, url, body)

    assert response.status_code in case.expect, (response.status_code, response.content[:300])
    assert_no_leak(response, secrets, case.id)
    assert diff(before, business_snapshot()) == [], f"{case.id} changed data"
    if url.startswith("/api/") and response.status_code != REDIRECT and case.kind != "webhook":
        assert response["Content-Type"].startswith("application/json"), case.id
        assert response.json().get("error"), case.id
    if case.says:
        assert case.says in _message_text(client, response), case.id


def test_it_has_a_big_enough_corpus():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def test_it_escapes_a_hostile_oauth_error_on_the_settings_page(world, admin_client):
    state = started(admin_client, world)["state"]  # only the pending connect's own callback may report an error
    response = admin_client.get(
        "/api/quickbooks/callback", {"error": "<script>alert(1)</script>", "state": state}, follow=True
    )
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- names that become QuickBooks DisplayNames / item names ------------------------------------------------

ACCEPTED_NAMES = [
    # typed → stored in Kadouri (what staff see) → sent to QuickBooks (docs/quickbooks/entities.md#customer: no colon,
    # tab or newline)
    ("colon", "Acme:Inc", "Acme:Inc", "Acme - Inc"),
    ("tab", "Tab\tName", "Tab Name", "Tab Name"),
    ("newline", "New\nLine", "New Line", "New Line"),
    ("crlf-and-spaces", "  Two\r\n  Lines  ", "Two Lines", "Two Lines"),
    ("rtl-mark", "\u200fשוק הכרמל", "\u200fשוק הכרמל", "\u200fשוק הכרמל"),
    ("emoji", "Fresh 🍎 Farms", "Fresh 🍎 Farms", "Fresh 🍎 Farms"),
    ("accents-and-quotes", 'Café "L\'Été" & Co.', 'Café "L\'Été" & Co.', 'Café "L\'Été" & Co.'),
    ("markup", "<b>Bold</b> Foods", "<b>Bold</b> Foods", "<b>Bold</b> Foods"),
]


@pytest.mark.parametrize("typed,stored,display", [c[1:] for c in ACCEPTED_NAMES], ids=[c[0] for c in ACCEPTED_NAMES])
def test_it_stores_account_names_sanely(staff_client, typed, stored, display, world):
    response = staff_client.post("/accounts/new/", account_form({"name": typed})(world))
    assert response.status_code == 302, response.content[:500]
    account = Account.objects.get(code="NBC")
    assert account.name == stored
    assert mapping.customer_display_name(account) == display
    page = staff_client.get(response["Location"]).content.decode()
    assert "<b>Bold</b>" not in page  # escaped wherever it is shown


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("Apples:Gala", "Apples:Gala"),
        ("Tab\tPears", "Tab Pears"),
        ("Line\nBreak", "Line Break"),
        ("Kiwi 🥝", "Kiwi 🥝"),
    ],
)
def test_it_stores_product_names_sanely(staff_client, typed, stored, world):
    response = staff_client.post("/products/new/", product_form({"name": typed})(world))
    assert response.status_code == 302, response.content[:500]
    product = Product.objects.get(sku="BOSC")
    assert product.name == stored
    assert not set(":\t\r\n") & set(mapping.item_name(product))
