"""Salesforce error bodies: the REST API's JSON array and the OAuth endpoints' JSON object.

REST errors are always a JSON array of ``{"message", "errorCode"[, "fields"]}`` objects, whatever
the status; handlers raise ``SalesforceError`` and the route wrapper turns it into that array.
"""

# Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.sandbox.routing import Response, json_response, text_response


class SalesforceError(Exception):
    """One REST error; ``extra`` adds keys such as ``duplicateResult`` to the error object."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields) if fields is not None else None
        self.extra = dict(extra or {})

    def as_rest(self) -> dict[str, Any]:
        """The object inside the REST error array (``errorCode`` key)."""
        body: dict[str, Any] = {**self.extra, "message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = self.fields
        return body

    def as_save_error(self) -> dict[str, Any]:
        """The object inside a SaveResult's ``errors`` (sObject Collections use ``statusCode``)."""
        return {
            **self.extra,
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields or [],
        }

    def response(self) -> Response:
        return json_response(self.status, [self.as_rest()])


def rest_error(status: int, code: str, message: str, fields: Sequence[str] | None = None) -> Response:
    return SalesforceError(status, code, message, fields).response()


def invalid_session() -> Response:
    return rest_error(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> Response:
    return rest_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def api_disabled() -> Response:
    return rest_error(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")


def server_unavailable(status: int) -> Response:
    return rest_error(
        status, "SERVER_UNAVAILABLE", "The server is temporarily unavailable. Please try again later."
    )


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    # The token endpoints answer a JSON object, never an array, and must not be cached.
    return json_response(
        status,
        {"error": error, "error_description": description},
        headers={"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"},
    )


def bad_oauth_token() -> Response:
    """The identity URL answers a bare text body, not JSON, for a bad token."""
    return text_response(403, "Bad_OAuth_Token")
