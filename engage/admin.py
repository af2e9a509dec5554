"""Django admin for support staff (A7): Engage's customer data, read-only.

Contacts, accounts, statuses, imports, profiles and voicemails belong to the customer, who
changes them in the product (where it is audited); support looks, searches and filters here.
Uploaded files — import CSVs and their reports, voicemail recordings — are never offered for
download: only what the list and fields show."""

from __future__ import annotations

from django.contrib import admin

from copilot.admin import ReadOnlyAdmin
from engage.models import (
    Account,
    Contact,
    ContactImport,
    ContactStatus,
    CrmActivity,
    CrmPoll,
    CrmSettings,
    CrmWriteLog,
    EngageSettings,
    FieldMapping,
    SellerProfile,
    SyncRule,
    Voicemail,
)


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "email", "organization", "owner", "status", "source", "updated_at"]
    list_filter = ["organization", "source", "email_opt_out"]
    list_select_related = ["organization", "owner", "status"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["-updated_at", "-id"]
    show_full_result_count = False  # a count(*) over every organisation's contacts is not worth it
    fieldsets = [
        (None, {"fields": ["organization", "owner", "status", "source", "email_opt_out"]}),
        (
            "Person",
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "email",
                    "title",
                    "company",
                    "account",
                    "business_phone",
                    "direct_phone",
                    "mobile_phone",
                ]
            },
        ),
        ("Address", {"fields": ["street", "city", "state", "postal_code", "country"]}),
        ("CRM", {"fields": ["crm_type", "crm_id"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="name", ordering="last_name")
    def name(self, obj: Contact) -> str:
        return obj.full_name or "—"


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "domain", "organization", "phone", "country", "updated_at"]
    list_filter = ["organization", "country"]
    list_select_related = ["organization"]
    search_fields = ["name", "domain"]


@admin.register(ContactStatus)
class ContactStatusAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "position", "is_default", "color", "crm_value"]
    list_filter = ["organization", "is_default"]
    list_select_related = ["organization"]
    search_fields = ["name", "crm_value"]
    ordering = ["organization__name", "position", "id"]


@admin.register(EngageSettings)
class EngageSettingsAdmin(ReadOnlyAdmin):
    list_display = ["organization", "statuses_from_crm"]
    list_filter = ["statuses_from_crm"]
    list_select_related = ["organization"]
    search_fields = ["organization__name"]


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdmin):
    list_display = [
        "original_name",
        "organization",
        "created_by",
        "status",
        "row_count",
        "created_count",
        "updated_count",
        "skipped_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "created_by"]
    search_fields = ["original_name", "organization__name", "created_by__email"]
    date_hierarchy = "created_at"
    exclude = ["file", "report"]  # the customer's uploaded data and its row-by-row report


@admin.register(SellerProfile)
class SellerProfileAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "organization",
        "culture",
        "holiday_country",
        "verified_phone",
        "phone_verified_at",
    ]
    list_filter = ["organization", "holiday_country"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email", "verified_phone"]


@admin.register(Voicemail)
class VoicemailAdmin(ReadOnlyAdmin):
    list_display = ["title", "owner", "organization", "content_type", "size_bytes", "created_at"]
    list_filter = ["organization"]
    list_select_related = ["owner", "organization"]
    search_fields = ["title", "owner__email"]
    exclude = ["audio"]  # recordings of the customer's voice stay in the product


@admin.register(CrmSettings)
class CrmSettingsAdmin(ReadOnlyAdmin):
    list_display = ["organization", "new_prospects_as", "create_activities", "sync_enabled", "updated_at"]
    list_filter = ["sync_enabled", "new_prospects_as"]
    list_select_related = ["organization"]


@admin.register(FieldMapping)
class FieldMappingAdmin(ReadOnlyAdmin):
    list_display = ["organization", "sobject", "engage_field", "crm_field", "direction", "default_value"]
    list_filter = ["organization", "sobject", "direction"]
    list_select_related = ["organization"]
    ordering = ["organization", "sobject", "position"]


@admin.register(SyncRule)
class SyncRuleAdmin(ReadOnlyAdmin):
    list_display = ["organization", "sobject", "combinator", "updated_at"]
    list_filter = ["organization", "sobject"]
    list_select_related = ["organization"]


@admin.register(CrmPoll)
class CrmPollAdmin(ReadOnlyAdmin):
    list_display = [
        "organization",
        "sobject",
        "status",
        "processed",
        "total",
        "created_count",
        "updated_count",
        "error_count",
        "api_calls",
        "created_at",
    ]
    list_filter = ["status", "sobject"]
    list_select_related = ["organization"]
    ordering = ["-created_at", "-id"]


@admin.register(CrmWriteLog)
class CrmWriteLogAdmin(ReadOnlyAdmin):
    """Every write to Salesforce (G9): what was sent, what Salesforce answered."""

    list_display = ["created_at", "organization", "action", "sobject", "record_id", "result", "error_code"]
    list_filter = ["result", "action", "sobject"]
    list_select_related = ["organization"]
    search_fields = ["record_id", "error_code", "message"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False


@admin.register(CrmActivity)
class CrmActivityAdmin(ReadOnlyAdmin):
    """Call and email Tasks for Salesforce (G11, G12): pending, sent, failed or skipped."""

    list_display = ["created_at", "organization", "kind", "subject", "state", "salesforce_task_id", "sent_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["organization"]
    search_fields = ["idempotency_key", "subject", "salesforce_task_id"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
