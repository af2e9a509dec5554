"""The subset of Gmail's search syntax (``q``) the emulator understands.

``after:`` / ``before:`` (``yyyy/mm/dd`` at UTC midnight, or epoch seconds), ``newer_than:`` /
``older_than:`` (``3d``, ``2m``, ``1y``), ``in:`` / ``label:`` / ``is:``, ``from:`` / ``to:`` /
``cc:`` / ``subject:`` and bare words (case-insensitive substring), ``rfc822msgid:`` (the
message whose Message-ID header is exactly that id, angle brackets optional; Gmail's search is
case-insensitive, so is this), each negatable with ``-``. ``in:chats`` matches nothing (the
sandbox has no chats), so ``-in:chats`` matches everything.
"""

# Reference: https://support.google.com/mail/answer/7190

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from integrations.sandbox.google.mailbox import Mailbox, MailMessage

Predicate = Callable[[MailMessage], bool]
_UNITS = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}
_IS_LABELS = {"unread": "UNREAD", "starred": "STARRED", "important": "IMPORTANT"}
_IN_LABELS = {
    "inbox": "INBOX",
    "sent": "SENT",
    "spam": "SPAM",
    "trash": "TRASH",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "unread": "UNREAD",
}


class BadQuery(ValueError):
    pass


@dataclass
class Query:
    predicates: list[Predicate]
    includes_spam_trash: bool = False

    def matches(self, message: MailMessage) -> bool:
        return all(p(message) for p in self.predicates)


def parse_query(text: str, mailbox: Mailbox, now: float) -> Query:
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise BadQuery(str(exc)) from exc
    query = Query(predicates=[])
    for term in terms:
        negate = term.startswith("-") and len(term) > 1
        term = term[1:] if negate else term
        if term.upper() in ("OR", "AND") or not term:
            continue
        predicate = _term(term.lower(), mailbox, now, query)
        if predicate is None:
            continue
        query.predicates.append((lambda m, p=predicate: not p(m)) if negate else predicate)
    return query


def _term(term: str, mailbox: Mailbox, now: float, query: Query) -> Predicate | None:
    operator, colon, value = term.partition(":")
    if not colon:
        return _contains(term)
    if operator in ("after", "before"):
        limit = _epoch_ms(value)
        return (
            (lambda m: m.internal_date >= limit)
            if operator == "after"
            else (lambda m: m.internal_date < limit)
        )
    if operator in ("newer_than", "older_than"):
        match = re.fullmatch(r"(\d+)([dmy])", value)
        if match is None:
            raise BadQuery(f"Invalid {operator} value: {value}")
        limit = int((now - int(match.group(1)) * _UNITS[match.group(2)]) * 1000)
        if operator == "newer_than":
            return lambda m: m.internal_date >= limit
        return lambda m: m.internal_date < limit
    if operator in ("in", "label", "is"):
        if value in ("anywhere", "all"):
            query.includes_spam_trash = True
            return None
        if value in ("chats", "chat"):
            return lambda m: False
        if value == "read":
            return lambda m: "UNREAD" not in m.label_ids
        label = (_IS_LABELS if operator == "is" else _IN_LABELS).get(value) or _user_label(mailbox, value)
        if label in ("SPAM", "TRASH"):
            query.includes_spam_trash = True
        return lambda m: label in m.label_ids
    if operator in ("from", "to", "cc", "bcc", "subject"):
        return lambda m: value in (m.header(operator) or "").lower()
    if operator == "rfc822msgid":
        wanted = value.strip().strip("<>")
        return lambda m: bool(wanted) and m.rfc_id.lower() == wanted
    return _contains(term)


def _contains(word: str) -> Predicate:
    def matches(message: MailMessage) -> bool:
        haystack = " ".join(
            (
                message.header("subject") or "",
                message.header("from") or "",
                message.header("to") or "",
                message.text,
            )
        )
        return word in haystack.lower()

    return matches


def _user_label(mailbox: Mailbox, value: str) -> str:
    wanted = value.replace("-", " ").replace("_", " ")
    for label in mailbox.labels.values():
        if label.name.lower().replace("-", " ").replace("_", " ") == wanted or label.id.lower() == value:
            return label.id
    return f"\0missing:{value}"


def _epoch_ms(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    match = re.fullmatch(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", value)
    if match is None:
        raise BadQuery(f"Invalid date: {value}")
    day = dt.datetime(*(int(g) for g in match.groups()), tzinfo=dt.UTC)
    return int(day.timestamp() * 1000)
