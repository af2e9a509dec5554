"""The first-run wizard (A3). Every step can be saved or skipped; progress is kept on the user
(``User.onboarding``: step -> "done" | "skipped") so it can be finished later from Account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from copilot.models import User
from copilot.sanitize import sanitize_signature


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    help: str


STEPS: tuple[Step, ...] = (
    Step("contact", "Contact details", "Your name, phone number, job title and company."),
    Step("email", "Email provider", "Where your team's mailboxes and calendars live."),
    Step("crm", "CRM", "Whether Cadence should work with your Salesforce org."),
    Step("signature", "Email signature", "A template, your own signature, or none."),
    Step("dialer", "Dialer phone", "The phone number your calls are placed from."),
    Step("locale", "Time zone and language", "Used for send windows, dates and the interface."),
)
STEP_KEYS = [s.key for s in STEPS]

# Fields each step may write, split by owner: the user's own, or the organisation's
# (only an Administrator's answer is stored on the organisation).
USER_FIELDS = {
    "contact": ["first_name", "last_name", "phone", "job_title"],
    "email": [],
    "crm": [],
    "signature": ["signature_choice", "signature_custom"],
    "dialer": ["dialer_phone"],
    "locale": ["time_zone", "language"],
}
ORG_FIELDS = {
    "contact": {"company": "name"},
    "email": {"email_provider": "email_provider"},
    "crm": {"crm": "crm"},
}


def step_by_key(key: str) -> Step:
    for step in STEPS:
        if step.key == key:
            return step
    raise KeyError(key)


def onboarding_next_step(user: User) -> Step | None:
    """The first step neither done nor skipped, or None when the wizard is finished."""
    for step in STEPS:
        if step.key not in user.onboarding:
            return step
    return None


def onboarding_progress(user: User) -> dict[str, Any]:
    done = sum(1 for s in STEPS if user.onboarding.get(s.key) == "done")
    skipped = [s for s in STEPS if user.onboarding.get(s.key) == "skipped"]
    return {
        "done": done,
        "total": len(STEPS),
        "skipped": skipped,
        "percent": round(100 * done / len(STEPS)),
        "finished": user.onboarding_finished_at is not None,
    }


def _mark(user: User, step: Step, state: str, extra_fields: list[str]) -> None:
    user.onboarding = {**user.onboarding, step.key: state}
    fields = ["onboarding", *extra_fields]
    if user.onboarding_finished_at is None and onboarding_next_step(user) is None:
        user.onboarding_finished_at = timezone.now()
        fields.append("onboarding_finished_at")
    user.save(update_fields=fields)


@transaction.atomic
def onboarding_save_step(*, user: User, step_key: str, data: dict[str, Any]) -> User:
    step = step_by_key(step_key)
    user_fields = USER_FIELDS[step.key]
    for field in user_fields:
        if field in data:
            value = data[field]
            if field == "signature_custom":  # rendered on the Profile page and in every email
                value = sanitize_signature(value)
            setattr(user, field, value)
    org_answers = {
        attr: data[key] for key, attr in ORG_FIELDS.get(step.key, {}).items() if data.get(key) is not None
    }
    if user.is_org_admin and org_answers:
        for attr, value in org_answers.items():
            setattr(user.organization, attr, value)
        user.organization.save(update_fields=list(org_answers))
    _mark(user, step, "done", [f for f in user_fields if f in data])
    return user


@transaction.atomic
def onboarding_skip_step(*, user: User, step_key: str) -> User:
    step = step_by_key(step_key)
    if user.onboarding.get(step.key) != "done":  # skipping never undoes a saved step
        _mark(user, step, "skipped", [])
    return user
