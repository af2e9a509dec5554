"""F1: adding the people of a Salesforce list view to Engage.

A seller picks Leads or Contacts, one of the object's list views, sees its first rows, and
imports them. The list view's results are display strings (names, owners' aliases), so they are
used for the preview and for the ids only; the records themselves are then read with the mapped
fields (``Id IN (...)``, 200 ids a query) and handed to the sync's own upsert
(``engage.services.crm.sync_handler.handler.apply``): linked by Salesforce id, else by email, values per the field
mapping, never a duplicate contact — exactly what the sync and the historical poll do.

One import takes at most ``IMPORT_CAP`` people (one results page, as Salesforce serves them);
larger sets are what sync rules and the historical poll are for.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from copilot.models import Organization, User
from copilot.services.audit import audit_record
from engage.crm.soql_rules import soql_string
from engage.services.crm import gateway
from engage.services.crm.sync_batch import owners_default_to
from engage.services.crm.sync_handler import handler
from engage.services.crm.writes import provider_message, refusal_message
from integrations.exceptions import ProviderError
from integrations.records import CrmRecord
from integrations.salesforce.errors import SalesforceError

OBJECTS = {"Lead": "Leads", "Contact": "Contacts"}
IMPORT_CAP = 2_000  # Salesforce serves a list view's results 2,000 rows at most per request
PREVIEW_ROWS = 10
ID_CHUNK = 200
HIDDEN = frozenset({"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"})
_VIEW_ID = re.compile(r"00B[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")


@dataclass(frozen=True)
class ListView:
    id: str
    label: str


@dataclass
class Preview:
    label: str
    size: int  # people in the view
    columns: list[str]  # visible column labels
    rows: list[list[str]]

    @property
    def importable(self) -> int:
        return min(self.size, IMPORT_CAP)


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    capped: bool = False
    owned_by_email: int = 0  # owned by the user with their Salesforce owner's email
    owned_by_fallback: int = 0  # owned by the settings' fallback owner, else the importer


def _check(sobject: str, view_id: str | None = None) -> None:
    if sobject not in OBJECTS:
        raise ValueError(f"List views are imported from Leads or Contacts, not {sobject}.")
    if view_id is not None and not _VIEW_ID.fullmatch(view_id):
        # The id goes into the request's path: only ever a Salesforce id.
        raise gateway.CrmUnavailable("Choose one of the list views.")


def _unavailable(exc: Exception) -> gateway.CrmUnavailable:
    if isinstance(exc, SalesforceError):
        return gateway.CrmUnavailable(refusal_message(exc))
    return gateway.CrmUnavailable(provider_message(exc))  # type: ignore[arg-type]


def list_views(organization: Organization, sobject: str) -> list[ListView]:
    """The object's list views as the connected Salesforce user sees them."""
    _check(sobject)
    connection = gateway.require_connection(organization)
    try:
        with gateway.open_client(connection) as client:
            views = client.list_views(sobject)
    except (SalesforceError, ProviderError) as exc:
        raise _unavailable(exc) from exc
    return [ListView(str(v["id"]), str(v.get("label") or v.get("developerName") or v["id"])) for v in views]


def _cells(record: dict[str, Any]) -> dict[str, Any]:
    return {c.get("fieldNameOrPath"): c.get("value") for c in record.get("columns") or []}


def preview(organization: Organization, sobject: str, view_id: str, *, rows: int = PREVIEW_ROWS) -> Preview:
    """The view's first ``rows`` people (its visible columns) and how many it holds."""
    _check(sobject, view_id)
    connection = gateway.require_connection(organization)
    try:
        with gateway.open_client(connection) as client:
            result = client.list_view_results(sobject, view_id, limit=rows)
    except (SalesforceError, ProviderError) as exc:
        raise _unavailable(exc) from exc
    columns = [
        c
        for c in result.get("columns") or []
        if not c.get("hidden") and c.get("fieldNameOrPath") not in HIDDEN
    ]
    table = []
    for record in (result.get("records") or [])[:rows]:
        cells = _cells(record)
        table.append([str(cells.get(c["fieldNameOrPath"]) or "") for c in columns])
    return Preview(
        label=str(result.get("label") or ""),
        size=int(result.get("size") or 0),
        columns=[str(c.get("label") or c["fieldNameOrPath"]) for c in columns],
        rows=table,
    )


def _modstamp(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)


def import_view(
    organization: Organization, sobject: str, view_id: str, *, actor: User | None
) -> ImportResult:
    """Create or update an Engage contact for each person of the view (up to ``IMPORT_CAP``):
    ``1 + ceil(n / 200)`` API calls, one database batch. A contact's owner is the user with its
    Salesforce owner's email; when there is none, new and unowned contacts go to the CRM
    settings' fallback owner, else to the seller who imported them."""
    _check(sobject, view_id)
    connection = gateway.require_connection(organization)
    try:
        with gateway.open_client(connection) as client:
            result = client.list_view_results(sobject, view_id, limit=IMPORT_CAP)
            ids = [str(_cells(r).get("Id") or "") for r in result.get("records") or []]
            ids = list(dict.fromkeys(i for i in ids if i))
            describe = gateway.describe_for(organization, sobject, connection=connection)
            wanted = handler.fields_for(organization, sobject, describe)
            select = ", ".join(dict.fromkeys(["Id", "SystemModstamp", *wanted]))
            records: list[CrmRecord] = []
            for start in range(0, len(ids), ID_CHUNK):
                listed = ", ".join(soql_string(i) for i in ids[start : start + ID_CHUNK])
                soql = f"SELECT {select} FROM {sobject} WHERE Id IN ({listed})"  # noqa: S608 - describe names, quoted ids
                for page in client.query_pages(soql):
                    records.extend(
                        CrmRecord(
                            object_name=sobject,
                            id=str(row["Id"]),
                            modstamp=_modstamp(row.get("SystemModstamp")),
                            fields={k: v for k, v in row.items() if k != "attributes"},
                        )
                        for row in page
                    )
    except (SalesforceError, ProviderError) as exc:
        raise _unavailable(exc) from exc
    outcome = ImportResult(total=len(records), capped=int(result.get("size") or 0) > IMPORT_CAP)
    if records:
        with owners_default_to(actor.pk if actor is not None else None):
            batch = handler.apply(organization, sobject, records)
        outcome.created, outcome.updated, outcome.unchanged = batch.created, batch.updated, batch.unchanged
        outcome.owned_by_email, outcome.owned_by_fallback = batch.owned_by_email, batch.owned_by_fallback
        outcome.errors = list(batch.errors)
    audit_record(
        organization=organization,
        actor=actor,
        action="contacts.list_view_imported",
        target=f"{sobject} list view {result.get('label') or view_id}",
        data={
            "view_id": view_id,
            "total": outcome.total,
            "created": outcome.created,
            "updated": outcome.updated,
            "errors": len(outcome.errors),
            "owned_by_email": outcome.owned_by_email,
            "owned_by_fallback": outcome.owned_by_fallback,
        },
    )
    return outcome
