"""Admin SDK Directory API routes: users.list, groups.list, members.list, orgunits.list and domains.list under
``/google/admin/directory/v1/``. Only an administrator of the customer may call them (a token of a
non-admin user answers 403, as the Admin SDK does).
"""

# Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list
# Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/members/list
# Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/list

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from integrations.sandbox.google.api import ApiRoute
from integrations.sandbox.google.errors import GoogleApiError, failed_precondition
from integrations.sandbox.google.paging import BadToken, bool_param, decode_token, encode_token, int_param
from integrations.sandbox.google.store import AccessGrant, Customer, GoogleStore, Group, Member, OrgUnit, User
from integrations.sandbox.routing import Request, Response, json_response

BASE = r"/google/admin/directory/v1"


def routes() -> list[ApiRoute]:
    return [
        ApiRoute("GET", rf"{BASE}/users", "directory.users.list", list_users),
        ApiRoute("GET", rf"{BASE}/users/(?P<user>[^/]+)", "directory.users.get", get_user),
        ApiRoute("GET", rf"{BASE}/groups", "directory.groups.list", list_groups),
        ApiRoute("GET", rf"{BASE}/groups/(?P<group>[^/]+)/members", "directory.members.list", list_members),
        ApiRoute(
            "GET", rf"{BASE}/customer/(?P<customer>[^/]+)/orgunits", "directory.orgunits.list", list_org_units
        ),
        ApiRoute(
            "GET", rf"{BASE}/customer/(?P<customer>[^/]+)/domains", "directory.domains.list", list_domains
        ),
    ]


def not_authorized() -> GoogleApiError:
    return GoogleApiError(403, "forbidden", "Not Authorized to access this resource/api")


def _admin(store: GoogleStore, grant: AccessGrant) -> tuple[User, Customer]:
    if grant.email is None:
        raise failed_precondition()
    user = store.user(grant.email)
    if user is None or not user.is_admin or user.suspended:
        raise not_authorized()
    return user, store.customers[user.customer_id]


def _customer(store: GoogleStore, grant: AccessGrant, request: Request, *, required: bool = True) -> Customer:
    _, own = _admin(store, grant)
    customer_key = request.query_param("customer") or request.params.get("customer")
    domain = request.query_param("domain")
    if not customer_key and not domain:
        if required:
            raise GoogleApiError(400, "badRequest", "Bad Request")
        return own
    if customer_key and customer_key not in ("my_customer", own.id):
        raise not_authorized()
    if domain and domain.lower() != own.domain:
        raise not_authorized()
    return own


def _listing(
    request: Request,
    items: list,
    *,
    kind: str,
    key: str,
    etag: str,
    render: Callable[[Any], dict[str, Any]],
    default: int = 200,
    maximum: int = 200,
) -> Response:
    """One page of a Directory list (``maxResults``/``pageToken``), as Google answers it."""
    page, token = _page(items, request, default=default, maximum=maximum)
    body: dict[str, Any] = {"kind": kind, "etag": etag}
    if page:
        body[key] = [render(item) for item in page]
    if token:
        body["nextPageToken"] = token
    return json_response(200, body)


def _page(items: list, request: Request, *, default: int, maximum: int) -> tuple[list, str | None]:
    try:
        size = int_param(request.query_param("maxResults"), default=default, maximum=maximum)
    except ValueError as exc:
        raise GoogleApiError(400, "invalid", str(exc)) from exc
    start = 0
    token = request.query_param("pageToken")
    if token:
        try:
            start = int(decode_token(token)["o"])
        except (BadToken, KeyError, TypeError, ValueError) as exc:
            raise GoogleApiError(400, "invalid", "Invalid Input: pageToken") from exc
    page = items[start : start + size]
    return page, encode_token({"o": start + size}) if start + size < len(items) else None


def _etag(*parts: Any) -> str:
    return f'"sbx{abs(hash(parts)) % 10**12:012d}"'


