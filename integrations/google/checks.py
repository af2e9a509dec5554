"""What Cadence checks after a Google sign-in, before it stores anything (B2, B3).

Admin-managed: the account belongs to a Google Workspace domain, its user is an administrator
there (the directory answers), the Workspace's verified domains are read (only their addresses are
ever synced or impersonated), and the domain has authorised Cadence's service account for the
mailbox scopes (a DWD token can be minted for the admin). User-managed: the person confirmed their
Cadence address, signed in with it, and granted every scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import google.oauth2.credentials
from django.urls import reverse
from django.utils import timezone

from copilot.models import User
from integrations import selectors
from integrations.exceptions import (
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.google import directory, dwd
from integrations.google.auth import TokenResult, userinfo
from integrations.google.client import GoogleClient
from integrations.google.provider import (
    ADMIN_SCOPES,
    CALENDAR_READONLY,
    CONTACTS_READONLY,
    DIRECTORY_DOMAIN_READONLY,
    DIRECTORY_GROUP_READONLY,
    DIRECTORY_ORGUNIT_READONLY,
    DIRECTORY_USER_READONLY,
    GMAIL_READONLY,
    GMAIL_SEND,
    MAILBOX_SCOPES,
)

# What each scope Cadence checks for lets it do, in plain words (the sign-in scopes are not checked).
SCOPE_NAMES = {
    GMAIL_READONLY: "read Gmail",
    GMAIL_SEND: "send from Gmail",
    CALENDAR_READONLY: "read Google Calendar",
    CONTACTS_READONLY: "read Google Contacts",
    DIRECTORY_GROUP_READONLY: "read the directory's groups",
    DIRECTORY_ORGUNIT_READONLY: "read the organisational units",
    DIRECTORY_USER_READONLY: "read the directory's users",
    DIRECTORY_DOMAIN_READONLY: "read your Workspace's domains",
}


@dataclass
class SignIn:
    email: str
    subject: str  # Google's stable account id (``sub``)
    name: str
    domain: str  # the Workspace domain (``hd``); "" for personal accounts
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check_admin(tokens: TokenResult) -> SignIn:
    """The checks of an admin's sign-in for an organisation-wide connection."""
    sign_in = _who(tokens)
    if not sign_in.domain:
        sign_in.problems.append(
            f"{sign_in.email} is a personal Google account. Sign in as an administrator of your "
            "Google Workspace domain."
        )
        return sign_in
    missing = _missing(tokens, ADMIN_SCOPES)
    if missing:
        sign_in.problems.append(
            f"Cadence needs permission to {missing} to let you choose who is synced. Connect again "
            "and allow everything on Google's consent screen."
        )
        return sign_in
    client = GoogleClient(google.oauth2.credentials.Credentials(token=tokens.access_token))
    try:
        user = directory.admin_user(client, sign_in.email)
    except (ProviderThrottled, ProviderUnavailable):
        raise
    except ProviderError:
        user = {}
    if not (user.get("isAdmin") or user.get("isDelegatedAdmin")):
        sign_in.problems.append(
            f"{sign_in.email} is not an administrator of {sign_in.domain}. Sign in with a Google "
            "Workspace administrator account."
        )
        return sign_in
    domains = directory.verified_domains(client)  # throttled / unavailable: the caller says so
    if sign_in.domain not in domains:
        sign_in.problems.append(
            f"Google does not list {sign_in.domain} as a verified domain of this Workspace, so Cadence "
            "cannot tell which mailboxes are yours. Verify the domain in the Google Admin console, "
            "then connect again."
        )
        return sign_in
    try:
        dwd.mint(address=sign_in.email, scopes=MAILBOX_SCOPES, domains=domains)
    except (ProviderAuthError, MailboxAccessDenied) as exc:
        sign_in.problems.append(str(exc))
        return sign_in
    sign_in.details = {
        "mode": "dwd",
        "domain": sign_in.domain,
        "customer_id": str(user.get("customerId") or ""),
        "admin_email": sign_in.email,
        "admin_name": sign_in.name,
        "verified_domains": domains,
        "domains_checked_at": timezone.now().isoformat(),
    }
    return sign_in


def unverified_message(user: User) -> str:
    """What a person whose Cadence address is not confirmed yet must do before connecting."""
    return (
        f"Confirm your email address {user.email} first: open the link in the confirmation email "
        f"Cadence sent you, or send it again from Account › Email ({reverse('account_email')}). "
        "Then connect again."
    )


def check_user(tokens: TokenResult, *, user: User) -> SignIn:
    """The checks of a person's sign-in for their own connection: Cadence acts only for the
    address the person proved to Cadence, and only when they signed in to Google as it."""
    sign_in = _who(tokens)
    if not selectors.address_verified(user):
        sign_in.problems.append(unverified_message(user))
        return sign_in
    if sign_in.email != user.email.lower():
        sign_in.problems.append(
            f"You signed in to Google as {sign_in.email}, but your Cadence address is {user.email}. "
            f"Connect again and choose {user.email}, so Cadence syncs your work mailbox."
        )
        return sign_in
    missing = _missing(tokens, MAILBOX_SCOPES)
    if missing:
        sign_in.problems.append(
            f"Cadence needs permission to {missing}. Connect again and allow everything on Google's "
            "consent screen."
        )
        return sign_in
    sign_in.details = {
        "mode": "oauth",
        "domain": sign_in.domain or sign_in.email.rpartition("@")[2],
        "email": sign_in.email,
    }
    return sign_in


def _who(tokens: TokenResult) -> SignIn:
    info = userinfo(tokens.access_token)
    return SignIn(
        email=str(info.get("email") or "").lower(),
        subject=str(info.get("sub") or ""),
        name=str(info.get("name") or ""),
        domain=str(info.get("hd") or "").lower(),
    )


def _missing(tokens: TokenResult, wanted: tuple[str, ...]) -> str:
    """The plain names of the scopes in ``wanted`` Google did not grant ("" when none)."""
    if not tokens.scopes:  # Google always lists them; an answer without any is taken as all granted
        return ""
    granted = set(tokens.scopes)
    missing = [SCOPE_NAMES[s] for s in wanted if s in SCOPE_NAMES and s not in granted]
    if not missing:
        return ""
    return missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
