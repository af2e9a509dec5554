"""The one gateway for Engage's writes to Salesforce (G9, G13).

Salesforce stays the source of truth: through here Engage may create Leads, Contacts and Tasks,
and update exactly two fields — Lead ``Status`` and Lead/Contact ``HasOptedOutOfEmail``. Anything
else (a delete, another field) is a programming error and raises ``ForbiddenCrmWrite`` before a
request leaves. Every attempt leaves a ``CrmWriteLog`` row.

Salesforce's refusals become sentences a person can act on ("Salesforce refused: State must be a
two-letter code for US addresses. (field State)"); provider failures (expired access, API limit,
outage) are logged and returned, never raised at a request handler. Use a ``CrmWriter`` outside
database transactions of your own: the client saves the connection's state as it goes.

Longer than our ~400 lines on purpose: G9's allow-list, the write log and the refusal wording
are one gate, and a write that could reach Salesforce around any of them would defeat it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from engage.models import Contact, CrmWriteLog
from engage.services.crm import gateway
from integrations.exceptions import ProviderAuthError, ProviderError, ProviderThrottled, ProviderUnavailable
from integrations.models import Connection
from integrations.salesforce.errors import SalesforceError

if TYPE_CHECKING:
    from copilot.models import Organization, User
    from integrations.salesforce.client import SalesforceClient

logger = logging.getLogger(__name__)

Action = CrmWriteLog.Action
Result = CrmWriteLog.Result

# G9: what Engage may create, and the only fields it may ever change on an existing record.
CREATABLE = {"Lead": Action.CREATE_LEAD, "Contact": Action.CREATE_CONTACT, "Task": Action.CREATE_TASKS}
UPDATABLE: dict[str, frozenset[str]] = {
    "Lead": frozenset({"Status", "HasOptedOutOfEmail"}),
    "Contact": frozenset({"HasOptedOutOfEmail"}),
}
BATCH = 200  # records per sObject Collections request (provider-facts C7)
CONVERTED_MESSAGE = (
    "Salesforce refused: Lead {id} is converted, so Salesforce no longer lets anyone change it. "
    "Work with the Contact it was converted into."
)
NOT_CONNECTED_MESSAGE = "Salesforce is not connected, so nothing was written there."


class ForbiddenCrmWrite(RuntimeError):
    """Code tried a write G9 forbids (a delete, or a field other than Lead Status and Email Opt
    Out). A bug to fix, not a condition to handle."""


def check_create(sobject: str) -> Action:
    if sobject not in CREATABLE:
        raise ForbiddenCrmWrite(f"Cadence never creates {sobject} records in Salesforce.")
    return CREATABLE[sobject]


def check_update(sobject: str, fields: Iterable[str]) -> None:
    allowed = UPDATABLE.get(sobject)
    if allowed is None:
        raise ForbiddenCrmWrite(f"Cadence never updates {sobject} records in Salesforce.")
    others = sorted({f for f in fields if f not in allowed and f.lower() != "id" and f != "attributes"})
    if others:
        raise ForbiddenCrmWrite(
            f"Cadence updates only {', '.join(sorted(allowed))} on a Salesforce {sobject}, not {', '.join(others)}."
        )


@dataclass
class WriteResult:
    """What one write did. ``message`` is for people; ``retryable`` says a later try may work
    (Salesforce unreachable or out of API requests), as opposed to a refusal."""

    ok: bool
    record_id: str = ""
    code: str = ""
    message: str = ""
    duplicate_id: str = ""
    retryable: bool = False
    log: CrmWriteLog | None = None


@dataclass(frozen=True)
class RecordUpdate:
    record_id: str
    fields: dict[str, Any]
    contact: Contact | None = None


@dataclass
class TaskBatch:
    """One collections call of Tasks: Salesforce's SaveResults in order, or why there are none."""

    results: list[dict[str, Any]] = field(default_factory=list)
    failure: WriteResult | None = None


# --- Messages -----------------------------------------------------------------------------------------


def record_url(connection: Connection | None, record_id: str) -> str:
    """Where a person opens the record in Salesforce (Lightning redirects ``/<id>``)."""
    base = (connection.instance_url if connection is not None else "").rstrip("/")
    return f"{base}/{record_id}" if base and record_id else ""


def type_of(record_id: str) -> str:
    """``Lead`` or ``Contact`` from an id's key prefix ('' for anything else)."""
    return {"00Q": "Lead", "003": "Contact"}.get(record_id[:3], "")


