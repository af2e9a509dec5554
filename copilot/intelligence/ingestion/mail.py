"""Synced mail (Gmail and Graph alike) becomes email activities.

- A message is one activity per team, keyed by its Message-ID (``<provider>:<id>`` without one).
- A draft is not ingested; a draft or a deleted message takes this mailbox's copy away.
- A message excluded by the rules stores no content, only an ``IngestionSkip`` (hash of its
  Message-ID, the rule, the party) so admins can ask why it is missing; once ingested, that
  skip is forgotten.
- The full body is kept only when the organisation allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from copilot.bulk_sql import upsert_rows
from copilot.intelligence.ingestion.shared import (
    Item,
    Party,
    Team,
    last_per_item,
    log_extra,
    remove_copies,
    sorted_rows,
    valid_address,
    write_activities,
)
from copilot.intelligence.people import clean_name
from copilot.intelligence.services import message_key
from copilot.models import Activity, ActivityParticipant, IngestionSkip
from integrations.records import Deletion, MailboxContext, MailMessageRecord, Record

logger = logging.getLogger(__name__)

Role = ActivityParticipant.Role


def _mail_parties(record: MailMessageRecord) -> list[Party]:
    parties: dict[str, Party] = {}
    for role, addresses in (
        (Role.FROM, (record.sender,)),
        (Role.TO, record.to),
        (Role.CC, record.cc),
        (Role.BCC, record.bcc),
    ):
        for address in addresses:
            email = (address.email or "").strip().lower()
            if valid_address(email) and email not in parties:
                parties[email] = Party(email, clean_name(address.name, email), role)
    return list(parties.values())


def ingest_email(context: MailboxContext, records: Sequence[Record]) -> None:
    current = last_per_item(records)
    messages = [r for r in current if isinstance(r, MailMessageRecord) and not r.is_draft]
    gone = [r.external_id for r in current if isinstance(r, Deletion)]
    gone += [r.external_id for r in current if isinstance(r, MailMessageRecord) and r.is_draft]
    items: list[Item] = []
    skipped, included_keys = {}, []
    with transaction.atomic():
        team = Team.load(context) if messages else None
        now = timezone.now()
        for record in messages:
            key = (
                record.message_id_header.strip().strip("<>").strip()
                or f"{context.provider}:{record.external_id}"
            )
            parties = _mail_parties(record)
            decision = team.decide(p.email for p in parties)
            if not decision.ingest:
                skipped[message_key(key)] = {
                    "organization_id": context.organization_id,
                    "message_key": message_key(key),
                    "rule": decision.rule,
                    "party": decision.party[:254],
                    "decided_at": now,
                }
                continue
            included_keys.append(message_key(key))
            fields = {
                "occurred_at": record.sent_at,
                "subject": (record.subject or "")[:998],
                "snippet": " ".join((record.snippet or "").split())[:500],
                "body": (record.body_text or "") if team.keep_bodies else "",
                "thread_key": (record.thread_id or "")[:300],
                "sender_email": parties[0].email if parties else "",
                "sender_name": parties[0].name if parties else "",
                "provider": context.provider,
                "sent_from_app": context.sent_from_app,
                "created_at": now,
                "updated_at": now,
            }
            items.append(Item(key[:500], fields, parties, record.external_id))
        upsert_rows(
            IngestionSkip,
            sorted_rows(skipped),
            conflict=("organization_id", "message_key"),
            update=("rule", "party", "decided_at"),
        )
        if included_keys:
            IngestionSkip.objects.filter(
                organization_id=context.organization_id, message_key__in=included_keys
            ).delete()
        if items:
            write_activities(team, context, Activity.Kind.EMAIL, items, now)
        removed = remove_copies(context, gone)
    logger.info(
        "intelligence.email_ingested",
        extra=log_extra(context, ingested=len(items), skipped=len(skipped), removed=removed),
    )
