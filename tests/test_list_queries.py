"""The order list's queries do not grow with its rows: the company's profile (each row's amount is shown in its
currency) is read once per page, not once per row (50 rows made 107 queries; `make bench-staff` found it)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_the_order_list_makes_as_many_queries_for_40_rows_as_for_2(staff_client, order_factory):
    for _ in range(2):
        order_factory()
    few = _queries(staff_client)
    for _ in range(38):
        order_factory()

    assert _queries(staff_client) == few <= 12
