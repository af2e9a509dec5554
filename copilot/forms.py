from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError

from copilot.models import TIME_ZONES, Organization, OrgGroup, Role, User
from copilot.validators import refuse_control_characters

NAME_VALIDATORS = [refuse_control_characters]
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{6,25}(\s*(x|ext\.?|extension)\s*[0-9]{1,6})?$", re.I)


def clean_phone(value: str) -> str:
    value = " ".join(value.split())
    if value and not PHONE_RE.match(value):
        raise ValidationError(
            "Enter a phone number like +1 415 555 0100, optionally with an extension (x123)."
        )
    return value


class SignupExtraForm(forms.Form):
    """Extra sign-up fields (allauth calls ``signup``); the adapter creates the organisation."""

    first_name = forms.CharField(max_length=150, label="First name", validators=NAME_VALIDATORS)
    last_name = forms.CharField(max_length=150, label="Last name", validators=NAME_VALIDATORS)
    organization_name = forms.CharField(
        max_length=200,
        label="Company",
        help_text="Your organisation in Cadence. You will be its Administrator.",
    )

    field_order = ["first_name", "last_name", "organization_name", "email", "password1", "password2"]

    def signup(self, request, user: User) -> None:  # allauth hook; the adapter did the work
        return None


# --- Onboarding steps ---------------------------------------------------------------------------


class StepForm(forms.Form):
    """A wizard step. ``org_fields`` are the organisation's answers: only an Administrator may
    give them, so they are shown read-only to everyone else (the service ignores them too)."""

    org_fields: tuple[str, ...] = ()

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not user.is_org_admin:
            for name in self.org_fields:
                self.fields[name].disabled = True
                self.fields[name].required = False
                self.fields[name].help_text = "Only an Administrator can change this."


class ContactStepForm(StepForm):
    org_fields = ("company",)
    first_name = forms.CharField(max_length=150, validators=NAME_VALIDATORS)
    last_name = forms.CharField(max_length=150, validators=NAME_VALIDATORS)
    phone = forms.CharField(max_length=40, required=False)
    job_title = forms.CharField(max_length=150, required=False)
    company = forms.CharField(max_length=200, required=False)

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])

    def clean_company(self) -> str | None:
        return self.cleaned_data["company"].strip() or None


class EmailStepForm(StepForm):
    org_fields = ("email_provider",)
    email_provider = forms.ChoiceField(
        label="Email and calendar provider",
        choices=[c for c in Organization.EmailProvider.choices if c[0]],
        widget=forms.RadioSelect,
    )


class CrmStepForm(StepForm):
    org_fields = ("crm",)
    crm = forms.ChoiceField(
        label="CRM", choices=[c for c in Organization.Crm.choices if c[0]], widget=forms.RadioSelect
    )


class SignatureStepForm(StepForm):
    signature_choice = forms.ChoiceField(
        label="Signature", choices=User.Signature.choices, widget=forms.RadioSelect
    )
    signature_custom = forms.CharField(
        label="Custom signature",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=4000,
    )

    def clean(self) -> dict:
        data = super().clean()
        if (
            data.get("signature_choice") == User.Signature.CUSTOM
            and not data.get("signature_custom", "").strip()
        ):
            self.add_error("signature_custom", "Write your signature, or pick a template.")
        return data


class DialerStepForm(StepForm):
    dialer_phone = forms.CharField(
        label="Phone number for the dialer",
        max_length=40,
        help_text="You will verify it with a code from Settings before your first call.",
    )

    def clean_dialer_phone(self) -> str:
        return clean_phone(self.cleaned_data["dialer_phone"])


class LocaleStepForm(StepForm):
    time_zone = forms.ChoiceField(choices=[(tz, tz.replace("_", " ")) for tz in TIME_ZONES])
    language = forms.ChoiceField(choices=settings.LANGUAGES)


STEP_FORMS: dict[str, type[forms.Form]] = {
    "contact": ContactStepForm,
    "email": EmailStepForm,
    "crm": CrmStepForm,
    "signature": SignatureStepForm,
    "dialer": DialerStepForm,
    "locale": LocaleStepForm,
}


def step_initial(step_key: str, user: User) -> dict:
    org = user.organization
    return {
        "contact": {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": user.phone,
            "job_title": user.job_title,
            "company": org.name if org else "",
        },
        "email": {"email_provider": org.email_provider if org else ""},
        "crm": {"crm": org.crm if org else ""},
        "signature": {"signature_choice": user.signature_choice, "signature_custom": user.signature_custom},
        "dialer": {"dialer_phone": user.dialer_phone},
        "locale": {"time_zone": user.time_zone, "language": user.language},
    }[step_key]


# --- Admin Portal -------------------------------------------------------------------------------


class OrgGroupChoiceMixin:
    def _limit_groups(self, organization: Organization, field: str = "org_groups") -> None:
        self.fields[field].queryset = OrgGroup.objects.for_org(organization)  # type: ignore[attr-defined]


class InviteForm(OrgGroupChoiceMixin, forms.Form):
    first_name = forms.CharField(max_length=150, validators=NAME_VALIDATORS)
    last_name = forms.CharField(max_length=150, validators=NAME_VALIDATORS)
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CONTRIBUTOR, widget=forms.RadioSelect)
    org_groups = forms.ModelMultipleChoiceField(
        queryset=OrgGroup.objects.none(),
        required=False,
        label="Groups",
        widget=forms.CheckboxSelectMultiple,
    )
    can_start_salesflow_on_behalf = forms.BooleanField(
        required=False, label="May start Salesflows on behalf of other users"
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._limit_groups(organization)


class UserEditForm(OrgGroupChoiceMixin, forms.Form):
    first_name = forms.CharField(max_length=150, required=False, validators=NAME_VALIDATORS)
    last_name = forms.CharField(max_length=150, required=False, validators=NAME_VALIDATORS)
    mailbox_username = forms.CharField(
        max_length=254,
        label="User name",
        help_text="The mailbox user name. Mail and calendar sync need it to equal the email address.",
    )
    org_groups = forms.ModelMultipleChoiceField(
        queryset=OrgGroup.objects.none(),
        required=False,
        label="Groups",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._limit_groups(organization)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class GroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=255, required=False)
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.for_org(organization).order_by(
            "first_name", "last_name", "email"
        )


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Company name")
