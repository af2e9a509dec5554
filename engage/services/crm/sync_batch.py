"""Applying one page of Salesforce Leads or Contacts to the organisation's contacts (G5, G6), for
``engage.services.crm.sync_handler``.

One batch (≤ 2,000 records, one query page) is one transaction with a bounded number of queries
whatever its size: the organisation's mapping, statuses and users; the contacts already linked to
these records or holding their emails (one query); for Contacts, their Accounts; then a bulk
insert and a bulk update (``engage.imports.bulk``: COPY on PostgreSQL). Per record:

- linked by ``(crm_type, crm_id)``; a record not linked yet is linked to the Engage contact with
  its email instead of creating a duplicate (F2 from the other direction);
- values come from the field mapping (``apply_mapping``): rows "Salesforce → Engage" always
  overwrite, bi-directional rows ("most recent wins") only when the record's SystemModstamp is
  newer than the contact's ``updated_at``;
- Contact Status by the picklist's API value (``ContactStatus.crm_value``, else the status's
  name); an unknown value gives a new contact the default status and leaves an existing one's;
- the owner is the organisation's active user with the Salesforce owner's email, when there is
  one; otherwise the fallback owner — the CRM settings' ``fallback_owner``, else whoever started
  the poll or import (``owners_default_to``) — for a new contact or one without an owner (an
  existing owner stays). Owners of a page are read in one query, by the page's set of emails;
  the result counts ``owned_by_email`` and ``owned_by_fallback``;
- phones are kept in E.164, read in the record's country, else the owner's (their profile's
  country, else their own phone's, else their time zone's); a value that is not a number
  leaves the field empty (the text stays in Salesforce) and is counted in the log line
  ``engage.crm.phones_dropped``;
- a record whose values are already there is counted ``unchanged`` and not written, so applying
  the same batch twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from copilot import phones
from copilot.models import Organization, User
from engage.crm.fields import CONTACT, engage_field
from engage.crm.mapping import BOTH, MappingRow, apply_mapping
from engage.imports.bulk import contact_defaults, insert_contacts, update_contacts
from engage.models import Account, Contact, ContactStatus
from engage.services.crm.configuration import crm_settings_for, mapping_rows
from engage.services.statuses import statuses_ensure_defaults
from integrations.records import BatchResult, CrmRecord

OWNER_EMAIL = "Owner.Email"  # the owner's email, to find the Engage user (when Salesforce can say)
logger = logging.getLogger(__name__)
# Who started the poll or import being applied: the owner when neither the Salesforce owner's
# email nor the settings' fallback owner gives one (``owners_default_to``).
_STARTER: ContextVar[int | None] = ContextVar("crm_owner_starter", default=None)
# The contact columns read to compare a record with what Engage has.
_ALWAYS_READ = ("id", "email", "crm_type", "crm_id", "status_id", "owner_id", "account_id", "updated_at")


@contextmanager
def owners_default_to(user_id: int | None) -> Iterator[None]:
    """Within the block, records applied whose Salesforce owner is no Cadence user (and with no
    fallback owner in the CRM settings) are owned by ``user_id``: the admin who started the poll,
    the seller who imported the list view."""
    token = _STARTER.set(user_id)
    try:
        yield
    finally:
        _STARTER.reset(token)


@dataclass
class _Existing:
    """A contact as the batch found it: its columns by attname."""

    values: dict[str, Any]

    @property
    def pk(self) -> int:
        return self.values["id"]


class SyncBatch:
    def __init__(self, organization: Organization, object_name: str, records: list[CrmRecord]) -> None:
        self.org = organization
        self.object_name = object_name
        # One record per id: the latest version wins (a page never repeats one, but be sure).
        latest: dict[str, CrmRecord] = {}
        for record in records:
            if record.id not in latest or record.modstamp >= latest[record.id].modstamp:
                latest[record.id] = record
        self.records = list(latest.values())
        self.result = BatchResult()
        self.now = timezone.now()

    # --- Lookups (a fixed number of queries per batch) --------------------------------------------
    def _load(self) -> None:
        settings_row = crm_settings_for(self.org)
        self.associate_accounts = self.object_name == CONTACT and settings_row.auto_associate_accounts
        self.rows: list[MappingRow] = [
            r
            for r in mapping_rows(organization=self.org, sobject=self.object_name)
            if r.crm_field and engage_field(r.engage_field, self.object_name) is not None
        ]
        self.directions = {r.engage_field: r.direction for r in self.rows}
        # The contact columns the mapping fills directly (status goes through ``_status_id``).
        self.columns = [name for name in self.directions if name != "status"]
        statuses = list(
            ContactStatus.objects.for_org(self.org).values_list("pk", "name", "crm_value", "is_default")
        )
        if not statuses:
            statuses_ensure_defaults(organization=self.org)
            statuses = list(
                ContactStatus.objects.for_org(self.org).values_list("pk", "name", "crm_value", "is_default")
            )
        self.default_status = next((s[0] for s in statuses if s[3]), statuses[0][0])
        self.status_by_name = {name.casefold(): pk for pk, name, _, _ in statuses}
        self.status_by_crm = {crm: pk for pk, _, crm, _ in statuses if crm}
        self.users: dict[str, int] = {}
        self.regions: dict[str, str | None] = {}  # owner email -> where their numbers are read
        self.fallback_owner: int | None = None
        owner_emails = sorted({e for r in self.records if (e := _owner_email(r.fields))})
        fallbacks = [i for i in (settings_row.fallback_owner_id, _STARTER.get()) if i]
        if owner_emails or fallbacks:
            # One query: the owners by the page's emails, and the fallback candidates.
            users = (
                User.objects.filter(organization=self.org, is_active=True)
                .annotate(lower_email=Lower("email"))
                .filter(Q(lower_email__in=owner_emails) | Q(pk__in=fallbacks))
                .values_list("lower_email", "pk", "seller_profile__country", "phone", "time_zone")
            )
            active: set[int] = set()
            for email, pk, country, phone, zone in users:
                active.add(pk)
                if email in owner_emails:
                    self.users[email] = pk
                    self.regions[email] = phones.person_region(
                        country=country or "", phone=phone, time_zone=zone
                    )
            # The settings' fallback owner, else the starter — whichever is an active user here.
            self.fallback_owner = next((i for i in fallbacks if i in active), None)
        # What every new contact of this batch starts from; the record's values go on top.
        self.new_base = {
            **contact_defaults(),
            "organization_id": self.org.pk,
            "source": Contact.Source.CRM.value,
            "crm_type": self.object_name,
            "created_at": self.now,
            "updated_at": self.now,
            "status": None,
        }

    def _existing(self, emails: Iterable[str]) -> tuple[dict[str, _Existing], dict[str, _Existing]]:
        """Contacts linked to these records, and contacts holding these emails: one query."""
        columns = list(dict.fromkeys([*_ALWAYS_READ, *self.columns]))
        ids = [r.id for r in self.records]
        emails = sorted(set(emails))
        by_id: dict[str, _Existing] = {}
        by_email: dict[str, _Existing] = {}
        for values in self._contacts_matching(columns, ids, emails):
            contact = _Existing(values)
            if values["crm_type"] == self.object_name and values["crm_id"]:
                by_id[values["crm_id"]] = contact
            if values["email"]:
                by_email[values["email"]] = contact
        return by_id, by_email

    def _contacts_matching(self, columns: list[str], ids: list[str], emails: list[str]) -> Iterable[dict]:
        if connection.vendor != "postgresql":
            # ``<> ''`` repeats the unique indexes' conditions, so the database may use them.
            condition = Q(crm_type=self.object_name, crm_id__in=ids) & ~Q(crm_id="")
            if emails:
                condition |= Q(email__in=emails) & ~Q(email="")
            return Contact.objects.for_org(self.org).filter(condition).values(*columns)
        # PostgreSQL: two array parameters instead of 4,000 separate ones (which cost more to
        # build than to run); ``<> ''`` repeats the partial unique indexes' conditions so the
        # planner may use them.
        quote = connection.ops.quote_name
        table = quote(Contact._meta.db_table)
        select = ", ".join(quote(Contact._meta.get_field(a).column) for a in columns)
        sql = (
            f"SELECT {select} FROM {table} WHERE organization_id = %s AND crm_type = %s "  # noqa: S608 (identifiers from the model)
            f"AND crm_id = ANY(%s) AND crm_id <> '' "
            f"UNION SELECT {select} FROM {table} WHERE organization_id = %s AND email = ANY(%s) AND email <> ''"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.org.pk, self.object_name, ids, self.org.pk, emails])
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    # --- The batch --------------------------------------------------------------------------------
    def run(self) -> BatchResult:
        self._load()
        dropped: list[str] = []
        mapped = {
            r.id: apply_mapping(
                r.fields,
                self.rows,
                phone_region=self.regions.get(_owner_email(r.fields) or ""),
                dropped_phones=dropped,
            )
            for r in self.records
        }
        if dropped:
            logger.info(
                "engage.crm.phones_dropped",
                extra={"organization_id": self.org.pk, "sobject": self.object_name, "count": len(dropped)},
            )
        emails = {r.id: _email_of(r, mapped[r.id]) for r in self.records}
        by_id, by_email = self._existing(e for e in emails.values() if e)
        accounts = self._accounts() if self.associate_accounts else {}

        new: list[dict[str, Any]] = []
        changes: list[tuple[int, dict[str, Any]]] = []
        claimed: dict[str, str] = {}  # email -> Salesforce id, within this batch
        created = updated = unchanged = owned_by_email = owned_by_fallback = 0
        errors: list[tuple[str, str]] = []
        for record in self.records:
            if record.fields.get("IsDeleted"):
                unchanged += 1  # the sync unlinks deleted records through ``unlink``
                continue
            values = mapped[record.id]
            email = emails[record.id]
            contact = by_id.get(record.id)
            holder = by_email.get(email) if email else None
            if contact is None and holder is not None:
                if holder.values["crm_id"]:
                    errors.append((record.id, _linked_elsewhere(email, holder)))
                    continue
                contact = holder  # an Engage contact with this email: link it, never duplicate
            if email:
                if holder is not None and contact is not None and holder.pk != contact.pk:
                    errors.append(
                        (record.id, f"Its email {email} belongs to another Cadence contact: not updated.")
                    )
                    continue
                if email in claimed:
                    errors.append(
                        (record.id, f"Salesforce record {claimed[email]} has the same email {email}.")
                    )
                    continue
                claimed[email] = record.id
            owner_id = self.users.get(_owner_email(record.fields) or "")
            if owner_id is not None:
                owned_by_email += 1
            elif self.fallback_owner is not None and (contact is None or contact.values["owner_id"] is None):
                owner_id = self.fallback_owner
                owned_by_fallback += 1
            account_id = accounts.get(str(record.fields.get("AccountId") or ""))
            if contact is None:
                new.append(self._new_row(record, values, email, owner_id, account_id))
                created += 1
                continue
            change = self._changes(record, values, contact, owner_id, account_id)
            if change:
                change["updated_at"] = self.now
                changes.append((contact.pk, change))
                updated += 1
            else:
                unchanged += 1
        insert_contacts(new)
        update_contacts(self.org.pk, changes)
        return BatchResult(
            created=created,
            updated=updated,
            unchanged=unchanged,
            errors=errors,
            owned_by_email=owned_by_email,
            owned_by_fallback=owned_by_fallback,
        )

    def _status_id(self, value: Any) -> int | None:
        text = str(value or "")
        if not text:
            return None
        return self.status_by_crm.get(text) or self.status_by_name.get(text.casefold())

    def _new_row(
        self,
        record: CrmRecord,
        values: Mapping[str, Any],
        email: str,
        owner_id: int | None,
        account_id: int | None,
    ) -> dict[str, Any]:
        row = dict(self.new_base)
        row.update(values)
        del row["status"]
        row.update(
            crm_id=record.id,
            owner_id=owner_id,
            account_id=account_id,
            status_id=self._status_id(values.get("status")) or self.default_status,
            email=email,
        )
        return row

    def _changes(
        self,
        record: CrmRecord,
        values: Mapping[str, Any],
        contact: _Existing,
        owner_id: int | None,
        account_id: int | None,
    ) -> dict[str, Any]:
        """The columns this record changes on ``contact`` (empty: nothing to write)."""
        current = contact.values
        newer = _newer(record.modstamp, current["updated_at"])
        change: dict[str, Any] = {}
        for name, value in values.items():
            direction = self.directions.get(name)
            if direction is None or (direction == BOTH and not newer):
                continue
            if name == "status":
                status_id = self._status_id(value)
                if status_id is not None and status_id != current["status_id"]:
                    change["status_id"] = status_id
                continue
            if current.get(name) != value:
                change[name] = value
        if current["crm_type"] != self.object_name or current["crm_id"] != record.id:
            change["crm_type"], change["crm_id"] = self.object_name, record.id
        if owner_id is not None and owner_id != current["owner_id"]:
            change["owner_id"] = owner_id
        if account_id is not None and account_id != current["account_id"]:
            change["account_id"] = account_id
        return change

    # --- Accounts (Contacts only) -----------------------------------------------------------------
    def _accounts(self) -> dict[str, int]:
        """Salesforce Account id -> Engage account id for this batch's Contacts: linked by
        ``crm_id``; else an unlinked Engage account of the same name is linked; else created."""
        names: dict[str, str] = {}
        for record in self.records:
            account_id = str(record.fields.get("AccountId") or "")
            name = _nested(record.fields, "Account", "Name")
            if account_id and name:
                names[account_id] = str(name).strip()[: Account._meta.get_field("name").max_length]
        if not names:
            return {}
        found: dict[str, int] = {}
        renamed: list[Account] = []
        for account in (
            Account.objects.for_org(self.org).filter(crm_id__in=list(names)).only("pk", "crm_id", "name")
        ):
            found[account.crm_id] = account.pk
            if names[account.crm_id] and account.name != names[account.crm_id]:
                account.name, account.updated_at = names[account.crm_id], self.now
                renamed.append(account)
        if renamed:
            Account.objects.bulk_update(renamed, ["name", "updated_at"])
        missing = {crm_id: name for crm_id, name in names.items() if crm_id not in found}
        if missing:
            wanted = {name.lower() for name in missing.values()}
            unlinked = (
                Account.objects.for_org(self.org)
                .filter(crm_id="")
                .annotate(lower_name=Lower("name"))
                .filter(lower_name__in=wanted)
                .values_list("pk", "lower_name")
            )
            by_name = {}
            for pk, lower_name in unlinked:
                by_name.setdefault(lower_name, pk)
            link: list[Account] = []
            create: list[Account] = []
            for crm_id, name in missing.items():
                pk = by_name.pop(name.lower(), None)
                if pk is not None:
                    link.append(Account(pk=pk, crm_id=crm_id, updated_at=self.now))
                    found[crm_id] = pk
                else:
                    create.append(
                        Account(
                            organization=self.org,
                            name=name,
                            crm_id=crm_id,
                            created_at=self.now,
                            updated_at=self.now,
                        )
                    )
            if link:
                Account.objects.bulk_update(link, ["crm_id", "updated_at"])
            for account in Account.objects.bulk_create(create):
                found[account.crm_id] = account.pk
            if create and any(a.pk is None for a in create):  # backends that return no ids
                created = Account.objects.for_org(self.org).filter(crm_id__in=[a.crm_id for a in create])
                found.update(created.values_list("crm_id", "pk"))
        return found


# --- Small helpers ------------------------------------------------------------------------------------


def _nested(fields: Mapping[str, Any], relationship: str, name: str) -> Any:
    related = fields.get(relationship)
    return related.get(name) if isinstance(related, Mapping) else None


def _owner_email(fields: Mapping[str, Any]) -> str:
    email = _nested(fields, "Owner", "Email")
    return str(email).strip().lower() if email else ""


def _email_of(record: CrmRecord, values: Mapping[str, Any]) -> str:
    """The email linking uses: the mapped one, else the record's own Email field."""
    email = values.get("email")
    if email is None:
        email = str(record.fields.get("Email") or "").strip().lower()
    return email or ""


def _newer(modstamp: datetime, updated_at: datetime | None) -> bool:
    """Whether Salesforce's version is the most recent ("most recent wins"). A tie goes to
    Engage: Salesforce timestamps have whole seconds, so an equal one is not known to be later."""
    return updated_at is None or modstamp > updated_at


def _linked_elsewhere(email: str, holder: _Existing) -> str:
    return (
        f"The Cadence contact with email {email} is already linked to Salesforce "
        f"{holder.values['crm_type'] or 'record'} {holder.values['crm_id']}: not linked again."
    )
