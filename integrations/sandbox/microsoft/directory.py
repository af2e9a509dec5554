"""Entra ID data the sandbox keeps: tenants, app registrations and the access tokens it issued.

Later Graph routes call ``lookup_access_token`` to authenticate ``Authorization: Bearer`` headers
against the tokens the identity routes handed out.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.microsoft import demo
from integrations.sandbox.provider import SeedError
from integrations.sandbox.state import SandboxState

STORE_KEY = "microsoft.directory"
ACCESS_TOKEN_LIFETIME = dt.timedelta(seconds=3599)
# Resources whose "<resource>/.default" scope the sandbox can issue tokens for.
KNOWN_RESOURCES = frozenset({"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"})


@dataclass(frozen=True)
class Tenant:
    id: str
    domain: str
    display_name: str


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    tenant_id: str
    display_name: str
    secrets: tuple[str, ...]
    roles: tuple[str, ...]
    service_principal_id: str


@dataclass(frozen=True)
class IssuedToken:
    tenant_id: str
    client_id: str
    resource: str
    roles: tuple[str, ...]
    expires_at: dt.datetime


@dataclass
class Directory:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def find_tenant(self, id_or_domain: str) -> Tenant | None:
        """Entra accepts the tenant GUID or any of its verified domains in the authority."""
        wanted = id_or_domain.lower()
        for tenant in self.tenants.values():
            if wanted in (tenant.id.lower(), tenant.domain.lower()):
                return tenant
        return None

    def find_app(self, tenant: Tenant, client_id: str) -> AppRegistration | None:
        app = self.apps.get(client_id)
        return app if app is not None and app.tenant_id == tenant.id else None

    def issue_access_token(self, *, app: AppRegistration, resource: str) -> tuple[str, IssuedToken]:
        now = dt.datetime.now(dt.UTC)
        issued = IssuedToken(
            tenant_id=app.tenant_id,
            client_id=app.client_id,
            resource=resource,
            roles=app.roles,
            expires_at=now + ACCESS_TOKEN_LIFETIME,
        )
        token = self._jwt(
            {
                "aud": resource,
                "iss": f"https://sts.windows.net/{app.tenant_id}/",
                "iat": int(now.timestamp()),
                "nbf": int(now.timestamp()),
                "exp": int(issued.expires_at.timestamp()),
                "appid": app.client_id,
                "app_displayname": app.display_name,
                "idtyp": "app",
                "oid": app.service_principal_id,
                "sub": app.service_principal_id,
                "roles": list(app.roles),
                "tid": app.tenant_id,
                "uti": secrets.token_urlsafe(16),
                "ver": "1.0",
            }
        )
        self.access_tokens[token] = issued
        return token, issued

    def _jwt(self, claims: Mapping[str, Any]) -> str:
        """JWT-shaped like Entra's app tokens (clients must treat them as opaque; nothing checks
        the signature, which is an HMAC under a per-sandbox key rather than Entra's RS256)."""

        def part(data: Mapping[str, Any]) -> bytes:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=")

        signing_input = part({"typ": "JWT", "alg": "HS256"}) + b"." + part(claims)
        signature = hmac.new(self.signing_key, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def directory(state: SandboxState) -> Directory:
    return state.store(STORE_KEY, Directory)


def lookup_access_token(state: SandboxState, token: str) -> IssuedToken | None:
    """The token's grant if this sandbox issued it and it has not expired."""
    with state.lock:
        issued = directory(state).access_tokens.get(token)
    if issued is None or issued.expires_at <= dt.datetime.now(dt.UTC):
        return None
    return issued


def seed_demo(state: SandboxState) -> None:
    merge_seed(
        state,
        {
            "tenants": [
                {
                    "id": demo.DEMO_TENANT_ID,
                    "domain": demo.DEMO_TENANT_DOMAIN,
                    "display_name": demo.DEMO_TENANT_NAME,
                }
            ],
            "apps": [
                {
                    "client_id": demo.DEMO_CLIENT_ID,
                    "tenant_id": demo.DEMO_TENANT_ID,
                    "display_name": demo.DEMO_APP_NAME,
                    "client_secret": demo.DEMO_CLIENT_SECRET,
                    "roles": list(demo.DEMO_APP_ROLES),
                }
            ],
        },
    )


def merge_seed(state: SandboxState, data: Mapping[str, Any]) -> None:
    """Upsert tenants and app registrations::

    {"tenants": [{"id", "domain", "display_name"?}],
     "apps": [{"client_id", "tenant_id", "client_secret" | "client_secrets": [...],
               "display_name"?, "roles"?: [...]}]}
    """
    unknown = set(data) - {"tenants", "apps"}
    if unknown:
        raise SeedError(f"unknown microsoft seed keys: {sorted(unknown)}")
    store = directory(state)
    for spec in _list_of_objects(data, "tenants"):
        tenant = Tenant(
            id=_required(spec, "id"),
            domain=_required(spec, "domain"),
            display_name=str(spec.get("display_name") or spec["domain"]),
        )
        store.tenants[tenant.id] = tenant
    for spec in _list_of_objects(data, "apps"):
        tenant_id = _required(spec, "tenant_id")
        if tenant_id not in store.tenants:
            raise SeedError(f"app {spec.get('client_id')!r} names unknown tenant {tenant_id!r}")
        app_secrets = spec.get("client_secrets") or [_required(spec, "client_secret")]
        roles = spec.get("roles") or []
        if not all(isinstance(s, str) for s in app_secrets) or not all(isinstance(r, str) for r in roles):
            raise SeedError("'client_secrets' and 'roles' must be lists of strings")
        client_id = _required(spec, "client_id")
        store.apps[client_id] = AppRegistration(
            client_id=client_id,
            tenant_id=tenant_id,
            display_name=str(spec.get("display_name") or client_id),
            secrets=tuple(app_secrets),
            roles=tuple(roles),
            service_principal_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"serviceprincipal:{tenant_id}:{client_id}")
            ),
        )


def _list_of_objects(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise SeedError(f"'{key}' must be a list of objects")
    return items


def _required(spec: Mapping[str, Any], key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise SeedError(f"'{key}' is required and must be a string")
    return value
