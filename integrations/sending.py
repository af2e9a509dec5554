"""Send an email from the app through the user's connected mailbox (B9, basic).

``send_message`` picks the connection that serves the user's mailbox
(``selectors.mail_connection_for``) and refuses, with a sentence for the person, when there is
none, when its email app was disconnected (B6) or when the connection needs a reconnect. Sending
works while the email app is toggled OFF (B5): OFF stops syncing, not sending.

The sent message goes straight to the ingestion handlers (``sent_from_app=True``) so it is on the
timeline at once; when the sync later sees the same message it is deduplicated by Message-ID.

``find_sent_message`` serves exactly-once sending: a caller that stored the Message-ID before the
provider call and then lost track of the answer (a crash, a timeout) asks the user's Sent mail for
it before sending again. Same connection and refusals as ``send_message``; a message found goes to
the timeline the same way (delivering it twice changes nothing: ingestion keys it by Message-ID).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import make_msgid

from django.db import transaction

from copilot.models import User
from integrations import selectors, services
from integrations.base import get_source
from integrations.exceptions import MailboxAccessDenied, ProviderAuthError, ProviderError
from integrations.models import Connection
from integrations.records import Address, MailboxContext, MailMessageRecord
from integrations.sync.registry import deliver
from integrations.sync.source import MailboxRef, OutgoingMessage

logger = logging.getLogger(__name__)

NO_CONNECTION = (
    "Your mailbox is not connected to Cadence. Connect Google or Microsoft in Settings › Integrations, "
    "or ask your administrator."
)
EMAIL_DISCONNECTED = (
    "Sending from Cadence is off: your administrator disconnected the email integration. "
    "Send from your mail app instead, or ask your administrator to connect it again."
)
UNVERIFIED = (
    "Confirm your email address first: Cadence sends only from an address its owner has confirmed. "
    "Open Account › Email to resend the confirmation email."
)
NEEDS_RECONNECT = (
    "Cadence can no longer reach your mailbox: the {provider} connection needs to be reconnected. {who}"
)


class SendingUnavailable(Exception):
    """Sending from the app is not possible for this person now; ``reason`` says why, plainly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _needs_reconnect(connection: Connection) -> str:
    who = (
        "Ask your administrator to reconnect it in the Admin Portal."
        if connection.is_org_wide
        else "Reconnect it in Settings › Integrations."
    )
    return NEEDS_RECONNECT.format(provider=connection.get_provider_display(), who=who)


def sending_unavailable_reason(user: User) -> tuple[Connection | None, str]:
    """The connection sending would use and "" — or None/the connection and why it cannot."""
    if not selectors.address_verified(user):
        return None, UNVERIFIED
    connection = selectors.mail_connection_for(user)
    if connection is None:
        return None, _not_served_reason(user)
    if not connection.organization.is_active:
        return connection, "Your organisation is deactivated in Cadence, so sending is paused."
    if not selectors.email_app_connected(connection):
        return connection, EMAIL_DISCONNECTED
    if connection.status == Connection.Status.NEEDS_RECONNECT:
        return connection, _needs_reconnect(connection)
    if get_source(connection.provider) is None:
        return connection, f"Sending through {connection.get_provider_display()} is not available."
    return connection, ""


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str) -> str:
    """``value`` on one line: control characters (a line break in a name stored before names
    refused them) become spaces, so the email library never refuses the header and no value
    can start a header of its own."""
    return " ".join(_CONTROL_CHARACTERS.sub(" ", value or "").split())


def header_safe(message: OutgoingMessage) -> OutgoingMessage:
    """The message with every value that goes into a header (names, subject) on one line; the
    adapters then build From/To/Cc with ``email.utils.formataddr``."""

    def names(addresses: tuple[Address, ...]) -> tuple[Address, ...]:
        return tuple(dataclasses.replace(a, name=header_text(a.name)) for a in addresses)

    return dataclasses.replace(
        message,
        sender_name=header_text(message.sender_name),
        subject=header_text(message.subject),
        to=names(message.to),
        cc=names(message.cc),
        bcc=names(message.bcc),
    )


