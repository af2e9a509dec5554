"""What the Salesforce integration is and where its OAuth endpoints live (G1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.base import Provider

# ``api`` for REST, ``refresh_token`` for offline access, ``id`` for the identity URL.
# Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_tokens_scopes.htm
SCOPES = "api refresh_token id"


class SalesforceProvider(Provider):
    key = "salesforce"
    name = "Salesforce"
    description = (
        "Look people up in your CRM, sync Leads and Contacts by your rules, and log calls and "
        "emails as completed Tasks."
    )
    package = "engage"

    # Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
    @property
    def authorize_url(self) -> str:
        return f"{_login_url()}/services/oauth2/authorize"

    @property
    def token_url(self) -> str:
        return f"{_login_url()}/services/oauth2/token"

    # Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm
    @property
    def revoke_url(self) -> str:
        return f"{_login_url()}/services/oauth2/revoke"

    def is_configured(self) -> bool:
        return bool(settings.SALESFORCE_CLIENT_ID and settings.SALESFORCE_CLIENT_SECRET)

    def not_configured_reason(self) -> str:
        return (
            "Salesforce is not set up on this Cadence installation yet: the server needs "
            "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET from a Salesforce connected app."
        )

    def revoke(self, credentials: dict[str, Any]) -> None:
        from integrations.salesforce.oauth import revoke_token

        # Revoking the refresh token revokes the access tokens issued from it too.
        token = credentials.get("refresh_token") or credentials.get("access_token")
        if token:
            revoke_token(token)


def _login_url() -> str:
    return settings.SALESFORCE_LOGIN_URL.rstrip("/")


SALESFORCE = SalesforceProvider()
