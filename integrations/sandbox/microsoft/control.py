"""Test, benchmark and seed-script helpers for the Microsoft emulator.

Over HTTP, thin wrappers of ``SandboxControl.seed("microsoft", …)`` (usable from another process,
e.g. ``make bench``)::

    from integrations.sandbox.microsoft import control as ms
    ms.grant_admin_consent(sandbox.control)                     # Demo Co consents to Cadence
    ms.restrict_to_group(sandbox.control, "Cadence sellers")     # application access policy
    ms.generate_mailbox(sandbox.control, "seller1@demo.example", count=10_000)
    ms.append_messages(sandbox.control, users="all", count=20)
    ms.expire_delta_tokens(sandbox.control)                      # next delta round: 410
    ms.set_sent_items_lag(sandbox.control, 1)                    # Sent Items copy one read late

In-process (tests hold ``sandbox.state``)::

    token = ms.app_token(sandbox.state)                          # client-credentials token
    tokens = ms.user_tokens(sandbox.state, "seller1@demo.example")
    ms.messages(sandbox.state, "seller1@demo.example", "inbox")
    ms.delete_message(sandbox.state, "seller1@demo.example", message_id)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.control import SandboxControl
from integrations.sandbox.microsoft import mailboxes, seed
from integrations.sandbox.microsoft.demo import (
    DEMO_CLIENT_ID,
    DEMO_DELEGATED_SCOPES,
    DEMO_TENANT_ID,
)
from integrations.sandbox.microsoft.directory import GRAPH_RESOURCE, directory
from integrations.sandbox.microsoft.mailboxes import mail_store
from integrations.sandbox.microsoft.tokens import (
    issue_app_token,
    issue_refresh_token,
    issue_user_access_token,
)
from integrations.sandbox.state import SandboxState

PROVIDER = "microsoft"

# --- over HTTP --------------------------------------------------------------------------------


def grant_admin_consent(
    control: SandboxControl, tenant_id: str = DEMO_TENANT_ID, client_id: str = DEMO_CLIENT_ID
) -> None:
    control.seed(PROVIDER, {"consents": [{"tenant_id": tenant_id, "client_id": client_id}]})


def restrict_to_group(
    control: SandboxControl, group: str, *, access_right: str = "RestrictAccess",
    tenant_id: str = DEMO_TENANT_ID, client_id: str = DEMO_CLIENT_ID,
) -> None:  # fmt: skip
    """An application access policy; ``group`` is the group's id or display name."""
    control.seed(PROVIDER, {"access_policies": [{"tenant_id": tenant_id, "client_id": client_id,
                                                 "group_id": group, "access_right": access_right}]})  # fmt: skip


def add_messages(control: SandboxControl, messages: Sequence[Mapping[str, Any]]) -> None:
    control.seed(PROVIDER, {"messages": [dict(m) for m in messages]})


def generate_mailbox(control: SandboxControl, user: str, *, count: int = 10_000, days: float = 80) -> None:
    control.seed(PROVIDER, {"generate_mailbox": {"user": user, "count": count, "days": days}})


def generate_users(control: SandboxControl, count: int = 500, **options: Any) -> None:
    """Options: ``tenant_id``, ``domain``, ``group`` (id or name), ``messages_each``, ``prefix``."""
    control.seed(PROVIDER, {"generate_users": {"count": count, **options}})


def append_messages(control: SandboxControl, users: str | Iterable[str] = "all", count: int = 20) -> None:
    control.seed(PROVIDER, {"append_messages": {"users": users if isinstance(users, str) else list(users),
                                                "count": count}})  # fmt: skip


def set_sent_items_lag(control: SandboxControl, reads: int) -> None:
    """From now on a sendMail's Sent Items copy is missed by the sender's next ``reads`` mail reads
    (Exchange saves it a moment after answering 202); 0 saves it at once again."""
    control.seed(PROVIDER, {"sent_items_lag": reads})


def release_sent_items(control: SandboxControl) -> None:
    """Save every Sent Items copy ``set_sent_items_lag`` is holding back, now."""
    control.seed(PROVIDER, {"release_sent_items": True})


def expire_delta_tokens(control: SandboxControl) -> None:
    control.seed(PROVIDER, {"expire_delta_tokens": True})


def set_graph_latency(control: SandboxControl, milliseconds: int) -> None:
    control.seed(PROVIDER, {"graph_latency_ms": milliseconds})


def set_mailbox_limit(control: SandboxControl, requests: int | None, per_seconds: float = 600) -> None:
    """A request budget per (app, mailbox); None removes it. The real one is 10,000 per 10 minutes."""
    limit = {"requests": requests, "per_seconds": per_seconds} if requests is not None else None
    control.seed(PROVIDER, {"graph_mailbox_limit": limit})


