"""Sending one email from a seller's connected mailbox (B9): the one engage service between the
pages (compose today; Salesflows and tracking next) and ``integrations.sending``.

``email_send`` either sends or raises ``EmailNotSent`` whose text is a sentence for the seller:
why sending is not possible, or what the mail provider said. Nothing is sent twice and nothing
is half-sent: the provider takes the message or it does not.

``email_find_sent`` is how a sender that stored a message's Message-ID before ``email_send`` and
lost the answer (a crash, a timeout) learns whether the message went: it looks in the seller's
Sent mail and records what it finds on the timeline. Threaded follow-ups are ``OutgoingMessage``s
with ``in_reply_to``/``references`` (and Gmail's ``thread_id`` when known); their "Re: …" subject is
the caller's to write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.exceptions import ProviderError, ProviderThrottled, ProviderUnavailable
from integrations.sending import (
    SendingUnavailable,
    find_sent_message,
    send_message,
    sending_unavailable_reason,
)

if TYPE_CHECKING:
    from copilot.models import User
    from integrations.records import MailMessageRecord
    from integrations.sync.source import OutgoingMessage


class EmailNotSent(Exception):
    """The email did not go; ``str()`` says why, for the seller."""


def email_unavailable_reason(*, user: User) -> str:
    """Why ``user`` cannot send from the app now, or "" when they can."""
    return sending_unavailable_reason(user)[1]


def email_send(*, user: User, message: OutgoingMessage) -> MailMessageRecord:
    """Send ``message`` from ``user``'s mailbox (the sent copy is on the timeline at once).
    ``EmailNotSent`` when sending is not possible or the provider did not take it."""
    try:
        return send_message(user=user, message=message)
    except SendingUnavailable as exc:
        raise EmailNotSent(str(exc)) from exc
    except (ProviderThrottled, ProviderUnavailable) as exc:
        raise EmailNotSent(
            f"Your mail provider could not take the message right now: {exc} "
            "Nothing was sent; try again in a minute."
        ) from exc
    except ProviderError as exc:
        raise EmailNotSent(f"Your mail provider refused the message: {exc}") from exc


def email_find_sent(*, user: User, message_id_header: str) -> MailMessageRecord | None:
    """The email ``user``'s mailbox sent with this Message-ID (without <>), now on the timeline;
    None when their Sent mail does not hold it. Microsoft 365 saves the Sent Items copy a moment
    after sending, so None soon after a send may mean "not there yet": ask again later before
    sending again. ``EmailNotSent`` (a sentence for the seller) when the mailbox cannot be asked."""
    try:
        return find_sent_message(user=user, message_id_header=message_id_header)
    except SendingUnavailable as exc:
        raise EmailNotSent(str(exc)) from exc
    except (ProviderThrottled, ProviderUnavailable) as exc:
        raise EmailNotSent(
            f"Your mail provider could not be asked whether the email went: {exc} "
            "Nothing was sent again; try again in a minute."
        ) from exc
    except ProviderError as exc:
        raise EmailNotSent(f"Your mail provider refused to say whether the email went: {exc}") from exc
