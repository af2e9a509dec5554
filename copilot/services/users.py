"""Writes to users of an organisation. Views and admin actions call these, never ``save()``."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from copilot.models import OrgGroup, Role, User
from copilot.services.audit import audit_record
from copilot.signals import user_deleting


def _other_admins_exist(user: User) -> bool:
    return (
        User.objects.for_org(user.organization)
        .filter(role=Role.ADMINISTRATOR, is_active=True)
        .exclude(pk=user.pk)
        .exists()
    )


@transaction.atomic
def user_change_role(*, user: User, role: str, actor: User) -> User:
    if role not in Role.values:
        raise ValidationError({"role": "Choose Administrator or Contributor."})
    if user.role == Role.ADMINISTRATOR and role != Role.ADMINISTRATOR and not _other_admins_exist(user):
        raise ValidationError(
            {"role": "An organisation needs at least one Administrator. Promote someone else first."}
        )
    previous = user.role
    user.role = role
    user.save(update_fields=["role"])
    audit_record(
        organization=user.organization,
        actor=actor,
        action="user.role_changed",
        target=user.email,
        data={"from": previous, "to": role},
    )
    return user


@transaction.atomic
def user_set_on_behalf(*, user: User, allowed: bool, actor: User) -> User:
    user.can_start_salesflow_on_behalf = allowed
    user.save(update_fields=["can_start_salesflow_on_behalf"])
    audit_record(
        organization=user.organization,
        actor=actor,
        action="user.on_behalf_changed",
        target=user.email,
        data={"allowed": allowed},
    )
    return user


@transaction.atomic
def user_update_membership(
    *,
    user: User,
    actor: User,
    first_name: str,
    last_name: str,
    mailbox_username: str,
    groups: Iterable[OrgGroup],
) -> User:
    """An admin's edit of a user's name, mailbox user name and groups."""
    groups = list(groups)
    if any(g.organization_id != user.organization_id for g in groups):
        raise ValidationError({"org_groups": "Groups must belong to the user's organisation."})
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.mailbox_username = mailbox_username.strip()
    user.save(update_fields=["first_name", "last_name", "mailbox_username"])
    user.org_groups.set(groups)
    audit_record(organization=user.organization, actor=actor, action="user.updated", target=user.email)
    return user


@transaction.atomic
def user_delete(*, user: User, actor: User) -> None:
    """Delete a user of the actor's organisation. Receivers of ``user_deleting`` (integrations)
    disconnect the user's connections first, in the same transaction (A6)."""
    if user.pk == actor.pk:
        raise ValidationError("You cannot delete your own account here.")
    if user.role == Role.ADMINISTRATOR and not _other_admins_exist(user):
        raise ValidationError("An organisation needs at least one Administrator.")
    organization, email = user.organization, user.email
    user_deleting.send(sender=User, user=user, actor=actor)
    user.delete()
    audit_record(organization=organization, actor=actor, action="user.deleted", target=email)


PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "time_zone",
    "language",
    "signature_choice",
    "signature_custom",
)


@transaction.atomic
def user_update_profile(*, user: User, **changes: str) -> User:
    """The signed-in user's own edit of their profile (Account page)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(user, field, value.strip() if field in ("first_name", "last_name", "job_title") else value)
    user.save(update_fields=list(changes))
    return user
