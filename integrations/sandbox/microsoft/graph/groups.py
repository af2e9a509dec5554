"""Graph groups: ``/groups`` (``$filter`` such as ``securityEnabled eq true``), ``/groups/{id}``,
and ``/groups/{id}/members`` (direct members only, each with its ``@odata.type``; the
``/microsoft.graph.user`` cast keeps users) and ``/transitiveMembers``.

Page size: 100 by default, ``$top`` up to 999, opaque ``$skiptoken`` in ``@odata.nextLink``.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/group-list
# Reference: https://learn.microsoft.com/en-us/graph/api/group-list-members

from __future__ import annotations

from typing import Any

from integrations.sandbox.microsoft.directory import Group
from integrations.sandbox.microsoft.graph import errors, odata
from integrations.sandbox.microsoft.graph.filters import FilterError, matches, parse_filter
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.graph.shapes import DEFAULT_PROPERTIES as USER_PROPERTIES
from integrations.sandbox.microsoft.graph.shapes import EXTRA_PROPERTIES as USER_EXTRA
from integrations.sandbox.microsoft.graph.shapes import GROUP_PROPERTIES, group_json, user_json
from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.state import SandboxState

GROUP = r"/graph/v1\.0/groups/(?P<group>[^/]+)"


def routes() -> list[tuple[str, str, Any, str, str]]:
    return [
        ("GET", r"/graph/v1\.0/groups", list_groups, "groups", "directory"),
        ("GET", rf"{GROUP}/(?P<relation>members|transitiveMembers)(?P<cast>/microsoft\.graph\.(?:user|group))?",
         list_members, "groups", "directory"),
        ("GET", GROUP, get_group, "groups", "directory"),
    ]  # fmt: skip


def _find(request: Request, target: Target) -> Group | Response:
    group = target.directory.groups.get(request.params["group"])
    if group is None or group.tenant_id != target.token.tenant_id:
        return errors.resource_not_found(request, request.params["group"])
    return group


def list_groups(request: Request, state: SandboxState, target: Target) -> Response:
    select = odata.selection(request, GROUP_PROPERTIES, "microsoft.graph.group")
    if isinstance(select, Response):
        return select
    groups = [
        group_json(g) for g in target.directory.groups.values() if g.tenant_id == target.token.tenant_id
    ]
    raw_filter = request.query_param("$filter")
    if raw_filter:
        try:
            clauses = parse_filter(raw_filter, GROUP_PROPERTIES)
        except FilterError:
            return errors.bad_request(request, "Unsupported Query.", code="Request_UnsupportedQuery")
        groups = [g for g in groups if matches(g, clauses)]
    groups.sort(key=lambda g: g["displayName"].lower())
    items = [{k: g.get(k) for k in select} if select else g for g in groups]
    return odata.page(request, items, fragment="groups", select=None, default=100, maximum=999, opaque=True)


def get_group(request: Request, state: SandboxState, target: Target) -> Response:
    group = _find(request, target)
    if isinstance(group, Response):
        return group
    select = odata.selection(request, GROUP_PROPERTIES, "microsoft.graph.group")
    if isinstance(select, Response):
        return select
    body = group_json(group)
    shown = {k: body.get(k) for k in select} if select else body
    return json_response(200, {"@odata.context": odata.context(request, "groups/$entity"), **shown})


def list_members(request: Request, state: SandboxState, target: Target) -> Response:
    group = _find(request, target)
    if isinstance(group, Response):
        return group
    select = odata.selection(
        request, (*USER_PROPERTIES, *USER_EXTRA, *GROUP_PROPERTIES), "microsoft.graph.directoryObject"
    )
    if isinstance(select, Response):
        return select
    store = target.directory
    if request.params["relation"] == "members":
        member_ids = list(group.members)
    else:
        member_ids = [*sorted(store.transitive_user_ids(group)), *_nested_groups(store.groups, group)]
    cast = (request.params.get("cast") or "").rpartition(".")[2]
    tenant = store.tenants.get(group.tenant_id)
    items: list[dict[str, Any]] = []
    for member_id in member_ids:
        if member_id in store.users and cast in ("", "user"):
            body = user_json(store.users[member_id], tenant.display_name if tenant else "")
            keys = select or USER_PROPERTIES
            items.append(
                {"@odata.type": "#microsoft.graph.user", **{k: body.get(k) for k in keys if k in body}}
            )
        elif member_id in store.groups and cast in ("", "group"):
            body = group_json(store.groups[member_id])
            keys = select or GROUP_PROPERTIES
            items.append(
                {"@odata.type": "#microsoft.graph.group", **{k: body.get(k) for k in keys if k in body}}
            )
    return odata.page(
        request, items, fragment="directoryObjects", select=None, default=100, maximum=999, opaque=True
    )


def _nested_groups(groups: dict[str, Group], group: Group) -> list[str]:
    found: list[str] = []
    pending = [m for m in group.members if m in groups]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        pending += [m for m in groups[current].members if m in groups]
    return found
