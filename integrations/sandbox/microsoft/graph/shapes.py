"""The JSON shapes of Graph's directory objects, users and groups, with the properties each shows.

``users`` and ``groups`` both return users and groups (a user's ``memberOf``, a group's
``members``), so the shapes live here, below both.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/resources/user
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/group

from __future__ import annotations

import hashlib
from typing import Any

from integrations.sandbox.microsoft.directory import Group, User

DEFAULT_PROPERTIES = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")  # fmt: skip
EXTRA_PROPERTIES = ("accountEnabled", "department", "companyName", "createdDateTime", "mailNickname",
                    "userType", "usageLocation", "proxyAddresses", "otherMails")  # fmt: skip
GROUP_PROPERTIES = ("id", "createdDateTime", "description", "displayName", "groupTypes", "mail",
                    "mailEnabled", "mailNickname", "securityEnabled", "securityIdentifier", "visibility",
                    "onPremisesSyncEnabled", "proxyAddresses")  # fmt: skip


def user_json(user: User, tenant_name: str = "") -> dict[str, Any]:
    local = user.user_principal_name.partition("@")[0]
    return {
        "businessPhones": list(user.business_phones),
        "displayName": user.display_name,
        "givenName": user.given_name or None,
        "jobTitle": user.job_title,
        "mail": user.mail or None,
        "mobilePhone": user.mobile_phone,
        "officeLocation": user.office_location,
        "preferredLanguage": "en-US",
        "surname": user.surname or None,
        "userPrincipalName": user.user_principal_name,
        "id": user.id,
        "accountEnabled": user.account_enabled,
        "department": user.department,
        "companyName": tenant_name or None,
        "createdDateTime": user.created,
        "mailNickname": local,
        "userType": "Member",
        "usageLocation": "US",
        "proxyAddresses": [f"SMTP:{user.mail}"] if user.mail else [],
        "otherMails": [],
    }


def group_json(group: Group) -> dict[str, Any]:
    nickname = (group.mail or group.display_name).partition("@")[0].replace(" ", "")
    return {
        "id": group.id,
        "createdDateTime": group.created,
        "description": group.description,
        "displayName": group.display_name,
        "groupTypes": list(group.group_types),
        "mail": group.mail,
        "mailEnabled": group.mail_enabled,
        "mailNickname": nickname,
        "securityEnabled": group.security_enabled,
        "securityIdentifier": _sid(group.id),
        "visibility": None,
        "onPremisesSyncEnabled": None,
        "proxyAddresses": [f"SMTP:{group.mail}"] if group.mail else [],
    }


def _sid(group_id: str) -> str:
    digest = hashlib.sha256(group_id.encode()).digest()
    return "S-1-12-1-" + "-".join(str(int.from_bytes(digest[i : i + 4], "little")) for i in (0, 4, 8, 12))
