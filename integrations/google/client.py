"""A thin client over google-api-python-client for one set of credentials: one method per
endpoint Cadence uses, each with its reference.

Services are built from the discovery documents bundled with the library (no network fetch) and
re-pointed with ``client_options={"api_endpoint": settings.GOOGLE_*_URL}`` when those are set
(provider-facts A4). Every failure leaves as a typed error (``integrations.google.errors.execute``);
Gmail calls reserve their quota units first (``integrations.google.limits``). ``api_calls`` counts
the HTTP requests made, for sync stats and benchmarks.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

import google.auth.credentials
from django.conf import settings
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from integrations.exceptions import ProviderThrottled
from integrations.google.errors import (
    authorized_http,
    error_from_http,
    error_reasons,
    execute,
    is_throttled,
    retry_after_of,
)
from integrations.google.limits import GmailQuota, units_of

logger = logging.getLogger(__name__)

APIS: dict[str, tuple[str, str, str]] = {
    # name: (discovery name, version, settings attribute of the endpoint override)
    "gmail": ("gmail", "v1", "GOOGLE_GMAIL_URL"),
    "calendar": ("calendar", "v3", "GOOGLE_CALENDAR_URL"),
    "people": ("people", "v1", "GOOGLE_PEOPLE_URL"),
    "directory": ("admin", "directory_v1", "GOOGLE_DIRECTORY_URL"),
}
# Gmail asks for batches of at most 50 (larger ones trip its per-user concurrency limit).
# Reference: https://developers.google.com/workspace/gmail/api/guides/batch
GMAIL_BATCH_SIZE = 50
BATCH_RETRIES = 3
BATCH_RETRY_SLEEP_SECONDS = 0.5
MAX_BATCH_SLEEP_SECONDS = 2.0  # a longer Retry-After goes back to the engine to reschedule
MESSAGES_PAGE_SIZE = 500
HISTORY_PAGE_SIZE = 500
EVENTS_PAGE_SIZE = 250
CONNECTIONS_PAGE_SIZE = 1000
DIRECTORY_PAGE_SIZE = 200
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,organizations,memberships,metadata"


class GoogleClient:
    """Google's APIs as ``credentials`` (a DWD mailbox token, a user's or an admin's OAuth token).

    ``quota`` (for Gmail) is the mailbox's per-user quota limiter; None skips it (admin calls).
    """

    def __init__(
        self, credentials: google.auth.credentials.Credentials, *, quota: GmailQuota | None = None
    ) -> None:
        self.credentials = credentials
        self.http = authorized_http(credentials)
        self.quota = quota
        self.api_calls = 0
        self._services: dict[str, Any] = {}

    # ---- plumbing ---------------------------------------------------------------------------
    def service(self, api: str) -> Any:
        if api not in self._services:
            name, version, setting = APIS[api]
            endpoint = getattr(settings, setting, "")
            self._services[api] = discovery.build(
                name,
                version,
                http=self.http,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": endpoint} if endpoint else None,
            )
        return self._services[api]

    def _run(
        self, request: HttpRequest, *, what: str, cursor_statuses: tuple[int, ...] = ()
    ) -> dict[str, Any]:
        self.api_calls += 1
        return execute(request.execute, what=what, cursor_statuses=cursor_statuses) or {}

    def _gmail(self, method: str, request: HttpRequest, *, what: str, **kwargs: Any) -> dict[str, Any]:
        with self._quota(units_of(method)):
            return self._run(request, what=what, **kwargs)

    def _quota(self, units: int) -> contextlib.AbstractContextManager[None]:
        return self.quota.spend(units) if self.quota is not None else contextlib.nullcontext()

    # ---- Gmail ------------------------------------------------------------------------------
    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile
    def gmail_profile(self) -> dict[str, Any]:
        request = self.service("gmail").users().getProfile(userId="me")
        return self._gmail("users.getProfile", request, what="the Gmail profile")

    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list
    def gmail_messages_list(
        self, *, query: str, page_token: str | None = None, include_spam_trash: bool = False
    ) -> dict[str, Any]:
        request = (
            self.service("gmail")
            .users()
            .messages()
            .list(
                userId="me",
                q=query,
                maxResults=MESSAGES_PAGE_SIZE,
                pageToken=page_token or None,
                includeSpamTrash=include_spam_trash or None,
            )
        )
        return self._gmail("users.messages.list", request, what="the Gmail message list")

    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/get
    # Reference: https://developers.google.com/workspace/gmail/api/guides/batch
    def gmail_messages_get(
        self, message_ids: Iterable[str], *, format: str = "full"
    ) -> dict[str, dict[str, Any]]:
        """The messages by id, fetched in batches. Messages gone meanwhile (404) are left out;
        parts Google throttles (429) are sent again, a little later, in a smaller batch."""
        found: dict[str, dict[str, Any]] = {}
        pending = list(dict.fromkeys(message_ids))
        size = GMAIL_BATCH_SIZE
        if self.quota is not None:
            size = max(1, min(size, self.quota.setting.units // units_of("users.messages.get")))
        attempt = 0
        while pending:
            throttled: list[str] = []
            waits: list[float] = []
            for start in range(0, len(pending), size):
                got, refused, wait = self._gmail_batch(pending[start : start + size], format=format)
                found.update(got)
                throttled.extend(refused)
                if wait is not None:
                    waits.append(wait)
            if not throttled:
                break
            attempt += 1
            retry_after = max(waits) if waits else None
            if attempt > BATCH_RETRIES or (retry_after or 0) > MAX_BATCH_SLEEP_SECONDS:
                raise ProviderThrottled(
                    f"Gmail kept throttling {len(throttled)} message fetches.", retry_after=retry_after
                )
            logger.info("google.gmail.batch_retry", extra={"count": len(throttled), "attempt": attempt})
            time.sleep(retry_after if retry_after is not None else BATCH_RETRY_SLEEP_SECONDS * attempt)
            pending, size = throttled, max(1, size // 2)
        return found

    def _gmail_batch(
        self, message_ids: list[str], *, format: str
    ) -> tuple[dict[str, dict[str, Any]], list[str], float | None]:
        messages = self.service("gmail").users().messages()
        got: dict[str, dict[str, Any]] = {}
        throttled: list[str] = []
        retry_after: list[float] = []
        failures: list[HttpError] = []

        def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
            if exception is None:
                got[request_id] = response
                return
            status = int(exception.resp.status)
            if status == 404:  # deleted since it was listed
                return
            if is_throttled(status, error_reasons(exception.content)[0]):
                throttled.append(request_id)
                wait = retry_after_of(exception.resp)
                if wait is not None:
                    retry_after.append(wait)
                return
            failures.append(exception)

        batch = BatchHttpRequest(callback=collect, batch_uri=settings.GOOGLE_BATCH_URL)
        for message_id in message_ids:
            batch.add(messages.get(userId="me", id=message_id, format=format), request_id=message_id)
        self.api_calls += 1
        with self._quota(units_of("users.messages.get") * len(message_ids)):
            execute(lambda: batch.execute(http=self.http), what="a Gmail batch of messages")
        if failures:
            raise error_from_http(failures[0], what="a Gmail message")
        return got, throttled, max(retry_after) if retry_after else None

    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list
    def gmail_history_list(self, *, start_history_id: str, page_token: str | None = None) -> dict[str, Any]:
        """Changes after ``start_history_id``; a start id Gmail no longer keeps → ``CursorExpired``."""
        request = (
            self.service("gmail")
            .users()
            .history()
            .list(
                userId="me",
                startHistoryId=start_history_id,
                historyTypes=["messageAdded", "messageDeleted"],
                maxResults=HISTORY_PAGE_SIZE,
                pageToken=page_token or None,
            )
        )
        return self._gmail("users.history.list", request, what="Gmail history", cursor_statuses=(404,))

    # Reference: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/send
    def gmail_send(self, *, raw: str, thread_id: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"raw": raw}
        if thread_id:
            body["threadId"] = thread_id
        # A plain JSON body, not a media upload: the upload URL would ignore api_endpoint (A4).
        request = self.service("gmail").users().messages().send(userId="me", body=body)
        return self._gmail("users.messages.send", request, what="sending through Gmail")

    # ---- Calendar ---------------------------------------------------------------------------
    # Reference: https://developers.google.com/workspace/calendar/api/v3/reference/events/list
    # Reference: https://developers.google.com/workspace/calendar/api/guides/sync
    def calendar_events_list(
        self, *, sync_token: str = "", page_token: str = "", time_min: str = ""
    ) -> dict[str, Any]:
        """Events of the primary calendar, recurring ones expanded. With ``sync_token``: only
        changes (an expired token → ``CursorExpired``); without: everything from ``time_min``."""
        params: dict[str, Any] = {
            "calendarId": "primary",
            "singleEvents": True,
            "maxResults": EVENTS_PAGE_SIZE,
        }
        if sync_token:
            params["syncToken"] = sync_token
        elif time_min:
            params["timeMin"] = time_min
        if page_token:
            params["pageToken"] = page_token
        request = self.service("calendar").events().list(**params)
        return self._run(request, what="Google Calendar events", cursor_statuses=(410,))

    # ---- People -----------------------------------------------------------------------------
    # Reference: https://developers.google.com/people/api/rest/v1/people.connections/list
    def people_connections_list(self, *, sync_token: str = "", page_token: str = "") -> dict[str, Any]:
        """The address book; an expired ``sync_token`` → ``CursorExpired`` (EXPIRED_SYNC_TOKEN)."""
        params: dict[str, Any] = {
            "resourceName": "people/me",
            "personFields": PERSON_FIELDS,
            "pageSize": CONNECTIONS_PAGE_SIZE,
            "requestSyncToken": True,
        }
        if sync_token:
            params["syncToken"] = sync_token
        if page_token:
            params["pageToken"] = page_token
        request = self.service("people").people().connections().list(**params)
        return self._run(request, what="Google contacts", cursor_statuses=(410,) if sync_token else ())

    # Reference: https://developers.google.com/people/api/rest/v1/contactGroups/list
    def people_contact_groups_list(self, *, page_token: str = "") -> dict[str, Any]:
        request = self.service("people").contactGroups().list(pageSize=1000, pageToken=page_token or None)
        return self._run(request, what="Google contact groups")

    # ---- Admin SDK Directory ------------------------------------------------------------------
    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/get
    def directory_user(self, user_key: str) -> dict[str, Any]:
        request = self.service("directory").users().get(userKey=user_key)
        return self._run(request, what="the Google Workspace directory")

    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/list
    def directory_users_list(self, *, query: str = "", page_token: str = "") -> dict[str, Any]:
        params: dict[str, Any] = {
            "customer": "my_customer",
            "maxResults": 500,
            "pageToken": page_token or None,
        }
        if query:
            params["query"] = query
        request = self.service("directory").users().list(**params)
        return self._run(request, what="the Google Workspace users")

    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/groups/list
    def directory_groups_list(self, *, page_token: str = "") -> dict[str, Any]:
        request = (
            self.service("directory")
            .groups()
            .list(customer="my_customer", maxResults=DIRECTORY_PAGE_SIZE, pageToken=page_token or None)
        )
        return self._run(request, what="the Google Workspace groups")

    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/members/list
    def directory_members_list(self, *, group_key: str, page_token: str = "") -> dict[str, Any]:
        request = (
            self.service("directory")
            .members()
            .list(
                groupKey=group_key,
                includeDerivedMembership=True,
                maxResults=DIRECTORY_PAGE_SIZE,
                pageToken=page_token or None,
            )
        )
        return self._run(request, what="the members of a Google group")

    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/list
    def directory_domains_list(self) -> dict[str, Any]:
        request = self.service("directory").domains().list(customer="my_customer")
        return self._run(request, what="the Google Workspace domains")

    # Reference: https://developers.google.com/workspace/admin/directory/reference/rest/v1/orgunits/list
    def directory_orgunits_list(self) -> dict[str, Any]:
        request = self.service("directory").orgunits().list(customerId="my_customer", type="all")
        return self._run(request, what="the Google Workspace organisational units")
