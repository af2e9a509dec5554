"""Microsoft emulator: the identity platform (Entra ID) v2 endpoints msal uses, tenant-wide admin
consent, and the Microsoft Graph v1.0 subset Cadence calls (directory, mail, calendar, contacts,
mailbox settings), with application access policies and Outlook throttling.

URLs (``MICROSOFT_LOGIN_URL`` = sandbox URL, ``MICROSOFT_GRAPH_URL`` = ``{sandbox}/graph``):

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``, ``POST /{tenant}/oauth2/v2.0/token``
  (client_credentials, authorization_code + PKCE, refresh_token); tenant = GUID, verified domain,
  ``organizations`` or ``common``.
- ``GET /{tenant}/oauth2/v2.0/authorize`` (consent page; its form POSTs to the same path) and
  ``GET /{tenant}/v2.0/adminconsent`` (admin consent page, same POST convention). Form fields:
  radio ``user`` (userPrincipalName), buttons ``decision=accept`` "Accept" / ``decision=cancel``
  "Cancel".
- ``/graph/v1.0/...``: see ``graph``.

Layout: ``identity``/``clients``/``user_grants``/``tokens``/``permissions`` (token endpoint),
``authorize``/``consent`` (browser pages), ``directory`` (tenants, apps, users, groups, consents,
policies, tokens), ``mailboxes``/``items`` (Exchange data), ``graph/`` (the API), ``demo`` (Demo Co),
``seed``/``generator``/``control`` (test data).

Seed (``SandboxControl.seed("microsoft", {...})``), applied in this order::

    {"tenants": [{"id", "domain", "domains"?: [...], "display_name"?}],
     "apps": [{"client_id", "tenant_id", "client_secret" | "client_secrets": [...], "display_name"?,
               "roles"?: [...], "redirect_uris"?: [...], "local_redirects"?: false, "multi_tenant"?: true}],
     "users": [{"user_principal_name" | "email", "tenant_id"? (default: by domain), "display_name"?,
                "given_name"?, "surname"?, "job_title"?, "admin"?: false (Global Administrator),
                "roles"?: [template id | name, e.g. "Privileged Role Administrator"],
                "mail"?: (default: the UPN), "email_claim"?: (the ID token's email, default: mail),
                "account_enabled"?: true, "mailbox"?: true, "id"?}],
     "remove_users": [upn | id, ...],                              # deleted from the tenant
     "groups": [{"display_name", "tenant_id"? (demo), "id"?, "mail"?, "security_enabled"?: true,
                 "mail_enabled"?, "group_types"?: [], "description"?, "members": [upn | group name | id]}],
     "consents": [{"tenant_id", "client_id"? (demo app)}],          # tenant-wide admin consent
     "revoke_consents": [{"tenant_id", "client_id"?}],
     "clear_access_policies": true,
     "access_policies": [{"tenant_id"?, "client_id"?, "group_id": id | display name,
                          "access_right": "RestrictAccess" | "DenyAccess"}],
     "messages": [{"mailbox": upn, "from": "Name <a@b>" | "a@b" | {"address", "name"},
                   "to": [...] | "a@b", "cc"?, "bcc"?, "subject", "body", "content_type"?: "text"|"html",
                   "date": ISO, "message_id": "<id without angle brackets>",
                   "folder"?: well-known name | display name (default: sentitems if from == mailbox,
                   else inbox), "is_read"?}],
     "events": [{"mailbox", "subject", "start", "end", "organizer"? (mailbox owner),
                 "attendees"?: ["a@b" | {"address", "name", "response"}], "teams"?: bool,
                 "join_url"? (Teams → onlineMeeting; others → location/body), "location"?, "body"?,
                 "private"?: bool, "all_day"?: bool, "ical_uid"?,
                 "recurrence"?: {"pattern": {"type", "interval", "daysOfWeek"?, ...},
                                 "range": {"type", "startDate"?, "endDate"?, "numberOfOccurrences"?}}}],
                                                  # a seriesMaster (Graph's patternedRecurrence)
     "contacts": [{"mailbox", "folder"? (name; default folder if absent), "given_name", "surname",
                   "display_name"?, "emails": [...] | "email", "phones"?, "company"?, "job_title"?}],
     "graph_latency_ms": 0,                       # per Graph request, outside the state lock
     "graph_mailbox_concurrency": 4,              # in-flight requests per (app, mailbox)
     "graph_mailbox_limit": {"requests": N, "per_seconds": S} | null,
     "delta_expiry": {"status": 410 | 400, "code": "syncStateNotFound" | "resyncRequired"},
     "delta_filter_max_messages": 5000,           # message delta with $filter returns at most this
     "sent_items_lag": 0,                         # N: sendMail's Sent Items copy is missed by the
                                                  # sender's next N mail reads (list/get/delta), as
                                                  # Exchange saves it a moment after the 202
     "release_sent_items": true,                  # save every held Sent Items copy now
     "graph_faults": [{"path": regex, "status"?, "method"?, "headers"?, "body"?, "times"?: 1,
                       "delay_seconds"?}],        # like /_sandbox/faults, but also inside $batch
     "clear_graph_faults": true,
     "generate_users": {"count": 500, "tenant_id"?, "domain"?, "group"?, "messages_each"?: 0, "prefix"?},
     "generate_mailbox": {"user": upn, "count": 10000, "days": 80},
     "append_messages": {"users": "all" | [upn, ...], "count": 20},
     "expire_delta_tokens": true,                 # every delta/skip token so far → 410 (or 400)
     "expire_access_tokens": true,
     "expire_refresh_tokens": true | "all" | [upn, ...],   # → AADSTS700082
     "revoke_refresh_tokens": true | "all" | [upn, ...]}   # → AADSTS50173
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sandbox.microsoft import authorize, demo, graph, identity, seed
from integrations.sandbox.microsoft.errors import aadsts_error
from integrations.sandbox.microsoft.graph.errors import fault_body as graph_fault_body
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.routing import Request, Response, Router
from integrations.sandbox.state import SandboxState


class MicrosoftSandbox(SandboxProvider):
    name = "microsoft"

    def register_routes(self, router: Router) -> None:
        graph.register_routes(router, provider=self.name)
        identity.register_routes(router, provider=self.name)
        authorize.register_routes(router, provider=self.name)

    def seed_defaults(self, state: SandboxState) -> None:
        demo.seed_demo(state)

    def seed(self, state: SandboxState, data: Mapping[str, Any]) -> None:
        seed.merge_seed(state, data)

    def fault_body(self, request: Request, status: int) -> Response | None:
        if request.path.startswith("/graph/"):
            return graph_fault_body(request, status)
        # Entra's throttling/outage codes (AADSTS90055 TenantThrottlingError, AADSTS90033
        # MsodsServiceUnavailable) from the error-code reference; exact bodies not seen live.
        # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
        if status == 429:
            return aadsts_error(
                request,
                status=status,
                error="temporarily_unavailable",
                code=90055,
                message="There are too many incoming requests. Please try again later.",
            )
        if status >= 500:
            return aadsts_error(
                request,
                status=status,
                error="temporarily_unavailable",
                code=90033,
                message="A transient error has occurred. Please try again.",
            )
        return None
