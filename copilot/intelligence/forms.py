"""Forms of the Admin Portal's Revenue Intelligence page. Validation of entries lives in the
services (``mail_rule_validate``) so the page and any other caller refuse the same things."""

from __future__ import annotations

from django import forms

from copilot.intelligence.rules import BLOCK, IGNORE
from copilot.intelligence.services import parse_addresses


class MailRuleForm(forms.Form):
    value = forms.CharField(
        label="Domain or email address",
        max_length=254,
        help_text="For example vendor.com (its subdomains too) or name@vendor.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    action = forms.ChoiceField(
        label="Add to",
        choices=[(IGNORE, "Ignore list"), (BLOCK, "Block list")],
        initial=IGNORE,
        widget=forms.RadioSelect,
    )


class WhyForm(forms.Form):
    sender = forms.CharField(label="From", max_length=1000, help_text="The sender's address.")
    recipients = forms.CharField(
        label="To and Cc",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Every recipient, separated by commas.",
    )
    message_id = forms.CharField(
        label="Message-ID",
        max_length=998,
        required=False,
        help_text="Optional, from the message's headers: tells you what was decided when it was synced.",
    )

    def clean_sender(self) -> str:
        addresses = parse_addresses(self.cleaned_data["sender"])
        if len(addresses) != 1:
            raise forms.ValidationError("Enter the one address the message came from, like name@example.com.")
        return addresses[0]

    def clean_recipients(self) -> list[str]:
        addresses = parse_addresses(self.cleaned_data["recipients"])
        if not addresses:
            raise forms.ValidationError("Enter at least one recipient address, like name@example.com.")
        return addresses


class StorageForm(forms.Form):
    keep_email_bodies = forms.BooleanField(
        label="Keep the full text of synced emails",
        required=False,
        help_text="Off: only the subject and a short snippet of each email are stored.",
    )
