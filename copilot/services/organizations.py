from __future__ import annotations

from django.db import transaction

from copilot.models import Organization, Role, User
from copilot.services.audit import audit_record


@transaction.atomic
def organization_create_for_founder(*, user: User, name: str) -> Organization:
    """A new organisation whose first user (``user``, just signed up) is its Administrator."""
    organization = Organization.objects.create(name=name.strip())
    user.organization = organization
    user.role = Role.ADMINISTRATOR
    user.save(update_fields=["organization", "role"])
    audit_record(organization=organization, actor=user, action="organization.created", target=name)
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, actor: User, name: str) -> Organization:
    organization.name = name.strip()
    organization.save(update_fields=["name"])
    audit_record(organization=organization, actor=actor, action="organization.renamed", target=name)
    return organization
