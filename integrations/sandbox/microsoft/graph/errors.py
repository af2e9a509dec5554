"""Microsoft Graph error bodies: ``{"error": {"code", "message", "innerError": {...}}}``.

Directory routes (users, groups) use Entra's codes (``Request_ResourceNotFound``,
``Authorization_RequestDenied``); mailbox routes use Exchange's (``ErrorItemNotFound``,
``ErrorAccessDenied``, ``ErrorInvalidUser``), as the real service does.
"""

# Reference: https://learn.microsoft.com/en-us/graph/errors
# Reference: https://learn.microsoft.com/en-us/graph/throttling

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping

from integrations.sandbox.routing import Request, Response, json_response

# Paths of the Outlook workload (mail, calendar, contacts, settings): Exchange error codes apply.
MAILBOX_PATH = re.compile(
    r"^/graph/v1\.0/(?:me|users/[^/]+)/(?:messages|mailFolders|events|calendar|calendarView|calendars"
    r"|contacts|contactFolders|mailboxSettings|sendMail)(?:/|$)"
)


def graph_error(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    request_id = str(uuid.uuid4())
    return json_response(
        status,
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": request.header("client-request-id") or request_id,
                },
            }
        },
        headers={"request-id": request_id, **(headers or {})},
    )


def invalid_token(request: Request, message: str) -> Response:
    return graph_error(
        request,
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": (
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                'client_id="00000003-0000-0000-c000-000000000000"'
            )
        },
    )


def insufficient_privileges(request: Request) -> Response:
    return graph_error(
        request, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def mailbox_access_denied(request: Request) -> Response:
    return graph_error(
        request, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def access_policy_denied(request: Request) -> Response:
    # What an application access policy answers for a mailbox outside its scope (provider-facts B5).
    return graph_error(request, 403, "ErrorAccessDenied", "Access to OData is disabled.")


def item_not_found(request: Request) -> Response:
    return graph_error(request, 404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_user(request: Request, key: str) -> Response:
    return graph_error(request, 404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")


def resource_not_found(request: Request, key: str) -> Response:
    return graph_error(
        request,
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def bad_request(request: Request, message: str, code: str = "BadRequest") -> Response:
    return graph_error(request, 400, code, message)


def throttled(
    request: Request, *, message: str, retry_after: int, code: str = "ApplicationThrottled"
) -> Response:
    return graph_error(request, 429, code, message, headers={"Retry-After": str(max(1, retry_after))})


def fault_body(request: Request, status: int) -> Response | None:
    """The Graph-shaped answer for an injected fault without an explicit body."""
    mailbox = bool(MAILBOX_PATH.match(request.path))
    if status == 429:
        if mailbox:
            return graph_error(request, 429, "ApplicationThrottled",
                               "Application is over its MailboxConcurrency limit.")  # fmt: skip
        return graph_error(request, 429, "TooManyRequests", "Too many requests.")
    if status == 503 or status in (502, 504):
        return graph_error(request, status, "serviceNotAvailable",
                           "The service is temporarily unavailable. Please retry after some time.")  # fmt: skip
    if status >= 500:
        return graph_error(request, status, "generalException",
                           "General exception while processing.")  # fmt: skip
    if status == 401:
        return invalid_token(request, "Lifetime validation failed, the token is expired.")
    if status == 403:
        return mailbox_access_denied(request) if mailbox else insufficient_privileges(request)
    if status == 404:
        return (
            item_not_found(request)
            if mailbox
            else resource_not_found(request, request.path.rsplit("/", 1)[-1])
        )
    if status == 410:
        return graph_error(request, 410, "syncStateNotFound",
                           "The sync state generation is not found. The delta token is expired and data "
                           "must be synchronized again.")  # fmt: skip
    if status == 400:
        return bad_request(request, "Invalid request.")
    return None
