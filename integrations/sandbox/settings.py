"""The settings that point every provider client at a running sandbox, written once.

Three places point Cadence at the sandbox: the ``local`` settings profile (``make run``), the
``sandbox`` test fixture and the mail benchmark. They all take this map, so a new provider endpoint
is added here and nowhere else. The client ids and secrets are the sandbox's seeded demo apps:
not secrets, they open only the local sandbox.

The sandbox writes its CA (``ca.pem``) and Cadence's Google service-account key beside each other
in one folder (``certs.py``), so the CA's path names both.
"""

from __future__ import annotations

from pathlib import Path

from integrations.sandbox.certs import GOOGLE_SERVICE_ACCOUNT_FILENAME
from integrations.sandbox.google import store as google_demo
from integrations.sandbox.microsoft import demo as microsoft_demo
from integrations.sandbox.salesforce import demo as salesforce_demo

# The sandbox's seeded apps (Entra app registration, Google OAuth client, Salesforce connected app).
SANDBOX_CREDENTIALS: dict[str, str] = {
    "MICROSOFT_CLIENT_ID": microsoft_demo.DEMO_CLIENT_ID,
    "MICROSOFT_CLIENT_SECRET": microsoft_demo.DEMO_CLIENT_SECRET,
    "SALESFORCE_CLIENT_ID": salesforce_demo.DEMO_CLIENT_ID,
    "SALESFORCE_CLIENT_SECRET": salesforce_demo.DEMO_CLIENT_SECRET,
    "GOOGLE_CLIENT_ID": google_demo.DEMO_CLIENT_ID,
    "GOOGLE_CLIENT_SECRET": google_demo.DEMO_CLIENT_SECRET,
}


def provider_settings(url: str, ca_path: str) -> dict[str, str]:
    """Setting name -> value for a sandbox serving at ``url`` (no trailing slash) whose CA is the
    file ``ca_path``: every provider's endpoints, the CA bundle, and the demo apps' credentials."""
    return {
        "PROVIDER_CA_BUNDLE": ca_path,
        "MICROSOFT_LOGIN_URL": url,
        "MICROSOFT_GRAPH_URL": f"{url}/graph",
        "SALESFORCE_LOGIN_URL": url,
        **SANDBOX_CREDENTIALS,
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(Path(ca_path).with_name(GOOGLE_SERVICE_ACCOUNT_FILENAME)),
        "GOOGLE_AUTH_URL": f"{url}/google/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URL": f"{url}/google/token",
        "GOOGLE_REVOKE_URL": f"{url}/google/revoke",
        "GOOGLE_USERINFO_URL": f"{url}/google/oauth2/v3/userinfo",
        "GOOGLE_GMAIL_URL": f"{url}/google/",
        "GOOGLE_CALENDAR_URL": f"{url}/google/calendar/v3/",
        "GOOGLE_PEOPLE_URL": f"{url}/google/",
        "GOOGLE_DIRECTORY_URL": f"{url}/google/",
        "GOOGLE_BATCH_URL": f"{url}/google/batch/gmail/v1",
    }
