"""What an activity's Salesforce Task says (G11, G12): the subject of a call or an email event
and a call's comments block, cut to the Task's field lengths. Pure text; the queueing and
sending are in ``engage.services.crm.activities``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

# F7's call results that are conversations: the only ones with a sentiment.
CONVERSATIONS = ("Connected via direct line", "Connected via switchboard", "Referred to colleague")
# G12's events and the words their Task subjects use.
EVENT_LABELS = {
    "sent": "Sent Email",
    "opened": "Email opened",
    "failed": "Email failed",
    "unsubscribed": "Contact unsubscribed",
    "content_viewed": "Content viewed",
    "content_downloaded": "Content downloaded",
    "link_clicked": "A link clicked",
    "reply": "Email reply",
}
LINK_EVENTS = frozenset({"link_clicked", "content_viewed", "content_downloaded"})
SUBJECT_MAX, DESCRIPTION_MAX = 255, 32_000


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit == SUBJECT_MAX else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_subject(subject: str) -> str:
    return cut(f"Engage Call: {subject.strip()}", SUBJECT_MAX)


def email_event_subject(event: str, email_subject: str, link_text: str | None = None) -> str:
    """``Engage: {event} {email subject or link text}`` (a link's text for clicks and content)."""
    if event not in EVENT_LABELS:
        raise ValueError(f"Unknown email event {event!r}: one of {', '.join(EVENT_LABELS)}.")
    text = (link_text or "").strip() if event in LINK_EVENTS and link_text else (email_subject or "").strip()
    return cut(f"Engage: {EVENT_LABELS[event]} {text}".strip(), SUBJECT_MAX)


def call_comments(
    *,
    result: str,
    sentiment: str = "",
    comments: str = "",
    voicemail_title: str = "",
    recording_url: str = "",
) -> str:
    """The call's comments block: sentiment (conversations only), the seller's comments, the
    voicemail left and the recording's URL — one line each, only those there are."""
    lines = []
    if sentiment.strip() and result in CONVERSATIONS:
        lines.append(f"Sentiment: {sentiment.strip()}")
    if comments.strip():
        lines.append(f"Comments: {comments.strip()}")
    if voicemail_title.strip():
        lines.append(f"VoiceMail Left: {voicemail_title.strip()}")
    if recording_url.strip():
        lines.append(f"Call Recording URL: {recording_url.strip()}")
    return cut("\n".join(lines), DESCRIPTION_MAX)


def activity_date(occurred_at: dt.datetime) -> str:
    return (
        timezone.localdate(occurred_at).isoformat()
        if timezone.is_aware(occurred_at)
        else occurred_at.date().isoformat()
    )
