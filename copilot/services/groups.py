from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from copilot.models import Organization, OrgGroup, User
from copilot.services.audit import audit_record


def _check_name(*, organization: Organization, name: str, exclude_pk: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the group a name."})
    clash = OrgGroup.objects.for_org(organization).filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": f"A group called “{name}” already exists."})
    return name


def _check_members(organization: Organization, members: Iterable[User]) -> list[User]:
    members = list(members)
    if any(m.organization_id != organization.pk for m in members):
        raise ValidationError({"members": "Members must belong to your organisation."})
    return members


@transaction.atomic
def group_create(
    *,
    organization: Organization,
    actor: User,
    name: str,
    description: str = "",
    members: Iterable[User] = (),
) -> OrgGroup:
    name = _check_name(organization=organization, name=name)
    members = _check_members(organization, members)
    try:
        group = OrgGroup.objects.create(organization=organization, name=name, description=description)
    except IntegrityError as exc:  # a concurrent create with the same name
        raise ValidationError({"name": f"A group called “{name}” already exists."}) from exc
    group.members.set(members)
    audit_record(organization=organization, actor=actor, action="group.created", target=name)
    return group


@transaction.atomic
def group_update(
    *, group: OrgGroup, actor: User, name: str, description: str, members: Iterable[User]
) -> OrgGroup:
    group.name = _check_name(organization=group.organization, name=name, exclude_pk=group.pk)
    group.description = description
    group.save(update_fields=["name", "description"])
    group.members.set(_check_members(group.organization, members))
    audit_record(organization=group.organization, actor=actor, action="group.updated", target=group.name)
    return group


@transaction.atomic
def group_delete(*, group: OrgGroup, actor: User) -> None:
    organization, name = group.organization, group.name
    group.delete()
    audit_record(organization=organization, actor=actor, action="group.deleted", target=name)
