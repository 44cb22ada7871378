"""A list that is empty because of its filters offers to clear them — not to create something — on every
filtered list page; an empty list without filters offers to create the first one (where that exists)."""

import re

import pytest

pytestmark = pytest.mark.django_db

FILTERED = [
    ("/?q=nothing-like-this", "/", "Clear filters"),
    ("/?status=paid", "/", "Clear filters"),
    ("/?payment_status=partial&sort=date", "/", "Clear filters"),
    ("/accounts/?q=nothing-like-this", "/accounts/", "Clear search"),
    ("/products/?q=nothing-like-this", "/products/", "Clear search"),
    ("/settings/quickbooks/inbox/?status=failed", "/settings/quickbooks/inbox/", "Clear filters"),
    ("/settings/quickbooks/inbox/?entity=Invoice&source=cdc", "/settings/quickbooks/inbox/", "Clear filters"),
]


def _empty_cell(html: str) -> str:
    match = re.search(r'data-testid="empty">(.*?)</td>', html, re.S)
    assert match, "the empty list says nothing"
    return match.group(1)


@pytest.mark.parametrize("url,clear_url,link", FILTERED)
def test_an_empty_filtered_list_offers_to_clear_its_filters(admin_client, order_factory, url, clear_url, link):
    order_factory()  # there is something to find without the filters
    cell = _empty_cell(admin_client.get(url).content.decode())
    assert f'<a href="{clear_url}">{link}</a>' in cell
    assert "Create one" not in cell


@pytest.mark.parametrize(
    "url,create_url", [("/", "/orders/new/"), ("/accounts/", "/accounts/new/"), ("/products/", "/products/new/")]
)
def test_an_empty_list_without_filters_offers_to_create_the_first(admin_client, url, create_url):
    cell = _empty_cell(admin_client.get(url).content.decode())
    assert f'<a href="{create_url}">Create one</a>' in cell and "Clear" not in cell
