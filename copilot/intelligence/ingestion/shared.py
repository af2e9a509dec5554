"""What every kind of ingestion shares: the organisation's view of a page (``Team``), the parties
of a record, and — for mail and meetings — writing activities with their participants, people,
companies, timeline index rows and each teammate's copy, and removing copies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from copilot.bulk_sql import delete_ids, upsert_rows
from copilot.intelligence.people import PersonData, upsert_companies, upsert_people
from copilot.intelligence.rules import Decision, RuleBook, domain_of
from copilot.intelligence.services import (
    TeamDirectory,
    intelligence_settings_for,
    rulebook_for,
    team_directory,
)
from copilot.models import (
    Activity,
    ActivityCompany,
    ActivityParticipant,
    ActivityPerson,
    ActivitySource,
)
from integrations.records import MailboxContext, Record


@dataclass(frozen=True)
class Team:
    """The organisation's view of a page: who is a teammate, its lists, what it keeps."""

    organization_id: int
    directory: TeamDirectory
    book: RuleBook
    keep_bodies: bool

    @classmethod
    def load(cls, context: MailboxContext) -> Team:
        org_id = context.organization_id
        directory = team_directory(organization_id=org_id)
        if context.mailbox:
            directory = directory.with_mailbox(context.mailbox, context.user_id)
        keep = intelligence_settings_for(organization_id=org_id).keep_email_bodies
        return cls(org_id, directory, rulebook_for(organization_id=org_id), keep)

    def decide(self, addresses: Iterable[str]) -> Decision:
        return self.directory.decide(addresses, self.book)

    def makes_person(self, address: str) -> bool:
        """An outside party nobody ignores or blocks becomes one of the organisation's people."""
        return not self.directory.is_teammate(address) and self.book.match(address) is None


@dataclass(frozen=True)
class Party:
    email: str
    name: str
    role: str
    response: str = ""


@dataclass(frozen=True)
class Item:
    """One activity of a page as this mailbox holds it."""

    key: str  # the team-wide dedupe key
    fields: dict[str, Any]  # Activity columns
    parties: list[Party]
    external_id: str  # this copy's provider id


def valid_address(address: str) -> bool:
    return 3 <= len(address) <= 254 and "@" in address and " " not in address


def last_per_item(records: Sequence[Record]) -> list[Record]:
    """Of several records for one provider id in a page, the last one is the current state."""
    last: dict[str, Record] = {}
    for record in records:
        last.pop(record.external_id, None)
        last[record.external_id] = record
    return list(last.values())


def sorted_rows(rows: dict) -> list[dict]:
    """Rows in key order, so concurrent upserts take their row locks in the same order."""
    return [rows[k] for k in sorted(rows)]


# --- Activities -----------------------------------------------------------------------------------


def write_activities(
    team: Team,
    context: MailboxContext,
    kind: str,
    items: list[Item],
    now: dt.datetime,
    *,
    refresh: Sequence[str] = (),
) -> None:
    """Upsert the activities of ``items``, their participants, people, companies, timeline index
    rows and this mailbox's copies. ``refresh`` (meetings, which change) names the activity columns
    a newer copy rewrites, and its participants are rewritten too; messages never change, so an
    existing one is left as it is."""
    people = _people_of(team, items, now)
    ids = _upsert_activities(team.organization_id, kind, items, refresh)
    participants, person_links, company_links, sources = _link_rows(team, context, kind, items, ids, people)
    upsert_rows(ActivityParticipant, sorted_rows(participants), conflict=("activity_id", "email"))
    upsert_rows(ActivityPerson, sorted_rows(person_links), conflict=("activity_id", "person_id"))
    upsert_rows(ActivityCompany, sorted_rows(company_links), conflict=("activity_id", "company_id"))
    _write_sources(context, sources, moving=bool(refresh))


def _people_of(team: Team, items: list[Item], now: dt.datetime) -> dict[str, tuple[int, int | None]]:
    """Email -> (person id, company id) of the outside parties that make people, upserted."""
    wanted: dict[str, PersonData] = {}
    for item in items:
        for party in item.parties:
            if team.makes_person(party.email):
                data = wanted.setdefault(party.email, PersonData())
                data.name = data.name or party.name
    companies = upsert_companies(team.organization_id, {domain_of(e) for e in wanted}, {}, now)
    return upsert_people(team.organization_id, wanted, companies, now)


