"""The Microsoft client: ``GraphClient``, a small Microsoft Graph client over ``ProviderSession``:
one method per Graph endpoint Cadence calls (each with its ``# Reference:``), JSON in and out, paging through
``@odata.nextLink``, JSON batching, one token retry on 401, per-mailbox concurrency, and every
failure turned into a typed error from ``integrations.exceptions``.

Works for both kinds of Microsoft connection: app-only tokens (admin consent, ``details["mode"] ==
"app"``) address mailboxes as ``/users/{address}``; a user's delegated token addresses its own
mailbox as ``/me``.
"""

# Reference: https://learn.microsoft.com/en-us/graph/throttling
# Reference: https://learn.microsoft.com/en-us/graph/json-batching

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from requests.structures import CaseInsensitiveDict

from integrations.exceptions import (
    MailboxAccessDenied,
    ProviderError,
    ProviderUnavailable,
)
from integrations.http import ProviderSession
from integrations.microsoft import auth
from integrations.microsoft.errors import error_from_graph
from integrations.microsoft.limits import mailbox_slot
from integrations.models import Connection

logger = logging.getLogger(__name__)

API_VERSION = "v1.0"


class BatchNotSupported(ProviderError):
    """The Graph endpoint has no ``$batch`` route (404): send the requests one by one."""


