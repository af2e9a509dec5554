"""Connections to providers and the per-object sync state, the same for every provider.

A ``Connection`` is one provider account Cadence acts as: either the organisation's
(admin-managed, ``scope=organization``) or one user's own (``scope=user``). Its health lives on
the row (status, plain-language reason, last error) so admins and support staff see it. Writes go
through ``integrations.services``; nothing here talks to a provider.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from copilot.tenant_models import TenantModel
from integrations.crypto import EncryptedTextField


class Provider(models.TextChoices):
    SALESFORCE = "salesforce", "Salesforce"
    GOOGLE = "google", "Google Workspace"
    MICROSOFT = "microsoft", "Microsoft 365"


class Connection(TenantModel):
    class Scope(models.TextChoices):
        ORGANIZATION = "organization", "Organisation-wide (admin-managed)"
        USER = "user", "One user's own"

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        PAUSED = "paused", "Paused"
        DISCONNECTED = "disconnected", "Disconnected"

    provider = models.CharField(max_length=20, choices=Provider.choices)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connections",
        help_text="Empty for organisation-wide connections.",
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    status_reason = models.CharField(
        max_length=500, blank=True, help_text="Shown to admins, e.g. why a reconnect is needed."
    )
    external_org_id = models.CharField("provider organisation id", max_length=64, blank=True)
    external_user_id = models.CharField("provider user id", max_length=64, blank=True)
    external_username = models.CharField("provider user name", max_length=254, blank=True)
    instance_url = models.URLField(max_length=500, blank=True)
    identity_url = models.URLField(max_length=500, blank=True)
    # JSON {access_token, refresh_token, issued_at}: never shown in the admin, never logged.
    credentials = EncryptedTextField(blank=True, null=True, editable=False)
    # What the connect checks found (provider user, edition, object privileges): not secret.
    details = models.JSONField(default=dict, blank=True)
    api_used = models.PositiveIntegerField(null=True, blank=True)
    api_max = models.PositiveIntegerField(null=True, blank=True)
    api_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "scope", "pk"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                "provider",
                condition=Q(scope="organization"),
                name="connection_one_org_wide_per_provider",
            ),
            models.UniqueConstraint(
                "user", "provider", condition=Q(scope="user"), name="connection_one_per_user_and_provider"
            ),
            models.CheckConstraint(
                condition=(Q(scope="organization", user__isnull=True) | Q(scope="user", user__isnull=False)),
                name="connection_user_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        owner = "organisation" if self.scope == self.Scope.ORGANIZATION else f"user {self.user_id}"
        return f"{self.get_provider_display()} ({owner}, {self.get_status_display()})"

    def __repr__(self) -> str:  # never the credentials
        return f"<Connection {self.pk} {self.provider} {self.scope} {self.status}>"

    @property
    def is_org_wide(self) -> bool:
        return self.scope == self.Scope.ORGANIZATION

    @property
    def is_active(self) -> bool:
        """Holds credentials Cadence may use (paused connections are retried later), for an
        organisation that is active: a deactivated organisation's connections stop (A1)."""
        return self.status in (self.Status.CONNECTED, self.Status.PAUSED) and self.organization.is_active

    @property
    def inactive_reason(self) -> str:
        """Why ``is_active`` is false, in a sentence ("" when it is true)."""
        if not self.organization.is_active:
            return "The organisation is deactivated."
        if self.status not in (self.Status.CONNECTED, self.Status.PAUSED):
            return f"The connection is {self.get_status_display().lower()}."
        return ""

    def require_active_organization(self) -> None:
        """Every provider client calls this before its first request, so no code path syncs,
        sends or writes for a deactivated organisation."""
        from integrations.exceptions import OrganizationDeactivated

        if not self.organization.is_active:
            raise OrganizationDeactivated(self.organization.name)

    def get_credentials(self) -> dict[str, Any]:
        return json.loads(self.credentials) if self.credentials else {}


class SyncState(TenantModel):
    """One row per (connection, synced object): its cursor, health and a lease so two workers
    never sync the same row at once."""

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_states")
    object_name = models.CharField(max_length=300, help_text='e.g. "Lead", or "email:seller@acme.example"')
    # Mail, calendar and address-book rows name the mailbox owner and the kind; CRM rows leave both empty.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="sync_states"
    )
    kind = models.CharField(max_length=20, blank=True, help_text='"email", "calendar" or "contacts"')
    cursor = models.TextField(blank=True, help_text="Salesforce: the SystemModstamp watermark (ISO).")
    deleted_cursor = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IDLE)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stats = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "object_name"]
        verbose_name = "sync state"
        constraints = [
            models.UniqueConstraint("connection", "object_name", name="syncstate_one_per_connection_object")
        ]

    def __str__(self) -> str:
        return f"{self.object_name} of connection {self.connection_id} ({self.get_status_display()})"


class ConnectionApp(TenantModel):
    """One app of a mail/calendar connection (B1): Google's Gmail and Calendar apps, Microsoft's
    Outlook and Calendar apps. Both ride on the same ``Connection`` (one consent, one set of
    credentials) but are governed separately: toggled OFF/ON (B5) and disconnected (B6) one by one.
    """

    class App(models.TextChoices):
        EMAIL = "email", "Email"
        CALENDAR = "calendar", "Calendar"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="apps")
    app = models.CharField(max_length=20, choices=App.choices)
    installed = models.BooleanField(default=True, help_text="False once disconnected (B6).")
    enabled = models.BooleanField(default=True, help_text="The sync toggle (B5).")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["connection", "app"]
        constraints = [models.UniqueConstraint("connection", "app", name="connectionapp_one_per_app")]

    def __str__(self) -> str:
        return f"{self.get_app_display()} app of connection {self.connection_id}"

    @property
    def syncing(self) -> bool:
        return self.installed and self.enabled


class SyncOptOut(TenantModel):
    """An admin opted ``user`` out of one app's sync ("Manage users' sync data", B4). Turning the
    app back ON removes every opt-out of that app (B5)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="opt_outs")
    app = models.CharField(max_length=20, choices=ConnectionApp.App.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_opt_outs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["connection", "app", "user"]
        constraints = [
            models.UniqueConstraint("connection", "app", "user", name="syncoptout_one_per_user_and_app")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} opted out of {self.app} on connection {self.connection_id}"