def user_json(user: User) -> dict[str, Any]:
    return {
        "kind": "admin#directory#user",
        "id": user.id,
        "etag": _etag(user.id, user.email, user.org_unit_path),
        "primaryEmail": user.email,
        "name": {"givenName": user.given_name, "familyName": user.family_name, "fullName": user.full_name},
        "isAdmin": user.is_admin,
        "isDelegatedAdmin": False,
        "lastLoginTime": "1970-01-01T00:00:00.000Z",
        "creationTime": "2024-01-15T09:00:00.000Z",
        "agreedToTerms": True,
        "suspended": user.suspended,
        "archived": False,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": user.email, "primary": True}],
        "customerId": user.customer_id,
        "orgUnitPath": user.org_unit_path,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": False,
        "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
    }


def _user_matches(query: str, user: User) -> bool:
    """The users.list ``query`` subset: ``field:value`` (prefix) and ``field=value`` (exact) terms."""
    for field, op, value in re.findall(r"(\w+)\s*([:=])\s*('[^']*'|\"[^\"]*\"|\S+)", query):
        value = value.strip("'\"").lower()
        field = field.lower()
        if field == "orgunitpath":
            path = user.org_unit_path.lower()
            if not (path == value or path.startswith(value.rstrip("/") + "/")):
                return False
        elif field == "isadmin":
            if user.is_admin != (value == "true"):
                return False
        elif field == "issuspended":
            if user.suspended != (value == "true"):
                return False
        else:
            actual = {
                "email": user.email,
                "givenname": user.given_name,
                "familyname": user.family_name,
                "name": user.full_name,
            }.get(field, "").lower()
            if (op == "=" and actual != value) or (op == ":" and not actual.startswith(value.rstrip("*"))):
                return False
    return True


