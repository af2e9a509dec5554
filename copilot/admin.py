"""Django admin for support staff (A7).

Support staff look after organisations (packages, active flag) and accounts (active, staff).
What a customer owns — names, emails, roles, groups, invitations, the audit trail — is read-only
here: customers change it themselves in the Admin Portal, where it is audited.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.forms import PasswordResetForm
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from copilot.models import (
    Activity,
    ActivityParticipant,
    ActivitySource,
    AuditEvent,
    Company,
    IngestionSkip,
    Invitation,
    MailRule,
    Organization,
    OrgGroup,
    Person,
    User,
)
from copilot.services.organizations import organization_set_active


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, searchable and filterable; never added, changed or deleted from here."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class UserInline(admin.TabularInline):
    model = User
    fields = ["email", "first_name", "last_name", "role", "is_active", "last_login"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    max_num = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user_count",
        "package_copilot",
        "package_engage",
        "email_provider",
        "crm",
        "is_active",
        "created_at",
    ]
    list_filter = ["is_active", "package_copilot", "package_engage", "email_provider", "crm"]
    search_fields = ["name", "users__email"]
    fields = ["name", "is_active", "package_copilot", "package_engage", "email_provider", "crm", "created_at"]
    readonly_fields = ["name", "email_provider", "crm", "created_at"]
    inlines = [UserInline]
    actions = ["deactivate", "reactivate"]

    def save_model(self, request: HttpRequest, obj: Organization, form, change: bool) -> None:
        """The active flag goes through the service (audited; members signed out, syncs stop)."""
        if change and "is_active" in form.changed_data:
            active = obj.is_active
            obj.is_active = not active  # the service compares with the stored value
            super().save_model(request, obj, form, change)
            organization_set_active(organization=obj, actor=request.user, active=active)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Deactivate the selected organisations (members signed out, syncs stop)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Reactivate the selected organisations")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        self._set_active(request, queryset, active=True)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Organization], *, active: bool) -> None:
        changed = [org for org in queryset if org.is_active != active]
        for organization in changed:
            organization_set_active(organization=organization, actor=request.user, active=active)
        verb = "reactivated" if active else "deactivated"
        self.message_user(
            request, f"{len(changed)} organisation(s) {verb}; nothing was deleted.", messages.SUCCESS
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return super().get_queryset(request).annotate(user_count=Count("users", distinct=True))

    @admin.display(ordering="user_count", description="users")
    def user_count(self, obj: Organization) -> int:
        return obj.user_count

    def get_search_results(self, request, queryset, search_term):
        queryset, _ = super().get_search_results(request, queryset, search_term)
        return queryset, True  # searching through users may repeat an organisation


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "get_full_name", "organization", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "organization"]
    list_select_related = ["organization"]
    search_fields = ["email", "first_name", "last_name", "organization__name"]
    ordering = ["email"]
    actions = ["send_password_reset"]
    fieldsets = [
        (None, {"fields": ["email", "mailbox_username", "first_name", "last_name"]}),
        (
            "Organisation",
            {"fields": ["organization", "role", "groups_display", "can_start_salesflow_on_behalf"]},
        ),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "last_login", "date_joined"]}),
        ("Setup", {"fields": ["time_zone", "language", "onboarding", "onboarding_finished_at"]}),
    ]
    customer_owned = [
        "email",
        "mailbox_username",
        "first_name",
        "last_name",
        "organization",
        "role",
        "groups_display",
        "can_start_salesflow_on_behalf",
        "last_login",
        "date_joined",
        "time_zone",
        "language",
        "onboarding",
        "onboarding_finished_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people join by sign-up or invitation, never created behind the customer's back

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = list(self.customer_owned)
        if not request.user.is_superuser:
            fields.append("is_superuser")
        return fields

    @admin.display(description="groups")
    def groups_display(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.org_groups.all()) or "—"

    @admin.action(description="Email a password-reset link")
    def send_password_reset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        sent = 0
        for user in queryset.filter(is_active=True):
            form = PasswordResetForm({"email": user.email})
            if form.is_valid():
                form.save(request=request, use_https=request.is_secure())
                sent += 1
        self.message_user(request, f"Sent {sent} password-reset email(s).", messages.SUCCESS)


@admin.register(OrgGroup)
class OrgGroupAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "member_count", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrgGroup]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(ordering="member_count", description="members")
    def member_count(self, obj: OrgGroup) -> int:
        return obj.member_count


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "organization", "role", "status", "created_at", "expires_at", "send_count"]
    list_filter = ["role", "organization"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    exclude = ["token_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organization", "actor_email", "action", "target"]
    list_filter = ["action", "organization"]
    search_fields = ["actor_email", "target", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"


# --- Revenue intelligence: read-only for support (customers' data, changed only by sync and by
# their admins in the Admin Portal). Email bodies are never shown here.


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return list(self.fields or [])

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ActivityParticipantInline(_ReadOnlyInline):
    model = ActivityParticipant
    fields = ["email", "name", "role", "response", "person", "user"]


class ActivitySourceInline(_ReadOnlyInline):
    model = ActivitySource
    fields = ["user", "provider", "kind", "external_id"]


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ["name", "domain", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "domain", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["email", "name", "company", "organization", "in_address_book", "updated_at"]
    list_filter = ["in_address_book", "organization"]
    search_fields = ["email", "name", "company__name", "organization__name"]
    list_select_related = ["organization", "company"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "kind",
        "subject",
        "organization",
        "provider",
        "is_private",
        "sent_from_app",
    ]
    list_filter = ["kind", "provider", "is_private", "sent_from_app", "join_provider", "organization"]
    search_fields = ["subject", "dedupe_key", "sender_email", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "occurred_at"
    exclude = ["body"]
    inlines = [ActivityParticipantInline, ActivitySourceInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(MailRule)
class MailRuleAdmin(ReadOnlyAdmin):
    list_display = ["value", "action", "is_default", "organization", "created_by", "created_at"]
    list_filter = ["action", "is_default", "organization"]
    search_fields = ["value", "organization__name"]
    list_select_related = ["organization", "created_by"]


@admin.register(IngestionSkip)
class IngestionSkipAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "rule", "party", "organization"]
    list_filter = ["rule", "organization"]
    search_fields = ["party", "message_key", "organization__name"]
    list_select_related = ["organization"]
