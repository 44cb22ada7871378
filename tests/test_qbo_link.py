"""Accounts and products link to QuickBooks the same way (kadouri.qbo_link): one set of columns, one admin order."""

from django.contrib import admin
from django.test import RequestFactory

from accounts.models import Account
from kadouri.qbo_link import QboLinkedModel
from products.models import Product

LINK_FIELDS = ["qbo_sync_token", "qbo_fingerprint", "qbo_create_request"]


def test_it_names_the_quickbooks_id_and_entity_of_each_linked_model():
    assert issubclass(Account, QboLinkedModel) and issubclass(Product, QboLinkedModel)
    assert (Account(qbo_customer_id="58").qbo_id, Account.qbo_entity) == ("58", "customer")
    assert (Product(qbo_item_id="7").qbo_id, Product.qbo_entity) == ("7", "item")
    assert Product().qbo_id is None


def test_it_shows_the_link_fields_together_after_the_quickbooks_id_in_the_admin():
    request = RequestFactory().get("/")
    for model in (Account, Product):
        fields = list(admin.site._registry[model].get_fields(request))
        at = fields.index(model.qbo_id_field_name)
        assert fields[at + 1 : at + 4] == LINK_FIELDS
        assert fields[-2:] == ["created_at", "updated_at"]
