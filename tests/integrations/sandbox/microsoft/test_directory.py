"""Graph directory routes (organization, users, groups, members) and Graph authentication."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID, SELLERS_GROUP_NAME
from tests.integrations.sandbox.microsoft.conftest import ADMIN, SELLER1, SELLER2, Graph


def test_organization_names_the_tenant_and_its_verified_domains(app_graph: Graph) -> None:
    body = app_graph.ok("/organization", params={"$select": "id,displayName,verifiedDomains"})

    (org,) = body["value"]
    assert set(org) == {"id", "displayName", "verifiedDomains"}
    assert (org["id"], org["displayName"]) == (DEMO_TENANT_ID, "Demo Co")
    domains = {d["name"]: d for d in org["verifiedDomains"]}
    assert domains["demo.example"]["isDefault"] and domains["democo.onmicrosoft.com"]["isInitial"]


def test_users_list_selects_filters_and_pages(app_graph: Graph) -> None:
    ms.generate_users(app_graph.sandbox.control, count=150)

    first = app_graph.ok("/users", params={"$select": "id,mail,userPrincipalName"})
    second = app_graph.ok(first["@odata.nextLink"])

    assert len(first["value"]) == 100 and set(first["value"][0]) == {"id", "mail", "userPrincipalName"}
    assert "$skiptoken=" in first["@odata.nextLink"] and "@odata.nextLink" not in second
    assert len(first["value"]) + len(second["value"]) == 153
    found = app_graph.ok("/users", params={"$filter": f"mail eq '{SELLER2}'"})["value"]
    assert [u["displayName"] for u in found] == ["Sofia Reyes"]
    assert app_graph.get("/users", params={"$filter": "contains(mail,'x')"}).status_code == 400


def test_a_user_by_id_or_principal_name_has_the_default_properties(app_graph: Graph) -> None:
    by_upn = app_graph.ok(f"/users/{SELLER1}")
    by_id = app_graph.ok(f"/users/{by_upn['id']}")

    assert by_upn == by_id
    assert set(by_upn) - {"@odata.context"} == {
        "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
        "preferredLanguage", "surname", "userPrincipalName", "id",
    }  # fmt: skip
    missing = app_graph.get("/users/nobody@demo.example")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_security_groups_and_their_direct_members(app_graph: Graph) -> None:
    groups = app_graph.ok("/groups", params={"$filter": "securityEnabled eq true"})["value"]
    (sellers,) = groups
    assert sellers["displayName"] == SELLERS_GROUP_NAME and sellers["mailEnabled"] is True

    members = app_graph.ok(
        f"/groups/{sellers['id']}/members", params={"$select": "id,mail,userPrincipalName"}
    )

    assert sorted(m["mail"] for m in members["value"]) == [SELLER1, SELLER2]
    assert {m["@odata.type"] for m in members["value"]} == {"#microsoft.graph.user"}
    assert len(app_graph.ok("/groups")["value"]) == 2


def test_members_are_direct_only_and_page_with_next_links(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    ms.generate_users(control, count=120, group=SELLERS_GROUP_NAME)
    control.seed(
        "microsoft", {"groups": [{"display_name": "Leadership", "members": [ADMIN, SELLERS_GROUP_NAME]}]}
    )
    leadership = ms.group_id(app_graph.sandbox.state, "Leadership")

    direct = app_graph.ok(f"/groups/{leadership}/members")["value"]
    page = app_graph.ok(
        f"/groups/{ms.group_id(app_graph.sandbox.state, SELLERS_GROUP_NAME)}/members", params={"$top": "50"}
    )

    assert sorted(m["@odata.type"] for m in direct) == ["#microsoft.graph.group", "#microsoft.graph.user"]
    assert len(page["value"]) == 50 and "@odata.nextLink" in page
    users_only = app_graph.ok(f"/groups/{leadership}/members/microsoft.graph.user")["value"]
    assert [m["userPrincipalName"] for m in users_only] == [ADMIN]
    transitive = app_graph.ok(f"/groups/{leadership}/transitiveMembers", params={"$top": "999"})["value"]
    assert len(transitive) == 1 + 2 + 120 + 1


def test_a_delegated_token_reads_me_but_not_other_mailboxes(seller_graph: Graph) -> None:
    assert seller_graph.ok("/me")["userPrincipalName"] == SELLER1
    assert seller_graph.get("/me/messages").status_code == 200

    refused = seller_graph.get(f"/users/{SELLER2}/messages")

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ErrorAccessDenied"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "Access token is empty."),
        ("opaque", "IDX14100: JWT is not well formed"),
        ("a.b.c", "Access token validation failure."),
    ],
)
def test_graph_refuses_missing_and_unknown_tokens_with_401(
    graph: Any, token: str | None, message: str
) -> None:
    response = Graph(graph, token or "").get("/me") if token else _unauthenticated(graph)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken" and error["message"].startswith(message)
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def _unauthenticated(sandbox: Any) -> Any:
    return requests.get(f"{sandbox.url}/graph/v1.0/me", verify=sandbox.ca_path, timeout=10)


def test_an_expired_token_is_refused_as_expired(app_graph: Graph) -> None:
    app_graph.sandbox.control.seed("microsoft", {"expire_access_tokens": True})

    response = app_graph.get("/users")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Lifetime validation failed, the token is expired."


def test_me_needs_a_delegated_token(app_graph: Graph) -> None:
    response = app_graph.get("/me")

    assert response.status_code == 400
    assert "only valid with delegated authentication flow" in response.json()["error"]["message"]


GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"


def test_a_users_directory_roles_through_the_directory_role_cast(app_graph: Graph) -> None:
    app_graph.sandbox.control.seed(
        "microsoft",
        {"users": [{"user_principal_name": "pra@demo.example", "roles": ["Privileged Role Administrator"]}]},
    )

    admin = app_graph.ok(f"/users/{ADMIN}/transitiveMemberOf/microsoft.graph.directoryRole")["value"]
    pra = app_graph.ok("/users/pra@demo.example/transitiveMemberOf/microsoft.graph.directoryRole")["value"]
    seller = app_graph.ok(f"/users/{SELLER1}/transitiveMemberOf/microsoft.graph.directoryRole")["value"]

    (role,) = admin
    assert role["@odata.type"] == "#microsoft.graph.directoryRole"
    assert (role["displayName"], role["roleTemplateId"]) == ("Global Administrator", GLOBAL_ADMINISTRATOR)
    assert {"id", "description", "deletedDateTime"} <= set(role) and role["id"] != GLOBAL_ADMINISTRATOR
    assert [r["roleTemplateId"] for r in pra] == [PRIVILEGED_ROLE_ADMINISTRATOR]
    assert seller == []


def test_member_of_lists_groups_and_roles_unless_cast(app_graph: Graph) -> None:
    everything = app_graph.ok(f"/users/{ADMIN}/memberOf")["value"]
    groups = app_graph.ok(f"/users/{ADMIN}/memberOf/microsoft.graph.group")["value"]

    types = {item["@odata.type"] for item in everything}
    assert types == {"#microsoft.graph.group", "#microsoft.graph.directoryRole"}
    assert {g["@odata.type"] for g in groups} == {"#microsoft.graph.group"}


def test_a_removed_user_leaves_the_directory_and_its_groups(app_graph: Graph) -> None:
    app_graph.sandbox.control.seed("microsoft", {"remove_users": [SELLER2]})

    addresses = {u["mail"] for u in app_graph.ok("/users")["value"]}
    assert SELLER2 not in addresses and SELLER1 in addresses
    assert app_graph.get(f"/users/{SELLER2}").status_code == 404
    sellers = app_graph.ok("/groups", params={"$filter": "securityEnabled eq true"})["value"][0]
    members = app_graph.ok(f"/groups/{sellers['id']}/members")["value"]
    assert SELLER2 not in {m.get("mail") for m in members}
