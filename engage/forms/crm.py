"""Forms of Admin Portal › CRM (G2, G3, G4, G7). They read shapes out of the POST; the services
verify against Salesforce (mapping rows and rule conditions are checked there, per row)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import QueryDict

from copilot.models import Organization, User
from engage.crm.mapping import MappingRow
from engage.crm.soql_rules import MAX_CONDITIONS
from engage.models import CrmSettings

MAX_ROWS = 60
_ROW_KEY = re.compile(r"^r-(\d{1,3})-engage_field$")
_CONDITION_KEY = re.compile(r"^c-(\d{1,3})-field$")


class CrmSettingsForm(forms.Form):
    """New prospects, activities and the G7 sync settings (the sync toggle has its own form)."""

    new_prospects_as = forms.ChoiceField(
        label="New prospects in CRM are created as",
        choices=CrmSettings.NewProspects.choices,
        widget=forms.RadioSelect,
    )
    create_activities = forms.BooleanField(
        label="Create activities and phone calls in CRM",
        required=False,
        help_text="Log calls and email events as completed Tasks on the Lead or Contact.",
    )
    engage_created_handling = forms.ChoiceField(
        label="Contacts and accounts created or imported in Cadence",
        choices=[
            (
                CrmSettings.EngageCreated.PUSH,
                "Create them in Salesforce (as chosen above) when they are not there yet",
            ),
            (CrmSettings.EngageCreated.KEEP_LOCAL, "Keep them in Cadence only"),
        ],
        widget=forms.RadioSelect,
    )
    auto_associate_accounts = forms.BooleanField(
        label="Associate contacts with their accounts in Salesforce", required=False
    )
    log_calls = forms.BooleanField(label="Write call history to Salesforce", required=False)
    log_emails = forms.BooleanField(label="Write email history to Salesforce", required=False)
    fallback_owner = forms.ModelChoiceField(
        label="Owner of records whose Salesforce owner is not a Cadence user",
        queryset=User.objects.none(),
        required=False,
        empty_label="Whoever starts the poll or import",
        help_text="Polled and imported Leads and Contacts belong to the Cadence user with their "
        "Salesforce owner's email; the others to this user.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the organisation's active users: another organisation's user is "not a choice".
        self.fields["fallback_owner"].queryset = User.objects.filter(
            organization=organization, is_active=True
        ).order_by("first_name", "last_name", "email")
        self.fields["fallback_owner"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.email})" if u.get_full_name() else u.email
        )


class SyncToggleForm(forms.Form):
    sync_enabled = forms.TypedChoiceField(
        choices=[("on", "On"), ("off", "Off")], coerce=lambda v: v == "on", empty_value=None
    )


# --- Field mapping rows ---------------------------------------------------------------------------


def mapping_rows_from_post(data: QueryDict | Mapping[str, Any]) -> list[MappingRow]:
    """The rows of the mapping table in their order: ``r-<i>-engage_field``, ``r-<i>-crm_field``,
    ``r-<i>-default_value``, ``r-<i>-direction``; a row named in ``remove`` is left out."""
    removed = str(data.get("remove", ""))
    indexes = sorted(int(m.group(1)) for key in data if (m := _ROW_KEY.match(key)))
    rows = []
    for i in indexes[:MAX_ROWS]:
        if str(i) == removed:
            continue
        rows.append(
            MappingRow(
                engage_field=str(data.get(f"r-{i}-engage_field", "")).strip(),
                crm_field=str(data.get(f"r-{i}-crm_field", "")).strip(),
                default_value=str(data.get(f"r-{i}-default_value", "")).strip()[:255],
                direction=str(data.get(f"r-{i}-direction", "to_engage")),
            )
        )
    return rows


# --- Rule conditions ------------------------------------------------------------------------------


def conditions_from_post(data: QueryDict | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The conditions of the rule builder in order: ``c-<i>-field``, ``c-<i>-operator`` and
    ``c-<i>-value`` (several values for "is any of"); a condition named in ``remove`` is left out."""
    removed = str(data.get("remove", ""))
    indexes = sorted(int(m.group(1)) for key in data if (m := _CONDITION_KEY.match(key)))
    conditions = []
    for i in indexes[: MAX_CONDITIONS + 1]:
        if str(i) == removed:
            continue
        getlist = getattr(data, "getlist", None)
        values = getlist(f"c-{i}-value") if getlist else [data.get(f"c-{i}-value", "")]
        values = [str(v) for v in values]
        conditions.append(
            {
                "field": str(data.get(f"c-{i}-field", "")).strip(),
                "operator": str(data.get(f"c-{i}-operator", "")),
                "value": values
                if len(values) > 1 or data.get(f"c-{i}-many")
                else (values[0] if values else ""),
            }
        )
    return conditions
