"""Provider-neutral records as the Gmail and Graph packages hand them over, for ingestion tests."""

from __future__ import annotations

import datetime as dt

from integrations.records import (
    Address,
    AddressBookContactRecord,
    Attendee,
    CalendarEventRecord,
    MailboxContext,
    MailMessageRecord,
)

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def context(user, kind: str = "email", provider: str = "google", **extra) -> MailboxContext:
    return MailboxContext(
        organization_id=user.organization_id,
        connection_id=1,
        provider=provider,
        user_id=user.pk,
        mailbox=user.email,
        kind=kind,
        **extra,
    )


def message(
    n: int,
    *,
    sender: str | tuple[str, str],  # an address, or (address, name)
    to: tuple = (),
    cc: tuple = (),
    external_id: str | None = None,
    message_id: str | None = None,
    **fields,
) -> MailMessageRecord:
    def address(value) -> Address:
        return Address(*value) if isinstance(value, tuple) else Address(value)

    fields.setdefault("subject", f"Pricing {n}")
    fields.setdefault("snippet", f"Could you send the pricing for {n} seats?")
    fields.setdefault("body_text", f"Hello,\n\nCould you send the pricing for {n} seats?\n")
    return MailMessageRecord(
        external_id=external_id or f"m{n}",
        thread_id=f"t{n}",
        message_id_header=f"msg-{n}@mail.example" if message_id is None else message_id,
        sender=address(sender),
        sent_at=T0 + dt.timedelta(minutes=n),
        to=tuple(address(a) for a in to),
        cc=tuple(address(a) for a in cc),
        **fields,
    )


def event(n: int, *, organizer: str, attendees: tuple = (), **fields) -> CalendarEventRecord:
    fields.setdefault("subject", f"Discovery call {n}")
    fields.setdefault("start", T0 + dt.timedelta(days=n))
    fields.setdefault("end", fields["start"] + dt.timedelta(minutes=30))
    people = tuple(a if isinstance(a, Attendee) else Attendee(a) for a in attendees)
    return CalendarEventRecord(
        external_id=fields.pop("external_id", f"e{n}"),
        ical_uid=fields.pop("ical_uid", f"meeting-{n}@calendar.example"),
        organizer=Address(organizer),
        attendees=people,
        **fields,
    )


def contact(external_id: str, *emails: str, **fields) -> AddressBookContactRecord:
    return AddressBookContactRecord(external_id=external_id, emails=emails, **fields)
