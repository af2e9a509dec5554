"""The checks a Salesforce connection must pass before Cadence stores it (G1), and the read-only
details the Admin Portal shows about it (G8).

Cadence needs REST API access (Enterprise, Unlimited, Developer or Performance edition, or an
edition with the API add-on) and a connecting user who may read, create and edit Accounts,
Contacts and Leads, and Users for the organisation-wide connection. A seller's own connection
only needs to read Users: Salesforce's standard sales profiles may not create or edit them.
Object permissions come from describe: Salesforce answers ``queryable``/``createable``/
``updateable`` for the signed-in user's profile and permission sets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from copilot.models import Organization
from integrations.models import Connection
from integrations.salesforce.auth import TokenResult
from integrations.salesforce.client import SalesforceClient, Usage
from integrations.salesforce.errors import SalesforceError

API_DISABLED_MESSAGE = (
    "Your Salesforce edition or profile has no API access. Cadence needs Enterprise, Unlimited, "
    "Developer or Performance edition with API enabled."
)
# Editions that cannot have the REST API at all, whatever the profile says.
# Reference: https://help.salesforce.com/s/articleView?id=000385436&type=1 (API access by edition)
EDITIONS_WITHOUT_API = frozenset(
    {"Personal Edition", "Team Edition", "Contact Manager Edition", "Group Edition"}
)

# (object, plural label), in the order the privileges table shows them.
OBJECTS = (("Lead", "Leads"), ("Contact", "Contacts"), ("Account", "Accounts"), ("User", "Users"))
PRIVILEGES = (
    ("read", "Read", "queryable"),
    ("create", "Create", "createable"),
    ("edit", "Edit", "updateable"),
)
ALL = frozenset({"read", "create", "edit"})
REQUIRED_ORG_WIDE = {"Lead": ALL, "Contact": ALL, "Account": ALL, "User": ALL}
REQUIRED_OWN = {**REQUIRED_ORG_WIDE, "User": frozenset({"read"})}


@dataclass
class CheckResult:
    details: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check_tokens(
    tokens: TokenResult, *, organization: Organization, scope: str
) -> tuple[CheckResult, Usage | None]:
    """Run the checks on freshly exchanged tokens before anything is stored (on an unsaved
    connection), with the org's API usage the answers reported."""
    candidate = Connection(
        organization=organization,
        provider="salesforce",
        scope=scope,
        instance_url=tokens.instance_url,
        identity_url=tokens.identity_url,
    )
    candidate.credentials = json.dumps(tokens.credentials())
    with SalesforceClient(candidate) as client:
        return check_connection(client), client.usage


def check_connection(client: SalesforceClient) -> CheckResult:
    """Run the G1 checks with ``client`` and collect the G8 details. Provider failures other than
    a refusal to serve the API (outage, auth) propagate as typed errors."""
    identity = client.identity()
    details: dict[str, Any] = {
        "user": {
            "id": identity.get("user_id", ""),
            "username": identity.get("username", ""),
            "name": identity.get("display_name", ""),
            "email": identity.get("email", ""),
            "user_type": identity.get("user_type", ""),
        },
        "organization_id": identity.get("organization_id", ""),
        "instance_url": client.connection.instance_url,
        "checked_at": timezone.now().isoformat(),
    }
    try:
        org = client.query("SELECT Name, OrganizationType FROM Organization")
    except SalesforceError as exc:
        if exc.code in ("API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"):
            return CheckResult(details, [API_DISABLED_MESSAGE])
        raise
    record = (org.get("records") or [{}])[0]
    details["organization_name"] = record.get("Name", "")
    details["edition"] = record.get("OrganizationType", "")
    if details["edition"] in EDITIONS_WITHOUT_API:
        return CheckResult(details, [API_DISABLED_MESSAGE])

    privileges: dict[str, dict[str, bool]] = {}
    for sobject, _label in OBJECTS:
        try:
            describe = client.describe(sobject)
        except SalesforceError as exc:
            if exc.status in (403, 404):  # the profile cannot even see the object
                describe = {}
            else:
                raise
        privileges[sobject] = {key: bool(describe.get(flag)) for key, _name, flag in PRIVILEGES}
    details["privileges"] = privileges
    problems = []
    required = REQUIRED_ORG_WIDE if client.connection.is_org_wide else REQUIRED_OWN
    missing = missing_privileges(privileges, required)
    if missing:
        username = details["user"]["username"] or "The Salesforce user"
        problems.append(
            f"{username} is missing Salesforce permissions Cadence needs: {missing}. Ask your "
            "Salesforce admin to grant them, or connect as a user who has them."
        )
    return CheckResult(details, problems)


def missing_privileges(privileges: dict[str, dict[str, bool]], required: dict[str, frozenset[str]]) -> str:
    """e.g. "create and edit on Leads, Contacts and Accounts; edit on Users" ("" when none)."""
    by_gap: dict[tuple[str, ...], list[str]] = {}
    for sobject, label in OBJECTS:
        have = privileges.get(sobject, {})
        gap = tuple(
            name.lower()
            for key, name, _flag in PRIVILEGES
            if key in required.get(sobject, ()) and not have.get(key)
        )
        if gap:
            by_gap.setdefault(gap, []).append(label)
    return "; ".join(f"{_and(list(gap))} on {_and(labels)}" for gap, labels in by_gap.items())


def privilege_rows(details: dict[str, Any]) -> list[dict[str, Any]]:
    """The privileges table: one row per object, a yes/no per privilege."""
    privileges = details.get("privileges") or {}
    return [
        {
            "label": label,
            "cells": [bool((privileges.get(sobject) or {}).get(key)) for key, _n, _f in PRIVILEGES],
        }
        for sobject, label in OBJECTS
    ]


def privilege_names() -> list[str]:
    return [name for _key, name, _flag in PRIVILEGES]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
