"""Typed failures every provider client raises, so callers decide by kind, not by provider.

Sync tasks and services branch on these: ``ProviderAuthError`` marks the connection "needs
reconnect" (retrying cannot help), ``ProviderThrottled`` and ``ProviderUnavailable`` back off
(honouring ``retry_after`` when the provider sent one), anything else is a ``ProviderError``.
Messages carry the provider's own explanation (e.g. an AADSTS code) but never a secret or token.
"""

from __future__ import annotations


class ProviderError(Exception):
    """The provider refused or failed a request in a way the caller cannot fix by waiting."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code  # the provider's machine-readable error, e.g. "invalid_client"


class ProviderAuthError(ProviderError):
    """Credentials were refused (revoked, expired, wrong secret, tenant gone): reconnect needed."""


class ProviderThrottled(ProviderError):
    """The provider asked us to slow down (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds, from Retry-After; None when not given


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed on its side (5xx, timeout, TLS): try later."""

    def __init__(self, message: str, *, retry_after: float | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # a 503 may carry Retry-After too


class OrganizationDeactivated(ProviderError):
    """The connection's Cadence organisation is deactivated: nothing may sync, send or write for
    it until support staff reactivate it (its data and credentials are kept)."""

    def __init__(self, organization_name: str = "") -> None:
        who = organization_name or "This organisation"
        super().__init__(
            f"{who} is deactivated in Cadence, so its syncs, sending and CRM updates are paused.",
            code="organization_deactivated",
        )


class CursorExpired(ProviderError):
    """The stored sync cursor is no longer valid (Gmail history 404, Calendar 410, Graph 410
    syncStateNotFound, People EXPIRED_SYNC_TOKEN): the caller must start a full resync."""


class MailboxAccessDenied(ProviderError):
    """This one mailbox may not be read or sent from (outside a Microsoft application access
    policy, not a user of the Google domain, …). Other mailboxes of the connection still work."""