def inject_graph_fault(
    control: SandboxControl, path: str, *, status: int | None = None, headers: Mapping[str, str] | None = None,
    body: Any = None, times: int | None = 1, delay_seconds: float = 0, method: str | None = None,
) -> None:  # fmt: skip
    """Like ``SandboxControl.inject_fault`` for Graph, but it also hits sub-requests of a ``$batch``
    (``/_sandbox/faults`` only sees the ``$batch`` request itself). ``path`` is a regex searched in
    ``/graph/v1.0/...``; without ``body`` the answer has Graph's error shape for ``status``."""
    spec: dict[str, Any] = {"path": path, "times": times}
    for name, value in (("status", status), ("headers", dict(headers or {}) or None), ("body", body),
                        ("delay_seconds", delay_seconds or None), ("method", method)):  # fmt: skip
        if value is not None:
            spec[name] = value
    control.seed(PROVIDER, {"graph_faults": [spec]})


def revoke_refresh_tokens(control: SandboxControl, users: str | Iterable[str] = "all") -> None:
    control.seed(PROVIDER, {"revoke_refresh_tokens": users if isinstance(users, str) else list(users)})


# --- in-process -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserTokens:
    access_token: str
    refresh_token: str
    user_id: str


def app_token(state: SandboxState, tenant_id: str = DEMO_TENANT_ID, client_id: str = DEMO_CLIENT_ID) -> str:
    """A client-credentials Graph token, as if msal had just fetched it (consent is not checked
    here; Graph checks it on every call)."""
    with state.lock:
        store = directory(state)
        return issue_app_token(store, app=store.apps[client_id], tenant_id=tenant_id, resource=GRAPH_RESOURCE)


def user_tokens(
    state: SandboxState,
    user: str,
    scopes: Sequence[str] = DEMO_DELEGATED_SCOPES,
    client_id: str = DEMO_CLIENT_ID,
) -> UserTokens:
    """Delegated tokens for a seeded user without the consent dance."""
    with state.lock:
        store = directory(state)
        found = store.find_user(user)
        if found is None:
            raise ValueError(f"no Microsoft user {user!r}")
        app = store.apps[client_id]
        access = issue_user_access_token(store, app=app, user=found, scopes=tuple(scopes))
        granted = (*scopes, "offline_access", "openid", "profile")
        refresh = issue_refresh_token(store, app=app, user=found, scopes=granted)
        return UserTokens(access, refresh, found.id)


def user_id(state: SandboxState, user: str) -> str:
    with state.lock:
        found = directory(state).find_user(user)
    if found is None:
        raise ValueError(f"no Microsoft user {user!r}")
    return found.id


def group_id(state: SandboxState, group: str) -> str:
    with state.lock:
        found = directory(state).find_group(group)
    if found is None:
        raise ValueError(f"no Microsoft group {group!r}")
    return found.id


def _mailbox(state: SandboxState, user: str) -> mailboxes.Mailbox:
    found = directory(state).find_user(user)
    if found is None:
        raise ValueError(f"no Microsoft user {user!r}")
    return mail_store(state).mailbox(found)


def messages(state: SandboxState, user: str, folder: str | None = None) -> list[dict[str, Any]]:
    """Copies of the messages in ``user``'s mailbox (one folder by id or well-known name)."""
    with state.lock:
        box = _mailbox(state, user)
        folder_id = box.folder_id(folder) if folder else None
        return [dict(m) for m in box.messages.values() if folder is None or m["parentFolderId"] == folder_id]


def events(state: SandboxState, user: str) -> list[dict[str, Any]]:
    with state.lock:
        return [dict(e) for e in _mailbox(state, user).events.values()]


def contacts(state: SandboxState, user: str) -> list[dict[str, Any]]:
    with state.lock:
        return [dict(c) for c in _mailbox(state, user).contacts.values()]


def add_message(state: SandboxState, spec: Mapping[str, Any]) -> str:
    """A provider-neutral message (see the package docstring) into its mailbox; returns its Graph id."""
    with state.lock:
        return seed.add_message(directory(state), mail_store(state), spec)


def update_message(state: SandboxState, user: str, message_id: str, changes: Mapping[str, Any]) -> None:
    with state.lock:
        mailboxes.update_message(mail_store(state), _mailbox(state, user), message_id, dict(changes))


def delete_message(state: SandboxState, user: str, message_id: str) -> None:
    with state.lock:
        mailboxes.remove_message(mail_store(state), _mailbox(state, user), message_id)


def delete_event(state: SandboxState, user: str, event_id: str) -> None:
    with state.lock:
        mailboxes.remove_event(mail_store(state), _mailbox(state, user), event_id)


def has_admin_consent(
    state: SandboxState, tenant_id: str = DEMO_TENANT_ID, client_id: str = DEMO_CLIENT_ID
) -> bool:
    with state.lock:
        return directory(state).has_consent(tenant_id, client_id)
