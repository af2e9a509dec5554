"""Forms of the contacts pages. They only check shapes; the services decide the rest."""

from __future__ import annotations

from django import forms

from copilot import phones
from copilot.models import Organization
from engage.models import Contact
from engage.models.contacts import EDITABLE_FIELDS
from engage.selectors import contact_owner_choices, contact_status_choices


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.email


FORM_FIELDS = [*EDITABLE_FIELDS[:5], "status", "owner", *EDITABLE_FIELDS[5:]]
PHONE_FIELDS = ("business_phone", "direct_phone", "mobile_phone")


class ContactForm(forms.Form):
    """The New Contact and Edit Contact form: the model's own fields (lengths, types), with
    status and owner limited to the organisation. Uniqueness of the email is the service's
    call: it offers the existing contact instead of an error.

    Phones are kept in E.164 (``copilot.phones``): a number without its country code is read in
    the contact's country, else in ``default_region`` (the seller's), else refused with a
    message asking for the international form; a value that is not a number is refused."""

    def __init__(
        self,
        *args,
        organization: Organization,
        with_status_owner: bool = True,
        default_region: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.default_region = default_region
        names = FORM_FIELDS if with_status_owner else [f for f in FORM_FIELDS if f not in ("status", "owner")]
        self.fields.update(forms.fields_for_model(Contact, fields=names))
        self.fields["email"].required = True
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        self.fields["company"].help_text = "The contact joins your account of this name, made if new."
        if with_status_owner:
            self.fields["status"].queryset = contact_status_choices(organization=organization)
            self.fields["status"].empty_label = None
            self.fields["owner"] = OwnerChoiceField(
                queryset=contact_owner_choices(organization=organization),
                required=False,
                empty_label="Unassigned",
            )
        for name in PHONE_FIELDS:
            self.fields[name].widget.input_type = "tel"
            self.fields[name].widget.attrs["autocomplete"] = "off"
            if self.initial.get(name):  # "+14155550100" is edited as "+1 415-555-0100"
                self.initial[name] = phones.display(self.initial[name])

    def clean(self) -> dict:
        data = super().clean()
        region = phones.region_for(data.get("country", "")) or self.default_region
        for name in PHONE_FIELDS:
            if name not in data:
                continue  # already refused (too long)
            try:
                data[name] = phones.normalise(data[name], region=region)
            except phones.PhoneError as exc:
                self.add_error(name, exc.message)
        return data


class BulkForm(forms.Form):
    """A bulk change from the contacts list. Its fields are named ``new_*`` because the list's
    filters (``status``, ``owner``, ...) travel in the same POST for the "all matching" scope."""

    action = forms.ChoiceField(choices=[("status", "Change status"), ("owner", "Change owner")])
    new_status = forms.ModelChoiceField(queryset=None, required=False)
    new_owner = forms.CharField(required=False)  # a user id, or "none" to unassign
    scope = forms.ChoiceField(choices=[("selected", "Selected"), ("all", "All matching")], initial="selected")
    ids = forms.CharField(required=False)  # replaced by the list of ids in clean_ids

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_status"].queryset = contact_status_choices(organization=organization)
        self.organization = organization

    def clean_ids(self) -> list[int]:
        # The view narrows these to the organisation's contacts; here only their shape counts.
        return [int(v) for v in self.data.getlist("ids") if v.isdigit()][:10_000]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "status" and not data.get("new_status"):
            self.add_error("new_status", "Choose the new status.")
        if data.get("action") == "owner":
            owner = data.get("new_owner", "")
            data["owner_user"] = None
            if owner.isdigit():
                data["owner_user"] = (
                    contact_owner_choices(organization=self.organization).filter(pk=int(owner)).first()
                )
            if owner != "none" and data["owner_user"] is None:
                self.add_error("new_owner", "Choose a member of your organisation.")
        if data.get("scope") == "selected" and not data.get("ids"):
            raise forms.ValidationError("Select at least one contact first.")
        return data
