"""The QBO query language on its own: parsing, faults, filtering, ordering, paging."""

from decimal import Decimal

import pytest

from qbo_integration.emulator.engine.querylang import (
    Condition,
    OrderKey,
    QueryError,
    parse,
    run,
)


def test_it_parses_every_clause_with_case_insensitive_keywords():
    query = parse(
        "select * From Invoice wHeRe DocNumber = '1001' and TotalAmt >= 10.5 "
        "AND MetaData.LastUpdatedTime > '2026-01-01' "
        "orderby TxnDate desc, DocNumber startposition 11 maxresults 10"
    )

    assert query.entity == "Invoice"
    assert query.count is False
    assert query.conditions == (
        Condition("DocNumber", "=", "1001"),
        Condition("TotalAmt", ">=", Decimal("10.5")),
        Condition("MetaData.LastUpdatedTime", ">", "2026-01-01"),
    )
    assert query.order_by == (OrderKey("TxnDate", True), OrderKey("DocNumber", False))
    assert (query.start_position, query.max_results) == (11, 10)


def test_it_parses_count_in_like_and_booleans():
    query = parse(
        "SELECT COUNT(*) FROM Customer WHERE Id IN ('1', '2') AND DisplayName LIKE '%acme%' AND Active = false"
    )

    assert query.count is True
    assert query.conditions == (
        Condition("Id", "IN", ("1", "2")),
        Condition("DisplayName", "LIKE", "%acme%"),
        Condition("Active", "=", False),
    )


def test_it_unescapes_quotes_as_python_quickbooks_sends_them():
    query = parse("SELECT * FROM Customer WHERE DisplayName = 'Acme\\'s Bakery'")

    assert query.conditions[0].value == "Acme's Bakery"


def test_it_accepts_order_by_in_two_words():
    query = parse("SELECT * FROM Item ORDER BY Name DESC MAXRESULTS 5 STARTPOSITION 2")

    assert query.order_by == (OrderKey("Name", True),)
    assert (query.start_position, query.max_results) == (2, 5)


def test_it_defaults_to_a_page_of_100_and_caps_maxresults_at_1000():
    assert parse("SELECT * FROM Item").max_results == 100
    assert parse("SELECT * FROM Item MAXRESULTS 5000").max_results == 1000
    assert parse("SELECT * FROM Item STARTPOSITION 0").start_position == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "SELECT",
        "SELECT Name FROM Customer",
        "SELECT * Customer",
        "SELECT * FROM Customer WHERE",
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
        "SELECT * FROM Customer WHERE DisplayName LIKE %acme%",
        "SELECT * FROM Customer WHERE DisplayName 'Acme'",
        "SELECT * FROM Customer WHERE Id IN ()",
        "SELECT * FROM Customer MAXRESULTS ten",
        "SELECT * FROM Customer MAXRESULTS 0",
        "SELECT * FROM Customer MAXRESULTS 1.5",
        "SELECT * FROM Customer MAXRESULTS 5 MAXRESULTS 6",
        "SELECT * FROM Customer GROUP BY Id",
        "SELECT * FROM Customer WHERE DisplayName = 'Acme's'",
    ],
)
def test_it_refuses_malformed_queries_with_code_4000(text):
    with pytest.raises(QueryError) as caught:
        parse(text)

    assert caught.value.code == "4000"
    assert caught.value.message == "Error parsing query"
    assert caught.value.detail.startswith("QueryParserError")


ROWS = [
    {
        "Id": "1",
        "DisplayName": "Acme Ltd",
        "Active": True,
        "Balance": 10.0,
        "CustomerRef": {"value": "7", "name": "X"},
        "MetaData": {"LastUpdatedTime": "2026-01-05T10:00:00+00:00"},
    },
    {
        "Id": "2",
        "DisplayName": "beta & Co",
        "Active": False,
        "Balance": 250.5,
        "CustomerRef": {"value": "8"},
        "MetaData": {"LastUpdatedTime": "2026-02-01T09:00:00-08:00"},
    },
    {
        "Id": "10",
        "DisplayName": "Gamma's",
        "Active": True,
        "MetaData": {"LastUpdatedTime": "2025-12-31T23:59:59+00:00"},
    },
]


def _ids(text):
    page, _ = run(parse(text), ROWS)
    return [row["Id"] for row in page]


def test_it_compares_strings_case_insensitively():
    assert _ids("SELECT * FROM Customer WHERE DisplayName = 'ACME LTD'") == ["1"]
    assert _ids("SELECT * FROM Customer WHERE DisplayName LIKE 'BETA%'") == ["2"]
    assert _ids("SELECT * FROM Customer WHERE DisplayName LIKE '%\\'s'") == ["10"]
    assert _ids("SELECT * FROM Customer WHERE DisplayName != 'acme ltd'") == ["2", "10"]


def test_it_compares_numbers_dates_booleans_and_refs_by_type():
    assert _ids("SELECT * FROM Customer WHERE Balance > 100") == ["2"]
    assert _ids("SELECT * FROM Customer WHERE Id > '2'") == ["10"]  # numeric, not text
    assert _ids("SELECT * FROM Customer WHERE Active = true") == ["1", "10"]
    assert _ids("SELECT * FROM Customer WHERE CustomerRef IN ('8', '9')") == ["2"]
    assert _ids("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '2026-01-01'") == ["1", "2"]
    assert _ids(  # 09:00-08:00 is 17:00 UTC
        "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2026-02-01T16:00:00Z'"
    ) == ["2"]


def test_it_never_matches_a_missing_property():
    assert _ids("SELECT * FROM Customer WHERE Balance < 1000") == ["1", "2"]
    assert _ids("SELECT * FROM Customer WHERE Balance != 10") == ["2"]


def test_it_orders_with_missing_values_last_in_both_directions():
    assert _ids("SELECT * FROM Customer ORDERBY Balance") == ["1", "2", "10"]
    assert _ids("SELECT * FROM Customer ORDERBY Balance DESC") == ["2", "1", "10"]
    assert _ids("SELECT * FROM Customer ORDERBY Active DESC, DisplayName DESC") == [
        "10",
        "1",
        "2",
    ]


def test_it_pages_from_a_one_based_start_position_and_counts_all_matches():
    page, total = run(parse("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 1"), ROWS)

    assert [row["Id"] for row in page] == ["2"]
    assert total == 3
