"""Synced calendar events (Google Calendar and Outlook alike) become meeting activities (D2-D4).

- A meeting is one activity per team, keyed by its iCalUID (``<provider>:<id>`` without one).
  Meetings change: a newer copy rewrites the activity and its participants.
- Meeting rooms and equipment are not parties. The join link is detected (``meetings``).
- A cancelled meeting, or one the rules now exclude, is handled as a deletion of that calendar's
  copy: the source goes, and the activity with it once no teammate's calendar holds it. (Google
  reports deleted events as cancelled ones, so both providers behave the same.)
- Private meetings are stored whole with ``is_private``; the timeline decides who sees what (D4).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from copilot.intelligence.ingestion.shared import (
    Item,
    Party,
    Team,
    last_per_item,
    log_extra,
    remove_copies,
    valid_address,
    write_activities,
)
from copilot.intelligence.meetings import detect_join_link
from copilot.intelligence.people import clean_name
from copilot.models import Activity, ActivityParticipant
from integrations.records import CalendarEventRecord, Deletion, MailboxContext, Record

logger = logging.getLogger(__name__)

Role = ActivityParticipant.Role
# What a newer copy of a meeting rewrites.
MEETING_FIELDS = (
    "occurred_at",
    "ends_at",
    "all_day",
    "subject",
    "snippet",
    "body",
    "organizer_email",
    "organizer_name",
    "location",
    "join_url",
    "join_provider",
    "is_private",
    "updated_at",
)


def _event_parties(event: CalendarEventRecord) -> list[Party]:
    parties: dict[str, Party] = {}
    organizer = (event.organizer.email or "").strip().lower()
    if valid_address(organizer):
        parties[organizer] = Party(organizer, clean_name(event.organizer.name, organizer), Role.ORGANIZER)
    for attendee in event.attendees:
        email = (attendee.email or "").strip().lower()
        if attendee.is_resource or not valid_address(email):
            continue  # meeting rooms and equipment are not parties
        role = Role.ORGANIZER if attendee.is_organizer else Role.ATTENDEE
        party = Party(email, clean_name(attendee.name, email), role, (attendee.response or "")[:20])
        if email in parties:  # the organiser listed among the attendees: keep the response
            party = Party(email, parties[email].name or party.name, Role.ORGANIZER, party.response)
        parties[email] = party
    return list(parties.values())


def ingest_calendar(context: MailboxContext, records: Sequence[Record]) -> None:
    current = last_per_item(records)
    gone = [r.external_id for r in current if isinstance(r, Deletion)]
    events = [r for r in current if isinstance(r, CalendarEventRecord)]
    items: list[Item] = []
    with transaction.atomic():
        team = Team.load(context) if events else None
        now = timezone.now()
        for event in events:
            parties = _event_parties(event)
            if event.cancelled or not team.decide(p.email for p in parties).ingest:
                gone.append(event.external_id)
                continue
            provider, url = detect_join_link(event.conference_url, event.location, event.description)
            if len(url) > 1000:
                provider, url = "", ""
            organizer = parties[0] if parties and parties[0].role == Role.ORGANIZER else None
            fields = {
                "occurred_at": event.start,
                "ends_at": event.end,
                "all_day": event.all_day,
                "subject": (event.subject or "")[:998],
                "snippet": " ".join((event.description or "").split())[:500],
                "body": (event.description or "") if team.keep_bodies else "",
                "organizer_email": organizer.email if organizer else "",
                "organizer_name": organizer.name if organizer else "",
                "location": (event.location or "")[:500],
                "join_url": url,
                "join_provider": provider,
                "is_private": event.is_private,
                "provider": context.provider,
                "created_at": now,
                "updated_at": now,
            }
            key = (event.ical_uid or "").strip() or f"{context.provider}:{event.external_id}"
            items.append(Item(key[:500], fields, parties, event.external_id))
        if items:
            write_activities(team, context, Activity.Kind.MEETING, items, now, refresh=MEETING_FIELDS)
        removed = remove_copies(context, gone)
    logger.info(
        "intelligence.calendar_ingested", extra=log_extra(context, ingested=len(items), removed=removed)
    )