def _not_served_reason(user: User) -> str:
    """Why no connection serves ``user``: the organisation's own says why when there is one
    (an address outside its domains or tenant, …), otherwise nothing is connected."""
    email = user.email.lower()
    for provider in selectors.MAIL_PROVIDERS:
        connection = selectors.org_connection(user.organization, provider)
        if connection is None or connection.status == Connection.Status.DISCONNECTED:
            continue
        reason = selectors.mailbox_reason(connection, email, verified=True)
        if reason:
            return (
                f"Cadence cannot send from {email} through your organisation's "
                f"{connection.get_provider_display()} connection: {reason.lower()}. "
                "Ask your administrator."
            )
    return NO_CONNECTION


def send_message(*, user: User, message: OutgoingMessage) -> MailMessageRecord:
    """Send ``message`` from ``user``'s mailbox; the sent copy is on the timeline at once."""
    connection = _sending_connection(user)
    adapter = get_source(connection.provider)
    assert adapter is not None
    address = user.email.lower()
    message = header_safe(message)
    if not message.message_id_header:
        domain = address.rsplit("@", 1)[-1]
        message = dataclasses.replace(message, message_id_header=make_msgid(domain=domain).strip("<>"))
    mailbox = MailboxRef(user_id=user.pk, address=address)
    with _provider_refusals(connection, user, "send"):
        record = adapter.send(connection=connection, mailbox=mailbox, message=message)
    _to_timeline(connection, user, record)
    logger.info("mailsync.sent", extra={**_log_extra(connection, user), "external_id": record.external_id})
    return record


def find_sent_message(*, user: User, message_id_header: str) -> MailMessageRecord | None:
    """The message ``user``'s mailbox sent with this Message-ID (without <>), from their Sent mail,
    put on the timeline like a message just sent; None when it is not there. On Microsoft 365 the
    Sent Items copy appears a moment after sending: None right after a send means "not there
    yet" as much as "never sent". ``SendingUnavailable`` as ``send_message``; provider failures
    raise as ``ProviderError`` types."""
    connection = _sending_connection(user)
    adapter = get_source(connection.provider)
    assert adapter is not None
    address = user.email.lower()
    mailbox = MailboxRef(user_id=user.pk, address=address)
    wanted = message_id_header.strip().strip("<>").strip()
    with _provider_refusals(connection, user, "find_sent"):
        record = adapter.find_sent(connection=connection, mailbox=mailbox, message_id_header=wanted)
    extra = _log_extra(connection, user)
    if record is None:
        logger.info("mailsync.sent_not_found", extra=extra)
        return None
    _to_timeline(connection, user, record)
    logger.info("mailsync.sent_found", extra={**extra, "external_id": record.external_id})
    return record


def _sending_connection(user: User) -> Connection:
    connection, reason = sending_unavailable_reason(user)
    if reason or connection is None:
        raise SendingUnavailable(reason or NO_CONNECTION)
    return connection


def _log_extra(connection: Connection, user: User) -> dict[str, int]:
    return {"connection_id": connection.pk, "organization_id": connection.organization_id, "user_id": user.pk}


@contextmanager
def _provider_refusals(connection: Connection, user: User, action: str) -> Iterator[None]:
    """Refused credentials mark the connection for a reconnect and a mailbox out of reach says so,
    both as ``SendingUnavailable``; other provider errors (throttled, unavailable, refused) go up
    as they are, for the caller to say "try again"."""
    extra = {**_log_extra(connection, user), "action": action}
    address = user.email.lower()
    try:
        yield
    except ProviderAuthError as exc:
        services.connection_mark_needs_reconnect(
            connection=connection,
            reason=f"{connection.get_provider_display()} refused Cadence's access: {exc}",
            error=str(exc),
        )
        logger.warning("mailsync.send_refused", extra={**extra, "error": "auth"})
        raise SendingUnavailable(_needs_reconnect(connection)) from exc
    except MailboxAccessDenied as exc:
        logger.warning("mailsync.send_refused", extra={**extra, "error": "access_denied"})
        raise SendingUnavailable(
            f"{connection.get_provider_display()} does not let Cadence send from {address}. "
            "Ask your administrator to check the integration's scope."
        ) from exc
    except ProviderError as exc:
        logger.warning("mailsync.send_failed", extra={**extra, "error": type(exc).__name__})
        raise


def _to_timeline(connection: Connection, user: User, record: MailMessageRecord) -> None:
    context = MailboxContext(
        organization_id=connection.organization_id,
        connection_id=connection.pk,
        provider=connection.provider,
        user_id=user.pk,
        mailbox=user.email.lower(),
        kind="email",
        sent_from_app=True,
    )
    with transaction.atomic():
        deliver(context, [record])
