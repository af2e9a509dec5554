"""Reads for the org core's pages. Query counts here do not grow with the number of rows."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from copilot.models import AuditEvent, Invitation, Organization, OrgGroup, User


def user_list(
    *, organization: Organization, search: str = "", role: str = "", group_id: int | None = None
) -> QuerySet[User]:
    qs = User.objects.for_org(organization).prefetch_related(
        Prefetch("org_groups", queryset=OrgGroup.objects.order_by("name"))
    )
    if search:
        for term in search.split():
            qs = qs.filter(
                Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
            )
    if role:
        qs = qs.filter(role=role)
    if group_id:
        qs = qs.filter(org_groups__id=group_id)
    return qs.order_by("first_name", "last_name", "email", "pk")


def pending_invitations(*, organization: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_org(organization)
        .pending()
        .select_related("invited_by")
        .order_by("-created_at")
    )


def group_list(*, organization: Organization) -> QuerySet[OrgGroup]:
    return OrgGroup.objects.for_org(organization).annotate(member_count=Count("members")).order_by("name")


def recent_audit_events(*, organization: Organization, limit: int = 50) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_org(organization).select_related("actor").order_by("-created_at")[:limit]
