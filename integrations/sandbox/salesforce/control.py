"""Test and seed helpers for the Salesforce emulator.

In-process (tests hold ``sandbox.state``)::

    from integrations.sandbox.salesforce import control as sf
    tokens = sf.issue_tokens(sandbox.state)                 # admin@sandbox-corp.example
    sf.generate(sandbox.state, "Lead", 100_000)
    sf.update_record(sandbox.state, "Lead", lead_id, {"Title": "CTO"})   # as a Salesforce user would
    sf.advance_clock(sandbox.state, hours=3)                # access tokens now expired
    assert sf.api_calls(sandbox.state)["query"] == 1

Over HTTP, ``SandboxControl.seed("salesforce", {...})`` accepts (applied in this order)::

    {"clock": {"set": "2026-11-21T10:00:00Z"} | {"advance_seconds": 3600},
     "api_limit": {"max": 100000, "remaining": 5},
     "org_api_enabled": false,
     "records": {"Lead": [{"LastName": "Doe", "Company": "Acme", "SystemModstamp": "…"}]},
     "generate": {"Lead": 100000} | {"Lead": {"count": 1000, "start": "…", "per_second": 10}},
     "update": {"Lead": [{"Id": "00Q…", "Title": "CTO"}]},
     "delete": {"Lead": ["00Q…"]},
     "purge_delete_log_before": "2026-11-20T00:00:00Z" | "now",
     "expire_access_tokens": true, "expire_query_locators": true,
     "demo_world": true}   # Demo Co's users, accounts and contacts (salesforce/demo_world.py), once
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.provider import SeedError
from integrations.sandbox.salesforce import demo, records
from integrations.sandbox.salesforce.demo_world import render_demo_world
from integrations.sandbox.salesforce.errors import SalesforceError
from integrations.sandbox.salesforce.schema import ObjectDef, find_object
from integrations.sandbox.salesforce.store import Record, SalesforceStore
from integrations.sandbox.salesforce.values import parse_datetime
from integrations.sandbox.state import SandboxState


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    user_id: str


def store(state: SandboxState) -> SalesforceStore:
    return demo.salesforce_store(state)


def issue_tokens(
    state: SandboxState, username: str = demo.ADMIN_USERNAME, client_id: str = demo.DEMO_CLIENT_ID
) -> Tokens:
    """Tokens for a seeded user without the consent dance, as if the OAuth flow had just run."""
    with state.lock:
        org = store(state)
        user = org.find_user(username)
        if user is None:
            raise ValueError(f"no Salesforce user {username!r}")
        access, refresh = org.issue_tokens(client_id=client_id, user_id=user["Id"], with_refresh=True)
        assert refresh is not None
        return Tokens(access_token=access, refresh_token=refresh, user_id=user["Id"])


def user_id(state: SandboxState, username: str) -> str:
    with state.lock:
        user = store(state).find_user(username)
    if user is None:
        raise ValueError(f"no Salesforce user {username!r}")
    return user["Id"]


def expire_access_tokens(state: SandboxState) -> None:
    """Every access token issued so far stops working (refresh tokens still do)."""
    with state.lock:
        org = store(state)
        for grant in org.access_tokens.values():
            grant.expires_at = min(grant.expires_at, org.clock.now())


def expire_query_locators(state: SandboxState) -> None:
    with state.lock:
        store(state).locators.clear()


def now(state: SandboxState) -> dt.datetime:
    """The sandbox clock (what CreatedDate/SystemModstamp and token expiry use)."""
    with state.lock:
        return dt.datetime.fromtimestamp(store(state).clock.now(), dt.UTC)


def set_clock(state: SandboxState, when: dt.datetime) -> None:
    with state.lock:
        store(state).clock.set(when)


def advance_clock(state: SandboxState, seconds: float = 0, *, hours: float = 0, days: float = 0) -> None:
    with state.lock:
        store(state).clock.advance(seconds + hours * 3600 + days * 86400)


def set_api_limit(state: SandboxState, *, max: int | None = None, remaining: int | None = None) -> None:
    """DailyApiRequests: the allocation and/or how much of it is left right now."""
    with state.lock:
        budget = store(state).budget
        budget.roll(store(state).clock.now())
        if max is not None:
            budget.max = max
        if remaining is not None:
            budget.used = budget.max - remaining


def api_usage(state: SandboxState) -> tuple[int, int]:
    """(used, max) of the daily API budget, as ``Sforce-Limit-Info`` reports it."""
    with state.lock:
        budget = store(state).budget
        return budget.used, budget.max


def api_calls(state: SandboxState) -> dict[str, int]:
    """Counted REST calls per endpoint name: ``query``, ``query_more``, ``queryAll``, ``describe``,
    ``describe_global``, ``sobject_info``, ``create``, ``retrieve``, ``update``, ``delete``, ``updated``,
    ``deleted``, ``composite_create``, ``composite_update``, ``composite_delete``, ``listviews``,
    ``listview``, ``listview_describe``, ``listview_results``, ``limits``, ``resources``, ``unknown``."""
    with state.lock:
        return dict(store(state).budget.calls)


def set_org_api_enabled(state: SandboxState, enabled: bool) -> None:
    """Off: every REST call answers API_DISABLED_FOR_ORG (an edition without API access)."""
    with state.lock:
        store(state).org_api_enabled = enabled


def generate(
    state: SandboxState, sobject: str, count: int, *, start: dt.datetime | None = None,
    per_second: int = 1, owner: str | None = None,
) -> list[str]:  # fmt: skip
    """``count`` extra records, fast; see ``demo.generate`` for their timestamps."""
    with state.lock:
        org = store(state)
        owner_id = user_id(state, owner) if owner else None
        return demo.generate(
            org, sobject, count, start=int(start.timestamp()) if start else None,
            per_second=per_second, owner_id=owner_id,
        )  # fmt: skip


def add_records(
    state: SandboxState, sobject: str, rows: Sequence[Mapping[str, Any]], *, owner: str | None = None
) -> list[str]:
    """Insert records as given (system fields such as ``SystemModstamp`` and ``CreatedDate`` may be
    set, e.g. to build history). Types are checked; validation and duplicate rules are not."""
    with state.lock:
        org = store(state)
        acting = user_id(state, owner or demo.ADMIN_USERNAME)
        obj = _object(sobject)
        return [records.create(org, obj, dict(row), user_id=acting, system=True) for row in rows]


def update_record(
    state: SandboxState, sobject: str, record_id: str, fields: Mapping[str, Any], *, user: str | None = None
) -> None:
    """Edit a record as a Salesforce user would: ``LastModifiedDate``/``SystemModstamp`` move to
    the sandbox clock (unless given explicitly)."""
    with state.lock:
        acting = user_id(state, user or demo.ADMIN_USERNAME)
        records.update(store(state), _object(sobject), record_id, dict(fields), user_id=acting, system=True)


def delete_record(state: SandboxState, sobject: str, record_id: str, *, user: str | None = None) -> None:
    """Delete as a Salesforce user would: to the recycle bin, into getDeleted's log."""
    with state.lock:
        acting = user_id(state, user or demo.ADMIN_USERNAME)
        records.delete(store(state), _object(sobject), record_id, user_id=acting, system=True)


