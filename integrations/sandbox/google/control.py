"""Test, seed and benchmark helpers for the Google emulator.

Over HTTP (a ``SandboxControl``; works against ``make run``'s sandbox too)::

    from integrations.sandbox.google import control as google
    google.generate_mailbox(sandbox.control, "seller1@demo.example", count=10_000)
    google.generate_users(sandbox.control, count=500)
    google.append_messages(sandbox.control, users="all", count=20)
    google.set_gmail_quota(sandbox.control, units=250, per_seconds=1)
    google.expire_history(sandbox.control)              # every older startHistoryId now 404s
    google.revoke_dwd(sandbox.control)                  # Demo Co withdraws Cadence's delegation

In-process (tests hold ``sandbox.state``)::

    tokens = google.issue_tokens(sandbox.state, "seller1@demo.example", scopes=[...])
    assert google.api_calls(sandbox.state, "seller1@demo.example")["gmail.users.history.list"] == 1
    google.add_domain_alias(sandbox.state, "demo-co.example", verified=True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.control import SandboxControl
from integrations.sandbox.google.demo import DEMO_DOMAIN, google_store
from integrations.sandbox.google.store import DEMO_CLIENT_ID, GoogleStore
from integrations.sandbox.state import SandboxState

PROVIDER = "google"


# ---- over HTTP -------------------------------------------------------------------------------
def seed(control: SandboxControl, data: dict[str, Any]) -> None:
    control.seed(PROVIDER, data)


def generate_mailbox(
    control: SandboxControl, user: str, *, count: int, days: int = 80, external_domains: int = 200
) -> None:
    seed(
        control,
        {
            "generate_mailbox": {
                "user": user,
                "count": count,
                "days": days,
                "external_domains": external_domains,
            }
        },
    )


def generate_users(
    control: SandboxControl,
    *,
    count: int,
    messages_each: int = 0,
    org_unit: str = "/Sales",
    group: str | None = None,
) -> None:
    spec: dict[str, Any] = {"count": count, "messages_each": messages_each, "org_unit": org_unit}
    if group:
        spec["group"] = group
    seed(control, {"generate_users": spec})


def append_messages(control: SandboxControl, *, users: str | Sequence[str] = "all", count: int = 20) -> None:
    seed(
        control,
        {"append_messages": {"users": users if isinstance(users, str) else list(users), "count": count}},
    )


def add_messages(control: SandboxControl, messages: Iterable[dict[str, Any]]) -> None:
    """Provider-neutral messages: mailbox, from, to, cc, subject, body, html, date, message_id, …"""
    seed(control, {"messages": list(messages)})


def set_gmail_quota(
    control: SandboxControl, *, units: int | None, per_seconds: float = 60, status: int = 429
) -> None:
    """``units=None`` turns enforcement off again."""
    value = None if units is None else {"units": units, "per_seconds": per_seconds, "status": status}
    seed(control, {"gmail_quota": value})


def expire_history(control: SandboxControl, mailboxes: Sequence[str] | None = None) -> None:
    seed(control, {"expire_history_before": list(mailboxes) if mailboxes else True})


def expire_calendar_sync_tokens(control: SandboxControl, users: Sequence[str] | None = None) -> None:
    seed(control, {"expire_calendar_sync_tokens": list(users) if users else True})


def expire_people_sync_tokens(control: SandboxControl, users: Sequence[str] | None = None) -> None:
    seed(control, {"expire_people_sync_tokens": list(users) if users else True})


def revoke_refresh_tokens(control: SandboxControl, users: Sequence[str] | None = None) -> None:
    seed(control, {"revoke_refresh_tokens": list(users) if users else True})


def authorize_dwd(
    control: SandboxControl, client_id: str, *, domain: str = DEMO_DOMAIN, scopes: Sequence[str] | str = "all"
) -> None:
    seed(
        control,
        {
            "dwd": {
                "authorize": [
                    {
                        "domain": domain,
                        "client_id": client_id,
                        "scopes": scopes if isinstance(scopes, str) else list(scopes),
                    }
                ]
            }
        },
    )


def revoke_dwd(control: SandboxControl, *, domain: str = DEMO_DOMAIN, client_id: str | None = None) -> None:
    """Without ``client_id``: the domain withdraws every domain-wide delegation."""
    row: dict[str, Any] = {"domain": domain}
    if client_id:
        row["client_id"] = client_id
    seed(control, {"dwd": {"revoke": [row]}})


# ---- in-process ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str


def store(state: SandboxState) -> GoogleStore:
    return google_store(state)


def issue_tokens(
    state: SandboxState, email: str, *, scopes: Iterable[str], client_id: str = DEMO_CLIENT_ID
) -> Tokens:
    """Tokens for a seeded user without the consent dance, as if the OAuth flow had just run."""
    with state.lock:
        google = store(state)
        if google.user(email) is None:
            raise ValueError(f"no Google user {email!r}")
        scopes = frozenset(scopes)
        refresh = google.issue_refresh_token(client_id=client_id, email=email.lower(), scopes=scopes)
        access = google.issue_access_token(
            client_id=client_id, email=email.lower(), scopes=scopes, refresh_token=refresh
        )
        google.granted.setdefault((client_id, email.lower()), set()).update(scopes)
        return Tokens(access, refresh)


def api_calls(state: SandboxState, user: str | None = None) -> dict[str, int]:
    """Authenticated API calls per discovery method id (batch parts counted one by one), for one
    user or summed over all."""
    with state.lock:
        counted: dict[str, int] = {}
        for (email, method), number in store(state).calls.items():
            if user is None or email == user.lower():
                counted[method] = counted.get(method, 0) + number
        return counted


def clear_api_calls(state: SandboxState) -> None:
    with state.lock:
        store(state).calls.clear()


def history_id(state: SandboxState, email: str) -> int:
    with state.lock:
        return store(state).mailbox(email).history_id


def advance_clock(state: SandboxState, seconds: float) -> None:
    """Move the emulator's clock (token expiry, sync-token age); real time keeps running too."""
    with state.lock:
        store(state).clock.advance(seconds)


def add_domain_alias(state: SandboxState, alias: str, *, verified: bool, domain: str = DEMO_DOMAIN) -> None:
    """Admin console › Domains › Add an alias to ``domain`` (verified or still pending)."""
    with state.lock:
        customer = store(state).customer_for_domain(domain)
        if customer is None:
            raise ValueError(f"no Google customer for domain {domain!r}")
        customer.domain_aliases[alias.lower()] = verified
