"""Microsoft identity platform (Entra ID) error bodies, in the exact shape the real service sends.

Shape confirmed from real responses quoted in public issues, e.g.
{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. …
\\r\\nTrace ID: …\\r\\nCorrelation ID: …\\r\\nTimestamp: 2023-05-06 06:03:00Z","error_codes":[7000215],
"timestamp":"2023-05-06 06:03:00Z","trace_id":"…","correlation_id":"…",
"error_uri":"https://login.microsoftonline.com/error?code=7000215"}
"""

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response

from __future__ import annotations

import datetime as dt
import uuid

from integrations.sandbox.routing import Request, Response, json_response


def aadsts_error(request: Request, *, status: int, error: str, code: int, message: str) -> Response:
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    # Entra echoes the client's client-request-id (msal sends one) as the correlation id.
    correlation_id = request.header("client-request-id") or str(uuid.uuid4())
    description = (
        f"AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
    )
    return json_response(
        status,
        {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{request.base_url}/error?code={code}",
        },
    )


def tenant_not_found(request: Request, tenant: str) -> Response:
    # Discovery and token endpoints both answer 400 invalid_tenant today (older responses said
    # invalid_request); msal turns the discovery failure into a ValueError at app construction.
    return aadsts_error(
        request,
        status=400,
        error="invalid_tenant",
        code=90002,
        message=(
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud. Check with your subscription administrator, this "
            "may happen if there are no active subscriptions for the tenant."
        ),
    )
