"""What a pass over an import file decides and counts: a row's ``Decision``, the running ``Tally``,
one committed ``Batch`` (what the service saves with it), and the ``Resume`` point of a pass taken
over after its worker died."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, NamedTuple

from engage.imports.rows import CleanRow

CREATED, UPDATED, SKIPPED, ERROR = "created", "updated", "skipped", "error"


class Existing(NamedTuple):
    pk: int
    status_id: int


@dataclass
class Decision:
    row: CleanRow
    outcome: str
    column: str = ""
    message: str = ""
    contact: Existing | None = None  # the existing contact a row updates


@dataclass
class Tally:
    processed: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    noted: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)  # the first few, for the page

    def add(self, decision: Decision, *, keep: int, email: str = "") -> None:
        self.processed += 1
        if decision.outcome == CREATED:
            self.created += 1
        elif decision.outcome == UPDATED:
            self.updated += 1
        elif decision.outcome == SKIPPED:
            self.skipped += 1
        else:
            self.errors += 1
        if decision.message:
            if decision.outcome in (CREATED, UPDATED):
                self.noted += 1
            if len(self.problems) < keep:
                self.problems.append(
                    {
                        "row": decision.row.number,
                        "outcome": decision.outcome,
                        "column": decision.column,
                        "message": decision.message,
                        "email": email,
                    }
                )

    def copy(self) -> Tally:
        return replace(self, problems=list(self.problems))


Emails = dict[str, int]  # email -> the row that first had it
CrmIds = dict[tuple[str, str], tuple[int, str]]  # (type, id) -> (row, email) that first had it


@dataclass
class Batch:
    """What one batch did, handed to ``on_batch`` before its transaction commits."""

    tally: Tally  # the pass's tally with this batch
    rows: int  # data rows in the batch
    report: str  # its lines of the row report (CSV text; empty in the validation pass)
    emails: Emails  # the emails and CRM ids it took: later rows with them are duplicates
    crm: CrmIds


@dataclass
class Resume:
    """Where a pass taken over after a dead worker carries on: after the first ``rows`` data
    rows, with the tally, report lines, emails and CRM ids of the batches committed before."""

    rows: int
    tally: Tally
    report: str = ""
    emails: Emails = field(default_factory=dict)
    crm: CrmIds = field(default_factory=dict)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
