"""Salesflows (F4, issue 13): sequences of email, call and task steps, the contacts enrolled in
them, and one row per send.

- ``Salesflow`` has ordered ``SalesflowStep``s (positions dense from 1 among the live steps; a
  deleted step is kept, soft-deleted, so history keeps its step); an email step may carry A/B
  ``SalesflowVariant``s.
- ``Enrolment`` is one contact in one flow: its state, its current step and when that is due
  (the scheduler walks ``(state, due_at)``). At most one active or paused enrolment per flow and
  contact. ``EnrolmentEvent`` is its history, which later issues (tracking, replies) add to.
- ``StepSend`` is one enrolment x step send, created with its deterministic Message-ID
  (``message_id_for``) before the provider is called, so a retry after a crash can look it up.
- ``SalesflowTemplate`` is the reusable template library; ``SellerTimeOff`` the seller's days off;
  ``EnrolmentJob`` a background enrolment of many contacts (engage/jobs.py).

Services: ``engage.salesflows.builder`` (flows, steps, templates), ``.enrolment`` (checks and
enrolling), ``.events`` (pause, resume, skip, remove, exit).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from copilot.tenant_models import TenantModel
from engage.salesflows.text import html_to_text


class Salesflow(TenantModel):
    """A sequence of steps. Its name is unique in the organisation among flows not archived."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        TEAM = "team", "My team"

    class OnReply(models.TextChoices):
        """What happens to the other people of a company in this flow when one of them replies."""

        NONE = "none", "Nothing: they carry on"
        PAUSE = "pause", "Pause them"
        EXIT = "exit", "Take them out of the Salesflow"

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="salesflows"
    )
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    exit_company_on_reply = models.CharField(
        "when someone at the company replies", max_length=10, choices=OnReply.choices, default=OnReply.NONE
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                condition=models.Q(archived_at__isnull=True),
                name="salesflow_unique_name_per_org",
            )
        ]

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    AUTO_EMAIL = "auto_email", "Automatic email"
    MANUAL_EMAIL = "manual_email", "Manual email"
    CALL = "call", "Phone call"
    TASK = "task", "Task"


EMAIL_KINDS = (StepKind.AUTO_EMAIL, StepKind.MANUAL_EMAIL)


class DelayUnit(models.TextChoices):
    MINUTES = "minutes", "minutes"
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    BUSINESS_DAYS = "business_days", "business days"


class SalesflowStep(TenantModel):
    """One step, due ``delay_amount`` ``delay_unit`` after the previous one (the first: after
    enrolment). Email steps have a subject and an HTML body; ``body_text`` is the plain-text part
    when the seller wrote one, else it is derived from the HTML when sent (``text_body``).
    ``reply_in_thread`` sends it as a reply to the flow's previous email step (not allowed on the
    first). Editing a step changes what is sent from then on; sends already made keep what they
    sent."""

    Kind = StepKind
    Unit = DelayUnit

    flow = models.ForeignKey(Salesflow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(help_text="1, 2, 3, … among the live steps")
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    delay_amount = models.PositiveIntegerField(default=0)
    delay_unit = models.CharField(max_length=20, choices=DelayUnit.choices, default=DelayUnit.DAYS)
    subject = models.CharField(max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True, help_text="Plain-text part; derived from the HTML when blank.")
    reply_in_thread = models.BooleanField(
        default=False, help_text="Sent as a reply in the thread of the previous email step."
    )
    task_text = models.TextField(blank=True, help_text="What to do (tasks), notes for the call (calls).")
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["flow", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "position"],
                condition=models.Q(deleted_at__isnull=True),
                name="salesflowstep_unique_position",
            )
        ]

    def __str__(self) -> str:
        return f"Step {self.position}: {self.get_kind_display()}"

    @property
    def is_email(self) -> bool:
        return self.kind in EMAIL_KINDS

    def text_body(self) -> str:
        return self.body_text or html_to_text(self.body_html)


