"""Email signatures (A8): two templates filled from the seller's profile, a custom one, or none.

Custom signatures are HTML written by the seller. Every path that stores one (the Profile page
here, the onboarding wizard in copilot) cleans it with the one sanitiser,
``copilot.sanitize.sanitize_signature``; ``signature_html`` cleans it again when it is used, for
rows stored before that was so.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from copilot.models import User
from copilot.sanitize import sanitize_signature

TEMPLATES = {
    User.Signature.CLASSIC: "engage/profile/signature_classic.html",
    User.Signature.COMPACT: "engage/profile/signature_compact.html",
}
# What the choices are called on the Profile page.
CHOICE_LABELS = {
    User.Signature.CLASSIC: "Template 1",
    User.Signature.COMPACT: "Template 2",
    User.Signature.CUSTOM: "Custom",
    User.Signature.NONE: "No signature",
}


@dataclass(frozen=True)
class SignatureFacts:
    name: str
    title: str
    company: str
    phone: str
    email: str


def signature_facts(user: User) -> SignatureFacts:
    organization = user.organization
    return SignatureFacts(
        name=user.get_full_name(),
        title=user.job_title,
        company=organization.name if organization else "",
        phone=user.phone,
        email=user.email,
    )


def render_template_signature(choice: str, facts: SignatureFacts) -> SafeString:
    """One of the two templates filled with ``facts`` (the template escapes every value)."""
    return mark_safe(render_to_string(TEMPLATES[choice], {"facts": facts}).strip())  # noqa: S308


def signature_html(user: User) -> str:
    """The user's signature as safe HTML for outgoing email; empty when they chose none."""
    choice = user.signature_choice
    if choice in TEMPLATES:
        return render_template_signature(choice, signature_facts(user))
    if choice == User.Signature.CUSTOM:
        return mark_safe(sanitize_signature(user.signature_custom))  # noqa: S308
    return ""


def signature_previews(user: User) -> dict[str, SafeString]:
    """Both templates rendered from the user's saved profile, for the choice on the Profile page."""
    facts = signature_facts(user)
    return {choice: render_template_signature(choice, facts) for choice in TEMPLATES}