def get_record(state: SandboxState, sobject: str, record_id: str) -> Record:
    """A copy of the stored record (datetimes as epoch seconds), deleted ones included."""
    with state.lock:
        return dict(records.lookup(store(state), _object(sobject), record_id, deleted_ok=True))


def purge_delete_log(state: SandboxState, before: dt.datetime | None = None) -> None:
    """Forget deletions before ``before`` (default: now), so getDeleted's ``earliestDateAvailable``
    moves past them, as when Salesforce empties the recycle bin."""
    with state.lock:
        org = store(state)
        org.purge_deleted(int(before.timestamp()) if before else org.clock.now())


def add_demo_world(state: SandboxState) -> bool:
    """Demo Co's users, accounts and contacts (``demo_world.render_demo_world``); False when the
    org already has them."""
    with state.lock:
        org = store(state)
        return render_demo_world(org, acting_user_id=demo.ADMIN_USER_ID)


def merge_seed(state: SandboxState, data: Mapping[str, Any]) -> None:
    """Apply a ``/_sandbox/seed`` body (see the module docstring)."""
    known = {"clock", "api_limit", "org_api_enabled", "records", "generate", "update", "delete",
             "purge_delete_log_before", "expire_access_tokens", "expire_query_locators",
             "demo_world"}  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise SeedError(f"unknown salesforce seed keys: {sorted(unknown)}")
    try:
        _apply_seed(state, data)
    except SalesforceError as exc:
        raise SeedError(f"{exc.code}: {exc.message}") from exc
    except (TypeError, ValueError) as exc:
        raise SeedError(str(exc)) from exc


def _apply_seed(state: SandboxState, data: Mapping[str, Any]) -> None:
    clock = data.get("clock") or {}
    if "set" in clock:
        set_clock(state, _when(clock["set"]))
    if "advance_seconds" in clock:
        advance_clock(state, float(clock["advance_seconds"]))
    if "api_limit" in data:
        set_api_limit(state, max=data["api_limit"].get("max"), remaining=data["api_limit"].get("remaining"))
    if "org_api_enabled" in data:
        set_org_api_enabled(state, bool(data["org_api_enabled"]))
    for sobject, rows in _mapping(data, "records").items():
        add_records(state, sobject, rows)
    for sobject, spec in _mapping(data, "generate").items():
        spec = {"count": spec} if isinstance(spec, int) else dict(spec)
        start = _when(spec["start"]) if spec.get("start") else None
        generate(state, sobject, int(spec["count"]), start=start, per_second=int(spec.get("per_second", 1)),
                 owner=spec.get("owner"))  # fmt: skip
    for sobject, rows in _mapping(data, "update").items():
        for row in rows:
            fields = {k: v for k, v in row.items() if k != "Id"}
            update_record(state, sobject, row["Id"], fields)
    for sobject, record_ids in _mapping(data, "delete").items():
        for record_id in record_ids:
            delete_record(state, sobject, record_id)
    if data.get("purge_delete_log_before"):
        value = data["purge_delete_log_before"]
        purge_delete_log(state, None if value == "now" else _when(value))
    if data.get("expire_access_tokens"):
        expire_access_tokens(state)
    if data.get("expire_query_locators"):
        expire_query_locators(state)
    if data.get("demo_world"):
        add_demo_world(state)


def _object(sobject: str) -> ObjectDef:
    obj = find_object(sobject)
    if obj is None:
        raise ValueError(f"unknown sObject {sobject!r}")
    return obj


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise SeedError(f"'{key}' must map sObject names to values")
    return value


def _when(value: str) -> dt.datetime:
    seconds = parse_datetime(value)
    if seconds is None:
        raise SeedError(f"not an ISO-8601 datetime: {value!r}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
