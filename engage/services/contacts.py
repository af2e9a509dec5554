"""Writes to contacts and accounts from the workspace: the New Contact form, edits, status and
owner changes (one or in bulk). The CSV import has its own batch writer (``engage/imports``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from copilot.intelligence.rules import domain_of, is_free_mail
from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.models import Account, Contact, ContactStatus
from engage.models.contacts import EDITABLE_FIELDS


class DuplicateContact(ValidationError):
    """The email belongs to a contact the organisation already has (offered instead)."""

    def __init__(self, existing: Contact) -> None:
        self.existing = existing
        super().__init__({"email": f"{existing} already has this email address."}, code="duplicate")


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {}
    for name in EDITABLE_FIELDS:
        if name not in data:
            continue
        value = data[name]
        cleaned[name] = value.strip() if isinstance(value, str) else value
    if "email" in cleaned:
        cleaned["email"] = cleaned["email"].lower()
    return cleaned


def account_for_company(*, organization: Organization, company: str, email: str = "") -> Account | None:
    """The organisation's account called ``company`` (case-insensitive), made when missing — with
    the domain of ``email`` (the first contact's address; not a free-mail one), which joins it to
    the synced company of that domain."""
    company = company.strip()
    if not company:
        return None
    account = Account.objects.for_org(organization).filter(name__iexact=company).order_by("id").first()
    if account is None:
        domain = domain_of(email) if "@" in email else ""
        account = Account.objects.create(
            organization=organization, name=company, domain="" if is_free_mail(domain) else domain
        )
    return account


def _check_owner_and_status(
    organization: Organization, owner: User | None, status: ContactStatus | None
) -> None:
    if owner is not None and owner.organization_id != organization.pk:
        raise ValidationError({"owner": "Choose a member of your organisation."})
    if status is not None and status.organization_id != organization.pk:
        raise ValidationError({"status": "Choose one of your organisation's statuses."})


@transaction.atomic
def contact_create(
    *,
    organization: Organization,
    actor: User,
    data: dict[str, Any],
    owner: User | None,
    status: ContactStatus | None = None,
    source: str = Contact.Source.MANUAL,
) -> Contact:
    """A new contact. Raises ``DuplicateContact`` when the email is taken in the organisation."""
    from engage.services.statuses import status_default

    fields = _clean(data)
    if not fields.get("email"):
        raise ValidationError({"email": "An email address is required."})
    _check_owner_and_status(organization, owner, status)
    existing = Contact.objects.for_org(organization).filter(email=fields["email"]).first()
    if existing is not None:
        raise DuplicateContact(existing)
    now = timezone.now()
    contact = Contact(
        organization=organization,
        owner=owner,
        status=status or status_default(organization=organization),
        source=source,
        account=account_for_company(
            organization=organization, company=fields.get("company", ""), email=fields["email"]
        ),
        created_at=now,
        updated_at=now,
        **fields,
    )
    contact.full_clean(exclude=["organization", "owner", "status", "account"], validate_unique=False)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # the same email saved by someone else a moment ago
        existing = Contact.objects.for_org(organization).filter(email=fields["email"]).first()
        if existing is None:
            raise
        raise DuplicateContact(existing) from None
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: User, data: dict[str, Any]) -> Contact:
    fields = _clean(data)
    if "email" in fields and not fields["email"]:
        raise ValidationError({"email": "An email address is required."})
    if "email" in fields and fields["email"] != contact.email:
        clash = (
            Contact.objects.for_org(contact.organization)
            .filter(email=fields["email"])
            .exclude(pk=contact.pk)
            .first()
        )
        if clash is not None:
            raise DuplicateContact(clash)
    if "company" in fields and fields["company"] != contact.company:
        contact.account = account_for_company(
            organization=contact.organization,
            company=fields["company"],
            email=fields.get("email", contact.email),
        )
        fields["account"] = contact.account
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.updated_at = timezone.now()
    contact.full_clean(exclude=["organization", "owner", "status", "account"], validate_unique=False)
    contact.save(update_fields=[*fields, "updated_at"])
    return contact


@transaction.atomic
def contact_set_status(*, contact: Contact, status: ContactStatus, actor: User) -> Contact:
    _check_owner_and_status(contact.organization, None, status)
    contact.status = status
    contact.updated_at = timezone.now()
    contact.save(update_fields=["status", "updated_at"])
    if status.ends_salesflows:
        _salesflows_end(contact.organization_id, [contact.pk], status=status, actor=actor)
    if contact.crm_type == Contact.CrmType.LEAD and contact.crm_id:
        from engage.services.crm.pushes import crm_status_push_on_commit, status_push_wanted

        # G9: the linked Lead's Status follows, once this commits.
        if status_push_wanted(organization=contact.organization, status=status):
            crm_status_push_on_commit(contact_ids=[contact.pk], actor=actor)
    return contact


def _salesflows_end(
    organization_id: int,
    contact_ids: list[int] | None,
    *,
    status: ContactStatus,
    actor: User,
    enrolment_ids: list[int] | None = None,
) -> int:
    """The contacts were given a status the admin marked as ending Salesflows: they leave every
    Salesflow they are in (exit reason ``status_changed``)."""
    from engage.models import Enrolment
    from engage.salesflows.events import enrolments_exit, live_enrolment_ids

    if enrolment_ids is None:
        enrolment_ids = live_enrolment_ids(organization_id=organization_id, contact_ids=contact_ids or [])
    return enrolments_exit(
        organization_id=organization_id,
        enrolment_ids=enrolment_ids,
        reason=Enrolment.ExitReason.STATUS_CHANGED,
        data={"status": status.name},
        actor=actor,
    )


@transaction.atomic
def contact_set_owner(*, contact: Contact, owner: User | None, actor: User) -> Contact:
    _check_owner_and_status(contact.organization, owner, None)
    contact.owner = owner
    contact.updated_at = timezone.now()
    contact.save(update_fields=["owner", "updated_at"])
    return contact


@transaction.atomic
def contacts_bulk_update(
    *,
    organization: Organization,
    actor: User,
    contacts: QuerySet[Contact],
    status: ContactStatus | None = None,
    owner: User | None = None,
    unassign: bool = False,
) -> int:
    """Change the status and/or owner of every contact in ``contacts`` (already scoped by the
    caller; scoped again here) in one UPDATE. Returns how many changed."""
    _check_owner_and_status(organization, owner, status)
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
    if owner is not None or unassign:
        changes["owner"] = owner
    if not changes:
        raise ValidationError("Choose a new status or owner.")
    lead_ids: list[int] = []
    if status is not None:
        from engage.services.crm.pushes import crm_status_push_on_commit, lead_linked_ids, status_push_wanted

        # G9: linked Leads follow. Read before the UPDATE: a filter on the old status would no
        # longer match after it.
        if status_push_wanted(organization=organization, status=status):
            lead_ids = lead_linked_ids(contacts.filter(organization=organization))
    # Read before the UPDATE too: the contacts' enrolments, when the new status ends Salesflows.
    enrolment_ids = []
    if status is not None and status.ends_salesflows:
        from engage.salesflows.events import live_enrolment_ids

        enrolment_ids = live_enrolment_ids(
            organization_id=organization.pk,
            contact_ids=contacts.filter(organization=organization).values("pk"),
        )
    count = contacts.filter(organization=organization).update(updated_at=timezone.now(), **changes)
    if enrolment_ids:
        _salesflows_end(organization.pk, None, status=status, actor=actor, enrolment_ids=enrolment_ids)
    if lead_ids:
        crm_status_push_on_commit(contact_ids=lead_ids, actor=actor)
    audit_record(
        organization=organization,
        actor=actor,
        action="contacts.bulk_updated",
        target=f"{count} contacts",
        data={
            "status": status.name if status else None,
            "owner": (owner.email if owner else "unassigned") if "owner" in changes else None,
        },
    )
    return count


@transaction.atomic
def contact_delete(*, contact: Contact, actor: User) -> None:
    organization, label = contact.organization, contact.email or str(contact)
    contact.delete()
    audit_record(organization=organization, actor=actor, action="contact.deleted", target=label)
