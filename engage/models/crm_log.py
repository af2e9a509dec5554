"""What Engage writes to Salesforce (G9–G13): the audit row of every write, and the activity
Tasks (calls and email events) waiting to be sent or already sent.

Salesforce stays the source of truth: Engage creates Leads, Contacts and Tasks, updates only
Lead Status and Email Opt Out, and never deletes (``engage.services.crm.writes`` enforces it). Each
attempt leaves a ``CrmWriteLog`` row — admins read them in Admin Portal › CRM › Write log,
sellers see the latest refusal on the contact's page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from copilot.tenant_models import TenantModel, TenantQuerySet


class CrmWriteLogQuerySet(TenantQuerySet):
    def status_not_written(self) -> CrmWriteLog | None:
        """The latest Lead Status write of these rows (``contact.crm_writes``) when it was skipped
        or refused: the notice the seller sees next to the contact's status. None when the latest
        went through (or there is none)."""
        latest = self.filter(action=CrmWriteLog.Action.UPDATE_STATUS).order_by("-created_at", "-id").first()
        return latest if latest is not None and latest.result != CrmWriteLog.Result.OK else None


class CrmWriteLog(TenantModel):
    """One write to Salesforce (or one batch of Tasks), as attempted. ``request`` holds the
    fields written, never credentials; ``message`` is the sentence shown to people."""

    class Action(models.TextChoices):
        CREATE_LEAD = "create_lead", "Create lead"
        CREATE_CONTACT = "create_contact", "Create contact"
        UPDATE_STATUS = "update_status", "Update lead status"
        UPDATE_OPT_OUT = "update_opt_out", "Update email opt-out"
        CREATE_TASKS = "create_tasks", "Create activity tasks"

    class Result(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"
        SKIPPED = "skipped", "Skipped"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    sobject = models.CharField("CRM object", max_length=40)
    record_id = models.CharField("CRM id", max_length=18, blank=True)
    contact = models.ForeignKey(
        "engage.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="crm_writes"
    )
    request = models.JSONField("fields written", default=dict, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices)
    error_code = models.CharField(max_length=80, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CrmWriteLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CRM write"
        indexes = [
            models.Index(fields=["organization", "created_at"], name="crmwrite_org_created_idx"),
            models.Index(fields=["contact", "created_at"], name="crmwrite_contact_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.record_id}" if self.record_id else ""
        return f"{self.get_action_display()} {self.sobject}{target}: {self.result}"


class CrmActivity(TenantModel):
    """A completed Task to log in Salesforce for a call (G11) or an email event (G12).

    ``idempotency_key`` (unique per organisation, e.g. ``call:17`` or ``email:<message id>:opened:1``)
    stops the same event from being queued twice; it also travels in the Task's ``CallObject``,
    so a flush that crashed after Salesforce created the Task adopts it instead of creating it
    again. ``payload`` holds the Task's fields except ``WhoId``, which is read from the contact's
    link when the Task is sent."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL_EVENT = "email_event", "Email event"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    contact = models.ForeignKey(
        "engage.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="crm_activities"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    salesforce_task_id = models.CharField("Salesforce Task id", max_length=18, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "CRM activity"
        verbose_name_plural = "CRM activities"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"], name="crmactivity_unique_key_per_org"
            )
        ]
        indexes = [models.Index(fields=["organization", "state", "id"], name="crmactivity_org_state_idx")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"
