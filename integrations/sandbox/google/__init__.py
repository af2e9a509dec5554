"""Google emulator: OAuth (consent page, code + PKCE, refresh, revoke, userinfo), the service-account
JWT-bearer grant for domain-wide delegation, and the Admin SDK Directory, Gmail, Calendar and
People routes Cadence uses — JSON that validates against the discovery documents bundled in
google-api-python-client, which the product and tests use unmodified through ``api_endpoint``.

URLs (``{url}`` = ``SandboxServer.url``): consent ``/google/o/oauth2/v2/auth``, token
``/google/token``, revoke ``/google/revoke``, userinfo ``/google/oauth2/v3/userinfo``; api_endpoint
``{url}/google/`` for Gmail, People and Directory, ``{url}/google/calendar/v3/`` for Calendar; batch
``{url}/google/batch/gmail/v1``. Demo OAuth client ``cadence-sandbox-google-client`` /
``cadence-sandbox-google-secret``; the server writes Cadence's service-account key to
``<cert dir>/google-service-account.json`` and Demo Co (demo.example) authorises it for every scope.

Layout: ``oauth``/``consent``/``dwd``/``jwts`` (sign-in), ``api`` (token, scope, quota checks),
``gmail``/``sending``/``search``/``batch``, ``calendar``, ``people``, ``directory`` (routes),
``store``/``mailbox``/``mime``/``calendars``/``contacts``/``quota``/``clock`` (state),
``demo``/``generator``/``seed``/``control`` (data and test helpers).

``SandboxControl.seed("google", {...})`` accepts (applied in this order; lists of objects)::

    {"clock": {"advance_seconds": 3600},
     "customers": [{"domain": "other.example", "name": "Other Inc", "id": "C0…"}],
     "org_units": [{"domain": "demo.example", "path": "/Sales/EMEA", "description": ""}],
     "users": [{"email": "x@demo.example", "name": "Xi Ying" | "given_name"/"family_name",
                "org_unit": "/Sales", "is_admin": false, "suspended": false}],
     "groups": [{"email": "g@demo.example", "name": "G", "members": ["x@demo.example", …]}],
     "service_accounts": [{"client_email": …, "client_id": "1234…", "public_key_pem": …,
                           "private_key_id": …}],
     "dwd": {"authorize": [{"domain": "demo.example", "client_id": "1234…", "scopes": [...] | "all"}],
             "revoke": [{"domain": "demo.example", "client_id": "1234…" (omit: all)}]},
     "generate_users": {"count": 500, "messages_each": 0, "org_unit": "/Sales", "group": null,
                        "domain": "demo.example", "prefix": "user"},
     "messages": [{"mailbox": "seller1@demo.example", "from": "Ann <ann@x.example>", "to": [...],
                   "cc": [...], "subject": …, "body": …, "html": …, "date": ISO-8601 | epoch,
                   "message_id": "id@host" (no brackets), "in_reply_to": …, "references": [...],
                   "labels": ["INBOX", "UNREAD"] (default SENT if the owner sent it, else INBOX)}
                  | {"mailbox": …, "raw": base64url RFC 5322 bytes (any charset), "labels": …}],
     "generate_mailbox": {"user": email, "count": 10000, "days": 80, "external_domains": 200},
     "append_messages": {"users": "all" | [emails], "count": 20},
     "events": [{"calendar": owner email, "id": base32hex, "summary": …, "start": ISO, "end": ISO,
                 "attendees": [emails or {"email","name"}], "organizer": email, "location": …,
                 "description": …, "visibility": "private", "meet": true, "ical_uid": …,
                 "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO", "EXDATE:20260608T090000Z"]}],
     "delete_events": [{"calendar": email, "id": …}],
     "contacts": [{"owner": email, "name" | "given_name"/"family_name", "email": …, "phone": …,
                   "company": …, "title": …, "group": "Customers"}],
     "delete_contacts": [{"owner": email, "email": …}],
     "gmail_quota": {"units": 15000, "per_seconds": 60, "status": 429 | 403} | null (off),
     "expire_history_before": true | [emails],          # older startHistoryIds answer 404
     "expire_calendar_sync_tokens": true | [emails],    # → 410 fullSyncRequired
     "expire_people_sync_tokens": true | [emails],      # → 400 EXPIRED_SYNC_TOKEN
     "expire_access_tokens": true, "revoke_refresh_tokens": true | [emails]}

Messages, events and contacts seeded after a client synced show up in its incremental sync
(history records, sync tokens); demo and generated mailboxes carry no history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.sandbox.google import batch, calendar, directory, gmail, oauth, people, seed
from integrations.sandbox.google.api import wrap
from integrations.sandbox.google.calendar import full_sync_required
from integrations.sandbox.google.demo import DEMO_CUSTOMER_ID, dwd_all_scopes
from integrations.sandbox.google.errors import (
    GoogleApiError,
    backend_error,
    invalid_credentials,
    not_found,
    oauth_error,
)
from integrations.sandbox.google.store import STORE_KEY, GoogleStore, ServiceAccount
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.routing import Request, Response, Router
from integrations.sandbox.state import SandboxState


def service_account_from_info(info: Mapping[str, Any]) -> ServiceAccount:
    """The public half of a service-account key file, as Google keeps it."""
    key = serialization.load_pem_private_key(str(info["private_key"]).encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("service-account keys are RSA")
    return ServiceAccount(
        client_email=str(info["client_email"]),
        client_id=str(info["client_id"]),
        keys={str(info["private_key_id"]): key.public_key()},
    )


class GoogleSandbox(SandboxProvider):
    name = "google"

    def __init__(self) -> None:
        self._service_accounts: list[ServiceAccount] = []

    def register_routes(self, router: Router) -> None:
        oauth.register_routes(router, provider=self.name)
        api = []
        for route in gmail.routes() + calendar.routes() + people.routes() + directory.routes():
            handler = wrap(route)
            router.add(route.method, route.path, handler, provider=self.name)
            api.append((route.method, re.compile(route.path), handler))
        router.add("POST", batch.BATCH_PATH, batch.make_handler(api), provider=self.name)

    def seed_defaults(self, state: SandboxState) -> None:
        # The store is created now, the demo world rendered on first use (demo.google_store).
        store = state.store(STORE_KEY, GoogleStore)
        for account in self._service_accounts:
            _install(store, account)

    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        seed.merge_seed(state, data)

    def trust_service_account(self, state: SandboxState, info: Mapping[str, Any]) -> None:
        """Register Cadence's own service account (the key file the server wrote): known to the
        token endpoint, and authorised for DWD by the demo domain — now and after every reset."""
        account = service_account_from_info(info)
        self._service_accounts.append(account)
        with state.lock:
            _install(state.store(STORE_KEY, GoogleStore), account)

    def fault_body(self, request: Request, status: int) -> Response | None:
        """Injected faults answer with Google's own error shapes for that status."""
        path = request.path
        if path in ("/google/token", "/google/revoke"):
            if status >= 500:
                return oauth_error("internal_failure", "Backend Error", status=status)
            if status == 429:
                return oauth_error("rate_limit_exceeded", "Rate Limit Exceeded", status=status)
            if status in (400, 401):
                return oauth_error("invalid_grant", "Token has been expired or revoked.", status=status)
            return None
        if path.startswith("/google/o/"):
            return None
        if status == 401:
            return invalid_credentials()
        if status == 403:
            return GoogleApiError(
                403, "userRateLimitExceeded", "User Rate Limit Exceeded", domain="usageLimits"
            ).response()
        if status == 429:
            return GoogleApiError(
                429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"
            ).response()
        if status == 404:
            return not_found().response()
        if status == 410 and path.startswith("/google/calendar/"):
            return full_sync_required().response()
        if status >= 500:
            return backend_error(status)
        return None


def _install(store: GoogleStore, account: ServiceAccount) -> None:
    store.service_accounts[account.client_email] = account
    if account.client_id not in store.cadence_service_accounts:
        store.cadence_service_accounts.append(account.client_id)
    demo = store.customers.get(DEMO_CUSTOMER_ID)
    if demo is not None:
        demo.dwd[account.client_id] = dwd_all_scopes()
