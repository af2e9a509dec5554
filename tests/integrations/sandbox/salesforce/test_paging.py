"""Query batches: nextRecordsUrl cursors over thousands of records, batch size, cursor expiry,
queryAll and deleted rows, and the cost of a 100,000-record poll."""

from __future__ import annotations

import time
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from integrations.sandbox.salesforce import control as sf
from tests.integrations.sandbox.salesforce.conftest import rest

DEMO_LEADS = 3000


def test_a_large_result_comes_in_2000_record_pages_in_order(sandbox: Any, api: Salesforce) -> None:
    sf.generate(sandbox.state, "Lead", 5000)

    first = api.query("SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id")

    total = DEMO_LEADS + 5000
    assert (first["totalSize"], first["done"], len(first["records"])) == (total, False, 2000)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    records = list(first["records"])
    page = first
    while not page["done"]:
        page = api.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        assert page["totalSize"] == total
        records.extend(page["records"])
    assert "nextRecordsUrl" not in page
    assert len(records) == total == len({r["Id"] for r in records})
    stamps = [r["SystemModstamp"] for r in records]
    assert stamps == sorted(stamps)
    assert sf.api_calls(sandbox.state) == {"query": 1, "query_more": 3}


def test_query_all_follows_every_page(sandbox: Any, api: Salesforce) -> None:
    sf.generate(sandbox.state, "Contact", 3000)

    result = api.query_all("SELECT Id FROM Contact")

    assert result["totalSize"] == 5000


def test_the_batch_size_header_is_honoured_within_200_to_2000(sandbox: Any, admin_token: str) -> None:
    def first_page(size: str) -> dict[str, Any]:
        response = rest(
            sandbox, "GET", "query/", admin_token,
            params={"q": "SELECT Id FROM Lead"}, headers={"Sforce-Query-Options": f"batchSize={size}"},
        )  # fmt: skip
        return response.json()

    assert len(first_page("500")["records"]) == 500
    assert first_page("500")["nextRecordsUrl"].endswith("-500")
    assert len(first_page("50")["records"]) == 200
    assert len(first_page("5000")["records"]) == 2000


def test_a_small_result_is_done_in_one_page(api: Salesforce) -> None:
    result = api.query("SELECT Id FROM Lead LIMIT 10")

    assert (result["totalSize"], result["done"], len(result["records"])) == (10, True, 10)
    assert "nextRecordsUrl" not in result


def test_a_cursor_expires_after_15_idle_minutes(sandbox: Any, api: Salesforce) -> None:
    sf.generate(sandbox.state, "Lead", 2000)
    first = api.query("SELECT Id FROM Lead")
    sf.advance_clock(sandbox.state, 14 * 60)
    second = api.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    sf.advance_clock(sandbox.state, 15 * 60 + 1)

    with pytest.raises(SalesforceMalformedRequest) as raised:
        api.query_more(second["nextRecordsUrl"], identifier_is_url=True)

    assert raised.value.content == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_the_expire_helper_and_an_unknown_locator(sandbox: Any, api: Salesforce) -> None:
    first = api.query("SELECT Id FROM Lead")
    sf.expire_query_locators(sandbox.state)

    for url in (first["nextRecordsUrl"], "/services/data/v59.0/query/01g5D000000AAAAAAA-2000"):
        with pytest.raises(SalesforceMalformedRequest) as raised:
            api.query_more(url, identifier_is_url=True)
        assert raised.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_a_user_keeps_at_most_ten_open_cursors(api: Salesforce) -> None:
    cursors = [api.query("SELECT Id FROM Lead")["nextRecordsUrl"] for _ in range(11)]

    with pytest.raises(SalesforceMalformedRequest):
        api.query_more(cursors[0], identifier_is_url=True)
    assert api.query_more(cursors[-1], identifier_is_url=True)["records"]


def test_query_all_includes_deleted_records(sandbox: Any, api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Gone", "Company": "Deleted Co"})["id"]
    api.Lead.delete(lead_id)
    soql = "SELECT Id, IsDeleted FROM Lead WHERE Company = 'Deleted Co'"

    assert api.query(soql)["totalSize"] == 0
    rows = api.query(soql, include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(lead_id, True)]
    assert api.query_all(soql + " AND IsDeleted = true", include_deleted=True)["totalSize"] == 1


def test_a_100k_systemmodstamp_poll_costs_tens_of_milliseconds_a_page(sandbox: Any, api: Salesforce) -> None:
    started = time.perf_counter()
    sf.generate(sandbox.state, "Lead", 100_000)
    generated = time.perf_counter() - started
    soql = "SELECT Id, FirstName, LastName, Email, Title, Company, Status, SystemModstamp FROM Lead ORDER BY SystemModstamp"

    started = time.perf_counter()
    page = api.query(soql)
    first_page = time.perf_counter() - started
    timings = []
    while not page["done"]:
        started = time.perf_counter()
        page = api.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        timings.append(time.perf_counter() - started)

    assert len(timings) == 51
    assert generated < 10, f"generating 100k leads took {generated:.1f}s"
    assert first_page < 2, f"first page took {first_page:.2f}s"
    assert sorted(timings)[len(timings) // 2] < 0.25, f"median page {sorted(timings)[len(timings) // 2]:.3f}s"
