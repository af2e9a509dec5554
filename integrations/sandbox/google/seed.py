"""Applies a ``/_sandbox/seed`` body for provider "google" (the shape is documented in the
package docstring, ``integrations/sandbox/google/__init__.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.sandbox.google import generator
from integrations.sandbox.google.calendars import new_event_id, valid_event_id
from integrations.sandbox.google.clock import rfc3339
from integrations.sandbox.google.demo import contact_fields, dwd_all_scopes, google_store, split_name
from integrations.sandbox.google.errors import GoogleApiError
from integrations.sandbox.google.events import build_event, copy_to_attendees, event_times
from integrations.sandbox.google.mime import Address, addresses, b64url_decode
from integrations.sandbox.google.sending import add_neutral_message, add_raw_message
from integrations.sandbox.google.store import GoogleStore, ServiceAccount
from integrations.sandbox.provider import SeedError
from integrations.sandbox.state import SandboxState

KEYS = (
    "clock",
    "customers",
    "org_units",
    "users",
    "groups",
    "service_accounts",
    "dwd",
    "generate_users",
    "messages",
    "generate_mailbox",
    "append_messages",
    "events",
    "delete_events",
    "contacts",
    "delete_contacts",
    "gmail_quota",
    "expire_history_before",
    "expire_calendar_sync_tokens",
    "expire_people_sync_tokens",
    "expire_access_tokens",
    "revoke_refresh_tokens",
)


def merge_seed(state: SandboxState, data: Mapping[str, Any]) -> None:
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise SeedError(f"unknown google seed keys: {unknown}; known: {list(KEYS)}")
    with state.lock:
        store = google_store(state)
        try:
            for key in KEYS:
                if key in data:
                    APPLY[key](store, data[key])
        except GoogleApiError as exc:
            raise SeedError(exc.message) from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SeedError(f"{type(exc).__name__}: {exc}") from exc


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise SeedError(f"'{key}' must be a list")
    return value


def _emails(store: GoogleStore, value: Any) -> Iterable[str]:
    """``true`` (everyone) or a list of user emails."""
    return list(store.users) if value is True else [str(v).lower() for v in _list(value, "users")]


def _when(value: Any, store: GoogleStore) -> dt.datetime:
    if value in (None, ""):
        return store.clock.now_dt()
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _address(value: Any) -> Address:
    if isinstance(value, Mapping):
        return (str(value.get("name", "")), str(value["email"]).lower())
    found = addresses(str(value))
    if not found:
        raise SeedError(f"not an email address: {value!r}")
    return found[0]


def _addresses(value: Any) -> list[Address]:
    if value in (None, ""):
        return []
    return [_address(v) for v in (value if isinstance(value, list) else [value])]


# ---- directory -------------------------------------------------------------------------------
def _clock(store: GoogleStore, value: Mapping[str, Any]) -> None:
    store.clock.advance(float(value.get("advance_seconds", 0)))


def _customers(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "customers"):
        store.add_customer(
            domain=row["domain"], name=row.get("name", row["domain"]), customer_id=row.get("id")
        )


def _org_units(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "org_units"):
        customer = store.customer_for_domain(row["domain"]) or store.add_customer(
            domain=row["domain"], name=row["domain"]
        )
        store.add_org_unit(
            customer, row["path"], name=row.get("name", ""), description=row.get("description", "")
        )


def _users(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "users"):
        given, family = split_name(row.get("name", "")) if row.get("name") else ("", "")
        user = store.add_user(
            email=row["email"],
            given_name=row.get("given_name", given),
            family_name=row.get("family_name", family),
            org_unit_path=row.get("org_unit", "/"),
            is_admin=bool(row.get("is_admin", False)),
        )
        user.suspended = bool(row.get("suspended", False))


def _groups(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "groups"):
        store.add_group(
            email=row["email"],
            name=row.get("name", row["email"]),
            members=row.get("members", []),
            description=row.get("description", ""),
        )


def _service_accounts(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "service_accounts"):
        key = serialization.load_pem_public_key(str(row["public_key_pem"]).encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise SeedError("service account keys must be RSA")
        account = store.service_accounts.get(row["client_email"]) or ServiceAccount(
            client_email=row["client_email"], client_id=str(row["client_id"]), keys={}
        )
        account.keys[str(row.get("private_key_id", "seeded"))] = key
        store.service_accounts[account.client_email] = account


def _dwd(store: GoogleStore, value: Mapping[str, Any]) -> None:
    for row in value.get("authorize", []):
        customer = store.customer_for_domain(row["domain"])
        if customer is None:
            raise SeedError(f"no Google customer for domain {row['domain']!r}")
        scopes = row.get("scopes", "all")
        customer.dwd[str(row["client_id"])] = dwd_all_scopes() if scopes == "all" else frozenset(scopes)
    for row in value.get("revoke", []):
        customer = store.customer_for_domain(row["domain"])
        if customer is None:
            raise SeedError(f"no Google customer for domain {row['domain']!r}")
        if row.get("client_id"):
            customer.dwd.pop(str(row["client_id"]), None)
        else:
            customer.dwd.clear()


# ---- data ------------------------------------------------------------------------------------
def _messages(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "messages"):
        mailbox = str(row["mailbox"]).lower()
        if store.user(mailbox) is None:
            raise SeedError(f"no Google user {mailbox!r}")
        if row.get("raw"):
            add_raw_message(store, mailbox, b64url_decode(str(row["raw"])), labels=row.get("labels"))
            continue
        add_neutral_message(
            store,
            mailbox,
            sender=_address(row["from"]),
            to=_addresses(row.get("to")),
            cc=_addresses(row.get("cc")),
            subject=row.get("subject", ""),
            body=row.get("body", ""),
            html=row.get("html"),
            sent_at=_when(row.get("date"), store),
            message_id=row.get("message_id"),
            in_reply_to=row.get("in_reply_to", ""),
            references=row.get("references", []),
            labels=row.get("labels"),
        )


def _generate_mailbox(store: GoogleStore, value: Mapping[str, Any]) -> None:
    generator.generate_mailbox(
        store,
        user=value["user"],
        count=int(value["count"]),
        days=int(value.get("days", 80)),
        external_domains=int(value.get("external_domains", 200)),
        seed=value.get("seed"),
    )


def _generate_users(store: GoogleStore, value: Mapping[str, Any]) -> None:
    generator.generate_users(
        store,
        count=int(value["count"]),
        messages_each=int(value.get("messages_each", 0)),
        domain=value.get("domain", "demo.example"),
        org_unit=value.get("org_unit", "/Sales"),
        group=value.get("group"),
        prefix=value.get("prefix", "user"),
    )


def _append_messages(store: GoogleStore, value: Mapping[str, Any]) -> None:
    generator.append_messages(store, users=value.get("users", "all"), count=int(value.get("count", 20)))


def _events(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "events"):
        owner = store.user(row["calendar"])
        if owner is None:
            raise SeedError(f"no Google user {row['calendar']!r}")
        calendar = store.calendar_book(owner.email).primary
        start = _when(row["start"], store)
        end = _when(row.get("end"), store) if row.get("end") else start + dt.timedelta(minutes=30)
        organizer = _address(row["organizer"]) if row.get("organizer") else (owner.full_name, owner.email)
        attendees = [{"email": e, "displayName": n} for n, e in _addresses(row.get("attendees"))]
        body: dict[str, Any] = {
            "summary": row.get("summary", ""),
            "start": {"dateTime": rfc3339(start.timestamp())},
            "end": {"dateTime": rfc3339(end.timestamp())},
            "attendees": attendees,
        }
        for source, target in (
            ("description", "description"),
            ("location", "location"),
            ("visibility", "visibility"),
            ("ical_uid", "iCalUID"),
            ("recurrence", "recurrence"),
        ):
            if row.get(source):
                body[target] = row[source]
        if row.get("meet"):
            body["conferenceData"] = {
                "createRequest": {
                    "requestId": new_event_id(),
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            }
        event_id = str(row.get("id") or new_event_id())
        if not valid_event_id(event_id):
            raise SeedError(f"event ids are base32hex (a-v, 0-9), 5-1024 characters: {event_id!r}")
        event = build_event(
            calendar, body, event_id=event_id, version=1, organizer=(organizer[1], organizer[0])
        )
        event_times(event)
        calendar.put(event, store.clock.now())
        if organizer[1] == owner.email:
            copy_to_attendees(store, event)


def _delete_events(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "delete_events"):
        calendar = store.calendar_book(row["calendar"]).primary
        event = calendar.events.get(row["id"])
        if event is None:
            raise SeedError(f"no event {row['id']!r} in {row['calendar']!r}")
        calendar.put({**event, "status": "cancelled"}, store.clock.now())


def _contacts(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "contacts"):
        given, family = split_name(row.get("name", "")) if row.get("name") else ("", "")
        fields = contact_fields(
            given=row.get("given_name", given),
            family=row.get("family_name", family),
            email=row["email"],
            phone=row.get("phone", ""),
            company=row.get("company", ""),
            title=row.get("title", ""),
        )
        groups = row.get("groups") or ([row["group"]] if row.get("group") else [])
        store.contact_book(row["owner"]).add(fields, groups)


def _delete_contacts(store: GoogleStore, value: Any) -> None:
    for row in _list(value, "delete_contacts"):
        book = store.contact_book(row["owner"])
        contact = book.find_by_email(row["email"])
        if contact is None:
            raise SeedError(f"no contact {row['email']!r} for {row['owner']!r}")
        book.delete(contact)


# ---- switches --------------------------------------------------------------------------------
def _gmail_quota(store: GoogleStore, value: Any) -> None:
    if value in (None, False):
        store.quota.configure(units=None)
        return
    store.quota.configure(
        units=int(value["units"]),
        per_seconds=float(value.get("per_seconds", 60)),
        status=int(value.get("status", 429)),
    )


def _expire_history(store: GoogleStore, value: Any) -> None:
    for email in _emails(store, value):
        store.mailbox(email).expire_history()


def _expire_calendar_tokens(store: GoogleStore, value: Any) -> None:
    for email in _emails(store, value):
        book = store.calendar_book(email)
        book.list_epoch += 1
        for calendar in book.calendars.values():
            calendar.epoch += 1


def _expire_people_tokens(store: GoogleStore, value: Any) -> None:
    for email in _emails(store, value):
        store.contact_book(email).epoch += 1


def _expire_access_tokens(store: GoogleStore, value: Any) -> None:
    if value:
        now = store.clock.now()
        for grant in store.access_tokens.values():
            grant.expires_at = min(grant.expires_at, now)


def _revoke_refresh_tokens(store: GoogleStore, value: Any) -> None:
    emails = set(_emails(store, value))
    for token, grant in store.refresh_tokens.items():
        if grant.email in emails and not grant.revoked:
            store.revoke(token)


APPLY = {
    "clock": _clock,
    "customers": _customers,
    "org_units": _org_units,
    "users": _users,
    "groups": _groups,
    "service_accounts": _service_accounts,
    "dwd": _dwd,
    "generate_users": _generate_users,
    "messages": _messages,
    "generate_mailbox": _generate_mailbox,
    "append_messages": _append_messages,
    "events": _events,
    "delete_events": _delete_events,
    "contacts": _contacts,
    "delete_contacts": _delete_contacts,
    "gmail_quota": _gmail_quota,
    "expire_history_before": _expire_history,
    "expire_calendar_sync_tokens": _expire_calendar_tokens,
    "expire_people_sync_tokens": _expire_people_tokens,
    "expire_access_tokens": _expire_access_tokens,
    "revoke_refresh_tokens": _revoke_refresh_tokens,
}
