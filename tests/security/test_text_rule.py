"""One text rule on every way in (kadouri/text.py): every text field of accounts, products and orders refuses
invisible and control characters through the pages, the admin and the JSON API; names renamed in QuickBooks
come in without them. Single-line fields never take a line break or tab; notes and descriptions keep them.

The sweep is driven by the models: a text field added later is covered (or this file fails until it is).
"""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.db import models

from accounts.models import Account
from kadouri.text import validate_multi_line, validate_single_line
from orders.models import Order, OrderActivity, OrderLine
from orders.services import LineInput, OrderError, order_create
from products.models import Product
from qbo_integration.connection import calls
from qbo_integration.testing import REALM_ID
from qbo_integration.tests.inbound_support import posted, webhooks  # noqa: F401

from .conftest import World, business_snapshot, diff

pytestmark = pytest.mark.django_db

HOSTILE = {
    "right-to-left override": "\u202e",
    "zero-width space": "\u200b",
    "left-to-right isolate": "\u2066",
    "byte-order mark": "\ufeff",
    "bell": "\x07",
    "escape": "\x1b",
    "delete": "\x7f",
}
LINE_BREAKS = {"newline": "\n", "tab": "\t"}
# Harmless marks that real names need: kept everywhere.
LEGITIMATE = ["\u200fשוק הכרמל", "Zoë’s 👩\u200d🌾 Farm", "می\u200cخواهم"]
SWEPT_MODELS = (Account, Product, Order, OrderLine)
MULTI_LINE = {"notes", "description"}


def text_fields(model) -> list[models.Field]:
    """The model's free-text columns (a field with choices is already limited to its choices)."""
    return [
        f for f in model._meta.get_fields() if isinstance(f, (models.CharField, models.TextField)) and not f.choices
    ]


def test_every_text_field_of_the_kadouri_models_carries_the_text_rule():
    missing = []
    for model in SWEPT_MODELS:
        for f in text_fields(model):
            wanted = validate_multi_line if f.name in MULTI_LINE else validate_single_line
            if wanted not in f.validators:
                missing.append(f"{model.__name__}.{f.name} (expects {wanted.__name__})")
    assert not missing, "Add the text rule to: " + ", ".join(missing)


# --- the pages --------------------------------------------------------------------------------------

PAGE_FORMS = {
    # model: (url, a valid form, the fields that form shows)
    Account: (
        "/accounts/new/",
        {"name": "New Buyer Co", "code": "NBC", "email": "nbc@example.com", "country": "USA", "active": "on"},
        [
            "name",
            "code",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "currency",
            "notes",
        ],
    ),
    Product: (
        "/products/new/",
        {"name": "Bosc Pears", "sku": "BOSC", "unit": "case", "unit_price": "30.00", "active": "on"},
        ["name", "sku", "description"],
    ),
}


def order_form(w: World) -> dict:
    return {
        "number": "KD-TEXT-1",
        "seller": w.seller.pk,
        "buyer": w.buyer.pk,
        "order_date": "2026-11-02",
        "terms": "net_30",
        "commission_rate": "5",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": w.apples.pk,
        "lines-0-quantity": "3",
        "lines-0-size": "",
        "lines-0-grade": "",
    }


ORDER_FIELDS = {"number": "number", "notes": "notes", "lines-0-size": "size", "lines-0-grade": "grade"}


def page_cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for model, (url, _, fields) in PAGE_FORMS.items():
        cases += [(model.__name__, url, name, name) for name in fields]
    cases += [
        ("OrderLine" if key.startswith("lines-") else "Order", "/orders/new/", key, field)
        for key, field in ORDER_FIELDS.items()
    ]
    return cases


def test_the_page_sweep_covers_every_text_field_people_type():
    internal = ("qbo_", "content_fingerprint", "pushed_fingerprint")  # written by the sync, never typed on a page
    typed = {(m.__name__, f.name) for m in SWEPT_MODELS for f in text_fields(m) if not f.name.startswith(internal)}
    assert typed <= {(model, field) for model, _, _, field in page_cases()}


OWN_RULE = ("email", "currency")


