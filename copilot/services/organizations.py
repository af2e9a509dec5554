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


@transaction.atomic
def organization_set_active(*, organization: Organization, actor: User, active: bool) -> Organization:
    """Deactivate (or reactivate) an organisation: support staff's lock (A1, A7). Nothing is
    deleted. While deactivated its members are signed out on their next request
    (``DeactivatedOrganizationMiddleware``) and no provider client acts for it, so its syncs,
    sending and CRM writes stop; reactivating resumes them where they stopped."""
    if organization.is_active == active:
        return organization
    organization.is_active = active
    organization.save(update_fields=["is_active"])
    audit_record(
        organization=organization,
        actor=actor,
        action="organization.reactivated" if active else "organization.deactivated",
        target=organization.name,
    )
    return organization
