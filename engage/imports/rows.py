"""One raw CSV row + the mapping -> clean contact values, or the problems that stop it, each
naming the column (by its header) so the person can find and fix it.

Rules: the email is required, valid and lower-cased; every value must fit its field (an error,
never a silent truncation); opt-out takes yes/no, true/false, 1/0, x or empty; names are trimmed;
phones are kept in E.164 (``copilot.phones``), a number without its country code read in the
row's Country column, else in the importer's region, else refused like any other bad value; a website is an http(s) address or a bare host name; CRM ids are Salesforce ids (15 or 18 letters and digits); a row whose mapped cells
are all empty is an error. Status and owner names are looked up later by the writer, which
knows the organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from copilot import phones
from copilot.links import external_url
from engage.imports.fields import FIELDS_BY_KEY, ImportField

_validate_email = EmailValidator()
_CRM_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "t", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", "off"})
PHONE_KEYS = frozenset({"business_phone", "direct_phone", "mobile_phone"})
_SPACE_SQUEEZED = frozenset({"first_name", "last_name", "full_name", *PHONE_KEYS})


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: ImportField


@dataclass
class Problem:
    column: str  # the header of the column at fault; "" when it is the whole row
    message: str


@dataclass
class CleanRow:
    number: int
    cells: list[str]
    values: dict[str, Any] = field(default_factory=dict)  # field key -> clean, non-empty value
    problems: list[Problem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field key -> header, for messages

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def email(self) -> str:
        return self.values.get("email", "")

    @property
    def name(self) -> str:
        return f"{self.values.get('first_name', '')} {self.values.get('last_name', '')}".strip()


def columns_for(mapping: dict[str, str], headers: list[str]) -> list[Column]:
    """The mapped columns, in file order (mapping keys are column indexes as strings)."""
    columns = [
        Column(int(index), headers[int(index)], FIELDS_BY_KEY[key])
        for index, key in mapping.items()
        if key in FIELDS_BY_KEY and int(index) < len(headers)
    ]
    return sorted(columns, key=lambda c: c.index)


def clean_row(
    number: int, cells: list[str], columns: list[Column], header_count: int, *, region: str | None = None
) -> CleanRow:
    """``region``: where the importing person reads numbers without a country code (their
    profile's country), used when the row has no Country of its own."""
    row = CleanRow(number=number, cells=cells)
    if len(cells) > header_count and any(c.strip() for c in cells[header_count:]):
        row.problems.append(
            Problem(
                "",
                f"This row has {len(cells)} values but the header names {header_count} columns: a value "
                "containing the delimiter probably lacks quotes.",
            )
        )
    raw: dict[str, str] = {}
    for column in columns:
        value = unguard_cell(cells[column.index].strip()) if column.index < len(cells) else ""
        if column.field.key in _SPACE_SQUEEZED:
            value = " ".join(value.split())
        raw[column.field.key] = value
        row.headers[column.field.key] = column.header
    if not any(raw.values()):
        row.problems = [Problem("", "Empty row: none of the imported columns has a value.")]
        return row

    for key, value in raw.items():
        header = row.headers[key]
        if key == "email":
            _clean_email(row, value, header)
            continue
        if not value:
            continue
        limit = FIELDS_BY_KEY[key].max_length
        if key == "email_opt_out":
            word = value.casefold()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                row.values[key] = word in TRUE_WORDS
            else:
                row.problems.append(
                    Problem(
                        header, f"“{_short(value)}” is not yes or no (use yes, no, true, false, 1, 0 or x)."
                    )
                )
        elif key in ("crm_lead_id", "crm_contact_id"):
            if _CRM_ID.match(value):
                row.values[key] = value
            else:
                row.problems.append(
                    Problem(
                        header, f"“{_short(value)}” is not a Salesforce id (15 or 18 letters and digits)."
                    )
                )
        elif key == "full_name":
            _split_full_name(row, value, header)
        elif key in PHONE_KEYS:
            try:
                row.values[key] = phones.normalise(
                    value, region=phones.region_for(raw.get("country", "")) or region
                )
            except phones.PhoneError as exc:
                row.problems.append(Problem(header, exc.message))
        elif key == "website" and not external_url(value):
            row.problems.append(
                Problem(
                    header,
                    f"“{_short(value)}” is not a web address (only http and https links are imported).",
                )
            )
        elif len(value) > limit:
            row.problems.append(Problem(header, f"Too long: {len(value)} characters, the limit is {limit}."))
        else:
            row.values[key] = value
    return row


def _clean_email(row: CleanRow, value: str, header: str) -> None:
    if not value:
        row.problems.append(Problem(header, "No email: every contact needs one."))
        return
    value = value.lower()
    if value.startswith("mailto:"):
        value = value.removeprefix("mailto:")
    limit = FIELDS_BY_KEY["email"].max_length
    if len(value) > limit:
        row.problems.append(Problem(header, f"Too long: {len(value)} characters, the limit is {limit}."))
        return
    try:
        _validate_email(value)
    except ValidationError:
        row.problems.append(Problem(header, f"“{_short(value)}” is not a valid email address."))
        return
    row.values["email"] = value


def _split_full_name(row: CleanRow, value: str, header: str) -> None:
    """ "Mary Ann Smith" -> first "Mary Ann", last "Smith"; one word is a last name (the CRM's
    required part). Separately mapped first/last name columns win when they have a value."""
    first, _, last = value.rpartition(" ")
    for key, part in (("first_name", first), ("last_name", last)):
        if not part or key in row.values:
            continue
        limit = FIELDS_BY_KEY[key].max_length
        if len(part) > limit:
            part_name = key.replace("_", " ")
            row.problems.append(
                Problem(
                    header,
                    f"Too long: the {part_name} part has {len(part)} characters, the limit is {limit}.",
                )
            )
        else:
            row.values[key] = part


# Spreadsheets run a cell that starts with one of these as a formula. The row report guards such
# cells with a leading apostrophe (OWASP "CSV injection"); re-importing the report takes it off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def unguard_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
