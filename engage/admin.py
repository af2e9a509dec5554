"""Django admin for support staff (A7): Engage's customer data, read-only.

Contacts, accounts, statuses, imports, profiles, voicemails and Salesflows belong to the customer, who
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
    Enrolment,
    EnrolmentEvent,
    EnrolmentJob,
    FieldMapping,
    Salesflow,
    SalesflowStep,
    SalesflowTemplate,
    SalesflowVariant,
    SellerProfile,
    SellerTimeOff,
    StepSend,
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
        (
            None,
            {"fields": ["organization", "owner", "status", "source", "email_opt_out", "email_bounced_at"]},
        ),
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
    list_display = ["name", "organization", "position", "is_default", "ends_salesflows", "color", "crm_value"]
    list_filter = ["organization", "is_default", "ends_salesflows"]
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


# --- Salesflows (issue 13) ------------------------------------------------------------------------
class SalesflowStepInline(admin.TabularInline):
    model = SalesflowStep
    fields = ["position", "kind", "delay_amount", "delay_unit", "subject", "reply_in_thread", "deleted_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["position", "id"]


@admin.register(Salesflow)
class SalesflowAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "owner", "visibility", "exit_company_on_reply", "archived_at"]
    list_filter = ["visibility", "exit_company_on_reply", "organization"]
    list_select_related = ["organization", "owner"]
    search_fields = ["name", "owner__email"]
    inlines = [SalesflowStepInline]


@admin.register(SalesflowStep)
class SalesflowStepAdmin(ReadOnlyAdmin):
    list_display = ["flow", "position", "kind", "delay_amount", "delay_unit", "subject", "deleted_at"]
    list_filter = ["kind", "delay_unit"]
    list_select_related = ["flow"]
    search_fields = ["flow__name", "subject"]
    ordering = ["flow", "position", "id"]


@admin.register(SalesflowVariant)
class SalesflowVariantAdmin(ReadOnlyAdmin):
    list_display = ["step", "label", "weight", "active", "winner", "declared_at"]
    list_filter = ["active", "winner"]
    list_select_related = ["step__flow"]


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    """Who is in which flow, where they are and why they left: what support is asked about."""

    list_display = [
        "id",
        "flow",
        "contact",
        "contact_email",
        "sender",
        "state",
        "exit_reason",
        "pause_reason",
        "current_step",
        "due_at",
        "started_at",
    ]
    list_filter = ["state", "exit_reason", "pause_reason"]
    list_select_related = ["flow", "contact", "sender", "current_step"]
    search_fields = ["contact__email", "flow__name", "sender__email"]
    raw_id_fields = ["contact", "flow", "current_step"]
    ordering = ["-started_at", "-id"]
    show_full_result_count = False

    @admin.display(description="email", ordering="contact__email")
    def contact_email(self, obj: Enrolment) -> str:
        return obj.contact.email or "—"


@admin.register(EnrolmentEvent)
class EnrolmentEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "enrolment", "kind", "actor", "data"]
    list_filter = ["kind"]
    list_select_related = ["enrolment", "actor"]
    raw_id_fields = ["enrolment"]
    ordering = ["-at", "-id"]
    show_full_result_count = False


@admin.register(StepSend)
class StepSendAdmin(ReadOnlyAdmin):
    """One row per enrolment x step: its Message-ID (made before the provider call) and what the
    provider said."""

    list_display = ["message_id", "organization", "state", "due_at", "sent_at", "error"]
    list_filter = ["state"]
    list_select_related = ["organization"]
    search_fields = ["message_id", "provider_message_id", "thread_id"]
    raw_id_fields = ["enrolment", "step", "variant"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False


@admin.register(SalesflowTemplate)
class SalesflowTemplateAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "owner", "shared", "updated_at"]
    list_filter = ["shared", "organization"]
    list_select_related = ["organization", "owner"]
    search_fields = ["name", "owner__email"]


@admin.register(SellerTimeOff)
class SellerTimeOffAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "start_date", "end_date", "note"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email"]


@admin.register(EnrolmentJob)
class EnrolmentJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "organization",
        "flow",
        "enrolled_by",
        "status",
        "processed",
        "total",
        "enrolled_count",
        "refused_count",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["organization", "flow", "enrolled_by"]
    exclude = ["contact_ids"]  # thousands of ids: the counters say what support needs
    ordering = ["-created_at", "-id"]
