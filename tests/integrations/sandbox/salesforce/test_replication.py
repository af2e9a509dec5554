"""getUpdated / getDeleted through simple-salesforce's ``updated()`` and ``deleted()``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from integrations.sandbox.salesforce import control as sf

MINUTE_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000")


def test_updated_lists_records_changed_in_the_window(sandbox: Any, api: Salesforce) -> None:
    sf.advance_clock(sandbox.state, 600)  # every demo change is now older than the window
    start = sf.now(sandbox.state).replace(second=0, microsecond=0)
    new_id = api.Lead.create({"LastName": "Fresh", "Company": "Window"})["id"]
    old_id = api.query("SELECT Id FROM Lead WHERE SystemModstamp < LAST_N_DAYS:2 LIMIT 1")["records"][0]["Id"]
    sf.update_record(sandbox.state, "Lead", old_id, {"Title": "Touched by a Salesforce user"})
    sf.advance_clock(sandbox.state, 120)

    result = api.Lead.updated(start, sf.now(sandbox.state))

    assert set(result["ids"]) == {new_id, old_id}
    assert MINUTE_STAMP.fullmatch(result["latestDateCovered"])


def test_the_window_end_is_capped_at_now(sandbox: Any, api: Salesforce) -> None:
    now = sf.now(sandbox.state)

    result = api.Contact.updated(now - dt.timedelta(hours=1), now + dt.timedelta(days=1))

    covered = dt.datetime.strptime(result["latestDateCovered"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert covered <= now


def test_deleted_lists_deletions_with_their_dates(sandbox: Any, api: Salesforce) -> None:
    start = sf.now(sandbox.state) - dt.timedelta(minutes=5)
    by_api = api.Lead.create({"LastName": "Doomed", "Company": "Bin"})["id"]
    api.Lead.delete(by_api)
    by_user = api.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    sf.delete_record(sandbox.state, "Lead", by_user)
    sf.advance_clock(sandbox.state, 120)

    result = api.Lead.deleted(start, sf.now(sandbox.state))

    assert {r["id"] for r in result["deletedRecords"]} == {by_api, by_user}
    assert all(r["deletedDate"].endswith(".000+0000") for r in result["deletedRecords"])
    earliest = dt.datetime.strptime(result["earliestDateAvailable"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert earliest <= start
    assert MINUTE_STAMP.fullmatch(result["latestDateCovered"])


def test_a_deleted_record_leaves_updated_and_moves_its_modstamp(sandbox: Any, api: Salesforce) -> None:
    lead_id = api.Lead.create({"LastName": "Moving", "Company": "Stamp"})["id"]
    sf.advance_clock(sandbox.state, 30)
    api.Lead.delete(lead_id)

    record = sf.get_record(sandbox.state, "Lead", lead_id)

    assert record["IsDeleted"] is True
    assert record["SystemModstamp"] == record["CreatedDate"] + 30


def test_the_delete_log_keeps_15_days(sandbox: Any, api: Salesforce) -> None:
    start = sf.now(sandbox.state) - dt.timedelta(minutes=1)
    lead_id = api.Lead.create({"LastName": "Old", "Company": "Bin"})["id"]
    api.Lead.delete(lead_id)
    sf.advance_clock(sandbox.state, days=16)
    fresh = Salesforce(instance_url=sandbox.url, session_id=sf.issue_tokens(sandbox.state).access_token,
                       version="59.0", session=api.session)  # fmt: skip

    result = fresh.Lead.deleted(sf.now(sandbox.state) - dt.timedelta(days=20), sf.now(sandbox.state))

    earliest = dt.datetime.strptime(result["earliestDateAvailable"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert earliest > start  # the log no longer reaches back: a full resync is due
    assert result["deletedRecords"] == []


def test_purging_the_delete_log_moves_earliest_date_available(sandbox: Any, api: Salesforce) -> None:
    start = sf.now(sandbox.state) - dt.timedelta(minutes=10)
    api.Lead.delete(api.Lead.create({"LastName": "Purged", "Company": "Bin"})["id"])
    sf.advance_clock(sandbox.state, 120)
    sf.purge_delete_log(sandbox.state)

    result = api.Lead.deleted(start, sf.now(sandbox.state))

    assert dt.datetime.strptime(result["earliestDateAvailable"], "%Y-%m-%dT%H:%M:%S.%f%z") > start
    assert result["deletedRecords"] == []


@pytest.mark.parametrize(
    ("start_days_ago", "end_days_ago", "fragment"),
    [(31, 0, "more than 30 days ago"), (1, 2, "chronologically precede")],
)
def test_bad_windows_are_refused(
    sandbox: Any, api: Salesforce, start_days_ago: int, end_days_ago: int, fragment: str
) -> None:
    now = sf.now(sandbox.state)

    with pytest.raises(SalesforceMalformedRequest) as raised:
        api.Lead.updated(now - dt.timedelta(days=start_days_ago), now - dt.timedelta(days=end_days_ago))

    [error] = raised.value.content
    assert error["errorCode"] == "INVALID_REPLICATION_DATE"
    assert fragment in error["message"]
