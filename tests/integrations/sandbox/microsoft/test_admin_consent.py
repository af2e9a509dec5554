"""Tenant-wide admin consent (v2 ``adminconsent``): only a Global Administrator can accept, the
consent is recorded per (tenant, app), and app-only Graph calls need it."""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests

from integrations.http import ProviderSession
from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from tests.integrations.sandbox.microsoft.conftest import (
    ADMIN,
    REDIRECT_URI,
    SELLER1,
    Graph,
    answer,
    app_token,
    consent_page,
    redirect_query,
)

OTHER_TENANT = "5d2a7e90-1c3b-4f6a-8e2d-0b9c4a1f7e36"
FABRIKAM = {
    "tenants": [{"id": OTHER_TENANT, "domain": "fabrikam.onmicrosoft.com", "domains": ["fabrikam.example"],
                 "display_name": "Fabrikam"}],
    "users": [{"user_principal_name": "it@fabrikam.example", "display_name": "Ivy Tech", "admin": True}],
}  # fmt: skip


def consent_url(sandbox: Any, tenant: str = "organizations", **extra: str) -> str:
    query = {"client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "st-123",
             "scope": "https://graph.microsoft.com/.default", **extra}  # fmt: skip
    return (
        requests.Request("GET", f"{sandbox.url}/{tenant}/v2.0/adminconsent", params=query).prepare().url or ""
    )


def test_the_page_lists_the_application_permissions_and_preselects_an_admin(graph: Any) -> None:
    page = consent_page(graph, consent_url(graph))

    assert page.status == 200
    assert "Cadence provider sandbox" in page.text
    assert page.checked == ADMIN
    assert "Send mail as any user" in page.text and "Calendars.ReadWrite" in page.text
    assert "accept for your organization" in page.text


def test_an_admin_accepts_and_the_tenant_consents(graph: Any) -> None:
    assert not ms.has_admin_consent(graph.state)

    query = redirect_query(answer(graph, consent_url(graph), user=ADMIN))

    assert query == {"admin_consent": "True", "tenant": DEMO_TENANT_ID, "state": "st-123",
                     "scope": "https://graph.microsoft.com/.default"}  # fmt: skip
    assert ms.has_admin_consent(graph.state)


def test_cancel_redirects_with_access_denied(graph: Any) -> None:
    query = redirect_query(answer(graph, consent_url(graph), user=ADMIN, decision="cancel"))

    assert (query["error"], query["error_subcode"], query["state"]) == ("access_denied", "cancel", "st-123")
    assert query["error_description"].startswith("AADSTS65004: ")
    assert not ms.has_admin_consent(graph.state)


def test_a_non_admin_is_told_to_ask_an_admin(graph: Any) -> None:
    response = answer(graph, consent_url(graph), user=SELLER1)

    assert response.status_code == 200
    assert "Need admin approval" in response.text
    assert not ms.has_admin_consent(graph.state)
    assert "Need admin approval" in consent_page(graph, consent_url(graph, login_hint=SELLER1)).text


def test_app_only_graph_calls_need_the_tenants_consent(graph: Any) -> None:
    token = app_token(graph)

    refused = Graph(graph, token).get("/users")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "Authorization_RequestDenied"
    assert refused.json()["error"]["message"] == "Insufficient privileges to complete the operation."

    ms.grant_admin_consent(graph.control)
    assert Graph(graph, token).get("/users").status_code == 200


def test_another_tenant_gets_app_tokens_only_after_its_admin_consents(graph: Any) -> None:
    graph.control.seed("microsoft", FABRIKAM)
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, client_credential=DEMO_CLIENT_SECRET, authority=f"{graph.url}/fabrikam.example",
        instance_discovery=False, http_client=ProviderSession(),
    )  # fmt: skip

    before = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert before.get("error_codes") == [700016]

    redirect_query(answer(graph, consent_url(graph, tenant="fabrikam.example"), user="it@fabrikam.example"))
    after = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, client_credential=DEMO_CLIENT_SECRET, authority=f"{graph.url}/{OTHER_TENANT}",
        instance_discovery=False, http_client=ProviderSession(),
    ).acquire_token_for_client(["https://graph.microsoft.com/.default"])  # fmt: skip

    assert "access_token" in after, after
    users = Graph(graph, after["access_token"]).ok("/users")["value"]
    assert [u["userPrincipalName"] for u in users] == ["it@fabrikam.example"]


@pytest.mark.parametrize("params", [{"scope": ""}, {"scope": "https://graph.microsoft.com/Nope.Nope"}])
def test_a_missing_or_unknown_scope_is_answered_on_the_redirect_uri(
    graph: Any, params: dict[str, str]
) -> None:
    response = requests.get(
        consent_url(graph, **params), verify=graph.ca_path, timeout=10, allow_redirects=False
    )

    query = redirect_query(response)
    assert query["error"] in ("invalid_request", "invalid_scope") and query["state"] == "st-123"
