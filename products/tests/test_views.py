"""Product pages: list with search and pagination, detail, create and edit with validation."""

from decimal import Decimal

import pytest

from conftest import make_order
from products.models import Product

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    return [p.name for p in response.context["page"]]


def _form(**fields):
    return {
        "name": "Navel Oranges",
        "sku": "ORG-NAV",
        "description": "",
        "unit": "case",
        "unit_price": "29.90",
        "active": "on",
    } | fields


def test_it_lists_products_by_name(staff_client, apples, pears):
    response = staff_client.get("/products/")
    assert response.status_code == 200 and _names(response) == ["Bartlett Pears", "Gala Apples"]
    assert "$32.50" in response.content.decode()


def test_it_searches_name_and_sku(staff_client, apples, pears):
    Product.objects.filter(pk=pears.pk).update(sku="PER-BART")
    assert _names(staff_client.get("/products/", {"q": "gala"})) == ["Gala Apples"]
    assert _names(staff_client.get("/products/", {"q": "per-b"})) == ["Bartlett Pears"]
    assert _names(staff_client.get("/products/", {"q": "kiwi"})) == []


def test_it_paginates_50_a_page(staff_client):
    Product.objects.bulk_create([Product(name=f"Item {n:03d}", unit_price=Decimal("1")) for n in range(51)])
    first = staff_client.get("/products/", {"q": "item"})
    assert len(_names(first)) == 50 and "Page 1 of 2 (51)" in first.content.decode()
    assert _names(staff_client.get("/products/", {"q": "item", "page": 2})) == ["Item 050"]


def test_it_shows_a_product_with_its_order_lines(staff_client, seller, buyer, apples):
    make_order(seller=seller, buyer=buyer, lines=[(apples, "3")], number="APL-1")
    html = staff_client.get(f"/products/{apples.pk}/").content.decode()
    assert "Gala Apples" in html and "$32.50" in html and "APL-1" in html and "$97.50" in html


def test_it_creates_a_product(staff_client):
    response = staff_client.post("/products/new/", _form(name="  Navel Oranges "))
    product = Product.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/products/{product.pk}/"
    assert (product.name, product.unit_price, product.unit) == ("Navel Oranges", Decimal("29.90"), "case")


def test_it_edits_a_product_keeping_its_own_name(staff_client, apples):
    response = staff_client.post(f"/products/{apples.pk}/edit/", _form(name="Gala Apples", unit_price="33.00"))
    assert response.status_code == 302
    apples.refresh_from_db()
    assert apples.unit_price == Decimal("33.00")


@pytest.mark.parametrize("name", ["Gala Apples", "gala apples", "GALA APPLES "])
def test_it_refuses_a_duplicate_name_in_any_case(staff_client, apples, name):
    response = staff_client.post("/products/new/", _form(name=name))
    assert response.status_code == 400
    assert "Another product already has this name" in response.content.decode()
    assert Product.objects.count() == 1


def test_it_refuses_renaming_to_another_products_name(staff_client, apples, pears):
    response = staff_client.post(f"/products/{pears.pk}/edit/", _form(name="gala apples"))
    assert response.status_code == 400
    pears.refresh_from_db()
    assert pears.name == "Bartlett Pears"


@pytest.mark.parametrize(
    "price,message",
    [
        ("-0.01", "greater than or equal to 0"),
        ("abc", "Enter a number."),
        ("", "This field is required."),
        ("1.234", "2 decimal places"),
    ],
)
def test_it_refuses_bad_prices_next_to_the_field(staff_client, price, message):
    response = staff_client.post("/products/new/", _form(unit_price=price))
    assert response.status_code == 400
    html = response.content.decode()
    block = html[html.index('name="unit_price"') :]
    assert message in block[: block.index("</div>")]
    assert f'value="{price}"' in html or price == ""
    assert not Product.objects.exists()


def test_it_refuses_unknown_units(staff_client):
    response = staff_client.post("/products/new/", _form(unit="ton"))
    assert response.status_code == 400 and not Product.objects.exists()


def test_it_answers_404_for_missing_products(staff_client):
    for url in ["/products/999999/", "/products/999999/edit/"]:
        assert staff_client.get(url).status_code == 404


# --- one product per SKU ------------------------------------------------------------------------


def test_it_refuses_a_second_product_with_an_existing_sku_whatever_its_case(staff_client, apples):
    Product.objects.filter(pk=apples.pk).update(sku="ORG-NAV")
    response = staff_client.post("/products/new/", _form(sku=" org-nav "))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Another product already has this SKU." in html and 'value="Navel Oranges"' in html  # nothing lost
    assert Product.objects.count() == 1


def test_products_without_a_sku_and_a_product_keeping_its_own_sku_are_fine(staff_client, apples, pears):
    assert staff_client.post("/products/new/", _form(sku="")).status_code == 302
    assert staff_client.post("/products/new/", _form(name="Blood Oranges", sku="")).status_code == 302
    Product.objects.filter(pk=apples.pk).update(sku="GA-88")
    assert staff_client.post(f"/products/{apples.pk}/edit/", _form(name="Gala Apples", sku="ga-88")).status_code == 302


def test_the_database_refuses_a_duplicate_sku_from_any_way_in(apples):
    from django.db import IntegrityError, transaction

    Product.objects.filter(pk=apples.pk).update(sku="GA-88")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(name="Other apples", sku="ga-88", unit_price=Decimal("1"))
