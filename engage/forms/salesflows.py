"""Forms of the Salesflow pages (F4): a new flow, its settings, a step, a template. They check
shapes and clean the email's HTML; the services (``engage.salesflows.builder``) decide the rest —
unique names, merge fields, threaded replies — and their errors are shown on these forms' fields.

Email bodies are HTML written in the editor (or typed into the plain textarea without
JavaScript). They are cleaned with nh3 before anything else sees them, the way signatures are
(``copilot.sanitize``): simple formatting and links survive; scripts, styles, event handlers and
other URLs' schemes do not."""

from __future__ import annotations

from typing import Any

import nh3
from django import forms

from copilot.validators import refuse_control_characters
from engage.models import Salesflow, SalesflowStep, SalesflowTemplate
from engage.models.salesflows import DelayUnit, StepKind
from engage.salesflows.builder import DELAY_MAX, NAME_MAX

EMAIL_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "div",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "s",
    "span",
    "strong",
    "u",
    "ul",
}
EMAIL_ATTRIBUTES = {"a": {"href"}}
EMAIL_URL_SCHEMES = {"http", "https", "mailto"}
BODY_MAX = 100_000


def sanitize_email_html(html: str) -> str:
    """A step's or template's HTML body as it may be stored and sent: formatting, lists, quotes
    and links (http, https, mailto, or a merge field such as ``{{ account.website }}``) survive;
    everything else is removed (scripts and styles with their content). Merge-field tags are text
    and come through as written."""
    cleaned = nh3.clean(
        html or "",
        tags=EMAIL_TAGS,
        attributes=EMAIL_ATTRIBUTES,
        url_schemes=EMAIL_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    cleaned = cleaned.strip()
    # An editor left empty still holds an empty paragraph: that is no email.
    if cleaned.replace("<br>", "").replace("<div></div>", "").replace("<p></p>", "").strip() == "":
        return ""
    return cleaned


class FlowCreateForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        validators=[refuse_control_characters],
        error_messages={"required": "Give the Salesflow a name."},
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "e.g. Q3 outbound, CTOs"}),
    )
    visibility = forms.ChoiceField(
        label="Who can see and use it",
        choices=Salesflow.Visibility.choices,
        initial=Salesflow.Visibility.PRIVATE,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who sees the Salesflow."},
    )


class FlowSettingsForm(FlowCreateForm):
    exit_company_on_reply = forms.ChoiceField(
        label="When someone at a company replies, the others from that company in this Salesflow",
        choices=[
            (Salesflow.OnReply.NONE, "Carry on: nothing changes for them"),
            (Salesflow.OnReply.PAUSE, "Are paused, until you resume them"),
            (Salesflow.OnReply.EXIT, "Leave the Salesflow"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happens to the others at a company when one replies."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.pop("autofocus", None)

    @staticmethod
    def initial_for(flow: Salesflow) -> dict[str, str]:
        return {
            "name": flow.name,
            "visibility": flow.visibility,
            "exit_company_on_reply": flow.exit_company_on_reply,
        }


class _EmailContentForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=500, required=False)
    body_html = forms.CharField(
        label="Email",
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
    )
    body_text = forms.CharField(
        label="Plain-text version (optional)",
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Sent to mail apps that do not show formatting. Leave empty to have it made from the email.",
    )

    def clean_body_html(self) -> str:
        return sanitize_email_html(self.cleaned_data["body_html"])


class StepForm(_EmailContentForm):
    kind = forms.ChoiceField(
        label="Kind of step",
        choices=StepKind.choices,
        error_messages={"required": "Choose the kind of step.", "invalid_choice": "Choose the kind of step."},
    )
    delay_amount = forms.IntegerField(
        label="Wait",
        min_value=0,
        initial=0,
        error_messages={
            "required": "Say how long to wait (0 for no wait).",
            "invalid": "The wait must be a whole number, 0 or more.",
            "min_value": "The wait must be a whole number, 0 or more.",
        },
        widget=forms.NumberInput(attrs={"min": 0, "step": 1, "inputmode": "numeric"}),
    )
    delay_unit = forms.ChoiceField(
        label="Unit",
        choices=DelayUnit.choices,
        initial=DelayUnit.DAYS,
        error_messages={"invalid_choice": "Choose minutes, hours, days or business days."},
    )
    reply_in_thread = forms.BooleanField(label="Send as a reply in the same thread", required=False)
    task_text = forms.CharField(
        label="What to do",
        max_length=5_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "e.g. Connect on LinkedIn"}),
    )

    field_order = [
        "kind",
        "delay_amount",
        "delay_unit",
        "reply_in_thread",
        "subject",
        "body_html",
        "body_text",
        "task_text",
    ]

    def __init__(self, *args: Any, email_before: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email_before = email_before
        if not email_before:
            self.fields["reply_in_thread"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unit = data.get("delay_unit")
        amount = data.get("delay_amount")
        if unit in DELAY_MAX and isinstance(amount, int) and amount > DELAY_MAX[unit]:
            self.add_error("delay_amount", f"Wait at most {DELAY_MAX[unit]:,} {DelayUnit(unit).label}.")
        return data

    @staticmethod
    def initial_for(step: SalesflowStep) -> dict[str, Any]:
        return {
            name: getattr(step, name)
            for name in (
                "kind",
                "delay_amount",
                "delay_unit",
                "reply_in_thread",
                "subject",
                "body_html",
                "body_text",
                "task_text",
            )
        }


class SaveAsTemplateForm(forms.Form):
    """The step editor's "Save as template": a name and who may use it."""

    template_name = forms.CharField(
        label="Template name",
        max_length=NAME_MAX,
        required=False,
        validators=[refuse_control_characters],
    )
    template_shared = forms.ChoiceField(
        label="Who can use it",
        choices=SalesflowTemplate.Sharing.choices,
        initial=SalesflowTemplate.Sharing.PERSONAL,
        required=False,
    )


class TemplateForm(_EmailContentForm):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        validators=[refuse_control_characters],
        error_messages={"required": "Give the template a name."},
    )
    shared = forms.ChoiceField(
        label="Who can use it",
        choices=SalesflowTemplate.Sharing.choices,
        initial=SalesflowTemplate.Sharing.PERSONAL,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who may use the template."},
    )

    field_order = ["name", "shared", "subject", "body_html", "body_text"]

    @staticmethod
    def initial_for(template: SalesflowTemplate) -> dict[str, str]:
        return {f: getattr(template, f) for f in ("name", "shared", "subject", "body_html", "body_text")}