def _upsert_activities(org: int, kind: str, items: list[Item], refresh: Sequence[str]) -> dict[str, int]:
    """Upsert the activities and return dedupe key -> id; with ``refresh``, their participants
    and index rows are cleared to be written again."""
    upsert_rows(
        Activity,
        sorted(
            ({"organization_id": org, "kind": kind, "dedupe_key": item.key, **item.fields} for item in items),
            key=lambda row: row["dedupe_key"],
        ),
        conflict=("organization_id", "kind", "dedupe_key"),
        update=refresh,
    )
    keys = sorted({item.key for item in items})
    ids = dict(
        Activity.objects.filter(organization_id=org, kind=kind, dedupe_key__in=keys).values_list(
            "dedupe_key", "pk"
        )
    )
    if refresh:
        activity_ids = sorted(ids.values())
        for model in (ActivityParticipant, ActivityPerson, ActivityCompany):
            model.objects.filter(organization_id=org, activity_id__in=activity_ids).delete()
    return ids


def _link_rows(
    team: Team,
    context: MailboxContext,
    kind: str,
    items: list[Item],
    ids: dict[str, int],
    people: dict[str, tuple[int, int | None]],
) -> tuple[dict, dict, dict, dict]:
    """The rows that hang off the activities: participants, person and company index rows, and
    this mailbox's copies (each keyed so a repeat in the page is written once)."""
    org = team.organization_id
    participants, person_links, company_links, sources = {}, {}, {}, {}
    for item in items:
        activity_id = ids[item.key]
        base = {"organization_id": org, "activity_id": activity_id}
        index = {**base, "kind": kind, "occurred_at": item.fields["occurred_at"]}
        for party in item.parties:
            person_id, company_id = people.get(party.email, (None, None))
            participants.setdefault(
                (activity_id, party.email),
                {
                    **base,
                    "email": party.email,
                    "name": party.name,
                    "role": party.role,
                    "response": party.response,
                    "person_id": person_id,
                    "user_id": team.directory.user_ids.get(party.email),
                },
            )
            if person_id:
                person_links[(activity_id, person_id)] = {**index, "person_id": person_id}
            if company_id:
                company_links[(activity_id, company_id)] = {**index, "company_id": company_id}
        sources[item.external_id] = {
            **base,
            "user_id": context.user_id,
            "provider": context.provider,
            "kind": context.kind,
            "external_id": item.external_id,
        }
    return participants, person_links, company_links, sources


def _sources(context: MailboxContext, external_ids: Iterable[str]):
    return ActivitySource.objects.filter(
        organization_id=context.organization_id,
        user_id=context.user_id,
        provider=context.provider,
        kind=context.kind,
        external_id__in=list(external_ids),
    )


def _write_sources(context: MailboxContext, sources: dict[str, dict], *, moving: bool) -> None:
    """This mailbox's copies. A meeting's copy may move to another activity (its iCalUID changed):
    the activity it leaves goes when nothing else holds it."""
    before: dict[str, int] = {}
    if moving:
        before = dict(_sources(context, sources).values_list("external_id", "activity_id"))
    upsert_rows(
        ActivitySource,
        sorted_rows(sources),
        conflict=("user_id", "provider", "kind", "external_id"),
        update=("activity_id",) if moving else (),
    )
    left = {old for ext, old in before.items() if old != sources[ext]["activity_id"]}
    if left:
        _delete_orphans(context.organization_id, left)


def remove_copies(context: MailboxContext, external_ids: Iterable[str]) -> int:
    """This mailbox no longer holds these items; activities nobody holds any more go too (except
    mail sent from Cadence, which stays on the timeline). Returns how many copies went."""
    external_ids = list(external_ids)
    if not external_ids:
        return 0
    copies = _sources(context, external_ids)
    activity_ids = set(copies.values_list("activity_id", flat=True))
    if not activity_ids:
        return 0
    removed, _ = copies.delete()
    _delete_orphans(context.organization_id, activity_ids)
    return removed


def _delete_orphans(organization_id: int, activity_ids: Iterable[int]) -> None:
    orphans = list(
        Activity.objects.filter(
            organization_id=organization_id,
            pk__in=list(activity_ids),
            sent_from_app=False,
            sources__isnull=True,
        ).values_list("pk", flat=True)
    )
    if orphans:
        for model in (ActivityParticipant, ActivityPerson, ActivityCompany):
            model.objects.filter(activity_id__in=orphans).delete()  # one DELETE each: nothing hangs off them
        delete_ids(Activity, orphans)


def log_extra(context: MailboxContext, **counts: int) -> dict[str, int]:
    """The ``extra`` of an ``intelligence.*_ingested`` log line: whose page, and its counts."""
    return {
        "organization_id": context.organization_id,
        "user_id": context.user_id,
        "connection_id": context.connection_id,
        **counts,
    }