def refusal_message(
    error: SalesforceError, *, record_id: str = "", connection: Connection | None = None
) -> str:
    """Salesforce's refusal in a sentence: the rule's own text and the fields it names."""
    code = error.code or ""
    if code == "CANNOT_UPDATE_CONVERTED_LEAD":
        return CONVERTED_MESSAGE.format(id=record_id or "")
    if code == "DUPLICATES_DETECTED" and error.duplicate_ids:
        found = error.duplicate_ids[0]
        url = record_url(connection, found)
        where = f" ({url})" if url else ""
        return f"Salesforce already has this person: {type_of(found) or 'record'} {found}{where}."
    parts = []
    for item in error.errors or [{"message": str(error)}]:
        text = str(item.get("message") or item.get("errorCode") or "").strip()
        fields = [str(f) for f in item.get("fields") or []]
        if fields:
            label = "field" if len(fields) == 1 else "fields"
            text = f"{text} ({label} {', '.join(fields)})"
        if text and text not in parts:
            parts.append(text)
    return "Salesforce refused: " + (" ".join(parts) or f"HTTP {error.status}")


def provider_message(exc: ProviderError) -> str:
    if isinstance(exc, ProviderAuthError):
        return (
            "Salesforce refused Cadence's access: an administrator reconnects Salesforce in "
            "Admin Portal › Integrations. Nothing was written."
        )
    if isinstance(exc, ProviderThrottled):
        return "Salesforce's daily API limit is used up; Cadence writes this later."
    if isinstance(exc, ProviderUnavailable):
        return "Salesforce could not be reached just now; Cadence writes this later."
    return f"Salesforce failed: {exc}"


# --- The writer ---------------------------------------------------------------------------------------


