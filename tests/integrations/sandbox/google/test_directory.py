"""Admin SDK Directory through googleapiclient: users, groups, members and org units."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import ADMIN, DIRECTORY, SELLER1, SELLER2


@pytest.fixture
def directory(api: Any) -> Any:
    return api("admin", ADMIN, DIRECTORY)


def test_users(directory: Any) -> None:
    users = directory.users().list(customer="my_customer").execute()["users"]
    by_email = {u["primaryEmail"]: u for u in users}
    assert set(by_email) == {ADMIN, SELLER1, SELLER2}
    assert by_email[ADMIN]["isAdmin"] is True and by_email[SELLER1]["orgUnitPath"] == "/Sales"
    assert by_email[SELLER1]["name"]["fullName"] == "Sam Seller"
    in_sales = directory.users().list(domain="demo.example", query="orgUnitPath='/Sales'").execute()["users"]
    assert {u["primaryEmail"] for u in in_sales} == {SELLER1, SELLER2}
    page = directory.users().list(customer="my_customer", maxResults=2).execute()
    rest = (
        directory.users()
        .list(customer="my_customer", maxResults=2, pageToken=page["nextPageToken"])
        .execute()
    )
    assert len(page["users"]) == 2 and len(rest["users"]) == 1 and "nextPageToken" not in rest
    with pytest.raises(HttpError) as exc:
        directory.users().list(domain="other.example").execute()
    assert exc.value.resp.status == 403


def test_groups_and_members(sandbox: Any, directory: Any) -> None:
    (group,) = directory.groups().list(customer="my_customer").execute()["groups"]
    assert group["email"] == "sales@demo.example" and group["directMembersCount"] == "2"
    members = directory.members().list(groupKey="sales@demo.example").execute()["members"]
    assert {m["email"] for m in members} == {SELLER1, SELLER2} and {m["type"] for m in members} == {"USER"}
    assert directory.members().list(groupKey=group["id"]).execute()["members"] == members

    google.seed(
        sandbox.control,
        {
            "groups": [
                {
                    "email": "everyone@demo.example",
                    "name": "Everyone",
                    "members": [ADMIN, "sales@demo.example"],
                }
            ]
        },
    )
    direct = directory.members().list(groupKey="everyone@demo.example").execute()["members"]
    assert [m["type"] for m in direct] == ["USER", "GROUP"]
    derived = (
        directory.members().list(groupKey="everyone@demo.example", includeDerivedMembership=True).execute()
    )
    assert {m["email"] for m in derived["members"]} == {ADMIN, "sales@demo.example", SELLER1, SELLER2}
    mine = directory.groups().list(userKey=ADMIN).execute()["groups"]
    assert [g["email"] for g in mine] == ["everyone@demo.example"]
    with pytest.raises(HttpError) as exc:
        directory.members().list(groupKey="nope@demo.example").execute()
    assert exc.value.resp.status == 404


def test_org_units(sandbox: Any, directory: Any) -> None:
    units = directory.orgunits().list(customerId="my_customer", type="all").execute()["organizationUnits"]
    assert [(u["orgUnitPath"], u["parentOrgUnitPath"]) for u in units] == [("/Sales", "/")]
    google.seed(sandbox.control, {"org_units": [{"domain": "demo.example", "path": "/Sales/EMEA"}]})
    everything = (
        directory.orgunits().list(customerId="my_customer", type="all").execute()["organizationUnits"]
    )
    assert [u["orgUnitPath"] for u in everything] == ["/Sales", "/Sales/EMEA"]
    children = directory.orgunits().list(customerId="my_customer").execute()["organizationUnits"]
    assert [u["orgUnitPath"] for u in children] == ["/Sales"]
    assert directory.users().get(userKey=SELLER1).execute()["primaryEmail"] == SELLER1
