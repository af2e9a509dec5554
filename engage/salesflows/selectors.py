"""Reads of the Salesflow pages (F4): the list of flows with their counts, the template library,
one flow's steps drawn as a timeline of days, and what a step's preview and editor need.

Lists are paginated by *keyset* as the contacts list is (``engage.selectors``): the cursor is the
last row's (lower-cased name, id), so every page costs what the first does. A page of flows is one
query for the rows, with each flow's step and enrolment counts as correlated subqueries of the
same statement (evaluated for the rows on the page only), and one capped count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower

from engage.models import Enrolment, Salesflow, SalesflowStep, SalesflowTemplate
from engage.models.salesflows import EMAIL_KINDS, DelayUnit
from engage.salesflows.access import flows_for, templates_for
from engage.selectors import (
    COUNT_CAP,
    SortKey,
    SortOrder,
    _beyond,
    _decode_cursor,
    _encode_cursor,
    _ordering,
)

if TYPE_CHECKING:
    from copilot.models import User

PAGE_SIZE = 50
BY_NAME = SortOrder(
    "Name A–Z", (SortKey("sort_name", False), SortKey("id", False)), {"sort_name": Lower("name")}
)
# The flows list's tabs and archive filter.
SCOPES = (("mine", "Mine"), ("team", "Shared with the team"))
STATES = (("active", "Not archived"), ("archived", "Archived"), ("all", "All"))
# Enrolled contacts offered in a step's preview.
PREVIEW_CONTACTS = 100


@dataclass(frozen=True)
class FlowFilters:
    scope: str = "mine"  # mine: the viewer's own; team: every flow shared with the team
    state: str = "active"  # active (not archived), archived, all
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.q) or self.state != "active"


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None
    count: int  # capped at COUNT_CAP + 1
    is_first: bool
    noun: str = "Salesflow"

    @property
    def count_label(self) -> str:
        if self.count > COUNT_CAP:
            return f"{COUNT_CAP:,}+ {self.noun}s"
        return f"{self.count:,} {self.noun}{'' if self.count == 1 else 's'}"


def _keyset_page(base: QuerySet, rows_qs: QuerySet, *, after: str, before: str, size: int, noun: str) -> Page:
    order = BY_NAME
    qs = rows_qs.annotate(**order.annotations)
    cursor_values = None
    backwards = False
    if before:
        cursor_values = _decode_cursor(before, order)
        backwards = cursor_values is not None
    elif after:
        cursor_values = _decode_cursor(after, order)
    if cursor_values is not None:
        qs = qs.filter(_beyond(order, cursor_values, backwards=backwards))
    rows = list(qs.order_by(*_ordering(order, backwards=backwards))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    started = cursor_values is not None
    has_prev, has_next = (more, True) if backwards else (started, more)
    count = base.order_by().values("id")[: COUNT_CAP + 1].count()
    return Page(
        rows=rows,
        next_cursor=_encode_cursor(rows[-1], order) if rows and has_next else None,
        prev_cursor=_encode_cursor(rows[0], order) if rows and has_prev else None,
        count=count,
        is_first=not has_prev,
        noun=noun,
    )


# --- The flows list -----------------------------------------------------------------------------
def _count_of(qs: QuerySet) -> Coalesce:
    """A correlated COUNT(*) of ``qs`` (already narrowed to ``flow=OuterRef("pk")``)."""
    counted = qs.order_by().values("flow").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def flows_filtered(*, viewer: User, filters: FlowFilters) -> QuerySet[Salesflow]:
    qs = flows_for(viewer)
    if filters.scope == "team":
        qs = qs.filter(visibility=Salesflow.Visibility.TEAM)
    else:
        qs = qs.filter(owner=viewer)
    if filters.state == "active":
        qs = qs.filter(archived_at__isnull=True)
    elif filters.state == "archived":
        qs = qs.filter(archived_at__isnull=False)
    for term in filters.q.split()[:5]:
        qs = qs.filter(name__icontains=term)
    return qs


def flow_list_page(
    *, viewer: User, filters: FlowFilters, after: str = "", before: str = "", size: int = PAGE_SIZE
) -> Page:
    """One page of the viewer's flows with, per flow, its live steps and its enrolments active,
    finished, replied and bounced: two queries whatever the page and its size."""
    base = flows_filtered(viewer=viewer, filters=filters)
    org = viewer.organization_id
    enrolments = Enrolment.objects.for_org(org).filter(flow=OuterRef("pk"))
    rows = base.select_related("owner").annotate(
        step_count=_count_of(
            SalesflowStep.objects.for_org(org).filter(flow=OuterRef("pk"), deleted_at__isnull=True)
        ),
        active_count=_count_of(enrolments.filter(state=Enrolment.State.ACTIVE)),
        finished_count=_count_of(enrolments.filter(state=Enrolment.State.FINISHED)),
        replied_count=_count_of(enrolments.filter(exit_reason=Enrolment.ExitReason.REPLIED)),
        bounced_count=_count_of(enrolments.filter(exit_reason=Enrolment.ExitReason.BOUNCED)),
    )
    return _keyset_page(base, rows, after=after, before=before, size=size, noun="Salesflow")


# --- The template library -----------------------------------------------------------------------
def templates_filtered(*, viewer: User, scope: str, q: str = "") -> QuerySet[SalesflowTemplate]:
    qs = templates_for(viewer)
    qs = qs.filter(shared=SalesflowTemplate.Sharing.TEAM) if scope == "team" else qs.filter(owner=viewer)
    for term in q.split()[:5]:
        qs = qs.filter(Q(name__icontains=term) | Q(subject__icontains=term))
    return qs


def template_list_page(
    *, viewer: User, scope: str, q: str = "", after: str = "", before: str = "", size: int = PAGE_SIZE
) -> Page:
    base = templates_filtered(viewer=viewer, scope=scope, q=q)
    rows = base.select_related("owner")
    return _keyset_page(base, rows, after=after, before=before, size=size, noun="template")


def template_choices(viewer: User) -> list[SalesflowTemplate]:
    """The templates a seller may insert into a step: theirs first, then the team's, by name."""
    rows = list(templates_for(viewer).select_related("owner").order_by(Lower("name"), "id")[:500])
    return sorted(rows, key=lambda t: t.owner_id != viewer.pk)


