"""Reads for the enrolment pages (issue 13, point 8): a flow's enrolments by keyset pages, a
contact's Salesflow history, what the Add to Salesflow plan says grouped for the page, and an
enrolment job's contacts refused. Each costs a fixed number of queries whatever the rows."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from engage.models import Contact, Enrolment, EnrolmentJob, Salesflow, SalesflowStep, StepSend
from engage.salesflows.access import flow_editable_by
from engage.salesflows.enrolment import MERGE_FIELDS, EnrolmentPlan

if TYPE_CHECKING:
    from copilot.models import User

PAGE_SIZE = 50
COUNT_CAP = 1_000
HISTORY_SHOWN = 20
# How many contacts each part of the Add to Salesflow plan names before "and N more".
PLAN_NAMED = 25
State = Enrolment.State


def may_act_on(enrolment: Enrolment, flow: Salesflow, viewer: User) -> bool:
    """Pause, resume, skip and remove: the flow's owner and administrators, the seller whose
    mailbox sends it, and whoever enrolled the contact."""
    return (
        flow_editable_by(flow, viewer)
        or enrolment.sender_id == viewer.pk
        or enrolment.enrolled_by_id == viewer.pk
    )


def actable(queryset: QuerySet[Enrolment], flow: Salesflow, viewer: User) -> QuerySet[Enrolment]:
    """``queryset`` narrowed to the enrolments ``viewer`` may act on (see ``may_act_on``)."""
    if flow_editable_by(flow, viewer):
        return queryset
    return queryset.filter(Q(sender=viewer) | Q(enrolled_by=viewer))


def _step_total() -> Subquery:
    return Subquery(
        SalesflowStep.objects.filter(flow=OuterRef("flow_id"), deleted_at__isnull=True)
        .order_by()
        .values("flow")
        .annotate(n=Count("pk"))
        .values("n")
    )


# --- A flow's enrolments ------------------------------------------------------------------------
@dataclass
class EnrolmentRow:
    enrolment: Enrolment
    can_act: bool


@dataclass
class EnrolmentPage:
    rows: list[EnrolmentRow]
    next_cursor: str | None
    prev_cursor: str | None
    is_first: bool
    step_total: int
    counts: dict[str, int]  # per state, and "all"


def _encode(row: Enrolment) -> str:
    raw = f"{row.started_at.isoformat()}|{row.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int] | None:
    """The cursor's (started_at, id), or None for one that is not ours (an edited link)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, pk = raw.rsplit("|", 1)
        return datetime.fromisoformat(started), int(pk)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def flow_enrolments_page(
    *,
    flow: Salesflow,
    viewer: User,
    state: str = "",
    after: str = "",
    before: str = "",
    size: int | None = None,
) -> EnrolmentPage:
    """One page of ``flow``'s enrolments, newest first (keyset on ``(started_at, id)``): four
    queries whatever the page (the rows, the steps, the counts per state)."""
    size = size or PAGE_SIZE
    base = Enrolment.objects.for_org(flow.organization_id).filter(flow=flow)
    rows_qs = base.filter(state=state) if state in State.values else base
    rows_qs = rows_qs.select_related("contact", "current_step", "sender")
    cursor = _decode(before) if before else (_decode(after) if after else None)
    backwards = bool(before) and cursor is not None
    if cursor is not None:
        started, pk = cursor
        if backwards:
            rows_qs = rows_qs.filter(Q(started_at__gt=started) | Q(started_at=started, pk__gt=pk))
        else:
            rows_qs = rows_qs.filter(Q(started_at__lt=started) | Q(started_at=started, pk__lt=pk))
    order = ("started_at", "pk") if backwards else ("-started_at", "-pk")
    rows = list(rows_qs.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        has_prev, has_next = more, True
    else:
        has_prev, has_next = cursor is not None, more
    counts = base.order_by().aggregate(
        all=Count("pk"), **{s: Count("pk", filter=Q(state=s)) for s in State.values}
    )
    editable = flow_editable_by(flow, viewer)
    return EnrolmentPage(
        rows=[
            EnrolmentRow(e, editable or e.sender_id == viewer.pk or e.enrolled_by_id == viewer.pk)
            for e in rows
        ],
        next_cursor=_encode(rows[-1]) if rows and has_next else None,
        prev_cursor=_encode(rows[0]) if rows and has_prev else None,
        is_first=not has_prev,
        step_total=SalesflowStep.objects.filter(flow=flow, deleted_at__isnull=True).count(),
        counts=counts,
    )


# --- A contact's history ------------------------------------------------------------------------
SHOWN_SENDS = (StepSend.State.SENT, StepSend.State.FAILED, StepSend.State.NEEDS_ATTENTION)


@dataclass
class HistoryRow:
    enrolment: Enrolment
    sends: list[StepSend]
    can_act: bool


@dataclass
class ContactHistory:
    rows: list[HistoryRow]
    more: bool  # more than HISTORY_SHOWN enrolments in flows the viewer sees
    hidden: int  # enrolments in teammates' private flows, not named


def contact_salesflow_history(*, contact: Contact, viewer: User) -> ContactHistory:
    """The contact's enrolments in the flows ``viewer`` sees, newest first, with the steps sent
    (or failed, or waiting for attention) and when: three queries whatever their number."""
    mine = Q(flow__visibility=Salesflow.Visibility.TEAM) | Q(flow__owner=viewer)
    enrolments = Enrolment.objects.for_org(contact.organization_id).filter(contact=contact)
    rows = list(
        enrolments.filter(mine)
        .select_related("flow", "current_step")
        .annotate(step_total=_step_total())
        .prefetch_related(
            Prefetch(
                "sends",
                queryset=StepSend.objects.filter(state__in=SHOWN_SENDS)
                .select_related("step")
                .order_by("step__position", "pk"),
            )
        )
        .order_by("-started_at", "-pk")[: HISTORY_SHOWN + 1]
    )
    for enrolment in rows:
        enrolment.contact = contact  # already loaded: the rows name it without asking again
    hidden = enrolments.exclude(mine).count()
    return ContactHistory(
        rows=[
            HistoryRow(e, list(e.sends.all()), may_act_on(e, e.flow, viewer)) for e in rows[:HISTORY_SHOWN]
        ],
        more=len(rows) > HISTORY_SHOWN,
        hidden=hidden,
    )


# --- The Add to Salesflow plan, as the page shows it --------------------------------------------
@dataclass
class Named:
    """Up to ``PLAN_NAMED`` of a group's contacts, and how many more there are."""

    items: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def _named(items: list) -> Named:
    return Named(items[:PLAN_NAMED], len(items))


@dataclass
class GapGroup:
    """ "Step 2 (Automatic email): {{ account.name }} has no value for 3 contacts"."""

    position: int
    kind_label: str
    variant: str
    field: str
    contacts: Named

    @property
    def tag(self) -> str:
        return "{{ " + self.field + " }}"


@dataclass
class Said:
    """A contact and what the plan says about them."""

    contact: Contact
    messages: list[str]


@dataclass
class PlanSummary:
    plan: EnrolmentPlan
    accepted: Named  # Contacts enrolled as things stand
    refused: Named  # Said: the reasons each is refused
    warned: Named  # Said: warnings other than merge gaps (those are grouped in ``gaps``)
    gaps: list[GapGroup] = field(default_factory=list)
    accepted_count: int = 0
    with_warnings_count: int = 0  # added too when the seller overrides the warnings
    digest: str = ""


def plan_digest(plan: EnrolmentPlan) -> str:
    """What the seller saw, in a few characters: who is accepted as is and who only with the
    warnings overridden. Starting compares it with the plan made again then."""
    plain = sorted(e.contact.pk for e in plan.accepted())
    warned = sorted(e.contact.pk for e in plan.warned)
    text = f"{plan.flow.pk}|{plan.sender.pk}|{','.join(map(str, plain))}|{','.join(map(str, warned))}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def plan_summary(plan: EnrolmentPlan) -> PlanSummary:
    """The plan grouped for the dialog: who is added, who is refused and why, who has warnings
    the seller may override, and the merge fields each step would lack, with whom."""
    groups: dict[tuple[int, str, str, str], list[Contact]] = {}
    warned = []
    for entry in plan.warned:
        for gap in entry.merge_gaps:
            for name in gap.fields:
                groups.setdefault((gap.position, gap.kind_label, gap.variant, name), []).append(entry.contact)
        others = [w.message for w in entry.warnings if w.code != MERGE_FIELDS]
        if others:
            warned.append(Said(entry.contact, others))
    accepted = [e.contact for e in plan.accepted()]
    return PlanSummary(
        plan=plan,
        accepted=_named(accepted),
        # Reasons that refuse everyone (the sender's mailbox, …) are said once, above the list.
        refused=_named(
            [
                Said(e.contact, own)
                for e in plan.refused
                if (own := [p.message for p in e.refusals if p not in plan.blocking])
            ]
        ),
        warned=_named(warned),
        gaps=[
            GapGroup(position, kind, variant, name, _named(contacts))
            for (position, kind, variant, name), contacts in sorted(groups.items(), key=lambda kv: kv[0])
        ],
        accepted_count=len(accepted),
        with_warnings_count=len(plan.warned),
        digest=plan_digest(plan),
    )


# --- Enrolment jobs -----------------------------------------------------------------------------
@dataclass
class RefusedInJob:
    contact: Contact | None
    contact_id: int
    reason: str


def job_refusals(job: EnrolmentJob) -> list[RefusedInJob]:
    """The contacts a job refused when their turn came (as many as it kept), with their names:
    one query."""
    errors = [e for e in job.errors if isinstance(e, dict)]
    ids: Iterable[int] = [e.get("id") for e in errors if isinstance(e.get("id"), int)]
    found = Contact.objects.for_org(job.organization_id).in_bulk(list(ids)) if errors else {}
    return [RefusedInJob(found.get(e.get("id")), e.get("id") or 0, str(e.get("reason", ""))) for e in errors]
