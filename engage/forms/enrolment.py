"""Forms of the Add to Salesflow dialog and of the enrolments pages. They check shapes and who
may choose what; ``engage.salesflows.enrolment`` decides the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.db.models.functions import Lower
from django.utils import timezone

from copilot.models import User
from engage.forms.contacts import OwnerChoiceField
from engage.models import Salesflow
from engage.salesflows.access import ON_BEHALF_REFUSED, flows_for
from engage.selectors import contact_owner_choices

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# A start time a minute or two in the past is "now" (the seller took a moment to press Start).
START_GRACE = timedelta(minutes=5)


class FlowChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Salesflow) -> str:
        return obj.name if obj.visibility == Salesflow.Visibility.TEAM else f"{obj.name} (only me)"


class EnrolForm(forms.Form):
    """The dialog's choices. ``sender`` is shown only to users with the "Start Salesflow on
    behalf of others" permission (A5); a sender other than oneself posted by anyone else is
    refused here, before any check, as well as by the service."""

    flow = FlowChoiceField(
        queryset=Salesflow.objects.none(),
        label="Salesflow",
        empty_label="Choose a Salesflow",
        error_messages={
            "required": "Choose a Salesflow.",
            "invalid_choice": "Choose one of the Salesflows you can use.",
        },
    )
    sender = OwnerChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Start on behalf of",
        empty_label=None,
        error_messages={"invalid_choice": "Choose a member of your organisation."},
    )
    start_at = forms.DateTimeField(
        required=False,
        label="Specific start time",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )

    def __init__(self, *args, user: User, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.now = now or timezone.now()
        self.fields["flow"].queryset = (
            flows_for(user)
            .filter(archived_at__isnull=True)
            .select_related("owner")
            .order_by(Lower("name"), "pk")
        )
        self.fields["sender"].queryset = contact_owner_choices(organization=user.organization)
        self.fields["start_at"].help_text = (
            f"Leave it empty to start now. In your time zone ({timezone.get_current_timezone_name()}); "
            "emails still go only inside the sender's business hours."
        )
        if not self.may_choose_sender:
            self.fields["sender"].widget = forms.HiddenInput()
        self.initial.setdefault("sender", user.pk)

    @property
    def may_choose_sender(self) -> bool:
        return bool(self.user.can_start_salesflow_on_behalf)

    def clean_sender(self) -> User:
        sender = self.cleaned_data.get("sender") or self.user
        if sender.pk != self.user.pk and not self.may_choose_sender:
            raise forms.ValidationError(ON_BEHALF_REFUSED)
        return sender

    def clean_start_at(self) -> datetime | None:
        start = self.cleaned_data.get("start_at")
        if start is not None and start < self.now - START_GRACE:
            raise forms.ValidationError("Choose a time from now on, or leave it empty to start now.")
        return start


class PauseForm(forms.Form):
    """Pause an enrolment, optionally until a day (it resumes by itself at the start of that day
    in the viewer's time zone, at the next moment its window allows)."""

    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, now: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    def clean_until(self) -> datetime | None:
        day = self.cleaned_data.get("until")
        if day is None:
            return None
        moment = timezone.make_aware(datetime(day.year, day.month, day.day))
        if moment <= self.now:
            raise forms.ValidationError("Choose a day after today.")
        return moment


class BulkEnrolmentForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("pause", "Pause"), ("resume", "Resume"), ("remove", "Remove from the Salesflow")],
        error_messages={"invalid_choice": "Choose pause, resume or remove."},
    )
    confirmed = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        data["ids"] = [int(v) for v in self.data.getlist("ids") if v.isdigit()][:500]
        if not data["ids"]:
            raise forms.ValidationError("Select at least one person first.")
        return data