def _page_form(model_name: str, w: World) -> dict:
    if model_name in ("Order", "OrderLine"):
        return order_form(w)
    model = {"Account": Account, "Product": Product}[model_name]
    return dict(PAGE_FORMS[model][1])


def _typed(field: str, char: str) -> str:
    return "a@b\u202e.com" if field == "email" else f"Ab{char}cd"


@pytest.mark.parametrize("model_name,url,key,field", page_cases(), ids=[f"{c[0]}.{c[3]}" for c in page_cases()])
def test_every_page_form_refuses_hidden_characters_in_every_text_field(
    staff_client, world: World, model_name, url, key, field
):
    before = business_snapshot()
    for what, char in HOSTILE.items():
        data = _page_form(model_name, world) | {key: _typed(field, char)}

        response = staff_client.post(url, data)

        assert response.status_code == 400, (field, what, response.status_code)
        assert diff(before, business_snapshot()) == [], (field, what)
        if field not in OWN_RULE:  # an address and a currency code have their own check, which speaks first
            assert "invisible or control character" in response.content.decode(), (field, what)


# An address refuses any space and a currency code anything but three capitals (their own rules).
LINE_CASES = [case for case in page_cases() if case[3] not in OWN_RULE]


@pytest.mark.parametrize("model_name,url,key,field", LINE_CASES, ids=[f"{c[0]}.{c[3]}" for c in LINE_CASES])
def test_line_breaks_are_refused_in_one_line_fields_and_kept_in_notes(
    staff_client, world: World, model_name, url, key, field
):
    for what, char in LINE_BREAKS.items():
        data = _page_form(model_name, world) | {key: f"Ab{char}cd"}
        response = staff_client.post(url, data)
        if field in MULTI_LINE:
            assert response.status_code == 302, (field, what, response.content[:400])
            saved = {"Account": Account, "Product": Product, "Order": Order}[model_name].objects.latest("pk")
            assert getattr(saved, field) == f"Ab{char}cd"
            saved.delete()
        elif field == "name":  # names are tidied (one space), not refused: QuickBooks gets one line either way
            assert response.status_code == 302, (field, what)
            model = {"Account": Account, "Product": Product}[model_name]
            assert model.objects.latest("pk").name == "Ab cd"
            model.objects.latest("pk").delete()
        else:
            assert response.status_code == 400, (field, what, response.status_code)
            assert "one line" in response.content.decode(), (field, what)


def test_a_unicode_line_separator_is_refused_in_notes_and_becomes_a_space_in_names(staff_client, world: World):
    notes = staff_client.post("/accounts/new/", _page_form("Account", world) | {"notes": "a\u2028b"})
    api = staff_client.patch(
        f"/api/orders/{world.draft.pk}",
        {"notes": "a\u2029b", "version": world.draft.version},
        content_type="application/json",
    )
    name = staff_client.post("/accounts/new/", _page_form("Account", world) | {"name": "Harbor\u2028Fresh"})

    assert (notes.status_code, api.status_code, name.status_code) == (400, 400, 302)
    assert Account.objects.get(code="NBC").name == "Harbor Fresh"


@pytest.mark.parametrize("name", LEGITIMATE)
def test_names_with_legitimate_marks_are_accepted(staff_client, world: World, name):
    response = staff_client.post("/accounts/new/", _page_form("Account", world) | {"name": name})
    assert response.status_code == 302
    assert Account.objects.get(code="NBC").name == name


# --- the admin ----------------------------------------------------------------------------------------


def admin_cases() -> list[tuple[str, str]]:
    """Every text field the admin's add form shows (its read-only ones are not in the form)."""
    return [
        (model.__name__, f.name)
        for model in (Account, Product, Order)
        for f in text_fields(model)
        if f.editable and f.name not in admin.site._registry[model].readonly_fields
    ]


def _admin_form(model_name: str, w: World) -> tuple[str, dict]:
    inlines = {
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": "0",
    }
    return {
        "Account": ("/admin/accounts/account/add/", {"name": "Admin Co", "code": "ADM", "country": "USA"}),
        "Product": ("/admin/products/product/add/", {"name": "Admin Plums", "unit": "case", "unit_price": "3.00"}),
        "Order": (
            "/admin/orders/order/add/",
            {
                "number": "KD-ADMIN-9",
                "seller": w.seller.pk,
                "buyer": w.buyer.pk,
                "order_date": "2026-11-02",
                "terms": "net_30",
                "commission_rate": "5",
            }
            | inlines,
        ),
    }[model_name]


