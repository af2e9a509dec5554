"""Graph users: ``/me``, ``/users`` (``$select``, ``$top``, ``$filter`` with ``eq``/``startswith``)
and ``/users/{id | userPrincipalName}``, plus the groups and directory roles a user belongs to.

Page size: 100 by default, ``$top`` up to 999, opaque ``$skiptoken`` in ``@odata.nextLink``.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-list
# Reference: https://learn.microsoft.com/en-us/graph/api/user-get
# Reference: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof

from __future__ import annotations

from typing import Any

from integrations.sandbox.microsoft.demo import object_id
from integrations.sandbox.microsoft.directory import DIRECTORY_ROLES, Directory, Group, User
from integrations.sandbox.microsoft.graph import errors, odata
from integrations.sandbox.microsoft.graph.filters import FilterError, matches, parse_filter
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.graph.shapes import (
    DEFAULT_PROPERTIES,
    EXTRA_PROPERTIES,
    group_json,
    user_json,
)
from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"
USER_TYPE = "microsoft.graph.user"


def routes() -> list[tuple[str, str, Any, str, str]]:
    """(method, path, handler, permission, kind)."""
    return [
        ("GET", r"/graph/v1\.0/users", list_users, "users", "directory"),
        (
            "GET",
            rf"{USER}/(?:transitiveMemberOf|memberOf)(?:/microsoft\.graph\.(?P<cast>group|directoryRole))?",
            member_of,
            "memberships",
            "user",
        ),
        ("GET", USER, get_user, "users", "user"),
    ]


def shown(item: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    """Directory objects show the default properties, or exactly the selected ones."""
    if select is None:
        return {k: item[k] for k in ("@odata.type", *DEFAULT_PROPERTIES) if k in item}
    return {k: item.get(k) for k in (("@odata.type",) if "@odata.type" in item else ()) + select}


def _selection(request: Request) -> tuple[str, ...] | Response | None:
    return odata.selection(request, (*DEFAULT_PROPERTIES, *EXTRA_PROPERTIES), USER_TYPE)


def list_users(request: Request, state: SandboxState, target: Target) -> Response:
    select = _selection(request)
    if isinstance(select, Response):
        return select
    tenant = target.directory.tenants.get(target.token.tenant_id)
    users = [
        user_json(u, tenant.display_name if tenant else "")
        for u in target.directory.users_of(target.token.tenant_id)
    ]
    raw_filter = request.query_param("$filter")
    if raw_filter:
        try:
            clauses = parse_filter(raw_filter, (*DEFAULT_PROPERTIES, *EXTRA_PROPERTIES))
        except FilterError:
            return errors.bad_request(request, "Unsupported Query.", code="Request_UnsupportedQuery")
        users = [u for u in users if matches(u, clauses)]
    users.sort(key=lambda u: u["userPrincipalName"])
    items = [shown(u, select) for u in users]
    fragment = f"users({','.join(select)})" if select else "users"
    return odata.page(request, items, fragment=fragment, select=None, default=100, maximum=999, opaque=True)


def get_user(request: Request, state: SandboxState, target: Target) -> Response:
    select = _selection(request)
    if isinstance(select, Response):
        return select
    user: User = target.user  # type: ignore[assignment]
    tenant = target.directory.tenants.get(user.tenant_id)
    body = {"@odata.context": odata.context(request, "users/$entity"),
            **shown(user_json(user, tenant.display_name if tenant else ""), select)}  # fmt: skip
    return json_response(200, body)


def member_of(request: Request, state: SandboxState, target: Target) -> Response:
    """The groups and directory roles the user belongs to (``transitiveMemberOf``: through nested
    groups too); the OData cast ``/microsoft.graph.group`` or ``/microsoft.graph.directoryRole``
    keeps one type."""
    user: User = target.user  # type: ignore[assignment]
    transitive = "transitiveMemberOf" in request.path
    cast = request.params.get("cast")
    items: list[dict[str, Any]] = []
    if cast in (None, "group"):
        groups = groups_of(target.directory, user.id, transitive=transitive)
        items += [{"@odata.type": "#microsoft.graph.group", **group_json(g)} for g in groups]
    if cast in (None, "directoryRole"):
        items += [
            directory_role_json(user.tenant_id, t) for t in user.role_template_ids if t in DIRECTORY_ROLES
        ]
    fragment = {"group": "groups", "directoryRole": "directoryRoles"}.get(cast or "", "directoryObjects")
    return odata.page(request, items, fragment=fragment, select=None, default=100, maximum=999, opaque=True)


def directory_role_json(tenant_id: str, template_id: str) -> dict[str, Any]:
    """A directoryRole as Graph lists it: the tenant's activated instance of a role template."""
    # Reference: https://learn.microsoft.com/en-us/graph/api/resources/directoryrole
    name, description = DIRECTORY_ROLES[template_id]
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": object_id(tenant_id, f"directoryRole:{template_id}"),
        "deletedDateTime": None,
        "description": description,
        "displayName": name,
        "roleTemplateId": template_id,
    }


def groups_of(store: Directory, member_id: str, *, transitive: bool) -> list[Group]:
    direct = [g for g in store.groups.values() if member_id in g.members]
    if not transitive:
        return direct
    found: dict[str, Group] = {g.id: g for g in direct}
    pending = list(direct)
    while pending:
        for parent in groups_of(store, pending.pop().id, transitive=False):
            if parent.id not in found:
                found[parent.id] = parent
                pending.append(parent)
    return list(found.values())
