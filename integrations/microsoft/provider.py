"""What the Microsoft 365 integration is: Cadence's multi-tenant Entra app, two governed apps
(Outlook mail, and Calendar with the address book) on one connection (B1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.base import Provider


class MicrosoftProvider(Provider):
    key = "microsoft"
    name = "Microsoft 365"
    description = (
        "Outlook mail and calendar: the team timeline of emails and meetings, address books, and "
        "sending from Cadence."
    )
    package = "copilot"

    def is_configured(self) -> bool:
        return bool(settings.MICROSOFT_CLIENT_ID and settings.MICROSOFT_CLIENT_SECRET)

    def not_configured_reason(self) -> str:
        return (
            "Microsoft 365 is not set up on this Cadence installation yet: the server needs "
            "MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET from a multi-tenant Entra app registration."
        )

    def revoke(self, credentials: dict[str, Any]) -> None:
        # Entra ID has no endpoint that revokes an app's access or refresh token: access tokens
        # live out their hour, a delegated refresh token is invalidated only by the user or an
        # admin (revokeSignInSessions, removing the app's consent). Disconnecting therefore drops
        # the tokens on our side; the admin removes Cadence's consent in Entra to cut access
        # there too. App-only access (admin consent) holds no token at all: msal mints one per
        # hour from Cadence's own credentials.
        # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-revocation
        return None


MICROSOFT = MicrosoftProvider()
