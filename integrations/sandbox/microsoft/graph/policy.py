"""Application access policies (Exchange Online ``New-ApplicationAccessPolicy``): an app's
application permissions reach only the mailboxes of a mail-enabled security group
(``RestrictAccess``) or every mailbox except the group's (``DenyAccess``). Mail, calendar, contacts
and mailbox-settings routes answer 403 ``ErrorAccessDenied`` "Access to OData is disabled." for a
mailbox out of scope; directory routes (users, groups) are not affected, nor are delegated tokens.
"""

# Reference: https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access

from __future__ import annotations

from integrations.sandbox.microsoft.directory import Directory


def mailbox_access_denied(store: Directory, *, tenant_id: str, client_id: str, user_id: str) -> bool:
    """Any DenyAccess policy naming the user refuses; with RestrictAccess policies, the user must be
    in one of their groups (nested groups count)."""
    policies = [p for p in store.policies if (p.tenant_id, p.client_id) == (tenant_id, client_id)]
    restricted = allowed = False
    for policy in policies:
        group = store.groups.get(policy.group_id)
        members = store.transitive_user_ids(group) if group else set()
        if policy.access_right == "DenyAccess" and user_id in members:
            return True
        if policy.access_right == "RestrictAccess":
            restricted = True
            allowed = allowed or user_id in members
    return restricted and not allowed