@dataclass(frozen=True)
class GraphResponse:
    """One answer (a plain response, or one sub-response of a batch)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


def graph_base_url() -> str:
    return f"{settings.MICROSOFT_GRAPH_URL.rstrip('/')}/{API_VERSION}"


class GraphClient:
    """Talks to Graph as ``connection``; ``mailbox`` (an address) names the mailbox whose
    concurrency slots requests take (directory calls pass none)."""

    def __init__(self, connection: Connection, *, mailbox: str = "") -> None:
        connection.require_active_organization()
        details = connection.details or {}
        self.connection = connection
        self.delegated = details.get("mode") == "delegated"
        self.tenant_id = str(details.get("tenant_id") or connection.external_org_id)
        self.mailbox = mailbox.lower()
        # The tenant's own users' addresses, read through Graph at connect (``microsoft.checks``);
        # None on connections stored before they were kept.
        members = details.get("tenant_members")
        self.tenant_members = frozenset(members) if isinstance(members, list) else None
        self.http = ProviderSession()
        self.requests_made = 0  # provider requests sent (SyncPage.api_calls, benchmarks)
        self._log_extra = {"connection_id": connection.pk, "organization_id": connection.organization_id}

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # --- Addressing ------------------------------------------------------------------------------
    def user_path(self, address: str | None = None) -> str:
        """``/me`` for a delegated token, else ``/users/{address}`` (default: this client's mailbox)."""
        if self.delegated:
            return "/me"
        self._check_member(address or self.mailbox)
        return f"/users/{quote(address or self.mailbox, safe='@')}"

    def absolute(self, path_or_url: str) -> str:
        if path_or_url.startswith(("https://", "http://")):
            return path_or_url
        return f"{graph_base_url()}/{path_or_url.lstrip('/')}"

    def relative(self, url: str) -> str:
        """A batch sub-request URL: relative to the version root, as ``$batch`` wants."""
        base = graph_base_url()
        if url.startswith(base):
            return url[len(base) :] or "/"
        if url.startswith(("https://", "http://")):
            # A link Graph built with its public host: keep the path after the version segment.
            marker = f"/{API_VERSION}/"
            return "/" + url.split(marker, 1)[1] if marker in url else url
        return url if url.startswith("/") else f"/{url}"

    # --- Endpoints: one method per Graph endpoint Cadence calls -----------------------------------
    # Directory (app-only or the signed-in admin's token).
    # Reference: https://learn.microsoft.com/en-us/graph/api/organization-list
    def organization(self, *, select: str) -> dict[str, Any]:
        return self.get("/organization", params={"$select": select}) or {}

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list
    def users(self, *, select: str) -> Iterator[dict[str, Any]]:
        return self.values("/users", params={"$select": select, "$top": "999"})

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
    def user_directory_roles(self, user_id: str) -> Iterator[dict[str, Any]]:
        return self.values(f"/users/{quote(user_id)}/transitiveMemberOf/microsoft.graph.directoryRole")

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-get
    def me(self, *, select: str) -> dict[str, Any]:
        return self.get("/me", params={"$select": select}) or {}

    # Reference: https://learn.microsoft.com/en-us/graph/api/group-list
    def groups(self, *, filter: str, select: str) -> Iterator[dict[str, Any]]:
        return self.values("/groups", params={"$filter": filter, "$select": select})

    # Reference: https://learn.microsoft.com/en-us/graph/api/group-get
    def group(self, group_id: str, *, select: str) -> dict[str, Any]:
        return self.get(f"/groups/{quote(group_id)}", params={"$select": select}) or {}

    # Reference: https://learn.microsoft.com/en-us/graph/api/group-list-members
    def group_members(self, group_id: str, *, select: str) -> Iterator[dict[str, Any]]:
        return self.values(f"/groups/{quote(group_id)}/members", params={"$select": select})

    # Mailbox (``user_path()``: ``/me`` or ``/users/{address}``).
    # Reference: https://learn.microsoft.com/en-us/graph/api/message-delta
    def messages_delta_url(self, folder: str, query: str) -> str:
        """The first request of a full round of a mail folder's delta (``query`` encoded)."""
        return self.absolute(f"{self.user_path()}/mailFolders/{folder}/messages/delta?{query}")

    # Reference: https://learn.microsoft.com/en-us/graph/api/event-delta
    def calendar_view_delta_url(self, query: str) -> str:
        """The first request of a full round of the calendar view's delta (``query`` encoded)."""
        return self.absolute(f"{self.user_path()}/calendarView/delta?{query}")

    # Reference: https://learn.microsoft.com/en-us/graph/api/contact-delta
    def contacts_delta_url(self, folder_id: str, query: str) -> str:
        """The first request of a full round of one contact folder's delta (``query`` encoded)."""
        folder = quote(folder_id, safe="")
        return self.absolute(f"{self.user_path()}/contactFolders/{folder}/contacts/delta?{query}")

    def delta_page(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any:
        """One page of a delta round: the first request's URL, a nextLink or a deltaLink (the
        three ``*_delta_url`` endpoints above)."""
        return self.get(url, headers=headers)

    # Reference: https://learn.microsoft.com/en-us/graph/api/event-get
    def event(self, event_id: str, *, headers: Mapping[str, str] | None = None) -> Any:
        return self.get(f"{self.user_path()}/events/{quote(event_id, safe='')}", headers=headers)

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contactfolders
    def contact_folders(self, *, select: str) -> Iterator[dict[str, Any]]:
        return self.values(f"{self.user_path()}/contactFolders", params={"$select": select})

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-contacts
    def contacts(self, *, select: str, top: int) -> dict[str, Any]:
        """The first page of the default contact folder."""
        return self.get(f"{self.user_path()}/contacts", params={"$top": str(top), "$select": select}) or {}

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-sendmail
    def send_mail_mime(self, mime_base64: bytes) -> GraphResponse:
        """Send a MIME message as it is (``Content-Type: text/plain``, base64 body)."""
        return self.post(
            f"{self.user_path()}/sendMail", data=mime_base64, headers={"Content-Type": "text/plain"}
        )

    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-messages
    def sent_items(self, *, filter: str, select: str, top: int) -> dict[str, Any]:
        return (
            self.get(
                f"{self.user_path()}/mailFolders/sentitems/messages",
                params={"$filter": filter, "$select": select, "$top": str(top)},
            )
            or {}
        )

    # --- Requests (the endpoints above, and JSON batching of delta pages) -------------------------
    def get(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self.request("GET", path_or_url, params=params, headers=headers).body

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GraphResponse:
        return self.request("POST", path, json=json, data=data, headers=headers)

    def patch(self, path: str, *, json: Any, headers: Mapping[str, str] | None = None) -> GraphResponse:
        return self.request("PATCH", path, json=json, headers=headers)

    def pages(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following ``@odata.nextLink`` (which carries the query)."""
        url: str | None = path_or_url
        query = params
        while url:
            body = self.get(url, params=query, headers=headers) or {}
            yield body
            url, query = body.get("@odata.nextLink"), None

    def values(
        self,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        for page in self.pages(path_or_url, params=params, headers=headers):
            yield from page.get("value") or ()

    def batch(self, sub_requests: list[dict[str, Any]]) -> dict[str, GraphResponse]:
        """Send up to 20 requests as one JSON batch; the sub-responses by id (not raised: the
        caller decides per sub-request with ``raise_for``). ``BatchNotSupported`` on 404."""
        try:
            answer = self.request("POST", "/$batch", json={"requests": sub_requests}, slots=len(sub_requests))
        except ProviderError as exc:
            if getattr(exc, "status", None) == 404:
                raise BatchNotSupported("Microsoft Graph has no $batch route here.", code=exc.code) from exc
            raise
        responses: dict[str, GraphResponse] = {}
        for item in (answer.body or {}).get("responses") or ():
            responses[str(item.get("id"))] = GraphResponse(
                status=int(item.get("status") or 0),
                headers=CaseInsensitiveDict(item.get("headers") or {}),
                body=item.get("body"),
            )
        missing = [r["id"] for r in sub_requests if r["id"] not in responses]
        if missing:
            raise ProviderError(f"Microsoft Graph's batch answer left out {', '.join(missing)}.")
        return responses

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        slots: int = 1,
    ) -> GraphResponse:
        if self.mailbox and not self.delegated:
            self._check_member(self.mailbox)
        url = self.absolute(path_or_url)
        for attempt in (1, 2):
            token = self._token(refresh=attempt == 2)
            sent_headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                **(headers or {}),
            }
            with self._slot(slots):
                try:
                    response = self.http.request(
                        method, url, params=params, json=json, data=data, headers=sent_headers
                    )
                except requests.RequestException as exc:
                    self.requests_made += 1
                    logger.warning(
                        "microsoft.graph.unreachable", extra={**self._log_extra, "error": type(exc).__name__}
                    )
                    raise ProviderUnavailable(
                        f"Could not reach Microsoft Graph ({type(exc).__name__})."
                    ) from exc
            self.requests_made += 1
            # An access token can be refused before its expiry (revoked, tenant reset): get a new
            # one once; a second refusal is real.
            if response.status_code == 401 and attempt == 1:
                logger.info("microsoft.graph.token_refused", extra=self._log_extra)
                continue
            break
        body = _json_body(response)
        answer = GraphResponse(status=response.status_code, headers=response.headers, body=body)
        if response.status_code >= 400:
            raise self.error_for(answer)
        return answer

    def raise_for(self, answer: GraphResponse) -> Any:
        """The body of a successful (sub-)response; a typed error otherwise."""
        if answer.status >= 400:
            raise self.error_for(answer)
        return answer.body

    def error_for(self, answer: GraphResponse) -> ProviderError:
        failure = error_from_graph(answer.status, answer.headers, answer.body, delegated=self.delegated)
        logger.warning(
            "microsoft.graph.failed", extra={**self._log_extra, "status": answer.status, "code": failure.code}
        )
        return failure

    # --- Internals -------------------------------------------------------------------------------
    def _check_member(self, address: str) -> None:
        """App-only access reaches every mailbox of the tenant: act only on the tenant's own
        users, whatever address a caller passes (defence in depth beside eligibility)."""
        if self.tenant_members is not None and address.lower() not in self.tenant_members:
            logger.warning("microsoft.graph.not_a_tenant_member", extra=self._log_extra)
            raise MailboxAccessDenied(
                "This address is not a user of the connected Microsoft 365 organisation, so Cadence "
                "does not read or send from it."
            )

    def _token(self, *, refresh: bool) -> str:
        if self.delegated:
            return auth.delegated_token(self.connection, force_refresh=refresh)
        if refresh:
            auth.app_token_forget(tenant_id=self.tenant_id)
        return auth.app_token(tenant_id=self.tenant_id)

    def _slot(self, count: int) -> contextlib.AbstractContextManager[None]:
        if not self.mailbox:
            return contextlib.nullcontext()
        return mailbox_slot(
            f"{self.tenant_id}:{self.mailbox}", limit=settings.GRAPH_MAILBOX_CONCURRENCY, count=count
        )


def _json_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
