"""The Actions queue's forms (F4): each names the enrolment and the step the seller acted on, so a
second submit of the same form finds the step done and changes nothing."""

from __future__ import annotations

import datetime as dt

from django import forms

from engage.models import CallLog


class ActionForm(forms.Form):
    enrolment = forms.IntegerField(widget=forms.HiddenInput)
    step = forms.IntegerField(widget=forms.HiddenInput)


class CallLogForm(ActionForm):
    subject = forms.CharField(max_length=255)
    result = forms.ChoiceField(
        choices=[("", "Choose…"), *CallLog.Result.choices],
        error_messages={"required": "Choose what came of the call."},
    )
    comments = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)


class SnoozeForm(ActionForm):
    """Until tomorrow (the "tomorrow" button, or no day given), or until a chosen day."""

    tomorrow = forms.BooleanField(required=False)
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self) -> dt.date:
        tomorrow = self.today + dt.timedelta(days=1)
        day = tomorrow if self.cleaned_data.get("tomorrow") else self.cleaned_data.get("until") or tomorrow
        if day <= self.today:
            raise forms.ValidationError("Choose a day after today.")
        return day


class ManualEmailForm(forms.Form):
    """The composer of a manual email step: the subject and the email (HTML, cleaned when sent)."""

    step = forms.IntegerField(widget=forms.HiddenInput)
    subject = forms.CharField(
        label="Subject", max_length=998, error_messages={"required": "Write a subject."}
    )
    body_html = forms.CharField(
        label="Email", max_length=100_000, error_messages={"required": "Write the email."}
    )
