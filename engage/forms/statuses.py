"""Forms of Admin Portal › Contact Status (F3). They check shapes; the services decide the rest
(unique names, the default, the CRM as source)."""

from __future__ import annotations

from django import forms

from engage.models import ContactStatus
from engage.services.statuses import NAME_MAX_LENGTH


class StatusForm(forms.Form):
    """Add, rename or recolour a status."""

    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        error_messages={
            "required": "Give the status a name.",
            "max_length": f"Keep the name to {NAME_MAX_LENGTH} characters or fewer.",
        },
    )
    color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#64748b",
        error_messages={
            "required": "Pick a colour.",
            "invalid": "Pick a colour written as #rrggbb, for example #2563eb.",
        },
    )


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class StatusChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ContactStatus) -> str:
        return f"{obj.name} (default)" if obj.is_default else obj.name


class StatusDeleteForm(forms.Form):
    """Where the deleted status's contacts go: another status of the organisation, the default
    preselected. Only asked when contacts use the status."""

    move_to = StatusChoiceField(
        queryset=ContactStatus.objects.none(),
        label="Move its contacts to",
        empty_label=None,
        error_messages={
            "required": "Choose the status its contacts move to.",
            "invalid_choice": "Choose another status of your organisation.",
        },
    )

    def __init__(self, *args, status: ContactStatus, needs_target: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        others = (
            ContactStatus.objects.for_org(status.organization)
            .exclude(pk=status.pk)
            .order_by("position", "id")
        )
        field = self.fields["move_to"]
        field.queryset = others
        field.initial = next((s.pk for s in others if s.is_default), None)
        if not needs_target:
            del self.fields["move_to"]