def list_users(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    customer = _customer(store, grant, request)
    query = request.query_param("query") or ""
    users = sorted(
        (u for u in store.customer_users(customer.id) if _user_matches(query, u)), key=lambda u: u.email
    )
    if request.query_param("sortOrder") == "DESCENDING":
        users.reverse()
    return _listing(
        request,
        users,
        kind="admin#directory#users",
        key="users",
        etag=_etag("users", customer.id, len(users)),
        render=user_json,
        default=100,
        maximum=500,
    )


def get_user(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    _, customer = _admin(store, grant)
    user = store.user_by_key(request.params["user"])
    if user is None or user.customer_id != customer.id:
        raise GoogleApiError(404, "notFound", "Resource Not Found: userKey")
    return json_response(200, user_json(user))


def group_json(group: Group) -> dict[str, Any]:
    return {
        "kind": "admin#directory#group",
        "id": group.id,
        "etag": _etag(group.id, group.email, len(group.members)),
        "email": group.email,
        "name": group.name,
        "directMembersCount": str(len(group.members)),
        "description": group.description,
        "adminCreated": True,
        "nonEditableAliases": [f"{group.email}.test-google-a.com"],
    }


def list_groups(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    user_key = request.query_param("userKey")
    customer = _customer(store, grant, request, required=not user_key)
    groups = sorted((g for g in store.groups.values() if g.customer_id == customer.id), key=lambda g: g.email)
    if user_key:
        member = (store.user_by_key(user_key) or User("", user_key.lower(), "", "", "")).email
        groups = [g for g in groups if any(m.email == member for m in g.members)]
    return _listing(
        request,
        groups,
        kind="admin#directory#groups",
        key="groups",
        etag=_etag("groups", customer.id, len(groups)),
        render=group_json,
    )


def _expanded_members(store: GoogleStore, group: Group, seen: set[str]) -> list[Member]:
    members = []
    for member in group.members:
        members.append(member)
        nested = store.group_by_key(member.email) if member.type == "GROUP" else None
        if nested is not None and nested.id not in seen:
            seen.add(nested.id)
            members.extend(_expanded_members(store, nested, seen))
    return members


def list_members(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    _, customer = _admin(store, grant)
    group = store.group_by_key(request.params["group"])
    if group is None or group.customer_id != customer.id:
        raise GoogleApiError(404, "notFound", "Resource Not Found: groupKey")
    if bool_param(request.query_param("includeDerivedMembership")):
        members = list({m.email: m for m in _expanded_members(store, group, {group.id})}.values())
    else:
        members = list(group.members)
    roles = {r.strip().upper() for r in (request.query_param("roles") or "").split(",") if r.strip()}
    if roles:
        members = [m for m in members if m.role in roles]
    return _listing(
        request,
        members,
        kind="admin#directory#members",
        key="members",
        etag=_etag("members", group.id, len(members)),
        render=lambda m: _member_json(store, m),
    )


def _member_json(store: GoogleStore, member: Member) -> dict[str, Any]:
    target = store.user(member.email) if member.type == "USER" else store.group_by_key(member.email)
    body: dict[str, Any] = {
        "kind": "admin#directory#member",
        "etag": _etag("member", member.email),
        "email": member.email,
        "role": member.role,
        "type": member.type,
        "status": "ACTIVE",
    }
    if target is not None:
        body["id"] = target.id
    if member.type == "USER":
        body["delivery_settings"] = "ALL_MAIL"
    return body


def org_unit_json(unit: OrgUnit, store: GoogleStore) -> dict[str, Any]:
    parent = store.org_units.get((unit.customer_id, unit.parent_path))
    body: dict[str, Any] = {
        "kind": "admin#directory#orgUnit",
        "etag": _etag("ou", unit.id),
        "name": unit.name,
        "description": unit.description,
        "orgUnitPath": unit.path,
        "orgUnitId": unit.id,
        "blockInheritance": False,
    }
    if unit.path != "/" and parent is not None:
        body["parentOrgUnitPath"] = parent.path
        body["parentOrgUnitId"] = parent.id
    return body


def list_org_units(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    _, customer = _admin(store, grant)
    if request.params["customer"] not in ("my_customer", customer.id):
        raise not_authorized()
    kind = (request.query_param("type") or "children").lower()
    if kind not in ("all", "children", "allincludingparent"):
        raise GoogleApiError(400, "invalid", "Invalid Input: type")
    base = "/" + (request.query_param("orgUnitPath") or "").strip("/")
    base = base if base != "/" else "/"
    units = sorted((u for (cid, _), u in store.org_units.items() if cid == customer.id), key=lambda u: u.path)
    prefix = base.rstrip("/") + "/"
    if kind == "children":
        chosen = [u for u in units if u.path != "/" and u.parent_path == base]
    else:
        chosen = [u for u in units if u.path.startswith(prefix) and u.path != base]
        if kind == "allincludingparent" and base != "/":
            chosen = [u for u in units if u.path == base] + chosen
    body: dict[str, Any] = {
        "kind": "admin#directory#orgUnits",
        "etag": _etag("ous", customer.id, len(chosen)),
    }
    if chosen:
        body["organizationUnits"] = [org_unit_json(u, store) for u in chosen]
    return json_response(200, body)


def list_domains(request: Request, store: GoogleStore, grant: AccessGrant) -> Response:
    """The customer's domain: its primary domain, verified, with its aliases (verified or not)."""
    _, customer = _admin(store, grant)
    if request.params["customer"] not in ("my_customer", customer.id):
        raise not_authorized()
    aliases = [
        {
            "kind": "admin#directory#domainAlias",
            "etag": _etag("alias", alias),
            "domainAliasName": alias,
            "parentDomainName": customer.domain,
            "verified": verified,
            "creationTime": "1705309200000",
        }
        for alias, verified in sorted(customer.domain_aliases.items())
    ]
    primary: dict[str, Any] = {
        "kind": "admin#directory#domain",
        "etag": _etag("domain", customer.domain),
        "domainName": customer.domain,
        "isPrimary": True,
        "verified": True,
        "creationTime": "1705309200000",
    }
    if aliases:
        primary["domainAliases"] = aliases
    return json_response(
        200,
        {"kind": "admin#directory#domains", "etag": _etag("domains", customer.id), "domains": [primary]},
    )
