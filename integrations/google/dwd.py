"""Domain-wide delegation (B2): access tokens for one user's mailbox, minted with Cadence's own
service account (``settings.GOOGLE_SERVICE_ACCOUNT_FILE``) through the JWT bearer grant with
``sub`` = that user.

Minted tokens are cached in Django's cache, encrypted with ``integrations.crypto``, per
(connection, address, scopes) until a minute before they expire: an idle mailbox then costs one
provider call per sync cycle, not two.

Reference: https://developers.google.com/identity/protocols/oauth2/service-account#delegatingauthority
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

import google.auth.credentials
import google.auth.exceptions
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from google.oauth2 import service_account

from integrations import crypto
from integrations.exceptions import (
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
)
from integrations.google.auth import naive_utc, refresh_error
from integrations.google.errors import token_transport
from integrations.google.provider import MAILBOX_SCOPES
from integrations.models import Connection

logger = logging.getLogger(__name__)

CACHE_PREFIX = "integrations.google.dwd"
EARLY_EXPIRY_SECONDS = 60
# JWT-grant errors (provider-facts A2): the delegation itself is refused → an admin must act.
NOT_AUTHORISED = frozenset({"unauthorized_client", "access_denied"})
# The service account or its key no longer works → reconnect / fix the installation.
REFUSED = frozenset({"invalid_client", "deleted_client", "disabled_client", "invalid_scope", "org_internal"})


class ForeignAddressRefused(MailboxAccessDenied):
    """Cadence will not act for an address outside the connected Workspace's verified domains:
    its service account is shared by every customer, so the domain is what binds a mailbox to the
    organisation that connected it."""


def connection_domains(connection: Connection) -> frozenset[str]:
    """The connected Workspace's verified domains as stored at connect (empty when never read)."""
    return frozenset(str(d).lower() for d in (connection.details or {}).get("verified_domains") or () if d)


def check_domain(address: str, domains: Iterable[str]) -> None:
    """Refuse ``address`` unless its domain is one of ``domains`` (the Workspace's verified ones)."""
    allowed = {d.strip().lower() for d in domains if d}
    domain = address.strip().lower().rpartition("@")[2]
    if not domain or domain not in allowed:
        logger.warning("google.dwd.foreign_address", extra={"domains": len(allowed)})
        raise ForeignAddressRefused(
            f"Cadence does not act for {address}: it is not in a verified domain of the connected "
            "Google Workspace. Reconnect Google Workspace if the domain was added recently.",
            code="foreign_domain",
        )


class DelegatedCredentials(google.auth.credentials.Credentials):
    """google-auth credentials for ``address``'s mailbox under ``connection``: the cached DWD token
    while it lasts, a freshly minted one (written back to the cache) on refresh. Refuses an
    address outside the connection's verified domains before any token is used or minted."""

    def __init__(self, *, connection: Connection, address: str, scopes: Iterable[str]) -> None:
        super().__init__()
        self.connection_id = connection.pk
        self.domains = connection_domains(connection)
        self.address = address.lower()
        check_domain(self.address, self.domains)
        self.scopes = tuple(sorted(set(scopes)))
        cached = _cache_get(self._key)
        if cached is not None:
            self.token, expiry = cached
            self.expiry = naive_utc(expiry)

    @property
    def _key(self) -> str:
        return cache_key(connection_id=self.connection_id, address=self.address, scopes=self.scopes)

    def refresh(self, request: Any) -> None:
        token, expiry = mint(address=self.address, scopes=self.scopes, domains=self.domains)
        _cache_set(self._key, token, expiry)
        self.token, self.expiry = token, naive_utc(expiry)


def access_token(*, connection: Connection, address: str, scopes: Iterable[str]) -> str:
    """A DWD access token for ``address`` (cached, or minted now)."""
    credentials = DelegatedCredentials(connection=connection, address=address, scopes=scopes)
    if not credentials.valid:
        credentials.refresh(None)
    return str(credentials.token)


