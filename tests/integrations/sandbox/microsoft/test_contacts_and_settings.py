"""Graph contacts (folders, per-folder delta) and mailboxSettings."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.sandbox.microsoft import control as ms
from tests.integrations.sandbox.microsoft.conftest import SELLER1, Graph


def drain(graph: Graph, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        body = graph.ok(url, **kwargs)
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url, kwargs = body["@odata.nextLink"], {}


def test_address_book_folders_hold_the_demo_contacts(app_graph: Graph) -> None:
    folders = app_graph.ok(f"/users/{SELLER1}/contactFolders", params={"$select": "id,displayName"})["value"]

    assert {f["displayName"] for f in folders} == {"Customers", "Prospects"}
    assert all(set(f) == {"id", "displayName"} for f in folders)
    customers = next(f for f in folders if f["displayName"] == "Customers")
    contacts = app_graph.ok(
        f"/users/{SELLER1}/contactFolders/{customers['id']}/contacts", params={"$top": "100"}
    )["value"]
    assert contacts and all(c["parentFolderId"] == customers["id"] for c in contacts)
    assert all(c["emailAddresses"][0]["address"].endswith(".example") and c["companyName"] for c in contacts)


def test_contact_delta_per_folder_and_for_the_default_folder(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    folders = app_graph.ok(f"/users/{SELLER1}/contactFolders")["value"]
    prospects = next(f for f in folders if f["displayName"] == "Prospects")
    in_folder, delta_link = drain(app_graph, f"/users/{SELLER1}/contactFolders/{prospects['id']}/contacts/delta",
                                  headers={"Prefer": "odata.maxpagesize=2"})  # fmt: skip
    # The default folder is tracked by its id (the parent of the folders in it), as Graph documents.
    default_id = prospects["parentFolderId"]
    default, default_link = drain(app_graph, f"/users/{SELLER1}/contactFolders/{default_id}/contacts/delta")

    assert in_folder and all(c["parentFolderId"] == prospects["id"] for c in in_folder)
    assert default == []

    control.seed("microsoft", {"contacts": [
        {"mailbox": SELLER1, "folder": "Prospects", "given_name": "Nia", "surname": "Ode", "email": "nia@odeco.example"},
        {"mailbox": SELLER1, "given_name": "Ray", "surname": "Lo", "emails": ["Ray Lo <ray@lo.example>"]},
    ]})  # fmt: skip

    assert [c["displayName"] for c in drain(app_graph, delta_link)[0]] == ["Nia Ode"]
    assert [c["displayName"] for c in drain(app_graph, default_link)[0]] == ["Ray Lo"]


def test_contact_delta_outside_a_folder_is_refused_as_graph_does(app_graph: Graph) -> None:
    # Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta (per folder only)
    response = app_graph.request("GET", f"/users/{SELLER1}/contacts/delta")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert (
        "Change tracking is not supported against 'microsoft.graph.contact'"
        in response.json()["error"]["message"]
    )


def test_mailbox_settings_read_and_update(app_graph: Graph) -> None:
    path = f"/users/{SELLER1}/mailboxSettings"
    settings = app_graph.ok(path)
    assert settings["automaticRepliesSetting"]["status"] == "disabled" and settings["timeZone"] == "UTC"

    update = {
        "automaticRepliesSetting": {
            "status": "Scheduled",
            "externalAudience": "contactsOnly",
            "internalReplyMessage": "Out until Monday",
            "scheduledStartDateTime": {"dateTime": "2026-12-01T08:00:00", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-12-05T17:00:00", "timeZone": "UTC"},
        },
        "timeZone": "Europe/Berlin",
    }
    response = app_graph.request("PATCH", path, json=update)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"@odata.context", "automaticRepliesSetting", "timeZone"}
    assert body["automaticRepliesSetting"]["status"] == "scheduled"
    assert body["automaticRepliesSetting"]["externalAudience"] == "contactsOnly"
    assert app_graph.ok(path)["timeZone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ({"timeZone": "Mars/Olympus"}, "InvalidTimeZone"),
        ({"automaticRepliesSetting": {"status": "sometimes"}}, "RequestBodyRead"),
        ({"signature": "x"}, "RequestBodyRead"),
        ({"automaticRepliesSetting": {"status": "scheduled",
                                      "scheduledStartDateTime": {"dateTime": "2026-12-05T00:00:00", "timeZone": "UTC"},
                                      "scheduledEndDateTime": {"dateTime": "2026-12-01T00:00:00", "timeZone": "UTC"}}},
         "ErrorInvalidTimeSettings"),
    ],
)  # fmt: skip
def test_invalid_settings_are_refused(app_graph: Graph, update: dict[str, Any], code: str) -> None:
    response = app_graph.request("PATCH", f"/users/{SELLER1}/mailboxSettings", json=update)

    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_settings_writes_need_the_write_permission(graph: Any) -> None:
    token = ms.user_tokens(graph.state, SELLER1, scopes=["MailboxSettings.Read"]).access_token

    response = Graph(graph, token).request("PATCH", "/me/mailboxSettings", json={"timeZone": "UTC"})

    assert response.status_code == 403
