"""Account pages: list with search and pagination, detail with both sides' orders, create and edit."""

import pytest

from accounts.models import Account
from conftest import make_account, make_order

pytestmark = pytest.mark.django_db


def _names(response) -> list[str]:
    return [a.name for a in response.context["page"]]


def _form(**fields):
    return {
        "name": "Sunrise Orchards",
        "code": "SUN",
        "email": "sales@sunrise.example",
        "phone": "",
        "address_line1": "",
        "address_line2": "",
        "city": "Yakima",
        "region": "WA",
        "postal_code": "",
        "country": "USA",
        "active": "on",
        "notes": "",
    } | fields


def test_it_lists_accounts_by_name(staff_client, seller, buyer):
    response = staff_client.get("/accounts/")
    assert response.status_code == 200
    assert _names(response) == ["Green Valley Farms", "Harbor Fresh Market"]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("harbor", ["Harbor Fresh Market"]),
        ("GVF", ["Green Valley Farms"]),
        ("hfm@example", ["Harbor Fresh Market"]),
        ("zzz", []),
    ],
)
def test_it_searches_name_code_and_email(staff_client, seller, buyer, query, expected):
    response = staff_client.get("/accounts/", {"q": query})
    assert _names(response) == expected
    assert f'value="{query}"' in response.content.decode()


def test_it_paginates_50_a_page_keeping_the_search(staff_client):
    Account.objects.bulk_create([Account(name=f"Farm {n:03d}", code=f"F{n:03d}") for n in range(51)])
    first = staff_client.get("/accounts/", {"q": "farm"})
    assert len(_names(first)) == 50 and "Page 1 of 2 (51)" in first.content.decode()
    assert 'href="?q=farm&page=2"' in first.content.decode()
    assert _names(staff_client.get("/accounts/", {"q": "farm", "page": 2})) == ["Farm 050"]


def test_it_shows_an_account_with_its_orders_as_seller_and_buyer(staff_client, seller, buyer, apples):
    third = make_account("Metro Grocers", "MET")
    sold = make_order(seller=seller, buyer=buyer, lines=[(apples, "2")], number="SOLD-1")
    bought = make_order(seller=third, buyer=seller, lines=[(apples, "1")], number="BOUGHT-1")
    make_order(seller=buyer, buyer=third, lines=[(apples, "1")], number="OTHER-1")
    response = staff_client.get(f"/accounts/{seller.pk}/")
    assert response.status_code == 200
    assert [o.number for o in response.context["orders_as_seller"]] == [sold.number]
    assert [o.number for o in response.context["orders_as_buyer"]] == [bought.number]
    html = response.content.decode()
    assert "OTHER-1" not in html
    assert (
        html.index("Orders as seller") < html.index("SOLD-1") < html.index("Orders as buyer") < html.index("BOUGHT-1")
    )
    assert "$65.00" in html and "$32.50" in html
    assert "gvf@example.com" in html and "Fresno" in html


def test_it_creates_an_account(staff_client):
    response = staff_client.post("/accounts/new/", _form(code="sun"))
    account = Account.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/accounts/{account.pk}/"
    assert (account.name, account.code, account.region) == ("Sunrise Orchards", "SUN", "WA")


def test_it_edits_an_account(staff_client, seller):
    response = staff_client.post(f"/accounts/{seller.pk}/edit/", _form(name="Green Valley Farms Co", code="GVF"))
    assert response.status_code == 302
    seller.refresh_from_db()
    assert seller.name == "Green Valley Farms Co"


@pytest.mark.parametrize("code", ["GVF", "gvf", " gvf "])
def test_it_refuses_a_duplicate_code(staff_client, seller, code):
    response = staff_client.post("/accounts/new/", _form(code=code))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Account with this Code already exists." in html
    assert 'value="Sunrise Orchards"' in html
    assert Account.objects.count() == 1


def test_it_refuses_taking_another_accounts_code_on_edit(staff_client, seller, buyer):
    response = staff_client.post(f"/accounts/{buyer.pk}/edit/", _form(name=buyer.name, code="GVF"))
    assert response.status_code == 400
    buyer.refresh_from_db()
    assert buyer.code == "HFM"


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"name": ""}, "This field is required."),
        ({"code": ""}, "This field is required."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"code": "X" * 21}, "at most 20 characters"),
    ],
)
def test_it_shows_errors_next_to_the_field(staff_client, fields, message):
    response = staff_client.post("/accounts/new/", _form(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    field = next(iter(fields))
    block = html[html.index(f'name="{field}"') :]
    assert message in block[: block.index("</div>")]
    assert not Account.objects.exists()


def test_it_answers_404_for_missing_accounts(staff_client):
    for url in ["/accounts/999999/", "/accounts/999999/edit/", "/accounts/99999999999999999999999/"]:
        assert staff_client.get(url).status_code == 404
    assert staff_client.post("/accounts/999999/edit/", _form()).status_code == 404
    assert not Account.objects.exists()