class SalesflowVariant(TenantModel):
    """An A/B variant of an email step: its own subject and body, sent to ``weight`` per cent of
    the step's sends. A winner is declared by a significance test (a later issue), never by eye."""

    step = models.ForeignKey(SalesflowStep, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=2, help_text="A, B, …")
    subject = models.CharField(max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField(default=50, help_text="Share of the step's sends, in per cent")
    active = models.BooleanField(default=True)
    winner = models.BooleanField(default=False)
    declared_at = models.DateTimeField(null=True, blank=True, help_text="When the winner was declared")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step", "label"]
        constraints = [
            models.UniqueConstraint(fields=["step", "label"], name="salesflowvariant_unique_label"),
            models.CheckConstraint(condition=models.Q(weight__lte=100), name="salesflowvariant_weight_pct"),
        ]

    def __str__(self) -> str:
        return f"Variant {self.label}"

    def text_body(self) -> str:
        return self.body_text or html_to_text(self.body_html)


class Enrolment(TenantModel):
    """One contact in one Salesflow, sent from ``sender``'s mailbox inside ``sender``'s hours.
    ``current_step`` is the step to do next and ``due_at`` when (none once finished or exited)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"
        EXITED = "exited", "Exited"

    class ExitReason(models.TextChoices):
        REPLIED = "replied", "Replied"
        BOUNCED = "bounced", "Bounced"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        MEETING_BOOKED = "meeting_booked", "Meeting booked"
        STATUS_CHANGED = "status_changed", "Status changed"
        REMOVED = "removed", "Removed by the seller"
        COMPANY_REPLIED = "company_replied", "Someone at the company replied"
        FLOW_ARCHIVED = "flow_archived", "Salesflow archived"

    class PauseReason(models.TextChoices):
        SELLER = "seller", "Paused by the seller"
        UNTIL_DATE = "until_date", "Paused until a date"
        MAILBOX_DISCONNECTED = "mailbox_disconnected", "Mailbox disconnected"
        TIME_OFF = "time_off", "Seller on time off"
        COMPANY_REPLIED = "company_replied", "Someone at the company replied"
        SEND_FAILED = "send_failed", "The mail provider refused the email"
        NEEDS_ATTENTION = "needs_attention", "Needs attention: a merge field has no value"

    LIVE_STATES = (State.ACTIVE, State.PAUSED)

    flow = models.ForeignKey(Salesflow, on_delete=models.CASCADE, related_name="enrolments")
    contact = models.ForeignKey("engage.Contact", on_delete=models.CASCADE, related_name="enrolments")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="salesflow_enrolments",
        help_text="Whose mailbox and hours it uses",
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    exit_reason = models.CharField(max_length=20, choices=ExitReason.choices, blank=True)
    pause_reason = models.CharField(max_length=25, choices=PauseReason.choices, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    current_step = models.ForeignKey(
        SalesflowStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    last_step_at = models.DateTimeField(
        null=True, blank=True, help_text="When the previous step was done (or the enrolment started)"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    exited_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The send engine's claim (engage.salesflows.sending): who is sending its due step, until when.
    claimed_by = models.CharField(max_length=200, blank=True, help_text="The worker sending its step")
    claim_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="enrolment_state_due_idx"),
            models.Index(fields=["contact", "state"], name="enrolment_contact_state_idx"),
            models.Index(fields=["flow", "state"], name="enrolment_flow_state_idx"),
            # The seller's Actions queue and its counts (engage.salesflows.actions): a sender's
            # active (or paused for attention) enrolments in due order; the engine's sender
            # pauses and resumes use its (sender, state) prefix.
            models.Index(fields=["sender", "state", "due_at", "id"], name="enrolment_sender_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "contact"],
                condition=models.Q(state__in=["active", "paused"]),
                name="enrolment_one_live_per_flow_contact",
            )
        ]

    def __str__(self) -> str:
        return f"Enrolment {self.pk} ({self.state})"

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES


class EnrolmentEvent(TenantModel):
    """What happened to an enrolment, in order: enrolled, paused, resumed, step skipped, exited, …
    ``data`` holds the particulars (the step, the reason, who)."""

    class Kind(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        STEP_SKIPPED = "step_skipped", "Step skipped"
        STEP_DELETED = "step_deleted", "Step deleted; moved on"
        EXITED = "exited", "Exited"
        FINISHED = "finished", "Finished"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["enrolment", "at", "id"]
        indexes = [models.Index(fields=["enrolment", "at"], name="enrolmentevent_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


def message_id_for(*, organization_id: int, enrolment_id: int, step_id: int, domain: str) -> str:
    """The Message-ID (without ``<>``) of an enrolment's send of a step: the same on every try, so
    a retry after a crash can find the message in the sender's Sent mail instead of sending it
    again, and unique (it names the organisation, the enrolment and the step)."""
    domain = (domain or "").strip().lower() or "cadence.invalid"
    return f"sf-{organization_id}-{enrolment_id}-{step_id}@{domain}"


class StepSend(TenantModel):
    """One enrolment's send of one step (one row per enrolment x step), made with its
    ``message_id`` before the provider is called. ``error`` is the provider's reason, shown to the
    seller; ``needs_attention`` is a send that cannot be made as it stands (a merge field without
    a value) and waits in the seller's queue. ``sending`` means the provider may have been called
    (since ``sending_at``): the engine looks the message up before trying again
    (``engage.salesflows.sending``)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        SKIPPED = "skipped", "Skipped"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="sends")
    step = models.ForeignKey(SalesflowStep, on_delete=models.CASCADE, related_name="sends")
    variant = models.ForeignKey(
        SalesflowVariant, on_delete=models.SET_NULL, null=True, blank=True, related_name="sends"
    )
    message_id = models.CharField("Message-ID", max_length=255)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    provider_message_id = models.CharField(max_length=255, blank=True)
    thread_id = models.CharField(max_length=255, blank=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The mailbox it went from (for the mailbox's caps)",
    )
    subject = models.CharField(max_length=998, blank=True, help_text="As sent (a threaded reply's 'Re: …')")
    recipient_domain = models.CharField(max_length=253, blank=True, help_text="For the per-domain cap")
    error = models.TextField(blank=True, help_text="The provider's reason, shown to the seller")
    due_at = models.DateTimeField(null=True, blank=True)
    sending_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider was last about to be called"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Sending attempts begun")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["enrolment", "step__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "step"], name="stepsend_one_per_enrolment_step"),
            models.UniqueConstraint(fields=["organization", "message_id"], name="stepsend_unique_message_id"),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="stepsend_state_due_idx"),
            models.Index(fields=["sender", "sent_at"], name="stepsend_sender_sent_idx"),
            models.Index(
                fields=["organization", "recipient_domain", "sent_at"], name="stepsend_domain_sent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"<{self.message_id}> ({self.state})"


class SalesflowTemplate(TenantModel):
    """A reusable email: the owner's alone, or shared with the team."""

    class Sharing(models.TextChoices):
        PERSONAL = "personal", "Only me"
        TEAM = "team", "My team"

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="salesflow_templates",
    )
    shared = models.CharField(max_length=10, choices=Sharing.choices, default=Sharing.PERSONAL)
    subject = models.CharField(max_length=500, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SellerTimeOff(TenantModel):
    """Days a seller is away (both inclusive, in their time zone): their sends and due actions
    wait until after it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off")
    start_date = models.DateField()
    end_date = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "start_date"]
        verbose_name_plural = "seller time off"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="sellertimeoff_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.start_date} – {self.end_date}"


class EnrolmentJob(TenantModel):
    """Enrolling more contacts than ``ENROL_INLINE_MAX`` at once, in the background (a job of
    engage/jobs.py): chunk by chunk, each committed with its counters and position (``processed``:
    how many of ``contact_ids`` are done), so the dialog shows progress and a take-over carries on."""

    ERRORS_KEPT = 200

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    flow = models.ForeignKey(Salesflow, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    contact_ids = models.JSONField(default=list, help_text="The contacts accepted when the seller confirmed")
    start_at = models.DateTimeField(null=True, blank=True)
    override_warnings = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    enrolled_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text='Contacts refused when their turn came: [{"id", "reason"}]'
    )
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The process running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Enrolment job {self.pk} ({self.status})"


class CallLog(TenantModel):
    """One phone call a seller logged (F7's call log): from a Salesflow call step in the Actions
    queue (``enrolment`` and ``step`` set; one log per enrolment x step, so a second submit of
    the same form logs nothing), and later from the dialer, which adds sentiment, voicemail,
    recording and duration."""

    class Result(models.TextChoices):
        CONNECTED_DIRECT = "connected_direct", "Connected via direct line"
        CONNECTED_SWITCHBOARD = "connected_switchboard", "Connected via switchboard"
        REFERRED = "referred", "Referred to colleague"
        LEFT_MESSAGE = "left_message", "Left message"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        GATEKEEPER = "gatekeeper", "Gatekeeper - blocked"

    # The results that are conversations (F7: sentiment applies to these only).
    CONVERSATIONS = (Result.CONNECTED_DIRECT, Result.CONNECTED_SWITCHBOARD, Result.REFERRED)

    contact = models.ForeignKey(
        "engage.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="call_logs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="call_logs",
        help_text="Who called",
    )
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.SET_NULL, null=True, blank=True, related_name="call_logs"
    )
    step = models.ForeignKey(
        SalesflowStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=255)
    result = models.CharField(max_length=30, choices=Result.choices)
    comments = models.TextField(blank=True)
    logged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-logged_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "logged_at"], name="calllog_contact_at_idx"),
            models.Index(fields=["user", "logged_at"], name="calllog_user_at_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "step"],
                condition=models.Q(enrolment__isnull=False),
                name="calllog_one_per_enrolment_step",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.get_result_display()})"

    @property
    def is_conversation(self) -> bool:
        return self.result in self.CONVERSATIONS
