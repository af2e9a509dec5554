"""SOQL as Salesforce evaluates it: operators, precedence rules, literals, ordering and errors.

Each test adds its own leads to a company no demo record uses, and filters on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import REP1_USERNAME

CO = "Soql Test Co"


@pytest.fixture
def leads(sandbox: Any) -> dict[str, str]:
    """Five leads with distinct values (and nulls) to filter and sort on; name -> id."""
    base = sf.now(sandbox.state).replace(microsecond=0) - dt.timedelta(days=3)
    rows = [
        {"LastName": "Alpha", "Title": "VP Sales", "AnnualRevenue": 5_000_000, "Email": "alpha@a.example",
         "Status": "Working - Contacted", "HasOptedOutOfEmail": True, "CreatedDate": base.isoformat()},
        {"LastName": "bravo", "Title": "Sales Manager", "AnnualRevenue": 1_000_000, "Email": "b@b.example",
         "CreatedDate": (base + dt.timedelta(days=1)).isoformat()},
        {"LastName": "Charlie", "Title": "CTO", "AnnualRevenue": 250_000, "Email": None,
         "CreatedDate": (base + dt.timedelta(days=2)).isoformat()},
        {"LastName": "O'Brien", "Title": "100% Sales_Lead", "AnnualRevenue": None, "Email": "ob@c.example",
         "CreatedDate": (base + dt.timedelta(days=2)).isoformat()},
        {"LastName": "Back\\slash", "Title": None, "AnnualRevenue": 2_000_000, "Email": "bs@d.example",
         "Status": "Closed - Not Converted", "CreatedDate": (base + dt.timedelta(days=3)).isoformat()},
    ]  # fmt: skip
    created = sf.add_records(sandbox.state, "Lead", [{**r, "Company": CO} for r in rows], owner=REP1_USERNAME)
    return {r["LastName"]: i for r, i in zip(rows, created, strict=True)}


def names(api: Salesforce, where: str, order: str = "LastName") -> list[str]:
    soql = f"SELECT LastName FROM Lead WHERE Company = '{CO}' AND ({where}) ORDER BY {order}"
    return [r["LastName"] for r in api.query(soql)["records"]]


def error(api: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        api.query(soql)
    assert raised.value.status == 400
    [body] = raised.value.content
    return body


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("AnnualRevenue = 1000000", ["bravo"]),
        ("AnnualRevenue != 1000000", ["Alpha", "Back\\slash", "Charlie", "O'Brien"]),
        ("AnnualRevenue > 1000000", ["Alpha", "Back\\slash"]),
        ("AnnualRevenue >= 1000000", ["Alpha", "Back\\slash", "bravo"]),
        ("AnnualRevenue < 1000000", ["Charlie"]),
        ("AnnualRevenue <= 1000000", ["bravo", "Charlie"]),
        ("AnnualRevenue <> 1000000", ["Alpha", "Back\\slash", "Charlie", "O'Brien"]),
        ("AnnualRevenue = null", ["O'Brien"]),
        ("AnnualRevenue != null", ["Alpha", "Back\\slash", "bravo", "Charlie"]),
        ("Title LIKE '%sales%'", ["Alpha", "bravo", "O'Brien"]),
        ("Title LIKE 'CT_'", ["Charlie"]),
        ("Title LIKE '100\\% Sales\\_Lead'", ["O'Brien"]),
        ("Title LIKE '%\\_%'", ["O'Brien"]),
        ("LastName = 'ALPHA'", ["Alpha"]),
        ("LastName IN ('alpha', 'Charlie', 'nobody')", ["Alpha", "Charlie"]),
        ("LastName NOT IN ('alpha', 'Charlie')", ["Back\\slash", "bravo", "O'Brien"]),
        ("Email = null", ["Charlie"]),
        ("Title != 'CTO'", ["Alpha", "Back\\slash", "bravo", "O'Brien"]),
        ("HasOptedOutOfEmail = true", ["Alpha"]),
        ("HasOptedOutOfEmail = false", ["Back\\slash", "bravo", "Charlie", "O'Brien"]),
        ("Status = 'Open - Not Contacted'", ["bravo", "Charlie", "O'Brien"]),
        ("LastName = 'O\\'Brien'", ["O'Brien"]),
        ("LastName = 'Back\\\\slash'", ["Back\\slash"]),
    ],
)
def test_each_comparison_operator(
    api: Salesforce, leads: dict[str, str], where: str, expected: list[str]
) -> None:
    assert sorted(names(api, where), key=str.lower) == sorted(expected, key=str.lower)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("(Title LIKE '%Sales%' OR AnnualRevenue > 1000000) AND Email != null", ["Alpha", "Back\\slash", "bravo", "O'Brien"]),
        ("Title LIKE '%Sales%' OR (AnnualRevenue > 1000000 AND Email != null)", ["Alpha", "Back\\slash", "bravo", "O'Brien"]),
        ("(Title LIKE '%Sales%' AND AnnualRevenue > 1000000) OR Email = null", ["Alpha", "Charlie"]),
        ("NOT Title LIKE '%Sales%'", ["Back\\slash", "Charlie"]),
        ("NOT (AnnualRevenue > 100 OR Email = null)", ["O'Brien"]),
        ("AnnualRevenue > 0 AND (NOT LastName = 'Alpha')", ["Back\\slash", "bravo", "Charlie"]),
        ("LastName = 'Alpha' OR LastName = 'bravo' OR LastName = 'Charlie'", ["Alpha", "bravo", "Charlie"]),
    ],
)  # fmt: skip
def test_and_or_not_with_parentheses(
    api: Salesforce, leads: dict[str, str], where: str, expected: list[str]
) -> None:
    assert sorted(names(api, where), key=str.lower) == sorted(expected, key=str.lower)


@pytest.mark.parametrize(
    ("where", "token"),
    [
        ("Title = 'CTO' AND AnnualRevenue > 0 OR Email = null", "OR"),
        ("Title = 'CTO' OR AnnualRevenue > 0 AND Email = null", "AND"),
        ("AnnualRevenue > 0 AND NOT Title = 'CTO'", "NOT"),
    ],
)
def test_mixing_and_or_without_parentheses_is_malformed(api: Salesforce, where: str, token: str) -> None:
    body = error(api, f"SELECT Id FROM Lead WHERE {where}")

    assert body["errorCode"] == "MALFORMED_QUERY"
    assert body["message"].endswith(f"unexpected token: '{token}'")
    assert "ERROR at Row:1:Column:" in body["message"]


def test_datetime_literals_with_zones_and_date_literals(
    sandbox: Any, api: Salesforce, leads: dict[str, str]
) -> None:
    base = sf.now(sandbox.state) - dt.timedelta(days=3)
    day_two = (base + dt.timedelta(days=2)).replace(microsecond=0)
    utc = day_two.strftime("%Y-%m-%dT%H:%M:%SZ")
    paris = day_two.astimezone(dt.timezone(dt.timedelta(hours=1))).strftime("%Y-%m-%dT%H:%M:%S+01:00")

    assert names(api, f"CreatedDate = {utc}") == ["Charlie", "O'Brien"]
    assert names(api, f"CreatedDate >= {paris}") == ["Back\\slash", "Charlie", "O'Brien"]
    assert names(api, "CreatedDate = TODAY") == ["Back\\slash"]
    assert names(api, "CreatedDate = YESTERDAY") == ["Charlie", "O'Brien"]
    assert names(api, "CreatedDate = LAST_N_DAYS:1") == ["Back\\slash", "Charlie", "O'Brien"]
    assert names(api, "CreatedDate < YESTERDAY") == ["Alpha", "bravo"]


def test_date_fields_compare_with_date_literals(sandbox: Any, api: Salesforce) -> None:
    today = sf.now(sandbox.state).date()
    sf.add_records(sandbox.state, "Task", [
        {"Subject": "past", "ActivityDate": (today - dt.timedelta(days=5)).isoformat()},
        {"Subject": "today", "ActivityDate": today.isoformat()},
        {"Subject": "next", "ActivityDate": (today + dt.timedelta(days=1)).isoformat()},
    ])  # fmt: skip

    def subjects(where: str) -> list[str]:
        soql = f"SELECT Subject FROM Task WHERE Subject IN ('past', 'today', 'next') AND {where} ORDER BY ActivityDate"
        return [r["Subject"] for r in api.query(soql)["records"]]

    assert subjects(f"ActivityDate = {today.isoformat()}") == ["today"]
    assert subjects(f"ActivityDate > {today.isoformat()}") == ["next"]
    assert subjects("ActivityDate = TODAY") == ["today"]
    assert subjects("ActivityDate = TOMORROW") == ["next"]
    assert subjects("ActivityDate < TODAY") == ["past"]
    assert subjects("ActivityDate = LAST_N_DAYS:7") == ["past", "today"]


def test_a_quoted_date_is_refused_for_a_datetime_field(api: Salesforce) -> None:
    body = error(api, "SELECT Id FROM Lead WHERE CreatedDate > '2026-01-01'")

    assert body["errorCode"] == "INVALID_FIELD"
    assert "value of filter criterion for field 'CreatedDate' must be of type dateTime" in body["message"]


def test_order_by_several_fields_with_nulls_placement(api: Salesforce, leads: dict[str, str]) -> None:
    assert names(api, "LastName != null", "AnnualRevenue DESC") == [
        "Alpha",
        "Back\\slash",
        "bravo",
        "Charlie",
        "O'Brien",
    ]
    assert names(api, "LastName != null", "AnnualRevenue DESC NULLS FIRST")[0] == "O'Brien"
    assert names(api, "LastName != null", "AnnualRevenue ASC")[0] == "O'Brien"
    assert names(api, "LastName != null", "AnnualRevenue ASC NULLS LAST")[-1] == "O'Brien"
    assert names(api, "LastName != null", "CreatedDate DESC, LastName ASC") == [
        "Back\\slash", "Charlie", "O'Brien", "bravo", "Alpha",
    ]  # fmt: skip
    assert names(api, "LastName != null", "LastName") == [
        "Alpha",
        "Back\\slash",
        "bravo",
        "Charlie",
        "O'Brien",
    ]


def test_limit_and_offset(api: Salesforce, leads: dict[str, str]) -> None:
    soql = f"SELECT LastName FROM Lead WHERE Company = '{CO}' ORDER BY LastName LIMIT 2 OFFSET 1"

    result = api.query(soql)

    assert [r["LastName"] for r in result["records"]] == ["Back\\slash", "bravo"]
    assert result["totalSize"] == 2


def test_count_queries(api: Salesforce, leads: dict[str, str]) -> None:
    assert api.query(f"SELECT COUNT() FROM Lead WHERE Company = '{CO}'") == {
        "totalSize": 5, "done": True, "records": [],
    }  # fmt: skip
    aggregate = api.query(f"SELECT COUNT(Email) total FROM Lead WHERE Company = '{CO}'")["records"]
    assert aggregate == [{"attributes": {"type": "AggregateResult"}, "total": 4}]


def test_records_carry_attributes_and_relationship_fields(
    sandbox: Any, api: Salesforce, leads: dict[str, str]
) -> None:
    record = api.query(
        f"SELECT Id, Owner.Name, Owner.Email, SystemModstamp FROM Lead WHERE Id = '{leads['Alpha'][:15]}'"
    )["records"][0]

    assert list(record) == ["attributes", "Id", "Owner", "SystemModstamp"]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{leads['Alpha']}",
    }
    assert record["Owner"]["Name"] == "Sam Rivera"
    assert record["Owner"]["attributes"]["type"] == "User"
    assert record["SystemModstamp"].endswith(".000+0000")


def test_a_contact_account_name_and_a_missing_parent(sandbox: Any, api: Salesforce) -> None:
    [orphan] = sf.add_records(sandbox.state, "Contact", [{"LastName": "Orphan"}])

    [lone] = api.query(f"SELECT Account.Name FROM Contact WHERE Id = '{orphan}'")["records"]
    linked = api.query("SELECT Account.Name FROM Contact WHERE Account.Name LIKE 'Blue%' LIMIT 1")["records"]

    assert lone["Account"] is None
    assert linked[0]["Account"]["Name"].startswith("Blue")


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id, Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'"),
        ("SELECT Id FROM Lead WHERE Bar = 1", "INVALID_FIELD", "No such column 'Bar' on entity 'Lead'"),
        ("SELECT Boss.Name FROM Lead", "INVALID_FIELD", "Didn't understand relationship 'Boss'"),
        ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        ("SELECT FROM Lead", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id, Id FROM Lead", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELECT Id FROM Lead WHERE LastName = 'unterminated", "MALFORMED_QUERY", "unexpected token"),
        (
            "SELECT Id FROM Lead WHERE LastName = 'bad \\q escape'",
            "MALFORMED_QUERY",
            "Illegal character sequence",
        ),
        ("SELECT Id FROM Lead WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: nope"),
        ("SELECT Id FROM Lead WHERE AnnualRevenue = '5'", "INVALID_FIELD", "must be of type double"),
        (
            "SELECT Id FROM Lead OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_bad_queries_are_refused_with_salesforce_codes(
    api: Salesforce, soql: str, code: str, fragment: str
) -> None:
    body = error(api, soql)

    assert body["errorCode"] == code
    assert fragment in body["message"]


def test_the_error_message_points_at_the_offending_token(api: Salesforce) -> None:
    body = error(api, "SELECT Id, Foo FROM Lead")

    assert body["message"] == (
        "\nSELECT Id, Foo FROM Lead\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity "
        "'Lead'. If you are attempting to use a custom field, be sure to append the '__c' after the custom "
        "field name. Please reference your WSDL or the describe call for the appropriate names."
    )


def test_an_empty_query_string_is_malformed(sandbox: Any, admin_token: str) -> None:
    from tests.integrations.sandbox.salesforce.conftest import rest

    response = rest(sandbox, "GET", "query/", admin_token, params={"q": ""})

    assert response.status_code == 400
    assert response.json() == [
        {"message": "A query string has to be specified", "errorCode": "MALFORMED_QUERY"}
    ]


# ---- issue 10: escapes and date literals as Salesforce documents them ----------------------------
# Reference: https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm
@pytest.mark.parametrize(
    "where",
    [
        "Title = '100\\% Sales\\_Lead'",
        "LastName = 'O\\_Brien'",
        "LastName IN ('Alpha', 'a\\%b')",
        "Title != 'CT\\_'",
    ],
)
def test_like_escapes_outside_like_are_malformed(api: Salesforce, leads: dict[str, str], where: str) -> None:
    body = error(api, f"SELECT Id FROM Lead WHERE {where}")

    assert body["errorCode"] == "MALFORMED_QUERY"
    assert "Illegal character sequence" in body["message"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Title = 'VP\\u0020Sales'", ["Alpha"]),
        ("LastName = '\\u0043harlie'", ["Charlie"]),
        ("Title = 'Line\\none\\tTab'", ["Delta"]),
        ("Title = 'Line\\NOne\\TTab'", ["Delta"]),
        ("Title = 'Say \\\"hi\\\"\\r\\f\\b'", ["Echo"]),
        ("LastName LIKE 'Back\\\\%'", ["Back\\slash"]),
        ("Title LIKE '100\\%%'", ["O'Brien"]),
    ],
)
def test_every_documented_escape_sequence_is_accepted(
    sandbox: Any, api: Salesforce, leads: dict[str, str], where: str, expected: list[str]
) -> None:
    sf.add_records(
        sandbox.state,
        "Lead",
        [
            {"LastName": "Delta", "Title": "Line\none\tTab", "Company": CO},
            {"LastName": "Echo", "Title": 'Say "hi"\r\f\b', "Company": CO},
        ],
        owner=REP1_USERNAME,
    )

    assert names(api, where) == expected


TODAY = dt.date(2026, 5, 13)  # a Wednesday; weeks start on Sunday (en_US)
D = dt.date


@pytest.mark.parametrize(
    ("literal", "first", "last"),
    [
        ("YESTERDAY", D(2026, 5, 12), D(2026, 5, 12)),
        ("TODAY", TODAY, TODAY),
        ("TOMORROW", D(2026, 5, 14), D(2026, 5, 14)),
        ("LAST_WEEK", D(2026, 5, 3), D(2026, 5, 9)),
        ("THIS_WEEK", D(2026, 5, 10), D(2026, 5, 16)),
        ("NEXT_WEEK", D(2026, 5, 17), D(2026, 5, 23)),
        ("LAST_MONTH", D(2026, 4, 1), D(2026, 4, 30)),
        ("THIS_MONTH", D(2026, 5, 1), D(2026, 5, 31)),
        ("NEXT_MONTH", D(2026, 6, 1), D(2026, 6, 30)),
        ("LAST_90_DAYS", D(2026, 2, 12), TODAY),
        ("NEXT_90_DAYS", D(2026, 5, 14), D(2026, 8, 11)),
        ("LAST_N_DAYS:7", D(2026, 5, 6), TODAY),
        ("NEXT_N_DAYS:3", D(2026, 5, 14), D(2026, 5, 16)),
        ("N_DAYS_AGO:3", D(2026, 5, 10), D(2026, 5, 10)),
        ("LAST_N_WEEKS:2", D(2026, 4, 26), D(2026, 5, 9)),
        ("NEXT_N_WEEKS:2", D(2026, 5, 17), D(2026, 5, 30)),
        ("N_WEEKS_AGO:1", D(2026, 5, 3), D(2026, 5, 9)),
        ("LAST_N_MONTHS:3", D(2026, 2, 1), D(2026, 4, 30)),
        ("NEXT_N_MONTHS:2", D(2026, 6, 1), D(2026, 7, 31)),
        ("N_MONTHS_AGO:2", D(2026, 3, 1), D(2026, 3, 31)),
        ("THIS_QUARTER", D(2026, 4, 1), D(2026, 6, 30)),
        ("LAST_QUARTER", D(2026, 1, 1), D(2026, 3, 31)),
        ("NEXT_QUARTER", D(2026, 7, 1), D(2026, 9, 30)),
        ("LAST_N_QUARTERS:2", D(2025, 10, 1), D(2026, 3, 31)),
        ("THIS_YEAR", D(2026, 1, 1), D(2026, 12, 31)),
        ("LAST_YEAR", D(2025, 1, 1), D(2025, 12, 31)),
        ("NEXT_YEAR", D(2027, 1, 1), D(2027, 12, 31)),
        ("LAST_N_YEARS:2", D(2024, 1, 1), D(2025, 12, 31)),
        ("NEXT_N_YEARS:1", D(2027, 1, 1), D(2027, 12, 31)),
        ("N_YEARS_AGO:1", D(2025, 1, 1), D(2025, 12, 31)),
        ("THIS_FISCAL_YEAR", D(2026, 1, 1), D(2026, 12, 31)),
        ("LAST_FISCAL_QUARTER", D(2026, 1, 1), D(2026, 3, 31)),
    ],
)
def test_date_literals_are_the_documented_ranges_in_utc(
    sandbox: Any, api: Salesforce, literal: str, first: dt.date, last: dt.date
) -> None:
    sf.set_clock(sandbox.state, dt.datetime.combine(TODAY, dt.time(23, 30), dt.UTC))
    days = {
        "before": first - dt.timedelta(days=1),
        "first": first,
        "last": last,
        "after": last + dt.timedelta(days=1),
    }
    sf.add_records(
        sandbox.state,
        "Task",
        [{"Subject": f"dl-{k}", "ActivityDate": d.isoformat()} for k, d in days.items()],
    )
    sf.add_records(
        sandbox.state,
        "Lead",
        [
            {"LastName": "just-before", "CreatedDate": f"{first - dt.timedelta(days=1)}T23:59:59+00:00"},
            {"LastName": "first-second", "CreatedDate": f"{first}T00:00:00+00:00"},
            {"LastName": "last-second", "CreatedDate": f"{last}T23:59:59+00:00"},
            {"LastName": "just-after", "CreatedDate": f"{last + dt.timedelta(days=1)}T00:00:00+00:00"},
        ],
        owner=REP1_USERNAME,
    )

    def tasks(op: str) -> list[str]:
        soql = f"SELECT Subject FROM Task WHERE Subject LIKE 'dl-%' AND ActivityDate {op} {literal} ORDER BY ActivityDate"
        return [r["Subject"] for r in api.query(soql)["records"]]

    assert tasks("=") == ["dl-first", "dl-last"]
    assert tasks("<") == ["dl-before"]
    assert tasks(">") == ["dl-after"]
    soql = f"SELECT LastName FROM Lead WHERE CreatedDate = {literal} AND LastName LIKE '%-%' ORDER BY CreatedDate"
    assert [r["LastName"] for r in api.query(soql)["records"]] == ["first-second", "last-second"]