def cache_key(*, connection_id: int, address: str, scopes: Iterable[str]) -> str:
    digest = hashlib.sha256(f"{address.lower()}|{' '.join(sorted(set(scopes)))}".encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{connection_id}:{digest}"


# Reference: https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests
def mint(*, address: str, scopes: Iterable[str], domains: Iterable[str]) -> tuple[str, dt.datetime]:
    """Ask Google for a token acting as ``address`` (JWT bearer grant). Returns (token, aware expiry).

    ``domains`` are the connected Workspace's verified domains: any other address is refused with
    ``ForeignAddressRefused`` before Google is asked (another customer's domain may have authorised
    the same service account). Raises ``ProviderAuthError`` when the domain has not authorised
    Cadence's service account for ``scopes`` (the message says what to authorise, and where),
    ``MailboxAccessDenied`` when ``address`` is not a user of the domain, ``ProviderUnavailable``
    when Google cannot be reached.
    """
    check_domain(address, domains)
    scopes = tuple(scopes)
    path = settings.GOOGLE_SERVICE_ACCOUNT_FILE
    if not path:
        raise ProviderAuthError(
            "This Cadence installation has no Google service account (GOOGLE_SERVICE_ACCOUNT_FILE), so "
            "it cannot read mailboxes through domain-wide delegation.",
            code="not_configured",
        )
    try:
        credentials = service_account.Credentials.from_service_account_file(path, scopes=scopes).with_subject(
            address
        )
    except (OSError, ValueError) as exc:
        raise ProviderAuthError(
            f"Cadence could not read its Google service account key ({type(exc).__name__}).",
            code="bad_service_account",
        ) from exc
    try:
        with token_transport() as transport:
            credentials.refresh(transport)
    except google.auth.exceptions.RefreshError as exc:
        raise _refused(exc, address=address) from exc
    except google.auth.exceptions.TransportError as exc:
        raise ProviderUnavailable(
            f"Could not reach Google to act for {address} ({type(exc).__name__})."
        ) from exc
    logger.info("google.dwd.minted", extra={"scopes": len(scopes)})
    expiry = (
        credentials.expiry.replace(tzinfo=dt.UTC)
        if credentials.expiry
        else timezone.now() + dt.timedelta(hours=1)
    )
    return str(credentials.token), expiry


def service_account_client_id() -> str:
    """The numeric client id an admin authorises in the Google Admin console ("" when unknown)."""
    try:
        with open(settings.GOOGLE_SERVICE_ACCOUNT_FILE, encoding="utf-8") as handle:
            return str(json.load(handle).get("client_id") or "")
    except (OSError, ValueError, TypeError):
        return ""


def not_authorised_message(detail: str = "") -> str:
    """What a Google admin must do so Cadence may act for the domain's users."""
    client_id = service_account_client_id() or "(see GOOGLE_SERVICE_ACCOUNT_FILE)"
    reason = f" ({detail})" if detail else ""
    return (
        f"Google has not authorised Cadence to read your users' mailboxes{reason}. In the Google Admin "
        "console, open Security › Access and data control › API controls › Manage domain-wide "
        f"delegation, add client ID {client_id} and authorise these scopes: {', '.join(MAILBOX_SCOPES)}. "
        "Then connect again."
    )


def _refused(exc: google.auth.exceptions.RefreshError, *, address: str) -> ProviderError:
    code, description = refresh_error(exc)
    logger.warning("google.dwd.refused", extra={"error": code})
    if code in NOT_AUTHORISED:
        return ProviderAuthError(not_authorised_message(f"{code}: {description}"), code=code)
    if code == "invalid_grant" and ("email" in description.lower() or "user id" in description.lower()):
        return MailboxAccessDenied(
            f"{address} is not a user of the connected Google Workspace domain ({description}).", code=code
        )
    if code == "admin_policy_enforced":
        return MailboxAccessDenied(
            f"A Google Workspace policy stops Cadence from reading {address}'s data ({description}).",
            code=code,
        )
    if code in REFUSED or code == "invalid_grant":
        return ProviderAuthError(
            f"Google refused Cadence's service account ({code}: {description}).", code=code
        )
    if getattr(exc, "retryable", False):
        return ProviderUnavailable(f"Google's sign-in service failed ({description}).", code=code)
    return ProviderError(f"Google refused to act for {address} ({code}: {description}).", code=code)


def _cache_get(key: str) -> tuple[str, dt.datetime] | None:
    stored = cache.get(key)
    if not stored:
        return None
    try:
        data = json.loads(crypto.decrypt(stored))
        return str(data["token"]), dt.datetime.fromtimestamp(float(data["expiry"]), dt.UTC)
    except Exception:  # an unreadable entry (rotated key, old format) is just a cache miss
        cache.delete(key)
        return None


def _cache_set(key: str, token: str, expiry: dt.datetime) -> None:
    ttl = (expiry - timezone.now()).total_seconds() - EARLY_EXPIRY_SECONDS
    if ttl <= 0:
        return
    cache.set(key, crypto.encrypt(json.dumps({"token": token, "expiry": expiry.timestamp()})), timeout=ttl)
