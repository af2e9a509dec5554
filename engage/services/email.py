"""Sending one email from a seller's connected mailbox (B9): the one engage service between the
pages (compose today; Salesflows and tracking next) and ``integrations.sending``.

``email_send`` either sends or raises ``EmailNotSent`` whose text is a sentence for the seller:
why sending is not possible, or what the mail provider said. Nothing is sent twice and nothing
is half-sent: the provider takes the message or it does not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.exceptions import ProviderError, ProviderThrottled, ProviderUnavailable
from integrations.sending import SendingUnavailable, send_message, sending_unavailable_reason

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
