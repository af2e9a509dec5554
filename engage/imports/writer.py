"""The batched pass over a whole file: decide every row's outcome (created, updated, skipped or
error), and — unless it is the validation pass — write the contacts and the per-row report.

Both passes share this code, so the validation's counts are what the import will do (give or
take contacts others add in between). Per batch of ``BATCH_SIZE`` rows: one query for the
existing contacts with those emails, one for CRM ids when a CRM id column is mapped, one for
accounts not yet seen in this run plus one insert of the missing ones, the bulk insert and
update of the contacts, and one insert noting them as the import's (``ImportedContact``) — never
a query per row. Per-run state is small: the emails and CRM ids seen so far (to catch duplicates
inside the file) and the account names resolved so far.

``on_batch`` runs inside each batch's transaction with what the batch did (``Batch``: the tally,
its report lines, the emails and CRM ids it took), so what the service saves there commits with
the contacts or not at all. A pass whose worker died carries on from there (``Resume``): after
the rows already committed, with their tally, report lines, emails and CRM ids.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from itertools import islice
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from copilot.models import User
from engage.imports.accounts import AccountResolver
from engage.imports.bulk import (
    contact_defaults,
    existing_contacts,
    insert_contacts,
    record_imported,
    update_contacts,
)
from engage.imports.outcomes import (
    CREATED,
    ERROR,
    SKIPPED,
    UPDATED,
    Batch,
    CrmIds,
    Decision,
    Emails,
    Existing,
    Resume,
    Tally,
    batched,
)
from engage.imports.parsing import iter_rows
from engage.imports.rows import CleanRow, clean_row, columns_for, guard_cell
from engage.models import Contact, ContactImport, ContactStatus
from engage.models.contacts import EDITABLE_FIELDS
from engage.services.profile import phone_region_for
from engage.services.statuses import statuses_ensure_defaults

BATCH_SIZE = 2_000
REPORT_HEADER = [
    "Import row (header = row 1, blank lines not counted)",
    "Import outcome",
    "Import column",
    "Import message",
    "Import email",
    "Import name",
]
# Plain contact fields a row may set: the form's editable fields but the email (the row's key)
# and the company (it comes with its account); status, owner and CRM id are handled apart.
_PLAIN = tuple(name for name in EDITABLE_FIELDS if name not in ("email", "company"))


class ImportPass:
    """One pass over ``contact_import``'s file. ``dry_run`` is the validation pass: it decides
    and counts but writes neither contacts, accounts nor report. ``on_batch`` is called with each
    ``Batch`` inside its transaction (the services save the counters there); ``resume`` carries
    on a pass that stopped."""

    def __init__(
        self,
        contact_import: ContactImport,
        *,
        dry_run: bool,
        report: IO[str] | None = None,
        on_batch: Callable[[Batch], None] | None = None,
        keep_problems: int = 50,
        batch_size: int | None = None,
        resume: Resume | None = None,
    ) -> None:
        self.imp = contact_import
        self.org = contact_import.organization
        self.dry_run = dry_run
        self.on_batch = on_batch
        self.keep_problems = keep_problems
        self.batch_size = batch_size or BATCH_SIZE
        self.update_existing = contact_import.on_duplicate == ContactImport.OnDuplicate.UPDATE
        self.columns = columns_for(contact_import.mapping, contact_import.headers)
        self.mapped = {c.field.key for c in self.columns}
        self.email_index = next((c.index for c in self.columns if c.field.key == "email"), None)
        self.report = report
        self.resume = resume
        self.tally = resume.tally.copy() if resume else Tally()
        # Per-run state: what earlier batches decided.
        self.seen_emails: Emails = dict(resume.emails) if resume else {}
        self.seen_crm: CrmIds = dict(resume.crm) if resume else {}
        self.accounts = AccountResolver(self.org)
        self.defaults = contact_defaults()
        self._load_lookups()

    # --- Lookups made once per run ------------------------------------------------------------
    def _load_lookups(self) -> None:
        statuses_ensure_defaults(organization=self.org)
        statuses = list(
            ContactStatus.objects.for_org(self.org)
            .order_by("position", "pk")
            .values_list("pk", "name", "is_default")
        )
        default = next((s for s in statuses if s[2]), statuses[0])
        self.default_status = (default[0], default[1])
        self.status_names = {pk: name for pk, name, _ in statuses}
        self.statuses = {name.casefold(): pk for pk, name in self.status_names.items()}
        self.users_by_email: dict[str, int] = {}
        self.users_by_name: dict[str, int | None] = {}
        if "owner" in self.mapped:
            users = User.objects.filter(organization=self.org, is_active=True)
            for pk, email, first, last in users.values_list("pk", "email", "first_name", "last_name"):
                self.users_by_email[email.lower()] = pk
                name = f"{first} {last}".strip().casefold()
                if name:  # two users with one name: the name alone says nobody
                    self.users_by_name[name] = None if name in self.users_by_name else pk
        self.importer_id = self.imp.created_by_id
        # Who owns the new contacts (a column's owner, when given and known, comes first).
        self.new_owner_id = self.importer_id
        teammate = self.imp.assigned_owner_id
        if (
            self.imp.owner_choice == ContactImport.OwnerChoice.TEAMMATE
            and teammate
            and User.objects.filter(pk=teammate, organization=self.org, is_active=True).exists()
        ):
            self.new_owner_id = teammate
        # Rows naming an owner who is not a user here (they get the importer): counted per run.
        self.unknown_owners = 0
        self._batch_unknown_owners = 0
        # Numbers without a country code in rows without a Country: read where the importer is.
        self.phone_region = phone_region_for(self.imp.created_by) if self.imp.created_by_id else None

    # --- The pass -------------------------------------------------------------------------------
    def run(self) -> Tally:
        if self.report is not None:
            csv.writer(self.report).writerow(REPORT_HEADER + [guard_cell(h) for h in self.imp.headers])
            if self.resume is not None:
                self.report.write(self.resume.report)
        header_count = len(self.imp.headers)
        with self.imp.file.open("rb") as fileobj:
            rows = iter_rows(fileobj, encoding=self.imp.encoding, delimiter=self.imp.delimiter)
            if self.resume is not None:  # committed before the worker died: read past them
                rows = islice(rows, self.resume.rows, None)
            for raw_batch in batched(rows, self.batch_size):
                cleaned = [
                    clean_row(number, cells, self.columns, header_count, region=self.phone_region)
                    for number, cells in raw_batch
                ]
                self._process(cleaned)
        return self.tally

    def _process(self, rows: list[CleanRow]) -> list[Decision]:
        """Decide and write one batch, and hand it to ``on_batch``, in one transaction. A
        unique-constraint clash means someone added one of these contacts meanwhile: the batch is
        rolled back and decided again once."""
        for attempt in (1, 2):
            self._batch_unknown_owners = 0
            try:
                with transaction.atomic():
                    decisions, emails, crm = self._decide(rows)
                    if not self.dry_run:
                        self._write(decisions)
                    batch = self._batch(decisions, emails, crm)
                    if self.on_batch:
                        self.on_batch(batch)
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            # Remembered only once the batch is committed: a rolled-back id must not stick.
            self.seen_emails.update(emails)
            self.seen_crm.update(crm)
            self.accounts.commit()
            self.unknown_owners += self._batch_unknown_owners
            self.tally = batch.tally
            if self.report is not None:
                self.report.write(batch.report)
            return decisions
        raise AssertionError("unreachable")

    def _batch(self, decisions: list[Decision], emails: Emails, crm: CrmIds) -> Batch:
        tally = self.tally.copy()
        lines = io.StringIO() if self.report is not None else None
        writer = csv.writer(lines) if lines is not None else None
        for decision in decisions:
            email = self._email_of(decision.row)
            tally.add(decision, keep=self.keep_problems, email=email)
            if writer is not None:
                writer.writerow(self._report_line(decision, email))
        return Batch(tally, len(decisions), lines.getvalue() if lines else "", emails, crm)

    def _decide(self, rows: list[CleanRow]):
        good = [row for row in rows if row.ok]
        existing = self._existing([row.email for row in good])
        crm_taken = self._crm_taken([key for row in good if (key := _crm_key(row))])
        emails: dict[str, int] = {}
        crm: dict[tuple[str, str], tuple[int, str]] = {}
        decisions = []
        for row in rows:
            if not row.ok:
                decisions.append(
                    Decision(
                        row,
                        ERROR,
                        "; ".join(dict.fromkeys(p.column for p in row.problems if p.column)),
                        " ".join(p.message for p in row.problems),
                    )
                )
                continue
            first = self.seen_emails.get(row.email) or emails.get(row.email)
            if first:
                decisions.append(
                    Decision(row, SKIPPED, row.headers["email"], f"Same email as row {first}: skipped.")
                )
                continue
            key = _crm_key(row)
            if key:
                clash = self._crm_clash(row, key, crm, crm_taken)
                if clash:
                    decisions.append(clash)
                    continue
                crm[key] = (row.number, row.email)
            emails[row.email] = row.number
            contact = existing.get(row.email)
            if contact is not None and not self.update_existing:
                decisions.append(
                    Decision(
                        row,
                        SKIPPED,
                        row.headers["email"],
                        "A contact with this email already exists: skipped, as you chose.",
                    )
                )
            else:
                decisions.append(
                    self._with_notes(Decision(row, UPDATED if contact else CREATED, contact=contact))
                )
        return decisions, emails, crm

    def _existing(self, emails: list[str]) -> dict[str, Existing]:
        if not emails:
            return {}
        return {
            email: Existing(pk, status_id) for email, pk, status_id in existing_contacts(self.org.pk, emails)
        }

    def _crm_taken(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if not keys:
            return {}
        qs = Contact.objects.for_org(self.org).filter(crm_id__in={crm_id for _, crm_id in keys})
        return {(t, i): email for t, i, email in qs.values_list("crm_type", "crm_id", "email")}

    def _crm_clash(self, row, key, batch_crm, crm_taken) -> Decision | None:
        header = row.headers["crm_contact_id" if key[0] == Contact.CrmType.CONTACT else "crm_lead_id"]
        earlier = self.seen_crm.get(key) or batch_crm.get(key)
        if earlier and earlier[1] != row.email:
            return Decision(
                row, ERROR, header, f"{key[0]} ID {key[1]} is also on row {earlier[0]} (another email)."
            )
        holder = crm_taken.get(key)
        if holder is not None and holder != row.email:
            who = f"the contact {holder}" if holder else "a contact without email"
            return Decision(row, ERROR, header, f"{key[0]} ID {key[1]} already belongs to {who}.")
        return None

    def _with_notes(self, decision: Decision) -> Decision:
        """Notes on values that could not be used as given (the row is still imported)."""
        row, contact = decision.row, decision.contact
        notes: list[tuple[str, str]] = []
        status = row.values.get("status")
        if status and status.casefold() not in self.statuses:
            if contact is None:
                notes.append(
                    (
                        row.headers["status"],
                        f"Status “{status}” is not in your list: set to {self.default_status[1]}.",
                    )
                )
            else:
                kept = self.status_names.get(contact.status_id, "")
                notes.append((row.headers["status"], f"Status “{status}” is not in your list: kept {kept}."))
        owner = row.values.get("owner")
        if owner and self._owner_id(owner) is None:
            self._batch_unknown_owners += 1
            if contact is None:
                notes.append(
                    (row.headers["owner"], f"Owner “{owner}” is not a user here: you are the owner.")
                )
            else:
                notes.append((row.headers["owner"], f"Owner “{owner}” is not a user here: owner unchanged."))
        if row.values.get("website") and not row.values.get("company"):
            notes.append((row.headers["website"], "Company website not used: the row has no company."))
        if notes:
            decision.column = "; ".join(dict.fromkeys(column for column, _ in notes))
            decision.message = " ".join(message for _, message in notes)
        return decision

    def _owner_id(self, value: str) -> int | None:
        return self.users_by_email.get(value.lower()) or self.users_by_name.get(
            " ".join(value.split()).casefold()
        )

    # --- Writing --------------------------------------------------------------------------------
    def _write(self, decisions: list[Decision]) -> None:
        now = timezone.now()
        to_write = [d for d in decisions if d.outcome in (CREATED, UPDATED)]
        account_ids = self.accounts.resolve([d.row for d in to_write], now)
        new: list[dict[str, Any]] = []
        changes: list[tuple[int, dict[str, Any]]] = []
        for decision in to_write:
            values = self._values(decision.row, account_ids)
            values["updated_at"] = now
            if decision.outcome == CREATED:
                new.append(
                    {
                        **self.defaults,
                        "organization_id": self.org.pk,
                        "email": decision.row.email,
                        "owner_id": self.new_owner_id,
                        "status_id": self.default_status[0],
                        "source": Contact.Source.IMPORT.value,
                        "created_at": now,
                        **values,
                    }
                )
            else:
                changes.append((decision.contact.pk, values))
        insert_contacts(new)
        update_contacts(self.org.pk, changes)
        # What the import's Salesforce push and link pass work on (engage.services.crm.linking).
        record_imported(self.org.pk, self.imp.pk, [d.row.email for d in to_write])

    def _values(self, row: CleanRow, account_ids: dict[str, int]) -> dict[str, Any]:
        """The row's non-empty values as contact attnames: an update never blanks a field."""
        given = row.values
        values = {key: given[key] for key in _PLAIN if key in given}
        if (status := given.get("status")) and (status_id := self.statuses.get(status.casefold())):
            values["status_id"] = status_id
        if (owner := given.get("owner")) and (owner_id := self._owner_id(owner)):
            values["owner_id"] = owner_id
        if company := given.get("company"):
            values["company"] = company
            values["account_id"] = account_ids[company.lower()]
        if key := _crm_key(row):
            values["crm_type"], values["crm_id"] = key
        return values

    def _email_of(self, row: CleanRow) -> str:
        """The clean email, else the email cell as given (for rows with errors)."""
        if row.email:
            return row.email
        if self.email_index is not None and self.email_index < len(row.cells):
            return row.cells[self.email_index].strip()
        return ""

    def _report_line(self, decision: Decision, email: str) -> list[Any]:
        row = decision.row
        return [
            row.number,
            decision.outcome,
            guard_cell(decision.column),
            guard_cell(decision.message),
            guard_cell(email),
            guard_cell(row.name),
            *map(guard_cell, row.cells),
        ]


def _crm_key(row: CleanRow) -> tuple[str, str] | None:
    """The row's CRM record: a Contact ID wins over a Lead ID (a converted lead has both)."""
    if crm_id := row.values.get("crm_contact_id"):
        return (Contact.CrmType.CONTACT.value, crm_id)
    if crm_id := row.values.get("crm_lead_id"):
        return (Contact.CrmType.LEAD.value, crm_id)
    return None
