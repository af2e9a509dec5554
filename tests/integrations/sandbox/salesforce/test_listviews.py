"""List views: the list per object, results with string cells, and the SOQL behind each view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simple_salesforce import Salesforce

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import REP1_USERNAME


def views(api: Salesforce, sobject: str) -> dict[str, dict[str, Any]]:
    return {v["label"]: v for v in api.restful(f"sobjects/{sobject}/listviews")["listviews"]}


def test_each_object_has_two_list_views(api: Salesforce) -> None:
    body = api.restful("sobjects/Lead/listviews")

    assert (body["done"], body["size"], body["sobjectType"]) == (True, 2, "Lead")
    by_label = views(api, "Lead")
    assert set(by_label) == {"All Open Leads", "My Leads"}
    view = by_label["All Open Leads"]
    assert set(view) == {"describeUrl", "developerName", "id", "label", "resultsUrl", "soqlCompatible", "url"}
    assert view["developerName"] == "AllOpenLeads" and view["soqlCompatible"] is True
    assert view["resultsUrl"] == f"/services/data/v59.0/sobjects/Lead/listviews/{view['id']}/results"
    assert set(views(api, "Contact")) == {"All Contacts", "My Contacts"}
    assert set(views(api, "Account")) == {"All Accounts", "My Accounts"}


def test_results_show_columns_and_string_cells(api: Salesforce) -> None:
    view = views(api, "Lead")["All Open Leads"]

    body = api.restful(f"sobjects/Lead/listviews/{view['id']}/results", params={"limit": 50})

    assert (body["id"], body["label"], body["developerName"]) == (
        view["id"],
        "All Open Leads",
        "AllOpenLeads",
    )
    paths = [c["fieldNameOrPath"] for c in body["columns"]]
    assert paths[:3] == ["Name", "Title", "Company"] and "Id" in paths
    assert len(body["records"]) == 50 and body["done"] is False
    open_count = api.query(
        "SELECT COUNT() FROM Lead WHERE Status IN ('Open - Not Contacted', 'Working - Contacted')"
    )["totalSize"]
    assert body["size"] == open_count
    cells = body["records"][0]["columns"]
    assert [c["fieldNameOrPath"] for c in cells] == paths
    status = next(c["value"] for c in cells if c["fieldNameOrPath"] == "Status")
    assert status in ("Open - Not Contacted", "Working - Contacted")
    assert all(c["value"] is None or isinstance(c["value"], str) for c in cells)


def test_my_leads_shows_only_the_callers_leads(sandbox: Any, api_as: Callable[[str], Salesforce]) -> None:
    rep = api_as(REP1_USERNAME)
    view = views(rep, "Lead")["My Leads"]
    rep_id = sf.user_id(sandbox.state, REP1_USERNAME)

    body = rep.restful(f"sobjects/Lead/listviews/{view['id']}/results", params={"limit": 2000})

    assert body["size"] == rep.query(f"SELECT COUNT() FROM Lead WHERE OwnerId = '{rep_id}'")["totalSize"]


def test_the_describe_gives_runnable_soql(api: Salesforce) -> None:
    view = views(api, "Contact")["All Contacts"]

    described = api.restful(f"sobjects/Contact/listviews/{view['id']}/describe")

    assert described["sobjectType"] == "Contact"
    result = api.query(described["query"])
    assert result["totalSize"] == 2000
    assert "Account" in result["records"][0]