class CrmWriter:
    """Writes for one organisation through its org-wide Salesforce connection. One per unit of
    work (a request, a task); ``close()`` (or ``with``) records the API usage.

    ``connection`` None → the organisation's connected one; when there is none, every write is
    logged as skipped and reported as not connected."""

    def __init__(
        self, organization: Organization, *, actor: User | None = None, connection: Connection | None = None
    ) -> None:
        self.organization = organization
        self.actor = actor
        self.connection = connection if connection is not None else gateway.org_connection(organization)
        self._client: SalesforceClient | None = None

    def __enter__(self) -> CrmWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self.connection is not None

    @property
    def client(self) -> SalesforceClient:
        """The Salesforce client (for the reads that go with a write: lookups, describes)."""
        if self.connection is None:
            raise gateway.CrmNotConnected()
        if self._client is None:
            self._client = gateway.open_client(self.connection)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- Create ---------------------------------------------------------------------------------
    def create(self, sobject: str, data: dict[str, Any], *, contact: Contact | None = None) -> WriteResult:
        """Create one Lead or Contact; duplicate rules apply (G13: ``duplicate_id`` names the
        existing record when one blocks the create)."""
        action = check_create(sobject)
        if sobject == "Task":
            raise ForbiddenCrmWrite("Tasks go through create_tasks (batched, idempotent).")
        if self.connection is None:
            return self.skip(action, sobject, NOT_CONNECTED_MESSAGE, request=data, contact=contact)
        try:
            record_id = self.client.create(sobject, data)
        except SalesforceError as exc:
            duplicate = (
                exc.duplicate_ids[0] if "DUPLICATES_DETECTED" in exc.codes and exc.duplicate_ids else ""
            )
            return self._failed(
                action,
                sobject,
                exc,
                request=data,
                contact=contact,
                duplicate_id=duplicate,
                record_id=duplicate,
            )
        except ProviderError as exc:
            return self._failed(action, sobject, exc, request=data, contact=contact)
        log = self._log(
            action,
            sobject,
            Result.OK,
            request=data,
            contact=contact,
            record_id=record_id,
            message=f"Created Salesforce {sobject} {record_id}.",
        )
        return WriteResult(ok=True, record_id=record_id, message=log.message, log=log)

    def create_many(
        self, sobject: str, items: Sequence[tuple[dict[str, Any], Contact | None]]
    ) -> list[WriteResult]:
        """Create many Leads or Contacts (``(fields, contact)`` each), 200 per sObject Collections
        request, each record on its own (not all-or-none); one result (and one log row) per record,
        in order. A duplicate rule's refusal gives ``duplicate_id``: the existing record to link."""
        action = check_create(sobject)
        if sobject == "Task":
            raise ForbiddenCrmWrite("Tasks go through create_tasks (batched, idempotent).")
        for data, _contact in items:
            if any(k.lower() == "id" for k in data):
                raise ForbiddenCrmWrite("create_many creates new records only.")
        if not items:
            return []
        if self.connection is None:
            return [self.skip(action, sobject, NOT_CONNECTED_MESSAGE, request=d, contact=c) for d, c in items]
        results: list[WriteResult] = []
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            records = [
                {"attributes": {"type": sobject}, **{k: v for k, v in d.items() if k != "attributes"}}
                for d, _c in chunk
            ]
            try:
                answers = self.client.collections_create(records)
            except (SalesforceError, ProviderError) as exc:
                # The whole request failed (nothing written): every record of the rest says so.
                for data, contact in items[start:]:
                    results.append(self._failed(action, sobject, exc, request=data, contact=contact))
                return results
            for (data, contact), answer in zip(chunk, answers, strict=False):
                if answer.get("success"):
                    record_id = str(answer.get("id") or "")
                    log = self._log(
                        action,
                        sobject,
                        Result.OK,
                        request=data,
                        contact=contact,
                        record_id=record_id,
                        message=f"Created Salesforce {sobject} {record_id}.",
                    )
                    results.append(WriteResult(ok=True, record_id=record_id, message=log.message, log=log))
                    continue
                error = SalesforceError.from_content(answer.get("errors") or [], status=400)
                duplicate = (
                    error.duplicate_ids[0]
                    if "DUPLICATES_DETECTED" in error.codes and error.duplicate_ids
                    else ""
                )
                results.append(
                    self._failed(
                        action,
                        sobject,
                        error,
                        request=data,
                        contact=contact,
                        duplicate_id=duplicate,
                        record_id=duplicate,
                    )
                )
        return results

    # --- Update (G9's two fields only) ----------------------------------------------------------
    def update(self, sobject: str, updates: Sequence[RecordUpdate], *, action: str) -> list[WriteResult]:
        """Change Lead Status / Email Opt Out on many records, 200 per request; one result (and
        one log row) per record, in order."""
        for item in updates:
            check_update(sobject, item.fields)
        if not updates:
            return []
        if self.connection is None:
            return [
                self.skip(
                    action,
                    sobject,
                    NOT_CONNECTED_MESSAGE,
                    request=u.fields,
                    contact=u.contact,
                    record_id=u.record_id,
                )
                for u in updates
            ]
        results: list[WriteResult] = []
        for start in range(0, len(updates), BATCH):
            chunk = updates[start : start + BATCH]
            records = [{"attributes": {"type": sobject}, "Id": u.record_id, **u.fields} for u in chunk]
            try:
                answers = self.client.collections_update(records)
            except (SalesforceError, ProviderError) as exc:
                # The whole request failed (nothing written): every record of the rest says so.
                for item in updates[start:]:
                    results.append(
                        self._failed(
                            action,
                            sobject,
                            exc,
                            request=item.fields,
                            contact=item.contact,
                            record_id=item.record_id,
                        )
                    )
                return results
            for item, answer in zip(chunk, answers, strict=False):
                results.append(self._saved(action, sobject, item, answer))
        return results

    def _saved(self, action: str, sobject: str, item: RecordUpdate, answer: dict[str, Any]) -> WriteResult:
        if answer.get("success"):
            changes = ", ".join(f"{k} = {v}" for k, v in item.fields.items())
            log = self._log(
                action,
                sobject,
                Result.OK,
                request=item.fields,
                contact=item.contact,
                record_id=item.record_id,
                message=f"Set {changes} on {sobject} {item.record_id}.",
            )
            return WriteResult(ok=True, record_id=item.record_id, message=log.message, log=log)
        error = SalesforceError.from_content(answer.get("errors") or [], status=400)
        return self._failed(
            action, sobject, error, request=item.fields, contact=item.contact, record_id=item.record_id
        )

    # --- Tasks ----------------------------------------------------------------------------------
    def create_tasks(self, records: list[dict[str, Any]]) -> TaskBatch:
        """Create up to 200 Tasks in one sObject Collections request (each record a Task's
        fields); one log row for the request. The caller keeps each Task's own outcome."""
        if len(records) > BATCH:
            raise ValueError(f"At most {BATCH} Tasks per request.")
        for record in records:
            if (record.get("attributes") or {}).get("type", "Task") != "Task" or "Id" in record:
                raise ForbiddenCrmWrite("create_tasks creates new Tasks only.")
        summary = {"count": len(records), "keys": [r.get("CallObject", "") for r in records]}
        if self.connection is None:
            return TaskBatch(
                failure=self.skip(Action.CREATE_TASKS, "Task", NOT_CONNECTED_MESSAGE, request=summary)
            )
        body = [
            {"attributes": {"type": "Task"}, **{k: v for k, v in r.items() if k != "attributes"}}
            for r in records
        ]
        try:
            results = self.client.collections_create(body)
        except (SalesforceError, ProviderError) as exc:
            return TaskBatch(failure=self._failed(Action.CREATE_TASKS, "Task", exc, request=summary))
        refused = [r for r in results if not r.get("success")]
        message = f"Created {len(results) - len(refused)} of {len(results)} Tasks."
        code = ""
        if refused:  # the first refusal speaks for the batch; each activity keeps its own
            first = SalesforceError.from_content(refused[0].get("errors") or [], status=400)
            message, code = f"{message} {refusal_message(first)}", first.code or ""
        result = Result.ERROR if refused else Result.OK
        self._log(Action.CREATE_TASKS, "Task", result, request=summary, message=message, error_code=code)
        return TaskBatch(results=results)

    # --- Never ----------------------------------------------------------------------------------
    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        """G9: Engage never deletes Salesforce records."""
        raise ForbiddenCrmWrite("Cadence never deletes Salesforce records.")

    # --- Logging --------------------------------------------------------------------------------
    def skip(
        self,
        action: str,
        sobject: str,
        message: str,
        *,
        contact: Contact | None = None,
        request: dict[str, Any] | None = None,
        record_id: str = "",
        code: str = "",
    ) -> WriteResult:
        """Record a write Engage decided not to make (and why), for the log and the person."""
        log = self._log(
            action,
            sobject,
            Result.SKIPPED,
            request=request or {},
            contact=contact,
            record_id=record_id,
            message=message,
            error_code=code,
        )
        return WriteResult(ok=False, record_id=record_id, code=code, message=message, log=log)

    def skip_many(
        self, action: str, sobject: str, skips: Sequence[tuple[Contact, str, dict[str, Any]]]
    ) -> int:
        """``skip`` for many contacts at once (``(contact, message, request)`` each), one INSERT
        per 500 rows: a bulk status change that cannot be written logs each Lead, with why."""
        actor = self.actor if self.actor is not None and self.actor.pk else None
        rows = [
            CrmWriteLog(
                organization=self.organization,
                actor=actor,
                action=action,
                sobject=sobject,
                record_id=(contact.crm_id or "")[:18],
                contact=contact if contact.pk else None,
                request=_jsonable(request),
                result=Result.SKIPPED,
                message=message,
            )
            for contact, message, request in skips
        ]
        CrmWriteLog.objects.bulk_create(rows, batch_size=500)
        return len(rows)

    def _failed(
        self,
        action: str,
        sobject: str,
        exc: Exception,
        *,
        request: dict[str, Any],
        contact: Contact | None = None,
        record_id: str = "",
        duplicate_id: str = "",
    ) -> WriteResult:
        retryable = isinstance(exc, ProviderThrottled | ProviderUnavailable)
        if isinstance(exc, SalesforceError):
            code = exc.code or ""
            message = refusal_message(exc, record_id=record_id, connection=self.connection)
        else:
            code = getattr(exc, "code", None) or type(exc).__name__
            message = provider_message(exc) if isinstance(exc, ProviderError) else str(exc)
        logger.info(
            "engage.crm.write_failed",
            extra={
                "organization_id": self.organization.pk,
                "action": action,
                "sobject": sobject,
                "record_id": record_id,
                "error_code": code,
            },
        )
        log = self._log(
            action,
            sobject,
            Result.ERROR,
            request=request,
            contact=contact,
            record_id=record_id,
            message=message,
            error_code=code,
        )
        return WriteResult(
            ok=False,
            record_id=record_id,
            code=code,
            message=message,
            duplicate_id=duplicate_id,
            retryable=retryable,
            log=log,
        )

    def _log(
        self,
        action: str,
        sobject: str,
        result: str,
        *,
        request: dict[str, Any],
        message: str = "",
        contact: Contact | None = None,
        record_id: str = "",
        error_code: str = "",
    ) -> CrmWriteLog:
        return CrmWriteLog.objects.create(
            organization=self.organization,
            actor=self.actor if self.actor is not None and self.actor.pk else None,
            action=action,
            sobject=sobject,
            record_id=record_id[:18],
            contact=contact if contact is not None and contact.pk else None,
            request=_jsonable(request),
            result=result,
            error_code=error_code[:80],
            message=message,
        )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """The fields as stored in the log: JSON values only, long texts (an email body) cut."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "attributes":
            continue
        if isinstance(value, str) and len(value) > 500:
            value = value[:500] + "…"
        elif not isinstance(value, str | int | float | bool | list | dict | type(None)):
            value = str(value)
        out[key] = value
    return out
