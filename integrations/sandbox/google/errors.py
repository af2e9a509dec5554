"""Google's error bodies, in the shapes the real services send (provider-facts A1-A3, A6, A7).

APIs answer ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}``
(googleapiclient's ``HttpError`` reads ``message`` as ``reason`` and ``errors`` as
``error_details``); the OAuth endpoints answer flat ``{"error", "error_description"}``.
"""

# Reference: https://developers.google.com/workspace/gmail/api/guides/handle-errors
# Reference: https://developers.google.com/workspace/calendar/api/guides/errors
# Reference: https://developers.google.com/identity/protocols/oauth2/service-account#error-codes

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sandbox.routing import Response, json_response

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GoogleApiError(Exception):
    """Raised by API handlers; the route wrapper turns it into the JSON error body."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        status_name: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        with_errors: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.status_name = status_name
        self.details = details
        self.headers = dict(headers or {})
        self.with_errors = with_errors

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.status, "message": self.message}
        if self.with_errors:
            item: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
            if self.location:
                item["locationType"] = self.location_type or "parameter"
                item["location"] = self.location
            error["errors"] = [item]
        status_name = STATUS_NAMES.get(self.status) if self.status_name is None else self.status_name
        if status_name:
            error["status"] = status_name
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def response(self) -> Response:
        return json_response(self.status, self.body(), headers=self.headers)


def invalid_credentials() -> Response:
    # A3: exactly what Gmail/Calendar answer to a missing, unknown or expired access token.
    body = {
        "error": {
            "errors": [
                {
                    "domain": "global",
                    "reason": "authError",
                    "message": "Invalid Credentials",
                    "locationType": "header",
                    "location": "Authorization",
                }
            ],
            "code": 401,
            "message": "Invalid Credentials",
        }
    }
    return json_response(
        401, body, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
    )


def insufficient_scopes() -> GoogleApiError:
    return GoogleApiError(
        403,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
        status_name="PERMISSION_DENIED",
    )


def not_found(message: str = "Requested entity was not found.") -> GoogleApiError:
    return GoogleApiError(404, "notFound", message)


def bad_request(message: str, *, reason: str = "badRequest", location: str | None = None) -> GoogleApiError:
    return GoogleApiError(400, reason, message, location=location)


def invalid_argument(message: str) -> GoogleApiError:
    """Invalid parameter of a Gmail/Calendar method (``invalidArgument``, as Gmail names it)."""
    return GoogleApiError(400, "invalidArgument", message)


def forbidden(message: str, *, reason: str = "forbidden") -> GoogleApiError:
    return GoogleApiError(403, reason, message)


def failed_precondition() -> GoogleApiError:
    # Gmail's answer to a token that is not a user's (a service account without DWD subject).
    return GoogleApiError(
        400, "failedPrecondition", "Precondition check failed.", status_name="FAILED_PRECONDITION"
    )


def oauth_error(error: str, description: str | None = None, *, status: int = 400) -> Response:
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    return json_response(
        status, body, headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
    )


def backend_error(status: int) -> Response:
    if status == 503:
        return GoogleApiError(503, "backendError", "The service is currently unavailable.").response()
    return GoogleApiError(status, "backendError", "Backend Error").response()
