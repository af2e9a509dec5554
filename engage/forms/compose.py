"""Compose (B9, basic): one email to one or more people, sent through the seller's mailbox.

The form checks the shapes (every recipient a valid address, a subject, a message); the message
handed to ``integrations.sending.send_message`` is built by ``outgoing_message`` with
the seller's signature appended to both the plain-text and the HTML part.
"""

from __future__ import annotations

import html
import re
from email.utils import getaddresses

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.html import escape, strip_tags

from copilot.models import User
from engage.signatures import signature_html
from integrations.records import Address
from integrations.sync.source import OutgoingMessage

MAX_RECIPIENTS = 50
SUBJECT_MAX_LENGTH = 998  # RFC 5322 line length
BODY_MAX_LENGTH = 100_000
_SEPARATORS = re.compile(r"[,;\n\r]+")


def parse_recipients(value: str) -> tuple[list[Address], list[str]]:
    """The addresses in ``value`` (comma, semicolon or line separated; ``Name <addr>`` allowed;
    duplicates dropped) and the pieces that are not addresses."""
    addresses: list[Address] = []
    invalid: list[str] = []
    seen: set[str] = set()
    for chunk in _SEPARATORS.split(value or ""):
        chunk = chunk.strip()
        if not chunk:
            continue
        # "a@x.example b@y.example" (pasted with spaces) is two addresses; "Ann Lee <a@x>" is one.
        tokens = chunk.split()
        pieces = tokens if len(tokens) > 1 and all("@" in t and "<" not in t for t in tokens) else [chunk]
        for piece in pieces:
            parsed = getaddresses([piece])
            name, email = parsed[0] if len(parsed) == 1 else ("", "")
            email = email.strip().lower()
            try:
                validate_email(email)
            except ValidationError:
                invalid.append(piece)
                continue
            if email not in seen:
                seen.add(email)
                addresses.append(Address(email=email, name=" ".join(name.split())))
    return addresses, invalid


class RecipientsField(forms.CharField):
    """One or more email addresses; cleans to a list of ``Address``."""

    def to_python(self, value: str | None) -> list[Address]:  # type: ignore[override]
        text = super().to_python(value)
        addresses, invalid = parse_recipients(text)
        if invalid:
            quoted = ", ".join(f"“{piece}”" for piece in invalid[:5])
            raise ValidationError(
                f"{quoted} {'is not an email address' if len(invalid) == 1 else 'are not email addresses'}. "
                "Separate addresses with commas.",
                code="invalid",
            )
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(f"Send to at most {MAX_RECIPIENTS} people at once.", code="max")
        return addresses

    def validate(self, value: list[Address]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class ComposeForm(forms.Form):
    to = RecipientsField(
        label="To",
        widget=forms.TextInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        help_text="One or more addresses, separated by commas.",
        error_messages={"required": "Add at least one recipient."},
    )
    cc = RecipientsField(
        label="Cc",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    subject = forms.CharField(
        max_length=SUBJECT_MAX_LENGTH,
        error_messages={
            "required": "Write a subject.",
            "max_length": f"Keep the subject to {SUBJECT_MAX_LENGTH} characters or fewer.",
        },
    )
    body = forms.CharField(
        label="Message",
        max_length=BODY_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        error_messages={
            "required": "Write your message.",
            "max_length": f"Keep the message to {BODY_MAX_LENGTH:,} characters or fewer.",
        },
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_subject(self) -> str:
        # A header value: no line breaks, whatever was pasted.
        return " ".join(self.cleaned_data["subject"].split())

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        if not body.strip():
            raise ValidationError("Write your message.", code="required")
        return body.rstrip()

    def clean(self) -> dict:
        data = super().clean()
        to = data.get("to") or []
        cc = [a for a in data.get("cc") or [] if a.email not in {t.email for t in to}]
        if "cc" in data:
            data["cc"] = cc
        if len(to) + len(cc) > MAX_RECIPIENTS:
            self.add_error("cc", f"Send to at most {MAX_RECIPIENTS} people at once.")
        return data


def signature_text(signature: str) -> str:
    """The plain-text version of a signature's HTML: line breaks kept, tags dropped."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr)>", "\n", signature or "")
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def body_html(body: str, signature: str) -> str:
    """The HTML part: the message escaped with its line breaks, then the signature."""
    lines = escape(body.replace("\r\n", "\n")).replace("\n", "<br>\n")
    parts = [f"<div>{lines}</div>"]
    if signature:
        parts.append(f'<br><div class="signature">{signature}</div>')
    return "".join(parts)


def outgoing_message(
    *, user: User, to: list[Address], cc: list[Address], subject: str, body: str
) -> OutgoingMessage:
    """What ``send_message`` sends for the composed email: body plus ``user``'s signature."""
    signature = signature_html(user)
    plain_signature = signature_text(signature)
    text = f"{body}\n\n-- \n{plain_signature}" if plain_signature else body
    return OutgoingMessage(
        to=tuple(to),
        cc=tuple(cc),
        subject=subject,
        text=text + "\n",
        html=body_html(body, signature),
        sender_name=user.get_full_name(),
    )
