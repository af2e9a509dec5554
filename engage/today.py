"""Reads of a seller's Today page (the workspace home): their due Salesflow actions (the first
few of the Actions queue), today's meetings from the synced calendar, recent mail from the
organisation's contacts, and the contacts with new activity.

Every section is a fixed number of queries whatever the data size (the page is four or five in
all): each list is capped, found through the activity index ``(organization, occurred_at)`` or
the viewer's own copies (``ActivitySource``), and joined to contacts by email address in one
query. Private meetings (D4) follow ``copilot.intelligence.selectors.timeline_item``: a viewer
who is neither the organiser, an attendee nor holds a copy sees "Private meeting" and no link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from copilot.intelligence.selectors import TimelineItem, for_display, timeline_item
from copilot.models import (
    Activity,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
    Organization,
    User,
)
from engage.models import Contact
from engage.salesflows import actions as action_queue
from engage.salesflows.actions import Action

MEETINGS_SHOWN = 20
MAIL_SHOWN = 10
CONTACTS_SHOWN = 10
RECENT_DAYS = 7
# How long before the day a timed meeting that still runs into it may have started: bounds the
# index range scan (a meeting running for days is an all-day one in practice).
LONGEST_MEETING = dt.timedelta(days=2)


@dataclass(frozen=True)
class InboundMail:
    id: int
    occurred_at: dt.datetime
    subject: str
    snippet: str
    sender_email: str
    sender_name: str
    contact: Contact | None

    @property
    def sender_label(self) -> str:
        if self.contact is not None and self.contact.full_name:
            return self.contact.full_name
        return self.sender_name or self.sender_email


@dataclass(frozen=True)
class ActiveContact:
    contact: Contact
    last_activity_at: dt.datetime
    activities: int  # in the last RECENT_DAYS days


@dataclass(frozen=True)
class TodayPage:
    day: dt.date  # in the viewer's time zone
    meetings: list[TimelineItem]
    mail: list[InboundMail]
    active_contacts: list[ActiveContact]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of ``day`` in the current (the viewer's) time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _own(viewer: User, *, pk: str = "pk") -> Q:
    """Activities ``viewer`` organises, attends, receives or holds a copy of."""
    address = (viewer.email or "").lower()
    mine = Q(user_id=viewer.pk)
    if address:
        mine |= Q(email=address)
    held = Exists(ActivitySource.objects.filter(activity_id=OuterRef(pk), user_id=viewer.pk))
    involved = Exists(ActivityParticipant.objects.filter(mine, activity_id=OuterRef(pk)))
    q = Q(held) | Q(involved)
    if address:
        q |= Q(organizer_email=address)
    return q


def todays_meetings(
    *, organization: Organization, viewer: User, day: dt.date, limit: int = MEETINGS_SHOWN
) -> list[TimelineItem]:
    """``viewer``'s meetings that overlap ``day`` (the viewer's day), earliest first, not
    cancelled: three queries (the meetings, their participants, their copies)."""
    start, end = day_bounds(day)
    utc_start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    meetings = (
        for_display(Activity.objects.for_org(organization))
        .filter(kind=Activity.Kind.MEETING, cancelled=False)
        .filter(
            # All-day meetings keep their calendar date at midnight UTC (as the timeline shows them).
            Q(all_day=True, occurred_at__gte=utc_start, occurred_at__lt=utc_start + dt.timedelta(days=1))
            | Q(
                all_day=False,
                occurred_at__gte=start - LONGEST_MEETING,
                occurred_at__lt=end,
                ends_at__gt=start,
            )
            | Q(all_day=False, occurred_at__gte=start, occurred_at__lt=end, ends_at__isnull=True)
        )
        .filter(_own(viewer))
        .order_by("occurred_at", "pk")[:limit]
    )
    return [timeline_item(meeting, viewer=viewer) for meeting in meetings]


def _contacts_by_email(*, organization: Organization, emails: set[str]) -> dict[str, Contact]:
    if not emails:
        return {}
    contacts = Contact.objects.for_org(organization).filter(email__in=emails).select_related("account")
    return {contact.email: contact for contact in contacts}


def inbound_mail(
    *, organization: Organization, viewer: User, now: dt.datetime, limit: int = MAIL_SHOWN
) -> list[InboundMail]:
    """Emails of the last ``RECENT_DAYS`` days in ``viewer``'s mailbox (or addressed to them)
    whose sender is one of the organisation's contacts, newest first: two queries."""
    since = now - dt.timedelta(days=RECENT_DAYS)
    from_contacts = Contact.objects.for_org(organization).filter(email=OuterRef("sender_email"))
    rows = list(
        Activity.objects.for_org(organization)
        .filter(kind=Activity.Kind.EMAIL, occurred_at__gte=since, occurred_at__lte=now)
        .exclude(sender_email="")
        .filter(Exists(from_contacts))
        .filter(_own(viewer))
        .order_by("-occurred_at", "-pk")
        .values("pk", "occurred_at", "subject", "snippet", "sender_email", "sender_name")[:limit]
    )
    contacts = _contacts_by_email(organization=organization, emails={r["sender_email"].lower() for r in rows})
    return [
        InboundMail(
            id=r["pk"],
            occurred_at=r["occurred_at"],
            subject=r["subject"],
            snippet=r["snippet"],
            sender_email=r["sender_email"],
            sender_name=r["sender_name"],
            contact=contacts.get(r["sender_email"].lower()),
        )
        for r in rows
    ]


def contacts_with_new_activity(
    *, organization: Organization, now: dt.datetime, limit: int = CONTACTS_SHOWN
) -> list[ActiveContact]:
    """The organisation's contacts whose person had emails or meetings in the last
    ``RECENT_DAYS`` days, the most recent first: two queries."""
    since = now - dt.timedelta(days=RECENT_DAYS)
    is_contact = Contact.objects.for_org(organization).filter(email=OuterRef("person__email"))
    # Through the activities' (organization, occurred_at) index: a week of rows, not the org's.
    recent = Activity.objects.for_org(organization).filter(occurred_at__gte=since, occurred_at__lte=now)
    people = list(
        ActivityPerson.objects.for_org(organization)
        .filter(activity__in=recent.values("pk"))
        .filter(Exists(is_contact))
        .values("person__email")
        .annotate(last_at=Max("occurred_at"), recent=Count("pk"))
        .order_by("-last_at", "person__email")[:limit]
    )
    people = [{"email": p["person__email"], "last_at": p["last_at"], "recent": p["recent"]} for p in people]
    contacts = _contacts_by_email(organization=organization, emails={p["email"] for p in people})
    return [
        ActiveContact(contact=contacts[p["email"]], last_activity_at=p["last_at"], activities=p["recent"])
        for p in people
        if p["email"] in contacts
    ]


def todays_actions(*, viewer: User, now: dt.datetime | None = None) -> list[Action]:
    """The first ``action_queue.TODAY_SHOWN`` of what waits for ``viewer`` in their Salesflows:
    emails needing their attention first (with the reason), then due actions (overdue first,
    then today's): one query. Shown whatever packages besides Engage the organisation has."""
    return action_queue.todays_actions(user=viewer, now=now)


def today_page(*, organization: Organization, viewer: User, now: dt.datetime | None = None) -> TodayPage:
    """Everything the Today page shows, for ``viewer`` in the current time zone."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    return TodayPage(
        day=day,
        meetings=todays_meetings(organization=organization, viewer=viewer, day=day),
        mail=inbound_mail(organization=organization, viewer=viewer, now=now),
        active_contacts=contacts_with_new_activity(organization=organization, now=now),
    )
