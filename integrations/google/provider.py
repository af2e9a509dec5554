"""What the Google Workspace integration is and which scopes it asks for (B1-B3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from integrations.base import Provider

# Reference: https://developers.google.com/identity/protocols/oauth2/scopes
GMAIL_READONLY = "https://www.googleapis.com/auth/gmail.readonly"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
CONTACTS_READONLY = "https://www.googleapis.com/auth/contacts.readonly"
DIRECTORY_GROUP_READONLY = "https://www.googleapis.com/auth/admin.directory.group.readonly"
DIRECTORY_ORGUNIT_READONLY = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"
DIRECTORY_USER_READONLY = "https://www.googleapis.com/auth/admin.directory.user.readonly"
DIRECTORY_DOMAIN_READONLY = "https://www.googleapis.com/auth/admin.directory.domain.readonly"

# What Cadence reads and sends in every synced mailbox: granted by each user (user-managed) or
# authorised for Cadence's service account in the Admin console (domain-wide delegation).
MAILBOX_SCOPES: tuple[str, ...] = (GMAIL_READONLY, GMAIL_SEND, CALENDAR_READONLY, CONTACTS_READONLY)
# Per app: the email app reads and sends mail; the calendar app reads calendars and address books.
APP_SCOPES: dict[str, tuple[str, ...]] = {
    "email": (GMAIL_READONLY, GMAIL_SEND),
    "calendar": (CALENDAR_READONLY, CONTACTS_READONLY),
}
# The admin's own sign-in (admin-managed): who they are, the directory to pick a scope from, and
# the Workspace's verified domains (only their addresses are ever synced or impersonated).
ADMIN_SCOPES: tuple[str, ...] = (
    "openid",
    "email",
    "profile",
    DIRECTORY_GROUP_READONLY,
    DIRECTORY_ORGUNIT_READONLY,
    DIRECTORY_USER_READONLY,
    DIRECTORY_DOMAIN_READONLY,
)
USER_SCOPES: tuple[str, ...] = ("openid", "email", *MAILBOX_SCOPES)


class GoogleProvider(Provider):
    key = "google"
    name = "Google Workspace"
    description = (
        "Sync your team's Gmail and Google Calendar into the activity timeline and send from Cadence."
    )
    package = "copilot"

    def oauth_configured(self) -> bool:
        """The OAuth web client exists (enough for user-managed connections)."""
        return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)

    def is_configured(self) -> bool:
        """The OAuth client and Cadence's service account (admin-managed connections) both exist."""
        path = settings.GOOGLE_SERVICE_ACCOUNT_FILE
        return self.oauth_configured() and bool(path) and Path(path).is_file()

    def not_configured_reason(self) -> str:
        return (
            "Google Workspace is not set up on this Cadence installation yet: the server needs "
            "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET from a Google Cloud OAuth client, and "
            "GOOGLE_SERVICE_ACCOUNT_FILE pointing at the service account key used for domain-wide "
            "delegation."
        )

    def revoke(self, credentials: dict[str, Any]) -> None:
        from integrations.google.auth import revoke_token

        # Revoking the refresh token revokes the access tokens issued from it too. Tokens minted
        # for domain-wide delegation are never stored; they expire within the hour.
        token = credentials.get("refresh_token") or credentials.get("access_token")
        if token:
            revoke_token(token)


GOOGLE = GoogleProvider()