@pytest.mark.parametrize("model_name,field", admin_cases(), ids=[f"{m}.{f}" for m, f in admin_cases()])
def test_the_admin_refuses_hidden_characters_in_every_text_field(admin_client, world: World, model_name, field):
    url, valid = _admin_form(model_name, world)
    before = business_snapshot()
    for what, char in HOSTILE.items():
        response = admin_client.post(url, valid | {field: _typed(field, char)})
        assert response.status_code == 200, (field, what, response.status_code)  # the form again, with the error
        assert diff(before, business_snapshot()) == [], (field, what)
    assert admin_client.post(url, valid).status_code == 302  # the same form without the character is saved


# --- the JSON API and the services -------------------------------------------------------------------------


@pytest.mark.parametrize("what", list(HOSTILE))
def test_the_api_refuses_hidden_characters_in_notes(staff_client, world: World, what):
    order = world.draft
    response = staff_client.patch(
        f"/api/orders/{order.pk}",
        json.dumps({"notes": f"a{HOSTILE[what]}b", "version": order.version}),
        content_type="application/json",
    )
    assert response.status_code == 400 and "invisible or control characters" in response.json()["error"]
    order.refresh_from_db()
    assert order.notes == ""


def test_the_api_keeps_newlines_and_tabs_in_notes(staff_client, world: World):
    order = world.draft
    response = staff_client.patch(
        f"/api/orders/{order.pk}",
        {"notes": "line 1\n\tline 2", "version": order.version},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["notes"] == "line 1\n\tline 2"


@pytest.mark.parametrize("number", ["KD\n1", "KD\u202e1", "KD\u200b1", "KD\x071"])
def test_the_services_refuse_an_order_number_quickbooks_would_show_differently(world: World, number):
    with pytest.raises(OrderError, match="Order number"):
        order_create(
            fields={
                "number": number,
                "seller": world.seller,
                "buyer": world.buyer,
                "order_date": world.draft.order_date,
                "terms": "net_30",
                "notes": "",
            },
            lines=[LineInput(product=world.apples, quantity=1)],
            by=None,
        )
    assert not Order.objects.filter(number=number).exists()


# --- QuickBooks renames -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("Harbor\u202e Fresh\u200b West", "Harbor Fresh West"),
        ("\u2066Harbor\x07 Fresh\u2069", "Harbor Fresh"),
        ("\u200fשוק הכרמל", "\u200fשוק הכרמל"),
    ],
)
def test_a_customer_renamed_in_quickbooks_comes_in_without_hidden_characters(posted, webhooks, typed, stored):
    buyer = posted.buyer
    webhooks.emu.rename_customer(REALM_ID, buyer.qbo_customer_id, typed)

    webhooks.flush()

    buyer.refresh_from_db()
    assert buyer.name == stored
    buyer.full_clean()  # what came in passes the same rule as what is typed


def test_an_item_renamed_in_quickbooks_comes_in_without_hidden_characters(posted, webhooks):
    product = posted.lines.first().product
    item = calls.read("Item", product.qbo_item_id)
    calls.update(
        "Item",
        {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Name": "Gala\u200b Apples\u202e XL"},
        request_id="rename-item-1",
    )

    webhooks.flush()

    product.refresh_from_db()
    assert product.name == "Gala Apples XL"
    product.full_clean()


def test_activities_are_written_by_kadouri_only():
    """OrderActivity is not swept: no page, form, admin or API writes its text (the admin shows it read-only)."""
    from django.contrib import admin

    from orders.admin import OrderActivityAdmin

    activity_admin = OrderActivityAdmin(OrderActivity, admin.site)
    assert activity_admin.has_add_permission(None) is False and activity_admin.has_change_permission(None) is False
    assert set(activity_admin.get_readonly_fields(None)) >= {f.name for f in text_fields(OrderActivity)}
