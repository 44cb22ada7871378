"""The migration that makes SKUs unique keeps existing duplicates apart instead of failing."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("products", "0003_text_rule")]
AFTER = [("products", "0004_sku_unique_ignoring_case")]


@pytest.mark.django_db(transaction=True)
def test_it_suffixes_later_duplicates_and_keeps_the_oldest_sku():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Product = executor.loader.project_state(BEFORE).apps.get_model("products", "Product")
    skus = ["GA-88", "ga-88", "GA-88", "", "", "PEAR"]
    ids = [Product.objects.create(name=f"P{n}", sku=sku, unit_price=1).pk for n, sku in enumerate(skus)]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    Product = executor.loader.project_state(AFTER).apps.get_model("products", "Product")
    assert [Product.objects.get(pk=pk).sku for pk in ids] == ["GA-88", "ga-88-2", "GA-88-3", "", "", "PEAR"]
    Product.objects.all().delete()
    # Back to the latest schema: the tests after this one expect every later migration's columns.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
