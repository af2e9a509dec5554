"""SalesforceClient against the sandbox, through simple-salesforce: every endpoint Cadence uses,
the refresh-once rule, throttling, outages, Salesforce's own refusals, and API usage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from integrations.exceptions import ProviderAuthError, ProviderThrottled, ProviderUnavailable
from integrations.http import ProviderSession
from integrations.models import Connection
from integrations.salesforce import client as client_module
from integrations.salesforce.auth import revoke_token
from integrations.salesforce.client import SalesforceClient, SalesforceError
from integrations.sandbox.salesforce import control as sandbox_salesforce

REST = r"/services/data/v59\.0/"


@pytest.fixture
def sf_client(connection: Connection) -> SalesforceClient:
    client = SalesforceClient(connection)
    yield client
    client.close()


def new_lead(**fields: Any) -> dict[str, Any]:
    return {"LastName": "Lovelace", "Company": "Analytical Engines", **fields}


# --- Reads ---------------------------------------------------------------------------------------
def test_it_reads_the_identity_of_the_connected_user(sf_client):
    identity = sf_client.identity()

    assert identity["username"] == "admin@sandbox-corp.example"
    assert identity["user_id"] == sf_client.connection.external_user_id


def test_it_reads_limits_and_keeps_the_daily_usage(sf_client):
    limits = sf_client.limits()

    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert sf_client.usage.maximum == 100_000


def test_describe_is_cached_per_client(sf, sf_client):
    sf.control.clear_requests()

    first = sf_client.describe("Lead")
    again = sf_client.describe("Lead")

    assert first is again
    assert first["name"] == "Lead" and any(f["name"] == "Status" for f in first["fields"])
    assert len(sf.control.requests("/sobjects/Lead/describe")) == 1


def test_query_pages_follows_next_records_url(sf_client):
    total = sf_client.count("Lead")
    calls_before = sf_client.api_calls

    pages = list(sf_client.query_pages("SELECT Id, Email FROM Lead"))

    assert total > 2000
    assert len(pages) == sf_client.api_calls - calls_before >= 2
    assert len(pages[0]) == 2000
    assert sum(len(p) for p in pages) == total
    assert len({r["Id"] for p in pages for r in p}) == total


def test_query_pages_asks_for_a_batch_size(sf_client):
    pages = list(sf_client.query_pages("SELECT Id FROM Account", batch_size=200))

    assert len(pages[0]) == 200
    assert sum(len(p) for p in pages) == sf_client.count("Account")


def test_count_takes_an_object_a_where_clause_or_full_soql(sf_client):
    everyone = sf_client.count("Lead")
    sales = sf_client.count("Lead", "Title LIKE '%Sales%'")

    assert 0 < sales < everyone
    assert sf_client.count("Lead WHERE Title LIKE '%Sales%'") == sales
    assert sf_client.count("SELECT COUNT() FROM Lead WHERE Title LIKE '%Sales%'") == sales


def test_query_all_pages_includes_deleted_records(sf_client):
    lead_id = sf_client.create("Lead", new_lead(Email="gone@analytical.example"))
    sf_client._sf.Lead.delete(lead_id)  # Cadence never deletes in Salesforce (G9): tests may

    live = [r for p in sf_client.query_pages(f"SELECT Id FROM Lead WHERE Id = '{lead_id}'") for r in p]
    everything = [
        r
        for p in sf_client.query_all_pages(f"SELECT Id, IsDeleted FROM Lead WHERE Id = '{lead_id}'")
        for r in p
    ]

    assert live == []
    assert [(r["Id"], r["IsDeleted"]) for r in everything] == [(lead_id, True)]


def test_updated_and_deleted_need_aware_datetimes(sf, sf_client):
    start = sandbox_salesforce.now(sf.state) - dt.timedelta(days=1)
    lead_id = sf_client.create("Lead", new_lead())
    sandbox_salesforce.advance_clock(sf.state, 120)  # getUpdated covers whole minutes up to now
    end = sandbox_salesforce.now(sf.state)

    updated = sf_client.updated("Lead", start, end)
    deleted = sf_client.deleted("Lead", start, end)

    assert lead_id in updated["ids"] and "latestDateCovered" in updated
    assert "deletedRecords" in deleted and "earliestDateAvailable" in deleted
    with pytest.raises(ValueError, match="timezone-aware"):
        sf_client.updated("Lead", start.replace(tzinfo=None), end)


def test_it_lists_list_views_and_their_results(sf_client):
    views = sf_client.list_views("Lead")
    labels = {v["label"] for v in views}
    assert "All Open Leads" in labels

    view = next(v for v in views if v["label"] == "All Open Leads")
    results = sf_client.list_view_results("Lead", view["id"])

    assert results["size"] > 0
    assert results["records"][0]["columns"][0]["fieldNameOrPath"]


# --- Writes and Salesforce's refusals (G13) ------------------------------------------------------
def test_it_creates_gets_and_updates_a_record(sf_client):
    lead_id = sf_client.create("Lead", new_lead(Email="ada@analytical.example"))

    sf_client.update("Lead", lead_id, {"Status": "Working - Contacted"})

    lead = sf_client.get("Lead", lead_id)
    assert (lead["Email"], lead["Status"]) == ("ada@analytical.example", "Working - Contacted")


def test_a_validation_rule_refusal_names_the_field(sf_client):
    with pytest.raises(SalesforceError) as exc:
        sf_client.create("Lead", new_lead(Country="US", State="California"))

    assert exc.value.code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert exc.value.status == 400
    assert exc.value.field_errors == {"State": ["State must be a two-letter code for US addresses."]}


def test_a_missing_required_field_is_reported(sf_client):
    with pytest.raises(SalesforceError) as exc:
        sf_client.create("Lead", {"LastName": "Lovelace"})

    assert exc.value.code == "REQUIRED_FIELD_MISSING"
    assert "Company" in exc.value.field_errors


def test_a_duplicate_is_refused_with_the_existing_records_id(sf_client):
    first = sf_client.create("Lead", new_lead(Email="Twin@Analytical.example"))

    with pytest.raises(SalesforceError) as exc:
        sf_client.create("Lead", new_lead(Email="twin@analytical.example"))

    assert exc.value.code == "DUPLICATES_DETECTED"
    assert exc.value.duplicate_ids == [first]
    second = sf_client.create("Lead", new_lead(Email="twin@analytical.example"), allow_duplicates=True)
    assert second != first


def test_bad_soql_is_a_salesforce_error(sf_client):
    with pytest.raises(SalesforceError) as exc:
        sf_client.query("SELECT Nonsense__c FROM Lead")

    assert exc.value.code == "INVALID_FIELD"
    assert "Nonsense__c" in str(exc.value)


def test_collections_create_and_update_go_200_records_at_a_time(sf, sf_client):
    lead_id = sf_client.create("Lead", new_lead())
    tasks = [
        {
            "attributes": {"type": "Task"},
            "Subject": f"Engage Call: {i}",
            "Status": "Completed",
            "WhoId": lead_id,
        }
        for i in range(250)
    ]
    sf.control.clear_requests()

    created = sf_client.collections_create(tasks)

    assert len(created) == 250 and all(r["success"] for r in created)
    assert len(sf.control.requests("/composite/sobjects")) == 2
    updates = [{"attributes": {"type": "Task"}, "Id": r["id"], "Priority": "High"} for r in created[:3]]
    updates.append({"attributes": {"type": "Task"}, "Id": created[3]["id"], "Status": "No Such Status"})
    results = sf_client.collections_update(updates)
    assert [r["success"] for r in results] == [True, True, True, False]
    assert sf_client.get("Task", created[0]["id"])["Priority"] == "High"


# --- Tokens: refresh once, then needs reconnect --------------------------------------------------
def test_an_expired_session_is_refreshed_once_and_the_call_retried(sf, sf_client, connection):
    old = connection.get_credentials()["access_token"]
    sf.control.clear_requests()
    sf.control.inject_fault(REST + "limits", status=401)

    assert sf_client.limits()["DailyApiRequests"]["Max"] == 100_000

    (refresh,) = sf.control.requests("/services/oauth2/token")
    assert refresh["body"]["grant_type"] == "refresh_token"
    stored = Connection.objects.get(pk=connection.pk).get_credentials()
    assert stored["access_token"] != old
    assert stored["refresh_token"] == connection.get_credentials()["refresh_token"]


def test_a_second_401_after_refreshing_gives_up(sf, sf_client, connection):
    sf.control.clear_requests()
    sf.control.inject_fault(REST + "limits", status=401, times=2)

    with pytest.raises(ProviderAuthError):
        sf_client.limits()

    assert len(sf.control.requests("/services/oauth2/token")) == 1
    assert Connection.objects.get(pk=connection.pk).status == "needs_reconnect"


def test_a_refused_refresh_marks_the_connection_needs_reconnect(sf, sf_client, connection, owner_client):
    revoke_token(connection.get_credentials()["refresh_token"])  # e.g. an admin revoked Cadence in Salesforce

    with pytest.raises(ProviderAuthError) as exc:
        sf_client.limits()

    assert exc.value.code == "invalid_grant"
    connection.refresh_from_db()
    assert connection.status == "needs_reconnect"
    assert "Salesforce refused the refresh token" in connection.status_reason
    page = owner_client.get(reverse("integrations:catalog")).content.decode()
    assert "Needs reconnect" in page and "Salesforce refused the refresh token" in page
    assert ">Reconnect</button>" in page


# --- Throttling and outages ----------------------------------------------------------------------
def test_the_daily_limit_pauses_the_connection_until_a_call_works_again(sf, sf_client, connection):
    sf.control.inject_fault(REST + "query", status=403)

    with pytest.raises(ProviderThrottled) as exc:
        sf_client.query("SELECT Id FROM Lead LIMIT 1")

    assert exc.value.code == "REQUEST_LIMIT_EXCEEDED"
    connection.refresh_from_db()
    assert connection.status == "paused"
    assert "daily API request limit" in connection.status_reason

    sf_client.query("SELECT Id FROM Lead LIMIT 1")
    assert Connection.objects.get(pk=connection.pk).status == "connected"


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_unavailable(sf, sf_client, connection, status):
    sf.control.inject_fault(REST + "query", status=status)

    with pytest.raises(ProviderUnavailable) as exc:
        sf_client.query("SELECT Id FROM Lead LIMIT 1")

    assert exc.value.code == "SERVER_UNAVAILABLE"
    assert Connection.objects.get(pk=connection.pk).status == "connected"


def test_a_salesforce_that_does_not_answer_is_unavailable(sf, connection, monkeypatch):
    monkeypatch.setattr(ProviderSession, "__init__", _short_timeout(ProviderSession.__init__))
    sf.control.inject_fault(REST + "limits", delay_seconds=1.5)

    with SalesforceClient(connection) as client, pytest.raises(ProviderUnavailable, match="Timeout"):
        client.limits()


def _short_timeout(init):
    def patched(self, *, timeout=None):
        init(self, timeout=0.3)

    return patched


# --- API usage (G14) -----------------------------------------------------------------------------
def test_it_counts_its_rest_calls_and_keeps_the_usage_header(sf_client):
    sf_client.query("SELECT Id FROM Lead LIMIT 1")
    sf_client.describe("Contact")

    assert sf_client.api_calls == 2
    assert sf_client.usage.maximum == 100_000 and sf_client.usage.used >= 2


def test_usage_is_written_to_the_connection_at_most_once_a_minute(sf, connection, monkeypatch):
    writes = []
    original = client_module.services.connection_record_api_usage
    monkeypatch.setattr(
        client_module.services,
        "connection_record_api_usage",
        lambda **kw: writes.append(kw["used"]) or original(**kw),
    )
    connection.api_checked_at = None

    with SalesforceClient(connection) as client:
        for _ in range(3):
            client.query("SELECT Id FROM Lead LIMIT 1")
        assert len(writes) == 1  # the first answer; the next two are within the minute
    assert len(writes) == 2  # close() flushes the latest
    assert Connection.objects.get(pk=connection.pk).api_used == writes[-1]


def test_the_budget_is_spent_past_the_fraction(sf, connection):
    sf.control.seed("salesforce", {"api_limit": {"max": 1000, "remaining": 150}})

    with SalesforceClient(connection) as client:
        client.limits()
        assert client.budget_ok(0.8) is False
        assert client.budget_ok(0.9) is True
