"""What the sync tests share: an in-memory handler (the tests' own consumer of the records the
sync fetches from the sandbox — not a fake of Salesforce) and shortcuts into the sandbox's clock,
records and API counters."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.models import SyncState
from integrations.records import BatchResult, CrmRecord
from integrations.salesforce.fetch import common
from integrations.sandbox.salesforce import control
from integrations.sync import engine

REST = r"/services/data/v59\.0/"

FIELDS = {
    "Lead": ["FirstName", "LastName", "Email", "Title", "Company"],
    "Contact": ["FirstName", "LastName", "Email", "Title", "Account.Name"],
}


class Killed(BaseException):
    """Stands in for kill -9: like a dead process, it runs no ``except Exception`` clean-up."""


class MemoryHandler:
    """Keeps the records it is given in a dict keyed by (object, id), as an upsert would."""

    def __init__(self, objects: Iterable[str] = ("Lead", "Contact")) -> None:
        self.object_names = list(objects)
        self.disabled_orgs: set[int] = set()
        self.rules: dict[str, str] = {}
        self.broken_rule = ""  # set: where_for refuses, as a rule that no longer fits does
        self.rows: dict[tuple[str, str], tuple[dt.datetime, dict[str, Any]]] = {}
        self.on_apply: Callable[[list[CrmRecord]], None] | None = None
        self.reset_counts()

    def reset_counts(self) -> None:
        self.created: list[str] = []  # ids, in the order they were first stored
        self.deliveries: Counter[str] = Counter()  # id -> times handed over
        self.unlinked: list[str] = []  # ids the sync asked to unlink

    # The CrmSyncHandler protocol
    def enabled(self, organization: Any) -> bool:
        return organization.pk not in self.disabled_orgs

    def objects(self, organization: Any) -> list[str]:
        return list(self.object_names)

    def fields_for(self, organization: Any, object_name: str, describe: dict) -> list[str]:
        known = {f["name"] for f in describe["fields"]}
        known |= {f["relationshipName"] for f in describe["fields"] if f.get("relationshipName")}
        return [f for f in FIELDS[object_name] if f.split(".")[0] in known]

    def where_for(self, organization: Any, object_name: str, describe: dict) -> str:
        if self.broken_rule:
            raise ValidationError(self.broken_rule)
        return self.rules.get(object_name, "")

    def apply(self, organization: Any, object_name: str, records: list[CrmRecord]) -> BatchResult:
        if self.on_apply is not None:
            self.on_apply(records)
        created = updated = unchanged = 0
        for record in records:
            key = (object_name, record.id)
            self.deliveries[record.id] += 1
            before = self.rows.get(key)
            if before is None:
                created += 1
                self.created.append(record.id)
            elif before == (record.modstamp, record.fields):
                unchanged += 1
            else:
                updated += 1
            self.rows[key] = (record.modstamp, record.fields)
        return BatchResult(created=created, updated=updated, unchanged=unchanged)

    def unlink(self, organization: Any, object_name: str, ids: list[str]) -> int:
        self.unlinked.extend(ids)
        return sum(1 for i in ids if self.rows.pop((object_name, i), None) is not None)


class LinkingHandler(MemoryHandler):
    """Also lists its links, which lets the sync run a full reconcile."""

    def linked_ids(self, organization: Any, object_name: str) -> list[str]:
        return [record_id for (name, record_id) in self.rows if name == object_name]


def run(state: SyncState) -> common.SyncRunResult:
    return engine.run(sync_state_id=state.pk)


def calls(sandbox: Any) -> Counter[str]:
    """REST calls the sandbox has answered so far, per endpoint."""
    return Counter(control.api_calls(sandbox.state))


def new_leads(sandbox: Any, count: int, *, per_second: int = 1) -> list[str]:
    """``count`` leads changed from the sandbox's now on, ``per_second`` sharing each second; the
    clock then moves past them."""
    ids = control.generate(
        sandbox.state, "Lead", count, start=control.now(sandbox.state), per_second=per_second
    )
    control.advance_clock(sandbox.state, count // per_second + 1)
    return ids


def add_leads(sandbox: Any, count: int, **fields: Any) -> list[str]:
    rows = [{"LastName": f"Late {i}", "Company": "Late Commit Ltd", **fields} for i in range(count)]
    return control.add_records(sandbox.state, "Lead", rows)


def make_due(state: SyncState) -> None:
    """Time passes: the row's pause is over."""
    SyncState.objects.filter(pk=state.pk).update(next_run_at=timezone.now() - dt.timedelta(seconds=1))


def expire_lease(state: SyncState) -> None:
    """Time passes: a dead worker's lease lapses."""
    SyncState.objects.filter(pk=state.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))


def sync_gap(state: SyncState, hours: float = 2) -> None:
    """The sync has not succeeded for ``hours`` (workers down, sync paused)."""
    SyncState.objects.filter(pk=state.pk).update(last_success_at=timezone.now() - dt.timedelta(hours=hours))
