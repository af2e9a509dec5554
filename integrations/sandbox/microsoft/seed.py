"""``/_sandbox/seed`` for provider "microsoft": the shape is documented in the package docstring."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any

from integrations.sandbox.faults import InvalidFault
from integrations.sandbox.microsoft import generator, mailboxes, recurrence
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_TENANT_ID, object_id
from integrations.sandbox.microsoft.directory import (
    ACCESS_RIGHTS,
    DIRECTORY_ROLES,
    AccessPolicy,
    AppRegistration,
    Directory,
    Group,
    Tenant,
    User,
    directory,
)
from integrations.sandbox.microsoft.items import Address, contact_json, event_json, message_json
from integrations.sandbox.microsoft.mailboxes import mail_store
from integrations.sandbox.microsoft.times import parse
from integrations.sandbox.provider import SeedError
from integrations.sandbox.state import SandboxState

KNOWN_KEYS = (
    "tenants", "apps", "users", "remove_users", "groups", "consents", "revoke_consents", "access_policies",
    "clear_access_policies", "messages", "events", "contacts", "graph_latency_ms", "graph_mailbox_limit",
    "graph_mailbox_concurrency", "delta_expiry", "delta_filter_max_messages", "generate_users",
    "generate_mailbox", "append_messages", "expire_delta_tokens", "expire_access_tokens",
    "expire_refresh_tokens", "revoke_refresh_tokens", "graph_faults", "clear_graph_faults",
    "sent_items_lag", "release_sent_items",
)  # fmt: skip


def merge_seed(state: SandboxState, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(KNOWN_KEYS)
    if unknown:
        raise SeedError(f"unknown microsoft seed keys: {sorted(unknown)}")
    try:
        with state.lock:
            _apply(state, data)
    except SeedError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeedError(f"invalid microsoft seed: {exc}") from exc


def _apply(state: SandboxState, data: Mapping[str, Any]) -> None:
    store, mail = directory(state), mail_store(state)
    for spec in _objects(data, "tenants"):
        tenant = Tenant(id=_text(spec, "id"), domain=_text(spec, "domain"),
                        display_name=str(spec.get("display_name") or spec["domain"]),
                        domains=tuple(spec.get("domains") or ()))  # fmt: skip
        store.tenants[tenant.id] = tenant
    for spec in _objects(data, "apps"):
        _add_app(store, spec)
    for spec in _objects(data, "users"):
        add_user(store, spec)
    for key in data.get("remove_users") or ():
        store.remove_user(_user(store, str(key)))
    for spec in _objects(data, "groups"):
        _add_group(store, spec)
    for spec in _objects(data, "consents"):
        store.consents.add(
            (_tenant(store, spec.get("tenant_id")).id, str(spec.get("client_id") or DEMO_CLIENT_ID))
        )
    for spec in _objects(data, "revoke_consents"):
        store.consents.discard(
            (_tenant(store, spec.get("tenant_id")).id, str(spec.get("client_id") or DEMO_CLIENT_ID))
        )
    if data.get("clear_access_policies"):
        store.policies.clear()
    for spec in _objects(data, "access_policies"):
        _add_policy(store, spec)
    for spec in _objects(data, "messages"):
        add_message(store, mail, spec)
    for spec in _objects(data, "events"):
        add_event(store, mail, spec)
    for spec in _objects(data, "contacts"):
        add_contact(store, mail, spec)
    _options(mail.options, data)
    if data.get("clear_graph_faults"):
        mail.faults.clear()
    for spec in _objects(data, "graph_faults"):
        try:
            mail.faults.add(spec)
        except InvalidFault as exc:
            raise SeedError(f"graph_faults: {exc}") from exc
    if "generate_users" in data:
        spec = dict(data["generate_users"])
        generator.generate_users(store, mail, count=int(spec.pop("count", 500)), **spec)
    if "generate_mailbox" in data:
        spec = dict(data["generate_mailbox"])
        generator.generate_mailbox(store, mail, user=_text(spec, "user"), count=int(spec.get("count", 10_000)),
                                   days=float(spec.get("days", 80)))  # fmt: skip
    if "append_messages" in data:
        spec = data["append_messages"]
        generator.append_messages(
            store, mail, users=spec.get("users", "all"), count=int(spec.get("count", 20))
        )
    if data.get("release_sent_items"):
        mailboxes.release_sent_copies(mail)
    if data.get("expire_delta_tokens"):
        mail.options.delta_epoch += 1
        mail.rounds.clear()
    now = dt.datetime.now(dt.UTC)
    if data.get("expire_access_tokens"):
        for token, issued in list(store.access_tokens.items()):
            store.access_tokens[token] = dataclasses.replace(issued, expires_at=now)
    if data.get("expire_refresh_tokens"):
        for grant in _grants(store, data["expire_refresh_tokens"]):
            grant.expires_at = now
    if data.get("revoke_refresh_tokens"):
        for grant in _grants(store, data["revoke_refresh_tokens"]):
            grant.revoked = True


def _options(options: mailboxes.Options, data: Mapping[str, Any]) -> None:
    if "graph_latency_ms" in data:
        options.latency_ms = max(0, int(data["graph_latency_ms"] or 0))
    if "graph_mailbox_concurrency" in data:
        options.mailbox_concurrency = max(1, int(data["graph_mailbox_concurrency"]))
    if "graph_mailbox_limit" in data:
        limit = data["graph_mailbox_limit"]
        options.mailbox_limit = (int(limit["requests"]), float(limit["per_seconds"])) if limit else None
    if "delta_filter_max_messages" in data:
        options.delta_filter_max_messages = int(data["delta_filter_max_messages"])
    if "sent_items_lag" in data:
        options.sent_items_lag = max(0, int(data["sent_items_lag"] or 0))
    if "delta_expiry" in data:
        expiry = data["delta_expiry"]
        status, code = int(expiry.get("status", 410)), str(expiry.get("code", "syncStateNotFound"))
        if status not in (400, 410) or code not in ("syncStateNotFound", "resyncRequired"):
            raise SeedError("'delta_expiry' takes status 400|410 and code syncStateNotFound|resyncRequired")
        options.delta_expiry_status, options.delta_expiry_code = status, code


def _grants(store: Directory, which: Any) -> list[Any]:
    if which is True or which == "all":
        return list(store.refresh_tokens.values())
    users = {_user(store, key).id for key in which}
    return [g for g in store.refresh_tokens.values() if g.user_id in users]


# --- directory --------------------------------------------------------------------------------


def _add_app(store: Directory, spec: Mapping[str, Any]) -> None:
    tenant_id = _text(spec, "tenant_id")
    if tenant_id not in store.tenants:
        raise SeedError(f"app {spec.get('client_id')!r} names unknown tenant {tenant_id!r}")
    app_secrets = spec.get("client_secrets") or [_text(spec, "client_secret")]
    roles = spec.get("roles") or []
    if not all(isinstance(s, str) for s in app_secrets) or not all(isinstance(r, str) for r in roles):
        raise SeedError("'client_secrets' and 'roles' must be lists of strings")
    client_id = _text(spec, "client_id")
    store.apps[client_id] = AppRegistration(
        client_id=client_id,
        tenant_id=tenant_id,
        display_name=str(spec.get("display_name") or client_id),
        secrets=tuple(app_secrets),
        roles=tuple(roles),
        service_principal_id=object_id(tenant_id, f"serviceprincipal:{client_id}"),
        redirect_uris=tuple(spec.get("redirect_uris") or ()),
        local_redirects=bool(spec.get("local_redirects", False)),
        multi_tenant=bool(spec.get("multi_tenant", True)),
    )


def add_user(store: Directory, spec: Mapping[str, Any]) -> User:
    upn = str(spec.get("user_principal_name") or spec.get("email") or "").strip().lower()
    if "@" not in upn:
        raise SeedError("a user needs 'user_principal_name' (or 'email')")
    tenant = _tenant(store, spec.get("tenant_id"), domain=upn.rpartition("@")[2])
    name = str(spec.get("display_name") or upn.partition("@")[0].replace(".", " ").title())
    given, _, surname = name.partition(" ")
    user = User(
        id=str(spec.get("id") or object_id(tenant.id, upn)),
        tenant_id=tenant.id,
        user_principal_name=upn,
        mail=str(spec.get("mail") or upn),
        display_name=name,
        given_name=str(spec.get("given_name") or given),
        surname=str(spec.get("surname") or surname),
        job_title=spec.get("job_title"),
        department=spec.get("department"),
        account_enabled=bool(spec.get("account_enabled", True)),
        is_admin=bool(spec.get("admin", False)),
        roles=_roles(spec.get("roles")),
        has_mailbox=bool(spec.get("mailbox", True)),
        email_claim=str(spec["email_claim"]) if spec.get("email_claim") is not None else None,
    )
    store.add_user(user)
    return user


def _roles(value: Any) -> tuple[str, ...]:
    """Directory roles by template id or display name ("Privileged Role Administrator")."""
    by_name = {name.lower(): template for template, (name, _) in DIRECTORY_ROLES.items()}
    roles = []
    for role in value or ():
        template = by_name.get(str(role).lower(), str(role).lower())
        if template not in DIRECTORY_ROLES:
            raise SeedError(f"unknown directory role {role!r}: one of {sorted(by_name)}")
        roles.append(template)
    return tuple(roles)


def _add_group(store: Directory, spec: Mapping[str, Any]) -> None:
    name = _text(spec, "display_name")
    tenant = _tenant(store, spec.get("tenant_id"))
    existing = store.find_group(str(spec.get("id") or name), tenant.id)
    group = existing or Group(id=str(spec.get("id") or object_id(tenant.id, f"group:{name}")), tenant_id=tenant.id,
                              display_name=name)  # fmt: skip
    group.description = spec.get("description", group.description)
    group.mail = spec.get("mail", group.mail)
    group.mail_enabled = bool(spec.get("mail_enabled", group.mail_enabled or bool(group.mail)))
    group.security_enabled = bool(spec.get("security_enabled", group.security_enabled))
    group.group_types = tuple(spec.get("group_types", group.group_types))
    for member in spec.get("members") or []:
        found = store.find_user(str(member), tenant.id) or store.find_group(str(member), tenant.id)
        if found is None:
            raise SeedError(f"group {name!r}: no user or group {member!r} in tenant {tenant.id}")
        if found.id not in group.members:
            group.members.append(found.id)
    store.groups[group.id] = group


def _add_policy(store: Directory, spec: Mapping[str, Any]) -> None:
    right = str(spec.get("access_right") or "RestrictAccess")
    if right not in ACCESS_RIGHTS:
        raise SeedError(f"'access_right' must be one of {sorted(ACCESS_RIGHTS)}")
    tenant = _tenant(store, spec.get("tenant_id"))
    group = store.find_group(_text(spec, "group_id"), tenant.id)
    if group is None:
        raise SeedError(f"access policy names unknown group {spec['group_id']!r}")
    store.policies.append(
        AccessPolicy(tenant.id, str(spec.get("client_id") or DEMO_CLIENT_ID), group.id, right)
    )


# --- mailbox content --------------------------------------------------------------------------


def add_message(store: Directory, mail: mailboxes.MailStore, spec: Mapping[str, Any]) -> str:
    owner = _user(store, _text(spec, "mailbox"))
    box = mail.mailbox(owner)
    sender = _address(spec.get("from")) or (owner.mail, owner.display_name)
    when = parse(spec.get("date")) or dt.datetime.now(dt.UTC)
    folder_key = str(spec.get("folder") or ("sentitems" if sender[0] == owner.mail.lower() else "inbox"))
    folder_id = box.folder_id(folder_key) or box.folder_by_name(folder_key)
    if folder_id is None:
        raise SeedError(f"mailbox {owner.user_principal_name} has no folder {folder_key!r}")
    message = message_json(
        sender=sender,
        to=_addresses(spec.get("to")),
        cc=_addresses(spec.get("cc")),
        bcc=_addresses(spec.get("bcc")),
        subject=str(spec.get("subject") or ""),
        body=str(spec.get("body") or ""),
        content_type=str(spec.get("content_type") or "text"),
        received=when,
        internet_message_id=str(
            spec.get("message_id") or f"seed-{mail.seq + 1}@{owner.mail.rpartition('@')[2]}"
        ),
        is_read=bool(spec.get("is_read", folder_key == "sentitems")),
    )
    return mailboxes.add_message(mail, box, message, folder_id)


def add_event(store: Directory, mail: mailboxes.MailStore, spec: Mapping[str, Any]) -> str:
    owner = _user(store, _text(spec, "mailbox"))
    start, end = parse(spec.get("start")), parse(spec.get("end"))
    if start is None or end is None:
        raise SeedError("an event needs 'start' and 'end' (ISO datetimes)")
    organizer = _address(spec.get("organizer")) or (owner.mail, owner.display_name)
    attendees = []
    for entry in spec.get("attendees") or []:
        address = _address(entry)
        if address:
            response = entry.get("response", "none") if isinstance(entry, Mapping) else "none"
            attendees.append((address[0], address[1], str(response)))
    join_url = str(spec.get("join_url") or "")
    teams = bool(spec.get("teams")) or "teams.microsoft.com" in join_url
    event = event_json(
        subject=str(spec.get("subject") or ""),
        start=start,
        end=end,
        organizer=organizer,
        attendees=attendees,
        is_organizer=organizer[0] == owner.mail.lower(),
        body=str(spec.get("body") or ("" if teams or not join_url else f"Join: {join_url}")),
        location=str(spec.get("location") or ("" if teams else join_url)),
        teams_join_url=(
            join_url or "https://teams.microsoft.com/l/meetup-join/19%3ameeting_seed%40thread.v2/0"
        )
        if teams
        else "",
        private=bool(spec.get("private")),
        all_day=bool(spec.get("all_day")),
        ical_uid=spec.get("ical_uid"),
    )
    if spec.get("recurrence"):  # a series: Graph's patternedRecurrence, as POST /events takes it
        series = recurrence.normalized(spec["recurrence"], start)
        if isinstance(series, str):
            raise SeedError(f"event {spec.get('subject')!r}: {series}")
        event.update(type="seriesMaster", recurrence=series)
    return mailboxes.add_event(mail, mail.mailbox(owner), event)


def add_contact(store: Directory, mail: mailboxes.MailStore, spec: Mapping[str, Any]) -> str:
    owner = _user(store, _text(spec, "mailbox"))
    box = mail.mailbox(owner)
    folder = spec.get("folder")
    folder_id = mailboxes.add_contact_folder(box, str(folder)) if folder else box.default_contacts
    emails = spec.get("emails") or ([spec["email"]] if spec.get("email") else [])
    contact = contact_json(
        given_name=str(spec.get("given_name") or ""),
        surname=str(spec.get("surname") or ""),
        display_name=str(spec.get("display_name") or ""),
        emails=[a for a in (_address(e) for e in emails) if a],
        company=str(spec.get("company") or ""),
        job_title=str(spec.get("job_title") or ""),
        phones=[str(p) for p in spec.get("phones") or []],
    )
    return mailboxes.add_contact(mail, box, contact, folder_id)


# --- parsing ----------------------------------------------------------------------------------


def _address(value: Any) -> Address | None:
    """ "Name <a@b>", "a@b", or {"address", "name"}."""
    if isinstance(value, Mapping):
        address = str(value.get("address") or value.get("email") or "").strip().lower()
        return (address, str(value.get("name") or "")) if address else None
    if not isinstance(value, str) or not value.strip():
        return None
    name, address = email.utils.parseaddr(value)
    return (address.lower(), name) if address else None


def _addresses(value: Any) -> list[Address]:
    values = value if isinstance(value, list) else [value] if value else []
    return [a for a in (_address(v) for v in values) if a]


def _user(store: Directory, key: str) -> User:
    user = store.find_user(key)
    if user is None:
        raise SeedError(f"no Microsoft user {key!r}")
    return user


def _tenant(store: Directory, tenant_id: Any, domain: str | None = None) -> Tenant:
    tenant = store.find_tenant(str(tenant_id)) if tenant_id else None
    if tenant is None and domain and not tenant_id:
        tenant = store.tenant_of_domain(domain)
    if tenant is None and not tenant_id and not domain:
        tenant = store.tenants.get(DEMO_TENANT_ID)
    if tenant is None:
        raise SeedError(f"unknown tenant {tenant_id or domain!r}")
    return tenant


def _objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise SeedError(f"'{key}' must be a list of objects")
    return items


def _text(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise SeedError(f"'{key}' is required and must be a string")
    return value
