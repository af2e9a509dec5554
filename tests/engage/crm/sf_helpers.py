"""Helpers for the Salesforce write tests: pick records from the sandbox's seeded org, read them
back as Salesforce stores them, and make Engage contacts linked to them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from engage.crm.mapping import MappingRow
from engage.models import Contact, FieldMapping
from engage.services.crm.configuration import crm_statuses_follow_mapping
from integrations.sandbox.salesforce import control as sfc
from tests.factories import ContactFactory


def records(sandbox: Any, sobject: str) -> list[dict[str, Any]]:
    """Live records of ``sobject``, in id order (copies)."""
    with sandbox.state.lock:
        table = sfc.store(sandbox.state).records[sobject]
        return [dict(r) for _, r in sorted(table.items()) if not r.get("IsDeleted")]


def record(sandbox: Any, sobject: str, record_id: str) -> dict[str, Any]:
    return sfc.get_record(sandbox.state, sobject, record_id)


def open_leads(sandbox: Any, count: int = 1) -> list[dict[str, Any]]:
    leads = [r for r in records(sandbox, "Lead") if not r.get("IsConverted") and r.get("Email")]
    return leads[:count]


def converted_lead(sandbox: Any) -> dict[str, Any]:
    return next(r for r in records(sandbox, "Lead") if r.get("IsConverted") and r.get("Email"))


def sf_contact(sandbox: Any) -> dict[str, Any]:
    return next(r for r in records(sandbox, "Contact") if r.get("Email") and r.get("Phone"))


def tasks_with(sandbox: Any, call_object: str) -> list[dict[str, Any]]:
    return [t for t in records(sandbox, "Task") if t.get("CallObject") == call_object]


def linked_contact(organization: Any, sobject: str, sf_record: dict[str, Any], **fields: Any) -> Contact:
    """An Engage contact linked to ``sf_record`` (its email unless given)."""
    return ContactFactory(
        organization=organization,
        email=fields.pop("email", (sf_record.get("Email") or "").lower()),
        crm_type=sobject,
        crm_id=sf_record["Id"],
        **fields,
    )


def statuses_from_salesforce(organization: Any, actor: Any) -> dict[str, Any]:
    """Make the status list mirror Lead Status (F3); crm_value -> status."""
    assert crm_statuses_follow_mapping(organization=organization, actor=actor)
    from engage.models import ContactStatus

    return {s.crm_value: s for s in ContactStatus.objects.for_org(organization) if s.crm_value}


def save_mapping(organization: Any, sobject: str, rows: Iterable[MappingRow]) -> None:
    """Store ``rows`` as the object's saved mapping, in order (without asking Salesforce)."""
    FieldMapping.objects.bulk_create(
        FieldMapping(organization=organization, sobject=sobject, position=i, **asdict(row))
        for i, row in enumerate(rows)
    )
