"""The organisation's contact-status list (F3). Every organisation starts with
``DEFAULT_STATUSES``; ``statuses_ensure_defaults`` makes them on first use, so organisations
created before Engage existed get them too."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from copilot.models import Organization
from engage.models import DEFAULT_STATUSES, ContactStatus, EngageSettings


def engage_settings_for(organization: Organization) -> EngageSettings:
    settings_row, _ = EngageSettings.objects.get_or_create(organization=organization)
    return settings_row


def statuses_ensure_defaults(*, organization: Organization) -> None:
    """Create the default list unless the organisation has statuses already (idempotent, and
    safe when two requests race: the unique constraints make the loser's insert a no-op)."""
    if ContactStatus.objects.for_org(organization).exists():
        return
    try:
        with transaction.atomic():
            ContactStatus.objects.bulk_create(
                ContactStatus(
                    organization=organization,
                    name=name,
                    color=color,
                    position=position,
                    is_default=position == 0,
                )
                for position, (name, color) in enumerate(DEFAULT_STATUSES)
            )
    except IntegrityError:
        pass  # another request made them first


def status_default(*, organization: Organization) -> ContactStatus:
    """The status new contacts get."""
    statuses_ensure_defaults(organization=organization)
    qs = ContactStatus.objects.for_org(organization)
    return qs.filter(is_default=True).first() or qs.order_by("position", "id").first()
