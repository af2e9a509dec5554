"""Inviting people into an organisation (A3): invite, resend, revoke, accept.

The token is random, sent only in the email, and stored as a SHA-256 hash; resending issues a
new token (the old link stops working) and a fresh expiry.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from copilot.models import Invitation, Organization, OrgGroup, Role, User, hash_token
from copilot.services.audit import audit_record

logger = logging.getLogger(__name__)


class InvitationUnusable(Exception):
    """The link is unknown, expired, revoked or already used; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)
    return token


def _send(invitation: Invitation, token: str, base_url: str) -> None:
    link = base_url.rstrip("/") + reverse("copilot:invitation_accept", args=[token])
    context = {
        "invitation": invitation,
        "link": link,
        "organization": invitation.organization,
        "inviter": invitation.invited_by,
        "ttl_days": settings.INVITATION_TTL_DAYS,
    }
    subject = render_to_string("copilot/email/invitation_subject.txt", context).strip()
    body = render_to_string("copilot/email/invitation_body.txt", context)
    html = render_to_string("copilot/email/invitation_body.html", context)
    send_mail(subject, body, None, [invitation.email], html_message=html)
    logger.info("invitation.sent", extra={"invitation_id": invitation.pk})


def _check_email_free(organization: Organization, email: str, exclude_pk: int | None = None) -> None:
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": f"{email} already has a Cadence account."})
    pending = Invitation.objects.for_org(organization).pending().filter(email__iexact=email)
    if exclude_pk:
        pending = pending.exclude(pk=exclude_pk)
    if pending.exists():
        raise ValidationError({"email": f"{email} already has a pending invitation. Resend it instead."})


@transaction.atomic
def invitation_create(
    *,
    organization: Organization,
    actor: User,
    email: str,
    first_name: str,
    last_name: str,
    role: str = Role.CONTRIBUTOR,
    groups: Iterable[OrgGroup] = (),
    can_start_salesflow_on_behalf: bool = False,
    base_url: str,
) -> Invitation:
    email = User.objects.normalize_email(email.strip()).lower()
    _check_email_free(organization, email)
    groups = list(groups)
    if any(g.organization_id != organization.pk for g in groups):
        raise ValidationError({"org_groups": "Groups must belong to your organisation."})
    invitation = Invitation(
        organization=organization,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        invited_by=actor,
        can_start_salesflow_on_behalf=can_start_salesflow_on_behalf,
        last_sent_at=timezone.now(),
        send_count=1,
    )
    token = _new_token(invitation)
    invitation.save()
    invitation.org_groups.set(groups)
    audit_record(organization=organization, actor=actor, action="invitation.created", target=email)
    transaction.on_commit(lambda: _send(invitation, token, base_url))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User, base_url: str) -> Invitation:
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(f"This invitation was {invitation.status}; it cannot be resent.")
    token = _new_token(invitation)
    invitation.last_sent_at = timezone.now()
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "expires_at", "last_sent_at", "send_count"])
    audit_record(
        organization=invitation.organization, actor=actor, action="invitation.resent", target=invitation.email
    )
    transaction.on_commit(lambda: _send(invitation, token, base_url))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    if invitation.accepted_at:
        raise ValidationError("This invitation was already accepted; delete the user instead.")
    if not invitation.revoked_at:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            organization=invitation.organization,
            actor=actor,
            action="invitation.revoked",
            target=invitation.email,
        )
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The usable invitation behind a link, or ``InvitationUnusable`` saying why not."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable(
            "This invitation link is not valid. It may have been replaced by a newer one."
        )
    if invitation.status == "accepted":
        raise InvitationUnusable(
            "This invitation has already been used. Sign in with your email and password."
        )
    if invitation.status == "revoked":
        raise InvitationUnusable("This invitation was withdrawn by an administrator.")
    if invitation.status == "expired":
        raise InvitationUnusable("This invitation has expired. Ask your administrator to send a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":  # lost a race with revoke or a second accept
        raise InvitationUnusable("This invitation can no longer be used.")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationUnusable(f"{invitation.email} already has an account. Sign in instead.")
    user = User(
        email=invitation.email,
        mailbox_username=invitation.email,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
        organization=invitation.organization,
        role=invitation.role,
        can_start_salesflow_on_behalf=invitation.can_start_salesflow_on_behalf,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    user.org_groups.set(invitation.org_groups.all())
    # The invitee proved they read this mailbox by opening the link.
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(
        organization=invitation.organization, actor=user, action="invitation.accepted", target=user.email
    )
    return user
