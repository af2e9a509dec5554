"""The wizard's forms: the upload, and one select per file column."""

from __future__ import annotations

from django import forms
from django.conf import settings

from copilot.models import User
from engage.imports import parsing
from engage.imports.fields import CHOICES, mapping_problems
from engage.models import ContactImport


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # the service says "The file is empty." like for every other refusal
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit_mb = settings.CONTACT_IMPORT_MAX_BYTES // (1024 * 1024)
        self.fields["file"].help_text = (
            f"A .csv or .txt file, up to {limit_mb} MB and {settings.CONTACT_IMPORT_MAX_COLUMNS:,} columns, "
            "with a header row naming the columns. Comma, semicolon or tab separated; UTF-8 or Windows "
            "encoding. From Excel: File › Save As › CSV."
        )


READ_AS_WINDOWS_1252 = "read_as_windows_1252"


def column_field_name(index: int) -> str:
    return f"col_{index}"


class MappingForm(forms.Form):
    """``col_<index>`` per file column (its contact field, "" for not imported), what to do
    with rows whose email is already a contact, and who owns the new contacts (``owner_choice``,
    with ``assigned_owner`` among the organisation's active users for "a teammate")."""

    on_duplicate = forms.ChoiceField(
        label="When a contact with the same email already exists",
        choices=ContactImport.OnDuplicate.choices,
        widget=forms.RadioSelect,
    )
    owner_choice = forms.ChoiceField(
        label="Owner of the new contacts",
        choices=ContactImport.OwnerChoice.choices,
        widget=forms.RadioSelect,
        required=False,  # not given: the column when one is imported as Owner, else me
        help_text="With a column, rows whose owner is not a user here are yours; the row report says which.",
    )
    assigned_owner = forms.ModelChoiceField(
        label="Teammate", queryset=User.objects.none(), required=False, empty_label="Choose a teammate"
    )

    def __init__(self, *args, contact_import: ContactImport, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "on_duplicate": contact_import.on_duplicate,
                "owner_choice": _initial_owner_choice(contact_import),
                "assigned_owner": contact_import.assigned_owner_id,
                **{column_field_name(int(i)): key for i, key in contact_import.mapping.items()},
            },
        )
        super().__init__(*args, **kwargs)
        self.headers = contact_import.headers
        for index, header in enumerate(self.headers):
            self.fields[column_field_name(index)] = forms.ChoiceField(
                label=f"Contact field for column “{header}”", choices=CHOICES, required=False
            )
        if contact_import.encoding == parsing.MIXED:
            # Some lines are not UTF-8: importing them as Windows-1252 is the person's choice.
            self.fields[READ_AS_WINDOWS_1252] = forms.BooleanField(
                label="Read those lines as Windows-1252 (the rest of the file stays UTF-8)",
                error_messages={
                    "required": "Tick this to import the file as it is, or fix those lines and upload it again."
                },
            )
        self.fields["assigned_owner"].queryset = User.objects.filter(
            organization_id=contact_import.organization_id, is_active=True
        ).order_by("first_name", "last_name", "email")
        self.fields["assigned_owner"].label_from_instance = lambda u: u.get_full_name() or u.email
        # The radio buttons come after the column table.
        self.order_fields(
            [column_field_name(i) for i in range(len(self.headers))]
            + ["on_duplicate", "owner_choice", "assigned_owner"]
        )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[column_field_name(i)] for i in range(len(self.headers))]

    def clean(self) -> dict:
        cleaned = super().clean()
        mapping = self.mapping()
        for indexes, message in mapping_problems(mapping, self.headers):
            for index in indexes:
                self.add_error(column_field_name(index), message)
            if not indexes or len(indexes) > 1:
                self.add_error(None, message)
        return cleaned

    def mapping(self) -> dict[str, str]:
        """{column index as string: field} from the submitted (or initial) choices."""
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        mapping = {}
        for index in range(len(self.headers)):
            key = source.get(column_field_name(index), "")
            if key:
                mapping[str(index)] = key
        return mapping


def _initial_owner_choice(contact_import: ContactImport) -> str:
    """The stored choice; a file with a column guessed as Owner starts on "a column"."""
    Owner = ContactImport.OwnerChoice
    if contact_import.owner_choice == Owner.ME and "owner" in contact_import.mapping.values():
        return Owner.COLUMN
    return contact_import.owner_choice


def submitted_mapping(data, headers: list[str]) -> dict[str, str]:
    """The mapping in raw form data, unknown field keys dropped (for the live preview, which must
    show something even while the choices are not yet valid)."""
    choices = {key for key, _ in CHOICES if key}
    mapping = {}
    for index in range(len(headers)):
        key = data.get(column_field_name(index), "")
        if key in choices:
            mapping[str(index)] = key
    return mapping
