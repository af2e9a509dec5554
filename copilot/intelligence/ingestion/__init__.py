"""The one ingestion path for synced mail, calendars and address books (B7, B8, B11, D2-D4, D6).

``integrations`` turns Gmail and Graph mail, both calendars and both address books into
provider-neutral records and hands each page to the handlers registered here (from
``CopilotConfig.ready``). Here is decided what is stored: ignore/block rules (``rules.decide``),
activities with their participants, the people and companies they involve, and each teammate's
copy (``ActivitySource``).

Pages can hold 500 records, so every step is one statement per table per page (``bulk``), never per
record, and every write is an idempotent upsert on a unique key: a page delivered twice changes
nothing, and the same message in two teammates' mailboxes is one activity with two sources.

One module per kind — ``mail``, ``calendars``, ``address_books`` — on top of ``shared`` (the
organisation's view of a page, and writing activities and their copies). Decisions common to all:
- Of several records for one item in a page the last one counts.
- People are made for outside participants nobody ignores; companies for their domains unless
  free mail (``rules.FREE_MAIL_DOMAINS``), named after the domain until an address book gives a
  better name. A company is keyed by the registrable domain (``eu.acme.com`` → ``acme.com``).
"""

from __future__ import annotations

from copilot.intelligence.ingestion.address_books import ingest_contacts
from copilot.intelligence.ingestion.calendars import ingest_calendar
from copilot.intelligence.ingestion.mail import ingest_email
from integrations.sync.registry import register_handler

HANDLERS = {"email": ingest_email, "calendar": ingest_calendar, "contacts": ingest_contacts}


def register() -> None:
    """Called from ``CopilotConfig.ready``: copilot decides what synced records become."""
    for kind, handler in HANDLERS.items():
        register_handler(kind, handler)
