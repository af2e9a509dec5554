from __future__ import annotations

from typing import Any

from copilot.models import AuditEvent, Organization, User


def audit_record(
    *,
    organization: Organization,
    actor: User | None,
    action: str,
    target: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        target=target[:255],
        data=data or {},
    )
