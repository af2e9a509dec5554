"""What the Salesforce integration is (G1); its OAuth endpoints and scopes live in ``auth``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.base import Provider


class SalesforceProvider(Provider):
    key = "salesforce"
    name = "Salesforce"
    description = (
        "Look people up in your CRM, sync Leads and Contacts by your rules, and log calls and "
        "emails as completed Tasks."
    )
    package = "engage"

    def is_configured(self) -> bool:
        return bool(settings.SALESFORCE_CLIENT_ID and settings.SALESFORCE_CLIENT_SECRET)

    def not_configured_reason(self) -> str:
        return (
            "Salesforce is not set up on this Cadence installation yet: the server needs "
            "SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET from a Salesforce connected app."
        )

    def revoke(self, credentials: dict[str, Any]) -> None:
        from integrations.salesforce.auth import revoke_token

        # Revoking the refresh token revokes the access tokens issued from it too.
        token = credentials.get("refresh_token") or credentials.get("access_token")
        if token:
            revoke_token(token)


SALESFORCE = SalesforceProvider()