def template_choices_by_id(viewer: User, template_id: int) -> SalesflowTemplate | None:
    """One of the templates ``viewer`` may insert, or None."""
    return templates_for(viewer).filter(pk=template_id).first()


# --- One flow -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineStep:
    step: SalesflowStep
    day: int  # "Day 3": the day of the flow the step falls on (day 1 = the day of enrolment)
    minutes: int  # minutes after enrolment, business days counted as days
    wait: str  # "Right away", "2 business days later", …
    business_days: bool  # its wait counts business days (the day shown may come later)
    email_before: bool  # an email step comes before it (a reply in the same thread is possible)


_MINUTES = {
    DelayUnit.MINUTES: 1,
    DelayUnit.HOURS: 60,
    DelayUnit.DAYS: 60 * 24,
    DelayUnit.BUSINESS_DAYS: 60 * 24,
}


def wait_label(amount: int, unit: str, *, first: bool) -> str:
    if not amount:
        return "Right away after enrolling" if first else "Right after the previous step"
    label = DelayUnit(unit).label if unit in DelayUnit.values else unit
    if amount == 1:
        label = label.removesuffix("s")
    return f"{amount:,} {label} after {'enrolling' if first else 'the previous step'}"


def timeline(steps: list[SalesflowStep]) -> list[TimelineStep]:
    """``steps`` (in order) with the day each falls on, counting from day 1, the day a contact is
    enrolled: "Day 1, Day 3, Day 7". Business days are counted as days (weekends and holidays may
    push the real day later; the page says so). Pure."""
    out: list[TimelineStep] = []
    minutes = 0
    email_before = False
    for index, step in enumerate(steps):
        minutes += step.delay_amount * _MINUTES.get(step.delay_unit, 60 * 24)
        out.append(
            TimelineStep(
                step=step,
                day=1 + minutes // (60 * 24),
                minutes=minutes,
                wait=wait_label(step.delay_amount, step.delay_unit, first=index == 0),
                business_days=step.delay_unit == DelayUnit.BUSINESS_DAYS and step.delay_amount > 0,
                email_before=email_before,
            )
        )
        email_before = email_before or step.kind in EMAIL_KINDS
    return out


def flow_steps(flow: Salesflow) -> list[SalesflowStep]:
    return list(
        SalesflowStep.objects.for_org(flow.organization_id)
        .filter(flow=flow, deleted_at__isnull=True)
        .order_by("position", "id")
    )


def flow_live_enrolments(flow: Salesflow) -> int:
    """How many contacts are in the flow now (active or paused): archiving ends them."""
    return (
        Enrolment.objects.for_org(flow.organization_id)
        .filter(flow=flow, state__in=Enrolment.LIVE_STATES)
        .count()
    )


def step_due_count(step: SalesflowStep) -> int:
    """How many live enrolments have ``step`` as their next step."""
    return (
        Enrolment.objects.for_org(step.organization_id)
        .filter(current_step=step, state__in=Enrolment.LIVE_STATES)
        .count()
    )


def preview_enrolments(flow: Salesflow) -> list[Enrolment]:
    """Enrolled contacts a step can be previewed for (the live ones first), with what their merge
    values are read from."""
    return list(
        Enrolment.objects.for_org(flow.organization_id)
        .filter(flow=flow)
        .select_related("contact__account", "sender__organization")
        .annotate(live=Case(When(state__in=Enrolment.LIVE_STATES, then=Value(0)), default=Value(1)))
        .order_by("live", "contact__first_name", "contact__last_name", "id")[:PREVIEW_CONTACTS]
    )
