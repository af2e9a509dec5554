"""Django admin for support staff: connections and sync state, read-only (A7).

Credentials never appear: ``Connection.credentials`` is left out of every field list (it is
also ``editable=False``), and only its presence is shown.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from copilot.admin import ReadOnlyAdmin
from integrations.models import Connection, ConnectionApp, SyncOptOut, SyncState
from integrations.records import KINDS
from integrations.sync import states as sync_states


class ConnectionAppInline(admin.TabularInline):
    model = ConnectionApp
    fields = ["app", "installed", "enabled", "changed_at", "changed_by"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class SyncStateInline(admin.TabularInline):
    model = SyncState
    fields = ["object_name", "status", "cursor", "last_success_at", "attempts", "next_run_at", "last_error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "provider",
        "scope",
        "user",
        "status",
        "external_username",
        "api_usage",
        "last_error_at",
        "updated_at",
    ]
    list_filter = ["provider", "scope", "status"]
    list_select_related = ["organization", "user"]
    search_fields = [
        "organization__name",
        "user__email",
        "external_username",
        "external_org_id",
        "instance_url",
    ]
    fields = [
        "organization",
        "provider",
        "scope",
        "user",
        "connected_by",
        "status",
        "status_reason",
        "has_credentials",
        "external_org_id",
        "external_user_id",
        "external_username",
        "instance_url",
        "identity_url",
        "details",
        "api_used",
        "api_max",
        "api_checked_at",
        "last_error",
        "last_error_at",
        "connected_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [ConnectionAppInline, SyncStateInline]

    @admin.display(boolean=True, description="holds credentials")
    def has_credentials(self, obj: Connection) -> bool:
        return bool(obj.credentials)

    @admin.display(description="API used")
    def api_usage(self, obj: Connection) -> str:
        return f"{obj.api_used} / {obj.api_max}" if obj.api_max else "—"

    def get_queryset(self, request: HttpRequest):
        # Never load the encrypted column for lists and pages that do not show it.
        return super().get_queryset(request).defer("credentials")


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    """Every sync-state row, read-only; a mailbox row (mail, calendar, address book) can be run
    again at once ("Re-run sync": clears its backoff and enqueues it)."""

    actions = ["rerun_sync"]
    list_display = [
        "id",
        "organization",
        "connection",
        "object_name",
        "kind",
        "user",
        "status",
        "last_success_at",
        "attempts",
        "next_run_at",
        "lease_owner",
    ]
    list_filter = ["status", "kind", "connection__provider"]
    list_select_related = ["organization", "connection", "user"]
    search_fields = ["organization__name", "object_name", "last_error"]
    fields = [
        "organization",
        "connection",
        "object_name",
        "kind",
        "user",
        "status",
        "cursor",
        "deleted_cursor",
        "lease_owner",
        "lease_expires_at",
        "last_success_at",
        "last_error",
        "attempts",
        "next_run_at",
        "stats",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.action(description="Re-run sync now (mailbox rows)")
    def rerun_sync(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        rows = list(queryset.filter(kind__in=KINDS).select_related("connection"))
        for state in rows:
            sync_states.sync_state_retry_now(sync_state=state, actor=None)
        skipped = queryset.count() - len(rows)
        self.message_user(request, f"{len(rows)} mailbox sync(s) started.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} CRM row(s) skipped: they run on their own schedule.", messages.WARNING
            )


@admin.register(ConnectionApp)
class ConnectionAppAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "connection",
        "app",
        "installed",
        "enabled",
        "changed_at",
        "changed_by",
    ]
    list_filter = ["app", "installed", "enabled", "connection__provider"]
    list_select_related = ["organization", "connection", "changed_by"]
    search_fields = ["organization__name"]
    fields = ["organization", "connection", "app", "installed", "enabled", "changed_at", "changed_by"]
    readonly_fields = fields


@admin.register(SyncOptOut)
class SyncOptOutAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "connection", "app", "user", "created_by", "created_at"]
    list_filter = ["app", "connection__provider"]
    list_select_related = ["organization", "connection", "user", "created_by"]
    search_fields = ["organization__name", "user__email"]
    fields = ["organization", "connection", "app", "user", "created_by", "created_at"]
    readonly_fields = fields
