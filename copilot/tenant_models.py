"""The model side of the one tenancy mechanism: every tenant-owned model extends ``TenantModel``
(an ``organization`` and the scoped ``for_org()`` queryset). Kept apart from the request side
(``copilot.tenancy``: middleware, ``org_object_or_404``, view decorators) so model modules depend
on nothing but Django."""

from __future__ import annotations

from typing import Any

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_org(self, organization: Any) -> TenantQuerySet:
        """Rows of ``organization`` (an ``Organization`` or None: then no rows at all)."""
        if organization is None:
            return self.none()
        return self.filter(organization=organization)


class TenantModel(models.Model):
    """Abstract base of every tenant-owned model."""

    organization = models.ForeignKey(
        "copilot.Organization", on_delete=models.CASCADE, related_name="+", db_index=True
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
