"""CSV imports of contacts (F1). The uploaded file and the per-row report live in file storage;
this row holds what the wizard chose and the progress the page polls."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from copilot.tenant_models import TenantModel


class ContactImport(TenantModel):
    class Status(models.TextChoices):
        MAPPING = "mapping", "Choosing columns"
        VALIDATING = "validating", "Checking rows"
        VALIDATED = "validated", "Checked, ready to import"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    class OnDuplicate(models.TextChoices):
        UPDATE = "update", "Update the existing contact"
        SKIP = "skip", "Skip the row"

    class OwnerChoice(models.TextChoices):
        ME = "me", "Me"
        TEAMMATE = "teammate", "A teammate"
        COLUMN = "column", "The owner’s email in a column of the file"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=20, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    headers = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0, help_text="Data rows in the file")
    mapping = models.JSONField(default=dict, blank=True, help_text="column index -> contact field")
    on_duplicate = models.CharField(max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.UPDATE)
    # Who owns the contacts the import creates: the importer, a chosen teammate, or the user whose
    # email a column gives (unknown emails: the importer, noted in the row report).
    owner_choice = models.CharField(max_length=10, choices=OwnerChoice.choices, default=OwnerChoice.ME)
    assigned_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The teammate owning the new contacts (owner choice “a teammate”).",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.MAPPING)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    validation = models.JSONField(default=dict, blank=True, help_text="Counts from the validation pass")
    report = models.FileField(upload_to="imports/reports/%Y/%m/", blank=True)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Taking over a pass whose worker died (engage/jobs.py): who runs it and its last sign of life.
    # The import pass carries on after ``processed_rows``, saved with each chunk it commits.
    worker = models.CharField(max_length=200, blank=True, help_text="The process running the pass.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    takeovers = models.PositiveSmallIntegerField(
        default=0, help_text="Take-overs after a dead worker since the last chunk was stored."
    )

    # Creating and linking the imported people in Salesforce afterwards (CRM setting "create them
    # in Salesforce"): the page shows "Linking to Salesforce: N of M" while it runs, then the result.
    class CrmPush(models.TextChoices):
        NONE = "", "Not pushed"
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Linking"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"

    crm_push_status = models.CharField(max_length=10, choices=CrmPush.choices, default="", blank=True)
    crm_push_total = models.PositiveIntegerField(default=0)
    crm_pushed = models.PositiveIntegerField(default=0, help_text="Contacts handled so far")
    crm_linked = models.PositiveIntegerField(default=0, help_text="Linked to people already in Salesforce")
    crm_created = models.PositiveIntegerField(default=0, help_text="Created in Salesforce")
    crm_push_errors = models.PositiveIntegerField(default=0)
    crm_push_message = models.TextField(blank=True, help_text="Why the push stopped, for people")
    crm_push_at = models.DateTimeField(null=True, blank=True, help_text="The push's last sign of life")
    # The push is a job of engage/jobs.py (``ContactImportPush`` names these columns as the job
    # functions expect): carried on after the last contact it stored when its worker died.
    crm_push_started_at = models.DateTimeField(null=True, blank=True)
    crm_push_worker = models.CharField(max_length=200, blank=True, help_text="The process running the push.")
    crm_push_takeovers = models.PositiveSmallIntegerField(
        default=0, help_text="Take-overs after a dead worker since the push last stored a chunk."
    )
    crm_push_after_id = models.PositiveBigIntegerField(
        default=0, help_text="The last contact (id) of the chunks the push has stored."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import of {self.original_name}"

    @property
    def percent(self) -> int:
        if not self.row_count:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.row_count))


class ContactImportPush(TenantModel):
    """An import's Salesforce push as a job of ``engage.jobs``: the ``crm_push_*`` columns of the
    import's own row under the names the job functions use (``status``, ``started_at``,
    ``worker``, ``heartbeat_at``, ``takeovers``). Not a table of its own (``managed = False``):
    the page keeps reading the import; the push's task claims, saves and finishes through this."""

    Status = ContactImport.CrmPush

    # The import's row: deleting an organisation or a user is the import's business.
    organization = models.ForeignKey(
        "copilot.Organization", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        related_name="+",
        db_constraint=False,
    )
    status = models.CharField(
        max_length=10,
        choices=ContactImport.CrmPush.choices,
        default="",
        blank=True,
        db_column="crm_push_status",
    )
    total = models.PositiveIntegerField(default=0, db_column="crm_push_total")
    pushed = models.PositiveIntegerField(default=0, db_column="crm_pushed")
    linked = models.PositiveIntegerField(default=0, db_column="crm_linked")
    created = models.PositiveIntegerField(default=0, db_column="crm_created")
    errors = models.PositiveIntegerField(default=0, db_column="crm_push_errors")
    message = models.TextField(blank=True, db_column="crm_push_message")
    started_at = models.DateTimeField(null=True, blank=True, db_column="crm_push_started_at")
    worker = models.CharField(max_length=200, blank=True, db_column="crm_push_worker")
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_column="crm_push_at")
    takeovers = models.PositiveSmallIntegerField(default=0, db_column="crm_push_takeovers")
    after_id = models.PositiveBigIntegerField(default=0, db_column="crm_push_after_id")

    class Meta:
        managed = False
        db_table = ContactImport._meta.db_table

    def __str__(self) -> str:
        return f"Salesforce push of import {self.pk}"


class ImportedContact(TenantModel):
    """A contact an import created or updated (written with each chunk of the import pass, in
    its transaction): what the import's Salesforce push and link pass work on, and nothing else
    (not the contacts other people add or edit while the import runs)."""

    contact_import = models.ForeignKey(ContactImport, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("engage.Contact", on_delete=models.CASCADE, related_name="import_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact_import", "contact"], name="imported_contact_once"),
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} of import {self.contact_import_id}"
